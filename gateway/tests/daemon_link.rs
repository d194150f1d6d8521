//! Link faults and restarts: the coordinator unplugged and replugged with work queued and in
//! flight, a coordinator reset, and a daemon crash/restart with work in flight. Nothing accepted
//! is lost: every delivery ends in a final state with a reason.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::many_single_char_names,
    clippy::float_cmp,
    clippy::format_push_string
)]

mod common;

use std::time::Duration;

use common::*;
use esi_sim::SimConfig;
use gateway::coordinator::LinkStatus;
use gateway::error::ErrorCode;
use gateway::ops::types::{SendMessage, Targets};
use gateway::ops::{Event, Gateway};

fn message(text: &str, priority: &str) -> SendMessage {
    SendMessage {
        targets: Targets { esi_ids: vec![esi_id(0)], ..Targets::default() },
        priority: Some(priority.into()),
        text: text.into(),
        duration_minutes: Some(60),
        ..SendMessage::default()
    }
}

/// Waits until every delivery of the requests is final; returns (request, state, last_error).
async fn all_final(
    gw: &Gateway,
    requests: &[u64],
    secs: u64,
) -> Vec<(u64, String, Option<String>)> {
    wait_for(secs, "all deliveries final", || async {
        let mut out = Vec::new();
        for &r in requests {
            for d in gw.message_status(r).await.unwrap().deliveries {
                if matches!(d.state.as_str(), "queued" | "sent") {
                    return None;
                }
                out.push((r, d.state, d.last_error));
            }
        }
        Some(out)
    })
    .await
}

/// A newer message replaces the ESI's current one (se10.md §10), so an older message still
/// waiting for its radio push may end `failed` ("replaced …"); anything else must be delivered.
fn check_outcomes(out: &[(u64, String, Option<String>)]) {
    let last = out.iter().map(|o| o.0).max().unwrap();
    for (r, state, err) in out {
        match state.as_str() {
            "delivered" | "confirmed" => {}
            "failed" if *r != last && err.as_deref().is_some_and(|e| e.contains("replaced")) => {}
            _ => panic!("request {r}: {state} ({err:?})"),
        }
    }
    assert!(out.iter().any(|o| o.0 == last && o.1 == "delivered"), "{out:?}");
}

async fn wait_link(gw: &Gateway, want: impl Fn(LinkStatus) -> bool, what: &str) {
    wait_for(30, what, || async {
        gw.health().all().first().is_some_and(|h| want(h.link)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplug_and_replug_mid_queue_loses_nothing() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let sim = SimRun::start(dir.path(), SimConfig::new(31, 1, 1));
    let d = start(config(dir.path(), &sim.links, "")).await;
    let gw = d.gateway().clone();
    wait_online(&gw).await;
    provision_and_pair(&gw, &sim, 0, 0).await;
    let mut rx = gw.subscribe();

    // Three messages, then the USB cable is pulled while they are in flight / queued.
    let mut ids = Vec::new();
    for (i, p) in ["low", "medium", "high"].iter().enumerate() {
        ids.push(
            gw.send_message(&tdsp(), message(&format!("notice {i}"), p)).await.unwrap().request_id,
        );
    }
    sim.control("unplug for 2s");
    wait_link(&gw, |l| l != LinkStatus::Online, "link down").await;
    wait_event(
        &mut rx,
        10,
        "offline event",
        |e| matches!(e, Event::Coordinator(c) if c.state == "offline"),
    )
    .await;
    // Synchronous operations fail fast while it is away; queued work waits.
    assert_eq!(gw.meter_read(&esi_id(0)).await.unwrap_err().code, ErrorCode::CoordinatorOffline);
    // The last status is still shown, marked stale, never guessed.
    let st = gw.meter_status(&esi_id(0), false).await.unwrap();
    assert_eq!((st.power.as_deref(), st.stale, st.link.as_str()), (Some("on"), true, "offline"));
    assert_eq!(
        gw.meter_status(&esi_id(0), true).await.unwrap_err().code,
        ErrorCode::CoordinatorOffline
    );
    ids.push(
        gw.send_message(&tdsp(), message("while unplugged", "high")).await.unwrap().request_id,
    );
    let st = gw.message_status(*ids.last().unwrap()).await.unwrap();
    assert_eq!(st.deliveries[0].state, "queued");

    // Replugged: the supervisor reopens the port (new pty behind the same link), resyncs, and
    // the queue drains.
    wait_event(
        &mut rx,
        30,
        "online again",
        |e| matches!(e, Event::Coordinator(c) if c.state == "online"),
    )
    .await;
    let out = all_final(&gw, &ids, 60).await;
    check_outcomes(&out);
    // A 2 s unplug is shorter than the heartbeat timeout: the link session was kept.
    assert_eq!(gw.health().all()[0].sessions, 1);
    // The slot table was re-read: the device is still paired.
    assert_eq!(gw.devices(&esi_id(0)).await.unwrap().devices[0].state, "paired");
    sim.check();
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_reset_resyncs_and_work_continues() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let sim = SimRun::start(dir.path(), SimConfig::new(32, 1, 1));
    let d = start(config(dir.path(), &sim.links, "")).await;
    let gw = d.gateway().clone();
    wait_online(&gw).await;
    provision_and_pair(&gw, &sim, 0, 0).await;
    let mut rx = gw.subscribe();
    let first = gw.send_message(&tdsp(), message("before reset", "high")).await.unwrap().request_id;
    // A coordinator without non-volatile storage loses its slot table on reset: the resync
    // finds the device gone and says so; the message that was on its way ends with a reason.
    sim.control("reset");
    let eui = sim.eui(0);
    let e = wait_event(
        &mut rx,
        30,
        "device gone",
        |e| matches!(e, Event::Device(d) if d.eui64 == eui && d.state == "unpaired"),
    )
    .await;
    let Event::Device(e) = e else { unreachable!() };
    assert!(e.reason.unwrap().contains("slot table"));
    wait_link(&gw, |l| l == LinkStatus::Online, "online").await;
    let out = all_final(&gw, &[first], 60).await;
    assert!(matches!(out[0].1.as_str(), "delivered" | "undeliverable"), "{out:?}");
    assert_eq!(
        gw.send_message(&tdsp(), message("nobody there", "high")).await.unwrap_err().code,
        ErrorCode::NotPaired
    );
    // Power-cycled by the installer and provisioned again, it pairs again and work continues.
    sim.control("device 1 leave");
    provision_and_pair(&gw, &sim, 0, 0).await;
    let second = gw.send_message(&tdsp(), message("after reset", "high")).await.unwrap().request_id;
    check_outcomes(&all_final(&gw, &[second], 60).await);
    sim.check();
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_restart_with_work_in_flight_loses_nothing() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let sim = SimRun::start(dir.path(), SimConfig::new(33, 1, 1));
    let cfg = config(dir.path(), &sim.links, "");
    let d = start(cfg.clone()).await;
    let gw = d.gateway().clone();
    wait_online(&gw).await;
    provision_and_pair(&gw, &sim, 0, 0).await;

    // Some work goes out right before the crash (it may be `sent` when the process dies) …
    let mut ids = vec![
        gw.send_message(&tdsp(), message("racing the crash", "high")).await.unwrap().request_id,
    ];
    // … and some is queued behind an unplugged coordinator.
    sim.control("unplug for 4s");
    wait_link(&gw, |l| l != LinkStatus::Online, "link down").await;
    for i in 0..3 {
        ids.push(
            gw.send_message(&tdsp(), message(&format!("queued {i}"), "medium"))
                .await
                .unwrap()
                .request_id,
        );
    }
    drop(gw);
    d.abort().await;

    // A new process on the same store: everything accepted is still there and completes.
    let d = start(cfg).await;
    let gw = d.gateway().clone();
    for &r in &ids {
        let s = gw.message_status(r).await.unwrap();
        assert_eq!(s.deliveries.len(), 1, "request {r} survived the restart");
    }
    assert_eq!(gw.devices(&esi_id(0)).await.unwrap().devices[0].state, "paired");
    let out = all_final(&gw, &ids, 60).await;
    check_outcomes(&out);
    // The restarted daemon did not invent a second message id space: ids keep increasing.
    let next = gw.send_message(&tdsp(), message("after restart", "high")).await.unwrap().request_id;
    assert!(next > *ids.iter().max().unwrap());
    tokio::time::sleep(Duration::from_millis(10)).await;
    sim.check();
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_unplug_ends_the_session_and_requeues_work_in_flight() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let sim = SimRun::start(dir.path(), SimConfig::new(34, 1, 1));
    // The coordinator's heartbeat comes every 10 s: the watchdog must be longer than that.
    let d = start(config_with_heartbeat(dir.path(), &sim.links, "11s", "")).await;
    let gw = d.gateway().clone();
    wait_online(&gw).await;
    provision_and_pair(&gw, &sim, 0, 0).await;
    let mut rx = gw.subscribe();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            gw.send_message(&tdsp(), message(&format!("notice {i}"), "medium"))
                .await
                .unwrap()
                .request_id,
        );
    }
    sim.control("unplug for 14s");
    wait_link(&gw, |l| l != LinkStatus::Online, "link down").await;
    ids.push(gw.send_message(&tdsp(), message("while away", "high")).await.unwrap().request_id);
    wait_event(
        &mut rx,
        40,
        "online again",
        |e| matches!(e, Event::Coordinator(c) if c.state == "online"),
    )
    .await;
    // Away longer than the watchdog: a new session was needed.
    assert!(gw.health().all()[0].sessions >= 2);
    check_outcomes(&all_final(&gw, &ids, 60).await);
    sim.check();
    d.shutdown().await;
}
