//! Host → NCP commands (UG100 chapters "Configuration Frames", "Networking Frames",
//! "Messaging Frames", "Security Frames").

use super::header::Header;
use super::types::{
    ApsFrame, Endpoint, Error, Eui64, InitialSecurityState, Key, NetworkParameters, Reader, Writer,
};
use super::{frame_id as id, in_version};
use alloc::vec::Vec;

/// `sendUnicast` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SendUnicast {
    /// `EmberOutgoingMessageType` ([`super::types::OUTGOING_DIRECT`]).
    pub kind: u8,
    /// Node id (direct) or table index.
    pub destination: u16,
    pub aps: ApsFrame,
    /// Echoed by `messageSentHandler`.
    pub tag: u8,
    pub message: Vec<u8>,
}

/// A command the host sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Version {
        desired: u8,
    },
    Nop,
    GetConfigurationValue {
        config_id: u8,
    },
    SetConfigurationValue {
        config_id: u8,
        value: u16,
    },
    GetValue {
        value_id: u8,
    },
    SetValue {
        value_id: u8,
        value: Vec<u8>,
    },
    SetPolicy {
        policy_id: u8,
        decision_id: u8,
    },
    AddEndpoint(Endpoint),
    GetMfgToken {
        token_id: u8,
    },
    /// `networkInit(EmberNetworkInitBitmask)`: resume the network stored in the NCP.
    NetworkInit {
        bitmask: u16,
    },
    NetworkState,
    FormNetwork(NetworkParameters),
    LeaveNetwork,
    GetNetworkParameters,
    SetInitialSecurityState(InitialSecurityState),
    GetCurrentSecurityState,
    /// v8–v12: a transient key for a joining device (its install-code-derived link key).
    AddTransientLinkKey {
        partner: Eui64,
        key: Key,
    },
    /// v12+: the same through the security manager (`flags`: `sl_zb_sec_man_flags_t`).
    ImportTransientKey {
        partner: Eui64,
        key: Key,
        flags: u8,
    },
    /// Open joining for `duration` seconds (0 closes, 0xFF forever).
    PermitJoining {
        duration: u8,
    },
    SendUnicast(SendUnicast),
    /// Tell `target` (via its parent `dest`) to leave the network.
    RemoveDevice {
        dest_short: u16,
        dest_long: Eui64,
        target_long: Eui64,
    },
    GetEui64,
    GetNodeId,
}

impl Command {
    pub fn frame_id(&self) -> u16 {
        match self {
            Self::Version { .. } => id::VERSION,
            Self::Nop => id::NOP,
            Self::GetConfigurationValue { .. } => id::GET_CONFIGURATION_VALUE,
            Self::SetConfigurationValue { .. } => id::SET_CONFIGURATION_VALUE,
            Self::GetValue { .. } => id::GET_VALUE,
            Self::SetValue { .. } => id::SET_VALUE,
            Self::SetPolicy { .. } => id::SET_POLICY,
            Self::AddEndpoint(_) => id::ADD_ENDPOINT,
            Self::GetMfgToken { .. } => id::GET_MFG_TOKEN,
            Self::NetworkInit { .. } => id::NETWORK_INIT,
            Self::NetworkState => id::NETWORK_STATE,
            Self::FormNetwork(_) => id::FORM_NETWORK,
            Self::LeaveNetwork => id::LEAVE_NETWORK,
            Self::GetNetworkParameters => id::GET_NETWORK_PARAMETERS,
            Self::SetInitialSecurityState(_) => id::SET_INITIAL_SECURITY_STATE,
            Self::GetCurrentSecurityState => id::GET_CURRENT_SECURITY_STATE,
            Self::AddTransientLinkKey { .. } => id::ADD_TRANSIENT_LINK_KEY,
            Self::ImportTransientKey { .. } => id::IMPORT_TRANSIENT_KEY,
            Self::PermitJoining { .. } => id::PERMIT_JOINING,
            Self::SendUnicast(_) => id::SEND_UNICAST,
            Self::RemoveDevice { .. } => id::REMOVE_DEVICE,
            Self::GetEui64 => id::GET_EUI64,
            Self::GetNodeId => id::GET_NODE_ID,
        }
    }

    /// Parses a command's parameters (`offset`: where they start in the frame, for errors).
    pub fn parse(version: u8, frame_id: u16, params: &[u8], offset: usize) -> Result<Self, Error> {
        if frame_id != id::VERSION && !in_version(frame_id, version) {
            return Err(Error::NotInVersion { frame_id, version });
        }
        let mut r = Reader::new(params, offset);
        let cmd = match frame_id {
            id::VERSION => Self::Version { desired: r.u8()? },
            id::NOP => Self::Nop,
            id::GET_CONFIGURATION_VALUE => Self::GetConfigurationValue { config_id: r.u8()? },
            id::SET_CONFIGURATION_VALUE => {
                Self::SetConfigurationValue { config_id: r.u8()?, value: r.u16()? }
            }
            id::GET_VALUE => Self::GetValue { value_id: r.u8()? },
            id::SET_VALUE => Self::SetValue { value_id: r.u8()?, value: r.lv_bytes()? },
            id::SET_POLICY => Self::SetPolicy { policy_id: r.u8()?, decision_id: r.u8()? },
            id::ADD_ENDPOINT => {
                let endpoint = r.u8()?;
                let profile_id = r.u16()?;
                let device_id = r.u16()?;
                let device_version = r.u8()?;
                let n_in = r.u8()? as usize;
                let n_out = r.u8()? as usize;
                let mut input_clusters = Vec::with_capacity(n_in);
                for _ in 0..n_in {
                    input_clusters.push(r.u16()?);
                }
                let mut output_clusters = Vec::with_capacity(n_out);
                for _ in 0..n_out {
                    output_clusters.push(r.u16()?);
                }
                Self::AddEndpoint(Endpoint {
                    endpoint,
                    profile_id,
                    device_id,
                    device_version,
                    input_clusters,
                    output_clusters,
                })
            }
            id::GET_MFG_TOKEN => Self::GetMfgToken { token_id: r.u8()? },
            id::NETWORK_INIT => Self::NetworkInit { bitmask: r.u16()? },
            id::NETWORK_STATE => Self::NetworkState,
            id::FORM_NETWORK => Self::FormNetwork(NetworkParameters::read(&mut r)?),
            id::LEAVE_NETWORK => Self::LeaveNetwork,
            id::GET_NETWORK_PARAMETERS => Self::GetNetworkParameters,
            id::SET_INITIAL_SECURITY_STATE => {
                Self::SetInitialSecurityState(InitialSecurityState::read(&mut r)?)
            }
            id::GET_CURRENT_SECURITY_STATE => Self::GetCurrentSecurityState,
            id::ADD_TRANSIENT_LINK_KEY => {
                Self::AddTransientLinkKey { partner: r.eui64()?, key: r.key()? }
            }
            id::IMPORT_TRANSIENT_KEY => {
                Self::ImportTransientKey { partner: r.eui64()?, key: r.key()?, flags: r.u8()? }
            }
            id::PERMIT_JOINING => Self::PermitJoining { duration: r.u8()? },
            id::SEND_UNICAST => Self::SendUnicast(SendUnicast {
                kind: r.u8()?,
                destination: r.u16()?,
                aps: ApsFrame::read(&mut r)?,
                tag: r.u8()?,
                message: r.lv_bytes()?,
            }),
            id::REMOVE_DEVICE => Self::RemoveDevice {
                dest_short: r.u16()?,
                dest_long: r.eui64()?,
                target_long: r.eui64()?,
            },
            id::GET_EUI64 => Self::GetEui64,
            id::GET_NODE_ID => Self::GetNodeId,
            other => return Err(Error::UnknownFrameId(other)),
        };
        r.finish()?;
        Ok(cmd)
    }

    /// Appends the parameters.
    pub fn emit_params(&self, w: &mut Vec<u8>) {
        match self {
            Self::Version { desired } => w.put_u8(*desired),
            Self::Nop
            | Self::NetworkState
            | Self::LeaveNetwork
            | Self::GetNetworkParameters
            | Self::GetCurrentSecurityState
            | Self::GetEui64
            | Self::GetNodeId => {}
            Self::GetConfigurationValue { config_id } => w.put_u8(*config_id),
            Self::SetConfigurationValue { config_id, value } => {
                w.put_u8(*config_id);
                w.put_u16(*value);
            }
            Self::GetValue { value_id } => w.put_u8(*value_id),
            Self::SetValue { value_id, value } => {
                w.put_u8(*value_id);
                w.put_lv(value);
            }
            Self::SetPolicy { policy_id, decision_id } => {
                w.put_u8(*policy_id);
                w.put_u8(*decision_id);
            }
            Self::AddEndpoint(e) => {
                let n_in = e.input_clusters.len().min(255);
                let n_out = e.output_clusters.len().min(255);
                w.put_u8(e.endpoint);
                w.put_u16(e.profile_id);
                w.put_u16(e.device_id);
                w.put_u8(e.device_version);
                w.put_u8(n_in as u8);
                w.put_u8(n_out as u8);
                for c in
                    e.input_clusters.iter().take(n_in).chain(e.output_clusters.iter().take(n_out))
                {
                    w.put_u16(*c);
                }
            }
            Self::GetMfgToken { token_id } => w.put_u8(*token_id),
            Self::NetworkInit { bitmask } => w.put_u16(*bitmask),
            Self::FormNetwork(p) => p.write(w),
            Self::SetInitialSecurityState(s) => s.write(w),
            Self::AddTransientLinkKey { partner, key } => {
                w.extend_from_slice(&partner.0);
                w.extend_from_slice(&key.0);
            }
            Self::ImportTransientKey { partner, key, flags } => {
                w.extend_from_slice(&partner.0);
                w.extend_from_slice(&key.0);
                w.put_u8(*flags);
            }
            Self::PermitJoining { duration } => w.put_u8(*duration),
            Self::RemoveDevice { dest_short, dest_long, target_long } => {
                w.put_u16(*dest_short);
                w.extend_from_slice(&dest_long.0);
                w.extend_from_slice(&target_long.0);
            }
            Self::SendUnicast(s) => {
                w.put_u8(s.kind);
                w.put_u16(s.destination);
                s.aps.write(w);
                w.put_u8(s.tag);
                w.put_lv(&s.message);
            }
        }
    }

    /// The whole frame: the legacy header for `Version` when `legacy` is set (the first
    /// command after a reset), the extended header otherwise.
    pub fn encode(&self, sequence: u8, legacy: bool, out: &mut Vec<u8>) {
        let hdr = if legacy && matches!(self, Self::Version { .. }) {
            Header::legacy_version(sequence, false)
        } else {
            Header::command(sequence, self.frame_id())
        };
        hdr.emit(out);
        self.emit_params(out);
    }

    /// Parses a whole command frame as an NCP speaking `version` receives it.
    pub fn decode(version: u8, frame: &[u8]) -> Result<(Header, Self), Error> {
        let (hdr, params) = Header::parse(frame)?;
        if hdr.is_response() {
            return Err(Error::BadValue { offset: 1 });
        }
        let cmd = Self::parse(version, hdr.frame_id, params, hdr.len())?;
        Ok((hdr, cmd))
    }
}
