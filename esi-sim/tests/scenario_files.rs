//! The scenario files shipped in `esi-sim/scenarios/` parse and run headless without breaking
//! an invariant; their wrong-key device fails to join.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use esi_sim::device::JoinFailure;
use esi_sim::scenario::Scenario;
use esi_sim::{Sim, SimConfig};
use std::path::Path;

fn load(name: &str) -> (SimConfig, u64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name);
    let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = SimConfig::new(0, 1, 0).with_in_process_hosts();
    s.apply_to(&mut cfg);
    (cfg, s.duration_ms.unwrap())
}

#[test]
fn lab_runs_and_the_wrong_key_fails() {
    let (cfg, duration) = load("lab.toml");
    let mut sim = Sim::new(cfg).unwrap();
    sim.bootstrap_hosts();
    sim.run_for(duration).unwrap_or_else(|v| panic!("{v}"));
    assert_eq!(sim.devices[3].last_join_failure, Some(JoinFailure::KeyMismatch));
    assert!(sim.devices[..3].iter().all(|d| d.short().is_some()), "{}", sim.devices_text());
    assert!(sim.events.iter().any(|(_, e)| e.contains("power failed")));
    assert!(sim.unanswered().is_empty());
}

#[test]
fn soak_survives_an_hour_of_faults() {
    let (cfg, _) = load("soak.toml");
    let mut sim = Sim::new(cfg).unwrap();
    sim.bootstrap_hosts();
    sim.run_for(3_600_000).unwrap_or_else(|v| panic!("{v}"));
}
