//! Crash suite: steady mixed load through MQTT while the gateway process is killed with
//! SIGKILL at seeded random moments, `kills` times, and restarted each time. At the end the
//! accounting of [`super::load`] holds, and the audit chain verifies.

use std::time::Duration;

use crate::report::{stats_ms, Report};
use crate::suites::load::Load;
use crate::world::{secs, BrokerKind, World, WorldOptions};
use crate::{Result, Rng};

/// Options of the crash suite.
#[derive(Debug, Clone)]
pub struct CrashOptions {
    pub kills: u32,
    pub seed: u64,
    /// Load runs a random time in this range (ms) between restarts and kills.
    pub min_run_ms: u64,
    pub max_run_ms: u64,
    /// One request per this interval.
    pub interval: Duration,
    pub broker: BrokerKind,
}

impl Default for CrashOptions {
    fn default() -> Self {
        Self {
            kills: 100,
            seed: 1,
            min_run_ms: 300,
            max_run_ms: 3_000,
            interval: Duration::from_millis(100),
            broker: BrokerKind::Mosquitto,
        }
    }
}

pub async fn run(o: &CrashOptions) -> Result<Report> {
    let mut rep = Report::new("crash (kill -9 under load)");
    let mut wo = WorldOptions::new("crash");
    wo.sim.seed = o.seed;
    wo.broker = o.broker;
    let mut w = World::start(&wo).await?;
    let mut load = Load::new(o.seed);
    let mut rng = Rng::new(o.seed ^ 0x5EED);
    let mut restarts = Vec::new();
    load.run_for(&w, Duration::from_secs(2), o.interval).await?;
    for k in 0..o.kills {
        let run = Duration::from_millis(rng.range(o.min_run_ms, o.max_run_ms));
        load.run_for(&w, run, o.interval).await?;
        w.gateway.kill9()?;
        // The portal keeps sending while the gateway is down (queued by the broker).
        load.run_for(&w, Duration::from_millis(rng.range(0, 500)), o.interval).await?;
        let t =
            w.restart(secs(60)).await.map_err(|e| format!("restart after kill {}: {e}", k + 1))?;
        restarts.push(t);
        if std::env::var_os("RELIABILITY_VERBOSE").is_some() {
            eprintln!(
                "kill {} restarted in {} ms ({} requests so far)",
                k + 1,
                t.as_millis(),
                load.reqs.len()
            );
        }
        w.sim.alive()?;
    }
    load.run_for(&w, Duration::from_secs(2), o.interval).await?;
    rep.fig("seed", o.seed);
    rep.fig("broker", format!("{:?}", o.broker));
    rep.fig("kills survived (SIGKILL + restart)", o.kills);
    rep.fig("restart to bridge online", stats_ms(&restarts));
    load.settle(&w, &mut rep, secs(30)).await?;
    w.sim.alive()?;
    w.gateway.stop(secs(20))?;
    match w.verify_audit() {
        Ok(n) => rep.fig("audit records verified", n),
        Err(e) => rep.check(false, || e),
    }
    let mut secrets = w.sim.secrets();
    secrets.extend(
        load.fake_codes.iter().map(|c| crate::secrets::Secret::from_hex("install code", c)),
    );
    let scan = crate::secrets::scan_files(&w.scan_targets()?, &secrets);
    rep.fig(
        "secret scan (files, bytes, secrets, findings)",
        format!("{}, {}, {}, {}", scan.files, scan.bytes, scan.secrets, scan.findings.len()),
    );
    rep.check(scan.findings.is_empty(), || format!("secrets found: {:?}", scan.findings));
    Ok(rep)
}
