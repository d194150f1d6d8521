//! Request and answer shapes of the operations (design.md §7 field names, JSON snake_case).
//!
//! Requests keep loosely typed fields (`Option<String>` for enumerations and times) so that
//! validation in [`super`] can answer with a typed error naming the field, rather than a serde
//! message. The same shapes travel over the ctl socket and, later, MQTT.

use serde::{Deserialize, Serialize};

use crate::model::{Delivery, DeviceRecord};

use super::time::format_rfc3339;
use super::util::eui_text;

/// Who receives a request: ESIs by id or a named group, optionally narrowed to devices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub esi_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// EUI-64 filter (16 hex digits, separators accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<String>>,
}

/// `message/send`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessage {
    #[serde(flatten)]
    pub targets: Targets,
    /// `high` / `medium` / `low` (default `medium`).
    #[serde(default)]
    pub priority: Option<String>,
    pub text: String,
    /// `low` / `medium` / `high` / `critical` (default `medium`).
    #[serde(default)]
    pub importance: Option<String>,
    #[serde(default)]
    pub confirmation_required: bool,
    /// RFC 3339 or `now` (default).
    #[serde(default)]
    pub start_time: Option<String>,
    /// Absent = until changed.
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    #[serde(default)]
    pub transaction: Option<String>,
}

/// `price/publish` (PublishPrice fields, se10.md §3.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishPrice {
    #[serde(flatten)]
    pub targets: Targets,
    #[serde(default)]
    pub priority: Option<String>,
    pub provider_id: u32,
    #[serde(default)]
    pub rate_label: String,
    /// Metering UnitOfMeasure (0 = kWh).
    #[serde(default)]
    pub unit_of_measure: u8,
    /// ISO 4217 numeric (840 = USD).
    pub currency: u16,
    pub price: u32,
    #[serde(default)]
    pub price_trailing_digit: u8,
    #[serde(default)]
    pub price_tier: u8,
    #[serde(default)]
    pub number_of_price_tiers: u8,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    /// Assigned if absent.
    #[serde(default)]
    pub issuer_event_id: Option<u32>,
    #[serde(default)]
    pub transaction: Option<String>,
}

/// `drlc/event` (LoadControlEvent, se10.md §4.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrEvent {
    #[serde(flatten)]
    pub targets: Targets,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub issuer_event_id: Option<u32>,
    /// Device class names (se10.md §4.7), e.g. `hvac`, `water_heater`, `smart_appliance`.
    pub device_classes: Vec<String>,
    #[serde(default)]
    pub utility_enrollment_group: u8,
    #[serde(default)]
    pub start_time: Option<String>,
    pub duration_minutes: u32,
    /// 1–15 (se10.md §4.8).
    pub criticality: u8,
    #[serde(default)]
    pub cooling_temperature_offset: Option<f32>,
    #[serde(default)]
    pub heating_temperature_offset: Option<f32>,
    #[serde(default)]
    pub cooling_temperature_set_point: Option<f32>,
    #[serde(default)]
    pub heating_temperature_set_point: Option<f32>,
    #[serde(default)]
    pub average_load_adjustment_percentage: Option<i8>,
    #[serde(default)]
    pub duty_cycle: Option<u8>,
    #[serde(default)]
    pub randomize_start: bool,
    #[serde(default)]
    pub randomize_end: bool,
    #[serde(default)]
    pub transaction: Option<String>,
}

/// `drlc/cancel`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrCancel {
    #[serde(flatten)]
    pub targets: Targets,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub issuer_event_id: Option<u32>,
    #[serde(default)]
    pub all: bool,
    /// Device classes of the event (names); default all.
    #[serde(default)]
    pub device_classes: Option<Vec<String>>,
    #[serde(default)]
    pub utility_enrollment_group: u8,
    #[serde(default)]
    pub randomize_end: bool,
    /// RFC 3339 or `now` (default).
    #[serde(default)]
    pub effective_time: Option<String>,
    #[serde(default)]
    pub transaction: Option<String>,
}

/// `device/provision`. `Debug` leaves out the install code (a secret).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provision {
    pub esi_id: String,
    pub meter_number: String,
    pub eui64: String,
    /// Hex with or without CRC, or a label / QR string (never logged).
    pub install_code: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub join_window_minutes: Option<u32>,
}

impl std::fmt::Debug for Provision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provision")
            .field("esi_id", &self.esi_id)
            .field("meter_number", &self.meter_number)
            .field("eui64", &self.eui64)
            .field("install_code", &"<redacted>")
            .field("label", &self.label)
            .field("join_window_minutes", &self.join_window_minutes)
            .finish()
    }
}

/// `device/deprovision`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deprovision {
    pub esi_id: String,
    pub eui64: String,
    /// Reason name (`customer_request`, `move_out`, …) or code (BR-084).
    pub reason: String,
}

/// One delivery as answered and reported (design.md §7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub delivery_id: u64,
    pub request_id: u64,
    pub esi_id: String,
    /// `0000000000000000` is the ESI itself (prices are stored on the ESI).
    pub eui64: String,
    pub state: String,
    pub retries: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        Self {
            delivery_id: d.id.0,
            request_id: d.request_id.0,
            esi_id: d.esi_id.0.clone(),
            eui64: eui_text(d.eui64),
            state: d.state.as_str().to_owned(),
            retries: d.retries,
            last_error: d.last_error.clone(),
            updated_at: format_rfc3339(d.updated_at),
            sent_at: d.sent_at.map(format_rfc3339),
        }
    }
}

/// Answer of `message/send`, `price/publish`, `drlc/*`, `message/cancel`, `message/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestAnswer {
    /// The request id; for messages also the SE Message ID.
    pub request_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_event_id: Option<u32>,
    pub kind: String,
    pub deliveries: Vec<DeliveryView>,
}

/// Answer of `device/provision`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provisioned {
    pub esi_id: String,
    pub eui64: String,
    pub state: String,
    pub slot: u8,
    pub slots_free: u8,
    pub join_deadline: String,
}

/// Answer of `device/deprovision`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deprovisioned {
    pub esi_id: String,
    pub eui64: String,
    pub state: String,
    pub reason: String,
}

/// One line of a bulk CSV operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineResult {
    /// 1-based line number in the file.
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eui64: Option<String>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::error::ApiError>,
}

/// One device in `device/list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    pub eui64: String,
    pub label: String,
    pub state: String,
    pub slot: Option<u8>,
    pub last_seen: Option<String>,
    pub lqi: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_deadline: Option<String>,
    pub updated_at: String,
}

impl From<&DeviceRecord> for DeviceView {
    fn from(d: &DeviceRecord) -> Self {
        Self {
            eui64: eui_text(d.eui64),
            label: d.label.clone(),
            state: d.state.as_str().to_owned(),
            slot: d.slot,
            last_seen: d.last_seen.map(format_rfc3339),
            lqi: d.lqi,
            join_deadline: d.join_deadline.map(format_rfc3339),
            updated_at: format_rfc3339(d.updated_at),
        }
    }
}

/// `device/list` for one ESI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceListing {
    pub esi_id: String,
    pub capacity: Option<u8>,
    /// Devices holding a slot (every state but `expired`).
    pub provisioned: usize,
    /// Devices provisioned but not yet joined.
    pub pending: usize,
    pub slots_free: Option<u8>,
    pub devices: Vec<DeviceView>,
}

/// `meter/read`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeterRead {
    pub esi_id: String,
    /// kWh with three decimals, or `null` with `missing_reason` (missing is not zero).
    pub summation_delivered_kwh: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_reason: Option<String>,
    /// When the meter took the reading (the gateway's time when the meter's clock is unset).
    pub read_at: String,
    pub stale: bool,
}

/// `meter/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeterStatus {
    pub esi_id: String,
    /// `on` / `off` / `null` (unknown).
    pub power: Option<String>,
    /// `closed` / `open` / `armed` / `null` (unknown).
    pub switch: Option<String>,
    pub read_at: Option<String>,
    pub stale: bool,
    /// Coordinator link state: `online`, `resyncing`, `connecting`, `offline`.
    pub link: String,
}

/// A group (`group/*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    pub name: String,
    pub esi_ids: Vec<String>,
}
