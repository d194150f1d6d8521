//! Polling of power and service-switch status per ESI (design.md §6, BR-006), meter readings,
//! and staleness.
//!
//! Each ESI has a poller task that asks its coordinator for `GetStatus` (and its device list,
//! for last-seen times and link quality) every `polling.status_interval` (and the ops API asks
//! on demand). The supervisor records every
//! status it receives, solicited or not, and publishes a change at once; so the poller only has
//! to ask. A value older than `polling.stale_after`, or from an ESI whose link is down, is
//! reported `stale` — never replaced by a guess — and the moment a value turns stale is itself
//! an event.

use std::time::Duration;

use firmware::host_link::{Command, MeterReading};
use tokio::sync::watch;
use tracing::{debug, info_span, Instrument};
use zse::cluster::metering::{attr, Formatting, Scaling};

use crate::config::PollingConfig;
use crate::coordinator::{CoordHandle, HealthMap, LinkStatus, ReadingSnapshot};
use crate::model::{EsiId, Timestamp};
use crate::ops::events::{Event, EventBus, MeterEvent};
use crate::ops::time::{format_rfc3339, from_utc_time};

/// The Metering attributes read for `meter/read`: summation, unit, multiplier, divisor,
/// summation formatting (se10.md §6).
pub const READ_ATTRIBUTES: [u16; 5] = [
    attr::CURRENT_SUMMATION_DELIVERED,
    attr::UNIT_OF_MEASURE,
    attr::MULTIPLIER,
    attr::DIVISOR,
    attr::SUMMATION_FORMATTING,
];

/// ZCL status SUCCESS.
const SUCCESS: u8 = 0x00;

fn le_value(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Turns a `MeterReading` into kWh × 1000 (BR-001.011: three decimals) with the meter's own
/// Multiplier and Divisor; a missing or unusable value is `None` with the reason — missing is
/// never zero (BR-001.002).
pub fn parse_reading(m: &MeterReading, received: Timestamp) -> ReadingSnapshot {
    let get = |id: u16| m.records.iter().find(|r| r.attribute_id == id);
    let value = |id: u16| get(id).filter(|r| r.status == SUCCESS).and_then(|r| le_value(&r.value));
    let read_at = if m.timestamp == 0 { received } else { from_utc_time(m.timestamp) };
    let missing =
        |why: String| ReadingSnapshot { milli_kwh: None, missing_reason: Some(why), read_at };
    let raw = match get(attr::CURRENT_SUMMATION_DELIVERED) {
        None => return missing("the meter did not report CurrentSummationDelivered".into()),
        Some(r) if r.status != SUCCESS => {
            return missing(format!(
                "the meter cannot supply CurrentSummationDelivered (ZCL status 0x{:02x})",
                r.status
            ))
        }
        Some(r) => match le_value(&r.value) {
            Some(v) => v,
            None => return missing("CurrentSummationDelivered has no value".into()),
        },
    };
    if let Some(unit) = value(attr::UNIT_OF_MEASURE) {
        if unit != 0 {
            return missing(format!("the meter's unit of measure 0x{unit:02x} is not kWh"));
        }
    }
    let multiplier = value(attr::MULTIPLIER).map_or(1, |v| v as u32);
    let divisor = value(attr::DIVISOR).map_or(1, |v| v as u32);
    let formatting = Formatting(value(attr::SUMMATION_FORMATTING).map_or(0, |v| v as u8));
    let scaling = Scaling::new(multiplier, divisor, formatting);
    let Ok(raw) = i64::try_from(raw) else {
        return missing("CurrentSummationDelivered is out of range".into());
    };
    match scaling.milli_units(raw) {
        Some(milli) => ReadingSnapshot { milli_kwh: Some(milli), missing_reason: None, read_at },
        None => missing("the meter's divisor is 0".into()),
    }
}

/// kWh with three decimals as a JSON number.
// Exact below 2⁵³ Wh (9 × 10¹² kWh): more than any meter register holds.
#[allow(clippy::cast_precision_loss)]
pub fn kwh(milli: i64) -> f64 {
    milli as f64 / 1000.0
}

/// Records and publishes a reading the coordinator sent on its own.
pub(crate) fn unsolicited_reading(
    esi: &EsiId,
    m: &MeterReading,
    health: &HealthMap,
    events: &EventBus,
) {
    let snap = parse_reading(m, Timestamp::now());
    let status = health.get(esi).map(|h| h.status).unwrap_or_default();
    events.publish(Event::Meter(MeterEvent {
        esi_id: esi.0.clone(),
        power: status.power_text(),
        switch: status.switch_text(),
        summation_delivered_kwh: snap.milli_kwh.map(kwh),
        stale: false,
        at: format_rfc3339(snap.read_at),
    }));
    health.update(esi, |h| h.reading = Some(snap));
}

/// Whether a value read at `read_at` is stale now.
pub fn is_stale(
    read_at: Option<Timestamp>,
    link: LinkStatus,
    stale_after: Duration,
    now: Timestamp,
) -> bool {
    match read_at {
        None => true,
        Some(t) => link != LinkStatus::Online || now.saturating_since(t) > stale_after,
    }
}

/// The poller of one ESI: runs until shutdown.
pub(crate) async fn run(
    handle: CoordHandle,
    cfg: PollingConfig,
    health: HealthMap,
    events: EventBus,
    mut shutdown: watch::Receiver<bool>,
) {
    let esi = handle.esi_id().clone();
    let span = info_span!("poller", esi = %esi);
    async move {
        let mut was_stale = false;
        let mut tick = tokio::time::interval(cfg.status_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                r = shutdown.changed() => if r.is_err() || *shutdown.borrow() { break },
            }
            if handle.link() == LinkStatus::Online {
                if let Err(e) = handle.query(Command::GetStatus).await {
                    debug!(error = %e, "status poll failed");
                }
                // Keeps last-seen and link quality of the device list current (the supervisor
                // reconciles every device list it receives).
                if let Err(e) = handle.query(Command::ListDevices).await {
                    debug!(error = %e, "device list poll failed");
                }
            }
            let Some(h) = health.get(&esi) else { continue };
            let stale = is_stale(h.status.read_at, h.link, cfg.stale_after, Timestamp::now());
            if stale && !was_stale && h.status.read_at.is_some() {
                events.publish(Event::Meter(MeterEvent {
                    esi_id: esi.0.clone(),
                    power: h.status.power_text(),
                    switch: h.status.switch_text(),
                    summation_delivered_kwh: None,
                    stale: true,
                    at: format_rfc3339(Timestamp::now()),
                }));
            }
            was_stale = stale;
        }
    }
    .instrument(span)
    .await;
}

#[cfg(test)]
mod tests {
    use firmware::host_link::AttributeRecord;

    use super::*;

    fn record(id: u16, status: u8, data_type: u8, value: &[u8]) -> AttributeRecord {
        AttributeRecord {
            attribute_id: id,
            status,
            data_type,
            value: heapless::Vec::from_slice(value).unwrap(),
        }
    }

    fn reading(records: Vec<AttributeRecord>) -> MeterReading {
        MeterReading {
            request_id: Some(1),
            timestamp: 820_540_800,
            records: records.into_iter().collect(),
        }
    }

    #[test]
    fn scaled_to_three_decimals() {
        // 123456 × 1 / 1000 = 123.456 kWh (se10.md §6.4 example).
        let m = reading(vec![
            record(0x0000, 0, 0x25, &[0x40, 0xE2, 0x01, 0, 0, 0]),
            record(0x0300, 0, 0x30, &[0]),
            record(0x0301, 0, 0x22, &[1, 0, 0]),
            record(0x0302, 0, 0x22, &[0xE8, 0x03, 0]),
        ]);
        let s = parse_reading(&m, Timestamp(5));
        assert_eq!(s.milli_kwh, Some(123_456));
        assert!((kwh(123_456) - 123.456).abs() < 1e-9);
        assert_eq!(format_rfc3339(s.read_at), "2026-01-01T00:00:00Z");
        // Zero is a value, not missing.
        let zero = reading(vec![record(0x0000, 0, 0x25, &[0, 0, 0, 0, 0, 0])]);
        assert_eq!(parse_reading(&zero, Timestamp(5)).milli_kwh, Some(0));
    }

    #[test]
    fn missing_is_not_zero() {
        let unsupported = reading(vec![record(0x0000, 0x86, 0, &[])]);
        let s = parse_reading(&unsupported, Timestamp(5));
        assert_eq!(s.milli_kwh, None);
        assert!(s.missing_reason.unwrap().contains("0x86"));
        let none = parse_reading(&reading(vec![]), Timestamp(5));
        assert!(none.milli_kwh.is_none() && none.missing_reason.is_some());
        let bad_div = reading(vec![
            record(0x0000, 0, 0x25, &[1, 0, 0, 0, 0, 0]),
            record(0x0302, 0, 0x22, &[0, 0, 0]),
        ]);
        assert!(parse_reading(&bad_div, Timestamp(5)).missing_reason.unwrap().contains("divisor"));
        let therms = reading(vec![
            record(0x0000, 0, 0x25, &[1, 0, 0, 0, 0, 0]),
            record(0x0300, 0, 0x30, &[2]),
        ]);
        assert!(parse_reading(&therms, Timestamp(5)).missing_reason.unwrap().contains("not kWh"));
        let mut clockless = reading(vec![]);
        clockless.timestamp = 0;
        assert_eq!(parse_reading(&clockless, Timestamp(7000)).read_at, Timestamp(7000));
    }

    #[test]
    fn staleness() {
        let d = Duration::from_secs(60);
        let now = Timestamp(1_000_000);
        assert!(is_stale(None, LinkStatus::Online, d, now));
        assert!(!is_stale(Some(Timestamp(990_000)), LinkStatus::Online, d, now));
        assert!(is_stale(Some(Timestamp(900_000)), LinkStatus::Online, d, now));
        assert!(is_stale(Some(Timestamp(999_000)), LinkStatus::Offline, d, now));
    }
}
