//! `trusted-broker` mode: the MQTT broker has already authenticated the client, and the
//! gateway takes the party from configuration, keyed by the client's MQTT username or client id.
//! The payload is the bare request object.
//!
//! # Trade-off
//!
//! What it buys: no key management for portals, no signing code, no clock requirements, and a
//! few microseconds per request instead of an ECDSA verification — useful for a single-tenant
//! deployment, a lab, or a broker that already does mutual TLS per party.
//!
//! What it costs: the broker becomes part of the security boundary.
//! - Every party's authority rests on the broker's authentication (passwords, client
//!   certificates) and on its ACL: a client that can publish on another party's request topic,
//!   or take its client id, acts as that party. Client ids are chosen by clients; they identify
//!   a party only if the broker binds them to credentials (e.g. Mosquitto `use_identity_as_username`
//!   or a `%u`/`%c` pattern ACL). Prefer usernames.
//! - A plain MQTT subscriber does not learn who published a message. The bridge must obtain the
//!   identity from something the broker enforces: the embedded broker's connection metadata, a
//!   per-party topic level that the broker's ACL pins to the username (`han/<gw>/request/<user>/#`
//!   writable only by `<user>`), or an MQTT 5 user property the broker sets and clients cannot
//!   forge. Never from a field of the payload.
//! - Nothing is signed, so there is no end-to-end proof of who asked for what: the audit log
//!   records the broker's word, and anyone with access to the broker's storage or bridge links
//!   can inject requests. There is no replay protection beyond the broker's session state; the
//!   request `transaction` ids are the portal's only defence against duplicates.
//!
//! `jws` mode keeps none of these assumptions: requests verify wherever they travel, through any
//! broker cluster. Use it whenever the broker is shared or operated by someone else.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{AuthError, Authenticated, ClientIdentity};
use crate::grants::PartyId;

/// One configured identity: `{"username": "rep-a", "party": "rep-a"}` or
/// `{"client_id": "portal-7", "party": "rep-a"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIdentity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub party: PartyId,
}

/// Maps broker identities to parties.
#[derive(Debug, Clone)]
pub struct TrustedBroker {
    by_username: HashMap<String, PartyId>,
    by_client_id: HashMap<String, PartyId>,
    max_payload_bytes: usize,
}

impl TrustedBroker {
    /// Each identity must name exactly one of `username` and `client_id`.
    pub fn new(
        identities: impl IntoIterator<Item = TrustedIdentity>,
        max_payload_bytes: usize,
    ) -> Result<Self, String> {
        let mut s =
            Self { by_username: HashMap::new(), by_client_id: HashMap::new(), max_payload_bytes };
        for i in identities {
            let (map, key) = match (i.username, i.client_id) {
                (Some(u), None) => (&mut s.by_username, u),
                (None, Some(c)) => (&mut s.by_client_id, c),
                _ => {
                    return Err(format!(
                        "trusted identity for party {}: give exactly one of username and client_id",
                        i.party
                    ))
                }
            };
            if map.insert(key.clone(), i.party).is_some() {
                return Err(format!("trusted identity {key:?} is configured twice"));
            }
        }
        Ok(s)
    }

    /// The party of a broker identity: by username first (the broker authenticated it), then by
    /// client id.
    pub fn identify(&self, id: &ClientIdentity<'_>) -> Result<PartyId, AuthError> {
        id.username
            .and_then(|u| self.by_username.get(u))
            .or_else(|| id.client_id.and_then(|c| self.by_client_id.get(c)))
            .cloned()
            .ok_or_else(|| {
                AuthError::UnknownIdentity(
                    id.username.or(id.client_id).unwrap_or("(anonymous)").to_string(),
                )
            })
    }

    /// Identifies the sender and parses the bare request object.
    pub fn authenticate(
        &self,
        id: &ClientIdentity<'_>,
        payload: &[u8],
    ) -> Result<Authenticated, AuthError> {
        if payload.len() > self.max_payload_bytes {
            return Err(AuthError::TooLarge { len: payload.len(), max: self.max_payload_bytes });
        }
        let party = self.identify(id)?;
        let request: Map<String, Value> = serde_json::from_slice(payload)
            .map_err(|_| AuthError::Malformed("the request is not a JSON object".into()))?;
        Ok(Authenticated { party, key_id: None, request, iat: None, nonce: None })
    }
}
