//! Provisioning through the simulated radio: the right key joins, a wrong key fails visibly,
//! a full slot table answers SLOTS_FULL.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;
use common::*;
use esi_sim::device::JoinFailure;
use esi_sim::sim::SimConfig;
use esi_sim::Sim;
use firmware::host_link::{DeviceState, ResultCode};

#[test]
fn right_key_joins_and_pairs() {
    let mut sim = sim(1, 1, 3);
    start(&mut sim);
    for i in 0..3 {
        pair(&mut sim, i);
    }
    let eui = sim.devices[0].spec.eui64;
    assert!(has_device_state(&sim, 0, eui, DeviceState::JOINED));
    assert!(sim.devices.iter().all(|d| d.short().is_some()));
}

#[test]
fn wrong_key_fails_to_join_visibly() {
    let mut cfg = SimConfig::new(2, 1, 1).with_in_process_hosts();
    cfg.devices[0].wrong_key = true;
    let mut sim = Sim::new(cfg).unwrap();
    start(&mut sim);
    let eui = sim.devices[0].spec.eui64;
    let id = sim.provision(0).unwrap();
    assert_eq!(wait_result(&mut sim, 0, id), ResultCode::SUCCESS);
    sim.run_for(120_000).unwrap();
    assert_eq!(sim.devices[0].last_join_failure, Some(JoinFailure::KeyMismatch));
    assert!(sim.devices[0].short().is_none());
    assert!(!has_device_state(&sim, 0, eui, DeviceState::JOINED));
    assert!(sim.devices_text().contains("key mismatch"), "{}", sim.devices_text());
}

#[test]
fn slots_full_is_refused() {
    let mut cfg = SimConfig::new(3, 1, 6).with_in_process_hosts();
    cfg.slots = 5;
    let mut sim = Sim::new(cfg).unwrap();
    start(&mut sim);
    let mut codes = Vec::new();
    for i in 0..6 {
        let id = sim.provision(i).unwrap();
        codes.push(wait_result(&mut sim, 0, id));
    }
    assert_eq!(&codes[..5], &[ResultCode::SUCCESS; 5]);
    assert_eq!(codes[5], ResultCode::SLOTS_FULL);
}
