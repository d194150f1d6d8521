//! Random accept / dispatch / result / advance-time sequences against a reference model.
#![allow(clippy::many_single_char_names)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

const ESIS: u32 = 3;

#[derive(Clone, Debug)]
enum Op {
    Accept { esi: u32, class: u8, deadline: u64, not_before: u64 },
    Dispatch { ready_mask: u8 },
    Result { pick: usize, kind: u8 },
    Advance { ms: u64 },
    Cancel { pick: usize },
    Expire,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..ESIS, 0..3u8, 1..5_000u64, 0..600u64)
            .prop_map(|(esi, class, deadline, not_before)| Op::Accept { esi, class, deadline, not_before }),
        5 => (0..8u8).prop_map(|ready_mask| Op::Dispatch { ready_mask }),
        3 => (any::<usize>(), 0..5u8).prop_map(|(pick, kind)| Op::Result { pick, kind }),
        2 => (0..1_500u64).prop_map(|ms| Op::Advance { ms }),
        1 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        1 => Just(Op::Expire),
    ]
}

#[derive(Clone, Copy, Debug)]
struct Q {
    esi: u32,
    class: u8,
    deadline: u64,
    not_before: u64,
}

#[derive(Default)]
struct Model {
    queued: BTreeMap<u64, Q>,
    in_flight: BTreeMap<u64, Q>,
    terminal: BTreeSet<u64>,
    accepted: u64,
    /// Dispatch times per ESI (for the rate bound).
    sends: BTreeMap<u32, Vec<u64>>,
}

impl Model {
    fn esi_in_flight(&self, esi: u32) -> u32 {
        self.in_flight.values().filter(|q| q.esi == esi).count() as u32
    }
}

fn name(esi: u32) -> EsiId {
    EsiId::new(format!("ESI-{esi}"))
}

/// Runs the ops; `strict` = no rate limit, so "High before any ready Low" and "nothing
/// eligible when None" can be checked exactly.
#[allow(clippy::too_many_lines)]
fn run(cfg: SchedulerConfig, ops: &[Op], strict: bool, seed: u64) -> Result<(), TestCaseError> {
    let mut s = Scheduler::new(cfg);
    let cfg = *s.config();
    let mut m = Model::default();
    let mut rng = SplitMix64(seed);
    let mut now = 0u64;
    let mut next_id = 1u64;
    for op in ops {
        match *op {
            Op::Accept { esi, class, deadline, not_before } => {
                let e = name(esi);
                let q = Q { esi, class, deadline: now + deadline, not_before: now + not_before };
                let ok = s.insert(
                    QueuedDelivery {
                        id: DeliveryId(next_id),
                        esi_id: &e,
                        priority: Priority::from_class(class).unwrap(),
                        deadline: Timestamp(q.deadline),
                        not_before: Timestamp(q.not_before),
                        retries: 0,
                    },
                    Timestamp(now),
                );
                prop_assert!(ok);
                m.queued.insert(next_id, q);
                m.accepted += 1;
                next_id += 1;
            }
            Op::Dispatch { ready_mask } => {
                let ready = |esi: u32| ready_mask & (1 << esi) != 0;
                let got =
                    s.next_ready(Timestamp(now), |e| (0..ESIS).any(|i| ready(i) && name(i) == *e));
                // Deliveries a correct scheduler could hand out now, per class.
                let eligible = |m: &Model, class: u8| -> Vec<u64> {
                    m.queued
                        .iter()
                        .filter(|(_, q)| {
                            let slots = if class == 0 {
                                cfg.max_in_flight
                            } else {
                                cfg.max_in_flight - cfg.reserved_for_high
                            };
                            q.class == class
                                && q.not_before <= now
                                && q.deadline > now
                                && ready(q.esi)
                                && m.esi_in_flight(q.esi) < slots
                        })
                        .map(|(&id, _)| id)
                        .collect()
                };
                match got {
                    Some(d) => {
                        let id = d.id.0;
                        prop_assert!(!m.in_flight.contains_key(&id), "dispatched twice: {id}");
                        let q = m.queued.remove(&id);
                        prop_assert!(q.is_some(), "unknown or final delivery {id} dispatched");
                        let q = q.unwrap();
                        prop_assert!(ready(q.esi));
                        prop_assert!(q.not_before <= now, "{id} before its retry time");
                        prop_assert!(q.deadline > now, "{id} dispatched at/after its deadline");
                        prop_assert_eq!(d.priority.class(), q.class);
                        let slots = if q.class == 0 {
                            cfg.max_in_flight
                        } else {
                            cfg.max_in_flight - cfg.reserved_for_high
                        };
                        prop_assert!(m.esi_in_flight(q.esi) < slots, "per-ESI limit exceeded");
                        if strict && q.class != 0 {
                            let highs = eligible(&m, 0);
                            prop_assert!(
                                highs.is_empty(),
                                "{id} (class {}) went before High {highs:?}",
                                q.class
                            );
                        }
                        m.in_flight.insert(id, q);
                        m.sends.entry(q.esi).or_default().push(now);
                    }
                    None if strict => {
                        for c in 0..3 {
                            let e = eligible(&m, c);
                            prop_assert!(e.is_empty(), "nothing dispatched but {e:?} eligible");
                        }
                    }
                    None => {}
                }
            }
            Op::Result { pick, kind } => {
                if m.in_flight.is_empty() {
                    prop_assert!(s.in_flight() == 0);
                    continue;
                }
                let id = *m.in_flight.keys().nth(pick % m.in_flight.len()).unwrap();
                let outcome = match kind {
                    0 => Outcome::Delivered,
                    1 => Outcome::Failed { retryable: true },
                    2 => Outcome::Failed { retryable: false },
                    3 => Outcome::Undeliverable,
                    _ => Outcome::Requeue,
                };
                let q = m.in_flight.remove(&id).unwrap();
                let r = s.on_result(DeliveryId(id), outcome, Timestamp(now), &mut rng);
                match r {
                    Ok(Resolution::Done | Resolution::GaveUp | Resolution::Expired) => {
                        m.terminal.insert(id);
                    }
                    Ok(Resolution::Retry { at }) => {
                        prop_assert!(at.0 > now && at.0 < q.deadline);
                        m.queued.insert(id, Q { not_before: at.0, ..q });
                    }
                    Ok(Resolution::Requeued) => {
                        prop_assert!(q.deadline > now);
                        m.queued.insert(id, Q { not_before: q.not_before.min(now), ..q });
                    }
                    Err(e) => prop_assert!(false, "{e:?}"),
                }
            }
            Op::Advance { ms } => now += ms,
            Op::Cancel { pick } => {
                if let Some((&id, &q)) = m.queued.iter().nth(pick % m.queued.len().max(1)) {
                    if s.remove(DeliveryId(id)) {
                        m.queued.remove(&id);
                        m.terminal.insert(id);
                    } else {
                        // Already expired inside the scheduler; `expire_due` will report it.
                        prop_assert!(q.deadline <= now, "queued {id} not removable");
                    }
                }
                if let Some(&id) = m.in_flight.keys().next() {
                    prop_assert!(!s.remove(DeliveryId(id)), "removed an in-flight delivery");
                }
            }
            Op::Expire => {
                for id in s.expire_due(Timestamp(now)) {
                    let q = m.queued.remove(&id.0);
                    prop_assert!(q.is_some_and(|q| q.deadline <= now), "bad expiry {id:?}");
                    m.terminal.insert(id.0);
                }
                prop_assert!(m.queued.values().all(|q| q.deadline > now), "missed an expiry");
            }
        }
        prop_assert_eq!(s.in_flight(), m.in_flight.len());
        prop_assert_eq!(s.len_by_class().iter().sum::<usize>(), s.len());
        for esi in 0..ESIS {
            prop_assert!(s.esi_in_flight(&name(esi)) <= cfg.max_in_flight);
            prop_assert_eq!(s.esi_in_flight(&name(esi)), m.esi_in_flight(esi));
        }
    }
    // Time passes beyond every deadline; results come back; everything ends.
    let end =
        m.queued.values().chain(m.in_flight.values()).map(|q| q.deadline).max().unwrap_or(0) + 1;
    let ids: Vec<u64> = m.in_flight.keys().copied().collect();
    for id in ids {
        let r = s.on_result(DeliveryId(id), Outcome::Delivered, Timestamp(end), &mut rng);
        prop_assert_eq!(r, Ok(Resolution::Done));
        m.in_flight.remove(&id);
        m.terminal.insert(id);
    }
    prop_assert!(s.next_ready(Timestamp(end), |_| true).is_none());
    for id in s.expire_due(Timestamp(end)) {
        prop_assert!(m.queued.remove(&id.0).is_some());
        m.terminal.insert(id.0);
    }
    prop_assert!(m.queued.is_empty(), "never terminal: {:?}", m.queued);
    prop_assert!(s.is_empty());
    prop_assert_eq!(m.terminal.len() as u64, m.accepted);
    prop_assert_eq!(s.next_wakeup(), None);
    // Rate bound: in any window [t1, t2], sends ≤ burst + rate · (t2 − t1).
    if let Some(l) = cfg.rate {
        for times in m.sends.values() {
            for (i, &t1) in times.iter().enumerate() {
                for (j, &t2) in times.iter().enumerate().skip(i) {
                    let n = (j - i + 1) as u64;
                    let allowed = u64::from(l.burst) + (t2 - t1) * u64::from(l.per_second) / 1000;
                    prop_assert!(n <= allowed, "{n} sends in [{t1}, {t2}] > {allowed}");
                }
            }
        }
    }
    Ok(())
}

fn config() -> impl Strategy<Value = SchedulerConfig> {
    (1..5u32, 0..2u32, 0..4u32, 1..5u32).prop_map(|(max, reserved, streak, attempts)| {
        SchedulerConfig {
            max_in_flight: max,
            reserved_for_high: reserved,
            rate: None,
            max_attempts: attempts,
            backoff: Backoff { base: Duration::from_millis(50), max: Duration::from_millis(800) },
            max_medium_streak: streak,
            low_urgency: Duration::from_millis(300),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn invariants_without_rate_limit(cfg in config(), ops in prop::collection::vec(op(), 1..200), seed in any::<u64>()) {
        run(cfg, &ops, true, seed)?;
    }

    #[test]
    fn invariants_with_rate_limit(
        cfg in config(),
        rate in (1..20u32, 1..4u32),
        ops in prop::collection::vec(op(), 1..200),
        seed in any::<u64>(),
    ) {
        let cfg = SchedulerConfig { rate: Some(RateLimit { per_second: rate.0, burst: rate.1 }), ..cfg };
        run(cfg, &ops, false, seed)?;
    }
}
