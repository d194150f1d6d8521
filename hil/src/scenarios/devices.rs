//! Provisioning scenarios: a clean join, a full slot table, a wrong install code.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{ms, Ctx, Esi, Who};
use crate::sim::Kind;

/// An install code with a valid CRC (the SE 1.0 test vector) for placeholder entries that
/// never join.
const PLACEHOLDER_CODE: &str = "83FED3407A939723A5C639B26916D505C3B5";

pub async fn provisioning(ctx: &mut Ctx, esi: &Esi) -> Result<(), String> {
    let mut devices = ctx.devices(esi, Kind::Ihd)?;
    devices.extend(ctx.devices(esi, Kind::Pct)?);
    devices.extend(ctx.devices(esi, Kind::Lcs)?);
    let before = ctx.provisioning_ms.len();
    let from = ctx.portal.mark();
    for d in &devices {
        ctx.pair(esi, d).await?;
    }
    // Every device's events follow the lifecycle pending → joining → key_established →
    // paired (intermediate states may be coalesced, never reordered) and end paired.
    const LIFECYCLE: [&str; 4] = ["pending", "joining", "key_established", "paired"];
    let seen = ctx.portal.seen();
    let mut paths = Vec::new();
    for d in &devices {
        let states: Vec<String> = seen
            .iter()
            .skip(from)
            .filter(|s| s.topic.ends_with("/event/device") && s.json()["eui64"] == d.eui64.as_str())
            .filter_map(|s| s.json()["state"].as_str().map(str::to_owned))
            .collect();
        let ranks: Vec<Option<usize>> =
            states.iter().map(|s| LIFECYCLE.iter().position(|l| l == s)).collect();
        let ordered =
            ranks.iter().all(Option::is_some) && ranks.windows(2).all(|w| w.first() <= w.get(1));
        if !ordered || states.last().map(String::as_str) != Some("paired") {
            return Err(format!(
                "{} {}: device events {states:?} do not follow the lifecycle",
                d.kind, d.eui64
            ));
        }
        paths.push(states.join(" → "));
    }
    paths.dedup();
    // The device list shows them paired; the retained status follows within a second or two.
    let l = ctx.ok(Who::Tdsp, "device/list", json!({"esi_id": esi.esi_id})).await?;
    let listed = l["devices"].as_array().cloned().unwrap_or_default();
    for d in &devices {
        let e = listed.iter().find(|x| x["eui64"] == d.eui64.as_str());
        match e.map(|x| &x["state"]) {
            Some(s) if s == "paired" => {}
            other => return Err(format!("device/list: {} is {other:?}, not paired", d.eui64)),
        }
    }
    let status = format!("{}/esi/{}/status", ctx.portal.root, esi.esi_id);
    let n = devices.len();
    let t0 = Instant::now();
    ctx.portal
        .wait_from(
            from,
            Duration::from_secs(5),
            "the retained ESI status to list the devices",
            |s| s.topic == status && s.json()["devices"].as_array().is_some_and(|d| d.len() == n),
        )
        .await?;
    let times: Vec<String> =
        ctx.provisioning_ms.iter().skip(before).map(|t| format!("{t:.0} ms")).collect();
    ctx.note(format!(
        "{n} devices paired (request → paired: {}); events {}",
        times.join(", "),
        paths.join(" / ")
    ));
    ctx.note(format!(
        "device list shows them paired; retained status updated {:.0} ms after the check",
        ms(t0.elapsed())
    ));
    Ok(())
}

fn placeholder(esi: &Esi, i: usize) -> String {
    format!("00124bfffe{:02x}{:04x}", esi.index & 0xff, 0xa000 + i)
}

pub async fn slots_full(ctx: &mut Ctx, esi: &Esi) -> Result<(), String> {
    ctx.ensure_grants(esi).await?;
    let l = ctx.ok(Who::Tdsp, "device/list", json!({"esi_id": esi.esi_id})).await?;
    let capacity = l["capacity"].as_u64().ok_or(format!("device/list without capacity: {l}"))?;
    let taken = l["provisioned"].as_u64().unwrap_or(0) + l["pending"].as_u64().unwrap_or(0);
    let free = usize::try_from(capacity.saturating_sub(taken)).unwrap_or(0);
    let mut added = Vec::new();
    let result = async {
        for i in 0..free {
            let eui = placeholder(esi, i);
            ctx.ok(
                Who::Tdsp,
                "device/provision",
                json!({"esi_id": esi.esi_id, "meter_number": esi.meter, "eui64": eui,
                       "install_code": PLACEHOLDER_CODE, "label": format!("placeholder {i}")}),
            )
            .await?;
            added.push(eui);
        }
        let extra = placeholder(esi, 99);
        let body = json!({"esi_id": esi.esi_id, "meter_number": esi.meter, "eui64": extra,
                          "install_code": PLACEHOLDER_CODE});
        let msg =
            ctx.expect_error(Who::Tdsp, "device/provision", body.clone(), "SLOTS_FULL").await?;
        if !msg.contains(&capacity.to_string()) {
            return Err(format!("SLOTS_FULL does not name the capacity {capacity}: {msg}"));
        }
        if let Some(first) = added.first() {
            if !msg.contains(first.as_str()) {
                return Err(format!("SLOTS_FULL does not name the occupants: {msg}"));
            }
        }
        if msg.contains(PLACEHOLDER_CODE) {
            return Err("SLOTS_FULL message contains an install code".into());
        }
        ctx.note(format!("{free} placeholder(s) filled {capacity} slots; SLOTS_FULL: {msg}"));
        // Freeing one slot makes room for the device that was refused.
        let gone = added.pop().ok_or("no slot was free to begin with: nothing to free")?;
        ctx.ok(
            Who::Tdsp,
            "device/deprovision",
            json!({"esi_id": esi.esi_id, "eui64": gone, "reason": "customer_request"}),
        )
        .await?;
        ctx.ok(Who::Tdsp, "device/provision", body).await?;
        added.push(extra);
        ctx.note("after removing one, the refused device was provisioned");
        Ok::<(), String>(())
    }
    .await;
    // Leave the ESI as it was (a real coordinator's table especially).
    for eui in added {
        let r = ctx
            .ok(
                Who::Tdsp,
                "device/deprovision",
                json!({"esi_id": esi.esi_id, "eui64": eui, "reason": "customer_request"}),
            )
            .await;
        if let (Err(e), true) = (r, result.is_ok()) {
            return Err(format!("clean-up: {e}"));
        }
    }
    result
}

/// The install code with its last (CRC) hex digit changed.
fn corrupt_crc(code: &str) -> String {
    let mut c: Vec<char> = code.chars().collect();
    if let Some(last) = c.last_mut() {
        *last = if *last == '0' { '1' } else { '0' };
    }
    c.into_iter().collect()
}

pub async fn wrong_install_code(ctx: &mut Ctx, esi: &Esi) -> Result<(), String> {
    ctx.ensure_grants(esi).await?;
    let device =
        ctx.sim.as_ref().and_then(|s| s.devices_on(esi.index, Kind::Ihd).into_iter().next());
    let (eui, code) = device.as_ref().map_or_else(
        || (placeholder(esi, 50), PLACEHOLDER_CODE.to_owned()),
        |d| (d.eui64.clone(), d.install_code.clone()),
    );
    // 1. A typo in the CRC is refused up front, and the answer does not echo the code.
    let bad = corrupt_crc(&code);
    let msg = ctx
        .expect_error(
            Who::Tdsp,
            "device/provision",
            json!({"esi_id": esi.esi_id, "meter_number": esi.meter, "eui64": eui, "install_code": bad}),
            "BAD_INSTALL_CODE",
        )
        .await?;
    if msg.contains(&bad) || msg.contains(&code) {
        return Err("BAD_INSTALL_CODE message echoes the install code".into());
    }
    let msg2 = ctx
        .expect_error(
            Who::Tdsp,
            "device/provision",
            json!({"esi_id": esi.esi_id, "meter_number": esi.meter, "eui64": eui, "install_code": "12345"}),
            "BAD_INSTALL_CODE",
        )
        .await?;
    ctx.note(format!("bad CRC: BAD_INSTALL_CODE ({msg}); too short: BAD_INSTALL_CODE ({msg2})"));
    let Some(d) = device else {
        ctx.note("join with a wrong key not tried: needs the simulator");
        return Ok(());
    };
    // 2. A device whose key differs from its label: provisioned with the label's code, it
    //    tries to join and is refused by the trust centre; it never pairs.
    let from = ctx.portal.mark();
    let r = ctx
        .ok(
            Who::Tdsp,
            "device/provision",
            json!({"esi_id": esi.esi_id, "meter_number": esi.meter, "eui64": d.eui64,
                   "install_code": d.install_code, "join_window_minutes": 60}),
        )
        .await?;
    if r["state"] != "pending" {
        return Err(format!("provisioning answered {}", r["state"]));
    }
    ctx.control(&format!("device {} rejoin", d.number))?;
    let e = d.eui64.clone();
    let joined = ctx
        .portal
        .wait_from(from, Duration::from_secs(5), "no join", |s| {
            s.topic.ends_with("/event/device")
                && s.json()["eui64"] == e.as_str()
                && matches!(
                    s.json()["state"].as_str(),
                    Some("joining" | "key_established" | "paired")
                )
        })
        .await;
    if let Ok(s) = joined {
        return Err(format!("the device with a wrong key got to {}", s.json()["state"]));
    }
    let l = ctx.ok(Who::Tdsp, "device/list", json!({"esi_id": esi.esi_id})).await?;
    let state = l["devices"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["eui64"] == d.eui64.as_str()))
        .map(|x| x["state"].clone());
    if state.as_ref().is_none_or(|s| s != "pending") {
        return Err(format!("after a failed join the device list says {state:?}, not pending"));
    }
    let sim_view = ctx.control("devices").unwrap_or_default();
    ctx.note(format!(
        "a device holding another key stayed pending for 5 s after trying to join{}",
        if sim_view.contains("mismatch") { " (the simulator reports a key mismatch)" } else { "" }
    ));
    ctx.ok(
        Who::Tdsp,
        "device/deprovision",
        json!({"esi_id": esi.esi_id, "eui64": d.eui64, "reason": "customer_request"}),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupting_the_crc_changes_only_the_last_digit() {
        assert_eq!(corrupt_crc("ABC5"), "ABC0");
        assert_eq!(corrupt_crc("ABC0"), "ABC1");
        let e = Esi::simulated(3);
        assert_eq!(placeholder(&e, 1).len(), 16);
        assert_ne!(placeholder(&e, 1), placeholder(&e, 2));
    }
}
