//! Durable accept rate: group commit vs. one write transaction per accept
//! (`cargo bench -p gateway --bench store`). Each sample submits accepts from 16 threads into a
//! store in a temp dir; every accept returns only after its fsynced commit.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::many_single_char_names)]

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gateway::model::{
    EsiId, Eui64, NewDelivery, NewRequest, PartyId, Priority, RequestKind, Timestamp,
};
use gateway::store::{Store, StoreConfig};

const THREADS: u64 = 16;

fn one(n: u64) -> (NewRequest, Vec<NewDelivery>) {
    (
        NewRequest {
            kind: RequestKind::Message,
            priority: Priority::Low,
            accepted_at: Timestamp(n),
            deadline: Timestamp(n + 86_400_000),
            party: PartyId("rep-0042".into()),
            transaction: Some(format!("tx-{n}")),
            payload: format!("{n:08} Planned outage Tue 10:00-12:00.").into_bytes(),
        },
        vec![NewDelivery {
            esi_id: EsiId::new(format!("10443720{:09}", n % 100)),
            eui64: Eui64(n),
            undeliverable: None,
        }],
    )
}

/// Time for `iters` accepts from THREADS threads.
fn run(store: &Arc<Store>, iters: u64) -> Duration {
    let next = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let hs: Vec<_> = (0..THREADS)
        .map(|_| {
            let (store, next) = (Arc::clone(store), Arc::clone(&next));
            std::thread::spawn(move || loop {
                let n = next.fetch_add(1, Relaxed);
                if n >= iters {
                    break;
                }
                let (r, d) = one(n);
                store.accept(r, d).unwrap();
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    t0.elapsed()
}

fn accept(c: &mut Criterion) {
    let mut g = c.benchmark_group("accept_16_threads");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    for (name, cfg) in [
        ("group_commit", StoreConfig::default()),
        ("one_txn_per_accept", StoreConfig { max_batch: 1, ..StoreConfig::default() }),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path().join("s.redb"), cfg).unwrap();
        let store = Arc::new(store);
        g.bench_function(name, |b| b.iter_custom(|iters| run(&store, iters)));
    }
    g.finish();
}

criterion_group!(benches, accept);
criterion_main!(benches);
