#![allow(clippy::many_single_char_names)]
use super::*;

fn esi(n: u32) -> EsiId {
    EsiId::new(format!("E{n}"))
}

fn q(id: u64, e: &EsiId, p: Priority, deadline: u64) -> QueuedDelivery<'_> {
    QueuedDelivery {
        id: DeliveryId(id),
        esi_id: e,
        priority: p,
        deadline: Timestamp(deadline),
        not_before: Timestamp(0),
        retries: 0,
    }
}

fn unlimited() -> SchedulerConfig {
    SchedulerConfig { rate: None, max_in_flight: 100, reserved_for_high: 1, ..Default::default() }
}

fn all(_: &EsiId) -> bool {
    true
}

fn drain(s: &mut Scheduler, now: u64) -> Vec<u64> {
    std::iter::from_fn(|| s.next_ready(Timestamp(now), all).map(|d| d.id.0)).collect()
}

#[test]
fn high_first_then_deadline_order() {
    let mut s = Scheduler::new(unlimited());
    let e = esi(1);
    s.insert(q(1, &e, Priority::Low, 500), Timestamp(0));
    s.insert(q(2, &e, Priority::Medium, 900), Timestamp(0));
    s.insert(q(3, &e, Priority::High, 1000), Timestamp(0));
    s.insert(q(4, &e, Priority::High, 800), Timestamp(0));
    s.insert(q(5, &e, Priority::Medium, 700), Timestamp(0));
    // Low's deadline 500 is within the urgency window (1 h) and before Medium's: it goes
    // before the Medium ones, but never before High.
    assert_eq!(drain(&mut s, 0), vec![4, 3, 1, 5, 2]);
    assert_eq!(s.in_flight(), 5);
}

#[test]
fn medium_before_low_until_streak_limit() {
    let cfg = SchedulerConfig { max_medium_streak: 2, low_urgency: Duration::ZERO, ..unlimited() };
    let mut s = Scheduler::new(cfg);
    let e = esi(1);
    for i in 0..5 {
        s.insert(q(10 + i, &e, Priority::Medium, 1_000_000), Timestamp(0));
        s.insert(q(20 + i, &e, Priority::Low, 1_000), Timestamp(0));
    }
    assert_eq!(drain(&mut s, 0), vec![10, 11, 20, 12, 13, 21, 14, 22, 23, 24]);
}

#[test]
fn duplicate_insert_is_refused() {
    let mut s = Scheduler::new(unlimited());
    let e = esi(1);
    assert!(s.insert(q(1, &e, Priority::Low, 10), Timestamp(0)));
    assert!(!s.insert(q(1, &e, Priority::High, 10), Timestamp(0)));
    assert_eq!(s.len(), 1);
}

#[test]
fn per_esi_limit_with_high_reserve() {
    let cfg = SchedulerConfig { max_in_flight: 3, reserved_for_high: 1, ..unlimited() };
    let mut s = Scheduler::new(cfg);
    let (a, b) = (esi(1), esi(2));
    for i in 0..10 {
        s.insert(q(i, &a, Priority::Low, 10_000 + i), Timestamp(0));
    }
    s.insert(q(100, &b, Priority::Low, 50_000), Timestamp(0));
    // a: 2 Low (3 - 1 reserved), b: 1
    assert_eq!(drain(&mut s, 1), vec![0, 1, 100]);
    assert_eq!(s.esi_in_flight(&a), 2);
    // A High for `a` still goes: the reserved slot.
    s.insert(q(200, &a, Priority::High, 99_999), Timestamp(1));
    s.insert(q(201, &a, Priority::High, 99_999), Timestamp(1));
    assert_eq!(drain(&mut s, 1), vec![200]);
    assert_eq!(s.esi_in_flight(&a), 3);
    // One result frees one slot; High goes before Low.
    let mut rng = SplitMix64(1);
    s.on_result(DeliveryId(0), Outcome::Delivered, Timestamp(2), &mut rng).unwrap();
    assert_eq!(drain(&mut s, 2), vec![201]);
    s.on_result(DeliveryId(1), Outcome::Delivered, Timestamp(3), &mut rng).unwrap();
    s.on_result(DeliveryId(200), Outcome::Delivered, Timestamp(3), &mut rng).unwrap();
    assert_eq!(drain(&mut s, 3), vec![2]);
}

#[test]
fn esi_ready_predicate_skips_offline_esis() {
    let mut s = Scheduler::new(unlimited());
    let (a, b) = (esi(1), esi(2));
    s.insert(q(1, &a, Priority::High, 100), Timestamp(0));
    s.insert(q(2, &b, Priority::Low, 100), Timestamp(0));
    let d = s.next_ready(Timestamp(0), |e| e == &b).unwrap();
    assert_eq!(d.id, DeliveryId(2));
    assert!(s.next_ready(Timestamp(0), |e| e == &b).is_none());
    assert_eq!(s.next_ready(Timestamp(0), all).unwrap().id, DeliveryId(1));
}

#[test]
fn rate_limit_blocks_then_wakes() {
    let cfg = SchedulerConfig {
        rate: Some(RateLimit { per_second: 2, burst: 2 }),
        max_in_flight: 100,
        reserved_for_high: 1,
        ..Default::default()
    };
    let mut s = Scheduler::new(cfg);
    let e = esi(1);
    for i in 0..5 {
        s.insert(q(i, &e, Priority::Low, 1_000_000), Timestamp(0));
    }
    // Low needs 2 tokens (1 reserved for High): the full bucket allows one.
    assert_eq!(drain(&mut s, 0), vec![0]);
    // One token left: High may use it.
    s.insert(q(50, &e, Priority::High, 1_000_000), Timestamp(0));
    assert_eq!(drain(&mut s, 0), vec![50]);
    assert_eq!(s.next_wakeup(), Some(Timestamp(1000)));
    assert_eq!(drain(&mut s, 999), Vec::<u64>::new());
    assert_eq!(drain(&mut s, 1000), vec![1]);
}

#[test]
fn retry_backoff_then_give_up() {
    let cfg = SchedulerConfig {
        max_attempts: 3,
        backoff: Backoff { base: Duration::from_millis(100), max: Duration::from_secs(10) },
        ..unlimited()
    };
    let mut s = Scheduler::new(cfg);
    let e = esi(1);
    let mut rng = SplitMix64(9);
    s.insert(q(1, &e, Priority::Medium, 1_000_000), Timestamp(0));
    let mut now = 0;
    for attempt in 1..=3 {
        let d = s.next_ready(Timestamp(now), all).unwrap();
        assert_eq!((d.id, d.attempt), (DeliveryId(1), attempt));
        assert!(s.next_ready(Timestamp(now), all).is_none(), "not twice while in flight");
        let r = s.on_result(d.id, Outcome::Failed { retryable: true }, Timestamp(now), &mut rng);
        match r.unwrap() {
            Resolution::Retry { at } => {
                let delay = at.0 - now;
                let full = 100u64 << (attempt - 1);
                assert!(delay >= full / 2 && delay <= full, "{delay}");
                assert!(s.next_ready(Timestamp(at.0 - 1), all).is_none());
                assert_eq!(s.next_wakeup(), Some(at));
                now = at.0;
            }
            Resolution::GaveUp => assert_eq!(attempt, 3),
            other => panic!("{other:?}"),
        }
    }
    assert!(s.is_empty());
    assert_eq!(
        s.on_result(DeliveryId(1), Outcome::Delivered, Timestamp(now), &mut rng),
        Err(SchedulerError::Unknown(DeliveryId(1)))
    );
}

#[test]
fn retry_past_deadline_is_expired_and_not_retryable_gives_up() {
    let mut s = Scheduler::new(unlimited());
    let e = esi(1);
    let mut rng = SplitMix64(1);
    s.insert(q(1, &e, Priority::High, 100), Timestamp(0));
    s.insert(q(2, &e, Priority::High, 100_000), Timestamp(0));
    assert_eq!(drain(&mut s, 0), vec![1, 2]);
    let r1 =
        s.on_result(DeliveryId(1), Outcome::Failed { retryable: true }, Timestamp(1), &mut rng);
    assert_eq!(r1, Ok(Resolution::Expired));
    let r2 =
        s.on_result(DeliveryId(2), Outcome::Failed { retryable: false }, Timestamp(1), &mut rng);
    assert_eq!(r2, Ok(Resolution::GaveUp));
    assert!(s.is_empty());
}

#[test]
fn requeue_is_not_counted() {
    let mut s = Scheduler::new(unlimited());
    let e = esi(1);
    let mut rng = SplitMix64(1);
    s.insert(q(1, &e, Priority::Low, 100), Timestamp(0));
    let d = s.next_ready(Timestamp(0), all).unwrap();
    assert_eq!(
        s.on_result(d.id, Outcome::Requeue, Timestamp(5), &mut rng),
        Ok(Resolution::Requeued)
    );
    let d = s.next_ready(Timestamp(5), all).unwrap();
    assert_eq!(d.attempt, 1);
    assert_eq!(
        s.on_result(d.id, Outcome::Requeue, Timestamp(200), &mut rng),
        Ok(Resolution::Expired)
    );
}

#[test]
fn expiry_at_deadline_never_dispatched() {
    let mut s = Scheduler::new(unlimited());
    let e = esi(1);
    s.insert(q(1, &e, Priority::Low, 10), Timestamp(0));
    s.insert(q(2, &e, Priority::Low, 20), Timestamp(0));
    let mut deferred = q(3, &e, Priority::Low, 15);
    deferred.not_before = Timestamp(12);
    s.insert(deferred, Timestamp(0));
    assert_eq!(s.next_wakeup(), Some(Timestamp(10)));
    assert_eq!(s.expire_due(Timestamp(9)), vec![]);
    assert_eq!(drain(&mut s, 15), vec![2]);
    let mut ex = s.expire_due(Timestamp(15));
    ex.sort();
    assert_eq!(ex, vec![DeliveryId(1), DeliveryId(3)]);
    assert_eq!(s.len(), 1);
    assert!(s.is_in_flight(DeliveryId(2)));
}

#[test]
fn remove_takes_queued_not_in_flight() {
    let mut s = Scheduler::new(unlimited());
    let e = esi(1);
    s.insert(q(1, &e, Priority::Low, 100), Timestamp(0));
    s.insert(q(2, &e, Priority::Low, 200), Timestamp(0));
    assert_eq!(s.next_ready(Timestamp(0), all).unwrap().id, DeliveryId(1));
    assert!(!s.remove(DeliveryId(1)));
    assert!(s.remove(DeliveryId(2)));
    assert!(!s.remove(DeliveryId(2)));
    assert!(s.next_ready(Timestamp(0), all).is_none());
    assert_eq!(s.next_wakeup(), None);
}

#[test]
fn high_is_found_fast_behind_a_large_blocked_low_backlog() {
    // 200k Low on one full ESI and one High elsewhere: next_ready must not scan the backlog.
    let cfg = SchedulerConfig { max_in_flight: 2, reserved_for_high: 1, ..unlimited() };
    let mut s = Scheduler::new(cfg);
    let (a, b) = (esi(1), esi(2));
    for i in 0..200_000 {
        s.insert(q(i, &a, Priority::Low, 1_000_000 + i), Timestamp(0));
    }
    assert_eq!(drain(&mut s, 0), vec![0]);
    s.insert(q(1_000_000, &b, Priority::High, 5_000_000), Timestamp(0));
    let t = std::time::Instant::now();
    for _ in 0..1000 {
        assert!(s.next_ready(Timestamp(0), |e| e != &b).is_none());
    }
    assert!(t.elapsed() < Duration::from_millis(500), "{:?}", t.elapsed());
    assert_eq!(drain(&mut s, 0), vec![1_000_000]);
}

#[test]
fn rebuild_from_store_restores_queue() {
    use crate::model::{NewDelivery, NewRequest, PartyId, RequestKind};
    use crate::store::{Store, StoreConfig};
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(dir.path().join("s.redb"), StoreConfig::default()).unwrap();
    for (p, dl) in [(Priority::Low, 500u64), (Priority::High, 900), (Priority::Medium, 100)] {
        store
            .accept(
                NewRequest {
                    kind: RequestKind::Price,
                    priority: p,
                    accepted_at: Timestamp(0),
                    deadline: Timestamp(dl),
                    party: PartyId("tdsp".into()),
                    transaction: None,
                    payload: vec![],
                },
                vec![NewDelivery {
                    esi_id: esi(1),
                    eui64: crate::model::Eui64(1),
                    undeliverable: None,
                }],
            )
            .unwrap();
    }
    let mut s = rebuild(&store, unlimited(), Timestamp(0)).unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(drain(&mut s, 0), vec![2, 3, 1]);
}

#[test]
fn take_with_groups_companions_of_one_esi() {
    let cfg = SchedulerConfig {
        rate: None,
        max_in_flight: 1,
        reserved_for_high: 0,
        ..Default::default()
    };
    let mut s = Scheduler::new(cfg);
    let (a, b) = (esi(1), esi(2));
    s.insert(q(1, &a, Priority::Low, 500), Timestamp(0));
    s.insert(q(2, &a, Priority::Low, 500), Timestamp(0));
    s.insert(q(3, &b, Priority::Low, 500), Timestamp(0));
    let mut deferred = q(4, &a, Priority::Low, 500);
    deferred.not_before = Timestamp(100);
    s.insert(deferred, Timestamp(0));
    let first = s.next_ready(Timestamp(0), all).unwrap();
    assert_eq!(first.id, DeliveryId(1));
    // The in-flight limit (1) does not stop a companion; another ESI's or a deferred one is
    // not taken, nor one already in flight.
    assert_eq!(s.take_with(DeliveryId(2), &a, Timestamp(0)).map(|d| d.id), Some(DeliveryId(2)));
    assert!(s.take_with(DeliveryId(3), &a, Timestamp(0)).is_none());
    assert!(s.take_with(DeliveryId(4), &a, Timestamp(0)).is_none());
    assert!(s.take_with(DeliveryId(1), &a, Timestamp(0)).is_none());
    assert_eq!(s.esi_in_flight(&a), 2);
    let mut rng = SplitMix64(1);
    for id in [1, 2] {
        assert_eq!(
            s.on_result(DeliveryId(id), Outcome::Delivered, Timestamp(1), &mut rng),
            Ok(Resolution::Done)
        );
    }
    assert_eq!(s.esi_in_flight(&a), 0);
    assert_eq!(drain(&mut s, 200), vec![3, 4]);
}
