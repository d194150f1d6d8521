//! Crashes and identities: requests in flight when the gateway dies are delivered again by the
//! broker (manual acknowledgements) and carried out exactly once (transactions); the last will
//! says `offline` when the process is killed; `trusted-broker` mode takes the party from the
//! client's topic level.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::too_many_lines,
    clippy::format_push_string
)]

mod mqttkit;

use std::collections::BTreeSet;
use std::time::Duration;

use gateway::auth::jws::sign_request;
use gateway::daemon::Daemon;
use mqttkit::*;
use rumqttc::v5::mqttbytes::QoS;
use serde_json::{json, Value};

fn ok(v: &Value) -> &Value {
    assert_eq!(v["status"], "ok", "{v}");
    &v["data"]
}

async fn redelivery_after_crash(broker: BrokerKind) {
    let _ = tracing_subscriber::fmt().with_env_filter("warn").with_test_writer().try_init();
    let dir = tempfile::tempdir().unwrap();
    let gw = unique_gw(&format!("crash{broker:?}").to_lowercase());
    let ps = parties();
    let (host, port, section) =
        mqtt_section(broker, &ps, "rate_per_second = 100000\nrate_burst = 100000\n");
    let links = [dir.path().join("none0"), dir.path().join("none1")];
    let cfg = config(dir.path(), &gw, &links, &section);
    let d = Daemon::start(cfg.clone()).await.unwrap();
    let root = format!("han/{gw}");
    let portal = Portal::connect(&host, port, &root, &format!("crash-{broker:?}"), &[]).await;
    portal
        .wait(10, "online", |s| s.topic.ends_with("/bridge/state") && &s.payload[..] == b"online")
        .await;
    let ops = &ps[0];
    // The first request registers the parties' grants store; then a burst of grant/add, each
    // with its own transaction, and the gateway is killed while they are being carried out.
    const N: usize = 150;
    let mut tokens = Vec::new();
    for i in 0..N {
        let body = json!({"party": "rep", "esi_id": esi(i % 2), "meter_number": format!("M{}", i % 2),
                          "rights": ["read"], "transaction": format!("c{i}")});
        tokens.push(sign_request(&ops.key, &ops.kid, &body));
    }
    for t in &tokens {
        portal.publish_raw("grant/add", t.clone().into_bytes()).await;
    }
    portal.wait(20, "some answers", |s| s.topic.ends_with("/response/grant/add")).await;
    d.abort().await;
    let answered_before: BTreeSet<String> = portal
        .seen()
        .iter()
        .filter(|s| s.topic.ends_with("/response/grant/add"))
        .filter_map(|s| s.json()["transaction"].as_str().map(str::to_owned))
        .collect();
    // The broker publishes the will: offline.
    portal
        .wait(15, "will: offline", |s| {
            s.topic.ends_with("/bridge/state") && &s.payload[..] == b"offline"
        })
        .await;
    // Restart on the same store and session: the broker delivers what was not acknowledged.
    let mark = portal.mark();
    // In-process, blocking store calls of the aborted daemon (a grant being committed) may still
    // hold the store for a moment; a crashed process would hold nothing.
    let mut tries = 0;
    let d = loop {
        match Daemon::start(cfg.clone()).await {
            Ok(d) => break d,
            Err(e) if tries < 50 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("restart: {e}"),
        }
    };
    portal
        .wait_from(mark, 15, "online again", |s| {
            s.topic.ends_with("/bridge/state") && &s.payload[..] == b"online"
        })
        .await;
    let answered = |p: &Portal, t: &str| {
        p.seen()
            .iter()
            .any(|s| s.topic.ends_with("/response/grant/add") && s.json()["transaction"] == t)
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while (0..N).any(|i| !answered(&portal, &format!("c{i}")))
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let missing: Vec<String> =
        (0..N).map(|i| format!("c{i}")).filter(|t| !answered(&portal, t)).collect();
    match broker {
        // Mosquitto keeps unacknowledged QoS 1 messages in the session: nothing is lost.
        BrokerKind::Mosquitto => assert!(
            missing.is_empty(),
            "never answered after the restart: {missing:?} ({} answered before the crash)",
            answered_before.len()
        ),
        BrokerKind::Embedded => unreachable!("see the process-kill test"),
    }
    // Exactly once: N grants, whatever was answered twice.
    let l = portal.call(ops, "grant/list", json!({"party": "rep", "page_size": 500}), "list").await;
    let grants = ok(&l)["grants"].as_array().unwrap().len();
    assert_eq!(grants, N, "{} answered before the crash", answered_before.len());
    for s in portal.seen().iter().filter(|s| s.topic.ends_with("/response/grant/add")) {
        ok(&s.json());
    }
    d.shutdown().await;
    gateway::audit::verify(dir.path().join("data").join("audit.log")).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_at_a_crash_are_redelivered_and_done_once_on_mosquitto() {
    redelivery_after_crash(BrokerKind::Mosquitto).await;
}

/// With the embedded broker a crash of the process takes the broker (and the requests it held)
/// with it. The portal retries what got no answer, under the same transactions, once the
/// gateway is back: every request is carried out exactly once, and requests answered before the
/// crash get the same answer again. (In-process, rumqttd 0.20 neither keeps unacknowledged
/// messages of a session nor survives every abrupt reconnect: its router can panic, which is why
/// this scenario kills the real process instead.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_lost_with_a_killed_embedded_broker_are_retried_and_done_once() {
    let dir = tempfile::tempdir().unwrap();
    let gw = unique_gw("killemb");
    let ps = parties();
    let (host, port, section) =
        mqtt_section(BrokerKind::Embedded, &ps, "rate_per_second = 100000\nrate_burst = 100000\n");
    let file = write_config(dir.path(), &gw, &section);
    let root = format!("han/{gw}");
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
            .args(["run", "--config"])
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut child = spawn();
    let portal = connect_retrying(&host, port, &root, "killemb").await;
    portal
        .wait(20, "online", |s| s.topic.ends_with("/bridge/state") && &s.payload[..] == b"online")
        .await;
    let ops = &ps[0];
    const N: usize = 100;
    let body = |i: usize| {
        json!({"party": "rep", "esi_id": esi(0), "meter_number": "M0", "rights": ["read"],
               "transaction": format!("k{i}")})
    };
    for i in 0..N {
        portal
            .publish_raw("grant/add", sign_request(&ops.key, &ops.kid, &body(i)).into_bytes())
            .await;
    }
    portal.wait(20, "some answers", |s| s.topic.ends_with("/response/grant/add")).await;
    child.kill().unwrap();
    let _ = child.wait();
    let before: std::collections::BTreeMap<String, Value> = portal
        .seen()
        .iter()
        .filter(|s| s.topic.ends_with("/response/grant/add"))
        .map(|s| (s.json()["transaction"].as_str().unwrap().to_owned(), s.json()["data"].clone()))
        .collect();
    drop(portal);
    let mut child = spawn();
    let portal = connect_retrying(&host, port, &root, "killemb2").await;
    portal
        .wait(20, "online again", |s| {
            s.topic.ends_with("/bridge/state") && &s.payload[..] == b"online"
        })
        .await;
    for i in 0..N {
        let mut b = body(i);
        let t = b["transaction"].as_str().unwrap().to_owned();
        b.as_object_mut().unwrap().remove("transaction");
        let r = portal.call(ops, "grant/add", b, &t).await;
        if let Some(first) = before.get(&t) {
            assert_eq!(&r["data"], first, "a retry of {t} got another answer");
        }
        ok(&r);
    }
    let l = portal.call(ops, "grant/list", json!({"party": "rep", "page_size": 500}), "list").await;
    assert_eq!(
        ok(&l)["grants"].as_array().unwrap().len(),
        N,
        "{} answered before the kill",
        before.len()
    );
    child.kill().unwrap();
    let _ = child.wait();
}

fn write_config(dir: &std::path::Path, gw: &str, section: &str) -> std::path::PathBuf {
    let mut text =
        format!("gateway_id = \"{gw}\"\ndata_dir = \"{}\"\n", dir.join("data").display());
    text.push_str(&format!(
        "[[coordinator]]\nport = \"{}\"\nesi_id = \"{}\"\nmeter_number = \"M0\"\n",
        dir.join("none0").display(),
        esi(0)
    ));
    text.push_str(&format!("[ctl]\nsocket = \"{}\"\n", dir.join("ctl.sock").display()));
    text.push_str(section);
    let file = dir.join("gw.toml");
    std::fs::write(&file, text).unwrap();
    file
}

/// Connects once the broker (inside the gateway process) listens.
async fn connect_retrying(host: &str, port: u16, root: &str, id: &str) -> Portal {
    for _ in 0..100 {
        if std::net::TcpStream::connect((host, port)).is_ok() {
            return Portal::connect(host, port, root, id, &[]).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("broker on {host}:{port} never came up");
}

/// The real binary, killed with SIGKILL: the broker (Mosquitto; the embedded one dies with the
/// process) publishes the retained last will.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_will_says_offline_when_the_process_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let gw = unique_gw("kill");
    let ps = parties();
    let (host, port, section) = mqtt_section(BrokerKind::Mosquitto, &ps, "keep_alive = \"5s\"\n");
    let file = write_config(dir.path(), &gw, &section);
    let root = format!("han/{gw}");
    let portal = Portal::connect(&host, port, &root, "kill", &[]).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["run", "--config"])
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    portal
        .wait(20, "online", |s| s.topic.ends_with("/bridge/state") && &s.payload[..] == b"online")
        .await;
    let mark = portal.mark();
    child.kill().unwrap();
    let _ = child.wait();
    portal
        .wait_from(mark, 15, "will", |s| {
            s.topic.ends_with("/bridge/state") && &s.payload[..] == b"offline"
        })
        .await;
    // A late subscriber sees the retained offline.
    let late = Portal::connect(&host, port, &root, "kill-late", &[]).await;
    let s = late.wait(10, "retained offline", |s| s.topic.ends_with("/bridge/state")).await;
    assert!(s.retain && &s.payload[..] == b"offline");
    // Clean up the retained topics of this test run.
    for t in ["bridge/state", "bridge/info", "bridge/esis"] {
        late.client
            .publish(format!("{root}/{t}"), QoS::AtLeastOnce, true, Vec::new())
            .await
            .unwrap();
    }
}

/// `trusted-broker` mode: bare JSON requests on `client/<identity>/request/<action>`; the
/// identity maps to a party; unknown identities are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_broker_mode_takes_the_party_from_the_identity_level() {
    let dir = tempfile::tempdir().unwrap();
    let gw = unique_gw("trusted");
    let ps = parties();
    let extra = "auth = \"trusted-broker\"\n[[mqtt.identity]]\nusername = \"portal-ops\"\nparty = \"ops\"\n\
                 [[mqtt.identity]]\nusername = \"portal-rep\"\nparty = \"rep\"\n";
    let (host, port, section) = mqtt_section(BrokerKind::Embedded, &ps, extra);
    let links = [dir.path().join("none0")];
    let d = Daemon::start(config(dir.path(), &gw, &links, &section)).await.unwrap();
    let root = format!("han/{gw}");
    let portal = Portal::connect(&host, port, &root, "trusted", &[]).await;
    portal
        .wait(10, "online", |s| s.topic.ends_with("/bridge/state") && &s.payload[..] == b"online")
        .await;
    let publish = |id: &str, action: &str, body: Value| {
        let topic = format!("{root}/client/{id}/request/{action}");
        let c = portal.client.clone();
        async move {
            c.publish(topic, QoS::AtLeastOnce, false, body.to_string().into_bytes()).await.unwrap();
        }
    };
    let wait = |id: &str, action: &str, t: &str| {
        let topic = format!("{root}/client/{id}/response/{action}");
        let t = t.to_owned();
        let p = &portal;
        async move {
            p.wait(10, "trusted response", move |s| {
                s.topic == topic && s.json()["transaction"] == t.as_str()
            })
            .await
            .json()
        }
    };
    publish(
        "portal-ops",
        "grant/add",
        json!({"party": "rep", "esi_id": esi(0), "meter_number": "M0",
        "rights": ["read"], "transaction": "t1"}),
    )
    .await;
    ok(&wait("portal-ops", "grant/add", "t1").await);
    publish(
        "portal-rep",
        "grant/add",
        json!({"party": "rep", "esi_id": esi(0), "meter_number": "M0",
        "rights": ["message"], "transaction": "t2"}),
    )
    .await;
    assert_eq!(wait("portal-rep", "grant/add", "t2").await["error"]["code"], "NOT_AUTHORIZED");
    publish("mallory", "device/list", json!({"esi_id": esi(0), "transaction": "t3"})).await;
    let r = wait("mallory", "device/list", "t3").await;
    assert_eq!(r["error"]["code"], "NOT_AUTHORIZED");
    assert!(r["error"]["message"].as_str().unwrap().contains("mallory"), "{r}");
    publish("portal-rep", "device/list", json!({"esi_id": esi(0), "transaction": "t4"})).await;
    ok(&wait("portal-rep", "device/list", "t4").await);
    // A signed request on the plain topic is not even seen in this mode (no subscription).
    publish(
        "portal-rep",
        "device/list",
        json!({"esi_id": esi(0), "transaction": "t5", "extra": 1}),
    )
    .await;
    assert_eq!(wait("portal-rep", "device/list", "t5").await["error"]["code"], "BAD_REQUEST");
    d.shutdown().await;
    validate_all(&portal.seen(), &root);
}
