//! An in-process host (the gateway's end of the link, `LinkEndpoint<Request, Report>`) for
//! tests and headless scenario runs: it sends requests through the simulated serial line as the
//! gateway would, and keeps a transcript of everything the coordinator told it.

use firmware::host_link::Eui64 as LinkEui64;
use firmware::host_link::{
    Command, HostEndpoint, LinkConfig, LinkEvent, NodeInfo, Report, Request, RequestResult, Role,
    SoftwareVersion, MAX_WIRE_LEN,
};
use std::collections::VecDeque;
use std::fmt::Write as _;

/// The host end of one ESI's link.
pub struct SimHost {
    ep: HostEndpoint,
    next_request: u32,
    queue: VecDeque<Request>,
    /// Every report received, with the virtual ms it arrived.
    pub transcript: Vec<(u64, Report)>,
    /// Link events (connected, disconnected, failures), for the transcript.
    pub link_events: Vec<(u64, String)>,
    pub sessions: u32,
}

impl std::fmt::Debug for SimHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHost")
            .field("link", &self.ep)
            .field("queued", &self.queue.len())
            .field("reports", &self.transcript.len())
            .finish_non_exhaustive()
    }
}

impl SimHost {
    pub fn new(session_seed: u32) -> Self {
        let node = NodeInfo {
            role: Role::Host,
            software: SoftwareVersion { major: 0, minor: 1, patch: 0 },
            esi_eui64: LinkEui64(0),
            slot_capacity: 0,
        };
        Self {
            ep: HostEndpoint::new(LinkConfig::new(node, session_seed)),
            next_request: 1,
            queue: VecDeque::new(),
            transcript: Vec::new(),
            link_events: Vec::new(),
            sessions: 0,
        }
    }

    pub fn is_connected(&self) -> bool {
        self.ep.is_connected()
    }

    /// Queues a request; returns its id. It goes out when the link has room.
    pub fn send(&mut self, command: Command) -> u32 {
        let request_id = self.next_request;
        self.next_request += 1;
        self.queue.push_back(Request { request_id, command });
        request_id
    }

    pub fn handle_bytes(&mut self, now: u64, bytes: &[u8]) {
        self.ep.handle_bytes(now, bytes);
        self.pump(now);
    }

    pub fn handle_timeout(&mut self, now: u64) {
        self.ep.handle_timeout(now);
        self.pump(now);
    }

    pub fn poll_timeout(&self) -> Option<u64> {
        self.ep.poll_timeout()
    }

    /// Bytes to write to the line.
    pub fn poll_transmit(&mut self, now: u64) -> Vec<u8> {
        self.pump(now);
        let mut out = Vec::new();
        let mut buf = [0u8; MAX_WIRE_LEN];
        while let Some(n) = self.ep.poll_transmit(&mut buf) {
            out.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
        out
    }

    /// Drains link events and sends queued requests while the window has room.
    fn pump(&mut self, now: u64) {
        while let Some(ev) = self.ep.poll_event() {
            match ev {
                LinkEvent::Received(r) => self.transcript.push((now, r)),
                LinkEvent::Connected(h) => {
                    self.sessions += 1;
                    let n = h.node;
                    self.link_events.push((
                        now,
                        format!("connected to {} ({} slots)", n.esi_eui64, n.slot_capacity),
                    ));
                }
                LinkEvent::Disconnected => self.link_events.push((now, "disconnected".into())),
                LinkEvent::Failed { seq, reason } => {
                    self.link_events.push((now, format!("frame {} failed: {reason:?}", seq.0)));
                }
                LinkEvent::Refused { refusal, .. } => {
                    self.link_events.push((now, format!("refused: {refusal:?}")));
                }
                LinkEvent::Acked(_) | LinkEvent::ProtocolError { .. } => {}
            }
        }
        while let Some(r) = self.queue.front() {
            match self.ep.send(now, r) {
                Ok(_) => {
                    self.queue.pop_front();
                }
                Err(_) => break,
            }
        }
    }

    /// Requests not yet handed to the link.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// The `Result` for `request_id` (the first, if the coordinator re-sent it).
    pub fn result(&self, request_id: u32) -> Option<&RequestResult> {
        self.transcript.iter().find_map(|(_, r)| match r {
            Report::Result(res) if res.request_id == request_id => Some(res),
            _ => None,
        })
    }

    /// Reports matching `f`.
    pub fn reports<'a>(
        &'a self,
        f: impl Fn(&Report) -> bool + 'a,
    ) -> impl Iterator<Item = &'a Report> + 'a {
        self.transcript.iter().map(|(_, r)| r).filter(move |r| f(r))
    }

    /// The transcript as text, one line per report or link event, in arrival order.
    pub fn transcript_text(&self) -> String {
        let mut lines: Vec<(u64, usize, String)> = Vec::new();
        for (i, (t, r)) in self.transcript.iter().enumerate() {
            lines.push((*t, i, format!("{r:?}")));
        }
        for (i, (t, e)) in self.link_events.iter().enumerate() {
            lines.push((*t, usize::MAX / 2 + i, format!("link: {e}")));
        }
        lines.sort();
        let mut s = String::new();
        for (t, _, l) in lines {
            let _ = writeln!(s, "{t:>9} {l}");
        }
        s
    }
}
