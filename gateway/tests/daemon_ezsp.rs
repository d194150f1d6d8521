//! The `ezsp` coordinator kind end to end: the daemon opens `esi-sim --ncp ezsp`'s pty (an
//! emulated Silicon Labs NCP speaking EZSP over ASH), runs the ESI core itself with the NCP as
//! its radio, and every gateway feature works unchanged: online, provisioning to paired, a
//! message delivered and confirmed, an NCP reset surfaced and recovered.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use esi_sim::node::NodeKind;
use esi_sim::SimConfig;
use gateway::config::Config;
use gateway::ops::types::{SendMessage, Targets};
use gateway::ops::Event;

fn ezsp_config(dir: &Path, links: &[PathBuf]) -> Config {
    let text = config_text(dir, links, "30s", "").replace(
        "meter_number = \"M0\"\n",
        "meter_number = \"M0\"\nkind = \"ezsp\"\nchannel = 20\n",
    );
    Config::parse(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_runs_the_esi_core_on_an_ezsp_ncp() {
    let mut cfg = SimConfig::new(31, 1, 2);
    cfg.node = NodeKind::Ezsp { max_version: 13 };
    let (_dir, sim, d, gw) = online_with(cfg, ezsp_config).await;
    provision_and_pair(&gw, &sim, 0, 0).await;

    let msg = SendMessage {
        targets: Targets { esi_ids: vec![esi_id(0)], ..Targets::default() },
        priority: Some("high".into()),
        text: "EZSP says hello".into(),
        confirmation_required: true,
        duration_minutes: Some(30),
        ..SendMessage::default()
    };
    let mut rx = gw.subscribe();
    let a = gw.send_message(&tdsp(), msg).await.unwrap();
    let states = final_states(&gw, a.request_id, 30).await;
    assert_eq!(states[&sim.eui(0)], "delivered", "{states:?}");
    sim.control(&format!("ihd 1 confirm {}", a.request_id));
    let eui0 = sim.eui(0);
    wait_event(
        &mut rx,
        15,
        "confirmation",
        |e| matches!(e, Event::Delivery(d) if d.eui64 == eui0 && d.state == "confirmed"),
    )
    .await;

    // The NCP resets: the ESI goes offline with a reason, then comes back by itself.
    sim.control("reset");
    wait_for(15, "offline after the NCP reset", || async {
        (gw.health().all().iter().any(|h| h.link != gateway::coordinator::LinkStatus::Online))
            .then_some(())
    })
    .await;
    wait_online(&gw).await;
    sim.check();
    d.shutdown().await;
}
