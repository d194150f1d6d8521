//! The README's promises: its example configuration is accepted by `gateway config check`, and
//! its two set-up commands are the ones CI and the demo use.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap()
}

/// The first fenced block of `lang` after the heading `heading`.
fn block_after(text: &str, heading: &str, lang: &str) -> String {
    let start = text.find(heading).unwrap_or_else(|| panic!("no {heading:?} in README.md"));
    let rest = &text[start..];
    let open = format!("```{lang}\n");
    let from = rest.find(&open).unwrap_or_else(|| panic!("no {lang} block after {heading:?}"))
        + open.len();
    let len = rest[from..].find("```").unwrap();
    rest[from..from + len].to_owned()
}

#[test]
fn the_example_configuration_passes_config_check() {
    let toml = block_after(&readme(), "## Configuration", "toml");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    std::fs::write(&file, &toml).unwrap();
    let cfg = gateway::config::Config::load(&file).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    assert!(cfg.mqtt.is_some() && cfg.metrics.is_some());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["config", "check"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok"));
}

#[test]
fn the_two_commands_are_the_demo_and_the_ci_test_command() {
    let text = readme();
    let two = block_after(&text, "## Two commands", "sh");
    assert_eq!(
        two.lines().collect::<Vec<_>>(),
        ["cargo run --release -p gateway -- demo", "cargo test --workspace --all-features"]
    );
    let ci =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/run")).unwrap();
    assert!(ci.lines().any(|l| l.trim() == "cargo test --workspace --all-features"));
}
