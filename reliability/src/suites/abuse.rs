//! Abuse suite over MQTT: forged and tampered signatures, `alg` tricks, unknown keys, replayed
//! nonces, expired and future tokens, grants for another ESIID, parties without grants, role
//! escalation, a move-out race, oversize and malformed payloads, and a flood from one party
//! (the rate limit holds while another party is still served). Then the secret scan over the
//! whole run. Every case counts as rejected only with the expected typed error code.

use std::time::{Duration, Instant};

use base64::Engine as _;
use gateway::auth::jws::{random_nonce, sign_compact, sign_request, sign_request_at};
use serde_json::{json, Value};

use crate::gw::{esi_id, meter};
use crate::portal::{code, ok};
use crate::report::Report;
use crate::world::{secs, World, WorldOptions};
use crate::Result;

/// Options of the abuse suite.
#[derive(Debug, Clone)]
pub struct AbuseOptions {
    /// Requests in the flood.
    pub flood: usize,
    /// Racing requests in the move-out race.
    pub race: usize,
    pub seed: u64,
}

impl Default for AbuseOptions {
    fn default() -> Self {
        Self { flood: 600, race: 100, seed: 3 }
    }
}

const RATE: u32 = 20;
const BURST: u32 = 40;

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

struct Cases<'a> {
    w: &'a World,
    rep: &'a mut Report,
    n: usize,
    rejected: usize,
    seq: u64,
}

impl Cases<'_> {
    fn t(&mut self) -> String {
        self.seq += 1;
        format!("ab{}", self.seq)
    }

    /// Publishes `payload` raw on `action` under transaction `t` (inside the payload) and
    /// expects the error `want`.
    async fn expect_raw(
        &mut self,
        case: &str,
        action: &str,
        payload: Vec<u8>,
        t: &str,
        want: &str,
    ) -> Result<()> {
        self.w.portal.publish_raw(action, payload).await?;
        self.expect_answer(case, t, want).await
    }

    async fn expect_answer(&mut self, case: &str, t: &str, want: &str) -> Result<()> {
        self.n += 1;
        let r = self.w.portal.response(t, secs(20)).await?;
        if code(&r) == Some(want) {
            self.rejected += 1;
        } else {
            self.rep.check(false, || format!("{case}: expected {want}, got {r}"));
        }
        Ok(())
    }
}

pub async fn run(o: &AbuseOptions) -> Result<Report> {
    let mut rep = Report::new("abuse (MQTT) + secret scan");
    let mut wo = WorldOptions::new("abuse");
    wo.sim.seed = o.seed;
    wo.sim.esis = 2;
    wo.sim.kinds_per_esi = vec!["ihd"];
    wo.mqtt_extra =
        format!("rate_per_second = {RATE}\nrate_burst = {BURST}\nmax_payload_bytes = 16384\n");
    let w = World::start(&wo).await?;
    let ops = w.party("ops")?.clone();
    let rep_p = w.party("rep")?.clone();
    let tp = w.party("tp")?.clone();
    let nobody = w.party("nobody")?.clone();
    let ihd0 =
        w.sim.devices.iter().find(|d| d.esi == 0).map(|d| d.eui64.clone()).unwrap_or_default();
    // The third party: read on ESI 0 only.
    let g = json!({"party": "tp", "esi_id": esi_id(0), "meter_number": meter(0), "rights": ["read", "message"]});
    ok(&w.portal.call(&ops, "grant/add", &g, "tp-grant", secs(20)).await?)?;
    let mut c = Cases { w: &w, rep: &mut rep, n: 0, rejected: 0, seq: 0 };
    let read = |t: &str| json!({"esi_id": esi_id(0), "transaction": t});

    // --- signatures ---
    let t = c.t();
    let forged = sign_request(&gateway::auth::keys::generate_signing_key(), &rep_p.kid, &read(&t));
    c.expect_raw(
        "forged signature (another key, rep's kid)",
        "meter/status",
        forged.into_bytes(),
        &t,
        "NOT_AUTHORIZED",
    )
    .await?;
    let t = c.t();
    let good = sign_request(&rep_p.key, &rep_p.kid, &read(&t));
    let parts: Vec<&str> = good.split('.').collect();
    if let [h, _, s] = parts.as_slice() {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut body = read(&t);
        body["esi_id"] = json!(esi_id(1));
        body["iat"] = json!(now());
        body["nonce"] = json!(random_nonce());
        let tampered = format!("{h}.{}.{s}", b64.encode(body.to_string()));
        c.expect_raw(
            "tampered payload, original signature",
            "meter/status",
            tampered.into_bytes(),
            &t,
            "NOT_AUTHORIZED",
        )
        .await?;
        let t = c.t();
        let mut body = read(&t);
        body["iat"] = json!(now());
        body["nonce"] = json!(random_nonce());
        let none_h = b64.encode(json!({"alg": "none", "kid": rep_p.kid}).to_string());
        let alg_none = format!("{none_h}.{}.", b64.encode(body.to_string()));
        c.expect_raw(
            "alg none, no signature",
            "meter/status",
            alg_none.into_bytes(),
            &t,
            "NOT_AUTHORIZED",
        )
        .await?;
        let t = c.t();
        let mut body = read(&t);
        body["iat"] = json!(now());
        body["nonce"] = json!(random_nonce());
        let hs = sign_compact(
            &rep_p.key,
            &json!({"alg": "HS256", "kid": rep_p.kid}),
            body.to_string().as_bytes(),
        );
        c.expect_raw("alg HS256 header", "meter/status", hs.into_bytes(), &t, "NOT_AUTHORIZED")
            .await?;
    }
    let t = c.t();
    let unknown_kid = sign_request(&rep_p.key, "mallory-k9", &read(&t));
    c.expect_raw("unknown kid", "meter/status", unknown_kid.into_bytes(), &t, "NOT_AUTHORIZED")
        .await?;
    // Not a JWS at all: no transaction can be read, so the answer has none; count by topic.
    for (case, payload) in [
        ("bare JSON in jws mode", read("raw1").to_string().into_bytes()),
        ("garbage bytes", vec![0xff, 0x00, 0x13, 0x37]),
        ("three dots of nothing", b"..".to_vec()),
    ] {
        c.n += 1;
        let from = w.portal.mark();
        w.portal.publish_raw("meter/status", payload).await?;
        let topic = format!("{}/response/meter/status", w.root);
        let r = w.portal.wait_from(from, secs(20), case, |s| s.topic == topic).await?.json();
        if matches!(code(&r), Some("NOT_AUTHORIZED" | "BAD_REQUEST")) {
            c.rejected += 1;
        } else {
            c.rep.check(false, || format!("{case}: got {r}"));
        }
    }

    // --- replay, expiry ---
    let t = c.t();
    let token = sign_request(&rep_p.key, &rep_p.kid, &read(&t));
    w.portal.publish_raw("meter/status", token.clone().into_bytes()).await?;
    ok(&w.portal.response(&t, secs(20)).await?)?;
    let from = w.portal.mark();
    w.portal.publish_raw("meter/status", token.into_bytes()).await?;
    c.n += 1;
    let topic = format!("{}/response/meter/status", w.root);
    let tt = t.clone();
    let r = w
        .portal
        .wait_from(from, secs(20), "replay answer", |s| {
            s.topic == topic && s.json()["transaction"] == tt.as_str()
        })
        .await?
        .json();
    if code(&r) == Some("NOT_AUTHORIZED") {
        c.rejected += 1;
    } else {
        c.rep.check(false, || format!("replayed read token: {r}"));
    }
    // Same nonce, another body.
    let nonce = random_nonce();
    let t1 = c.t();
    let a = sign_request_at(&rep_p.key, &rep_p.kid, &read(&t1), now(), &nonce);
    w.portal.publish_raw("meter/status", a.into_bytes()).await?;
    ok(&w.portal.response(&t1, secs(20)).await?)?;
    let t2 = c.t();
    let b = sign_request_at(&rep_p.key, &rep_p.kid, &read(&t2), now(), &nonce);
    c.expect_raw(
        "nonce reused with another body",
        "meter/status",
        b.into_bytes(),
        &t2,
        "NOT_AUTHORIZED",
    )
    .await?;
    // A replayed message/send with its transaction: same answer, carried out once.
    let t = c.t();
    let body = json!({"esi_ids": [esi_id(0)], "devices": [ihd0], "priority": "high",
                      "text": "replay me", "transaction": t});
    let token = sign_request(&rep_p.key, &rep_p.kid, &body);
    w.portal.publish_raw("message/send", token.clone().into_bytes()).await?;
    let first = w.portal.response(&t, secs(20)).await?;
    let mid = ok(&first)?["message_id"].clone();
    let from = w.portal.mark();
    for _ in 0..3 {
        w.portal.publish_raw("message/send", token.clone().into_bytes()).await?;
    }
    let topic = format!("{}/response/message/send", w.root);
    let tt = t.clone();
    crate::wait_until(secs(20), "three replay answers", || {
        let n = w
            .portal
            .seen()
            .iter()
            .skip(from)
            .filter(|s| s.topic == topic && s.json()["transaction"] == tt.as_str())
            .count();
        async move { (n >= 3).then_some(()) }
    })
    .await?;
    c.n += 1;
    let again: Vec<Value> = w
        .portal
        .seen()
        .iter()
        .skip(from)
        .filter(|s| s.topic == topic && s.json()["transaction"] == t.as_str())
        .map(crate::portal::Seen::json)
        .collect();
    if again.iter().all(|a| a["data"]["message_id"] == mid) {
        c.rejected += 1;
    } else {
        c.rep.check(false, || format!("replayed message/send got other answers: {again:?}"));
    }
    // Expired and future tokens (max_skew 5 min).
    let t = c.t();
    let old = sign_request_at(&rep_p.key, &rep_p.kid, &read(&t), now() - 3600, &random_nonce());
    c.expect_raw(
        "expired token (iat 1 h ago)",
        "meter/status",
        old.into_bytes(),
        &t,
        "NOT_AUTHORIZED",
    )
    .await?;
    let t = c.t();
    let future = sign_request_at(&rep_p.key, &rep_p.kid, &read(&t), now() + 3600, &random_nonce());
    c.expect_raw(
        "token from the future (iat in 1 h)",
        "meter/status",
        future.into_bytes(),
        &t,
        "NOT_AUTHORIZED",
    )
    .await?;

    // --- grants ---
    let t = c.t();
    let r = w.portal.call(&tp, "meter/status", &json!({"esi_id": esi_id(1)}), &t, secs(20)).await?;
    c.n += 1;
    if code(&r) == Some("NOT_AUTHORIZED") {
        c.rejected += 1;
    } else {
        c.rep.check(false, || format!("grant for another ESIID: {r}"));
    }
    for (case, party, action, body, want) in [
        (
            "party without grants reads",
            &nobody,
            "meter/status",
            json!({"esi_id": esi_id(0)}),
            "NOT_AUTHORIZED",
        ),
        (
            "third party provisions",
            &tp,
            "device/provision",
            json!({"esi_id": esi_id(0), "meter_number": meter(0),
            "eui64": "00aa000000000001", "install_code": "83FED3407A939723A5C639B26916D505C3B5"}),
            "NOT_AUTHORIZED",
        ),
        (
            "REP grants itself rights",
            &rep_p,
            "grant/add",
            json!({"party": "rep", "esi_id": esi_id(0),
            "meter_number": meter(0), "rights": ["provision"]}),
            "NOT_AUTHORIZED",
        ),
        (
            "grant with the wrong meter number",
            &ops,
            "grant/add",
            json!({"party": "tp", "esi_id": esi_id(1),
            "meter_number": "WRONG", "rights": ["read"]}),
            "METER_MISMATCH",
        ),
        ("unknown action", &rep_p, "system/shell", json!({}), "UNKNOWN_ACTION"),
        (
            "text too long",
            &rep_p,
            "message/send",
            json!({"esi_ids": [esi_id(0)], "text": "x".repeat(500)}),
            "TEXT_TOO_LONG",
        ),
        (
            "unknown ESI",
            &rep_p,
            "meter/status",
            json!({"esi_id": "10443720000000099"}),
            "NOT_AUTHORIZED",
        ),
    ] {
        let t = c.t();
        w.portal.send(party, action, &body, &t).await?;
        c.expect_answer(case, &t, want).await?;
    }
    // Oversize and deeply nested payloads.
    let t = c.t();
    let big = sign_request(
        &rep_p.key,
        &rep_p.kid,
        &json!({"esi_id": esi_id(0), "transaction": t, "pad": "A".repeat(40_000)}),
    );
    c.n += 1;
    let from = w.portal.mark();
    w.portal.publish_raw("meter/status", big.into_bytes()).await?;
    let topic = format!("{}/response/meter/status", w.root);
    let r =
        w.portal.wait_from(from, secs(20), "oversize answer", |s| s.topic == topic).await?.json();
    if code(&r) == Some("BAD_REQUEST") {
        c.rejected += 1;
    } else {
        c.rep.check(false, || format!("oversize payload: {r}"));
    }
    let t = c.t();
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let mut b = json!({"esi_id": esi_id(0), "transaction": t});
    b["deep"] = serde_json::from_str(&format!("{}0{}", "[".repeat(100), "]".repeat(100)))
        .unwrap_or(Value::Null);
    w.portal.send(&rep_p, "meter/status", &b, &t).await?;
    c.expect_answer("100-deep nested field", &t, "BAD_REQUEST").await?;
    c.n += 1;
    let from = w.portal.mark();
    w.portal.publish_raw("meter/status", nested.into_bytes()).await?;
    let r = w
        .portal
        .wait_from(from, secs(20), "nested garbage answer", |s| s.topic == topic)
        .await?
        .json();
    if matches!(code(&r), Some("BAD_REQUEST" | "NOT_AUTHORIZED")) {
        c.rejected += 1;
    } else {
        c.rep.check(false, || format!("5000-deep garbage: {r}"));
    }

    // --- move-out race ---
    let (n_race, rejected_before) = (o.race, c.rejected);
    let mut ts = Vec::new();
    let mid_i = n_race / 2;
    let mut move_t = String::new();
    for i in 0..n_race {
        let t = c.t();
        w.portal.send(&tp, "meter/status", &json!({"esi_id": esi_id(0)}), &t).await?;
        ts.push(t);
        if i == mid_i {
            move_t = c.t();
            w.portal
                .send(
                    &ops,
                    "esi/move_out",
                    &json!({"esi_id": esi_id(0), "meter_number": meter(0)}),
                    &move_t,
                )
                .await?;
        }
    }
    let mv = w.portal.response(&move_t, secs(20)).await?;
    ok(&mv)?;
    // After the move-out answer: everything the third party sends is refused.
    let mut after_ok = 0;
    for _ in 0..10 {
        let t = c.t();
        let r =
            w.portal.call(&tp, "meter/status", &json!({"esi_id": esi_id(0)}), &t, secs(20)).await?;
        c.n += 1;
        if code(&r) == Some("NOT_AUTHORIZED") {
            c.rejected += 1;
        } else {
            after_ok += 1;
        }
    }
    let mut race_ok = 0;
    for t in &ts {
        let r = w.portal.response(t, secs(20)).await?;
        if code(&r).is_none() {
            race_ok += 1;
        }
    }
    c.rep.check(after_ok == 0, || {
        format!("{after_ok} requests of the moved-out party served after the move-out")
    });
    let gl = w
        .portal
        .call(&ops, "grant/list", &json!({"esi_id": esi_id(0)}), "gl-after-move", secs(20))
        .await?;
    let left = ok(&gl)?["grants"].as_array().map_or(0, Vec::len);
    c.rep.check(left == 0, || format!("{left} grants left on the ESI after move-out"));
    let _ = rejected_before;
    c.rep.fig(
        "move-out race: racing requests served before / refused",
        format!("{race_ok} / {}", n_race - race_ok),
    );

    // --- flood ---
    // rep2 gets a grant on ESI 1 (the moved-out ESI 0 has none); rep floods, rep2 is served.
    let t0 = Instant::now();
    let mut flood_ts = Vec::new();
    let mut other_ts = Vec::new();
    let rep2 = w.party("rep2")?.clone();
    let every = (o.flood / 20).max(1);
    for i in 0..o.flood {
        let t = c.t();
        w.portal.send(&rep_p, "meter/status", &json!({"esi_id": esi_id(1)}), &t).await?;
        flood_ts.push(t);
        if i % every == 0 {
            let t = c.t();
            w.portal.send(&rep2, "meter/status", &json!({"esi_id": esi_id(1)}), &t).await?;
            other_ts.push(t);
        }
    }
    let mut served = 0u32;
    let mut limited = 0u32;
    let mut last = t0;
    for t in &flood_ts {
        let r = w.portal.response(t, secs(60)).await?;
        last = last.max(Instant::now());
        match code(&r) {
            None => served += 1,
            Some("RATE_LIMITED") => limited += 1,
            Some(x) => c.rep.check(false, || format!("flood answer {x}: {r}")),
        }
    }
    let elapsed = last.duration_since(t0).as_secs_f64();
    let allowed = f64::from(BURST) + f64::from(RATE) * elapsed + 2.0;
    c.rep.check(f64::from(served) <= allowed, || {
        format!("flood: {served} served, the limit allows {allowed:.0}")
    });
    c.rep.check(limited > 0, || "flood: nothing was rate limited".into());
    let mut other_served = 0;
    for t in &other_ts {
        let r = w.portal.response(t, secs(60)).await?;
        if code(&r).is_none() {
            other_served += 1;
        } else {
            c.rep.check(false, || format!("other party refused during the flood: {r}"));
        }
    }
    c.n += limited as usize;
    c.rejected += limited as usize;
    c.rep.fig(
        "flood: sent / served / RATE_LIMITED (over s)",
        format!(
            "{} / {served} / {limited} ({elapsed:.1} s, limit {RATE}/s burst {BURST})",
            o.flood
        ),
    );
    c.rep.fig("flood: other party served", format!("{other_served} / {}", other_ts.len()));
    let (n, rejected) = (c.n, c.rejected);
    rep.fig("abuse cases (incl. flood refusals)", n);
    rep.fig("rejected with the expected code", rejected);
    let _ = Duration::ZERO;

    // --- the whole run: audit chain and secret scan ---
    let mut w = w;
    w.gateway.stop(secs(20))?;
    match w.verify_audit() {
        Ok(n) => rep.fig("audit records verified", n),
        Err(e) => rep.check(false, || e),
    }
    let mut secrets = w.sim.secrets();
    secrets.push(crate::secrets::Secret::from_hex(
        "install code",
        "83FED3407A939723A5C639B26916D505C3B5",
    ));
    let scan = crate::secrets::scan_files(&w.scan_targets()?, &secrets);
    rep.fig(
        "secret scan (files, bytes, secrets, findings)",
        format!("{}, {}, {}, {}", scan.files, scan.bytes, scan.secrets, scan.findings.len()),
    );
    rep.check(scan.findings.is_empty(), || format!("secrets found: {:?}", scan.findings));
    Ok(rep)
}
