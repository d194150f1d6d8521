//! What the core receives from the radio (APS indications and confirms) and what it asks the
//! caller to do ([`Action`]): send an APS frame, tell the host something, or change the radio's
//! key table.

use super::clock::Instant;
use super::command::{CommandError, CommandOk, RemovalReason, RequestId};
use super::slot::{LinkKey, SlotState};
use zse::zcl::{ClusterId, Eui64, Status, UtcTime};

/// Maximum APS payload the core emits (one 802.15.4 frame; no APS fragmentation).
pub const APS_PAYLOAD_MAX: usize = 127;

/// The security an incoming APS frame was received with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApsSecurity {
    /// APS-layer encryption with the device's link key (required for SE clusters).
    LinkKey,
    /// NWK-layer security only.
    NetworkOnly,
    /// No security at all.
    None,
}

/// An APS data indication from the radio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApsIndication<'a> {
    pub src_short: u16,
    /// Present when the stack knows the source's EUI-64 (address table / NWK header).
    pub src_eui64: Option<Eui64>,
    pub src_endpoint: u8,
    pub dst_endpoint: u8,
    pub cluster: ClusterId,
    pub profile: u16,
    pub security: ApsSecurity,
    /// The frame was sent to a broadcast or group address: never answered with a Default
    /// Response (ZCL §2.4.12).
    pub broadcast: bool,
    pub lqi: Option<u8>,
    /// The ZCL frame (header + payload).
    pub payload: &'a [u8],
}

/// Tag of one APS data request, echoed by the radio's confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ApsHandle(pub u8);

/// APSDE-DATA.confirm status (0x00 = success; other values are the stack's, e.g. 0xA7 NO_ACK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ApsStatus(pub u8);

impl ApsStatus {
    pub const SUCCESS: Self = Self(0x00);
    pub const NO_ACK: Self = Self(0xA7);
}

/// An APS data request for the radio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApsFrame {
    pub dst_short: u16,
    pub dst_eui64: Eui64,
    pub src_endpoint: u8,
    pub dst_endpoint: u8,
    pub cluster: ClusterId,
    /// Always the SE profile 0x0109.
    pub profile: u16,
    /// The ZCL frame.
    pub payload: heapless::Vec<u8, APS_PAYLOAD_MAX>,
    pub ack_requested: bool,
    /// Encrypt with the device's APS link key (SE clusters).
    pub aps_encryption: bool,
    pub handle: ApsHandle,
}

/// Radio's answer to a device asking to join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinDecision {
    /// Let it in; transport the network key under this link key.
    Accept { link_key: LinkKey },
    /// Not provisioned, or the join window is closed.
    Refuse,
}

/// How one push to one device ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryOutcome {
    /// The radio confirmed the APS acknowledgement (and no error Default Response followed).
    ApsAcked,
    /// The device answered the command with a Default Response carrying this status (an error,
    /// or SUCCESS when it did not honour Disable Default Response).
    ZclDefaultResponse(Status),
    /// No confirm within the confirm timeout, `retries` retransmissions included.
    Timeout { retries: u8 },
    /// The radio reported a failure for the last attempt.
    ApsFailed { status: ApsStatus, retries: u8 },
    /// The device is not paired (not in the table, or not yet through key establishment).
    NotPaired,
    /// The device was removed while the delivery was pending.
    DeviceRemoved,
    /// The pushed object was replaced, cancelled or expired before it could be (re)sent.
    Superseded,
}

/// A provisioning state change of one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceEvent {
    Joined {
        short: u16,
    },
    KeyEstablished,
    Paired,
    Left,
    JoinWindowExpired,
    Removed {
        reason: RemovalReason,
    },
    /// A device that is not provisioned (or whose window closed) tried to join.
    JoinRefused {
        short: u16,
    },
}

/// One row of `ListDevices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceInfo {
    pub slot: u8,
    pub eui64: Eui64,
    pub state: SlotState,
    pub short: Option<u16>,
    pub join_deadline: Option<Instant>,
    pub last_seen: Option<Instant>,
    pub lqi: Option<u8>,
}

/// DRLC ReportEventStatus as received from a device (SE 1.0 §D.2.3.3.1; se10.md §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventStatusReport {
    pub issuer_event_id: u32,
    /// se10.md §4.6 (0x04 opt-out, 0x05 opt-in, ...).
    pub event_status: u8,
    pub event_status_time: UtcTime,
    pub criticality_level_applied: u8,
    pub cooling_temperature_set_point_applied: i16,
    pub heating_temperature_set_point_applied: i16,
    pub average_load_adjustment_percentage_applied: i8,
    pub duty_cycle_applied: u8,
    pub event_control: u8,
    pub signature_type: u8,
}

/// Mains power as the meter sees it (Metering Status bit 3, Power Failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PowerState {
    On,
    Off,
}

/// Service switch (Metering Status bit 6, Service Disconnect Open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SwitchState {
    Closed,
    Open,
}

/// Something the host should hear about.
// Returned by value and never stored by the core, so the size of the largest variant (a meter
// reading or the status) costs nothing at rest.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The terminal result of a host command (exactly one per command).
    CommandResult {
        request_id: RequestId,
        result: Result<CommandOk, CommandError>,
    },
    /// One device of a `ListDevices` answer (precedes its `CommandResult`).
    DeviceInfo {
        request_id: RequestId,
        device: DeviceInfo,
    },
    /// The terminal result of one push to one device (exactly one per delivery).
    DeliveryResult {
        request_id: RequestId,
        eui64: Eui64,
        outcome: DeliveryOutcome,
    },
    /// A display sent MessageConfirmation (se10.md §5.6).
    MessageConfirmed {
        eui64: Eui64,
        message_id: u32,
        confirmation_time: UtcTime,
    },
    /// A device sent ReportEventStatus; forwarded at once (opt-out is High priority, BR-053.006).
    EventStatus {
        eui64: Eui64,
        report: EventStatusReport,
    },
    DeviceState {
        eui64: Eui64,
        event: DeviceEvent,
    },
    /// The meter's power or switch state changed (or was first observed).
    PowerSwitchStatus {
        power: PowerState,
        switch: SwitchState,
        at: Option<UtcTime>,
    },
}

/// Something the caller must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    SendAps(ApsFrame),
    Host(Outcome),
    /// Ask the device to leave the network (NWK Leave / ZDO Mgmt_Leave).
    Leave {
        eui64: Eui64,
        short: Option<u16>,
    },
    /// Put the device's link key into the radio's trust-centre key table.
    InstallKey {
        eui64: Eui64,
        key: LinkKey,
    },
    /// Remove the device's key from the radio's key table.
    EraseKey {
        eui64: Eui64,
    },
}
