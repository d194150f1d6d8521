//! Price and DRLC frames the core sends and receives (se10.md §3.2–3.5, §4.2–4.5).
//!
//! Interim: written with zse's checked `Reader`/`Writer` until zse's Price and DRLC cluster
//! modules are merged, after which these functions become thin wrappers around them.

use super::action::EventStatusReport;
use super::drlc::DrEvent;
use super::price::PriceEvent;
use super::tx::{self, ApsPayload};
use zse::wire::{Reader, Writer};
use zse::zcl::{Direction, FrameType, Header, UtcTime};

/// A Price client→server command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PriceRequest {
    GetCurrentPrice { rx_on_when_idle: bool },
    GetScheduledPrices { start_time: u32, number_of_events: u8 },
    PriceAcknowledgement,
}

/// A DRLC client→server command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DrlcRequest {
    ReportEventStatus(EventStatusReport),
    GetScheduledEvents { start_time: u32, number_of_events: u8 },
}

/// Parses a Price c→s command; `Ok(None)` for an id the ESI does not implement.
pub(crate) fn parse_price(command_id: u8, payload: &[u8]) -> zse::Result<Option<PriceRequest>> {
    let mut r = Reader::new(payload);
    Ok(Some(match command_id {
        0x00 => {
            PriceRequest::GetCurrentPrice { rx_on_when_idle: r.u8("command_options")? & 0x01 != 0 }
        }
        0x01 => PriceRequest::GetScheduledPrices {
            start_time: r.u32("start_time")?,
            number_of_events: r.u8("number_of_events")?,
        },
        0x02 => {
            r.u32("provider_id")?;
            r.u32("issuer_event_id")?;
            r.u32("price_ack_time")?;
            r.u8("control")?;
            PriceRequest::PriceAcknowledgement
        }
        _ => return Ok(None),
    }))
}

/// Parses a DRLC c→s command; `Ok(None)` for an id the ESI does not implement. The 42-byte
/// signature of ReportEventStatus is not checked (no ECDSA in the core) and may be absent.
pub(crate) fn parse_drlc(command_id: u8, payload: &[u8]) -> zse::Result<Option<DrlcRequest>> {
    let mut r = Reader::new(payload);
    Ok(Some(match command_id {
        0x00 => DrlcRequest::ReportEventStatus(EventStatusReport {
            issuer_event_id: r.u32("issuer_event_id")?,
            event_status: r.u8("event_status")?,
            event_status_time: UtcTime(r.u32("event_status_time")?),
            criticality_level_applied: r.u8("criticality_level_applied")?,
            cooling_temperature_set_point_applied: r
                .i16("cooling_temperature_set_point_applied")?,
            heating_temperature_set_point_applied: r
                .i16("heating_temperature_set_point_applied")?,
            average_load_adjustment_percentage_applied: r
                .i8("average_load_adjustment_percentage_applied")?,
            duty_cycle_applied: r.u8("duty_cycle_applied")?,
            event_control: r.u8("event_control")?,
            signature_type: r.optional(|r| r.u8("signature_type"))?.unwrap_or(0),
        }),
        0x01 => DrlcRequest::GetScheduledEvents {
            start_time: r.u32("start_time")?,
            number_of_events: r.u8("number_of_events")?,
        },
        _ => return Ok(None),
    }))
}

fn server_header(command_id: u8, tsn: u8, ddr: bool) -> Header {
    Header {
        frame_type: FrameType::ClusterSpecific,
        manufacturer_code: None,
        direction: Direction::ServerToClient,
        disable_default_response: ddr,
        tsn,
        command_id,
    }
}

/// Runs `f` and reports whether every write succeeded.
fn fits(w: &mut Writer<'_>, f: impl FnOnce(&mut Writer<'_>) -> zse::Result<()>) -> bool {
    f(w).is_ok()
}

/// PublishPrice (s→c 0x00) with fields 1–14, as an SE 1.0 ESI sends it (se10.md §3.4).
pub(crate) fn publish_price(
    e: &PriceEvent,
    now_utc: u32,
    tsn: u8,
    ddr: bool,
) -> Option<ApsPayload> {
    let mut ok = false;
    let payload = tx::with_body(&server_header(0x00, tsn, ddr), |w| {
        ok = fits(w, |w| {
            w.u32(e.provider_id, "provider_id")?;
            w.short_string(zse::zcl::ZclStr::new(e.rate_label()), "rate_label")?;
            w.u32(e.issuer_event_id, "issuer_event_id")?;
            w.u32(now_utc, "current_time")?;
            w.u8(e.unit_of_measure, "unit_of_measure")?;
            w.u16(e.currency, "currency")?;
            w.u8(e.price_trailing_digit_and_price_tier, "price_trailing_digit_and_price_tier")?;
            w.u8(e.number_of_price_tiers_and_register_tier, "number_of_price_tiers")?;
            w.u32(e.start, "start_time")?;
            w.u16(e.duration_in_minutes, "duration_in_minutes")?;
            w.u32(e.price, "price")?;
            w.u8(e.price_ratio, "price_ratio")?;
            w.u32(e.generation_price, "generation_price")?;
            w.u8(e.generation_price_ratio, "generation_price_ratio")
        });
    });
    payload.filter(|_| ok)
}

/// LoadControlEvent (s→c 0x00), 23 bytes (se10.md §4.2).
pub(crate) fn load_control_event(e: &DrEvent, tsn: u8, ddr: bool) -> Option<ApsPayload> {
    let mut ok = false;
    let payload = tx::with_body(&server_header(0x00, tsn, ddr), |w| {
        ok = fits(w, |w| {
            w.u32(e.issuer_event_id, "issuer_event_id")?;
            w.u16(e.device_class, "device_class")?;
            w.u8(e.utility_enrollment_group, "utility_enrollment_group")?;
            w.u32(e.start, "start_time")?;
            w.u16(e.wire_duration(), "duration_in_minutes")?;
            w.u8(e.criticality_level, "criticality_level")?;
            w.u8(e.cooling_temperature_offset, "cooling_temperature_offset")?;
            w.u8(e.heating_temperature_offset, "heating_temperature_offset")?;
            w.i16(e.cooling_temperature_set_point, "cooling_temperature_set_point")?;
            w.i16(e.heating_temperature_set_point, "heating_temperature_set_point")?;
            w.i8(e.average_load_adjustment_percentage, "average_load_adjustment_percentage")?;
            w.u8(e.duty_cycle, "duty_cycle")?;
            w.u8(e.event_control, "event_control")
        });
    });
    payload.filter(|_| ok)
}

/// CancelLoadControlEvent (s→c 0x01), 12 bytes (se10.md §4.3).
pub(crate) fn cancel_load_control_event(
    issuer_event_id: u32,
    device_class: u16,
    utility_enrollment_group: u8,
    cancel_control: u8,
    effective_time: u32,
    tsn: u8,
    ddr: bool,
) -> Option<ApsPayload> {
    let mut ok = false;
    let payload = tx::with_body(&server_header(0x01, tsn, ddr), |w| {
        ok = fits(w, |w| {
            w.u32(issuer_event_id, "issuer_event_id")?;
            w.u16(device_class, "device_class")?;
            w.u8(utility_enrollment_group, "utility_enrollment_group")?;
            w.u8(cancel_control, "cancel_control")?;
            w.u32(effective_time, "effective_time")
        });
    });
    payload.filter(|_| ok)
}

/// CancelAllLoadControlEvents (s→c 0x02), 1 byte (se10.md §4.4).
pub(crate) fn cancel_all_load_control_events(
    cancel_control: u8,
    tsn: u8,
    ddr: bool,
) -> Option<ApsPayload> {
    let mut ok = false;
    let payload = tx::with_body(&server_header(0x02, tsn, ddr), |w| {
        ok = w.u8(cancel_control, "cancel_control").is_ok();
    });
    payload.filter(|_| ok)
}
