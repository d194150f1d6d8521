//! The `esi-sim` binary: ESIs behind ptys (symlinked at `dir/esi<N>`), a control socket, and
//! devices that join only when told (`device N rejoin`) and never poll (a 24 h poll interval),
//! so every Messaging/Price/DRLC command a device counts (`received`) is a push from its ESI.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{Context, Result};

/// One simulated device as the simulator printed it.
#[derive(Debug, Clone)]
pub struct SimDevice {
    /// 1-based, as in control lines (`device N`).
    pub n: usize,
    pub kind: String,
    pub esi: usize,
    /// 16 lowercase hex digits.
    pub eui64: String,
    /// Printed install code (hex with CRC).
    pub install_code: String,
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub seed: u64,
    pub esis: usize,
    /// Device kinds per ESI, e.g. `["ihd", "pct", "lcs"]`.
    pub kinds_per_esi: Vec<&'static str>,
    /// Serial faults per byte (drop, corruption).
    pub serial_drop: f64,
    pub serial_corruption: f64,
    /// Extra scenario text (`[[at]]` tables, `[faults.random]`).
    pub extra: String,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            esis: 2,
            kinds_per_esi: vec!["ihd", "pct", "lcs"],
            serial_drop: 0.0,
            serial_corruption: 0.0,
            extra: String::new(),
        }
    }
}

/// The simulator process.
#[derive(Debug)]
pub struct Sim {
    child: Option<Child>,
    pub control: PathBuf,
    pub links: Vec<PathBuf>,
    pub devices: Vec<SimDevice>,
    /// Network keys of the ESIs (hex), for the secret scan.
    pub network_keys: Vec<String>,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Sim {
    pub fn start(dir: &Path, o: &SimOptions) -> Result<Self> {
        let bins = crate::bins::bins()?;
        let mut sc = format!("[sim]\nseed = {}\nesis = {}\nslots = 10\n", o.seed, o.esis);
        let _ = write!(
            sc,
            "[faults.serial]\ndrop = {}\ncorruption = {}\n",
            o.serial_drop, o.serial_corruption
        );
        for e in 0..o.esis {
            for k in &o.kinds_per_esi {
                let _ = write!(
                    sc,
                    "[[device]]\nkind = \"{k}\"\nesi = {e}\npoll = \"24h\"\nauto_join = false\n"
                );
            }
        }
        sc.push_str(&o.extra);
        let scenario = dir.join("scenario.toml");
        std::fs::write(&scenario, sc).ctx("write scenario")?;
        let control = dir.join("sim.sock");
        let stdout = dir.join("esi-sim.out");
        let stderr = dir.join("esi-sim.log");
        let child = Command::new(&bins.esi_sim)
            .arg("--scenario")
            .arg(&scenario)
            .arg("--link")
            .arg(dir.join("esi{n}"))
            .arg("--control")
            .arg(&control)
            .args(["--log", "info"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::fs::File::create(&stdout).ctx("esi-sim.out")?))
            .stderr(Stdio::from(std::fs::File::create(&stderr).ctx("esi-sim.log")?))
            .spawn()
            .ctx("spawn esi-sim")?;
        let links = (0..o.esis).map(|i| dir.join(format!("esi{i}"))).collect();
        let mut sim = Self {
            child: Some(child),
            control,
            links,
            devices: Vec::new(),
            network_keys: Vec::new(),
            stdout,
            stderr,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&sim.stdout).unwrap_or_default();
            if text.contains("control:") {
                sim.parse(&text)?;
                break;
            }
            if let Some(c) = sim.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    let err = std::fs::read_to_string(&sim.stderr).unwrap_or_default();
                    return Err(format!("esi-sim exited ({st}): {err}"));
                }
            }
            if std::time::Instant::now() > deadline {
                return Err("esi-sim did not come up within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(sim)
    }

    fn parse(&mut self, text: &str) -> Result<()> {
        for line in text.lines() {
            if line.starts_with("esi ") {
                if let Some(k) = line.split("network key ").nth(1) {
                    self.network_keys.push(k.trim().to_lowercase());
                }
            } else if let Some(rest) = line.strip_prefix("device ") {
                // device 1 (ihd 1) esi 0 eui64 0123… install code ABCD…: status
                let words: Vec<&str> = rest.split_whitespace().collect();
                let word_after = |w: &str| {
                    words.iter().position(|x| *x == w).and_then(|i| words.get(i + 1)).copied()
                };
                let n = words.first().and_then(|w| w.parse().ok()).ctx("device number")?;
                let kind =
                    words.get(1).map(|k| k.trim_start_matches('(').to_owned()).ctx("kind")?;
                let esi = word_after("esi").and_then(|w| w.parse().ok()).ctx("device esi")?;
                let eui64 = word_after("eui64").ctx("device eui64")?.to_lowercase();
                let code = word_after("code").ctx("install code")?.trim_end_matches(':').to_owned();
                self.devices.push(SimDevice { n, kind, esi, eui64, install_code: code });
            }
        }
        if self.devices.is_empty() {
            return Err(format!("no devices in the simulator's output:\n{text}"));
        }
        Ok(())
    }

    /// One control line; the first answer line. Fails on `error:`.
    pub fn control(&self, line: &str) -> Result<String> {
        let mut s = UnixStream::connect(&self.control).ctx("connect to the sim control socket")?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ctx("timeout")?;
        writeln!(s, "{line}").ctx("write control line")?;
        let mut answer = String::new();
        BufReader::new(s).read_line(&mut answer).ctx("read control answer")?;
        if answer.starts_with("ok") {
            Ok(answer.trim_end().to_owned())
        } else {
            Err(format!("esi-sim refused {line:?}: {answer}"))
        }
    }

    /// A multi-line query (`status`, `devices`): everything until the connection goes quiet.
    pub fn query(&self, line: &str) -> Result<String> {
        let mut s = UnixStream::connect(&self.control).ctx("connect to the sim control socket")?;
        s.set_read_timeout(Some(Duration::from_millis(300))).ctx("timeout")?;
        writeln!(s, "{line}").ctx("write control line")?;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(buf.get(..n).unwrap_or_default()),
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Pushed SE commands per device: `(device n, "DisplayMessage 17") -> count`.
    pub fn received(&self) -> Result<BTreeMap<(usize, String), u32>> {
        let line = self.control("received")?;
        let mut m = BTreeMap::new();
        for item in line.trim_start_matches("ok:").split_whitespace() {
            // d1:DisplayMessage:17=1
            let (k, n) = item.split_once('=').ctx("received item")?;
            let mut parts = k.splitn(2, ':');
            let d = parts.next().and_then(|d| d.strip_prefix('d')).and_then(|d| d.parse().ok());
            let what = parts.next().map(|w| w.replace(':', " "));
            if let (Some(d), Some(w), Ok(n)) = (d, what, n.parse()) {
                m.insert((d, w), n);
            }
        }
        Ok(m)
    }

    /// Whether the simulator still runs (an invariant violation ends it).
    pub fn alive(&mut self) -> Result<()> {
        if let Some(c) = self.child.as_mut() {
            if let Ok(Some(st)) = c.try_wait() {
                let err = std::fs::read_to_string(&self.stderr).unwrap_or_default();
                let tail: Vec<&str> = err.lines().rev().take(5).collect();
                return Err(format!("esi-sim exited ({st}): {tail:?}"));
            }
        }
        Ok(())
    }

    /// The simulator's own (seeded, deterministic) secrets: every install code, derived link key
    /// and network key it printed.
    pub fn secrets(&self) -> Vec<crate::secrets::Secret> {
        let mut v = Vec::new();
        for d in &self.devices {
            v.push(crate::secrets::Secret::from_hex("install code", &d.install_code));
            if let Ok(code) = zse::security::InstallCode::parse(&d.install_code) {
                let k = zse::security::link_key_from_install_code(&code);
                v.push(crate::secrets::Secret::from_bytes("link key", k.as_bytes()));
            }
        }
        for k in &self.network_keys {
            v.push(crate::secrets::Secret::from_hex("network key", k));
        }
        v.retain(|s| s.bytes.len() >= 8);
        v
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
