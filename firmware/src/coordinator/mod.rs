//! The complete ESI coordinator: the [`Esi`] core and a coordinator-role host-link endpoint,
//! and the mapping between them (`docs/firmware.md`). This is what a radio chip's firmware, the
//! simulator (`esi-sim`) and tests run; the gateway talks to it over the serial link.
//!
//! Sans-IO like its two halves: the caller feeds it inputs with its monotonic time in
//! milliseconds and drains what it wants done.
//!
//! ```text
//! inputs                                         outputs (drain after every input)
//!  handle_serial_bytes(now, bytes)  ─┐          ┌─ poll_serial_transmit(buf) → bytes for the UART
//!  handle_aps_indication(now, ind)   │          ├─ poll_radio() → RadioAction (SendAps, Leave,
//!  handle_aps_confirm(now, h, st)    ├─► Coordinator ─┤              InstallKey, EraseKey)
//!  handle_join_request(now, eui, s)  │          └─ poll_timeout() → when to call handle_timeout
//!  handle_device_left(now, eui)      │
//!  handle_timeout(now), reset()     ─┘
//! ```
//!
//! **Draining.** After any input call `poll_radio` and `poll_serial_transmit` until *both*
//! return `None`: each can make work for the other (a radio action taken lets further host
//! reports out of the core; a report handed to the link frees room to admit the next host
//! request, whose frames go to the radio). Then sleep until `poll_timeout` or the next input.
//!
//! **Backpressure.** Reports wait in a bounded queue (`queue`) until the link's send window
//! has room. While the link is connected and that queue is nearly full, the coordinator stops
//! draining the core (which keeps its own outputs, and finished deliveries stay in its table)
//! and stops taking host requests off the link (the link then leaves the host's further
//! frames unacknowledged, and the host retransmits them). While the link is down the core is
//! drained regardless, so the HAN is still served; a report that does not fit is then counted
//! and the loss is reported to the host as `Error(QUEUE_OVERFLOW)` once it is back. A report
//! whose link session ends before the host acknowledged it is sent again in the next session
//! (so across a session loss the host may see a report twice; it deduplicates by request id).

mod link;
mod map;
mod queue;
#[cfg(test)]
mod tests;

pub use queue::{LINK_WINDOW, NORMAL_QUEUE, URGENT_QUEUE};

pub use crate::esi::{
    ApsFrame, ApsHandle, ApsIndication, ApsSecurity, ApsStatus, EsiConfig, Instant, JoinDecision,
    LinkKey, Metrology, NoMetrology,
};

use crate::esi::{Action, Esi, MeterReading as CoreReading, SlotState};
use crate::host_link::{
    CoordinatorEndpoint, Heartbeat, HeartbeatCounters, LinkConfig, NodeInfo, Report, Role, Seq,
    SoftwareVersion,
};
use core::fmt;
use queue::{Queued, ReportQueue, REPORTS_PER_OUTCOME};
use zse::zcl::Eui64;

/// This firmware's version, as announced in the link `Hello`.
pub const FIRMWARE_VERSION: SoftwareVersion = SoftwareVersion {
    major: parse_u8(env!("CARGO_PKG_VERSION_MAJOR")),
    minor: parse_u8(env!("CARGO_PKG_VERSION_MINOR")),
    patch: parse_u8(env!("CARGO_PKG_VERSION_PATCH")),
};

/// Free entries the normal report queue must have before the next host request is taken off
/// the link: its `Result` and data report, plus room for unsolicited reports meanwhile.
const ADMIT_FREE: usize = 4;

/// Added to the session seed per reset, so that a reset coordinator's first session id differs
/// from every id of the sessions before it (the host takes a known id for a retransmitted
/// `Hello`). Real hardware should seed from a boot counter or a random number instead.
const SESSION_STRIDE: u32 = 0x9E37_79B9;

/// Something the radio (the ZigBee stack under the core) must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RadioAction {
    /// APSDE-DATA.request; answer later with [`Coordinator::handle_aps_confirm`] for
    /// `frame.handle`.
    SendAps(ApsFrame),
    /// Ask the device to leave the network (NWK Leave / ZDO Mgmt_Leave).
    Leave { eui64: Eui64, short: Option<u16> },
    /// Put the device's link key into the trust-centre key table.
    InstallKey { eui64: Eui64, key: LinkKey },
    /// Remove the device's key from the key table.
    EraseKey { eui64: Eui64 },
}

/// Static configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoordinatorConfig {
    pub esi: EsiConfig,
    /// The ESI's EUI-64, announced in the link `Hello`.
    pub esi_eui64: Eui64,
    pub software: SoftwareVersion,
    /// First link session id. Must differ between boots (a boot counter or a random number),
    /// or the host may take the first `Hello` after a reboot for a retransmission.
    pub session_seed: u32,
    /// Link retransmission timeout (`LinkConfig::retransmit_timeout_ms`).
    pub retransmit_timeout_ms: u32,
    /// Link retransmissions before the session is declared lost.
    pub max_retries: u8,
    /// Interval between `Hello`s while the link is down.
    pub hello_interval_ms: u32,
    /// Interval between `Heartbeat` datagrams while the link is up (0 = none). The first one
    /// goes out when a session starts.
    pub heartbeat_ms: u64,
}

impl CoordinatorConfig {
    pub const DEFAULT_HEARTBEAT_MS: u64 = 10_000;

    /// Defaults for everything but the identity.
    pub fn new(esi_eui64: impl Into<Eui64>, session_seed: u32) -> Self {
        Self {
            esi: EsiConfig::default(),
            esi_eui64: esi_eui64.into(),
            software: FIRMWARE_VERSION,
            session_seed,
            retransmit_timeout_ms: LinkConfig::DEFAULT_RETRANSMIT_TIMEOUT_MS,
            max_retries: LinkConfig::DEFAULT_MAX_RETRIES,
            hello_interval_ms: LinkConfig::DEFAULT_HELLO_INTERVAL_MS,
            heartbeat_ms: Self::DEFAULT_HEARTBEAT_MS,
        }
    }
}

/// What the coordinator itself counted since it (re)started; the link and the core keep their
/// own counters ([`Coordinator::link`], [`Coordinator::esi`]). All wrap at 2³².
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CoordinatorCounters {
    /// Requests taken off the link.
    pub requests: u32,
    /// Requests answered `BUSY` because their kind's buffer was taken.
    pub requests_busy: u32,
    /// Reliable reports handed to the link / acknowledged by the host.
    pub reports_sent: u32,
    pub reports_acked: u32,
    /// Reports sent again in a new session because theirs ended unacknowledged.
    pub reports_resent: u32,
    /// Reports the host could not decode (link `Rejected`); not sent again.
    pub reports_rejected: u32,
    /// Terminal reports (`Result`, `DeliveryResult`) lost because the queue was full while the
    /// link was down. Reported to the host as `Error(QUEUE_OVERFLOW)`.
    pub results_dropped: u32,
    /// Other reports lost the same way.
    pub reports_dropped: u32,
    /// `Error(QUEUE_OVERFLOW)` reports sent.
    pub overflow_reports: u32,
    /// Times the core was left undrained because the report queue was nearly full.
    pub backpressure: u32,
    /// APS confirms with status SUCCESS / another status.
    pub aps_confirms_ok: u32,
    pub aps_confirms_failed: u32,
    /// Heartbeat datagrams sent.
    pub heartbeats: u32,
}

/// The one `ReadMeter` answer the coordinator holds (it is the largest report). Held in place:
/// there is no allocator, and the slot is part of the static RAM budget either way.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
enum MeterSlot {
    Free,
    /// Admitted, the core's answer has not come out yet.
    Requested(u32),
    /// Until the host acknowledges the `MeterReading` report.
    Held(u32, CoreReading),
}

/// The ESI coordinator: `SLOTS` device slots (5..=16), `EVENTS` DR events, `PRICES` price
/// events, metrology `M`. See the module documentation for the calling convention.
pub struct Coordinator<
    const SLOTS: usize = 16,
    const EVENTS: usize = 8,
    const PRICES: usize = 5,
    M: Metrology = NoMetrology,
> {
    config: CoordinatorConfig,
    esi: Esi<SLOTS, EVENTS, PRICES, M>,
    link: CoordinatorEndpoint,
    queue: ReportQueue,
    /// The next radio action, taken from the core and not yet polled.
    radio: Option<RadioAction>,
    meter: MeterSlot,
    now: Instant,
    booted_at: Option<Instant>,
    next_heartbeat: Option<Instant>,
    /// A host `Reset` was answered; `reset_seq` is the frame carrying the answer.
    reset_request: Option<u32>,
    reset_seq: Option<Seq>,
    reset_due: bool,
    /// Requests handed to the core whose `Result` has not come out of it yet.
    awaiting: usize,
    /// Loss totals last reported with `Error(QUEUE_OVERFLOW)`.
    overflow_reported: u32,
    counters: CoordinatorCounters,
    /// Resets since construction (kept across resets: it stands for a boot counter).
    boots: u32,
}

impl<const SLOTS: usize, const EVENTS: usize, const PRICES: usize, M: Metrology>
    Coordinator<SLOTS, EVENTS, PRICES, M>
{
    pub fn new(config: CoordinatorConfig, meter: M) -> Self {
        Self {
            config,
            esi: Esi::new(config.esi, meter),
            link: CoordinatorEndpoint::new(link_config::<SLOTS>(&config, config.session_seed)),
            queue: ReportQueue::new(),
            radio: None,
            meter: MeterSlot::Free,
            now: Instant(0),
            booted_at: None,
            next_heartbeat: None,
            reset_request: None,
            reset_seq: None,
            reset_due: false,
            awaiting: 0,
            overflow_reported: 0,
            counters: CoordinatorCounters::default(),
            boots: 0,
        }
    }

    // ---- inputs ----

    /// Bytes read from the serial port (any chunking; noise is counted and dropped).
    pub fn handle_serial_bytes(&mut self, now: impl Into<Instant>, bytes: &[u8]) {
        self.advance(now.into());
        self.link.handle_bytes(self.now.0, bytes);
        self.run();
    }

    /// An APS data indication from the radio.
    pub fn handle_aps_indication(&mut self, now: impl Into<Instant>, ind: ApsIndication<'_>) {
        self.advance(now.into());
        self.esi.handle_aps_indication(self.now, ind);
        self.run();
    }

    /// The radio's APSDE-DATA.confirm for the frame sent with `handle`.
    pub fn handle_aps_confirm(
        &mut self,
        now: impl Into<Instant>,
        handle: ApsHandle,
        status: ApsStatus,
    ) {
        self.advance(now.into());
        if status == ApsStatus::SUCCESS {
            bump(&mut self.counters.aps_confirms_ok);
        } else {
            bump(&mut self.counters.aps_confirms_failed);
        }
        self.esi.handle_aps_confirm(self.now, handle, status);
        self.run();
    }

    /// A device asks to join (trust-centre decision): accepted with the key to transport the
    /// network key under, for a provisioned device in its join window or rejoining.
    pub fn handle_join_request(
        &mut self,
        now: impl Into<Instant>,
        eui64: impl Into<Eui64>,
        short: u16,
    ) -> JoinDecision {
        self.advance(now.into());
        let decision = self.esi.handle_join_request(self.now, eui64.into(), short);
        self.run();
        decision
    }

    /// The stack admitted a device on its own (no join request); one that is not provisioned
    /// is told to leave.
    pub fn handle_device_joined(
        &mut self,
        now: impl Into<Instant>,
        eui64: impl Into<Eui64>,
        short: u16,
    ) {
        self.advance(now.into());
        self.esi.handle_device_joined(self.now, eui64.into(), short);
        self.run();
    }

    /// The device left the network (it stays provisioned and may rejoin).
    pub fn handle_device_left(&mut self, now: impl Into<Instant>, eui64: impl Into<Eui64>) {
        self.advance(now.into());
        self.esi.handle_device_left(self.now, eui64.into());
        self.run();
    }

    /// For stacks that run CBKE themselves: key establishment with the device completed.
    pub fn handle_key_established(&mut self, now: impl Into<Instant>, eui64: impl Into<Eui64>) {
        self.advance(now.into());
        self.esi.handle_key_established(self.now, eui64.into());
        self.run();
    }

    /// Runs everything due at `now`: link retransmissions and `Hello`s, the core's timers,
    /// heartbeats.
    pub fn handle_timeout(&mut self, now: impl Into<Instant>) {
        self.advance(now.into());
        self.link.handle_timeout(self.now.0);
        self.esi.handle_timeout(self.now);
        self.run();
    }

    /// A coordinator reset (power cycle, watchdog, host `Reset`): the core's state, the report
    /// queue and the counters are lost, and the link starts a new handshake with a new session
    /// id. The host sees the new session and resynchronises (device list, status, re-sent
    /// requests).
    pub fn reset(&mut self) {
        self.esi.reset();
        self.boots = self.boots.wrapping_add(1);
        let seed = self.config.session_seed.wrapping_add(self.boots.wrapping_mul(SESSION_STRIDE));
        self.link = CoordinatorEndpoint::new(link_config::<SLOTS>(&self.config, seed));
        self.queue = ReportQueue::new();
        self.radio = None;
        self.meter = MeterSlot::Free;
        self.booted_at = Some(self.now);
        self.next_heartbeat = None;
        self.reset_request = None;
        self.reset_seq = None;
        self.reset_due = false;
        self.awaiting = 0;
        self.overflow_reported = 0;
        self.counters = CoordinatorCounters::default();
    }

    // ---- outputs ----

    /// The next thing the radio must do, or `None`.
    pub fn poll_radio(&mut self) -> Option<RadioAction> {
        let action = self.radio.take()?;
        self.run();
        Some(action)
    }

    /// Writes the next frame for the serial port into `buf` (at least
    /// [`MAX_WIRE_LEN`](crate::host_link::MAX_WIRE_LEN) = 354 bytes) and returns its length;
    /// `None` when nothing is due.
    pub fn poll_serial_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        self.run();
        if let Some(n) = self.link.poll_transmit(buf) {
            return Some(n);
        }
        let due = self.next_heartbeat.is_some_and(|t| t <= self.now);
        if due && self.link.is_connected() {
            self.next_heartbeat = self.heartbeat_after(self.now);
            let hb = Report::Heartbeat(self.heartbeat());
            if let Ok(n) = self.link.send_unreliable(&hb, buf) {
                bump(&mut self.counters.heartbeats);
                return Some(n);
            }
        }
        None
    }

    /// The earliest instant at which `handle_timeout` has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let heartbeat = if self.link.is_connected() { self.next_heartbeat } else { None };
        [self.link.poll_timeout().map(Instant), self.esi.poll_timeout(), heartbeat]
            .into_iter()
            .flatten()
            .min()
    }

    // ---- read-only views ----

    pub fn config(&self) -> &CoordinatorConfig {
        &self.config
    }

    /// The ESI core (slot table, stored prices and events, its counters).
    pub fn esi(&self) -> &Esi<SLOTS, EVENTS, PRICES, M> {
        &self.esi
    }

    /// The metrology, e.g. for a simulator to change the meter's readings.
    pub fn meter_mut(&mut self) -> &mut M {
        self.esi.meter_mut()
    }

    /// The host-link endpoint (state, peer, counters).
    pub fn link(&self) -> &CoordinatorEndpoint {
        &self.link
    }

    pub fn counters(&self) -> &CoordinatorCounters {
        &self.counters
    }

    /// Reports queued and not yet handed to the link.
    pub fn reports_waiting(&self) -> usize {
        self.queue.waiting()
    }

    /// Reports handed to the link and not yet acknowledged.
    pub fn reports_in_flight(&self) -> usize {
        self.queue.in_flight()
    }

    /// The counters the `Heartbeat` report carries, from both halves.
    pub fn heartbeat(&self) -> Heartbeat {
        let link = self.link.counters();
        let core = self.esi.counters();
        let count = |st: SlotState| self.esi.devices().filter(|(_, s)| s.state == st).count();
        let uptime_ms = self.booted_at.map_or(0, |b| self.now.millis_since(b));
        Heartbeat {
            uptime_s: (uptime_ms / 1000).min(u64::from(u32::MAX)) as u32,
            utc: self.esi.utc(self.now).map_or(0, |u| u.0),
            counters: HeartbeatCounters {
                link_frames_rx: link.frames_rx,
                link_errors: link.receive_errors(),
                link_retransmissions: link.retransmissions,
                aps_tx: core.tx_frames,
                aps_acked: self.counters.aps_confirms_ok,
                aps_failed: core.delivery_timeouts.saturating_add(core.delivery_failures),
                slots_used: self.esi.devices().count() as u8,
                devices_paired: count(SlotState::Paired) as u8,
            },
        }
    }

    // ---- internals ----

    fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.booted_at.is_none() {
            self.booted_at = Some(self.now);
        }
    }

    /// One pass after any input or output: link events (and admission of host requests),
    /// draining the core, filling the link's send window, a pending reset.
    fn run(&mut self) {
        self.link_events();
        self.pump();
        self.feed_link();
        if self.reset_due {
            self.reset();
        }
    }

    /// Drains the core: host outcomes into the report queue, the next radio action into the
    /// one-entry radio slot (the radio pulls; frames are built from current state when taken).
    fn pump(&mut self) {
        while self.radio.is_none() {
            if self.link.is_connected() && self.queue.normal_free() < REPORTS_PER_OUTCOME {
                bump(&mut self.counters.backpressure);
                break;
            }
            let Some(action) = self.esi.poll_action() else {
                // Nothing left inside the core, so no result either (even one it lost).
                self.awaiting = 0;
                break;
            };
            match action {
                Action::SendAps(frame) => self.radio = Some(RadioAction::SendAps(frame)),
                Action::Leave { eui64, short } => {
                    self.radio = Some(RadioAction::Leave { eui64, short });
                }
                Action::InstallKey { eui64, key } => {
                    self.radio = Some(RadioAction::InstallKey { eui64, key });
                }
                Action::EraseKey { eui64 } => self.radio = Some(RadioAction::EraseKey { eui64 }),
                Action::Host(outcome) => self.on_outcome(outcome),
            }
        }
    }

    /// Queues a report; a loss (only possible while the link is down) is counted.
    fn enqueue(&mut self, q: Queued) {
        if let Err(q) = self.queue.push(q) {
            self.lost(q);
        }
    }

    fn lost(&mut self, q: Queued) {
        if q.is_terminal() {
            bump(&mut self.counters.results_dropped);
        } else {
            bump(&mut self.counters.reports_dropped);
        }
        self.done_with(q);
    }

    fn heartbeat_after(&self, t: Instant) -> Option<Instant> {
        (self.config.heartbeat_ms > 0).then(|| t.add_millis(self.config.heartbeat_ms))
    }
}

impl<const SLOTS: usize, const EVENTS: usize, const PRICES: usize, M: Metrology> fmt::Debug
    for Coordinator<SLOTS, EVENTS, PRICES, M>
{
    /// State and counters only (no keys, no buffers).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Coordinator")
            .field("now", &self.now)
            .field("link", &self.link.state())
            .field("devices", &self.esi.devices().count())
            .field("reports_waiting", &self.queue.waiting())
            .field("reports_in_flight", &self.queue.in_flight())
            .field("radio_pending", &self.radio.is_some())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

fn link_config<const SLOTS: usize>(config: &CoordinatorConfig, seed: u32) -> LinkConfig {
    let node = NodeInfo {
        role: Role::Coordinator,
        software: config.software,
        esi_eui64: config.esi_eui64.into(),
        slot_capacity: SLOTS as u8,
    };
    let mut link = LinkConfig::new(node, seed);
    link.retransmit_timeout_ms = config.retransmit_timeout_ms;
    link.max_retries = config.max_retries;
    link.hello_interval_ms = config.hello_interval_ms;
    link
}

fn bump(c: &mut u32) {
    *c = c.wrapping_add(1);
}

/// A decimal `u8` from a version component (255 if it does not fit).
const fn parse_u8(s: &str) -> u8 {
    let mut b = s.as_bytes();
    let mut v: u32 = 0;
    while let [d @ b'0'..=b'9', rest @ ..] = b {
        v = v * 10 + (*d - b'0') as u32;
        if v > 255 {
            return 255;
        }
        b = rest;
    }
    v as u8
}
