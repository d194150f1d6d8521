//! Serial-fault suite: the simulator's fault plan drops and corrupts bytes on every host link
//! for the whole run, and the suite resets coordinators and unplugs their serial ports
//! (1–30 s) under steady mixed load. For every fault it measures recovery after the port
//! returns (or after the reset): until the gateway reports the ESI's link `online` again
//! (retained `esi/<id>/status`), and until a High-priority probe message sent at that moment is
//! delivered (target ≤ 5 s). At the end the accounting of [`super::load`]: nothing lost.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::gw::esi_id;
use crate::portal::ok;
use crate::report::{stats_ms, Report};
use crate::suites::load::Load;
use crate::world::{secs, World, WorldOptions};
use crate::Result;

/// One fault of the plan.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    Reset { esi: usize },
    Unplug { esi: usize, secs: u64 },
}

/// Options of the serial suite.
#[derive(Debug, Clone)]
pub struct SerialOptions {
    pub seed: u64,
    pub drop: f64,
    pub corruption: f64,
    pub faults: Vec<Fault>,
}

impl SerialOptions {
    /// The long form: resets of both coordinators, unplugs of 1, 2, 5, 10, 20 and 30 s.
    pub fn long(seed: u64) -> Self {
        let mut faults = vec![Fault::Reset { esi: 0 }, Fault::Reset { esi: 1 }];
        for (i, s) in [1, 2, 5, 10, 20, 30].into_iter().enumerate() {
            faults.push(Fault::Unplug { esi: i % 2, secs: s });
        }
        faults.push(Fault::Reset { esi: 0 });
        Self { seed, drop: 2e-4, corruption: 2e-4, faults }
    }

    /// The CI form.
    pub fn short(seed: u64) -> Self {
        Self {
            seed,
            drop: 2e-4,
            corruption: 2e-4,
            faults: vec![
                Fault::Reset { esi: 0 },
                Fault::Unplug { esi: 1, secs: 1 },
                Fault::Unplug { esi: 0, secs: 3 },
            ],
        }
    }
}

fn target(link: &Path) -> Option<std::path::PathBuf> {
    let t = std::fs::read_link(link).ok()?;
    t.exists().then_some(t)
}

fn link_state_after(w: &World, from: usize, esi: usize) -> Option<String> {
    let topic = format!("{}/esi/{}/status", w.root, esi_id(esi));
    w.portal
        .seen()
        .iter()
        .skip(from)
        .filter(|s| s.topic == topic)
        .last()
        .and_then(|s| s.json()["link"].as_str().map(str::to_owned))
}

pub async fn run(o: &SerialOptions) -> Result<Report> {
    let mut rep = Report::new("serial faults (esi-sim fault plan)");
    let mut wo = WorldOptions::new("serial");
    wo.sim.seed = o.seed;
    wo.sim.serial_drop = o.drop;
    wo.sim.serial_corruption = o.corruption;
    let mut w = World::start(&wo).await?;
    let mut load = Load::new(o.seed);
    load.run_for(&w, secs(2), Duration::from_millis(100)).await?;
    let rp = w.party("rep")?.clone();
    let (mut online_after, mut probe_after) = (Vec::new(), Vec::new());
    for (k, f) in o.faults.iter().enumerate() {
        let (esi, label) = match *f {
            Fault::Reset { esi } => (esi, format!("reset esi {esi}")),
            Fault::Unplug { esi, secs } => (esi, format!("unplug esi {esi} for {secs}s")),
        };
        let link = w.sim.links.get(esi).cloned().ok_or("no link")?;
        let before = target(&link);
        let mut load_tick = Instant::now();
        let from = w.portal.mark();
        w.sim.control(&label)?;
        if let Fault::Reset { esi } = *f {
            load.resets.push((esi, load.reqs.len()));
        }
        let t_back = match *f {
            Fault::Reset { .. } => Instant::now(),
            Fault::Unplug { secs: d, .. } => {
                // Gone, then back (a new pty; the kernel may hand out the same number).
                let mut gone = false;
                let end = Instant::now() + secs(d + 20);
                loop {
                    let now_t = target(&link);
                    if now_t.is_none() || now_t != before {
                        gone = true;
                    }
                    if gone && now_t.is_some() {
                        break;
                    }
                    if Instant::now() > end {
                        return Err(format!("{label}: the port did not return (gone: {gone})"));
                    }
                    if load_tick.elapsed() >= Duration::from_millis(100) {
                        load.send_next(&w).await?;
                        load_tick = Instant::now();
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Instant::now()
            }
        };
        let mark_back = w.portal.mark();
        if let Fault::Reset { esi } = *f {
            // The reset wiped the coordinator's slot table (a USB stick without power keeps
            // nothing); the gateway follows the ESI (devices removed, `event/device`). The
            // installer provisions them again once the gateway has caught up.
            let tdsp = w.party("tdsp")?.clone();
            let mut i = 0;
            crate::wait_until(secs(60), "the reset ESI's devices removed", || {
                i += 1;
                let (w, tdsp) = (&w, &tdsp);
                async move {
                    let r = w
                        .portal
                        .call(
                            tdsp,
                            "device/list",
                            &json!({"esi_id": esi_id(esi)}),
                            &format!("rl{k}-{i}"),
                            secs(20),
                        )
                        .await
                        .ok()?;
                    let n = ok(&r).ok()?["devices"]
                        .as_array()?
                        .iter()
                        .filter(|d| d["eui64"].as_str().is_some_and(|e| !e.starts_with("00aa")))
                        .count();
                    (n == 0).then_some(())
                }
            })
            .await?;
            // The devices still think they are on the (now forgetful) network.
            for d in w.sim.devices.iter().filter(|d| d.esi == esi) {
                let _ = w.sim.control(&format!("device {} leave", d.n));
            }
            w.pair(Some(esi), &format!("repair{k}")).await?;
            rep.fig(
                &format!("{label}: devices re-provisioned and paired after"),
                format!("{} ms", t_back.elapsed().as_millis()),
            );
        }
        // The probe: High priority to the ESI's display, sent the moment the port is back.
        let ihd = w
            .sim
            .devices
            .iter()
            .find(|d| d.esi == esi && d.kind == "ihd")
            .map(|d| d.eui64.clone())
            .unwrap_or_default();
        let body = json!({"esi_ids": [esi_id(esi)], "devices": [ihd], "priority": "high",
                          "text": format!("Probe {k}"), "duration_minutes": 60});
        let r = w.portal.call(&rp, "message/send", &body, &format!("probe-{k}"), secs(30)).await?;
        let mid = ok(&r)?["message_id"].clone();
        let delivery_topic = format!("{}/event/delivery", w.root);
        let status_topic = format!("{}/esi/{}/status", w.root, esi_id(esi));
        let mut online_at = None;
        let mut went_down = false;
        let mut delivered_at = None;
        let deadline = Instant::now() + secs(90);
        while (online_at.is_none() || delivered_at.is_none()) && Instant::now() < deadline {
            for s in w.portal.seen().iter().skip(from) {
                if s.topic == status_topic {
                    let l = s.json()["link"].as_str().unwrap_or("").to_owned();
                    if l != "online" {
                        went_down = true;
                    } else if went_down && online_at.is_none() && s.at >= t_back {
                        online_at = Some(s.at);
                    }
                }
                if s.topic == delivery_topic
                    && s.json()["message_id"] == mid
                    && s.json()["state"] == "delivered"
                {
                    delivered_at = Some(s.at);
                }
            }
            if online_at.is_none() && !went_down && delivered_at.is_some() {
                // The link never reported a change (a reset the session rode out).
                break;
            }
            load.send_next(&w).await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = mark_back;
        let online = online_at.map(|t| t.saturating_duration_since(t_back));
        let probe = delivered_at.map(|t| t.saturating_duration_since(t_back));
        rep.fig(
            &format!("{label}: link online / probe delivered after the port returned"),
            format!(
                "{} / {}",
                online.map_or_else(
                    || if went_down { "never".into() } else { "stayed online".into() },
                    |d| format!("{} ms", d.as_millis())
                ),
                probe.map_or_else(|| "never".into(), |d| format!("{} ms", d.as_millis()))
            ),
        );
        match probe {
            Some(d) => {
                probe_after.push(d);
                rep.check(d <= secs(5), || {
                    format!(
                        "{label}: probe delivered {} ms after the port returned (target 5 s)",
                        d.as_millis()
                    )
                });
            }
            None => rep.check(false, || format!("{label}: probe never delivered")),
        }
        if let Some(d) = online {
            online_after.push(d);
        }
        let _ = link_state_after(&w, from, esi);
        w.sim.alive()?;
        load.run_for(&w, secs(2), Duration::from_millis(100)).await?;
    }
    rep.fig("serial byte drop / corruption probability", format!("{} / {}", o.drop, o.corruption));
    rep.fig("recovery: link online after the port returned", stats_ms(&online_after));
    rep.fig("recovery: High probe delivered after the port returned", stats_ms(&probe_after));
    load.settle(&w, &mut rep, secs(30)).await?;
    w.gateway.stop(secs(20))?;
    match w.verify_audit() {
        Ok(n) => rep.fig("audit records verified", n),
        Err(e) => rep.check(false, || e),
    }
    Ok(rep)
}
