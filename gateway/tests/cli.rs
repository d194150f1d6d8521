//! The `gateway` binary: `ctl` against a running daemon (bulk provisioning from CSV with
//! per-line results, devices, status, read, send-message), `config check` and `audit verify`.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, clippy::too_many_lines)]

mod common;

use std::process::{Command, Output};

use common::*;
use esi_sim::SimConfig;
use gateway::audit::{AuditEntry, AuditLog, SyncPolicy};

fn gateway(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gateway")).args(args).output().unwrap()
}

/// Runs the binary off the async threads (it blocks on the socket).
async fn gateway_async(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        gateway(&refs)
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_talks_to_the_running_daemon() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let sim = SimRun::start(dir.path(), SimConfig::new(41, 1, 2));
    let cfg = config(dir.path(), &sim.links, "");
    let socket = cfg.ctl.socket.display().to_string();
    let d = start(cfg).await;
    let gw = d.gateway().clone();
    wait_online(&gw).await;

    // Bulk provisioning: one result per line, errors named, exit status 1 when any failed.
    let csv = dir.path().join("devices.csv");
    std::fs::write(
        &csv,
        format!(
            "esi_id,meter_number,eui64,install_code,label\n\
             {e},{m},{eui0},{code0},Kitchen display\n\
             {e},{m},{eui1},{code1}00,Thermostat\n\
             {e},WRONG,{eui1},{code1},Thermostat\n",
            e = esi_id(0),
            m = meter(0),
            eui0 = sim.eui(0),
            code0 = sim.install_code(0),
            eui1 = sim.eui(1),
            code1 = sim.install_code(1),
        ),
    )
    .unwrap();
    let o = gateway_async(vec![
        "ctl".into(),
        "--socket".into(),
        socket.clone(),
        "bulk-provision".into(),
        csv.display().to_string(),
    ])
    .await;
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains(&format!("line 2: ok {} slot", sim.eui(0))), "{out}");
    assert!(out.contains("line 3: error") && out.contains("BAD_INSTALL_CODE"), "{out}");
    assert!(out.contains("line 4: error") && out.contains("METER_MISMATCH"), "{out}");
    assert!(out.contains("1 ok, 2 failed"), "{out}");
    assert!(!out.contains(&sim.install_code(1)), "no install code in output");

    // The install code from standard input, so it is not in the process list.
    let (sock, eui1, code1, esi0, m0) =
        (socket.clone(), sim.eui(1), sim.install_code(1), esi_id(0), meter(0));
    let o = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
            .args(["ctl", "--socket", &sock, "provision", "--esi-id", &esi0, "--meter-number", &m0])
            .args(["--eui64", &eui1, "--install-code", "-", "--label", "Thermostat"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{code1}").unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["state"], "pending");
    sim.control("device 1 rejoin");
    let o = gateway_async(vec![
        "ctl".into(),
        "--socket".into(),
        socket.clone(),
        "devices".into(),
        "--esi-id".into(),
        esi_id(0),
    ])
    .await;
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["provisioned"], 2);
    let mut labels: Vec<&str> =
        v["devices"].as_array().unwrap().iter().map(|d| d["label"].as_str().unwrap()).collect();
    labels.sort_unstable();
    assert_eq!(labels, vec!["Kitchen display", "Thermostat"]);

    let o = gateway_async(vec![
        "ctl".into(),
        "--socket".into(),
        socket.clone(),
        "read".into(),
        "--esi-id".into(),
        esi_id(0),
    ])
    .await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["summation_delivered_kwh"].as_f64().unwrap() > 0.0, "{v}");

    let o = gateway_async(vec![
        "ctl".into(),
        "--socket".into(),
        socket.clone(),
        "status".into(),
        "--esi-id".into(),
        esi_id(0),
        "--refresh".into(),
    ])
    .await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((v["power"].as_str(), v["link"].as_str()), (Some("on"), Some("online")), "{v}");

    // Typed errors reach the field team with their code.
    let o = gateway_async(vec![
        "ctl".into(),
        "--socket".into(),
        socket.clone(),
        "send-message".into(),
        "--esi-id".into(),
        esi_id(0),
        "--text".into(),
        "x".repeat(70),
    ])
    .await;
    assert!(!o.status.success());
    assert!(text(&o).contains("error TEXT_TOO_LONG"), "{}", text(&o));
    let o = gateway_async(vec![
        "ctl".into(),
        "--socket".into(),
        socket.clone(),
        "raw".into(),
        "meter/dance".into(),
    ])
    .await;
    assert!(text(&o).contains("UNKNOWN_ACTION"), "{}", text(&o));
    sim.check();
    d.shutdown().await;

    // Every ctl request was audited, hash-chained, without the install codes.
    let log = dir.path().join("data").join("audit.log");
    let o = gateway(&["audit", "verify", log.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let content = std::fs::read_to_string(&log).unwrap();
    assert!(content.contains("device/provision_bulk") && content.contains("TEXT_TOO_LONG"));
    assert!(!content.contains(&sim.install_code(0)) && !content.contains(&sim.install_code(1)));

    // Nobody listening: a clear message, not a panic.
    let o = gateway(&["ctl", "--socket", &socket, "devices", "--esi-id", "1"]);
    assert!(
        !o.status.success() && text(&o).contains("cannot reach the gateway daemon"),
        "{}",
        text(&o)
    );
}

#[test]
fn config_check_and_audit_verify() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "gateway_id = \"gw\"\ndata_dir = \"/tmp/x\"\n[[coordinator]]\nport = \"/dev/ttyACM0\"\nesi_id = \"1\"\nmeter_number = \"M\"\n",
    )
    .unwrap();
    let o = gateway(&["config", "check", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "gateway_id = \"gw\"\ndata_dir = \"/tmp/x\"\n[[coordinator]]\nport = \"/dev/ttyACM0\"\nesi_id = \"1\"\nmeter_number = \"M\"\nbaud = \"fast\"\n").unwrap();
    let o = gateway(&["config", "check", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("`coordinator[0].baud`"), "{}", text(&o));

    let log = dir.path().join("audit.log");
    {
        let mut a = AuditLog::open(&log, SyncPolicy::EveryAppend).unwrap();
        for i in 0..3 {
            a.append(AuditEntry::new(1_767_225_600 + i, None, "device/provision").allowed())
                .unwrap();
        }
    }
    let o = gateway(&["audit", "verify", log.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("3 records"), "{}", text(&o));
    // Tamper with the middle record.
    let content = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, content.replacen("device/provision", "device/deprovision", 2)).unwrap();
    let o = gateway(&["audit", "verify", log.to_str().unwrap()]);
    assert!(!o.status.success(), "{}", text(&o));
}

/// Polls a ctl request until `pred` holds on its answer.
async fn ctl_until(
    socket: &std::path::Path,
    action: &str,
    params: serde_json::Value,
    secs: u64,
    what: &str,
    pred: impl Fn(&serde_json::Value) -> bool + Send + Sync + 'static,
) -> serde_json::Value {
    let pred = std::sync::Arc::new(pred);
    wait_for(secs, what, || {
        let (socket, action, params, pred) =
            (socket.to_path_buf(), action.to_owned(), params.clone(), pred.clone());
        async move {
            tokio::task::spawn_blocking(move || ctl(&socket, &action, &params).filter(|v| pred(v)))
                .await
                .unwrap()
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_work_queued_then_restart_loses_nothing() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let sim = SimRun::start(dir.path(), SimConfig::new(42, 1, 1));
    let cfg_path = dir.path().join("gateway.toml");
    std::fs::write(&cfg_path, config_text(dir.path(), &sim.links, "30s", "")).unwrap();
    let socket = dir.path().join("ctl.sock");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_gateway"))
            .args(["run", "--config", cfg_path.to_str().unwrap()])
            .env("RUST_LOG", "warn")
            .spawn()
            .unwrap()
    };
    let online = |v: &serde_json::Value| v["data"][0]["link"] == "online";
    let mut child = spawn();
    ctl_until(&socket, "gateway/health", serde_json::Value::Null, 30, "daemon online", online)
        .await;
    let p = serde_json::json!({"esi_id": esi_id(0), "meter_number": meter(0), "eui64": sim.eui(0),
                               "install_code": sim.install_code(0), "label": "IHD"});
    let s2 = socket.clone();
    let r = tokio::task::spawn_blocking(move || ctl(&s2, "device/provision", &p))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r["status"], "ok", "{r}");
    sim.control("device 1 rejoin");
    ctl_until(
        &socket,
        "device/list",
        serde_json::json!({"esi_id": esi_id(0)}),
        30,
        "paired",
        |v| v["data"]["devices"][0]["state"] == "paired",
    )
    .await;

    // Work queued behind an unplugged coordinator when the process is killed.
    sim.control("unplug for 5s");
    ctl_until(&socket, "gateway/health", serde_json::Value::Null, 30, "offline", |v| {
        v["data"][0]["link"] != "online"
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let m = serde_json::json!({"esi_ids": [esi_id(0)], "text": format!("queued {i}"), "duration_minutes": 60});
        let s2 = socket.clone();
        let r = tokio::task::spawn_blocking(move || ctl(&s2, "message/send", &m))
            .await
            .unwrap()
            .unwrap();
        ids.push(r["data"]["request_id"].as_u64().unwrap());
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let mut child = spawn();
    for id in ids.clone() {
        ctl_until(
            &socket,
            "message/status",
            serde_json::json!({"message_id": id}),
            60,
            "final",
            |v| {
                v["data"]["deliveries"].as_array().is_some_and(|d| {
                    d.iter().all(|d| !matches!(d["state"].as_str(), Some("queued" | "sent")))
                })
            },
        )
        .await;
    }
    let last = ids.iter().max().copied().unwrap();
    let s2 = socket.clone();
    let v = tokio::task::spawn_blocking(move || {
        ctl(&s2, "message/status", &serde_json::json!({"message_id": last}))
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(v["data"]["deliveries"][0]["state"], "delivered", "{v}");
    // SIGTERM stops it cleanly.
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    sim.check();
}
