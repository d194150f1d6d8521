//! The two translations between the host link and the ESI core, each one exhaustive `match`
//! without a wildcard so that a new message type does not compile until it is mapped:
//! * host [`Request`] → [`esi::Command`](crate::esi::Command) (or an answer from the
//!   coordinator itself: `Reset`, and requests refused before they reach the core);
//! * core [`Outcome`] → queued host reports.
//!
//! Where the two vocabularies differ the choice is documented at the arm and in
//! `docs/firmware.md` §3.

use super::queue::Queued;
use super::{Coordinator, MeterSlot};
use crate::esi::{
    self, CommandError, CommandOk, DeliveryOutcome as CoreDelivery, DeviceEvent as CoreEvent,
    LoadControlCommand, MessageCommand, Metrology, Outcome, PowerState as CorePower, PriceCommand,
    RemovalReason, RequestId, SlotState, SwitchState as CoreSwitch, TimeSetting,
};
use crate::host_link::types::MAX_TARGETS;
use crate::host_link::{
    AttributeRecord, Command as HostCommand, DeliveryOutcome, DeliveryResult, DeviceEvent,
    DeviceState, EventStatus, MessageConfirmed, MeterReading, PowerState, PowerSwitchStatus,
    Request, RequestResult, ResultCode, ResultDetail, SwitchState, Targets,
};
use zse::wire::Writer;
use zse::zcl::{Eui64, UtcTime};

/// ZCL status for an attribute the meter cannot supply (missing, not zero: BR-001.002).
const UNSUPPORTED_ATTRIBUTE: u8 = 0x86;

/// Explicit targets converted to the core's EUI-64 type.
type TargetBuf = heapless::Vec<Eui64, MAX_TARGETS>;

impl<const SLOTS: usize, const EVENTS: usize, const PRICES: usize, M: Metrology>
    Coordinator<SLOTS, EVENTS, PRICES, M>
{
    /// Maps one admitted host request onto the core (or answers it here).
    // One arm per host command, in one exhaustive `match` on purpose.
    #[allow(clippy::too_many_lines)]
    pub(super) fn on_request(&mut self, req: &Request) {
        let id = req.request_id;
        let rid = RequestId(id);
        let now = self.now;
        let mut buf = TargetBuf::new();
        let command = match &req.command {
            HostCommand::AddDevice(a) => esi::Command::AddDevice {
                eui64: a.eui64.into(),
                link_key: esi::LinkKey::from_bytes(*a.link_key.expose()),
                join_window_secs: a.join_window_s,
            },
            HostCommand::RemoveDevice(r) => {
                let eui64: Eui64 = r.eui64.into();
                if !self.esi.devices().any(|(_, s)| s.eui64 == eui64) {
                    return self.answer(id, ResultCode::UNKNOWN_DEVICE);
                }
                esi::Command::RemoveDevice { eui64, reason: RemovalReason(r.reason.0) }
            }
            HostCommand::ListDevices => esi::Command::ListDevices,
            HostCommand::PublishPrice(p) => {
                // The core pushes a price to the paired devices that asked for prices with
                // "Rx on when idle" (se10.md §3.2) and serves it to the rest on request; the
                // targets are checked like any other. Fields 15–17 (alternate cost) are only
                // ever sent to SE 1.1 clients, which this SE 1.0 core does not serve.
                if let Err(code) = self.check_targets(&p.targets, &mut buf) {
                    return self.answer(id, code);
                }
                esi::Command::PublishPrice(PriceCommand {
                    provider_id: p.provider_id,
                    rate_label: &p.rate_label,
                    issuer_event_id: p.issuer_event_id,
                    unit_of_measure: p.unit_of_measure,
                    currency: p.currency,
                    price_trailing_digit: p.price_trailing_digit_and_price_tier >> 4,
                    price_tier: p.price_trailing_digit_and_price_tier & 0x0F,
                    number_of_price_tiers: p.number_of_price_tiers_and_register_tier >> 4,
                    register_tier: p.number_of_price_tiers_and_register_tier & 0x0F,
                    start_time: UtcTime(p.start_time),
                    duration_in_minutes: p.duration_in_minutes,
                    price: p.price,
                    price_ratio: p.price_ratio,
                    generation_price: p.generation_price,
                    generation_price_ratio: p.generation_price_ratio,
                })
            }
            HostCommand::DisplayMessage(m) => match self.check_targets(&m.targets, &mut buf) {
                Err(code) => return self.answer(id, code),
                Ok(all) => esi::Command::DisplayMessage(MessageCommand {
                    message_id: m.message_id,
                    message_control: m.message_control,
                    start_time: UtcTime(m.start_time),
                    duration_in_minutes: m.duration_in_minutes,
                    text: &m.message,
                    targets: core_targets(all, &buf),
                }),
            },
            HostCommand::CancelMessage(c) => match self.check_targets(&c.targets, &mut buf) {
                Err(code) => return self.answer(id, code),
                // The core sends the stored message's own control bits with the cancel.
                Ok(all) => esi::Command::CancelMessage {
                    message_id: c.message_id,
                    targets: core_targets(all, &buf),
                },
            },
            HostCommand::LoadControlEvent(e) => match self.check_targets(&e.targets, &mut buf) {
                Err(code) => return self.answer(id, code),
                Ok(all) => esi::Command::LoadControlEvent(LoadControlCommand {
                    issuer_event_id: e.issuer_event_id,
                    device_class: e.device_class,
                    utility_enrollment_group: e.utility_enrollment_group,
                    start_time: UtcTime(e.start_time),
                    duration_in_minutes: e.duration_in_minutes,
                    criticality_level: e.criticality_level,
                    cooling_temperature_offset: e.cooling_temperature_offset,
                    heating_temperature_offset: e.heating_temperature_offset,
                    cooling_temperature_set_point: e.cooling_temperature_set_point,
                    heating_temperature_set_point: e.heating_temperature_set_point,
                    average_load_adjustment_percentage: e.average_load_adjustment_percentage,
                    duty_cycle: e.duty_cycle,
                    event_control: e.event_control,
                    targets: core_targets(all, &buf),
                }),
            },
            HostCommand::CancelLoadControlEvent(c) => {
                // Device class and enrollment group are those of the stored event; the
                // core sends them from its table.
                match self.check_targets(&c.targets, &mut buf) {
                    Err(code) => return self.answer(id, code),
                    Ok(all) => esi::Command::CancelLoadControlEvent {
                        issuer_event_id: c.issuer_event_id,
                        cancel_control: c.cancel_control,
                        effective_time: UtcTime(c.effective_time),
                        targets: core_targets(all, &buf),
                    },
                }
            }
            HostCommand::CancelAllLoadControlEvents(c) => {
                match self.check_targets(&c.targets, &mut buf) {
                    Err(code) => return self.answer(id, code),
                    Ok(all) => esi::Command::CancelAllLoadControlEvents {
                        cancel_control: c.cancel_control,
                        targets: core_targets(all, &buf),
                    },
                }
            }
            HostCommand::ReadMeter(r) => {
                // One reading is held at a time (it is the largest report); admission has
                // checked the holder is free.
                self.meter = MeterSlot::Requested(id);
                esi::Command::ReadMeter { attributes: &r.attribute_ids }
            }
            HostCommand::GetStatus => esi::Command::GetStatus,
            HostCommand::SetTime(t) => esi::Command::SetTime(TimeSetting::utc(UtcTime(t.utc))),
            HostCommand::Reset => {
                // Answered first; the reset happens once the host has the answer (or the
                // session carrying it ended), see `on_link_event`.
                self.reset_request = Some(id);
                return self.answer(id, ResultCode::SUCCESS);
            }
        };
        self.awaiting = self.awaiting.saturating_add(1);
        self.esi.handle_command(now, rid, command);
    }

    /// Whether the coordinator can take `req` now (else it is answered `BUSY`).
    pub(super) fn can_take(&self, req: &Request) -> bool {
        match req.command {
            HostCommand::ReadMeter(_) => self.meter == MeterSlot::Free,
            _ => true,
        }
    }

    /// Checks explicit targets against the slot table (`docs/host-link.md`: each must be
    /// paired, else the request is refused `UNKNOWN_DEVICE` / `NOT_PAIRED`; an empty list is
    /// `INVALID_FIELD`) and converts them into `buf`. `Ok(true)` = all paired devices.
    fn check_targets(&self, targets: &Targets, buf: &mut TargetBuf) -> Result<bool, ResultCode> {
        let list = match targets {
            Targets::All => return Ok(true),
            Targets::Devices(list) => list,
        };
        if list.is_empty() {
            return Err(ResultCode::INVALID_FIELD);
        }
        let mut not_paired = false;
        for &eui in list {
            let eui64: Eui64 = eui.into();
            match self.esi.devices().find(|(_, s)| s.eui64 == eui64) {
                None => return Err(ResultCode::UNKNOWN_DEVICE),
                Some((_, s)) => not_paired |= s.state != SlotState::Paired,
            }
            // Capacity equals the host's list bound.
            let _ = buf.push(eui64);
        }
        if not_paired {
            return Err(ResultCode::NOT_PAIRED);
        }
        Ok(false)
    }

    /// Queues the `Result` of a request the coordinator answers itself.
    pub(super) fn answer(&mut self, request_id: u32, code: ResultCode) {
        self.enqueue(Queued::Result(RequestResult {
            request_id,
            code,
            detail: ResultDetail::None,
        }));
    }

    /// Maps one core outcome onto queued reports.
    pub(super) fn on_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::CommandResult { request_id, result } => self.on_result(request_id.0, result),
            // `DeviceList` is built from the slot table when it is sent (one large report
            // instead of one queue entry per device); the rows add nothing to that.
            Outcome::DeviceInfo { .. } => {}
            Outcome::DeliveryResult { request_id, eui64, outcome } => {
                self.enqueue(Queued::Delivery(DeliveryResult {
                    request_id: request_id.0,
                    eui64: eui64.into(),
                    outcome: delivery_outcome(outcome),
                }));
            }
            Outcome::MessageConfirmed { eui64, message_id, confirmation_time } => {
                self.enqueue(Queued::Confirmed(MessageConfirmed {
                    message_id,
                    eui64: eui64.into(),
                    confirmation_time: confirmation_time.0,
                }));
            }
            Outcome::EventStatus { eui64, report: r } => {
                // The signature type stays here with the signature (docs/host-link.md §5.2).
                self.enqueue(Queued::EventStatus(EventStatus {
                    issuer_event_id: r.issuer_event_id,
                    eui64: eui64.into(),
                    event_status: r.event_status,
                    event_status_time: r.event_status_time.0,
                    criticality_level_applied: r.criticality_level_applied,
                    cooling_temperature_set_point_applied: r.cooling_temperature_set_point_applied,
                    heating_temperature_set_point_applied: r.heating_temperature_set_point_applied,
                    average_load_adjustment_percentage_applied: r
                        .average_load_adjustment_percentage_applied,
                    duty_cycle_applied: r.duty_cycle_applied,
                    event_control: r.event_control,
                }));
            }
            Outcome::DeviceState { eui64, event } => {
                let state = match event {
                    CoreEvent::Joined { .. } => DeviceState::JOINED,
                    // The host's KEY_ESTABLISHED means "paired".
                    CoreEvent::Paired => DeviceState::KEY_ESTABLISHED,
                    CoreEvent::Left => DeviceState::LEFT,
                    CoreEvent::JoinWindowExpired => DeviceState::JOIN_WINDOW_EXPIRED,
                    CoreEvent::Removed { .. } => DeviceState::UNPAIRED,
                    // No host state for these: the core's intermediate KeyEstablished (link
                    // key proven, SE service not yet used; the device list shows it as
                    // JOINED), and a join attempt by a device that is not provisioned
                    // (counted by the core as `joins_refused`).
                    CoreEvent::KeyEstablished | CoreEvent::JoinRefused { .. } => return,
                };
                self.enqueue(Queued::Device(DeviceEvent { eui64: eui64.into(), state }));
            }
            Outcome::PowerSwitchStatus { power, switch, at } => {
                self.enqueue(Queued::Status(PowerSwitchStatus {
                    request_id: None,
                    power: power_state(Some(power)),
                    switch: switch_state(Some(switch)),
                    at: at.map_or(0, |u| u.0),
                }));
            }
        }
    }

    fn on_result(&mut self, request_id: u32, result: Result<CommandOk, CommandError>) {
        let ok = |detail| RequestResult { request_id, code: ResultCode::SUCCESS, detail };
        self.awaiting = self.awaiting.saturating_sub(1);
        if self.meter == MeterSlot::Requested(request_id) {
            self.meter = MeterSlot::Free;
        }
        match result {
            Ok(CommandOk::DeviceAdded { slot, slots_free }) => {
                self.enqueue(Queued::Result(ok(ResultDetail::Slot { slot, slots_free })));
            }
            Ok(CommandOk::DeviceRemoved { .. } | CommandOk::TimeSet) => {
                self.enqueue(Queued::Result(ok(ResultDetail::None)));
            }
            Ok(CommandOk::DeviceList { .. }) => {
                self.enqueue(Queued::Result(ok(ResultDetail::None)));
                self.enqueue(Queued::DeviceList { request_id });
            }
            Ok(CommandOk::Accepted { deliveries, .. }) => {
                let detail = ResultDetail::Deliveries { count: deliveries };
                self.enqueue(Queued::Result(ok(detail)));
            }
            Ok(CommandOk::MeterReading(reading)) => {
                self.enqueue(Queued::Result(ok(ResultDetail::None)));
                self.meter = MeterSlot::Held(request_id, reading);
                self.enqueue(Queued::MeterReading { request_id });
            }
            Ok(CommandOk::Status(s)) => {
                self.enqueue(Queued::Result(ok(ResultDetail::None)));
                self.enqueue(Queued::Status(PowerSwitchStatus {
                    request_id: Some(request_id),
                    power: power_state(s.power),
                    switch: switch_state(s.switch),
                    at: s.utc.map_or(0, |u| u.0),
                }));
            }
            Err(e) => {
                let detail = match e {
                    // docs/host-link.md: with SLOTS_FULL, slot 0xFF and 0 free.
                    CommandError::SlotsFull { .. } => {
                        ResultDetail::Slot { slot: 0xFF, slots_free: 0 }
                    }
                    _ => ResultDetail::None,
                };
                let code = result_code(e);
                self.enqueue(Queued::Result(RequestResult { request_id, code, detail }));
            }
        }
    }

    /// The `MeterReading` report for the held reading of `request_id`.
    pub(super) fn meter_report(&self, request_id: u32) -> MeterReading {
        let mut report = MeterReading {
            request_id: Some(request_id),
            timestamp: 0,
            records: heapless::Vec::new(),
        };
        let MeterSlot::Held(held, reading) = &self.meter else { return report };
        if *held != request_id {
            return report;
        }
        report.timestamp = reading.read_at.map_or(0, |u| u.0);
        for a in &reading.attributes {
            let mut record = AttributeRecord {
                attribute_id: a.id,
                status: UNSUPPORTED_ATTRIBUTE,
                data_type: 0x00,
                value: heapless::Vec::new(),
            };
            if let Some(v) = a.value {
                let value = esi::metering::zcl_value(a.id, v);
                let mut bytes = [0u8; crate::host_link::types::MAX_ATTRIBUTE_VALUE_LEN];
                let mut w = Writer::new(&mut bytes);
                if value.write(&mut w).is_ok() {
                    let n = w.pos();
                    record.status = 0x00;
                    record.data_type = value.data_type().0;
                    let _ = record.value.extend_from_slice(bytes.get(..n).unwrap_or_default());
                }
            }
            // At most 10 served attributes; the report holds 16.
            let _ = report.records.push(record);
        }
        report
    }
}

fn core_targets(all: bool, buf: &TargetBuf) -> esi::Targets<'_> {
    if all {
        esi::Targets::AllPaired
    } else {
        esi::Targets::Devices(buf)
    }
}

/// The host link's codes are coarser than the core's errors.
fn result_code(e: CommandError) -> ResultCode {
    match e {
        CommandError::SlotsFull { .. } => ResultCode::SLOTS_FULL,
        CommandError::AlreadyProvisioned { .. } => ResultCode::ALREADY_PROVISIONED,
        CommandError::InvalidJoinWindow
        | CommandError::InvalidField(_)
        | CommandError::Expired
        | CommandError::DuplicateEvent
        | CommandError::StaleIssuerEventId { .. } => ResultCode::INVALID_FIELD,
        CommandError::NotFound => ResultCode::NOT_FOUND,
        CommandError::TimeNotSet => ResultCode::TIME_NOT_SET,
        CommandError::TextTooLong { .. } => ResultCode::TEXT_TOO_LONG,
        CommandError::TableFull { .. } | CommandError::Busy { .. } => ResultCode::BUSY,
        CommandError::UnsupportedAttribute(_) => ResultCode::UNSUPPORTED,
    }
}

/// One-to-one: the gateway needs the reason to tell `failed` from `undeliverable` and
/// `cancelled` (design.md §4, BR-025.009).
pub(super) fn delivery_outcome(o: CoreDelivery) -> DeliveryOutcome {
    match o {
        CoreDelivery::ApsAcked => DeliveryOutcome::ApsAcked,
        CoreDelivery::ZclDefaultResponse(status) => DeliveryOutcome::ZclStatus(status.0),
        CoreDelivery::Timeout { retries } => DeliveryOutcome::Timeout { retries },
        CoreDelivery::ApsFailed { status, retries } => {
            DeliveryOutcome::ApsFailed { status: status.0, retries }
        }
        CoreDelivery::NotPaired => DeliveryOutcome::NotPaired,
        CoreDelivery::DeviceRemoved => DeliveryOutcome::DeviceRemoved,
        CoreDelivery::Superseded => DeliveryOutcome::Superseded,
    }
}

pub(super) fn slot_state(s: SlotState) -> DeviceState {
    match s {
        SlotState::Pending => DeviceState::PENDING,
        // The host has no state between joined and paired.
        SlotState::Joined | SlotState::KeyEstablished => DeviceState::JOINED,
        SlotState::Paired => DeviceState::KEY_ESTABLISHED,
        SlotState::Left => DeviceState::LEFT,
    }
}

fn power_state(p: Option<CorePower>) -> PowerState {
    match p {
        Some(CorePower::On) => PowerState::ON,
        Some(CorePower::Off) => PowerState::OFF,
        None => PowerState::UNKNOWN,
    }
}

fn switch_state(s: Option<CoreSwitch>) -> SwitchState {
    match s {
        Some(CoreSwitch::Closed) => SwitchState::CLOSED,
        Some(CoreSwitch::Open) => SwitchState::OPEN,
        None => SwitchState::UNKNOWN,
    }
}
