//! The simulator as a child process: `esi-sim` with a scenario file the runner writes, one
//! pty symlink per ESI (`<dir>/esi{n}`) and a control socket (`<dir>/sim.sock`). The device
//! identities (EUI-64, install code) are read from what it prints at start, exactly as a lab
//! technician would read them off its terminal.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::gwproc::Ncp;

/// How long the simulator may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one control command may take to be answered.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

/// A device kind of the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// In-home display (messages, prices).
    Ihd,
    /// Programmable communicating thermostat (DRLC, HVAC).
    Pct,
    /// Load-control switch (DRLC, water heater / pool pump).
    Lcs,
}

impl Kind {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ihd => "ihd",
            Self::Pct => "pct",
            Self::Lcs => "lcs",
        }
    }
}

/// One device the runner asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceWish {
    pub kind: Kind,
    pub esi: usize,
    /// Holds a key that differs from its printed install code.
    pub wrong_key: bool,
}

/// One simulated device, as printed by `esi-sim`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimDevice {
    /// Number among all devices, from 1 (`device N …` control commands).
    pub number: usize,
    pub kind: String,
    /// Number among devices of its kind, from 1 (`ihd N …`).
    pub kind_number: usize,
    pub esi: usize,
    /// 16 hex digits.
    pub eui64: String,
    /// The printed install code (hex with CRC): what an installer types in. Never logged.
    pub install_code: String,
}

/// The running simulator.
#[derive(Debug)]
pub struct SimProcess {
    child: Child,
    control: PathBuf,
    pub links: Vec<PathBuf>,
    pub devices: Vec<SimDevice>,
    stderr_log: PathBuf,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The scenario file for `esis` ESIs with `slots` slots each and `devices`.
pub fn scenario_toml(seed: u64, esis: usize, slots: u8, devices: &[DeviceWish]) -> String {
    let mut t = format!("[sim]\nseed = {seed}\nesis = {esis}\nslots = {slots}\n");
    if devices.is_empty() {
        t.push_str("devices = 0\n");
    }
    for d in devices {
        // Devices wait to be told to join (`rejoin`), as an installer powers a device up
        // after provisioning it: provisioning time is then request → paired, not a backoff.
        let _ = write!(
            t,
            "[[device]]\nkind = \"{}\"\nesi = {}\nauto_join = false\nwrong_key = {}\n",
            d.kind.name(),
            d.esi,
            d.wrong_key
        );
    }
    t
}

/// Parses one `device N (kind K) esi E eui64 X install code Y…` line.
pub fn parse_device_line(line: &str) -> Option<SimDevice> {
    let w: Vec<&str> = line.split_whitespace().collect();
    match w.as_slice() {
        ["device", n, kind, k, "esi", e, "eui64", eui, "install", "code", code, ..] => {
            Some(SimDevice {
                number: n.parse().ok()?,
                kind: kind.strip_prefix('(')?.to_owned(),
                kind_number: k.strip_suffix(')')?.parse().ok()?,
                esi: e.parse().ok()?,
                eui64: eui.to_owned().to_lowercase(),
                install_code: code.trim_end_matches(':').to_owned(),
            })
        }
        _ => None,
    }
}

/// The `esi-sim` arguments that make each pty speak `ncp`.
pub fn ncp_args(ncp: Ncp) -> Vec<String> {
    match ncp {
        Ncp::HostLink => vec!["--ncp".into(), "firmware".into()],
        Ncp::Ezsp { version } => {
            vec!["--ncp".into(), "ezsp".into(), "--ezsp-version".into(), version.to_string()]
        }
    }
}

impl SimProcess {
    /// Starts `exe` in `dir` with `esis` ESIs and `devices`; waits until it is ready.
    pub fn start(
        exe: &Path,
        dir: &Path,
        seed: u64,
        esis: usize,
        slots: u8,
        devices: &[DeviceWish],
        ncp: Ncp,
    ) -> Result<Self, String> {
        let scenario = dir.join("sim.toml");
        std::fs::write(&scenario, scenario_toml(seed, esis, slots, devices))
            .map_err(|e| format!("cannot write {}: {e}", scenario.display()))?;
        let control = dir.join("sim.sock");
        let stderr_log = dir.join("esi-sim.log");
        let err_file = std::fs::File::create(&stderr_log)
            .map_err(|e| format!("cannot create {}: {e}", stderr_log.display()))?;
        let mut child = Command::new(exe)
            .arg("--scenario")
            .arg(&scenario)
            .arg("--link")
            .arg(dir.join("esi{n}"))
            .arg("--control")
            .arg(&control)
            .args(["--log", "warn"])
            .args(ncp_args(ncp))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let stdout = child.stdout.take().ok_or("esi-sim: no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let links: Vec<PathBuf> = (0..esis).map(|i| dir.join(format!("esi{i}"))).collect();
        let mut sim =
            Self { child, control, links, devices: Vec::new(), stderr_log: stderr_log.clone() };
        let deadline = std::time::Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.starts_with("control:") => break,
                Ok(line) => {
                    if let Some(d) = parse_device_line(&line) {
                        sim.devices.push(d);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!("esi-sim not ready within {START_TIMEOUT:?}"));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = sim.child.wait();
                    return Err(format!("esi-sim exited at start: {}", sim.stderr_tail()));
                }
            }
        }
        // Keep draining its stdout so it never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        if sim.devices.len() != devices.len() {
            return Err(format!(
                "esi-sim printed {} devices, {} were asked for",
                sim.devices.len(),
                devices.len()
            ));
        }
        Ok(sim)
    }

    /// The last lines esi-sim wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr_log).unwrap_or_default();
        let mut lines: Vec<&str> = text.lines().rev().take(5).collect();
        lines.reverse();
        lines.join(" | ")
    }

    /// Whether the process is still running (an invariant violation ends it).
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(st)) => Err(format!("esi-sim exited ({st}): {}", self.stderr_tail())),
            Err(e) => Err(format!("esi-sim: {e}")),
        }
    }

    /// Sends one control line (`ihd 1 confirm`, `unplug esi 2 for 4s`, …); `Err` on `error:`.
    pub fn control(&self, line: &str) -> Result<String, String> {
        let err = |e: std::io::Error| format!("esi-sim control `{line}`: {e}");
        let mut s = UnixStream::connect(&self.control).map_err(err)?;
        s.set_read_timeout(Some(CONTROL_TIMEOUT)).map_err(err)?;
        s.set_write_timeout(Some(CONTROL_TIMEOUT)).map_err(err)?;
        writeln!(s, "{line}").map_err(err)?;
        let mut answer = String::new();
        BufReader::new(s).read_line(&mut answer).map_err(err)?;
        if answer.starts_with("ok") {
            Ok(answer.trim_end().to_owned())
        } else {
            Err(format!("esi-sim refused `{line}`: {}", answer.trim_end()))
        }
    }

    /// The devices on ESI `esi` of `kind`.
    pub fn devices_on(&self, esi: usize, kind: Kind) -> Vec<SimDevice> {
        self.devices.iter().filter(|d| d.esi == esi && d.kind == kind.name()).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lines_parse() {
        let d = parse_device_line(
            "device 3 (lcs 1) esi 2 eui64 000d6f0000000103 install code 83FED3407A939723A5C639B26916D505C3B5: not joined",
        );
        assert_eq!(
            d,
            Some(SimDevice {
                number: 3,
                kind: "lcs".into(),
                kind_number: 1,
                esi: 2,
                eui64: "000d6f0000000103".into(),
                install_code: "83FED3407A939723A5C639B26916D505C3B5".into(),
            })
        );
        assert_eq!(parse_device_line("device x"), None);
        assert_eq!(parse_device_line("esi 0: /dev/pts/3"), None);
    }

    #[test]
    fn scenario_file_lists_devices() {
        let t = scenario_toml(4, 2, 5, &[DeviceWish { kind: Kind::Pct, esi: 1, wrong_key: true }]);
        assert!(t.contains("esis = 2") && t.contains("kind = \"pct\"\nesi = 1"));
        assert!(t.contains("wrong_key = true") && !t.contains("devices = 0"));
        assert!(scenario_toml(1, 1, 5, &[]).contains("devices = 0"));
    }
}
