//! The write operations, each applied inside the writer's current batch transaction.
//!
//! Rule that makes batching safe: an operation first reads and checks everything it needs and
//! only then writes, so an operation that fails with a *logic* error (unknown id, transition not
//! allowed) has written nothing and the rest of the batch commits. A *storage* error aborts the
//! whole batch and every submitter in it gets the error.

use std::collections::HashMap;

use redb::{ReadableTable, Table, WriteTransaction};

use super::tables::{
    decode, encode, meta_key, tx_hash, DeliveryRecord, InlineDelivery, SingleRecord, SingleRef,
    DELIVERIES, DEVICES, DISPATCH, ESIS, ESI_BY_NAME, GROUPS, IN_FLIGHT, KV, META, REQUESTS,
    SINGLES, TX_INDEX,
};
use super::{CancelOutcome, StoreError};
use crate::model::{
    Accepted, DeliveryId, DeliveryState, DeviceRecord, EsiId, EsiRecord, Eui64, Group, NewDelivery,
    NewRequest, Priority, Request, RequestId, Timestamp,
};

type Res<T> = Result<T, StoreError>;

/// Where a delivery record lives: its own `deliveries` row, or inline in the `singles` row of
/// its one-recipient request (whose body is kept to write the row back).
pub(crate) enum Loc {
    Table,
    Single(NewRequest),
}

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
    singles: Table<'t, u64, &'static [u8]>,
    dispatch: Table<'t, (u8, u64, u64), (u32, u64, u32)>,
    in_flight: Table<'t, u64, ()>,
    esi_by_name: Table<'t, &'static str, u32>,
    esis: Table<'t, u32, &'static [u8]>,
    devices: Table<'t, (u32, u64), &'static [u8]>,
    groups: Table<'t, &'static str, &'static [u8]>,
    tx_index: Table<'t, (u64, u64), ()>,
    kv: Table<'t, (&'static str, &'static str), &'static [u8]>,
}

impl<'t> Txn<'t> {
    pub fn open(txn: &'t WriteTransaction, st: &'t mut WriterState) -> Res<Self> {
        Ok(Self {
            st,
            meta: txn.open_table(META)?,
            requests: txn.open_table(REQUESTS)?,
            deliveries: txn.open_table(DELIVERIES)?,
            singles: txn.open_table(SINGLES)?,
            dispatch: txn.open_table(DISPATCH)?,
            in_flight: txn.open_table(IN_FLIGHT)?,
            esi_by_name: txn.open_table(ESI_BY_NAME)?,
            esis: txn.open_table(ESIS)?,
            devices: txn.open_table(DEVICES)?,
            groups: txn.open_table(GROUPS)?,
            tx_index: txn.open_table(TX_INDEX)?,
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

    fn load(&self, id: DeliveryId) -> Res<(Loc, DeliveryRecord)> {
        if let Some(g) = self.deliveries.get(id.0)? {
            return Ok((Loc::Table, decode("delivery", g.value())?));
        }
        let g = self.singles.get(id.0)?.ok_or(StoreError::UnknownDelivery(id))?;
        let single: SingleRecord = decode("single", g.value())?;
        let rec = single.delivery_record(id.0);
        Ok((Loc::Single(single.body), rec))
    }

    /// Loads a delivery that an index says exists: a miss means the file is inconsistent, which
    /// is fatal for the batch (never a half-applied logic error).
    fn load_indexed(&self, id: DeliveryId) -> Res<(Loc, DeliveryRecord)> {
        self.load(id).map_err(|e| match e {
            StoreError::UnknownDelivery(id) => StoreError::Corrupt(format!("index names {id:?}")),
            e => e,
        })
    }

    fn save(&mut self, id: DeliveryId, loc: &Loc, rec: &DeliveryRecord) -> Res<()> {
        match loc {
            Loc::Table => self.deliveries.insert(id.0, encode(rec)?.as_slice())?,
            Loc::Single(body) => {
                let delivery = InlineDelivery::from_record(rec, body);
                self.singles.insert(id.0, encode(&SingleRef { body, delivery })?.as_slice())?
            }
        };
        Ok(())
    }

    /// A request's record, from `singles` or `requests`.
    fn load_request(&self, id: RequestId) -> Res<Request> {
        if let Some(g) = self.singles.get(id.0)? {
            return Ok(decode::<SingleRecord>("single", g.value())?.into_request(id.0));
        }
        let g = self.requests.get(id.0)?.ok_or(StoreError::UnknownRequest(id))?;
        decode("request", g.value())
    }

    /// Records a request and its deliveries: `queued` ones enter the dispatch index.
    pub fn accept(&mut self, req: NewRequest, deliveries: Vec<NewDelivery>) -> Res<Accepted> {
        if deliveries.is_empty() {
            return Err(StoreError::NoDeliveries);
        }
        let count = u32::try_from(deliveries.len()).map_err(|_| StoreError::TooManyDeliveries)?;
        // A request's id is its first delivery's id (schema 2), so a one-recipient request and
        // its delivery share one `singles` row. `next_request` only keeps ids above those of
        // schema 1 files (the migration aligned both counters).
        let first = self.st.next_delivery.max(self.st.next_request);
        let id = RequestId(first);
        let next = first
            .checked_add(u64::from(count))
            .ok_or_else(|| StoreError::Corrupt("delivery ids exhausted".into()))?;
        if let Some(t) = &req.transaction {
            self.tx_index.insert((tx_hash(&req.party.0, t), id.0), ())?;
        }
        self.st.next_request = next;
        self.st.next_delivery = next;
        let single = deliveries.len() == 1;
        let mut out = Vec::with_capacity(deliveries.len());
        let mut body_loc = None;
        let record = if single {
            body_loc = Some(Loc::Single(req));
            None
        } else {
            let record =
                Request { id, body: req, first_delivery: DeliveryId(first), delivery_count: count };
            self.requests.insert(id.0, encode(&record)?.as_slice())?;
            Some(record)
        };
        let body = match (&record, &body_loc) {
            (Some(r), _) => &r.body,
            (None, Some(Loc::Single(b))) => b,
            _ => return Err(StoreError::Corrupt("accept: no request body".into())),
        };
        let mut writes = Vec::with_capacity(deliveries.len());
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
            if state == DeliveryState::Queued {
                self.dispatch.insert(rec.dispatch_key(did), rec.dispatch_value())?;
            }
            out.push((did, state));
            writes.push((did, rec));
        }
        let loc = body_loc.unwrap_or(Loc::Table);
        for (did, rec) in &writes {
            self.save(*did, &loc, rec)?;
        }
        Ok(Accepted { request_id: id, deliveries: out })
    }

    fn transition_err(id: DeliveryId, from: DeliveryState, to: DeliveryState) -> StoreError {
        StoreError::InvalidTransition { id, from, to }
    }

    /// `queued → sent`.
    pub fn mark_sent(&mut self, id: DeliveryId, at: Timestamp) -> Res<()> {
        let (loc, mut rec) = self.load(id)?;
        if rec.state != DeliveryState::Queued {
            return Err(Self::transition_err(id, rec.state, DeliveryState::Sent));
        }
        self.dispatch.remove(rec.dispatch_key(id))?;
        self.in_flight.insert(id.0, ())?;
        rec.state = DeliveryState::Sent;
        rec.sent_at = Some(at);
        rec.updated_at = at;
        self.save(id, &loc, &rec)
    }

    /// `sent → delivered`, or `sent/delivered → confirmed` when `confirmed`.
    pub fn mark_delivered(&mut self, id: DeliveryId, at: Timestamp, confirmed: bool) -> Res<()> {
        let (loc, mut rec) = self.load(id)?;
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
        self.save(id, &loc, &rec)
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
        let (loc, mut rec) = self.load(id)?;
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
        self.save(id, &loc, &rec)?;
        Ok(state)
    }

    /// `sent → queued` without counting a retry (the link to the coordinator dropped before a
    /// result; the frame may or may not have gone out).
    pub fn requeue(&mut self, id: DeliveryId, at: Timestamp) -> Res<()> {
        let (loc, mut rec) = self.load(id)?;
        if rec.state != DeliveryState::Sent {
            return Err(Self::transition_err(id, rec.state, DeliveryState::Queued));
        }
        self.requeue_rec(id, &loc, &mut rec, at)
    }

    fn requeue_rec(
        &mut self,
        id: DeliveryId,
        loc: &Loc,
        rec: &mut DeliveryRecord,
        at: Timestamp,
    ) -> Res<()> {
        self.in_flight.remove(id.0)?;
        rec.state = DeliveryState::Queued;
        rec.not_before = rec.not_before.min(at);
        rec.updated_at = at;
        self.dispatch.insert(rec.dispatch_key(id), rec.dispatch_value())?;
        self.save(id, loc, rec)
    }

    /// `queued/sent → undeliverable` (the ESI reports the device unknown or unpaired).
    pub fn mark_undeliverable(&mut self, id: DeliveryId, at: Timestamp, error: String) -> Res<()> {
        let (loc, mut rec) = self.load(id)?;
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
        self.save(id, &loc, &rec)
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
            let (loc, mut rec) = self.load_indexed(id)?;
            self.dispatch.remove(key)?;
            rec.state = DeliveryState::Expired;
            rec.updated_at = now;
            self.save(id, &loc, &rec)?;
            out.push(id);
        }
        Ok(out)
    }

    /// Cancels the request's deliveries that are still `queued`; those already `sent` are left
    /// to finish (a cancel of what a device already shows is a separate request, e.g. SE
    /// CancelMessage).
    pub fn cancel(&mut self, request: RequestId, at: Timestamp) -> Res<CancelOutcome> {
        let req = self.load_request(request)?;
        let mut out = CancelOutcome::default();
        for id in req.delivery_ids() {
            let (loc, mut rec) = self.load_indexed(id)?;
            match rec.state {
                DeliveryState::Queued => {
                    self.dispatch.remove(rec.dispatch_key(id))?;
                    rec.state = DeliveryState::Cancelled;
                    rec.updated_at = at;
                    self.save(id, &loc, &rec)?;
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
            let (loc, mut rec) = self.load_indexed(id)?;
            self.requeue_rec(id, &loc, &mut rec, now)?;
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
