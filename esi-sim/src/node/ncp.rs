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
    JoinDecision as EzDecision, Key, MessageSent, NetworkParameters, NodeType, Response,
    MIN_VERSION,
};
use firmware::esi::{ApsHandle, ApsIndication, ApsSecurity, ApsStatus, JoinDecision, LinkKey};
use std::collections::{BTreeMap, VecDeque};
use zse::zcl::Eui64;

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

mod commands;

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
