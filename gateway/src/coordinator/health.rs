//! Health and last known status of each ESI, shared between the supervisors (writers) and the
//! operations, poller and ctl socket (readers).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use firmware::host_link::{PowerState, SwitchState};
use serde::Serialize;

use crate::model::{EsiId, Eui64, Timestamp};
use crate::ops::time::format_rfc3339;
use crate::ops::util::eui_text;

/// Where the link to an ESI's coordinator stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatus {
    /// Port not open (unplugged, or waiting to retry).
    Offline,
    /// Port open, handshake not done.
    Connecting,
    /// Handshake done, resynchronising slot table and status; queries allowed, no deliveries.
    Resyncing,
    /// Ready for work.
    Online,
}

impl LinkStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Connecting => "connecting",
            Self::Resyncing => "resyncing",
            Self::Online => "online",
        }
    }
}

/// Last power / service-switch status read from an ESI (BR-006).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusSnapshot {
    pub power: Option<PowerState>,
    pub switch: Option<SwitchState>,
    /// Gateway time the status was received.
    pub read_at: Option<Timestamp>,
}

impl StatusSnapshot {
    pub fn power_text(&self) -> Option<String> {
        power_text(self.power?)
    }

    pub fn switch_text(&self) -> Option<String> {
        switch_text(self.switch?)
    }
}

/// `on` / `off`, or `None` for unknown.
pub fn power_text(p: PowerState) -> Option<String> {
    match p {
        PowerState::ON => Some("on".into()),
        PowerState::OFF => Some("off".into()),
        _ => None,
    }
}

/// `closed` / `open` / `armed`, or `None` for unknown.
pub fn switch_text(s: SwitchState) -> Option<String> {
    match s {
        SwitchState::CLOSED => Some("closed".into()),
        SwitchState::OPEN => Some("open".into()),
        SwitchState::ARMED => Some("armed".into()),
        _ => None,
    }
}

/// Last meter reading of an ESI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingSnapshot {
    /// CurrentSummationDelivered in Wh (kWh × 1000), or `None` when missing.
    pub milli_kwh: Option<i64>,
    pub missing_reason: Option<String>,
    /// When the meter took it (gateway time if the meter's clock is unset).
    pub read_at: Timestamp,
}

/// One ESI's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsiHealth {
    pub esi_id: EsiId,
    pub port: String,
    pub link: LinkStatus,
    /// When `link` last changed.
    pub since: Timestamp,
    /// Last frame of any kind from the coordinator.
    pub last_frame: Option<Timestamp>,
    pub last_heartbeat: Option<Timestamp>,
    /// Link sessions established since start.
    pub sessions: u32,
    pub last_error: Option<String>,
    /// Host-link receive errors (bad COBS/CRC, runt, oversize, malformed, unsupported frames)
    /// and lost ports since start.
    pub serial_errors: u64,
    pub firmware: Option<String>,
    pub capacity: Option<u8>,
    pub esi_eui64: Option<Eui64>,
    /// From the last heartbeat.
    pub slots_used: Option<u8>,
    pub devices_paired: Option<u8>,
    pub status: StatusSnapshot,
    pub reading: Option<ReadingSnapshot>,
}

impl EsiHealth {
    pub fn new(esi_id: EsiId, port: String) -> Self {
        Self {
            esi_id,
            port,
            link: LinkStatus::Offline,
            since: Timestamp::now(),
            last_frame: None,
            last_heartbeat: None,
            sessions: 0,
            last_error: None,
            serial_errors: 0,
            firmware: None,
            capacity: None,
            esi_eui64: None,
            slots_used: None,
            devices_paired: None,
            status: StatusSnapshot::default(),
            reading: None,
        }
    }

    /// JSON view for the ctl socket.
    pub fn view(&self) -> serde_json::Value {
        serde_json::json!({
            "esi_id": self.esi_id.0,
            "port": self.port,
            "link": self.link.as_str(),
            "since": format_rfc3339(self.since),
            "last_frame": self.last_frame.map(format_rfc3339),
            "last_heartbeat": self.last_heartbeat.map(format_rfc3339),
            "sessions": self.sessions,
            "last_error": self.last_error,
            "serial_errors": self.serial_errors,
            "firmware": self.firmware,
            "capacity": self.capacity,
            "esi_eui64": self.esi_eui64.map(eui_text),
            "slots_used": self.slots_used,
            "devices_paired": self.devices_paired,
            "power": self.status.power_text(),
            "switch": self.status.switch_text(),
        })
    }
}

/// Health of every ESI of the gateway.
#[derive(Debug, Clone, Default)]
pub struct HealthMap(Arc<RwLock<BTreeMap<EsiId, EsiHealth>>>);

impl HealthMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&self, h: EsiHealth) {
        if let Ok(mut m) = self.0.write() {
            m.insert(h.esi_id.clone(), h);
        }
    }

    /// A copy of one ESI's health.
    pub fn get(&self, esi: &EsiId) -> Option<EsiHealth> {
        self.0.read().ok()?.get(esi).cloned()
    }

    /// Copies of all.
    pub fn all(&self) -> Vec<EsiHealth> {
        self.0.read().map(|m| m.values().cloned().collect()).unwrap_or_default()
    }

    /// Changes one ESI's health in place; returns what `f` returns.
    pub fn update<T>(&self, esi: &EsiId, f: impl FnOnce(&mut EsiHealth) -> T) -> Option<T> {
        let mut m = self.0.write().ok()?;
        m.get_mut(esi).map(f)
    }

    /// Sets the link status (and `since` when it changes).
    pub fn set_link(&self, esi: &EsiId, link: LinkStatus) {
        self.update(esi, |h| {
            if h.link != link {
                h.link = link;
                h.since = Timestamp::now();
            }
        });
    }
}
