//! Host → coordinator messages: a [`Request`] is a host-chosen `request_id` plus a [`Command`].
//!
//! SE fields keep their SE 1.0 names and wire meaning (times are UTCTime, seconds since
//! 2000-01-01 UTC, with 0 = "now" in start-time fields; "not used" values as in se10.md §10).
//! The coordinator fills in what only it knows (e.g. PublishPrice's Current Time).

use super::types::{
    Eui64, LinkKey, MessageText, RateLabel, RemoveReason, Targets, MAX_READ_ATTRIBUTES,
};
use super::Message;
use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

/// One host request. The coordinator answers every request with exactly one
/// [`Report::Result`](super::Report::Result) carrying the same `request_id`; fan-out commands
/// are then followed by per-device `DeliveryResult`s, and `ListDevices` / `ReadMeter` /
/// `GetStatus` by their data report (also carrying the `request_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct Request {
    /// Chosen by the host, echoed in every report about this request.
    pub request_id: u32,
    pub command: Command,
}

/// What the host asks the coordinator to do. Variant order is the wire tag: new variants are
/// only ever appended (see `docs/host-link.md`, versioning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub enum Command {
    /// 0: reserve a slot and load the trust-centre link key; open the join window.
    AddDevice(AddDevice),
    /// 1: tell the device to leave, erase its key, free its slot.
    RemoveDevice(RemoveDevice),
    /// 2: answer with a `DeviceList`.
    ListDevices,
    /// 3: Price cluster PublishPrice to the targets, and store it for GetCurrentPrice.
    PublishPrice(PublishPrice),
    /// 4: Messaging DisplayMessage.
    DisplayMessage(DisplayMessage),
    /// 5: Messaging CancelMessage.
    CancelMessage(CancelMessage),
    /// 6: DRLC LoadControlEvent.
    LoadControlEvent(LoadControlEvent),
    /// 7: DRLC CancelLoadControlEvent.
    CancelLoadControlEvent(CancelLoadControlEvent),
    /// 8: DRLC CancelAllLoadControlEvents.
    CancelAllLoadControlEvents(CancelAllLoadControlEvents),
    /// 9: read Metering attributes from the ESI's own metrology; answered by `MeterReading`.
    ReadMeter(ReadMeter),
    /// 10: premises power and service-switch status; answered by `PowerSwitchStatus`.
    GetStatus,
    /// 11: set the coordinator's Time-cluster clock (it is the network time master).
    SetTime(SetTime),
    /// 12: restart the coordinator (state in non-volatile storage survives; the link
    /// re-handshakes).
    Reset,
}

impl Command {
    /// Number of variants: tags at or above this are from a newer protocol minor version.
    pub const VARIANTS: u32 = 13;
}

impl Message for Request {
    const KNOWN_VARIANTS: u32 = Command::VARIANTS;

    fn variant_tag(encoded: &[u8]) -> Option<u32> {
        // request_id (varint u32), then the Command tag (varint).
        let (_, rest) = postcard::take_from_bytes::<u32>(encoded).ok()?;
        postcard::take_from_bytes::<u32>(rest).ok().map(|(tag, _)| tag)
    }
}

/// Provisioning (design.md §5, BR-068): the host has checked the install code's CRC and
/// derived the link key (AES-MMO of install code + CRC, se10.md §8.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct AddDevice {
    pub eui64: Eui64,
    /// Never printed by `Debug`.
    pub link_key: LinkKey,
    /// How long the device may take to join, in seconds (design.md §5: 60 s – 30 days,
    /// default 24 h). Out of range → `INVALID_FIELD`.
    pub join_window_s: u32,
}

impl AddDevice {
    pub const MIN_JOIN_WINDOW_S: u32 = 60;
    pub const MAX_JOIN_WINDOW_S: u32 = 30 * 24 * 3600;
    pub const DEFAULT_JOIN_WINDOW_S: u32 = 24 * 3600;
}

/// De-provisioning (BR-081, BR-084).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct RemoveDevice {
    pub eui64: Eui64,
    pub reason: RemoveReason,
}

/// PublishPrice (SE 1.0 §D.4.2.4.1; se10.md §3.4) fields 1–3 and 5–17; field 4 (Current Time)
/// is the coordinator's clock at sending. Fields 12–17 carry their "not used" values
/// (0xFF / 0xFFFFFFFF) when unknown; the coordinator sends fields 15–17 only to clients known
/// to speak SE 1.1 or later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct PublishPrice {
    pub provider_id: u32,
    pub rate_label: RateLabel,
    /// Larger = newer for the same period.
    pub issuer_event_id: u32,
    /// Metering UnitOfMeasure enum (se10.md §6.6), e.g. 0x00 = kWh.
    pub unit_of_measure: u8,
    /// ISO 4217 numeric code, e.g. 840 = USD.
    pub currency: u16,
    /// Bits 7–4 trailing digits of `price`, bits 3–0 price tier.
    pub price_trailing_digit_and_price_tier: u8,
    /// Bits 7–4 number of price tiers, bits 3–0 register tier.
    pub number_of_price_tiers_and_register_tier: u8,
    /// 0 = now.
    pub start_time: u32,
    /// 0xFFFF = until changed.
    pub duration_in_minutes: u16,
    pub price: u32,
    /// ×0.1; 0xFF = not used.
    pub price_ratio: u8,
    /// 0xFFFFFFFF = not used.
    pub generation_price: u32,
    /// ×0.1; 0xFF = not used.
    pub generation_price_ratio: u8,
    /// 0xFFFFFFFF = not used.
    pub alternate_cost_delivered: u32,
    /// 0xFF = not used.
    pub alternate_cost_unit: u8,
    /// Bits 7–4 trailing digits of `alternate_cost_delivered`.
    pub alternate_cost_trailing_digit: u8,
    pub targets: Targets,
}

/// DisplayMessage (SE 1.0 §D.5.2.3.1; se10.md §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct DisplayMessage {
    pub message_id: u32,
    /// Message Control bitmap (se10.md §5.3): transmission, importance, confirmation required.
    pub message_control: u8,
    /// 0 = now.
    pub start_time: u32,
    /// 0xFFFF = until changed.
    pub duration_in_minutes: u16,
    pub message: MessageText,
    pub targets: Targets,
}

/// CancelMessage (SE 1.0 §D.5.2.3.2; se10.md §5.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct CancelMessage {
    pub message_id: u32,
    pub message_control: u8,
    pub targets: Targets,
}

/// LoadControlEvent (SE 1.0 §D.2.2.3.1; se10.md §4.2). All 13 fields; "not used" values as
/// in the spec table (0xFF, 0x8000, 0x80).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct LoadControlEvent {
    pub issuer_event_id: u32,
    /// Device Class bitmap16 (se10.md §4.7).
    pub device_class: u16,
    /// 0 = all groups.
    pub utility_enrollment_group: u8,
    /// 0 = now.
    pub start_time: u32,
    /// At most 1440.
    pub duration_in_minutes: u16,
    /// 0x01–0x0F (se10.md §4.8).
    pub criticality_level: u8,
    pub cooling_temperature_offset: u8,
    pub heating_temperature_offset: u8,
    pub cooling_temperature_set_point: i16,
    pub heating_temperature_set_point: i16,
    pub average_load_adjustment_percentage: i8,
    pub duty_cycle: u8,
    /// Bit 0 randomize start, bit 1 randomize end.
    pub event_control: u8,
    pub targets: Targets,
}

/// CancelLoadControlEvent (SE 1.0 §D.2.2.3.2; se10.md §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct CancelLoadControlEvent {
    pub issuer_event_id: u32,
    pub device_class: u16,
    pub utility_enrollment_group: u8,
    /// Bit 0 = terminate with randomization.
    pub cancel_control: u8,
    /// 0 = now.
    pub effective_time: u32,
    pub targets: Targets,
}

/// CancelAllLoadControlEvents (SE 1.0 §D.2.2.3.3; se10.md §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct CancelAllLoadControlEvents {
    pub cancel_control: u8,
    pub targets: Targets,
}

/// Read attributes of the ESI's Metering server (se10.md §6), e.g. 0x0000
/// CurrentSummationDelivered, 0x0200 Status, 0x0300–0x0306 formatting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct ReadMeter {
    pub attribute_ids: heapless::Vec<u16, MAX_READ_ATTRIBUTES>,
}

/// Set the Time cluster's Time attribute (se10.md §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, MaxSize)]
pub struct SetTime {
    /// UTCTime: seconds since 2000-01-01 00:00:00 UTC.
    pub utc: u32,
}
