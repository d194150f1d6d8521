//! Per-device delivery tracking (design.md §4; BR-025.009): every push of a server command to a
//! device is one delivery with a request id, a ZCL TSN and, per transmission, an APS handle.
//!
//! Life of a delivery: `Queued` → (handed to the radio) `InFlight` → one of
//! * APS confirm success → `Acked` for a short grace period, so that an error Default Response
//!   that follows the APS ack is still reported as the outcome → `Done(ApsAcked)`. The grace
//!   only uses room nobody else needs: when fewer than [`GRACE_RESERVE`] entries are free (or
//!   finished, i.e. about to be drained), the oldest grace periods end at once, so a busy table
//!   is never full of deliveries that are merely waiting (an error Default Response arriving
//!   after that is ignored, as after a grace period that ran out);
//! * Default Response from the device (matched on EUI-64, cluster, TSN and command id) →
//!   `Done(ZclDefaultResponse(status))`;
//! * APS confirm failure or no confirm within the timeout → back to `Queued` while retries are
//!   left, else `Done(ApsFailed | Timeout)`.
//!
//! `Done` entries are drained by `poll_action` as `DeliveryResult`s, exactly one per delivery.
//! Only one delivery per device is in flight at a time, and queued deliveries go out in the
//! order they were created, so a CancelMessage never overtakes the DisplayMessage it cancels.
//! The frame itself is not stored: it is rebuilt from the ESI's tables at each transmission
//! ([`Push`] says what), which keeps RAM small and means a retry carries current values.

use super::action::{ApsHandle, ApsStatus, DeliveryOutcome};
use super::clock::Instant;
use super::command::RequestId;
use super::counters::{bump, Counters};
use zse::zcl::{ClusterId, Eui64, Status};

/// Deliveries that can be pending at once (two full fan-outs to 16 devices).
pub const MAX_DELIVERIES: usize = 32;

/// Entries kept free (or finished) by ending post-ack grace periods early, oldest first.
pub const GRACE_RESERVE: usize = MAX_DELIVERIES / 4;

/// What a delivery sends. Rebuilt into a frame at each transmission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Push {
    DisplayMessage {
        message_id: u32,
    },
    CancelMessage {
        message_id: u32,
        message_control: u8,
    },
    PublishPrice {
        issuer_event_id: u32,
    },
    LoadControlEvent {
        issuer_event_id: u32,
    },
    CancelLoadControlEvent {
        issuer_event_id: u32,
        device_class: u16,
        utility_enrollment_group: u8,
        cancel_control: u8,
        effective_time: u32,
    },
    CancelAllLoadControlEvents {
        cancel_control: u8,
    },
}

impl Push {
    pub(crate) const fn cluster(self) -> ClusterId {
        match self {
            Self::DisplayMessage { .. } | Self::CancelMessage { .. } => ClusterId::MESSAGING,
            Self::PublishPrice { .. } => ClusterId::PRICE,
            _ => ClusterId::DEMAND_RESPONSE_LOAD_CONTROL,
        }
    }

    /// The server→client command id.
    pub(crate) const fn command_id(self) -> u8 {
        match self {
            Self::DisplayMessage { .. }
            | Self::PublishPrice { .. }
            | Self::LoadControlEvent { .. } => 0x00,
            Self::CancelMessage { .. } | Self::CancelLoadControlEvent { .. } => 0x01,
            Self::CancelAllLoadControlEvents { .. } => 0x02,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Queued,
    InFlight { handle: ApsHandle, deadline: Instant },
    Acked { deadline: Instant },
    Done(DeliveryOutcome),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivery {
    pub seq: u32,
    pub request_id: RequestId,
    pub eui64: Eui64,
    pub tsn: u8,
    pub push: Push,
    pub retries: u8,
    pub state: State,
}

/// Timing and retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long to wait for the radio's confirm before retransmitting.
    pub confirm_timeout_ms: u64,
    /// Retransmissions after the first attempt.
    pub max_retries: u8,
    /// How long after the APS ack an error Default Response still counts (0 = report at once).
    pub default_response_grace_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { confirm_timeout_ms: 15_000, max_retries: 3, default_response_grace_ms: 1_000 }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Deliveries {
    entries: [Option<Delivery>; MAX_DELIVERIES],
    next_seq: u32,
}

impl Deliveries {
    pub(crate) const fn new() -> Self {
        Self { entries: [None; MAX_DELIVERIES], next_seq: 0 }
    }

    pub(crate) fn free(&self) -> usize {
        self.entries.iter().filter(|e| e.is_none()).count()
    }

    /// Deliveries not yet finished.
    pub(crate) fn in_flight(&self) -> usize {
        self.entries.iter().flatten().filter(|d| !matches!(d.state, State::Done(_))).count()
    }

    /// Adds a delivery; `false` if the table is full (callers check `free()` first).
    pub(crate) fn add(
        &mut self,
        request_id: RequestId,
        eui64: Eui64,
        tsn: u8,
        push: Push,
        state: State,
    ) -> bool {
        let Some(entry) = self.entries.iter_mut().find(|e| e.is_none()) else {
            return false;
        };
        *entry =
            Some(Delivery { seq: self.next_seq, request_id, eui64, tsn, push, retries: 0, state });
        self.next_seq = self.next_seq.wrapping_add(1);
        self.trim_grace();
        true
    }

    /// Ends the oldest grace periods (`Acked` → `Done(ApsAcked)`) while fewer than
    /// [`GRACE_RESERVE`] entries are free or finished.
    fn trim_grace(&mut self) {
        loop {
            let room = self
                .entries
                .iter()
                .filter(|e| matches!(e, None | Some(Delivery { state: State::Done(_), .. })))
                .count();
            if room >= GRACE_RESERVE {
                return;
            }
            let oldest = self
                .entries
                .iter_mut()
                .flatten()
                .filter(|d| matches!(d.state, State::Acked { .. }))
                .min_by_key(|d| match d.state {
                    State::Acked { deadline } => (deadline, d.seq),
                    _ => (Instant(u64::MAX), d.seq),
                });
            match oldest {
                Some(d) => d.state = State::Done(DeliveryOutcome::ApsAcked),
                None => return,
            }
        }
    }

    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut Delivery> {
        self.entries.get_mut(index).and_then(Option::as_mut)
    }

    /// Removes and returns the oldest finished delivery.
    pub(crate) fn take_done(&mut self) -> Option<(RequestId, Eui64, DeliveryOutcome)> {
        let entry = self
            .entries
            .iter_mut()
            .filter(|e| matches!(e, Some(Delivery { state: State::Done(_), .. })))
            .min_by_key(|e| e.map_or(u32::MAX, |d| d.seq))?;
        let d = entry.take()?;
        match d.state {
            State::Done(outcome) => Some((d.request_id, d.eui64, outcome)),
            _ => None,
        }
    }

    /// Index of the oldest queued delivery whose device has nothing in flight. (A delivery in
    /// its post-ack grace period does not hold the next one back: the device has it already.)
    pub(crate) fn next_queued(&self) -> Option<usize> {
        let busy = |eui: Eui64| {
            self.entries
                .iter()
                .flatten()
                .any(|d| d.eui64 == eui && matches!(d.state, State::InFlight { .. }))
        };
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.map(|d| (i, d)))
            .filter(|(_, d)| d.state == State::Queued && !busy(d.eui64))
            .min_by_key(|(_, d)| d.seq)
            .map(|(i, _)| i)
    }

    pub(crate) fn handle_in_use(&self, handle: ApsHandle) -> bool {
        self.entries
            .iter()
            .flatten()
            .any(|d| matches!(d.state, State::InFlight { handle: h, .. } if h == handle))
    }

    /// APS confirm. Returns `false` if no delivery waits on `handle`.
    pub(crate) fn on_confirm(
        &mut self,
        now: Instant,
        handle: ApsHandle,
        status: ApsStatus,
        policy: &RetryPolicy,
        counters: &mut Counters,
    ) -> bool {
        let Some(d) = self
            .entries
            .iter_mut()
            .flatten()
            .find(|d| matches!(d.state, State::InFlight { handle: h, .. } if h == handle))
        else {
            return false;
        };
        if status == ApsStatus::SUCCESS {
            d.state = if policy.default_response_grace_ms == 0 {
                State::Done(DeliveryOutcome::ApsAcked)
            } else {
                State::Acked { deadline: now.add_millis(policy.default_response_grace_ms) }
            };
            self.trim_grace();
        } else if d.retries < policy.max_retries {
            d.retries += 1;
            bump(&mut counters.retries);
            d.state = State::Queued;
        } else {
            bump(&mut counters.delivery_failures);
            d.state = State::Done(DeliveryOutcome::ApsFailed { status, retries: d.retries });
        }
        true
    }

    /// A Default Response from `eui64`. Returns `false` if it answers no pending delivery.
    pub(crate) fn on_default_response(
        &mut self,
        eui64: Eui64,
        cluster: ClusterId,
        tsn: u8,
        command_id: u8,
        status: Status,
    ) -> bool {
        let Some(d) = self.entries.iter_mut().flatten().find(|d| {
            d.eui64 == eui64
                && d.tsn == tsn
                && d.push.cluster() == cluster
                && d.push.command_id() == command_id
                && matches!(d.state, State::InFlight { .. } | State::Acked { .. })
        }) else {
            return false;
        };
        d.state = State::Done(if status == Status::SUCCESS {
            DeliveryOutcome::ApsAcked
        } else {
            DeliveryOutcome::ZclDefaultResponse(status)
        });
        true
    }

    /// Expires confirm timeouts and grace periods due at `now`.
    pub(crate) fn on_timeout(
        &mut self,
        now: Instant,
        policy: &RetryPolicy,
        counters: &mut Counters,
    ) {
        for d in self.entries.iter_mut().flatten() {
            match d.state {
                State::InFlight { deadline, .. } if deadline <= now => {
                    if d.retries < policy.max_retries {
                        d.retries += 1;
                        bump(&mut counters.retries);
                        d.state = State::Queued;
                    } else {
                        bump(&mut counters.delivery_timeouts);
                        d.state = State::Done(DeliveryOutcome::Timeout { retries: d.retries });
                    }
                }
                State::Acked { deadline } if deadline <= now => {
                    d.state = State::Done(DeliveryOutcome::ApsAcked);
                }
                _ => {}
            }
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.entries
            .iter()
            .flatten()
            .filter_map(|d| match d.state {
                State::InFlight { deadline, .. } | State::Acked { deadline } => Some(deadline),
                _ => None,
            })
            .min()
    }

    /// Ends every unfinished delivery to `eui64` with `DeviceRemoved`.
    pub(crate) fn device_removed(&mut self, eui64: Eui64) {
        for d in self.entries.iter_mut().flatten() {
            if d.eui64 == eui64 && !matches!(d.state, State::Done(_)) {
                d.state = State::Done(DeliveryOutcome::DeviceRemoved);
            }
        }
    }

    /// Unfinished deliveries, for invariant checks.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Delivery> {
        self.entries.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy =
        RetryPolicy { confirm_timeout_ms: 100, max_retries: 1, default_response_grace_ms: 10 };

    fn in_flight(h: u8, at: u64) -> State {
        State::InFlight { handle: ApsHandle(h), deadline: Instant(at) }
    }

    #[test]
    fn ack_then_grace_then_done() {
        let mut t = Deliveries::new();
        let mut c = Counters::default();
        assert!(t.add(
            RequestId(1),
            Eui64(5),
            9,
            Push::PublishPrice { issuer_event_id: 1 },
            in_flight(3, 100)
        ));
        assert!(!t.on_confirm(Instant(0), ApsHandle(4), ApsStatus::SUCCESS, &POLICY, &mut c));
        assert!(t.on_confirm(Instant(0), ApsHandle(3), ApsStatus::SUCCESS, &POLICY, &mut c));
        assert_eq!(t.next_deadline(), Some(Instant(10)));
        assert_eq!(t.take_done(), None);
        t.on_timeout(Instant(10), &POLICY, &mut c);
        assert_eq!(t.take_done(), Some((RequestId(1), Eui64(5), DeliveryOutcome::ApsAcked)));
        assert_eq!(t.free(), MAX_DELIVERIES);
    }

    #[test]
    fn error_default_response_after_ack_wins() {
        let mut t = Deliveries::new();
        let mut c = Counters::default();
        let push = Push::DisplayMessage { message_id: 7 };
        assert!(t.add(RequestId(1), Eui64(5), 9, push, in_flight(3, 100)));
        t.on_confirm(Instant(0), ApsHandle(3), ApsStatus::SUCCESS, &POLICY, &mut c);
        assert!(!t.on_default_response(Eui64(5), ClusterId::MESSAGING, 8, 0, Status::FAILURE));
        assert!(t.on_default_response(Eui64(5), ClusterId::MESSAGING, 9, 0, Status(0x81)));
        let done = t.take_done().unwrap().2;
        assert_eq!(done, DeliveryOutcome::ZclDefaultResponse(Status(0x81)));
    }

    #[test]
    #[allow(clippy::cast_possible_truncation)]
    fn grace_periods_end_early_when_the_table_fills() {
        let mut t = Deliveries::new();
        let mut c = Counters::default();
        let policy = RetryPolicy { default_response_grace_ms: 1_000, ..POLICY };
        let push = Push::DisplayMessage { message_id: 7 };
        // every entry acked, in order; each ack past the reserve ends the oldest grace
        for i in 0..MAX_DELIVERIES {
            let h = u8::try_from(i).unwrap();
            assert!(t.add(RequestId(i as u32), Eui64(i as u64), h, push, in_flight(h, 100)));
            assert!(t.on_confirm(
                Instant(i as u64),
                ApsHandle(h),
                ApsStatus::SUCCESS,
                &policy,
                &mut c
            ));
        }
        let acked = t.iter().filter(|d| matches!(d.state, State::Acked { .. })).count();
        assert_eq!(acked, MAX_DELIVERIES - GRACE_RESERVE);
        // the finished ones are the oldest acks, reported once each, in order
        for i in 0..GRACE_RESERVE {
            assert_eq!(
                t.take_done(),
                Some((RequestId(i as u32), Eui64(i as u64), DeliveryOutcome::ApsAcked))
            );
        }
        assert_eq!(t.take_done(), None);
        // a new delivery into the freed room ends one more grace period
        assert!(t.add(RequestId(99), Eui64(99), 1, push, State::Queued));
        assert_eq!(t.take_done().map(|d| d.0), Some(RequestId(GRACE_RESERVE as u32)));
        // an error Default Response within a grace period that is still running wins
        let last = u8::try_from(MAX_DELIVERIES - 1).unwrap();
        assert!(t.on_default_response(
            Eui64(u64::from(last)),
            ClusterId::MESSAGING,
            last,
            0,
            Status(0x81)
        ));
        assert_eq!(t.take_done().unwrap().2, DeliveryOutcome::ZclDefaultResponse(Status(0x81)));
        // the rest finish at their deadlines
        t.on_timeout(Instant(2_000), &policy, &mut c);
        let mut n = 0;
        while t.take_done().is_some() {
            n += 1;
        }
        assert_eq!(n, MAX_DELIVERIES - GRACE_RESERVE - 2);
        assert_eq!(t.free(), MAX_DELIVERIES - 1);
    }

    #[test]
    fn timeout_retries_then_gives_up() {
        let mut t = Deliveries::new();
        let mut c = Counters::default();
        let push = Push::CancelAllLoadControlEvents { cancel_control: 0 };
        assert!(t.add(RequestId(2), Eui64(5), 1, push, in_flight(3, 100)));
        t.on_timeout(Instant(100), &POLICY, &mut c);
        assert_eq!(t.next_queued(), Some(0));
        t.get_mut(0).unwrap().state = in_flight(4, 200);
        t.on_timeout(Instant(200), &POLICY, &mut c);
        assert_eq!(t.take_done().unwrap().2, DeliveryOutcome::Timeout { retries: 1 });
        assert_eq!((c.retries, c.delivery_timeouts), (1, 1));
    }

    #[test]
    fn one_in_flight_per_device_in_order() {
        let mut t = Deliveries::new();
        let a = Push::DisplayMessage { message_id: 1 };
        let b = Push::CancelMessage { message_id: 1, message_control: 0 };
        assert!(t.add(RequestId(1), Eui64(5), 1, a, State::Queued));
        assert!(t.add(RequestId(2), Eui64(5), 2, b, State::Queued));
        assert!(t.add(RequestId(2), Eui64(6), 3, b, State::Queued));
        assert_eq!(t.next_queued(), Some(0));
        t.get_mut(0).unwrap().state = in_flight(1, 10);
        assert_eq!(t.next_queued(), Some(2));
        t.device_removed(Eui64(5));
        assert_eq!(t.take_done().unwrap().2, DeliveryOutcome::DeviceRemoved);
        assert_eq!(t.take_done().unwrap().2, DeliveryOutcome::DeviceRemoved);
        assert_eq!(t.take_done(), None);
    }
}
