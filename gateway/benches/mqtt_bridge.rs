//! MQTT bridge throughput (docs/performance.md, "mqtt bridge"): signed `message/send` requests
//! accepted end to end over MQTT (QoS 1, ES256 JWS, one transaction each), against the broker's
//! own raw QoS 1 publish → subscribe rate, measured in the same run on the same broker.
//!
//! * **raw**: one client publishes `--requests` QoS 1 messages of the same size as a signed
//!   request; another, subscribed, receives them. Rate = messages / (first publish → last
//!   received).
//! * **bridge**: the gateway daemon (coordinator offline: acceptance is durable without it; one
//!   paired device is put in the store first) gets `--requests` pre-signed `message/send`
//!   requests published back to back; the portal counts `ok` responses. Rate = accepted requests
//!   / (first publish → last response). Every accepted request passed signature and replay checks,
//!   rate limit, idempotency lookup, schema, grants, a durable store commit, an outcome record and
//!   an fsynced audit record before its response was published and its PUBACK sent.
//!
//! `cargo bench -p gateway --bench mqtt_bridge -- [--requests N] [--broker mosquitto|embedded|both]`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    clippy::print_stdout,
    clippy::too_many_lines
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway::auth::jws::sign_request;
use gateway::auth::keys::{generate_signing_key, public_key_pem};
use gateway::config::Config;
use gateway::daemon::Daemon;
use gateway::model::{DeviceRecord, DeviceState, EsiId, Eui64, Timestamp};
use gateway::store::{Store, StoreConfig};
use rumqttc::v5::mqttbytes::v5::{Filter, Packet};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use serde_json::json;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A subscriber counting messages on `filter` that satisfy `pred`; returns the counter and the
/// time of the last one.
async fn counter(
    port: u16,
    id: &str,
    filter: String,
    pred: fn(&[u8]) -> bool,
) -> (AsyncClient, Arc<AtomicUsize>, Arc<std::sync::Mutex<Instant>>) {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    o.set_max_packet_size(Some(1 << 20));
    o.set_keep_alive(Duration::from_secs(30));
    let (client, mut el) = AsyncClient::new(o, 10_000);
    let n = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(std::sync::Mutex::new(Instant::now()));
    let (n2, l2) = (n.clone(), last.clone());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut tx = Some(tx);
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(t) = tx.take() {
                        let _ = t.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if pred(&p.payload) {
                        n2.fetch_add(1, Ordering::Relaxed);
                        *l2.lock().unwrap() = Instant::now();
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    client.subscribe_many(vec![Filter::new(filter, QoS::AtLeastOnce)]).await.unwrap();
    rx.await.unwrap();
    (client, n, last)
}

fn publisher(port: u16, id: &str) -> AsyncClient {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_max_packet_size(Some(1 << 20));
    let (client, mut el) = AsyncClient::new(o, 10_000);
    tokio::spawn(async move {
        loop {
            if el.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    client
}

async fn wait_count(n: &AtomicUsize, want: usize, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while n.load(Ordering::Relaxed) < want {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

fn ok_payload(p: &[u8]) -> bool {
    p.windows(13).any(|w| w == b"\"status\":\"ok\"")
}

fn any_payload(_: &[u8]) -> bool {
    true
}

async fn run(broker: &str, requests: usize) {
    let dir = tempfile::tempdir().unwrap();
    let gw = format!("bench-{}-{}", broker, std::process::id());
    let (port, broker_toml) = if broker == "embedded" {
        let (p5, p4) = (free_port(), free_port());
        (p5, format!("broker = \"embedded\"\nlisten = \"127.0.0.1:{p5}\"\nlisten_v311 = \"127.0.0.1:{p4}\"\n"))
    } else {
        (1883, "broker = \"external\"\nhost = \"127.0.0.1\"\nport = 1883\n".to_owned())
    };
    let key = generate_signing_key();
    let pem = public_key_pem(key.verifying_key());
    let esi = "10443720000000000";
    let text = format!(
        "gateway_id = \"{gw}\"\ndata_dir = \"{d}\"\n\
         [[coordinator]]\nport = \"{d}/none\"\nesi_id = \"{esi}\"\nmeter_number = \"M0\"\n\
         [ctl]\nsocket = \"{d}/ctl.sock\"\n\
         [mqtt]\n{broker_toml}rate_per_second = 1000000\nrate_burst = 1000000\nmax_in_flight = 512\n\
         [[mqtt.party]]\nid = \"ops\"\nrole = \"admin\"\n[[mqtt.party]]\nid = \"rep\"\nrole = \"rep\"\n\
         [[mqtt.key]]\nkid = \"ops-1\"\nparty = \"ops\"\npem = \"\"\"\n{pem}\"\"\"\n\
         [[mqtt.key]]\nkid = \"rep-1\"\nparty = \"rep\"\npem = \"\"\"\n{pem}\"\"\"\n",
        d = dir.path().display()
    );
    let cfg = Config::parse(&text).unwrap();
    // One paired device in the store, so that message/send has a recipient.
    std::fs::create_dir_all(&cfg.data_dir).unwrap();
    {
        let (store, _) = Store::open(cfg.store_path(), StoreConfig::default()).unwrap();
        store
            .put_device(DeviceRecord {
                esi_id: EsiId::new(esi),
                eui64: Eui64(0x000d_6f00_0000_0001),
                slot: Some(0),
                state: DeviceState::Paired,
                label: "bench".into(),
                join_deadline: None,
                last_seen: None,
                lqi: None,
                updated_at: Timestamp::now(),
            })
            .unwrap();
    }
    let d = Daemon::start(cfg).await.unwrap();
    let root = format!("han/{gw}");
    let (_rc, resp_n, resp_last) =
        counter(port, &format!("{gw}-resp"), format!("{root}/response/#"), ok_payload).await;
    let pubc = publisher(port, &format!("{gw}-pub"));
    // Grant, then warm up.
    let grant = sign_request(
        &key,
        "ops-1",
        &json!({"party": "rep", "esi_id": esi, "meter_number": "M0",
        "rights": ["message"], "transaction": "grant"}),
    );
    pubc.publish(format!("{root}/request/grant/add"), QoS::AtLeastOnce, false, grant)
        .await
        .unwrap();
    assert!(wait_count(&resp_n, 1, Duration::from_secs(10)).await, "grant not answered");
    let sign = |i: usize| {
        sign_request(
            &key,
            "rep-1",
            &json!({"esi_ids": [esi], "text": "Peak pricing 4-7 pm today",
            "priority": "low", "transaction": format!("b{i}")}),
        )
    };
    let warm = 200;
    for i in 0..warm {
        pubc.publish(
            format!("{root}/request/message/send"),
            QoS::AtLeastOnce,
            false,
            sign(1_000_000 + i),
        )
        .await
        .unwrap();
    }
    assert!(wait_count(&resp_n, 1 + warm, Duration::from_secs(60)).await, "warm-up not answered");
    let tokens: Vec<String> = (0..requests).map(sign).collect();
    let size = tokens[0].len();

    // Raw broker rate with payloads of the same size, same run.
    let raw_topic = format!("bench/{gw}/raw");
    let (_sc, raw_n, raw_last) =
        counter(port, &format!("{gw}-rawsub"), raw_topic.clone(), any_payload).await;
    let payload = vec![b'x'; size];
    let t0 = Instant::now();
    for _ in 0..requests {
        pubc.publish(raw_topic.clone(), QoS::AtLeastOnce, false, payload.clone()).await.unwrap();
    }
    assert!(wait_count(&raw_n, requests, Duration::from_secs(120)).await, "raw messages lost");
    let raw_secs = raw_last.lock().unwrap().duration_since(t0).as_secs_f64();

    // The bridge.
    let base = resp_n.load(Ordering::Relaxed);
    let t0 = Instant::now();
    for t in tokens {
        pubc.publish(format!("{root}/request/message/send"), QoS::AtLeastOnce, false, t)
            .await
            .unwrap();
    }
    let done = wait_count(&resp_n, base + requests, Duration::from_secs(600)).await;
    let bridge_secs = resp_last.lock().unwrap().duration_since(t0).as_secs_f64();
    let accepted = resp_n.load(Ordering::Relaxed) - base;
    d.shutdown().await;
    let raw_rate = requests as f64 / raw_secs;
    let bridge_rate = accepted as f64 / bridge_secs;
    println!(
        "broker={broker} requests={requests} payload={size}B raw={raw_rate:.0} msg/s ({raw_secs:.2} s) \
         bridge={bridge_rate:.0} req/s accepted ({accepted} in {bridge_secs:.2} s{}) ratio={:.3}",
        if done { "" } else { ", INCOMPLETE" },
        bridge_rate / raw_rate
    );
}

fn main() {
    let requests: usize = arg("--requests", "5000").parse().unwrap();
    let broker = arg("--broker", "both");
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        for b in ["mosquitto", "embedded"] {
            if broker == "both" || broker == b {
                run(b, requests).await;
            }
        }
    });
}
