//! The receive path: what each incoming frame does to the endpoint.

use super::super::frame::{FrameError, Incoming, LinkFault, Packet};
use super::super::types::{LinkErrorCode, RefusalReason};
use super::super::Message;
use super::{
    bump, next_stamp, Control, FailReason, LinkEndpoint, LinkState, ProtocolError, Settled,
};

/// How far behind the expected sequence number a retransmission of a rejected frame can be.
/// Far beyond any send window; far below the 2^16 wrap.
const REJECT_HORIZON: u16 = 256;

impl<Tx: Message, Rx: Message, const WINDOW: usize, const RXQ: usize>
    LinkEndpoint<Tx, Rx, WINDOW, RXQ>
{
    pub(super) fn on_incoming(&mut self, incoming: Incoming<Rx>) {
        let packet = match incoming {
            Incoming::IncompatibleHello(_) => {
                return self.refuse(RefusalReason::INCOMPATIBLE_VERSION)
            }
            Incoming::Packet(p) => p,
        };
        match packet {
            Packet::Hello(h) | Packet::HelloReply { hello: h, .. }
                if h.node.role == self.config.node.role =>
            {
                self.refuse(RefusalReason::ROLE_MISMATCH);
            }
            Packet::Hello(h) => {
                let known = self.state == LinkState::Connected
                    && self.peer.is_some_and(|p| p.session == h.session);
                if !known {
                    self.sync(h);
                }
                self.reply_echo = Some(h.session);
            }
            Packet::HelloReply { hello, echo } => {
                let known = self.state == LinkState::Connected
                    && self.peer.is_some_and(|p| p.session == hello.session);
                if echo == self.session && self.state != LinkState::Refused && !known {
                    self.sync(hello);
                }
            }
            Packet::Refuse(refusal) => {
                self.end_session();
                self.state = LinkState::Refused;
                self.push_control(Control::Refused { refusal, by_peer: true });
            }
            Packet::Data { seq, msg } => self.on_data(seq, msg),
            Packet::Ack { next } => self.on_ack(next),
            Packet::Datagram(msg) => {
                if self.state != LinkState::Connected {
                    bump(&mut self.counters.rx_not_connected);
                } else if self.received.is_full() {
                    bump(&mut self.counters.rx_dropped_busy);
                } else {
                    let stamp = next_stamp(&mut self.stamp);
                    let _ = self.received.push_back((stamp, msg));
                }
            }
            Packet::Error(fault) => self.on_fault(fault),
        }
    }

    fn on_data(&mut self, seq: u16, msg: Rx) {
        if self.state != LinkState::Connected {
            bump(&mut self.counters.rx_not_connected);
            return;
        }
        match seq.wrapping_sub(self.expected) {
            0 => {
                if self.received.is_full() {
                    bump(&mut self.counters.rx_dropped_busy);
                    return;
                }
                let stamp = next_stamp(&mut self.stamp);
                let _ = self.received.push_back((stamp, msg));
                self.expected = self.expected.wrapping_add(1);
                self.ack_due = true;
            }
            d if d < 0x8000 => {
                bump(&mut self.counters.out_of_order);
                self.ack_due = true;
            }
            _ => self.on_duplicate(seq),
        }
    }

    /// A `Data` frame we already consumed: acknowledge again, or repeat its rejection.
    fn on_duplicate(&mut self, seq: u16) {
        bump(&mut self.counters.duplicates);
        // Only a recent rejection can be the same frame: sequence numbers wrap at 2^16.
        let recent = self.expected.wrapping_sub(seq) <= REJECT_HORIZON;
        match self.rejected.iter().find(|r| recent && r.0 == seq) {
            Some(&(_, code)) => self.queue_fault(LinkFault { code, seq: Some(seq) }),
            None => self.ack_due = true,
        }
    }

    fn on_ack(&mut self, next: u16) {
        if self.state != LinkState::Connected {
            return;
        }
        let oldest =
            self.in_flight.iter().find(|e| e.settled.is_none()).map_or(self.next_seq, |e| e.seq);
        let span = self.next_seq.wrapping_sub(oldest);
        let acked = next.wrapping_sub(oldest);
        if acked > span {
            if acked < 0x8000 {
                // Acknowledges frames never sent in this session: the peer is in another one.
                bump(&mut self.counters.desyncs);
                self.push_control(Control::ProtocolError(ProtocolError::Desync));
                self.reconnect(self.now);
            }
            return; // else a stale ack
        }
        for e in &mut self.in_flight {
            if e.settled.is_none() && e.seq.wrapping_sub(oldest) < acked {
                let stamp = next_stamp(&mut self.stamp);
                e.settled = Some(Settled { stamp, failure: None });
                e.deadline = None;
            }
        }
    }

    fn on_fault(&mut self, fault: LinkFault) {
        bump(&mut self.counters.faults_received);
        let entry = fault
            .seq
            .and_then(|s| self.in_flight.iter_mut().find(|e| e.seq == s && e.settled.is_none()));
        match entry {
            Some(e) => {
                let stamp = next_stamp(&mut self.stamp);
                e.settled =
                    Some(Settled { stamp, failure: Some(FailReason::Rejected(fault.code)) });
                e.deadline = None;
            }
            None => self.push_control(Control::ProtocolError(ProtocolError::PeerFault(fault))),
        }
    }

    pub(super) fn frame_error(&mut self, e: FrameError) {
        let c = &mut self.counters;
        match e {
            FrameError::Cobs => bump(&mut c.cobs_errors),
            FrameError::Oversize => bump(&mut c.oversize_frames),
            FrameError::Runt => bump(&mut c.runt_frames),
            FrameError::Crc => bump(&mut c.crc_errors),
            FrameError::Malformed { seq } => {
                bump(&mut c.malformed);
                self.reject(seq, LinkErrorCode::MALFORMED);
            }
            FrameError::Unsupported { seq } => {
                bump(&mut c.unsupported);
                self.reject(seq, LinkErrorCode::UNSUPPORTED);
            }
        }
        self.push_control(Control::ProtocolError(ProtocolError::Frame(e)));
    }

    /// Answers an intact but unusable frame with an `Error`. A rejected in-order `Data` frame
    /// is consumed (its sequence number is used up) so later frames still flow.
    fn reject(&mut self, seq: Option<u16>, code: LinkErrorCode) {
        let Some(seq) = seq else {
            return self.queue_fault(LinkFault { code, seq: None });
        };
        if self.state != LinkState::Connected {
            return;
        }
        match seq.wrapping_sub(self.expected) {
            0 => {
                self.expected = self.expected.wrapping_add(1);
                if self.rejected.is_full() {
                    self.rejected.pop_front();
                }
                let _ = self.rejected.push_back((seq, code));
                self.queue_fault(LinkFault { code, seq: Some(seq) });
            }
            d if d < 0x8000 => bump(&mut self.counters.out_of_order),
            _ => self.on_duplicate(seq),
        }
    }

    fn queue_fault(&mut self, fault: LinkFault) {
        if !self.faults.iter().any(|f| *f == fault) {
            let _ = self.faults.push_back(fault);
        }
    }
}
