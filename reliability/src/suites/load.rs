//! Steady mixed load over MQTT and the end-of-run accounting shared by the crash, serial and
//! outage suites.
//!
//! The load (seeded): messages at every priority to the displays, prices to the displays, DR
//! events to the thermostats, reads (`meter/read`, `meter/status`, `device/list`), and
//! provisioning churn (devices that never join are provisioned and de-provisioned again).
//! Every request carries its own transaction. At the end ([`Load::settle`]):
//! 1. every request has an answer — requests without one are retried by the portal under the
//!    same transaction, as a portal does after a timeout (counted);
//! 2. every accepted request's deliveries reach a terminal state (`message/status`);
//! 3. on the simulator side every delivered command reached its device at least once, and no
//!    device received one more often than the retry policy allows (`max_attempts` sends, plus
//!    one per gateway crash while it was in flight);
//! 4. provisioning answered `ok` is in `device/list` (or was de-provisioned with `ok`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::gw::{esi_id, meter};
use crate::portal::{code, ok};
use crate::report::Report;
use crate::world::{request_id, secs, World};
use crate::{Result, Rng};

/// The scheduler's default `max_attempts` (gateway `[scheduler]`), the configured retry policy.
pub const MAX_ATTEMPTS: u32 = 5;

/// A request the load sent.
#[derive(Debug, Clone)]
pub struct Req {
    pub transaction: String,
    pub action: &'static str,
    pub party: &'static str,
    pub body: Value,
    /// Gateway starts before it was sent.
    pub epoch: u32,
}

/// What an accepted request is expected to do on the devices.
#[derive(Debug, Clone)]
struct Accepted {
    transaction: String,
    request_id: u64,
    /// The simulator's counter key (`DisplayMessage 17`, `PublishPrice 5`, …).
    device_key: String,
    /// Gateway starts when it was accepted.
    epoch: u32,
}

/// The load generator and its bookkeeping.
#[derive(Debug)]
pub struct Load {
    rng: Rng,
    seq: u64,
    pub reqs: Vec<Req>,
    /// Fake (never joining) devices provisioned per ESI, oldest first.
    fakes: BTreeMap<usize, Vec<String>>,
    /// Install codes of the fake devices (secrets for the scan).
    pub fake_codes: Vec<String>,
    /// Whether provisioning churn is part of the mix.
    pub provisioning: bool,
    /// (ESI, requests sent by then) of every coordinator reset: a reset wipes the ESI's slot
    /// table, so what was provisioned there before is gone by design (reported as removed).
    pub resets: Vec<(usize, usize)>,
}

impl Load {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed),
            seq: 0,
            reqs: Vec::new(),
            fakes: BTreeMap::new(),
            fake_codes: Vec::new(),
            provisioning: true,
            resets: Vec::new(),
        }
    }

    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        let i = self.rng.range(0, v.len().saturating_sub(1) as u64) as usize;
        v.get(i).copied().unwrap_or("medium")
    }

    /// The next request of the mix (not sent).
    fn next(&mut self, w: &World) -> Req {
        self.seq += 1;
        let t = format!("L{}", self.seq);
        let e = self.rng.range(0, w.esis().saturating_sub(1) as u64) as usize;
        let dev = |kind: &str| {
            w.sim.devices.iter().find(|d| d.esi == e && d.kind == kind).map(|d| d.eui64.clone())
        };
        let ihd = dev("ihd").unwrap_or_default();
        let pct = dev("pct").unwrap_or_default();
        let roll = self.rng.range(0, 99);
        let (action, party, body) = match roll {
            0..=39 => {
                let priority = self.pick(&["high", "medium", "low"]);
                (
                    "message/send",
                    "rep",
                    json!({"esi_ids": [esi_id(e)], "devices": [ihd],
                    "priority": priority, "text": format!("Load {}", self.seq),
                    "importance": "medium", "duration_minutes": 60}),
                )
            }
            40..=54 => {
                // One priority per ESI for prices and DR events: the ESI refuses one older than
                // what it already holds, which mixed priorities would provoke by reordering.
                let priority = if e.is_multiple_of(2) { "high" } else { "medium" };
                (
                    "price/publish",
                    "rep",
                    json!({"esi_ids": [esi_id(e)],
                    "priority": priority, "provider_id": 42, "rate_label": "PEAK", "currency": 840,
                    "price": 1000 + self.seq % 1000, "price_trailing_digit": 4, "price_tier": 2,
                    "number_of_price_tiers": 3, "duration_minutes": 60}),
                )
            }
            55..=69 => {
                let priority = if e.is_multiple_of(2) { "high" } else { "medium" };
                (
                    "drlc/event",
                    "rep2",
                    json!({"esi_ids": [esi_id(e)], "devices": [pct],
                    "priority": priority, "device_classes": ["hvac"], "duration_minutes": 60,
                    "criticality": 3, "cooling_temperature_offset": 2.0}),
                )
            }
            70..=84 => match roll % 3 {
                0 => ("meter/read", "rep", json!({"esi_id": esi_id(e)})),
                1 => ("meter/status", "rep", json!({"esi_id": esi_id(e)})),
                _ => ("device/list", "tdsp", json!({"esi_id": esi_id(e)})),
            },
            _ if self.provisioning => self.provisioning_step(e),
            _ => ("device/list", "tdsp", json!({"esi_id": esi_id(e)})),
        };
        Req { transaction: t, action, party, body, epoch: 0 }
    }

    /// Provisions a fake device on ESI `e`, or de-provisions the oldest one when three are
    /// pending there (10 slots, 3 taken by the simulated devices).
    fn provisioning_step(&mut self, e: usize) -> (&'static str, &'static str, Value) {
        let fakes = self.fakes.entry(e).or_default();
        if fakes.len() >= 3 {
            let eui = fakes.remove(0);
            return (
                "device/deprovision",
                "tdsp",
                json!({"esi_id": esi_id(e), "eui64": eui, "reason": "customer_request"}),
            );
        }
        let eui = format!("00aa{e:02x}{:010x}", self.seq);
        let mut bytes = [0u8; 16];
        for b in &mut bytes {
            *b = (self.rng.next_u64() & 0xff) as u8;
        }
        let code = zse::security::InstallCode::from_code(&bytes)
            .map(|c| {
                c.as_bytes().iter().fold(String::new(), |mut s, b| {
                    let _ = write!(s, "{b:02X}");
                    s
                })
            })
            .unwrap_or_default();
        self.fake_codes.push(code.clone());
        fakes.push(eui.clone());
        (
            "device/provision",
            "tdsp",
            json!({"esi_id": esi_id(e), "meter_number": meter(e), "eui64": eui,
                   "install_code": code, "label": "never joins", "join_window_minutes": 60}),
        )
    }

    /// Sends the next request (signed now) and records it.
    pub async fn send_next(&mut self, w: &World) -> Result<()> {
        let mut r = self.next(w);
        r.epoch = w.gateway.starts;
        let p = w.party(r.party)?.clone();
        w.portal.send(&p, r.action, &r.body, &r.transaction).await?;
        self.reqs.push(r);
        Ok(())
    }

    /// Sends load for `d` at one request per `interval`.
    pub async fn run_for(&mut self, w: &World, d: Duration, interval: Duration) -> Result<()> {
        let end = Instant::now() + d;
        while Instant::now() < end {
            self.send_next(w).await?;
            tokio::time::sleep(interval).await;
        }
        Ok(())
    }

    /// The accounting of the module docs; adds figures and failed checks to `rep`.
    /// `restarts_at` are the gateway start counts (epochs) after which it was killed.
    pub async fn settle(
        &mut self,
        w: &World,
        rep: &mut Report,
        answer_wait: Duration,
    ) -> Result<()> {
        // 1. Answers, retrying silent requests under the same transaction.
        let deadline = Instant::now() + answer_wait;
        while Instant::now() < deadline && self.unanswered(w).next().is_some() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let silent: Vec<Req> = self.unanswered(w).cloned().collect();
        rep.fig("requests sent", self.reqs.len());
        rep.fig("requests retried by the portal (no answer)", silent.len());
        for r in &silent {
            let p = w.party(r.party)?.clone();
            w.portal.send(&p, r.action, &r.body, &r.transaction).await?;
        }
        for r in &silent {
            if let Err(e) = w.portal.response(&r.transaction, secs(60)).await {
                rep.check(false, || {
                    format!("{} ({}) never answered: {e}", r.transaction, r.action)
                });
            }
        }
        // Outcomes.
        let mut by_code: BTreeMap<String, usize> = BTreeMap::new();
        let mut accepted = Vec::new();
        let mut provisioned: BTreeMap<String, (usize, bool)> = BTreeMap::new();
        let mut duplicate_answers = 0usize;
        let mut state_answers = 0usize;
        for r in &self.reqs {
            let answers = w.portal.responses(&r.transaction);
            let Some(first) = answers.first() else { continue };
            // Every answer to the same transaction must be the same answer.
            if answers.iter().any(|a| a["status"] != first["status"] || a["data"] != first["data"])
            {
                rep.check(false, || format!("{}: different answers {answers:?}", r.transaction));
            }
            duplicate_answers += answers.len().saturating_sub(1);
            let c = code(first).unwrap_or("ok").to_owned();
            *by_code.entry(format!("{} {c}", r.action)).or_default() += 1;
            let eui = r.body["eui64"].as_str().unwrap_or_default().to_owned();
            // A change redelivered after a crash that hit between its commit and its stored
            // outcome is carried out again and answered from the state it left: the intent
            // holds, the answer is a state error (counted).
            match (r.action, c.as_str()) {
                ("device/provision", "ALREADY_PROVISIONED") => {
                    provisioned.insert(eui.clone(), (esi_index(&r.body), true));
                    state_answers += 1;
                }
                ("device/deprovision", "NOT_PAIRED") => {
                    provisioned.insert(eui.clone(), (esi_index(&r.body), false));
                    state_answers += 1;
                }
                _ => {}
            }
            let Ok(data) = ok(first) else { continue };
            match r.action {
                "message/send" | "price/publish" | "drlc/event" => {
                    let Some(id) = request_id(data) else {
                        rep.check(false, || {
                            format!("{}: accepted without an id: {data}", r.transaction)
                        });
                        continue;
                    };
                    let key = match r.action {
                        "message/send" => format!("DisplayMessage {}", data["message_id"]),
                        "price/publish" => format!("PublishPrice {}", data["issuer_event_id"]),
                        _ => format!("LoadControlEvent {}", data["issuer_event_id"]),
                    };
                    accepted.push(Accepted {
                        transaction: r.transaction.clone(),
                        request_id: id,
                        device_key: key,
                        epoch: r.epoch,
                    });
                }
                "device/provision" => {
                    let e = esi_index(&r.body);
                    provisioned.insert(eui, (e, true));
                }
                "device/deprovision" => {
                    let e = esi_index(&r.body);
                    provisioned.insert(eui, (e, false));
                }
                _ => {}
            }
        }
        rep.fig("answers by action and code", format!("{by_code:?}"));
        rep.fig("duplicate answers (broker redelivery, same answer)", duplicate_answers);
        rep.fig(
            "provisioning answered from state after redelivery (ALREADY_PROVISIONED / NOT_PAIRED)",
            state_answers,
        );
        rep.fig("accepted requests with deliveries", accepted.len());
        // 2. Terminal states.
        let rep_party = w.party("rep")?.clone();
        let mut states: BTreeMap<String, usize> = BTreeMap::new();
        let mut final_of: BTreeMap<u64, Vec<(String, String, u64)>> = BTreeMap::new();
        let mut not_delivered: Vec<String> = Vec::new();
        // A message replaced on the ESI by a newer one before it went out (SE keeps one
        // message per ESI): terminal and reported, not lost.
        let mut superseded_n = 0usize;
        // Deliveries to a device a coordinator reset wiped: `undeliverable`, reported.
        let mut wiped_n = 0usize;
        let deadline = Instant::now() + secs(180);
        let mut pending: Vec<&Accepted> = accepted.iter().collect();
        let mut round = 0u32;
        while !pending.is_empty() {
            round += 1;
            let mut still = Vec::new();
            for a in pending {
                let t = format!("st-{}-{round}", a.transaction);
                let r = w
                    .portal
                    .call(
                        &rep_party,
                        "message/status",
                        &json!({"message_id": a.request_id}),
                        &t,
                        secs(30),
                    )
                    .await?;
                let d = ok(&r)?["deliveries"].as_array().cloned().unwrap_or_default();
                let terminal = d.iter().all(|x| is_terminal(x["state"].as_str().unwrap_or("")));
                if terminal {
                    for x in &d {
                        let err = x["last_error"].as_str().unwrap_or("");
                        if err.contains("replaced") {
                            superseded_n += 1;
                        } else if err.contains("not provisioned") && !self.resets.is_empty() {
                            wiped_n += 1;
                        } else if !matches!(x["state"].as_str(), Some("delivered" | "confirmed")) {
                            not_delivered.push(format!(
                                "{} {} {} {}",
                                a.transaction, a.device_key, x["state"], x["last_error"]
                            ));
                        }
                    }
                    final_of.insert(
                        a.request_id,
                        d.iter()
                            .map(|x| {
                                (
                                    x["eui64"].as_str().unwrap_or_default().to_owned(),
                                    x["state"].as_str().unwrap_or_default().to_owned(),
                                    x["retries"].as_u64().unwrap_or(0),
                                )
                            })
                            .collect(),
                    );
                } else {
                    still.push(a);
                }
            }
            pending = still;
            if pending.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                rep.check(false, || {
                    format!(
                        "{} accepted requests not terminal after 180 s: {:?}",
                        pending.len(),
                        pending.iter().take(5).map(|a| &a.transaction).collect::<Vec<_>>()
                    )
                });
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        for v in final_of.values() {
            for (_, s, _) in v {
                *states.entry(s.clone()).or_default() += 1;
            }
        }
        rep.fig("final delivery states", format!("{states:?}"));
        let not_done = not_delivered.len();
        rep.fig("undeliverable: device wiped by a coordinator reset (terminal, reported)", wiped_n);
        rep.fig("superseded by a newer message before sending (terminal, reported)", superseded_n);
        rep.fig("accepted messages lost (not delivered)", not_done);
        rep.check(not_done == 0, || {
            format!("{not_done} deliveries ended other than delivered: {not_delivered:?}")
        });
        // The same ZCL id (issuer event id) for two accepted requests to one device: the device
        // would take the second for a duplicate of the first.
        let mut ids: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for a in &accepted {
            for (eui, _, _) in final_of.get(&a.request_id).into_iter().flatten() {
                ids.entry((eui.clone(), a.device_key.clone()))
                    .or_default()
                    .push(a.transaction.clone());
            }
        }
        let reused: Vec<_> = ids.iter().filter(|(_, v)| v.len() > 1).collect();
        rep.fig("ZCL ids (issuer event / message id) reused for one device", reused.len());
        rep.check(reused.is_empty(), || format!("ids reused: {reused:?}"));
        // 3. Device-side counts.
        let received = w.sim.received()?;
        let n_of: BTreeMap<&str, usize> =
            w.sim.devices.iter().map(|d| (d.eui64.as_str(), d.n)).collect();
        let starts = w.gateway.starts;
        let mut hist: BTreeMap<u32, usize> = BTreeMap::new();
        let (mut over, mut missing) = (0usize, 0usize);
        for a in &accepted {
            let Some(v) = final_of.get(&a.request_id) else { continue };
            for (eui, state, _) in v {
                let Some(n) = n_of.get(eui.as_str()) else { continue };
                let got = received.get(&(*n, a.device_key.clone())).copied().unwrap_or(0);
                *hist.entry(got).or_default() += 1;
                // Restarts after it was accepted: each may resend what was in flight.
                let crashes = starts.saturating_sub(a.epoch);
                let allowed = MAX_ATTEMPTS + crashes;
                if got > allowed {
                    over += 1;
                    rep.check(false, || {
                        format!(
                            "{} ({}) reached device {n} {got} times, allowed {allowed}",
                            a.transaction, a.device_key
                        )
                    });
                }
                if matches!(state.as_str(), "delivered" | "confirmed") && got == 0 {
                    missing += 1;
                    rep.check(false, || {
                        format!(
                            "{} ({}) is {state} but device {n} never got it",
                            a.transaction, a.device_key
                        )
                    });
                }
            }
        }
        rep.fig("device receptions per delivery (times: deliveries)", format!("{hist:?}"));
        rep.fig("deliveries over the retry bound", over);
        rep.fig("delivered but never received by the device", missing);
        // 4. Provisioning is durable.
        let tdsp = w.party("tdsp")?.clone();
        let mut listed: BTreeSet<String> = BTreeSet::new();
        for e in 0..w.esis() {
            let r = w
                .portal
                .call(
                    &tdsp,
                    "device/list",
                    &json!({"esi_id": esi_id(e), "page_size": 100}),
                    &format!("final-list-{e}"),
                    secs(30),
                )
                .await?;
            for d in ok(&r)?["devices"].as_array().cloned().unwrap_or_default() {
                if d["state"] != "removed" && d["state"] != "unpaired" {
                    listed.insert(d["eui64"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
        let mut prov_bad = 0;
        let mut prov_wiped = 0;
        for (eui, (e, present)) in &provisioned {
            let sent_at = self
                .reqs
                .iter()
                .rposition(|r| r.body["eui64"].as_str() == Some(eui.as_str()))
                .unwrap_or(0);
            if *present && self.resets.iter().any(|(re, at)| re == e && *at > sent_at) {
                prov_wiped += 1;
                continue;
            }
            if listed.contains(eui) != *present {
                prov_bad += 1;
                rep.check(false, || {
                    format!(
                        "device {eui}: expected present={present}, listed={}",
                        listed.contains(eui)
                    )
                });
            }
        }
        rep.fig("provisioning outcomes checked against device/list", provisioned.len());
        rep.fig("provisioning outcomes lost", prov_bad);
        rep.fig(
            "provisioned devices wiped by a coordinator reset (reported as removed)",
            prov_wiped,
        );
        Ok(())
    }

    fn unanswered<'a>(&'a self, w: &'a World) -> impl Iterator<Item = &'a Req> + 'a {
        self.reqs.iter().filter(|r| w.portal.responses(&r.transaction).is_empty())
    }
}

fn esi_index(body: &Value) -> usize {
    body["esi_id"].as_str().and_then(|s| s.chars().last()).and_then(|c| c.to_digit(10)).unwrap_or(0)
        as usize
}

/// Whether a delivery state is final.
pub fn is_terminal(s: &str) -> bool {
    matches!(s, "delivered" | "confirmed" | "failed" | "undeliverable" | "expired" | "cancelled")
}
