//! Meter scenarios: on-demand reads; power and service-switch status and their changes.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{ms, Ctx, Esi, Who};

/// The kWh figure of a read, checked: a number with at most 3 decimals (BR-001.011).
fn kwh(v: &Value) -> Result<f64, String> {
    let x = v["summation_delivered_kwh"].as_f64().ok_or_else(|| {
        format!("no reading: {}", v["missing_reason"].as_str().unwrap_or("no reason given"))
    })?;
    if ((x * 1000.0).round() - x * 1000.0).abs() > 1e-6 {
        return Err(format!("{x} kWh has more than 3 decimals"));
    }
    if x < 0.0 {
        return Err(format!("{x} kWh is negative"));
    }
    Ok(x)
}

pub async fn meter_read(ctx: &mut Ctx, esi: &Esi) -> Result<(), String> {
    ctx.ensure_grants(esi).await?;
    let from = ctx.portal.mark();
    let t = Instant::now();
    let a = ctx.ok(Who::Rep, "meter/read", json!({"esi_id": esi.esi_id})).await?;
    let took = t.elapsed();
    let first = kwh(&a)?;
    if a["stale"] != false {
        return Err(format!("a fresh read is marked stale: {a}"));
    }
    if a["read_at"].as_str().is_none_or(str::is_empty) {
        return Err(format!("no read_at: {a}"));
    }
    let topic = format!("{}/event/meter", ctx.portal.root);
    let id = esi.esi_id.clone();
    ctx.portal
        .wait_from(from, Duration::from_secs(10), "a meter event after the read", |s| {
            s.topic == topic && s.json()["esi_id"] == id.as_str()
        })
        .await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let b = ctx.ok(Who::Tdsp, "meter/read", json!({"esi_id": esi.esi_id})).await?;
    let second = kwh(&b)?;
    if second < first {
        return Err(format!("the meter went backwards: {first} → {second} kWh"));
    }
    ctx.note(format!(
        "{first:.3} kWh read in {:.0} ms, then {second:.3} kWh; meter event published",
        ms(took)
    ));
    Ok(())
}

/// Waits for a meter event of `esi` with `key` = `value`; returns how long it took from `t`.
async fn meter_change(
    ctx: &Ctx,
    esi: &Esi,
    from: usize,
    key: &str,
    value: &str,
    t: Instant,
) -> Result<Duration, String> {
    let topic = format!("{}/event/meter", ctx.portal.root);
    let id = esi.esi_id.clone();
    let s = ctx
        .portal
        .wait_from(
            from,
            Duration::from_secs(20),
            &format!("a meter event with {key} {value}"),
            |s| s.topic == topic && s.json()["esi_id"] == id.as_str() && s.json()[key] == value,
        )
        .await?;
    Ok(s.at.saturating_duration_since(t))
}

async fn status_is(ctx: &mut Ctx, esi: &Esi, power: &str, switch: &str) -> Result<(), String> {
    let s =
        ctx.ok(Who::Rep, "meter/status", json!({"esi_id": esi.esi_id, "refresh": true})).await?;
    if s["power"] != power || s["switch"] != switch {
        return Err(format!(
            "meter/status says power {} switch {}, expected {power} {switch}",
            s["power"], s["switch"]
        ));
    }
    Ok(())
}

pub async fn power_switch_status(ctx: &mut Ctx, esi: &Esi) -> Result<(), String> {
    ctx.ensure_grants(esi).await?;
    status_is(ctx, esi, "on", "closed").await?;
    if ctx.sim.is_none() {
        ctx.note("power on, switch closed; power failure and switch changes not tried: need the simulator");
        return Ok(());
    }
    let n = esi.index;
    let mut seen = Vec::new();
    for (action, key, value, power, switch) in [
        ("power fail", "power", "off", "off", "closed"),
        ("power restore", "power", "on", "on", "closed"),
        ("switch open", "switch", "open", "on", "open"),
        ("switch close", "switch", "closed", "on", "closed"),
    ] {
        let from = ctx.portal.mark();
        let t = Instant::now();
        ctx.control(&format!("{action} esi {n}"))?;
        let took = meter_change(ctx, esi, from, key, value, t).await?;
        status_is(ctx, esi, power, switch).await?;
        seen.push(format!("{action}: {:.0} ms", ms(took)));
    }
    ctx.note(format!("changes on MQTT after the fact ({})", seen.join(", ")));
    Ok(())
}
