//! The supervisor task of one serial port: open, run a link session, reopen with backoff.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use firmware::host_link::host::Clock;
use firmware::host_link::{
    Command, DeviceState as LinkDeviceState, HostEndpoint, LinkConfig, LinkError, NodeInfo,
    Request, Role, SoftwareVersion, MAX_WIRE_LEN,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_serial::SerialPortBuilderExt;
use tracing::{debug, info, info_span, warn, Instrument};

use super::batch::{InFlightBatch, Resolved};
use super::session::{Internal, Pending};
use super::{CoordCmd, HealthMap, LinkStatus};
use crate::config::{CoordinatorConfig, CoordinatorKind, LinkSettings};
use crate::daemon::dispatcher::DispatchMsg;
use crate::error::{ApiError, ErrorCode};
use crate::model::EsiId;
use crate::ops::events::EventBus;
use crate::scheduler::Outcome;
use crate::store::Store;

/// Requests waiting for the link's send window, beyond which commands are not taken off the
/// channel (back-pressure on the dispatcher and callers).
const OUTQ_MAX: usize = 32;
/// Reliable frames the host endpoint keeps outstanding (`LinkEndpoint`'s default window).
const WINDOW: usize = 4;

/// A byte stream to a coordinator: a serial port, or the pipe to an in-process coordinator on
/// an EZSP NCP.
pub(super) trait Port: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Port for T {}

/// Why a port session ended.
#[derive(Debug)]
pub(super) enum End {
    PortLost(String),
    Shutdown,
}

/// A request waiting for the send window.
#[derive(Debug)]
pub(super) struct Outgoing {
    pub request_id: u32,
    pub command: Command,
    pub pending: Pending,
}

/// The supervisor of one coordinator. See the module docs of [`super`].
pub(crate) struct Supervisor {
    pub(super) esi: EsiId,
    pub(super) cfg: CoordinatorConfig,
    pub(super) link: LinkSettings,
    pub(super) rx: mpsc::Receiver<CoordCmd>,
    pub(super) dispatch: mpsc::Sender<DispatchMsg>,
    pub(super) store: Arc<Store>,
    pub(super) health: HealthMap,
    pub(super) events: EventBus,
    pub(super) shutdown: watch::Receiver<bool>,
    pub(super) next_request: u32,
    pub(super) sessions_opened: u32,
    // State of the current connection.
    pub(super) pending: HashMap<u32, Pending>,
    pub(super) outq: VecDeque<Outgoing>,
    pub(super) seqs: HashMap<u16, u32>,
    /// The ESI's slot table as last read, by EUI-64.
    pub(super) devices: HashMap<u64, LinkDeviceState>,
    pub(super) connected: bool,
    pub(super) ready: bool,
    /// Resync requests not yet answered.
    pub(super) resync_left: u8,
    /// Ask the endpoint for a new handshake at the next opportunity.
    pub(super) want_reconnect: bool,
    /// Removals asked for, by EUI-64: their reason goes with the `UNPAIRED` event.
    pub(super) removing: HashMap<u64, firmware::host_link::RemoveReason>,
    /// The link endpoint, kept across a brief loss of the port (see [`Supervisor::run`]).
    ep: Option<HostEndpoint>,
    clock: Clock,
    /// When the port went away, while the link session is kept for its return.
    port_lost_at: Option<Instant>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("esi", &self.esi)
            .field("port", &self.cfg.port)
            .field("connected", &self.connected)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Supervisor {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        cfg: CoordinatorConfig,
        link: LinkSettings,
        rx: mpsc::Receiver<CoordCmd>,
        dispatch: mpsc::Sender<DispatchMsg>,
        store: Arc<Store>,
        health: HealthMap,
        events: EventBus,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let seed = (crate::model::Timestamp::now().as_millis() & 0xFFFF_FFFF) as u32;
        Self {
            esi: cfg.esi_id.clone(),
            cfg,
            link,
            rx,
            dispatch,
            store,
            health,
            events,
            shutdown,
            next_request: seed,
            sessions_opened: 0,
            pending: HashMap::new(),
            outq: VecDeque::new(),
            seqs: HashMap::new(),
            devices: HashMap::new(),
            connected: false,
            ready: false,
            resync_left: 0,
            want_reconnect: false,
            removing: HashMap::new(),
            ep: None,
            clock: Clock::new(),
            port_lost_at: None,
        }
    }

    /// Runs until shutdown.
    ///
    /// A port that disappears and comes back within `link.heartbeat_timeout` (a USB glitch, a
    /// re-enumeration) keeps its link session: nothing in flight is failed, both sides
    /// retransmit what the other missed, and the ESI is resynchronised before new work is sent.
    /// A longer absence ends the session: deliveries in flight go back to the queue, queries fail.
    pub(crate) async fn run(mut self) {
        let span = info_span!("coordinator", esi = %self.esi, port = %self.cfg.port.display());
        async move {
            let mut backoff = self.link.reconnect_min;
            let mut open_error_reported = false;
            loop {
                if *self.shutdown.borrow() {
                    break;
                }
                let opened: Result<Box<dyn Port>, String> = match self.cfg.kind {
                    CoordinatorKind::HostLink => {
                        tokio_serial::new(self.cfg.port.to_string_lossy(), self.cfg.baud)
                            .open_native_async()
                            .map(|p| Box::new(p) as Box<dyn Port>)
                            .map_err(|e| e.to_string())
                    }
                    CoordinatorKind::Ezsp(s) => super::ezsp::open(&self.cfg, s)
                        .map(|p| Box::new(p) as Box<dyn Port>)
                        .map_err(|e| e.to_string()),
                };
                match opened {
                    Ok(port) => {
                        info!(resumed = self.ep.is_some(), "port opened");
                        open_error_reported = false;
                        self.port_lost_at = None;
                        self.health.set_link(&self.esi, LinkStatus::Connecting);
                        let end = self.session(port).await;
                        let was_ready = self.ready;
                        match &end {
                            End::PortLost(e) => self.port_lost(e).await,
                            End::Shutdown => self.end_connection("gateway shutting down").await,
                        }
                        if was_ready {
                            backoff = self.link.reconnect_min;
                        }
                        if matches!(end, End::Shutdown) {
                            break;
                        }
                    }
                    Err(e) => {
                        let msg = format!("cannot open {}: {e}", self.cfg.port.display());
                        self.health.update(&self.esi, |h| h.last_error = Some(msg.clone()));
                        if !open_error_reported {
                            warn!(error = %msg, "port unavailable");
                            if self.port_lost_at.is_none() {
                                self.events.coordinator(&self.esi, "offline", Some(msg));
                            }
                            open_error_reported = true;
                        }
                    }
                }
                if self.idle(backoff).await {
                    self.end_connection("gateway shutting down").await;
                    break;
                }
                backoff = (backoff * 2).min(self.link.reconnect_max);
            }
            self.health.set_link(&self.esi, LinkStatus::Offline);
            info!("supervisor stopped");
        }
        .instrument(span)
        .await;
    }

    /// The port went away: stop sending new work, keep the session for a while.
    async fn port_lost(&mut self, e: &str) {
        warn!(error = %e, "port lost");
        self.events.coordinator(&self.esi, "offline", Some(e.to_owned()));
        self.health.update(&self.esi, |h| {
            h.last_error = Some(e.to_owned());
            h.serial_errors += 1;
        });
        self.health.set_link(&self.esi, LinkStatus::Offline);
        self.port_lost_at = Some(Instant::now());
        if self.ready {
            self.ready = false;
            let msg = DispatchMsg::EsiReady { esi: self.esi.clone(), ready: false };
            let _ = self.dispatch.send(msg).await;
        }
    }

    /// The link session is over for good (port away too long, or shutdown).
    async fn end_connection(&mut self, why: &str) {
        self.ep = None;
        self.port_lost_at = None;
        self.link_down(&format!("link to the coordinator lost: {why}")).await;
        self.health.set_link(&self.esi, LinkStatus::Offline);
    }

    /// Waits `d` with the port closed, answering commands; `true` on shutdown. Ends a kept
    /// session whose port stayed away too long, and times out requests meanwhile.
    async fn idle(&mut self, d: Duration) -> bool {
        let until = Instant::now() + d;
        loop {
            if let Some(t) = self.port_lost_at {
                if t.elapsed() >= self.link.heartbeat_timeout {
                    info!("port away too long; link session ended");
                    self.end_connection("port away too long").await;
                }
            }
            let wake = [
                Some(until),
                self.next_deadline(),
                self.port_lost_at.map(|t| t + self.link.heartbeat_timeout),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(until);
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {
                    self.expire_pending().await;
                    if Instant::now() >= until {
                        return false;
                    }
                }
                cmd = self.rx.recv() => match cmd {
                    Some(c) => self.refuse(c).await,
                    None => return true,
                },
                r = self.shutdown.changed() => if r.is_err() || *self.shutdown.borrow() {
                    return true;
                },
            }
        }
    }

    /// Answers a command that cannot be carried out now.
    pub(super) async fn refuse(&mut self, cmd: CoordCmd) {
        match cmd {
            CoordCmd::Deliver(b) => {
                let mut ib = InFlightBatch::new(b);
                let out = ib.finish(Outcome::Requeue, Some("the coordinator is not connected"));
                self.resolved(out).await;
            }
            CoordCmd::Query { reply, .. } => {
                let _ = reply.send(Err(self.offline_error()));
            }
        }
    }

    pub(super) fn offline_error(&self) -> ApiError {
        ApiError::new(
            ErrorCode::CoordinatorOffline,
            format!("the coordinator of ESI {} is not connected; retry later", self.esi),
        )
    }

    /// Hands delivery outcomes to the dispatcher (waits if its queue is full: never dropped).
    pub(super) async fn resolved(&mut self, out: Vec<Resolved>) {
        if !out.is_empty() {
            let _ = self.dispatch.send(DispatchMsg::Resolved(self.esi.clone(), out)).await;
        }
    }

    pub(super) fn new_request_id(&mut self) -> u32 {
        self.next_request = self.next_request.wrapping_add(1);
        self.next_request
    }

    fn link_config(&mut self) -> LinkConfig {
        self.sessions_opened = self.sessions_opened.wrapping_add(1);
        let node = NodeInfo {
            role: Role::Host,
            software: gateway_version(),
            esi_eui64: firmware::host_link::Eui64(0),
            slot_capacity: 0,
        };
        let seed = self.next_request.wrapping_mul(0x9E37_79B9).wrapping_add(self.sessions_opened);
        let mut c = LinkConfig::new(node, seed);
        c.retransmit_timeout_ms =
            u32::try_from(self.link.retransmit_timeout.as_millis()).unwrap_or(u32::MAX);
        c
    }

    /// One open port: runs the link until the port is lost or shutdown.
    async fn session(&mut self, port: Box<dyn Port>) -> End {
        let clock = self.clock;
        let mut ep = match self.ep.take() {
            Some(ep) => ep,
            None => HostEndpoint::new(self.link_config()),
        };
        if self.connected {
            // The session survived the port's absence: resynchronise before taking new work.
            self.health.set_link(&self.esi, LinkStatus::Resyncing);
            self.start_resync();
        }
        let end = self.run_port(port, &mut ep, &clock).await;
        self.ep = Some(ep);
        end
    }

    async fn run_port(&mut self, port: Box<dyn Port>, ep: &mut HostEndpoint, clock: &Clock) -> End {
        let (mut rd, mut wr) = tokio::io::split(port);
        let mut rbuf = vec![0u8; 1024];
        let mut tbuf = vec![0u8; MAX_WIRE_LEN];
        let mut last_rx = Instant::now();
        let mut refused_at: Option<Instant> = None;
        loop {
            if self.want_reconnect {
                self.want_reconnect = false;
                ep.reconnect(clock.now_ms());
                while let Some(ev) = ep.poll_event() {
                    self.on_link_event(ev, clock).await;
                }
            }
            self.pump(ep, clock).await;
            while let Some(n) = ep.poll_transmit(&mut tbuf) {
                let frame = tbuf.get(..n).unwrap_or_default();
                if let Err(e) = wr.write_all(frame).await {
                    return End::PortLost(format!("write failed: {e}"));
                }
            }
            let now = Instant::now();
            let now_ms = clock.now_ms();
            let ep_wake =
                ep.poll_timeout().map(|d| now + Duration::from_millis(d.saturating_sub(now_ms)));
            let watchdog = self.connected.then(|| last_rx + self.link.heartbeat_timeout);
            let refused_retry = refused_at.map(|t| t + self.link.reconnect_max);
            let wake = [ep_wake, self.next_deadline(), watchdog, refused_retry]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now + Duration::from_secs(1));
            tokio::select! {
                r = rd.read(&mut rbuf) => match r {
                    Ok(0) => return End::PortLost("port closed".into()),
                    Err(e) => return End::PortLost(format!("read failed: {e}")),
                    Ok(n) => {
                        last_rx = Instant::now();
                        ep.handle_bytes(clock.now_ms(), rbuf.get(..n).unwrap_or_default());
                    }
                },
                cmd = self.rx.recv(), if self.outq.len() < OUTQ_MAX => match cmd {
                    Some(c) => self.on_command(c).await,
                    None => return End::Shutdown,
                },
                () = tokio::time::sleep_until(wake) => {
                    ep.handle_timeout(clock.now_ms());
                    self.expire_pending().await;
                    let now = Instant::now();
                    if watchdog.is_some_and(|w| w <= now) {
                        let secs = self.link.heartbeat_timeout.as_secs_f32();
                        let msg = format!("no frame from the coordinator for {secs:.0}s");
                        warn!(error = %msg, "link silent; new handshake");
                        self.health.update(&self.esi, |h| h.last_error = Some(msg.clone()));
                        self.events.coordinator(&self.esi, "comm_error", Some(msg));
                        ep.reconnect(clock.now_ms());
                        last_rx = now;
                    }
                    if refused_retry.is_some_and(|t| t <= now) {
                        refused_at = None;
                        ep.reconnect(clock.now_ms());
                    }
                },
                r = self.shutdown.changed() => if r.is_err() || *self.shutdown.borrow() {
                    return End::Shutdown;
                },
            }
            while let Some(ev) = ep.poll_event() {
                if matches!(ev, firmware::host_link::LinkEvent::Refused { .. }) {
                    refused_at = Some(Instant::now());
                }
                self.on_link_event(ev, clock).await;
            }
        }
    }

    /// Moves queued requests into the link's send window.
    async fn pump(&mut self, ep: &mut HostEndpoint, clock: &Clock) {
        while self.connected && ep.in_flight() < WINDOW {
            let Some(out) = self.outq.pop_front() else { break };
            let req = Request { request_id: out.request_id, command: out.command };
            match ep.send(clock.now_ms(), &req) {
                Ok(seq) => {
                    debug!(request = req.request_id, seq = seq.0, "sent");
                    self.seqs.insert(seq.0, req.request_id);
                    self.pending.insert(req.request_id, out.pending);
                }
                Err(LinkError::WindowFull | LinkError::NotConnected) => {
                    let out = Outgoing { request_id: req.request_id, command: req.command, ..out };
                    self.outq.push_front(out);
                    break;
                }
                Err(e @ (LinkError::Encode | LinkError::BufferTooSmall)) => {
                    warn!(error = %e, "request does not fit the host link");
                    let why = "the request does not fit the host link";
                    self.fail_pending(out.pending, Outcome::Failed { retryable: false }, why).await;
                }
            }
        }
    }

    /// The earliest deadline of a pending or queued request.
    fn next_deadline(&self) -> Option<Instant> {
        self.pending
            .values()
            .map(Pending::deadline)
            .chain(self.outq.iter().map(|o| o.pending.deadline()))
            .min()
    }

    /// Ends requests whose deadline passed.
    async fn expire_pending(&mut self) {
        let now = Instant::now();
        let due: Vec<u32> =
            self.pending.iter().filter(|(_, p)| p.deadline() <= now).map(|(k, _)| *k).collect();
        let mut expired: Vec<Pending> = due.iter().filter_map(|k| self.pending.remove(k)).collect();
        while self.outq.front().is_some_and(|o| o.pending.deadline() <= now) {
            if let Some(o) = self.outq.pop_front() {
                expired.push(o.pending);
            }
        }
        for p in expired {
            if let Pending::Internal { what: Internal::ListDevices { resync: true }, .. } = p {
                warn!("the coordinator did not send its device list; new handshake");
                self.want_reconnect = true;
            }
            let why = "no answer from the coordinator in time";
            self.fail_pending(p, Outcome::Failed { retryable: true }, why).await;
        }
    }

    /// Ends a pending request: batches with `outcome`, queries with `COORDINATOR_OFFLINE`.
    pub(super) async fn fail_pending(&mut self, p: Pending, outcome: Outcome, why: &str) {
        match p {
            Pending::Batch { mut batch, .. } => {
                let out = batch.finish(outcome, Some(why));
                self.resolved(out).await;
            }
            Pending::Query { reply, .. } => {
                let e = ApiError::new(
                    ErrorCode::CoordinatorOffline,
                    format!("the coordinator of ESI {}: {why}", self.esi),
                );
                let _ = reply.send(Err(e));
            }
            Pending::Internal { what, .. } => {
                debug!(?what, why, "internal request ended");
                if what.is_resync() {
                    self.resync_step().await;
                }
            }
        }
    }

    /// The session ended: requeue deliveries in flight, fail queries, stop dispatch.
    pub(super) async fn link_down(&mut self, why: &str) {
        let was_ready = self.ready;
        self.connected = false;
        self.ready = false;
        self.resync_left = 0;
        self.seqs.clear();
        let pending: Vec<Pending> = self.pending.drain().map(|(_, p)| p).collect();
        let queued: Vec<Pending> = self.outq.drain(..).map(|o| o.pending).collect();
        for p in pending.into_iter().chain(queued) {
            self.fail_pending(p, Outcome::Requeue, why).await;
        }
        if was_ready {
            let msg = DispatchMsg::EsiReady { esi: self.esi.clone(), ready: false };
            let _ = self.dispatch.send(msg).await;
        }
    }
}

/// This gateway's version for the `Hello`.
fn gateway_version() -> SoftwareVersion {
    let n = |s: &str| s.parse().unwrap_or(0);
    SoftwareVersion {
        major: n(env!("CARGO_PKG_VERSION_MAJOR")),
        minor: n(env!("CARGO_PKG_VERSION_MINOR")),
        patch: n(env!("CARGO_PKG_VERSION_PATCH")),
    }
}
