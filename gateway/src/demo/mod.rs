//! `gateway demo`: the whole system on one machine, narrated (issue 9, README's first command).
//!
//! In a temporary directory it starts the ESI simulator (two ESIs: ESI 0 with an in-home
//! display, a thermostat and a load switch, ESI 1 with a display) on ptys, and the daemon with
//! the embedded MQTT broker, the MQTT bridge (`jws` mode, keys made for the run) and the
//! `/metrics` endpoint. Then, as a portal client speaking the real MQTT contract, it grants
//! rights, provisions the devices (the simulator's devices join when told), publishes a price,
//! sends a text message that the display confirms, runs a DR event that the thermostat opts out
//! of, reads the meter, and watches a power failure and a service-switch change made on the
//! simulator's control channel — printing every request, response and event with its topic.
//! Then it stays up for other clients until Ctrl-C.
//!
//! Every wait has a timeout; a failed step stops the script with a message naming the step.

// `value["key"]` on a `serde_json::Value` never panics (a missing key or a non-object gives
// `Null`); the lint is about slices.
#![allow(clippy::indexing_slicing)]

pub mod portal;
pub mod sim;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::config::Config;
use crate::daemon::Daemon;
use portal::{Narrator, Party, Portal};
use sim::SimThread;

/// Gateway id of the demo (the topic root is `han/demo`).
pub const GATEWAY_ID: &str = "demo";
/// Default MQTT 5 port of the demo's embedded broker (MQTT 3.1.1 on the next one).
pub const DEFAULT_MQTT_PORT: u16 = 18830;
/// Default metrics address.
pub const DEFAULT_METRICS: &str = "127.0.0.1:9464";

/// A failed step: which, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoError {
    pub step: String,
    pub reason: String,
}

impl DemoError {
    pub fn new(step: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { step: step.into(), reason: reason.into() }
    }
}

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "demo step \"{}\" failed: {}", self.step, self.reason)
    }
}

impl std::error::Error for DemoError {}

/// What to run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// MQTT 5 port of the embedded broker (3.1.1 on the next port); `None`: the default if
    /// free, else any free pair; `Some(0)`: any free pair.
    pub mqtt_port: Option<u16>,
    /// `/metrics` address; `None`: the default if free, else any free port.
    pub metrics: Option<SocketAddr>,
    /// Simulator seed (device identities and install codes).
    pub seed: u64,
    /// Longest wait of any step.
    pub step_timeout: Duration,
    /// Keep the data here instead of a temporary directory that is removed at the end.
    pub data_dir: Option<PathBuf>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            mqtt_port: None,
            metrics: None,
            seed: 1,
            step_timeout: Duration::from_secs(60),
            data_dir: None,
        }
    }
}

/// Where the running demo can be reached.
#[derive(Debug, Clone)]
pub struct DemoInfo {
    /// MQTT 5 listener of the embedded broker.
    pub broker: SocketAddr,
    /// MQTT 3.1.1 listener (mosquitto_sub's default protocol).
    pub broker_v311: SocketAddr,
    pub metrics: SocketAddr,
    /// `han/demo`.
    pub root: String,
    pub dir: PathBuf,
    pub sim_control: PathBuf,
    pub ctl_socket: PathBuf,
    pub esi_ids: Vec<String>,
}

/// What the script observed, step by step.
#[derive(Debug, Clone, Default)]
pub struct ScriptReport {
    /// (step title, seconds it took), in order; every one succeeded.
    pub steps: Vec<(String, f64)>,
    pub devices_paired: Vec<String>,
    pub price_delivered: usize,
    pub message_id: u64,
    pub message_confirmed: bool,
    pub issuer_event_id: u64,
    pub dr_received_by: Vec<String>,
    pub dr_opt_out_by: Option<String>,
    pub meter_kwh: Option<f64>,
    pub power_seen: Vec<String>,
    pub switch_seen: Vec<String>,
}

/// A free local port pair (p, p + 1), `preferred` if both are free.
fn port_pair(preferred: Option<u16>) -> Result<u16, String> {
    let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
    if let Some(p) = preferred.filter(|&p| p != 0) {
        return if p < u16::MAX && free(p) && free(p + 1) {
            Ok(p)
        } else {
            Err(format!(
                "ports {p} and {} must both be free for the embedded broker",
                p.saturating_add(1)
            ))
        };
    }
    if preferred.is_none() && free(DEFAULT_MQTT_PORT) && free(DEFAULT_MQTT_PORT + 1) {
        return Ok(DEFAULT_MQTT_PORT);
    }
    for _ in 0..50 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let p = l.local_addr().map_err(|e| e.to_string())?.port();
        drop(l);
        if p < u16::MAX && free(p + 1) {
            return Ok(p);
        }
    }
    Err("no free pair of local ports for the embedded broker".into())
}

fn metrics_addr(wanted: Option<SocketAddr>) -> SocketAddr {
    if let Some(a) = wanted {
        return a;
    }
    let default: SocketAddr =
        DEFAULT_METRICS.parse().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 9464)));
    if std::net::TcpListener::bind(default).is_ok() {
        default
    } else {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }
}

pub fn esi_id(i: usize) -> String {
    format!("1044372000000000{i}")
}

pub fn meter(i: usize) -> String {
    format!("M{i}")
}

/// The daemon's configuration for the demo (also a readable example of a full file).
pub fn config_text(
    dir: &Path,
    links: &[PathBuf],
    mqtt_port: u16,
    metrics: SocketAddr,
    parties: &[Party],
) -> String {
    use std::fmt::Write as _;
    let mut t =
        format!("gateway_id = \"{GATEWAY_ID}\"\ndata_dir = \"{}\"\n", dir.join("data").display());
    for (i, l) in links.iter().enumerate() {
        let _ = write!(
            t,
            "\n[[coordinator]]\nport = \"{}\"\nesi_id = \"{}\"\nmeter_number = \"{}\"\n",
            l.display(),
            esi_id(i),
            meter(i)
        );
    }
    let _ = write!(
        t,
        "\n[polling]\nstatus_interval = \"10s\"\nstale_after = \"1m\"\n\
         \n[link]\nreconnect_min = \"100ms\"\nreconnect_max = \"2s\"\nresult_timeout = \"30s\"\nquery_timeout = \"10s\"\n\
         \n[scheduler]\nretry_base = \"500ms\"\nretry_max = \"5s\"\n\
         \n[ctl]\nsocket = \"{}\"\n\
         \n[metrics]\nlisten = \"{metrics}\"\n\
         \n[mqtt]\nbroker = \"embedded\"\nlisten = \"127.0.0.1:{mqtt_port}\"\nlisten_v311 = \"127.0.0.1:{}\"\nauth = \"jws\"\n",
        dir.join("ctl.sock").display(),
        mqtt_port + 1,
    );
    for p in parties {
        let _ = write!(t, "\n[[mqtt.party]]\nid = \"{}\"\nrole = \"{}\"\n", p.id, p.role);
    }
    for p in parties {
        let pem = crate::auth::keys::public_key_pem(p.key.verifying_key());
        let _ = write!(
            t,
            "\n[[mqtt.key]]\nkid = \"{}\"\nparty = \"{}\"\npem = \"\"\"\n{}\"\"\"\n",
            p.kid, p.id, pem
        );
    }
    t
}

/// The running demo.
#[derive(Debug)]
pub struct Demo {
    info: DemoInfo,
    narrator: Narrator,
    portal: Portal,
    daemon: Daemon,
    sim: SimThread,
    /// admin, TDSP, REP.
    parties: [Party; 3],
    _tmp: Option<tempfile::TempDir>,
}

impl Demo {
    /// Starts the simulator, the daemon (broker, bridge, metrics) and the portal client, and
    /// waits until both ESIs are online.
    pub async fn start(opts: &DemoOptions, narrator: Narrator) -> Result<Self, DemoError> {
        let s = "start";
        let (tmp, dir) = if let Some(d) = &opts.data_dir {
            std::fs::create_dir_all(d)
                .map_err(|e| DemoError::new(s, format!("cannot create {}: {e}", d.display())))?;
            (None, d.clone())
        } else {
            let t = tempfile::Builder::new().prefix("han-demo-").tempdir().map_err(|e| {
                DemoError::new(s, format!("cannot create a temporary directory: {e}"))
            })?;
            let p = t.path().to_owned();
            (Some(t), p)
        };
        let mqtt_port = port_pair(opts.mqtt_port).map_err(|e| DemoError::new(s, e))?;
        let metrics = metrics_addr(opts.metrics);
        narrator.say(&format!(
            "HAN gateway demo: ESI simulator + gateway + embedded MQTT broker, in {}",
            dir.display()
        ));
        let sim = SimThread::start(&dir, sim::demo_config(opts.seed))
            .map_err(|e| DemoError::new(s, e))?;
        narrator.say(&format!(
            "  simulator: 2 ESIs on ptys ({}), devices: IHD, PCT, LCS on ESI {}, IHD on ESI {}",
            sim.links.iter().map(|l| l.display().to_string()).collect::<Vec<_>>().join(", "),
            esi_id(0),
            esi_id(1)
        ));
        let parties =
            [Party::new("ops", "admin"), Party::new("tdsp", "tdsp"), Party::new("rep", "rep")];
        let text = config_text(&dir, &sim.links, mqtt_port, metrics, &parties);
        let config = Config::parse(&text).map_err(|e| DemoError::new(s, e.to_string()))?;
        let ctl_socket = config.ctl.socket.clone();
        let daemon = Daemon::start(config).await.map_err(|e| DemoError::new(s, e.to_string()))?;
        let metrics = daemon.metrics_addr().unwrap_or(metrics);
        let broker = SocketAddr::from(([127, 0, 0, 1], mqtt_port));
        let info = DemoInfo {
            broker,
            broker_v311: SocketAddr::from(([127, 0, 0, 1], mqtt_port + 1)),
            metrics,
            root: format!("han/{GATEWAY_ID}"),
            dir: dir.clone(),
            sim_control: sim.control.clone(),
            ctl_socket,
            esi_ids: (0..2).map(esi_id).collect(),
        };
        narrator.say(&format!(
            "  gateway:   id {GATEWAY_ID}, MQTT broker {broker}, metrics http://{metrics}/metrics\n  \
             portal:    parties ops (admin), tdsp (TDSP), rep (REP); keys made for this run, \
             requests signed (JWS ES256)\n"
        ));
        let portal = Portal::connect(
            "127.0.0.1",
            mqtt_port,
            &info.root,
            narrator.clone(),
            opts.step_timeout,
        )
        .await?;
        let me = Self { info, narrator, portal, daemon, sim, parties, _tmp: tmp };
        let online = me
            .step(0, "wait until the gateway and both ESIs are online", async {
                me.portal
                    .wait_from(0, "online", "bridge/state online", |rel, _| rel == "bridge/state")
                    .await?;
                for e in &me.info.esi_ids {
                    let want = format!("esi/{e}/status");
                    me.portal
                        .wait_from(0, "online", &format!("ESI {e} online"), |rel, v| {
                            rel == want && v["link"] == "online"
                        })
                        .await?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = online {
            me.stop().await;
            return Err(e);
        }
        Ok(me)
    }

    pub fn info(&self) -> &DemoInfo {
        &self.info
    }

    /// The simulator (device identities; its control channel).
    pub fn sim(&self) -> &SimThread {
        &self.sim
    }

    pub fn narrator(&self) -> &Narrator {
        &self.narrator
    }

    async fn step<T>(
        &self,
        n: usize,
        title: &str,
        f: impl Future<Output = Result<T, DemoError>>,
    ) -> Result<T, DemoError> {
        self.narrator.say(&format!("\n── {n}. {title}"));
        let started = Instant::now();
        let r = f.await;
        if let Some(v) = self.sim.failure() {
            return Err(DemoError::new(title, format!("the simulator stopped: {v}")));
        }
        match &r {
            Ok(_) => self
                .narrator
                .say(&format!("  ✓ {title} ({:.1} s)", started.elapsed().as_secs_f64())),
            Err(e) => self.narrator.say(&format!("  ✗ {}: {}", e.step, e.reason)),
        }
        r
    }

    fn sim_do(&self, step: &str, line: &str) -> Result<(), DemoError> {
        self.narrator.say(&format!("  ⚡ simulator: {line}"));
        self.sim.control(line).map(|_| ()).map_err(|e| DemoError::new(step, e))
    }

    /// Waits until every delivery of request `id` reached one of `states` (from index `from`).
    async fn deliveries_reach(
        &self,
        step: &str,
        from: usize,
        id: u64,
        recipients: &[String],
        state: &str,
    ) -> Result<(), DemoError> {
        for eui in recipients {
            self.portal
                .wait_from(from, step, &format!("delivery of {id} to {eui}: {state}"), |rel, v| {
                    rel == "event/delivery"
                        && v["message_id"] == id
                        && v["eui64"] == eui.as_str()
                        && v["state"] == state
                })
                .await?;
        }
        Ok(())
    }

    /// The scripted part: every step must succeed.
    #[allow(clippy::too_many_lines)]
    pub async fn script(&self) -> Result<ScriptReport, DemoError> {
        let mut rep = ScriptReport::default();
        let [ops, tdsp, rep_party] = &self.parties;
        let (e0, e1) = (esi_id(0), esi_id(1));
        let p = &self.portal;

        // 1. Grants.
        let t = "grant rights to the TDSP and the REP";
        let started = Instant::now();
        self.step(1, t, async {
            for (i, e) in [&e0, &e1].into_iter().enumerate() {
                p.call(
                    t,
                    ops,
                    "grant/add",
                    json!({"party": "tdsp", "esi_id": e, "meter_number": meter(i),
                    "rights": ["provision", "deprovision", "read"]}),
                )
                .await?;
                p.call(
                    t,
                    ops,
                    "grant/add",
                    json!({"party": "rep", "esi_id": e, "meter_number": meter(i),
                    "rights": ["message", "price", "drlc", "read"]}),
                )
                .await?;
            }
            Ok(())
        })
        .await?;
        rep.steps.push((t.to_owned(), started.elapsed().as_secs_f64()));

        // 2. Provisioning: the TDSP adds each device; the installer powers it up (the simulator
        // device joins); the gateway reports `paired`.
        let t = "provision four devices; they join and are paired";
        let started = Instant::now();
        let paired = self
            .step(2, t, async {
                let mut paired = Vec::new();
                for i in 0..self.sim.devices.len() {
                    let esi = self.sim.devices.get(i).map_or(0, |d| d.esi);
                    let eui = self.sim.eui(i);
                    let label = match i {
                        0 => "kitchen display",
                        1 => "hall thermostat",
                        2 => "water heater switch",
                        _ => "garage display",
                    };
                    let from = p.mark();
                    let r = p
                        .call(
                            t,
                            tdsp,
                            "device/provision",
                            json!({"esi_id": esi_id(esi),
                            "meter_number": meter(esi), "eui64": eui,
                            "install_code": self.sim.install_code(i), "label": label,
                            "join_window_minutes": 60}),
                        )
                        .await?;
                    if r["state"] != "pending" {
                        return Err(DemoError::new(
                            t,
                            format!("{eui}: state {} instead of pending", r["state"]),
                        ));
                    }
                    self.sim_do(t, &format!("device {} rejoin", i + 1))?;
                    p.wait_from(from, t, &format!("{eui} paired"), |rel, v| {
                        rel == "event/device"
                            && v["eui64"] == eui.as_str()
                            && v["state"] == "paired"
                    })
                    .await?;
                    paired.push(eui);
                }
                let l = p.call(t, tdsp, "device/list", json!({"esi_id": e0})).await?;
                let n = l["devices"].as_array().map_or(0, Vec::len);
                if n != 3 {
                    return Err(DemoError::new(
                        t,
                        format!("device/list of ESI {e0} shows {n} devices, not 3"),
                    ));
                }
                Ok(paired)
            })
            .await?;
        rep.devices_paired = paired;
        rep.steps.push((t.to_owned(), started.elapsed().as_secs_f64()));

        // 3. Price to both ESIs (one delivery per ESI: the ESI serves it to its devices).
        let t = "publish a price to both ESIs";
        let started = Instant::now();
        rep.price_delivered = self
            .step(3, t, async {
                let from = p.mark();
                let r = p
                    .call(
                        t,
                        rep_party,
                        "price/publish",
                        json!({"esi_ids": [e0, e1], "priority": "high",
                        "provider_id": 42, "rate_label": "PEAK", "currency": 840, "price": 1234,
                        "price_trailing_digit": 4, "price_tier": 2, "number_of_price_tiers": 3,
                        "duration_minutes": 60}),
                    )
                    .await?;
                let id = r["request_id"].as_u64().or_else(|| r["price_id"].as_u64()).unwrap_or(0);
                let recipients: Vec<String> = r["deliveries"]
                    .as_array()
                    .map(|d| {
                        d.iter().filter_map(|x| x["eui64"].as_str().map(str::to_owned)).collect()
                    })
                    .unwrap_or_default();
                let mut n = 0;
                for esi in [&e0, &e1] {
                    p.wait_from(from, t, &format!("price delivered to ESI {esi}"), |rel, v| {
                        rel == "event/delivery"
                            && v["message_id"] == id
                            && v["esi_id"] == esi.as_str()
                            && v["state"] == "delivered"
                    })
                    .await?;
                    n += 1;
                }
                if recipients.len() != 2 {
                    return Err(DemoError::new(
                        t,
                        format!("{} deliveries instead of 2", recipients.len()),
                    ));
                }
                Ok(n)
            })
            .await?;
        rep.steps.push((t.to_owned(), started.elapsed().as_secs_f64()));

        // 4. A text message needing confirmation; the user confirms on the display.
        let t = "send a text message; the display's user confirms it";
        let started = Instant::now();
        let ihd = self.sim.eui(0);
        rep.message_id = self
            .step(4, t, async {
                let from = p.mark();
                let r = p
                    .call(t, rep_party, "message/send", json!({"esi_ids": [e0], "devices": [ihd],
                        "priority": "high", "text": "Peak pricing 4-7 pm today", "importance": "high",
                        "confirmation_required": true, "duration_minutes": 60}))
                    .await?;
                let id = r["message_id"].as_u64().ok_or_else(|| DemoError::new(t, "no message_id"))?;
                self.deliveries_reach(t, from, id, std::slice::from_ref(&ihd), "delivered").await?;
                self.sim_do(t, &format!("ihd 1 confirm {id}"))?;
                self.deliveries_reach(t, from, id, std::slice::from_ref(&ihd), "confirmed").await?;
                Ok(id)
            })
            .await?;
        rep.message_confirmed = true;
        rep.steps.push((t.to_owned(), started.elapsed().as_secs_f64()));

        // 5. DR event to the thermostat and the load switch; the thermostat's user opts out.
        let t = "DR event to the thermostat and load switch; the thermostat opts out";
        let started = Instant::now();
        let (pct, lcs) = (self.sim.eui(1), self.sim.eui(2));
        let (id, received) = self
            .step(5, t, async {
                let from = p.mark();
                let r = p
                    .call(
                        t,
                        rep_party,
                        "drlc/event",
                        json!({"esi_ids": [e0], "devices": [pct, lcs],
                        "priority": "high", "device_classes": ["hvac", "water_heater", "pool_pump"],
                        "duration_minutes": 60, "criticality": 3,
                        "cooling_temperature_offset": 2.0, "duty_cycle": 50}),
                    )
                    .await?;
                let id = r["issuer_event_id"]
                    .as_u64()
                    .ok_or_else(|| DemoError::new(t, "no issuer_event_id"))?;
                let mut received = Vec::new();
                for eui in [&pct, &lcs] {
                    p.wait_from(from, t, &format!("{eui} reports the event received"), |rel, v| {
                        rel == "event/drlc"
                            && v["issuer_event_id"] == id
                            && v["eui64"] == eui.as_str()
                            && v["status"] == "received"
                    })
                    .await?;
                    received.push(eui.clone());
                }
                self.sim_do(t, &format!("pct 1 opt-out {id}"))?;
                p.wait_from(from, t, "the thermostat's opt-out", |rel, v| {
                    rel == "event/drlc"
                        && v["issuer_event_id"] == id
                        && v["eui64"] == pct.as_str()
                        && v["status"] == "opt_out"
                })
                .await?;
                Ok((id, received))
            })
            .await?;
        rep.issuer_event_id = id;
        rep.dr_received_by = received;
        rep.dr_opt_out_by = Some(pct.clone());
        rep.steps.push((t.to_owned(), started.elapsed().as_secs_f64()));

        // 6. Meter read.
        let t = "read the meter of ESI 0";
        let started = Instant::now();
        rep.meter_kwh = self
            .step(6, t, async {
                let r = p.call(t, rep_party, "meter/read", json!({"esi_id": e0})).await?;
                let kwh = r["summation_delivered_kwh"].as_f64();
                if kwh.is_none() {
                    return Err(DemoError::new(t, format!("no reading: {}", r["missing_reason"])));
                }
                self.narrator.say(&format!(
                    "  meter {}: {:.3} kWh delivered",
                    meter(0),
                    kwh.unwrap_or(0.0)
                ));
                Ok(kwh)
            })
            .await?;
        rep.steps.push((t.to_owned(), started.elapsed().as_secs_f64()));

        // 7. Power failure and restoration, seen on event/meter and meter/status.
        let t = "power fails at ESI 0 and comes back";
        let started = Instant::now();
        rep.power_seen = self
            .step(7, t, async {
                let mut seen = Vec::new();
                for (action, want) in [("fail", "off"), ("restore", "on")] {
                    let from = p.mark();
                    self.sim_do(t, &format!("power {action} esi 0"))?;
                    p.wait_from(from, t, &format!("event/meter power {want}"), |rel, v| {
                        rel == "event/meter" && v["esi_id"] == e0.as_str() && v["power"] == want
                    })
                    .await?;
                    let s = p.call(t, rep_party, "meter/status", json!({"esi_id": e0})).await?;
                    if s["power"] != want {
                        return Err(DemoError::new(
                            t,
                            format!("meter/status power {} instead of {want}", s["power"]),
                        ));
                    }
                    seen.push(want.to_owned());
                }
                Ok(seen)
            })
            .await?;
        rep.steps.push((t.to_owned(), started.elapsed().as_secs_f64()));

        // 8. The service switch opens and closes.
        let t = "the service switch of ESI 0 opens and closes";
        let started = Instant::now();
        rep.switch_seen = self
            .step(8, t, async {
                let mut seen = Vec::new();
                for (action, want) in [("open", "open"), ("close", "closed")] {
                    let from = p.mark();
                    self.sim_do(t, &format!("switch {action} esi 0"))?;
                    p.wait_from(from, t, &format!("event/meter switch {want}"), |rel, v| {
                        rel == "event/meter" && v["esi_id"] == e0.as_str() && v["switch"] == want
                    })
                    .await?;
                    seen.push(want.to_owned());
                }
                Ok(seen)
            })
            .await?;
        rep.steps.push((t.to_owned(), started.elapsed().as_secs_f64()));
        self.narrator.say(&format!("\nAll {} steps succeeded.", rep.steps.len()));
        Ok(rep)
    }

    /// The "how to connect" text printed after the script.
    pub fn connect_text(&self) -> String {
        let i = &self.info;
        format!(
            "\nThe demo keeps running. Connect to it:\n\
             \x20 MQTT broker   {broker} (MQTT 5), {v311} (MQTT 3.1.1); topics under {root}/\n\
             \x20 watch events  mosquitto_sub -h {host} -p {p4} -t '{root}/#' -v\n\
             \x20 metrics       curl http://{m}/metrics      health: curl http://{m}/health\n\
             \x20 simulator     socat - UNIX-CONNECT:{sim}   (try: power fail esi 0 | switch open esi 1 | status)\n\
             \x20 field CLI     gateway ctl --socket {ctl} health\n\
             Requests on {root}/request/<action> must be JWS-signed by a configured party (docs/asyncapi.yaml);\n\
             the field CLI needs no keys. Press Ctrl-C to stop (the temporary directory is removed).",
            broker = i.broker,
            v311 = i.broker_v311,
            host = i.broker.ip(),
            p4 = i.broker_v311.port(),
            root = i.root,
            m = i.metrics,
            sim = i.sim_control.display(),
            ctl = i.ctl_socket.display(),
        )
    }

    /// Stops the portal, the daemon (gracefully) and the simulator.
    pub async fn stop(self) {
        let Self { portal, daemon, mut sim, _tmp: tmp, .. } = self;
        portal.disconnect().await;
        drop(portal);
        daemon.shutdown().await;
        let _ = tokio::task::spawn_blocking(move || sim.stop()).await;
        drop(tmp);
    }
}

/// `gateway demo`: start, run the script, then stay up until Ctrl-C / SIGTERM (or stop at once
/// with `exit_after_script`).
pub async fn run(opts: DemoOptions, exit_after_script: bool) -> Result<(), DemoError> {
    let narrator = Narrator::stdout();
    let demo = Demo::start(&opts, narrator.clone()).await?;
    let script = tokio::select! {
        r = demo.script() => r,
        () = crate::daemon::wait_for_signal() => {
            Err(DemoError::new("script", "interrupted (Ctrl-C); stopping"))
        }
    };
    match script {
        Ok(_) => {}
        Err(e) => {
            demo.stop().await;
            return Err(e);
        }
    }
    if let Ok((200, body)) =
        crate::metrics::http::get(demo.info().metrics, "/metrics", Duration::from_secs(5))
    {
        let picked: Vec<&str> = body
            .lines()
            .filter(|l| {
                l.starts_with("han_mqtt_requests_total{action=\"message/send\"")
                    || l.starts_with("han_provisioning_outcomes_total{state=\"paired\"")
                    || l.starts_with("han_delivery_transitions_total{state=\"confirmed\"")
                    || l.starts_with("han_drlc_status_reports_total{status=\"opt_out\"")
                    || l.starts_with("han_esi_link_up")
                    || l.starts_with("han_queue_depth")
            })
            .collect();
        narrator.say(&format!(
            "\nA few of the metrics now (http://{}/metrics):\n  {}",
            demo.info().metrics,
            picked.join("\n  ")
        ));
    }
    if exit_after_script {
        narrator.say("\nStopping (--exit-after-script).");
        demo.stop().await;
        return Ok(());
    }
    narrator.say(&demo.connect_text());
    let stopped = tokio::select! {
        () = crate::daemon::wait_for_signal() => None,
        f = watch_sim(&demo) => Some(f),
    };
    narrator.say("\nStopping…");
    demo.stop().await;
    match stopped {
        None => {
            narrator.say("Stopped.");
            Ok(())
        }
        Some(f) => Err(DemoError::new("running", format!("the simulator stopped: {f}"))),
    }
}

/// Resolves when the simulator thread stops on an invariant violation.
async fn watch_sim(demo: &Demo) -> String {
    loop {
        if let Some(f) = demo.sim.failure() {
            return f;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
