//! The gateway under test as a child process (`gateway run --config FILE`).
//!
//! Why a process and not the library in-process: the runner then sees exactly what a portal
//! sees of a deployed gateway (its MQTT contract, nothing else), a restart scenario can kill it
//! with SIGKILL and start it again on the same store (a real crash, not a cooperative abort),
//! the embedded broker dies and comes back with it as it would in the field, and a gateway
//! panic is a failed scenario instead of a dead runner. Its log goes to a file in the work
//! directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// What a coordinator's serial port speaks (the gateway's `[[coordinator]] kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ncp {
    /// The host-link protocol of the firmware coordinator (`kind = "host-link"`, the default).
    #[default]
    HostLink,
    /// A Silicon Labs NCP, EZSP over ASH, up to this EZSP version (`kind = "ezsp"`); the ESI
    /// core then runs in the gateway (docs/ezsp.md).
    Ezsp { version: u8 },
}

impl Ncp {
    /// The `kind` value of the gateway configuration.
    pub const fn config_kind(self) -> &'static str {
        match self {
            Self::HostLink => "host-link",
            Self::Ezsp { .. } => "ezsp",
        }
    }
}

/// One coordinator (ESI) of the gateway's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coordinator {
    pub port: PathBuf,
    pub baud: u32,
    pub esi_id: String,
    pub meter_number: String,
    pub kind: Ncp,
}

/// Where the gateway's MQTT broker is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broker {
    /// The gateway's embedded broker on these local ports (MQTT 5, MQTT 3.1.1).
    Embedded { port: u16, port_v311: u16 },
    /// An external broker.
    External { host: String, port: u16 },
}

impl Broker {
    /// An embedded broker on two free local ports.
    pub fn embedded() -> Result<Self, String> {
        Ok(Self::Embedded { port: free_port()?, port_v311: free_port()? })
    }

    /// Host and port for clients.
    pub fn address(&self) -> (String, u16) {
        match self {
            Self::Embedded { port, .. } => ("127.0.0.1".to_owned(), *port),
            Self::External { host, port } => (host.clone(), *port),
        }
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; the gateway binds it right after).
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free local port: {e}"))
}

/// Everything the configuration file says.
#[derive(Debug, Clone)]
pub struct GatewaySetup {
    pub gateway_id: String,
    pub base_topic: String,
    pub coordinators: Vec<Coordinator>,
    pub broker: Broker,
    /// `[[mqtt.party]]` / `[[mqtt.key]]` entries.
    pub parties_toml: String,
}

impl GatewaySetup {
    /// The TOML configuration with `dir` as its data directory.
    pub fn config_toml(&self, dir: &Path) -> String {
        let mut t = format!(
            "gateway_id = \"{}\"\ndata_dir = \"{}\"\n",
            self.gateway_id,
            dir.join("data").display()
        );
        for c in &self.coordinators {
            let _ = write!(
                t,
                "[[coordinator]]\nport = \"{}\"\nbaud = {}\nesi_id = \"{}\"\nmeter_number = \"{}\"\nkind = \"{}\"\n",
                c.port.display(),
                c.baud,
                c.esi_id,
                c.meter_number,
                c.kind.config_kind()
            );
        }
        // Short intervals so a lab run takes seconds: status polled every 2 s, a lost port
        // retried within a second, failed sends retried after 0.5–2 s.
        t.push_str(
            "[polling]\nstatus_interval = \"2s\"\nstale_after = \"10s\"\n\
             [link]\nreconnect_min = \"100ms\"\nreconnect_max = \"1s\"\nheartbeat_timeout = \"30s\"\n\
             result_timeout = \"30s\"\nquery_timeout = \"10s\"\n\
             [scheduler]\nretry_base = \"500ms\"\nretry_max = \"2s\"\n",
        );
        let _ = writeln!(t, "[ctl]\nsocket = \"{}\"", dir.join("ctl.sock").display());
        t.push_str("[mqtt]\n");
        match &self.broker {
            Broker::Embedded { port, port_v311 } => {
                let _ = writeln!(
                    t,
                    "broker = \"embedded\"\nlisten = \"127.0.0.1:{port}\"\nlisten_v311 = \"127.0.0.1:{port_v311}\""
                );
            }
            Broker::External { host, port } => {
                let _ = writeln!(t, "broker = \"external\"\nhost = \"{host}\"\nport = {port}");
            }
        }
        let _ = writeln!(
            t,
            "base_topic = \"{}\"\nsession_expiry = \"10m\"\nrate_per_second = 10000\nrate_burst = 10000",
            self.base_topic
        );
        t.push_str(&self.parties_toml);
        t
    }
}

/// The running gateway.
#[derive(Debug)]
pub struct GatewayProcess {
    exe: PathBuf,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

impl GatewayProcess {
    /// Writes the configuration into `dir` and starts `exe` on it.
    pub fn start(exe: &Path, dir: &Path, setup: &GatewaySetup) -> Result<Self, String> {
        let config = dir.join("gateway.toml");
        std::fs::write(&config, setup.config_toml(dir))
            .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
        let mut g =
            Self { exe: exe.to_path_buf(), config, log: dir.join("gateway.log"), child: None };
        g.spawn()?;
        Ok(g)
    }

    /// Starts the process (again) on the same configuration and store.
    pub fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("cannot open {}: {e}", self.log.display()))?;
        let log2 = log.try_clone().map_err(|e| format!("{}: {e}", self.log.display()))?;
        let child = Command::new(&self.exe)
            .args(["run", "--config"])
            .arg(&self.config)
            .env("NO_COLOR", "1")
            .env("RUST_LOG", std::env::var("HIL_GATEWAY_LOG").unwrap_or_else(|_| "info".into()))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.exe.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL, as a power cut or a crash would end it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `Err` with the log's last lines if the process has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        let Some(c) = self.child.as_mut() else { return Err("the gateway is not running".into()) };
        match c.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(st)) => Err(format!("the gateway exited ({st}): {}", self.log_tail(5))),
            Err(e) => Err(format!("the gateway: {e}")),
        }
    }

    /// The last `n` lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut lines: Vec<&str> = text.lines().rev().take(n).collect();
        lines.reverse();
        lines.join(" | ")
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_is_valid_for_the_gateway() {
        let setup = GatewaySetup {
            gateway_id: "hil-1".into(),
            base_topic: "hanlab".into(),
            coordinators: vec![Coordinator {
                port: "/dev/ttyACM0".into(),
                baud: 115_200,
                esi_id: "10443720000000000".into(),
                meter_number: "M0".into(),
                kind: Ncp::HostLink,
            }],
            broker: Broker::External { host: "127.0.0.1".into(), port: 1883 },
            parties_toml: crate::portal::Party::config_toml(&[crate::portal::Party::new(
                "ops", "admin",
            )]),
        };
        let text = setup.config_toml(Path::new("/tmp/x"));
        let c = gateway::config::Config::parse(&text);
        assert!(c.is_ok(), "{c:?}\n{text}");
        let mut ezsp = setup.clone();
        ezsp.coordinators[0].kind = Ncp::Ezsp { version: 13 };
        let text = ezsp.config_toml(Path::new("/tmp/x"));
        let c = gateway::config::Config::parse(&text).expect("ezsp configuration parses");
        assert!(
            matches!(c.coordinators[0].kind, gateway::config::CoordinatorKind::Ezsp(_)),
            "{text}"
        );
    }
}
