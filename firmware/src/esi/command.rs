//! Host commands (what the gateway asks this ESI to do) and their terminal results.
//!
//! These are domain types, independent of the host-link encoding: the glue between the host-link
//! endpoint and the core maps frames to [`Command`] and [`super::Outcome`] back to frames. Every
//! command passed to `Esi::handle_command` ends in exactly one `Outcome::CommandResult` carrying
//! its [`RequestId`]; commands that push frames to devices additionally end each per-device
//! delivery in exactly one `Outcome::DeliveryResult`.

use super::clock::TimeSetting;
use super::slot::LinkKey;
use zse::zcl::{Eui64, UtcTime};

/// The host's correlation id for a command, echoed in its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RequestId(pub u32);

/// Why a device is removed (BR-084 reason code; opaque to the core, reported back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RemovalReason(pub u8);

/// Which devices a push goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets<'a> {
    /// Every device in state Paired.
    AllPaired,
    /// These devices (duplicates ignored). A listed device that is not paired ends its delivery
    /// at once with `DeliveryOutcome::NotPaired`.
    Devices(&'a [Eui64]),
}

/// PublishPrice from the host (SE 1.0 §D.4.2.4.1; se10.md §3.4). Values are raw wire values;
/// "not used" optional fields are 0xFF / 0xFFFFFFFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceCommand<'a> {
    pub provider_id: u32,
    /// At most 12 bytes.
    pub rate_label: &'a str,
    /// Larger = newer for an overlapping period (se10.md §10 "Price replacement").
    pub issuer_event_id: u32,
    pub unit_of_measure: u8,
    /// ISO 4217 numeric.
    pub currency: u16,
    /// 0–15 digits right of the decimal point.
    pub price_trailing_digit: u8,
    /// 0–15.
    pub price_tier: u8,
    /// 0–15.
    pub number_of_price_tiers: u8,
    /// 0–15.
    pub register_tier: u8,
    /// `UtcTime::NOW` = now.
    pub start_time: UtcTime,
    /// 0xFFFF = until changed.
    pub duration_in_minutes: u16,
    pub price: u32,
    pub price_ratio: u8,
    pub generation_price: u32,
    pub generation_price_ratio: u8,
}

/// DisplayMessage from the host (SE 1.0 §D.5.2.3.1; se10.md §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageCommand<'a> {
    pub message_id: u32,
    /// Message Control bitmap (importance bits 2–3, confirmation required bit 7).
    pub message_control: u8,
    /// `UtcTime::NOW` = now.
    pub start_time: UtcTime,
    /// 0xFFFF = until changed or cancelled.
    pub duration_in_minutes: u16,
    /// UTF-8, at most [`super::MESSAGE_MAX_LEN`] bytes.
    pub text: &'a str,
    pub targets: Targets<'a>,
}

/// LoadControlEvent from the host (SE 1.0 §D.2.2.3.1; se10.md §4.2). Raw wire values; "not used"
/// values as in se10.md (0xFF, 0x8000, 0x80).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadControlCommand<'a> {
    pub issuer_event_id: u32,
    /// Device Class bitmap (se10.md §4.7); must not be 0.
    pub device_class: u16,
    /// 0 = all groups.
    pub utility_enrollment_group: u8,
    /// `UtcTime::NOW` = now.
    pub start_time: UtcTime,
    /// 1..=1440.
    pub duration_in_minutes: u16,
    /// 0x01..=0x0F.
    pub criticality_level: u8,
    pub cooling_temperature_offset: u8,
    pub heating_temperature_offset: u8,
    pub cooling_temperature_set_point: i16,
    pub heating_temperature_set_point: i16,
    /// −100..=100, or −128 (0x80) = not used.
    pub average_load_adjustment_percentage: i8,
    /// 0..=100, or 0xFF = not used.
    pub duty_cycle: u8,
    /// Bit 0 randomize start, bit 1 randomize end.
    pub event_control: u8,
    pub targets: Targets<'a>,
}

/// A command from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// Reserve a slot and install the device's link key (design.md §5).
    AddDevice {
        eui64: Eui64,
        link_key: LinkKey,
        /// Seconds, 60 ..= 30 days.
        join_window_secs: u32,
    },
    /// Tell the device to leave, erase its key and free its slot.
    RemoveDevice {
        eui64: Eui64,
        reason: RemovalReason,
    },
    /// One `Outcome::DeviceInfo` per occupied slot, then the result.
    ListDevices,
    PublishPrice(PriceCommand<'a>),
    DisplayMessage(MessageCommand<'a>),
    CancelMessage {
        message_id: u32,
        targets: Targets<'a>,
    },
    LoadControlEvent(LoadControlCommand<'a>),
    CancelLoadControlEvent {
        issuer_event_id: u32,
        /// Bit 0 = terminate with randomization.
        cancel_control: u8,
        /// `UtcTime::NOW` = now.
        effective_time: UtcTime,
        targets: Targets<'a>,
    },
    CancelAllLoadControlEvents {
        cancel_control: u8,
        targets: Targets<'a>,
    },
    /// Read the ESI's own meter. An empty list reads summation, status and demand.
    ReadMeter {
        attributes: &'a [u16],
    },
    GetStatus,
    SetTime(TimeSetting),
}

impl Command<'_> {
    /// Short name, for logs.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::AddDevice { .. } => "AddDevice",
            Self::RemoveDevice { .. } => "RemoveDevice",
            Self::ListDevices => "ListDevices",
            Self::PublishPrice(_) => "PublishPrice",
            Self::DisplayMessage(_) => "DisplayMessage",
            Self::CancelMessage { .. } => "CancelMessage",
            Self::LoadControlEvent(_) => "LoadControlEvent",
            Self::CancelLoadControlEvent { .. } => "CancelLoadControlEvent",
            Self::CancelAllLoadControlEvents { .. } => "CancelAllLoadControlEvents",
            Self::ReadMeter { .. } => "ReadMeter",
            Self::GetStatus => "GetStatus",
            Self::SetTime(_) => "SetTime",
        }
    }
}

/// Why a command was refused. Each maps to one stable gateway error code (design.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandError {
    /// No free slot (BR-068.006). `occupants` = slots in use; `ListDevices` names them.
    SlotsFull { capacity: u8, occupants: u8 },
    /// The EUI-64 already has a slot.
    AlreadyProvisioned { slot: u8 },
    /// Join window outside 1 minute ..= 30 days.
    InvalidJoinWindow,
    /// Unknown device, message id or event id.
    NotFound,
    /// The command needs UTC and the host has not sent `SetTime`.
    TimeNotSet,
    /// Text longer than `max` bytes.
    TextTooLong { max: u8 },
    /// A field is outside its SE range; names the field.
    InvalidField(&'static str),
    /// The event's end time has already passed.
    Expired,
    /// An event with this issuer event id is already stored.
    DuplicateEvent,
    /// An overlapping price has an issuer event id ≥ this one (se10.md §10 "Price replacement").
    StaleIssuerEventId { stored: u32 },
    /// The event table is full.
    TableFull { capacity: u8 },
    /// Not enough free delivery entries for all recipients; retry later.
    Busy { in_flight: u8 },
    /// The meter attribute is not one the ESI serves.
    UnsupportedAttribute(u16),
}

/// What a successful command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOk {
    DeviceAdded {
        slot: u8,
        slots_free: u8,
    },
    DeviceRemoved {
        slot: u8,
    },
    /// Follows one `DeviceInfo` per occupied slot.
    DeviceList {
        capacity: u8,
        occupied: u8,
    },
    /// A push was accepted: `deliveries` `DeliveryResult`s will follow; `superseded` stored
    /// events were replaced by it.
    Accepted {
        deliveries: u8,
        superseded: u8,
    },
    MeterReading(super::metering::MeterReading),
    Status(super::EsiStatus),
    TimeSet,
}
