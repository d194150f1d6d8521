//! Finding the `gateway` and `esi-sim` executables: an explicit path, else an environment
//! variable, else the directory of the running executable (cargo puts every binary of a
//! workspace in the same `target/<profile>/` directory; test executables live one level down in
//! `deps/`).

use std::path::{Path, PathBuf};

/// One executable the runner needs.
#[derive(Debug, Clone, Copy)]
pub struct Binary {
    /// File name, e.g. `esi-sim`.
    pub name: &'static str,
    /// The flag that overrides the search, e.g. `--esi-sim`.
    pub flag: &'static str,
    /// The environment variable that overrides the search, e.g. `HIL_ESI_SIM`.
    pub env: &'static str,
    /// The cargo package that builds it.
    pub package: &'static str,
}

pub const GATEWAY: Binary =
    Binary { name: "gateway", flag: "--gateway", env: "HIL_GATEWAY", package: "gateway" };
pub const ESI_SIM: Binary =
    Binary { name: "esi-sim", flag: "--esi-sim", env: "HIL_ESI_SIM", package: "esi-sim" };
pub const HIL: Binary = Binary { name: "hil", flag: "--hil", env: "HIL_BIN", package: "hil" };

/// The cargo profile directory (`target/debug`, `target/release`, …) the running executable
/// belongs to: its own directory, or the parent of `deps/`.
pub fn profile_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().map(Path::to_path_buf)
    } else {
        Some(dir.to_path_buf())
    }
}

/// Where `b` would be in the profile directory (whether or not it exists).
pub fn in_profile_dir(b: Binary) -> Option<PathBuf> {
    profile_dir().map(|d| d.join(format!("{}{}", b.name, std::env::consts::EXE_SUFFIX)))
}

/// Finds `b`: `explicit`, else `$ENV`, else next to this executable. The error says where it
/// looked and how to build it.
pub fn locate(b: Binary, explicit: Option<&Path>) -> Result<PathBuf, String> {
    let (path, from) = if let Some(p) = explicit {
        (p.to_path_buf(), format!("{} {}", b.flag, p.display()))
    } else if let Some(p) = std::env::var_os(b.env) {
        let p = PathBuf::from(p);
        let from = format!("{}={}", b.env, p.display());
        (p, from)
    } else {
        let p = in_profile_dir(b).ok_or("cannot find the running executable's directory")?;
        let from = format!("next to this executable ({})", p.display());
        (p, from)
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "the `{}` executable was not found {from}; build it with `cargo build -p {}` \
             (same profile), or point {} / {} at it",
            b.name, b.package, b.flag, b.env
        ))
    }
}
