//! The DRLC client shared by the thermostat and the load-control switch (SE 1.0 §D.2.3;
//! se10.md §4, §10 "DRLC …"): it keeps the events addressed to its device class and enrollment
//! group, runs them, and reports every status change with ReportEventStatus — received (0x01),
//! started (0x02), completed (0x03 / 0x08 after an opt-out during the event / 0x0A after an
//! opt-out before it), opt-out/in (0x04/0x05), cancelled (0x06), superseded (0x07) and the
//! rejections (0xF9 bad effective time, 0xFB expired, 0xFD unknown event, 0xFE rejected).
//!
//! What an event does to the appliance is the device's business ([`DrHooks`]).

use super::{Ctx, NO_SIGNATURE};
use zse::cluster::drlc::{
    CancelControl, ClientCommand, CriticalityLevel, DeviceClass, EventControl, EventStatus,
    GetScheduledEvents, LoadControlEvent, ReportEventStatus, ServerCommand, SignatureType,
};
use zse::cluster::ClusterCommand;
use zse::zcl::{ClusterId, Frame, Payload, UtcTime};

/// Values the appliance applies while an event runs (ReportEventStatus fields 5–8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub cooling_set_point: i16,
    pub heating_set_point: i16,
    pub average_load_adjustment: i8,
    pub duty_cycle: u8,
}

/// What the appliance does at an event's start and end.
pub trait DrHooks {
    /// Values reported for `event` (while it runs, or would run).
    fn applied(&self, event: &LoadControlEvent) -> Applied;
    fn on_start(&mut self, event: &LoadControlEvent);
    fn on_end(&mut self, issuer_event_id: u32);
}

/// One stored event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientEvent {
    pub event: LoadControlEvent,
    /// Effective start/end in UTC seconds and virtual ms (start includes randomization).
    pub start_utc: u32,
    pub end_utc: u32,
    pub start_ms: u64,
    pub end_ms: u64,
    pub started: bool,
    /// The user opted out (and has not opted back in).
    pub opted_out: bool,
    /// Opted out at some point while the event ran.
    pub opted_out_while_running: bool,
    /// A cancel with a future effective time: report 0x06 at the end instead of completion.
    pub cancel_at_end: bool,
}

/// The DRLC client state.
#[derive(Debug, Default)]
pub struct DrClient {
    pub events: Vec<ClientEvent>,
    /// Every status reported: (issuer event id, status), oldest first.
    pub reports: Vec<(u32, u8)>,
}

impl DrClient {
    /// After joining: ask for events already scheduled (the first SE request).
    pub fn on_ready(&mut self, ctx: &mut Ctx<'_>) {
        let cmd = GetScheduledEvents { start_time: UtcTime::NOW, number_of_events: 0 };
        ctx.send(ClusterCommand::DrlcClient(ClientCommand::GetScheduledEvents(cmd)));
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        self.events
            .iter()
            .map(|e| if e.started { e.end_ms } else { e.start_ms.min(e.end_ms) })
            .min()
    }

    pub fn handle_timeout(&mut self, ctx: &mut Ctx<'_>, hooks: &mut dyn DrHooks) {
        let now = ctx.now;
        let mut i = 0;
        while let Some(e) = self.events.get_mut(i).copied() {
            if !e.started && e.start_ms <= now && e.end_ms > now {
                if let Some(x) = self.events.get_mut(i) {
                    x.started = true;
                }
                if !e.opted_out {
                    hooks.on_start(&e.event);
                    self.report(ctx, &e.event, EventStatus::EVENT_STARTED, hooks);
                }
            }
            if e.end_ms <= now {
                self.events.remove(i);
                if e.started && !e.opted_out {
                    hooks.on_end(e.event.issuer_event_id);
                }
                let status = if e.cancel_at_end {
                    EventStatus::EVENT_HAS_BEEN_CANCELLED
                } else if e.opted_out && !e.opted_out_while_running {
                    EventStatus::EVENT_COMPLETED_NO_USER_PARTICIPATION
                } else if e.opted_out_while_running {
                    EventStatus::EVENT_PARTIALLY_COMPLETED_WITH_USER_OPT_OUT
                } else {
                    EventStatus::EVENT_COMPLETED
                };
                self.report(ctx, &e.event, status, hooks);
                continue;
            }
            i += 1;
        }
    }

    /// A DRLC frame from the ESI; `false` if it is not one this client handles.
    pub fn handle_frame(
        &mut self,
        ctx: &mut Ctx<'_>,
        cluster: ClusterId,
        frame: &Frame<'_>,
        hooks: &mut dyn DrHooks,
    ) -> bool {
        let Payload::Cluster(ClusterCommand::DrlcServer(cmd)) = &frame.payload else {
            // Default Responses and other foundation frames need no action.
            return matches!(frame.payload, Payload::Foundation(_));
        };
        ctx.acknowledge(cluster, &frame.header);
        let class = DeviceClass(ctx.spec.device_class);
        let group = ctx.spec.enrollment_group;
        match cmd {
            ServerCommand::LoadControlEvent(ev) if ev.applies_to(class, group) => {
                self.on_event(ctx, ev, hooks);
            }
            ServerCommand::CancelLoadControlEvent(c) if c.applies_to(class, group) => {
                let id = c.issuer_event_id;
                let Some(i) = self.events.iter().position(|e| e.event.issuer_event_id == id) else {
                    let ev = placeholder(id);
                    return self.report_true(
                        ctx,
                        &ev,
                        EventStatus::REJECTED_INVALID_CANCEL_COMMAND_UNDEFINED_EVENT,
                        hooks,
                    );
                };
                self.cancel(ctx, i, c.effective_time, c.cancel_control, hooks);
            }
            ServerCommand::CancelAllLoadControlEvents(c) => {
                while !self.events.is_empty() {
                    self.cancel(ctx, 0, UtcTime::NOW, c.cancel_control, hooks);
                }
            }
            // Not for this device class or group: ignored (se10.md §10 "DRLC filtering").
            _ => {}
        }
        true
    }

    fn report_true(
        &mut self,
        ctx: &mut Ctx<'_>,
        ev: &LoadControlEvent,
        status: EventStatus,
        hooks: &dyn DrHooks,
    ) -> bool {
        self.report(ctx, ev, status, hooks);
        true
    }

    fn on_event(&mut self, ctx: &mut Ctx<'_>, ev: &LoadControlEvent, hooks: &mut dyn DrHooks) {
        if self.events.iter().any(|e| e.event.issuer_event_id == ev.issuer_event_id) {
            return; // a duplicate (e.g. GetScheduledEvents resends it): already reported
        }
        let Some(utc) = ctx.utc.or((ev.start_time == UtcTime::NOW).then_some(0)) else {
            return self.report(ctx, ev, EventStatus::LOAD_CONTROL_EVENT_COMMAND_REJECTED, hooks);
        };
        let start = ev.effective_start_time(UtcTime(utc)).0;
        let end = ev.end_time(UtcTime(utc)).0;
        if end <= utc {
            return self.report(ctx, ev, EventStatus::REJECTED_EVENT_EXPIRED, hooks);
        }
        let mut start = start;
        let minutes = u64::from(ctx.spec.start_randomization_minutes);
        if ev.event_control.randomize_start_time() && minutes > 0 {
            start = start.saturating_add(ctx.rng.below(minutes * 60) as u32).min(end);
        }
        // Supersede stored events that overlap in time, class and group (se10.md §10).
        let mut i = 0;
        while let Some(old) = self.events.get(i).copied() {
            let time = old.start_utc < end && start < old.end_utc;
            let class = old.event.device_class.0 & ev.device_class.0 != 0;
            let (a, b) = (old.event.utility_enrollment_group, ev.utility_enrollment_group);
            if time && class && (a == 0 || b == 0 || a == b) {
                self.events.remove(i);
                if old.started && !old.opted_out {
                    hooks.on_end(old.event.issuer_event_id);
                }
                self.report(ctx, &old.event, EventStatus::EVENT_HAS_BEEN_SUPERSEDED, hooks);
            } else {
                i += 1;
            }
        }
        let to_ms = |t: u32| ctx.now + u64::from(t.saturating_sub(utc)) * 1000;
        let stored = ClientEvent {
            event: *ev,
            start_utc: start,
            end_utc: end,
            start_ms: to_ms(start),
            end_ms: to_ms(end),
            started: false,
            opted_out: false,
            opted_out_while_running: false,
            cancel_at_end: false,
        };
        self.events.push(stored);
        self.report(ctx, ev, EventStatus::LOAD_CONTROL_EVENT_COMMAND_RECEIVED, hooks);
        // Starting now is the timer's job (it runs right after this frame).
    }

    fn cancel(
        &mut self,
        ctx: &mut Ctx<'_>,
        i: usize,
        effective: UtcTime,
        _control: CancelControl,
        hooks: &mut dyn DrHooks,
    ) {
        let Some(e) = self.events.get(i).copied() else { return };
        let utc = ctx.utc.unwrap_or(e.start_utc);
        let at = if effective == UtcTime::NOW { utc } else { effective.0 };
        if effective == UtcTime::INVALID || at > e.end_utc {
            // The event stays as it was.
            let status = EventStatus::REJECTED_INVALID_CANCEL_COMMAND_INVALID_EFFECTIVE_TIME;
            return self.report(ctx, &e.event, status, hooks);
        }
        if at <= utc {
            self.events.remove(i);
            if e.started && !e.opted_out {
                hooks.on_end(e.event.issuer_event_id);
            }
            self.report(ctx, &e.event, EventStatus::EVENT_HAS_BEEN_CANCELLED, hooks);
        } else if let Some(x) = self.events.get_mut(i) {
            x.end_utc = at;
            x.end_ms = ctx.now + u64::from(at - utc) * 1000;
            x.cancel_at_end = true;
        }
    }

    /// The user opts out of (or back into) `event`, or the current / first stored one.
    pub fn opt(
        &mut self,
        ctx: &mut Ctx<'_>,
        event: Option<u32>,
        opt_in: bool,
        hooks: &mut dyn DrHooks,
    ) -> Result<String, String> {
        let i = match event {
            Some(id) => self.events.iter().position(|e| e.event.issuer_event_id == id),
            None => self.events.iter().position(|e| e.started).or(if self.events.is_empty() {
                None
            } else {
                Some(0)
            }),
        }
        .ok_or_else(|| match event {
            Some(id) => format!("no event {id}"),
            None => "no event to opt out of".to_string(),
        })?;
        let Some(e) = self.events.get_mut(i) else { return Err("no such event".into()) };
        let id = e.event.issuer_event_id;
        if opt_in != e.opted_out {
            return Err(format!(
                "already opted {} of event {id}",
                if opt_in { "in" } else { "out" }
            ));
        }
        e.opted_out = !opt_in;
        if e.started && !opt_in {
            e.opted_out_while_running = true;
        }
        let (ev, running) = (e.event, e.started);
        if running {
            if opt_in {
                hooks.on_start(&ev);
            } else {
                hooks.on_end(id);
            }
        }
        let status = if opt_in {
            EventStatus::USER_HAS_CHOSEN_TO_OPT_IN
        } else {
            EventStatus::USER_HAS_CHOSEN_TO_OPT_OUT
        };
        self.report(ctx, &ev, status, hooks);
        Ok(format!("opted {} of event {id}", if opt_in { "in" } else { "out" }))
    }

    fn report(
        &mut self,
        ctx: &mut Ctx<'_>,
        ev: &LoadControlEvent,
        status: EventStatus,
        hooks: &dyn DrHooks,
    ) {
        let a = hooks.applied(ev);
        let r = ReportEventStatus {
            issuer_event_id: ev.issuer_event_id,
            event_status: status,
            event_status_time: UtcTime(ctx.utc_or_zero()),
            criticality_level_applied: ev.criticality_level,
            cooling_temperature_set_point_applied: a.cooling_set_point,
            heating_temperature_set_point_applied: a.heating_set_point,
            average_load_adjustment_percentage_applied: a.average_load_adjustment,
            duty_cycle_applied: a.duty_cycle,
            event_control: ev.event_control,
            signature_type: SignatureType::NO_SIGNATURE,
            signature: Some(NO_SIGNATURE),
        };
        self.reports.push((ev.issuer_event_id, status.0));
        ctx.send(ClusterCommand::DrlcClient(ClientCommand::ReportEventStatus(r)));
    }

    /// The event running now, if any (and not opted out).
    pub fn running(&self) -> Option<&ClientEvent> {
        self.events.iter().find(|e| e.started && !e.opted_out)
    }

    pub fn status(&self) -> String {
        if self.events.is_empty() {
            return "no DR event".into();
        }
        let parts: Vec<String> = self
            .events
            .iter()
            .map(|e| {
                let state = match (e.started, e.opted_out) {
                    (_, true) => "opted out",
                    (true, false) => "running",
                    (false, false) => "scheduled",
                };
                format!("event {} {state} {}..{}", e.event.issuer_event_id, e.start_utc, e.end_utc)
            })
            .collect();
        parts.join(", ")
    }
}

/// A stand-in event for reporting on an id the client does not hold.
fn placeholder(issuer_event_id: u32) -> LoadControlEvent {
    LoadControlEvent {
        issuer_event_id,
        device_class: DeviceClass(0),
        utility_enrollment_group: 0,
        start_time: UtcTime::NOW,
        duration_in_minutes: 0,
        criticality_level: CriticalityLevel(0),
        cooling_temperature_offset: LoadControlEvent::OFFSET_NOT_USED,
        heating_temperature_offset: LoadControlEvent::OFFSET_NOT_USED,
        cooling_temperature_set_point: LoadControlEvent::SET_POINT_NOT_USED,
        heating_temperature_set_point: LoadControlEvent::SET_POINT_NOT_USED,
        average_load_adjustment_percentage: LoadControlEvent::AVERAGE_LOAD_ADJUSTMENT_NOT_USED,
        duty_cycle: LoadControlEvent::DUTY_CYCLE_NOT_USED,
        event_control: EventControl(0),
    }
}
