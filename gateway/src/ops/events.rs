//! Upstream events for the MQTT bridge (design.md §7 `event/*`): published on a
//! `tokio::sync::broadcast` channel the moment they happen (BR-053.006: opt-outs and
//! provisioning changes are forwarded at once, never queued behind downstream work).
//!
//! A slow subscriber that falls behind the channel's capacity loses the oldest events
//! (`RecvError::Lagged`); the durable record is the store (delivery states) and the retained ESI
//! status, which a subscriber re-reads after a lag.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::model::{Delivery, EsiId, Eui64, Timestamp};

use super::time::format_rfc3339;
use super::util::eui_text;

/// Events kept for slow subscribers before the oldest are dropped.
pub const EVENT_CAPACITY: usize = 4096;

/// One upstream event, tagged by `event` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A delivery changed state (`event/delivery`).
    Delivery(DeliveryEvent),
    /// A device's provisioning state changed (`event/device`).
    Device(DeviceEvent),
    /// Power / switch status or a reading changed (`event/meter`).
    Meter(MeterEvent),
    /// A DR event status report from a device (`event/drlc`), opt-out/opt-in included.
    Drlc(DrlcEvent),
    /// The coordinator link of an ESI changed or reported a fault (comm errors, BR-006.016–.020).
    Coordinator(CoordinatorEvent),
}

/// `event/delivery`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryEvent {
    pub request_id: u64,
    pub delivery_id: u64,
    pub esi_id: String,
    pub eui64: String,
    pub state: String,
    pub retries: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub at: String,
}

impl DeliveryEvent {
    pub fn of(d: &Delivery) -> Self {
        Self {
            request_id: d.request_id.0,
            delivery_id: d.id.0,
            esi_id: d.esi_id.0.clone(),
            eui64: eui_text(d.eui64),
            state: d.state.as_str().to_owned(),
            retries: d.retries,
            error: d.last_error.clone(),
            at: format_rfc3339(d.updated_at),
        }
    }
}

/// `event/device`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceEvent {
    pub esi_id: String,
    pub eui64: String,
    /// `pending`, `joining`, `paired`, `left`, `expired`, `unpaired`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub at: String,
}

/// `event/meter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeterEvent {
    pub esi_id: String,
    pub power: Option<String>,
    pub switch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summation_delivered_kwh: Option<f64>,
    pub stale: bool,
    pub at: String,
}

/// `event/drlc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrlcEvent {
    pub esi_id: String,
    pub eui64: String,
    pub issuer_event_id: u32,
    /// `received`, `started`, `completed`, `opt_out`, `opt_in`, `cancelled`, `superseded`,
    /// `rejected`, or `status_0x..` for other codes.
    pub status: String,
    pub status_code: u8,
    pub at: String,
}

/// `event/coordinator`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoordinatorEvent {
    pub esi_id: String,
    /// `connected`, `online`, `offline`, `comm_error`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub at: String,
}

/// The sending side of the event channel (cheap to clone).
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
    /// Counts every event as it is published (exact: not a lagging subscriber).
    metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> Self {
        Self { tx: broadcast::channel(EVENT_CAPACITY).0, metrics: None }
    }

    /// A bus that also feeds `metrics`.
    pub fn with_metrics(metrics: std::sync::Arc<crate::metrics::Metrics>) -> Self {
        Self { metrics: Some(metrics), ..Self::new() }
    }

    /// The metrics fed by this bus, if any.
    pub fn metrics(&self) -> Option<&std::sync::Arc<crate::metrics::Metrics>> {
        self.metrics.as_ref()
    }

    /// A new subscriber, seeing events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// Publishes at once (no subscriber is fine).
    pub fn publish(&self, e: Event) {
        tracing::debug!(event = ?e, "upstream event");
        if let Some(m) = &self.metrics {
            m.event(&e);
        }
        let _ = self.tx.send(e);
    }

    pub(crate) fn delivery(&self, d: &Delivery) {
        if let Some(m) = &self.metrics {
            m.delivery(d);
        }
        self.publish(Event::Delivery(DeliveryEvent::of(d)));
    }

    pub(crate) fn device(
        &self,
        esi: &EsiId,
        eui64: Eui64,
        state: &str,
        reason: Option<String>,
        at: Timestamp,
    ) {
        self.publish(Event::Device(DeviceEvent {
            esi_id: esi.0.clone(),
            eui64: eui_text(eui64),
            state: state.to_owned(),
            reason,
            at: format_rfc3339(at),
        }));
    }

    pub(crate) fn coordinator(&self, esi: &EsiId, state: &str, error: Option<String>) {
        self.publish(Event::Coordinator(CoordinatorEvent {
            esi_id: esi.0.clone(),
            state: state.to_owned(),
            error,
            at: format_rfc3339(Timestamp::now()),
        }));
    }
}

/// Name of a DRLC Event Status code (se10.md §4.6).
pub fn event_status_name(code: u8) -> String {
    match code {
        0x01 => "received".into(),
        0x02 => "started".into(),
        0x03 => "completed".into(),
        0x04 => "opt_out".into(),
        0x05 => "opt_in".into(),
        0x06 => "cancelled".into(),
        0x07 => "superseded".into(),
        0x08 => "partially_completed_opt_out".into(),
        0x09 => "partially_completed_opt_in".into(),
        0x0A => "completed_no_participation".into(),
        0xF8..=0xFE => "rejected".into(),
        c => format!("status_0x{c:02x}"),
    }
}
