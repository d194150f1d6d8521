//! Helpers for the scenario tests: a simulation with in-process hosts, and waiting for reports.
#![allow(dead_code)]

use esi_sim::{Sim, SimConfig};
use firmware::host_link::{Command, DeviceState, Report, ResultCode, SetTime};

/// 2026-01-01 00:00:00 UTC as UTCTime (seconds since 2000).
pub const T0: u32 = 820_540_800;

/// A simulation with in-process hosts.
pub fn sim(seed: u64, esis: usize, devices: usize) -> Sim {
    Sim::new(SimConfig::new(seed, esis, devices).with_in_process_hosts()).expect("config")
}

/// Waits (virtual time) until the host of `esi` has a Result for `id`; returns its code.
pub fn wait_result(sim: &mut Sim, esi: usize, id: u32) -> ResultCode {
    let ok = sim
        .run_until(120_000, |s| s.esis[esi].host.as_ref().is_some_and(|h| h.result(id).is_some()))
        .unwrap_or_else(|v| panic!("{v}"));
    assert!(
        ok,
        "no result for request {id}; transcript:\n{}",
        sim.esis[esi].host.as_ref().unwrap().transcript_text()
    );
    sim.esis[esi].host.as_ref().unwrap().result(id).unwrap().code
}

/// Connects, sets the time on every ESI.
pub fn start(sim: &mut Sim) {
    for e in 0..sim.esis.len() {
        let id = sim.host(e).unwrap().send(Command::SetTime(SetTime { utc: T0 }));
        assert_eq!(wait_result(sim, e, id), ResultCode::SUCCESS);
    }
}

/// Whether `eui` reached `state` in the host transcript of `esi`.
pub fn has_device_state(sim: &Sim, esi: usize, eui: zse::zcl::Eui64, state: DeviceState) -> bool {
    sim.esis[esi].host.as_ref().unwrap().transcript.iter().any(
        |(_, r)| matches!(r, Report::DeviceEvent(d) if d.eui64 == eui.into() && d.state == state),
    )
}

/// Provisions device `i` and waits until it is paired (KEY_ESTABLISHED).
pub fn pair(sim: &mut Sim, i: usize) {
    let esi = sim.devices[i].spec.esi;
    let eui = sim.devices[i].spec.eui64;
    let id = sim.provision(i).unwrap();
    assert_eq!(wait_result(sim, esi, id), ResultCode::SUCCESS);
    let ok = sim
        .run_until(300_000, |s| has_device_state(s, esi, eui, DeviceState::KEY_ESTABLISHED))
        .unwrap_or_else(|v| panic!("{v}"));
    assert!(
        ok,
        "device {i} did not pair:\n{}\n{}",
        sim.devices_text(),
        sim.esis[esi].host.as_ref().unwrap().transcript_text()
    );
}
