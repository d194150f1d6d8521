//! The sans-IO link endpoint: handshake, sequence numbers, acknowledgements, retransmission,
//! duplicate suppression. The same type runs on the coordinator and in the gateway.
//!
//! The caller feeds it received bytes and time, and drains what it wants done:
//!
//! ```text
//! loop {
//!     ep.handle_bytes(now, &bytes_from_serial);        // or ep.handle_timeout(now)
//!     while let Some(ev) = ep.poll_event() { ... }     // Received, Acked, Failed, Connected, ...
//!     while let Some(n) = ep.poll_transmit(&mut buf) { serial.write(&buf[..n]) }
//!     sleep_until(ep.poll_timeout());
//! }
//! ```
//! Rules (also in `docs/host-link.md`): a `Data` frame is accepted only in order; every
//! accepted or duplicate `Data` is answered with a cumulative `Ack`; an unacknowledged frame is
//! retransmitted after `retransmit_timeout_ms`, at most `max_retries` times, after which the
//! session ends and a new handshake starts.

use super::frame::{
    decode_raw, encode_raw, wrap, Feed, FrameDecoder, Hello, LinkFault, NodeInfo, Packet, Refusal,
    MAX_MESSAGE_LEN, MAX_RAW_LEN, MAX_WIRE_LEN, PROTOCOL_VERSION,
};
use super::types::{LinkErrorCode, RefusalReason};
use super::Message;
use core::fmt;
use core::marker::PhantomData;
use heapless::{Deque, Vec};

mod events;
mod receive;
use events::{Control, Settled};
pub use events::{FailReason, LinkCounters, LinkEvent, ProtocolError};

/// Tunables of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkConfig {
    /// What this node says about itself in its `Hello`.
    pub node: NodeInfo,
    /// Session ids are `session_seed`, `session_seed + 1`, ... for successive sessions. It must
    /// differ between boots (random, or a boot counter): a peer that sees a known session id
    /// takes the `Hello` for a retransmission.
    pub session_seed: u32,
    /// Time before an unacknowledged `Data` frame is sent again. It must exceed the worst
    /// round trip: a full window of the largest frames each way plus processing. At 115200 baud
    /// a 354-byte frame takes 31 ms, so 2 × 4 × 31 ms ≈ 250 ms; the default doubles that.
    pub retransmit_timeout_ms: u32,
    /// Retransmissions after the first transmission before the session is declared lost.
    pub max_retries: u8,
    /// Interval between `Hello`s while no session is established.
    pub hello_interval_ms: u32,
}

impl LinkConfig {
    pub const DEFAULT_RETRANSMIT_TIMEOUT_MS: u32 = 500;
    pub const DEFAULT_MAX_RETRIES: u8 = 5;
    pub const DEFAULT_HELLO_INTERVAL_MS: u32 = 1000;

    pub const fn new(node: NodeInfo, session_seed: u32) -> Self {
        Self {
            node,
            session_seed,
            retransmit_timeout_ms: Self::DEFAULT_RETRANSMIT_TIMEOUT_MS,
            max_retries: Self::DEFAULT_MAX_RETRIES,
            hello_interval_ms: Self::DEFAULT_HELLO_INTERVAL_MS,
        }
    }
}

/// Sequence number of a reliable frame, returned by [`LinkEndpoint::send`] and named again in
/// [`LinkEvent::Acked`] / [`LinkEvent::Failed`]. Unique per endpoint until it wraps at 2¹⁶.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Seq(pub u16);

/// Where the handshake stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    /// Sending `Hello`s; `send` fails with `NotConnected`.
    Connecting,
    /// Session established with the peer in [`LinkEndpoint::peer`].
    Connected,
    /// Versions (or roles) do not match; no more `Hello`s until [`LinkEndpoint::reconnect`].
    Refused,
}

/// Why `send` refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkError {
    /// No session: wait for `LinkEvent::Connected`.
    NotConnected,
    /// `WINDOW` reliable frames are unacknowledged or their outcome not yet polled.
    WindowFull,
    /// The output buffer of `send_unreliable` is smaller than the frame.
    BufferTooSmall,
    /// The message did not encode (larger than the protocol's maximum).
    Encode,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotConnected => "host link not connected",
            Self::WindowFull => "host link send window full",
            Self::BufferTooSmall => "buffer too small for a host-link frame",
            Self::Encode => "message too large for the host link",
        })
    }
}

/// How many rejected sequence numbers are remembered, to answer their retransmissions with
/// the same `Error` instead of an `Ack`.
const REJECT_MEMORY: usize = 8;
/// Queued link `Error` frames; more are dropped (the peer retransmits or counts anyway).
const FAULT_QUEUE: usize = 4;
/// Queued control events (connected, disconnected, refused, protocol error).
const CONTROL_QUEUE: usize = 4;

type Raw = Vec<u8, MAX_RAW_LEN>;

/// A reliable frame from `send` until its outcome is polled.
struct InFlight {
    seq: u16,
    /// `body ‖ crc`, kept for retransmission.
    raw: Raw,
    transmissions: u8,
    /// Retransmission deadline; `None` = due for (re)transmission now.
    deadline: Option<u64>,
    settled: Option<Settled>,
}

/// One end of the host link. `Tx` is what this end sends, `Rx` what it receives; `WINDOW`
/// bounds unacknowledged reliable frames, `RXQ` received messages not yet polled (further
/// `Data` is left unacknowledged, so the peer retransmits it later: flow control).
pub struct LinkEndpoint<Tx, Rx, const WINDOW: usize = 4, const RXQ: usize = 2> {
    config: LinkConfig,
    state: LinkState,
    now: u64,
    /// Our current session id and the sequence number our `Data` starts at in it.
    session: u32,
    sessions_started: u32,
    first_seq: u16,
    peer: Option<Hello>,
    // transmit side
    next_seq: u16,
    in_flight: Vec<InFlight, WINDOW>,
    hello_due: bool,
    hello_deadline: Option<u64>,
    reply_echo: Option<u32>,
    refusal: Option<Refusal>,
    ack_due: bool,
    faults: Deque<LinkFault, FAULT_QUEUE>,
    // receive side
    decoder: FrameDecoder<MAX_RAW_LEN>,
    expected: u16,
    rejected: Deque<(u16, LinkErrorCode), REJECT_MEMORY>,
    received: Deque<(u64, Rx), RXQ>,
    control: Deque<(u64, Control), CONTROL_QUEUE>,
    stamp: u64,
    counters: LinkCounters,
    _tx: PhantomData<fn(&Tx)>,
}

impl<Tx: Message, Rx: Message, const WINDOW: usize, const RXQ: usize>
    LinkEndpoint<Tx, Rx, WINDOW, RXQ>
{
    /// A new endpoint, about to send its first `Hello`.
    pub fn new(config: LinkConfig) -> Self {
        const {
            assert!(Tx::POSTCARD_MAX_SIZE <= MAX_MESSAGE_LEN, "Tx larger than the frame buffers");
            assert!(WINDOW > 0 && RXQ > 0);
        }
        let mut ep = Self {
            config,
            state: LinkState::Connecting,
            now: 0,
            session: config.session_seed,
            sessions_started: 0,
            first_seq: 0,
            peer: None,
            next_seq: 0,
            in_flight: Vec::new(),
            hello_due: false,
            hello_deadline: None,
            reply_echo: None,
            refusal: None,
            ack_due: false,
            faults: Deque::new(),
            decoder: FrameDecoder::new(),
            expected: 0,
            rejected: Deque::new(),
            received: Deque::new(),
            control: Deque::new(),
            stamp: 0,
            counters: LinkCounters::default(),
            _tx: PhantomData,
        };
        ep.start_connecting();
        ep
    }

    pub fn state(&self) -> LinkState {
        self.state
    }

    pub fn is_connected(&self) -> bool {
        self.state == LinkState::Connected
    }

    /// The peer's `Hello` of the current session.
    pub fn peer(&self) -> Option<&Hello> {
        self.peer.as_ref()
    }

    pub fn counters(&self) -> &LinkCounters {
        &self.counters
    }

    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// Reliable frames sent and not yet reported by `poll_event`.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Queues a reliable message. It is sent by `poll_transmit`, retransmitted until
    /// acknowledged, and its outcome is reported as `Acked(seq)` or `Failed { seq, .. }`.
    pub fn send(&mut self, now: u64, msg: &Tx) -> Result<Seq, LinkError> {
        self.advance(now);
        if self.state != LinkState::Connected {
            return Err(LinkError::NotConnected);
        }
        if self.in_flight.is_full() {
            return Err(LinkError::WindowFull);
        }
        let seq = self.next_seq;
        let raw = encode_to_raw(&Packet::Data { seq, msg })?;
        let entry = InFlight { seq, raw, transmissions: 0, deadline: None, settled: None };
        self.in_flight.push(entry).map_err(|_| LinkError::WindowFull)?;
        self.next_seq = seq.wrapping_add(1);
        Ok(Seq(seq))
    }

    /// Encodes an unreliable message (e.g. a heartbeat) straight into `buf` (at least
    /// [`MAX_WIRE_LEN`] bytes) for the caller to write now: sent once, never acknowledged,
    /// never retransmitted, and not held by the endpoint (no buffer for it in RAM).
    pub fn send_unreliable(&mut self, msg: &Tx, buf: &mut [u8]) -> Result<usize, LinkError> {
        if self.state != LinkState::Connected {
            return Err(LinkError::NotConnected);
        }
        let raw = encode_to_raw(&Packet::Datagram(msg))?;
        let n = wrap(&raw, buf, false).map_err(|_| LinkError::BufferTooSmall)?;
        bump(&mut self.counters.frames_tx);
        Ok(n)
    }

    /// Ends the current session (if any) and starts a new handshake with a new session id,
    /// e.g. after `Refused`, or when the application knows the peer restarted.
    pub fn reconnect(&mut self, now: u64) {
        self.advance(now);
        self.end_session();
        self.start_connecting();
    }

    /// Feeds bytes read from the serial port (any chunking; garbage is counted and dropped).
    pub fn handle_bytes(&mut self, now: u64, bytes: &[u8]) {
        self.advance(now);
        for &b in bytes {
            match self.decoder.feed(b) {
                Feed::Nothing => {}
                Feed::Error(e) => self.frame_error(e),
                Feed::Frame(_) => match decode_raw::<Rx>(self.decoder.frame()) {
                    Ok(incoming) => {
                        bump(&mut self.counters.frames_rx);
                        self.on_incoming(incoming);
                    }
                    Err(e) => self.frame_error(e),
                },
            }
        }
    }

    /// Runs the timers: retransmissions, retry exhaustion, `Hello` repetition.
    pub fn handle_timeout(&mut self, now: u64) {
        self.advance(now);
        if self.state == LinkState::Connecting && self.hello_deadline.is_some_and(|d| d <= self.now)
        {
            self.hello_deadline = None;
            self.hello_due = true;
        }
        let mut exhausted = false;
        let max_tx = self.config.max_retries.saturating_add(1);
        for i in 0..self.in_flight.len() {
            let Some(e) = self.in_flight.get_mut(i) else { break };
            if e.settled.is_some() || e.deadline.is_none_or(|d| d > self.now) {
                continue;
            }
            if e.transmissions >= max_tx {
                exhausted = true;
                let stamp = next_stamp(&mut self.stamp);
                e.settled = Some(Settled { stamp, failure: Some(FailReason::RetriesExhausted) });
                e.deadline = None;
                bump(&mut self.counters.retries_exhausted);
            } else {
                e.deadline = None;
                bump(&mut self.counters.retransmissions);
            }
        }
        if exhausted {
            self.reconnect(self.now);
        }
    }

    /// The earliest time `handle_timeout` has something to do.
    pub fn poll_timeout(&self) -> Option<u64> {
        let hello = if self.state == LinkState::Connecting { self.hello_deadline } else { None };
        self.in_flight
            .iter()
            .filter(|e| e.settled.is_none())
            .filter_map(|e| e.deadline)
            .chain(hello)
            .min()
    }

    /// Writes the next frame to send into `buf` (which must hold [`MAX_WIRE_LEN`] bytes) and
    /// returns its length; `None` when nothing is due. Retransmission timers start from the
    /// latest `now` given to the endpoint, so call this right after the `handle_*` calls.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        if buf.len() < MAX_WIRE_LEN {
            bump(&mut self.counters.tx_buffer_too_small);
            return None;
        }
        let n = self.next_frame(buf)?;
        bump(&mut self.counters.frames_tx);
        Some(n)
    }

    /// The next event, oldest first: received messages, outcomes of sent ones, session
    /// changes, protocol errors. Drain it after every `handle_*` call.
    pub fn poll_event(&mut self) -> Option<LinkEvent<Rx>> {
        self.next_event(true)
    }

    /// Like [`poll_event`](Self::poll_event), but leaves received messages queued: for an
    /// application that cannot take another message yet but must still learn the outcomes of
    /// its own frames. While `RXQ` messages wait, further `Data` is not acknowledged and the
    /// peer retransmits it later (flow control, `docs/host-link.md` §4.2).
    pub fn poll_event_except_received(&mut self) -> Option<LinkEvent<Rx>> {
        self.next_event(false)
    }

    fn next_event(&mut self, take_received: bool) -> Option<LinkEvent<Rx>> {
        let control = self.control.front().map(|c| c.0);
        let received = if take_received { self.received.front().map(|r| r.0) } else { None };
        let settled = self
            .in_flight
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.settled.map(|s| (s.stamp, i)))
            .min();
        let oldest = [control, received, settled.map(|s| s.0)].into_iter().flatten().min()?;
        if control == Some(oldest) {
            let (_, c) = self.control.pop_front()?;
            return Some(c.into_event(self.counters));
        }
        if received == Some(oldest) {
            return self.received.pop_front().map(|(_, m)| LinkEvent::Received(m));
        }
        let (_, i) = settled?;
        let e = self.in_flight.remove(i);
        let seq = Seq(e.seq);
        Some(match e.settled.and_then(|s| s.failure) {
            None => LinkEvent::Acked(seq),
            Some(reason) => LinkEvent::Failed { seq, reason },
        })
    }

    fn advance(&mut self, now: u64) {
        self.now = self.now.max(now);
    }

    fn hello(&self) -> Hello {
        Hello {
            protocol: PROTOCOL_VERSION,
            node: self.config.node,
            session: self.session,
            first_seq: self.first_seq,
        }
    }

    fn start_connecting(&mut self) {
        self.state = LinkState::Connecting;
        self.session = self.config.session_seed.wrapping_add(self.sessions_started);
        self.sessions_started = self.sessions_started.wrapping_add(1);
        self.first_seq = self.next_seq;
        self.hello_due = true;
        self.hello_deadline = None;
    }

    /// Ends the session: pending frames fail, queued transmissions are dropped.
    fn end_session(&mut self) {
        for e in self.in_flight.iter_mut().filter(|e| e.settled.is_none()) {
            let stamp = next_stamp(&mut self.stamp);
            e.settled = Some(Settled { stamp, failure: Some(FailReason::SessionEnded) });
            e.deadline = None;
        }
        if self.state == LinkState::Connected {
            self.push_control(Control::Disconnected);
        }
        self.peer = None;
        self.ack_due = false;
        self.faults.clear();
        self.rejected.clear();
        self.state = LinkState::Connecting;
    }

    /// Adopts `hello` as the peer of a new session.
    fn sync(&mut self, hello: Hello) {
        self.end_session();
        self.first_seq = self.next_seq;
        self.expected = hello.first_seq;
        self.peer = Some(hello);
        self.state = LinkState::Connected;
        self.hello_due = false;
        self.hello_deadline = None;
        bump(&mut self.counters.sessions);
        self.push_control(Control::Connected(hello));
    }

    fn refuse(&mut self, reason: RefusalReason) {
        let refusal = Refusal { reason, version: PROTOCOL_VERSION };
        let already = self.state == LinkState::Refused;
        self.end_session();
        self.state = LinkState::Refused;
        self.refusal = Some(refusal);
        if !already {
            self.push_control(Control::Refused { refusal, by_peer: false });
        }
    }

    fn push_control(&mut self, c: Control) {
        let is_error = matches!(c, Control::ProtocolError(_));
        if is_error && self.control.iter().any(|(_, q)| matches!(q, Control::ProtocolError(_))) {
            return; // one pending protocol error is enough; the counters have the rest
        }
        let stamp = next_stamp(&mut self.stamp);
        if self.control.push_back((stamp, c)).is_err() {
            bump(&mut self.counters.events_dropped);
        }
    }

    /// Picks the next frame by priority and writes it into `buf` (big enough, checked).
    fn next_frame(&mut self, buf: &mut [u8]) -> Option<usize> {
        if let Some(r) = self.refusal.take() {
            return control_frame(&Packet::Refuse(r), buf);
        }
        if let Some(echo) = self.reply_echo.take() {
            return control_frame(&Packet::HelloReply { hello: self.hello(), echo }, buf);
        }
        if self.state == LinkState::Connecting && self.hello_due {
            self.hello_due = false;
            self.hello_deadline =
                Some(self.now.saturating_add(u64::from(self.config.hello_interval_ms)));
            return control_frame(&Packet::Hello(self.hello()), buf);
        }
        if self.ack_due {
            self.ack_due = false;
            return control_frame(&Packet::Ack { next: self.expected }, buf);
        }
        if let Some(f) = self.faults.pop_front() {
            return control_frame(&Packet::Error(f), buf);
        }
        let deadline = self.now.saturating_add(u64::from(self.config.retransmit_timeout_ms));
        if let Some(e) =
            self.in_flight.iter_mut().find(|e| e.settled.is_none() && e.deadline.is_none())
        {
            e.transmissions = e.transmissions.saturating_add(1);
            e.deadline = Some(deadline);
            return wrap(&e.raw, buf, false).ok();
        }
        None
    }
}

/// Encodes a frame that is not kept for retransmission straight into `buf`.
fn control_frame(packet: &Packet<()>, buf: &mut [u8]) -> Option<usize> {
    let raw = encode_to_raw(packet).ok()?;
    wrap(&raw, buf, packet.leading_delimiter()).ok()
}

fn encode_to_raw<M: serde::Serialize>(packet: &Packet<M>) -> Result<Raw, LinkError> {
    let mut raw = Raw::new();
    raw.resize(MAX_RAW_LEN, 0).map_err(|_| LinkError::Encode)?;
    let n = encode_raw(packet, &mut raw).map_err(|_| LinkError::Encode)?;
    raw.truncate(n);
    Ok(raw)
}

/// Event order stamps (a `u64` does not wrap in practice; `wrapping_add` keeps it panic-free).
fn next_stamp(stamp: &mut u64) -> u64 {
    *stamp = stamp.wrapping_add(1);
    *stamp
}

fn bump(counter: &mut u32) {
    *counter = counter.wrapping_add(1);
}

impl<Tx, Rx, const WINDOW: usize, const RXQ: usize> fmt::Debug
    for LinkEndpoint<Tx, Rx, WINDOW, RXQ>
{
    /// State and counters only: buffers may hold link keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkEndpoint")
            .field("state", &self.state)
            .field("session", &self.session)
            .field("peer", &self.peer)
            .field("next_seq", &self.next_seq)
            .field("expected", &self.expected)
            .field("in_flight", &self.in_flight.len())
            .field("received", &self.received.len())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}
