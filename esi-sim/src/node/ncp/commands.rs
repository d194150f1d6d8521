//! The emulated NCP's command execution: one arm per EZSP command (docs/ezsp.md §2).

use super::{ez_eui, sim_eui, EzspNcp, Pending, RadioAction, STACK_VERSION, VERSION_INFO};
use ezsp::ezsp::types::{aps_option, OUTGOING_DIRECT};
use ezsp::ezsp::{
    Callback, Command, EmberStatus, Eui64 as EzEui64, EzspStatus, Key, NetworkParameters,
    NetworkStatus, NodeType, Response, SendUnicast, SlStatus,
};
use firmware::esi::{ApsFrame, ApsHandle, LinkKey};
use zse::zcl::ClusterId;
impl EzspNcp {
    #[allow(clippy::too_many_lines)] // one arm per command, as UG100 lists them
    pub(super) fn execute(&mut self, now: u64, cmd: Command) -> Response {
        match cmd {
            Command::Version { .. } => unreachable_version(self.version),
            Command::Nop => Response::Nop,
            Command::GetConfigurationValue { config_id } => match self.config.get(&config_id) {
                Some(v) => {
                    Response::GetConfigurationValue { status: EzspStatus::SUCCESS, value: *v }
                }
                None => Response::GetConfigurationValue {
                    status: EzspStatus::ERROR_INVALID_ID,
                    value: 0,
                },
            },
            Command::SetConfigurationValue { config_id, value } => {
                if self.up {
                    // EmberZNet refuses configuration changes once the stack runs.
                    return Response::SetConfigurationValue {
                        status: EzspStatus::ERROR_INVALID_CALL,
                    };
                }
                self.config.insert(config_id, value);
                Response::SetConfigurationValue { status: EzspStatus::SUCCESS }
            }
            Command::GetValue { value_id } => {
                if value_id == ezsp::ezsp::VALUE_VERSION_INFO {
                    return Response::GetValue {
                        status: EzspStatus::SUCCESS,
                        value: VERSION_INFO.to_vec(),
                    };
                }
                match self.values.get(&value_id) {
                    Some(v) => Response::GetValue { status: EzspStatus::SUCCESS, value: v.clone() },
                    None => Response::GetValue {
                        status: EzspStatus::ERROR_INVALID_ID,
                        value: Vec::new(),
                    },
                }
            }
            Command::SetValue { value_id, value } => {
                self.values.insert(value_id, value);
                Response::SetValue { status: EzspStatus::SUCCESS }
            }
            Command::SetPolicy { policy_id, decision_id } => {
                self.policies.insert(policy_id, decision_id);
                Response::SetPolicy { status: EzspStatus::SUCCESS }
            }
            Command::AddEndpoint(e) => {
                if self.endpoints.iter().any(|x| x.endpoint == e.endpoint) {
                    return Response::AddEndpoint { status: EzspStatus::ERROR_INVALID_CALL };
                }
                self.endpoints.push(e);
                Response::AddEndpoint { status: EzspStatus::SUCCESS }
            }
            Command::GetMfgToken { token_id } => {
                Response::GetMfgToken { data: mfg_token(token_id) }
            }
            Command::NetworkInit { .. } => {
                if self.up {
                    return Response::NetworkInit { status: EmberStatus::INVALID_CALL };
                }
                if self.network.is_none() {
                    return Response::NetworkInit { status: EmberStatus::NOT_JOINED };
                }
                self.up = true;
                self.deferred.push_back(Callback::StackStatus { status: EmberStatus::NETWORK_UP });
                Response::NetworkInit { status: EmberStatus::SUCCESS }
            }
            Command::NetworkState => Response::NetworkState {
                status: if self.up {
                    NetworkStatus::JOINED_NETWORK
                } else {
                    NetworkStatus::NO_NETWORK
                },
            },
            Command::FormNetwork(p) => {
                if self.up {
                    return Response::FormNetwork { status: EmberStatus::INVALID_CALL };
                }
                if self.security.is_none() {
                    return Response::FormNetwork { status: EmberStatus::SECURITY_STATE_NOT_SET };
                }
                if !(11..=26).contains(&p.radio_channel) {
                    return Response::FormNetwork { status: EmberStatus::BAD_ARGUMENT };
                }
                self.network = Some(p);
                self.children.clear();
                self.up = true;
                self.deferred.push_back(Callback::StackStatus { status: EmberStatus::NETWORK_UP });
                Response::FormNetwork { status: EmberStatus::SUCCESS }
            }
            Command::LeaveNetwork => {
                if !self.up {
                    return Response::LeaveNetwork { status: EmberStatus::INVALID_CALL };
                }
                self.up = false;
                self.network = None;
                self.permit_until = None;
                for (_, eui) in std::mem::take(&mut self.children) {
                    self.radio.push_back(RadioAction::Leave { eui64: eui, short: None });
                }
                self.deferred
                    .push_back(Callback::StackStatus { status: EmberStatus::NETWORK_DOWN });
                Response::LeaveNetwork { status: EmberStatus::SUCCESS }
            }
            Command::GetNetworkParameters => match (self.up, self.network) {
                (true, Some(parameters)) => Response::GetNetworkParameters {
                    status: EmberStatus::SUCCESS,
                    node_type: NodeType::COORDINATOR,
                    parameters,
                },
                _ => Response::GetNetworkParameters {
                    status: EmberStatus::NOT_JOINED,
                    node_type: NodeType::UNKNOWN,
                    parameters: NetworkParameters::default(),
                },
            },
            Command::SetInitialSecurityState(s) => {
                if self.up {
                    return Response::SetInitialSecurityState { status: EmberStatus::INVALID_CALL };
                }
                self.security = Some(s);
                Response::SetInitialSecurityState { status: EmberStatus::SUCCESS }
            }
            Command::GetCurrentSecurityState => match (self.up, self.security) {
                (true, Some(s)) => Response::GetCurrentSecurityState {
                    status: EmberStatus::SUCCESS,
                    bitmask: s.bitmask,
                    trust_center: ez_eui(self.eui64),
                },
                (true, None) => Response::GetCurrentSecurityState {
                    status: EmberStatus::SUCCESS,
                    bitmask: 0,
                    trust_center: ez_eui(self.eui64),
                },
                (false, _) => Response::GetCurrentSecurityState {
                    status: EmberStatus::NOT_JOINED,
                    bitmask: 0,
                    trust_center: EzEui64::default(),
                },
            },
            Command::AddTransientLinkKey { partner, key } => {
                self.add_transient(partner, key);
                Response::AddTransientLinkKey { status: EmberStatus::SUCCESS }
            }
            Command::ImportTransientKey { partner, key, .. } => {
                self.add_transient(partner, key);
                Response::ImportTransientKey { status: SlStatus::OK }
            }
            Command::PermitJoining { duration } => {
                if !self.up {
                    return Response::PermitJoining { status: EmberStatus::INVALID_CALL };
                }
                self.permit_until = match duration {
                    0 => None,
                    0xFF => Some(u64::MAX),
                    s => Some(now + u64::from(s) * 1000),
                };
                let status = if duration == 0 {
                    EmberStatus::NETWORK_CLOSED
                } else {
                    EmberStatus::NETWORK_OPENED
                };
                self.deferred.push_back(Callback::StackStatus { status });
                Response::PermitJoining { status: EmberStatus::SUCCESS }
            }
            Command::SendUnicast(s) => self.send_unicast(s),
            Command::RemoveDevice { target_long, .. } => {
                let eui = sim_eui(target_long);
                let Some((&short, _)) = self.children.iter().find(|(_, e)| **e == eui) else {
                    return Response::RemoveDevice { status: EmberStatus::INVALID_CALL };
                };
                self.radio.push_back(RadioAction::Leave { eui64: eui, short: Some(short) });
                Response::RemoveDevice { status: EmberStatus::SUCCESS }
            }
            Command::GetEui64 => Response::GetEui64 { eui64: ez_eui(self.eui64) },
            Command::GetNodeId => Response::GetNodeId { node_id: 0x0000 },
        }
    }

    fn add_transient(&mut self, partner: EzEui64, key: Key) {
        let eui = sim_eui(partner);
        self.transient.insert(eui, key);
        self.radio
            .push_back(RadioAction::InstallKey { eui64: eui, key: LinkKey::from_bytes(key.0) });
    }

    fn send_unicast(&mut self, s: SendUnicast) -> Response {
        let fail = |status| Response::SendUnicast { status, sequence: 0 };
        if !self.up {
            return fail(EmberStatus::NETWORK_DOWN);
        }
        if s.kind != OUTGOING_DIRECT {
            return fail(EmberStatus::BAD_ARGUMENT);
        }
        let Some(&dst_eui64) = self.children.get(&s.destination) else {
            return fail(EmberStatus::DELIVERY_FAILED);
        };
        let Ok(payload) = heapless::Vec::from_slice(&s.message) else {
            return fail(EmberStatus::MESSAGE_TOO_LONG);
        };
        if self.pending.len() >= 16 {
            return fail(EmberStatus::NO_BUFFERS);
        }
        let sequence = self.aps_seq;
        self.aps_seq = self.aps_seq.wrapping_add(1);
        let handle = self.next_handle;
        self.next_handle = self.next_handle.wrapping_add(1);
        let mut aps = s.aps;
        aps.sequence = sequence;
        self.radio.push_back(RadioAction::SendAps(ApsFrame {
            dst_short: s.destination,
            dst_eui64,
            src_endpoint: aps.source_endpoint,
            dst_endpoint: aps.destination_endpoint,
            cluster: ClusterId(aps.cluster_id),
            profile: aps.profile_id,
            payload,
            ack_requested: aps.options & aps_option::RETRY != 0,
            aps_encryption: aps.options & aps_option::ENCRYPTION != 0,
            handle: ApsHandle(handle),
        }));
        self.pending.insert(
            handle,
            Pending { destination: s.destination, aps, tag: s.tag, message: s.message },
        );
        Response::SendUnicast { status: EmberStatus::SUCCESS, sequence }
    }

    pub(super) fn joining_open(&self, now: u64) -> bool {
        self.up && self.permit_until.is_some_and(|t| now < t)
    }
}

/// `version` is answered before `execute` is reached.
fn unreachable_version(version: u8) -> Response {
    Response::Version {
        protocol: version,
        stack_type: ezsp::ezsp::STACK_TYPE_MESH,
        stack_version: STACK_VERSION,
    }
}

/// Manufacturing tokens: 16-byte strings padded with 0xFF as on a stick; a blank custom EUI-64.
fn mfg_token(id: u8) -> Vec<u8> {
    let pad = |s: &[u8]| {
        let mut v = s.to_vec();
        v.resize(16, 0xFF);
        v
    };
    match id {
        ezsp::ezsp::MFG_STRING => pad(b"esi-sim"),
        ezsp::ezsp::MFG_BOARD_NAME => pad(b"ezsp-ncp-emu"),
        0x0C => vec![0xFF; 8],
        _ => Vec::new(),
    }
}
