//! Runs the binary, opens the pty it prints with `serialport`, and does a host-link handshake
//! and one request, as the gateway would.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use firmware::host_link::{
    Command, HostEndpoint, LinkConfig, LinkEvent, NodeInfo, Report, Request, ResultCode, Role,
    SetTime, SoftwareVersion, MAX_WIRE_LEN,
};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

#[test]
fn gateway_handshake_over_the_printed_pty() {
    let dir = std::env::temp_dir().join(format!("esi-sim-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("esi{n}");
    let mut child = Process::new(env!("CARGO_BIN_EXE_esi-sim"))
        .args([
            "--esis",
            "2",
            "--devices",
            "5",
            "--seed",
            "1",
            "--control",
            "none",
            "--duration",
            "60s",
        ])
        .arg("--link")
        .arg(&link)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut paths = Vec::new();
    let mut printed = String::new();
    while paths.len() < 2 {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "binary ended early:\n{printed}");
        printed.push_str(&line);
        if let Some(rest) = line.strip_prefix(&format!("esi {}: ", paths.len())) {
            assert!(rest.contains("network key"), "{line}");
            paths.push(rest.split_whitespace().next().unwrap().to_string());
        }
    }
    assert!(paths[0].starts_with("/dev/pts/"), "{printed}");
    // The symlink points at the same pty.
    let l0 = dir.join("esi0");
    assert_eq!(std::fs::read_link(&l0).unwrap().to_string_lossy(), paths[0]);

    let mut port = serialport::new(l0.to_string_lossy(), 115_200)
        .timeout(Duration::from_millis(20))
        .open_native()
        .unwrap();
    let node = NodeInfo {
        role: Role::Host,
        software: SoftwareVersion { major: 0, minor: 1, patch: 0 },
        esi_eui64: firmware::host_link::Eui64(0),
        slot_capacity: 0,
    };
    let mut host = HostEndpoint::new(LinkConfig::new(node, 99));
    let start = Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut buf = [0u8; MAX_WIRE_LEN];
    let mut rx = [0u8; 256];
    let mut connected = None;
    let mut sent = false;
    let mut answer = None;
    while start.elapsed() < Duration::from_secs(20) && answer.is_none() {
        host.handle_timeout(now());
        while let Some(n) = host.poll_transmit(&mut buf) {
            port.write_all(&buf[..n]).unwrap();
        }
        match port.read(&mut rx) {
            Ok(n) => host.handle_bytes(now(), &rx[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("{e}"),
        }
        while let Some(ev) = host.poll_event() {
            match ev {
                LinkEvent::Connected(h) => connected = Some(h),
                LinkEvent::Received(Report::Result(r)) if r.request_id == 1 => answer = Some(r),
                _ => {}
            }
        }
        if connected.is_some() && !sent {
            let req =
                Request { request_id: 1, command: Command::SetTime(SetTime { utc: 820_540_800 }) };
            host.send(now(), &req).unwrap();
            sent = true;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let hello = connected.expect("no handshake");
    assert_eq!(hello.node.role, Role::Coordinator);
    assert_eq!(hello.node.slot_capacity, 10);
    assert_eq!(answer.expect("no answer to SetTime").code, ResultCode::SUCCESS);
    let _ = std::fs::remove_dir_all(&dir);
}
