//! The link side of the coordinator: link events (admission of host requests, acknowledgements,
//! failures), handing queued reports to the link's send window, and building full reports from
//! queued entries.

use super::queue::Queued;
use super::queue::REPORTS_PER_OUTCOME;
use super::{bump, map, Coordinator, MeterSlot, ADMIT_FREE};
use crate::esi::{Instant, Metrology, SlotState};
use crate::host_link::types::ErrorDetail;
use crate::host_link::{
    DeviceEntry, DeviceList, ErrorCode, ErrorReport, FailReason, LinkError, LinkEvent, Report,
    Request, ResultCode, Seq,
};
use core::fmt;
use zse::zcl::UtcTime;

impl<const SLOTS: usize, const EVENTS: usize, const PRICES: usize, M: Metrology>
    Coordinator<SLOTS, EVENTS, PRICES, M>
{
    /// Whether the next host request can be taken off the link now: room for its reports and
    /// for those of the requests whose results are still inside the core (behind a radio
    /// action the caller has not taken yet).
    pub(super) fn can_admit(&self) -> bool {
        let reserved = self.awaiting.saturating_mul(REPORTS_PER_OUTCOME);
        self.queue.normal_free() >= ADMIT_FREE.saturating_add(reserved)
    }

    pub(super) fn link_events(&mut self) {
        loop {
            let event = if self.can_admit() {
                self.link.poll_event()
            } else {
                self.link.poll_event_except_received()
            };
            let Some(event) = event else { break };
            self.on_link_event(event);
        }
    }

    fn on_link_event(&mut self, event: LinkEvent<Request>) {
        match event {
            LinkEvent::Connected(_) => self.next_heartbeat = Some(self.now),
            LinkEvent::Disconnected
            | LinkEvent::Refused { .. }
            | LinkEvent::ProtocolError { .. } => {} // counted by the link
            LinkEvent::Received(req) => {
                bump(&mut self.counters.requests);
                if self.can_take(&req) {
                    self.on_request(&req);
                } else {
                    bump(&mut self.counters.requests_busy);
                    self.answer(req.request_id, ResultCode::BUSY);
                }
                self.pump();
            }
            LinkEvent::Acked(seq) => {
                bump(&mut self.counters.reports_acked);
                if let Some(q) = self.queue.settle(seq) {
                    self.done_with(q);
                }
                self.check_reset(seq);
            }
            LinkEvent::Failed { seq, reason } => {
                let settled = self.queue.settle(seq);
                match (reason, settled) {
                    (FailReason::SessionEnded | FailReason::RetriesExhausted, Some(q)) => {
                        bump(&mut self.counters.reports_resent);
                        if let Err(q) = self.queue.resend(q) {
                            self.lost(q);
                        }
                    }
                    (FailReason::Rejected(_), Some(q)) => {
                        bump(&mut self.counters.reports_rejected);
                        self.done_with(q);
                    }
                    (_, None) => {}
                }
                self.check_reset(seq);
            }
        }
    }

    /// The host has (or will never get) this report: release what it referred to.
    pub(super) fn done_with(&mut self, q: Queued) {
        if let Queued::MeterReading { request_id } = q {
            if matches!(self.meter, MeterSlot::Held(id, _) if id == request_id) {
                self.meter = MeterSlot::Free;
            }
        }
    }

    fn check_reset(&mut self, seq: Seq) {
        if self.reset_seq == Some(seq) {
            self.reset_due = true;
        }
    }

    /// Reports lost so far, by the coordinator and by the core's own output queue.
    pub(super) fn losses(&self) -> u32 {
        self.counters
            .results_dropped
            .wrapping_add(self.counters.reports_dropped)
            .wrapping_add(self.esi.counters().queue_overflows)
    }

    /// Hands queued reports to the link while its window has room.
    pub(super) fn feed_link(&mut self) {
        while self.link.is_connected() {
            if self.losses() != self.overflow_reported
                && !self.queue.contains(|q| *q == Queued::Overflow)
            {
                match self.link.send(self.now.0, &self.build(Queued::Overflow)) {
                    Ok(seq) => {
                        self.overflow_reported = self.losses();
                        bump(&mut self.counters.overflow_reports);
                        bump(&mut self.counters.reports_sent);
                        self.queue.sent_direct(seq, Queued::Overflow);
                        continue;
                    }
                    Err(_) => break,
                }
            }
            let Some((source, q)) = self.queue.front() else { break };
            let report = self.build(q);
            match self.link.send(self.now.0, &report) {
                Ok(seq) => {
                    bump(&mut self.counters.reports_sent);
                    self.queue.sent(source, seq);
                    if matches!(q, Queued::Result(r) if Some(r.request_id) == self.reset_request) {
                        self.reset_seq = Some(seq);
                    }
                }
                Err(LinkError::WindowFull | LinkError::NotConnected) => break,
                Err(LinkError::Encode | LinkError::BufferTooSmall) => {
                    // Cannot happen for reports within the protocol's limits; never loop on it.
                    if let Some(q) = self.queue.discard(source) {
                        self.lost(q);
                    }
                }
            }
        }
    }

    /// The full report for a queued entry.
    fn build(&self, q: Queued) -> Report {
        match q {
            Queued::Result(r) => Report::Result(r),
            Queued::Delivery(d) => Report::DeliveryResult(d),
            Queued::Confirmed(c) => Report::MessageConfirmed(c),
            Queued::EventStatus(s) => Report::EventStatus(s),
            Queued::Device(d) => Report::DeviceEvent(d),
            Queued::Status(s) => Report::PowerSwitchStatus(s),
            Queued::DeviceList { request_id } => Report::DeviceList(self.device_list(request_id)),
            Queued::MeterReading { request_id } => {
                Report::MeterReading(self.meter_report(request_id))
            }
            Queued::Overflow => {
                let mut detail = ErrorDetail::new();
                let c = &self.counters;
                let core = self.esi.counters().queue_overflows;
                // Fits in 48 bytes even with three 10-digit numbers.
                let _ = fmt::Write::write_fmt(
                    &mut detail,
                    format_args!(
                        "lost r={} o={} core={}",
                        c.results_dropped, c.reports_dropped, core
                    ),
                );
                Report::Error(ErrorReport { code: ErrorCode::QUEUE_OVERFLOW, detail })
            }
        }
    }

    /// `DeviceList` from the slot table as it is now.
    fn device_list(&self, request_id: u32) -> DeviceList {
        let utc = |t: Option<Instant>| t.and_then(|t| self.esi.utc(t)).map_or(0, |u: UtcTime| u.0);
        let mut entries = heapless::Vec::new();
        for (i, s) in self.esi.devices() {
            let pending = s.state == SlotState::Pending;
            let entry = DeviceEntry {
                slot: i as u8,
                eui64: s.eui64.into(),
                state: map::slot_state(s.state),
                last_seen: utc(s.last_seen),
                lqi: s.lqi.unwrap_or(0),
                join_deadline: if pending { utc(s.join_deadline) } else { 0 },
            };
            // SLOTS ≤ 16 = the report's capacity.
            let _ = entries.push(entry);
        }
        DeviceList { request_id, capacity: SLOTS as u8, entries }
    }
}
