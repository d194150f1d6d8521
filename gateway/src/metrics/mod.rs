//! Prometheus metrics and the `/metrics` + `/health` HTTP endpoint (design.md §9, issue 9).
//!
//! One [`Metrics`] per daemon (tests run several daemons in one process, so nothing is global).
//! It is fed from three places, each cheap on its hot path:
//!
//! - the [`crate::ops::EventBus`]: every delivery transition (by state and priority; `expired`
//!   also counts as a deadline miss), device provisioning state changes, DR status reports;
//! - the dispatcher: the scheduler's queue depth per priority and the deliveries in flight,
//!   copied after every turn of its loop (three counters the scheduler keeps, no scan);
//! - the MQTT bridge: requests by action and outcome, and their latency (histogram).
//!
//! Gauges that describe the state of the world (ESI links, serial errors, deliveries open in the
//! store) are read at scrape time from the [`crate::coordinator::HealthMap`] and the store.
//!
//! The exposition is the OpenMetrics text format of the `prometheus-client` crate, which
//! Prometheus scrapes natively. [`http`] serves it on a local TCP port (`[metrics] listen`).

pub mod http;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::coordinator::{HealthMap, LinkStatus};
use crate::model::{Delivery, Priority};
use crate::ops::Event;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatePriority {
    state: String,
    priority: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PriorityLabel {
    priority: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EsiLabel {
    esi_id: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EsiLinkLabel {
    esi_id: String,
    link: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionOutcome {
    action: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabel {
    action: String,
}

type LatencyFamily = Family<ActionLabel, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~16 s: a request answered from memory, one that waits for an fsync, and a
    // synchronous meter read over the radio all land in distinct buckets.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The metrics of one daemon.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    queue_depth: Family<PriorityLabel, Gauge>,
    in_flight: Gauge,
    /// Last values copied by the dispatcher (the gauges are set from them at scrape time too).
    depth: [AtomicI64; 3],
    deliveries: Family<StatePriority, Counter>,
    deadline_misses: Family<PriorityLabel, Counter>,
    deliveries_open: Family<StateLabel, Gauge>,
    devices: Family<StateLabel, Counter>,
    drlc_reports: Family<StatusLabel, Counter>,
    esi_up: Family<EsiLabel, Gauge>,
    esi_link: Family<EsiLinkLabel, Gauge>,
    serial_errors: Family<EsiLabel, Gauge>,
    link_sessions: Family<EsiLabel, Gauge>,
    mqtt_requests: Family<ActionOutcome, Counter>,
    request_latency: LatencyFamily,
    /// Serialises scrapes (the scrape-time gauges are set, then encoded).
    scrape: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Registers `m` and returns it (metrics are shared handles).
fn reg<M: prometheus_client::registry::Metric + Clone>(
    r: &mut Registry,
    name: &str,
    help: &str,
    m: M,
) -> M {
    r.register(name, help, m.clone());
    m
}

impl Metrics {
    /// Every metric registered under the `han_` prefix.
    #[allow(clippy::too_many_lines)] // one flat list of registrations
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("han");
        let queue_depth = reg(
            &mut registry,
            "queue_depth",
            "Deliveries queued or in flight in the scheduler, by priority",
            Family::default(),
        );
        let in_flight = reg(
            &mut registry,
            "deliveries_in_flight",
            "Deliveries handed to a coordinator and awaiting their result",
            Gauge::default(),
        );
        let deliveries = reg(
            &mut registry,
            "delivery_transitions",
            "Delivery state transitions (queued, sent, delivered, confirmed, failed, \
             undeliverable, expired, cancelled), by priority",
            Family::default(),
        );
        let deadline_misses = reg(
            &mut registry,
            "deadline_misses",
            "Deliveries that expired (their priority deadline or end time passed) before \
             they could be delivered",
            Family::default(),
        );
        let deliveries_open = reg(
            &mut registry,
            "deliveries_open",
            "Deliveries in the durable store that are not final (queued, sent)",
            Family::default(),
        );
        let devices = reg(
            &mut registry,
            "provisioning_outcomes",
            "Device provisioning state changes (pending, joining, paired, left, expired, \
             unpaired, ...)",
            Family::default(),
        );
        let drlc_reports = reg(
            &mut registry,
            "drlc_status_reports",
            "DR event status reports from devices (received, started, opt_out, ...)",
            Family::default(),
        );
        let esi_up = reg(
            &mut registry,
            "esi_link_up",
            "1 when the coordinator link of the ESI is online (ready for work), else 0",
            Family::default(),
        );
        let esi_link = reg(
            &mut registry,
            "esi_link_state",
            "1 for the current link state of each ESI's coordinator",
            Family::default(),
        );
        let serial_errors = reg(
            &mut registry,
            "serial_errors",
            "Host-link receive errors (COBS, CRC, runt, oversize, malformed, unsupported \
             frames) and port failures since start, per ESI",
            Family::default(),
        );
        let link_sessions = reg(
            &mut registry,
            "link_sessions",
            "Host-link sessions established with the coordinator since start, per ESI",
            Family::default(),
        );
        let mqtt_requests = reg(
            &mut registry,
            "mqtt_requests",
            "MQTT requests answered, by action and outcome (ok or the error code)",
            Family::default(),
        );
        let request_latency: LatencyFamily = reg(
            &mut registry,
            "mqtt_request_duration_seconds",
            "Time from a request taken off the broker to its response published, by action",
            Family::new_with_constructor(latency_histogram),
        );
        Self {
            registry,
            queue_depth,
            in_flight,
            depth: [AtomicI64::new(0), AtomicI64::new(0), AtomicI64::new(0)],
            deliveries,
            deadline_misses,
            deliveries_open,
            devices,
            drlc_reports,
            esi_up,
            esi_link,
            serial_errors,
            link_sessions,
            mqtt_requests,
            request_latency,
            scrape: Mutex::new(()),
        }
    }

    /// A delivery changed state.
    pub fn delivery(&self, d: &Delivery) {
        let priority = d.priority.as_str().to_owned();
        let state = d.state.as_str().to_owned();
        if state == "expired" {
            self.deadline_misses.get_or_create(&PriorityLabel { priority: priority.clone() }).inc();
        }
        self.deliveries.get_or_create(&StatePriority { state, priority }).inc();
    }

    /// Any other upstream event.
    pub fn event(&self, e: &Event) {
        match e {
            Event::Device(d) => {
                self.devices.get_or_create(&StateLabel { state: d.state.clone() }).inc();
            }
            Event::Drlc(d) => {
                self.drlc_reports.get_or_create(&StatusLabel { status: d.status.clone() }).inc();
            }
            Event::Delivery(_) | Event::Meter(_) | Event::Coordinator(_) => {}
        }
    }

    /// The scheduler's depth per class (High, Medium, Low) and its deliveries in flight.
    pub fn queue(&self, by_class: [usize; 3], in_flight: usize) {
        for (slot, n) in self.depth.iter().zip(by_class) {
            slot.store(i64::try_from(n).unwrap_or(i64::MAX), Ordering::Relaxed);
        }
        self.in_flight.set(i64::try_from(in_flight).unwrap_or(i64::MAX));
    }

    /// One MQTT request answered: `outcome` is `ok` or the error code.
    pub fn mqtt_request(&self, action: &str, outcome: &str, took: Duration) {
        let action = action.to_owned();
        self.request_latency
            .get_or_create(&ActionLabel { action: action.clone() })
            .observe(took.as_secs_f64());
        self.mqtt_requests
            .get_or_create(&ActionOutcome { action, outcome: outcome.to_owned() })
            .inc();
    }

    /// The value of a counter or gauge sample in an exposition (tests and the demo use it).
    pub fn sample(exposition: &str, name_and_labels: &str) -> Option<f64> {
        exposition.lines().find_map(|l| {
            let rest = l.strip_prefix(name_and_labels)?;
            let v = rest.strip_prefix(' ')?;
            v.split_whitespace().next()?.parse().ok()
        })
    }

    /// Sets the scrape-time gauges and encodes everything.
    pub fn render(&self, health: &HealthMap, open: Option<(u64, u64)>) -> String {
        let _guard = self.scrape.lock();
        for (class, slot) in self.depth.iter().enumerate() {
            let p = Priority::from_class(class as u8).map_or("unknown", Priority::as_str);
            self.queue_depth
                .get_or_create(&PriorityLabel { priority: p.to_owned() })
                .set(slot.load(Ordering::Relaxed));
        }
        if let Some((queued, sent)) = open {
            for (state, n) in [("queued", queued), ("sent", sent)] {
                self.deliveries_open
                    .get_or_create(&StateLabel { state: state.to_owned() })
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
        for h in health.all() {
            let esi = EsiLabel { esi_id: h.esi_id.0.clone() };
            self.esi_up.get_or_create(&esi).set(i64::from(h.link == LinkStatus::Online));
            for l in [
                LinkStatus::Offline,
                LinkStatus::Connecting,
                LinkStatus::Resyncing,
                LinkStatus::Online,
            ] {
                let label =
                    EsiLinkLabel { esi_id: esi.esi_id.clone(), link: l.as_str().to_owned() };
                self.esi_link.get_or_create(&label).set(i64::from(h.link == l));
            }
            self.serial_errors
                .get_or_create(&esi)
                .set(i64::try_from(h.serial_errors).unwrap_or(i64::MAX));
            self.link_sessions.get_or_create(&esi).set(i64::from(h.sessions));
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::coordinator::EsiHealth;
    use crate::model::{DeliveryId, DeliveryState, EsiId, RequestId, Timestamp};

    fn delivery(state: DeliveryState, priority: Priority) -> Delivery {
        Delivery {
            id: DeliveryId(1),
            request_id: RequestId(1),
            esi_id: EsiId::new("1"),
            eui64: crate::model::Eui64(1),
            priority,
            state,
            retries: 0,
            last_error: None,
            deadline: Timestamp(0),
            not_before: Timestamp(0),
            sent_at: None,
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn counters_gauges_and_histograms_render() {
        let m = Metrics::new();
        m.delivery(&delivery(DeliveryState::Delivered, Priority::High));
        m.delivery(&delivery(DeliveryState::Expired, Priority::Low));
        m.delivery(&delivery(DeliveryState::Expired, Priority::Low));
        m.queue([3, 0, 7], 2);
        m.mqtt_request("meter/read", "ok", Duration::from_millis(3));
        m.mqtt_request("meter/read", "UNKNOWN_ESI", Duration::from_millis(1));
        let health = HealthMap::new();
        health.insert(EsiHealth::new(EsiId::new("10443720000000000"), "/dev/x".into()));
        health.update(&EsiId::new("10443720000000000"), |h| h.serial_errors = 4);
        let text = m.render(&health, Some((5, 1)));
        let v = |k: &str| Metrics::sample(&text, k);
        assert_eq!(v(r#"han_queue_depth{priority="high"}"#), Some(3.0), "{text}");
        assert_eq!(v(r#"han_queue_depth{priority="low"}"#), Some(7.0));
        assert_eq!(v("han_deliveries_in_flight"), Some(2.0));
        assert_eq!(
            v(r#"han_delivery_transitions_total{state="delivered",priority="high"}"#),
            Some(1.0)
        );
        assert_eq!(v(r#"han_deadline_misses_total{priority="low"}"#), Some(2.0));
        assert_eq!(v(r#"han_deliveries_open{state="queued"}"#), Some(5.0));
        assert_eq!(v(r#"han_esi_link_up{esi_id="10443720000000000"}"#), Some(0.0));
        assert_eq!(
            v(r#"han_esi_link_state{esi_id="10443720000000000",link="offline"}"#),
            Some(1.0)
        );
        assert_eq!(v(r#"han_serial_errors{esi_id="10443720000000000"}"#), Some(4.0));
        assert_eq!(
            v(r#"han_mqtt_requests_total{action="meter/read",outcome="UNKNOWN_ESI"}"#),
            Some(1.0)
        );
        assert_eq!(v(r#"han_mqtt_request_duration_seconds_count{action="meter/read"}"#), Some(2.0));
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
