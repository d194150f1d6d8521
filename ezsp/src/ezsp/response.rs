//! NCP → host frames: responses to commands and callbacks (unsolicited on a UART NCP, marked
//! asynchronous in the frame control).

use super::header::{CallbackType, Header};
use super::types::{
    ApsFrame, DeviceUpdate, EmberStatus, Error, Eui64, EzspStatus, JoinDecision, NetworkParameters,
    NetworkStatus, NodeType, Reader, SlStatus, Writer,
};
use super::{frame_id as id, in_version};
use alloc::vec::Vec;

/// A response to one [`super::Command`] (same frame id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Version {
        protocol: u8,
        stack_type: u8,
        stack_version: u16,
    },
    Nop,
    GetConfigurationValue {
        status: EzspStatus,
        value: u16,
    },
    SetConfigurationValue {
        status: EzspStatus,
    },
    GetValue {
        status: EzspStatus,
        value: Vec<u8>,
    },
    SetValue {
        status: EzspStatus,
    },
    SetPolicy {
        status: EzspStatus,
    },
    AddEndpoint {
        status: EzspStatus,
    },
    GetMfgToken {
        data: Vec<u8>,
    },
    NetworkInit {
        status: EmberStatus,
    },
    NetworkState {
        status: NetworkStatus,
    },
    FormNetwork {
        status: EmberStatus,
    },
    LeaveNetwork {
        status: EmberStatus,
    },
    GetNetworkParameters {
        status: EmberStatus,
        node_type: NodeType,
        parameters: NetworkParameters,
    },
    SetInitialSecurityState {
        status: EmberStatus,
    },
    GetCurrentSecurityState {
        status: EmberStatus,
        bitmask: u16,
        trust_center: Eui64,
    },
    AddTransientLinkKey {
        status: EmberStatus,
    },
    ImportTransientKey {
        status: SlStatus,
    },
    PermitJoining {
        status: EmberStatus,
    },
    RemoveDevice {
        status: EmberStatus,
    },
    SendUnicast {
        status: EmberStatus,
        sequence: u8,
    },
    GetEui64 {
        eui64: Eui64,
    },
    GetNodeId {
        node_id: u16,
    },
    /// The NCP could not process a command (its frame id is not echoed: match by sequence).
    InvalidCommand {
        status: EzspStatus,
    },
}

/// `messageSentHandler`: how an APS unicast ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageSent {
    pub kind: u8,
    pub destination: u16,
    pub aps: ApsFrame,
    pub tag: u8,
    /// SUCCESS when the APS acknowledgement arrived (when one was asked for).
    pub status: EmberStatus,
    pub message: Vec<u8>,
}

/// `incomingMessageHandler`: an APS frame for one of the NCP's endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IncomingMessage {
    /// `EmberIncomingMessageType`.
    pub kind: u8,
    pub aps: ApsFrame,
    pub last_hop_lqi: u8,
    pub last_hop_rssi: i8,
    pub sender: u16,
    pub binding_index: u8,
    pub address_index: u8,
    pub message: Vec<u8>,
}

/// A callback the NCP raises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    StackStatus {
        status: EmberStatus,
    },
    ChildJoin {
        index: u8,
        joining: bool,
        child_id: u16,
        child_eui64: Eui64,
        child_type: NodeType,
    },
    TrustCenterJoin {
        node_id: u16,
        eui64: Eui64,
        status: DeviceUpdate,
        decision: JoinDecision,
        parent: u16,
    },
    MessageSent(MessageSent),
    IncomingMessage(IncomingMessage),
}

impl Response {
    pub fn frame_id(&self) -> u16 {
        match self {
            Self::Version { .. } => id::VERSION,
            Self::Nop => id::NOP,
            Self::GetConfigurationValue { .. } => id::GET_CONFIGURATION_VALUE,
            Self::SetConfigurationValue { .. } => id::SET_CONFIGURATION_VALUE,
            Self::GetValue { .. } => id::GET_VALUE,
            Self::SetValue { .. } => id::SET_VALUE,
            Self::SetPolicy { .. } => id::SET_POLICY,
            Self::AddEndpoint { .. } => id::ADD_ENDPOINT,
            Self::GetMfgToken { .. } => id::GET_MFG_TOKEN,
            Self::NetworkInit { .. } => id::NETWORK_INIT,
            Self::NetworkState { .. } => id::NETWORK_STATE,
            Self::FormNetwork { .. } => id::FORM_NETWORK,
            Self::LeaveNetwork { .. } => id::LEAVE_NETWORK,
            Self::GetNetworkParameters { .. } => id::GET_NETWORK_PARAMETERS,
            Self::SetInitialSecurityState { .. } => id::SET_INITIAL_SECURITY_STATE,
            Self::GetCurrentSecurityState { .. } => id::GET_CURRENT_SECURITY_STATE,
            Self::AddTransientLinkKey { .. } => id::ADD_TRANSIENT_LINK_KEY,
            Self::ImportTransientKey { .. } => id::IMPORT_TRANSIENT_KEY,
            Self::PermitJoining { .. } => id::PERMIT_JOINING,
            Self::SendUnicast { .. } => id::SEND_UNICAST,
            Self::RemoveDevice { .. } => id::REMOVE_DEVICE,
            Self::GetEui64 { .. } => id::GET_EUI64,
            Self::GetNodeId { .. } => id::GET_NODE_ID,
            Self::InvalidCommand { .. } => id::INVALID_COMMAND,
        }
    }

    fn read(frame_id: u16, r: &mut Reader<'_>) -> Result<Option<Self>, Error> {
        let ember = |r: &mut Reader<'_>| r.u8().map(EmberStatus);
        let ezsp = |r: &mut Reader<'_>| r.u8().map(EzspStatus);
        Ok(Some(match frame_id {
            id::VERSION => {
                Self::Version { protocol: r.u8()?, stack_type: r.u8()?, stack_version: r.u16()? }
            }
            id::NOP => Self::Nop,
            id::GET_CONFIGURATION_VALUE => {
                Self::GetConfigurationValue { status: ezsp(r)?, value: r.u16()? }
            }
            id::SET_CONFIGURATION_VALUE => Self::SetConfigurationValue { status: ezsp(r)? },
            id::GET_VALUE => Self::GetValue { status: ezsp(r)?, value: r.lv_bytes()? },
            id::SET_VALUE => Self::SetValue { status: ezsp(r)? },
            id::SET_POLICY => Self::SetPolicy { status: ezsp(r)? },
            id::ADD_ENDPOINT => Self::AddEndpoint { status: ezsp(r)? },
            id::GET_MFG_TOKEN => Self::GetMfgToken { data: r.lv_bytes()? },
            id::NETWORK_INIT => Self::NetworkInit { status: ember(r)? },
            id::NETWORK_STATE => Self::NetworkState { status: NetworkStatus(r.u8()?) },
            id::FORM_NETWORK => Self::FormNetwork { status: ember(r)? },
            id::LEAVE_NETWORK => Self::LeaveNetwork { status: ember(r)? },
            id::GET_NETWORK_PARAMETERS => Self::GetNetworkParameters {
                status: ember(r)?,
                node_type: NodeType(r.u8()?),
                parameters: NetworkParameters::read(r)?,
            },
            id::SET_INITIAL_SECURITY_STATE => Self::SetInitialSecurityState { status: ember(r)? },
            id::GET_CURRENT_SECURITY_STATE => Self::GetCurrentSecurityState {
                status: ember(r)?,
                bitmask: r.u16()?,
                trust_center: r.eui64()?,
            },
            id::ADD_TRANSIENT_LINK_KEY => Self::AddTransientLinkKey { status: ember(r)? },
            id::IMPORT_TRANSIENT_KEY => Self::ImportTransientKey { status: SlStatus(r.u32()?) },
            id::PERMIT_JOINING => Self::PermitJoining { status: ember(r)? },
            id::SEND_UNICAST => Self::SendUnicast { status: ember(r)?, sequence: r.u8()? },
            id::REMOVE_DEVICE => Self::RemoveDevice { status: ember(r)? },
            id::GET_EUI64 => Self::GetEui64 { eui64: r.eui64()? },
            id::GET_NODE_ID => Self::GetNodeId { node_id: r.u16()? },
            id::INVALID_COMMAND => Self::InvalidCommand { status: ezsp(r)? },
            _ => return Ok(None),
        }))
    }

    pub fn emit_params(&self, w: &mut Vec<u8>) {
        match self {
            Self::Version { protocol, stack_type, stack_version } => {
                w.put_u8(*protocol);
                w.put_u8(*stack_type);
                w.put_u16(*stack_version);
            }
            Self::Nop => {}
            Self::GetConfigurationValue { status, value } => {
                w.put_u8(status.0);
                w.put_u16(*value);
            }
            Self::SetConfigurationValue { status }
            | Self::SetValue { status }
            | Self::SetPolicy { status }
            | Self::AddEndpoint { status }
            | Self::InvalidCommand { status } => w.put_u8(status.0),
            Self::GetValue { status, value } => {
                w.put_u8(status.0);
                w.put_lv(value);
            }
            Self::GetMfgToken { data } => w.put_lv(data),
            Self::NetworkInit { status }
            | Self::FormNetwork { status }
            | Self::LeaveNetwork { status }
            | Self::SetInitialSecurityState { status }
            | Self::AddTransientLinkKey { status }
            | Self::PermitJoining { status }
            | Self::RemoveDevice { status } => w.put_u8(status.0),
            Self::NetworkState { status } => w.put_u8(status.0),
            Self::GetNetworkParameters { status, node_type, parameters } => {
                w.put_u8(status.0);
                w.put_u8(node_type.0);
                parameters.write(w);
            }
            Self::GetCurrentSecurityState { status, bitmask, trust_center } => {
                w.put_u8(status.0);
                w.put_u16(*bitmask);
                w.extend_from_slice(&trust_center.0);
            }
            Self::ImportTransientKey { status } => w.put_u32(status.0),
            Self::SendUnicast { status, sequence } => {
                w.put_u8(status.0);
                w.put_u8(*sequence);
            }
            Self::GetEui64 { eui64 } => w.extend_from_slice(&eui64.0),
            Self::GetNodeId { node_id } => w.put_u16(*node_id),
        }
    }

    /// The whole frame. A `Version` response to a legacy `version` command is sent in the
    /// legacy header (`legacy`), as real NCPs do.
    pub fn encode(&self, sequence: u8, legacy: bool, out: &mut Vec<u8>) {
        let hdr = if legacy && matches!(self, Self::Version { .. }) {
            Header::legacy_version(sequence, true)
        } else {
            Header::response(sequence, self.frame_id(), CallbackType::None)
        };
        hdr.emit(out);
        self.emit_params(out);
    }
}

impl Callback {
    pub fn frame_id(&self) -> u16 {
        match self {
            Self::StackStatus { .. } => id::STACK_STATUS_HANDLER,
            Self::ChildJoin { .. } => id::CHILD_JOIN_HANDLER,
            Self::TrustCenterJoin { .. } => id::TRUST_CENTER_JOIN_HANDLER,
            Self::MessageSent(_) => id::MESSAGE_SENT_HANDLER,
            Self::IncomingMessage(_) => id::INCOMING_MESSAGE_HANDLER,
        }
    }

    fn read(frame_id: u16, r: &mut Reader<'_>) -> Result<Option<Self>, Error> {
        Ok(Some(match frame_id {
            id::STACK_STATUS_HANDLER => Self::StackStatus { status: EmberStatus(r.u8()?) },
            id::CHILD_JOIN_HANDLER => Self::ChildJoin {
                index: r.u8()?,
                joining: r.bool()?,
                child_id: r.u16()?,
                child_eui64: r.eui64()?,
                child_type: NodeType(r.u8()?),
            },
            id::TRUST_CENTER_JOIN_HANDLER => Self::TrustCenterJoin {
                node_id: r.u16()?,
                eui64: r.eui64()?,
                status: DeviceUpdate(r.u8()?),
                decision: JoinDecision(r.u8()?),
                parent: r.u16()?,
            },
            id::MESSAGE_SENT_HANDLER => Self::MessageSent(MessageSent {
                kind: r.u8()?,
                destination: r.u16()?,
                aps: ApsFrame::read(r)?,
                tag: r.u8()?,
                status: EmberStatus(r.u8()?),
                message: r.lv_bytes()?,
            }),
            id::INCOMING_MESSAGE_HANDLER => Self::IncomingMessage(IncomingMessage {
                kind: r.u8()?,
                aps: ApsFrame::read(r)?,
                last_hop_lqi: r.u8()?,
                last_hop_rssi: r.i8()?,
                sender: r.u16()?,
                binding_index: r.u8()?,
                address_index: r.u8()?,
                message: r.lv_bytes()?,
            }),
            _ => return Ok(None),
        }))
    }

    pub fn emit_params(&self, w: &mut Vec<u8>) {
        match self {
            Self::StackStatus { status } => w.put_u8(status.0),
            Self::ChildJoin { index, joining, child_id, child_eui64, child_type } => {
                w.put_u8(*index);
                w.put_u8(u8::from(*joining));
                w.put_u16(*child_id);
                w.extend_from_slice(&child_eui64.0);
                w.put_u8(child_type.0);
            }
            Self::TrustCenterJoin { node_id, eui64, status, decision, parent } => {
                w.put_u16(*node_id);
                w.extend_from_slice(&eui64.0);
                w.put_u8(status.0);
                w.put_u8(decision.0);
                w.put_u16(*parent);
            }
            Self::MessageSent(m) => {
                w.put_u8(m.kind);
                w.put_u16(m.destination);
                m.aps.write(w);
                w.put_u8(m.tag);
                w.put_u8(m.status.0);
                w.put_lv(&m.message);
            }
            Self::IncomingMessage(m) => {
                w.put_u8(m.kind);
                m.aps.write(w);
                w.put_u8(m.last_hop_lqi);
                w.put_u8(m.last_hop_rssi as u8);
                w.put_u16(m.sender);
                w.put_u8(m.binding_index);
                w.put_u8(m.address_index);
                w.put_lv(&m.message);
            }
        }
    }

    /// The whole frame (asynchronous callback; sequence as the NCP chooses, usually that of the
    /// last command).
    pub fn encode(&self, sequence: u8, out: &mut Vec<u8>) {
        Header::response(sequence, self.frame_id(), CallbackType::Async).emit(out);
        self.emit_params(out);
    }
}

/// Any frame from the NCP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NcpFrame {
    Response(Response),
    Callback(Callback),
}

impl NcpFrame {
    /// Parses a frame from an NCP speaking `version` (the legacy `version` response parses
    /// whatever `version` is).
    pub fn decode(version: u8, frame: &[u8]) -> Result<(Header, Self), Error> {
        let (hdr, params) = Header::parse(frame)?;
        if !hdr.is_response() {
            return Err(Error::BadValue { offset: 1 });
        }
        let fid = hdr.frame_id;
        if fid != id::VERSION && fid != id::INVALID_COMMAND && !in_version(fid, version) {
            return Err(Error::NotInVersion { frame_id: fid, version });
        }
        let mut r = Reader::new(params, hdr.len());
        let f = if let Some(resp) = Response::read(fid, &mut r)? {
            Self::Response(resp)
        } else if let Some(cb) = Callback::read(fid, &mut r)? {
            Self::Callback(cb)
        } else {
            return Err(Error::UnknownFrameId(fid));
        };
        r.finish()?;
        Ok((hdr, f))
    }
}
