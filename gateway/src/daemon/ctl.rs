//! The local control socket used by `gateway ctl` (field teams on the gateway host).
//!
//! A Unix stream socket speaking JSON lines: one request object per line,
//! `{"id": …, "action": "device/provision", "params": {…}, "transaction": "…"}`, answered by one
//! line `{"id": …, "status": "ok", "data": …}` or `{"id": …, "status": "error", "error":
//! {"code", "message"}}` (the response shape of design.md §7). Action names are the MQTT ones.
//! `events/subscribe` answers `ok` and then streams one line per upstream event until the client
//! hangs up. Requests run as the configured ctl party and role. The socket file is created
//! with mode 0660: who can reach it is decided by the file system.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::DaemonError;
use crate::audit::{AuditEntry, AuditLog};
use crate::error::ApiError;
use crate::ops::{Caller, Gateway};

/// The audit log the ctl socket appends to (one record per request, design.md §8).
pub type Audit = std::sync::Arc<std::sync::Mutex<AuditLog>>;

/// Longest request line (a bulk CSV travels in one line).
const MAX_LINE: usize = 4 << 20;

/// One request line. No `Debug`: `params` may hold an install code.
#[derive(Deserialize)]
struct CtlRequest {
    #[serde(default)]
    id: Value,
    action: String,
    #[serde(default)]
    params: Value,
    #[serde(default)]
    transaction: Option<String>,
}

/// Binds the socket, replacing a stale file (refusing if a daemon answers on it).
pub fn bind(path: &Path) -> Result<UnixListener, DaemonError> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(DaemonError::Io(format!(
                "{} is in use: is another gateway daemon running?",
                path.display()
            )));
        }
        let _ = std::fs::remove_file(path);
    }
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let l = UnixListener::bind(path)
        .map_err(|e| DaemonError::Io(format!("cannot listen on {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660));
    }
    info!(socket = %path.display(), "ctl socket listening");
    Ok(l)
}

/// Accepts connections until shutdown.
pub async fn serve(
    listener: UnixListener,
    gw: Gateway,
    audit: Audit,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    let (gw, sd, audit) = (gw.clone(), shutdown.clone(), audit.clone());
                    tokio::spawn(async move { connection(stream, gw, audit, sd).await });
                }
                Err(e) => warn!(error = %e, "ctl accept failed"),
            },
            r = shutdown.changed() => if r.is_err() || *shutdown.borrow() { break },
        }
    }
}

async fn connection(
    stream: UnixStream,
    gw: Gateway,
    audit: Audit,
    mut shutdown: watch::Receiver<bool>,
) {
    let (rd, mut wr) = stream.into_split();
    let mut lines = BufReader::new(rd);
    let mut line = String::new();
    loop {
        line.clear();
        let n = tokio::select! {
            r = lines.read_line(&mut line) => match r { Ok(n) => n, Err(_) => return },
            _ = shutdown.changed() => return,
        };
        if n == 0 {
            return;
        }
        if line.len() > MAX_LINE {
            let _ = write(
                &mut wr,
                &error_line(&Value::Null, &ApiError::bad_request("request line too long")),
            )
            .await;
            return;
        }
        if line.trim().is_empty() {
            continue;
        }
        let req: CtlRequest = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                let err = ApiError::bad_request(format!("not a request object: {e}"));
                if write(&mut wr, &error_line(&Value::Null, &err)).await.is_err() {
                    return;
                }
                continue;
            }
        };
        debug!(action = %req.action, "ctl request");
        if req.action == "events/subscribe" {
            stream_events(&mut wr, &gw, req.id, shutdown).await;
            return;
        }
        let cfg = &gw.config().ctl;
        let mut caller = Caller::new(cfg.party.clone(), cfg.role);
        caller.transaction = req.transaction.clone().or_else(|| match &req.id {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            v => Some(v.to_string()),
        });
        let entry = audit_entry(&caller, &req.action, &req.params);
        let result = handle(&gw, &caller, &req.action, req.params).await;
        record(&audit, entry, result.as_ref().err()).await;
        let out = match result {
            Ok(data) => json!({"id": req.id, "status": "ok", "data": data}),
            Err(e) => error_line(&req.id, &e),
        };
        if write(&mut wr, &out).await.is_err() {
            return;
        }
    }
}

/// The audit record of a request (params are redacted on append).
fn audit_entry(caller: &Caller, action: &str, params: &Value) -> AuditEntry {
    let now = crate::model::Timestamp::now().as_millis() / 1000;
    let party = crate::grants::PartyId::new(caller.party.0.clone());
    // A bulk file holds install codes in a column the redactor cannot see: keep only its size.
    let detail = match params.get("csv").and_then(Value::as_str) {
        Some(csv) => json!({"csv_lines": csv.lines().count()}),
        None => params.clone(),
    };
    let mut e = AuditEntry::new(now, Some(party), action).detail(detail);
    if let Some(esi) = params.get("esi_id").and_then(Value::as_str) {
        let eui = params
            .get("eui64")
            .and_then(Value::as_str)
            .and_then(|t| crate::ops::util::parse_eui64(t, "eui64").ok());
        e = e.target(esi, eui);
    }
    if let Some(r) = params.get("reason").and_then(Value::as_str) {
        e = e.reason(r);
    }
    if let Some(t) = &caller.transaction {
        e = e.transaction(t.clone());
    }
    e
}

/// Appends the record with the request's outcome (a failure to write is logged: the request
/// itself already happened).
async fn record(audit: &Audit, entry: AuditEntry, error: Option<&ApiError>) {
    let entry = match error {
        None => entry.allowed().outcome("ok"),
        Some(e) if e.code == crate::error::ErrorCode::NotAuthorized => entry.denied(e.code),
        Some(e) => {
            let mut x = entry.allowed().outcome("error");
            x.code = Some(e.code);
            x
        }
    };
    let audit = audit.clone();
    let r = tokio::task::spawn_blocking(move || match audit.lock() {
        Ok(mut log) => log.append(entry).map(|_| ()).map_err(|e| e.to_string()),
        Err(_) => Err("audit log lock poisoned".into()),
    })
    .await;
    if let Ok(Err(e)) | Err(e) = r.map_err(|e| e.to_string()) {
        warn!(error = %e, "cannot append to the audit log");
    }
}

fn error_line(id: &Value, e: &ApiError) -> Value {
    json!({"id": id, "status": "error", "error": e})
}

async fn write(wr: &mut tokio::net::unix::OwnedWriteHalf, v: &Value) -> std::io::Result<()> {
    let mut s = v.to_string();
    s.push('\n');
    wr.write_all(s.as_bytes()).await
}

async fn stream_events(
    wr: &mut tokio::net::unix::OwnedWriteHalf,
    gw: &Gateway,
    id: Value,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut rx = gw.subscribe();
    if write(wr, &json!({"id": id, "status": "ok", "data": "subscribed"})).await.is_err() {
        return;
    }
    loop {
        let ev = tokio::select! {
            r = rx.recv() => r,
            _ = shutdown.changed() => return,
        };
        let line = match ev {
            Ok(e) => serde_json::to_value(&e).unwrap_or(Value::Null),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                json!({"event": "lagged", "missed": n})
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        if write(wr, &line).await.is_err() {
            return;
        }
    }
}

/// Decodes `params`. serde's message is passed on only when it cannot quote a value (a
/// mistyped install code must not come back in an error).
fn params<T: DeserializeOwned>(v: Value) -> Result<T, ApiError> {
    let v = if v.is_null() { json!({}) } else { v };
    serde_json::from_value(v).map_err(|e| {
        let m = e.to_string();
        if m.starts_with("missing field") || m.starts_with("unknown field") {
            ApiError::bad_request(format!("params: {m}"))
        } else {
            ApiError::bad_request("params: a field has the wrong type or value")
        }
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value, ApiError> {
    serde_json::to_value(v).map_err(|_| ApiError::internal())
}

#[derive(Deserialize)]
struct EsiParam {
    esi_id: String,
    #[serde(default)]
    refresh: bool,
}

#[derive(Deserialize)]
struct MessageParam {
    message_id: u64,
}

#[derive(Deserialize)]
struct CsvParam {
    csv: String,
}

#[derive(Deserialize)]
struct GroupParam {
    name: String,
    #[serde(default)]
    esi_ids: Vec<String>,
}

/// Runs one action.
pub async fn handle(
    gw: &Gateway,
    caller: &Caller,
    action: &str,
    p: Value,
) -> Result<Value, ApiError> {
    match action {
        "device/provision" => to_json(&gw.provision(caller, params(p)?).await?),
        "device/provision_bulk" => {
            to_json(&gw.bulk_provision(caller, &params::<CsvParam>(p)?.csv).await?)
        }
        "device/deprovision" => to_json(&gw.deprovision(caller, params(p)?).await?),
        "device/deprovision_bulk" => {
            to_json(&gw.bulk_deprovision(caller, &params::<CsvParam>(p)?.csv).await?)
        }
        "device/list" => to_json(&gw.devices(&params::<EsiParam>(p)?.esi_id).await?),
        "meter/read" => to_json(&gw.meter_read(&params::<EsiParam>(p)?.esi_id).await?),
        "meter/status" => {
            let e: EsiParam = params(p)?;
            to_json(&gw.meter_status(&e.esi_id, e.refresh).await?)
        }
        "message/send" => to_json(&gw.send_message(caller, params(p)?).await?),
        "message/cancel" => {
            to_json(&gw.cancel_message(caller, params::<MessageParam>(p)?.message_id).await?)
        }
        "message/status" => {
            to_json(&gw.message_status(params::<MessageParam>(p)?.message_id).await?)
        }
        "price/publish" => to_json(&gw.publish_price(caller, params(p)?).await?),
        "drlc/event" => to_json(&gw.drlc_event(caller, params(p)?).await?),
        "drlc/cancel" => to_json(&gw.drlc_cancel(caller, params(p)?).await?),
        "group/create" => {
            let g: GroupParam = params(p)?;
            to_json(&gw.group_create(caller, &g.name, &g.esi_ids).await?)
        }
        "group/delete" => {
            to_json(&json!({"deleted": gw.group_delete(&params::<GroupParam>(p)?.name).await?}))
        }
        "group/list" => to_json(&gw.group_list().await?),
        "gateway/health" => Ok(Value::Array(
            gw.health().all().iter().map(crate::coordinator::EsiHealth::view).collect(),
        )),
        other => Err(ApiError::new(
            crate::error::ErrorCode::UnknownAction,
            format!("unknown action {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::types::Provision;

    #[test]
    fn params_errors_never_quote_values() {
        let e = params::<Provision>(json!({"esi_id": "1", "meter_number": "M", "eui64": "x",
                                           "install_code": 83_123_456_789_u64}))
        .unwrap_err();
        assert!(!e.message.contains("83123456789"), "{e}");
        let e = params::<Provision>(json!({"esi_id": "1"})).unwrap_err();
        assert!(e.message.contains("missing field"), "{e}");
    }

    #[test]
    fn audit_entries_keep_bulk_files_out() {
        let caller = Caller::new("field", crate::grants::Role::Tdsp);
        let e = audit_entry(&caller, "device/provision_bulk", &json!({"csv": "a,b\n1,2\n"}));
        assert_eq!(e.detail, Some(json!({"csv_lines": 2})));
        let e = audit_entry(
            &caller,
            "device/deprovision",
            &json!({"esi_id": "E", "eui64": "000d6f0000000001", "reason": "move_out"}),
        );
        assert_eq!(
            (e.esi_id.as_deref(), e.eui64.map(|x| x.0), e.reason.as_deref()),
            (Some("E"), Some(0x000d_6f00_0000_0001), Some("move_out"))
        );
    }
}
