//! The embedded MQTT broker: rumqttd in-process, the zero-setup default of the bridge
//! (design.md §7; cargo feature `embedded-broker`, on by default).
//!
//! It listens on a local, non-standard port (default `127.0.0.1:18830` for MQTT 5, the next port
//! for MQTT 3.1.1 clients) so that it never collides with a system broker on 1883. It is meant
//! for one gateway and its local portal or tools: no ACLs, no TLS, messages kept in memory only
//! (a restart of the gateway loses the broker's retained messages and queued sessions; the
//! bridge republishes its retained state on start). Use an external broker for anything shared.
//!
//! rumqttd has no shutdown handle (toolchain.md): the broker runs on its own threads until the
//! process ends. [`ensure_started`] starts one broker per address per process and returns the
//! running one when asked again (a daemon restarted in the same process, as tests do).

use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

/// Largest packet the embedded broker accepts (the bridge answers larger requests with
/// `BAD_REQUEST` up to this size; beyond it the broker drops the connection that sent it).
pub const MAX_PACKET_BYTES: usize = 1 << 20;

fn running() -> &'static Mutex<HashSet<SocketAddr>> {
    static RUNNING: OnceLock<Mutex<HashSet<SocketAddr>>> = OnceLock::new();
    RUNNING.get_or_init(|| Mutex::new(HashSet::new()))
}

fn server(name: &str, listen: SocketAddr) -> ServerSettings {
    ServerSettings {
        name: name.into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 10_000,
            max_payload_size: MAX_PACKET_BYTES,
            max_inflight_count: 500,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    }
}

/// The rumqttd configuration: MQTT 5 on `listen`, MQTT 3.1.1 on `listen_v311`.
pub fn config(listen: SocketAddr, listen_v311: SocketAddr) -> Config {
    Config {
        id: 0,
        router: RouterConfig {
            max_connections: 1000,
            max_outgoing_packet_count: 500,
            max_segment_size: 4 << 20,
            max_segment_count: 4,
            ..RouterConfig::default()
        },
        v4: Some(HashMap::from([("v4".to_owned(), server("han-v311", listen_v311))])),
        v5: Some(HashMap::from([("v5".to_owned(), server("han-v5", listen))])),
        ..Config::default()
    }
}

/// Starts the broker unless this process already runs one on `listen`; returns once it accepts
/// connections. An address in use by another process is an error naming it.
pub fn ensure_started(listen: SocketAddr, listen_v311: SocketAddr) -> Result<(), String> {
    let mut map = running().lock().map_err(|_| "broker registry poisoned".to_owned())?;
    if map.contains(&listen) {
        return Ok(());
    }
    for addr in [listen, listen_v311] {
        if let Err(e) = std::net::TcpListener::bind(addr) {
            return Err(format!(
                "embedded MQTT broker: cannot listen on {addr} ({e}); set [mqtt] listen to a free \
                 port, or use broker = \"external\""
            ));
        }
    }
    let mut broker = Broker::new(config(listen, listen_v311));
    let thread = std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded MQTT broker stopped");
            }
        })
        .map_err(|e| format!("embedded MQTT broker: cannot start its thread: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if TcpStream::connect_timeout(&listen, Duration::from_millis(200)).is_ok() {
            break;
        }
        if thread.is_finished() || Instant::now() > deadline {
            return Err(format!("embedded MQTT broker: not listening on {listen}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    map.insert(listen);
    tracing::info!(%listen, %listen_v311, "embedded MQTT broker listening");
    Ok(())
}
