//! Broker-outage suite: the suite's own Mosquitto is stopped for 1–60 s under load. Right
//! before each outage a burst of messages is accepted, so their deliveries (and a service
//! switch change on the meter) happen while the broker is away; after it returns every one of
//! those events reaches the portal, in order per ESI (event times never go backwards per ESI,
//! and each delivery's states arrive in lifecycle order). Requests the portal published during
//! the outage are answered (a portal retries silent ones under the same transaction; counted),
//! and the end-of-run accounting of [`super::load`] holds.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::gw::esi_id;
use crate::portal::ok;
use crate::report::{stats_ms, Report};
use crate::suites::load::Load;
use crate::world::{secs, World, WorldOptions};
use crate::Result;

/// Options of the outage suite.
#[derive(Debug, Clone)]
pub struct OutageOptions {
    pub seed: u64,
    /// Outage lengths in seconds.
    pub outages: Vec<u64>,
    /// Messages accepted right before each outage.
    pub burst: usize,
}

impl OutageOptions {
    pub fn long(seed: u64) -> Self {
        Self { seed, outages: vec![1, 5, 15, 30, 60], burst: 20 }
    }

    pub fn short(seed: u64) -> Self {
        Self { seed, outages: vec![1, 4], burst: 10 }
    }
}

fn lifecycle(s: &str) -> u8 {
    match s {
        "accepted" => 0,
        "queued" => 1,
        "sent" => 2,
        "delivered" => 3,
        "confirmed" => 4,
        _ => 5,
    }
}

pub async fn run(o: &OutageOptions) -> Result<Report> {
    let mut rep = Report::new("broker outage (own Mosquitto stopped under load)");
    let mut wo = WorldOptions::new("outage");
    wo.sim.seed = o.seed;
    let mut w = World::start(&wo).await?;
    let mut load = Load::new(o.seed);
    load.provisioning = false;
    let rp = w.party("rep")?.clone();
    load.run_for(&w, secs(2), Duration::from_millis(100)).await?;
    let mut reconnect = Vec::new();
    let mut burst_ids: Vec<u64> = Vec::new();
    let mut switch_events_expected = 0usize;
    let start_mark = w.portal.mark();
    for (k, d) in o.outages.iter().enumerate() {
        // A burst the gateway accepts now and delivers during the outage.
        for i in 0..o.burst {
            let e = i % w.esis();
            let ihd = w
                .sim
                .devices
                .iter()
                .find(|x| x.esi == e && x.kind == "ihd")
                .map(|x| x.eui64.clone())
                .unwrap_or_default();
            let body = json!({"esi_ids": [esi_id(e)], "devices": [ihd], "priority": if i % 2 == 0 { "high" } else { "low" },
                              "text": format!("Outage {k}.{i}"), "duration_minutes": 60});
            let r = w
                .portal
                .call(&rp, "message/send", &body, &format!("burst-{k}-{i}"), secs(30))
                .await?;
            burst_ids.push(ok(&r)?["message_id"].as_u64().ok_or("no message id")?);
        }
        let m = w.mosquitto.as_mut().ok_or("no mosquitto")?;
        m.stop()?;
        // During the outage: the meter's switch changes, and the portal keeps publishing
        // (its client queues the requests until it reconnects).
        w.sim.control("switch toggle esi 0")?;
        switch_events_expected += 1;
        let back_at = Instant::now() + secs(*d);
        while Instant::now() < back_at {
            let _ = load.send_next(&w).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let from = w.portal.mark();
        let t0 = Instant::now();
        w.mosquitto.as_mut().ok_or("no mosquitto")?.resume()?;
        // The gateway is back when it republishes its state.
        w.portal.wait_online(from, secs(60)).await?;
        reconnect.push(t0.elapsed());
        rep.fig(
            &format!("outage {d} s: broker back → gateway online"),
            format!("{} ms", t0.elapsed().as_millis()),
        );
        load.run_for(&w, secs(2), Duration::from_millis(100)).await?;
    }
    rep.fig("outages", format!("{:?} s", o.outages));
    rep.fig("broker back → gateway online again", stats_ms(&reconnect));
    // Every burst delivery's `delivered` event reached the portal.
    let topic = format!("{}/event/delivery", w.root);
    let wanted: std::collections::BTreeSet<u64> = burst_ids.iter().copied().collect();
    let got = crate::wait_until(secs(120), "delivered events of the bursts", || {
        let wanted = &wanted;
        let seen = w.portal.seen();
        let n = seen
            .iter()
            .filter(|s| s.topic == topic && s.json()["state"] == "delivered")
            .filter_map(|s| s.json()["message_id"].as_u64())
            .filter(|m| wanted.contains(m))
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        async move { (n == wanted.len()).then_some(n) }
    })
    .await;
    match got {
        Ok(n) => rep.fig(
            "burst deliveries during outages whose events arrived",
            format!("{n} / {}", wanted.len()),
        ),
        Err(e) => rep.check(false, || format!("events lost: {e}")),
    }
    // Order: per ESI, event times never go backwards; per delivery, states in lifecycle order.
    let seen = w.portal.seen();
    let mut last_at: BTreeMap<String, String> = BTreeMap::new();
    let mut last_state: BTreeMap<String, u8> = BTreeMap::new();
    let (mut events, mut out_of_order, mut esi_inversions, mut worst_ms) =
        (0usize, 0usize, 0usize, 0i64);
    for s in seen.iter().skip(start_mark).filter(|s| s.topic == topic) {
        let v: Value = s.json();
        events += 1;
        let esi = v["esi_id"].as_str().unwrap_or("").to_owned();
        let at = v["at"].as_str().unwrap_or("").to_owned();
        if let Some(prev) = last_at.get(&esi) {
            if at < *prev {
                // Events of different deliveries are produced by concurrent tasks (request
                // handler, dispatcher): reported, not failed.
                esi_inversions += 1;
                worst_ms = worst_ms.max(ms_between(&at, prev));
            }
        }
        last_at.insert(esi, at);
        let key = format!("{}", v["delivery_id"]);
        let st = lifecycle(v["state"].as_str().unwrap_or(""));
        if let Some(p) = last_state.get(&key) {
            if st < *p {
                out_of_order += 1;
                rep.check(false, || {
                    format!("delivery {key}: state {} after a later one", v["state"])
                });
            }
        }
        last_state.insert(key, st);
    }
    rep.fig(
        "delivery events checked / per-delivery state order violations",
        format!("{events} / {out_of_order}"),
    );
    rep.fig(
        "per-ESI event time inversions (across deliveries; largest)",
        format!("{esi_inversions} ({worst_ms} ms)"),
    );
    // The switch changes made during outages are in the meter events / retained status.
    let meter_events =
        seen.iter().skip(start_mark).filter(|s| s.topic.ends_with("/event/meter")).count();
    rep.fig(
        "event/meter seen (switch toggled during each outage)",
        format!("{meter_events} (toggles: {switch_events_expected})"),
    );
    rep.check(meter_events >= switch_events_expected, || {
        format!("{meter_events} meter events for {switch_events_expected} switch changes")
    });
    load.settle(&w, &mut rep, secs(30)).await?;
    w.gateway.stop(secs(20))?;
    match w.verify_audit() {
        Ok(n) => rep.fig("audit records verified", n),
        Err(e) => rep.check(false, || e),
    }
    Ok(rep)
}

/// Milliseconds from RFC 3339 `a` to `b` (same date assumed; 0 if unparsable).
fn ms_between(a: &str, b: &str) -> i64 {
    let ms = |s: &str| -> Option<i64> {
        let t = s.split('T').nth(1)?.trim_end_matches('Z');
        let mut p = t.split(':');
        let h: i64 = p.next()?.parse().ok()?;
        let m: i64 = p.next()?.parse().ok()?;
        let sec: f64 = p.next()?.parse().ok()?;
        Some((h * 3600 + m * 60) * 1000 + (sec * 1000.0).round() as i64)
    };
    match (ms(a), ms(b)) {
        (Some(x), Some(y)) => y - x,
        _ => 0,
    }
}
