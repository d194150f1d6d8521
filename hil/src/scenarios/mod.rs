//! The named scenarios and what they share: the portal, the parties, the gateway process, the
//! simulator (if any), and the record of every accepted delivery for the latency figures.
//!
//! Each scenario gets its own ESI in simulation (its own slot table, devices, serial line and
//! faults), so scenarios never disturb each other and each one can be run alone; against a real
//! coordinator they all share its one ESI.

// The scenarios read answers as `value["field"]`: `serde_json::Value`'s `Index` never panics
// (a missing key, a wrong type or an index out of range gives `Null`, which then fails the
// check that reads it). Nothing here indexes a slice or assigns through `IndexMut`.
#![allow(clippy::indexing_slicing)]

mod delivery;
mod devices;
mod faults;
mod meter;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::gwproc::GatewayProcess;
use crate::portal::{error_code, ok, Party, Portal, Seen};
use crate::report::{Counts, Figures};
use crate::sim::{DeviceWish, Kind, SimDevice, SimProcess};

/// How long a request may wait for its response.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(15);
/// Default of [`Ctx::device_timeout`].
pub const DEVICE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a whole scenario may take.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(180);

/// A scenario of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    /// Simulated devices on its ESI.
    pub devices: &'static [(Kind, bool)],
    /// Why it cannot run against a real coordinator (`None`: it can, maybe in part).
    pub needs_sim: Option<&'static str>,
    /// Why it cannot run when the simulated coordinators are EZSP NCPs (`hil --sim --ncp ezsp`;
    /// `None`: it runs there too).
    pub needs_host_link: Option<&'static str>,
}

/// Every scenario, in the order they run.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "provisioning",
        about: "provision an IHD, a thermostat and a load switch; each joins and pairs; device list and retained status follow",
        devices: &[(Kind::Ihd, false), (Kind::Pct, false), (Kind::Lcs, false)],
        needs_sim: Some("needs devices that join on command (simulated HAN devices)"),
        needs_host_link: None,
    },
    Scenario {
        name: "slots-full",
        about: "fill every slot of an ESI; the next provisioning is SLOTS_FULL naming capacity and occupants; freeing a slot makes room",
        devices: &[],
        needs_sim: None,
        needs_host_link: None,
    },
    Scenario {
        name: "wrong-install-code",
        about: "a bad install code CRC is BAD_INSTALL_CODE; a device holding another key than its label never pairs",
        devices: &[(Kind::Ihd, true)],
        needs_sim: None,
        needs_host_link: None,
    },
    Scenario {
        name: "messaging-confirmation",
        about: "text messages at each priority are delivered; one that needs confirmation is confirmed by the display",
        devices: &[(Kind::Ihd, false)],
        needs_sim: Some("needs a display that confirms on command (simulated IHD)"),
        needs_host_link: None,
    },
    Scenario {
        name: "price",
        about: "prices at each priority are published to the ESI and delivered",
        devices: &[],
        needs_sim: None,
        needs_host_link: None,
    },
    Scenario {
        name: "dr-opt-out",
        about: "a DR event reaches a thermostat and a load switch; the thermostat opts out and the portal hears it",
        devices: &[(Kind::Pct, false), (Kind::Lcs, false)],
        needs_sim: Some("needs a thermostat that opts out on command (simulated PCT)"),
        needs_host_link: None,
    },
    Scenario {
        name: "meter-read",
        about: "on-demand meter read: kWh with 3 decimals, fresh timestamp, never decreasing; a meter event follows",
        devices: &[],
        needs_sim: None,
        needs_host_link: Some("on an EZSP NCP the ESI core runs in the gateway with no meter metrology attached: meter/read answers that the meter cannot supply CurrentSummationDelivered (docs/ezsp.md §3, Limits)"),
    },
    Scenario {
        name: "power-switch-status",
        about: "power and service-switch status on demand; a power failure and a switch change are published as they happen",
        devices: &[],
        needs_sim: None,
        needs_host_link: Some("on an EZSP NCP the ESI core runs in the gateway with no meter attached: power and service-switch status are unknown (null) and the simulator's power and switch commands reach no meter (docs/ezsp.md §3, Limits)"),
    },
    Scenario {
        name: "coordinator-unplug",
        about: "the coordinator is unplugged: offline event, work accepted and queued meanwhile, delivered after replug",
        devices: &[(Kind::Ihd, false)],
        needs_sim: Some("needs the simulator to unplug the coordinator"),
        needs_host_link: Some("on an EZSP NCP the ESI core (slot table) lives in gateway memory and starts empty when the port comes back (docs/ezsp.md §3, Limits): the resync then removes the paired display and the message queued meanwhile ends undeliverable, by design, instead of delivered"),
    },
    Scenario {
        name: "gateway-restart-queued",
        about: "work queued behind an unplugged coordinator survives a SIGKILL of the gateway and is delivered after restart",
        devices: &[(Kind::Ihd, false)],
        needs_sim: Some("needs the simulator to hold work in the queue (unplug) across the restart"),
        needs_host_link: Some("on an EZSP NCP the ESI core (slot table) lives in gateway memory: after the unplug and the restart it starts empty, so the queued work ends undeliverable, by design, instead of delivered (docs/ezsp.md §3, Limits)"),
    },
];

/// The scenario named `name`.
pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// The devices the simulator needs for `selected` scenarios, the i-th scenario on ESI i.
pub fn sim_devices(selected: &[&Scenario]) -> Vec<DeviceWish> {
    selected
        .iter()
        .enumerate()
        .flat_map(|(esi, s)| {
            s.devices.iter().map(move |&(kind, wrong_key)| DeviceWish { kind, esi, wrong_key })
        })
        .collect()
}

/// One ESI as the gateway knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Esi {
    /// Index in the simulator (`esi N` in control commands); 0 for a real coordinator.
    pub index: usize,
    pub esi_id: String,
    pub meter: String,
}

impl Esi {
    /// The ESI ids used with the simulator (17 digits, as ERCOT ESIIDs).
    pub fn simulated(index: usize) -> Self {
        Self { index, esi_id: format!("104437200000{index:05}"), meter: format!("HIL{index}") }
    }
}

/// Who signs a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The gateway operator (grants).
    Ops,
    /// The TDSP (provisioning, reads).
    Tdsp,
    /// A retail electric provider (messages, prices, DR, reads).
    Rep,
}

/// The portal's parties.
#[derive(Debug, Clone)]
pub struct Parties {
    pub ops: Party,
    pub tdsp: Party,
    pub rep: Party,
}

impl Parties {
    pub fn new() -> Self {
        Self {
            ops: Party::new("hil-ops", "admin"),
            tdsp: Party::new("hil-tdsp", "tdsp"),
            rep: Party::new("hil-rep", "rep"),
        }
    }

    pub fn get(&self, who: Who) -> &Party {
        match who {
            Who::Ops => &self.ops,
            Who::Tdsp => &self.tdsp,
            Who::Rep => &self.rep,
        }
    }

    /// Their configuration entries.
    pub fn config_toml(&self) -> String {
        Party::config_toml([&self.ops, &self.tdsp, &self.rep])
    }
}

impl Default for Parties {
    fn default() -> Self {
        Self::new()
    }
}

/// One accepted delivery, for the figures.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub delivery_id: u64,
    pub request_id: u64,
    pub priority: String,
    /// The request's kind (`message`, `price`, `drlc_event`, …).
    pub kind: String,
    /// When the portal got the accepting answer.
    pub accepted_at: Instant,
    /// Held back on purpose (coordinator unplugged, gateway killed): counted for delivery
    /// rates, left out of the latency figures.
    pub held: bool,
}

/// What the scenarios share.
#[derive(Debug)]
pub struct Ctx {
    pub portal: Portal,
    pub parties: Parties,
    pub gw: GatewayProcess,
    pub sim: Option<SimProcess>,
    pub tracked: Vec<Tracked>,
    pub provisioning_ms: Vec<f64>,
    /// Notes of the running scenario.
    pub notes: Vec<String>,
    /// Deliveries accepted now are held back on purpose (see [`Tracked::held`]).
    pub hold: bool,
    /// How long a device may take to pair after `rejoin`, and a delivery to reach the state a
    /// scenario waits for: a device that never answers fails the scenario after this.
    pub device_timeout: Duration,
    seq: u64,
    granted: HashSet<String>,
    paired: HashSet<String>,
}

const TERMINAL_FAILURES: [&str; 4] = ["failed", "undeliverable", "expired", "cancelled"];

impl Ctx {
    pub fn new(
        portal: Portal,
        parties: Parties,
        gw: GatewayProcess,
        sim: Option<SimProcess>,
    ) -> Self {
        Self {
            portal,
            parties,
            gw,
            sim,
            tracked: Vec::new(),
            provisioning_ms: Vec::new(),
            notes: Vec::new(),
            hold: false,
            device_timeout: DEVICE_TIMEOUT,
            seq: 0,
            granted: HashSet::new(),
            paired: HashSet::new(),
        }
    }

    pub fn note(&mut self, n: impl Into<String>) {
        self.notes.push(n.into());
    }

    /// The simulator, or why there is none.
    pub fn sim(&self) -> Result<&SimProcess, String> {
        self.sim.as_ref().ok_or_else(|| "needs the simulator".to_owned())
    }

    /// One control line to the simulator.
    pub fn control(&self, line: &str) -> Result<String, String> {
        self.sim()?.control(line)
    }

    /// The simulated devices of `kind` on `esi`.
    pub fn devices(&self, esi: &Esi, kind: Kind) -> Result<Vec<SimDevice>, String> {
        let d = self.sim()?.devices_on(esi.index, kind);
        if d.is_empty() {
            return Err(format!("no simulated {} on ESI {}", kind.name(), esi.index));
        }
        Ok(d)
    }

    /// Sends a request as `who` and waits for the answer.
    pub async fn call(
        &mut self,
        who: Who,
        action: &str,
        body: Value,
    ) -> Result<(Value, Instant), String> {
        self.seq += 1;
        let t = format!("hil-{}", self.seq);
        self.portal.call(self.parties.get(who), action, body, &t, RESPONSE_TIMEOUT).await
    }

    /// [`Ctx::call`] that must succeed: its `data`.
    pub async fn ok(&mut self, who: Who, action: &str, body: Value) -> Result<Value, String> {
        let (v, _) = self.call(who, action, body).await?;
        ok(&v).cloned().map_err(|e| format!("{action} {e}"))
    }

    /// [`Ctx::call`] that must fail with `code`: the error message.
    pub async fn expect_error(
        &mut self,
        who: Who,
        action: &str,
        body: Value,
        code: &str,
    ) -> Result<String, String> {
        let (v, _) = self.call(who, action, body).await?;
        match error_code(&v) {
            Some(c) if c == code => Ok(v["error"]["message"].as_str().unwrap_or("").to_owned()),
            Some(c) => {
                Err(format!("{action}: expected {code}, got {c}: {}", v["error"]["message"]))
            }
            None => Err(format!("{action}: expected {code}, but it succeeded: {}", v["data"])),
        }
    }

    /// Grants the TDSP and the REP their rights on `esi` (once).
    pub async fn ensure_grants(&mut self, esi: &Esi) -> Result<(), String> {
        if self.granted.contains(&esi.esi_id) {
            return Ok(());
        }
        for (party, rights) in [
            ("hil-tdsp", json!(["provision", "deprovision", "read"])),
            ("hil-rep", json!(["message", "price", "drlc", "read"])),
        ] {
            self.ok(
                Who::Ops,
                "grant/add",
                json!({"party": party, "esi_id": esi.esi_id, "meter_number": esi.meter, "rights": rights}),
            )
            .await?;
        }
        self.granted.insert(esi.esi_id.clone());
        Ok(())
    }

    /// Provisions `d` on `esi`, tells it to join and waits until it is paired; records the
    /// time from the request to the `paired` event. Does nothing if it is already paired.
    pub async fn pair(&mut self, esi: &Esi, d: &SimDevice) -> Result<(), String> {
        if self.paired.contains(&d.eui64) {
            return Ok(());
        }
        self.ensure_grants(esi).await?;
        let from = self.portal.mark();
        let sent = Instant::now();
        let r = self
            .ok(
                Who::Tdsp,
                "device/provision",
                json!({"esi_id": esi.esi_id, "meter_number": esi.meter, "eui64": d.eui64,
                       "install_code": d.install_code, "label": format!("hil {} {}", d.kind, d.kind_number),
                       "join_window_minutes": 60}),
            )
            .await?;
        if r["state"] != "pending" {
            return Err(format!("device/provision of {} answered state {}", d.eui64, r["state"]));
        }
        self.control(&format!("device {} rejoin", d.number))?;
        let eui = d.eui64.clone();
        let s = self
            .portal
            .wait_from(from, self.device_timeout, &format!("{} {} to pair", d.kind, d.eui64), |s| {
                s.topic.ends_with("/event/device")
                    && s.json()["eui64"] == eui.as_str()
                    && matches!(s.json()["state"].as_str(), Some("paired" | "expired" | "unpaired"))
            })
            .await?;
        if s.json()["state"] != "paired" {
            return Err(format!(
                "{} {} ended {} instead of paired",
                d.kind,
                d.eui64,
                s.json()["state"]
            ));
        }
        self.provisioning_ms.push(ms(s.at.saturating_duration_since(sent)));
        self.paired.insert(d.eui64.clone());
        Ok(())
    }

    /// Records the deliveries of an accepting answer `data` (received at `at`) under `priority`.
    pub fn track(&mut self, priority: &str, data: &Value, at: Instant) -> Vec<u64> {
        let request_id = data["request_id"].as_u64().unwrap_or(0);
        let kind = data["kind"].as_str().unwrap_or("other").to_owned();
        let mut ids = Vec::new();
        for d in data["deliveries"].as_array().into_iter().flatten() {
            if let Some(id) = d["delivery_id"].as_u64() {
                ids.push(id);
                self.tracked.push(Tracked {
                    delivery_id: id,
                    request_id,
                    priority: priority.to_owned(),
                    kind: kind.clone(),
                    accepted_at: at,
                    held: self.hold,
                });
            }
        }
        ids
    }

    /// Sends a request that creates deliveries and tracks them: `(data, delivery ids)`.
    pub async fn accept(
        &mut self,
        who: Who,
        action: &str,
        priority: &str,
        mut body: Value,
    ) -> Result<(Value, Vec<u64>), String> {
        body["priority"] = Value::String(priority.to_owned());
        let (v, at) = self.call(who, action, body).await?;
        let data = ok(&v).map_err(|e| format!("{action} {e}"))?.clone();
        let ids = self.track(priority, &data, at);
        if ids.is_empty() {
            return Err(format!("{action} accepted without deliveries: {data}"));
        }
        Ok((data, ids))
    }

    /// Waits until every delivery in `ids` has reached `state` (or later: `confirmed` counts
    /// as `delivered`); a delivery that ends otherwise fails the wait at once.
    pub async fn wait_deliveries(
        &self,
        ids: &[u64],
        state: &str,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        for &id in ids {
            let left = deadline.saturating_duration_since(Instant::now());
            let ok_states: &[&str] =
                if state == "delivered" { &["delivered", "confirmed"] } else { &[state] };
            let r = self
                .portal
                .wait_from(0, left, &format!("delivery {id} to be {state}"), |s| {
                    delivery_event(s).is_some_and(|(d, st)| {
                        d == id
                            && (ok_states.contains(&st.as_str())
                                || TERMINAL_FAILURES.contains(&st.as_str()))
                    })
                })
                .await;
            match r {
                Ok(s) => {
                    let v = s.json();
                    let st = v["state"].as_str().unwrap_or("");
                    if !ok_states.contains(&st) {
                        return Err(format!(
                            "delivery {id} ended {st} ({}) instead of {state}",
                            v["error"].as_str().unwrap_or("no error given")
                        ));
                    }
                }
                Err(e) => {
                    let last = self.last_state(id).unwrap_or_else(|| "no event at all".into());
                    return Err(format!("{e} (last seen: {last})"));
                }
            }
        }
        Ok(())
    }

    /// The last state event seen for delivery `id`.
    pub fn last_state(&self, id: u64) -> Option<String> {
        self.portal
            .seen()
            .iter()
            .rev()
            .find_map(|s| delivery_event(s).filter(|(d, _)| *d == id).map(|(_, st)| st))
    }

    /// Waits until the retained status of `esi` (seen from index `from` on) says the link is
    /// online.
    pub async fn wait_online(
        &self,
        esi: &Esi,
        from: usize,
        timeout: Duration,
    ) -> Result<(), String> {
        let topic = format!("{}/esi/{}/status", self.portal.root, esi.esi_id);
        let ev = format!("{}/event/coordinator", self.portal.root);
        let id = esi.esi_id.clone();
        self.portal
            .wait_from(from, timeout, &format!("ESI {} online", esi.esi_id), |s| {
                (s.topic == topic && s.json()["link"] == "online")
                    || (s.topic == ev
                        && s.json()["esi_id"] == id.as_str()
                        && s.json()["state"] == "online")
            })
            .await
            .map(|_| ())
    }

    /// The figures of the whole run: latencies from the events seen, final states from the
    /// events or, where the portal missed them, from `message/status`.
    pub async fn figures(&mut self) -> Figures {
        let seen = self.portal.seen();
        let mut first: BTreeMap<(u64, &str), Instant> = BTreeMap::new();
        let mut last: BTreeMap<u64, String> = BTreeMap::new();
        for s in &seen {
            if let Some((id, st)) = delivery_event(s) {
                for key in ["delivered", "confirmed"] {
                    if st == key {
                        first.entry((id, key)).or_insert(s.at);
                    }
                }
                if st == "confirmed" {
                    first.entry((id, "delivered")).or_insert(s.at);
                }
                let e = last.entry(id).or_default();
                // Never let a late `delivered` hide a `confirmed`.
                if !(e == "confirmed" && st == "delivered") {
                    *e = st;
                }
            }
        }
        // Final states the portal did not see as events (e.g. while the broker restarted).
        let mut missing: Vec<u64> = self
            .tracked
            .iter()
            .filter(|t| !last.get(&t.delivery_id).is_some_and(|s| is_final(s)))
            .map(|t| t.request_id)
            .collect();
        missing.sort_unstable();
        missing.dedup();
        for rid in missing {
            if let Ok(d) = self.ok(Who::Rep, "message/status", json!({"message_id": rid})).await {
                for x in d["deliveries"].as_array().into_iter().flatten() {
                    if let (Some(id), Some(st)) = (x["delivery_id"].as_u64(), x["state"].as_str()) {
                        last.insert(id, st.to_owned());
                    }
                }
            }
        }
        let mut f = Figures { provisioning_ms: self.provisioning_ms.clone(), ..Figures::default() };
        for t in &self.tracked {
            let p = t.priority.clone();
            let c: &mut Counts = f.counts.entry(p.clone()).or_default();
            c.accepted += 1;
            let st = last.get(&t.delivery_id).map_or("", String::as_str);
            match st {
                "delivered" => c.delivered += 1,
                "confirmed" => {
                    c.delivered += 1;
                    c.confirmed += 1;
                }
                "cancelled" => c.cancelled += 1,
                "failed" | "undeliverable" | "expired" => c.failed += 1,
                _ => c.pending += 1,
            }
            if t.held {
                continue;
            }
            for (key, map) in
                [("delivered", &mut f.delivered_ms), ("confirmed", &mut f.confirmed_ms)]
            {
                if let Some(at) = first.get(&(t.delivery_id, key)) {
                    let x = ms(at.saturating_duration_since(t.accepted_at));
                    map.entry(p.clone()).or_default().push(x);
                    if key == "delivered" {
                        f.delivered_by_kind.entry((p.clone(), t.kind.clone())).or_default().push(x);
                    }
                }
            }
        }
        f
    }
}

fn is_final(s: &str) -> bool {
    matches!(s, "delivered" | "confirmed" | "failed" | "undeliverable" | "expired" | "cancelled")
}

/// `(delivery_id, state)` of an `event/delivery` message.
pub fn delivery_event(s: &Seen) -> Option<(u64, String)> {
    if !s.topic.ends_with("/event/delivery") {
        return None;
    }
    let v = s.json();
    Some((v["delivery_id"].as_u64()?, v["state"].as_str()?.to_owned()))
}

/// Milliseconds of `d`.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs scenario `name` on `esi`; `Ok` carries nothing (notes go to `ctx.notes`).
pub async fn run(name: &str, ctx: &mut Ctx, esi: &Esi) -> Result<(), String> {
    match name {
        "provisioning" => devices::provisioning(ctx, esi).await,
        "slots-full" => devices::slots_full(ctx, esi).await,
        "wrong-install-code" => devices::wrong_install_code(ctx, esi).await,
        "messaging-confirmation" => delivery::messaging_confirmation(ctx, esi).await,
        "price" => delivery::price(ctx, esi).await,
        "dr-opt-out" => delivery::dr_opt_out(ctx, esi).await,
        "meter-read" => meter::meter_read(ctx, esi).await,
        "power-switch-status" => meter::power_switch_status(ctx, esi).await,
        "coordinator-unplug" => faults::coordinator_unplug(ctx, esi).await,
        "gateway-restart-queued" => faults::gateway_restart_queued(ctx, esi).await,
        other => Err(format!("unknown scenario `{other}`")),
    }
}
