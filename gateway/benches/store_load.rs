//! Load tool for the gateway store and scheduler (design.md §10 targets). Not a criterion bench:
//! it runs each scenario once at full size and prints figures next to a same-run baseline.
//!
//! ```text
//! cargo bench -p gateway --bench store_load -- [--queued N] [--fanout F] [--threads T]
//!     [--accepts N] [--baseline-accepts N] [--high N] [--esis N] [--dir PATH] [--skip-accept]
//! ```
//!
//! (a) durable accepts/s: group commit vs. one transaction per accept, T submitter threads.
//! (c) fill N queued Low deliveries (requests of F recipients), then restart: open + recover +
//!     scheduler rebuild, and bytes on disk per queued delivery; baseline: restart of an empty store.
//! (b) High dispatch latency (accept call → scheduler hands it out) while the N Low backlog is
//!     being dispatched over a simulated link, with background Low accepts; baseline: same with
//!     an empty backlog.
#![allow(
    clippy::cast_precision_loss,
    clippy::too_many_lines,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::many_single_char_names
)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway::model::{
    DeliveryId, EsiId, Eui64, NewDelivery, NewRequest, PartyId, Priority, PriorityDeadlines,
    RequestKind, Timestamp,
};
use gateway::scheduler::{
    rebuild, Outcome, QueuedDelivery, RateLimit, Scheduler, SchedulerConfig, SplitMix64,
};
use gateway::store::{Store, StoreConfig};

#[derive(Clone, Debug)]
struct Args {
    queued: u64,
    fanout: u64,
    threads: u64,
    accepts: u64,
    baseline_accepts: u64,
    high: u64,
    esis: u64,
    background: u64,
    window: u64,
    dir: Option<PathBuf>,
    skip_accept: bool,
    only_accept: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        queued: 1_000_000,
        fanout: 1,
        threads: 32,
        accepts: 200_000,
        baseline_accepts: 2_000,
        high: 1_000,
        esis: 100,
        background: 2,
        window: 4096,
        dir: None,
        skip_accept: false,
        only_accept: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut num = || it.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        match k.as_str() {
            "--queued" => a.queued = num(),
            "--fanout" => a.fanout = num().max(1),
            "--threads" => a.threads = num().max(1),
            "--accepts" => a.accepts = num(),
            "--baseline-accepts" => a.baseline_accepts = num(),
            "--high" => a.high = num(),
            "--esis" => a.esis = num().max(1),
            "--background" => a.background = num(),
            "--window" => a.window = num().max(1),
            "--dir" => a.dir = it.next().map(PathBuf::from),
            "--skip-accept" => a.skip_accept = true,
            "--only-accept" => a.only_accept = true,
            _ => {} // `--bench` and friends from cargo
        }
    }
    a
}

fn esi(n: u64) -> EsiId {
    EsiId::new(format!("10443720{n:09}"))
}

/// A Low/High message request like `message/send` produces (payload: ~70 bytes of postcard).
fn request(p: Priority, n: u64) -> NewRequest {
    let now = Timestamp::now();
    NewRequest {
        kind: RequestKind::Message,
        priority: p,
        accepted_at: now,
        deadline: PriorityDeadlines::default().deadline(p, now, None),
        party: PartyId("rep-0042".into()),
        transaction: Some(format!("tx-{n}")),
        payload: format!("{n:08} Planned outage Tue 10:00-12:00. Reply to confirm.").into_bytes(),
    }
}

fn recipients(first_esi: u64, fanout: u64, esis: u64) -> Vec<NewDelivery> {
    (0..fanout)
        .map(|k| NewDelivery {
            esi_id: esi((first_esi + k) % esis),
            eui64: Eui64(0x000D_6F00_0000_0000 + k),
            undeliverable: None,
        })
        .collect()
}

/// Flushes other dirty pages first, so that one phase's writeback does not slow the next
/// phase's fsyncs (ext4 commits its journal for everything on an fsync).
fn settle() {
    let _ = std::process::Command::new("sync").status();
    std::thread::sleep(Duration::from_millis(500));
}

fn fresh_dir(base: &Path, name: &str) -> PathBuf {
    settle();
    let d = base.join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `total` accepts from `threads` threads; returns accepts/s and mean batch size.
fn accept_rate(dir: &Path, cfg: StoreConfig, threads: u64, total: u64, esis: u64) -> (f64, f64) {
    let (store, _) = Store::open(dir.join("s.redb"), cfg).unwrap();
    let store = Arc::new(store);
    let next = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let (store, next) = (Arc::clone(&store), Arc::clone(&next));
            std::thread::spawn(move || loop {
                let n = next.fetch_add(1, Relaxed);
                if n >= total {
                    break;
                }
                store.accept(request(Priority::Low, n), recipients(n, 1, esis)).unwrap();
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let secs = t0.elapsed().as_secs_f64();
    let st = store.writer_stats();
    let batches = st.batches.load(Relaxed).max(1) as f64;
    (total as f64 / secs, st.jobs.load(Relaxed) as f64 / batches)
}

/// A window of outstanding requests, as an async daemon has: `acquire` blocks while `max` are
/// outstanding; the commit callback releases.
struct Window {
    n: std::sync::Mutex<u64>,
    cv: std::sync::Condvar,
    max: u64,
}

impl Window {
    fn acquire(&self) {
        let mut n = self.n.lock().unwrap();
        while *n >= self.max {
            n = self.cv.wait(n).unwrap();
        }
        *n += 1;
    }
    fn release(&self) {
        *self.n.lock().unwrap() -= 1;
        self.cv.notify_all();
    }
    fn wait_empty(&self) {
        let mut n = self.n.lock().unwrap();
        while *n > 0 {
            n = self.cv.wait(n).unwrap();
        }
    }
}

/// `requests` accepts of `fanout` recipients each, submitted with `accept_with` keeping `window`
/// outstanding (how the MQTT bridge submits). Returns the elapsed time and mean batch size.
fn accept_pipelined(
    store: &Store,
    requests: u64,
    fanout: u64,
    esis: u64,
    window: u64,
) -> (Duration, f64) {
    let w = Arc::new(Window {
        n: std::sync::Mutex::new(0),
        cv: std::sync::Condvar::new(),
        max: window,
    });
    let (b0, j0) =
        (store.writer_stats().batches.load(Relaxed), store.writer_stats().jobs.load(Relaxed));
    let t0 = Instant::now();
    for n in 0..requests {
        w.acquire();
        let w2 = Arc::clone(&w);
        store
            .accept_with(
                request(Priority::Low, n),
                recipients(n * fanout, fanout, esis),
                move |r| {
                    r.unwrap();
                    w2.release();
                },
            )
            .unwrap();
    }
    w.wait_empty();
    let el = t0.elapsed();
    let batches = (store.writer_stats().batches.load(Relaxed) - b0).max(1) as f64;
    let jobs = (store.writer_stats().jobs.load(Relaxed) - j0) as f64;
    (el, jobs / batches)
}

fn fill(dir: &Path, a: &Args) -> Duration {
    let (store, _) = Store::open(dir.join("s.redb"), StoreConfig::default()).unwrap();
    let (el, _) = accept_pipelined(&store, a.queued / a.fanout, a.fanout, a.esis, a.window);
    // A crash image: the file as a SIGKILL now would leave it (every commit is written and
    // fsynced; the writer is idle; the file is still marked open).
    store.sync().unwrap();
    std::fs::create_dir_all(dir.join("crashed")).unwrap();
    std::fs::copy(dir.join("s.redb"), dir.join("crashed").join("s.redb")).unwrap();
    for t in store.space_report().unwrap() {
        println!(
            "    table {:<15} {:>9} rows  stored {:>10} B  btree {:>9} B  fragmented {:>9} B",
            t.name, t.entries, t.stored_bytes, t.metadata_bytes, t.fragmented_bytes
        );
    }
    store.close();
    el
}

fn sched_cfg() -> SchedulerConfig {
    SchedulerConfig {
        max_in_flight: 4,
        reserved_for_high: 1,
        rate: Some(RateLimit { per_second: 20, burst: 20 }),
        ..SchedulerConfig::default()
    }
}

/// Restart: open + recover + rebuild. Returns (open, rebuild, queued).
fn restart(dir: &Path) -> (Duration, Duration, u64, Store, Scheduler) {
    let t0 = Instant::now();
    let (store, rec) = Store::open(dir.join("s.redb"), StoreConfig::default()).unwrap();
    let t_open = t0.elapsed();
    let t1 = Instant::now();
    let s = rebuild(&store, sched_cfg(), Timestamp::now()).unwrap();
    let t_rebuild = t1.elapsed();
    let ts = Instant::now();
    let mut n = 0u64;
    store.for_each_queued(|_| n += 1).unwrap();
    println!(
        "    (of which, measured again afterwards: scan of the dispatch index, {n} rows, {:.0} ms)",
        ts.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(s.len() as u64, rec.queued);
    (t_open, t_rebuild, rec.queued, store, s)
}

/// Newly accepted deliveries for the dispatcher: ids, class, ESI, deadline, accept start.
type NewWork = (Vec<DeliveryId>, Priority, EsiId, Timestamp, Instant);

struct Latencies {
    total: Vec<Duration>,
    commit: Vec<Duration>,
    low_dispatched: u64,
}

/// High requests (one every 5 ms) while the scheduler dispatches its backlog over a simulated
/// link (each send completes after 20 ms) and `background` threads accept Low requests.
fn high_latency(store: Store, mut sched: Scheduler, a: &Args) -> Latencies {
    let store = Arc::new(store);
    let stop = Arc::new(AtomicBool::new(false));
    let (new_tx, new_rx) = mpsc::channel::<NewWork>();
    // Background Low accepts, pushed to the scheduler too.
    let bg: Vec<_> = (0..a.background)
        .map(|t| {
            let (store, stop, tx) = (Arc::clone(&store), Arc::clone(&stop), new_tx.clone());
            let esis = a.esis;
            std::thread::spawn(move || {
                let mut n = t * 1_000_000_000;
                while !stop.load(Relaxed) {
                    let req = request(Priority::Low, n);
                    let dl = req.deadline;
                    let e = esi(n % esis);
                    let acc = store.accept(req, recipients(n, 1, esis)).unwrap();
                    let ids = acc.deliveries.iter().map(|d| d.0).collect();
                    let _ = tx.send((ids, Priority::Low, e, dl, Instant::now()));
                    n += 1;
                }
            })
        })
        .collect();
    // Dispatcher: owns the scheduler.
    let dispatcher = {
        let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut rng = SplitMix64(1);
            let mut starts = std::collections::HashMap::<u64, Instant>::new();
            let mut inflight: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
            let mut lat: Vec<Duration> = Vec::new();
            let mut low = 0u64;
            let mut pending: Vec<NewWork> = Vec::new();
            loop {
                let now_i = Instant::now();
                let now = Timestamp::now();
                pending.extend(new_rx.try_iter());
                for (ids, p, e, dl, t0) in pending.drain(..) {
                    for id in ids {
                        if p == Priority::High {
                            starts.insert(id.0, t0);
                        }
                        let q = QueuedDelivery {
                            id,
                            esi_id: &e,
                            priority: p,
                            deadline: dl,
                            not_before: Timestamp(0),
                            retries: 0,
                        };
                        sched.insert(q, now);
                    }
                }
                while let Some(Reverse((t, id))) = inflight.peek().copied() {
                    if t > now_i {
                        break;
                    }
                    inflight.pop();
                    let _ = sched.on_result(DeliveryId(id), Outcome::Delivered, now, &mut rng);
                    store.mark_delivered_with(DeliveryId(id), now, |_| {}).unwrap();
                }
                while let Some(d) = sched.next_ready(now, |_| true) {
                    let t = Instant::now();
                    match starts.remove(&d.id.0) {
                        Some(t0) => lat.push(t.duration_since(t0)),
                        None => low += 1,
                    }
                    store.mark_sent_with(d.id, now, |_| {}).unwrap();
                    inflight.push(Reverse((t + Duration::from_millis(20), d.id.0)));
                }
                if stop.load(Relaxed) && starts.is_empty() {
                    break;
                }
                if let Ok(w) = new_rx.recv_timeout(Duration::from_micros(500)) {
                    pending.push(w);
                }
            }
            (lat, low)
        })
    };
    // Producer of High requests, one every 5 ms.
    let mut commit = Vec::new();
    for n in 0..a.high {
        let t0 = Instant::now();
        let req = request(Priority::High, n);
        let dl = req.deadline;
        let e = esi(n * 7 % a.esis);
        let acc = store.accept(req, recipients(n * 7, 1, a.esis)).unwrap();
        commit.push(t0.elapsed());
        let ids = acc.deliveries.iter().map(|d| d.0).collect();
        new_tx.send((ids, Priority::High, e, dl, t0)).unwrap();
        std::thread::sleep(Duration::from_millis(5).saturating_sub(t0.elapsed()));
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Relaxed);
    for h in bg {
        h.join().unwrap();
    }
    drop(new_tx);
    let (total, low) = dispatcher.join().unwrap();
    assert_eq!(total.len() as u64, a.high, "every High request dispatched");
    if let Ok(s) = Arc::try_unwrap(store) {
        s.close();
    }
    Latencies { total, commit, low_dispatched: low }
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// Bytes the files of `dir` occupy on the disk (allocated blocks): redb extends its file with
/// `set_len`, so the part of the file above its high-water mark is a hole until written.
fn dir_allocated(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.metadata().unwrap().blocks() * 512)
        .sum()
}

fn main() {
    let a = parse_args();
    let tmp = tempfile::tempdir_in(a.dir.clone().unwrap_or_else(std::env::temp_dir)).unwrap();
    let base = tmp.path();
    println!("store_load: {a:?}");
    println!("cores: {}", std::thread::available_parallelism().map_or(0, std::num::NonZero::get));

    if !a.skip_accept {
        let one = StoreConfig { max_batch: 1, ..StoreConfig::default() };
        let (r1, _) =
            accept_rate(&fresh_dir(base, "a1"), one, a.threads, a.baseline_accepts, a.esis);
        let (rg, batch) = accept_rate(
            &fresh_dir(base, "a2"),
            StoreConfig::default(),
            a.threads,
            a.accepts,
            a.esis,
        );
        println!(
            "(a) durable accepts/s, {} blocking threads: group commit {rg:.0}/s (mean batch \
             {batch:.1}) | one txn per accept {r1:.0}/s | ratio {:.1}x",
            a.threads,
            rg / r1
        );
        let d = fresh_dir(base, "a3");
        let (store, _) = Store::open(d.join("s.redb"), StoreConfig::default()).unwrap();
        let (el, batch) = accept_pipelined(&store, a.accepts, 1, a.esis, a.window);
        store.close();
        let rp = a.accepts as f64 / el.as_secs_f64();
        let d = fresh_dir(base, "a4");
        let (store, _) = Store::open(d.join("s.redb"), one).unwrap();
        let (el1, _) = accept_pipelined(&store, a.baseline_accepts, 1, a.esis, a.window);
        store.close();
        let rp1 = a.baseline_accepts as f64 / el1.as_secs_f64();
        println!(
            "(a) durable accepts/s, accept_with window {}: group commit {rp:.0}/s (mean batch \
             {batch:.1}) | one txn per accept {rp1:.0}/s | ratio {:.1}x",
            a.window,
            rp / rp1
        );
    }
    if a.only_accept {
        return;
    }

    // (c) restart, baseline: an empty store.
    let empty = fresh_dir(base, "empty");
    drop(Store::open(empty.join("s.redb"), StoreConfig::default()).unwrap());
    let (eo, er, _, estore, esched) = restart(&empty);
    println!(
        "(c) baseline restart, empty store: open+recover {:.1} ms, rebuild {:.1} ms",
        eo.as_secs_f64() * 1e3,
        er.as_secs_f64() * 1e3
    );
    // (b) baseline: empty backlog.
    let mut lb = high_latency(estore, esched, &a);
    println!(
        "(b) baseline High latency, empty backlog: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms \
         (commit p50 {:.2} / p99 {:.2} ms), Low dispatched meanwhile {}",
        pct(&mut lb.total, 0.5),
        pct(&mut lb.total, 0.99),
        pct(&mut lb.total, 1.0),
        pct(&mut lb.commit, 0.5),
        pct(&mut lb.commit, 0.99),
        lb.low_dispatched
    );

    let full = fresh_dir(base, "full");
    let tf = fill(&full, &a);
    let bytes = dir_bytes(&full);
    let allocated = dir_allocated(&full);
    println!(
        "(c) filled {} Low deliveries ({} requests x {}) in {:.1} s ({:.0} deliveries/s); \
         file length {} bytes = {:.1} B per queued delivery; allocated on disk {} bytes = {:.1} B \
         per queued delivery",
        a.queued / a.fanout * a.fanout,
        a.queued / a.fanout,
        a.fanout,
        tf.as_secs_f64(),
        a.queued as f64 / tf.as_secs_f64(),
        bytes,
        bytes as f64 / a.queued as f64,
        allocated,
        allocated as f64 / a.queued as f64
    );
    let mut last = None;
    for i in 1..=3 {
        drop(last.take());
        let (o, r, q, store, sched) = restart(&full);
        println!(
            "(c) restart #{i} with {q} queued: open+recover {:.0} ms + rebuild {:.0} ms = {:.0} ms",
            o.as_secs_f64() * 1e3,
            r.as_secs_f64() * 1e3,
            (o + r).as_secs_f64() * 1e3
        );
        last = Some((q, store, sched));
    }
    drop(last.take());
    let (o, r, q, store, sched) = restart(&full.join("crashed"));
    println!(
        "(c) restart after a crash (image of the open file) with {q} queued: open+repair+recover \
         {:.0} ms + rebuild {:.0} ms = {:.0} ms",
        o.as_secs_f64() * 1e3,
        r.as_secs_f64() * 1e3,
        (o + r).as_secs_f64() * 1e3
    );
    drop((store, sched));
    let (_, _, q, store, sched) = restart(&full);
    let mut l = high_latency(store, sched, &a);
    println!(
        "(b) High latency with {q} Low queued: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms \
         (commit p50 {:.2} / p99 {:.2} ms), Low dispatched meanwhile {}",
        pct(&mut l.total, 0.5),
        pct(&mut l.total, 0.99),
        pct(&mut l.total, 1.0),
        pct(&mut l.commit, 0.5),
        pct(&mut l.commit, 0.99),
        l.low_dispatched
    );
}
