//! A device that never answers fails with a reason after the configured timeout, never a hang:
//! here a display holding another key than its label (the trust centre never lets it in), with
//! the gateway binary on its embedded broker and esi-sim on a pty.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use hil::gwproc::Broker;
use hil::scenarios::Parties;
use hil::sim::{DeviceWish, Kind};
use tests::{unique, Lab, TempDir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_never_answers_fails_with_a_reason() {
    let dir = TempDir::new("silent").unwrap();
    let parties = Parties::new();
    let lab = Lab {
        dir: dir.0.join("lab"),
        base_topic: "han".into(),
        gateway_id: unique("silent"),
        esi_index: 0,
        seed: 7,
        broker: Broker::embedded().unwrap(),
        devices: vec![DeviceWish { kind: Kind::Ihd, esi: 0, wrong_key: true }],
    };
    let (mut ctx, esi) = lab.start(&parties).await.unwrap();
    ctx.device_timeout = Duration::from_secs(3);
    let ihd = ctx.sim.as_ref().unwrap().devices_on(0, Kind::Ihd).remove(0);
    let t = Instant::now();
    let err = ctx.pair(&esi, &ihd).await.unwrap_err();
    let took = t.elapsed();
    assert!(err.contains("timed out after 3s") && err.contains(&ihd.eui64), "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // Nothing was recorded as a provisioning time.
    assert!(ctx.provisioning_ms.is_empty());
}
