//! `gateway demo`: the scripted part run as a library (every step checked, metrics scraped
//! before and after), and the binary run as the README says: it stays up until Ctrl-C.

#![cfg(feature = "demo")]
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::too_many_lines,
    clippy::float_cmp, // metric samples are exact small integers
    clippy::format_collect
)]

use std::time::Duration;

use gateway::demo::portal::Narrator;
use gateway::demo::{Demo, DemoOptions};
use gateway::metrics::http::get;
use gateway::metrics::Metrics;

async fn scrape(addr: std::net::SocketAddr, path: &'static str) -> (u16, String) {
    tokio::task::spawn_blocking(move || get(addr, path, Duration::from_secs(10)))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

fn value(text: &str, key: &str) -> f64 {
    Metrics::sample(text, key).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_demo_step_succeeds_and_the_metrics_follow() {
    let _ = tracing_subscriber::fmt().with_env_filter("warn").with_test_writer().try_init();
    let opts = DemoOptions {
        mqtt_port: Some(0),
        metrics: Some("127.0.0.1:0".parse().unwrap()),
        step_timeout: Duration::from_secs(60),
        ..DemoOptions::default()
    };
    let narrator = Narrator::quiet();
    let demo = tokio::time::timeout(Duration::from_secs(120), Demo::start(&opts, narrator.clone()))
        .await
        .expect("demo start timed out")
        .unwrap_or_else(|e| panic!("{e}\n{}", narrator.transcript()));
    let addr = demo.info().metrics;

    let (status, health) = scrape(addr, "/health").await;
    assert_eq!(status, 200, "{health}");
    let h: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!((h["status"].as_str(), h["store"].as_str()), (Some("ok"), Some("ok")), "{h}");
    assert_eq!(h["coordinators"].as_array().unwrap().len(), 2, "{h}");
    let (status, before) = scrape(addr, "/metrics").await;
    assert_eq!(status, 200);

    let report = tokio::time::timeout(Duration::from_secs(400), demo.script())
        .await
        .expect("demo script timed out")
        .unwrap_or_else(|e| panic!("{e}\n{}", narrator.transcript()));
    let (_, after) = scrape(addr, "/metrics").await;

    // Every step, with what it observed.
    assert_eq!(report.steps.len(), 8, "{report:?}");
    let sim_eui = |i: usize| demo.sim().eui(i);
    assert_eq!(report.devices_paired, (0..4).map(sim_eui).collect::<Vec<_>>());
    assert_eq!(report.price_delivered, 2);
    assert!(report.message_confirmed && report.message_id > 0, "{report:?}");
    assert_eq!(report.dr_received_by, vec![sim_eui(1), sim_eui(2)]);
    assert_eq!(report.dr_opt_out_by, Some(sim_eui(1)));
    let kwh = report.meter_kwh.unwrap();
    assert!(kwh >= 12_345.678 && (kwh * 1000.0).round() / 1000.0 == kwh, "{kwh}");
    assert_eq!(report.power_seen, ["off", "on"]);
    assert_eq!(report.switch_seen, ["open", "closed"]);

    // The narration names topics and payloads, never a secret.
    let t = narrator.transcript();
    for needle in [
        "→ han/demo/request/device/provision",
        "← han/demo/response/device/provision",
        "← han/demo/event/device",
        "\"state\": \"confirmed\"",
        "\"status\": \"opt_out\"",
        "← han/demo/event/meter",
        "\"install_code\": \"«redacted»\"",
    ] {
        assert!(t.contains(needle), "narration lacks {needle:?}");
    }
    for i in 0..4 {
        let code = demo.sim().install_code(i);
        assert!(!t.contains(&code) && !t.contains(&code[..32]), "install code {i} narrated");
    }

    // The metrics moved with the operations.
    let delta = |key: &str| value(&after, key) - value(&before, key);
    assert_eq!(delta(r#"han_mqtt_requests_total{action="device/provision",outcome="ok"}"#), 4.0);
    assert_eq!(delta(r#"han_mqtt_requests_total{action="grant/add",outcome="ok"}"#), 4.0);
    assert!(delta(r#"han_mqtt_request_duration_seconds_count{action="message/send"}"#) >= 1.0);
    assert_eq!(delta(r#"han_provisioning_outcomes_total{state="paired"}"#), 4.0, "{after}");
    assert_eq!(delta(r#"han_delivery_transitions_total{state="confirmed",priority="high"}"#), 1.0);
    assert!(delta(r#"han_delivery_transitions_total{state="delivered",priority="high"}"#) >= 5.0);
    assert_eq!(delta(r#"han_drlc_status_reports_total{status="opt_out"}"#), 1.0);
    for e in &demo.info().esi_ids {
        assert_eq!(value(&after, &format!("han_esi_link_up{{esi_id=\"{e}\"}}")), 1.0, "{after}");
        assert_eq!(value(&after, &format!("han_serial_errors{{esi_id=\"{e}\"}}")), 0.0);
    }
    assert_eq!(Metrics::sample(&after, r#"han_queue_depth{priority="high"}"#), Some(0.0));
    assert_eq!(Metrics::sample(&after, r#"han_deliveries_open{state="queued"}"#), Some(0.0));
    assert_eq!(value(&after, r#"han_deadline_misses_total{priority="high"}"#), 0.0);

    demo.stop().await;
    assert!(get(addr, "/metrics", Duration::from_secs(2)).is_err(), "endpoint still up after stop");
}

/// The binary as a user runs it: the script, then it stays up; its metrics can be scraped;
/// Ctrl-C (SIGINT) stops it cleanly with exit status 0. Logs as JSON lines carry the request
/// span with the portal's transaction id, and no secret.
#[test]
fn the_demo_binary_stays_up_serves_metrics_and_stops_on_ctrl_c() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["--log-format", "json", "demo", "--mqtt-port", "0"])
        .args(["--metrics-listen", "127.0.0.1:0", "--seed", "7", "--step-timeout", "60"])
        .env("RUST_LOG", "warn,gateway::mqtt=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let kill = |sig: &str| {
        let _ = Command::new("kill").args([sig, pid.as_str()]).status();
    };
    // Lines of stdout as they come (a full pipe would block the demo); stderr drained whole.
    let (tx, rx) = mpsc::channel::<String>();
    let so = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(so).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut se = child.stderr.take().unwrap();
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let mut out = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(400);
    let metrics = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Ok(l) = rx.recv_timeout(left) else {
            kill("-KILL");
            let _ = child.wait();
            panic!("the demo did not reach its prompt within 400s:\n{out}");
        };
        out.push_str(&l);
        out.push('\n');
        if let Some(url) = l.trim().strip_prefix("metrics       curl http://") {
            break url.split('/').next().unwrap().parse::<std::net::SocketAddr>().unwrap();
        }
    };
    assert!(out.contains("All 8 steps succeeded."), "{out}");
    assert!(out.contains("han_provisioning_outcomes_total{state=\"paired\"} 4"), "{out}");
    let (status, body) = get(metrics, "/metrics", Duration::from_secs(10)).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        Metrics::sample(&body, r#"han_drlc_status_reports_total{status="opt_out"}"#),
        Some(1.0)
    );
    kill("-INT");
    let exit_by = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > exit_by {
            kill("-KILL");
            let _ = child.wait();
            panic!("the demo did not stop within 30s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    out.extend(rx.try_iter().map(|l| l + "\n"));
    let err = err_t.join().unwrap();
    assert!(status.success(), "exit {status:?}\nstdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("Stopped."), "{out}");
    assert!(get(metrics, "/metrics", Duration::from_secs(2)).is_err(), "metrics still served");
    // JSON logs: the request span carries the portal's transaction.
    let answered = err
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| {
            v["fields"]["message"] == "request answered" && v["span"]["transaction"] == "demo-1"
        })
        .unwrap_or_else(|| panic!("no JSON log of request demo-1 in:\n{err}"));
    assert_eq!(answered["span"]["action"], "grant/add", "{answered}");
    assert_eq!(answered["span"]["name"], "request");
    for d in gateway::demo::sim::demo_config(7).devices {
        let code: String = d.install_code.iter().map(|b| format!("{b:02X}")).collect();
        let lower = code.to_lowercase();
        for text in [&out, &err] {
            assert!(
                !text.contains(&code[..32]) && !text.contains(&lower[..32]),
                "install code shown"
            );
        }
    }
}

#[test]
fn a_busy_broker_port_is_a_clear_error() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["demo", "--exit-after-script", "--mqtt-port", &port.to_string()])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must both be free"), "{err}");
}
