//! Coordinator tests: a host-role `LinkEndpoint` on the other end of an in-memory byte pipe (with
//! optional loss and corruption), device frames built with zse's cluster types, and the
//! coordinator's radio actions decoded again with `zse::zcl::Frame::parse`.
// The end-to-end scenario reads top to bottom as one story, with the usual short names for a
// frame and its payload.
#![allow(clippy::too_many_lines, clippy::many_single_char_names)]

extern crate std;

mod e2e;
mod props;

use super::*;
use crate::esi::MeterStatus;
use crate::host_link::{self, HostEndpoint, Request, MAX_WIRE_LEN};
use std::vec::Vec;
use zse::cluster::ClusterCommand;
use zse::zcl::{ClusterId, Frame};

pub use crate::testutil::{indication, short_of, FakeMeter, IHD, KEY, PCT, T0};
pub const ESI: Eui64 = Eui64(0x000D_6F00_0ABC_DEF0);

pub type TestCoordinator = Coordinator<16, 8, 5, FakeMeter>;

/// A tiny deterministic RNG (xorshift64*) for fault injection.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// True with probability `per_mille`/1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
}

/// What the pipe does to each chunk written to it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Per mille of chunks dropped whole.
    pub drop: u64,
    /// Per mille of chunks with one byte flipped.
    pub corrupt: u64,
}

/// Coordinator + host endpoint + radio log, on a virtual clock.
pub struct Rig {
    pub coord: TestCoordinator,
    pub host: HostEndpoint,
    pub now: u64,
    /// Every report the host received, in order (heartbeats included).
    pub reports: Vec<host_link::Report>,
    /// Every radio action the coordinator asked for, in order.
    pub radio: Vec<RadioAction>,
    /// Host requests acknowledged by the coordinator's link (accepted), by request id.
    pub accepted: Vec<u32>,
    /// Host requests whose frame failed (never accepted).
    pub failed: Vec<u32>,
    /// (seq, request id) of host requests not yet acknowledged.
    pending: Vec<(host_link::Seq, u32)>,
    pub host_disconnects: u32,
    pub next_request: u32,
    pub faults: Faults,
    /// Drop everything the coordinator sends (a host that stopped reading).
    pub mute_to_host: bool,
    pub rng: Rng,
}

impl Rig {
    pub fn new() -> Self {
        let mut config = CoordinatorConfig::new(ESI, 0x1234_5678);
        config.esi.meter_poll_ms = 0;
        let meter =
            FakeMeter { summation: Some(1_234_567), demand: None, status: Some(MeterStatus(0)) };
        let node = host_link::NodeInfo {
            role: host_link::Role::Host,
            software: host_link::SoftwareVersion::default(),
            esi_eui64: host_link::Eui64(0),
            slot_capacity: 0,
        };
        let mut rig = Self {
            coord: Coordinator::new(config, meter),
            host: HostEndpoint::new(LinkConfig::new(node, 0xABCD_0000)),
            now: 1_000,
            reports: Vec::new(),
            radio: Vec::new(),
            accepted: Vec::new(),
            failed: Vec::new(),
            pending: Vec::new(),
            host_disconnects: 0,
            next_request: 1,
            faults: Faults::default(),
            mute_to_host: false,
            rng: Rng::new(7),
        };
        rig.settle();
        assert!(rig.host.is_connected() && rig.coord.link().is_connected());
        rig
    }

    /// Passes `bytes` through the pipe's faults.
    fn pipe(&mut self, bytes: &[u8]) -> Option<Vec<u8>> {
        if self.rng.chance(self.faults.drop) {
            return None;
        }
        let mut v = bytes.to_vec();
        if !v.is_empty() && self.rng.chance(self.faults.corrupt) {
            let i = (self.rng.next() % v.len() as u64) as usize;
            v[i] ^= 1 << (self.rng.next() % 8);
        }
        Some(v)
    }

    /// Moves bytes and events until nothing changes. Radio actions are logged, not answered.
    pub fn settle(&mut self) {
        let mut buf = [0u8; MAX_WIRE_LEN];
        for _ in 0..100_000 {
            let mut progress = false;
            // A responsive host: it takes every frame's message before reading the next.
            while let Some(n) = self.coord.poll_serial_transmit(&mut buf) {
                if self.mute_to_host {
                    progress = true;
                    continue;
                }
                if let Some(bytes) = self.pipe(&buf[..n]) {
                    self.host.handle_bytes(self.now, &bytes);
                }
                while let Some(ev) = self.host.poll_event() {
                    self.on_host_event(ev);
                }
                progress = true;
            }
            while let Some(a) = self.coord.poll_radio() {
                self.radio.push(a);
                progress = true;
            }
            while let Some(ev) = self.host.poll_event() {
                self.on_host_event(ev);
                progress = true;
            }
            while let Some(n) = self.host.poll_transmit(&mut buf) {
                if let Some(bytes) = self.pipe(&buf[..n]) {
                    self.coord.handle_serial_bytes(self.now, &bytes);
                }
                progress = true;
            }
            if !progress {
                return;
            }
        }
        panic!("the rig does not settle");
    }

    fn on_host_event(&mut self, ev: host_link::LinkEvent<host_link::Report>) {
        match ev {
            host_link::LinkEvent::Received(r) => self.reports.push(r),
            host_link::LinkEvent::Acked(seq) => {
                let i = self.pending.iter().position(|p| p.0 == seq).expect("acked unknown seq");
                self.accepted.push(self.pending.remove(i).1);
            }
            host_link::LinkEvent::Failed { seq, .. } => {
                let i = self.pending.iter().position(|p| p.0 == seq).expect("failed unknown seq");
                self.failed.push(self.pending.remove(i).1);
            }
            host_link::LinkEvent::Disconnected => self.host_disconnects += 1,
            _ => {}
        }
    }

    /// Advances the clock by `ms` in steps no larger than the next deadline, running timers.
    pub fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            let next = [self.coord.poll_timeout().map(|t| t.0), self.host.poll_timeout()]
                .into_iter()
                .flatten()
                .filter(|&t| t > self.now)
                .min()
                .unwrap_or(end)
                .min(end);
            self.now = next;
            self.coord.handle_timeout(self.now);
            self.host.handle_timeout(self.now);
            self.settle();
        }
    }

    /// Sends a request (the host's window must have room); returns its id.
    pub fn send(&mut self, command: host_link::Command) -> u32 {
        let id = self.try_send(command).expect("host window full");
        self.settle();
        id
    }

    /// Queues a request without settling; `None` if the host's window is full.
    pub fn try_send(&mut self, command: host_link::Command) -> Option<u32> {
        let request_id = self.next_request;
        let seq = self.host.send(self.now, &Request { request_id, command }).ok()?;
        self.next_request += 1;
        self.pending.push((seq, request_id));
        Some(request_id)
    }

    /// Delivers a ZCL frame from `eui` with link-key security.
    pub fn rx(&mut self, eui: Eui64, cluster: ClusterId, zcl: &[u8]) {
        self.rx_with(eui, cluster, ApsSecurity::LinkKey, zcl);
    }

    pub fn rx_with(&mut self, eui: Eui64, cluster: ClusterId, security: ApsSecurity, zcl: &[u8]) {
        let ind = indication(eui, cluster, security, false, zcl);
        self.coord.handle_aps_indication(self.now, ind);
        self.settle();
    }

    /// Confirms every APS frame logged so far and not yet confirmed.
    pub fn confirm_all(&mut self, status: ApsStatus, from: usize) -> usize {
        let handles: Vec<ApsHandle> = self.radio[from..]
            .iter()
            .filter_map(|a| match a {
                RadioAction::SendAps(f) => Some(f.handle),
                _ => None,
            })
            .collect();
        let end = self.radio.len();
        for h in handles {
            self.coord.handle_aps_confirm(self.now, h, status);
            self.settle();
        }
        end
    }

    /// `Result` reports for `request_id`.
    pub fn results_for(&self, request_id: u32) -> Vec<host_link::RequestResult> {
        self.reports
            .iter()
            .filter_map(|r| match r {
                host_link::Report::Result(res) if res.request_id == request_id => Some(*res),
                _ => None,
            })
            .collect()
    }

    pub fn deliveries_for(&self, request_id: u32) -> Vec<host_link::DeliveryResult> {
        self.reports
            .iter()
            .filter_map(|r| match r {
                host_link::Report::DeliveryResult(d) if d.request_id == request_id => Some(*d),
                _ => None,
            })
            .collect()
    }

    /// The APS frames sent since radio log index `from`.
    pub fn frames_since(&self, from: usize) -> Vec<&ApsFrame> {
        self.radio[from..]
            .iter()
            .filter_map(|a| match a {
                RadioAction::SendAps(f) => Some(f),
                _ => None,
            })
            .collect()
    }
}

/// A cluster-specific client→server frame built by zse.
pub fn request(cmd: ClusterCommand<'_>, tsn: u8, ddr: bool) -> Vec<u8> {
    let mut buf = [0u8; 127];
    let n = Frame::cluster(cmd, tsn, ddr).emit(&mut buf).unwrap();
    buf[..n].to_vec()
}

#[test]
fn static_size() {
    let core = core::mem::size_of::<Esi<16, 8, 5, FakeMeter>>();
    let bare = core::mem::size_of::<Coordinator<16, 8, 5, NoMetrology>>();
    let bare_core = core::mem::size_of::<Esi<16, 8, 5, NoMetrology>>();
    std::println!("with NoMetrology: Coordinator<16, 8, 5> {bare} B, core {bare_core} B");
    std::println!(
        "on the stack when sending: Report {} B, Request {} B",
        core::mem::size_of::<host_link::Report>(),
        core::mem::size_of::<Request>()
    );
    let link = core::mem::size_of::<CoordinatorEndpoint>();
    let total = core::mem::size_of::<TestCoordinator>();
    let reading = core::mem::size_of::<MeterSlot>();
    let queued = core::mem::size_of::<queue::Queued>();
    let queue = core::mem::size_of::<queue::ReportQueue>();
    let radio = core::mem::size_of::<Option<RadioAction>>();
    std::println!(
        "Coordinator<16, 8, 5>: {total} B = core {core} B + link {link} B + report queue {queue} B \
         ({queued} B/entry) + meter reading {reading} B + radio slot {radio} B + rest"
    );
    assert!(core <= 8 * 1024, "core {core} B over the 8 KiB budget");
    assert!(total <= 12 * 1024, "coordinator {total} B");
}
