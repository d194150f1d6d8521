//! A minimal HTTP/1.1 responder for `GET /metrics` and `GET /health` on a local TCP port.
//!
//! Two fixed resources, answered and closed: a full HTTP stack (hyper) would add a dependency
//! tree for nothing a scraper or a load balancer's health check needs. Requests are read up to
//! [`MAX_REQUEST_BYTES`] within [`READ_TIMEOUT`]; anything else gets `400`, `404` or `405`.
//!
//! `/health` answers `200` with a JSON body when the store answers a read and every coordinator
//! link is online, `503` with the reasons otherwise:
//!
//! ```json
//! {"status": "ok", "store": "ok",
//!  "coordinators": [{"esi_id": "10443720000000000", "link": "online", "since": "…"}],
//!  "reasons": []}
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::Metrics;
use crate::coordinator::{HealthMap, LinkStatus};
use crate::ops::time::format_rfc3339;
use crate::store::Store;

/// Longest request head read.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// How long a client may take to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the store may take to answer the health check's read.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the endpoint reads.
#[derive(Debug, Clone)]
pub struct Probe {
    pub metrics: Arc<Metrics>,
    pub health: HealthMap,
    pub store: Arc<Store>,
}

impl Probe {
    /// Deliveries `queued` and `sent` in the store, if it answers in time.
    async fn open_counts(&self) -> Result<(u64, u64), String> {
        let store = self.store.clone();
        let read = tokio::task::spawn_blocking(move || store.open_counts());
        match tokio::time::timeout(STORE_TIMEOUT, read).await {
            Ok(Ok(Ok(c))) => Ok(c),
            Ok(Ok(Err(e))) => Err(format!("store read failed: {e}")),
            Ok(Err(_)) => Err("store read panicked".into()),
            Err(_) => Err(format!("store did not answer within {}s", STORE_TIMEOUT.as_secs())),
        }
    }

    /// The `/metrics` body.
    pub async fn metrics_text(&self) -> String {
        let open = self.open_counts().await.ok();
        self.metrics.render(&self.health, open)
    }

    /// The `/health` body and whether everything is fine.
    pub async fn health_json(&self) -> (bool, Value) {
        let mut reasons = Vec::new();
        let store = match self.open_counts().await {
            Ok(_) => "ok".to_owned(),
            Err(e) => {
                reasons.push(e.clone());
                e
            }
        };
        let mut coordinators = Vec::new();
        for h in self.health.all() {
            if h.link != LinkStatus::Online {
                let why = h.last_error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
                reasons.push(format!(
                    "ESI {} coordinator link is {}{why}",
                    h.esi_id.0,
                    h.link.as_str()
                ));
            }
            coordinators.push(json!({
                "esi_id": h.esi_id.0,
                "link": h.link.as_str(),
                "since": format_rfc3339(h.since),
                "last_error": h.last_error,
                "serial_errors": h.serial_errors,
            }));
        }
        let ok = reasons.is_empty();
        let status = if ok { "ok" } else { "unhealthy" };
        (
            ok,
            json!({"status": status, "store": store, "coordinators": coordinators, "reasons": reasons}),
        )
    }
}

/// Binds the listener (so that a port in use is an error at start, naming the key).
pub async fn bind(listen: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(listen).await.map_err(|e| {
        format!("metrics: cannot listen on {listen} ({e}); set [metrics] listen to a free port")
    })
}

/// Serves until shutdown.
pub async fn serve(listener: TcpListener, probe: Probe, mut shutdown: watch::Receiver<bool>) {
    if let Ok(a) = listener.local_addr() {
        info!(addr = %a, "metrics and health endpoint listening");
    }
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    let p = probe.clone();
                    tokio::spawn(async move {
                        if let Err(e) = answer(stream, &p).await {
                            debug!(%peer, error = %e, "metrics connection");
                        }
                    });
                }
                Err(e) => {
                    warn!(error = %e, "metrics accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            r = shutdown.changed() => if r.is_err() || *shutdown.borrow() { break },
        }
    }
}

/// The request line of a head, if the head is complete.
fn request_line(head: &[u8]) -> Option<&str> {
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = head.get(..end)?;
    let line_end = head.windows(2).position(|w| w == b"\r\n").unwrap_or(head.len());
    std::str::from_utf8(head.get(..line_end)?).ok()
}

async fn answer(mut stream: TcpStream, probe: &Probe) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let line = loop {
        let n = match tokio::time::timeout(READ_TIMEOUT, stream.read(&mut chunk)).await {
            Ok(r) => r?,
            Err(_) => return respond(&mut stream, 408, "text/plain", "request timeout\n").await,
        };
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if let Some(l) = request_line(&buf) {
            break l.to_owned();
        }
        if buf.len() > MAX_REQUEST_BYTES {
            return respond(&mut stream, 400, "text/plain", "request too large\n").await;
        }
    };
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return respond(&mut stream, 400, "text/plain", "bad request\n").await;
    }
    if method != "GET" && method != "HEAD" {
        return respond(&mut stream, 405, "text/plain", "only GET\n").await;
    }
    let (status, ctype, body) = match path {
        "/metrics" => (
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            probe.metrics_text().await,
        ),
        "/health" | "/healthz" => {
            let (ok, v) = probe.health_json().await;
            let text = serde_json::to_string_pretty(&v).unwrap_or_default() + "\n";
            (if ok { 200 } else { 503 }, "application/json", text)
        }
        "/" => (200, "text/plain", "han-gateway: /metrics, /health\n".to_owned()),
        _ => (404, "text/plain", "not found: try /metrics or /health\n".to_owned()),
    };
    let body = if method == "HEAD" { String::new() } else { body };
    respond(&mut stream, status, ctype, &body).await
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    ctype: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// A blocking `GET` of a path on `addr` (tests, the demo): (status, body). Every step has a
/// timeout.
pub fn get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<(u16, String), String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("cannot send to {addr}: {e}"))?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| format!("cannot read from {addr}: {e}"))?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP head in the answer")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status code in the answer")?;
    Ok((status, body.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::request_line;

    #[test]
    fn request_lines() {
        assert_eq!(
            request_line(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Some("GET /metrics HTTP/1.1")
        );
        assert_eq!(request_line(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"), None);
        assert_eq!(request_line(b"\r\n\r\n"), Some(""));
        assert_eq!(request_line(b"\xff\xfe\r\n\r\n"), None);
    }
}
