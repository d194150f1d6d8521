//! Every action's happy path over MQTT, end to end with the ESI simulator on a pty: a portal
//! signs requests, the gateway provisions real (simulated) devices, delivers messages, prices
//! and DR events, reads the meter; events and retained statuses come back on MQTT. Runs on the
//! embedded broker and on the Mosquitto at 127.0.0.1:1883; every payload seen is checked
//! against its JSON Schema.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::too_many_lines,
    clippy::many_single_char_names
)]

mod common;
mod mqttkit;

use common::SimRun;
use esi_sim::SimConfig;
use gateway::daemon::Daemon;
use mqttkit::*;
use serde_json::{json, Value};

fn ok(v: &Value) -> &Value {
    assert_eq!(v["status"], "ok", "{v}");
    &v["data"]
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error: {v}"))
}

/// Waits until every delivery of `message_id` is final (polling `message/status` over MQTT).
async fn final_states(
    portal: &Portal,
    p: &Party,
    message_id: u64,
    tag: &str,
) -> Vec<(String, String)> {
    for i in 0..60 {
        let r = portal
            .call(p, "message/status", json!({"message_id": message_id}), &format!("{tag}-st{i}"))
            .await;
        let d = ok(&r)["deliveries"].as_array().unwrap().clone();
        if d.iter().all(|x| !matches!(x["state"].as_str(), Some("queued" | "sent"))) {
            return d
                .iter()
                .map(|x| {
                    (
                        x["eui64"].as_str().unwrap().to_owned(),
                        x["state"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("deliveries of {message_id} not final");
}

async fn every_action(broker: BrokerKind, seed: u64) {
    let _ = tracing_subscriber::fmt().with_env_filter("warn").with_test_writer().try_init();
    let dir = tempfile::tempdir().unwrap();
    let mut sc = SimConfig::new(seed, 1, 2);
    sc.slots = 5;
    let sim = SimRun::start(dir.path(), sc);
    let gw = unique_gw(&format!("e2e{broker:?}").to_lowercase());
    let ps = parties();
    let (host, port, section) = mqtt_section(broker, &ps, "");
    let d = Daemon::start(config(dir.path(), &gw, &sim.links, &section)).await.unwrap();
    common::wait_online(d.gateway()).await;
    let root = format!("han/{gw}");
    let portal = Portal::connect(&host, port, &root, &format!("e2e-{broker:?}"), &[]).await;
    let (ops, tdsp, rep) = (&ps[0], &ps[1], &ps[2]);
    let e0 = esi(0);

    // Grants: the TDSP provisions and reads, the REP messages, prices and runs DR.
    ok(&portal
        .call(
            ops,
            "grant/add",
            json!({"party": "tdsp", "esi_id": e0, "meter_number": "M0",
        "rights": ["provision", "deprovision", "read"]}),
            "g1",
        )
        .await);
    ok(&portal
        .call(
            ops,
            "grant/add",
            json!({"party": "rep", "esi_id": e0, "meter_number": "M0",
        "rights": ["message", "price", "drlc", "read"], "expires_at": "2099-01-01T00:00:00Z"}),
            "g2",
        )
        .await);
    let gl = portal.call(ops, "grant/list", json!({"esi_id": e0}), "g3").await;
    assert_eq!(ok(&gl)["grants"].as_array().unwrap().len(), 2);

    // Provision the IHD and the thermostat; they join; events and the retained status follow.
    for i in 0..2 {
        let r = portal
            .call(
                tdsp,
                "device/provision",
                json!({"esi_id": e0, "meter_number": "M0",
            "eui64": sim.eui(i), "install_code": sim.install_code(i), "label": format!("dev {i}"),
            "join_window_minutes": 60}),
                &format!("p{i}"),
            )
            .await;
        assert_eq!(ok(&r)["state"], "pending", "{r}");
        sim.control(&format!("device {} rejoin", i + 1));
        let eui = sim.eui(i);
        portal
            .wait(60, "paired", |s| {
                s.topic.ends_with("/event/device")
                    && s.json()["eui64"] == eui.as_str()
                    && s.json()["state"] == "paired"
            })
            .await;
    }
    let r = portal
        .call(
            tdsp,
            "device/provision",
            json!({"esi_id": e0, "meter_number": "M0",
        "eui64": sim.eui(0), "install_code": sim.install_code(0)}),
            "p-again",
        )
        .await;
    assert_eq!(code(&r), "ALREADY_PROVISIONED");
    let l = portal.call(tdsp, "device/list", json!({"esi_id": e0}), "l1").await;
    let l = ok(&l);
    assert_eq!((l["capacity"].as_u64(), l["provisioned"].as_u64()), (Some(5), Some(2)), "{l}");
    assert!(l["devices"].as_array().unwrap().iter().all(|d| d["state"] == "paired"), "{l}");
    let l = portal.call(tdsp, "device/list", json!({"esi_id": e0, "page_size": 1}), "l2").await;
    assert_eq!((ok(&l)["devices"].as_array().unwrap().len(), &ok(&l)["next_page"]), (1, &json!(1)));
    portal
        .wait(10, "retained status with devices", |s| {
            s.topic.ends_with(&format!("/esi/{e0}/status"))
                && s.json()["devices"].as_array().is_some_and(|d| d.len() == 2)
        })
        .await;

    // A message to the IHD: accepted, delivered; events per transition.
    let r = portal
        .call(
            rep,
            "message/send",
            json!({"esi_ids": [e0], "devices": [sim.eui(0)],
        "priority": "high", "text": "Peak 4-7 pm today", "importance": "high",
        "duration_minutes": 60}),
            "m1",
        )
        .await;
    let a = ok(&r);
    let mid = a["message_id"].as_u64().unwrap();
    assert_eq!(a["deliveries"].as_array().unwrap().len(), 1);
    let states = final_states(&portal, rep, mid, "m1").await;
    assert_eq!(states, vec![(sim.eui(0), "delivered".to_owned())]);
    portal
        .wait(10, "delivery event", |s| {
            s.topic.ends_with("/event/delivery")
                && s.json()["message_id"] == mid
                && s.json()["state"] == "delivered"
        })
        .await;
    let r = portal.call(rep, "message/cancel", json!({"message_id": mid}), "m2").await;
    assert_eq!(ok(&r)["message_id"], mid);
    // The TDSP has no message right.
    let r = portal.call(tdsp, "message/status", json!({"message_id": mid}), "m3").await;
    assert_eq!(code(&r), "NOT_AUTHORIZED");

    // Price to the ESI.
    let r = portal
        .call(
            rep,
            "price/publish",
            json!({"esi_ids": [e0], "provider_id": 42,
        "rate_label": "PEAK", "currency": 840, "price": 1234, "price_trailing_digit": 4,
        "price_tier": 2, "number_of_price_tiers": 3, "duration_minutes": 60}),
            "pr1",
        )
        .await;
    let pid = ok(&r)["request_id"].as_u64().unwrap();
    assert_eq!(final_states(&portal, rep, pid, "pr1").await[0].1, "delivered");

    // DR event to the thermostat: it reports `received`; then cancel all.
    let r = portal
        .call(
            rep,
            "drlc/event",
            json!({"esi_ids": [e0], "devices": [sim.eui(1)],
        "device_classes": ["hvac"], "duration_minutes": 60, "criticality": 3,
        "cooling_temperature_offset": 2.0}),
            "dr1",
        )
        .await;
    let ev = ok(&r)["issuer_event_id"].as_u64().unwrap();
    let eui1 = sim.eui(1);
    portal
        .wait(30, "drlc received", |s| {
            s.topic.ends_with("/event/drlc")
                && s.json()["issuer_event_id"] == ev
                && s.json()["eui64"] == eui1.as_str()
        })
        .await;
    let r = portal
        .call(
            rep,
            "drlc/cancel",
            json!({"esi_ids": [e0], "devices": [sim.eui(1)], "all": true}),
            "dr2",
        )
        .await;
    ok(&r);

    // Meter read and status.
    let r = portal.call(rep, "meter/read", json!({"esi_id": e0}), "mr1").await;
    assert!(ok(&r)["summation_delivered_kwh"].as_f64().unwrap() >= 12_345.678, "{r}");
    portal.wait(10, "meter event", |s| s.topic.ends_with("/event/meter")).await;
    let r = portal.call(rep, "meter/status", json!({"esi_id": e0, "refresh": true}), "ms1").await;
    assert_eq!(ok(&r)["power"], "on", "{r}");

    // Fill the ESI: SLOTS_FULL names capacity and occupants, never install codes.
    let good = "83FED3407A939723A5C639B26916D505C3B5";
    for i in 1..=3 {
        ok(&portal
            .call(
                tdsp,
                "device/provision",
                json!({"esi_id": e0, "meter_number": "M0",
            "eui64": format!("00:0d:6f:00:00:00:99:{i:02x}"), "install_code": good}),
                &format!("f{i}"),
            )
            .await);
    }
    let r = portal
        .call(
            tdsp,
            "device/provision",
            json!({"esi_id": e0, "meter_number": "M0",
        "eui64": "000d6f0000009904", "install_code": good}),
            "f4",
        )
        .await;
    assert_eq!(code(&r), "SLOTS_FULL");
    assert!(r["error"]["message"].as_str().unwrap().contains("all 5 slots"), "{r}");

    // De-provision the thermostat (joined: a REP-level party could, the TDSP does here).
    let r = portal
        .call(
            tdsp,
            "device/deprovision",
            json!({"esi_id": e0, "eui64": sim.eui(1),
        "reason": "customer_request"}),
            "dp1",
        )
        .await;
    assert_eq!(ok(&r)["state"], "unpaired");
    let eui1 = sim.eui(1);
    portal
        .wait(15, "unpaired", |s| {
            s.topic.ends_with("/event/device")
                && s.json()["eui64"] == eui1.as_str()
                && s.json()["state"] == "unpaired"
        })
        .await;

    // Groups as targets.
    ok(&portal.call(rep, "group/create", json!({"name": "north", "esi_ids": [e0]}), "gr1").await);
    let r = portal
        .call(rep, "message/send", json!({"group": "north", "text": "Group hello"}), "gr2")
        .await;
    ok(&r);

    // Audit: outcomes of deliveries and devices are recorded too; the chain verifies.
    let a = portal
        .call(ops, "audit/query", json!({"action": "delivery", "page_size": 500}), "a1")
        .await;
    assert!(
        ok(&a)["records"].as_array().unwrap().iter().any(|r| r["outcome"] == "delivered"),
        "{a}"
    );
    let a = portal
        .call(ops, "audit/query", json!({"esi_id": e0, "reason": "customer_request"}), "a2")
        .await;
    assert!(!ok(&a)["records"].as_array().unwrap().is_empty(), "{a}");
    sim.check();
    d.shutdown().await;
    let log = dir.path().join("data").join("audit.log");
    gateway::audit::verify(&log).unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    for i in 0..2 {
        assert!(!text.contains(&sim.install_code(i)), "install code in the audit log");
    }
    assert!(!text.contains(good));
    for s in portal.seen() {
        let p = String::from_utf8_lossy(&s.payload);
        assert!(!p.contains(good) && !p.contains(&sim.install_code(0)), "secret on {}", s.topic);
    }
    let counts = validate_all(&portal.seen(), &root);
    for kind in [
        "event/delivery",
        "event/device",
        "event/meter",
        "event/drlc",
        "esi/status",
        "bridge/info",
        "bridge/esis",
        "bridge/state",
    ] {
        assert!(counts.contains_key(kind), "no {kind} payload seen: {counts:?}");
    }
    for action in [
        "message/send",
        "message/cancel",
        "message/status",
        "price/publish",
        "drlc/event",
        "drlc/cancel",
        "device/provision",
        "device/deprovision",
        "device/list",
        "meter/read",
        "meter/status",
        "group/create",
        "grant/add",
        "grant/list",
        "audit/query",
    ] {
        assert!(
            counts.contains_key(&format!("response/{action}")),
            "no {action} response: {counts:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_end_to_end_on_mosquitto() {
    every_action(BrokerKind::Mosquitto, 31).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_end_to_end_on_embedded_broker() {
    every_action(BrokerKind::Embedded, 32).await;
}
