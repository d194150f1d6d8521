//! The portal side: an MQTT 5 client subscribed to the gateway's whole tree that signs requests
//! as a party (JWS ES256 with `iat` and a fresh nonce), publishes them at QoS 1, and records
//! everything it sees. It keeps a persistent session and re-subscribes after every reconnect, so
//! it survives broker restarts and gateway crashes (with the embedded broker) alike.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use gateway::auth::jws::sign_request;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::Value;
use tokio::sync::Notify;

use crate::gw::Party;
use crate::{Context, Result};

/// One message the portal saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub topic: String,
    pub payload: Bytes,
    pub retain: bool,
    /// Monotonic time it arrived.
    pub at: std::time::Instant,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap_or(Value::Null)
    }
}

#[derive(Debug, Default)]
struct State {
    seen: Vec<Seen>,
    /// transaction → responses (index into `seen`).
    responses: HashMap<String, Vec<usize>>,
    connects: u32,
}

/// The portal client.
#[derive(Debug)]
pub struct Portal {
    pub client: AsyncClient,
    pub root: String,
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Portal {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Portal {
    /// Connects to 127.0.0.1:`port` and subscribes to `root/#`; waits up to 20 s for the
    /// subscription (the broker may still be starting).
    pub async fn connect(port: u16, root: &str, id: &str) -> Result<Self> {
        let mut o = MqttOptions::new(format!("{id}-{}", std::process::id()), "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(5));
        o.set_clean_start(false);
        o.set_connect_properties(rumqttc::v5::mqttbytes::v5::ConnectProperties {
            session_expiry_interval: Some(600),
            max_packet_size: Some(16 << 20),
            ..Default::default()
        });
        let (client, mut el) = AsyncClient::new(o, 10_000);
        let state = Arc::new(Mutex::new(State::default()));
        let notify = Arc::new(Notify::new());
        let (s2, n2, c2) = (state.clone(), notify.clone(), client.clone());
        let filter = format!("{root}/#");
        let task = tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let c = c2.clone();
                        let f = filter.clone();
                        tokio::spawn(async move {
                            let _ = c.subscribe_many([Filter::new(f, QoS::AtLeastOnce)]).await;
                        });
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        if let Ok(mut s) = s2.lock() {
                            s.connects += 1;
                        }
                        n2.notify_waiters();
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let seen = Seen {
                            topic: String::from_utf8_lossy(&p.topic).into_owned(),
                            payload: p.payload.clone(),
                            retain: p.retain,
                            at: std::time::Instant::now(),
                        };
                        if let Ok(mut s) = s2.lock() {
                            let i = s.seen.len();
                            if seen.topic.contains("/response/") {
                                if let Some(t) = seen.json()["transaction"].as_str() {
                                    s.responses.entry(t.to_owned()).or_default().push(i);
                                }
                            }
                            s.seen.push(seen);
                        }
                        n2.notify_waiters();
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        let p = Self { client, root: root.to_owned(), state, notify, task };
        crate::wait_until(Duration::from_secs(20), "portal subscription", || async {
            (p.connects() > 0).then_some(())
        })
        .await?;
        Ok(p)
    }

    /// How many times the portal (re)subscribed.
    pub fn connects(&self) -> u32 {
        self.state.lock().map_or(0, |s| s.connects)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().map(|s| s.seen.clone()).unwrap_or_default()
    }

    /// Messages seen so far (an index for [`Portal::wait_from`]).
    pub fn mark(&self) -> usize {
        self.state.lock().map_or(0, |s| s.seen.len())
    }

    /// Waits until a message matching `pred` is seen from index `from` on.
    pub async fn wait_from(
        &self,
        from: usize,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&Seen) -> bool,
    ) -> Result<Seen> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let n = self.notify.notified();
            if let Ok(s) = self.state.lock() {
                if let Some(x) = s.seen.iter().skip(from).find(|x| pred(x)) {
                    return Ok(x.clone());
                }
            }
            if tokio::time::timeout_at(deadline, n).await.is_err() {
                return Err(format!("timed out after {timeout:?} waiting for {what}"));
            }
        }
    }

    /// Waits for `bridge/state` = `online` from index `from` on.
    pub async fn wait_online(&self, from: usize, timeout: Duration) -> Result<()> {
        let topic = format!("{}/bridge/state", self.root);
        self.wait_from(from, timeout, "bridge/state online", |s| {
            s.topic == topic && &s.payload[..] == b"online"
        })
        .await
        .map(|_| ())
    }

    /// The responses seen for `transaction`.
    pub fn responses(&self, transaction: &str) -> Vec<Value> {
        self.state
            .lock()
            .map(|s| {
                s.responses
                    .get(transaction)
                    .map(|v| v.iter().filter_map(|i| s.seen.get(*i)).map(Seen::json).collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    /// Publishes raw bytes on `request/<action>` (QoS 1).
    pub async fn publish_raw(&self, action: &str, payload: Vec<u8>) -> Result<()> {
        self.client
            .publish(format!("{}/request/{action}", self.root), QoS::AtLeastOnce, false, payload)
            .await
            .ctx("publish")
    }

    /// Signs `body` + `transaction` as `p` (fresh `iat` and nonce) and publishes it.
    pub async fn send(
        &self,
        p: &Party,
        action: &str,
        body: &Value,
        transaction: &str,
    ) -> Result<()> {
        let mut body = body.clone();
        body["transaction"] = Value::String(transaction.into());
        let token = sign_request(&p.key, &p.kid, &body);
        self.publish_raw(action, token.into_bytes()).await
    }

    /// [`Portal::send`] and wait for the response.
    pub async fn call(
        &self,
        p: &Party,
        action: &str,
        body: &Value,
        transaction: &str,
        timeout: Duration,
    ) -> Result<Value> {
        self.send(p, action, body, transaction).await?;
        self.response(transaction, timeout).await
    }

    /// The first response to `transaction` (also one seen earlier).
    pub async fn response(&self, transaction: &str, timeout: Duration) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let n = self.notify.notified();
            if let Some(v) = self.responses(transaction).into_iter().next() {
                return Ok(v);
            }
            if tokio::time::timeout_at(deadline, n).await.is_err() {
                return Err(format!("no response to {transaction} within {timeout:?}"));
            }
        }
    }

    /// Writes every payload the gateway side published (topic, payload; not the portal's own
    /// requests, which carry install codes by design) to `path`, one per line, for the scan.
    pub fn dump(&self, path: &std::path::Path) -> Result<()> {
        let mut text = String::new();
        for s in self.seen().into_iter().filter(|s| !s.topic.contains("/request/")) {
            text.push_str(&s.topic);
            text.push(' ');
            text.push_str(&String::from_utf8_lossy(&s.payload));
            text.push('\n');
        }
        std::fs::write(path, text).ctx("write MQTT capture")
    }
}

/// `data` of an `ok` response, or the error as a string.
pub fn ok(v: &Value) -> Result<&Value> {
    if v["status"] == "ok" {
        Ok(&v["data"])
    } else {
        Err(format!("request failed: {v}"))
    }
}

/// The error code of a response (`None` if it succeeded).
pub fn code(v: &Value) -> Option<&str> {
    v["error"]["code"].as_str()
}
