//! The MQTT bridge: the gateway's operations on the wire (design.md §7–§8; docs/asyncapi.yaml).
//!
//! ```text
//!  broker ──request/<action>──► conn (event loop) ──► workers (≤ max_in_flight)
//!                                                       │ request::handle: size, auth, rate,
//!                                                       │ idempotency, schema, grants, ops
//!                                                       ▼
//!  broker ◄──response/<action>── outbox ◄── outcome stored + audit appended, then PUBACK
//!  broker ◄──event/*, retained state── events task ◄── ops::EventBus
//! ```
//!
//! Modules: [`topics`] (layout), [`conn`] (MQTT 5 client: session, will, manual acks),
//! [`request`] (the request path), [`actions`] and [`authz`] (what each action does and who may),
//! [`idempotency`] (`transaction` retries), [`grant_store`] (parties and grants in the store),
//! [`audit_writer`] (group-committed audit log), [`events`] (events and retained state),
//! [`schema`] (the JSON Schemas of `docs/schemas/`).
//!
//! MQTT 5 is used for the bridge's own connection (response topic, correlation data, session
//! expiry, receive maximum). Portal clients may use MQTT 3.1.1 as well: they correlate by
//! `transaction` and read answers on `response/<action>`.

pub mod actions;
pub mod audit_writer;
pub mod authz;
pub mod conn;
pub mod events;
pub mod grant_store;
pub mod idempotency;
pub mod request;
pub mod schema;
pub mod topics;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;
use tracing::{info, Instrument};

use crate::auth::{Authenticator, JwsConfig, JwsVerifier, KeyRegistry, RateLimiter, TrustedBroker};
use crate::config::mqtt::{AuthMode, BrokerConfig, MqttConfig};
use crate::grants::{GrantStore, Grants};
use crate::ops::Gateway;
use crate::store::Store;

pub use request::{Inbound, Reply, Shared};
pub use topics::Topics;

/// Builds the authenticator of the configured mode.
fn authenticator(cfg: &MqttConfig) -> Result<Authenticator, String> {
    Ok(match cfg.auth {
        AuthMode::Jws => {
            let keys = KeyRegistry::from_specs(cfg.keys.clone()).map_err(|e| e.to_string())?;
            let jc = JwsConfig {
                max_skew_secs: cfg.max_skew.as_secs(),
                max_token_bytes: cfg.max_payload_bytes,
                ..JwsConfig::default()
            };
            Authenticator::Jws(JwsVerifier::new(keys, jc))
        }
        AuthMode::TrustedBroker => Authenticator::TrustedBroker(TrustedBroker::new(
            cfg.identities.clone(),
            cfg.max_payload_bytes,
        )?),
    })
}

/// Builds the shared state of the bridge (store-backed grants, audit writer, schemas) and the
/// MQTT client; nothing runs yet.
pub fn prepare(
    cfg: &MqttConfig,
    gw: Gateway,
    store: Arc<Store>,
    audit: (audit_writer::SharedLog, PathBuf),
) -> Result<(Arc<Shared>, rumqttc::v5::EventLoop), String> {
    let topics = Topics::new(&cfg.base_topic, &gw.config().gateway_id);
    let mut grants = Grants::new(
        grant_store::KvGrantStore::open(store.clone()).map_err(|e| format!("grants: {e}"))?,
    );
    for p in &cfg.parties {
        grants.store_mut().put_party(p.clone()).map_err(|e| format!("grants: {e}"))?;
    }
    let mut rate = RateLimiter::new(cfg.rate);
    for (p, l) in &cfg.rate_overrides {
        rate.set_limit(p.clone(), *l);
    }
    let audit = audit_writer::AuditWriter::start(audit.0, &audit.1)
        .map_err(|e| format!("audit log: {e}"))?;
    let (outbox, eventloop) = conn::connect(cfg, &topics)?;
    let sh = Shared {
        gw,
        cfg: cfg.clone(),
        topics,
        auth: std::sync::RwLock::new(authenticator(cfg)?),
        rate: Mutex::new(rate),
        grants: Arc::new(Mutex::new(grants)),
        idem: idempotency::Idempotency::new(store, cfg.idempotency_ttl),
        audit,
        schemas: schema::Schemas::load()?,
        outbox,
    };
    Ok((Arc::new(sh), eventloop))
}

/// Starts the bridge (and the embedded broker if configured): the connection, the request
/// workers, the event forwarder and housekeeping. `audit` is the daemon's audit log and its
/// path (for `audit/query`).
pub async fn start(
    cfg: &MqttConfig,
    gw: Gateway,
    store: Arc<Store>,
    audit: (audit_writer::SharedLog, PathBuf),
    shutdown: &watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, String> {
    if let BrokerConfig::Embedded { listen, listen_v311 } = cfg.broker {
        start_embedded(listen, listen_v311).await?;
    }
    let (cfg2, gw2) = (cfg.clone(), gw.clone());
    let (sh, eventloop) = tokio::task::spawn_blocking(move || prepare(&cfg2, gw2, store, audit))
        .await
        .map_err(|_| "MQTT bridge set-up panicked".to_owned())??;
    let cap = usize::from(cfg.max_in_flight).saturating_mul(2).max(16);
    let (req_tx, mut req_rx) = mpsc::channel(cap);
    let (conn_tx, conn_rx) = watch::channel(0u64);
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(conn::run(
        eventloop,
        sh.outbox.clone(),
        sh.topics.clone(),
        cfg.auth == AuthMode::TrustedBroker,
        req_tx,
        conn_tx,
        shutdown.clone(),
    )));
    tasks.push(tokio::spawn(events::run(sh.clone(), gw.subscribe(), conn_rx, shutdown.clone())));
    tasks.push(tokio::spawn(events::housekeeping(sh.clone(), shutdown.clone())));
    let workers = Arc::new(Semaphore::new(usize::from(cfg.max_in_flight)));
    let sh2 = sh.clone();
    let mut sd = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        // Requests run in a set owned by this task: aborting it (a daemon crash in tests)
        // aborts them too, and an orderly stop lets the running ones finish.
        let mut running = tokio::task::JoinSet::new();
        loop {
            let p = tokio::select! {
                p = req_rx.recv() => match p { Some(p) => p, None => break },
                Some(_) = running.join_next(), if !running.is_empty() => continue,
                r = sd.changed() => if r.is_err() || *sd.borrow() { break } else { continue },
            };
            let Ok(permit) = workers.clone().acquire_owned().await else { break };
            let sh = sh2.clone();
            running.spawn(async move {
                serve(&sh, p).await;
                drop(permit);
            });
        }
        while running.join_next().await.is_some() {}
    }));
    info!(root = sh.topics.root(), auth = cfg.auth.as_str(), "MQTT bridge started");
    Ok(tasks)
}

/// One request: handle, publish the response, then acknowledge. Logged in a `request` span
/// whose `transaction` field is the portal's correlation id; counted in the metrics by action
/// (unknown actions as `unknown`, to bound the label set) and outcome.
async fn serve(sh: &Shared, p: rumqttc::v5::mqttbytes::v5::Publish) {
    let started = std::time::Instant::now();
    let topic = String::from_utf8_lossy(&p.topic).into_owned();
    let action = sh
        .topics
        .parse_request(&topic)
        .and_then(|r| actions::find(r.action))
        .map_or("unknown", |a| a.name);
    let transaction = request::peek_transaction(&p.payload);
    let transaction = transaction.as_ref().and_then(serde_json::Value::as_str).unwrap_or("-");
    let span = tracing::info_span!("request", action, transaction);
    let props = p.properties.as_ref();
    let inbound = Inbound {
        topic,
        payload: p.payload.clone(),
        response_topic: props.and_then(|x| x.response_topic.clone()),
        correlation_data: props.and_then(|x| x.correlation_data.clone()),
    };
    async {
        if let Some(reply) = request::handle(sh, &inbound).await {
            let outcome = match reply.body.get("status").and_then(serde_json::Value::as_str) {
                Some("ok") => "ok",
                _ => reply
                    .body
                    .pointer("/error/code")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("error"),
            }
            .to_owned();
            let bytes = serde_json::to_vec(&reply.body).unwrap_or_default();
            if !sh.outbox.publish(reply.topic, bytes, false, reply.correlation_data).await {
                tracing::warn!("a response could not be published");
            }
            let took = started.elapsed();
            tracing::debug!(%outcome, ms = took.as_secs_f64() * 1000.0, "request answered");
            if let Some(m) = sh.gw.metrics() {
                m.mqtt_request(action, &outcome, took);
            }
        }
        sh.outbox.ack(&p).await;
    }
    .instrument(span)
    .await;
}

#[cfg(feature = "embedded-broker")]
async fn start_embedded(
    listen: std::net::SocketAddr,
    listen_v311: std::net::SocketAddr,
) -> Result<(), String> {
    tokio::task::spawn_blocking(move || crate::broker::ensure_started(listen, listen_v311))
        .await
        .map_err(|_| "embedded broker start panicked".to_owned())?
}

#[cfg(not(feature = "embedded-broker"))]
async fn start_embedded(
    _listen: std::net::SocketAddr,
    _listen_v311: std::net::SocketAddr,
) -> Result<(), String> {
    Err("this gateway was built without the `embedded-broker` feature".into())
}
