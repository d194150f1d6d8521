//! The host-link protocol between the gateway (host) and the ESI coordinator (design.md §3),
//! specified in `docs/host-link.md`.
//!
//! * [`Request`] / [`Command`]: host → coordinator; [`Report`]: coordinator → host.
//! * [`frame`]: the wire format — postcard-encoded [`Packet`]s, CRC-16/X-25, COBS framing with
//!   0x00 delimiters, and the worst-case sizes ([`MAX_WIRE_LEN`] and friends).
//! * [`LinkEndpoint`]: the sans-IO endpoint both sides run — `Hello` handshake with version
//!   check, sequence numbers, cumulative acks, bounded retransmission, duplicate suppression.
//!
//! Everything here is `no_std`, allocation-free and panic-free on any input.

pub mod endpoint;
pub mod frame;
#[cfg(feature = "host")]
pub mod host;
mod report;
mod request;
pub mod types;

#[cfg(test)]
mod endpoint_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod sim_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;

pub use endpoint::{
    FailReason, LinkConfig, LinkCounters, LinkEndpoint, LinkError, LinkEvent, LinkState,
    ProtocolError, Seq,
};
pub use frame::{
    Hello, LinkFault, NodeInfo, Packet, ProtocolVersion, Refusal, Role, SoftwareVersion,
    MAX_BODY_LEN, MAX_MESSAGE_LEN, MAX_RAW_LEN, MAX_WIRE_LEN, PROTOCOL_VERSION,
};
pub use report::{
    AttributeRecord, DeliveryOutcome, DeliveryResult, DeviceEntry, DeviceEvent, DeviceList,
    ErrorReport, EventStatus, Heartbeat, HeartbeatCounters, MessageConfirmed, MeterReading,
    PowerSwitchStatus, Report, RequestResult, ResultDetail,
};
pub use request::{
    AddDevice, CancelAllLoadControlEvents, CancelLoadControlEvent, CancelMessage, Command,
    DisplayMessage, LoadControlEvent, PublishPrice, ReadMeter, RemoveDevice, Request, SetTime,
};
pub use types::{
    DeviceState, ErrorCode, Eui64, LinkErrorCode, LinkKey, PowerState, RefusalReason, RemoveReason,
    ResultCode, SwitchState, Targets,
};

use postcard::experimental::max_size::MaxSize;
use serde::{de::DeserializeOwned, Serialize};

/// A message type carried in `Data` / `Datagram` frames.
pub trait Message: Serialize + DeserializeOwned + MaxSize {
    /// Top-level variants this version knows. A frame whose variant tag is at or beyond this
    /// comes from a newer peer and is answered `UNSUPPORTED` rather than `MALFORMED`.
    const KNOWN_VARIANTS: u32;

    /// Reads the top-level variant tag of an encoded message, if possible.
    fn variant_tag(encoded: &[u8]) -> Option<u32> {
        postcard::take_from_bytes::<u32>(encoded).ok().map(|(tag, _)| tag)
    }
}

/// The gateway's end of the link.
pub type HostEndpoint = LinkEndpoint<Request, Report>;
/// The coordinator's end of the link.
pub type CoordinatorEndpoint = LinkEndpoint<Report, Request>;

/// Fuzz entry point: feeds `data` as received bytes into a fresh and a connected endpoint of
/// each role, drives their timers, and drains everything. Must never panic; the fuzz target and
/// the property tests call it.
pub fn fuzz_decode(data: &[u8]) {
    let _ = frame::decode_raw::<Request>(data);
    let _ = frame::decode_raw::<Report>(data);
    fuzz_endpoint::<Report, Request>(data, Role::Coordinator);
    fuzz_endpoint::<Request, Report>(data, Role::Host);
}

fn fuzz_endpoint<Tx: Message, Rx: Message>(data: &[u8], role: Role) {
    let peer_role = match role {
        Role::Host => Role::Coordinator,
        Role::Coordinator => Role::Host,
    };
    let node = |role| NodeInfo {
        role,
        software: SoftwareVersion::default(),
        esi_eui64: Eui64(0),
        slot_capacity: 0,
    };
    let mut fresh = LinkEndpoint::<Tx, Rx>::new(LinkConfig::new(node(role), 1));
    let mut connected = LinkEndpoint::<Tx, Rx>::new(LinkConfig::new(node(role), 1));
    let hello = Packet::<Rx>::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        node: node(peer_role),
        session: 7,
        first_seq: 0,
    });
    let mut wire = [0u8; MAX_WIRE_LEN];
    if let Ok(n) = frame::encode_frame(&hello, &mut wire) {
        connected.handle_bytes(0, wire.get(..n).unwrap_or_default());
    }
    for ep in [&mut fresh, &mut connected] {
        for (i, chunk) in data.chunks(61).enumerate() {
            let now = i as u64 * 100;
            ep.handle_bytes(now, chunk);
            ep.handle_timeout(now);
            while ep.poll_event().is_some() {}
            while ep.poll_transmit(&mut wire).is_some() {}
            let _ = ep.poll_timeout();
        }
        ep.handle_timeout(u64::MAX);
        while ep.poll_event().is_some() {}
        while ep.poll_transmit(&mut wire).is_some() {}
    }
}
