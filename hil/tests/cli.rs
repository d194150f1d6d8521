//! The runner's command line without a gateway: listing, usage errors and a missing
//! simulator, with the documented exit codes. (Also makes `cargo test --workspace` build the
//! `hil` binary, which the end-to-end tests in `tests/` run.)

#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::Command;

fn hil(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hil")).args(args).output().unwrap();
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
    assert!(out.contains("[sim only]"), "{out}");
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
    let (code, _, _) = hil(&["--sim", "--port", "/dev/ttyACM0"]);
    assert_eq!(code, 2);
    let (code, _, err) = hil(&["--sim", "--broker", "localhost"]);
    assert_eq!(code, 2);
    assert!(err.contains("HOST:PORT"), "{err}");
}

#[test]
fn bad_ncp_choices_are_usage_errors() {
    let (code, _, err) = hil(&["--sim", "--ncp", "zigate", "--scenario", "price"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--ncp zigate") && err.contains("ezsp"), "{err}");
    let (code, _, err) = hil(&["--sim", "--ncp", "ezsp", "--ezsp-version", "7"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("8..=13"), "{err}");
    let (code, _, err) = hil(&["--sim", "--ezsp-version", "13"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--ncp ezsp"), "{err}");
    // The NCP is the simulator's: a real port is a host-link coordinator.
    let (code, _, _) = hil(&["--port", "/dev/ttyACM0", "--ncp", "ezsp"]);
    assert_eq!(code, 2);
}

#[test]
fn missing_binaries_are_named_with_the_fix() {
    let (code, _, err) =
        hil(&["--sim", "--scenario", "price", "--gateway", "/nonexistent/gateway"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("`gateway` executable was not found --gateway /nonexistent/gateway")
            && err.contains("cargo build -p gateway"),
        "{err}"
    );
    // The JUnit file still says what happened, for CI.
    let dir = std::env::temp_dir().join(format!("hil-cli-{}", std::process::id()));
    let junit = dir.join("j.xml");
    let (code, _, _) = hil(&[
        "--sim",
        "--scenario",
        "price",
        "--esi-sim",
        "/nonexistent/esi-sim",
        "--gateway",
        env!("CARGO_BIN_EXE_hil"),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let x = std::fs::read_to_string(&junit).unwrap();
    assert!(x.contains("`esi-sim` executable was not found"), "{x}");
    let _ = std::fs::remove_dir_all(&dir);
}
