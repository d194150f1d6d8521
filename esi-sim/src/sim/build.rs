//! Building a simulation from its configuration: identities, keys and install codes all come
//! from the seed.

use super::{EsiRt, Sim};
use crate::device::{Device, DeviceKind, DeviceSpec};
use crate::faults::{FaultPlan, RandomFaultSource};
use crate::host::SimHost;
use crate::medium::Medium;
use crate::metrology::{LoadProfile, SimMeter};
use crate::node;
use crate::radio::{DeviceRadio, Radio};
use crate::rng::SimRng;
use crate::serial::{SerialLine, DEFAULT_BAUD};
use crate::tap::LinkTap;
use std::collections::BTreeMap;
use zse::security::InstallCode;
use zse::zcl::Eui64;

/// 2026-01-01T00:00:00Z: the wall-clock time virtual time 0 stands for (pcap timestamps, the
/// load profile's time of day). Fixed, so runs replay.
pub const DEFAULT_EPOCH_UNIX_MS: u64 = 1_767_225_600_000;

/// Everything that defines a run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    pub esis: usize,
    /// Device slots per ESI (one of [`node::CAPACITIES`]).
    pub slots: u8,
    pub devices: Vec<DeviceSpec>,
    pub baud: u32,
    pub epoch_unix_ms: u64,
    pub faults: FaultPlan,
    /// Give every ESI an in-process host (tests, headless runs) instead of an external one.
    pub in_process_hosts: bool,
    pub profile: LoadProfile,
    /// Meter reading at the start, Wh.
    pub start_summation_wh: u64,
    /// What each ESI's serial port talks to (`--ncp`).
    pub node: node::NodeKind,
}

impl SimConfig {
    /// `esis` ESIs, `devices` devices spread over them (IHD, PCT, LCS in turn), no faults.
    pub fn new(seed: u64, esis: usize, devices: usize) -> Self {
        let esis = esis.max(1);
        Self {
            seed,
            esis,
            slots: 10,
            devices: (0..devices).map(|i| default_device(seed, i, kind_of(i), i % esis)).collect(),
            baud: DEFAULT_BAUD,
            epoch_unix_ms: DEFAULT_EPOCH_UNIX_MS,
            faults: FaultPlan::default(),
            in_process_hosts: false,
            profile: LoadProfile::default(),
            start_summation_wh: 12_345_678,
            node: node::NodeKind::Firmware,
        }
    }

    #[must_use]
    pub fn with_in_process_hosts(mut self) -> Self {
        self.in_process_hosts = true;
        self
    }

    /// Checks the configuration; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        // The ESI index is the low byte of its EUI-64 (see `build`), so at most 255 ESIs.
        if self.esis == 0 || self.esis > 255 {
            return Err(format!("esis = {}: must be 1..=255", self.esis));
        }
        if !node::CAPACITIES.contains(&self.slots) {
            return Err(format!("slots = {}: must be one of {:?}", self.slots, node::CAPACITIES));
        }
        if self.baud < 1_200 {
            return Err(format!("baud = {}: too slow (≥ 1200)", self.baud));
        }
        for (i, d) in self.devices.iter().enumerate() {
            if d.esi >= self.esis {
                return Err(format!(
                    "device {}: esi = {} but there are {} ESIs",
                    i + 1,
                    d.esi,
                    self.esis
                ));
            }
            if d.label_code().is_none() {
                return Err(format!("device {}: install_code is not a valid install code", i + 1));
            }
        }
        let mut seen = BTreeMap::new();
        for (i, d) in self.devices.iter().enumerate() {
            if let Some(j) = seen.insert(d.eui64, i) {
                return Err(format!(
                    "device {}: eui64 {} already used by device {}",
                    i + 1,
                    d.eui64,
                    j + 1
                ));
            }
        }
        self.faults.validate()
    }
}

/// IHD, PCT, LCS in turn.
pub fn kind_of(i: usize) -> DeviceKind {
    match i % 3 {
        0 => DeviceKind::Ihd,
        1 => DeviceKind::Pct,
        _ => DeviceKind::Lcs,
    }
}

/// A device of `kind` with identity and install code from the seed.
pub fn default_device(seed: u64, i: usize, kind: DeviceKind, esi: usize) -> DeviceSpec {
    let mut rng = SimRng::new(seed).fork("device-identity", i as u64);
    let eui64 = Eui64(0x000D_6F00_0000_0000 | (rng.below(1 << 24) << 16) | (i as u64 + 1));
    let code: Vec<u8> = (0..16).map(|_| rng.byte()).collect();
    let install_code = InstallCode::from_code(&code).map(|c| c.as_bytes().to_vec()).unwrap_or(code);
    let (device_class, load_w) = match kind {
        DeviceKind::Ihd => (0, 0),
        DeviceKind::Pct => (0x0003, 3_500),
        DeviceKind::Lcs => (0x000C, 4_500),
    };
    DeviceSpec {
        kind,
        esi,
        eui64,
        install_code,
        wrong_key: false,
        confirm_after_ms: None,
        poll_ms: 30_000,
        device_class,
        enrollment_group: 0,
        load_w,
        start_randomization_minutes: 0,
        auto_join: true,
    }
}

impl Sim {
    /// Builds the simulation; the error names the offending field.
    pub fn new(config: SimConfig) -> Result<Self, String> {
        config.validate()?;
        let root = SimRng::new(config.seed);
        let mut ids = root.fork("esi-identity", 0);
        let mut esis = Vec::new();
        for i in 0..config.esis {
            let eui64 = Eui64(0x000D_6FFF_FE00_0000 | (ids.below(1 << 16) << 8) | i as u64);
            let pan_id = ids.range(0x0001, 0xFFFE) as u16;
            let mut network_key = [0u8; 16];
            for b in &mut network_key {
                *b = ids.byte();
            }
            let meter_seed = ids.next_u64();
            let meter = SimMeter::new(
                meter_seed,
                config.epoch_unix_ms,
                config.start_summation_wh,
                config.profile,
            );
            let session_seed = ids.next_u64() as u32;
            let node: Box<dyn node::EsiNode> = match config.node {
                node::NodeKind::Firmware => {
                    node::build(config.slots, eui64, session_seed, meter.clone())
                        .ok_or_else(|| format!("slots = {}: unsupported", config.slots))?
                }
                node::NodeKind::Ezsp { max_version } => {
                    Box::new(node::ncp::EzspNcp::new(eui64, max_version))
                }
            };
            let host_seed = ids.next_u64() as u32;
            esis.push(EsiRt {
                node,
                meter,
                radio: Radio::new(i, pan_id, eui64, network_key),
                line: SerialLine::new(
                    config.baud,
                    root.fork("serial", i as u64),
                    config.faults.serial,
                ),
                tap: LinkTap::new(),
                host: config.in_process_hosts.then(|| SimHost::new(host_seed)),
                host_out: Vec::new(),
                resets: 0,
            });
        }
        let devices = config
            .devices
            .iter()
            .enumerate()
            .map(|(i, spec)| Device::new(spec.clone(), root.fork("device", i as u64), 0))
            .collect();
        let dev_radios = config.devices.iter().map(|_| DeviceRadio::default()).collect();
        let random_faults =
            RandomFaultSource::new(root.fork("random-faults", 0), config.faults.random, 0);
        let mut sim = Self {
            medium: Medium::new(root.fork("medium", 0), config.faults.radio),
            rng: root.fork("sim", 0),
            config,
            now: 0,
            step: 0,
            esis,
            devices,
            dev_radios,
            schedule: BTreeMap::new(),
            scheduled: 0,
            random_faults,
            port_events: Vec::new(),
            events: Vec::new(),
        };
        let schedule: Vec<_> = sim.config.faults.schedule.clone();
        for (at, action) in schedule {
            sim.schedule_at(at, action);
        }
        Ok(sim)
    }

    /// The seed-derived keys of each PAN (for the capture and the printout).
    pub fn pan_keys(&self) -> Vec<crate::pcap::PanKeys> {
        self.esis
            .iter()
            .map(|e| crate::pcap::PanKeys {
                pan_id: e.radio.pan_id,
                network_key: e.radio.network_key,
            })
            .collect()
    }
}
