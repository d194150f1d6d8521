//! The link layer's wire format: packets, CRC, COBS framing, and a bounded stream decoder.
//!
//! ```text
//! wire  = [0x00] COBS(body ‖ crc) 0x00        (leading 0x00 only before Hello / HelloReply)
//! body  = postcard(Packet<M>)                 (tag varint, then the variant's fields)
//! crc   = CRC-16/X-25 of body, little-endian  (poly 0x1021 reflected, init/xorout 0xFFFF)
//! ```

use super::types::{Eui64, LinkErrorCode, RefusalReason};
use super::Message;
use postcard::experimental::max_size::MaxSize;
use serde::{Deserialize, Serialize};

/// Protocol version spoken by this build. Peers with a different `major` are refused at the
/// handshake; `minor` only adds variants (see `docs/host-link.md`, versioning).
pub const PROTOCOL_VERSION: ProtocolVersion = ProtocolVersion { major: 1, minor: 0 };

/// CRC-16/X-25 (a.k.a. IBM-SDLC, ISO-HDLC): the HDLC frame check, also used for ZigBee install
/// codes (se10.md §8.1). Check value for ASCII "123456789" is 0x906E.
pub const CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_SDLC);

/// Frame delimiter (COBS guarantees the encoded frame contains no other zero byte).
pub const DELIMITER: u8 = 0x00;

/// `major.minor` of the host-link protocol. Always the first field of a `Hello`, in every
/// version, so any peer can read it and refuse politely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, MaxSize)]
pub struct ProtocolVersion {
    pub major: u8,
    pub minor: u8,
}

impl ProtocolVersion {
    /// Whether a peer speaking `other` can talk to us (same major version).
    pub const fn compatible_with(self, other: Self) -> bool {
        self.major == other.major
    }
}

/// Which end of the link a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, MaxSize)]
pub enum Role {
    /// The gateway.
    Host,
    /// The ESI coordinator firmware.
    Coordinator,
}

/// A software version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, MaxSize)]
pub struct SoftwareVersion {
    pub major: u8,
    pub minor: u8,
    pub patch: u8,
}

/// What a node says about itself in its `Hello`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, MaxSize)]
pub struct NodeInfo {
    pub role: Role,
    /// Gateway or firmware version.
    pub software: SoftwareVersion,
    /// Coordinator: the ESI's EUI-64. Host: zero.
    pub esi_eui64: Eui64,
    /// Coordinator: number of HAN device slots (5–16). Host: zero.
    pub slot_capacity: u8,
}

/// The handshake frame's contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, MaxSize)]
pub struct Hello {
    /// Must stay the first field in every protocol version.
    pub protocol: ProtocolVersion,
    pub node: NodeInfo,
    /// Chosen afresh for every link session (boot, or reconnect after a failure): tells a
    /// restarted peer from a retransmitted `Hello`.
    pub session: u32,
    /// Sequence number of the sender's first `Data` frame in this session.
    pub first_seq: u16,
}

/// Refusal of a peer's `Hello`. Layout frozen across all versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, MaxSize)]
pub struct Refusal {
    pub reason: RefusalReason,
    /// The refusing side's protocol version.
    pub version: ProtocolVersion,
}

/// A link `Error` frame: the peer's complaint about one of our frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, MaxSize)]
pub struct LinkFault {
    pub code: LinkErrorCode,
    /// The `Data` frame complained about, when its sequence number could be read. A rejected
    /// `Data` frame is consumed: the sender must not retransmit it.
    pub seq: Option<u16>,
}

/// Everything that travels on the link. Variant order is the wire tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Packet<M> {
    /// 0: start (or restart) a session.
    Hello(Hello),
    /// 1: answer to a `Hello`; `echo` is the session of the `Hello` answered.
    HelloReply { hello: Hello, echo: u32 },
    /// 2: the `Hello` was refused.
    Refuse(Refusal),
    /// 3: a reliable message; acknowledged, retransmitted, delivered once and in order.
    Data { seq: u16, msg: M },
    /// 4: cumulative acknowledgement: every `Data` before `next` has been received.
    Ack { next: u16 },
    /// 5: an unreliable message (heartbeats): no ack, no retransmission, may be lost.
    Datagram(M),
    /// 6: complaint about a received frame.
    Error(LinkFault),
}

impl<M> Packet<M> {
    /// Whether the frame is also preceded by a delimiter on the wire: `Hello`s are, so that a
    /// receiver holding a partial frame from before our restart drops it instead of merging it
    /// with ours.
    pub fn leading_delimiter(&self) -> bool {
        matches!(self, Packet::Hello(_) | Packet::HelloReply { .. })
    }
}

/// Tags of [`Packet`] variants.
pub(crate) mod tag {
    pub const HELLO: u32 = 0;
    pub const HELLO_REPLY: u32 = 1;
    pub const DATA: u32 = 3;
    pub const DATAGRAM: u32 = 5;
    /// First tag this version does not know.
    pub const UNKNOWN: u32 = 7;
}

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Largest postcard encoding of a packet whose message's largest encoding is `msg_max`.
pub const fn packet_max_len(msg_max: usize) -> usize {
    const U16_VARINT: usize = 3;
    const U32_VARINT: usize = 5;
    let control = max(
        max(Hello::POSTCARD_MAX_SIZE + U32_VARINT, Refusal::POSTCARD_MAX_SIZE),
        max(U16_VARINT, LinkFault::POSTCARD_MAX_SIZE),
    );
    1 + max(control, U16_VARINT + msg_max)
}

/// Largest encoded message in either direction.
pub const MAX_MESSAGE_LEN: usize =
    max(super::Request::POSTCARD_MAX_SIZE, super::Report::POSTCARD_MAX_SIZE);
/// Largest postcard-encoded packet (`body`).
pub const MAX_BODY_LEN: usize = packet_max_len(MAX_MESSAGE_LEN);
/// Largest `body ‖ crc`: the receive buffer size.
pub const MAX_RAW_LEN: usize = MAX_BODY_LEN + 2;
/// Largest frame on the wire, both delimiters included: the size `poll_transmit` needs.
pub const MAX_WIRE_LEN: usize = cobs::max_encoding_length(MAX_RAW_LEN) + 2;

/// Why a received frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameError {
    /// Bad COBS code sequence (the frame ended inside a run).
    Cobs,
    /// The frame grew past [`MAX_RAW_LEN`]; bytes are skipped up to the next delimiter.
    Oversize,
    /// Shorter than a tag and a CRC.
    Runt,
    /// CRC mismatch.
    Crc,
    /// Intact but undecodable.
    Malformed { seq: Option<u16> },
    /// Intact, but a frame kind or message variant this version does not know.
    Unsupported { seq: Option<u16> },
}

/// A successfully checked frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Incoming<M> {
    Packet(Packet<M>),
    /// A `Hello`/`HelloReply` from a different major version (only its version was decoded).
    IncompatibleHello(ProtocolVersion),
}

/// Errors encoding a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncodeError {
    /// The output buffer is too small.
    BufferTooSmall,
    /// postcard refused the value (cannot happen for the types in this module).
    Serialize,
}

/// Writes `postcard(packet) ‖ crc` into `buf`; returns its length.
pub fn encode_raw<M: Serialize>(packet: &Packet<M>, buf: &mut [u8]) -> Result<usize, EncodeError> {
    let body_len = match postcard::to_slice(packet, buf) {
        Ok(body) => body.len(),
        Err(postcard::Error::SerializeBufferFull) => return Err(EncodeError::BufferTooSmall),
        Err(_) => return Err(EncodeError::Serialize),
    };
    let (body, rest) = buf.split_at_mut(body_len);
    let crc = CRC.checksum(body).to_le_bytes();
    rest.get_mut(..2).ok_or(EncodeError::BufferTooSmall)?.copy_from_slice(&crc);
    Ok(body_len + 2)
}

/// COBS-encodes `raw` into `out` followed by the delimiter, with a leading delimiter too when
/// `lead` is set ([`Packet::leading_delimiter`]). Returns the bytes written.
pub fn wrap(raw: &[u8], out: &mut [u8], lead: bool) -> Result<usize, EncodeError> {
    let start = usize::from(lead);
    if lead {
        *out.first_mut().ok_or(EncodeError::BufferTooSmall)? = DELIMITER;
    }
    let body = out.get_mut(start..).ok_or(EncodeError::BufferTooSmall)?;
    let n = cobs::try_encode(raw, body).map_err(|_| EncodeError::BufferTooSmall)?;
    *out.get_mut(start + n).ok_or(EncodeError::BufferTooSmall)? = DELIMITER;
    Ok(start + n + 1)
}

/// Encodes a whole frame as it goes on the wire. Convenience for tests and tools; the endpoint
/// uses [`encode_raw`] and [`wrap`] separately so it can keep `raw` for retransmission.
pub fn encode_frame<M: Serialize>(
    packet: &Packet<M>,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let mut raw = [0u8; MAX_RAW_LEN];
    let n = encode_raw(packet, &mut raw)?;
    wrap(raw.get(..n).ok_or(EncodeError::BufferTooSmall)?, out, packet.leading_delimiter())
}

/// Decodes `T` from the whole of `bytes` (trailing bytes are an error: postcard is not
/// self-describing, so a longer frame means a layout we do not know).
fn exact<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Option<T> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((v, [])) => Some(v),
        _ => None,
    }
}

/// Checks the CRC of a COBS-decoded frame (`body ‖ crc`) and decodes the packet.
pub(crate) fn decode_raw<M: Message>(raw: &[u8]) -> Result<Incoming<M>, FrameError> {
    let Some((body, crc)) = raw.split_last_chunk::<2>() else {
        return Err(FrameError::Runt);
    };
    if body.is_empty() {
        return Err(FrameError::Runt);
    }
    if CRC.checksum(body) != u16::from_le_bytes(*crc) {
        return Err(FrameError::Crc);
    }
    let malformed = FrameError::Malformed { seq: None };
    let (tag, rest) = postcard::take_from_bytes::<u32>(body).map_err(|_| malformed)?;
    match tag {
        tag::HELLO | tag::HELLO_REPLY => {
            let (version, _) =
                postcard::take_from_bytes::<ProtocolVersion>(rest).map_err(|_| malformed)?;
            if !PROTOCOL_VERSION.compatible_with(version) {
                return Ok(Incoming::IncompatibleHello(version));
            }
            exact(body).map(Incoming::Packet).ok_or(malformed)
        }
        tag::DATA => {
            let (seq, msg) = postcard::take_from_bytes::<u16>(rest).map_err(|_| malformed)?;
            exact(body).map(Incoming::Packet).ok_or_else(|| classify::<M>(msg, Some(seq)))
        }
        tag::DATAGRAM => exact(body).map(Incoming::Packet).ok_or_else(|| classify::<M>(rest, None)),
        t if t >= tag::UNKNOWN => Err(FrameError::Unsupported { seq: None }),
        _ => exact(body).map(Incoming::Packet).ok_or(malformed),
    }
}

/// An undecodable message: from a newer peer if its variant tag is beyond ours.
fn classify<M: Message>(msg: &[u8], seq: Option<u16>) -> FrameError {
    match M::variant_tag(msg) {
        Some(t) if t >= M::KNOWN_VARIANTS => FrameError::Unsupported { seq },
        _ => FrameError::Malformed { seq },
    }
}

/// What one input byte did to a [`FrameDecoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Feed {
    Nothing,
    /// A complete COBS frame of this length is in [`FrameDecoder::frame`].
    Frame(usize),
    Error(FrameError),
}

/// Streaming COBS de-framer with a fixed buffer of `N` decoded bytes. Never allocates, never
/// panics; an oversize frame is dropped up to the next delimiter.
pub(crate) struct FrameDecoder<const N: usize> {
    state: cobs::DecoderState,
    buf: heapless::Vec<u8, N>,
    /// Dropping bytes until the next delimiter (after an oversize frame).
    skipping: bool,
}

impl<const N: usize> FrameDecoder<N> {
    pub(crate) const fn new() -> Self {
        Self { state: cobs::DecoderState::Idle, buf: heapless::Vec::new(), skipping: false }
    }

    pub(crate) fn feed(&mut self, byte: u8) -> Feed {
        use cobs::DecodeResult as R;
        if self.skipping {
            self.skipping = byte != DELIMITER;
            return Feed::Nothing;
        }
        match self.state.feed(byte) {
            Ok(R::NoData) => Feed::Nothing,
            Ok(R::DataStart) => {
                self.buf.clear();
                Feed::Nothing
            }
            Ok(R::DataContinue(b)) => {
                if self.buf.push(b).is_err() {
                    self.buf.clear();
                    self.state = cobs::DecoderState::Idle;
                    self.skipping = true;
                    return Feed::Error(FrameError::Oversize);
                }
                Feed::Nothing
            }
            Ok(R::DataComplete) => Feed::Frame(self.buf.len()),
            // Only a delimiter inside a run errs, so the decoder is back in sync already.
            Err(_) => {
                self.buf.clear();
                Feed::Error(FrameError::Cobs)
            }
        }
    }

    /// The last complete frame (valid right after `Feed::Frame`).
    pub(crate) fn frame(&self) -> &[u8] {
        &self.buf
    }
}

impl<const N: usize> core::fmt::Debug for FrameDecoder<N> {
    /// Prints the fill level only: the buffer may hold key material.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FrameDecoder")
            .field("buffered", &self.buf.len())
            .field("skipping", &self.skipping)
            .finish_non_exhaustive()
    }
}
