//! The ESI application core: a sans-IO state machine (style.md §2) that serves an SE 1.0 HAN.
//!
//! Inputs, each with the caller's `now` ([`Instant`], monotonic milliseconds):
//! [`Esi::handle_command`] (host), [`Esi::handle_aps_indication`] and [`Esi::handle_aps_confirm`]
//! (radio), [`Esi::handle_join_request`], [`Esi::handle_device_joined`],
//! [`Esi::handle_device_left`], [`Esi::handle_key_established`] (stack), [`Esi::handle_timeout`].
//! Outputs: drain [`Esi::poll_action`] after every input, then sleep until
//! [`Esi::poll_timeout`]. The core owns no clock, radio or serial port; it allocates nothing and
//! its whole state is one value whose size is measured in a test (design.md §10: ≤ 8 KiB with 16
//! slots).
//!
//! Modules, one per concept: [`slot`] and `provisioning` (devices and keys), [`clock`] (UTC and
//! the Time cluster), `attributes` (Basic/Time/Metering Read Attributes), `messaging`, `price`,
//! `drlc`, [`metering`], `delivery` (per-device push tracking), `intake` (frame dispatch).

pub mod action;
mod attributes;
pub mod clock;
pub mod command;
mod counters;
mod delivery;
mod drlc;
pub mod fuzz;
mod intake;
mod messaging;
pub mod metering;
mod output;
mod price;
mod provisioning;
pub mod slot;
mod tx;

#[cfg(test)]
mod tests;

pub use action::{
    Action, ApsFrame, ApsHandle, ApsIndication, ApsSecurity, ApsStatus, DeliveryOutcome,
    DeviceEvent, DeviceInfo, EventStatusReport, JoinDecision, Outcome, PowerState, SwitchState,
    APS_PAYLOAD_MAX,
};
pub use attributes::BasicInfo;
pub use clock::{Dst, Instant, TimeSetting};
pub use command::{
    Command, CommandError, CommandOk, LoadControlCommand, MessageCommand, PriceCommand,
    RemovalReason, RequestId, Targets,
};
pub use counters::Counters;
pub use delivery::{RetryPolicy, MAX_DELIVERIES};
pub use drlc::DrEvent;
pub use messaging::{Message, MESSAGE_MAX_LEN};
pub use metering::{
    MeterAttribute, MeterFormatting, MeterReading, MeterStatus, MeterValue, Metrology, NoMetrology,
};
pub use price::PriceEvent;
pub use provisioning::JOIN_WINDOW_SECS;
pub use slot::{LinkKey, Slot, SlotState};

use counters::bump;
use delivery::{Deliveries, Push, State};
use heapless::Deque;
use zse::zcl::{ClusterId, Eui64, Header, Status, UtcTime, SE_PROFILE_ID};

/// Host outcomes and radio actions waiting for `poll_action`. Every input produces a bounded
/// number (≤ 2 per slot for a mass join-window expiry); the caller drains after each input.
const QUEUE_LEN: usize = 40;
/// Immediate replies to received requests waiting for `poll_action`.
const REPLY_QUEUE_LEN: usize = 2;

/// Static configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EsiConfig {
    /// The ESI's SE endpoint.
    pub endpoint: u8,
    /// Endpoint assumed for a device until it sends a frame (SE has no fixed endpoint).
    pub default_device_endpoint: u8,
    pub basic: BasicInfo,
    pub retry: RetryPolicy,
    /// Set Disable Default Response on pushes (SE convention, se10.md §10); devices then answer
    /// only errors.
    pub push_disable_default_response: bool,
    /// How often the metrology status is polled for power/switch changes (0 = never).
    pub meter_poll_ms: u64,
}

impl Default for EsiConfig {
    fn default() -> Self {
        Self {
            endpoint: 1,
            default_device_endpoint: 1,
            basic: BasicInfo::default(),
            retry: RetryPolicy::default(),
            push_disable_default_response: true,
            meter_poll_ms: 1_000,
        }
    }
}

/// Answer to `GetStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EsiStatus {
    pub capacity: u8,
    pub occupied: u8,
    pub pending: u8,
    pub paired: u8,
    pub utc: Option<UtcTime>,
    pub in_flight: u8,
    pub active_message: Option<u32>,
    pub prices: u8,
    pub dr_events: u8,
    pub power: Option<PowerState>,
    pub switch: Option<SwitchState>,
    pub counters: Counters,
}

/// Small results kept in the output queue (the big ones are built when polled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SmallOk {
    DeviceAdded { slot: u8, slots_free: u8 },
    DeviceRemoved { slot: u8 },
    Accepted { deliveries: u8, superseded: u8 },
    TimeSet,
}

/// One queued output, compact; `poll_action` turns it into an [`Action`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pending {
    Result { request_id: RequestId, result: Result<SmallOk, CommandError> },
    MeterReading { request_id: RequestId, attrs: metering::AttrSet },
    Status { request_id: RequestId },
    DeviceList { request_id: RequestId, next: u8 },
    DeviceState { eui64: Eui64, event: DeviceEvent },
    EventStatus { eui64: Eui64, report: EventStatusReport },
    MessageConfirmed { eui64: Eui64, message_id: u32, confirmation_time: UtcTime },
    PowerSwitch { power: PowerState, switch: SwitchState, at: Option<UtcTime> },
    Leave { eui64: Eui64, short: Option<u16> },
    InstallKey { eui64: Eui64 },
    EraseKey { eui64: Eui64 },
}

/// Where a reply to a received frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReplyTo {
    short: u16,
    eui64: Eui64,
    /// The requester's endpoint.
    endpoint: u8,
    /// Our endpoint it addressed.
    our_endpoint: u8,
    cluster: ClusterId,
    secure: bool,
    broadcast: bool,
}

/// GetScheduledPrices / GetScheduledEvents answers still to send, one frame per poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scheduled {
    to: ReplyTo,
    tsn: u8,
    /// Events ending at or before this UTC second are skipped.
    min_end: u32,
    /// Frames still allowed (`u8::MAX` = all).
    remaining: u8,
    /// (start, issuer event id) of the last event sent.
    after: Option<(u32, u32)>,
}

/// The ESI core. `SLOTS` device slots (5..=16), `EVENTS` stored DR events, `PRICES` stored price
/// events (≥ 5, se10.md §10), one active message; `M` is the meter's metrology.
#[derive(Debug)]
pub struct Esi<
    const SLOTS: usize = 10,
    const EVENTS: usize = 8,
    const PRICES: usize = 5,
    M: Metrology = NoMetrology,
> {
    config: EsiConfig,
    now: Instant,
    clock: clock::Clock,
    slots: slot::SlotTable<SLOTS>,
    prices: price::PriceTable<PRICES>,
    events: drlc::EventTable<EVENTS>,
    message: Option<Message>,
    deliveries: Deliveries,
    queue: Deque<Pending, QUEUE_LEN>,
    replies: Deque<ApsFrame, REPLY_QUEUE_LEN>,
    scheduled_prices: Option<Scheduled>,
    scheduled_events: Option<Scheduled>,
    meter: M,
    meter_last: Option<(PowerState, SwitchState)>,
    meter_next_poll: Option<Instant>,
    counters: Counters,
    next_tsn: u8,
    next_handle: u8,
}

impl<const SLOTS: usize, const EVENTS: usize, const PRICES: usize, M: Metrology>
    Esi<SLOTS, EVENTS, PRICES, M>
{
    /// Compile-time bounds on the table sizes.
    const CHECK: () = {
        assert!(SLOTS >= 5 && SLOTS <= 16, "an ESI has 5..=16 device slots");
        assert!(EVENTS >= 1 && EVENTS <= 64, "1..=64 DR events");
        assert!(PRICES >= 5 && PRICES <= 64, "an SE 1.0 ESI stores at least 5 prices");
    };

    pub fn new(config: EsiConfig, meter: M) -> Self {
        let () = Self::CHECK;
        Self {
            config,
            now: Instant(0),
            clock: clock::Clock::default(),
            slots: slot::SlotTable::new(),
            prices: price::PriceTable::new(),
            events: drlc::EventTable::new(),
            message: None,
            deliveries: Deliveries::new(),
            queue: Deque::new(),
            replies: Deque::new(),
            scheduled_prices: None,
            scheduled_events: None,
            meter,
            meter_last: None,
            meter_next_poll: None,
            counters: Counters::default(),
            next_tsn: 0,
            next_handle: 0,
        }
    }

    /// A restart without non-volatile storage (a coordinator reset): devices, keys, prices,
    /// events, the message, deliveries, queued outputs, counters and the clock are lost; the
    /// configuration and the metrology (hardware) stay. The TSN and APS handle counters keep
    /// counting, so a late radio confirm for a frame from before the reset matches nothing.
    pub fn reset(&mut self) {
        let Self {
            config: _,
            now: _,
            clock,
            slots,
            prices,
            events,
            message,
            deliveries,
            queue,
            replies,
            scheduled_prices,
            scheduled_events,
            meter: _,
            meter_last,
            meter_next_poll,
            counters,
            next_tsn: _,
            next_handle: _,
        } = self;
        *clock = clock::Clock::default();
        *slots = slot::SlotTable::new();
        *prices = price::PriceTable::new();
        *events = drlc::EventTable::new();
        *message = None;
        *deliveries = Deliveries::new();
        queue.clear();
        replies.clear();
        *scheduled_prices = None;
        *scheduled_events = None;
        *meter_last = None;
        *meter_next_poll = None;
        *counters = Counters::default();
    }

    /// A host command. Ends in exactly one `Outcome::CommandResult` with `request_id`.
    pub fn handle_command(&mut self, now: Instant, request_id: RequestId, command: Command<'_>) {
        self.now = now;
        self.expire(now);
        match command {
            Command::AddDevice { eui64, link_key, join_window_secs } => {
                self.cmd_add_device(request_id, eui64, link_key, join_window_secs);
            }
            Command::RemoveDevice { eui64, reason } => {
                self.cmd_remove_device(request_id, eui64, reason);
            }
            Command::ListDevices => self.push_pending(Pending::DeviceList { request_id, next: 0 }),
            Command::PublishPrice(p) => self.cmd_publish_price(request_id, &p),
            Command::DisplayMessage(m) => self.cmd_display_message(request_id, &m),
            Command::CancelMessage { message_id, targets } => {
                self.cmd_cancel_message(request_id, message_id, targets);
            }
            Command::LoadControlEvent(e) => self.cmd_load_control_event(request_id, &e),
            Command::CancelLoadControlEvent {
                issuer_event_id,
                cancel_control,
                effective_time,
                targets,
            } => self.cmd_cancel_event(
                request_id,
                issuer_event_id,
                cancel_control,
                effective_time,
                targets,
            ),
            Command::CancelAllLoadControlEvents { cancel_control, targets } => {
                self.cmd_cancel_all_events(request_id, cancel_control, targets);
            }
            Command::ReadMeter { attributes } => self.cmd_read_meter(request_id, attributes),
            Command::GetStatus => self.push_pending(Pending::Status { request_id }),
            Command::SetTime(setting) => {
                if setting.is_valid() {
                    self.clock.set(now, &setting);
                    self.expire(now);
                    self.ok(request_id, SmallOk::TimeSet);
                } else {
                    self.fail(request_id, CommandError::InvalidField("utc"));
                }
            }
        }
    }

    /// The radio's confirm for an APS data request.
    pub fn handle_aps_confirm(&mut self, now: Instant, handle: ApsHandle, status: ApsStatus) {
        self.now = now;
        let policy = self.config.retry;
        if !self.deliveries.on_confirm(now, handle, status, &policy, &mut self.counters) {
            bump(&mut self.counters.stale_confirms);
        }
    }

    /// Runs everything due at `now`: join windows, delivery timeouts and retries, event, price
    /// and message expiry, metrology polling.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.expire(now);
        let policy = self.config.retry;
        self.deliveries.on_timeout(now, &policy, &mut self.counters);
        self.poll_meter_status(now);
    }

    fn expire(&mut self, now: Instant) {
        self.expire_join_windows(now);
        if let Some(utc) = self.clock.utc(now) {
            self.prices.expire(utc);
            self.events.expire(utc);
            self.expire_message(utc);
        }
    }

    /// The earliest instant at which `handle_timeout` has work; `None` if nothing is scheduled.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let utc_deadline =
            [self.prices.next_deadline(), self.events.next_deadline(), self.message_deadline()]
                .into_iter()
                .flatten()
                .min()
                .and_then(|utc| self.clock.instant_of(utc));
        let meter = if self.config.meter_poll_ms == 0 {
            None
        } else {
            Some(self.meter_next_poll.unwrap_or(self.now))
        };
        [self.next_join_deadline(), self.deliveries.next_deadline(), utc_deadline, meter]
            .into_iter()
            .flatten()
            .min()
    }

    // ---- helpers shared by the concept modules ----

    fn push_pending(&mut self, p: Pending) {
        if self.queue.push_back(p).is_err() {
            bump(&mut self.counters.queue_overflows);
        }
    }

    fn ok(&mut self, request_id: RequestId, ok: SmallOk) {
        self.push_pending(Pending::Result { request_id, result: Ok(ok) });
    }

    fn fail(&mut self, request_id: RequestId, error: CommandError) {
        self.push_pending(Pending::Result { request_id, result: Err(error) });
    }

    fn tsn(&mut self) -> u8 {
        let t = self.next_tsn;
        self.next_tsn = t.wrapping_add(1);
        t
    }

    /// A handle no in-flight delivery uses.
    fn handle(&mut self) -> ApsHandle {
        for _ in 0..=u8::MAX {
            let h = ApsHandle(self.next_handle);
            self.next_handle = self.next_handle.wrapping_add(1);
            if !self.deliveries.handle_in_use(h) {
                return h;
            }
        }
        ApsHandle(self.next_handle)
    }

    fn aps_frame(&mut self, to: &ReplyTo, payload: tx::ApsPayload) -> ApsFrame {
        ApsFrame {
            dst_short: to.short,
            dst_eui64: to.eui64,
            src_endpoint: to.our_endpoint,
            dst_endpoint: to.endpoint,
            cluster: to.cluster,
            profile: SE_PROFILE_ID,
            payload,
            ack_requested: true,
            aps_encryption: to.secure,
            handle: self.handle(),
        }
    }

    /// Queues a reply; `None` (frame did not encode) is counted and dropped.
    fn reply(&mut self, to: &ReplyTo, payload: Option<tx::ApsPayload>) {
        let Some(payload) = payload else {
            return bump(&mut self.counters.encode_failures);
        };
        let frame = self.aps_frame(to, payload);
        if self.replies.push_back(frame).is_err() {
            bump(&mut self.counters.queue_overflows);
        }
    }

    /// Default Response with an error status (never to a broadcast or a Default Response).
    fn error_response(&mut self, to: &ReplyTo, header: &Header, status: Status) {
        let is_default_response =
            header.frame_type == zse::zcl::FrameType::Global && header.command_id == 0x0B;
        if to.broadcast || is_default_response {
            return;
        }
        bump(&mut self.counters.tx_default_responses);
        self.reply(to, tx::default_response(header, status));
    }

    /// Default Response SUCCESS for a command without a specific response, unless the sender
    /// disabled it (ZCL §2.4.12).
    fn success_response(&mut self, to: &ReplyTo, header: &Header) {
        if !header.disable_default_response {
            self.error_response(to, header, Status::SUCCESS);
        }
    }

    /// Resolves push targets to (device, paired?) pairs and checks there is room to track them
    /// all. On refusal the command's result is queued and `None` returned.
    fn recipients(
        &mut self,
        request_id: RequestId,
        targets: Targets<'_>,
    ) -> Option<heapless::Vec<(Eui64, bool), MAX_DELIVERIES>> {
        let mut out: heapless::Vec<(Eui64, bool), MAX_DELIVERIES> = heapless::Vec::new();
        let paired = |s: Option<&Slot>| s.is_some_and(|s| s.state == SlotState::Paired);
        let mut too_many = false;
        match targets {
            Targets::AllPaired => {
                for (_, s) in self.slots.iter().filter(|(_, s)| s.state == SlotState::Paired) {
                    too_many |= out.push((s.eui64, true)).is_err();
                }
            }
            Targets::Devices(list) => {
                for &eui in list {
                    if !out.iter().any(|(e, _)| *e == eui) {
                        too_many |= out.push((eui, paired(self.slots.by_eui(eui)))).is_err();
                    }
                }
            }
        }
        if too_many {
            self.fail(request_id, CommandError::InvalidField("targets"));
            return None;
        }
        self.check_room(request_id, out.len()).then_some(out)
    }

    /// Refuses with `Busy` when `n` deliveries would not fit.
    fn check_room(&mut self, request_id: RequestId, n: usize) -> bool {
        if n > self.deliveries.free() {
            let in_flight = self.deliveries.in_flight() as u8;
            self.fail(request_id, CommandError::Busy { in_flight });
            return false;
        }
        true
    }

    /// Starts one delivery per recipient and queues the command's `Accepted` result.
    fn add_pushes(
        &mut self,
        request_id: RequestId,
        push: Push,
        recipients: &[(Eui64, bool)],
        superseded: u8,
    ) {
        let mut n = 0u8;
        for &(eui64, paired) in recipients {
            let state =
                if paired { State::Queued } else { State::Done(DeliveryOutcome::NotPaired) };
            let tsn = self.tsn();
            if self.deliveries.add(request_id, eui64, tsn, push, state) {
                n += 1;
            }
        }
        self.ok(request_id, SmallOk::Accepted { deliveries: n, superseded });
    }

    // ---- read-only views (for the host glue, the simulator and invariant checks) ----

    pub fn config(&self) -> &EsiConfig {
        &self.config
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// UTC at `now`, `None` until the host sets the time.
    pub fn utc(&self, now: Instant) -> Option<UtcTime> {
        self.clock.utc(now).map(UtcTime)
    }

    /// Occupied slots.
    pub fn devices(&self) -> impl Iterator<Item = (usize, &Slot)> {
        self.slots.iter()
    }

    pub fn active_message(&self) -> Option<&Message> {
        self.message.as_ref()
    }

    /// Stored price events, in table order.
    pub fn prices(&self) -> &[PriceEvent] {
        self.prices.as_slice()
    }

    /// Stored DR events (scheduled or active), in table order.
    pub fn dr_events(&self) -> &[DrEvent] {
        self.events.as_slice()
    }

    /// Deliveries not yet reported.
    pub fn deliveries_pending(&self) -> usize {
        self.deliveries.iter().count()
    }

    pub fn meter(&self) -> &M {
        &self.meter
    }

    pub fn meter_mut(&mut self) -> &mut M {
        &mut self.meter
    }
}
