//! The outgoing report queue: what the coordinator has to tell the host, held compactly until
//! the link's send window has room (backpressure), plus copies of the reports in the window so
//! that a report lost with a link session is sent again in the next one.
//!
//! Four bounded stores, drained in this order:
//! 1. `resend`: reports whose session ended before the host acknowledged them (at most the
//!    link window);
//! 2. `urgent`: upstream High-priority reports (design.md §4, BR-053.006): device state
//!    changes and DR opt-outs; when full they fall back to `normal`;
//! 3. `normal`: everything else, in order;
//! 4. `in_flight`: handed to the link, waiting for `Acked` / `Failed`.
//!
//! Entries are small (≤ 40 bytes): the large reports (`DeviceList`, `MeterReading`) are queued
//! as a request id and built when they are sent.

use crate::host_link::{
    DeliveryResult, DeviceEvent, EventStatus, MessageConfirmed, PowerSwitchStatus, RequestResult,
    Seq,
};
use heapless::{Deque, Vec};

/// Reliable frames the coordinator's link endpoint keeps outstanding (`LinkEndpoint`'s
/// default `WINDOW`).
pub const LINK_WINDOW: usize = 4;
/// Entries of the normal report queue.
pub const NORMAL_QUEUE: usize = 24;
/// Entries of the High-priority report queue.
pub const URGENT_QUEUE: usize = 6;
/// One host outcome becomes at most this many reports (a `Result` and its data report); the
/// core is drained only while this many entries are free.
pub(super) const REPORTS_PER_OUTCOME: usize = 2;

/// One report waiting to be sent, in compact form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Queued {
    Result(RequestResult),
    Delivery(DeliveryResult),
    Confirmed(MessageConfirmed),
    EventStatus(EventStatus),
    Device(DeviceEvent),
    Status(PowerSwitchStatus),
    /// `DeviceList` for this request, built from the slot table when sent.
    DeviceList {
        request_id: u32,
    },
    /// `MeterReading` for this request, built from the held reading when sent.
    MeterReading {
        request_id: u32,
    },
    /// `Error(QUEUE_OVERFLOW)` with the loss totals at the time it is sent.
    Overflow,
}

impl Queued {
    /// Terminal results: the host waits for exactly one of each.
    pub(super) const fn is_terminal(&self) -> bool {
        matches!(self, Self::Result(_) | Self::Delivery(_))
    }

    /// Upstream High priority (BR-053.006): provisioning progress and DR opt-out.
    const fn is_urgent(&self) -> bool {
        match self {
            Self::Device(_) => true,
            Self::EventStatus(s) => s.event_status == EventStatus::OPT_OUT,
            _ => false,
        }
    }
}

/// Which store the next report comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Resend,
    Urgent,
    Normal,
}

#[derive(Debug, Default)]
pub(super) struct ReportQueue {
    resend: Deque<Queued, LINK_WINDOW>,
    urgent: Deque<Queued, URGENT_QUEUE>,
    normal: Deque<Queued, NORMAL_QUEUE>,
    in_flight: Vec<(Seq, Queued), LINK_WINDOW>,
}

impl ReportQueue {
    pub(super) const fn new() -> Self {
        Self {
            resend: Deque::new(),
            urgent: Deque::new(),
            normal: Deque::new(),
            in_flight: Vec::new(),
        }
    }

    /// Queues a report; gives it back when there is no room (the caller counts the loss).
    pub(super) fn push(&mut self, q: Queued) -> Result<(), Queued> {
        let q = if q.is_urgent() {
            match self.urgent.push_back(q) {
                Ok(()) => return Ok(()),
                Err(q) => q,
            }
        } else {
            q
        };
        self.normal.push_back(q)
    }

    /// Free entries in the normal queue (what backpressure and admission look at).
    pub(super) fn normal_free(&self) -> usize {
        NORMAL_QUEUE - self.normal.len()
    }

    /// Reports waiting to be handed to the link.
    pub(super) fn waiting(&self) -> usize {
        self.resend.len() + self.urgent.len() + self.normal.len()
    }

    pub(super) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The next report to send, without removing it.
    pub(super) fn front(&self) -> Option<(Source, Queued)> {
        let pick = |d: Option<&Queued>, s| d.map(|q| (s, *q));
        pick(self.resend.front(), Source::Resend)
            .or_else(|| pick(self.urgent.front(), Source::Urgent))
            .or_else(|| pick(self.normal.front(), Source::Normal))
    }

    /// Moves the front of `source` into the window under `seq`.
    pub(super) fn sent(&mut self, source: Source, seq: Seq) {
        let q = match source {
            Source::Resend => self.resend.pop_front(),
            Source::Urgent => self.urgent.pop_front(),
            Source::Normal => self.normal.pop_front(),
        };
        if let Some(q) = q {
            // The link refuses a send beyond its window, which is this Vec's capacity.
            let _ = self.in_flight.push((seq, q));
        }
    }

    /// Drops the front of `source` (it could not be encoded).
    pub(super) fn discard(&mut self, source: Source) -> Option<Queued> {
        match source {
            Source::Resend => self.resend.pop_front(),
            Source::Urgent => self.urgent.pop_front(),
            Source::Normal => self.normal.pop_front(),
        }
    }

    /// Places a report directly in the window (one that is not queued, e.g. `Overflow`).
    pub(super) fn sent_direct(&mut self, seq: Seq, q: Queued) {
        let _ = self.in_flight.push((seq, q));
    }

    /// The report the link settled under `seq`, removed from the window.
    pub(super) fn settle(&mut self, seq: Seq) -> Option<Queued> {
        let i = self.in_flight.iter().position(|(s, _)| *s == seq)?;
        Some(self.in_flight.remove(i).1)
    }

    /// Queues a report whose session ended for the next session, ahead of everything else and
    /// in its original order (failures are reported oldest first).
    pub(super) fn resend(&mut self, q: Queued) -> Result<(), Queued> {
        self.resend.push_back(q)
    }

    /// Whether a report of this kind is queued or in the window.
    pub(super) fn contains(&self, pred: impl Fn(&Queued) -> bool) -> bool {
        self.resend.iter().chain(&self.urgent).chain(&self.normal).any(&pred)
            || self.in_flight.iter().any(|(_, q)| pred(q))
    }
}
