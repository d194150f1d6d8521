//! Upstream: events and retained state (design.md §7).
//!
//! - Every [`crate::ops::Event`] goes out at once on `event/delivery`, `event/device`,
//!   `event/meter`, `event/drlc` or `event/coordinator` (QoS 1, not retained).
//! - Retained: `bridge/state` (`online`), `bridge/info`, `bridge/esis` and one
//!   `esi/<esi_id>/status` per ESI, republished on every (re)connection and whenever a device,
//!   meter or coordinator event changes them (coalesced over [`STATUS_DEBOUNCE`]).
//! - Terminal delivery states and device changes are appended to the audit log as outcome
//!   records (what came of a request: BR-028.008, BR-084).
//!
//! If the bridge falls behind the event channel ([`crate::ops::events::EVENT_CAPACITY`]), the
//! missed events are gone from MQTT (the store keeps the delivery states: `message/status`), and
//! every retained status is republished.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};
use tracing::warn;

use super::actions::ACTIONS;
use super::request::{now_secs, Shared};
use crate::audit::AuditEntry;
use crate::grants::Grants;
use crate::ops::time::format_rfc3339;
use crate::ops::Event;

/// Retained statuses are republished at most this often per change burst.
pub const STATUS_DEBOUNCE: Duration = Duration::from_millis(250);

/// Version of the MQTT API (topics and payloads), in `bridge/info`.
pub const API_VERSION: &str = "1.0";

/// The topic kind and payload of an event.
pub fn event_payload(e: &Event) -> (&'static str, Value) {
    let (kind, v) = match e {
        Event::Delivery(d) => {
            let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
            if let Some(m) = v.as_object_mut() {
                m.insert("message_id".into(), d.request_id.into());
            }
            return ("delivery", v);
        }
        Event::Device(d) => ("device", serde_json::to_value(d)),
        Event::Meter(m) => ("meter", serde_json::to_value(m)),
        Event::Drlc(d) => ("drlc", serde_json::to_value(d)),
        Event::Coordinator(c) => ("coordinator", serde_json::to_value(c)),
    };
    (kind, v.unwrap_or(Value::Null))
}

/// The ESI whose retained status an event changes.
fn status_esi(e: &Event) -> Option<&str> {
    match e {
        Event::Device(d) => Some(&d.esi_id),
        Event::Meter(m) => Some(&m.esi_id),
        Event::Coordinator(c) => Some(&c.esi_id),
        Event::Drlc(_) | Event::Delivery(_) => None,
    }
}

/// An audit outcome record for an event, if it reports one.
fn audit_outcome(e: &Event) -> Option<AuditEntry> {
    let eui = |t: &str| zse::zcl::Eui64::parse_text(t).filter(|e| e.0 != 0);
    match e {
        Event::Delivery(d)
            if matches!(
                d.state.as_str(),
                "delivered" | "confirmed" | "failed" | "undeliverable" | "expired" | "cancelled"
            ) =>
        {
            let mut a = AuditEntry::new(now_secs(), None, "delivery")
                .target(d.esi_id.clone(), eui(&d.eui64))
                .outcome(d.state.clone())
                .detail(json!({"request_id": d.request_id, "delivery_id": d.delivery_id,
                               "retries": d.retries}));
            if let Some(err) = &d.error {
                a = a.reason(err.chars().take(120).collect::<String>());
            }
            Some(a)
        }
        Event::Device(d) => {
            let mut a = AuditEntry::new(now_secs(), None, "device")
                .target(d.esi_id.clone(), eui(&d.eui64))
                .outcome(d.state.clone());
            if let Some(r) = &d.reason {
                a = a.reason(r.clone());
            }
            Some(a)
        }
        Event::Drlc(d) if matches!(d.status.as_str(), "opt_out" | "opt_in") => Some(
            AuditEntry::new(now_secs(), None, "drlc")
                .target(d.esi_id.clone(), eui(&d.eui64))
                .outcome(d.status.clone())
                .detail(json!({"issuer_event_id": d.issuer_event_id})),
        ),
        _ => None,
    }
}

/// `bridge/info`.
pub fn info(sh: &Shared) -> Value {
    let health = sh.gw.health().all();
    json!({
        "gateway_id": sh.gw.config().gateway_id,
        "api_version": API_VERSION,
        "version": env!("CARGO_PKG_VERSION"),
        "auth": sh.cfg.auth.as_str(),
        "base_topic": sh.topics.root(),
        "max_payload_bytes": sh.cfg.max_payload_bytes,
        "actions": ACTIONS.iter().map(|a| a.name).collect::<Vec<_>>(),
        "esis_hosted": health.len(),
        "coordinators": health.iter().map(|h| json!({
            "esi_id": h.esi_id.0,
            "link": h.link.as_str(),
            "firmware": h.firmware,
            "capacity": h.capacity,
        })).collect::<Vec<_>>(),
    })
}

/// `bridge/esis`.
pub async fn esis(sh: &Shared) -> Value {
    let mut out = Vec::new();
    for h in sh.gw.health().all() {
        let listing = sh.gw.devices(&h.esi_id.0).await.ok();
        out.push(json!({
            "esi_id": h.esi_id.0,
            "link": h.link.as_str(),
            "capacity": h.capacity,
            "slots_free": listing.as_ref().and_then(|l| l.slots_free),
            "devices": listing.as_ref().map_or(0, |l| l.provisioned),
        }));
    }
    Value::Array(out)
}

/// `esi/<esi_id>/status`: power, switch, devices, free slots, last update.
pub async fn esi_status(sh: &Shared, esi_id: &str) -> Option<Value> {
    let h = sh.gw.health().get(&crate::model::EsiId::new(esi_id))?;
    let st = sh.gw.meter_status(esi_id, false).await.ok();
    let listing = sh.gw.devices(esi_id).await.ok();
    Some(json!({
        "esi_id": esi_id,
        "link": h.link.as_str(),
        "power": st.as_ref().and_then(|s| s.power.clone()),
        "switch": st.as_ref().and_then(|s| s.switch.clone()),
        "read_at": st.as_ref().and_then(|s| s.read_at.clone()),
        "stale": st.as_ref().is_none_or(|s| s.stale),
        "summation_delivered_kwh": h.reading.as_ref().and_then(|r| r.milli_kwh.map(crate::polling::kwh)),
        "capacity": listing.as_ref().and_then(|l| l.capacity),
        "slots_free": listing.as_ref().and_then(|l| l.slots_free),
        "devices": listing.as_ref().map(|l| &l.devices),
        "updated_at": format_rfc3339(crate::model::Timestamp::now()),
    }))
}

async fn publish_json(sh: &Shared, topic: String, v: &Value, retain: bool) {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    if !sh.outbox.publish(topic, bytes, retain, None).await {
        warn!("an event or status could not be published");
    }
}

/// Publishes every retained topic.
async fn publish_all(sh: &Shared) {
    sh.outbox.publish_text(sh.topics.state(), "online", true).await;
    publish_json(sh, sh.topics.info(), &info(sh), true).await;
    publish_json(sh, sh.topics.esis(), &esis(sh).await, true).await;
    for id in sh.gw.esi_ids() {
        if let Some(s) = esi_status(sh, &id.0).await {
            publish_json(sh, sh.topics.esi_status(&id.0), &s, true).await;
        }
    }
}

/// Forwards events and keeps the retained state fresh until shutdown.
pub async fn run(
    sh: Arc<Shared>,
    mut events: broadcast::Receiver<Event>,
    mut connected: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut dirty: BTreeSet<String> = BTreeSet::new();
    let mut tick = tokio::time::interval(STATUS_DEBOUNCE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            r = events.recv() => match r {
                Ok(e) => {
                    let (kind, v) = event_payload(&e);
                    publish_json(&sh, sh.topics.event(kind), &v, false).await;
                    if let Some(esi) = status_esi(&e) {
                        dirty.insert(esi.to_owned());
                    }
                    if let Some(a) = audit_outcome(&e) {
                        sh.audit.append_later(a);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    warn!(missed = n, "the MQTT bridge fell behind the event channel");
                    dirty.extend(sh.gw.esi_ids().into_iter().map(|e| e.0));
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            r = connected.changed() => {
                if r.is_err() {
                    break;
                }
                publish_all(&sh).await;
                dirty.clear();
            }
            _ = tick.tick() => {
                if !dirty.is_empty() {
                    for esi in std::mem::take(&mut dirty) {
                        if let Some(s) = esi_status(&sh, &esi).await {
                            publish_json(&sh, sh.topics.esi_status(&esi), &s, true).await;
                        }
                    }
                    publish_json(&sh, sh.topics.esis(), &esis(&sh).await, true).await;
                }
            }
            r = shutdown.changed() => if r.is_err() || *shutdown.borrow() { break },
        }
    }
}

/// Purges old idempotency records once an hour.
pub async fn housekeeping(sh: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let idem = sh.idem.clone();
                let n = tokio::task::spawn_blocking(move || idem.purge()).await.unwrap_or(0);
                if n > 0 {
                    tracing::info!(purged = n, "old request outcomes purged");
                }
                if let Ok(expired) = sh.with_grants(Grants::purge_expired).await {
                    for gr in expired {
                        sh.audit.append_later(
                            AuditEntry::new(now_secs(), Some(gr.party.clone()), "grant/expired")
                                .target(gr.esi_id.clone(), None)
                                .outcome("revoked")
                                .detail(json!({"grant_id": gr.id.0})),
                        );
                    }
                }
            }
            r = shutdown.changed() => if r.is_err() || *shutdown.borrow() { break },
        }
    }
}
