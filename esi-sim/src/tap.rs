//! A passive listener on one host link that checks "every host request is answered exactly
//! once" (style.md §3) whoever the host is (the in-process test host or a gateway on the pty).
//!
//! It decodes both directions with the host-link framing: requests as the coordinator received
//! them, reports as the coordinator sent them (before line faults), and the host's `Ack`s of
//! those reports. A request is identified by its `request_id`; it is *answered* by a
//! `Report::Result` with that id. Rules:
//! * a `Result` for an id never received is a violation (unsolicited answer);
//! * a second, distinct `Result` for an id is a violation (answered twice) if the host
//!   acknowledged an earlier one, or if both went out in the same session; re-sending an
//!   unacknowledged one in a new session is allowed (the coordinator does so after a session
//!   loss). A new session is one started by *either* end: the coordinator's session id changes
//!   when it restarts or gives up on the link, but stays the same when the host starts a new
//!   session (a reconnect, a gateway restart) — [`Epoch`];
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

/// One `Result` frame the coordinator sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Answer {
    /// The [`Epoch::id`] it was sent in.
    epoch: u32,
    node_session: Option<u32>,
    host_session: Option<u32>,
    seq: u16,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |s: Option<u32>| s.map_or_else(|| "?".to_string(), |s| format!("{s:#x}"));
        write!(
            f,
            "[seq {} in session #{} (coordinator {}, host {})]",
            self.seq,
            self.epoch,
            s(self.node_session),
            s(self.host_session)
        )
    }
}

/// What happened to one request id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RequestLog {
    /// Distinct (session, seq) frames that carried it to the coordinator.
    received: u32,
    /// Distinct Result frames the coordinator sent for it.
    answers: Vec<Answer>,
    /// One of the answers was acknowledged by the host (as the coordinator saw the `Ack`).
    acked: bool,
    /// The coordinator restarted after receiving it and before answering.
    lost_to_reset: bool,
}

/// One direction's decoder.
struct Side<M> {
    decoder: Deframer,
    /// The sender's current session (from its Hello / HelloReply): names its `Data` frames.
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

    /// Whether the `Data` frame `seq` is new (not a retransmission) in the sender's session.
    fn first_sight(&mut self, seq: u16) -> bool {
        self.seen.insert((self.session.unwrap_or(0), seq))
    }
}

/// The link session as the coordinator is in it. Either end can start a new one: the
/// coordinator (new session id in its `Hello` after a restart or lost session) or the host
/// (new session id in its `Hello` after a reconnect or a gateway restart; the coordinator then
/// keeps its own id). Either way the coordinator's unacknowledged frames fail and their reports
/// are sent again (docs/host-link.md §3, `firmware::coordinator`), so the "answered twice" rule
/// counts sessions of the pair, not of one end.
#[derive(Debug, Default)]
struct Epoch {
    /// Counts session changes of either end.
    id: u32,
    node_session: Option<u32>,
    host_session: Option<u32>,
    /// `Result` frames sent in this session and not acknowledged yet: seq → request id.
    unacked: BTreeMap<u16, u32>,
    /// One past the newest `Data` seq the coordinator sent in this session.
    sent_end: Option<u16>,
}

impl Epoch {
    fn next(&mut self) {
        self.id = self.id.wrapping_add(1);
        self.unacked.clear();
        self.sent_end = None;
    }

    /// The coordinator announced `session` (`Hello` or `HelloReply`).
    fn node_hello(&mut self, session: u32) {
        if self.node_session != Some(session) {
            self.node_session = Some(session);
            self.next();
        }
    }

    /// The host's `Hello` for `session`: the coordinator starts a new session unless it is
    /// the current one (docs/host-link.md §3).
    fn host_hello(&mut self, session: u32) {
        if self.host_session != Some(session) {
            self.host_session = Some(session);
            self.next();
        }
    }

    /// The host's `HelloReply`: it starts a session only if it answers the coordinator's
    /// current `Hello` (`echo`) and names a host session other than the current one.
    fn host_hello_reply(&mut self, session: u32, echo: u32) {
        if self.node_session == Some(echo) {
            self.host_hello(session);
        }
    }

    /// The request ids `Ack { next }` settles, as the coordinator's endpoint does: frames of
    /// this session before `next`. An ack ahead of everything sent is a desync (the
    /// coordinator settles nothing and reconnects); one behind is stale.
    fn ack(&mut self, next: u16) -> Vec<u32> {
        if let Some(end) = self.sent_end {
            if (1..0x8000).contains(&next.wrapping_sub(end)) {
                return Vec::new();
            }
        }
        let before_next = |seq: u16| (1..=0x8000).contains(&next.wrapping_sub(seq));
        let settled: Vec<u16> = self.unacked.keys().copied().filter(|&s| before_next(s)).collect();
        settled.into_iter().filter_map(|s| self.unacked.remove(&s)).collect()
    }
}

/// The listener.
pub struct LinkTap {
    requests: Side<Request>,
    reports: Side<Report>,
    epoch: Epoch,
    log: BTreeMap<u32, RequestLog>,
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
            epoch: Epoch::default(),
            log: BTreeMap::new(),
            requests_seen: 0,
            reports_sent: 0,
            violations: Vec::new(),
        }
    }

    /// Bytes the coordinator received from the host. Packets are taken in order: a `Hello`
    /// in the middle of a chunk changes the session only for what follows it.
    pub fn to_node(&mut self, bytes: &[u8]) {
        for p in self.requests.decoder.feed::<Request>(bytes) {
            match p {
                Packet::Hello(h) => {
                    self.requests.session = Some(h.session);
                    self.epoch.host_hello(h.session);
                }
                Packet::HelloReply { hello, echo } => {
                    self.requests.session = Some(hello.session);
                    self.epoch.host_hello_reply(hello.session, echo);
                }
                // A new frame, not a retransmission.
                Packet::Data { seq, msg } if self.requests.first_sight(seq) => {
                    self.requests_seen += 1;
                    let entry = self.log.entry(msg.request_id).or_default();
                    entry.received += 1;
                    entry.lost_to_reset = false;
                }
                Packet::Ack { next } => {
                    for id in self.epoch.ack(next) {
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
        for p in self.reports.decoder.feed::<Report>(bytes) {
            let (seq, msg) = match p {
                Packet::Hello(h) | Packet::HelloReply { hello: h, .. } => {
                    self.reports.session = Some(h.session);
                    self.epoch.node_hello(h.session);
                    continue;
                }
                Packet::Data { seq, msg } => (seq, msg),
                _ => continue,
            };
            if !self.reports.first_sight(seq) {
                continue; // a retransmission
            }
            self.reports_sent += 1;
            self.epoch.sent_end = Some(seq.wrapping_add(1));
            let Report::Result(r) = msg else { continue };
            let id = r.request_id;
            let answer = Answer {
                epoch: self.epoch.id,
                node_session: self.epoch.node_session,
                host_session: self.epoch.host_session,
                seq,
            };
            self.epoch.unacked.insert(seq, id);
            let Some(e) = self.log.get_mut(&id) else {
                self.violations.push(format!("result for request {id}, which was never received"));
                continue;
            };
            // Sent again is fine only in a later session and only if no copy was acknowledged.
            if e.acked || e.answers.iter().any(|a| a.epoch == answer.epoch) {
                let earlier: Vec<String> = e.answers.iter().map(Answer::to_string).collect();
                self.violations.push(format!(
                    "request {id} answered twice: {}{} then {answer}",
                    earlier.join(", "),
                    if e.acked { ", acknowledged," } else { "" }
                ));
            }
            e.answers.push(answer);
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
        // Its endpoint is gone with its RAM: nothing it sent before can be acknowledged now.
        self.epoch.node_session = None;
        self.epoch.next();
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

#[cfg(test)]
mod tests;
