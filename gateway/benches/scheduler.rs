//! Scheduler operations with 1,000,000 Low deliveries queued
//! (`cargo bench -p gateway --bench scheduler`): the O(log n) claim, measured.
//! Baseline in the same run: the same operations on a queue of 1,000.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::many_single_char_names)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use gateway::model::{DeliveryId, EsiId, Priority, Timestamp};
use gateway::scheduler::{Outcome, QueuedDelivery, Scheduler, SchedulerConfig, SplitMix64};

const ESIS: u64 = 1000;

fn loaded(n: u64) -> (Scheduler, Vec<EsiId>) {
    let esis: Vec<EsiId> = (0..ESIS).map(|i| EsiId::new(format!("10443720{i:09}"))).collect();
    let cfg = SchedulerConfig { rate: None, ..SchedulerConfig::default() };
    let mut s = Scheduler::new(cfg);
    for i in 0..n {
        let e = &esis[(i % ESIS) as usize];
        s.insert(
            QueuedDelivery {
                id: DeliveryId(i),
                esi_id: e,
                priority: Priority::Low,
                deadline: Timestamp(86_400_000 + i),
                not_before: Timestamp(0),
                retries: 0,
            },
            Timestamp(0),
        );
    }
    (s, esis)
}

fn ops(c: &mut Criterion) {
    for n in [1_000u64, 1_000_000] {
        let (mut s, esis) = loaded(n);
        let mut g = c.benchmark_group(format!("scheduler_{n}_low_queued"));
        let mut rng = SplitMix64(1);
        let mut next_id = 10_000_000u64;
        // Dispatch one Low and complete it (the steady state of draining a backlog).
        g.bench_function("next_ready+on_result", |b| {
            b.iter(|| {
                let d = s.next_ready(Timestamp(1), |_| true).unwrap();
                s.on_result(d.id, Outcome::Delivered, Timestamp(1), &mut rng).unwrap();
                // keep the queue size constant
                next_id += 1;
                s.insert(
                    QueuedDelivery {
                        id: DeliveryId(next_id),
                        esi_id: &d.esi_id,
                        priority: Priority::Low,
                        deadline: Timestamp(90_000_000 + next_id),
                        not_before: Timestamp(0),
                        retries: 0,
                    },
                    Timestamp(1),
                );
            });
        });
        // A High arrives and is handed out ahead of the whole Low backlog.
        g.bench_function("insert_high+next_ready+on_result", |b| {
            b.iter(|| {
                next_id += 1;
                let e = &esis[(next_id % ESIS) as usize];
                s.insert(
                    QueuedDelivery {
                        id: DeliveryId(next_id),
                        esi_id: e,
                        priority: Priority::High,
                        deadline: Timestamp(600_000),
                        not_before: Timestamp(0),
                        retries: 0,
                    },
                    Timestamp(1),
                );
                let d = s.next_ready(Timestamp(1), |_| true).unwrap();
                assert_eq!(d.priority, Priority::High);
                s.on_result(d.id, Outcome::Delivered, Timestamp(1), &mut rng).unwrap();
            });
        });
        g.bench_function("insert+remove", |b| {
            b.iter_batched(
                || {
                    next_id += 1;
                    next_id
                },
                |id| {
                    s.insert(
                        QueuedDelivery {
                            id: DeliveryId(id),
                            esi_id: &esis[(id % ESIS) as usize],
                            priority: Priority::Medium,
                            deadline: Timestamp(7_200_000 + id),
                            not_before: Timestamp(0),
                            retries: 0,
                        },
                        Timestamp(1),
                    );
                    black_box(s.remove(DeliveryId(id)))
                },
                BatchSize::SmallInput,
            );
        });
        g.finish();
    }
}

fn rebuild(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduler_build");
    g.sample_size(10);
    g.bench_function("insert_1M_low_in_dispatch_order", |b| {
        b.iter(|| black_box(loaded(1_000_000).0.len()));
    });
    g.finish();
}

criterion_group!(benches, ops, rebuild);
criterion_main!(benches);
