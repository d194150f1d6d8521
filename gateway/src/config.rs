//! The daemon's configuration file (TOML), read and validated once at start (design.md §9).
//!
//! Every problem is reported with the key it is about, as a dotted path with array indices
//! (`coordinator[1].baud`), so an operator can fix the file without reading code. Unknown keys
//! are errors too: a misspelt key silently falling back to a default is how a gateway ends up
//! polling every 5 minutes when 30 seconds were meant.
//!
//! ```toml
//! gateway_id = "gw-austin-01"
//! data_dir = "/var/lib/han-gateway"
//!
//! [[coordinator]]
//! port = "/dev/ttyACM0"
//! baud = 115200
//! esi_id = "10443720000000001"
//! meter_number = "M123456"
//! # kind = "ezsp"           # a Silicon Labs NCP (EZSP over ASH) instead of the host link;
//! # channel = 15            # then: network channel (11..=26), pan_id, tx_power (docs/ezsp.md)
//!
//! [polling]
//! status_interval = "5m"     # durations: "500ms", "30s", "5m", "2h", "1d" or integer seconds
//! stale_after = "15m"
//!
//! [messages]
//! max_text_length = 59       # characters (design.md §4)
//!
//! [provisioning]
//! join_window_default = "24h"
//!
//! [priorities]               # BR-053.002–.004
//! high = "10m"
//! medium = "2h"
//! low = "24h"
//!
//! [metrics]                  # Prometheus /metrics and /health (absent: no HTTP port)
//! listen = "127.0.0.1:9464"
//! ```

pub mod mqtt;
mod section;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use section::Section;

use crate::grants::Role;
use crate::model::{EsiId, PriorityDeadlines};
use crate::scheduler::{Backoff, RateLimit, SchedulerConfig};

/// A configuration problem, naming the key (empty for the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path of the key, e.g. `coordinator[0].baud`.
    pub key: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "configuration: {}", self.message)
        } else {
            write!(f, "configuration key `{}`: {}", self.key, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// One serial coordinator (one ESI) of this gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoordinatorConfig {
    /// Serial device, e.g. `/dev/ttyACM0` (or a stable `/dev/serial/by-id/…` link).
    pub port: PathBuf,
    /// Bit rate (8N1).
    pub baud: u32,
    /// The ESI ID of the meter this coordinator is.
    pub esi_id: EsiId,
    /// Its meter number, checked on provisioning (BR-080).
    pub meter_number: String,
    /// What is on the port (`kind`).
    pub kind: CoordinatorKind,
}

/// What a `[[coordinator]]` port talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CoordinatorKind {
    /// A coordinator running the `firmware` crate, speaking the host link (docs/host-link.md).
    #[default]
    HostLink,
    /// A Silicon Labs NCP (EZSP over ASH); the ESI core runs in the gateway (docs/ezsp.md).
    Ezsp(EzspSettings),
}

/// Network settings for an `ezsp` coordinator, used when the NCP holds no network yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EzspSettings {
    /// 802.15.4 channel, 11..=26 (`channel`, default 15).
    pub channel: u8,
    /// PAN id (`pan_id`); random when absent.
    pub pan_id: Option<u16>,
    /// Transmit power in dBm (`tx_power`, default 8).
    pub tx_power: i8,
}

impl Default for EzspSettings {
    fn default() -> Self {
        Self { channel: 15, pan_id: None, tx_power: 8 }
    }
}

/// Power / switch polling (design.md §6, BR-006).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollingConfig {
    /// How often power and service-switch status is read from each ESI.
    pub status_interval: Duration,
    /// A status or reading older than this is reported `stale`.
    pub stale_after: Duration,
}

impl Default for PollingConfig {
    fn default() -> Self {
        Self { status_interval: Duration::from_secs(300), stale_after: Duration::from_secs(900) }
    }
}

/// Validation limits of messages (design.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLimits {
    /// Longest message text in characters (default 59, as real head-ends do).
    pub max_text_length: usize,
    /// Longest display duration; `None` in a request means "until changed".
    pub max_duration: Duration,
    /// How far in the future a start time may be.
    pub max_start_ahead: Duration,
}

impl Default for MessageLimits {
    fn default() -> Self {
        Self {
            max_text_length: 59,
            max_duration: Duration::from_secs(0xFFFE * 60),
            max_start_ahead: Duration::from_secs(30 * 86_400),
        }
    }
}

/// Join windows of provisioning (design.md §5: default 24 h, range 1 min – 30 days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProvisioningConfig {
    pub join_window_default: Duration,
    pub join_window_min: Duration,
    pub join_window_max: Duration,
}

impl Default for ProvisioningConfig {
    fn default() -> Self {
        Self {
            join_window_default: Duration::from_secs(86_400),
            join_window_min: Duration::from_secs(60),
            join_window_max: Duration::from_secs(30 * 86_400),
        }
    }
}

/// Coordinator link supervision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkSettings {
    /// No frame from the coordinator for this long → the session is restarted.
    pub heartbeat_timeout: Duration,
    /// First wait before reopening a port that failed; doubles up to `reconnect_max`.
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// How long a delivery may wait for its per-device results before it counts as failed.
    pub result_timeout: Duration,
    /// How long a synchronous request (provision, read, status) may wait for its answer.
    pub query_timeout: Duration,
    /// Host-link retransmission timeout (docs/host-link.md §4.1).
    pub retransmit_timeout: Duration,
}

impl Default for LinkSettings {
    fn default() -> Self {
        Self {
            heartbeat_timeout: Duration::from_secs(35),
            reconnect_min: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
            result_timeout: Duration::from_secs(120),
            query_timeout: Duration::from_secs(15),
            retransmit_timeout: Duration::from_millis(500),
        }
    }
}

/// The local control socket used by `gateway ctl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtlConfig {
    /// Unix socket path.
    pub socket: PathBuf,
    /// Party name recorded for requests made over the socket.
    pub party: String,
    /// Role of that party (field teams act for the TDSP by default).
    pub role: Role,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Gateway id: MQTT topic segment, so letters, digits, `-` and `_` only.
    pub gateway_id: String,
    /// Where the store (and later the audit log) lives.
    pub data_dir: PathBuf,
    pub coordinators: Vec<CoordinatorConfig>,
    pub polling: PollingConfig,
    pub messages: MessageLimits,
    pub provisioning: ProvisioningConfig,
    pub priorities: PriorityDeadlines,
    pub link: LinkSettings,
    pub scheduler: SchedulerConfig,
    pub ctl: CtlConfig,
    /// The MQTT bridge (`[mqtt]`); `None` when the section is absent.
    pub mqtt: Option<mqtt::MqttConfig>,
    /// The `/metrics` and `/health` endpoint (`[metrics]`); `None` when absent or disabled.
    pub metrics: Option<MetricsConfig>,
}

/// `[metrics]`: where Prometheus scrapes `/metrics` and a supervisor checks `/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Local address of the HTTP endpoint (default `127.0.0.1:9464`).
    pub listen: std::net::SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { listen: std::net::SocketAddr::from(([127, 0, 0, 1], 9464)) }
    }
}

impl Config {
    /// Reads and validates a file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new("", format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text)
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let table: toml::Table = toml::from_str(text)
            .map_err(|e| ConfigError::new("", format!("not valid TOML: {e}")))?;
        let root = Section::root(&table);
        let gateway_id = root.string("gateway_id")?.ok_or_else(|| root.missing("gateway_id"))?;
        check_ident(&root.key("gateway_id"), &gateway_id, 64)?;
        let data_dir: PathBuf =
            root.string("data_dir")?.ok_or_else(|| root.missing("data_dir"))?.into();
        if data_dir.as_os_str().is_empty() {
            return Err(ConfigError::new("data_dir", "must not be empty"));
        }
        let coordinators = parse_coordinators(&root)?;
        let polling = parse_polling(&root)?;
        let messages = parse_messages(&root)?;
        let provisioning = parse_provisioning(&root)?;
        let priorities = parse_priorities(&root)?;
        let link = parse_link(&root)?;
        let scheduler = parse_scheduler(&root)?;
        let ctl = parse_ctl(&root, &data_dir)?;
        let mqtt = mqtt::parse(&root, &gateway_id)?;
        let metrics = parse_metrics(&root)?;
        root.finish()?;
        Ok(Self {
            gateway_id,
            data_dir,
            coordinators,
            polling,
            messages,
            provisioning,
            priorities,
            link,
            scheduler,
            ctl,
            mqtt,
            metrics,
        })
    }

    /// The coordinator serving an ESI.
    pub fn coordinator(&self, esi: &EsiId) -> Option<&CoordinatorConfig> {
        self.coordinators.iter().find(|c| &c.esi_id == esi)
    }

    /// Path of the store file.
    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("gateway.redb")
    }

    /// Path of the hash-chained audit log (`gateway audit verify` checks it).
    pub fn audit_path(&self) -> PathBuf {
        self.data_dir.join("audit.log")
    }
}

/// Letters, digits, `-`, `_`; 1..=max characters.
fn check_ident(key: &str, value: &str, max: usize) -> Result<(), ConfigError> {
    if value.is_empty() || value.len() > max {
        return Err(ConfigError::new(key, format!("must have 1 to {max} characters")));
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(ConfigError::new(key, "only letters, digits, '-' and '_' are allowed"));
    }
    Ok(())
}

fn parse_coordinators(root: &Section<'_>) -> Result<Vec<CoordinatorConfig>, ConfigError> {
    let list = root.tables("coordinator")?;
    if list.is_empty() {
        return Err(ConfigError::new(
            "coordinator",
            "at least one [[coordinator]] (port, esi_id, meter_number) is required",
        ));
    }
    let mut out: Vec<CoordinatorConfig> = Vec::with_capacity(list.len());
    for s in list {
        let port: PathBuf = s.string("port")?.ok_or_else(|| s.missing("port"))?.into();
        if port.as_os_str().is_empty() {
            return Err(ConfigError::new(s.key("port"), "must not be empty"));
        }
        let baud = s.integer("baud", 1200, 4_000_000)?.unwrap_or(115_200) as u32;
        let esi = s.string("esi_id")?.ok_or_else(|| s.missing("esi_id"))?;
        if esi.is_empty() || esi.len() > 32 || !esi.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ConfigError::new(
                s.key("esi_id"),
                "an ESI ID is 1 to 32 letters or digits (ERCOT ESI IDs are 17 or 22 digits)",
            ));
        }
        let meter_number = s.string("meter_number")?.ok_or_else(|| s.missing("meter_number"))?;
        check_ident(&s.key("meter_number"), &meter_number, 32)?;
        let kind = match s.string("kind")?.as_deref() {
            None | Some("host-link") => CoordinatorKind::HostLink,
            Some("ezsp") => {
                let d = EzspSettings::default();
                CoordinatorKind::Ezsp(EzspSettings {
                    channel: s.integer("channel", 11, 26)?.map_or(d.channel, |v| v as u8),
                    pan_id: s.integer("pan_id", 0x0001, 0xFFFE)?.map(|v| v as u16),
                    tx_power: s.integer("tx_power", -20, 20)?.map_or(d.tx_power, |v| v as i8),
                })
            }
            Some(_) => {
                return Err(ConfigError::new(s.key("kind"), "must be \"host-link\" or \"ezsp\""))
            }
        };
        let c = CoordinatorConfig { port, baud, esi_id: EsiId::new(esi), meter_number, kind };
        if out.iter().any(|o| o.esi_id == c.esi_id) {
            return Err(ConfigError::new(s.key("esi_id"), "the same ESI ID appears twice"));
        }
        if out.iter().any(|o| o.port == c.port) {
            return Err(ConfigError::new(s.key("port"), "the same port appears twice"));
        }
        s.finish()?;
        out.push(c);
    }
    Ok(out)
}

fn parse_polling(root: &Section<'_>) -> Result<PollingConfig, ConfigError> {
    let mut p = PollingConfig::default();
    let Some(s) = root.section("polling")? else { return Ok(p) };
    if let Some(d) = s.duration("status_interval")? {
        if d < Duration::from_secs(1) {
            return Err(ConfigError::new(s.key("status_interval"), "must be at least 1s"));
        }
        p.status_interval = d;
        p.stale_after = p.stale_after.max(d * 3);
    }
    if let Some(d) = s.duration("stale_after")? {
        if d <= p.status_interval {
            return Err(ConfigError::new(
                s.key("stale_after"),
                "must be longer than polling.status_interval",
            ));
        }
        p.stale_after = d;
    }
    s.finish()?;
    Ok(p)
}

fn parse_messages(root: &Section<'_>) -> Result<MessageLimits, ConfigError> {
    let mut m = MessageLimits::default();
    let Some(s) = root.section("messages")? else { return Ok(m) };
    if let Some(n) = s.integer("max_text_length", 1, 80)? {
        m.max_text_length = n as usize;
    }
    if let Some(d) = s.duration("max_duration")? {
        if d < Duration::from_secs(60) || d > Duration::from_secs(0xFFFE * 60) {
            return Err(ConfigError::new(s.key("max_duration"), "must be 1m to 65534m"));
        }
        m.max_duration = d;
    }
    if let Some(d) = s.duration("max_start_ahead")? {
        m.max_start_ahead = d;
    }
    s.finish()?;
    Ok(m)
}

fn parse_provisioning(root: &Section<'_>) -> Result<ProvisioningConfig, ConfigError> {
    let mut p = ProvisioningConfig::default();
    let Some(s) = root.section("provisioning")? else { return Ok(p) };
    let hard = ProvisioningConfig::default();
    let in_hard_range = |key: &str, d: Duration| {
        if d < hard.join_window_min || d > hard.join_window_max {
            Err(ConfigError::new(s.key(key), "must be between 1m and 30d (design.md §5)"))
        } else {
            Ok(d)
        }
    };
    if let Some(d) = s.duration("join_window_min")? {
        p.join_window_min = in_hard_range("join_window_min", d)?;
    }
    if let Some(d) = s.duration("join_window_max")? {
        p.join_window_max = in_hard_range("join_window_max", d)?;
    }
    if p.join_window_min > p.join_window_max {
        return Err(ConfigError::new(s.key("join_window_min"), "is above join_window_max"));
    }
    if let Some(d) = s.duration("join_window_default")? {
        p.join_window_default = d;
    }
    if p.join_window_default < p.join_window_min || p.join_window_default > p.join_window_max {
        return Err(ConfigError::new(
            s.key("join_window_default"),
            "must lie between join_window_min and join_window_max",
        ));
    }
    s.finish()?;
    Ok(p)
}

fn parse_priorities(root: &Section<'_>) -> Result<PriorityDeadlines, ConfigError> {
    let mut p = PriorityDeadlines::default();
    let Some(s) = root.section("priorities")? else { return Ok(p) };
    for (key, slot) in [("high", &mut p.high), ("medium", &mut p.medium), ("low", &mut p.low)] {
        if let Some(d) = s.duration(key)? {
            if d < Duration::from_secs(1) {
                return Err(ConfigError::new(s.key(key), "must be at least 1s"));
            }
            *slot = d;
        }
    }
    if p.high > p.medium || p.medium > p.low {
        return Err(ConfigError::new(
            s.key("medium"),
            "deadlines must not decrease from high to medium to low",
        ));
    }
    s.finish()?;
    Ok(p)
}

fn parse_link(root: &Section<'_>) -> Result<LinkSettings, ConfigError> {
    let mut l = LinkSettings::default();
    let Some(s) = root.section("link")? else { return Ok(l) };
    for (key, slot) in [
        ("heartbeat_timeout", &mut l.heartbeat_timeout),
        ("reconnect_min", &mut l.reconnect_min),
        ("reconnect_max", &mut l.reconnect_max),
        ("result_timeout", &mut l.result_timeout),
        ("query_timeout", &mut l.query_timeout),
        ("retransmit_timeout", &mut l.retransmit_timeout),
    ] {
        if let Some(d) = s.duration(key)? {
            if d < Duration::from_millis(10) {
                return Err(ConfigError::new(s.key(key), "must be at least 10ms"));
            }
            *slot = d;
        }
    }
    if l.reconnect_min > l.reconnect_max {
        return Err(ConfigError::new(s.key("reconnect_min"), "is above reconnect_max"));
    }
    s.finish()?;
    Ok(l)
}

fn parse_scheduler(root: &Section<'_>) -> Result<SchedulerConfig, ConfigError> {
    let mut c = SchedulerConfig::default();
    let Some(s) = root.section("scheduler")? else { return Ok(c) };
    if let Some(n) = s.integer("max_in_flight", 1, 64)? {
        c.max_in_flight = n as u32;
    }
    if let Some(n) = s.integer("max_attempts", 1, 100)? {
        c.max_attempts = n as u32;
    }
    if let Some(n) = s.integer("rate_per_second", 0, 10_000)? {
        c.rate = (n > 0).then_some(RateLimit { per_second: n as u32, burst: n as u32 });
    }
    let mut backoff = Backoff::default();
    if let Some(d) = s.duration("retry_base")? {
        backoff.base = d;
    }
    if let Some(d) = s.duration("retry_max")? {
        backoff.max = d;
    }
    if backoff.base > backoff.max {
        return Err(ConfigError::new(s.key("retry_base"), "is above retry_max"));
    }
    c.backoff = backoff;
    s.finish()?;
    Ok(c)
}

fn parse_ctl(root: &Section<'_>, data_dir: &Path) -> Result<CtlConfig, ConfigError> {
    let mut c =
        CtlConfig { socket: data_dir.join("ctl.sock"), party: "field".into(), role: Role::Tdsp };
    let Some(s) = root.section("ctl")? else { return Ok(c) };
    if let Some(p) = s.string("socket")? {
        c.socket = p.into();
    }
    if let Some(p) = s.string("party")? {
        check_ident(&s.key("party"), &p, 64)?;
        c.party = p;
    }
    if let Some(r) = s.string("role")? {
        c.role = match r.as_str() {
            "tdsp" => Role::Tdsp,
            "rep" => Role::Rep,
            "third_party" => Role::ThirdParty,
            "admin" => Role::Admin,
            _ => {
                return Err(ConfigError::new(
                    s.key("role"),
                    "must be one of tdsp, rep, third_party, admin",
                ))
            }
        };
    }
    s.finish()?;
    Ok(c)
}

fn parse_metrics(root: &Section<'_>) -> Result<Option<MetricsConfig>, ConfigError> {
    let Some(s) = root.section("metrics")? else { return Ok(None) };
    let mut c = MetricsConfig::default();
    let enabled = s.boolean("enabled")?.unwrap_or(true);
    if let Some(l) = s.string("listen")? {
        c.listen = l.parse().map_err(|_| {
            ConfigError::new(s.key("listen"), "expected an address such as 127.0.0.1:9464")
        })?;
    }
    s.finish()?;
    Ok(enabled.then_some(c))
}

/// Parses a duration: `"500ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let ms = match unit.trim() {
        "ms" => n,
        "" | "s" => n.checked_mul(1000)?,
        "m" | "min" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        "d" => n.checked_mul(86_400_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests;
