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
    /// Next issuer event id to assign (seeded from the clock: ids increase across restarts).
    next_event_id: AtomicU32,
}

/// A store failure as the API shows it: logged here, `INTERNAL` to the caller.
pub(crate) fn internal(e: &StoreError) -> ApiError {
    error!(error = %e, "store operation failed");
    ApiError::internal()
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
        let seed = u32::try_from(Timestamp::now().as_millis() / 1000).unwrap_or(u32::MAX);
        Self {
            inner: Arc::new(Inner {
                config,
                store,
                dispatcher,
                coordinators,
                health,
                events,
                next_event_id: AtomicU32::new(seed),
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

    /// A fresh issuer event id (larger than any assigned before by this process).
    fn issuer_event_id(&self) -> u32 {
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
