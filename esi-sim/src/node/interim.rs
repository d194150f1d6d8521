//! A stand-in for `firmware::coordinator::Coordinator` until it lands: the ESI core plus a
//! coordinator-role host-link endpoint, with the smallest mapping between host-link requests
//! and core commands, and core outcomes and host-link reports, that the simulator needs.
//! Replaced by the firmware's coordinator as soon as it is on main.

use super::{EsiNode, NodeSnapshot, RadioAction, SlotView};
use crate::metrology::SimMeter;
use firmware::esi::{
    Action, ApsHandle, ApsIndication, ApsStatus, Command, CommandError, CommandOk, DeliveryOutcome,
    DeviceEvent, Esi, EsiConfig, Instant, JoinDecision, LinkKey, LoadControlCommand,
    MessageCommand, MeterValue, Outcome, PowerState, PriceCommand, RemovalReason, RequestId,
    SwitchState, Targets, TimeSetting,
};
use firmware::host_link::{
    self as hl, CoordinatorEndpoint, LinkConfig, LinkEvent, NodeInfo, Report, Request, ResultCode,
    ResultDetail, Role, SoftwareVersion,
};
use std::collections::VecDeque;
use zse::zcl::{Eui64, UtcTime};

/// The interim coordinator.
pub struct InterimNode<const SLOTS: usize> {
    esi: Esi<SLOTS, 8, 5, SimMeter>,
    link: CoordinatorEndpoint,
    eui64: Eui64,
    session_seed: u32,
    boots: u32,
    meter: SimMeter,
    reports: VecDeque<Report>,
    radio: VecDeque<RadioAction>,
    list: Vec<hl::DeviceEntry>,
    now: u64,
}

impl<const SLOTS: usize> std::fmt::Debug for InterimNode<SLOTS> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterimNode").field("link", &self.link).finish_non_exhaustive()
    }
}

impl<const SLOTS: usize> InterimNode<SLOTS> {
    pub fn new(eui64: Eui64, session_seed: u32, meter: SimMeter) -> Self {
        let link = Self::endpoint(eui64, session_seed);
        Self {
            esi: Esi::new(EsiConfig::default(), meter.clone()),
            link,
            eui64,
            session_seed,
            boots: 0,
            meter,
            reports: VecDeque::new(),
            radio: VecDeque::new(),
            list: Vec::new(),
            now: 0,
        }
    }

    fn endpoint(eui64: Eui64, session_seed: u32) -> CoordinatorEndpoint {
        let node = NodeInfo {
            role: Role::Coordinator,
            software: SoftwareVersion { major: 0, minor: 1, patch: 0 },
            esi_eui64: eui64.into(),
            slot_capacity: SLOTS as u8,
        };
        CoordinatorEndpoint::new(LinkConfig::new(node, session_seed))
    }

    fn pump(&mut self) {
        let now = self.now;
        while let Some(ev) = self.link.poll_event() {
            if let LinkEvent::Received(r) = ev {
                self.request(now, &r);
            }
        }
        while let Some(a) = self.esi.poll_action() {
            match a {
                Action::SendAps(f) => self.radio.push_back(RadioAction::SendAps(f)),
                Action::Leave { eui64, short } => {
                    self.radio.push_back(RadioAction::Leave { eui64, short });
                }
                Action::InstallKey { eui64, key } => {
                    self.radio.push_back(RadioAction::InstallKey { eui64, key });
                }
                Action::EraseKey { eui64 } => self.radio.push_back(RadioAction::EraseKey { eui64 }),
                Action::Host(o) => self.outcome(o),
            }
        }
        while let Some(r) = self.reports.front() {
            if self.link.send(now, r).is_err() {
                break;
            }
            self.reports.pop_front();
        }
    }

    fn result(&mut self, request_id: u32, code: ResultCode, detail: ResultDetail) {
        self.reports.push_back(Report::Result(hl::RequestResult { request_id, code, detail }));
    }

    fn request(&mut self, now: u64, r: &Request) {
        let id = RequestId(r.request_id);
        let now = Instant(now);
        let explicit = match &r.command {
            hl::Command::PublishPrice(p) => Some(&p.targets),
            hl::Command::DisplayMessage(m) => Some(&m.targets),
            hl::Command::CancelMessage(c) => Some(&c.targets),
            hl::Command::LoadControlEvent(e) => Some(&e.targets),
            hl::Command::CancelLoadControlEvent(c) => Some(&c.targets),
            hl::Command::CancelAllLoadControlEvents(c) => Some(&c.targets),
            _ => None,
        };
        let list: Vec<Eui64> = match explicit {
            Some(hl::Targets::Devices(d)) => d.iter().map(|&e| e.into()).collect(),
            _ => Vec::new(),
        };
        let targets = if matches!(explicit, Some(hl::Targets::Devices(_))) {
            Targets::Devices(&list)
        } else {
            Targets::AllPaired
        };
        let cmd = match &r.command {
            hl::Command::AddDevice(a) => Command::AddDevice {
                eui64: a.eui64.into(),
                link_key: LinkKey::from_bytes(*a.link_key.expose()),
                join_window_secs: a.join_window_s,
            },
            hl::Command::RemoveDevice(d) => {
                Command::RemoveDevice { eui64: d.eui64.into(), reason: RemovalReason(d.reason.0) }
            }
            hl::Command::ListDevices => {
                self.list.clear();
                Command::ListDevices
            }
            // The core pushes prices to every paired price client; it has no target list.
            hl::Command::PublishPrice(p) => Command::PublishPrice(PriceCommand {
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
            }),
            hl::Command::DisplayMessage(m) => Command::DisplayMessage(MessageCommand {
                message_id: m.message_id,
                message_control: m.message_control,
                start_time: UtcTime(m.start_time),
                duration_in_minutes: m.duration_in_minutes,
                text: &m.message,
                targets,
            }),
            hl::Command::CancelMessage(c) => {
                Command::CancelMessage { message_id: c.message_id, targets }
            }
            hl::Command::LoadControlEvent(e) => Command::LoadControlEvent(LoadControlCommand {
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
                targets,
            }),
            hl::Command::CancelLoadControlEvent(c) => Command::CancelLoadControlEvent {
                issuer_event_id: c.issuer_event_id,
                cancel_control: c.cancel_control,
                effective_time: UtcTime(c.effective_time),
                targets,
            },
            hl::Command::CancelAllLoadControlEvents(c) => {
                Command::CancelAllLoadControlEvents { cancel_control: c.cancel_control, targets }
            }
            hl::Command::ReadMeter(m) => Command::ReadMeter { attributes: &m.attribute_ids },
            hl::Command::GetStatus => Command::GetStatus,
            hl::Command::SetTime(t) => Command::SetTime(TimeSetting::utc(UtcTime(t.utc))),
            hl::Command::Reset => {
                self.result(r.request_id, ResultCode::SUCCESS, ResultDetail::None);
                return;
            }
        };
        self.esi.handle_command(now, id, cmd);
    }

    fn outcome(&mut self, o: Outcome) {
        match o {
            Outcome::CommandResult { request_id, result } => {
                self.command_result(request_id.0, result);
            }
            Outcome::DeviceInfo { device, .. } => self.list.push(hl::DeviceEntry {
                slot: device.slot,
                eui64: device.eui64.into(),
                state: slot_state(device.state),
                last_seen: 0,
                lqi: device.lqi.unwrap_or(0),
                join_deadline: 0,
            }),
            Outcome::DeliveryResult { request_id, eui64, outcome } => {
                let outcome = match outcome {
                    DeliveryOutcome::ApsAcked => hl::DeliveryOutcome::ApsAcked,
                    DeliveryOutcome::ZclDefaultResponse(s) => hl::DeliveryOutcome::ZclStatus(s.0),
                    DeliveryOutcome::Timeout { retries }
                    | DeliveryOutcome::ApsFailed { retries, .. } => {
                        hl::DeliveryOutcome::Timeout { retries }
                    }
                    _ => hl::DeliveryOutcome::Timeout { retries: 0 },
                };
                self.reports.push_back(Report::DeliveryResult(hl::DeliveryResult {
                    request_id: request_id.0,
                    eui64: eui64.into(),
                    outcome,
                }));
            }
            Outcome::MessageConfirmed { eui64, message_id, confirmation_time } => {
                self.reports.push_back(Report::MessageConfirmed(hl::MessageConfirmed {
                    message_id,
                    eui64: eui64.into(),
                    confirmation_time: confirmation_time.0,
                }));
            }
            Outcome::EventStatus { eui64, report: r } => {
                self.reports.push_back(Report::EventStatus(hl::EventStatus {
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
                    DeviceEvent::Joined { .. } => hl::DeviceState::JOINED,
                    DeviceEvent::Paired => hl::DeviceState::KEY_ESTABLISHED,
                    DeviceEvent::Left => hl::DeviceState::LEFT,
                    DeviceEvent::JoinWindowExpired => hl::DeviceState::JOIN_WINDOW_EXPIRED,
                    DeviceEvent::Removed { .. } => hl::DeviceState::UNPAIRED,
                    DeviceEvent::KeyEstablished | DeviceEvent::JoinRefused { .. } => return,
                };
                self.reports
                    .push_back(Report::DeviceEvent(hl::DeviceEvent { eui64: eui64.into(), state }));
            }
            Outcome::PowerSwitchStatus { power, switch, at } => {
                self.reports.push_back(power_switch(None, Some(power), Some(switch), at));
            }
        }
    }

    fn command_result(&mut self, id: u32, result: Result<CommandOk, CommandError>) {
        match result {
            Ok(CommandOk::DeviceAdded { slot, slots_free }) => {
                self.result(id, ResultCode::SUCCESS, ResultDetail::Slot { slot, slots_free });
            }
            Ok(CommandOk::Accepted { deliveries, .. }) => {
                self.result(
                    id,
                    ResultCode::SUCCESS,
                    ResultDetail::Deliveries { count: deliveries },
                );
            }
            Ok(CommandOk::DeviceList { .. }) => {
                let entries = std::mem::take(&mut self.list).into_iter().collect();
                self.reports.push_back(Report::DeviceList(hl::DeviceList {
                    request_id: id,
                    capacity: SLOTS as u8,
                    entries,
                }));
                self.result(id, ResultCode::SUCCESS, ResultDetail::None);
            }
            Ok(CommandOk::MeterReading(m)) => {
                let records = m.attributes.iter().map(|a| record(a.id, a.value)).collect();
                self.reports.push_back(Report::MeterReading(hl::MeterReading {
                    request_id: Some(id),
                    timestamp: m.read_at.map_or(0, |t| t.0),
                    records,
                }));
                self.result(id, ResultCode::SUCCESS, ResultDetail::None);
            }
            Ok(CommandOk::Status(s)) => {
                self.reports.push_back(power_switch(Some(id), s.power, s.switch, s.utc));
                self.result(id, ResultCode::SUCCESS, ResultDetail::None);
            }
            Ok(_) => self.result(id, ResultCode::SUCCESS, ResultDetail::None),
            Err(e) => {
                let (code, detail) = match e {
                    CommandError::SlotsFull { .. } => {
                        (ResultCode::SLOTS_FULL, ResultDetail::Slot { slot: 0xFF, slots_free: 0 })
                    }
                    CommandError::AlreadyProvisioned { .. } => {
                        (ResultCode::ALREADY_PROVISIONED, ResultDetail::None)
                    }
                    CommandError::NotFound => (ResultCode::NOT_FOUND, ResultDetail::None),
                    CommandError::TimeNotSet => (ResultCode::TIME_NOT_SET, ResultDetail::None),
                    CommandError::TextTooLong { .. } => {
                        (ResultCode::TEXT_TOO_LONG, ResultDetail::None)
                    }
                    CommandError::Busy { .. } | CommandError::TableFull { .. } => {
                        (ResultCode::BUSY, ResultDetail::None)
                    }
                    _ => (ResultCode::INVALID_FIELD, ResultDetail::None),
                };
                self.result(id, code, detail);
            }
        }
    }
}

fn slot_state(s: firmware::esi::SlotState) -> hl::DeviceState {
    use firmware::esi::SlotState as S;
    match s {
        S::Pending => hl::DeviceState::PENDING,
        S::Joined | S::KeyEstablished => hl::DeviceState::JOINED,
        S::Paired => hl::DeviceState::KEY_ESTABLISHED,
        S::Left => hl::DeviceState::LEFT,
    }
}

fn power_switch(
    request_id: Option<u32>,
    p: Option<PowerState>,
    s: Option<SwitchState>,
    at: Option<UtcTime>,
) -> Report {
    Report::PowerSwitchStatus(hl::PowerSwitchStatus {
        request_id,
        power: match p {
            Some(PowerState::On) => hl::PowerState::ON,
            Some(PowerState::Off) => hl::PowerState::OFF,
            None => hl::PowerState::UNKNOWN,
        },
        switch: match s {
            Some(SwitchState::Closed) => hl::SwitchState::CLOSED,
            Some(SwitchState::Open) => hl::SwitchState::OPEN,
            None => hl::SwitchState::UNKNOWN,
        },
        at: at.map_or(0, |t| t.0),
    })
}

fn record(id: u16, value: Option<MeterValue>) -> hl::AttributeRecord {
    use firmware::esi::metering::attr;
    let (data_type, len) = match id {
        attr::CURRENT_SUMMATION_DELIVERED | attr::CURRENT_SUMMATION_RECEIVED => (0x25, 6),
        attr::INSTANTANEOUS_DEMAND => (0x2A, 3),
        attr::MULTIPLIER | attr::DIVISOR => (0x22, 3),
        attr::UNIT_OF_MEASURE => (0x30, 1),
        _ => (0x18, 1),
    };
    let raw = match value {
        Some(MeterValue::Unsigned(v)) => Some(v),
        Some(MeterValue::Signed(v)) => Some(v as u64),
        Some(MeterValue::Bits(b)) => Some(u64::from(b)),
        None => None,
    };
    hl::AttributeRecord {
        attribute_id: id,
        status: if raw.is_some() { 0x00 } else { 0x86 },
        data_type,
        value: raw.map(|v| v.to_le_bytes().into_iter().take(len).collect()).unwrap_or_default(),
    }
}

impl<const SLOTS: usize> EsiNode for InterimNode<SLOTS> {
    fn handle_serial_bytes(&mut self, now: u64, bytes: &[u8]) {
        self.now = now;
        self.link.handle_bytes(now, bytes);
        self.pump();
    }

    fn poll_serial_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        self.pump();
        self.link.poll_transmit(buf)
    }

    fn handle_aps_indication(&mut self, now: u64, ind: ApsIndication<'_>) {
        self.now = now;
        self.esi.handle_aps_indication(Instant(now), ind);
        self.pump();
    }

    fn handle_aps_confirm(&mut self, now: u64, handle: ApsHandle, status: ApsStatus) {
        self.now = now;
        self.esi.handle_aps_confirm(Instant(now), handle, status);
        self.pump();
    }

    fn handle_join_request(&mut self, now: u64, eui64: Eui64, short: u16) -> JoinDecision {
        self.now = now;
        let d = self.esi.handle_join_request(Instant(now), eui64, short);
        self.pump();
        d
    }

    fn handle_device_left(&mut self, now: u64, eui64: Eui64) {
        self.now = now;
        self.esi.handle_device_left(Instant(now), eui64);
        self.pump();
    }

    fn handle_timeout(&mut self, now: u64) {
        self.now = now;
        self.link.handle_timeout(now);
        self.esi.handle_timeout(Instant(now));
        self.pump();
    }

    fn poll_timeout(&self) -> Option<u64> {
        [self.link.poll_timeout(), self.esi.poll_timeout().map(Instant::as_millis)]
            .into_iter()
            .flatten()
            .min()
    }

    fn poll_radio(&mut self) -> Option<RadioAction> {
        self.pump();
        self.radio.pop_front()
    }

    fn reset(&mut self, now: u64) {
        self.boots += 1;
        self.now = now;
        let seed = self.session_seed.wrapping_add(self.boots.wrapping_mul(0x9E37_79B9));
        self.link = Self::endpoint(self.eui64, seed);
        self.esi = Esi::new(EsiConfig::default(), self.meter.clone());
        self.reports.clear();
        self.radio.clear();
    }

    fn snapshot(&self, now: u64) -> NodeSnapshot {
        NodeSnapshot {
            capacity: SLOTS as u8,
            slots: self
                .esi
                .devices()
                .map(|(i, s)| SlotView { slot: i as u8, eui64: s.eui64, state: s.state })
                .collect(),
            utc: self.esi.utc(Instant(now)).map(|u| u.0),
            dr_events: self.esi.dr_events().to_vec(),
            link_receive_errors: self.link.counters().receive_errors(),
            link_connected: self.link.is_connected(),
        }
    }
}
