//! Where the `gateway` and `esi-sim` binaries are, built from this checkout.
//!
//! The suites run the real binaries of the same profile as the suite itself
//! (`target/<profile>/gateway`, `target/<profile>/esi-sim`). Before the first use they are
//! brought up to date with `cargo build -p gateway -p esi-sim --bins` (so a suite never tests a
//! stale gateway); `GATEWAY_BIN` / `ESI_SIM_BIN` point at other builds and skip that step.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::{Context, Result};

/// Paths of the binaries under test.
#[derive(Debug, Clone)]
pub struct Bins {
    pub gateway: PathBuf,
    pub esi_sim: PathBuf,
}

static BINS: OnceLock<Result<Bins>> = OnceLock::new();

/// The binaries, built once per process.
pub fn bins() -> Result<Bins> {
    BINS.get_or_init(locate).clone()
}

/// `target/<profile>` of the running executable (tests run from `target/<profile>/deps`).
fn profile_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().ctx("current_exe")?;
    let mut dir = exe.parent().ctx("executable directory")?.to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps" || n == "examples") {
        dir = dir.parent().ctx("profile directory")?.to_path_buf();
    }
    Ok(dir)
}

fn locate() -> Result<Bins> {
    if let (Ok(g), Ok(s)) = (std::env::var("GATEWAY_BIN"), std::env::var("ESI_SIM_BIN")) {
        return Ok(Bins { gateway: g.into(), esi_sim: s.into() });
    }
    let dir = profile_dir()?;
    build(&dir)?;
    let bins = Bins { gateway: dir.join("gateway"), esi_sim: dir.join("esi-sim") };
    for b in [&bins.gateway, &bins.esi_sim] {
        if !b.exists() {
            return Err(format!("{} missing after cargo build", b.display()));
        }
    }
    Ok(bins)
}

/// `cargo build -p gateway -p esi-sim --bins` into the same target directory and profile.
fn build(profile_dir: &Path) -> Result<()> {
    let target = profile_dir.parent().ctx("target directory")?;
    let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut c = Command::new(cargo);
    c.args(["build", "-q", "-p", "gateway", "-p", "esi-sim", "--bins"]);
    if profile == "release" {
        c.arg("--release");
    } else if profile != "debug" {
        c.args(["--profile", profile]);
    }
    c.env("CARGO_TARGET_DIR", target).current_dir(env!("CARGO_MANIFEST_DIR"));
    let st = c.status().ctx("run cargo build for gateway and esi-sim")?;
    if !st.success() {
        return Err(format!("cargo build -p gateway -p esi-sim failed: {st}"));
    }
    Ok(())
}
