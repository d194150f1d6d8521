//! Scenario files (TOML): the simulation's shape, its devices, the fault plan and a script of
//! timed actions. A fault-plan file has the same `[faults]` tables and `[[at]]` entries.
//!
//! ```toml
//! [sim]
//! seed = 7
//! esis = 1
//! devices = 3              # generated IHD, PCT, LCS in turn (unless [[device]] tables are given)
//! slots = 10               # 5, 8, 10 or 16
//! baud = 115200
//! duration = "30m"         # how long a headless run lasts
//!
//! [faults.radio]           # per transmitted frame
//! loss = 0.05
//! corruption = 0.01
//! delay_probability = 0.1
//! delay_max_ms = 200
//! [faults.serial]          # per byte
//! drop = 0.0001
//! corruption = 0.0001
//! [faults.random]          # mean occurrences per hour of virtual time
//! device_leave = 1.0
//! power_failure = 0.5
//!
//! [[device]]
//! kind = "ihd"             # ihd, pct, lcs
//! esi = 0
//! confirm_after = "20s"
//! [[device]]
//! kind = "pct"
//! wrong_key = true         # holds a key that differs from its label: joining fails
//!
//! [[at]]
//! t = "30s"
//! do = "power fail"
//! [[at]]
//! t = "2m"
//! do = "pct 1 opts out of event 77"
//! ```
//! Errors name the line and the key (unknown keys are errors, not ignored).

use crate::command::{parse_action, parse_duration, Action};
use crate::device::{DeviceKind, DeviceSpec};
use crate::faults::{FaultPlan, RadioFaults, RandomFaults, SerialFaults};
use crate::sim::build::{default_device, kind_of};
use crate::SimConfig;
use serde::Deserialize;
use std::fmt;
use std::path::Path;
use toml::Spanned;
use zse::security::InstallCode;
use zse::zcl::Eui64;

/// A scenario error: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ScenarioError {}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRepr {
    #[serde(default)]
    sim: SimRepr,
    #[serde(default)]
    faults: FaultsRepr,
    #[serde(default)]
    device: Vec<Spanned<DeviceRepr>>,
    #[serde(default)]
    at: Vec<AtRepr>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SimRepr {
    seed: Option<u64>,
    esis: Option<usize>,
    devices: Option<usize>,
    slots: Option<u8>,
    baud: Option<u32>,
    duration: Option<Spanned<String>>,
    speed: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsRepr {
    #[serde(default)]
    radio: RadioFaults,
    #[serde(default)]
    serial: SerialFaults,
    #[serde(default)]
    random: RandomFaults,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceRepr {
    kind: DeviceKind,
    #[serde(default)]
    esi: usize,
    eui64: Option<String>,
    install_code: Option<String>,
    #[serde(default)]
    wrong_key: bool,
    confirm_after: Option<String>,
    poll: Option<String>,
    device_class: Option<u16>,
    #[serde(default)]
    enrollment_group: u8,
    load_w: Option<u32>,
    #[serde(default)]
    start_randomization_minutes: u8,
    auto_join: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AtRepr {
    t: Spanned<String>,
    #[serde(rename = "do")]
    action: Spanned<String>,
}

/// A parsed scenario (or fault-plan) file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scenario {
    pub seed: Option<u64>,
    pub esis: Option<usize>,
    pub device_count: Option<usize>,
    pub slots: Option<u8>,
    pub baud: Option<u32>,
    pub duration_ms: Option<u64>,
    pub speed: Option<f64>,
    /// Devices given one by one (`None`: generate `device_count`).
    pub devices: Option<Vec<DeviceSpec>>,
    pub faults: FaultPlan,
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: file.clone(),
            line: None,
            message: e.to_string(),
        })?;
        Self::parse(&file, &text)
    }

    /// Parses `text`; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, ScenarioError> {
        let err = |span: Option<std::ops::Range<usize>>, message: String| ScenarioError {
            file: file.to_string(),
            line: span.map(|s| line_of(text, s.start)),
            message,
        };
        let repr: FileRepr = toml::from_str(text).map_err(|e| {
            let message = e.message().to_string();
            err(e.span(), message)
        })?;
        let duration_ms = match &repr.sim.duration {
            Some(d) => Some(
                parse_duration(d.get_ref())
                    .map_err(|m| err(Some(d.span()), format!("sim.duration: {m}")))?,
            ),
            None => None,
        };
        let seed = repr.sim.seed.unwrap_or(0);
        let mut devices = Vec::new();
        for (i, d) in repr.device.iter().enumerate() {
            let span = d.span();
            let spec = device_spec(seed, i, d.get_ref())
                .map_err(|m| err(Some(span.clone()), format!("device {}: {m}", i + 1)))?;
            devices.push(spec);
        }
        let mut schedule = Vec::new();
        for a in &repr.at {
            let t = parse_duration(a.t.get_ref())
                .map_err(|m| err(Some(a.t.span()), format!("at.t: {m}")))?;
            let action: Action = parse_action(a.action.get_ref())
                .map_err(|e| err(Some(a.action.span()), format!("at.do: {e}")))?;
            schedule.push((t, action));
        }
        let faults = FaultPlan {
            radio: repr.faults.radio,
            serial: repr.faults.serial,
            random: repr.faults.random,
            schedule,
        };
        faults.validate().map_err(|m| err(None, format!("faults.{m}")))?;
        Ok(Self {
            seed: repr.sim.seed,
            esis: repr.sim.esis,
            device_count: repr.sim.devices,
            slots: repr.sim.slots,
            baud: repr.sim.baud,
            duration_ms,
            speed: repr.sim.speed,
            devices: (!repr.device.is_empty()).then_some(devices),
            faults,
        })
    }

    /// Applies the file to `config` (file values replace the defaults; fault-plan entries are
    /// added to any already there).
    pub fn apply_to(&self, config: &mut SimConfig) {
        if let Some(s) = self.seed {
            config.seed = s;
        }
        if let Some(e) = self.esis {
            config.esis = e;
        }
        if let Some(s) = self.slots {
            config.slots = s;
        }
        if let Some(b) = self.baud {
            config.baud = b;
        }
        match (&self.devices, self.device_count) {
            (Some(d), _) => config.devices.clone_from(d),
            (None, Some(n)) => {
                let esis = config.esis.max(1);
                config.devices =
                    (0..n).map(|i| default_device(config.seed, i, kind_of(i), i % esis)).collect();
            }
            (None, None) => {}
        }
        config.faults.radio = self.faults.radio;
        config.faults.serial = self.faults.serial;
        config.faults.random = self.faults.random;
        config.faults.schedule.extend(self.faults.schedule.iter().copied());
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |t| t.matches('\n').count() + 1)
}

fn device_spec(seed: u64, i: usize, d: &DeviceRepr) -> Result<DeviceSpec, String> {
    let mut spec = default_device(seed, i, d.kind, d.esi);
    if let Some(e) = &d.eui64 {
        spec.eui64 =
            Eui64::parse_text(e).ok_or_else(|| format!("eui64 = {e:?}: expected 16 hex digits"))?;
    }
    if let Some(c) = &d.install_code {
        let code = InstallCode::parse(c).map_err(|e| format!("install_code: {e}"))?;
        spec.install_code = code.as_bytes().to_vec();
    }
    spec.wrong_key = d.wrong_key;
    if let Some(c) = &d.confirm_after {
        spec.confirm_after_ms = Some(parse_duration(c).map_err(|m| format!("confirm_after: {m}"))?);
    }
    if let Some(p) = &d.poll {
        spec.poll_ms = parse_duration(p).map_err(|m| format!("poll: {m}"))?.max(1_000);
    }
    if let Some(c) = d.device_class {
        spec.device_class = c;
    }
    spec.enrollment_group = d.enrollment_group;
    if let Some(w) = d.load_w {
        spec.load_w = w;
    }
    if d.start_randomization_minutes > 60 {
        return Err("start_randomization_minutes: at most 60".into());
    }
    spec.start_randomization_minutes = d.start_randomization_minutes;
    if let Some(a) = d.auto_join {
        spec.auto_join = a;
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Target;

    const GOOD: &str = r#"
[sim]
seed = 7
esis = 1
duration = "10m"

[faults.radio]
loss = 0.05

[[device]]
kind = "ihd"
confirm_after = "20s"

[[device]]
kind = "pct"
wrong_key = true

[[at]]
t = "30s"
do = "power fail"
"#;

    #[test]
    fn a_good_file() {
        let s = Scenario::parse("good.toml", GOOD).unwrap();
        assert_eq!((s.seed, s.esis, s.duration_ms), (Some(7), Some(1), Some(600_000)));
        let devices = s.devices.clone().unwrap();
        assert_eq!(devices.len(), 2);
        assert_eq!(devices[0].confirm_after_ms, Some(20_000));
        assert!(devices[1].wrong_key);
        assert_eq!(
            s.faults.schedule,
            vec![(30_000, Action::Power { esi: Target::All, on: false })]
        );
        let mut c = SimConfig::new(1, 1, 0);
        s.apply_to(&mut c);
        assert_eq!((c.seed, c.devices.len()), (7, 2));
        assert!((c.faults.radio.loss - 0.05).abs() < 1e-9);
    }

    fn error(text: &str) -> ScenarioError {
        Scenario::parse("bad.toml", text).unwrap_err()
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = error("[sim]\nseed = 1\nsed = 2\n");
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("sed"), "{e}");
        let e = error("[[at]]\nt = \"5s\"\ndo = \"ihd 1 dance\"\n");
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("at.do") && e.message.contains("dance"), "{e}");
        let e = error("[[at]]\nt = \"5\"\ndo = \"reset\"\n");
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("unit"), "{e}");
        let e = error("\n[[device]]\nkind = \"toaster\"\n");
        assert_eq!(e.line, Some(3));
        let e = error("[[device]]\nkind = \"ihd\"\ninstall_code = \"1234\"\n");
        assert!(e.message.contains("install_code"), "{e}");
        let e = error("[faults.serial]\ndrop = 2.0\n");
        assert!(e.message.contains("serial.drop"), "{e}");
        assert_eq!(
            e.to_string(),
            "bad.toml: faults.serial.drop = 2: a probability must be within 0..=1"
        );
    }
}
