//! Fault scenarios: a coordinator unplugged with work pending; the gateway killed with work
//! queued.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{ms, Ctx, Esi, Who};
use crate::sim::Kind;

async fn wait_offline(ctx: &Ctx, esi: &Esi, from: usize) -> Result<Instant, String> {
    let topic = format!("{}/event/coordinator", ctx.portal.root);
    let id = esi.esi_id.clone();
    let s = ctx
        .portal
        .wait_from(from, Duration::from_secs(15), "the coordinator offline event", |s| {
            s.topic == topic
                && s.json()["esi_id"] == id.as_str()
                && matches!(s.json()["state"].as_str(), Some("offline" | "comm_error"))
        })
        .await?;
    Ok(s.at)
}

pub async fn coordinator_unplug(ctx: &mut Ctx, esi: &Esi) -> Result<(), String> {
    let ihd = ctx.devices(esi, Kind::Ihd)?.remove(0);
    ctx.pair(esi, &ihd).await?;
    let from = ctx.portal.mark();
    let t = Instant::now();
    ctx.control(&format!("unplug esi {} for 8s", esi.index))?;
    ctx.hold = true;
    let offline = wait_offline(ctx, esi, from).await?;
    // Work accepted while the coordinator is away waits in the durable queue.
    let (_, ids) = ctx
        .accept(
            Who::Rep,
            "message/send",
            "high",
            json!({"esi_ids": [esi.esi_id], "devices": [ihd.eui64], "text": "HIL while unplugged",
                   "duration_minutes": 30}),
        )
        .await?;
    let id = ids.first().copied().unwrap_or(0);
    let early = ctx.last_state(id);
    if matches!(early.as_deref(), Some("sent" | "delivered" | "confirmed")) {
        return Err(format!("delivery {id} was {early:?} while the coordinator was unplugged"));
    }
    // A read meanwhile is either refused as offline or answered with a stale value, never faked.
    let (r, _) = ctx.call(Who::Rep, "meter/read", json!({"esi_id": esi.esi_id})).await?;
    let read = match (r["status"].as_str(), r["error"]["code"].as_str()) {
        (Some("error"), Some("COORDINATOR_OFFLINE")) => "COORDINATOR_OFFLINE".to_owned(),
        (Some("ok"), _) if r["data"]["stale"] == true => "a stale value".to_owned(),
        _ => {
            return Err(format!(
                "meter/read while unplugged answered neither offline nor stale: {r}"
            ))
        }
    };
    ctx.wait_online(esi, from, Duration::from_secs(30)).await?;
    let back = Instant::now();
    ctx.wait_deliveries(&ids, "delivered", ctx.device_timeout).await?;
    ctx.note(format!(
        "offline event {:.0} ms after the unplug; message queued meanwhile, meter read gave {read}; \
         delivered {:.0} ms after the link came back",
        ms(offline.saturating_duration_since(t)),
        ms(back.elapsed())
    ));
    Ok(())
}

pub async fn gateway_restart_queued(ctx: &mut Ctx, esi: &Esi) -> Result<(), String> {
    let ihd = ctx.devices(esi, Kind::Ihd)?.remove(0);
    ctx.pair(esi, &ihd).await?;
    let from = ctx.portal.mark();
    ctx.control(&format!("unplug esi {} for 10s", esi.index))?;
    ctx.hold = true;
    wait_offline(ctx, esi, from).await?;
    let mut requests = Vec::new();
    let mut ids = Vec::new();
    for p in ["high", "medium", "low"] {
        let (data, d) = ctx
            .accept(
                Who::Rep,
                "message/send",
                p,
                json!({"esi_ids": [esi.esi_id], "devices": [ihd.eui64],
                       "text": format!("HIL queued {p}"), "duration_minutes": 30}),
            )
            .await?;
        requests.push(data["request_id"].as_u64().unwrap_or(0));
        ids.extend(d);
    }
    let (data, d) = ctx
        .accept(
            Who::Rep,
            "price/publish",
            "low",
            json!({"esi_ids": [esi.esi_id], "provider_id": 42, "rate_label": "QUEUED", "currency": 840,
                   "price": 999, "price_trailing_digit": 4, "price_tier": 1, "duration_minutes": 60}),
        )
        .await?;
    requests.push(data["request_id"].as_u64().unwrap_or(0));
    ids.extend(d);
    // The crash: SIGKILL while all of it is queued. Whatever the broker (the embedded one dies
    // and comes back with the process, to which the portal reconnects; an external one keeps
    // the portal and publishes the last will), the next `online` after this mark is the new
    // process.
    let mark = ctx.portal.mark();
    ctx.gw.kill();
    let killed = Instant::now();
    ctx.gw.spawn()?;
    let state = format!("{}/bridge/state", ctx.portal.root);
    ctx.portal
        .wait_from(mark, Duration::from_secs(30), "the restarted gateway online", |s| {
            s.topic == state && &s.payload[..] == b"online"
        })
        .await?;
    let up = killed.elapsed();
    // Everything accepted before the crash is still known, and completes.
    let deadline = Instant::now() + ctx.device_timeout;
    loop {
        let mut pending = Vec::new();
        for &r in &requests {
            let s = ctx.ok(Who::Rep, "message/status", json!({"message_id": r})).await?;
            for d in s["deliveries"].as_array().into_iter().flatten() {
                let st = d["state"].as_str().unwrap_or("?");
                if !matches!(st, "delivered" | "confirmed") {
                    if matches!(st, "failed" | "undeliverable" | "expired" | "cancelled") {
                        return Err(format!("request {r} ended {st} after the restart"));
                    }
                    pending.push(format!("{r}:{st}"));
                }
            }
            if s["deliveries"].as_array().is_none_or(Vec::is_empty) {
                return Err(format!("request {r} was lost in the restart"));
            }
        }
        if pending.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "not delivered {}s after the restart: {}",
                ctx.device_timeout.as_secs(),
                pending.join(", ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    ctx.note(format!(
        "{} deliveries queued behind an unplugged coordinator survived SIGKILL; gateway back online in {:.0} ms, all delivered {:.0} ms after the kill",
        ids.len(),
        ms(up),
        ms(killed.elapsed())
    ));
    Ok(())
}
