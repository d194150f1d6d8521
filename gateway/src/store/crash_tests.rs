//! Crash safety: a child process (this test binary, re-run with an env var) accepts and
//! transitions deliveries as fast as it can and logs every acknowledged operation to a side file;
//! the parent kills it with SIGKILL at a random moment, reopens the store and checks that every
//! acknowledged operation is there and consistent. Repeated over several rounds on the same file.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::model::{PartyId, RequestKind};
use crate::scheduler::{JitterRng, SplitMix64};

const CHILD_ENV: &str = "GATEWAY_STORE_CRASH_CHILD";
const THREADS: u64 = 6;

fn side_file(dir: &Path) -> std::path::PathBuf {
    dir.join("acks.log")
}

/// The child's body: never returns normally while the env var is set.
fn child_loop(dir: &Path) {
    let (store, _) = Store::open(dir.join("store.redb"), StoreConfig::default()).unwrap();
    let store = Arc::new(store);
    let log = Arc::new(Mutex::new(
        std::fs::OpenOptions::new().create(true).append(true).open(side_file(dir)).unwrap(),
    ));
    let pid = u64::from(std::process::id());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (store, log) = (Arc::clone(&store), Arc::clone(&log));
            std::thread::spawn(move || {
                for i in 0u64.. {
                    let tag = format!("{pid}-{t}-{i}");
                    let n = 1 + (i % 3) as usize;
                    let deliveries = (0..n)
                        .map(|k| NewDelivery {
                            esi_id: EsiId::new(format!("ESI{}", (t + k as u64) % 5)),
                            eui64: Eui64(i * 8 + k as u64),
                            undeliverable: None,
                        })
                        .collect();
                    let req = NewRequest {
                        kind: RequestKind::Message,
                        priority: Priority::ALL[(i % 3) as usize],
                        accepted_at: Timestamp(i),
                        deadline: Timestamp(u64::MAX / 2),
                        party: PartyId("rep".into()),
                        transaction: Some(tag.clone()),
                        payload: tag.clone().into_bytes(),
                    };
                    let a = store.accept(req, deliveries).unwrap();
                    let first = a.deliveries[0].0 .0;
                    let line = format!("A {} {first} {n} {tag}\n", a.request_id.0);
                    // One write(2) per line, so a kill never leaves a torn line.
                    log.lock().unwrap().write_all(line.as_bytes()).unwrap();
                    // Move the first delivery along: sent, then (every other time) delivered.
                    let d = a.deliveries[0].0;
                    store.mark_sent(d, Timestamp(i)).unwrap();
                    if i % 2 == 0 {
                        store.mark_delivered(d, Timestamp(i)).unwrap();
                        let line = format!("D {}\n", d.0);
                        log.lock().unwrap().write_all(line.as_bytes()).unwrap();
                    }
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
}

#[test]
fn crash_child() {
    // Only does something when spawned by `kill_9_loses_no_acknowledged_write`.
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child_loop(Path::new(&dir));
    }
}

fn verify(dir: &Path) -> (usize, usize) {
    let (store, rec) = Store::open(dir.join("store.redb"), StoreConfig::default()).unwrap();
    assert_eq!(store.open_counts().unwrap().1, 0, "sent deliveries left after recovery");
    let f = std::fs::File::open(side_file(dir)).unwrap();
    let mut accepted = 0;
    let mut delivered: HashSet<u64> = HashSet::new();
    let mut max_request = 0;
    let mut max_delivery = 0;
    let lines: Vec<String> = BufReader::new(f).lines().map_while(Result::ok).collect();
    for line in &lines {
        // A killed child may leave one torn last line: only complete lines are acks.
        let parts: Vec<&str> = line.split(' ').collect();
        match parts.as_slice() {
            ["D", id] => {
                let Ok(id) = id.parse::<u64>() else { continue };
                delivered.insert(id);
            }
            ["A", rid, first, n, tag] => {
                let (Ok(rid), Ok(first), Ok(n)) =
                    (rid.parse::<u64>(), first.parse::<u64>(), n.parse::<u32>())
                else {
                    continue;
                };
                if tag.split('-').count() != 3 || tag.ends_with('-') {
                    continue;
                }
                let r = store.request(RequestId(rid)).unwrap();
                let r = r.unwrap_or_else(|| panic!("acknowledged request {rid} ({tag}) lost"));
                assert_eq!(r.body.payload, tag.as_bytes(), "request {rid} payload");
                assert_eq!((r.first_delivery.0, r.delivery_count), (first, n), "request {rid}");
                for d in r.delivery_ids() {
                    let d = store.delivery(d).unwrap().expect("delivery of an acked request");
                    assert_eq!(d.request_id, RequestId(rid));
                    assert!(
                        matches!(d.state, DeliveryState::Queued | DeliveryState::Delivered),
                        "{:?} in {:?}",
                        d.id,
                        d.state
                    );
                }
                accepted += 1;
                max_request = max_request.max(rid);
                max_delivery = max_delivery.max(first + u64::from(n) - 1);
            }
            _ => {}
        }
    }
    for &id in &delivered {
        let d = store.delivery(DeliveryId(id)).unwrap().expect("acked delivery");
        assert_eq!(d.state, DeliveryState::Delivered, "acknowledged mark_delivered of {id} lost");
    }
    // The dispatch index agrees with the records.
    let mut queued = 0u64;
    store
        .for_each_queued(|q| {
            queued += 1;
            assert!(q.id.0 >= 1);
        })
        .unwrap();
    assert_eq!(queued, rec.queued);
    // Ids are never reused after a crash.
    let a = store
        .accept(
            NewRequest {
                kind: RequestKind::Other(0),
                priority: Priority::Low,
                accepted_at: Timestamp(0),
                deadline: Timestamp(1),
                party: PartyId("check".into()),
                transaction: None,
                payload: vec![],
            },
            vec![NewDelivery { esi_id: EsiId::new("X"), eui64: Eui64(0), undeliverable: None }],
        )
        .unwrap();
    assert!(a.request_id.0 > max_request && a.deliveries[0].0 .0 > max_delivery);
    (accepted, delivered.len())
}

#[test]
fn kill_9_loses_no_acknowledged_write() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let seed = Instant::now().elapsed().as_nanos() as u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    let mut rng = SplitMix64(seed);
    eprintln!("crash test seed {seed}");
    let mut last = (0, 0);
    for round in 0..4 {
        let mut child = Command::new(&exe)
            .args(["--exact", "store::crash_tests::crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the child has acknowledged something in this round, then a random while.
        let before = std::fs::metadata(side_file(dir.path())).map_or(0, |m| m.len());
        let t0 = Instant::now();
        while std::fs::metadata(side_file(dir.path())).map_or(0, |m| m.len()) == before {
            assert!(t0.elapsed() < Duration::from_secs(30), "child made no progress");
            assert!(child.try_wait().unwrap().is_none(), "child exited early");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(50 + rng.next_u64() % 400));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let got = verify(dir.path());
        eprintln!("round {round}: {} acked requests, {} acked deliveries verified", got.0, got.1);
        assert!(got.0 > last.0, "no new acknowledged requests in round {round}");
        last = got;
    }
}
