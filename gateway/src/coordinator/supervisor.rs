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
use crate::config::{CoordinatorConfig, LinkSettings};
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
        }
    }

    /// Runs until shutdown.
    pub(crate) async fn run(mut self) {
        let span = info_span!("coordinator", esi = %self.esi, port = %self.cfg.port.display());
        async move {
            let mut backoff = self.link.reconnect_min;
            let mut open_error_reported = false;
            loop {
                if *self.shutdown.borrow() {
                    break;
                }
                let opened = tokio_serial::new(self.cfg.port.to_string_lossy(), self.cfg.baud)
                    .open_native_async();
                match opened {
                    Ok(port) => {
                        info!("port opened");
                        open_error_reported = false;
                        self.health.set_link(&self.esi, LinkStatus::Connecting);
                        let end = self.session(port).await;
                        let was_ready = self.sessions_opened > 0 && self.ready;
                        self.end_connection(&end).await;
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
                            self.events.coordinator(&self.esi, "offline", Some(msg));
                            open_error_reported = true;
                        }
                    }
                }
                if self.idle(backoff).await {
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

    /// Waits `d` with the port closed, answering commands; `true` on shutdown.
    async fn idle(&mut self, d: Duration) -> bool {
        let until = Instant::now() + d;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => return false,
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
    async fn session(&mut self, port: tokio_serial::SerialStream) -> End {
        let clock = Clock::new();
        let mut ep = HostEndpoint::new(self.link_config());
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
                    self.on_link_event(ev, &clock).await;
                }
            }
            self.pump(&mut ep, &clock).await;
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
                self.on_link_event(ev, &clock).await;
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

    /// The port is gone (or shutdown): hand back everything, mark offline.
    async fn end_connection(&mut self, end: &End) {
        let why = match end {
            End::PortLost(e) => e.clone(),
            End::Shutdown => "gateway shutting down".into(),
        };
        if let End::PortLost(e) = end {
            warn!(error = %e, "port lost");
            self.events.coordinator(&self.esi, "offline", Some(e.clone()));
        }
        self.health.update(&self.esi, |h| h.last_error = Some(why.clone()));
        self.link_down(&format!("link to the coordinator lost: {why}")).await;
        self.health.set_link(&self.esi, LinkStatus::Offline);
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
