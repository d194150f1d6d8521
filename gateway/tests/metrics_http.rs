//! The `/metrics` and `/health` endpoint of a daemon whose coordinator is missing: `503` with
//! the reason, the link gauge at 0, and the HTTP edge cases (unknown path, wrong method,
//! garbage, a client that never finishes its request).

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{Read, Write};
use std::time::Duration;

use gateway::config::Config;
use gateway::daemon::Daemon;
use gateway::metrics::http::get;
use gateway::metrics::Metrics;

fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_while_a_coordinator_is_offline() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "gateway_id = \"gw-metrics\"\ndata_dir = \"{d}\"\n\
         [[coordinator]]\nport = \"{d}/no-such-port\"\nesi_id = \"10443720000000009\"\nmeter_number = \"M9\"\n\
         [ctl]\nsocket = \"{d}/ctl.sock\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
        d = dir.path().display()
    );
    let d = Daemon::start(Config::parse(&text).unwrap()).await.unwrap();
    let addr = d.metrics_addr().unwrap();
    let (status, body) =
        tokio::task::spawn_blocking(move || get(addr, "/health", Duration::from_secs(10)))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(status, 503, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((v["status"].as_str(), v["store"].as_str()), (Some("unhealthy"), Some("ok")));
    let reasons = v["reasons"].to_string();
    assert!(reasons.contains("10443720000000009") && reasons.contains("offline"), "{v}");

    let (status, body) =
        tokio::task::spawn_blocking(move || get(addr, "/metrics", Duration::from_secs(10)))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(status, 200);
    assert_eq!(Metrics::sample(&body, r#"han_esi_link_up{esi_id="10443720000000009"}"#), Some(0.0));
    assert_eq!(Metrics::sample(&body, r#"han_queue_depth{priority="low"}"#), Some(0.0));
    assert!(Metrics::sample(&body, r#"han_serial_errors{esi_id="10443720000000009"}"#).is_some());
    assert!(body.ends_with("# EOF\n"), "{body}");

    let r = tokio::task::spawn_blocking(move || {
        [
            raw(addr, b"GET /nope HTTP/1.1\r\n\r\n"),
            raw(addr, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
            raw(addr, b"\x00\x01garbage\r\n\r\n"),
            raw(addr, &[b'A'; 9000]),
        ]
    })
    .await
    .unwrap();
    assert!(r[0].starts_with("HTTP/1.1 404"), "{}", r[0]);
    assert!(r[1].starts_with("HTTP/1.1 405"), "{}", r[1]);
    assert!(r[2].starts_with("HTTP/1.1 400"), "{}", r[2]);
    assert!(r[3].starts_with("HTTP/1.1 400"), "{}", r[3]);
    // A client that connects and says nothing does not hold anything up.
    let _idle = std::net::TcpStream::connect(addr).unwrap();
    let (status, _) =
        tokio::task::spawn_blocking(move || get(addr, "/health", Duration::from_secs(10)))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(status, 503);
    d.shutdown().await;
}
