//! The gateway under test: a spawned `gateway run --config FILE` process, killed with SIGKILL
//! and restarted by the suites. Its stderr (tracing logs) is appended to `gateway.log` in the
//! suite's directory across restarts, for the secret scan.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use p256::ecdsa::SigningKey;

use crate::{Context, Result};

/// Sends `sig` (a name such as `TERM`, `STOP`, `CONT`) to a child with kill(1).
pub fn signal(c: &Child, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(c.id().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A party of the suites with its signing key.
#[derive(Debug, Clone)]
pub struct Party {
    pub id: &'static str,
    pub role: &'static str,
    pub kid: String,
    pub key: SigningKey,
}

/// The parties every suite configures: an admin, the TDSP, two REPs, a third party, and one
/// with a key but no grants.
pub fn parties() -> Vec<Party> {
    [
        ("ops", "admin"),
        ("tdsp", "tdsp"),
        ("rep", "rep"),
        ("rep2", "rep"),
        ("tp", "third_party"),
        ("nobody", "rep"),
    ]
    .into_iter()
    .map(|(id, role)| Party {
        id,
        role,
        kid: format!("{id}-k1"),
        key: gateway::auth::keys::generate_signing_key(),
    })
    .collect()
}

/// Which broker the gateway talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broker {
    /// An external broker (the suite's own Mosquitto) on this port.
    External(u16),
    /// The gateway's embedded rumqttd on these ports (MQTT 5, MQTT 3.1.1).
    Embedded(u16, u16),
}

impl Broker {
    /// The port the portal connects to.
    pub fn port(self) -> u16 {
        match self {
            Self::External(p) | Self::Embedded(p, _) => p,
        }
    }
}

/// Everything the configuration file needs.
#[derive(Debug, Clone)]
pub struct GwConfig {
    pub gateway_id: String,
    pub data_dir: PathBuf,
    pub ctl_socket: PathBuf,
    /// Serial ports (esi-sim links), one coordinator each; ESI `i` is `esi_id(i)`.
    pub ports: Vec<PathBuf>,
    pub broker: Broker,
    /// Extra lines of the `[mqtt]` section (rates, limits).
    pub mqtt_extra: String,
    /// Extra top-level sections.
    pub extra: String,
}

/// ESIID of ESI `i`.
pub fn esi_id(i: usize) -> String {
    format!("1044372000000000{i}")
}

/// Meter number of ESI `i`.
pub fn meter(i: usize) -> String {
    format!("M{i}")
}

impl GwConfig {
    pub fn new(dir: &Path, gateway_id: &str, ports: Vec<PathBuf>, broker: Broker) -> Self {
        Self {
            gateway_id: gateway_id.into(),
            data_dir: dir.join("data"),
            ctl_socket: dir.join("ctl.sock"),
            ports,
            broker,
            mqtt_extra: String::new(),
            extra: String::new(),
        }
    }

    /// The TOML text.
    pub fn text(&self, parties: &[Party]) -> String {
        let mut t = format!(
            "gateway_id = \"{}\"\ndata_dir = \"{}\"\n",
            self.gateway_id,
            self.data_dir.display()
        );
        for (i, p) in self.ports.iter().enumerate() {
            let _ = write!(
                t,
                "[[coordinator]]\nport = \"{}\"\nesi_id = \"{}\"\nmeter_number = \"{}\"\n",
                p.display(),
                esi_id(i),
                meter(i)
            );
        }
        t.push_str(
            "[polling]\nstatus_interval = \"2s\"\nstale_after = \"10s\"\n\
             [link]\nreconnect_min = \"100ms\"\nreconnect_max = \"500ms\"\nheartbeat_timeout = \"30s\"\n\
             result_timeout = \"30s\"\nquery_timeout = \"10s\"\n\
             [scheduler]\nretry_base = \"500ms\"\nretry_max = \"2s\"\n",
        );
        let _ = write!(t, "[ctl]\nsocket = \"{}\"\n", self.ctl_socket.display());
        t.push_str(&self.extra);
        t.push_str("[mqtt]\n");
        match self.broker {
            Broker::External(port) => {
                let _ = write!(t, "broker = \"external\"\nhost = \"127.0.0.1\"\nport = {port}\n");
            }
            Broker::Embedded(p5, p4) => {
                let _ = write!(
                    t,
                    "broker = \"embedded\"\nlisten = \"127.0.0.1:{p5}\"\nlisten_v311 = \"127.0.0.1:{p4}\"\n"
                );
            }
        }
        t.push_str("session_expiry = \"10m\"\nkeep_alive = \"5s\"\n");
        t.push_str(&self.mqtt_extra);
        for p in parties {
            let _ = write!(t, "[[mqtt.party]]\nid = \"{}\"\nrole = \"{}\"\n", p.id, p.role);
        }
        for p in parties {
            let pem = gateway::auth::keys::public_key_pem(p.key.verifying_key());
            let _ = write!(
                t,
                "[[mqtt.key]]\nkid = \"{}\"\nparty = \"{}\"\npem = \"\"\"\n{}\"\"\"\n",
                p.kid, p.id, pem
            );
        }
        t
    }
}

/// The gateway process.
#[derive(Debug)]
pub struct Gateway {
    bin: PathBuf,
    pub config_file: PathBuf,
    pub log: PathBuf,
    child: Option<Child>,
    /// How many times it was started.
    pub starts: u32,
}

impl Gateway {
    /// Writes the configuration to `dir/gateway.toml` (not started yet).
    pub fn new(dir: &Path, cfg: &GwConfig, parties: &[Party]) -> Result<Self> {
        let bins = crate::bins::bins()?;
        let config_file = dir.join("gateway.toml");
        std::fs::write(&config_file, cfg.text(parties)).ctx("write gateway.toml")?;
        Ok(Self {
            bin: bins.gateway,
            config_file,
            log: dir.join("gateway.log"),
            child: None,
            starts: 0,
        })
    }

    /// Starts the process (logs at `info` appended to [`Gateway::log`]).
    pub fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .ctx("gateway log")?;
        let child = Command::new(&self.bin)
            .args(["run", "--config"])
            .arg(&self.config_file)
            .env("RUST_LOG", std::env::var("GATEWAY_LOG").unwrap_or_else(|_| "info".into()))
            .stdout(Stdio::from(log.try_clone().ctx("log fd")?))
            .stderr(Stdio::from(log))
            .spawn()
            .ctx("spawn gateway")?;
        self.child = Some(child);
        self.starts += 1;
        Ok(())
    }

    /// `kill -9` and reap.
    pub fn kill9(&mut self) -> Result<()> {
        if let Some(mut c) = self.child.take() {
            c.kill().ctx("SIGKILL gateway")?;
            c.wait().ctx("reap gateway")?;
        }
        Ok(())
    }

    /// SIGTERM and wait up to `timeout` for a clean exit (then SIGKILL).
    pub fn stop(&mut self, timeout: Duration) -> Result<()> {
        let Some(mut c) = self.child.take() else { return Ok(()) };
        signal(&c, "TERM");
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if c.try_wait().ctx("wait gateway")?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = c.kill();
        let _ = c.wait();
        Err(format!("gateway did not stop within {timeout:?} after SIGTERM"))
    }

    /// Whether the process has exited on its own (its status), without waiting.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
