//! Scenario and property tests for the ESI core. Requests are built with zse's `Repr` types (or,
//! for clusters zse does not cover yet, from the se10.md byte tables), and everything the core
//! sends is decoded again with `zse::zcl::Frame::parse`.

extern crate std;

mod delivery;
mod drlc;
mod messaging;
mod metering;
mod price;
mod props;
mod provisioning;
mod time_basic;

use super::*;
use std::vec::Vec;
use zse::cluster::ClusterCommand;
use zse::zcl::foundation::{Command as Foundation, ReadAttributes};
use zse::zcl::{
    AttributeId, ClusterId, Direction, Eui64, Frame, FrameType, Header, Payload, Records, Status,
    TypedValue, UtcTime, Value,
};

pub use crate::testutil::{indication, short_of, FakeMeter, IHD, KEY, PCT, T0};

pub type TestEsi = Esi<16, 8, 5, FakeMeter>;

/// An ESI plus a virtual clock and a log of everything it did.
pub struct Harness {
    pub esi: TestEsi,
    pub now: Instant,
    next_request: u32,
    next_tsn: u8,
}

impl Harness {
    /// Time set to `T0`, no devices.
    pub fn new() -> Self {
        Self::with_config(EsiConfig::default())
    }

    pub fn with_config(config: EsiConfig) -> Self {
        let meter = FakeMeter { summation: Some(123_456), demand: Some(-1500), status: None };
        let mut h = Self {
            esi: Esi::new(config, meter),
            now: Instant(1_000),
            next_request: 100,
            next_tsn: 0x40,
        };
        let out = h.command(Command::SetTime(TimeSetting::utc(UtcTime(T0))));
        assert_eq!(result_of(&out), Some(Ok(CommandOk::TimeSet)));
        h
    }

    /// Sends a command, drains, returns (request id, actions).
    pub fn command_id(&mut self, cmd: Command<'_>) -> (RequestId, Vec<Action>) {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        self.esi.handle_command(self.now, id, cmd);
        (id, self.drain())
    }

    pub fn command(&mut self, cmd: Command<'_>) -> Vec<Action> {
        self.command_id(cmd).1
    }

    pub fn drain(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        while let Some(a) = self.esi.poll_action() {
            out.push(a);
            assert!(out.len() < 1000, "poll_action does not terminate");
        }
        out
    }

    /// Moves the clock and runs timers.
    pub fn advance(&mut self, ms: u64) -> Vec<Action> {
        self.now = self.now.add_millis(ms);
        self.esi.handle_timeout(self.now);
        self.drain()
    }

    /// Adds, joins and pairs a device (short address from its EUI).
    pub fn pair(&mut self, eui: Eui64) {
        let out = self.command(Command::AddDevice {
            eui64: eui,
            link_key: LinkKey::from_bytes(KEY),
            join_window_secs: 3600,
        });
        assert!(matches!(result_of(&out), Some(Ok(CommandOk::DeviceAdded { .. }))), "{out:?}");
        let short = short_of(eui);
        let d = self.esi.handle_join_request(self.now, eui, short);
        assert_eq!(d, JoinDecision::Accept { link_key: LinkKey::from_bytes(KEY) });
        self.esi.handle_key_established(self.now, eui);
        self.drain();
    }

    /// The TSN `tsn()` returned last.
    pub fn next_tsn_peek(&self) -> u8 {
        self.next_tsn
    }

    pub fn tsn(&mut self) -> u8 {
        self.next_tsn = self.next_tsn.wrapping_add(1);
        self.next_tsn
    }

    /// Delivers a ZCL frame from `eui` with link-key security.
    pub fn rx(&mut self, eui: Eui64, cluster: ClusterId, zcl: &[u8]) -> Vec<Action> {
        self.rx_with(eui, cluster, ApsSecurity::LinkKey, false, zcl)
    }

    pub fn rx_with(
        &mut self,
        eui: Eui64,
        cluster: ClusterId,
        security: ApsSecurity,
        broadcast: bool,
        zcl: &[u8],
    ) -> Vec<Action> {
        let ind = indication(eui, cluster, security, broadcast, zcl);
        self.esi.handle_aps_indication(self.now, ind);
        self.drain()
    }

    /// Acknowledges every frame sent, and every frame those acks release, then lets the grace
    /// period pass: all pushes so far are finished.
    pub fn settle(&mut self, actions: &[Action]) -> Vec<Action> {
        let mut all = Vec::new();
        let mut next = self.confirm_all(actions, ApsStatus::SUCCESS);
        while !sent(&next).is_empty() {
            let more = self.confirm_all(&next, ApsStatus::SUCCESS);
            all.extend(next);
            next = more;
        }
        all.extend(next);
        all.extend(self.advance(self.esi.config().retry.default_response_grace_ms));
        all
    }

    /// Confirms every SendAps in `actions` with `status`.
    pub fn confirm_all(&mut self, actions: &[Action], status: ApsStatus) -> Vec<Action> {
        for f in sent(actions) {
            self.esi.handle_aps_confirm(self.now, f.handle, status);
        }
        self.drain()
    }
}

/// The single CommandResult in `actions`, if any.
pub fn result_of(actions: &[Action]) -> Option<Result<CommandOk, CommandError>> {
    let mut it = actions.iter().filter_map(|a| match a {
        Action::Host(Outcome::CommandResult { result, .. }) => Some(result.clone()),
        _ => None,
    });
    let first = it.next();
    assert!(it.next().is_none(), "more than one CommandResult: {actions:?}");
    first
}

pub fn sent(actions: &[Action]) -> Vec<&ApsFrame> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAps(f) => Some(f),
            _ => None,
        })
        .collect()
}

pub fn outcomes(actions: &[Action]) -> Vec<&Outcome> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Host(o) => Some(o),
            _ => None,
        })
        .collect()
}

pub fn delivery_results(actions: &[Action]) -> Vec<(Eui64, DeliveryOutcome)> {
    outcomes(actions)
        .into_iter()
        .filter_map(|o| match o {
            Outcome::DeliveryResult { eui64, outcome, .. } => Some((*eui64, *outcome)),
            _ => None,
        })
        .collect()
}

/// Decodes a frame the core sent and checks the addressing every SE frame shares.
pub fn decode(f: &ApsFrame) -> Frame<'_> {
    assert_eq!(f.profile, 0x0109);
    assert!(f.ack_requested);
    Frame::parse(f.cluster, &f.payload).expect("the core's output must decode")
}

/// A cluster-specific request frame built by zse.
pub fn request(cmd: ClusterCommand<'_>, tsn: u8, ddr: bool) -> Vec<u8> {
    let frame = Frame::cluster(cmd, tsn, ddr);
    let mut buf = [0u8; 127];
    let n = frame.emit(&mut buf).unwrap();
    buf[..n].to_vec()
}

/// A client→server cluster-specific frame with a hand-written payload (clusters zse lacks).
pub fn raw_request(command_id: u8, tsn: u8, ddr: bool, payload: &[u8]) -> Vec<u8> {
    let mut v = std::vec![if ddr { 0x11 } else { 0x01 }, tsn, command_id];
    v.extend_from_slice(payload);
    v
}

/// A Read Attributes request built by zse.
pub fn read_attributes(ids: &[u16], tsn: u8) -> Vec<u8> {
    let ids: Vec<AttributeId> = ids.iter().map(|&i| AttributeId(i)).collect();
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
    let mut buf = [0u8; 127];
    let n = frame.emit(&mut buf).unwrap();
    buf[..n].to_vec()
}

/// Decodes a Read Attributes Response: (attribute id, status, value).
pub fn read_attributes_response(f: &ApsFrame) -> (Header, Vec<(u16, Status, Option<Value<'_>>)>) {
    assert!(matches!(
        decode(f).payload,
        Payload::Foundation(Foundation::ReadAttributesResponse(_))
    ));
    let (header, body) = Header::parse(&f.payload).unwrap();
    assert_eq!((header.frame_type, header.command_id), (FrameType::Global, 0x01));
    assert_eq!(header.direction, Direction::ServerToClient);
    let mut r = zse::wire::Reader::new(body);
    let mut out = Vec::new();
    while !r.is_empty() {
        let id = r.u16("id").unwrap();
        let status = Status(r.u8("status").unwrap());
        let value = (status == Status::SUCCESS).then(|| TypedValue::read(&mut r).unwrap());
        out.push((id, status, value));
    }
    (header, out)
}

/// The Default Response in `f`: (tsn, command id answered, status).
pub fn default_response(f: &ApsFrame) -> (u8, u8, Status) {
    let frame = decode(f);
    assert!(frame.header.disable_default_response);
    match frame.payload {
        Payload::Foundation(Foundation::DefaultResponse(d)) => {
            (frame.header.tsn, d.command_id, d.status)
        }
        other => panic!("not a default response: {other:?}"),
    }
}

/// The one frame sent in `actions`.
pub fn only_frame(actions: &[Action]) -> &ApsFrame {
    let s = sent(actions);
    assert_eq!(s.len(), 1, "{actions:?}");
    s[0]
}
