//! The EmberZNet Serial Protocol (Silicon Labs UG100), protocol versions 8 to 13.
//!
//! * [`header`]: legacy and extended headers.
//! * [`types`]: data types, statuses, the bounds-checked [`types::Reader`].
//! * [`command`]: host → NCP commands ([`Command`]).
//! * [`response`]: NCP → host responses ([`Response`]) and callbacks ([`Callback`]).
//!
//! Version negotiation (UG100 §2): the host's first command is `version` in the legacy header
//! with the protocol version it wants; the NCP answers with the version it speaks. If they
//! differ, the host either switches to the NCP's version and sends `version` again (now in the
//! extended header), or gives up. This crate speaks [`MIN_VERSION`]..=[`MAX_VERSION`]; the
//! layouts it types are the same across that range except `addTransientLinkKey` (v8–v12) and
//! `importTransientKey` (v12 and up). v14 changed most statuses to 32-bit `sl_status_t` and is
//! not typed here.

pub mod command;
pub mod header;
pub mod response;
pub mod types;

#[cfg(test)]
mod tests;

pub use command::{Command, SendUnicast};
pub use header::{CallbackType, Format, Header};
pub use response::{Callback, IncomingMessage, MessageSent, NcpFrame, Response};
pub use types::{
    ApsFrame, DeviceUpdate, EmberStatus, Error, Eui64, EzspStatus, InitialSecurityState,
    JoinDecision, Key, NetworkParameters, NetworkStatus, NodeType, SlStatus,
};

/// Oldest protocol version spoken (the first with the extended header).
pub const MIN_VERSION: u8 = 8;
/// Newest protocol version spoken.
pub const MAX_VERSION: u8 = 13;

/// `EzspStackType` of a ZigBee NCP (the `version` response's `stackType`).
pub const STACK_TYPE_MESH: u8 = 0x02;

/// Frame ids (UG100; cross-checked against bellows' command tables for v8–v13).
pub mod frame_id {
    pub const VERSION: u16 = 0x0000;
    pub const ADD_ENDPOINT: u16 = 0x0002;
    pub const NOP: u16 = 0x0005;
    pub const GET_MFG_TOKEN: u16 = 0x000B;
    pub const NETWORK_INIT: u16 = 0x0017;
    pub const NETWORK_STATE: u16 = 0x0018;
    pub const STACK_STATUS_HANDLER: u16 = 0x0019;
    pub const FORM_NETWORK: u16 = 0x001E;
    pub const LEAVE_NETWORK: u16 = 0x0020;
    pub const PERMIT_JOINING: u16 = 0x0022;
    pub const CHILD_JOIN_HANDLER: u16 = 0x0023;
    pub const TRUST_CENTER_JOIN_HANDLER: u16 = 0x0024;
    pub const GET_EUI64: u16 = 0x0026;
    pub const GET_NODE_ID: u16 = 0x0027;
    pub const GET_NETWORK_PARAMETERS: u16 = 0x0028;
    pub const SEND_UNICAST: u16 = 0x0034;
    pub const MESSAGE_SENT_HANDLER: u16 = 0x003F;
    pub const INCOMING_MESSAGE_HANDLER: u16 = 0x0045;
    pub const GET_CONFIGURATION_VALUE: u16 = 0x0052;
    pub const SET_CONFIGURATION_VALUE: u16 = 0x0053;
    pub const SET_POLICY: u16 = 0x0055;
    pub const INVALID_COMMAND: u16 = 0x0058;
    pub const SET_INITIAL_SECURITY_STATE: u16 = 0x0068;
    pub const GET_CURRENT_SECURITY_STATE: u16 = 0x0069;
    pub const REMOVE_DEVICE: u16 = 0x00A8;
    pub const GET_VALUE: u16 = 0x00AA;
    pub const SET_VALUE: u16 = 0x00AB;
    pub const ADD_TRANSIENT_LINK_KEY: u16 = 0x00AF;
    pub const IMPORT_TRANSIENT_KEY: u16 = 0x0111;
}

/// `EzspValueId::VALUE_VERSION_INFO`: build u16, major, minor, patch, special.
pub const VALUE_VERSION_INFO: u8 = 0x11;
/// `EzspMfgTokenId::MFG_STRING` and `MFG_BOARD_NAME`.
pub const MFG_STRING: u8 = 0x01;
pub const MFG_BOARD_NAME: u8 = 0x02;

/// Whether `version` speaks `frame_id` (for the frames typed here).
pub fn in_version(frame_id: u16, version: u8) -> bool {
    match frame_id {
        frame_id::ADD_TRANSIENT_LINK_KEY => (MIN_VERSION..=12).contains(&version),
        frame_id::IMPORT_TRANSIENT_KEY => (12..=MAX_VERSION).contains(&version),
        _ => (MIN_VERSION..=MAX_VERSION).contains(&version),
    }
}
