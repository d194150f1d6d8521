//! Interoperability with software nobody here wrote: bellows (zigpy/bellows on PyPI, the EZSP
//! host behind Home Assistant's ZHA) drives `esi-sim --ncp ezsp` over its pty — ASH reset,
//! version negotiation, board info, security state, network formation, transient keys from
//! install codes (derived by zigpy), permit join, trust-centre joins of simulated devices,
//! incoming SE frames, an APS-acknowledged unicast — then `bellows info` (its CLI) reads the
//! formed network. Protocol 13 (importTransientKey) and 8 (addTransientLinkKey).
//!
//! Needs PyPI once (the venv is cached in `target/pyenv-bellows`); `ZSE_SKIP_PY_XCHECK=1` skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

struct SimProc {
    child: Child,
    stop: Arc<AtomicBool>,
    pty: PathBuf,
    eui64: String,
    devices: Vec<(String, String)>,
}

impl Drop for SimProc {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(dir: &Path, version: u8, seed: u64) -> SimProc {
    let link = dir.join(format!("ncp-v{version}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_esi-sim"))
        .args(["--ncp", "ezsp", "--ezsp-version", &version.to_string(), "--devices", "2"])
        .args(["--seed", &seed.to_string(), "--duration", "5m", "--link"])
        .arg(&link)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut eui64, mut devices) = (String::new(), vec![]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while devices.len() < 2 {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("esi-sim start-up output");
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("esi 0:") {
            eui64 = words[words.iter().position(|w| *w == "eui64").unwrap() + 1].to_string();
        }
        if line.starts_with("device ") {
            let e = words[words.iter().position(|w| *w == "eui64").unwrap() + 1].to_string();
            let code = words[words.iter().position(|w| *w == "code").unwrap() + 1]
                .trim_end_matches(':')
                .to_string();
            devices.push((e, code));
        }
    }
    // Simulated devices back off between join attempts; keep nudging them so they try while
    // bellows permits joining (a `rejoin` of a joined device is refused, harmlessly).
    let stop = Arc::new(AtomicBool::new(false));
    let mut stdin = child.stdin.take().unwrap();
    let s = stop.clone();
    std::thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            if stdin.write_all(b"device 1 rejoin\ndevice 2 rejoin\n").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    SimProc { child, stop, pty: link, eui64, devices }
}

/// Runs `cmd` with a deadline; returns (success, stdout, stderr).
fn run_with_timeout(cmd: &mut Command, limit: Duration) -> (bool, String, String) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (mut so, mut se) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut so, &mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut se, &mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status.is_some_and(|s| s.success()), o.join().unwrap(), e.join().unwrap())
}

fn interop(version: u8, seed: u64) {
    if xcheck::skip_python() {
        eprintln!("ZSE_SKIP_PY_XCHECK=1: bellows interop skipped");
        return;
    }
    let py = xcheck::python_venv("pyenv-bellows", xcheck::BELLOWS_PACKAGES);
    let dir = std::env::temp_dir().join(format!("ezsp-interop-{}-{version}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sim = start_sim(&dir, version, seed);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/bellows_ncp.py");
    let mut cmd = Command::new(&py);
    cmd.arg(&script).arg(&sim.pty);
    for (e, code) in &sim.devices {
        cmd.arg(format!("{e}:{code}"));
    }
    let (ok, out, err) = run_with_timeout(&mut cmd, Duration::from_secs(150));
    assert!(ok, "bellows script failed (v{version}):\n{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim().lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["protocol_version"], u64::from(version));
    assert_eq!(v["eui64"], sim.eui64);
    assert_eq!(v["node_id"], 0);
    assert_eq!(v["board"][0], "esi-sim");
    assert_eq!(v["board"][2], "7.4.5.0 build 0");
    assert_eq!(v["network_init_before_form"], "NOT_JOINED");
    assert_eq!(v["set_initial_security_state"], "OK");
    assert_eq!(v["form_network"], "NETWORK_UP");
    assert_eq!(v["network_parameters"]["status"], "OK");
    assert_eq!(v["network_parameters"]["node_type"], "COORDINATOR");
    assert_eq!(v["network_parameters"]["pan_id"], 0x1A62);
    assert_eq!(v["network_parameters"]["channel"], 20);
    assert_eq!(v["network_state"], "JOINED_NETWORK");
    assert_eq!(v["current_security_state"][1], sim.eui64);
    for (i, (e, _)) in sim.devices.iter().enumerate() {
        assert_eq!(v["transient_keys"][i], serde_json::json!([e, "OK"]));
        let joined = v["trust_center_joins"].as_array().unwrap();
        assert!(
            joined.iter().any(|j| j[0] == *e && j[2] == "USE_PRECONFIGURED_KEY"),
            "{e} not admitted: {joined:?}"
        );
    }
    assert_eq!(v["incoming_message"][0], 0x0109, "SE profile");
    assert_eq!(v["send_unicast"], "OK");
    assert_eq!(v["message_sent"]["status"], "OK");
    assert_eq!(v["message_sent"]["tag"], 0x21);

    // bellows' own CLI, on a second connection: the NCP resets, the network resumes from "NVM".
    let bellows = py.with_file_name("bellows");
    let (ok, out, err) = run_with_timeout(
        Command::new(&bellows).arg("-d").arg(&sim.pty).arg("info"),
        Duration::from_secs(60),
    );
    assert!(ok, "bellows info failed (v{version}):\n{out}\n{err}");
    let eui_colons: Vec<String> =
        sim.eui64.as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    assert!(out.contains(&eui_colons.join(":")), "EUI-64 missing:\n{out}");
    assert!(out.contains("JOINED_NETWORK"), "{out}");
    assert!(out.contains("Manufacturer: esi-sim"), "{out}");
    assert!(out.contains("EmberZNet version: 7.4.5.0 build 0"), "{out}");
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bellows_v13_forms_admits_and_sends() {
    interop(13, 11);
}

#[test]
fn bellows_v8_forms_admits_and_sends() {
    interop(8, 12);
}
