//! Simulated HAN devices: what they share (identity, install code and link key, joining, the
//! SE bring-up, a clock synchronised from the ESI, ZCL framing), and one module per kind:
//! [`ihd`] (in-home display), [`pct`] (programmable communicating thermostat), [`lcs`]
//! (load-control switch); the last two share the DRLC client in [`drlc`].
//!
//! **Joining** is modelled on what matters to provisioning (design.md §5): the device presents a
//! credential derived from its own install-code link key (the key-transport key of se10.md §8.3);
//! the trust centre accepts only if it equals the one derived from the key the host installed.
//! A device whose key differs (`wrong_key`) fails visibly ([`JoinFailure::KeyMismatch`]) and the
//! ESI never sees it join. Once joined the device reads the ESI's Time attribute with APS
//! link-key security (the ESI then counts its key as established) and sends its first SE request
//! (the ESI then counts it as paired).

pub mod drlc;
pub mod ihd;
pub mod lcs;
pub mod pct;

use crate::command::Action;
use crate::rng::SimRng;
use serde::Deserialize;
use std::fmt;
use std::fmt::Write as _;
use zse::cluster::ClusterCommand;
use zse::field::Octets;
use zse::security::{key_transport_key, link_key_from_install_code, InstallCode, Key128};
use zse::zcl::foundation::{Command as Foundation, DefaultResponse, ReadAttributes};
use zse::zcl::{
    AttributeId, ClusterId, Direction, Eui64, Frame, FrameType, Header, Payload, Records, Status,
    Value,
};

/// The device kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Ihd,
    Pct,
    Lcs,
}

impl DeviceKind {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ihd => "ihd",
            Self::Pct => "pct",
            Self::Lcs => "lcs",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "ihd" | "display" => Some(Self::Ihd),
            "pct" | "thermostat" => Some(Self::Pct),
            "lcs" | "load-switch" => Some(Self::Lcs),
            _ => None,
        }
    }
}

/// How one device is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    pub kind: DeviceKind,
    /// The ESI whose network it joins.
    pub esi: usize,
    pub eui64: Eui64,
    /// The install code printed on its label (16 bytes + CRC).
    pub install_code: Vec<u8>,
    /// The device's own key differs from the one its label gives: joining must fail.
    pub wrong_key: bool,
    /// IHD: confirm a message needing confirmation this long after showing it.
    pub confirm_after_ms: Option<u64>,
    /// IHD: GetLastMessage / GetCurrentPrice polling interval.
    pub poll_ms: u64,
    /// PCT/LCS: DRLC Device Class bits it answers to (se10.md §4.7).
    pub device_class: u16,
    /// PCT/LCS: Utility Enrollment Group (0 = none).
    pub enrollment_group: u8,
    /// PCT/LCS: power drawn while running, watts (added to the ESI's meter).
    pub load_w: u32,
    /// PCT/LCS: StartRandomizationMinutes (se10.md §4.8 client attribute 0x0001).
    pub start_randomization_minutes: u8,
    /// Try to join at start (else only when told `rejoin`).
    pub auto_join: bool,
}

impl DeviceSpec {
    /// The install code as the host reads it from the label.
    pub fn label_code(&self) -> Option<InstallCode> {
        InstallCode::from_bytes(&self.install_code).ok()
    }

    /// The link key the host derives from the label (what the ESI gets in `AddDevice`).
    pub fn label_link_key(&self) -> Option<Key128> {
        self.label_code().map(|c| link_key_from_install_code(&c))
    }

    /// The key the device really holds.
    pub fn own_link_key(&self) -> Option<Key128> {
        let code = self.label_code()?;
        if !self.wrong_key {
            return Some(link_key_from_install_code(&code));
        }
        let mut bytes = code.code().to_vec();
        if let Some(b) = bytes.first_mut() {
            *b ^= 0x5A;
        }
        InstallCode::from_code(&bytes).ok().map(|c| link_key_from_install_code(&c))
    }

    /// Install code as printed: hex with the CRC.
    pub fn label_hex(&self) -> String {
        self.install_code.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        })
    }
}

/// Why a join attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinFailure {
    /// The trust centre has no key for this device (not provisioned, or removed).
    NotProvisioned,
    /// The device's key-derived credential does not match the provisioned key.
    KeyMismatch,
    /// The ESI refused (join window closed).
    Refused,
    /// No ESI answered (the ESI is down).
    NoNetwork,
}

impl fmt::Display for JoinFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotProvisioned => "not provisioned",
            Self::KeyMismatch => "key mismatch (install code / link key differs)",
            Self::Refused => "refused by the ESI",
            Self::NoNetwork => "no network",
        })
    }
}

/// Where a device stands on the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinState {
    /// Off the network; tries at `next_attempt` (`None` = only when told).
    Searching {
        next_attempt: Option<u64>,
        attempts: u32,
    },
    Joined {
        short: u16,
    },
}

/// Backoff between join attempts: 15 s doubling to 10 minutes.
pub fn join_backoff_ms(attempts: u32) -> u64 {
    (15_000u64 << attempts.min(6)).min(600_000)
}

/// A ZCL frame a device wants sent to its ESI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub cluster: ClusterId,
    pub zcl: Vec<u8>,
}

/// What a behaviour gets to work with.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub now: u64,
    pub utc: Option<u32>,
    pub spec: &'a DeviceSpec,
    pub out: &'a mut Vec<Outgoing>,
    pub rng: &'a mut SimRng,
    tsn: &'a mut u8,
}

impl Ctx<'_> {
    fn next_tsn(&mut self) -> u8 {
        *self.tsn = self.tsn.wrapping_add(1);
        *self.tsn
    }

    /// Sends a client cluster command to the ESI.
    pub fn send(&mut self, command: ClusterCommand<'_>) {
        let cluster = command.cluster_id();
        let tsn = self.next_tsn();
        emit_to(self.out, cluster, &Frame::cluster(command, tsn, false));
    }

    /// Answers `header` with a Default Response (never to a Default Response).
    pub fn default_response(&mut self, cluster: ClusterId, header: &Header, status: Status) {
        if header.frame_type == FrameType::Global && header.command_id == 0x0B {
            return;
        }
        let frame = Frame {
            header: Header {
                frame_type: FrameType::Global,
                manufacturer_code: None,
                direction: Direction::ClientToServer,
                disable_default_response: true,
                tsn: header.tsn,
                command_id: 0x0B,
            },
            payload: Payload::Foundation(Foundation::DefaultResponse(DefaultResponse::new(
                header.command_id,
                status,
            ))),
        };
        emit_to(self.out, cluster, &frame);
    }

    /// The answer a pushed command gets: SUCCESS only if the sender asked for one.
    pub fn acknowledge(&mut self, cluster: ClusterId, header: &Header) {
        if !header.disable_default_response {
            self.default_response(cluster, header, Status::SUCCESS);
        }
    }

    /// UTC now, or 0 ("unknown") before the first time sync.
    pub fn utc_or_zero(&self) -> u32 {
        self.utc.unwrap_or(0)
    }
}

fn emit_to(out: &mut Vec<Outgoing>, cluster: ClusterId, frame: &Frame<'_>) {
    let mut buf = [0u8; 127];
    if let Ok(n) = frame.emit(&mut buf) {
        out.push(Outgoing { cluster, zcl: buf.get(..n).unwrap_or_default().to_vec() });
    }
}

/// Read Attributes of the Time cluster's Time (0x0000) and TimeStatus (0x0001).
fn read_time(out: &mut Vec<Outgoing>, tsn: u8) {
    let ids = [AttributeId(0x0000), AttributeId(0x0001)];
    let frame = Frame {
        header: Header {
            frame_type: FrameType::Global,
            manufacturer_code: None,
            direction: Direction::ClientToServer,
            disable_default_response: false,
            tsn,
            command_id: 0x00,
        },
        payload: Payload::Foundation(Foundation::ReadAttributes(ReadAttributes {
            attribute_ids: Records::Slice(&ids),
        })),
    };
    emit_to(out, ClusterId::TIME, &frame);
}

/// A 42-byte filler signature with type "no signature" (se10.md §4.5 field 11).
pub const NO_SIGNATURE: Octets<42> = Octets([0xFF; 42]);

/// The per-kind part of a device.
#[derive(Debug)]
pub enum Behavior {
    Ihd(ihd::Ihd),
    Pct(pct::Pct),
    Lcs(lcs::Lcs),
}

impl Behavior {
    fn new(kind: DeviceKind) -> Self {
        match kind {
            DeviceKind::Ihd => Self::Ihd(ihd::Ihd::default()),
            DeviceKind::Pct => Self::Pct(pct::Pct::default()),
            DeviceKind::Lcs => Self::Lcs(lcs::Lcs::default()),
        }
    }
}

/// How often a joined device re-reads the ESI's time.
const TIME_SYNC_MS: u64 = 600_000;
/// Retry interval while the ESI has no time yet.
const TIME_RETRY_MS: u64 = 30_000;

/// One simulated device.
#[derive(Debug)]
pub struct Device {
    pub spec: DeviceSpec,
    pub join: JoinState,
    /// The last join attempt's failure, if it failed (visible in status output).
    pub last_join_failure: Option<JoinFailure>,
    pub joins: u32,
    /// (virtual ms, UTC) at the last time sync.
    clock: Option<(u64, u32)>,
    /// Whether the first SE request after joining went out.
    ready: bool,
    next_time_sync: Option<u64>,
    tsn: u8,
    pub behavior: Behavior,
    rng: SimRng,
    out: Vec<Outgoing>,
    /// (cluster, TSN) of the last polls this device sent: a server command echoing one is the
    /// answer to a poll, not a push.
    recent_polls: std::collections::VecDeque<(ClusterId, u8)>,
    /// Pushed SE commands received (after APS duplicate rejection), by `Command id`, e.g.
    /// `DisplayMessage 17`: how often the ESI delivered each one to this device.
    pub pushes: std::collections::BTreeMap<String, u32>,
}

impl Device {
    pub fn new(spec: DeviceSpec, rng: SimRng, now: u64) -> Self {
        let first = spec.auto_join.then(|| now + 1_000 + rng.clone().below(4_000));
        Self {
            behavior: Behavior::new(spec.kind),
            spec,
            join: JoinState::Searching { next_attempt: first, attempts: 0 },
            last_join_failure: None,
            joins: 0,
            clock: None,
            ready: false,
            next_time_sync: None,
            tsn: 0,
            rng,
            out: Vec::new(),
            recent_polls: std::collections::VecDeque::new(),
            pushes: std::collections::BTreeMap::new(),
        }
    }

    pub fn short(&self) -> Option<u16> {
        match self.join {
            JoinState::Joined { short } => Some(short),
            JoinState::Searching { .. } => None,
        }
    }

    /// UTC at `now` from the last sync.
    pub fn utc(&self, now: u64) -> Option<u32> {
        self.clock.map(|(at, utc)| utc.saturating_add(((now.saturating_sub(at)) / 1000) as u32))
    }

    /// Whether the device wants to try joining at `now`.
    pub fn wants_join(&self, now: u64) -> bool {
        matches!(self.join, JoinState::Searching { next_attempt: Some(t), .. } if t <= now)
    }

    /// The credential the device presents when joining.
    pub fn credential(&self) -> Option<Key128> {
        self.spec.own_link_key().map(|k| key_transport_key(&k))
    }

    /// Outcome of a join attempt.
    pub fn join_result(&mut self, now: u64, result: Result<u16, JoinFailure>) {
        match result {
            Ok(short) => {
                self.join = JoinState::Joined { short };
                self.last_join_failure = None;
                self.joins += 1;
                self.ready = false;
                self.next_time_sync = Some(now);
            }
            Err(f) => {
                let attempts = match self.join {
                    JoinState::Searching { attempts, .. } => attempts + 1,
                    JoinState::Joined { .. } => 1,
                };
                let next_attempt = Some(now + join_backoff_ms(attempts));
                self.join = JoinState::Searching { next_attempt, attempts };
                self.last_join_failure = Some(f);
            }
        }
    }

    /// Leaves the network; rejoins at `rejoin_at` (`None`: only when told).
    pub fn leave(&mut self, rejoin_at: Option<u64>) {
        self.join = JoinState::Searching { next_attempt: rejoin_at, attempts: 0 };
        self.ready = false;
        self.next_time_sync = None;
        self.out.clear();
    }

    /// Starts searching for the network now.
    pub fn rejoin(&mut self, now: u64) {
        if let JoinState::Searching { .. } = self.join {
            self.join = JoinState::Searching { next_attempt: Some(now), attempts: 0 };
        }
    }

    /// Frames waiting to be sent.
    pub fn take_outgoing(&mut self) -> Vec<Outgoing> {
        for o in &self.out {
            // Polls whose answer is a server command: GetLastMessage, GetCurrentPrice,
            // GetScheduledPrices, GetScheduledEvents.
            let Ok((h, _)) = Header::parse(&o.zcl) else { continue };
            let poll = h.frame_type == FrameType::ClusterSpecific
                && matches!(
                    (o.cluster, h.command_id),
                    (ClusterId::MESSAGING, 0x00)
                        | (ClusterId::PRICE, 0x00 | 0x01)
                        | (ClusterId::DEMAND_RESPONSE_LOAD_CONTROL, 0x01)
                );
            if poll {
                if self.recent_polls.len() >= 16 {
                    self.recent_polls.pop_front();
                }
                self.recent_polls.push_back((o.cluster, h.tsn));
            }
        }
        std::mem::take(&mut self.out)
    }

    /// Counts a pushed Messaging, Price or DRLC server command (not a poll answer).
    fn count_push(&mut self, cluster: ClusterId, frame: &Frame<'_>) {
        use zse::cluster::{drlc, messaging, price};
        let key = match &frame.payload {
            Payload::Cluster(ClusterCommand::MessagingServer(c)) => match c {
                messaging::ServerCommand::DisplayMessage(m) => {
                    format!("DisplayMessage {}", m.message_id)
                }
                messaging::ServerCommand::CancelMessage(m) => {
                    format!("CancelMessage {}", m.message_id)
                }
            },
            Payload::Cluster(ClusterCommand::PriceServer(price::ServerCommand::PublishPrice(
                p,
            ))) => {
                format!("PublishPrice {}", p.issuer_event_id)
            }
            Payload::Cluster(ClusterCommand::DrlcServer(c)) => match c {
                drlc::ServerCommand::LoadControlEvent(e) => {
                    format!("LoadControlEvent {}", e.issuer_event_id)
                }
                drlc::ServerCommand::CancelLoadControlEvent(e) => {
                    format!("CancelLoadControlEvent {}", e.issuer_event_id)
                }
                drlc::ServerCommand::CancelAllLoadControlEvents(_) => {
                    "CancelAllLoadControlEvents".to_string()
                }
            },
            Payload::Foundation(_) => {
                // A poll answered with a Default Response (e.g. NOT_FOUND): no longer pending.
                if let Some(i) =
                    self.recent_polls.iter().position(|p| *p == (cluster, frame.header.tsn))
                {
                    self.recent_polls.remove(i);
                }
                return;
            }
            _ => return,
        };
        if let Some(i) = self.recent_polls.iter().position(|p| *p == (cluster, frame.header.tsn)) {
            self.recent_polls.remove(i);
            return; // the answer to one of our polls
        }
        *self.pushes.entry(key).or_insert(0) += 1;
    }

    fn ctx(&mut self, now: u64) -> (Ctx<'_>, &mut Behavior) {
        let utc = self.utc(now);
        let ctx = Ctx {
            now,
            utc,
            spec: &self.spec,
            out: &mut self.out,
            rng: &mut self.rng,
            tsn: &mut self.tsn,
        };
        (ctx, &mut self.behavior)
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        let join = match self.join {
            JoinState::Searching { next_attempt, .. } => next_attempt,
            JoinState::Joined { .. } => None,
        };
        let joined = self.short().is_some();
        let behavior = if joined && self.ready {
            match &self.behavior {
                Behavior::Ihd(b) => b.poll_timeout(),
                Behavior::Pct(b) => b.dr.poll_timeout(),
                Behavior::Lcs(b) => b.dr.poll_timeout(),
            }
        } else {
            None
        };
        let sync = if joined { self.next_time_sync } else { None };
        [join, behavior, sync].into_iter().flatten().min()
    }

    pub fn handle_timeout(&mut self, now: u64) {
        if self.short().is_none() {
            return;
        }
        if self.next_time_sync.is_some_and(|t| t <= now) {
            self.tsn = self.tsn.wrapping_add(1);
            read_time(&mut self.out, self.tsn);
            self.next_time_sync = Some(now + TIME_RETRY_MS);
        }
        if !self.ready {
            return;
        }
        let (mut ctx, behavior) = self.ctx(now);
        match behavior {
            Behavior::Ihd(b) => b.handle_timeout(&mut ctx),
            Behavior::Pct(b) => b.dr.handle_timeout(&mut ctx, &mut pct::PctHooks(&mut b.state)),
            Behavior::Lcs(b) => b.dr.handle_timeout(&mut ctx, &mut lcs::LcsHooks(&mut b.state)),
        }
    }

    /// A ZCL frame from the ESI (already through APS: acknowledged, deduplicated, decrypted).
    pub fn handle_frame(&mut self, now: u64, cluster: ClusterId, zcl: &[u8]) {
        if self.short().is_none() {
            return;
        }
        let Ok(frame) = Frame::parse(cluster, zcl) else {
            if let Ok((header, _)) = Header::parse(zcl) {
                let (mut ctx, _) = self.ctx(now);
                ctx.default_response(cluster, &header, Status::MALFORMED_COMMAND);
            }
            return;
        };
        if cluster == ClusterId::TIME {
            self.on_time(now, &frame);
            return;
        }
        self.count_push(cluster, &frame);
        let (mut ctx, behavior) = self.ctx(now);
        let handled = match behavior {
            Behavior::Ihd(b) => b.handle_frame(&mut ctx, cluster, &frame),
            Behavior::Pct(b) => {
                b.dr.handle_frame(&mut ctx, cluster, &frame, &mut pct::PctHooks(&mut b.state))
            }
            Behavior::Lcs(b) => {
                b.dr.handle_frame(&mut ctx, cluster, &frame, &mut lcs::LcsHooks(&mut b.state))
            }
        };
        if !handled && !matches!(frame.payload, Payload::Foundation(_)) {
            let status = match frame.header.frame_type {
                FrameType::ClusterSpecific => Status::UNSUP_CLUSTER_COMMAND,
                FrameType::Global => Status::UNSUP_GENERAL_COMMAND,
            };
            ctx.default_response(cluster, &frame.header, status);
        }
    }

    /// Read Attributes Response from the Time cluster: set the clock, then start the SE side.
    fn on_time(&mut self, now: u64, frame: &Frame<'_>) {
        if let Payload::Foundation(Foundation::ReadAttributesResponse(r)) = &frame.payload {
            let time = r.records.iter().find_map(|rec| match (rec.attribute_id.0, rec.value) {
                (0x0000, Some(Value::UtcTime(t))) if t.0 != 0 && t.0 != u32::MAX => Some(t.0),
                _ => None,
            });
            if let Some(utc) = time {
                self.clock = Some((now, utc));
                self.next_time_sync = Some(now + TIME_SYNC_MS);
            }
            if !self.ready {
                self.ready = true;
                let (mut ctx, behavior) = self.ctx(now);
                match behavior {
                    Behavior::Ihd(b) => b.on_ready(&mut ctx),
                    Behavior::Pct(b) => b.dr.on_ready(&mut ctx),
                    Behavior::Lcs(b) => b.dr.on_ready(&mut ctx),
                }
            }
        }
    }

    /// A user action (confirm, opt out/in). Leave/rejoin are the simulator's.
    pub fn act(&mut self, now: u64, action: &Action) -> Result<String, String> {
        if self.short().is_none() || !self.ready {
            return Err(format!("{} is not on the network", self.name()));
        }
        let (mut ctx, behavior) = self.ctx(now);
        match (behavior, action) {
            (Behavior::Ihd(b), Action::Confirm { message_id, .. }) => {
                b.confirm(&mut ctx, *message_id)
            }
            (Behavior::Pct(b), Action::OptOut { event, .. }) => {
                b.dr.opt(&mut ctx, *event, false, &mut pct::PctHooks(&mut b.state))
            }
            (Behavior::Pct(b), Action::OptIn { event, .. }) => {
                b.dr.opt(&mut ctx, *event, true, &mut pct::PctHooks(&mut b.state))
            }
            (Behavior::Lcs(b), Action::OptOut { event, .. }) => {
                b.dr.opt(&mut ctx, *event, false, &mut lcs::LcsHooks(&mut b.state))
            }
            (Behavior::Lcs(b), Action::OptIn { event, .. }) => {
                b.dr.opt(&mut ctx, *event, true, &mut lcs::LcsHooks(&mut b.state))
            }
            _ => Err(format!("a {} cannot do that", self.spec.kind.name())),
        }
    }

    /// Power drawn now, watts.
    pub fn load_w(&self) -> u32 {
        match &self.behavior {
            Behavior::Ihd(_) => 0,
            Behavior::Pct(b) => b.state.load_w(self.spec.load_w),
            Behavior::Lcs(b) => b.state.load_w(self.spec.load_w),
        }
    }

    /// e.g. `ihd 000D6F0000000001`.
    pub fn name(&self) -> String {
        format!("{} {}", self.spec.kind.name(), self.spec.eui64)
    }

    /// One line of human-readable state.
    pub fn status(&self, now: u64) -> String {
        let net = match (self.join, self.last_join_failure) {
            (JoinState::Joined { short }, _) if self.ready => {
                format!("joined 0x{short:04X}, ready")
            }
            (JoinState::Joined { short }, _) => format!("joined 0x{short:04X}"),
            (JoinState::Searching { .. }, Some(f)) => format!("not joined ({f})"),
            (JoinState::Searching { .. }, None) => "not joined".into(),
        };
        let utc = self.utc(now).map_or_else(|| "time unknown".into(), |t| format!("utc {t}"));
        let detail = match &self.behavior {
            Behavior::Ihd(b) => b.status(),
            Behavior::Pct(b) => b.status(),
            Behavior::Lcs(b) => b.status(),
        };
        format!("{net}; {utc}; {detail}")
    }
}
