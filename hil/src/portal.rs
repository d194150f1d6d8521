//! A portal-side MQTT 5 client: signs requests (JWS ES256) as one of the configured parties,
//! waits for the answers, and records every message it sees under its filters with the instant
//! it arrived (the latency figures come from these instants).
//!
//! Every wait has a deadline and ends in `Err(reason)`, never a hang. The client resubscribes
//! after every (re)connection, so it keeps working across a restart of a gateway that hosts
//! the broker; messages published while it was away are gone (scenarios then ask for the
//! state with a request instead of waiting for an event).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gateway::auth::jws::sign_request;
use gateway::auth::keys::{generate_signing_key, public_key_pem};
use p256::ecdsa::SigningKey;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::Value;
use tokio::sync::Notify;

/// A party of the portal with its signing key.
#[derive(Debug, Clone)]
pub struct Party {
    pub id: String,
    pub role: String,
    pub kid: String,
    pub key: SigningKey,
}

impl Party {
    /// A party with a fresh key pair.
    pub fn new(id: &str, role: &str) -> Self {
        Self {
            id: id.to_owned(),
            role: role.to_owned(),
            kid: format!("{id}-k1"),
            key: generate_signing_key(),
        }
    }

    /// The `[[mqtt.party]]` and `[[mqtt.key]]` entries of a gateway configuration.
    pub fn config_toml<'a>(parties: impl IntoIterator<Item = &'a Party> + Clone) -> String {
        use std::fmt::Write as _;
        let mut t = String::new();
        for p in parties.clone() {
            let _ = write!(t, "[[mqtt.party]]\nid = \"{}\"\nrole = \"{}\"\n", p.id, p.role);
        }
        for p in parties {
            let pem = public_key_pem(p.key.verifying_key());
            let _ = write!(
                t,
                "[[mqtt.key]]\nkid = \"{}\"\nparty = \"{}\"\npem = \"\"\"\n{}\"\"\"\n",
                p.kid, p.id, pem
            );
        }
        t
    }
}

/// One message seen by the portal.
#[derive(Debug, Clone)]
pub struct Seen {
    pub topic: String,
    pub payload: Bytes,
    pub retain: bool,
    pub at: Instant,
}

impl Seen {
    /// The payload as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap_or(Value::Null)
    }
}

/// The shared record of everything seen.
#[derive(Debug, Default)]
struct Log {
    seen: Vec<Seen>,
    connections: u32,
}

/// A portal client connected to one broker.
#[derive(Debug)]
pub struct Portal {
    client: AsyncClient,
    /// Topic prefix of requests and responses: `<base>/<gateway_id>`.
    pub root: String,
    log: Arc<Mutex<Log>>,
    notify: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Portal {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(log: &Mutex<Log>) -> MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Portal {
    /// Connects to `host:port` as `client_id`, subscribes to `filters` (QoS 1) after every
    /// connection, and waits up to `timeout` for the first subscription to be acknowledged.
    pub async fn connect(
        host: &str,
        port: u16,
        client_id: &str,
        root: &str,
        filters: &[String],
        timeout: Duration,
    ) -> Result<Self, String> {
        let mut o = MqttOptions::new(client_id, host, port);
        o.set_keep_alive(Duration::from_secs(30));
        o.set_max_packet_size(Some(4 << 20));
        let (client, mut el) = AsyncClient::new(o, 1000);
        let log = Arc::new(Mutex::new(Log::default()));
        let notify = Arc::new(Notify::new());
        let (log2, n2, c2) = (log.clone(), notify.clone(), client.clone());
        let subs: Vec<Filter> =
            filters.iter().map(|f| Filter::new(f.clone(), QoS::AtLeastOnce)).collect();
        let task = tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        // A clean start every time: (re)subscribe.
                        let _ = c2.subscribe_many(subs.clone()).await;
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        lock(&log2).connections += 1;
                        n2.notify_waiters();
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        lock(&log2).seen.push(Seen {
                            topic: String::from_utf8_lossy(&p.topic).into_owned(),
                            payload: p.payload.clone(),
                            retain: p.retain,
                            at: Instant::now(),
                        });
                        n2.notify_waiters();
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        let p = Self { client, root: root.to_owned(), log, notify, task };
        p.wait_subscribed(0, timeout)
            .await
            .map_err(|_| format!("no MQTT connection to {host}:{port} within {timeout:?}"))?;
        Ok(p)
    }

    /// How many times the subscription was acknowledged (one per connection).
    pub fn connections(&self) -> u32 {
        lock(&self.log).connections
    }

    /// Waits until the client has subscribed more than `after` times.
    pub async fn wait_subscribed(&self, after: u32, timeout: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let n = self.notify.notified();
            if self.connections() > after {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, n).await.is_err() {
                return Err(format!("not reconnected to the broker within {timeout:?}"));
            }
        }
    }

    /// Everything seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.log).seen.clone()
    }

    /// Messages seen so far (an index for [`Portal::wait_from`]).
    pub fn mark(&self) -> usize {
        lock(&self.log).seen.len()
    }

    /// Waits up to `timeout` for a message matching `pred` among those from index `from` on.
    pub async fn wait_from(
        &self,
        from: usize,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&Seen) -> bool,
    ) -> Result<Seen, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let n = self.notify.notified();
            if let Some(s) = lock(&self.log).seen.iter().skip(from).find(|s| pred(s)) {
                return Ok(s.clone());
            }
            if tokio::time::timeout_at(deadline, n).await.is_err() {
                return Err(format!("timed out after {}s waiting for {what}", timeout.as_secs()));
            }
        }
    }

    /// Publishes `payload` on `<root>/request/<action>` (QoS 1).
    pub async fn publish_request(&self, action: &str, payload: Vec<u8>) -> Result<(), String> {
        self.publish(&format!("{}/request/{action}", self.root), payload).await
    }

    /// Publishes on any topic (QoS 1, not retained).
    pub async fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<(), String> {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .map_err(|e| format!("publish on {topic}: {e}"))
    }

    /// Signs `body` (plus `transaction`) as `party`, publishes it and waits up to `timeout`
    /// for the response. Returns the response and the instant it arrived.
    pub async fn call(
        &self,
        party: &Party,
        action: &str,
        mut body: Value,
        transaction: &str,
        timeout: Duration,
    ) -> Result<(Value, Instant), String> {
        if let Some(o) = body.as_object_mut() {
            o.insert("transaction".into(), Value::String(transaction.into()));
        }
        let token = sign_request(&party.key, &party.kid, &body);
        let from = self.mark();
        self.publish_request(action, token.into_bytes()).await?;
        let topic = format!("{}/response/{action}", self.root);
        let t = Value::String(transaction.to_owned());
        let s = self
            .wait_from(from, timeout, &format!("the response to {action}"), |s| {
                s.topic == topic && s.json().get("transaction") == Some(&t)
            })
            .await?;
        Ok((s.json(), s.at))
    }
}

/// `data` of an `ok` response, or the error as a sentence.
pub fn ok(v: &Value) -> Result<&Value, String> {
    match (v.get("status").and_then(Value::as_str), v.get("data")) {
        (Some("ok"), Some(data)) => Ok(data),
        _ => Err(format!(
            "answered {}: {}",
            error_code(v).unwrap_or("?"),
            v.pointer("/error/message").and_then(Value::as_str).unwrap_or("")
        )),
    }
}

/// The error code of an error response (`None` if it succeeded).
pub fn error_code(v: &Value) -> Option<&str> {
    v.pointer("/error/code").and_then(Value::as_str)
}
