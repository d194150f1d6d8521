//! The dispatcher task: owns the [`Scheduler`], pulls ready deliveries, sends them to the right
//! coordinator supervisor, and records every outcome in the store before announcing it
//! (design.md §4: `queued → sent → delivered → confirmed`, or `failed` / `undeliverable` /
//! `expired` / `cancelled`, with retries and the last error).
//!
//! It is the only writer of `queued → sent` and of cancellations, so a cancel can never race a
//! send. All recipients of one request on one ESI go out as one host-link request (an SE event
//! or price id is stored once on the ESI); the scheduler hands out the first and
//! [`Scheduler::take_with`] the rest.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::coordinator::{blocking, Batch, CoordHandle, Resolved};
use crate::model::{
    DeliveryId, DeliveryState, EsiId, Eui64, Priority, Request, RequestId, RequestKind, Timestamp,
};
use crate::ops::events::EventBus;
use crate::ops::payload::{message_id_of, Payload};
use crate::scheduler::{Outcome, QueuedDelivery, Resolution, Scheduler, SplitMix64};
use crate::store::{CancelOutcome, Store, StoreError};

/// Capacity of the dispatcher's inbox.
pub(crate) const INBOX: usize = 1024;
/// How long an ESI that answered `BUSY` is left alone.
const COOL_DOWN: Duration = Duration::from_secs(1);
/// How long an ESI whose supervisor handed a batch back unsent is left alone.
const REQUEUE_PAUSE: Duration = Duration::from_millis(250);
/// Requests whose recipients are kept in memory for grouping.
const REQUEST_CACHE: usize = 256;

/// A delivery entering the queue (owned form of [`QueuedDelivery`]).
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    pub id: DeliveryId,
    pub esi: EsiId,
    pub priority: Priority,
    pub deadline: Timestamp,
    pub not_before: Timestamp,
}

/// The dispatcher's inbox.
#[derive(Debug)]
pub(crate) enum DispatchMsg {
    /// Deliveries just committed as `queued`.
    Enqueue(Vec<Queued>),
    /// Cancel a request's queued deliveries.
    Cancel { request: RequestId, reply: oneshot::Sender<Result<CancelOutcome, StoreError>> },
    /// Outcomes of deliveries sent to an ESI.
    Resolved(EsiId, Vec<Resolved>),
    /// A MessageConfirmation from a device.
    Confirmed { esi: EsiId, eui64: Eui64, message_id: u32, at: Timestamp },
    /// An ESI became ready (resynchronised) or went away.
    EsiReady { esi: EsiId, ready: bool },
}

/// A request and its recipients by ESI.
#[derive(Debug)]
struct RequestInfo {
    request: Request,
    by_esi: HashMap<EsiId, Vec<(DeliveryId, Eui64)>>,
}

pub(crate) struct Dispatcher {
    sched: Scheduler,
    store: Arc<Store>,
    coords: HashMap<EsiId, CoordHandle>,
    rx: mpsc::Receiver<DispatchMsg>,
    events: EventBus,
    shutdown: watch::Receiver<bool>,
    rng: SplitMix64,
    ready: HashSet<EsiId>,
    cool: HashMap<EsiId, Instant>,
    cache: HashMap<RequestId, Arc<RequestInfo>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("queued", &self.sched.len())
            .field("in_flight", &self.sched.in_flight())
            .field("ready", &self.ready)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    pub(crate) fn new(
        sched: Scheduler,
        store: Arc<Store>,
        coords: HashMap<EsiId, CoordHandle>,
        rx: mpsc::Receiver<DispatchMsg>,
        events: EventBus,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let seed = Timestamp::now().as_millis();
        Self {
            sched,
            store,
            coords,
            rx,
            events,
            shutdown,
            rng: SplitMix64(seed),
            ready: HashSet::new(),
            cool: HashMap::new(),
            cache: HashMap::new(),
        }
    }

    pub(crate) async fn run(mut self) {
        let span = info_span!("dispatcher");
        async move {
            info!(queued = self.sched.len(), "dispatcher started");
            loop {
                self.expire().await;
                self.dispatch_ready().await;
                if let Some(m) = self.events.metrics() {
                    m.queue(self.sched.len_by_class(), self.sched.in_flight());
                }
                let wake = self.next_wake();
                tokio::select! {
                    msg = self.rx.recv() => match msg {
                        Some(m) => {
                            self.on_msg(m).await;
                            while let Ok(m) = self.rx.try_recv() {
                                self.on_msg(m).await;
                            }
                        }
                        None => break,
                    },
                    () = tokio::time::sleep_until(wake) => {}
                    r = self.shutdown.changed() => if r.is_err() || *self.shutdown.borrow() {
                        break;
                    },
                }
            }
            info!("dispatcher stopped");
        }
        .instrument(span)
        .await;
    }

    fn next_wake(&self) -> Instant {
        let now_ts = Timestamp::now();
        let now = Instant::now();
        let sched = self.sched.next_wakeup().map(|t| now + t.saturating_since(now_ts));
        let cool = self.cool.values().min().copied();
        [sched, cool].into_iter().flatten().min().unwrap_or(now + Duration::from_secs(60)).max(now)
    }

    fn esi_ready(&self, esi: &EsiId, now: Instant) -> bool {
        self.ready.contains(esi)
            && self.cool.get(esi).is_none_or(|t| *t <= now)
            && self.coords.get(esi).is_some_and(CoordHandle::has_room)
    }

    async fn on_msg(&mut self, m: DispatchMsg) {
        match m {
            DispatchMsg::Enqueue(list) => {
                let now = Timestamp::now();
                for q in list {
                    self.sched.insert(
                        QueuedDelivery {
                            id: q.id,
                            esi_id: &q.esi,
                            priority: q.priority,
                            deadline: q.deadline,
                            not_before: q.not_before,
                            retries: 0,
                        },
                        now,
                    );
                }
            }
            DispatchMsg::Cancel { request, reply } => {
                let store = self.store.clone();
                let r = blocking(move || store.cancel(request, Timestamp::now())).await;
                if let Ok(out) = &r {
                    for id in &out.cancelled {
                        self.sched.remove(*id);
                        self.announce(*id).await;
                    }
                }
                let _ = reply.send(r);
            }
            DispatchMsg::Resolved(esi, list) => {
                for r in list {
                    // Handed back unsent: leave the ESI alone briefly, so a supervisor that is
                    // not ready yet (its readiness message still on its way) is not hammered.
                    let pause = if r.cool_down {
                        Some(COOL_DOWN)
                    } else {
                        (r.outcome == Outcome::Requeue).then_some(REQUEUE_PAUSE)
                    };
                    if let Some(p) = pause {
                        self.cool.insert(esi.clone(), Instant::now() + p);
                    }
                    self.on_resolved(r).await;
                }
            }
            DispatchMsg::Confirmed { esi, eui64, message_id, at } => {
                self.on_confirmed(&esi, eui64, message_id, at).await;
            }
            DispatchMsg::EsiReady { esi, ready } => {
                debug!(esi = %esi, ready, "ESI readiness");
                if ready {
                    self.ready.insert(esi);
                } else {
                    self.ready.remove(&esi);
                }
            }
        }
        let now = Instant::now();
        self.cool.retain(|_, t| *t > now);
    }

    /// Publishes a delivery's current state from the store.
    async fn announce(&self, id: DeliveryId) {
        let store = self.store.clone();
        match blocking(move || store.delivery(id)).await {
            Ok(Some(d)) => {
                if d.state.is_final() {
                    info!(request = d.request_id.0, delivery = d.id.0, esi = %d.esi_id, eui64 = %d.eui64,
                        state = d.state.as_str(), retries = d.retries, error = d.last_error.as_deref().unwrap_or(""),
                        "delivery outcome");
                } else {
                    debug!(
                        request = d.request_id.0,
                        delivery = d.id.0,
                        state = d.state.as_str(),
                        "delivery state"
                    );
                }
                self.events.delivery(&d);
            }
            Ok(None) => {}
            Err(e) => warn!(delivery = id.0, error = %e, "cannot read delivery"),
        }
    }

    async fn expire(&mut self) {
        let now = Timestamp::now();
        if self.sched.expire_due(now).is_empty() {
            return;
        }
        let store = self.store.clone();
        match blocking(move || store.expire_due(now, 100_000)).await {
            Ok(ids) => {
                for id in ids {
                    info!(delivery = id.0, "expired before it could be sent");
                    self.announce(id).await;
                }
            }
            Err(e) => warn!(error = %e, "cannot expire deliveries"),
        }
    }

    async fn request_info(&mut self, id: RequestId) -> Result<Arc<RequestInfo>, StoreError> {
        if let Some(r) = self.cache.get(&id) {
            return Ok(r.clone());
        }
        let store = self.store.clone();
        let info = blocking(move || {
            let request = store.request(id)?.ok_or(StoreError::UnknownRequest(id))?;
            let mut by_esi: HashMap<EsiId, Vec<(DeliveryId, Eui64)>> = HashMap::new();
            for d in store.deliveries_of(id)? {
                by_esi.entry(d.esi_id).or_default().push((d.id, d.eui64));
            }
            Ok(RequestInfo { request, by_esi })
        })
        .await?;
        if self.cache.len() >= REQUEST_CACHE {
            self.cache.clear();
        }
        let info = Arc::new(info);
        self.cache.insert(id, info.clone());
        Ok(info)
    }

    async fn dispatch_ready(&mut self) {
        loop {
            let now = Timestamp::now();
            let inst = Instant::now();
            let ok: HashSet<EsiId> =
                self.ready.iter().filter(|e| self.esi_ready(e, inst)).cloned().collect();
            if ok.is_empty() {
                break;
            }
            let Some(d) = self.sched.next_ready(now, |e| ok.contains(e)) else { break };
            self.send(d.id, &d.esi_id, d.attempt, now).await;
        }
    }

    /// Sends one delivery and its companions (same request, same ESI).
    async fn send(&mut self, id: DeliveryId, esi: &EsiId, attempt: u32, now: Timestamp) {
        let store = self.store.clone();
        let rec = match blocking(move || store.delivery(id)).await {
            Ok(Some(d)) if d.state == DeliveryState::Queued => d,
            other => {
                // Finished in the store meanwhile (or unreadable): forget it here.
                debug!(
                    delivery = id.0,
                    ?other,
                    "not queued in the store; dropped from the scheduler"
                );
                let _ = self.sched.on_result(id, Outcome::Undeliverable, now, &mut self.rng);
                return;
            }
        };
        let info = match self.request_info(rec.request_id).await {
            Ok(i) => i,
            Err(e) => {
                warn!(delivery = id.0, error = %e, "request unreadable");
                let reason = "the stored request could not be read".to_owned();
                let r = Resolved::new(id, Outcome::Failed { retryable: false }, Some(reason));
                self.on_resolved(r).await;
                return;
            }
        };
        let span = info_span!("deliver", request = info.request.id.0, esi = %esi,
            corr = info.request.body.transaction.as_deref().unwrap_or(""));
        let mut members = vec![(id, rec.eui64)];
        let mut resend = attempt > 1;
        for &(other, eui) in info.by_esi.get(esi).map(Vec::as_slice).unwrap_or_default() {
            if other != id {
                if let Some(d) = self.sched.take_with(other, esi, now) {
                    resend |= d.attempt > 1;
                    members.push((other, eui));
                }
            }
        }
        // queued → sent, committed before the frame goes out; a member the store no longer
        // has queued (cancelled) is left out.
        let store = self.store.clone();
        let ids: Vec<DeliveryId> = members.iter().map(|m| m.0).collect();
        let marks = blocking(move || {
            Ok(ids.iter().map(|&i| (i, store.mark_sent(i, now))).collect::<Vec<_>>())
        })
        .await;
        let marks = marks.unwrap_or_default();
        let mut sent = Vec::new();
        for (m, (i, r)) in members.into_iter().zip(marks) {
            debug_assert_eq!(m.0, i);
            match r {
                Ok(()) => sent.push(m),
                Err(e) => {
                    debug!(delivery = i.0, error = %e, "not sent");
                    let _ = self.sched.on_result(i, Outcome::Undeliverable, now, &mut self.rng);
                }
            }
        }
        if sent.is_empty() {
            return;
        }
        for (i, _) in &sent {
            self.announce(*i).await;
        }
        let payload = Payload::decode(&info.request.body.payload)
            .and_then(|p| p.command(info.request.id).map(|c| (p.kind(), c)));
        let (kind, command) = match payload {
            Ok(x) => x,
            Err(e) => {
                warn!(parent: &span, error = %e, "request cannot be sent");
                for (i, _) in sent {
                    self.on_resolved(Resolved::new(
                        i,
                        Outcome::Failed { retryable: false },
                        Some(e.clone()),
                    ))
                    .await;
                }
                return;
            }
        };
        info!(parent: &span, members = sent.len(), attempt, "sending");
        let batch = Batch { request_id: info.request.id, kind, members: sent, command, resend };
        let handed = match self.coords.get(esi) {
            Some(h) => h.try_deliver(batch),
            None => Err(Box::new(batch)),
        };
        if let Err(batch) = handed {
            for (i, _) in batch.members {
                let why = "no coordinator took it; queued again".to_owned();
                self.on_resolved(Resolved::new(i, Outcome::Requeue, Some(why))).await;
            }
        }
    }

    /// Records an outcome: scheduler decision, store transition, event.
    async fn on_resolved(&mut self, r: Resolved) {
        let now = Timestamp::now();
        let id = r.id;
        let resolution = match self.sched.on_result(id, r.outcome, now, &mut self.rng) {
            Ok(x) => x,
            Err(e) => {
                debug!(delivery = id.0, ?e, "outcome for a delivery not in flight");
                return;
            }
        };
        let reason = r.reason.unwrap_or_else(|| "failed".into());
        let outcome = r.outcome;
        let store = self.store.clone();
        let res = blocking(move || match (resolution, outcome) {
            (Resolution::Done, Outcome::Delivered) => store.mark_delivered(id, now),
            (Resolution::Done, _) => store.mark_undeliverable(id, now, reason),
            (Resolution::Retry { at }, _) => {
                store.mark_failed(id, now, reason, Some(at)).map(|_| ())
            }
            (Resolution::GaveUp, _) => store.mark_failed(id, now, reason, None).map(|_| ()),
            (Resolution::Expired, _) => {
                store.mark_failed(id, now, reason, Some(Timestamp(u64::MAX))).map(|_| ())
            }
            (Resolution::Requeued, _) => store.requeue(id, now),
        })
        .await;
        match res {
            Ok(()) => {}
            // Confirmed (or cancelled) meanwhile: the store keeps the later state.
            Err(e @ StoreError::InvalidTransition { .. }) => {
                debug!(delivery = id.0, error = %e, "outcome superseded");
            }
            Err(e) => warn!(delivery = id.0, error = %e, "cannot record outcome"),
        }
        self.announce(id).await;
    }

    async fn on_confirmed(&mut self, esi: &EsiId, eui64: Eui64, message_id: u32, at: Timestamp) {
        let store = self.store.clone();
        let esi2 = esi.clone();
        let r = blocking(move || {
            let rid = RequestId(u64::from(message_id));
            let Some(req) = store.request(rid)? else { return Ok(None) };
            if req.body.kind != RequestKind::Message || message_id_of(rid) != message_id {
                return Ok(None);
            }
            let d = store
                .deliveries_of(rid)?
                .into_iter()
                .find(|d| d.esi_id == esi2 && d.eui64 == eui64);
            let Some(d) = d else { return Ok(None) };
            store.mark_confirmed(d.id, at)?;
            Ok(Some(d.id))
        })
        .await;
        match r {
            Ok(Some(id)) => {
                info!(delivery = id.0, message_id, "confirmed");
                self.announce(id).await;
            }
            Ok(None) => debug!(message_id, eui64 = %eui64, "confirmation for no known delivery"),
            Err(e) => warn!(message_id, error = %e, "cannot record confirmation"),
        }
    }
}
