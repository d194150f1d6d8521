//! The write operations, each applied inside the writer's current batch transaction.
//!
//! Rule that makes batching safe: an operation first reads and checks everything it needs and
//! only then writes, so an operation that fails with a *logic* error (unknown id, transition not
//! allowed) has written nothing and the rest of the batch commits. A *storage* error aborts the
//! whole batch and every submitter in it gets the error.

use std::collections::HashMap;

use redb::{ReadableTable, Table, WriteTransaction};

use super::tables::{
    decode, encode, meta_key, DeliveryRecord, DELIVERIES, DEVICES, DISPATCH, ESIS, ESI_BY_NAME,
    ESI_DELIVERIES, GROUPS, IN_FLIGHT, KV, META, REQUESTS, TRANSACTIONS,
};
use super::{CancelOutcome, StoreError};
use crate::model::{
    Accepted, DeliveryId, DeliveryState, DeviceRecord, EsiId, EsiRecord, Eui64, Group, NewDelivery,
    NewRequest, Priority, Request, RequestId, Timestamp,
};

type Res<T> = Result<T, StoreError>;

/// Counters and the ESI interning map, owned by the writer thread and persisted in `meta`.
#[derive(Debug, Default)]
pub(crate) struct WriterState {
    pub next_request: u64,
    pub next_delivery: u64,
    pub next_esi: u32,
    pub esi_ordinals: HashMap<EsiId, u32>,
    /// ESIs interned in the current batch (published to readers after the commit).
    pub new_esis: Vec<(u32, EsiId)>,
}

impl WriterState {
    /// Reads counters and the ESI map from the file.
    pub fn load(txn: &WriteTransaction) -> Res<Self> {
        let meta = txn.open_table(META)?;
        let get = |k: &str| -> Res<u64> { Ok(meta.get(k)?.map_or(0, |g| g.value())) };
        let mut st = WriterState {
            next_request: get(meta_key::NEXT_REQUEST)?.max(1),
            next_delivery: get(meta_key::NEXT_DELIVERY)?.max(1),
            next_esi: u32::try_from(get(meta_key::NEXT_ESI)?)
                .map_err(|_| StoreError::Corrupt("esi ordinal counter".into()))?,
            ..WriterState::default()
        };
        let names = txn.open_table(ESI_BY_NAME)?;
        for row in names.iter()? {
            let (k, v) = row?;
            st.esi_ordinals.insert(EsiId::new(k.value()), v.value());
        }
        Ok(st)
    }
}

/// The open tables of one write transaction plus the writer's state.
pub(crate) struct Txn<'t> {
    pub st: &'t mut WriterState,
    meta: Table<'t, &'static str, u64>,
    requests: Table<'t, u64, &'static [u8]>,
    deliveries: Table<'t, u64, &'static [u8]>,
    dispatch: Table<'t, (u8, u64, u64), (u32, u64, u32)>,
    in_flight: Table<'t, u64, ()>,
    esi_deliveries: Table<'t, (u32, u64), ()>,
    esi_by_name: Table<'t, &'static str, u32>,
    esis: Table<'t, u32, &'static [u8]>,
    devices: Table<'t, (u32, u64), &'static [u8]>,
    groups: Table<'t, &'static str, &'static [u8]>,
    transactions: Table<'t, (&'static str, &'static str), u64>,
    kv: Table<'t, (&'static str, &'static str), &'static [u8]>,
}

impl<'t> Txn<'t> {
    pub fn open(txn: &'t WriteTransaction, st: &'t mut WriterState) -> Res<Self> {
        Ok(Self {
            st,
            meta: txn.open_table(META)?,
            requests: txn.open_table(REQUESTS)?,
            deliveries: txn.open_table(DELIVERIES)?,
            dispatch: txn.open_table(DISPATCH)?,
            in_flight: txn.open_table(IN_FLIGHT)?,
            esi_deliveries: txn.open_table(ESI_DELIVERIES)?,
            esi_by_name: txn.open_table(ESI_BY_NAME)?,
            esis: txn.open_table(ESIS)?,
            devices: txn.open_table(DEVICES)?,
            groups: txn.open_table(GROUPS)?,
            transactions: txn.open_table(TRANSACTIONS)?,
            kv: txn.open_table(KV)?,
        })
    }

    /// Writes the counters; called once per batch, before the commit.
    pub fn save_counters(&mut self) -> Res<()> {
        self.meta.insert(meta_key::NEXT_REQUEST, self.st.next_request)?;
        self.meta.insert(meta_key::NEXT_DELIVERY, self.st.next_delivery)?;
        self.meta.insert(meta_key::NEXT_ESI, u64::from(self.st.next_esi))?;
        Ok(())
    }

    /// The ordinal of an ESI, interning it if new.
    fn intern(&mut self, esi: &EsiId) -> Res<u32> {
        if let Some(&o) = self.st.esi_ordinals.get(esi) {
            return Ok(o);
        }
        let o = self.st.next_esi;
        self.st.next_esi =
            o.checked_add(1).ok_or_else(|| StoreError::Corrupt("esi ordinals exhausted".into()))?;
        let rec = EsiRecord { esi_id: esi.clone(), meter_number: None, slot_capacity: None };
        self.esis.insert(o, encode(&rec)?.as_slice())?;
        self.esi_by_name.insert(esi.as_str(), o)?;
        self.st.esi_ordinals.insert(esi.clone(), o);
        self.st.new_esis.push((o, esi.clone()));
        Ok(o)
    }

    fn load(&self, id: DeliveryId) -> Res<DeliveryRecord> {
        let g = self.deliveries.get(id.0)?.ok_or(StoreError::UnknownDelivery(id))?;
        decode("delivery", g.value())
    }

    /// Loads a delivery that an index says exists: a miss means the file is inconsistent, which
    /// is fatal for the batch (never a half-applied logic error).
    fn load_indexed(&self, id: DeliveryId) -> Res<DeliveryRecord> {
        self.load(id).map_err(|e| match e {
            StoreError::UnknownDelivery(id) => StoreError::Corrupt(format!("index names {id:?}")),
            e => e,
        })
    }

    fn save(&mut self, id: DeliveryId, rec: &DeliveryRecord) -> Res<()> {
        self.deliveries.insert(id.0, encode(rec)?.as_slice())?;
        Ok(())
    }

    /// Records a request and its deliveries: `queued` ones enter the dispatch index.
    pub fn accept(&mut self, req: NewRequest, deliveries: Vec<NewDelivery>) -> Res<Accepted> {
        if deliveries.is_empty() {
            return Err(StoreError::NoDeliveries);
        }
        let count = u32::try_from(deliveries.len()).map_err(|_| StoreError::TooManyDeliveries)?;
        let id = RequestId(self.st.next_request);
        let first = self.st.next_delivery;
        let record =
            Request { id, body: req, first_delivery: DeliveryId(first), delivery_count: count };
        self.requests.insert(id.0, encode(&record)?.as_slice())?;
        if let Some(t) = &record.body.transaction {
            self.transactions.insert((record.body.party.0.as_str(), t.as_str()), id.0)?;
        }
        self.st.next_request += 1;
        self.st.next_delivery += u64::from(count);
        let body = &record.body;
        let mut out = Vec::with_capacity(deliveries.len());
        for (i, d) in (first..).zip(deliveries) {
            let did = DeliveryId(i);
            let esi = self.intern(&d.esi_id)?;
            let (state, last_error) = match d.undeliverable {
                Some(reason) => (DeliveryState::Undeliverable, Some(reason)),
                None => (DeliveryState::Queued, None),
            };
            let rec = DeliveryRecord {
                request_id: id,
                esi,
                eui64: d.eui64.0,
                priority: body.priority,
                state,
                retries: 0,
                deadline: body.deadline,
                not_before: body.accepted_at,
                sent_at: None,
                updated_at: body.accepted_at,
                last_error,
            };
            self.save(did, &rec)?;
            self.esi_deliveries.insert((esi, i), ())?;
            if state == DeliveryState::Queued {
                self.dispatch.insert(rec.dispatch_key(did), rec.dispatch_value())?;
            }
            out.push((did, state));
        }
        Ok(Accepted { request_id: id, deliveries: out })
    }

    fn transition_err(id: DeliveryId, from: DeliveryState, to: DeliveryState) -> StoreError {
        StoreError::InvalidTransition { id, from, to }
    }

    /// `queued → sent`.
    pub fn mark_sent(&mut self, id: DeliveryId, at: Timestamp) -> Res<()> {
        let mut rec = self.load(id)?;
        if rec.state != DeliveryState::Queued {
            return Err(Self::transition_err(id, rec.state, DeliveryState::Sent));
        }
        self.dispatch.remove(rec.dispatch_key(id))?;
        self.in_flight.insert(id.0, ())?;
        rec.state = DeliveryState::Sent;
        rec.sent_at = Some(at);
        rec.updated_at = at;
        self.save(id, &rec)
    }

    /// `sent → delivered`, or `sent/delivered → confirmed` when `confirmed`.
    pub fn mark_delivered(&mut self, id: DeliveryId, at: Timestamp, confirmed: bool) -> Res<()> {
        let mut rec = self.load(id)?;
        let to = if confirmed { DeliveryState::Confirmed } else { DeliveryState::Delivered };
        let ok = rec.state == DeliveryState::Sent
            || (confirmed && rec.state == DeliveryState::Delivered);
        if !ok {
            return Err(Self::transition_err(id, rec.state, to));
        }
        if rec.state == DeliveryState::Sent {
            self.in_flight.remove(id.0)?;
        }
        rec.state = to;
        rec.updated_at = at;
        self.save(id, &rec)
    }

    /// `sent → queued` (retry at `retry_at`, counted), `sent → expired` (retry would pass the
    /// deadline) or `sent → failed` (`retry_at` is `None`). Returns the new state.
    pub fn mark_failed(
        &mut self,
        id: DeliveryId,
        at: Timestamp,
        error: String,
        retry_at: Option<Timestamp>,
    ) -> Res<DeliveryState> {
        let mut rec = self.load(id)?;
        if rec.state != DeliveryState::Sent {
            return Err(Self::transition_err(id, rec.state, DeliveryState::Failed));
        }
        self.in_flight.remove(id.0)?;
        rec.last_error = Some(error);
        rec.updated_at = at;
        rec.state = match retry_at {
            Some(t) if t < rec.deadline => {
                rec.retries = rec.retries.saturating_add(1);
                rec.not_before = t;
                self.dispatch.insert(rec.dispatch_key(id), rec.dispatch_value())?;
                DeliveryState::Queued
            }
            Some(_) => DeliveryState::Expired,
            None => DeliveryState::Failed,
        };
        let state = rec.state;
        self.save(id, &rec)?;
        Ok(state)
    }

    /// `sent → queued` without counting a retry (the link to the coordinator dropped before a
    /// result; the frame may or may not have gone out).
    pub fn requeue(&mut self, id: DeliveryId, at: Timestamp) -> Res<()> {
        let mut rec = self.load(id)?;
        if rec.state != DeliveryState::Sent {
            return Err(Self::transition_err(id, rec.state, DeliveryState::Queued));
        }
        self.requeue_rec(id, &mut rec, at)
    }

    fn requeue_rec(&mut self, id: DeliveryId, rec: &mut DeliveryRecord, at: Timestamp) -> Res<()> {
        self.in_flight.remove(id.0)?;
        rec.state = DeliveryState::Queued;
        rec.not_before = rec.not_before.min(at);
        rec.updated_at = at;
        self.dispatch.insert(rec.dispatch_key(id), rec.dispatch_value())?;
        self.save(id, rec)
    }

    /// `queued/sent → undeliverable` (the ESI reports the device unknown or unpaired).
    pub fn mark_undeliverable(&mut self, id: DeliveryId, at: Timestamp, error: String) -> Res<()> {
        let mut rec = self.load(id)?;
        match rec.state {
            DeliveryState::Queued => {
                self.dispatch.remove(rec.dispatch_key(id))?;
            }
            DeliveryState::Sent => {
                self.in_flight.remove(id.0)?;
            }
            s => return Err(Self::transition_err(id, s, DeliveryState::Undeliverable)),
        }
        rec.state = DeliveryState::Undeliverable;
        rec.last_error = Some(error);
        rec.updated_at = at;
        self.save(id, &rec)
    }

    /// Every `queued` delivery whose deadline is `<= now` → `expired`, at most `limit` of them,
    /// earliest deadlines first within each class.
    pub fn expire_due(&mut self, now: Timestamp, limit: usize) -> Res<Vec<DeliveryId>> {
        let mut keys = Vec::new();
        for p in Priority::ALL {
            let c = p.class();
            let range = self.dispatch.range((c, 0, 0)..=(c, now.0, u64::MAX))?;
            for row in range.take(limit.saturating_sub(keys.len())) {
                keys.push(row?.0.value());
            }
        }
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let id = DeliveryId(key.2);
            let mut rec = self.load_indexed(id)?;
            self.dispatch.remove(key)?;
            rec.state = DeliveryState::Expired;
            rec.updated_at = now;
            self.save(id, &rec)?;
            out.push(id);
        }
        Ok(out)
    }

    /// Cancels the request's deliveries that are still `queued`; those already `sent` are left
    /// to finish (a cancel of what a device already shows is a separate request, e.g. SE
    /// CancelMessage).
    pub fn cancel(&mut self, request: RequestId, at: Timestamp) -> Res<CancelOutcome> {
        let g = self.requests.get(request.0)?.ok_or(StoreError::UnknownRequest(request))?;
        let req: Request = decode("request", g.value())?;
        drop(g);
        let mut out = CancelOutcome::default();
        for id in req.delivery_ids() {
            let mut rec = self.load_indexed(id)?;
            match rec.state {
                DeliveryState::Queued => {
                    self.dispatch.remove(rec.dispatch_key(id))?;
                    rec.state = DeliveryState::Cancelled;
                    rec.updated_at = at;
                    self.save(id, &rec)?;
                    out.cancelled.push(id);
                }
                DeliveryState::Sent => out.in_flight.push(id),
                _ => out.already_final += 1,
            }
        }
        Ok(out)
    }

    /// Moves every `sent` delivery back to `queued` (recovery at open). Returns how many.
    pub fn recover_in_flight(&mut self, now: Timestamp) -> Res<u64> {
        let ids: Vec<u64> =
            self.in_flight.iter()?.map(|r| r.map(|(k, _)| k.value())).collect::<Result<_, _>>()?;
        for &i in &ids {
            let id = DeliveryId(i);
            let mut rec = self.load_indexed(id)?;
            self.requeue_rec(id, &mut rec, now)?;
        }
        Ok(ids.len() as u64)
    }

    /// Inserts or replaces an ESI's record.
    pub fn put_esi(&mut self, rec: &EsiRecord) -> Res<()> {
        let o = self.intern(&rec.esi_id)?;
        self.esis.insert(o, encode(rec)?.as_slice())?;
        Ok(())
    }

    /// Inserts or replaces a device.
    pub fn put_device(&mut self, rec: &DeviceRecord) -> Res<()> {
        let o = self.intern(&rec.esi_id)?;
        self.devices.insert((o, rec.eui64.0), encode(rec)?.as_slice())?;
        Ok(())
    }

    /// Removes a device; returns what was stored.
    pub fn remove_device(&mut self, esi: &EsiId, eui64: Eui64) -> Res<Option<DeviceRecord>> {
        let Some(&o) = self.st.esi_ordinals.get(esi) else { return Ok(None) };
        let old = self.devices.remove((o, eui64.0))?;
        old.map(|g| decode("device", g.value())).transpose()
    }

    /// Inserts or replaces a group.
    pub fn put_group(&mut self, g: &Group) -> Res<()> {
        self.groups.insert(g.name.as_str(), encode(g)?.as_slice())?;
        Ok(())
    }

    /// Deletes a group; `true` if it existed.
    pub fn delete_group(&mut self, name: &str) -> Res<bool> {
        Ok(self.groups.remove(name)?.is_some())
    }

    /// Writes (`Some`) or deletes (`None`) keys of the `kv` table.
    pub fn kv_write(&mut self, items: &[super::KvItem]) -> Res<()> {
        for (ns, key, value) in items {
            match value {
                Some(v) => {
                    self.kv.insert((ns.as_str(), key.as_str()), v.as_slice())?;
                }
                None => {
                    self.kv.remove((ns.as_str(), key.as_str()))?;
                }
            }
        }
        Ok(())
    }
}
