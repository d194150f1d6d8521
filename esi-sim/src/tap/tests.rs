//! The tap between a coordinator and a host-role `LinkEndpoint` on an in-memory line (no
//! faults unless a test cuts one direction). The coordinator is either the real firmware one or
//! a bare coordinator-role endpoint the test drives by hand, to commit the faults the real one
//! never does.

use super::{Deframer, LinkTap};
use firmware::coordinator::{Coordinator, CoordinatorConfig, NoMetrology};
use firmware::host_link::{
    Command, CoordinatorEndpoint, DeviceEvent, DeviceState, Eui64, HostEndpoint, LinkConfig,
    LinkEvent, NodeInfo, Packet, Report, Request, RequestResult, ResultCode, ResultDetail, Role,
    SetTime, SoftwareVersion, MAX_WIRE_LEN,
};

/// 2026-01-01 00:00:00 UTC in ZigBee time.
const T0: u32 = 820_454_400;
const ESI: u64 = 0x000D_6F00_0ABC_DEF0;
const NODE_SEED: u32 = 7;
const GATEWAY_SEED: u32 = 100;
/// A restarted gateway's seed (random in the real one): a new host session id.
const RESTARTED_GATEWAY_SEED: u32 = 0x5EED_0000;

fn host_endpoint(seed: u32) -> HostEndpoint {
    let node = NodeInfo {
        role: Role::Host,
        software: SoftwareVersion { major: 0, minor: 1, patch: 0 },
        esi_eui64: Eui64(0),
        slot_capacity: 0,
    };
    HostEndpoint::new(LinkConfig::new(node, seed))
}

fn set_time(request_id: u32) -> Request {
    Request { request_id, command: Command::SetTime(SetTime { utc: T0 }) }
}

fn result(request_id: u32) -> Report {
    Report::Result(RequestResult {
        request_id,
        code: ResultCode::SUCCESS,
        detail: ResultDetail::None,
    })
}

/// The coordinator's end of the line.
trait Node {
    fn handle_bytes(&mut self, now: u64, bytes: &[u8]);
    fn handle_timeout(&mut self, now: u64);
    fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize>;
}

type RealCoordinator = Coordinator<5, 8, 5, NoMetrology>;

impl Node for RealCoordinator {
    fn handle_bytes(&mut self, now: u64, bytes: &[u8]) {
        self.handle_serial_bytes(now, bytes);
    }
    fn handle_timeout(&mut self, now: u64) {
        Coordinator::handle_timeout(self, now);
    }
    fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        while self.poll_radio().is_some() {}
        self.poll_serial_transmit(buf)
    }
}

/// A coordinator that does exactly what the test tells it; requests it receives are kept.
struct FakeNode {
    ep: CoordinatorEndpoint,
    requests: Vec<Request>,
}

impl FakeNode {
    fn new() -> Self {
        let node = NodeInfo {
            role: Role::Coordinator,
            software: SoftwareVersion { major: 0, minor: 1, patch: 0 },
            esi_eui64: Eui64(ESI),
            slot_capacity: 5,
        };
        Self {
            ep: CoordinatorEndpoint::new(LinkConfig::new(node, NODE_SEED)),
            requests: Vec::new(),
        }
    }
    fn drain_events(&mut self) {
        while let Some(ev) = self.ep.poll_event() {
            if let LinkEvent::Received(r) = ev {
                self.requests.push(r);
            }
        }
    }
}

impl Node for FakeNode {
    fn handle_bytes(&mut self, now: u64, bytes: &[u8]) {
        self.ep.handle_bytes(now, bytes);
        self.drain_events();
    }
    fn handle_timeout(&mut self, now: u64) {
        self.ep.handle_timeout(now);
        self.drain_events();
    }
    fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        self.ep.poll_transmit(buf)
    }
}

/// Coordinator, host and tap on a virtual clock.
struct Rig<N> {
    node: N,
    host: HostEndpoint,
    tap: LinkTap,
    now: u64,
    /// Whether what the coordinator sends reaches the host (false: the gateway is gone).
    to_host: bool,
    /// Reports the host received (all its sessions).
    received: Vec<Report>,
    /// Session ids in the coordinator's `Hello`s and `HelloReply`s, in order.
    node_sessions: Vec<u32>,
    hellos: Deframer,
}

impl<N: Node> Rig<N> {
    fn new(node: N) -> Self {
        let mut rig = Self {
            node,
            host: host_endpoint(GATEWAY_SEED),
            tap: LinkTap::new(),
            now: 0,
            to_host: true,
            received: Vec::new(),
            node_sessions: Vec::new(),
            hellos: Deframer::default(),
        };
        rig.run_for(100);
        assert!(rig.host.is_connected(), "the first session is up");
        rig
    }

    /// Moves bytes both ways until nothing moves.
    fn settle(&mut self) {
        let mut buf = [0u8; MAX_WIRE_LEN];
        loop {
            let mut moved = false;
            while let Some(n) = self.node.poll_transmit(&mut buf) {
                moved = true;
                let bytes = buf.get(..n).unwrap_or_default();
                self.tap.from_node(bytes);
                for p in self.hellos.feed::<Report>(bytes) {
                    if let Packet::Hello(h) | Packet::HelloReply { hello: h, .. } = p {
                        self.node_sessions.push(h.session);
                    }
                }
                if self.to_host {
                    self.host.handle_bytes(self.now, bytes);
                }
            }
            while let Some(ev) = self.host.poll_event() {
                if let LinkEvent::Received(r) = ev {
                    self.received.push(r);
                }
            }
            while let Some(n) = self.host.poll_transmit(&mut buf) {
                moved = true;
                let bytes = buf.get(..n).unwrap_or_default();
                self.tap.to_node(bytes);
                self.node.handle_bytes(self.now, bytes);
            }
            if !moved {
                return;
            }
        }
    }

    /// Runs `ms` of virtual time in 10 ms ticks.
    fn run_for(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            self.now += 10;
            self.node.handle_timeout(self.now);
            self.host.handle_timeout(self.now);
            self.settle();
        }
    }

    fn send(&mut self, request: &Request) {
        self.host.send(self.now, request).expect("the link has room");
        self.settle();
    }

    /// The gateway restarts: a new host endpoint, with a new session seed, on the same line.
    fn restart_gateway(&mut self) {
        self.host = host_endpoint(RESTARTED_GATEWAY_SEED);
        self.to_host = true;
        self.run_for(200);
        assert!(self.host.is_connected(), "the restarted gateway has a session");
    }

    fn results_for(&self, request_id: u32) -> usize {
        let is_it = |r: &&Report| matches!(r, Report::Result(x) if x.request_id == request_id);
        self.received.iter().filter(is_it).count()
    }
}

impl Rig<FakeNode> {
    fn node_sends(&mut self, report: &Report) {
        self.node.ep.send(self.now, report).expect("the link has room");
        self.settle();
    }
}

/// The false positive this module once had: the gateway restarts (a new host session) while
/// the coordinator's `Result` is unacknowledged. The coordinator keeps its own session id, and
/// re-sends the `Result` in the new session, as docs/host-link.md and `firmware::coordinator`
/// say it must. That is not "answered twice".
#[test]
fn gateway_restart_with_an_unacknowledged_result_is_not_answered_twice() {
    let mut rig =
        Rig::new(RealCoordinator::new(CoordinatorConfig::new(Eui64(ESI), NODE_SEED), NoMetrology));
    // The gateway dies right after sending: the Result goes out, no Ack ever comes back.
    rig.to_host = false;
    rig.send(&set_time(1));
    rig.run_for(100);
    assert_eq!(rig.results_for(1), 0);
    assert_eq!(rig.node.counters().reports_acked, 0);

    rig.restart_gateway();

    assert_eq!(rig.node.counters().reports_resent, 1, "the coordinator re-sent the Result");
    assert_eq!(rig.results_for(1), 1, "and the restarted gateway got it");
    let first = rig.node_sessions.first().copied();
    assert!(
        rig.node_sessions.iter().all(|&s| Some(s) == first),
        "the coordinator kept its session id: {:x?}",
        rig.node_sessions
    );
    assert_eq!(rig.tap.take_violations(), Vec::<String>::new());
    assert_eq!(rig.tap.unanswered(), Vec::<u32>::new());

    // The restarted gateway acknowledged the re-sent copy: it is never sent again.
    rig.run_for(2_000);
    assert_eq!(rig.results_for(1), 1);
    assert_eq!(rig.tap.take_violations(), Vec::<String>::new());
}

/// The rule is unchanged where it matters: a `Result` the host acknowledged, delivered again
/// after the gateway restarted, is a real duplicate.
#[test]
fn acknowledged_result_sent_again_after_a_gateway_restart_is_caught() {
    let mut rig = Rig::new(FakeNode::new());
    rig.send(&set_time(1));
    assert_eq!(rig.node.requests, vec![set_time(1)]);
    rig.node_sends(&result(1));
    assert_eq!(rig.results_for(1), 1);
    assert_eq!(rig.node.ep.in_flight(), 0, "the host acknowledged it");
    assert_eq!(rig.tap.take_violations(), Vec::<String>::new());

    rig.restart_gateway();
    rig.node_sends(&result(1));

    let v = rig.tap.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v.iter().all(|v| v.contains("request 1 answered twice")), "{v:?}");
}

/// Within one session (neither side restarted) a second `Result` is a duplicate even if the
/// first was never acknowledged.
#[test]
fn second_result_in_the_same_session_is_caught() {
    let mut rig = Rig::new(FakeNode::new());
    rig.send(&set_time(1));
    rig.to_host = false;
    rig.node_sends(&result(1));
    rig.node_sends(&result(1));

    let v = rig.tap.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v.iter().all(|v| v.contains("request 1 answered twice")), "{v:?}");
}

/// An acknowledgement from the restarted gateway covers only frames of its own session: a
/// `Result` left unacknowledged by the old session stays re-sendable even when the new session
/// acknowledges later frames first.
#[test]
fn new_session_ack_does_not_cover_the_old_sessions_frames() {
    let mut rig = Rig::new(FakeNode::new());
    rig.send(&set_time(1));
    rig.to_host = false;
    rig.node_sends(&result(1));
    assert_eq!(rig.node.ep.in_flight(), 1);

    rig.restart_gateway();
    rig.node.drain_events(); // the old frame failed with SessionEnded
    rig.node_sends(&Report::DeviceEvent(DeviceEvent {
        eui64: Eui64(0x000D_6F00_0000_0001),
        state: DeviceState::JOINED,
    }));
    assert_eq!(rig.node.ep.in_flight(), 0, "the new session acknowledged the DeviceEvent");
    rig.node_sends(&result(1));
    assert_eq!(rig.tap.take_violations(), Vec::<String>::new());
    assert_eq!(rig.results_for(1), 1);
}

/// An unsolicited `Result` (for a request never received) is still caught.
#[test]
fn result_for_a_request_never_received_is_caught() {
    let mut rig = Rig::new(FakeNode::new());
    rig.node_sends(&result(9));
    let v = rig.tap.take_violations();
    assert_eq!(v, vec!["result for request 9, which was never received".to_string()]);
}

/// A coordinator restart (a new coordinator session) also allows re-sending an
/// unacknowledged `Result`, as before; an acknowledged one stays final.
#[test]
fn coordinator_session_change_allows_only_unacknowledged_resends() {
    let mut rig = Rig::new(FakeNode::new());
    rig.send(&set_time(1));
    rig.send(&set_time(2));
    rig.node_sends(&result(1)); // acknowledged
    rig.to_host = false;
    rig.node_sends(&result(2)); // not acknowledged
    rig.to_host = true;

    rig.node.ep.reconnect(rig.now);
    rig.run_for(200);
    assert!(rig.host.is_connected());
    rig.node.drain_events();

    rig.node_sends(&result(2));
    assert_eq!(rig.tap.take_violations(), Vec::<String>::new());
    rig.node_sends(&result(1));
    let v = rig.tap.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v.iter().all(|v| v.contains("request 1 answered twice")), "{v:?}");
}
