//! The daemon: wires the store, the scheduler's dispatcher, one supervisor and one poller per
//! coordinator, the operations API and the ctl socket (design.md §1, style.md §4: a task per
//! resource, bounded channels between them, shutdown by broadcast).
//!
//! Start-up order matters for "nothing lost": the store is opened first (every delivery found
//! `sent` goes back to `queued`), the scheduler is rebuilt from it, and only then do the
//! supervisors connect; a delivery is dispatched only to an ESI that has resynchronised.

pub mod ctl;
pub(crate) mod dispatcher;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::info;

use crate::config::{Config, ConfigError};
use crate::coordinator::{CoordHandle, EsiHealth, HealthMap, Supervisor, COMMAND_QUEUE};
use crate::model::{EsiRecord, Timestamp};
use crate::ops::{EventBus, Gateway};
use crate::scheduler;
use crate::store::{Store, StoreConfig, StoreError};
use dispatcher::{DispatchMsg, Dispatcher, INBOX};

/// Why the daemon could not start.
#[derive(Debug)]
pub enum DaemonError {
    Config(ConfigError),
    Store(StoreError),
    Io(String),
}

impl fmt::Display for DaemonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => e.fmt(f),
            Self::Store(e) => write!(f, "store: {e}"),
            Self::Io(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for DaemonError {}

impl From<ConfigError> for DaemonError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

impl From<StoreError> for DaemonError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// A running daemon.
#[derive(Debug)]
pub struct Daemon {
    gateway: Gateway,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Kept only to be dropped last (closes the writer after the tasks stopped).
    store: Option<Arc<Store>>,
    metrics_addr: Option<std::net::SocketAddr>,
}

impl Daemon {
    /// Opens the store, rebuilds the queue and starts every task (ctl socket included).
    pub async fn start(config: Config) -> Result<Self, DaemonError> {
        let config = Arc::new(config);
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            DaemonError::Io(format!("cannot create {}: {e}", config.data_dir.display()))
        })?;
        let path = config.store_path();
        let (store, recovery) =
            tokio::task::spawn_blocking(move || Store::open(path, StoreConfig::default()))
                .await
                .map_err(|_| DaemonError::Io("store open panicked".into()))??;
        info!(
            created = recovery.created,
            requeued = recovery.requeued,
            queued = recovery.queued,
            requests = recovery.requests,
            "store opened"
        );
        let store = Arc::new(store);
        for c in &config.coordinators {
            let (s, id, meter) = (store.clone(), c.esi_id.clone(), c.meter_number.clone());
            crate::coordinator::blocking(move || {
                let old = s.esi(&id)?;
                let slot_capacity = old.and_then(|o| o.slot_capacity);
                s.put_esi(EsiRecord { esi_id: id, meter_number: Some(meter), slot_capacity })
            })
            .await?;
        }
        let (s2, sched_cfg) = (store.clone(), config.scheduler);
        let sched = crate::coordinator::blocking(move || {
            scheduler::rebuild(&s2, sched_cfg, Timestamp::now())
        })
        .await?;
        info!(queued = sched.len(), "scheduler rebuilt");

        let (shutdown, shutdown_rx) = watch::channel(false);
        let events = EventBus::with_metrics(Arc::new(crate::metrics::Metrics::new()));
        let health = HealthMap::new();
        let (dtx, drx) = mpsc::channel::<DispatchMsg>(INBOX);
        let mut tasks = Vec::new();
        let mut handles = HashMap::new();
        for c in &config.coordinators {
            health.insert(EsiHealth::new(c.esi_id.clone(), c.port.display().to_string()));
            let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
            let handle =
                CoordHandle::new(c.esi_id.clone(), tx, health.clone(), config.link.query_timeout);
            let sup = Supervisor::new(
                c.clone(),
                config.link,
                rx,
                dtx.clone(),
                store.clone(),
                health.clone(),
                events.clone(),
                shutdown_rx.clone(),
            );
            tasks.push(tokio::spawn(sup.run()));
            tasks.push(tokio::spawn(crate::polling::run(
                handle.clone(),
                config.polling,
                health.clone(),
                events.clone(),
                shutdown_rx.clone(),
            )));
            handles.insert(c.esi_id.clone(), handle);
        }
        let d = Dispatcher::new(
            sched,
            store.clone(),
            handles.clone(),
            drx,
            events.clone(),
            shutdown_rx.clone(),
        );
        tasks.push(tokio::spawn(d.run()));
        let gateway = Gateway::new(config.clone(), store.clone(), dtx, handles, health, events);
        let audit_path = config.audit_path();
        let audit =
            crate::audit::AuditLog::open(&audit_path, crate::audit::SyncPolicy::EveryAppend)
                .map_err(|e| DaemonError::Io(format!("audit log {}: {e}", audit_path.display())))?;
        let audit = Arc::new(std::sync::Mutex::new(audit));
        if let Some(m) = &config.mqtt {
            let bridge = crate::mqtt::start(
                m,
                gateway.clone(),
                store.clone(),
                (audit.clone(), audit_path),
                &shutdown_rx,
            )
            .await
            .map_err(DaemonError::Io)?;
            tasks.extend(bridge);
        }
        let metrics_addr = start_metrics(&gateway, store.clone(), &shutdown_rx, &mut tasks).await?;
        let listener = ctl::bind(&config.ctl.socket)?;
        tasks.push(tokio::spawn(ctl::serve(listener, gateway.clone(), audit, shutdown_rx)));
        info!(gateway_id = %config.gateway_id, coordinators = config.coordinators.len(), "daemon started");
        Ok(Self { gateway, shutdown, tasks, store: Some(store), metrics_addr })
    }

    /// Where `/metrics` and `/health` are served (the bound address: port 0 in the
    /// configuration picks a free one), if `[metrics]` is configured.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_addr
    }

    /// The operations API.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// Stops every task and waits for them; the store is closed after everything it was given.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        self.close_store().await;
        info!("daemon stopped");
    }

    /// Stops abruptly, like a crash: tasks are aborted mid-work (tests of "nothing lost").
    pub async fn abort(mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
            let _ = t.await;
        }
        self.close_store().await;
    }

    async fn close_store(&mut self) {
        let ctl = self.gateway.config().ctl.socket.clone();
        let _ = std::fs::remove_file(ctl);
        if let Some(s) = self.store.take() {
            // Other clones (the gateway's) go when the daemon is dropped; closing waits for
            // the writer to finish what it was given.
            let _ = tokio::task::spawn_blocking(move || drop(s)).await;
        }
    }
}

/// Starts the `/metrics` and `/health` endpoint if configured; its bound address.
async fn start_metrics(
    gateway: &Gateway,
    store: Arc<Store>,
    shutdown: &watch::Receiver<bool>,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<Option<std::net::SocketAddr>, DaemonError> {
    let (Some(m), Some(metrics)) = (&gateway.config().metrics, gateway.metrics()) else {
        return Ok(None);
    };
    let probe = crate::metrics::http::Probe {
        metrics: metrics.clone(),
        health: gateway.health().clone(),
        store,
    };
    let l = crate::metrics::http::bind(m.listen).await.map_err(DaemonError::Io)?;
    let addr = l.local_addr().ok();
    tasks.push(tokio::spawn(crate::metrics::http::serve(l, probe, shutdown.clone())));
    Ok(addr)
}

/// `gateway run`: starts the daemon and runs until SIGINT / SIGTERM.
pub async fn run(config: Config) -> Result<(), DaemonError> {
    let daemon = Daemon::start(config).await?;
    wait_for_signal().await;
    info!("signal received, stopping");
    daemon.shutdown().await;
    Ok(())
}

pub(crate) async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = ctrl_c.await;
}
