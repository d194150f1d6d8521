//! Coordinator supervisors: one tokio task per serial port (style.md §4), speaking the host-link
//! protocol in the host role (docs/host-link.md).
//!
//! A supervisor opens its port, runs the `Hello` handshake, watches liveness (any frame, normally
//! the coordinator's `Heartbeat` datagrams), and after every (re)connection resynchronises before
//! it takes work: it sets the coordinator's clock, reads the ESI's slot table and reconciles the
//! store's device records with it, and reads power/switch status. Only then is the ESI `online`
//! for the dispatcher. When the port disappears (USB unplugged, coordinator reset) every request
//! in flight on it is handed back (deliveries go back to the queue without counting a retry;
//! synchronous requests fail with `COORDINATOR_OFFLINE`) and the port is reopened with
//! exponential backoff.
//!
//! Other tasks talk to a supervisor through a [`CoordHandle`]: batches of deliveries (one
//! host-link request per request and ESI) and synchronous queries (provisioning, reads).

mod batch;
mod ezsp;
mod health;
mod session;
mod supervisor;

use std::time::Duration;

use firmware::host_link::{Command, Report, RequestResult};
use tokio::sync::{mpsc, oneshot};

pub(crate) use batch::Resolved;
pub use health::{
    power_text, switch_text, EsiHealth, HealthMap, LinkStatus, ReadingSnapshot, StatusSnapshot,
};
pub(crate) use session::blocking;
pub(crate) use supervisor::Supervisor;

use crate::error::{ApiError, ErrorCode};
use crate::model::{DeliveryId, EsiId, Eui64, RequestId, RequestKind};

/// Commands a supervisor accepts; bounded channel.
#[derive(Debug)]
pub(crate) enum CoordCmd {
    /// Send a batch of deliveries (their outcomes go to the dispatcher).
    Deliver(Batch),
    /// A synchronous request; the answer comes back on `reply`.
    Query { command: Command, reply: oneshot::Sender<Result<QueryAnswer, ApiError>> },
}

/// All recipients of one request on one ESI, sent as one host-link request.
#[derive(Debug, Clone)]
pub(crate) struct Batch {
    pub request_id: RequestId,
    pub kind: RequestKind,
    /// The deliveries and their devices (`Eui64(0)` = the ESI itself, for prices).
    pub members: Vec<(DeliveryId, Eui64)>,
    /// The command with `Targets::All`; the supervisor narrows it to the members.
    pub command: Command,
    /// Some member was sent before (a retry or a resend after a link loss).
    pub resend: bool,
}

/// The answer to a query: the `Result` and, for `ListDevices` / `ReadMeter` / `GetStatus`, the
/// data report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryAnswer {
    pub result: RequestResult,
    pub data: Option<Report>,
}

/// Commands one supervisor may have waiting before senders wait.
pub(crate) const COMMAND_QUEUE: usize = 64;

/// The handle other tasks use to reach the supervisor of one ESI.
#[derive(Debug, Clone)]
pub struct CoordHandle {
    esi_id: EsiId,
    tx: mpsc::Sender<CoordCmd>,
    health: HealthMap,
    query_timeout: Duration,
}

impl CoordHandle {
    pub(crate) fn new(
        esi_id: EsiId,
        tx: mpsc::Sender<CoordCmd>,
        health: HealthMap,
        query_timeout: Duration,
    ) -> Self {
        Self { esi_id, tx, health, query_timeout }
    }

    pub fn esi_id(&self) -> &EsiId {
        &self.esi_id
    }

    /// The current link status.
    pub fn link(&self) -> LinkStatus {
        self.health.get(&self.esi_id).map_or(LinkStatus::Offline, |h| h.link)
    }

    fn offline(&self) -> ApiError {
        ApiError::new(
            ErrorCode::CoordinatorOffline,
            format!("the coordinator of ESI {} is not connected; retry later", self.esi_id),
        )
    }

    /// Sends a synchronous request and waits for its answer (`COORDINATOR_OFFLINE` when the link
    /// is down or the coordinator does not answer in time).
    pub async fn query(&self, command: Command) -> Result<QueryAnswer, ApiError> {
        if !matches!(self.link(), LinkStatus::Online | LinkStatus::Resyncing) {
            return Err(self.offline());
        }
        let (reply, rx) = oneshot::channel();
        self.tx.send(CoordCmd::Query { command, reply }).await.map_err(|_| self.offline())?;
        // The supervisor times queries out itself; this is a backstop.
        match tokio::time::timeout(self.query_timeout * 2 + Duration::from_secs(1), rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) | Err(_) => Err(self.offline()),
        }
    }

    /// Whether a batch can be queued without waiting.
    pub(crate) fn has_room(&self) -> bool {
        self.tx.capacity() > 0
    }

    /// Queues a batch; gives it back when the supervisor's queue is full or gone.
    pub(crate) fn try_deliver(&self, batch: Batch) -> Result<(), Box<Batch>> {
        self.tx.try_send(CoordCmd::Deliver(batch)).map_err(|e| match e.into_inner() {
            CoordCmd::Deliver(b) => Box::new(b),
            CoordCmd::Query { .. } => Box::new(unreachable_batch()),
        })
    }
}

/// `try_send` gives back what was sent, which was a `Deliver`.
fn unreachable_batch() -> Batch {
    Batch {
        request_id: RequestId(0),
        kind: RequestKind::Other(0),
        members: Vec::new(),
        command: Command::ListDevices,
        resend: false,
    }
}
