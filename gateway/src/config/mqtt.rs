//! The `[mqtt]` section: broker, topics, limits, authentication, parties (design.md §7–§8).
//!
//! ```toml
//! [mqtt]
//! broker = "embedded"            # default: rumqttd in-process on `listen`; or "external"
//! listen = "127.0.0.1:18830"     # the embedded broker (a non-standard port: never a system broker's)
//! # host = "mqtt.example.net"    # external broker
//! # port = 1883
//! # username = "gw-austin-01"
//! # password_file = "/etc/han-gateway/mqtt.pass"
//! # tls = true                   # needs the `mqtt-tls` cargo feature
//! # ca_file = "/etc/han-gateway/broker-ca.pem"
//! base_topic = "han"
//! max_payload_bytes = 65536      # larger requests are answered BAD_REQUEST
//! auth = "jws"                   # or "trusted-broker"
//! max_skew = "5m"
//! rate_per_second = 50           # per party; RATE_LIMITED beyond
//! rate_burst = 200
//!
//! [[mqtt.party]]
//! id = "ops-admin"
//! role = "admin"
//!
//! [[mqtt.key]]                   # jws mode: the parties' public keys
//! kid = "ops-admin-1"
//! party = "ops-admin"
//! pem_file = "/etc/han-gateway/keys/ops-admin-1.pem"
//!
//! [[mqtt.identity]]              # trusted-broker mode: broker identity → party
//! username = "portal-a"
//! party = "rep-a"
//! ```
//!
//! Without an `[mqtt]` section the bridge does not start (no port is opened).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::section::Section;
use super::{check_ident, ConfigError};
use crate::auth::{KeySpec, RateLimit, TrustedIdentity};
use crate::grants::{Party, PartyId, Role};

/// Where the bridge's broker is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerConfig {
    /// rumqttd in this process (cargo feature `embedded-broker`): MQTT 5 on `listen`, MQTT 3.1.1
    /// on `listen_v311`.
    Embedded { listen: SocketAddr, listen_v311: SocketAddr },
    /// Any MQTT 5 broker (Mosquitto, EMQX, HiveMQ, …).
    External { host: String, port: u16, tls: bool, ca_file: Option<PathBuf> },
}

/// How requests are authenticated (see [`crate::auth`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Every request is a JWS signed by the party's key.
    Jws,
    /// The broker authenticated the client; its identity is the topic level after `client/`.
    TrustedBroker,
}

impl AuthMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Jws => "jws",
            Self::TrustedBroker => "trusted-broker",
        }
    }
}

/// A password that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The `[mqtt]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct MqttConfig {
    pub broker: BrokerConfig,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// MQTT client id of the bridge (default `han-gateway-<gateway_id>`).
    pub client_id: String,
    /// First topic level (default `han`).
    pub base_topic: String,
    pub keep_alive: Duration,
    /// How long the broker keeps the bridge's session (and queues requests) while it is away.
    pub session_expiry: Duration,
    /// Largest request payload accepted; larger ones are answered `BAD_REQUEST`.
    pub max_payload_bytes: usize,
    /// Largest response or event payload published.
    pub max_response_bytes: usize,
    /// Requests processed at once (also the MQTT receive maximum).
    pub max_in_flight: u16,
    /// How long the outcome of a request with a `transaction` is kept for retries.
    pub idempotency_ttl: Duration,
    pub auth: AuthMode,
    /// `jws` mode: allowed clock difference of `iat`.
    pub max_skew: Duration,
    pub rate: RateLimit,
    pub rate_overrides: Vec<(PartyId, RateLimit)>,
    pub parties: Vec<Party>,
    pub keys: Vec<KeySpec>,
    pub identities: Vec<TrustedIdentity>,
}

impl MqttConfig {
    /// The defaults for a gateway id (embedded broker, `jws` mode, no parties).
    pub fn new(gateway_id: &str) -> Self {
        Self {
            broker: BrokerConfig::Embedded {
                listen: SocketAddr::from(([127, 0, 0, 1], 18830)),
                listen_v311: SocketAddr::from(([127, 0, 0, 1], 18831)),
            },
            username: None,
            password: None,
            client_id: format!("han-gateway-{gateway_id}"),
            base_topic: "han".into(),
            keep_alive: Duration::from_secs(30),
            session_expiry: Duration::from_secs(86_400),
            max_payload_bytes: 64 * 1024,
            max_response_bytes: 256 * 1024,
            max_in_flight: 256,
            idempotency_ttl: Duration::from_secs(86_400),
            auth: AuthMode::Jws,
            max_skew: Duration::from_secs(300),
            rate: RateLimit::default(),
            rate_overrides: Vec::new(),
            parties: Vec::new(),
            keys: Vec::new(),
            identities: Vec::new(),
        }
    }
}

fn role(key: &str, text: &str) -> Result<Role, ConfigError> {
    match text {
        "tdsp" => Ok(Role::Tdsp),
        "rep" => Ok(Role::Rep),
        "third_party" => Ok(Role::ThirdParty),
        "admin" => Ok(Role::Admin),
        _ => Err(ConfigError::new(key, "must be one of tdsp, rep, third_party, admin")),
    }
}

fn topic_level(key: &str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() || value.len() > 64 || value.contains(['/', '+', '#', '\0']) {
        return Err(ConfigError::new(key, "1 to 64 characters without '/', '+', '#'"));
    }
    Ok(())
}

fn read_file(key: &str, path: &str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(key, format!("cannot read {path}: {e}")))
}

/// Parses `[mqtt]`; `None` when the section is absent or `enabled = false`.
pub(super) fn parse(
    root: &Section<'_>,
    gateway_id: &str,
) -> Result<Option<MqttConfig>, ConfigError> {
    let Some(s) = root.section("mqtt")? else { return Ok(None) };
    if s.boolean("enabled")? == Some(false) {
        // Still refuse misspelt keys in a disabled section.
        parse_body(&s, gateway_id)?;
        return Ok(None);
    }
    parse_body(&s, gateway_id).map(Some)
}

fn parse_body(s: &Section<'_>, gateway_id: &str) -> Result<MqttConfig, ConfigError> {
    let mut c = MqttConfig::new(gateway_id);
    parse_broker(s, &mut c)?;
    if let Some(id) = s.string("client_id")? {
        check_ident(&s.key("client_id"), &id, 64)?;
        c.client_id = id;
    }
    if let Some(t) = s.string("base_topic")? {
        topic_level(&s.key("base_topic"), &t)?;
        c.base_topic = t;
    }
    if let Some(d) = s.duration("keep_alive")? {
        if d < Duration::from_secs(5) {
            return Err(ConfigError::new(s.key("keep_alive"), "must be at least 5s"));
        }
        c.keep_alive = d;
    }
    if let Some(d) = s.duration("session_expiry")? {
        c.session_expiry = d.min(Duration::from_secs(u64::from(u32::MAX)));
    }
    if let Some(n) = s.integer("max_payload_bytes", 1024, 16 << 20)? {
        c.max_payload_bytes = n as usize;
    }
    if let Some(n) = s.integer("max_response_bytes", 4096, 16 << 20)? {
        c.max_response_bytes = n as usize;
    }
    if let Some(n) = s.integer("max_in_flight", 1, 65_535)? {
        c.max_in_flight = n as u16;
    }
    if let Some(d) = s.duration("idempotency_ttl")? {
        c.idempotency_ttl = d;
    }
    if let Some(d) = s.duration("max_skew")? {
        if d < Duration::from_secs(1) {
            return Err(ConfigError::new(s.key("max_skew"), "must be at least 1s"));
        }
        c.max_skew = d;
    }
    c.auth = match s.string("auth")?.as_deref() {
        None | Some("jws") => AuthMode::Jws,
        Some("trusted-broker") => AuthMode::TrustedBroker,
        Some(_) => return Err(ConfigError::new(s.key("auth"), "must be jws or trusted-broker")),
    };
    if let Some(n) = s.integer("rate_per_second", 1, 1_000_000)? {
        c.rate.per_second = f64::from(n as u32);
    }
    if let Some(n) = s.integer("rate_burst", 1, 1_000_000)? {
        c.rate.burst = n as u32;
    }
    parse_parties(s, &mut c)?;
    s.finish()?;
    Ok(c)
}

fn parse_broker(s: &Section<'_>, c: &mut MqttConfig) -> Result<(), ConfigError> {
    let kind = s.string("broker")?;
    let host = s.string("host")?;
    let port = s.integer("port", 1, 65_535)?.map(|p| p as u16);
    let tls = s.boolean("tls")?.unwrap_or(false);
    let ca_file = s.string("ca_file")?.map(PathBuf::from);
    let listen = s.string("listen")?;
    let listen_v311 = s.string("listen_v311")?;
    match kind.as_deref() {
        None | Some("embedded") => {
            if host.is_some() || tls || ca_file.is_some() {
                return Err(ConfigError::new(
                    s.key("host"),
                    "host, tls and ca_file are for broker = \"external\"",
                ));
            }
            let addr = |key: &str, text: &str| -> Result<SocketAddr, ConfigError> {
                text.parse().map_err(|_| {
                    ConfigError::new(s.key(key), "expected an address such as 127.0.0.1:18830")
                })
            };
            let mut l5 = match listen {
                Some(l) => addr("listen", &l)?,
                None => SocketAddr::from(([127, 0, 0, 1], 18830)),
            };
            if let Some(p) = port {
                l5.set_port(p);
            }
            let l4 = if let Some(l) = listen_v311 {
                addr("listen_v311", &l)?
            } else {
                let mut a = l5;
                a.set_port(l5.port().checked_add(1).ok_or_else(|| {
                    ConfigError::new(s.key("listen"), "leave room for listen_v311")
                })?);
                a
            };
            if l4 == l5 {
                return Err(ConfigError::new(s.key("listen_v311"), "must differ from listen"));
            }
            if !cfg!(feature = "embedded-broker") {
                return Err(ConfigError::new(
                    s.key("broker"),
                    "this gateway was built without the `embedded-broker` feature: \
                     set broker = \"external\"",
                ));
            }
            c.broker = BrokerConfig::Embedded { listen: l5, listen_v311: l4 };
        }
        Some("external") => {
            if listen.is_some() || listen_v311.is_some() {
                return Err(ConfigError::new(s.key("listen"), "is for broker = \"embedded\""));
            }
            let host = host.ok_or_else(|| s.missing("host"))?;
            if tls && !cfg!(feature = "mqtt-tls") {
                return Err(ConfigError::new(
                    s.key("tls"),
                    "this gateway was built without the `mqtt-tls` feature",
                ));
            }
            let port = port.unwrap_or(if tls { 8883 } else { 1883 });
            c.broker = BrokerConfig::External { host, port, tls, ca_file };
        }
        Some(_) => return Err(ConfigError::new(s.key("broker"), "must be embedded or external")),
    }
    c.username = s.string("username")?;
    let password = s.string("password")?;
    let password_file = s.string("password_file")?;
    c.password = match (password, password_file) {
        (Some(p), None) => Some(Secret(p)),
        (None, Some(f)) => Some(Secret(read_file(&s.key("password_file"), &f)?.trim().into())),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(s.key("password"), "give password or password_file"))
        }
    };
    if c.password.is_some() && c.username.is_none() {
        return Err(ConfigError::new(s.key("username"), "is required with a password"));
    }
    Ok(())
}

fn parse_parties(s: &Section<'_>, c: &mut MqttConfig) -> Result<(), ConfigError> {
    for p in s.tables("party")? {
        let id = p.string("id")?.ok_or_else(|| p.missing("id"))?;
        check_ident(&p.key("id"), &id, 64)?;
        let r = p.string("role")?.ok_or_else(|| p.missing("role"))?;
        let mut party = Party::new(id, role(&p.key("role"), &r)?);
        party.organisation = p.string("organisation")?;
        party.name = p.string("name")?;
        if let Some(n) = p.integer("rate_per_second", 1, 1_000_000)? {
            let burst = p.integer("rate_burst", 1, 1_000_000)?.map_or(n as u32, |b| b as u32);
            c.rate_overrides
                .push((party.id.clone(), RateLimit { per_second: f64::from(n as u32), burst }));
        }
        p.finish()?;
        if c.parties.iter().any(|q| q.id == party.id) {
            return Err(ConfigError::new(p.key("id"), "the same party appears twice"));
        }
        c.parties.push(party);
    }
    let known = |key: String, party: &str, parties: &[Party]| {
        if parties.iter().any(|p| p.id.as_str() == party) {
            Ok(())
        } else {
            Err(ConfigError::new(key, format!("party {party:?} is not a [[mqtt.party]]")))
        }
    };
    for k in s.tables("key")? {
        let kid = k.string("kid")?.ok_or_else(|| k.missing("kid"))?;
        let party = k.string("party")?.ok_or_else(|| k.missing("party"))?;
        known(k.key("party"), &party, &c.parties)?;
        let pem = match (k.string("pem")?, k.string("pem_file")?) {
            (Some(p), None) => Some(p),
            (None, Some(f)) => Some(read_file(&k.key("pem_file"), &f)?),
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(k.key("pem"), "give pem or pem_file, not both"))
            }
        };
        let jwk = match k.string("jwk")? {
            Some(t) => Some(serde_json::from_str(&t).map_err(|_| {
                ConfigError::new(k.key("jwk"), "expected a JWK as a JSON object in a string")
            })?),
            None => None,
        };
        k.finish()?;
        let spec = KeySpec { kid, party: PartyId::new(party), pem, jwk };
        crate::auth::KeyRegistry::from_specs([spec.clone()])
            .map_err(|e| ConfigError::new(k.key("kid"), e.to_string()))?;
        if c.keys.iter().any(|o| o.kid == spec.kid) {
            return Err(ConfigError::new(k.key("kid"), "the same key id appears twice"));
        }
        c.keys.push(spec);
    }
    for i in s.tables("identity")? {
        let party = i.string("party")?.ok_or_else(|| i.missing("party"))?;
        known(i.key("party"), &party, &c.parties)?;
        let username = i.string("username")?;
        let client_id = i.string("client_id")?;
        for v in username.iter().chain(client_id.iter()) {
            topic_level(&i.key("username"), v)?;
        }
        i.finish()?;
        c.identities.push(TrustedIdentity { username, client_id, party: PartyId::new(party) });
    }
    crate::auth::TrustedBroker::new(c.identities.clone(), c.max_payload_bytes)
        .map_err(|e| ConfigError::new(s.key("identity"), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::config::Config;

    const BASE: &str = "gateway_id = \"gw-1\"\ndata_dir = \"/tmp/gw\"\n\
        [[coordinator]]\nport = \"/dev/ttyACM0\"\nesi_id = \"10443720000000001\"\nmeter_number = \"M1\"\n";

    fn parse(mqtt: &str) -> Result<Option<MqttConfig>, crate::config::ConfigError> {
        Config::parse(&format!("{BASE}{mqtt}")).map(|c| c.mqtt)
    }

    #[test]
    fn absent_section_means_no_bridge_and_empty_section_means_the_embedded_broker() {
        assert_eq!(parse("").unwrap(), None);
        let c = parse("[mqtt]\n").unwrap().unwrap();
        assert_eq!(
            c.broker,
            BrokerConfig::Embedded {
                listen: "127.0.0.1:18830".parse().unwrap(),
                listen_v311: "127.0.0.1:18831".parse().unwrap()
            }
        );
        assert_eq!((c.base_topic.as_str(), c.client_id.as_str()), ("han", "han-gateway-gw-1"));
        assert_eq!(c.auth, AuthMode::Jws);
        assert_eq!(parse("[mqtt]\nenabled = false\n").unwrap(), None);
    }

    #[test]
    fn external_broker_parties_keys_identities() {
        let key = crate::auth::generate_signing_key();
        let pem = crate::auth::keys::public_key_pem(key.verifying_key());
        let c = parse(&format!(
            "[mqtt]\nbroker = \"external\"\nhost = \"mqtt.example\"\nusername = \"gw\"\n\
             password = \"pw\"\nauth = \"trusted-broker\"\nrate_per_second = 5\n\
             [[mqtt.party]]\nid = \"rep-a\"\nrole = \"rep\"\nrate_per_second = 100\n\
             [[mqtt.key]]\nkid = \"k1\"\nparty = \"rep-a\"\npem = \"\"\"\n{pem}\"\"\"\n\
             [[mqtt.identity]]\nusername = \"portal-a\"\nparty = \"rep-a\"\n"
        ))
        .unwrap()
        .unwrap();
        assert_eq!(
            c.broker,
            BrokerConfig::External {
                host: "mqtt.example".into(),
                port: 1883,
                tls: false,
                ca_file: None
            }
        );
        assert_eq!(c.password, Some(Secret("pw".into())));
        assert!(!format!("{c:?}").contains("pw\""), "password in Debug output");
        assert_eq!((c.parties.len(), c.keys.len(), c.identities.len()), (1, 1, 1));
        assert_eq!(c.rate_overrides[0].1.burst, 100);
        assert!((c.rate.per_second - 5.0).abs() < f64::EPSILON);
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse("[mqtt]\nbroker = \"cloud\"\n").unwrap_err();
        assert_eq!(e.key, "mqtt.broker");
        let e = parse("[mqtt]\nbroker = \"external\"\n").unwrap_err();
        assert_eq!(e.key, "mqtt.host");
        let e = parse("[mqtt]\nlisten = \"nowhere\"\n").unwrap_err();
        assert_eq!(e.key, "mqtt.listen");
        let e = parse("[mqtt]\nbase_topic = \"a/b\"\n").unwrap_err();
        assert_eq!(e.key, "mqtt.base_topic");
        let e = parse("[mqtt]\nauth = \"none\"\n").unwrap_err();
        assert_eq!(e.key, "mqtt.auth");
        let e = parse("[mqtt]\n[[mqtt.key]]\nkid = \"k\"\nparty = \"ghost\"\npem = \"x\"\n")
            .unwrap_err();
        assert_eq!(e.key, "mqtt.key[0].party");
        let e = parse("[mqtt]\n[[mqtt.party]]\nid = \"p\"\nrole = \"rep\"\n[[mqtt.key]]\nkid = \"k\"\nparty = \"p\"\npem = \"x\"\n").unwrap_err();
        assert_eq!(e.key, "mqtt.key[0].kid");
        let e = parse("[mqtt]\n[[mqtt.party]]\nid = \"p\"\nrole = \"boss\"\n").unwrap_err();
        assert_eq!(e.key, "mqtt.party[0].role");
        let e = parse("[mqtt]\ncolour = 1\n").unwrap_err();
        assert_eq!(e.key, "mqtt.colour");
        let e = parse("[mqtt]\npassword = \"x\"\n").unwrap_err();
        assert_eq!(e.key, "mqtt.username");
    }
}
