//! Read side of the store: every read runs in its own MVCC snapshot and never waits for the
//! writer.

use redb::{ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use super::tables::{
    decode, meta_key, tx_hash, DeliveryRecord, SingleRecord, DELIVERIES, DEVICES, DISPATCH, ESIS,
    ESI_BY_NAME, GROUPS, IN_FLIGHT, KV, META, REQUESTS, SINGLES, TX_INDEX,
};
use super::{QueuedRef, Result, Store, StoreError, TableSpace};
use crate::model::{
    Delivery, DeliveryId, DeviceRecord, EsiId, EsiRecord, Eui64, Group, Priority, Request,
    RequestId, SchemaVersion, Timestamp,
};

impl Store {
    fn esi_name(&self, rtx: &ReadTransaction, o: u32) -> Result<EsiId> {
        if let Ok(names) = self.esi_names.read() {
            if let Some(n) = names.get(o as usize).filter(|n| !n.0.is_empty()) {
                return Ok(n.clone());
            }
        }
        let t = rtx.open_table(ESIS)?;
        let g = t.get(o)?.ok_or_else(|| StoreError::Corrupt(format!("esi ordinal {o}")))?;
        Ok(decode::<EsiRecord>("esi", g.value())?.esi_id)
    }

    fn esi_ordinal(rtx: &ReadTransaction, esi: &EsiId) -> Result<Option<u32>> {
        Ok(rtx.open_table(ESI_BY_NAME)?.get(esi.as_str())?.map(|g| g.value()))
    }

    fn delivery_in(&self, rtx: &ReadTransaction, id: DeliveryId) -> Result<Option<Delivery>> {
        let rec = if let Some(g) = rtx.open_table(DELIVERIES)?.get(id.0)? {
            decode::<DeliveryRecord>("delivery", g.value())?
        } else if let Some(g) = rtx.open_table(SINGLES)?.get(id.0)? {
            decode::<SingleRecord>("single", g.value())?.delivery_record(id.0)
        } else {
            return Ok(None);
        };
        let name = self.esi_name(rtx, rec.esi)?;
        Ok(Some(rec.into_delivery(id, name)))
    }

    fn request_in(rtx: &ReadTransaction, id: RequestId) -> Result<Option<Request>> {
        if let Some(g) = rtx.open_table(SINGLES)?.get(id.0)? {
            return Ok(Some(decode::<SingleRecord>("single", g.value())?.into_request(id.0)));
        }
        let t = rtx.open_table(REQUESTS)?;
        let r = t.get(id.0)?.map(|g| decode("request", g.value())).transpose()?;
        Ok(r)
    }

    /// One delivery.
    pub fn delivery(&self, id: DeliveryId) -> Result<Option<Delivery>> {
        self.delivery_in(&self.db.begin_read()?, id)
    }

    /// One request.
    pub fn request(&self, id: RequestId) -> Result<Option<Request>> {
        Self::request_in(&self.db.begin_read()?, id)
    }

    /// A request's deliveries (for `message/status`).
    pub fn deliveries_of(&self, id: RequestId) -> Result<Vec<Delivery>> {
        let rtx = self.db.begin_read()?;
        let req = Self::request_in(&rtx, id)?.ok_or(StoreError::UnknownRequest(id))?;
        let mut out = Vec::with_capacity(req.delivery_count as usize);
        for d in req.delivery_ids() {
            out.extend(self.delivery_in(&rtx, d)?);
        }
        Ok(out)
    }

    /// Deliveries to one ESI with ids after `after`, at most `limit` (paged), in id order.
    ///
    /// A maintenance query: there is no per-ESI index (schema 2 dropped it to keep the queue
    /// small on disk), so this scans the delivery rows from `after` on, ~0.1–0.2 µs per row.
    pub fn deliveries_for_esi(
        &self,
        esi: &EsiId,
        after: Option<DeliveryId>,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        let rtx = self.db.begin_read()?;
        let Some(o) = Self::esi_ordinal(&rtx, esi)? else { return Ok(Vec::new()) };
        let start = after.map_or(0, |a| a.0.saturating_add(1));
        let mut recs: Vec<(u64, DeliveryRecord)> = Vec::new();
        for row in rtx.open_table(DELIVERIES)?.range(start..)? {
            if recs.len() >= limit {
                break;
            }
            let (k, v) = row?;
            let rec: DeliveryRecord = decode("delivery", v.value())?;
            if rec.esi == o {
                recs.push((k.value(), rec));
            }
        }
        let mut n = 0;
        for row in rtx.open_table(SINGLES)?.range(start..)? {
            if n >= limit {
                break;
            }
            let (k, v) = row?;
            let single: SingleRecord = decode("single", v.value())?;
            if single.delivery.esi == o {
                recs.push((k.value(), single.delivery_record(k.value())));
                n += 1;
            }
        }
        recs.sort_unstable_by_key(|(id, _)| *id);
        recs.truncate(limit);
        let mut out = Vec::with_capacity(recs.len());
        for (id, rec) in recs {
            let name = self.esi_name(&rtx, rec.esi)?;
            out.push(rec.into_delivery(DeliveryId(id), name));
        }
        Ok(out)
    }

    /// Calls `f` for every queued delivery in dispatch order (class, deadline, id): the input of
    /// the scheduler's rebuild at start. Returns how many.
    pub fn for_each_queued(&self, mut visit: impl FnMut(QueuedRef<'_>)) -> Result<u64> {
        let rtx = self.db.begin_read()?;
        let names = Self::load_esi_names(&rtx)?;
        let table = rtx.open_table(DISPATCH)?;
        let mut n = 0;
        for row in table.iter()? {
            let (key, val) = row?;
            let (class, deadline, id) = key.value();
            let (esi, not_before, retries) = val.value();
            let priority = Priority::from_class(class)
                .ok_or_else(|| StoreError::Corrupt(format!("class {class}")))?;
            let esi_id = names
                .get(esi as usize)
                .ok_or_else(|| StoreError::Corrupt(format!("esi ordinal {esi}")))?;
            visit(QueuedRef {
                id: DeliveryId(id),
                esi_id,
                esi_ordinal: esi,
                priority,
                deadline: Timestamp(deadline),
                not_before: Timestamp(not_before),
                retries,
            });
            n += 1;
        }
        Ok(n)
    }

    /// Number of deliveries `queued` and `sent`.
    pub fn open_counts(&self) -> Result<(u64, u64)> {
        let rtx = self.db.begin_read()?;
        Ok((rtx.open_table(DISPATCH)?.len()?, rtx.open_table(IN_FLIGHT)?.len()?))
    }

    /// The record of an ESI.
    pub fn esi(&self, esi: &EsiId) -> Result<Option<EsiRecord>> {
        let rtx = self.db.begin_read()?;
        let Some(o) = Self::esi_ordinal(&rtx, esi)? else { return Ok(None) };
        let t = rtx.open_table(ESIS)?;
        let r = t.get(o)?.map(|g| decode("esi", g.value())).transpose()?;
        Ok(r)
    }

    /// One device.
    pub fn device(&self, esi: &EsiId, eui64: Eui64) -> Result<Option<DeviceRecord>> {
        let rtx = self.db.begin_read()?;
        let Some(o) = Self::esi_ordinal(&rtx, esi)? else { return Ok(None) };
        let t = rtx.open_table(DEVICES)?;
        let r = t.get((o, eui64.0))?.map(|g| decode("device", g.value())).transpose()?;
        Ok(r)
    }

    /// Devices of one ESI, by EUI-64.
    pub fn devices(&self, esi: &EsiId) -> Result<Vec<DeviceRecord>> {
        let rtx = self.db.begin_read()?;
        let Some(o) = Self::esi_ordinal(&rtx, esi)? else { return Ok(Vec::new()) };
        let t = rtx.open_table(DEVICES)?;
        let mut out = Vec::new();
        for row in t.range((o, 0)..=(o, u64::MAX))? {
            out.push(decode("device", row?.1.value())?);
        }
        Ok(out)
    }

    /// One group.
    pub fn group(&self, name: &str) -> Result<Option<Group>> {
        let rtx = self.db.begin_read()?;
        let t = rtx.open_table(GROUPS)?;
        let r = t.get(name)?.map(|g| decode("group", g.value())).transpose()?;
        Ok(r)
    }

    /// All groups, by name.
    pub fn groups(&self) -> Result<Vec<Group>> {
        let rtx = self.db.begin_read()?;
        let t = rtx.open_table(GROUPS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            out.push(decode("group", row?.1.value())?);
        }
        Ok(out)
    }

    /// The request a party committed under an MQTT `transaction`, if any.
    pub fn request_by_transaction(
        &self,
        party: &str,
        transaction: &str,
    ) -> Result<Option<RequestId>> {
        let rtx = self.db.begin_read()?;
        let t = rtx.open_table(TX_INDEX)?;
        let h = tx_hash(party, transaction);
        for row in t.range((h, 0)..=(h, u64::MAX))? {
            let id = RequestId(row?.0.value().1);
            let req = Self::request_in(&rtx, id)?
                .ok_or_else(|| StoreError::Corrupt(format!("tx_index names request {}", id.0)))?;
            if req.body.party.0 == party && req.body.transaction.as_deref() == Some(transaction) {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// One key of the `kv` table.
    pub fn kv_get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let rtx = self.db.begin_read()?;
        let t = rtx.open_table(KV)?;
        Ok(t.get((ns, key))?.map(|g| g.value().to_vec()))
    }

    /// Every key of one namespace of the `kv` table, in key order.
    pub fn kv_scan(&self, ns: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let rtx = self.db.begin_read()?;
        let t = rtx.open_table(KV)?;
        let mut out = Vec::new();
        for row in t.range((ns, "")..)? {
            let (k, v) = row?;
            let (n, key) = k.value();
            if n != ns {
                break;
            }
            out.push((key.to_owned(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// Space used per table (for reports and metrics): entries, payload bytes, B-tree metadata
    /// bytes and fragmented (unused) bytes in its pages.
    pub fn space_report(&self) -> Result<Vec<TableSpace>> {
        fn one<K: redb::Key + 'static, V: redb::Value + 'static>(
            rtx: &ReadTransaction,
            def: redb::TableDefinition<K, V>,
        ) -> Result<TableSpace> {
            let t = rtx.open_table(def)?;
            let st = t.stats()?;
            Ok(TableSpace {
                name: redb::TableHandle::name(&def).to_owned(),
                entries: t.len()?,
                stored_bytes: st.stored_bytes(),
                metadata_bytes: st.metadata_bytes(),
                fragmented_bytes: st.fragmented_bytes(),
            })
        }
        let rtx = self.db.begin_read()?;
        Ok(vec![
            one(&rtx, REQUESTS)?,
            one(&rtx, DELIVERIES)?,
            one(&rtx, SINGLES)?,
            one(&rtx, DISPATCH)?,
            one(&rtx, IN_FLIGHT)?,
            one(&rtx, TX_INDEX)?,
            one(&rtx, ESIS)?,
            one(&rtx, DEVICES)?,
            one(&rtx, GROUPS)?,
        ])
    }

    /// Schema version record in the file.
    pub fn schema_version(&self) -> Result<SchemaVersion> {
        let rtx = self.db.begin_read()?;
        let t = rtx.open_table(META)?;
        Ok(SchemaVersion(t.get(meta_key::SCHEMA_VERSION)?.map_or(0, |g| g.value())))
    }
}
