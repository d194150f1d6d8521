//! Downstream scenarios: messages (with confirmation), prices, DR events with an opt-out.

use std::time::Duration;

use serde_json::json;

use super::{Ctx, Esi, Who};
use crate::sim::Kind;

const PRIORITIES: [&str; 3] = ["high", "medium", "low"];
/// Messages (and prices) per priority in a latency batch.
const BATCH: usize = 5;

pub async fn messaging_confirmation(ctx: &mut Ctx, esi: &Esi) -> Result<(), String> {
    let ihd = ctx.devices(esi, Kind::Ihd)?.remove(0);
    ctx.pair(esi, &ihd).await?;
    // A batch at each priority, all accepted first, then all delivered.
    let mut ids = Vec::new();
    for p in PRIORITIES {
        for i in 0..BATCH {
            let (_, d) = ctx
                .accept(
                    Who::Rep,
                    "message/send",
                    p,
                    json!({"esi_ids": [esi.esi_id], "devices": [ihd.eui64],
                           "text": format!("HIL {p} {i}"), "importance": "medium",
                           "duration_minutes": 30}),
                )
                .await?;
            ids.extend(d);
        }
    }
    ctx.wait_deliveries(&ids, "delivered", ctx.device_timeout).await?;
    ctx.note(format!("{} messages ({BATCH} per priority) delivered", ids.len()));
    // One that needs a confirmation: delivered, then the customer presses the button.
    let (data, d) = ctx
        .accept(
            Who::Rep,
            "message/send",
            "high",
            json!({"esi_ids": [esi.esi_id], "devices": [ihd.eui64],
                   "text": "HIL please confirm", "importance": "high",
                   "confirmation_required": true, "duration_minutes": 30}),
        )
        .await?;
    let mid = data
        .get("message_id")
        .and_then(serde_json::Value::as_u64)
        .ok_or(format!("no message_id in {data}"))?;
    ctx.wait_deliveries(&d, "delivered", ctx.device_timeout).await?;
    ctx.control(&format!("ihd {} confirm {mid}", ihd.kind_number))?;
    ctx.wait_deliveries(&d, "confirmed", Duration::from_secs(30)).await?;
    let st = ctx.ok(Who::Rep, "message/status", json!({"message_id": mid})).await?;
    let state = st.pointer("/deliveries/0/state").cloned().unwrap_or_default();
    if state != "confirmed" {
        return Err(format!("message/status says {state} after the confirmation event"));
    }
    ctx.note("a message needing confirmation went delivered → confirmed; message/status agrees");
    Ok(())
}

pub async fn price(ctx: &mut Ctx, esi: &Esi) -> Result<(), String> {
    ctx.ensure_grants(esi).await?;
    let mut ids = Vec::new();
    for (n, p) in PRIORITIES.iter().enumerate() {
        for i in 0..BATCH {
            let (_, d) = ctx
                .accept(
                    Who::Rep,
                    "price/publish",
                    p,
                    json!({"esi_ids": [esi.esi_id], "provider_id": 42, "rate_label": format!("HIL{n}{i}"),
                           "currency": 840, "price": 1000 + 10 * n + i, "price_trailing_digit": 4,
                           "price_tier": 1 + (i % 3), "number_of_price_tiers": 3,
                           "duration_minutes": 60}),
                )
                .await?;
            ids.extend(d);
        }
    }
    ctx.wait_deliveries(&ids, "delivered", ctx.device_timeout).await?;
    ctx.note(format!("{} prices ({BATCH} per priority) delivered to the ESI", ids.len()));
    // A price the schema refuses is a typed error, not an accepted request.
    ctx.expect_error(
        Who::Rep,
        "price/publish",
        json!({"esi_ids": [esi.esi_id], "provider_id": 42, "rate_label": "X", "currency": 840,
               "price": "cheap", "price_trailing_digit": 4, "price_tier": 1}),
        "BAD_REQUEST",
    )
    .await?;
    Ok(())
}

pub async fn dr_opt_out(ctx: &mut Ctx, esi: &Esi) -> Result<(), String> {
    let pct = ctx.devices(esi, Kind::Pct)?.remove(0);
    let lcs = ctx.devices(esi, Kind::Lcs)?.remove(0);
    ctx.pair(esi, &pct).await?;
    ctx.pair(esi, &lcs).await?;
    let from = ctx.portal.mark();
    let (data, ids) = ctx
        .accept(
            Who::Rep,
            "drlc/event",
            "high",
            json!({"esi_ids": [esi.esi_id], "devices": [pct.eui64, lcs.eui64],
                   "device_classes": ["hvac", "water_heater", "pool_pump"],
                   "duration_minutes": 30, "criticality": 3,
                   "cooling_temperature_offset": 2.0, "duty_cycle": 50}),
        )
        .await?;
    let ev = data
        .get("issuer_event_id")
        .and_then(serde_json::Value::as_u64)
        .ok_or(format!("no issuer_event_id in {data}"))?;
    if ids.len() != 2 {
        return Err(format!("{} deliveries for 2 devices", ids.len()));
    }
    ctx.wait_deliveries(&ids, "delivered", ctx.device_timeout).await?;
    let drlc = |eui: String, statuses: &'static [&'static str]| {
        move |s: &crate::portal::Seen| {
            s.topic.ends_with("/event/drlc")
                && s.json()["issuer_event_id"] == ev
                && s.json()["eui64"] == eui.as_str()
                && s.json()["status"].as_str().is_some_and(|x| statuses.contains(&x))
        }
    };
    for d in [&pct, &lcs] {
        ctx.portal
            .wait_from(
                from,
                Duration::from_secs(30),
                &format!("{} {} to report the event", d.kind, d.eui64),
                drlc(d.eui64.clone(), &["received", "started"]),
            )
            .await?;
    }
    let t = std::time::Instant::now();
    ctx.control(&format!("pct {} opt-out {ev}", pct.kind_number))?;
    let s = ctx
        .portal
        .wait_from(
            from,
            Duration::from_secs(30),
            "the thermostat's opt-out",
            drlc(pct.eui64.clone(), &["opt_out"]),
        )
        .await?;
    let took = s.at.saturating_duration_since(t);
    if ctx.portal.seen().iter().skip(from).any(drlc(lcs.eui64.clone(), &["opt_out"])) {
        return Err("the load switch reported an opt-out it never made".into());
    }
    ctx.note(format!(
        "event {ev} received by both; thermostat opt-out on MQTT {:.0} ms after the button",
        super::ms(took)
    ));
    ctx.ok(Who::Rep, "drlc/cancel", json!({"esi_ids": [esi.esi_id], "all": true})).await?;
    Ok(())
}
