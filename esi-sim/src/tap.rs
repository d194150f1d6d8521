//! A passive listener on one host link that checks "every host request is answered exactly
//! once" (style.md §3) whoever the host is (the in-process test host or a gateway on the pty).
//!
//! It decodes both directions with the host-link framing: requests as the coordinator received
//! them, reports as the coordinator sent them (before line faults), and the host's `Ack`s of
//! those reports. A request is identified by its `request_id`; it is *answered* by a
//! `Report::Result` with that id. Rules:
//! * a `Result` for an id never received is a violation (unsolicited answer);
//! * a second, distinct `Result` for an id whose earlier `Result` the host acknowledged is a
//!   violation (answered twice); re-sending an unacknowledged one in a new session is allowed
//!   (the coordinator does so after a session loss);
//! * at quiescence, every received request has an answer, except those whose coordinator was
//!   reset (or unplugged) before answering — [`LinkTap::unanswered`] lists the rest.

use firmware::host_link::frame::CRC;
use firmware::host_link::{Packet, Report, Request, MAX_WIRE_LEN};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// Splits a byte stream into frames (0x00-delimited, COBS) and decodes those whose CRC is good
/// (docs/host-link.md §1). Damaged frames are skipped: the endpoints count those.
#[derive(Debug, Default)]
pub struct Deframer {
    buf: Vec<u8>,
}

impl Deframer {
    /// Feeds bytes; returns the packets completed by them.
    pub fn feed<M: DeserializeOwned>(&mut self, bytes: &[u8]) -> Vec<Packet<M>> {
        let mut out = Vec::new();
        for &b in bytes {
            if b != 0 {
                if self.buf.len() <= MAX_WIRE_LEN {
                    self.buf.push(b);
                }
                continue;
            }
            let frame = std::mem::take(&mut self.buf);
            if frame.is_empty() || frame.len() > MAX_WIRE_LEN {
                continue;
            }
            let Ok(raw) = cobs::decode_vec(&frame) else { continue };
            let Some((body, crc)) = raw.split_last_chunk::<2>() else { continue };
            if body.is_empty() || CRC.checksum(body) != u16::from_le_bytes(*crc) {
                continue;
            }
            if let Ok((p, [])) = postcard::take_from_bytes::<Packet<M>>(body) {
                out.push(p);
            }
        }
        out
    }
}

/// What happened to one request id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RequestLog {
    /// Distinct (session, seq) frames that carried it to the coordinator.
    received: u32,
    /// Distinct (session, seq) Result frames the coordinator sent for it.
    answers: Vec<(u32, u16)>,
    /// One of the answers was acknowledged by the host.
    acked: bool,
    /// The coordinator restarted after receiving it and before answering.
    lost_to_reset: bool,
}

/// One direction's decoder.
struct Side<M> {
    decoder: Deframer,
    /// The sender's current session (from its Hello / HelloReply).
    session: Option<u32>,
    seen: std::collections::BTreeSet<(u32, u16)>,
    _m: std::marker::PhantomData<M>,
}

impl<M: DeserializeOwned> Side<M> {
    fn new() -> Self {
        Self {
            decoder: Deframer::default(),
            session: None,
            seen: std::collections::BTreeSet::new(),
            _m: std::marker::PhantomData,
        }
    }

    /// Decoded packets in `bytes`.
    fn feed(&mut self, bytes: &[u8]) -> Vec<Packet<M>> {
        let packets = self.decoder.feed::<M>(bytes);
        for p in &packets {
            if let Packet::Hello(h) | Packet::HelloReply { hello: h, .. } = p {
                self.session = Some(h.session);
            }
        }
        packets
    }
}

/// The listener.
pub struct LinkTap {
    requests: Side<Request>,
    reports: Side<Report>,
    log: BTreeMap<u32, RequestLog>,
    /// Report frames (node session, seq) → request id, to match the host's acks.
    result_frames: BTreeMap<(u32, u16), u32>,
    /// Host-link Data frames the coordinator received / sent (distinct).
    pub requests_seen: u64,
    pub reports_sent: u64,
    violations: Vec<String>,
}

impl std::fmt::Debug for LinkTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkTap")
            .field("requests_seen", &self.requests_seen)
            .field("reports_sent", &self.reports_sent)
            .field("violations", &self.violations)
            .finish_non_exhaustive()
    }
}

impl Default for LinkTap {
    fn default() -> Self {
        Self::new()
    }
}

impl LinkTap {
    pub fn new() -> Self {
        Self {
            requests: Side::new(),
            reports: Side::new(),
            log: BTreeMap::new(),
            result_frames: BTreeMap::new(),
            requests_seen: 0,
            reports_sent: 0,
            violations: Vec::new(),
        }
    }

    /// Bytes the coordinator received from the host.
    pub fn to_node(&mut self, bytes: &[u8]) {
        let node_session = self.reports.session;
        for p in self.requests.feed(bytes) {
            match p {
                Packet::Data { seq, msg } => {
                    let session = self.requests.session.unwrap_or(0);
                    if self.requests.seen.insert((session, seq)) {
                        self.requests_seen += 1;
                        let entry = self.log.entry(msg.request_id).or_default();
                        entry.received += 1;
                        entry.lost_to_reset = false;
                    }
                }
                Packet::Ack { next } => {
                    let Some(s) = node_session else { continue };
                    let acked: Vec<u32> =
                        self.result_frames.range((s, 0)..(s, next)).map(|(_, &id)| id).collect();
                    for id in acked {
                        if let Some(e) = self.log.get_mut(&id) {
                            e.acked = true;
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Bytes the coordinator sent to the host.
    pub fn from_node(&mut self, bytes: &[u8]) {
        for p in self.reports.feed(bytes) {
            let Packet::Data { seq, msg } = p else { continue };
            let session = self.reports.session.unwrap_or(0);
            if !self.reports.seen.insert((session, seq)) {
                continue; // a retransmission
            }
            self.reports_sent += 1;
            let Report::Result(r) = msg else { continue };
            let id = r.request_id;
            self.result_frames.insert((session, seq), id);
            let Some(e) = self.log.get_mut(&id) else {
                self.violations.push(format!("result for request {id}, which was never received"));
                continue;
            };
            if e.acked || e.answers.iter().any(|a| a.0 == session) {
                self.violations.push(format!(
                    "request {id} answered twice ({:?} then session {session} seq {seq})",
                    e.answers
                ));
            }
            e.answers.push((session, seq));
        }
    }

    /// The coordinator restarted: requests it had not answered are lost with its RAM.
    pub fn note_reset(&mut self) {
        for e in self.log.values_mut() {
            if e.answers.is_empty() {
                e.lost_to_reset = true;
            }
        }
        self.requests.decoder = Deframer::default();
        self.reports.decoder = Deframer::default();
    }

    /// Violations found so far (drained).
    pub fn take_violations(&mut self) -> Vec<String> {
        std::mem::take(&mut self.violations)
    }

    /// Requests received and not answered (excluding those lost to a reset).
    pub fn unanswered(&self) -> Vec<u32> {
        self.log
            .iter()
            .filter(|(_, e)| e.answers.is_empty() && !e.lost_to_reset)
            .map(|(&id, _)| id)
            .collect()
    }

    /// Distinct requests received.
    pub fn requests(&self) -> usize {
        self.log.len()
    }
}
