#![allow(clippy::many_single_char_names)]
use super::*;
use crate::model::{PartyId, Request, RequestKind};

fn req(p: Priority, at: u64, deadline: u64) -> NewRequest {
    NewRequest {
        kind: RequestKind::Message,
        priority: p,
        accepted_at: Timestamp(at),
        deadline: Timestamp(deadline),
        party: PartyId("rep-1".into()),
        transaction: Some("t-1".into()),
        payload: b"hello".to_vec(),
    }
}

fn to(esi: &str, eui: u64) -> NewDelivery {
    NewDelivery { esi_id: EsiId::new(esi), eui64: Eui64(eui), undeliverable: None }
}

fn open(dir: &tempfile::TempDir) -> (Store, Recovery) {
    Store::open(dir.path().join("store.redb"), StoreConfig::default()).unwrap()
}

#[test]
fn accept_assigns_consecutive_ids_and_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let (s, rec) = open(&dir);
    assert!(rec.created);
    let a = s.accept(req(Priority::Low, 10, 1000), vec![to("E1", 1), to("E2", 2)]).unwrap();
    assert_eq!(a.request_id, RequestId(1));
    assert_eq!(
        a.deliveries,
        vec![(DeliveryId(1), DeliveryState::Queued), (DeliveryId(2), DeliveryState::Queued)]
    );
    let b = s.accept(req(Priority::High, 11, 500), vec![to("E1", 3)]).unwrap();
    assert_eq!((b.request_id, b.deliveries[0].0), (RequestId(3), DeliveryId(3)));
    let r = s.request(b.request_id).unwrap().unwrap();
    assert_eq!(
        (r.first_delivery, r.delivery_count, r.body.priority),
        (DeliveryId(3), 1, Priority::High)
    );
    let d = s.delivery(DeliveryId(2)).unwrap().unwrap();
    assert_eq!(d.esi_id, EsiId::new("E2"));
    assert_eq!(d.eui64, Eui64(2));
    assert_eq!(d.state, DeliveryState::Queued);
    assert_eq!(d.deadline, Timestamp(1000));
    let e1: Vec<_> =
        s.deliveries_for_esi(&EsiId::new("E1"), None, 10).unwrap().iter().map(|d| d.id).collect();
    assert_eq!(e1, vec![DeliveryId(1), DeliveryId(3)]);
    let page: Vec<_> = s
        .deliveries_for_esi(&EsiId::new("E1"), Some(DeliveryId(1)), 10)
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(page, vec![DeliveryId(3)]);
    let r = s.request(RequestId(1)).unwrap().unwrap();
    assert_eq!(r.body.payload, b"hello");
    assert_eq!(s.deliveries_of(RequestId(1)).unwrap().len(), 2);
    // dispatch order: High first, then by deadline
    let mut order = Vec::new();
    s.for_each_queued(|q| order.push((q.id, q.priority, q.esi_id.clone()))).unwrap();
    assert_eq!(order[0], (DeliveryId(3), Priority::High, EsiId::new("E1")));
    assert_eq!(order.len(), 3);
}

#[test]
fn empty_request_is_rejected_without_side_effects() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = open(&dir);
    assert_eq!(s.accept(req(Priority::Low, 0, 1), vec![]), Err(StoreError::NoDeliveries));
    let a = s.accept(req(Priority::Low, 0, 1), vec![to("E", 1)]).unwrap();
    assert_eq!(a.request_id, RequestId(1));
}

#[test]
fn undeliverable_recipients_are_recorded_not_queued() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = open(&dir);
    let mut d = to("E", 9);
    d.undeliverable = Some("NOT_PAIRED".into());
    let a = s.accept(req(Priority::Low, 0, 100), vec![d, to("E", 1)]).unwrap();
    assert_eq!(a.deliveries[0].1, DeliveryState::Undeliverable);
    assert_eq!(s.open_counts().unwrap(), (1, 0));
    let got = s.delivery(a.deliveries[0].0).unwrap().unwrap();
    assert_eq!(got.last_error.as_deref(), Some("NOT_PAIRED"));
}

#[test]
fn lifecycle_sent_delivered_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = open(&dir);
    let id = s.accept(req(Priority::Medium, 0, 100), vec![to("E", 1)]).unwrap().deliveries[0].0;
    assert!(matches!(
        s.mark_delivered(id, Timestamp(1)),
        Err(StoreError::InvalidTransition { from: DeliveryState::Queued, .. })
    ));
    s.mark_sent(id, Timestamp(2)).unwrap();
    assert_eq!(s.open_counts().unwrap(), (0, 1));
    assert!(s.mark_sent(id, Timestamp(2)).is_err());
    s.mark_delivered(id, Timestamp(3)).unwrap();
    s.mark_confirmed(id, Timestamp(4)).unwrap();
    let d = s.delivery(id).unwrap().unwrap();
    assert_eq!(d.state, DeliveryState::Confirmed);
    assert_eq!(d.sent_at, Some(Timestamp(2)));
    assert_eq!(d.updated_at, Timestamp(4));
    assert_eq!(s.open_counts().unwrap(), (0, 0));
    assert_eq!(
        s.mark_sent(DeliveryId(99), Timestamp(0)),
        Err(StoreError::UnknownDelivery(DeliveryId(99)))
    );
}

#[test]
fn failure_retries_then_expires_or_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = open(&dir);
    let ids: Vec<_> = s
        .accept(req(Priority::Low, 0, 100), vec![to("E", 1), to("E", 2), to("E", 3)])
        .unwrap()
        .deliveries
        .into_iter()
        .map(|d| d.0)
        .collect();
    for &id in &ids {
        s.mark_sent(id, Timestamp(1)).unwrap();
    }
    assert_eq!(
        s.mark_failed(ids[0], Timestamp(2), "no ack", Some(Timestamp(50))),
        Ok(DeliveryState::Queued)
    );
    assert_eq!(
        s.mark_failed(ids[1], Timestamp(2), "no ack", Some(Timestamp(100))),
        Ok(DeliveryState::Expired)
    );
    assert_eq!(s.mark_failed(ids[2], Timestamp(2), "rejected", None), Ok(DeliveryState::Failed));
    let d = s.delivery(ids[0]).unwrap().unwrap();
    assert_eq!(
        (d.retries, d.not_before, d.last_error.as_deref()),
        (1, Timestamp(50), Some("no ack"))
    );
    let mut q = Vec::new();
    s.for_each_queued(|r| q.push((r.id, r.not_before, r.retries))).unwrap();
    assert_eq!(q, vec![(ids[0], Timestamp(50), 1)]);
}

#[test]
fn expire_due_takes_only_past_deadlines_in_each_class() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = open(&dir);
    let h = s.accept(req(Priority::High, 0, 10), vec![to("E", 1)]).unwrap().deliveries[0].0;
    let l = s.accept(req(Priority::Low, 0, 20), vec![to("E", 1)]).unwrap().deliveries[0].0;
    let m = s.accept(req(Priority::Medium, 0, 30), vec![to("E", 1)]).unwrap().deliveries[0].0;
    assert_eq!(s.expire_due(Timestamp(9), 100).unwrap(), vec![]);
    let mut got = s.expire_due(Timestamp(20), 100).unwrap();
    got.sort();
    assert_eq!(got, vec![h, l]);
    assert_eq!(s.delivery(l).unwrap().unwrap().state, DeliveryState::Expired);
    assert_eq!(s.expire_due(Timestamp(1000), 0).unwrap(), vec![]);
    assert_eq!(s.expire_due(Timestamp(1000), 5).unwrap(), vec![m]);
    assert_eq!(s.open_counts().unwrap(), (0, 0));
}

#[test]
fn cancel_takes_queued_and_leaves_sent() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = open(&dir);
    let a = s.accept(req(Priority::Low, 0, 100), vec![to("E", 1), to("F", 2), to("G", 3)]).unwrap();
    let ids: Vec<_> = a.deliveries.iter().map(|d| d.0).collect();
    s.mark_sent(ids[1], Timestamp(1)).unwrap();
    s.mark_sent(ids[2], Timestamp(1)).unwrap();
    s.mark_delivered(ids[2], Timestamp(2)).unwrap();
    let c = s.cancel(a.request_id, Timestamp(3)).unwrap();
    assert_eq!(c.cancelled, vec![ids[0]]);
    assert_eq!(c.in_flight, vec![ids[1]]);
    assert_eq!(c.already_final, 1);
    assert_eq!(s.delivery(ids[0]).unwrap().unwrap().state, DeliveryState::Cancelled);
    assert_eq!(
        s.cancel(RequestId(77), Timestamp(3)),
        Err(StoreError::UnknownRequest(RequestId(77)))
    );
}

#[test]
fn reopen_requeues_sent_and_keeps_counters() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = open(&dir);
    let a = s.accept(req(Priority::Low, 0, u64::MAX), vec![to("E", 1), to("E", 2)]).unwrap();
    s.mark_sent(a.deliveries[0].0, Timestamp(1)).unwrap();
    s.close();
    let (s, rec) = open(&dir);
    assert!(!rec.created);
    assert_eq!(rec.schema_from, tables::SCHEMA_VERSION);
    assert_eq!((rec.requeued, rec.queued, rec.requests, rec.deliveries), (1, 2, 1, 2));
    assert_eq!(s.delivery(a.deliveries[0].0).unwrap().unwrap().state, DeliveryState::Queued);
    let b = s.accept(req(Priority::Low, 0, 5), vec![to("F", 1)]).unwrap();
    // a request's id is its first delivery's id
    assert_eq!((b.request_id, b.deliveries[0].0), (RequestId(3), DeliveryId(3)));
    assert_eq!(s.delivery(DeliveryId(3)).unwrap().unwrap().esi_id, EsiId::new("F"));
    assert_eq!(s.schema_version().unwrap(), crate::model::SchemaVersion(tables::SCHEMA_VERSION));
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    {
        let db = Database::create(&path).unwrap();
        let w = db.begin_write().unwrap();
        w.open_table(META).unwrap().insert(meta_key::SCHEMA_VERSION, SCHEMA_VERSION + 1).unwrap();
        w.commit().unwrap();
    }
    let e = Store::open(&path, StoreConfig::default()).unwrap_err();
    assert_eq!(
        e,
        StoreError::SchemaTooNew { found: SCHEMA_VERSION + 1, supported: SCHEMA_VERSION }
    );
}

#[test]
fn devices_groups_and_esis() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = open(&dir);
    let esi = EsiId::new("1044372000000001");
    let dev = DeviceRecord {
        esi_id: esi.clone(),
        eui64: Eui64(0xAA),
        slot: Some(0),
        state: crate::model::DeviceState::Pending,
        label: "IHD".into(),
        join_deadline: Some(Timestamp(9)),
        last_seen: None,
        lqi: None,
        updated_at: Timestamp(1),
    };
    s.put_device(dev.clone()).unwrap();
    s.put_device(DeviceRecord { eui64: Eui64(0xBB), ..dev.clone() }).unwrap();
    assert_eq!(s.device(&esi, Eui64(0xAA)).unwrap(), Some(dev.clone()));
    assert_eq!(s.devices(&esi).unwrap().len(), 2);
    assert_eq!(s.remove_device(esi.clone(), Eui64(0xAA)).unwrap(), Some(dev));
    assert_eq!(s.devices(&esi).unwrap().len(), 1);
    assert_eq!(s.remove_device(EsiId::new("nope"), Eui64(1)).unwrap(), None);
    s.put_esi(EsiRecord {
        esi_id: esi.clone(),
        meter_number: Some("M1".into()),
        slot_capacity: Some(5),
    })
    .unwrap();
    assert_eq!(s.esi(&esi).unwrap().unwrap().meter_number.as_deref(), Some("M1"));
    let g =
        Group { name: "north".into(), esi_ids: vec![esi], owner: None, updated_at: Timestamp(1) };
    s.put_group(g.clone()).unwrap();
    assert_eq!(s.group("north").unwrap(), Some(g));
    assert_eq!(s.groups().unwrap().len(), 1);
    assert!(s.delete_group("north").unwrap());
    assert!(!s.delete_group("north").unwrap());
}

#[test]
fn concurrent_accepts_are_batched_and_all_committed() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = open(&dir);
    let s = std::sync::Arc::new(s);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let s = std::sync::Arc::clone(&s);
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| {
                        s.accept(req(Priority::Low, i, 1_000), vec![to(&format!("E{t}"), i)])
                            .unwrap()
                            .request_id
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<_> = threads.into_iter().flat_map(|h| h.join().unwrap()).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 400);
    assert_eq!(s.open_counts().unwrap(), (400, 0));
    let st = s.writer_stats();
    assert!(st.batches.load(Relaxed) <= 400);
    assert_eq!(st.jobs.load(Relaxed), 400);
}

#[test]
fn accept_with_answers_after_commit() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = open(&dir);
    let (tx, rx) = mpsc::channel();
    s.accept_with(req(Priority::High, 0, 9), vec![to("E", 1)], move |r| tx.send(r).unwrap())
        .unwrap();
    let a = rx.recv().unwrap().unwrap();
    assert_eq!(s.delivery(a.deliveries[0].0).unwrap().unwrap().state, DeliveryState::Queued);
}

#[test]
fn single_recipient_requests_go_through_every_transition() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = open(&dir);
    let a = s.accept(req(Priority::Low, 100, 10_000), vec![to("E", 7)]).unwrap();
    let id = a.deliveries[0].0;
    assert_eq!(id.0, a.request_id.0);
    s.mark_sent(id, Timestamp(150)).unwrap();
    let d = s.delivery(id).unwrap().unwrap();
    assert_eq!(
        (d.state, d.sent_at, d.updated_at, d.eui64),
        (DeliveryState::Sent, Some(Timestamp(150)), Timestamp(150), Eui64(7))
    );
    let st = s.mark_failed(id, Timestamp(160), "BUSY", Some(Timestamp(1_160))).unwrap();
    assert_eq!(st, DeliveryState::Queued);
    let d = s.delivery(id).unwrap().unwrap();
    assert_eq!(
        (d.retries, d.not_before, d.last_error.as_deref()),
        (1, Timestamp(1_160), Some("BUSY"))
    );
    let mut q = Vec::new();
    s.for_each_queued(|r| q.push((r.id, r.not_before, r.retries))).unwrap();
    assert_eq!(q, vec![(id, Timestamp(1_160), 1)]);
    s.mark_sent(id, Timestamp(1_200)).unwrap();
    s.mark_delivered(id, Timestamp(1_300)).unwrap();
    s.mark_confirmed(id, Timestamp(1_400)).unwrap();
    let d = s.delivery(id).unwrap().unwrap();
    assert_eq!(
        (d.state, d.deadline, d.request_id),
        (DeliveryState::Confirmed, Timestamp(10_000), a.request_id)
    );
    assert_eq!(s.deliveries_of(a.request_id).unwrap(), vec![d]);
    // cancel of a single request, and expiry
    let b = s.accept(req(Priority::Low, 100, 500), vec![to("E", 8)]).unwrap();
    let c = s.accept(req(Priority::Low, 100, 10_000), vec![to("E", 9)]).unwrap();
    let out = s.cancel(c.request_id, Timestamp(200)).unwrap();
    assert_eq!(out.cancelled, vec![c.deliveries[0].0]);
    assert_eq!(s.expire_due(Timestamp(600), 10).unwrap(), vec![b.deliveries[0].0]);
    assert_eq!(s.delivery(b.deliveries[0].0).unwrap().unwrap().state, DeliveryState::Expired);
    assert_eq!(s.open_counts().unwrap(), (0, 0));
    let all: Vec<_> =
        s.deliveries_for_esi(&EsiId::new("E"), None, 10).unwrap().iter().map(|d| d.id).collect();
    assert_eq!(all, vec![id, b.deliveries[0].0, c.deliveries[0].0]);
}

#[test]
fn transaction_index_finds_the_first_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = open(&dir);
    let a = s.accept(req(Priority::Low, 0, 10), vec![to("E", 1)]).unwrap();
    let mut r2 = req(Priority::Low, 0, 10);
    r2.transaction = Some("t-2".into());
    let b = s.accept(r2, vec![to("E", 1), to("E", 2)]).unwrap();
    assert_eq!(s.request_by_transaction("rep-1", "t-1").unwrap(), Some(a.request_id));
    assert_eq!(s.request_by_transaction("rep-1", "t-2").unwrap(), Some(b.request_id));
    assert_eq!(s.request_by_transaction("rep-2", "t-1").unwrap(), None);
    assert_eq!(s.request_by_transaction("rep-1", "t-3").unwrap(), None);
}

/// A file as schema 1 wrote it: two requests (one with two recipients, one with one), a
/// transaction, an ESI, the v1 indexes; opening it migrates to the current schema.
#[test]
fn schema_1_file_is_migrated() {
    use crate::store::tables::{
        encode, DeliveryRecord, DELIVERIES, ESIS, ESI_BY_NAME, REQUESTS, V1_ESI_DELIVERIES,
        V1_TRANSACTIONS,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    {
        let db = Database::create(&path).unwrap();
        let w = db.begin_write().unwrap();
        {
            let mut meta = w.open_table(META).unwrap();
            meta.insert(meta_key::SCHEMA_VERSION, 1).unwrap();
            meta.insert(meta_key::NEXT_REQUEST, 3).unwrap();
            meta.insert(meta_key::NEXT_DELIVERY, 4).unwrap();
            meta.insert(meta_key::NEXT_ESI, 1).unwrap();
            let rec =
                EsiRecord { esi_id: EsiId::new("E"), meter_number: None, slot_capacity: None };
            w.open_table(ESIS).unwrap().insert(0, encode(&rec).unwrap().as_slice()).unwrap();
            w.open_table(ESI_BY_NAME).unwrap().insert("E", 0).unwrap();
            let mut requests = w.open_table(REQUESTS).unwrap();
            let mut deliveries = w.open_table(DELIVERIES).unwrap();
            let mut dispatch = w.open_table(DISPATCH).unwrap();
            let mut by_esi = w.open_table(V1_ESI_DELIVERIES).unwrap();
            for (rid, first, count) in [(1u64, 1u64, 2u32), (2, 3, 1)] {
                let body = req(Priority::Low, 0, 1_000);
                let r = Request {
                    id: RequestId(rid),
                    body,
                    first_delivery: DeliveryId(first),
                    delivery_count: count,
                };
                requests.insert(rid, encode(&r).unwrap().as_slice()).unwrap();
                for d in first..first + u64::from(count) {
                    let rec = DeliveryRecord {
                        request_id: RequestId(rid),
                        esi: 0,
                        eui64: d,
                        priority: Priority::Low,
                        state: DeliveryState::Queued,
                        retries: 0,
                        deadline: Timestamp(1_000),
                        not_before: Timestamp(0),
                        sent_at: None,
                        updated_at: Timestamp(0),
                        last_error: None,
                    };
                    deliveries.insert(d, encode(&rec).unwrap().as_slice()).unwrap();
                    dispatch.insert(rec.dispatch_key(DeliveryId(d)), rec.dispatch_value()).unwrap();
                    by_esi.insert((0, d), ()).unwrap();
                }
            }
            w.open_table(V1_TRANSACTIONS).unwrap().insert(("rep-1", "t-1"), 2).unwrap();
        }
        w.commit().unwrap();
    }
    let (s, rec) = Store::open(&path, StoreConfig::default()).unwrap();
    assert_eq!((rec.schema_from, rec.queued, rec.requests, rec.deliveries), (1, 3, 2, 3));
    assert_eq!(s.schema_version().unwrap(), crate::model::SchemaVersion(SCHEMA_VERSION));
    assert_eq!(s.request_by_transaction("rep-1", "t-1").unwrap(), Some(RequestId(2)));
    assert_eq!(s.deliveries_of(RequestId(1)).unwrap().len(), 2);
    assert_eq!(s.delivery(DeliveryId(3)).unwrap().unwrap().request_id, RequestId(2));
    s.mark_sent(DeliveryId(3), Timestamp(5)).unwrap();
    s.mark_delivered(DeliveryId(3), Timestamp(6)).unwrap();
    // new ids continue above every old request and delivery id
    let a = s.accept(req(Priority::Low, 0, 1_000), vec![to("E", 9)]).unwrap();
    assert_eq!((a.request_id, a.deliveries[0].0), (RequestId(4), DeliveryId(4)));
    let ids: Vec<_> =
        s.deliveries_for_esi(&EsiId::new("E"), None, 10).unwrap().iter().map(|d| d.id.0).collect();
    assert_eq!(ids, vec![1, 2, 3, 4]);
    s.close();
    let (_, rec) = Store::open(&path, StoreConfig::default()).unwrap();
    assert_eq!((rec.schema_from, rec.requests, rec.deliveries), (SCHEMA_VERSION, 3, 4));
}
