//! Demand Response and Load Control server (SE 1.0 §D.2; se10.md §4, §10 "DRLC …").
//!
//! The table holds scheduled and active load-control events. Rules:
//! * Issuer Event IDs are unique: a second, different event with a stored id is refused
//!   (`DuplicateEvent`). The same event again (every field equal: the host repeating a request
//!   whose result it lost, e.g. after a crash) is accepted and pushed to its recipients again,
//!   superseding nothing: host requests are idempotent.
//! * A new event supersedes every stored event it overlaps in time *and* device class *and*
//!   utility enrollment group (UEG 0 = all groups) (se10.md §10, CCB 1291): those are removed;
//!   the devices themselves report 0x07 "superseded" when the new event reaches them.
//! * Cancel with an effective time: the event ends then (removed at once for "now" or a time
//!   before its start); an effective time after the event's end is refused, as a client would
//!   reject it with 0xF9.
//! * An event is never kept past its end: `expire` runs on every input and `poll_timeout`
//!   includes the earliest end, and every query filters on `end > now` as well.
//! * ReportEventStatus from a device (receipt, start, opt-out/in, completion …) is forwarded to
//!   the host at once; GetScheduledEvents is answered with one LoadControlEvent per stored event.

use super::action::EventStatusReport;
use super::command::{CommandError, LoadControlCommand, RequestId, Targets};
use super::delivery::Push;
use super::metering::Metrology;
use super::tx::{self, ApsPayload};
use super::{Esi, Pending, ReplyTo, Scheduled};
use zse::cluster::drlc::{
    CancelAllLoadControlEvents, CancelControl, CancelLoadControlEvent, ClientCommand,
    CriticalityLevel, DeviceClass, EventControl, LoadControlEvent, ReportEventStatus,
    ServerCommand,
};
use zse::cluster::ClusterCommand;
use zse::zcl::{Header, Status, UtcTime};

/// Longest DR event (se10.md §4.2: 1440 minutes).
pub const MAX_DURATION_MINUTES: u16 = 1440;

/// One stored load-control event (LoadControlEvent fields, start made absolute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrEvent {
    pub issuer_event_id: u32,
    pub device_class: u16,
    pub utility_enrollment_group: u8,
    /// UTC start (absolute).
    pub start: u32,
    pub duration_in_minutes: u16,
    pub criticality_level: u8,
    pub cooling_temperature_offset: u8,
    pub heating_temperature_offset: u8,
    pub cooling_temperature_set_point: i16,
    pub heating_temperature_set_point: i16,
    pub average_load_adjustment_percentage: i8,
    pub duty_cycle: u8,
    pub event_control: u8,
    /// UTC end: start + duration, or earlier after a cancel with a future effective time.
    pub end: u32,
}

impl DrEvent {
    fn from_command(c: &LoadControlCommand<'_>, now_utc: u32) -> Result<Self, CommandError> {
        let invalid = CommandError::InvalidField;
        if c.duration_in_minutes == 0 || c.duration_in_minutes > MAX_DURATION_MINUTES {
            return Err(invalid("duration_in_minutes"));
        }
        if !(0x01..=0x0F).contains(&c.criticality_level) {
            return Err(invalid("criticality_level"));
        }
        if c.device_class == 0 {
            return Err(invalid("device_class"));
        }
        let alap = c.average_load_adjustment_percentage;
        if alap != i8::MIN && !(-100..=100).contains(&alap) {
            return Err(invalid("average_load_adjustment_percentage"));
        }
        if c.duty_cycle != 0xFF && c.duty_cycle > 100 {
            return Err(invalid("duty_cycle"));
        }
        let set_point_ok = |v: i16| v == i16::MIN || v >= -27315;
        if !set_point_ok(c.cooling_temperature_set_point) {
            return Err(invalid("cooling_temperature_set_point"));
        }
        if !set_point_ok(c.heating_temperature_set_point) {
            return Err(invalid("heating_temperature_set_point"));
        }
        let start = if c.start_time == UtcTime::NOW { now_utc } else { c.start_time.0 };
        let end = start.saturating_add(u32::from(c.duration_in_minutes) * 60);
        if end <= now_utc {
            return Err(CommandError::Expired);
        }
        Ok(Self {
            issuer_event_id: c.issuer_event_id,
            device_class: c.device_class,
            utility_enrollment_group: c.utility_enrollment_group,
            start,
            duration_in_minutes: c.duration_in_minutes,
            criticality_level: c.criticality_level,
            cooling_temperature_offset: c.cooling_temperature_offset,
            heating_temperature_offset: c.heating_temperature_offset,
            cooling_temperature_set_point: c.cooling_temperature_set_point,
            heating_temperature_set_point: c.heating_temperature_set_point,
            average_load_adjustment_percentage: alap,
            duty_cycle: c.duty_cycle,
            event_control: c.event_control,
            end,
        })
    }

    /// Time, device class and enrollment group all overlap.
    pub fn overlaps(&self, other: &Self) -> bool {
        let time = self.start < other.end && other.start < self.end;
        let class = self.device_class & other.device_class != 0;
        let (a, b) = (self.utility_enrollment_group, other.utility_enrollment_group);
        time && class && (a == 0 || b == 0 || a == b)
    }

    /// In force at `now_utc`.
    pub fn is_active(&self, now_utc: u32) -> bool {
        self.start <= now_utc && now_utc < self.end
    }

    /// The LoadControlEvent frame (absolute start, remaining duration after a cancel).
    fn frame(&self) -> LoadControlEvent {
        LoadControlEvent {
            issuer_event_id: self.issuer_event_id,
            device_class: DeviceClass(self.device_class),
            utility_enrollment_group: self.utility_enrollment_group,
            start_time: UtcTime(self.start),
            duration_in_minutes: self.wire_duration(),
            criticality_level: CriticalityLevel(self.criticality_level),
            cooling_temperature_offset: self.cooling_temperature_offset,
            heating_temperature_offset: self.heating_temperature_offset,
            cooling_temperature_set_point: self.cooling_temperature_set_point,
            heating_temperature_set_point: self.heating_temperature_set_point,
            average_load_adjustment_percentage: self.average_load_adjustment_percentage,
            duty_cycle: self.duty_cycle,
            event_control: EventControl(self.event_control),
        }
    }

    fn encode(&self, tsn: u8, ddr: bool) -> Option<ApsPayload> {
        let cmd = ClusterCommand::DrlcServer(ServerCommand::LoadControlEvent(self.frame()));
        tx::cluster_command(cmd, tsn, ddr)
    }

    /// Duration to put on the wire: whole minutes from start to the (possibly cancelled) end,
    /// rounded up so a cancelled event still covers its effective time.
    pub fn wire_duration(&self) -> u16 {
        let secs = self.end.saturating_sub(self.start);
        (secs.div_ceil(60) as u16).clamp(1, MAX_DURATION_MINUTES)
    }
}

/// The stored DR events.
#[derive(Debug, Clone)]
pub(crate) struct EventTable<const N: usize> {
    events: heapless::Vec<DrEvent, N>,
}

impl<const N: usize> EventTable<N> {
    pub(crate) const fn new() -> Self {
        Self { events: heapless::Vec::new() }
    }

    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    pub(crate) fn as_slice(&self) -> &[DrEvent] {
        &self.events
    }

    pub(crate) fn get(&self, issuer_event_id: u32) -> Option<&DrEvent> {
        self.events.iter().find(|e| e.issuer_event_id == issuer_event_id)
    }

    /// Returns how many stored events `new` would supersede, or why it is refused.
    fn check(&self, new: &DrEvent) -> Result<u8, CommandError> {
        if self.get(new.issuer_event_id).is_some() {
            return Err(CommandError::DuplicateEvent);
        }
        let superseded = self.events.iter().filter(|e| e.overlaps(new)).count();
        if self.events.len() - superseded >= N {
            return Err(CommandError::TableFull { capacity: N as u8 });
        }
        Ok(superseded as u8)
    }

    fn insert(&mut self, new: DrEvent) {
        self.events.retain(|e| !e.overlaps(&new));
        // `check` made room.
        let _ = self.events.push(new);
    }

    pub(crate) fn expire(&mut self, now_utc: u32) {
        self.events.retain(|e| e.end > now_utc);
    }

    pub(crate) fn next_deadline(&self) -> Option<u32> {
        self.events.iter().map(|e| e.end).min()
    }

    /// The next event (by start, then id) after `after` that ends after `min_end`.
    pub(crate) fn next_scheduled(
        &self,
        min_end: u32,
        after: Option<(u32, u32)>,
    ) -> Option<&DrEvent> {
        self.events
            .iter()
            .filter(|e| e.end > min_end)
            .filter(|e| after.is_none_or(|a| (e.start, e.issuer_event_id) > a))
            .min_by_key(|e| (e.start, e.issuer_event_id))
    }
}

/// CancelLoadControlEvent / CancelAllLoadControlEvents frame for a cancel push.
pub(crate) fn cancel_frame(push: Push, tsn: u8, ddr: bool) -> Option<ApsPayload> {
    let cmd = match push {
        Push::CancelLoadControlEvent {
            issuer_event_id,
            device_class,
            utility_enrollment_group,
            cancel_control,
            effective_time,
        } => ServerCommand::CancelLoadControlEvent(CancelLoadControlEvent {
            issuer_event_id,
            device_class: DeviceClass(device_class),
            utility_enrollment_group,
            cancel_control: CancelControl(cancel_control),
            effective_time: UtcTime(effective_time),
        }),
        Push::CancelAllLoadControlEvents { cancel_control } => {
            ServerCommand::CancelAllLoadControlEvents(CancelAllLoadControlEvents {
                cancel_control: CancelControl(cancel_control),
            })
        }
        _ => return None,
    };
    tx::cluster_command(ClusterCommand::DrlcServer(cmd), tsn, ddr)
}

/// The host-facing form of a device's ReportEventStatus (the signature is not checked: no
/// ECDSA in the core).
fn report(r: &ReportEventStatus) -> EventStatusReport {
    EventStatusReport {
        issuer_event_id: r.issuer_event_id,
        event_status: r.event_status.0,
        event_status_time: r.event_status_time,
        criticality_level_applied: r.criticality_level_applied.0,
        cooling_temperature_set_point_applied: r.cooling_temperature_set_point_applied,
        heating_temperature_set_point_applied: r.heating_temperature_set_point_applied,
        average_load_adjustment_percentage_applied: r.average_load_adjustment_percentage_applied,
        duty_cycle_applied: r.duty_cycle_applied,
        event_control: r.event_control.0,
        signature_type: r.signature_type.0,
    }
}

impl<const SLOTS: usize, const EVENTS: usize, const PRICES: usize, M: Metrology>
    Esi<SLOTS, EVENTS, PRICES, M>
{
    pub(crate) fn cmd_load_control_event(
        &mut self,
        request_id: RequestId,
        c: &LoadControlCommand<'_>,
    ) {
        let Some(now_utc) = self.clock.utc(self.now) else {
            return self.fail(request_id, CommandError::TimeNotSet);
        };
        let parsed = DrEvent::from_command(c, now_utc);
        if let Ok(e) = &parsed {
            if self.events.get(e.issuer_event_id) == Some(e) {
                let Some(recipients) = self.recipients(request_id, c.targets) else { return };
                let push = Push::LoadControlEvent { issuer_event_id: e.issuer_event_id };
                return self.add_pushes(request_id, push, &recipients, 0);
            }
        }
        let checked = parsed.and_then(|e| self.events.check(&e).map(|superseded| (e, superseded)));
        let (event, superseded) = match checked {
            Ok(x) => x,
            Err(e) => return self.fail(request_id, e),
        };
        let Some(recipients) = self.recipients(request_id, c.targets) else { return };
        self.events.insert(event);
        let push = Push::LoadControlEvent { issuer_event_id: event.issuer_event_id };
        self.add_pushes(request_id, push, &recipients, superseded);
    }

    pub(crate) fn cmd_cancel_event(
        &mut self,
        request_id: RequestId,
        issuer_event_id: u32,
        cancel_control: u8,
        effective_time: UtcTime,
        targets: Targets<'_>,
    ) {
        let Some(now_utc) = self.clock.utc(self.now) else {
            return self.fail(request_id, CommandError::TimeNotSet);
        };
        let Some(event) = self.events.get(issuer_event_id).copied() else {
            return self.fail(request_id, CommandError::NotFound);
        };
        let effective = if effective_time == UtcTime::NOW { now_utc } else { effective_time.0 };
        if effective >= event.end {
            return self.fail(request_id, CommandError::InvalidField("effective_time"));
        }
        let Some(recipients) = self.recipients(request_id, targets) else { return };
        let ends_at = effective.max(now_utc);
        if ends_at <= event.start.max(now_utc) {
            self.events.events.retain(|e| e.issuer_event_id != issuer_event_id);
        } else if let Some(e) =
            self.events.events.iter_mut().find(|e| e.issuer_event_id == issuer_event_id)
        {
            e.end = ends_at;
        }
        let push = Push::CancelLoadControlEvent {
            issuer_event_id,
            device_class: event.device_class,
            utility_enrollment_group: event.utility_enrollment_group,
            cancel_control,
            effective_time: effective_time.0,
        };
        self.add_pushes(request_id, push, &recipients, 0);
    }

    pub(crate) fn cmd_cancel_all_events(
        &mut self,
        request_id: RequestId,
        cancel_control: u8,
        targets: Targets<'_>,
    ) {
        let Some(recipients) = self.recipients(request_id, targets) else { return };
        let cancelled = self.events.len() as u8;
        self.events.events.clear();
        let push = Push::CancelAllLoadControlEvents { cancel_control };
        self.add_pushes(request_id, push, &recipients, cancelled);
    }

    /// LoadControlEvent for the stored event `issuer_event_id` (`None`: no longer stored).
    pub(crate) fn load_control_event_frame(
        &self,
        issuer_event_id: u32,
        tsn: u8,
        ddr: bool,
    ) -> Option<ApsPayload> {
        let now_utc = self.clock.utc(self.now)?;
        let e = self.events.get(issuer_event_id).filter(|e| e.end > now_utc)?;
        e.encode(tsn, ddr)
    }

    /// A DRLC client command from a device.
    pub(crate) fn on_drlc_client(
        &mut self,
        to: &ReplyTo,
        header: &Header,
        command: &ClientCommand,
    ) {
        match command {
            ClientCommand::ReportEventStatus(r) => {
                self.forward_event_status(to, report(r));
                self.success_response(to, header);
            }
            ClientCommand::GetScheduledEvents(g) => {
                let (start_time, number_of_events) = (g.start_time.0, g.number_of_events);
                let Some(t) = self.clock.utc(self.now) else {
                    return self.error_response(to, header, Status::NOT_FOUND);
                };
                self.events.expire(t);
                let min_end = if start_time == 0 { t } else { start_time.max(t) };
                if self.events.next_scheduled(min_end, None).is_none() {
                    return self.error_response(to, header, Status::NOT_FOUND);
                }
                let remaining = if number_of_events == 0 { u8::MAX } else { number_of_events };
                self.scheduled_events =
                    Some(Scheduled { to: *to, tsn: header.tsn, min_end, remaining, after: None });
            }
        }
    }

    fn forward_event_status(&mut self, to: &ReplyTo, report: EventStatusReport) {
        self.push_pending(Pending::EventStatus { eui64: to.eui64, report });
    }

    /// The next LoadControlEvent of a GetScheduledEvents answer.
    pub(crate) fn next_scheduled_event(&mut self) -> Option<super::ApsFrame> {
        let mut s = self.scheduled_events.take()?;
        let e = *self.events.next_scheduled(s.min_end, s.after)?;
        s.after = Some((e.start, e.issuer_event_id));
        s.remaining = s.remaining.saturating_sub(1);
        if s.remaining > 0 {
            self.scheduled_events = Some(s);
        }
        let payload = e.encode(s.tsn, true)?;
        Some(self.aps_frame(&s.to, payload))
    }
}
