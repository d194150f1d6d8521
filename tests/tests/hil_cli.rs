//! The runner against ports that are not coordinators: clear messages, non-zero exits, never a
//! hang (with the real gateway binary; the pure command-line cases are in `hil/tests/cli.rs`).

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
