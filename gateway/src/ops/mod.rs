//! The gateway's operations as a Rust API (design.md §7 actions): what the ctl socket and the
//! MQTT bridge call.
//!
//! Every operation validates its input first and answers a typed [`ApiError`] naming the field
//! (`UNKNOWN_ESI`, `METER_MISMATCH`, `BAD_INSTALL_CODE`, `SLOTS_FULL`, `NOT_PAIRED`,
//! `TEXT_TOO_LONG`, `INVALID_TIME`, `COORDINATOR_OFFLINE`, …). A downstream request is answered
//! only after it is committed to the store (design.md §4), and from then on each of its
//! deliveries ends in exactly one terminal state with a reason: nothing accepted is dropped.
//! Upstream events go out on the [`events::EventBus`] the moment they happen.
//!
//! Authorization (grants, design.md §8) is the caller's business (the MQTT bridge checks grants
//! before calling); the one role rule of provisioning (only the TDSP removes pending entries,
//! BR-081.003) is checked here because it depends on the device's state.

mod devices;
pub mod events;
mod messages;
mod meter;
pub mod payload;
pub mod time;
pub mod types;
pub mod util;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::error;

use crate::config::Config;
use crate::coordinator::{CoordHandle, HealthMap};
use crate::daemon::dispatcher::DispatchMsg;
use crate::error::{ApiError, ErrorCode};
use crate::grants::Role;
use crate::model::{EsiId, PartyId, Timestamp};
use crate::store::{Store, StoreError};

pub use events::{Event, EventBus};

/// Who is asking (after authentication), for records and role rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub party: PartyId,
    pub role: Role,
    /// The request's `transaction` / correlation id, carried into logs.
    pub transaction: Option<String>,
}

impl Caller {
    pub fn new(party: impl Into<String>, role: Role) -> Self {
        Self { party: PartyId(party.into()), role, transaction: None }
    }

    /// The correlation id for logs: the transaction, or a fresh one.
    pub(crate) fn corr(&self) -> String {
        self.transaction.clone().unwrap_or_else(|| format!("op-{}", Timestamp::now().as_millis()))
    }
}

/// The operations. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Arc<Config>,
    store: Arc<Store>,
    dispatcher: mpsc::Sender<DispatchMsg>,
    coordinators: HashMap<EsiId, CoordHandle>,
    health: HealthMap,
    events: EventBus,
    /// The last issuer event id assigned (seeded from the clock and the durable ceiling).
    next_event_id: AtomicU32,
    /// Ids up to here are reserved durably (kv `ids/issuer_event_ceiling`): a restart starts
    /// above it, so ids never repeat or go backwards across crashes, however fast they were
    /// handed out.
    event_id_ceiling: AtomicU32,
    reserve: tokio::sync::Mutex<()>,
}

/// Issuer event ids reserved per durable write.
const EVENT_ID_BLOCK: u32 = 10_000;
const EVENT_ID_NS: &str = "ids";
const EVENT_ID_KEY: &str = "issuer_event_ceiling";

/// A store failure as the API shows it: logged here; `STORAGE_UNAVAILABLE` to the caller when
/// the data directory cannot be written (disk full, read-only, I/O error, writer stopped),
/// else `INTERNAL`. Neither message says more than that.
pub(crate) fn internal(e: &StoreError) -> ApiError {
    error!(error = %e, "store operation failed");
    match e {
        StoreError::Storage(_) | StoreError::Closed => ApiError::storage_unavailable(),
        _ => ApiError::internal(),
    }
}

impl Gateway {
    pub(crate) fn new(
        config: Arc<Config>,
        store: Arc<Store>,
        dispatcher: mpsc::Sender<DispatchMsg>,
        coordinators: HashMap<EsiId, CoordHandle>,
        health: HealthMap,
        events: EventBus,
    ) -> Self {
        let now = u32::try_from(Timestamp::now().as_millis() / 1000).unwrap_or(u32::MAX);
        let reserved = match store.kv_get(EVENT_ID_NS, EVENT_ID_KEY) {
            Ok(Some(b)) => b.try_into().map_or(0, u32::from_le_bytes),
            Ok(None) => 0,
            Err(e) => {
                error!(error = %e, "reading the issuer event id ceiling");
                0
            }
        };
        let seed = now.max(reserved);
        Self {
            inner: Arc::new(Inner {
                config,
                store,
                dispatcher,
                coordinators,
                health,
                events,
                next_event_id: AtomicU32::new(seed),
                event_id_ceiling: AtomicU32::new(seed),
                reserve: tokio::sync::Mutex::new(()),
            }),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Subscribes to upstream events.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// The daemon's metrics (none for a gateway built without them).
    pub fn metrics(&self) -> Option<&Arc<crate::metrics::Metrics>> {
        self.inner.events.metrics()
    }

    /// Health of every ESI.
    pub fn health(&self) -> &HealthMap {
        &self.inner.health
    }

    fn events(&self) -> &EventBus {
        &self.inner.events
    }

    /// The ESI ids this gateway hosts.
    pub fn esi_ids(&self) -> Vec<EsiId> {
        self.inner.config.coordinators.iter().map(|c| c.esi_id.clone()).collect()
    }

    /// An ESI hosted here, or `UNKNOWN_ESI`.
    fn esi(&self, text: &str, field: &str) -> Result<(EsiId, &CoordHandle), ApiError> {
        let id = EsiId::new(text.trim());
        match self.inner.coordinators.get(&id) {
            Some(h) => Ok((id, h)),
            None => Err(ApiError::new(
                ErrorCode::UnknownEsi,
                format!("{field}: ESI {:?} is not hosted by this gateway", text.trim()),
            )),
        }
    }

    /// A fresh issuer event id, larger than any assigned before, also by earlier runs of the
    /// gateway: every id handed out lies under a durably reserved ceiling.
    async fn issuer_event_id(&self) -> Result<u32, ApiError> {
        let next = self.next_issuer_event_id();
        if next <= self.inner.event_id_ceiling.load(Ordering::Acquire) {
            return Ok(next);
        }
        let _g = self.inner.reserve.lock().await;
        if next <= self.inner.event_id_ceiling.load(Ordering::Acquire) {
            return Ok(next);
        }
        let ceiling = next.saturating_add(EVENT_ID_BLOCK);
        self.db(move |s| {
            s.kv_write(
                vec![(
                    EVENT_ID_NS.into(),
                    EVENT_ID_KEY.into(),
                    Some(ceiling.to_le_bytes().to_vec()),
                )],
                true,
            )
        })
        .await?;
        self.inner.event_id_ceiling.fetch_max(ceiling, Ordering::AcqRel);
        Ok(next)
    }

    /// The next id of this process (clock-seeded, strictly increasing).
    fn next_issuer_event_id(&self) -> u32 {
        let now = u32::try_from(Timestamp::now().as_millis() / 1000).unwrap_or(u32::MAX);
        let mut cur = self.inner.next_event_id.load(Ordering::Relaxed);
        loop {
            let next = cur.max(now).wrapping_add(1);
            match self.inner.next_event_id.compare_exchange(
                cur,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return next,
                Err(c) => cur = c,
            }
        }
    }

    /// Runs a blocking store call.
    async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.inner.store.clone();
        crate::coordinator::blocking(move || f(&store)).await.map_err(|e| internal(&e))
    }
}
