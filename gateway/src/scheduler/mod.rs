//! Dispatch scheduler: which queued delivery goes to a coordinator next (design.md §4, BR-053).
//!
//! Pure and sans-IO: it owns no clock, thread or file. The caller passes `now`, a predicate
//! telling which ESIs can take a frame (coordinator online), and a seeded RNG for jitter. Its
//! index is in memory and rebuilt from the store at start ([`rebuild`]); the store stays the
//! source of truth and every decision here is persisted by the caller (`mark_sent`, …).
//!
//! Policy:
//! - **Strict priority for High.** Every [`Scheduler::next_ready`] first looks at High; Medium
//!   and Low are only considered when no High delivery can go. Within a class: earliest deadline
//!   first, then lowest id.
//! - **Anti-starvation between Medium and Low only.** Medium goes before Low, except (a) when the
//!   Low candidate's deadline is within `low_urgency` of now and earlier than the Medium
//!   candidate's, or (b) after `max_medium_streak` consecutive Medium dispatches that passed over
//!   a waiting Low, one Low goes. Both rules only choose between Medium and Low, after High was
//!   found empty, so they never delay High.
//! - **Per-ESI limits.** At most `max_in_flight` deliveries in flight per ESI; the last
//!   `reserved_for_high` of those slots (and of the rate-limit tokens) are for High, so a High
//!   delivery never waits behind Low deliveries occupying an ESI. Optional token-bucket rate limit
//!   per ESI.
//! - **Retries** with exponential backoff and jitter ([`Backoff`]), at most `max_attempts` sends.
//! - **Expiry**: a queued delivery whose deadline is `<= now` is never dispatched; it is reported
//!   by [`Scheduler::expire_due`] (the caller marks it `expired` in the store).
//!
//! Complexity: every operation is O(log n) in the number of queued deliveries, plus, in
//! `next_ready`, O(k log n) for the k ESIs at the front of a class that the `esi_ready`
//! predicate rejects (at most the number of ESIs, never the number of deliveries): ESIs that
//! are full or out of tokens are taken out of the candidate index instead of being skipped.

mod limits;
#[cfg(test)]
mod proptests;
mod rebuild;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Duration;

pub use limits::{Backoff, JitterRng, RateLimit, SplitMix64};
use limits::{Bucket, TOKEN};
pub use rebuild::rebuild;

use crate::model::{DeliveryId, EsiId, Priority, Timestamp};

/// Scheduler settings.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SchedulerConfig {
    /// Most deliveries in flight per ESI (all classes).
    pub max_in_flight: u32,
    /// In-flight slots (and rate tokens) only High may use; clamped below `max_in_flight`.
    pub reserved_for_high: u32,
    /// Per-ESI rate limit; `None` for none.
    pub rate: Option<RateLimit>,
    /// Most sends of one delivery (first try included) before it is `failed`.
    pub max_attempts: u32,
    /// Retry delays.
    pub backoff: Backoff,
    /// Medium dispatches in a row, while Low waits, before one Low goes.
    pub max_medium_streak: u32,
    /// A Low delivery this close to its deadline goes before a later-deadline Medium one.
    pub low_urgency: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 4,
            reserved_for_high: 1,
            rate: Some(RateLimit { per_second: 20, burst: 20 }),
            max_attempts: 5,
            backoff: Backoff::default(),
            max_medium_streak: 8,
            low_urgency: Duration::from_secs(3600),
        }
    }
}

/// A delivery to put in the queue.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct QueuedDelivery<'a> {
    /// Its id.
    pub id: DeliveryId,
    /// Recipient ESI.
    pub esi_id: &'a EsiId,
    /// Class.
    pub priority: Priority,
    /// Expiry.
    pub deadline: Timestamp,
    /// Earliest dispatch (retry backoff).
    pub not_before: Timestamp,
    /// Re-sends so far.
    pub retries: u32,
}

/// What [`Scheduler::next_ready`] hands out.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Dispatch {
    /// The delivery.
    pub id: DeliveryId,
    /// Where it goes.
    pub esi_id: EsiId,
    /// Its class.
    pub priority: Priority,
    /// 1 for the first send.
    pub attempt: u32,
}

/// What the coordinator reported for a delivery in flight.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Acknowledged by the device.
    Delivered,
    /// Not acknowledged / error; `retryable` says whether sending again may help.
    Failed {
        /// Worth retrying.
        retryable: bool,
    },
    /// The ESI does not know / cannot reach the device.
    Undeliverable,
    /// The frame never left (link to the coordinator lost): queue again, not counted.
    Requeue,
}

/// What the scheduler decided after a result; the caller persists it in the store.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Resolution {
    /// Finished (`delivered` / `undeliverable`): the store transition follows the outcome.
    Done,
    /// Queued again for `at` (`store.mark_failed(.., Some(at))`).
    Retry {
        /// Earliest next send.
        at: Timestamp,
    },
    /// Out of attempts or not retryable (`store.mark_failed(.., None)`).
    GaveUp,
    /// The next retry would be after the deadline (`expired`).
    Expired,
    /// Back in the queue at once (`store.requeue`).
    Requeued,
}

/// Errors of [`Scheduler::on_result`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SchedulerError {
    /// Not known to the scheduler.
    Unknown(DeliveryId),
    /// Known but not in flight.
    NotInFlight(DeliveryId),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    esi: u32,
    class: u8,
    deadline: u64,
    not_before: u64,
    retries: u32,
    in_flight: bool,
}

#[derive(Debug)]
struct EsiState {
    name: EsiId,
    in_flight: u32,
    /// Ready (not deferred) queued deliveries per class: (deadline, id).
    ready: [BTreeSet<(u64, u64)>; 3],
    /// The key this ESI has in `heads[c]`, if any.
    indexed: [Option<(u64, u64)>; 3],
    bucket: Option<Bucket>,
    wake: Option<u64>,
}

/// Fast hasher for the dense, unique `u64` delivery ids (SipHash is 3× slower at 1M entries and
/// the ids are not attacker-chosen).
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// The scheduler. See the module docs for the policy.
#[derive(Debug)]
pub struct Scheduler {
    cfg: SchedulerConfig,
    entries: IdMap<Entry>,
    esis: Vec<EsiState>,
    esi_ordinals: HashMap<EsiId, u32>,
    /// Per class: (deadline, id, esi) of the first ready delivery of every ESI that may take
    /// one of this class now.
    heads: [BTreeSet<(u64, u64, u32)>; 3],
    /// Waiting for their retry time: (not_before, id).
    deferred: BTreeSet<(u64, u64)>,
    /// Every queued (not in flight) delivery: (deadline, id).
    by_deadline: BTreeSet<(u64, u64)>,
    /// ESIs out of tokens: (time enough tokens are back, esi).
    wakeups: BTreeSet<(u64, u32)>,
    expired: Vec<DeliveryId>,
    medium_streak: u32,
    in_flight: usize,
    /// Entries per class (queued and in flight), for the metrics.
    class_len: [usize; 3],
    now: u64,
}

impl Scheduler {
    /// An empty scheduler.
    pub fn new(mut cfg: SchedulerConfig) -> Self {
        cfg.max_in_flight = cfg.max_in_flight.max(1);
        cfg.reserved_for_high = cfg.reserved_for_high.min(cfg.max_in_flight - 1);
        cfg.max_attempts = cfg.max_attempts.max(1);
        Self {
            cfg,
            entries: IdMap::default(),
            esis: Vec::new(),
            esi_ordinals: HashMap::new(),
            heads: Default::default(),
            deferred: BTreeSet::new(),
            by_deadline: BTreeSet::new(),
            wakeups: BTreeSet::new(),
            expired: Vec::new(),
            medium_streak: 0,
            in_flight: 0,
            class_len: [0; 3],
            now: 0,
        }
    }

    /// Its settings (after clamping).
    pub fn config(&self) -> &SchedulerConfig {
        &self.cfg
    }

    /// Deliveries known (queued or in flight).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Nothing queued or in flight.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Deliveries known (queued or in flight) per class: High, Medium, Low.
    pub fn len_by_class(&self) -> [usize; 3] {
        self.class_len
    }

    fn count(&mut self, class: u8, added: bool) {
        if let Some(n) = self.class_len.get_mut(class as usize) {
            *n = if added { *n + 1 } else { n.saturating_sub(1) };
        }
    }

    /// Deliveries in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Deliveries in flight to one ESI.
    pub fn esi_in_flight(&self, esi: &EsiId) -> u32 {
        self.esi_ordinals
            .get(esi)
            .and_then(|&o| self.esis.get(o as usize))
            .map_or(0, |s| s.in_flight)
    }

    /// Whether a delivery is known and in flight.
    pub fn is_in_flight(&self, id: DeliveryId) -> bool {
        self.entries.get(&id.0).is_some_and(|e| e.in_flight)
    }

    fn ordinal(&mut self, esi: &EsiId, now: u64) -> u32 {
        if let Some(&o) = self.esi_ordinals.get(esi) {
            return o;
        }
        let o = self.esis.len() as u32;
        self.esis.push(EsiState {
            name: esi.clone(),
            in_flight: 0,
            ready: Default::default(),
            indexed: [None; 3],
            bucket: self.cfg.rate.as_ref().map(|l| Bucket::full(*l, now)),
            wake: None,
        });
        self.esi_ordinals.insert(esi.clone(), o);
        o
    }

    /// Adds a queued delivery (after the store committed it). `false` if the id is known already.
    pub fn insert(&mut self, d: QueuedDelivery<'_>, now: Timestamp) -> bool {
        let esi = self.ordinal(d.esi_id, now.0);
        self.insert_at(esi, &d, now.0.max(self.now), true)
    }

    fn insert_at(&mut self, esi: u32, d: &QueuedDelivery<'_>, now: u64, refresh: bool) -> bool {
        if self.entries.contains_key(&d.id.0) {
            return false;
        }
        let e = Entry {
            esi,
            class: d.priority.class(),
            deadline: d.deadline.0,
            not_before: d.not_before.0,
            retries: d.retries,
            in_flight: false,
        };
        self.entries.insert(d.id.0, e);
        self.count(e.class, true);
        self.enqueue(d.id.0, e, now, refresh);
        true
    }

    /// Puts a known, not-in-flight entry into the ready or deferred set. `refresh: false` is
    /// for bulk loading, which refreshes every ESI once at the end.
    fn enqueue(&mut self, id: u64, e: Entry, now: u64, refresh: bool) {
        self.by_deadline.insert((e.deadline, id));
        if e.not_before > now {
            self.deferred.insert((e.not_before, id));
        } else if let Some(st) = self.esis.get_mut(e.esi as usize) {
            if let Some(set) = st.ready.get_mut(e.class as usize) {
                set.insert((e.deadline, id));
            }
            if refresh {
                self.refresh(e.esi, now);
            }
        }
    }

    /// Takes a queued (not in flight) entry out of every set.
    fn dequeue(&mut self, id: u64, e: Entry, now: u64) {
        self.by_deadline.remove(&(e.deadline, id));
        if !self.deferred.remove(&(e.not_before, id)) {
            if let Some(set) =
                self.esis.get_mut(e.esi as usize).and_then(|st| st.ready.get_mut(e.class as usize))
            {
                set.remove(&(e.deadline, id));
            }
            self.refresh(e.esi, now);
        }
    }

    /// (in-flight slots, milli-tokens needed) for a class: Medium and Low leave the reserved
    /// slots and tokens to High.
    fn limits_for(&self, class: usize) -> (u32, u64) {
        if class == 0 {
            return (self.cfg.max_in_flight, TOKEN);
        }
        let reserve = self.cfg.reserved_for_high;
        let need =
            self.cfg.rate.map_or(TOKEN, |l| u64::from((1 + reserve).min(l.burst.max(1))) * TOKEN);
        (self.cfg.max_in_flight - reserve, need)
    }

    /// Recomputes an ESI's entries in `heads` and its token wakeup.
    fn refresh(&mut self, esi: u32, now: u64) {
        let Some(st) = self.esis.get_mut(esi as usize) else { return };
        if let (Some(b), Some(l)) = (st.bucket.as_mut(), self.cfg.rate.as_ref()) {
            b.refill(*l, now);
        }
        let Some(st) = self.esis.get(esi as usize) else { return };
        let mut want: [Option<(u64, u64)>; 3] = [None; 3];
        let mut wake: Option<u64> = None;
        for (c, w) in want.iter_mut().enumerate() {
            let Some(first) = st.ready.get(c).and_then(|s| s.first()) else { continue };
            let (slots, need) = self.limits_for(c);
            let slots_ok = st.in_flight < slots;
            match (st.bucket.as_ref(), self.cfg.rate.as_ref()) {
                _ if !slots_ok => {}
                (Some(b), Some(l)) if !b.has(need) => {
                    // Blocked by tokens only: wake when they are back.
                    if let Some(t) = b.ready_at(*l, need) {
                        wake = Some(wake.map_or(t, |w| w.min(t)));
                    }
                }
                _ => *w = Some(*first),
            }
        }
        let old_indexed = st.indexed;
        let old_wake = st.wake;
        for (c, (old, new)) in old_indexed.iter().zip(want.iter()).enumerate() {
            if old != new {
                if let Some(h) = self.heads.get_mut(c) {
                    if let Some((d, i)) = old {
                        h.remove(&(*d, *i, esi));
                    }
                    if let Some((d, i)) = new {
                        h.insert((*d, *i, esi));
                    }
                }
            }
        }
        if old_wake != wake {
            if let Some(w) = old_wake {
                self.wakeups.remove(&(w, esi));
            }
            if let Some(w) = wake {
                self.wakeups.insert((w, esi));
            }
        }
        if let Some(st) = self.esis.get_mut(esi as usize) {
            st.indexed = want;
            st.wake = wake;
        }
    }

    /// Moves time forward: expires, promotes due retries, wakes rate-limited ESIs.
    fn advance(&mut self, now: u64) {
        self.now = self.now.max(now);
        let now = self.now;
        while let Some(&(deadline, id)) = self.by_deadline.first() {
            if deadline > now {
                break;
            }
            if let Some(e) = self.entries.remove(&id) {
                self.count(e.class, false);
                self.dequeue(id, e, now);
                self.expired.push(DeliveryId(id));
            } else {
                self.by_deadline.remove(&(deadline, id));
            }
        }
        while let Some(&(t, id)) = self.deferred.first() {
            if t > now {
                break;
            }
            self.deferred.remove(&(t, id));
            if let Some(e) = self.entries.get(&id).copied() {
                if let Some(set) = self
                    .esis
                    .get_mut(e.esi as usize)
                    .and_then(|st| st.ready.get_mut(e.class as usize))
                {
                    set.insert((e.deadline, id));
                }
                self.refresh(e.esi, now);
            }
        }
        while let Some(&(t, esi)) = self.wakeups.first() {
            if t > now {
                break;
            }
            self.wakeups.remove(&(t, esi));
            if let Some(st) = self.esis.get_mut(esi as usize) {
                st.wake = None;
            }
            self.refresh(esi, now);
        }
    }

    /// First candidate of a class whose ESI passes `esi_ready`.
    fn pick(&self, class: usize, esi_ready: &impl Fn(&EsiId) -> bool) -> Option<(u64, u64, u32)> {
        self.heads
            .get(class)?
            .iter()
            .copied()
            .find(|&(_, _, esi)| self.esis.get(esi as usize).is_some_and(|st| esi_ready(&st.name)))
    }

    /// The next delivery to send at `now`, if any; it is then in flight until
    /// [`Scheduler::on_result`]. `esi_ready` says which ESIs can take a frame now.
    pub fn next_ready(
        &mut self,
        now: Timestamp,
        esi_ready: impl Fn(&EsiId) -> bool,
    ) -> Option<Dispatch> {
        self.advance(now.0);
        if let Some(k) = self.pick(0, &esi_ready) {
            return self.dispatch(k, 0);
        }
        let m = self.pick(1, &esi_ready);
        let l = self.pick(2, &esi_ready);
        let urgency = u64::try_from(self.cfg.low_urgency.as_millis()).unwrap_or(u64::MAX);
        match (m, l) {
            (Some(m), Some(l)) => {
                let low_urgent = l.0 <= self.now.saturating_add(urgency) && l.0 < m.0;
                if low_urgent || self.medium_streak >= self.cfg.max_medium_streak {
                    self.medium_streak = 0;
                    self.dispatch(l, 2)
                } else {
                    self.medium_streak += 1;
                    self.dispatch(m, 1)
                }
            }
            (Some(m), None) => {
                self.medium_streak = 0;
                self.dispatch(m, 1)
            }
            (None, Some(l)) => {
                self.medium_streak = 0;
                self.dispatch(l, 2)
            }
            (None, None) => None,
        }
    }

    fn dispatch(&mut self, (deadline, id, esi): (u64, u64, u32), class: usize) -> Option<Dispatch> {
        let now = self.now;
        let e = self.entries.get_mut(&id)?;
        e.in_flight = true;
        let attempt = e.retries.saturating_add(1);
        self.by_deadline.remove(&(deadline, id));
        let st = self.esis.get_mut(esi as usize)?;
        if let Some(set) = st.ready.get_mut(class) {
            set.remove(&(deadline, id));
        }
        st.in_flight += 1;
        if let (Some(b), Some(l)) = (st.bucket.as_mut(), self.cfg.rate.as_ref()) {
            // Refill up to now first: the time before this send accrues, not the time after.
            b.refill(*l, now);
            b.take();
        }
        let name = st.name.clone();
        self.in_flight += 1;
        self.refresh(esi, now);
        Some(Dispatch {
            id: DeliveryId(id),
            esi_id: name,
            priority: Priority::from_class(class as u8)?,
            attempt,
        })
    }

    /// Takes one specific queued delivery into flight at `now`, together with one handed out by
    /// [`Scheduler::next_ready`] for the same ESI: the daemon sends all recipients of one request
    /// on one ESI in a single host-link frame (an SE event or price id may be stored only once on
    /// the ESI). Bypasses the in-flight and rate limits (the group is one frame); returns `None`
    /// when the delivery is unknown, in flight, waiting for its retry time, or on another ESI.
    pub fn take_with(&mut self, id: DeliveryId, esi: &EsiId, now: Timestamp) -> Option<Dispatch> {
        self.advance(now.0);
        let e = *self.entries.get(&id.0)?;
        let same_esi = self.esi_ordinals.get(esi).is_some_and(|&o| o == e.esi);
        if e.in_flight || !same_esi || self.deferred.contains(&(e.not_before, id.0)) {
            return None;
        }
        self.dispatch((e.deadline, id.0, e.esi), e.class as usize)
    }

    /// Records the result of a delivery in flight and decides what follows.
    pub fn on_result(
        &mut self,
        id: DeliveryId,
        outcome: Outcome,
        now: Timestamp,
        rng: &mut impl JitterRng,
    ) -> Result<Resolution, SchedulerError> {
        let e = *self.entries.get(&id.0).ok_or(SchedulerError::Unknown(id))?;
        if !e.in_flight {
            return Err(SchedulerError::NotInFlight(id));
        }
        self.now = self.now.max(now.0);
        let now = self.now;
        if let Some(st) = self.esis.get_mut(e.esi as usize) {
            st.in_flight = st.in_flight.saturating_sub(1);
        }
        self.in_flight -= 1;
        let resolution = match outcome {
            Outcome::Delivered | Outcome::Undeliverable => Resolution::Done,
            Outcome::Failed { retryable: false } => Resolution::GaveUp,
            Outcome::Failed { retryable: true } if e.retries + 1 >= self.cfg.max_attempts => {
                Resolution::GaveUp
            }
            Outcome::Failed { retryable: true } => {
                let at = now.saturating_add(self.cfg.backoff.delay_ms(e.retries, rng));
                if at >= e.deadline {
                    Resolution::Expired
                } else {
                    Resolution::Retry { at: Timestamp(at) }
                }
            }
            Outcome::Requeue if e.deadline <= now => Resolution::Expired,
            Outcome::Requeue => Resolution::Requeued,
        };
        match resolution {
            Resolution::Retry { at } => {
                let e2 = Entry { retries: e.retries + 1, not_before: at.0, in_flight: false, ..e };
                self.entries.insert(id.0, e2);
                self.enqueue(id.0, e2, now, true);
            }
            Resolution::Requeued => {
                let e2 = Entry { not_before: e.not_before.min(now), in_flight: false, ..e };
                self.entries.insert(id.0, e2);
                self.enqueue(id.0, e2, now, true);
            }
            _ => {
                self.entries.remove(&id.0);
                self.count(e.class, false);
            }
        }
        // The slot it held is free again (whether or not it went back to the ready set).
        self.refresh(e.esi, now);
        Ok(resolution)
    }

    /// Removes a queued delivery (cancelled, or finished by the store). In-flight ones stay until
    /// their result. `true` if it was queued here.
    pub fn remove(&mut self, id: DeliveryId) -> bool {
        match self.entries.get(&id.0).copied() {
            Some(e) if !e.in_flight => {
                self.entries.remove(&id.0);
                self.count(e.class, false);
                self.dequeue(id.0, e, self.now);
                true
            }
            _ => false,
        }
    }

    /// Queued deliveries whose deadline is `<= now`; they are forgotten here and the caller marks
    /// them `expired` in the store (`Store::expire_due` finds the same ones).
    pub fn expire_due(&mut self, now: Timestamp) -> Vec<DeliveryId> {
        self.advance(now.0);
        std::mem::take(&mut self.expired)
    }

    /// When something changes without a call: the next retry time, token refill or deadline.
    /// A daemon sleeps until then (or until new work / a result arrives).
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        [
            self.deferred.first().map(|k| k.0),
            self.wakeups.first().map(|k| k.0),
            self.by_deadline.first().map(|k| k.0),
        ]
        .into_iter()
        .flatten()
        .min()
        .map(Timestamp)
    }
}
