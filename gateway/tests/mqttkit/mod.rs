//! Test kit for the MQTT bridge: a portal-side MQTT 5 client that signs requests, waits for
//! responses and records everything it sees under the gateway's topics; broker choice (the
//! embedded rumqttd on free ports, or the Mosquitto on 127.0.0.1:1883); and schema checks of
//! every payload seen.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::format_push_string,
    clippy::missing_panics_doc
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use gateway::auth::jws::sign_request;
use gateway::auth::keys::{generate_signing_key, public_key_pem};
use gateway::mqtt::schema::{action_file, Schemas};
use p256::ecdsa::SigningKey;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet, PublishProperties};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::{json, Value};
use tokio::sync::Notify;

/// Which broker a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    Embedded,
    Mosquitto,
}

/// A unique gateway id for one test run (topics never collide between tests or runs).
pub fn unique_gw(name: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("t-{name}-{}-{nanos}", std::process::id())
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A party of the tests with its key.
pub struct Party {
    pub id: &'static str,
    pub role: &'static str,
    pub kid: String,
    pub key: SigningKey,
}

/// The parties every test configures: an admin, the TDSP, a REP, a third party, and one that
/// is registered with a key but never given grants.
pub fn parties() -> Vec<Party> {
    [("ops", "admin"), ("tdsp", "tdsp"), ("rep", "rep"), ("tp", "third_party"), ("nobody", "rep")]
        .into_iter()
        .map(|(id, role)| Party { id, role, kid: format!("{id}-k1"), key: generate_signing_key() })
        .collect()
}

/// The `[mqtt]` section for `broker`: host/port for the portal client and the TOML text.
pub fn mqtt_section(broker: BrokerKind, parties: &[Party], extra: &str) -> (String, u16, String) {
    let mut t = String::from("[mqtt]\n");
    let (host, port) = match broker {
        BrokerKind::Embedded => {
            let (p5, p4) = (free_port(), free_port());
            t.push_str(&format!(
                "broker = \"embedded\"\nlisten = \"127.0.0.1:{p5}\"\nlisten_v311 = \"127.0.0.1:{p4}\"\n"
            ));
            ("127.0.0.1".to_owned(), p5)
        }
        BrokerKind::Mosquitto => {
            t.push_str("broker = \"external\"\nhost = \"127.0.0.1\"\nport = 1883\n");
            ("127.0.0.1".to_owned(), 1883)
        }
    };
    t.push_str("session_expiry = \"10m\"\n");
    t.push_str(extra);
    for p in parties {
        t.push_str(&format!("[[mqtt.party]]\nid = \"{}\"\nrole = \"{}\"\n", p.id, p.role));
    }
    for p in parties {
        let pem = public_key_pem(p.key.verifying_key());
        t.push_str(&format!(
            "[[mqtt.key]]\nkid = \"{}\"\nparty = \"{}\"\npem = \"\"\"\n{}\"\"\"\n",
            p.kid, p.id, pem
        ));
    }
    (host, port, t)
}

/// One message seen by the portal.
#[derive(Debug, Clone)]
pub struct Seen {
    pub topic: String,
    pub payload: Bytes,
    pub retain: bool,
    pub correlation: Option<Bytes>,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap_or(Value::Null)
    }
}

/// A portal-side MQTT 5 client subscribed to `han/<gw>/#`.
pub struct Portal {
    pub client: AsyncClient,
    pub root: String,
    pub host: String,
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    notify: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Portal {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Portal {
    /// Connects and subscribes to the gateway's whole tree (and `extra` filters).
    pub async fn connect(host: &str, port: u16, root: &str, id: &str, extra: &[&str]) -> Self {
        let mut o = MqttOptions::new(format!("{id}-{}", std::process::id()), host, port);
        o.set_keep_alive(Duration::from_secs(30));
        o.set_max_packet_size(Some(4 << 20));
        let (client, mut el) = AsyncClient::new(o, 1000);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let notify = Arc::new(Notify::new());
        let (s2, n2) = (seen.clone(), notify.clone());
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
                        s2.lock().unwrap().push(Seen {
                            topic: String::from_utf8_lossy(&p.topic).into_owned(),
                            payload: p.payload.clone(),
                            retain: p.retain,
                            correlation: p.properties.and_then(|x| x.correlation_data),
                        });
                        n2.notify_waiters();
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        let mut filters = vec![Filter::new(format!("{root}/#"), QoS::AtLeastOnce)];
        filters.extend(extra.iter().map(|f| Filter::new(*f, QoS::AtLeastOnce)));
        client.subscribe_many(filters).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), ready_rx).await.unwrap().unwrap();
        Self { client, root: root.to_owned(), host: host.to_owned(), port, seen, notify, task }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until a message matching `pred` has been seen (also one seen before the call).
    pub async fn wait(&self, secs: u64, what: &str, pred: impl Fn(&Seen) -> bool) -> Seen {
        self.wait_from(0, secs, what, pred).await
    }

    /// Messages seen so far (an index for [`Portal::wait_from`]).
    pub fn mark(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// Like [`Portal::wait`], among the messages from index `from` on.
    pub async fn wait_from(
        &self,
        from: usize,
        secs: u64,
        what: &str,
        pred: impl Fn(&Seen) -> bool,
    ) -> Seen {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let n = self.notify.notified();
            if let Some(s) = self.seen.lock().unwrap().iter().skip(from).find(|s| pred(s)) {
                return s.clone();
            }
            if tokio::time::timeout_at(deadline, n).await.is_err() {
                let topics: Vec<String> =
                    self.seen().iter().rev().take(20).map(|s| s.topic.clone()).collect();
                panic!("timed out after {secs}s waiting for {what}; last topics: {topics:?}");
            }
        }
    }

    /// Publishes raw bytes on `request/<action>` (QoS 1).
    pub async fn publish_raw(&self, action: &str, payload: Vec<u8>) {
        self.client
            .publish(format!("{}/request/{action}", self.root), QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
    }

    /// Publishes with MQTT 5 response topic and correlation data.
    pub async fn publish_v5(
        &self,
        action: &str,
        payload: Vec<u8>,
        response_topic: &str,
        corr: &[u8],
    ) {
        let props = PublishProperties {
            response_topic: Some(response_topic.to_owned()),
            correlation_data: Some(Bytes::copy_from_slice(corr)),
            ..PublishProperties::default()
        };
        self.client
            .publish_with_properties(
                format!("{}/request/{action}", self.root),
                QoS::AtLeastOnce,
                false,
                payload,
                props,
            )
            .await
            .unwrap();
    }

    /// The response to `transaction` on `response/<action>`.
    pub async fn response(&self, action: &str, transaction: &str, secs: u64) -> Value {
        self.response_from(0, action, transaction, secs).await
    }

    /// The first response to `transaction` among the messages from index `from` on.
    pub async fn response_from(
        &self,
        from: usize,
        action: &str,
        transaction: &str,
        secs: u64,
    ) -> Value {
        let topic = format!("{}/response/{action}", self.root);
        let t = transaction.to_owned();
        self.wait_from(from, secs, &format!("response to {action} {transaction}"), move |s| {
            s.topic == topic && s.json()["transaction"] == Value::String(t.clone())
        })
        .await
        .json()
    }

    /// How many responses to `transaction` were seen.
    pub fn responses_to(&self, transaction: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| {
                s.topic.contains("/response/")
                    && s.json()["transaction"] == Value::String(transaction.into())
            })
            .count()
    }

    /// Signs `body` (+ `transaction`) as `p` and waits for the answer.
    pub async fn call(&self, p: &Party, action: &str, body: Value, transaction: &str) -> Value {
        let mut body = body;
        body["transaction"] = Value::String(transaction.into());
        let token = sign_request(&p.key, &p.kid, &body);
        let from = self.mark();
        self.publish_raw(action, token.into_bytes()).await;
        self.response_from(from, action, transaction, 60).await
    }
}

/// Checks every payload the portal saw against the schemas; panics listing the failures.
/// Returns how many payloads were checked, by topic kind.
pub fn validate_all(seen: &[Seen], root: &str) -> HashMap<String, usize> {
    let schemas = Schemas::load().unwrap();
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut failures = Vec::new();
    for s in seen {
        let Some(rest) = s.topic.strip_prefix(&format!("{root}/")) else { continue };
        let (kind, errors) = if rest == "bridge/state" {
            let text = String::from_utf8_lossy(&s.payload).into_owned();
            ("bridge/state".to_owned(), schemas.errors("bridge/state.json", &json!(text)))
        } else if rest == "bridge/info" || rest == "bridge/esis" {
            (rest.to_owned(), schemas.errors(&format!("{rest}.json"), &s.json()))
        } else if rest.starts_with("esi/") && rest.ends_with("/status") {
            ("esi/status".to_owned(), schemas.errors("bridge/esi-status.json", &s.json()))
        } else if let Some(kind) = rest.strip_prefix("event/") {
            (format!("event/{kind}"), schemas.errors(&format!("event/{kind}.json"), &s.json()))
        } else if let Some(action) = rest.strip_prefix("response/") {
            let v = s.json();
            let mut errs = schemas.errors("response.json", &v);
            if v["status"] == "ok" {
                errs.extend(schemas.errors(&format!("data/{}", action_file(action)), &v["data"]));
            }
            (format!("response/{action}"), errs)
        } else {
            continue;
        };
        *counts.entry(kind.clone()).or_default() += 1;
        if !errors.is_empty() {
            failures.push(format!(
                "{} {}: {errors:?}",
                s.topic,
                String::from_utf8_lossy(&s.payload)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "payloads that do not match their schema:\n{}",
        failures.join("\n")
    );
    counts
}

/// Every error code in a set of responses.
pub fn codes(seen: &[Seen]) -> Vec<String> {
    seen.iter()
        .filter(|s| s.topic.contains("/response/"))
        .filter_map(|s| s.json()["error"]["code"].as_str().map(str::to_owned))
        .collect()
}

/// A daemon configuration: gateway id `gw`, one coordinator per `links` entry (ports that do not
/// exist simply stay offline), the given `[mqtt]` section.
pub fn config(
    dir: &std::path::Path,
    gw: &str,
    links: &[std::path::PathBuf],
    mqtt: &str,
) -> gateway::config::Config {
    let mut text =
        format!("gateway_id = \"{gw}\"\ndata_dir = \"{}\"\n", dir.join("data").display());
    for (i, l) in links.iter().enumerate() {
        text.push_str(&format!(
            "[[coordinator]]\nport = \"{}\"\nesi_id = \"1044372000000000{i}\"\nmeter_number = \"M{i}\"\n",
            l.display()
        ));
    }
    text.push_str(
        "[polling]\nstatus_interval = \"2s\"\nstale_after = \"10s\"\n\
         [link]\nreconnect_min = \"100ms\"\nreconnect_max = \"1s\"\nheartbeat_timeout = \"30s\"\n\
         result_timeout = \"30s\"\nquery_timeout = \"10s\"\n\
         [scheduler]\nretry_base = \"500ms\"\nretry_max = \"2s\"\n",
    );
    text.push_str(&format!("[ctl]\nsocket = \"{}\"\n", dir.join("ctl.sock").display()));
    text.push_str(mqtt);
    gateway::config::Config::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

pub fn esi(i: usize) -> String {
    format!("1044372000000000{i}")
}
