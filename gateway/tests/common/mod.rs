//! Test harness: the ESI simulator (`esi-sim`, the firmware coordinator with simulated meter and
//! HAN devices) in real time on ptys, and the gateway daemon in-process opening those ptys
//! through symlinks, exactly as it would open `/dev/ttyACM0`.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::format_push_string,
    clippy::format_collect,
    clippy::match_same_arms,
    clippy::match_wildcard_for_single_variants
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use esi_sim::control::Control;
use esi_sim::device::DeviceSpec;
use esi_sim::realtime::Realtime;
use esi_sim::SimConfig;
use gateway::config::Config;
use gateway::daemon::Daemon;
use gateway::grants::Role;
use gateway::ops::types::Provision;
use gateway::ops::{Caller, Event, Gateway};
use tokio::sync::broadcast;

pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}

/// The simulator running in real time on its own thread.
pub struct SimRun {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    control: PathBuf,
    pub links: Vec<PathBuf>,
    pub devices: Vec<DeviceSpec>,
    pub failure: Arc<Mutex<Option<String>>>,
}

impl SimRun {
    /// Starts `cfg` with every device waiting to be told to join (`rejoin`), as an installer
    /// powers a device up after provisioning it.
    pub fn start(dir: &Path, mut cfg: SimConfig) -> Self {
        for d in &mut cfg.devices {
            d.auto_join = false;
        }
        let devices = cfg.devices.clone();
        let links: Vec<PathBuf> = (0..cfg.esis).map(|i| dir.join(format!("esi{i}"))).collect();
        let control_path = dir.join("sim.sock");
        let stop = Arc::new(AtomicBool::new(false));
        let failure = Arc::new(Mutex::new(None));
        let (stop2, failure2) = (stop.clone(), failure.clone());
        let (links2, control2) = (links.clone(), control_path.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        // The simulator is not `Send`: it is built on its own thread.
        let thread = std::thread::spawn(move || {
            let control = Control::unix_socket(&control2).unwrap();
            let sim = esi_sim::Sim::new(cfg).unwrap();
            let mut rt =
                Realtime::new(sim, links2.into_iter().map(Some).collect(), Some(control), 1.0)
                    .unwrap();
            ready_tx.send(()).unwrap();
            if let Err(v) = rt.run(None, &stop2) {
                eprintln!("simulator stopped: {v:?}");
                *failure2.lock().unwrap() = Some(format!("{v:?}"));
            }
        });
        ready_rx.recv().unwrap();
        Self { stop, thread: Some(thread), control: control_path, links, devices, failure }
    }

    /// One control line (`ihd 1 confirm`, `power fail`, …); panics on `error:`.
    pub fn control(&self, line: &str) -> String {
        let mut s = UnixStream::connect(&self.control).unwrap();
        writeln!(s, "{line}").unwrap();
        let mut answer = String::new();
        BufReader::new(s).read_line(&mut answer).unwrap();
        assert!(answer.starts_with("ok"), "sim refused {line:?}: {answer}");
        answer
    }

    /// The install code of device `i` (0-based overall), as printed (hex with CRC).
    pub fn install_code(&self, i: usize) -> String {
        self.devices[i].install_code.iter().map(|b| format!("{b:02X}")).collect()
    }

    pub fn eui(&self, i: usize) -> String {
        format!("{:016x}", self.devices[i].eui64.0)
    }

    pub fn check(&self) {
        if let Some(f) = self.failure.lock().unwrap().as_ref() {
            panic!("simulator invariant violated: {f}");
        }
    }
}

impl Drop for SimRun {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn esi_id(i: usize) -> String {
    format!("1044372000000000{i}")
}

pub fn meter(i: usize) -> String {
    format!("M{i}")
}

/// A configuration for the daemon with one coordinator per sim link.
pub fn config(dir: &Path, links: &[PathBuf], extra: &str) -> Config {
    config_with_heartbeat(dir, links, "30s", extra)
}

/// [`config`] with another `link.heartbeat_timeout` (how long a lost port keeps its session).
pub fn config_with_heartbeat(
    dir: &Path,
    links: &[PathBuf],
    heartbeat: &str,
    extra: &str,
) -> Config {
    Config::parse(&config_text(dir, links, heartbeat, extra)).unwrap()
}

/// The TOML text of [`config_with_heartbeat`].
pub fn config_text(dir: &Path, links: &[PathBuf], heartbeat: &str, extra: &str) -> String {
    let mut text =
        format!("gateway_id = \"gw-test\"\ndata_dir = \"{}\"\n", dir.join("data").display());
    for (i, l) in links.iter().enumerate() {
        text.push_str(&format!(
            "[[coordinator]]\nport = \"{}\"\nesi_id = \"{}\"\nmeter_number = \"{}\"\n",
            l.display(),
            esi_id(i),
            meter(i)
        ));
    }
    text.push_str(&format!(
        "[polling]\nstatus_interval = \"2s\"\nstale_after = \"10s\"\n\
         [link]\nreconnect_min = \"100ms\"\nreconnect_max = \"1s\"\nheartbeat_timeout = \"{heartbeat}\"\n\
         result_timeout = \"30s\"\nquery_timeout = \"10s\"\n\
         [scheduler]\nretry_base = \"500ms\"\nretry_max = \"2s\"\n",
    ));
    text.push_str(extra);
    text.push_str(&format!("[ctl]\nsocket = \"{}\"\n", dir.join("ctl.sock").display()));
    text
}

/// One ctl request over the daemon's socket (blocking): the whole answer line.
pub fn ctl(socket: &Path, action: &str, params: &serde_json::Value) -> Option<serde_json::Value> {
    let mut s = UnixStream::connect(socket).ok()?;
    let line = serde_json::json!({"id": 1, "action": action, "params": params});
    writeln!(s, "{line}").ok()?;
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer).ok()?;
    serde_json::from_str(&answer).ok()
}

pub fn tdsp() -> Caller {
    Caller::new("tdsp-test", Role::Tdsp)
}

/// Waits for an event matching `pred`.
pub async fn wait_event(
    rx: &mut broadcast::Receiver<Event>,
    secs: u64,
    what: &str,
    mut pred: impl FnMut(&Event) -> bool,
) -> Event {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) if pred(&e) => return e,
            Ok(Ok(_)) => {}
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(e)) => panic!("event channel closed while waiting for {what}: {e}"),
            Err(e) => panic!("timed out ({e}) after {secs}s waiting for {what}"),
        }
    }
}

/// Polls `f` until it returns `Some`, or panics after `secs`.
pub async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until every configured ESI is online.
pub async fn wait_online(gw: &Gateway) {
    wait_for(30, "coordinators online", || async {
        gw.health()
            .all()
            .iter()
            .all(|h| h.link == gateway::coordinator::LinkStatus::Online)
            .then_some(())
    })
    .await;
}

/// Provisions sim device `i` on ESI `esi`, tells it to join, and waits until it is paired.
pub async fn provision_and_pair(gw: &Gateway, sim: &SimRun, i: usize, esi: usize) {
    let mut rx = gw.subscribe();
    let eui = sim.eui(i);
    let p = Provision {
        esi_id: esi_id(esi),
        meter_number: meter(esi),
        eui64: eui.clone(),
        install_code: sim.install_code(i),
        label: format!("device {}", i + 1),
        join_window_minutes: Some(60),
    };
    let r = gw.provision(&tdsp(), p).await.unwrap();
    assert_eq!(r.state, "pending");
    sim.control(&format!("device {} rejoin", i + 1));
    wait_event(
        &mut rx,
        60,
        "device paired",
        |e| matches!(e, Event::Device(d) if d.eui64 == eui && d.state == "paired"),
    )
    .await;
}

/// Starts the daemon on `cfg`.
pub async fn start(cfg: Config) -> Daemon {
    Daemon::start(cfg).await.unwrap()
}

/// A test's usual start: tracing, a temp dir, the simulator on `sim_cfg` in it, and the daemon on
/// `gw_config(dir, links)` with every ESI online. Keep the temp dir alive for the whole test.
pub async fn online_with(
    sim_cfg: SimConfig,
    gw_config: impl FnOnce(&Path, &[PathBuf]) -> Config,
) -> (tempfile::TempDir, SimRun, Daemon, Gateway) {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let sim = SimRun::start(dir.path(), sim_cfg);
    let d = start(gw_config(dir.path(), &sim.links)).await;
    let gw = d.gateway().clone();
    wait_online(&gw).await;
    (dir, sim, d, gw)
}

/// [`online_with`] the default daemon configuration ([`config`] with nothing extra).
pub async fn online(sim_cfg: SimConfig) -> (tempfile::TempDir, SimRun, Daemon, Gateway) {
    online_with(sim_cfg, |dir, links| config(dir, links, "")).await
}

/// Waits until every delivery of `request` is in a final state; returns eui64 → state.
pub async fn final_states(
    gw: &gateway::ops::Gateway,
    request: u64,
    secs: u64,
) -> BTreeMap<String, String> {
    wait_for(secs, "deliveries final", || async {
        let s = gw.message_status(request).await.unwrap();
        let done = s.deliveries.iter().all(|d| !matches!(d.state.as_str(), "queued" | "sent"));
        done.then(|| s.deliveries.iter().map(|d| (d.eui64.clone(), d.state.clone())).collect())
    })
    .await
}
