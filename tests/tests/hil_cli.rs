//! The runner's bad-input behaviour: clear messages, the documented exit codes, never a hang.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::many_single_char_names
)]

use std::process::Command;
use std::time::Duration;

use tests::{binaries, run_with_timeout, TempDir};

fn hil(args: &[&str]) -> (i32, String, String) {
    let b = binaries().unwrap();
    let out = run_with_timeout(
        Command::new(&b.hil)
            .args(args)
            .env("HIL_GATEWAY", &b.gateway)
            .env("HIL_ESI_SIM", &b.esi_sim),
        Duration::from_secs(60),
    )
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn list_names_every_scenario() {
    let (code, out, _) = hil(&["--list"]);
    assert_eq!(code, 0);
    for s in hil::scenarios::SCENARIOS {
        assert!(out.contains(s.name), "{out}");
    }
}

#[test]
fn unknown_scenario_is_a_usage_error() {
    let (code, _, err) = hil(&["--sim", "--scenario", "provisioning", "--scenario", "dance"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown scenario `dance`") && err.contains("slots-full"), "{err}");
}

#[test]
fn no_target_is_a_usage_error() {
    let (code, _, err) = hil(&["--scenario", "price"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--sim") && err.contains("--port"), "{err}");
}

#[test]
fn unreachable_port_fails_plainly_and_reports() {
    let dir = TempDir::new("hil-port").unwrap();
    let junit = dir.0.join("x.xml");
    let (code, _, err) =
        hil(&["--port", "/dev/does-not-exist-ttyACM9", "--junit", junit.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot open /dev/does-not-exist-ttyACM9"), "{err}");
    let x = std::fs::read_to_string(&junit).unwrap();
    assert!(x.contains("<failure") && x.contains("set-up failed"), "{x}");
}

#[test]
fn port_that_is_no_coordinator_times_out_with_a_reason() {
    // /dev/null opens fine but never answers the host-link Hello: a clear failure, no hang.
    let (code, _, err) =
        hil(&["--port", "/dev/null", "--scenario", "meter-read", "--online-timeout", "5"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("online") && err.contains("host-link"), "{err}");
}

#[test]
fn missing_simulator_binary_is_named() {
    let (code, _, err) =
        hil(&["--sim", "--scenario", "price", "--esi-sim", "/nonexistent/esi-sim"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("`esi-sim` executable was not found")
            && err.contains("cargo build -p esi-sim"),
        "{err}"
    );
}
