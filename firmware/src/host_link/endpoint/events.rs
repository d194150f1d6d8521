//! What a [`LinkEndpoint`](super::LinkEndpoint) reports: events and counters.

use super::super::frame::{FrameError, Hello, LinkFault, Refusal};
use super::super::types::LinkErrorCode;
use super::Seq;

/// Something the application should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent<M> {
    /// A session started (handshake done, or the peer restarted); carries the peer's `Hello`.
    Connected(Hello),
    /// The session ended (retries exhausted, peer restarted, refused, `reconnect`).
    Disconnected,
    /// A message from the peer: reliable ones exactly once and in order.
    Received(M),
    /// The peer acknowledged this reliable frame.
    Acked(Seq),
    /// This reliable frame will not be acknowledged. With `RetriesExhausted` or
    /// `SessionEnded` the peer may or may not have received it: requests carry a
    /// `request_id` so the host can re-send idempotently.
    Failed { seq: Seq, reason: FailReason },
    /// The handshake was refused, by the peer (`by_peer`) or by us.
    Refused { refusal: Refusal, by_peer: bool },
    /// A received frame was dropped or the peer complained; `counters` are the totals at the
    /// time of polling. Several errors between two polls are reported once.
    ProtocolError { error: ProtocolError, counters: LinkCounters },
}

/// Why a reliable frame failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailReason {
    /// Sent `1 + max_retries` times without acknowledgement; the session is restarted.
    RetriesExhausted,
    /// The session ended before it was acknowledged.
    SessionEnded,
    /// The peer could not use it (`UNSUPPORTED`: it is older than us; `MALFORMED`).
    Rejected(LinkErrorCode),
}

/// The kind of protocol trouble in a [`LinkEvent::ProtocolError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolError {
    /// A received frame was dropped.
    Frame(FrameError),
    /// The peer sent an `Error` frame not tied to one of our pending frames.
    PeerFault(LinkFault),
    /// The peer acknowledged frames we never sent in this session; a new handshake starts.
    Desync,
}

/// Link statistics; all counters wrap at 2³².
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LinkCounters {
    /// Intact frames received / frames written by `poll_transmit`.
    pub frames_rx: u32,
    pub frames_tx: u32,
    pub cobs_errors: u32,
    pub oversize_frames: u32,
    pub runt_frames: u32,
    pub crc_errors: u32,
    pub malformed: u32,
    pub unsupported: u32,
    /// `Data` frames received again (re-acknowledged, not delivered).
    pub duplicates: u32,
    /// `Data` frames ahead of the expected sequence number (dropped; the sender resends).
    pub out_of_order: u32,
    /// Frames dropped because `RXQ` received messages were waiting to be polled.
    pub rx_dropped_busy: u32,
    /// `Data`/`Datagram` frames received outside a session.
    pub rx_not_connected: u32,
    pub retransmissions: u32,
    pub retries_exhausted: u32,
    /// Link `Error` frames received from the peer.
    pub faults_received: u32,
    /// Sessions established.
    pub sessions: u32,
    pub desyncs: u32,
    /// Control events lost because the application did not poll.
    pub events_dropped: u32,
    /// `poll_transmit` calls with a buffer under `MAX_WIRE_LEN`.
    pub tx_buffer_too_small: u32,
}

impl LinkCounters {
    /// Frames that arrived damaged (COBS, size, CRC) or undecodable.
    pub fn receive_errors(&self) -> u32 {
        self.cobs_errors
            .wrapping_add(self.oversize_frames)
            .wrapping_add(self.runt_frames)
            .wrapping_add(self.crc_errors)
            .wrapping_add(self.malformed)
            .wrapping_add(self.unsupported)
    }
}

/// A settled reliable frame, waiting for `poll_event`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settled {
    pub stamp: u64,
    /// `None` = acknowledged.
    pub failure: Option<FailReason>,
}

/// Queued events that carry no message.
#[derive(Debug, Clone, Copy)]
pub(super) enum Control {
    Connected(Hello),
    Disconnected,
    Refused { refusal: Refusal, by_peer: bool },
    ProtocolError(ProtocolError),
}

impl Control {
    pub(super) fn into_event<M>(self, counters: LinkCounters) -> LinkEvent<M> {
        match self {
            Self::Connected(h) => LinkEvent::Connected(h),
            Self::Disconnected => LinkEvent::Disconnected,
            Self::Refused { refusal, by_peer } => LinkEvent::Refused { refusal, by_peer },
            Self::ProtocolError(error) => LinkEvent::ProtocolError { error, counters },
        }
    }
}
