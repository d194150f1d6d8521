//! Test support shared by the cross-check tests of every crate: a Python virtualenv with the
//! independent implementations we compare against (zigpy, `cryptography`, PyJWT), created on
//! first use in `target/pyenv`, and a small seeded PRNG.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Packages the cross-checks need, pinned so a run is reproducible.
pub const PY_PACKAGES: &[&str] = &["zigpy==2.4.0", "cryptography>=42", "pyjwt==2.*"];

/// Set `ZSE_SKIP_PY_XCHECK=1` to skip the Python cross-checks on a machine without PyPI access.
/// CI never sets it: there, a missing independent implementation fails the build.
pub fn skip_python() -> bool {
    std::env::var_os("ZSE_SKIP_PY_XCHECK").is_some_and(|v| v == "1")
}

fn workspace_target() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target")
}

/// The workspace root (scripts are given relative to it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Path of a Python interpreter with [`PY_PACKAGES`] installed, creating the venv once
/// (`target/pyenv`). `ZSE_PYTHON` overrides it with an interpreter of your own.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("ZSE_PYTHON") {
        return PathBuf::from(p);
    }
    python_venv("pyenv", PY_PACKAGES)
}

/// bellows (zigpy/bellows), the open-source EZSP host the EZSP NCP emulation is checked
/// against, with the zigpy it was tested with.
pub const BELLOWS_PACKAGES: &[&str] = &["bellows==1.2.1", "zigpy==2.4.0"];

/// Path of a Python interpreter in `target/<name>` with `packages` installed, creating the venv
/// on first use (several test binaries may ask at once: one creates it, the others wait).
pub fn python_venv(name: &str, packages: &[&str]) -> PathBuf {
    let target = workspace_target();
    std::fs::create_dir_all(&target).unwrap();
    let venv = target.join(name);
    let py = venv.join("bin/python");
    let ready = venv.join(".ready");
    if ready.exists() {
        return py;
    }
    let lock = target.join(format!("{name}.lock"));
    let deadline = Instant::now() + Duration::from_secs(600);
    while std::fs::create_dir(&lock).is_err() {
        assert!(Instant::now() < deadline, "timed out waiting for {}", lock.display());
        if ready.exists() {
            return py;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let result = (|| {
        if ready.exists() {
            return Ok(());
        }
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        let mut pip = Command::new(&py);
        pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]);
        pip.args(packages);
        run(&mut pip)?;
        std::fs::write(&ready, packages.join("\n")).map_err(|e| e.to_string())
    })();
    let _ = std::fs::remove_dir(&lock);
    if let Err(e) = result {
        panic!("could not prepare the Python cross-check environment {name}: {e} (set ZSE_SKIP_PY_XCHECK=1 to skip on an offline machine)");
    }
    py
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.stdout(Stdio::null()).output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// Runs `script` (a path relative to the workspace root) with `input` on stdin; returns stdout.
pub fn run_python(script: &str, input: &str) -> String {
    use std::io::Write;
    let path = workspace_root().join(script);
    let mut child = Command::new(python())
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{script} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Deterministic PRNG for seeded cross-check inputs (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}
