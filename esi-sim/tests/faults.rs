//! Discrete faults as the host sees them: a device leaving and rejoining, an unplugged serial
//! line, a coordinator reset; and bad flags on the command line.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;
use common::*;
use esi_sim::command::{Action, DeviceRef, Target};
use firmware::host_link::{Command, DeviceState, ResultCode};

#[test]
fn leave_and_rejoin_are_reported() {
    let mut sim = sim(30, 1, 2);
    start(&mut sim);
    pair(&mut sim, 1);
    let eui = sim.devices[1].spec.eui64;
    sim.apply(&Action::Leave { device: DeviceRef::Index(1) }).unwrap();
    assert!(sim.run_until(10_000, |s| has_device_state(s, 0, eui, DeviceState::LEFT)).unwrap());
    assert!(sim.devices[1].short().is_none());
    sim.apply(&Action::Rejoin { device: DeviceRef::Index(1) }).unwrap();
    let joined_again = sim
        .run_until(60_000, |s| {
            s.esis[0].host.as_ref().unwrap().transcript.iter().filter(|(_, r)| {
                matches!(r, firmware::host_link::Report::DeviceEvent(d) if d.eui64 == eui.into() && d.state == DeviceState::JOINED)
            }).count() == 2
        })
        .unwrap();
    assert!(joined_again);
}

#[test]
fn unplug_and_reset_end_sessions_and_the_host_reconnects() {
    let mut sim = sim(31, 1, 1);
    start(&mut sim);
    sim.apply(&Action::Unplug { esi: Target::One(0), for_ms: 5_000 }).unwrap();
    sim.run_for(20_000).unwrap();
    sim.apply(&Action::Reset { esi: Target::All }).unwrap();
    sim.run_for(20_000).unwrap();
    let h = sim.esis[0].host.as_ref().unwrap();
    assert!(h.sessions >= 2, "{}", h.transcript_text());
    assert!(h.is_connected());
    let id = sim.host(0).unwrap().send(Command::ListDevices);
    assert_eq!(wait_result(&mut sim, 0, id), ResultCode::SUCCESS);
    assert!(sim.unanswered().is_empty());
}

fn cli(args: &[&str]) -> (i32, String) {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_esi-sim")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn bad_flags_name_the_field() {
    let (code, err) = cli(&["--headless", "--loss", "2"]);
    assert_eq!(code, 2);
    assert!(err.contains("radio.loss"), "{err}");
    let (code, err) = cli(&["--headless", "--at", "ihd 1 dance at 5s"]);
    assert_eq!(code, 2);
    assert!(err.contains("--at #1") && err.contains("word 3"), "{err}");
    let (code, err) = cli(&["--headless", "--slots", "7"]);
    assert_eq!(code, 2);
    assert!(err.contains("slots = 7"), "{err}");
    let (code, err) = cli(&["--headless", "--scenario", "/nonexistent.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent.toml"), "{err}");
    let (code, err) = cli(&["--headless", "--duration", "10"]);
    assert_eq!(code, 2);
    assert!(err.contains("--duration") && err.contains("unit"), "{err}");
}
