//! Coordinator → host messages: [`Report`].

use super::types::{
    DeviceState, ErrorCode, ErrorDetail, Eui64, PowerState, ResultCode, SwitchState,
    MAX_ATTRIBUTE_VALUE_LEN, MAX_READ_ATTRIBUTES, MAX_SLOTS,
};
use super::Message;
use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

/// Everything the coordinator tells the host. Variant order is the wire tag: new variants are
/// only ever appended (see `docs/host-link.md`, versioning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Report {
    /// 0: the answer to a request as a whole (exactly one per request).
    Result(RequestResult),
    /// 1: one device's outcome for a fan-out request.
    DeliveryResult(DeliveryResult),
    /// 2: Messaging MessageConfirmation from a display.
    MessageConfirmed(MessageConfirmed),
    /// 3: DRLC ReportEventStatus from a device (received, started, opt-out, ...).
    EventStatus(EventStatus),
    /// 4: a device's provisioning state changed.
    DeviceEvent(DeviceEvent),
    /// 5: answer to `ListDevices`.
    DeviceList(DeviceList),
    /// 6: answer to `ReadMeter`, or an unsolicited reading.
    MeterReading(MeterReading),
    /// 7: answer to `GetStatus`, or a change of power or switch state.
    PowerSwitchStatus(PowerSwitchStatus),
    /// 8: periodic liveness and counters.
    Heartbeat(Heartbeat),
    /// 9: a fault not tied to one request.
    Error(ErrorReport),
}

impl Report {
    /// Number of variants: tags at or above this are from a newer protocol minor version.
    pub const VARIANTS: u32 = 10;
}

impl Message for Report {
    const KNOWN_VARIANTS: u32 = Report::VARIANTS;
}

/// `Result { request_id, code }`, plus what the host needs right away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct RequestResult {
    pub request_id: u32,
    pub code: ResultCode,
    pub detail: ResultDetail,
}

/// Extra data in a [`RequestResult`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum ResultDetail {
    None,
    /// `AddDevice` accepted: the slot taken and how many are left (design.md §7
    /// `device/provision`); with `SLOTS_FULL`: slot 0xFF and 0 free, capacity is in the Hello.
    Slot {
        slot: u8,
        slots_free: u8,
    },
    /// Fan-out accepted: this many `DeliveryResult`s will follow.
    Deliveries {
        count: u8,
    },
}

/// One device's outcome for a fan-out request (design.md §4 delivery states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct DeliveryResult {
    pub request_id: u32,
    pub eui64: Eui64,
    pub outcome: DeliveryOutcome,
}

/// How a unicast to one device ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum DeliveryOutcome {
    /// APS acknowledgement received (the command had Disable Default Response set).
    ApsAcked,
    /// The device answered with a ZCL Default Response carrying this status (0x00 SUCCESS,
    /// 0x81 UNSUP_CLUSTER_COMMAND, ...; se10.md §1.6).
    ZclStatus(u8),
    /// No acknowledgement after `retries` retransmissions.
    Timeout { retries: u8 },
    /// The radio reported a failure (APS/NWK status) for the last of `retries` retransmissions.
    ApsFailed { status: u8, retries: u8 },
    /// Not sent: the device is not paired (not in the slot table, or not yet through key
    /// establishment). The gateway reports such a delivery as `undeliverable`.
    NotPaired,
    /// Not (re)sent: the device was removed while the delivery was pending.
    DeviceRemoved,
    /// Not (re)sent: the price, message or event was replaced, cancelled or expired first.
    Superseded,
}

/// Messaging MessageConfirmation (SE 1.0 §D.5.3.3.2; se10.md §5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct MessageConfirmed {
    pub message_id: u32,
    pub eui64: Eui64,
    /// UTCTime the user confirmed.
    pub confirmation_time: u32,
}

/// DRLC ReportEventStatus (SE 1.0 §D.2.3.3.1; se10.md §4.5) fields 1–9, from `eui64`.
/// The signature (fields 10–11) stays on the coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct EventStatus {
    pub issuer_event_id: u32,
    pub eui64: Eui64,
    /// se10.md §4.6: 0x01 received, 0x02 started, 0x03 completed, 0x04 opt-out, 0x05 opt-in,
    /// 0x06 cancelled, 0x07 superseded, 0xF8–0xFE rejected.
    pub event_status: u8,
    pub event_status_time: u32,
    pub criticality_level_applied: u8,
    pub cooling_temperature_set_point_applied: i16,
    pub heating_temperature_set_point_applied: i16,
    pub average_load_adjustment_percentage_applied: i8,
    pub duty_cycle_applied: u8,
    pub event_control: u8,
}

impl EventStatus {
    /// Event Status "user has chosen to opt out" (forwarded at once, BR-053.006).
    pub const OPT_OUT: u8 = 0x04;
}

/// A device's provisioning state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct DeviceEvent {
    pub eui64: Eui64,
    /// One of `JOINED`, `KEY_ESTABLISHED`, `LEFT`, `UNPAIRED`, `JOIN_WINDOW_EXPIRED`.
    pub state: DeviceState,
}

/// Answer to `ListDevices`: every occupied slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct DeviceList {
    pub request_id: u32,
    /// Number of slots on this ESI.
    pub capacity: u8,
    pub entries: heapless::Vec<DeviceEntry, MAX_SLOTS>,
}

/// One occupied slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct DeviceEntry {
    pub slot: u8,
    pub eui64: Eui64,
    pub state: DeviceState,
    /// UTCTime of the last frame from the device; 0 = never.
    pub last_seen: u32,
    /// Link quality of that frame (0–255).
    pub lqi: u8,
    /// `PENDING`: UTCTime the join window closes; otherwise 0.
    pub join_deadline: u32,
}

/// Metering attributes read from the ESI (design.md §6). Raw values; the host scales them with
/// the formatting attributes (Multiplier 0x0301, Divisor 0x0302, SummationFormatting 0x0303).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct MeterReading {
    /// The `ReadMeter` this answers, or `None` for an unsolicited reading.
    pub request_id: Option<u32>,
    /// UTCTime of the reading (0 if the clock is not set).
    pub timestamp: u32,
    pub records: heapless::Vec<AttributeRecord, MAX_READ_ATTRIBUTES>,
}

/// One attribute in a [`MeterReading`], shaped like a ZCL Read Attributes Response record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct AttributeRecord {
    pub attribute_id: u16,
    /// ZCL status: 0x00 SUCCESS; otherwise (e.g. 0x86 UNSUPPORTED_ATTRIBUTE) the value is
    /// missing — which is not the same as zero (BR-001.002).
    pub status: u8,
    /// ZCL data type id (se10.md §1.5), e.g. 0x25 uint48.
    pub data_type: u8,
    /// Value bytes as on the air (little-endian), empty unless `status` is SUCCESS.
    pub value: heapless::Vec<u8, MAX_ATTRIBUTE_VALUE_LEN>,
}

/// Premises power and service switch (BR-006.003, BR-006.015).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct PowerSwitchStatus {
    /// The `GetStatus` this answers, or `None` for a change report.
    pub request_id: Option<u32>,
    pub power: PowerState,
    pub switch: SwitchState,
    /// UTCTime the state was read (0 if the clock is not set).
    pub at: u32,
}

/// Periodic liveness report; normally sent unreliably (`send_unreliable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Heartbeat {
    /// Seconds since the coordinator started.
    pub uptime_s: u32,
    /// The coordinator's UTCTime, 0 if not set.
    pub utc: u32,
    pub counters: HeartbeatCounters,
}

/// Counters in a [`Heartbeat`]; all wrap at 2³².
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, MaxSize)]
pub struct HeartbeatCounters {
    /// Host-link frames received intact / CRC or COBS failures / retransmissions made.
    pub link_frames_rx: u32,
    pub link_errors: u32,
    pub link_retransmissions: u32,
    /// APS data requests sent / acknowledged / failed after retries.
    pub aps_tx: u32,
    pub aps_acked: u32,
    pub aps_failed: u32,
    /// Slots occupied (any state) / devices with key established.
    pub slots_used: u8,
    pub devices_paired: u8,
}

/// A fault not tied to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct ErrorReport {
    pub code: ErrorCode,
    /// Short human-readable detail (no secrets, no key material).
    pub detail: ErrorDetail,
}
