//! An emulated Silicon Labs network co-processor: ASH/EZSP on the serial line (the `ezsp`
//! crate), the simulated radio behind it. `esi-sim --ncp ezsp` puts one in place of the
//! firmware coordinator, so a host that speaks EZSP (bellows, the gateway's `ezsp` kind) drives
//! the simulated HAN exactly as it would drive an EFR32 stick with stock NCP firmware.
//!
//! What it does (docs/ezsp.md lists the commands): version negotiation (v8..=`max_version`),
//! configuration and values (stored, echoed), `setInitialSecurityState`, `formNetwork` /
//! `networkInit` / `leaveNetwork` with `stackStatusHandler`, transient link keys (into the
//! simulated trust centre's key table), `permitJoining` with a deadline, trust-centre decisions
//! for joining devices (`trustCenterJoinHandler`, `childJoinHandler`), `sendUnicast` with APS
//! acknowledgement and encryption options (`messageSentHandler`), incoming APS frames
//! (`incomingMessageHandler`). Commands it does not know are answered `invalidCommand`, as a
//! real NCP does. The network it forms is remembered across an NCP reset (as NVM tokens are);
//! everything else (transient keys, joining, frames in flight) is lost.

use super::{EsiNode, NodeSnapshot, RadioAction};
use ezsp::ash::{Link, LinkConfig, LinkEvent, LinkState, ResetCode, Role};
use ezsp::ezsp::types::{
    aps_option, Endpoint, INCOMING_BROADCAST, INCOMING_UNICAST, OUTGOING_DIRECT,
};
use ezsp::ezsp::{
    ApsFrame as EzApsFrame, Callback, Command, DeviceUpdate, EmberStatus, Error as EzspError,
    Eui64 as EzEui64, EzspStatus, Format, IncomingMessage, InitialSecurityState,
    JoinDecision as EzDecision, Key, MessageSent, NetworkParameters, NetworkStatus, NodeType,
    Response, SendUnicast, SlStatus, MIN_VERSION,
};
use firmware::esi::{
    ApsFrame, ApsHandle, ApsIndication, ApsSecurity, ApsStatus, JoinDecision, LinkKey,
};
use std::collections::{BTreeMap, VecDeque};
use zse::zcl::{ClusterId, Eui64};

/// `stackVersion` in the `version` response: EmberZNet 7.4.5.0 (nibbles), as a current stick.
pub const STACK_VERSION: u16 = 0x7450;
/// `VALUE_VERSION_INFO`: build 0, 7.4.5.0.
const VERSION_INFO: [u8; 6] = [0x00, 0x00, 7, 4, 5, 0];

struct Pending {
    destination: u16,
    aps: EzApsFrame,
    tag: u8,
    message: Vec<u8>,
}

/// The emulated NCP.
pub struct EzspNcp {
    link: Link,
    eui64: Eui64,
    max_version: u8,
    /// Negotiated protocol version (0 until the host sent `version`).
    version: u8,
    last_seq: u8,
    config: BTreeMap<u8, u16>,
    values: BTreeMap<u8, Vec<u8>>,
    policies: BTreeMap<u8, u8>,
    endpoints: Vec<Endpoint>,
    security: Option<InitialSecurityState>,
    /// The network formed (kept across resets, like NVM tokens).
    network: Option<NetworkParameters>,
    up: bool,
    permit_until: Option<u64>,
    transient: BTreeMap<Eui64, Key>,
    /// Joined devices: short → EUI-64.
    children: BTreeMap<u16, Eui64>,
    aps_seq: u8,
    next_handle: u8,
    pending: BTreeMap<u8, Pending>,
    radio: VecDeque<RadioAction>,
    serial: VecDeque<u8>,
    /// Callbacks raised by a command, sent after its response.
    deferred: VecDeque<Callback>,
    /// Frames the host sent that did not parse (answered `invalidCommand`).
    pub bad_commands: u64,
}

impl std::fmt::Debug for EzspNcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EzspNcp")
            .field("eui64", &self.eui64)
            .field("version", &self.version)
            .field("up", &self.up)
            .field("children", &self.children.len())
            .finish_non_exhaustive()
    }
}

fn ez_eui(e: Eui64) -> EzEui64 {
    EzEui64::from_u64(e.0)
}

fn sim_eui(e: EzEui64) -> Eui64 {
    Eui64(e.to_u64())
}

impl EzspNcp {
    /// An NCP with this EUI-64 speaking EZSP up to `max_version` (8..=13).
    pub fn new(eui64: Eui64, max_version: u8) -> Self {
        let mut config = BTreeMap::new();
        // A few configuration values hosts read before writing (EmberZNet defaults).
        for (id, v) in
            [(0x0C, 2u16), (0x0D, 12), (0x0E, 8), (0x12, 2), (0x19, 255), (0x1C, 6), (0x2B, 0)]
        {
            config.insert(id, v);
        }
        Self {
            link: Link::new(Role::Ncp, LinkConfig::default()),
            eui64,
            max_version: max_version.clamp(MIN_VERSION, ezsp::ezsp::MAX_VERSION),
            version: 0,
            last_seq: 0,
            config,
            values: BTreeMap::new(),
            policies: BTreeMap::new(),
            endpoints: Vec::new(),
            security: None,
            network: None,
            up: false,
            permit_until: None,
            transient: BTreeMap::new(),
            children: BTreeMap::new(),
            aps_seq: 0,
            next_handle: 0,
            pending: BTreeMap::new(),
            radio: VecDeque::new(),
            serial: VecDeque::new(),
            deferred: VecDeque::new(),
            bad_commands: 0,
        }
    }

    /// Whether the network is up (formed or resumed).
    pub fn network_up(&self) -> bool {
        self.up
    }

    fn pump(&mut self, now: u64) {
        while let Some(ev) = self.link.poll_event() {
            match ev {
                LinkEvent::Data(frame) => self.handle_frame(now, &frame),
                LinkEvent::Reset(_) => self.volatile_reset(),
                LinkEvent::Failed(_) => {}
            }
        }
        while let Some(bytes) = self.link.poll_transmit() {
            self.serial.extend(bytes);
        }
    }

    /// State a reset loses (the host's RST resets the NCP too). The formed network and its
    /// security state stay, as NVM tokens do.
    fn volatile_reset(&mut self) {
        self.version = 0;
        self.up = false;
        self.permit_until = None;
        self.transient.clear();
        self.pending.clear();
    }

    fn send(&mut self, now: u64, frame: &[u8]) {
        // A full queue means the host stopped reading; the frame is dropped as a real NCP
        // drops callbacks it has no buffer for.
        let _ = self.link.send(now, frame);
    }

    fn respond(&mut self, now: u64, seq: u8, legacy: bool, r: &Response) {
        let mut out = Vec::new();
        r.encode(seq, legacy, &mut out);
        self.send(now, &out);
    }

    fn callback(&mut self, now: u64, c: &Callback) {
        if self.version == 0 {
            return;
        }
        let mut out = Vec::new();
        c.encode(self.last_seq, &mut out);
        self.send(now, &out);
    }

    fn handle_frame(&mut self, now: u64, frame: &[u8]) {
        let seq = frame.first().copied().unwrap_or(0);
        self.last_seq = seq;
        let version = if self.version == 0 { self.max_version } else { self.version };
        match Command::decode(version, frame) {
            Ok((hdr, Command::Version { desired })) => {
                let v = if (MIN_VERSION..=self.max_version).contains(&desired) {
                    desired
                } else {
                    self.max_version
                };
                self.version = v;
                let r = Response::Version {
                    protocol: v,
                    stack_type: ezsp::ezsp::STACK_TYPE_MESH,
                    stack_version: STACK_VERSION,
                };
                self.respond(now, hdr.sequence, hdr.format == Format::Legacy, &r);
            }
            Ok((hdr, _)) if self.version == 0 || hdr.format == Format::Legacy => {
                self.bad_commands += 1;
                self.respond(
                    now,
                    hdr.sequence,
                    false,
                    &Response::InvalidCommand { status: EzspStatus::ERROR_VERSION_NOT_SET },
                );
            }
            Ok((hdr, cmd)) => {
                let r = self.execute(now, cmd);
                self.respond(now, hdr.sequence, false, &r);
                self.after(now);
            }
            Err(e) => {
                self.bad_commands += 1;
                let status = match e {
                    EzspError::UnknownFrameId(_) | EzspError::NotInVersion { .. } => {
                        EzspStatus::ERROR_INVALID_FRAME_ID
                    }
                    EzspError::Truncated { .. } => EzspStatus::ERROR_TRUNCATED,
                    EzspError::BadHeader { .. } | EzspError::Secured => {
                        EzspStatus::ERROR_UNSUPPORTED_CONTROL
                    }
                    EzspError::Trailing { .. } | EzspError::BadValue { .. } => {
                        EzspStatus::ERROR_INVALID_VALUE
                    }
                };
                tracing::debug!("ezsp ncp: bad command {frame:02x?}: {e}");
                self.respond(now, seq, false, &Response::InvalidCommand { status });
            }
        }
    }

    /// Callbacks that follow a response (stack status after forming, opening, leaving).
    fn after(&mut self, now: u64) {
        while let Some(c) = self.deferred.pop_front() {
            self.callback(now, &c);
        }
    }
}

impl EzspNcp {
    #[allow(clippy::too_many_lines)] // one arm per command, as UG100 lists them
    fn execute(&mut self, now: u64, cmd: Command) -> Response {
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

    fn joining_open(&self, now: u64) -> bool {
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

impl EsiNode for EzspNcp {
    fn handle_serial_bytes(&mut self, now: u64, bytes: &[u8]) {
        self.link.handle_bytes(now, bytes);
        self.pump(now);
    }

    fn poll_serial_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.serial.is_empty() {
            return None;
        }
        let n = buf.len().min(self.serial.len());
        for (slot, b) in buf.iter_mut().zip(self.serial.drain(..n)) {
            *slot = b;
        }
        Some(n)
    }

    fn handle_aps_indication(&mut self, now: u64, ind: ApsIndication<'_>) {
        if !self.up || ind.payload.len() > 255 {
            return;
        }
        let mut options = 0;
        if ind.security == ApsSecurity::LinkKey {
            options |= aps_option::ENCRYPTION;
        }
        let lqi = ind.lqi.unwrap_or(255);
        let m = IncomingMessage {
            kind: if ind.broadcast { INCOMING_BROADCAST } else { INCOMING_UNICAST },
            aps: EzApsFrame {
                profile_id: ind.profile,
                cluster_id: ind.cluster.0,
                source_endpoint: ind.src_endpoint,
                destination_endpoint: ind.dst_endpoint,
                options,
                group_id: 0,
                sequence: 0,
            },
            last_hop_lqi: lqi,
            // A rough LQI → RSSI mapping (−100 dBm at 0, −20 dBm at 255).
            last_hop_rssi: (-100 + i16::from(lqi) * 80 / 255) as i8,
            sender: ind.src_short,
            binding_index: 0xFF,
            address_index: 0xFF,
            message: ind.payload.to_vec(),
        };
        if let Some(eui) = ind.src_eui64 {
            self.children.entry(ind.src_short).or_insert(eui);
        }
        self.callback(now, &Callback::IncomingMessage(m));
        self.pump(now);
    }

    fn handle_aps_confirm(&mut self, now: u64, handle: ApsHandle, status: ApsStatus) {
        let Some(p) = self.pending.remove(&handle.0) else { return };
        let status = if status == ApsStatus::SUCCESS {
            EmberStatus::SUCCESS
        } else {
            EmberStatus::DELIVERY_FAILED
        };
        let m = MessageSent {
            kind: OUTGOING_DIRECT,
            destination: p.destination,
            aps: p.aps,
            tag: p.tag,
            status,
            message: p.message,
        };
        self.callback(now, &Callback::MessageSent(m));
        self.pump(now);
    }

    fn handle_join_request(&mut self, now: u64, eui64: Eui64, short: u16) -> JoinDecision {
        let key = self.transient.get(&eui64).copied().filter(|_| self.joining_open(now));
        let decision =
            if key.is_some() { EzDecision::USE_PRECONFIGURED_KEY } else { EzDecision::DENY_JOIN };
        self.callback(
            now,
            &Callback::TrustCenterJoin {
                node_id: short,
                eui64: ez_eui(eui64),
                status: DeviceUpdate::STANDARD_SECURITY_UNSECURED_JOIN,
                decision,
                parent: 0x0000,
            },
        );
        let out = match key {
            Some(k) => {
                self.children.insert(short, eui64);
                let index = self.children.keys().position(|s| *s == short).unwrap_or(0) as u8;
                self.callback(
                    now,
                    &Callback::ChildJoin {
                        index,
                        joining: true,
                        child_id: short,
                        child_eui64: ez_eui(eui64),
                        child_type: NodeType::END_DEVICE,
                    },
                );
                JoinDecision::Accept { link_key: LinkKey::from_bytes(k.0) }
            }
            None => JoinDecision::Refuse,
        };
        self.pump(now);
        out
    }

    fn handle_device_left(&mut self, now: u64, eui64: Eui64) {
        let Some((&short, _)) = self.children.iter().find(|(_, e)| **e == eui64) else { return };
        let index = self.children.keys().position(|s| *s == short).unwrap_or(0) as u8;
        self.children.remove(&short);
        self.callback(
            now,
            &Callback::TrustCenterJoin {
                node_id: short,
                eui64: ez_eui(eui64),
                status: DeviceUpdate::DEVICE_LEFT,
                decision: EzDecision::NO_ACTION,
                parent: 0x0000,
            },
        );
        self.callback(
            now,
            &Callback::ChildJoin {
                index,
                joining: false,
                child_id: short,
                child_eui64: ez_eui(eui64),
                child_type: NodeType::END_DEVICE,
            },
        );
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: u64) {
        self.link.handle_timeout(now);
        if self.permit_until.is_some_and(|t| now >= t) {
            self.permit_until = None;
            self.callback(now, &Callback::StackStatus { status: EmberStatus::NETWORK_CLOSED });
        }
        self.pump(now);
    }

    fn poll_timeout(&self) -> Option<u64> {
        let permit = self.permit_until.filter(|t| *t != u64::MAX);
        match (self.link.poll_timeout(), permit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn poll_radio(&mut self) -> Option<RadioAction> {
        self.radio.pop_front()
    }

    fn reset(&mut self, now: u64) {
        self.volatile_reset();
        self.link.reset(now, ResetCode::POWER_ON);
        self.pump(now);
    }

    fn snapshot(&self, _now: u64) -> NodeSnapshot {
        NodeSnapshot {
            // The NCP has no slot table: the host (trust centre application) keeps it.
            capacity: 0,
            slots: Vec::new(),
            utc: None,
            dr_events: Vec::new(),
            link_receive_errors: self.link.counters().bad_frames as u32,
            link_connected: self.link.state() == LinkState::Connected && self.version != 0,
        }
    }
}
