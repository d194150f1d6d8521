//! The bridge's MQTT 5 connection (rumqttc's v5 client).
//!
//! - Persistent session (`clean_start = false`, session expiry from the configuration): requests
//!   published while the gateway is down or reconnecting are queued by the broker and delivered
//!   when it returns.
//! - Last will: `bridge/state` = `offline`, retained, so a crashed or unplugged gateway is seen
//!   offline by every subscriber; on (re)connect the bridge publishes `online`.
//! - Manual acknowledgements: a request is acknowledged (PUBACK) only after its outcome and audit
//!   record are committed; a crash before that makes the broker deliver it again.
//! - The receive maximum bounds the requests in flight: the broker sends no more than
//!   `max_in_flight` unacknowledged requests, which is the bridge's back-pressure.
//!
//! The event loop runs in its own task and must never block: it only forwards incoming requests
//! to a bounded channel sized above the receive maximum (so the send never waits) and notifies
//! the state publisher of each connection.

use std::time::Duration;

use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5::{
    Filter, LastWill, LastWillProperties, Packet, Publish, PublishProperties,
};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use super::topics::Topics;
use crate::config::mqtt::{BrokerConfig, MqttConfig};

/// Largest packet the bridge accepts from the broker (the broker drops larger messages for this
/// client; requests between `max_payload_bytes` and this size are answered `BAD_REQUEST`).
pub const MAX_INCOMING_PACKET: u32 = 1 << 20;

/// Publishing side of the connection (cheap to clone).
#[derive(Debug, Clone)]
pub struct Outbox {
    client: AsyncClient,
    max_bytes: usize,
}

impl Outbox {
    /// Publishes JSON at QoS 1. Payloads above `max_response_bytes` are not published (logged):
    /// paging keeps well-formed answers below it.
    pub async fn publish(
        &self,
        topic: String,
        payload: Vec<u8>,
        retain: bool,
        correlation: Option<Bytes>,
    ) -> bool {
        if payload.len() > self.max_bytes {
            warn!(topic, bytes = payload.len(), "payload above max_response_bytes not published");
            return false;
        }
        let props = PublishProperties {
            payload_format_indicator: Some(1),
            content_type: Some("application/json".into()),
            correlation_data: correlation,
            ..PublishProperties::default()
        };
        self.client
            .publish_with_properties(topic, QoS::AtLeastOnce, retain, payload, props)
            .await
            .is_ok()
    }

    /// Publishes a plain-text retained value (`bridge/state`).
    pub async fn publish_text(&self, topic: String, text: &str, retain: bool) -> bool {
        self.client.publish(topic, QoS::AtLeastOnce, retain, text.as_bytes().to_vec()).await.is_ok()
    }

    /// Acknowledges a request to the broker.
    pub async fn ack(&self, p: &Publish) {
        if let Err(e) = self.client.ack(p).await {
            debug!(error = %e, "ack not sent (connection closing)");
        }
    }
}

/// The MQTT options of the bridge.
pub fn options(cfg: &MqttConfig, topics: &Topics) -> Result<MqttOptions, String> {
    let (host, port) = match &cfg.broker {
        BrokerConfig::Embedded { listen, .. } => (listen.ip().to_string(), listen.port()),
        BrokerConfig::External { host, port, .. } => (host.clone(), *port),
    };
    let mut o = MqttOptions::new(cfg.client_id.clone(), host, port);
    o.set_keep_alive(cfg.keep_alive);
    o.set_clean_start(false);
    o.set_session_expiry_interval(Some(
        u32::try_from(cfg.session_expiry.as_secs()).unwrap_or(u32::MAX),
    ));
    o.set_manual_acks(true);
    o.set_receive_maximum(Some(cfg.max_in_flight));
    o.set_max_packet_size(Some(MAX_INCOMING_PACKET));
    o.set_request_channel_capacity(4096);
    o.set_connection_timeout(10);
    let will_props = LastWillProperties {
        delay_interval: None,
        payload_format_indicator: Some(1),
        message_expiry_interval: None,
        content_type: Some("text/plain".into()),
        response_topic: None,
        correlation_data: None,
        user_properties: Vec::new(),
    };
    o.set_last_will(LastWill::new(
        topics.state(),
        b"offline".to_vec(),
        QoS::AtLeastOnce,
        true,
        Some(will_props),
    ));
    if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
        o.set_credentials(u.clone(), p.0.clone());
    } else if let Some(u) = &cfg.username {
        o.set_credentials(u.clone(), String::new());
    }
    if let BrokerConfig::External { tls: true, ca_file, .. } = &cfg.broker {
        tls::configure(&mut o, ca_file.as_deref())?;
    }
    Ok(o)
}

#[cfg(feature = "mqtt-tls")]
mod tls {
    use std::path::Path;
    use std::sync::Arc;

    use rumqttc::v5::MqttOptions;
    use rumqttc::{TlsConfiguration, Transport};

    /// TLS with rustls (ring): the CA file when given, else the system's roots.
    pub fn configure(o: &mut MqttOptions, ca_file: Option<&Path>) -> Result<(), String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut roots = rustls::RootCertStore::empty();
        match ca_file {
            Some(p) => {
                let pem =
                    std::fs::read(p).map_err(|e| format!("mqtt ca_file {}: {e}", p.display()))?;
                let certs = rustls_pemfile::certs(&mut pem.as_slice())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("mqtt ca_file {}: {e}", p.display()))?;
                for c in certs {
                    roots.add(c).map_err(|e| format!("mqtt ca_file {}: {e}", p.display()))?;
                }
            }
            None => {
                for c in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(c);
                }
            }
        }
        let cfg =
            rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(cfg))));
        Ok(())
    }
}

#[cfg(not(feature = "mqtt-tls"))]
mod tls {
    /// Refused at configuration time already; kept for a clear error.
    pub fn configure(
        _o: &mut rumqttc::v5::MqttOptions,
        _ca_file: Option<&std::path::Path>,
    ) -> Result<(), String> {
        Err("TLS needs the gateway built with the `mqtt-tls` feature".into())
    }
}

/// Creates the client and its event loop.
pub fn connect(cfg: &MqttConfig, topics: &Topics) -> Result<(Outbox, EventLoop), String> {
    let (client, eventloop) = AsyncClient::new(options(cfg, topics)?, 4096);
    Ok((Outbox { client, max_bytes: cfg.max_response_bytes }, eventloop))
}

/// Drives the event loop until shutdown: forwards requests, resubscribes and announces each
/// connection on `connected` (its counter goes up by one per CONNACK), reconnects with backoff.
/// On shutdown publishes `offline` and disconnects cleanly.
pub async fn run(
    mut eventloop: EventLoop,
    outbox: Outbox,
    topics: Topics,
    trusted: bool,
    requests: mpsc::Sender<Publish>,
    connected: watch::Sender<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    let filter = topics.request_filter(trusted);
    let mut backoff = Duration::from_millis(200);
    loop {
        let ev = tokio::select! {
            ev = eventloop.poll() => ev,
            r = shutdown.changed() => {
                if r.is_err() || *shutdown.borrow() {
                    break;
                }
                continue;
            }
        };
        match ev {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff = Duration::from_millis(200);
                info!(session_present = ack.session_present, "MQTT connected");
                let f = Filter::new(filter.clone(), QoS::AtLeastOnce);
                if let Err(e) = outbox.client.try_subscribe_many(vec![f]) {
                    warn!(error = %e, "MQTT subscribe could not be queued");
                }
                connected.send_modify(|n| *n += 1);
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                // Sized above the receive maximum: never full while the broker obeys it.
                if let Err(e) = requests.try_send(p) {
                    warn!(error = %e, "request channel full: the request is left unacknowledged");
                }
            }
            Ok(Event::Incoming(Packet::Disconnect(d))) => {
                warn!(reason = ?d.reason_code, "the broker disconnected the bridge");
            }
            Ok(_) => {}
            Err(e) => {
                warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "MQTT connection lost");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
    // Orderly stop: `offline` (retained), then DISCONNECT (the broker discards the will).
    let _ = outbox.client.try_publish(topics.state(), QoS::AtLeastOnce, true, b"offline".to_vec());
    let _ = outbox.client.try_disconnect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(ev) = tokio::time::timeout_at(deadline, eventloop.poll()).await {
        match ev {
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    info!("MQTT bridge disconnected");
}
