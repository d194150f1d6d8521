//! The host end of EZSP over ASH, sans-IO: the ASH link, sequence numbers, version
//! negotiation, one command outstanding at a time (as UG100 requires of a UART host), and
//! callbacks told apart from responses.
//!
//! ```text
//! start(now) ─► RST … RSTACK ─► version(desired) in the legacy header
//!   ─► NCP answers v: v < MIN_VERSION → Failed; v ≠ desired → version(v) again, extended
//!   ─► Ready(v) ─► command()/poll_event() …
//! ```

use crate::ash::{FailReason, Link, LinkConfig, LinkEvent, LinkState, ResetCode, Role};
use crate::ezsp::{Callback, Command, NcpFrame, Response, MAX_VERSION, MIN_VERSION};
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// What the host tells its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEvent {
    /// Version negotiated: commands may be sent.
    Ready {
        version: u8,
        stack_version: u16,
    },
    /// The response to the command sent with `sequence`.
    Response {
        sequence: u8,
        response: Response,
    },
    Callback(Callback),
    /// The NCP reset unasked (or failed): every command in flight is lost; call
    /// [`Host::start`] again.
    NcpReset(ResetCode),
    /// The link or the negotiation failed.
    Failed(HostFailure),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostFailure {
    Link(FailReason),
    /// The NCP speaks a protocol version outside MIN..=MAX.
    Version(u8),
    /// No response within the command timeout.
    CommandTimeout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Resetting,
    Negotiating { sent_extended: bool },
    Ready,
    Failed,
}

/// Why a command was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandError {
    NotReady,
    /// The command does not exist in the negotiated version.
    NotInVersion,
    Link(crate::ash::SendError),
}

/// The EZSP host.
#[derive(Debug, Clone)]
pub struct Host {
    link: Link,
    phase: Phase,
    desired: u8,
    version: u8,
    seq: u8,
    /// Commands sent and not yet answered (sequence, deadline).
    outstanding: VecDeque<(u8, u64)>,
    /// Commands waiting for the one outstanding to be answered.
    queue: VecDeque<Command>,
    command_timeout_ms: u64,
    events: VecDeque<HostEvent>,
    /// Frames from the NCP that did not parse.
    pub bad_frames: u64,
}

impl Host {
    pub fn new(link: LinkConfig, desired_version: u8) -> Self {
        Self {
            link: Link::new(Role::Host, link),
            phase: Phase::Idle,
            desired: desired_version.clamp(MIN_VERSION, MAX_VERSION),
            version: 0,
            seq: 0,
            outstanding: VecDeque::new(),
            queue: VecDeque::new(),
            command_timeout_ms: 5_000,
            events: VecDeque::new(),
            bad_frames: 0,
        }
    }

    /// Negotiated version (0 before).
    pub fn version(&self) -> u8 {
        self.version
    }
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Ready
    }
    pub fn link(&self) -> &Link {
        &self.link
    }
    /// Commands sent or queued and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.outstanding.len() + self.queue.len()
    }

    /// (Re)starts: RST, then version negotiation.
    pub fn start(&mut self, now: u64) {
        self.phase = Phase::Resetting;
        self.version = 0;
        self.outstanding.clear();
        self.queue.clear();
        self.link.reset(now, ResetCode::SOFTWARE);
    }

    fn next_seq(&mut self) -> u8 {
        let s = self.seq;
        self.seq = self.seq.wrapping_add(1);
        s
    }

    fn transmit(&mut self, now: u64, cmd: &Command, legacy: bool) -> Result<u8, CommandError> {
        let seq = self.next_seq();
        let mut out = Vec::new();
        cmd.encode(seq, legacy, &mut out);
        self.link.send(now, &out).map_err(CommandError::Link)?;
        self.outstanding.push_back((seq, now + self.command_timeout_ms));
        Ok(seq)
    }

    /// Queues a command; returns the sequence number its response will carry (commands go out
    /// one at a time, in order).
    pub fn command(&mut self, now: u64, cmd: Command) -> Result<u8, CommandError> {
        if self.phase != Phase::Ready {
            return Err(CommandError::NotReady);
        }
        if !crate::ezsp::in_version(cmd.frame_id(), self.version) {
            return Err(CommandError::NotInVersion);
        }
        // Commands already sent used their numbers; queued ones take the next in order.
        let queued = u8::try_from(self.queue.len()).unwrap_or(u8::MAX);
        let seq = self.seq.wrapping_add(queued);
        self.queue.push_back(cmd);
        self.pump(now);
        Ok(seq)
    }

    fn pump(&mut self, now: u64) {
        while self.phase == Phase::Ready && self.outstanding.is_empty() {
            let Some(cmd) = self.queue.pop_front() else { break };
            if let Err(e) = self.transmit(now, &cmd, false) {
                let _ = e;
                self.fail(HostFailure::Link(FailReason::AckTimeouts));
                break;
            }
        }
    }

    fn fail(&mut self, f: HostFailure) {
        self.phase = Phase::Failed;
        self.outstanding.clear();
        self.queue.clear();
        self.events.push_back(HostEvent::Failed(f));
    }

    pub fn handle_bytes(&mut self, now: u64, bytes: &[u8]) {
        self.link.handle_bytes(now, bytes);
        self.drain_link(now);
    }

    fn drain_link(&mut self, now: u64) {
        while let Some(ev) = self.link.poll_event() {
            match ev {
                LinkEvent::Reset(code) => {
                    if self.phase == Phase::Resetting {
                        self.phase = Phase::Negotiating { sent_extended: false };
                        let _ =
                            self.transmit(now, &Command::Version { desired: self.desired }, true);
                    } else {
                        self.phase = Phase::Idle;
                        self.version = 0;
                        self.outstanding.clear();
                        self.queue.clear();
                        self.events.push_back(HostEvent::NcpReset(code));
                    }
                }
                LinkEvent::Failed(r) => {
                    if let FailReason::NcpError(code) = r {
                        self.events.push_back(HostEvent::NcpReset(code));
                    }
                    self.fail(HostFailure::Link(r));
                }
                LinkEvent::Data(frame) => self.handle_frame(now, &frame),
            }
        }
        self.pump(now);
    }

    fn handle_frame(&mut self, now: u64, frame: &[u8]) {
        let version = if self.version == 0 { MIN_VERSION } else { self.version };
        let Ok((hdr, f)) = NcpFrame::decode(version, frame) else {
            self.bad_frames += 1;
            // A response we cannot parse still ends the command it answers.
            if let (Some(&seq), Some(&(out, _))) = (frame.first(), self.outstanding.front()) {
                if seq == out && frame.get(1).is_some_and(|c| c & 0x18 == 0) {
                    self.outstanding.pop_front();
                }
            }
            return;
        };
        match f {
            NcpFrame::Callback(c) => self.events.push_back(HostEvent::Callback(c)),
            NcpFrame::Response(r) => {
                if self.outstanding.front().is_some_and(|(s, _)| *s == hdr.sequence) {
                    self.outstanding.pop_front();
                } else {
                    self.bad_frames += 1;
                    return; // unsolicited or late: dropped
                }
                match (self.phase, r) {
                    (
                        Phase::Negotiating { sent_extended },
                        Response::Version { protocol, stack_version, .. },
                    ) => {
                        if !(MIN_VERSION..=MAX_VERSION).contains(&protocol) {
                            self.fail(HostFailure::Version(protocol));
                        } else if protocol != self.desired && !sent_extended {
                            self.desired = protocol;
                            self.phase = Phase::Negotiating { sent_extended: true };
                            self.version = protocol;
                            let _ =
                                self.transmit(now, &Command::Version { desired: protocol }, false);
                        } else {
                            self.version = protocol;
                            self.phase = Phase::Ready;
                            self.events
                                .push_back(HostEvent::Ready { version: protocol, stack_version });
                        }
                    }
                    (Phase::Negotiating { .. }, _) => self.fail(HostFailure::Version(0)),
                    (_, response) => self
                        .events
                        .push_back(HostEvent::Response { sequence: hdr.sequence, response }),
                }
            }
        }
    }

    pub fn handle_timeout(&mut self, now: u64) {
        self.link.handle_timeout(now);
        if self.outstanding.front().is_some_and(|(_, d)| now >= *d)
            && self.link.state() == LinkState::Connected
        {
            self.fail(HostFailure::CommandTimeout);
        }
        self.drain_link(now);
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        let cmd = self.outstanding.front().map(|(_, d)| *d);
        match (self.link.poll_timeout(), cmd) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.link.poll_transmit()
    }

    pub fn poll_event(&mut self) -> Option<HostEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::ezsp::{Eui64, Header};

    /// A minimal NCP: answers `version` with `ncp_version`, `getNodeId` with the sequence number
    /// as node id, `nop` with a callback first and then the response.
    fn run(host: &mut Host, ncp: &mut Link, ncp_version: u8, now: u64) -> Vec<HostEvent> {
        let mut events = Vec::new();
        for _ in 0..50 {
            while let Some(b) = host.poll_transmit() {
                ncp.handle_bytes(now, &b);
            }
            while let Some(ev) = ncp.poll_event() {
                let LinkEvent::Data(f) = ev else { continue };
                let (hdr, cmd) = Command::decode(ncp_version, &f).unwrap();
                let mut out = Vec::new();
                match cmd {
                    Command::Version { .. } => Response::Version {
                        protocol: ncp_version,
                        stack_type: 2,
                        stack_version: 0x7450,
                    }
                    .encode(
                        hdr.sequence,
                        hdr.format == crate::ezsp::Format::Legacy,
                        &mut out,
                    ),
                    Command::GetNodeId => Response::GetNodeId { node_id: u16::from(hdr.sequence) }
                        .encode(hdr.sequence, false, &mut out),
                    Command::Nop => {
                        let mut cb = Vec::new();
                        Callback::StackStatus { status: crate::ezsp::EmberStatus::NETWORK_UP }
                            .encode(hdr.sequence, &mut cb);
                        ncp.send(now, &cb).unwrap();
                        Response::Nop.encode(hdr.sequence, false, &mut out);
                    }
                    _ => Header::response(hdr.sequence, 0x0058, crate::ezsp::CallbackType::None)
                        .emit(&mut out),
                }
                ncp.send(now, &out).unwrap();
            }
            while let Some(b) = ncp.poll_transmit() {
                host.handle_bytes(now, &b);
            }
            while let Some(e) = host.poll_event() {
                events.push(e);
            }
        }
        events
    }

    #[test]
    fn negotiates_down_and_matches_queued_commands_to_responses() {
        let mut host = Host::new(LinkConfig::default(), 13);
        let mut ncp = Link::new(Role::Ncp, LinkConfig::default());
        host.start(0);
        let ev = run(&mut host, &mut ncp, 9, 0);
        assert_eq!(ev, [HostEvent::Ready { version: 9, stack_version: 0x7450 }]);
        let seqs: Vec<u8> = (0..5).map(|_| host.command(0, Command::GetNodeId).unwrap()).collect();
        let n = host.command(0, Command::Nop).unwrap();
        let ev = run(&mut host, &mut ncp, 9, 0);
        let mut want: Vec<HostEvent> = seqs
            .iter()
            .map(|s| HostEvent::Response {
                sequence: *s,
                response: Response::GetNodeId { node_id: u16::from(*s) },
            })
            .collect();
        want.push(HostEvent::Callback(Callback::StackStatus {
            status: crate::ezsp::EmberStatus::NETWORK_UP,
        }));
        want.push(HostEvent::Response { sequence: n, response: Response::Nop });
        assert_eq!(ev, want);
        assert_eq!(host.in_flight(), 0);
        assert_eq!(
            host.command(
                0,
                Command::ImportTransientKey {
                    partner: Eui64::default(),
                    key: crate::ezsp::Key::default(),
                    flags: 0
                }
            ),
            Err(CommandError::NotInVersion)
        );
    }

    #[test]
    fn refuses_an_ncp_below_version_8() {
        let mut host = Host::new(LinkConfig::default(), 13);
        let mut ncp = Link::new(Role::Ncp, LinkConfig::default());
        host.start(0);
        let ev = run(&mut host, &mut ncp, 7, 0);
        assert_eq!(ev, [HostEvent::Failed(HostFailure::Version(7))]);
    }

    #[test]
    fn silent_ncp_times_the_command_out() {
        let mut host = Host::new(LinkConfig::default(), 13);
        let mut ncp = Link::new(Role::Ncp, LinkConfig::default());
        host.start(0);
        run(&mut host, &mut ncp, 13, 0);
        host.command(0, Command::Nop).unwrap();
        let _ = host.poll_transmit(); // lost on the wire
        let mut t = 0;
        let mut failed = None;
        while t < 60_000 && failed.is_none() {
            t = host.poll_timeout().unwrap_or(t + 1000).max(t + 1);
            host.handle_timeout(t);
            let _ = host.poll_transmit();
            while let Some(e) = host.poll_event() {
                if let HostEvent::Failed(f) = e {
                    failed = Some(f);
                }
            }
        }
        assert!(
            matches!(
                failed,
                Some(HostFailure::Link(FailReason::AckTimeouts) | HostFailure::CommandTimeout)
            ),
            "{failed:?}"
        );
    }
}
