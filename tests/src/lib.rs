//! `tests`: end-to-end tests of the whole system as separate processes — the `gateway` binary,
//! the `esi-sim` binary on ptys, the `hil` runner, the embedded broker or the Mosquitto on
//! 127.0.0.1:1883 — talking MQTT like a portal (design.md §2).
//!
//! This library finds the executables. `cargo test --workspace` builds the `gateway` and
//! `esi-sim` binaries for their own packages' integration tests, but nothing orders that before
//! these tests, and `cargo test -p tests` does not build them at all: so they are looked up in
//! the target directory of the running test executable (`CARGO_TARGET_DIR` aware, since that
//! is where it lives) and, if one is missing, built once with `cargo build` in the same profile.
//!
//! `cargo test --workspace` rebuilds all three (each package has integration tests, so cargo
//! builds its binary). With `cargo test -p tests` alone an existing binary may be older than
//! the sources: set `HIL_TESTS_BUILD=1` to have them rebuilt first. (The tests never rebuild
//! unconditionally: a nested `cargo build` resolves features without the dev-dependencies of
//! the outer `cargo test`, which would rebuild much of the workspace.)

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hil::bins::{self, Binary};
use hil::gwproc::{Broker, Coordinator, GatewayProcess, GatewaySetup};
use hil::portal::Portal;
use hil::scenarios::{Ctx, Esi, Parties};
use hil::sim::{DeviceWish, SimProcess};

/// Paths of the executables under test.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub gateway: PathBuf,
    pub esi_sim: PathBuf,
    pub hil: PathBuf,
}

const ALL: [Binary; 3] = [bins::GATEWAY, bins::ESI_SIM, bins::HIL];

/// The executables, built if missing (once per process; cargo's own lock on the target
/// directory serializes concurrent builds across processes).
pub fn binaries() -> Result<Binaries, String> {
    static ONCE: OnceLock<Result<Binaries, String>> = OnceLock::new();
    ONCE.get_or_init(find_or_build).clone()
}

fn find(b: Binary) -> Option<PathBuf> {
    bins::in_profile_dir(b).filter(|p| p.is_file())
}

fn find_or_build() -> Result<Binaries, String> {
    let force = std::env::var_os("HIL_TESTS_BUILD").is_some_and(|v| v != "0");
    let missing =
        || -> Vec<Binary> { ALL.into_iter().filter(|b| force || find(*b).is_none()).collect() };
    if !missing().is_empty() {
        // Test executables of several packages may get here at once: one builds, the others
        // wait on the lock file and then find the binaries.
        let dir = bins::profile_dir().ok_or("cannot find the test executable's directory")?;
        let lock_path = dir.join(".tests-build.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| format!("{}: {e}", lock_path.display()))?;
        lock.lock().map_err(|e| format!("lock {}: {e}", lock_path.display()))?;
        let still = missing();
        let r = if still.is_empty() { Ok(()) } else { build(&still) };
        let _ = lock.unlock();
        r?;
    }
    let get =
        |b: Binary| find(b).ok_or_else(|| format!("`{}` still missing after cargo build", b.name));
    Ok(Binaries {
        gateway: get(bins::GATEWAY)?,
        esi_sim: get(bins::ESI_SIM)?,
        hil: get(bins::HIL)?,
    })
}

/// `cargo build -p …` in the profile and target directory of the running executable.
fn build(missing: &[Binary]) -> Result<(), String> {
    let profile_dir = bins::profile_dir().ok_or("cannot find the test executable's directory")?;
    let target_dir = profile_dir.parent().ok_or("the profile directory has no parent")?;
    let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build").arg("--target-dir").arg(target_dir);
    match profile {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    for b in missing {
        cmd.args(["-p", b.package]);
    }
    // The workspace root: two levels above this crate's manifest.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    let names: Vec<&str> = missing.iter().map(|b| b.name).collect();
    eprintln!("tests: building {} ({profile}) in {}", names.join(", "), target_dir.display());
    let status =
        cmd.current_dir(root).status().map_err(|e| format!("cannot run cargo build: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo build of {} failed: {status}", names.join(", ")))
    }
}

/// Runs `cmd` to completion, killing it after `timeout` (then `Err`).
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    wait_with_timeout(child, timeout)
}

fn wait_with_timeout(mut child: Child, timeout: Duration) -> Result<Output, String> {
    // Drain the pipes on threads so a chatty child never blocks on a full pipe.
    let out = child.stdout.take().map(|mut s| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = std::io::Read::read_to_end(&mut s, &mut v);
            v
        })
    });
    let err = child.stderr.take().map(|mut s| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = std::io::Read::read_to_end(&mut s, &mut v);
            v
        })
    });
    let deadline = Instant::now() + timeout;
    let status: ExitStatus = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Ok(None) => {
                // SIGTERM first, so `hil` stops its gateway and simulator; SIGKILL if it lingers.
                let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
                let grace = Instant::now() + Duration::from_secs(5);
                while Instant::now() < grace && matches!(child.try_wait(), Ok(None)) {
                    std::thread::sleep(Duration::from_millis(100));
                }
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("killed after {}s", timeout.as_secs()));
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    let join = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    Ok(Output { status, stdout: join(out), stderr: join(err) })
}

/// A name unique to this run (process id and clock), usable as an MQTT topic level.
pub fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}{}x{n}", std::process::id())
}

/// A fresh temporary directory under the system's, removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Result<Self, String> {
        let p = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(Self(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One gateway process with its own `esi-sim` process (one ESI), driven through a portal
/// connection of its own: what the fleet and device tests start.
#[derive(Debug, Clone)]
pub struct Lab {
    /// Work directory (simulator files, gateway store and log).
    pub dir: PathBuf,
    pub base_topic: String,
    pub gateway_id: String,
    /// Number in the ESI id (`Esi::simulated`), distinct across a fleet.
    pub esi_index: usize,
    pub seed: u64,
    pub broker: Broker,
    /// Devices on the simulator's ESI 0.
    pub devices: Vec<DeviceWish>,
}

/// How long a lab may take to come up.
const LAB_TIMEOUT: Duration = Duration::from_secs(30);

impl Lab {
    /// Starts the simulator and the gateway and waits until the gateway and its ESI are online.
    pub async fn start(&self, parties: &Parties) -> Result<(Ctx, Esi), String> {
        let b = binaries()?;
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        let sim = SimProcess::start(
            &b.esi_sim,
            &self.dir,
            self.seed,
            1,
            5,
            &self.devices,
            hil::gwproc::Ncp::HostLink,
        )?;
        // The simulator's ESI 0, under an ESI id of the caller's choice.
        let esi = Esi { index: 0, ..Esi::simulated(self.esi_index) };
        let port = sim.links.first().cloned().ok_or("esi-sim has no link")?;
        let setup = GatewaySetup {
            gateway_id: self.gateway_id.clone(),
            base_topic: self.base_topic.clone(),
            coordinators: vec![Coordinator {
                port,
                baud: 115_200,
                esi_id: esi.esi_id.clone(),
                meter_number: esi.meter.clone(),
                kind: hil::gwproc::Ncp::HostLink,
            }],
            broker: self.broker.clone(),
            parties_toml: parties.config_toml(),
        };
        let gw = GatewayProcess::start(&b.gateway, &self.dir, &setup)?;
        let root = format!("{}/{}", self.base_topic, self.gateway_id);
        let (host, port) = self.broker.address();
        let id = unique(&format!("portal-{}-", self.gateway_id));
        let portal =
            Portal::connect(&host, port, &id, &root, &[format!("{root}/#")], LAB_TIMEOUT).await?;
        let ctx = Ctx::new(portal, parties.clone(), gw, Some(sim));
        let state = format!("{root}/bridge/state");
        ctx.portal
            .wait_from(0, LAB_TIMEOUT, "gateway online", |s| {
                s.topic == state && &s.payload[..] == b"online"
            })
            .await?;
        ctx.wait_online(&esi, 0, LAB_TIMEOUT).await?;
        Ok((ctx, esi))
    }
}
