//! The ASH link state machine (UG101 §3–4), sans-IO, for either end of the link.
//!
//! Reliability: DATA frames carry a 3-bit frame number and the number of the next frame the
//! sender expects (`ackNum`, which acknowledges everything before it). Up to `window` DATA
//! frames are in flight; the oldest is retransmitted (go-back-N, `reTx` set) when no
//! acknowledgement arrives within `t_rx_ack`, which adapts to the measured round trip (7/8 of
//! the old value plus 1/2 of the sample, between 0.4 s and 3.2 s) and doubles on each timeout.
//! After `ack_timeouts` timeouts in a row the link fails. A NAK asks for retransmission at
//! once. A receiver NAKs a bad or out-of-sequence frame once, then stays silent until a good
//! frame arrives (the "reject condition"); a retransmitted duplicate is ACKed again.
//!
//! Reset: the host sends a Cancel Byte and RST; the NCP answers RSTACK with the reset reason,
//! and both ends restart frame numbers at 0. An NCP that fails sends ERROR. The host retries
//! RST a few times, then fails.
//!
//! The caller feeds bytes ([`Link::handle_bytes`]) and time ([`Link::handle_timeout`]) and
//! drains wire bytes ([`Link::poll_transmit`]) and events ([`Link::poll_event`]).

use super::codec::{encode, Decoder, DecoderEvent};
use super::frame::{Frame, ResetCode};
use super::{CANCEL, MAX_DATA};
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// Which end of the link this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The host (gateway, bellows): sends RST, receives RSTACK/ERROR.
    Host,
    /// The network co-processor: answers RST with RSTACK.
    Ncp,
}

/// Timing and window (UG101 §4.6 defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkConfig {
    /// DATA frames in flight, 1..=7 (bellows uses 1; EZSP itself has one command outstanding).
    pub window: u8,
    pub t_rx_ack_init_ms: u64,
    pub t_rx_ack_min_ms: u64,
    pub t_rx_ack_max_ms: u64,
    /// Consecutive acknowledgement timeouts before the link fails.
    pub ack_timeouts: u8,
    /// How long the host waits for RSTACK.
    pub t_rstack_ms: u64,
    /// RSTs the host sends before it gives up.
    pub rst_attempts: u8,
    /// EZSP frames queued for sending beyond the window.
    pub queue_limit: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            window: 1,
            t_rx_ack_init_ms: 1600,
            t_rx_ack_min_ms: 400,
            t_rx_ack_max_ms: 3200,
            ack_timeouts: 4,
            t_rstack_ms: 3200,
            rst_attempts: 3,
            queue_limit: 32,
        }
    }
}

/// The link's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Host only: RST sent (or not yet), waiting for RSTACK. DATA is not accepted.
    Resetting,
    Connected,
    /// Too many timeouts, RST unanswered, or (host) the NCP sent ERROR. Host: call
    /// [`Link::reset`]. NCP: waits for RST.
    Failed,
}

/// Why the link failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    AckTimeouts,
    RstUnanswered,
    /// The NCP sent an ERROR frame with this code.
    NcpError(ResetCode),
}

/// What the link tells its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// An EZSP frame arrived (in order, exactly once).
    Data(Vec<u8>),
    /// Host: RSTACK arrived (the NCP reset for this reason; frames restart at 0; anything
    /// queued before was dropped). NCP: the host sent RST and RSTACK went back.
    Reset(ResetCode),
    /// The link failed (see [`LinkState::Failed`]); frames in flight and queued are dropped.
    Failed(FailReason),
}

/// Why [`Link::send`] refused a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    NotConnected,
    /// Empty, or longer than [`MAX_DATA`].
    BadLength(usize),
    QueueFull,
}

/// Link statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkCounters {
    pub data_sent: u64,
    pub data_received: u64,
    pub retransmissions: u64,
    pub duplicates: u64,
    pub naks_sent: u64,
    pub naks_received: u64,
    /// Frames with a bad CRC, control byte, length or escape.
    pub bad_frames: u64,
    pub out_of_sequence: u64,
    pub resets: u64,
}

#[derive(Debug, Clone)]
struct InFlight {
    frm_num: u8,
    data: Vec<u8>,
    sent_at: u64,
    retransmitted: bool,
}

/// One end of an ASH link.
#[derive(Debug, Clone)]
pub struct Link {
    role: Role,
    cfg: LinkConfig,
    state: LinkState,
    decoder: Decoder,
    /// Frame number the next new DATA frame gets.
    tx_next: u8,
    /// Frame number expected next from the peer (our ackNum).
    rx_expected: u8,
    in_flight: VecDeque<InFlight>,
    queue: VecDeque<Vec<u8>>,
    out: Vec<u8>,
    events: VecDeque<LinkEvent>,
    t_rx_ack: u64,
    retx_deadline: Option<u64>,
    timeouts: u8,
    reject: bool,
    rst_deadline: Option<u64>,
    rst_sent: u8,
    counters: LinkCounters,
}

fn seq_add(a: u8, n: u8) -> u8 {
    a.wrapping_add(n) & 7
}

fn seq_diff(a: u8, b: u8) -> u8 {
    a.wrapping_sub(b) & 7
}

impl Link {
    /// A new link. The host starts in `Resetting` and must call [`Link::reset`]; the NCP starts
    /// `Connected` (as after its power-on RSTACK).
    pub fn new(role: Role, cfg: LinkConfig) -> Self {
        let cfg = LinkConfig { window: cfg.window.clamp(1, 7), ..cfg };
        Self {
            role,
            cfg,
            state: match role {
                Role::Host => LinkState::Resetting,
                Role::Ncp => LinkState::Connected,
            },
            decoder: Decoder::new(),
            tx_next: 0,
            rx_expected: 0,
            in_flight: VecDeque::new(),
            queue: VecDeque::new(),
            out: Vec::new(),
            events: VecDeque::new(),
            t_rx_ack: cfg.t_rx_ack_init_ms,
            retx_deadline: None,
            timeouts: 0,
            reject: false,
            rst_deadline: None,
            rst_sent: 0,
            counters: LinkCounters::default(),
        }
    }

    pub fn role(&self) -> Role {
        self.role
    }
    pub fn state(&self) -> LinkState {
        self.state
    }
    pub fn counters(&self) -> LinkCounters {
        self.counters
    }
    /// The current acknowledgement timeout.
    pub fn t_rx_ack_ms(&self) -> u64 {
        self.t_rx_ack
    }
    /// DATA frames sent and not yet acknowledged, plus those queued behind the window.
    pub fn pending(&self) -> usize {
        self.in_flight.len() + self.queue.len()
    }

    fn clear_session(&mut self) {
        self.tx_next = 0;
        self.rx_expected = 0;
        self.in_flight.clear();
        self.queue.clear();
        self.t_rx_ack = self.cfg.t_rx_ack_init_ms;
        self.retx_deadline = None;
        self.timeouts = 0;
        self.reject = false;
    }

    /// Host: (re)start the link with Cancel + RST. NCP: a reset of the NCP itself (power-on,
    /// watchdog…): it announces RSTACK with `code` unasked.
    pub fn reset(&mut self, now: u64, code: ResetCode) {
        self.clear_session();
        self.counters.resets += 1;
        match self.role {
            Role::Host => {
                self.state = LinkState::Resetting;
                self.rst_sent = 0;
                self.send_rst(now);
            }
            Role::Ncp => {
                self.state = LinkState::Connected;
                self.write(&Frame::rst_ack(code));
            }
        }
    }

    fn send_rst(&mut self, now: u64) {
        self.out.push(CANCEL);
        self.write(&Frame::Rst);
        self.rst_sent = self.rst_sent.saturating_add(1);
        self.rst_deadline = Some(now + self.cfg.t_rstack_ms);
    }

    fn write(&mut self, f: &Frame) {
        encode(f, &mut self.out);
    }

    fn fail(&mut self, reason: FailReason) {
        self.clear_session();
        self.state = LinkState::Failed;
        self.rst_deadline = None;
        if self.role == Role::Ncp && reason == FailReason::AckTimeouts {
            self.write(&Frame::Error {
                version: super::ASH_VERSION,
                code: ResetCode::ACK_TIMEOUTS,
            });
        }
        self.events.push_back(LinkEvent::Failed(reason));
    }

    /// Queues an EZSP frame for sending.
    pub fn send(&mut self, now: u64, data: &[u8]) -> Result<(), SendError> {
        if self.state != LinkState::Connected {
            return Err(SendError::NotConnected);
        }
        if data.is_empty() || data.len() > MAX_DATA {
            return Err(SendError::BadLength(data.len()));
        }
        if self.queue.len() >= self.cfg.queue_limit {
            return Err(SendError::QueueFull);
        }
        self.queue.push_back(data.to_vec());
        self.pump(now);
        Ok(())
    }

    fn pump(&mut self, now: u64) {
        while self.state == LinkState::Connected && self.in_flight.len() < self.cfg.window as usize
        {
            let Some(data) = self.queue.pop_front() else { break };
            let frm_num = self.tx_next;
            self.tx_next = seq_add(self.tx_next, 1);
            let f = Frame::Data { frm_num, re_tx: false, ack_num: self.rx_expected, data };
            self.write(&f);
            self.counters.data_sent += 1;
            if let Frame::Data { data, .. } = f {
                self.in_flight.push_back(InFlight {
                    frm_num,
                    data,
                    sent_at: now,
                    retransmitted: false,
                });
            }
            if self.retx_deadline.is_none() {
                self.retx_deadline = Some(now + self.t_rx_ack);
            }
        }
    }

    fn retransmit_all(&mut self, now: u64) {
        let ack_num = self.rx_expected;
        let mut out = core::mem::take(&mut self.out);
        for f in &mut self.in_flight {
            f.retransmitted = true;
            f.sent_at = now;
            encode(
                &Frame::Data { frm_num: f.frm_num, re_tx: true, ack_num, data: f.data.clone() },
                &mut out,
            );
            self.counters.retransmissions += 1;
        }
        self.out = out;
        self.retx_deadline = (!self.in_flight.is_empty()).then_some(now + self.t_rx_ack);
    }

    /// Takes `ack_num` as acknowledgement; whether it acknowledged anything new.
    fn handle_ack_num(&mut self, now: u64, ack_num: u8) -> bool {
        let Some(front) = self.in_flight.front() else { return false };
        let n = seq_diff(ack_num, front.frm_num) as usize;
        if n == 0 || n > self.in_flight.len() {
            return false; // acknowledges nothing new (or a number we never sent)
        }
        for _ in 0..n {
            if let Some(f) = self.in_flight.pop_front() {
                if !f.retransmitted {
                    // Karn: only unambiguous samples adapt the timeout.
                    let rtt = now.saturating_sub(f.sent_at);
                    let t = self.t_rx_ack * 7 / 8 + rtt / 2;
                    self.t_rx_ack = t.clamp(self.cfg.t_rx_ack_min_ms, self.cfg.t_rx_ack_max_ms);
                }
            }
        }
        self.timeouts = 0;
        self.retx_deadline = (!self.in_flight.is_empty()).then_some(now + self.t_rx_ack);
        true
    }

    /// Bytes from the UART, in any chunking.
    pub fn handle_bytes(&mut self, now: u64, bytes: &[u8]) {
        let mut decoder = core::mem::take(&mut self.decoder);
        decoder.feed(bytes, |ev| self.handle_decoded(now, ev));
        self.decoder = decoder;
        self.pump(now);
    }

    fn nak(&mut self) {
        if !self.reject {
            self.reject = true;
            self.counters.naks_sent += 1;
            self.write(&Frame::Nak { ack_num: self.rx_expected, not_ready: false });
        }
    }

    fn handle_decoded(&mut self, now: u64, ev: DecoderEvent) {
        let frame = match ev {
            DecoderEvent::Frame(f) => f,
            DecoderEvent::Bad(_) => {
                self.counters.bad_frames += 1;
                if self.state == LinkState::Connected {
                    self.nak();
                }
                return;
            }
            DecoderEvent::Cancelled => return,
        };
        match (self.role, frame) {
            (Role::Ncp, Frame::Rst) => {
                self.clear_session();
                self.counters.resets += 1;
                self.state = LinkState::Connected;
                self.write(&Frame::rst_ack(ResetCode::SOFTWARE));
                self.events.push_back(LinkEvent::Reset(ResetCode::SOFTWARE));
            }
            (Role::Host, Frame::RstAck { code, .. }) => {
                self.clear_session();
                self.state = LinkState::Connected;
                self.rst_deadline = None;
                self.events.push_back(LinkEvent::Reset(code));
            }
            (Role::Host, Frame::Error { code, .. }) => self.fail(FailReason::NcpError(code)),
            // Wrong direction: an NCP never receives RSTACK/ERROR, a host never RST.
            (Role::Ncp, Frame::RstAck { .. } | Frame::Error { .. }) | (Role::Host, Frame::Rst) => {}
            (_, _) if self.state != LinkState::Connected => {}
            (_, Frame::Ack { ack_num, .. }) => {
                self.handle_ack_num(now, ack_num);
            }
            (_, Frame::Nak { ack_num, .. }) => {
                self.counters.naks_received += 1;
                let progress = self.handle_ack_num(now, ack_num);
                if self.in_flight.is_empty() {
                    return;
                }
                // A NAK that acknowledges nothing counts like a timeout, so a NAK storm ends
                // in failure instead of retransmitting forever.
                if !progress {
                    self.timeouts = self.timeouts.saturating_add(1);
                    if self.timeouts > self.cfg.ack_timeouts {
                        self.fail(FailReason::AckTimeouts);
                        return;
                    }
                }
                self.retransmit_all(now);
            }
            (_, Frame::Data { frm_num, re_tx, ack_num, data }) => {
                self.handle_ack_num(now, ack_num);
                if frm_num == self.rx_expected {
                    self.rx_expected = seq_add(frm_num, 1);
                    self.reject = false;
                    self.counters.data_received += 1;
                    self.write(&Frame::Ack { ack_num: self.rx_expected, not_ready: false });
                    self.events.push_back(LinkEvent::Data(data));
                } else if re_tx {
                    self.counters.duplicates += 1;
                    self.write(&Frame::Ack { ack_num: self.rx_expected, not_ready: false });
                } else {
                    self.counters.out_of_sequence += 1;
                    self.nak();
                }
            }
        }
    }

    /// Timers: acknowledgement timeouts and (host) RSTACK timeouts.
    pub fn handle_timeout(&mut self, now: u64) {
        if let Some(d) = self.rst_deadline {
            if now >= d && self.state == LinkState::Resetting {
                if self.rst_sent >= self.cfg.rst_attempts {
                    self.fail(FailReason::RstUnanswered);
                } else {
                    self.send_rst(now);
                }
            }
        }
        if let Some(d) = self.retx_deadline {
            if now >= d && self.state == LinkState::Connected {
                self.timeouts = self.timeouts.saturating_add(1);
                if self.timeouts > self.cfg.ack_timeouts {
                    self.fail(FailReason::AckTimeouts);
                } else {
                    self.t_rx_ack = (self.t_rx_ack * 2)
                        .clamp(self.cfg.t_rx_ack_min_ms, self.cfg.t_rx_ack_max_ms);
                    self.retransmit_all(now);
                }
            }
        }
    }

    /// When to call [`Link::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<u64> {
        let rst = self.rst_deadline.filter(|_| self.state == LinkState::Resetting);
        let retx = self.retx_deadline.filter(|_| self.state == LinkState::Connected);
        match (rst, retx) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Bytes to write to the UART, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        (!self.out.is_empty()).then(|| core::mem::take(&mut self.out))
    }

    pub fn poll_event(&mut self) -> Option<LinkEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
