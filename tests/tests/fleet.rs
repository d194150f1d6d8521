//! Scale-out on a shared broker (design.md §7): two gateway processes with distinct ids, each
//! with its own simulated ESI (its own `esi-sim` process), on the Mosquitto at 127.0.0.1:1883
//! under a base topic unique to this run. Two portal consumers share one subscription group
//! (`$share/<group>/<base>/+/event/#`): every event reaches the group exactly once (QoS 1, no
//! reconnects), spread over both consumers; requests reach the gateway whose topic they were
//! published on, and only it acts on them.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::many_single_char_names,
    clippy::too_many_lines
)]

use std::collections::BTreeMap;
use std::time::Duration;

use hil::gwproc::Broker;
use hil::portal::{Portal, Seen};
use hil::scenarios::{Parties, Who};
use hil::sim::{DeviceWish, Kind};
use serde_json::json;
use tests::{unique, Lab, TempDir};

const MOSQUITTO: (&str, u16) = ("127.0.0.1", 1883);
const T: Duration = Duration::from_secs(30);

fn events(seen: &[Seen]) -> BTreeMap<(String, Vec<u8>), usize> {
    let mut m = BTreeMap::new();
    for s in seen.iter().filter(|s| s.topic.contains("/event/")) {
        *m.entry((s.topic.clone(), s.payload.to_vec())).or_default() += 1;
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_one_shared_subscription_group() {
    let dir = TempDir::new("fleet").unwrap();
    let base = unique("fleet");
    let group = unique("portal");
    let parties = Parties::new();
    // The consumers first, so they are subscribed before any event exists.
    let filter = format!("$share/{group}/{base}/+/event/#");
    let mut consumers = Vec::new();
    for i in 0..2 {
        consumers.push(
            Portal::connect(
                MOSQUITTO.0,
                MOSQUITTO.1,
                &unique(&format!("consumer{i}-")),
                &base,
                std::slice::from_ref(&filter),
                T,
            )
            .await
            .unwrap_or_else(|e| panic!("Mosquitto on 127.0.0.1:1883: {e}")),
        );
    }
    let mosquitto = Broker::External { host: MOSQUITTO.0.into(), port: MOSQUITTO.1 };
    let ihd = [DeviceWish { kind: Kind::Ihd, esi: 0, wrong_key: false }];
    let lab = |name: &'static str, esi: usize, seed: u64| Lab {
        dir: dir.0.join(name),
        base_topic: base.clone(),
        gateway_id: format!("gw-{name}"),
        esi_index: esi,
        seed,
        broker: mosquitto.clone(),
        devices: ihd.to_vec(),
    };
    let (mut a, esi_a) = lab("a", 1, 41).start(&parties).await.unwrap();
    let (mut b, esi_b) = lab("b", 2, 42).start(&parties).await.unwrap();

    // Work on both: a device pairs on each, messages are delivered on each.
    for (ctx, esi) in [(&mut a, &esi_a), (&mut b, &esi_b)] {
        let ihd = ctx.sim.as_ref().unwrap().devices_on(0, Kind::Ihd).remove(0);
        ctx.pair(esi, &ihd).await.unwrap();
        let mut ids = Vec::new();
        for p in ["high", "medium", "low"] {
            let (_, d) = ctx
                .accept(
                    Who::Rep,
                    "message/send",
                    p,
                    json!({"esi_ids": [esi.esi_id], "text": format!("fleet {p}")}),
                )
                .await
                .unwrap();
            ids.extend(d);
        }
        ctx.wait_deliveries(&ids, "delivered", ctx.device_timeout).await.unwrap();
    }

    // Requests reach the gateway they were addressed to: B does not host A's ESI, and the
    // other way round.
    for (ctx, other) in [(&mut b, &esi_a), (&mut a, &esi_b)] {
        let body = json!({"party": "hil-rep", "esi_id": other.esi_id, "meter_number": other.meter,
                          "rights": ["read"]});
        ctx.expect_error(Who::Ops, "grant/add", body, "UNKNOWN_ESI").await.unwrap();
    }
    // Each gateway's events name only its own ESI; responses come from the addressed one.
    for (ctx, esi) in [(&a, &esi_a), (&b, &esi_b)] {
        let seen = ctx.portal.seen();
        let ev: Vec<&Seen> = seen
            .iter()
            .filter(|s| s.topic.contains("/event/delivery") || s.topic.contains("/event/device"))
            .collect();
        assert!(ev.len() >= 6, "{}: only {} events", ctx.portal.root, ev.len());
        for s in ev {
            assert_eq!(s.json()["esi_id"], esi.esi_id.as_str(), "{} {}", s.topic, s.json());
        }
    }

    // Every event under the base topic reached the group exactly once.
    let mut truth = events(&a.portal.seen());
    for (k, n) in events(&b.portal.seen()) {
        *truth.entry(k).or_default() += n;
    }
    let total: usize = truth.values().sum();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let group_seen = || {
        let mut m = events(&consumers[0].seen());
        for (k, n) in events(&consumers[1].seen()) {
            *m.entry(k).or_default() += n;
        }
        m
    };
    while group_seen().values().sum::<usize>() < total && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Late duplicates would show up now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = group_seen();
    let per: Vec<usize> = consumers.iter().map(|c| events(&c.seen()).values().sum()).collect();
    // Events published after the snapshot of the truth (e.g. a status poll) may be in `got`
    // only: compare on the truth's keys, and check nothing in `got` is duplicated.
    for (k, n) in &truth {
        assert_eq!(
            got.get(k).copied().unwrap_or(0),
            *n,
            "event on {} reached the group {} times, published {n} times",
            k.0,
            got.get(k).copied().unwrap_or(0)
        );
    }
    for (k, n) in &got {
        assert!(*n <= truth.get(k).copied().unwrap_or(1), "duplicate event on {}", k.0);
    }
    assert!(per.iter().all(|&n| n > 0), "the group did not spread the load: {per:?}");
    assert!(
        truth.keys().any(|k| k.0.contains("/gw-a/"))
            && truth.keys().any(|k| k.0.contains("/gw-b/"))
    );
    println!("{total} events, consumers got {per:?}");
}
