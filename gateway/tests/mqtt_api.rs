//! The MQTT bridge without a simulator (coordinators offline): retained state, every error code
//! that does not need a device, authentication failures, idempotent retries, MQTT 5 response
//! topics, grants and move-out, rate limits, audit and secrets. Each scenario runs against the
//! embedded broker and against the Mosquitto on 127.0.0.1:1883.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::too_many_lines,
    clippy::many_single_char_names
)]

mod mqttkit;

use std::time::Duration;

use gateway::auth::jws::{sign_compact, sign_request, sign_request_at};
use gateway::daemon::Daemon;
use mqttkit::*;
use serde_json::{json, Value};

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error response: {v}"))
}

fn ok(v: &Value) -> &Value {
    assert_eq!(v["status"], "ok", "{v}");
    &v["data"]
}

async fn setup(
    broker: BrokerKind,
    name: &str,
    extra: &str,
) -> (tempfile::TempDir, Daemon, Portal, Vec<Party>, String) {
    let _ = tracing_subscriber::fmt().with_env_filter("warn").with_test_writer().try_init();
    let dir = tempfile::tempdir().unwrap();
    let gw = unique_gw(name);
    let parties = parties();
    let (host, port, section) = mqtt_section(broker, &parties, extra);
    let links = [dir.path().join("no-such-port-0"), dir.path().join("no-such-port-1")];
    let cfg = config(dir.path(), &gw, &links, &section);
    let d = Daemon::start(cfg).await.unwrap();
    let root = format!("han/{gw}");
    let inbox = format!("portal/{root}/#");
    let portal = Portal::connect(&host, port, &root, &format!("portal-{name}"), &[&inbox]).await;
    portal
        .wait(10, "bridge online", |s| {
            s.topic.ends_with("/bridge/state") && &s.payload[..] == b"online"
        })
        .await;
    (dir, d, portal, parties, root)
}

fn party<'a>(ps: &'a [Party], id: &str) -> &'a Party {
    ps.iter().find(|p| p.id == id).unwrap()
}

async fn errors_and_grants(broker: BrokerKind) {
    let (dir, d, portal, ps, root) = setup(
        broker,
        &format!("err{broker:?}").to_lowercase(),
        "rate_per_second = 1000\nrate_burst = 1000\n",
    )
    .await;
    let (ops, tdsp, rep, nobody) =
        (party(&ps, "ops"), party(&ps, "tdsp"), party(&ps, "rep"), party(&ps, "nobody"));

    // Retained state for a late subscriber.
    let late = Portal::connect(&portal.host, portal.port, &root, "late", &[]).await;
    late.wait(10, "retained info", |s| s.topic.ends_with("/bridge/info") && s.retain).await;
    late.wait(10, "retained esis", |s| s.topic.ends_with("/bridge/esis") && s.retain).await;
    late.wait(10, "retained status", |s| {
        s.topic.ends_with(&format!("/esi/{}/status", esi(1))) && s.retain
    })
    .await;
    drop(late);

    // UNKNOWN_ACTION (before authentication).
    portal.publish_raw("frobnicate/now", br#"{"transaction":"u1"}"#.to_vec()).await;
    let r = portal.response("frobnicate/now", "u1", 10).await;
    assert_eq!(code(&r), "UNKNOWN_ACTION");
    assert!(r["error"]["message"].as_str().unwrap().contains("message/send"), "{r}");

    // BAD_REQUEST: not a JWS, oversize, schema violations, bad transaction.
    portal.publish_raw("meter/read", br#"{"transaction":"b1","esi_id":"x"}"#.to_vec()).await;
    let r = portal.response("meter/read", "b1", 10).await;
    assert_eq!(code(&r), "BAD_REQUEST");
    assert!(r["error"]["message"].as_str().unwrap().contains("JWS"), "{r}");
    let big = json!({"transaction": "b2", "text": "x".repeat(70_000)}).to_string();
    portal.publish_raw("message/send", big.into_bytes()).await;
    let r = portal.response("message/send", "b2", 10).await;
    assert_eq!(code(&r), "BAD_REQUEST");
    assert!(r["error"]["message"].as_str().unwrap().contains("limit of 65536 bytes"), "{r}");
    let r = portal.call(rep, "meter/read", json!({"esi_id": esi(0), "colour": "red"}), "b3").await;
    assert_eq!(code(&r), "BAD_REQUEST");
    assert!(r["error"]["message"].as_str().unwrap().contains("colour"), "{r}");
    let r = portal
        .call(
            rep,
            "message/send",
            json!({"esi_ids": [esi(0)], "text": "hi", "priority": "urgent"}),
            "b4",
        )
        .await;
    assert_eq!(code(&r), "BAD_REQUEST");
    assert!(r["error"]["message"].as_str().unwrap().starts_with("priority"), "{r}");
    let tok = sign_request(&rep.key, &rep.kid, &json!({"esi_id": esi(0), "transaction": 17}));
    portal.publish_raw("meter/read", tok.into_bytes()).await;
    let r = portal
        .wait(10, "bad transaction", |s| {
            s.topic.ends_with("/response/meter/read")
                && s.json()["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("transaction"))
        })
        .await
        .json();
    assert_eq!(code(&r), "BAD_REQUEST");
    assert!(r["transaction"].is_null());

    // NOT_AUTHORIZED: unknown key, bad signature, alg none, expired, replayed, no grant.
    let stranger = gateway::auth::keys::generate_signing_key();
    let tok = sign_request(&stranger, "who-k1", &json!({"esi_id": esi(0), "transaction": "n1"}));
    portal.publish_raw("meter/read", tok.into_bytes()).await;
    let r = portal.response("meter/read", "n1", 10).await;
    assert_eq!(code(&r), "NOT_AUTHORIZED");
    assert!(r["error"]["message"].as_str().unwrap().contains("who-k1"));
    let tok = sign_request(&stranger, &rep.kid, &json!({"esi_id": esi(0), "transaction": "n2"}));
    portal.publish_raw("meter/read", tok.into_bytes()).await;
    assert_eq!(code(&portal.response("meter/read", "n2", 10).await), "NOT_AUTHORIZED");
    let tok = sign_compact(
        &rep.key,
        &json!({"alg": "none", "kid": rep.kid}),
        json!({"esi_id": esi(0), "transaction": "n3", "iat": now(), "nonce": "x"})
            .to_string()
            .as_bytes(),
    );
    portal.publish_raw("meter/read", tok.into_bytes()).await;
    assert_eq!(code(&portal.response("meter/read", "n3", 10).await), "NOT_AUTHORIZED");
    let tok = sign_request_at(
        &rep.key,
        &rep.kid,
        &json!({"esi_id": esi(0), "transaction": "n4"}),
        now() - 3600,
        "old",
    );
    portal.publish_raw("meter/read", tok.into_bytes()).await;
    let r = portal.response("meter/read", "n4", 10).await;
    assert_eq!(code(&r), "NOT_AUTHORIZED");
    assert!(r["error"]["message"].as_str().unwrap().contains("iat"), "{r}");
    let tok = sign_request(&rep.key, &rep.kid, &json!({"esi_id": esi(0), "transaction": "n5"}));
    portal.publish_raw("meter/read", tok.clone().into_bytes()).await;
    let first = portal.response("meter/read", "n5", 10).await;
    assert_eq!(code(&first), "NOT_AUTHORIZED", "no grant yet: {first}");
    assert!(first["error"]["message"].as_str().unwrap().contains("holds no grant"), "{first}");
    portal.publish_raw("meter/read", tok.into_bytes()).await;
    portal
        .wait(10, "replay refused", |s| {
            s.json()["error"]["message"].as_str().is_some_and(|m| m.contains("nonce already used"))
        })
        .await;

    // Grants: only an admin adds them; UNKNOWN_ESI, METER_MISMATCH, INVALID_TIME.
    let g = json!({"party": "rep", "esi_id": esi(0), "meter_number": "M0", "rights": ["read", "message"]});
    let r = portal.call(rep, "grant/add", g.clone(), "g0").await;
    assert_eq!(code(&r), "NOT_AUTHORIZED");
    let mut bad = g.clone();
    bad["esi_id"] = json!("99999999999999999");
    assert_eq!(code(&portal.call(ops, "grant/add", bad, "g1").await), "UNKNOWN_ESI");
    let mut bad = g.clone();
    bad["meter_number"] = json!("M9");
    assert_eq!(code(&portal.call(ops, "grant/add", bad, "g2").await), "METER_MISMATCH");
    let mut bad = g.clone();
    bad["expires_at"] = json!("2001-01-01T00:00:00Z");
    assert_eq!(code(&portal.call(ops, "grant/add", bad, "g3").await), "INVALID_TIME");
    let mut bad = g.clone();
    bad["expires_at"] = json!("next tuesday");
    assert_eq!(code(&portal.call(ops, "grant/add", bad, "g3b").await), "INVALID_TIME");
    let added = portal.call(ops, "grant/add", g.clone(), "g4").await;
    let gid = ok(&added)["grant_id"].as_u64().unwrap();
    // Idempotent: the same transaction again (new nonce) gives the first outcome, no new grant.
    let again = portal.call(ops, "grant/add", g.clone(), "g4").await;
    assert_eq!(again["data"], added["data"]);
    let mut other = g.clone();
    other["rights"] = json!(["read"]);
    let r = portal.call(ops, "grant/add", other, "g4").await;
    assert_eq!(code(&r), "BAD_REQUEST");
    assert!(r["error"]["message"].as_str().unwrap().contains("already used"), "{r}");
    let list = portal.call(ops, "grant/list", json!({"party": "rep"}), "g5").await;
    assert_eq!(ok(&list)["grants"].as_array().unwrap().len(), 1, "{list}");
    // The exact same token again (a broker redelivery) also gets the first outcome.
    let tok = sign_request(
        &ops.key,
        &ops.kid,
        &json!({"party": "tp", "esi_id": esi(1), "meter_number": "M1", "rights": ["read"], "transaction": "g6"}),
    );
    portal.publish_raw("grant/add", tok.clone().into_bytes()).await;
    let first = portal.response("grant/add", "g6", 10).await;
    ok(&first);
    let mark = portal.mark();
    portal.publish_raw("grant/add", tok.into_bytes()).await;
    portal.response_from(mark, "grant/add", "g6", 10).await;
    let answers: Vec<Value> =
        portal.seen().iter().filter(|s| s.json()["transaction"] == "g6").map(Seen::json).collect();
    assert_eq!(answers[0], answers[1]);

    // With the grant: COORDINATOR_OFFLINE, TEXT_TOO_LONG, NOT_PAIRED, BAD_INSTALL_CODE.
    let r = portal.call(rep, "meter/read", json!({"esi_id": esi(0)}), "c1").await;
    assert_eq!(code(&r), "COORDINATOR_OFFLINE", "{r}");
    let r = portal.call(rep, "meter/read", json!({"esi_id": esi(1)}), "c2").await;
    assert_eq!(code(&r), "NOT_AUTHORIZED", "grant is for ESI 0 only: {r}");
    let r = portal
        .call(rep, "message/send", json!({"esi_ids": [esi(0)], "text": "x".repeat(60)}), "c3")
        .await;
    assert_eq!(code(&r), "TEXT_TOO_LONG");
    let r =
        portal.call(rep, "message/send", json!({"esi_ids": [esi(0)], "text": "hello"}), "c4").await;
    assert_eq!(code(&r), "NOT_PAIRED", "{r}");
    let r = portal
        .call(
            rep,
            "message/send",
            json!({"esi_ids": [esi(0)], "text": "hello", "start_time": "tomorrow"}),
            "c5",
        )
        .await;
    assert_eq!(code(&r), "INVALID_TIME", "{r}");
    let r = portal
        .call(
            rep,
            "device/provision",
            json!({"esi_id": esi(0), "meter_number": "M0",
        "eui64": "000d6f0000000001", "install_code": "83FED3407A939723A5C639B26916D505C3B6"}),
            "c6",
        )
        .await;
    assert_eq!(code(&r), "NOT_AUTHORIZED", "rep has no provision right: {r}");
    let gp = json!({"party": "tdsp", "esi_id": esi(0), "meter_number": "M0", "rights": ["provision", "deprovision", "read"]});
    ok(&portal.call(ops, "grant/add", gp, "g7").await);
    let secret = "83FED3407A939723A5C639B26916D505C3B6";
    let r = portal
        .call(
            tdsp,
            "device/provision",
            json!({"esi_id": esi(0), "meter_number": "M0",
        "eui64": "000d6f0000000001", "install_code": secret}),
            "c7",
        )
        .await;
    assert_eq!(code(&r), "BAD_INSTALL_CODE", "{r}");
    let r = portal
        .call(
            tdsp,
            "device/provision",
            json!({"esi_id": esi(0), "meter_number": "M1",
        "eui64": "000d6f0000000001", "install_code": secret}),
            "c8",
        )
        .await;
    assert_eq!(code(&r), "METER_MISMATCH", "{r}");
    let r = portal
        .call(
            tdsp,
            "device/provision",
            json!({"esi_id": esi(0), "meter_number": "M0",
        "eui64": "000d6f0000000001", "install_code": 42}),
            "c9",
        )
        .await;
    assert_eq!(code(&r), "BAD_REQUEST");
    // A party that is not in the grants at all.
    let r = portal.call(nobody, "device/list", json!({"esi_id": esi(0)}), "c10").await;
    assert_eq!(code(&r), "NOT_AUTHORIZED");

    // MQTT 5: response topic and correlation data.
    let tok = sign_request(&rep.key, &rep.kid, &json!({"esi_id": esi(0)}));
    portal
        .publish_v5("device/list", tok.into_bytes(), &format!("portal/{root}/inbox"), b"corr-42")
        .await;
    let s = portal.wait(10, "v5 response", |s| s.topic.starts_with("portal/")).await;
    assert_eq!(s.correlation.as_deref(), Some(&b"corr-42"[..]));
    assert!(s.json()["transaction"].is_null());
    ok(&s.json());
    let tok = sign_request(&rep.key, &rep.kid, &json!({"esi_id": esi(0), "transaction": "v2"}));
    portal.publish_v5("device/list", tok.into_bytes(), &format!("{root}/bridge/state"), b"x").await;
    let r = portal.response("device/list", "v2", 10).await;
    assert_eq!(code(&r), "BAD_REQUEST", "response topic into our tree refused: {r}");

    // Groups.
    let r = portal
        .call(rep, "group/create", json!({"name": "north", "esi_ids": [esi(0), esi(1)]}), "gr1")
        .await;
    assert_eq!(code(&r), "NOT_AUTHORIZED", "no grant on ESI 1: {r}");
    ok(&portal
        .call(rep, "group/create", json!({"name": "mine", "esi_ids": [esi(0)]}), "gr2")
        .await);
    ok(&portal
        .call(ops, "group/create", json!({"name": "all", "esi_ids": [esi(0), esi(1)]}), "gr3")
        .await);
    let l = portal.call(rep, "group/list", json!({}), "gr4").await;
    assert_eq!(ok(&l)["groups"].as_array().unwrap().len(), 1, "{l}");
    let l = portal.call(ops, "group/list", json!({"page_size": 1}), "gr5").await;
    assert_eq!(ok(&l)["next_page"], 1, "{l}");
    ok(&portal.call(rep, "group/delete", json!({"name": "mine"}), "gr6").await);

    // Move-out ends every grant on the ESI; only the TDSP (or a gateway admin) declares it.
    let r = portal
        .call(rep, "esi/move_out", json!({"esi_id": esi(0), "meter_number": "M0"}), "m1")
        .await;
    assert_eq!(code(&r), "NOT_AUTHORIZED");
    let r = portal
        .call(tdsp, "esi/move_out", json!({"esi_id": esi(0), "meter_number": "M0"}), "m2")
        .await;
    assert_eq!(ok(&r)["revoked"].as_array().unwrap().len(), 2, "{r}");
    let r = portal.call(rep, "device/list", json!({"esi_id": esi(0)}), "m3").await;
    assert_eq!(code(&r), "NOT_AUTHORIZED");
    let r = portal.call(ops, "grant/revoke", json!({"grant_id": gid}), "m4").await;
    assert_eq!(code(&r), "BAD_REQUEST", "already revoked: {r}");

    // Audit: every request above is recorded; the chain verifies; parties see their own.
    let a = portal
        .call(ops, "audit/query", json!({"action": "grant/add", "page_size": 500}), "a1")
        .await;
    let recs = ok(&a)["records"].as_array().unwrap().clone();
    assert!(recs.iter().any(|r| r["decision"] == "denied" && r["party"] == "rep"), "{a}");
    assert!(recs.iter().any(|r| r["code"] == "METER_MISMATCH"), "{a}");
    let a = portal.call(rep, "audit/query", json!({"party": "ops"}), "a2").await;
    assert_eq!(code(&a), "NOT_AUTHORIZED");
    let a = portal.call(rep, "audit/query", json!({}), "a3").await;
    assert!(ok(&a)["records"].as_array().unwrap().iter().all(|r| r["party"] == "rep"));
    d.shutdown().await;
    let log = dir.path().join("data").join("audit.log");
    let report = gateway::audit::verify(&log).unwrap();
    assert!(report.records > 40, "{report:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("\"action\":\"frobnicate/now\"") || text.contains("UNKNOWN_ACTION"));
    assert!(!text.contains(secret), "an install code reached the audit log");
    for s in portal.seen() {
        assert!(
            !String::from_utf8_lossy(&s.payload).contains(secret),
            "secret published on {}",
            s.topic
        );
    }
    // The bridge says offline when stopped.
    portal
        .wait(10, "offline", |s| s.topic.ends_with("/bridge/state") && &s.payload[..] == b"offline")
        .await;
    let counts = validate_all(&portal.seen(), &root);
    assert!(counts.len() >= 8, "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_grants_audit_on_mosquitto() {
    errors_and_grants(BrokerKind::Mosquitto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_grants_audit_on_embedded_broker() {
    errors_and_grants(BrokerKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_rate_limited() {
    let (_dir, d, portal, ps, _root) =
        setup(BrokerKind::Mosquitto, "rate", "rate_per_second = 1\nrate_burst = 2\n").await;
    let rep = party(&ps, "rep");
    for i in 0..4 {
        let tok = sign_request(
            &rep.key,
            &rep.kid,
            &json!({"esi_id": esi(0), "transaction": format!("r{i}")}),
        );
        portal.publish_raw("device/list", tok.into_bytes()).await;
    }
    let mut codes = Vec::new();
    for i in 0..4 {
        codes.push(code(&portal.response("device/list", &format!("r{i}"), 10).await).to_owned());
    }
    let limited = codes.iter().filter(|c| *c == "RATE_LIMITED").count();
    assert!(limited >= 1, "{codes:?}");
    let r = portal
        .seen()
        .into_iter()
        .find(|s| s.json()["error"]["code"] == "RATE_LIMITED")
        .unwrap()
        .json();
    assert!(r["error"]["message"].as_str().unwrap().contains("retry in"), "{r}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    d.shutdown().await;
}
