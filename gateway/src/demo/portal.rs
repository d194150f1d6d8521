//! The demo's portal client: an MQTT 5 client (rumqttc) that signs requests as a party would
//! (JWS ES256, `jws` mode), waits for the answers on `response/<action>`, and narrates every
//! request, response and event under the gateway's topics — with secrets (install codes, keys)
//! redacted from what it prints.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use p256::ecdsa::SigningKey;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::Value;
use tokio::sync::Notify;

use super::DemoError;
use crate::auth::jws::sign_request;

/// Lines of the narration: printed to stdout (unless quiet) and kept as a transcript.
#[derive(Debug, Clone)]
pub struct Narrator {
    echo: bool,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Narrator {
    /// Prints to stdout as it goes.
    pub fn stdout() -> Self {
        Self { echo: true, lines: Arc::default() }
    }

    /// Only keeps the transcript (tests).
    pub fn quiet() -> Self {
        Self { echo: false, lines: Arc::default() }
    }

    /// Says one or more lines.
    pub fn say(&self, text: &str) {
        if self.echo {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
        if let Ok(mut l) = self.lines.lock() {
            l.extend(text.lines().map(str::to_owned));
        }
    }

    /// Everything said so far.
    pub fn transcript(&self) -> String {
        self.lines.lock().map(|l| l.join("\n")).unwrap_or_default()
    }
}

/// Member names whose values are secrets: never shown.
const SECRET_KEYS: &[&str] = &["install_code", "link_key", "network_key", "key", "password"];

/// `v` with every secret member replaced by a placeholder.
pub fn redact(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    let shown = if SECRET_KEYS.contains(&k.as_str()) {
                        Value::String("«redacted»".into())
                    } else {
                        redact(x)
                    };
                    (k.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// Widest line [`pretty`] keeps on one line.
const WIDTH: usize = 100;

/// JSON laid out for a person: a value that fits on the line stays on one line, larger objects
/// and arrays get one member per line. `indent` is the column of the value's first line.
pub fn pretty(v: &Value, indent: usize) -> String {
    pretty_at(v, indent, indent)
}

/// `v` printed at column `col`, its members indented from `indent`.
fn pretty_at(v: &Value, indent: usize, col: usize) -> String {
    let flat = serde_json::to_string(v).unwrap_or_default();
    if col + flat.len() <= WIDTH {
        return flat;
    }
    let pad = " ".repeat(indent + 2);
    let items: Vec<String> = match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| {
                let key = serde_json::to_string(k).unwrap_or_default();
                let col = indent + 2 + key.len() + 2;
                format!("{pad}{key}: {}", pretty_at(x, indent + 2, col))
            })
            .collect(),
        Value::Array(a) => {
            a.iter().map(|x| format!("{pad}{}", pretty_at(x, indent + 2, indent + 2))).collect()
        }
        _ => return flat,
    };
    let (open, close) = if v.is_object() { ('{', '}') } else { ('[', ']') };
    format!("{open}\n{}\n{}{close}", items.join(",\n"), " ".repeat(indent))
}

/// Pretty JSON, indented under a topic line.
fn indented(v: &Value) -> String {
    format!("      {}", pretty(v, 6))
}

/// A retained state payload in one line: device lists shown as their length, times left out.
fn summary(v: &Value) -> String {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        if let Some(n) = m.get("devices").and_then(Value::as_array).map(Vec::len) {
            m.insert("devices".into(), n.into());
        }
        if let Some(n) = m.get("actions").and_then(Value::as_array).map(Vec::len) {
            m.insert("actions".into(), format!("{n} actions").into());
        }
        for k in ["updated_at", "read_at"] {
            m.remove(k);
        }
    }
    serde_json::to_string(&redact(&v)).unwrap_or_default()
}

/// A party of the demo with its signing key (created for the run; the gateway knows only the
/// public half).
#[derive(Debug)]
pub struct Party {
    pub id: &'static str,
    pub role: &'static str,
    pub kid: String,
    pub key: SigningKey,
}

impl Party {
    pub fn new(id: &'static str, role: &'static str) -> Self {
        Self { id, role, kid: format!("{id}-demo"), key: crate::auth::generate_signing_key() }
    }
}

/// One message seen under the gateway's topics.
#[derive(Debug, Clone)]
pub struct Seen {
    pub topic: String,
    pub payload: Bytes,
    pub retain: bool,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap_or(Value::Null)
    }

    /// The topic below the gateway's root (`event/device`, `response/meter/read`, …).
    pub fn rel<'a>(&'a self, root: &str) -> &'a str {
        self.topic.strip_prefix(root).and_then(|t| t.strip_prefix('/')).unwrap_or(&self.topic)
    }
}

/// The portal client.
#[derive(Debug)]
pub struct Portal {
    client: AsyncClient,
    root: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    notify: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
    narrator: Narrator,
    next: AtomicU64,
    timeout: Duration,
}

impl Drop for Portal {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn narrate_incoming(n: &Narrator, root: &str, s: &Seen) {
    let rel = s.rel(root);
    if rel.starts_with("request/") || rel.contains("/request/") {
        // Our own requests, echoed by the broker: already narrated when sent.
        return;
    }
    let v = s.json();
    if v.is_null() {
        let text: String = String::from_utf8_lossy(&s.payload).chars().take(200).collect();
        n.say(&format!("  ← {} {text}", s.topic));
    } else if s.retain || rel.starts_with("bridge/") || rel.starts_with("esi/") {
        // Retained state: one line (it is republished on every change).
        n.say(&format!("  ← {} (retained) {}", s.topic, summary(&v)));
    } else {
        n.say(&format!("  ← {}\n{}", s.topic, indented(&redact(&v))));
    }
}

impl Portal {
    /// Connects to `host:port`, subscribes to `<root>/#` and narrates what arrives.
    pub async fn connect(
        host: &str,
        port: u16,
        root: &str,
        narrator: Narrator,
        timeout: Duration,
    ) -> Result<Self, DemoError> {
        let mut o = MqttOptions::new(format!("demo-portal-{}", std::process::id()), host, port);
        o.set_keep_alive(Duration::from_secs(30));
        o.set_max_packet_size(Some(4 << 20));
        let (client, mut el) = AsyncClient::new(o, 100);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let notify = Arc::new(Notify::new());
        let (s2, n2, narr2, root2) =
            (seen.clone(), notify.clone(), narrator.clone(), root.to_owned());
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let mut ready = Some(ready_tx);
        let task = tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        if let Some(r) = ready.take() {
                            let _ = r.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let s = Seen {
                            topic: String::from_utf8_lossy(&p.topic).into_owned(),
                            payload: p.payload.clone(),
                            retain: p.retain,
                        };
                        narrate_incoming(&narr2, &root2, &s);
                        if let Ok(mut v) = s2.lock() {
                            v.push(s);
                        }
                        n2.notify_waiters();
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "demo portal connection");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        });
        let me = Self {
            client,
            root: root.to_owned(),
            seen,
            notify,
            task,
            narrator,
            next: AtomicU64::new(1),
            timeout,
        };
        me.client
            .subscribe_many([Filter::new(format!("{root}/#"), QoS::AtLeastOnce)])
            .await
            .map_err(|e| DemoError::new("connect to the broker", e.to_string()))?;
        match tokio::time::timeout(Duration::from_secs(10), ready_rx).await {
            Ok(Ok(())) => Ok(me),
            _ => Err(DemoError::new(
                "connect to the broker",
                format!("no subscription acknowledgement from {host}:{port} within 10s"),
            )),
        }
    }

    /// Messages seen so far (an index for [`Portal::wait_from`]).
    pub fn mark(&self) -> usize {
        self.seen.lock().map_or(0, |s| s.len())
    }

    /// Waits (at most the step timeout) for a message from index `from` on that matches.
    pub async fn wait_from(
        &self,
        from: usize,
        step: &str,
        what: &str,
        pred: impl Fn(&str, &Value) -> bool,
    ) -> Result<Value, DemoError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let n = self.notify.notified();
            let found = self.seen.lock().ok().and_then(|s| {
                s.iter().skip(from).find(|m| pred(m.rel(&self.root), &m.json())).map(Seen::json)
            });
            if let Some(v) = found {
                return Ok(v);
            }
            if tokio::time::timeout_at(deadline, n).await.is_err() {
                return Err(DemoError::new(
                    step,
                    format!("timed out after {}s waiting for {what}", self.timeout.as_secs()),
                ));
            }
        }
    }

    /// Signs `body` as `p`, publishes it on `request/<action>`, and waits for the answer. An
    /// error answer is a failed step.
    pub async fn call(
        &self,
        step: &str,
        p: &Party,
        action: &str,
        mut body: Value,
    ) -> Result<Value, DemoError> {
        let t = format!("demo-{}", self.next.fetch_add(1, Ordering::Relaxed));
        if let Some(o) = body.as_object_mut() {
            o.insert("transaction".into(), Value::String(t.clone()));
        }
        let topic = format!("{}/request/{action}", self.root);
        self.narrator.say(&format!(
            "  → {topic}   (signed by {} with key {}: JWS ES256)\n{}",
            p.id,
            p.kid,
            indented(&redact(&body))
        ));
        let token = sign_request(&p.key, &p.kid, &body);
        let from = self.mark();
        self.client
            .publish(topic, QoS::AtLeastOnce, false, token.into_bytes())
            .await
            .map_err(|e| DemoError::new(step, format!("cannot publish the request: {e}")))?;
        let want = format!("response/{action}");
        let r = self
            .wait_from(from, step, &format!("the answer to {action} ({t})"), |rel, v| {
                rel == want && v.get("transaction").and_then(Value::as_str) == Some(t.as_str())
            })
            .await?;
        if r.get("status").and_then(Value::as_str) == Some("ok") {
            Ok(r.get("data").cloned().unwrap_or(Value::Null))
        } else {
            let code = r.pointer("/error/code").and_then(Value::as_str).unwrap_or("ERROR");
            let msg = r.pointer("/error/message").and_then(Value::as_str).unwrap_or("");
            Err(DemoError::new(step, format!("{action} was answered {code}: {msg}")))
        }
    }

    /// Disconnects (best effort).
    pub async fn disconnect(&self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.client.disconnect()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let v = json!({"eui64": "000d6f0000000001", "install_code": "83FED3407A939723A5C639B26916D505C3B5",
                       "nested": [{"link_key": "00112233"}]});
        let r = redact(&v);
        let text = r.to_string();
        assert!(!text.contains("83FED340") && !text.contains("00112233"), "{text}");
        assert_eq!(r["eui64"], "000d6f0000000001");
    }

    #[test]
    fn pretty_keeps_short_values_on_one_line() {
        let v = json!({"a": [1, 2], "b": {"c": "x".repeat(120)}});
        let p = pretty(&v, 0);
        assert_eq!(p.lines().next(), Some("{"));
        assert!(p.contains("  \"a\": [1,2],"), "{p}");
        assert_eq!(serde_json::from_str::<Value>(&p).unwrap(), v);
        assert_eq!(pretty(&json!({"k": 1}), 0), "{\"k\":1}");
    }
}
