//! `jws` mode: each request is a JWS compact serialization (RFC 7515 §7.1) signed with ES256
//! (ECDSA P-256 + SHA-256, RFC 7518 §3.4) by the party's key (design.md §7–§8).
//!
//! ```text
//! base64url(header) "." base64url(payload) "." base64url(r ‖ s)
//! header  = {"alg": "ES256", "kid": "<the party's key id>", ...}
//! payload = the request object + "iat" (issue time, Unix seconds) + "nonce" (unique string)
//! ```
//!
//! Checks, in order, cheapest and unauthenticated first: size cap; three base64url parts
//! (no padding); header is a JSON object; `alg` is exactly `ES256` (`none`, `HS256` and every
//! other algorithm are refused, so neither a missing signature nor a public key used as an HMAC
//! secret can pass); no `crit` extensions; `kid` names a registered key; the signature is 64 bytes
//! `r ‖ s` and verifies. Only then is the payload parsed: a JSON object with `iat` within ±skew of
//! now and a `nonce` not seen within the replay window (see [`super::replay`]). Header parameters
//! that carry keys (`jwk`, `jku`, `x5u`, `x5c`) are ignored: keys come only from the registry.
//!
//! [`sign_request`] makes such tokens (tests, the demo, the CLI). The format is what PyJWT and
//! other JWT libraries produce with `algorithm="ES256"` and a `kid` header; a test checks that.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::Generate as _;
use serde_json::{Map, Value};

use super::replay::{ReplayCache, ReplayRefusal};
use super::{AuthError, Authenticated, KeyRegistry};

/// Limits of the `jws` mode.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwsConfig {
    /// How far `iat` may be from the gateway's clock, either way, in seconds.
    pub max_skew_secs: u64,
    /// Largest token accepted, in bytes.
    pub max_token_bytes: usize,
    /// Most nonces remembered at once (see [`super::replay`]).
    pub max_nonces: usize,
    /// Longest nonce accepted, in bytes.
    pub max_nonce_len: usize,
}

impl Default for JwsConfig {
    fn default() -> Self {
        Self {
            max_skew_secs: 300,
            max_token_bytes: 64 * 1024,
            max_nonces: 1_000_000,
            max_nonce_len: 128,
        }
    }
}

/// Verifies signed requests against a key registry and remembers nonces.
#[derive(Debug, Clone)]
pub struct JwsVerifier {
    keys: KeyRegistry,
    config: JwsConfig,
    replay: ReplayCache,
}

fn malformed(what: impl Into<String>) -> AuthError {
    AuthError::Malformed(what.into())
}

fn b64(part: &str, what: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| malformed(format!("the {what} is not base64url (without '=' padding)")))
}

/// `iat` as whole seconds: a non-negative JSON number (fractions are truncated, RFC 7519 §2).
fn numeric_date(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64))
}

impl JwsVerifier {
    pub fn new(keys: KeyRegistry, config: JwsConfig) -> Self {
        let replay = ReplayCache::new(config.max_nonces);
        Self { keys, config, replay }
    }

    pub fn keys(&self) -> &KeyRegistry {
        &self.keys
    }

    /// For key rotation and revocation at run time.
    pub fn keys_mut(&mut self) -> &mut KeyRegistry {
        &mut self.keys
    }

    pub fn config(&self) -> &JwsConfig {
        &self.config
    }

    /// Nonces currently remembered.
    pub fn nonces_remembered(&self) -> usize {
        self.replay.len()
    }

    /// Checks `token` at `now` (Unix seconds) and, if it passes, records its nonce and returns
    /// the party and the request object (without `iat` and `nonce`).
    ///
    /// The same as [`JwsVerifier::parse`] → [`Unverified::check`] → [`JwsVerifier::admit`]; the
    /// bridge runs the middle step (the ECDSA verification, ~0.1–0.3 ms) without holding the
    /// verifier, so that requests are verified in parallel.
    pub fn verify(&mut self, token: &[u8], now: u64) -> Result<Authenticated, AuthError> {
        let checked = self.parse(token)?.check(now)?;
        self.admit(checked, now)
    }

    /// First step (cheap, read-only): size, structure, header, algorithm and key lookup.
    pub fn parse(&self, token: &[u8]) -> Result<Unverified, AuthError> {
        let max = self.config.max_token_bytes;
        if token.len() > max {
            return Err(AuthError::TooLarge { len: token.len(), max });
        }
        let token = std::str::from_utf8(token)
            .map_err(|_| malformed("the request is not UTF-8 text"))?
            .trim_ascii();
        let parts: Vec<&str> = token.split('.').collect();
        let [h64, p64, s64] = parts[..] else {
            return Err(malformed(format!(
                "expected a JWS compact serialization: three base64url parts separated by '.' \
                 (header.payload.signature), found {} part(s)",
                parts.len()
            )));
        };
        let header: Map<String, Value> = serde_json::from_slice(&b64(h64, "header")?)
            .map_err(|_| malformed("the header is not a JSON object"))?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("the header has no \"alg\"; use \"ES256\""))?;
        if alg != "ES256" {
            return Err(AuthError::UnsupportedAlgorithm(alg.to_string()));
        }
        if header.contains_key("crit") {
            return Err(malformed("the header lists \"crit\" extensions; none are supported"));
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("the header has no \"kid\" (your key id)"))?;
        let registered = self.keys.get(kid).ok_or_else(|| AuthError::UnknownKey(kid.into()))?;
        Ok(Unverified {
            kid: kid.to_owned(),
            party: registered.party.clone(),
            key: registered.key,
            signing_input: format!("{h64}.{p64}"),
            payload_len: p64.len(),
            signature: s64.to_owned(),
            config: self.config.clone(),
        })
    }

    /// Last step (needs `&mut`, quick): records the nonce; a nonce seen before is a replay.
    pub fn admit(&mut self, c: Verified, now: u64) -> Result<Authenticated, AuthError> {
        let skew = self.config.max_skew_secs;
        match self.replay.insert(
            &c.kid,
            &c.nonce,
            c.iat.saturating_add(skew).saturating_add(1),
            now,
        ) {
            Ok(()) => {}
            Err(ReplayRefusal::Replayed) => return Err(AuthError::Replayed),
            Err(ReplayRefusal::Full) => return Err(AuthError::ReplayCacheFull),
        }
        Ok(Authenticated {
            party: c.party,
            key_id: Some(c.kid),
            request: c.request,
            iat: Some(c.iat),
            nonce: Some(c.nonce),
        })
    }
}

/// A token whose structure and key id are fine, its signature not yet checked
/// ([`JwsVerifier::parse`]). Owns what the check needs, so it can move to another thread.
#[derive(Debug, Clone)]
pub struct Unverified {
    kid: String,
    party: crate::grants::PartyId,
    key: p256::ecdsa::VerifyingKey,
    signing_input: String,
    payload_len: usize,
    signature: String,
    config: JwsConfig,
}

/// A token whose signature verified and whose `iat` is within the skew; its nonce not yet
/// recorded ([`JwsVerifier::admit`]).
#[derive(Debug, Clone)]
pub struct Verified {
    kid: String,
    party: crate::grants::PartyId,
    request: Map<String, Value>,
    iat: u64,
    nonce: String,
}

impl Unverified {
    /// The signature (ECDSA P-256 over the signing input), then the payload: a JSON object with
    /// `iat` within the skew of `now` and a `nonce`. Read-only, no shared state.
    pub fn check(self, now: u64) -> Result<Verified, AuthError> {
        let kid = self.kid;
        let sig = b64(&self.signature, "signature")?;
        if sig.len() != 64 {
            return Err(malformed(format!(
                "an ES256 signature is 64 bytes (r ‖ s, not DER), found {}",
                sig.len()
            )));
        }
        Signature::from_slice(&sig)
            .ok()
            .filter(|s| self.key.verify(self.signing_input.as_bytes(), s).is_ok())
            .ok_or_else(|| AuthError::BadSignature(kid.clone()))?;
        let p64 = self
            .signing_input
            .get(self.signing_input.len() - self.payload_len..)
            .unwrap_or_default();
        let mut request: Map<String, Value> = serde_json::from_slice(&b64(p64, "payload")?)
            .map_err(|_| malformed("the payload is not a JSON object"))?;
        let iat = request.remove("iat").as_ref().and_then(numeric_date).ok_or_else(|| {
            malformed("the payload needs \"iat\": the issue time in Unix seconds")
        })?;
        let nonce = match request.remove("nonce") {
            Some(Value::String(n)) if !n.is_empty() && n.len() <= self.config.max_nonce_len => n,
            _ => {
                return Err(malformed(format!(
                    "the payload needs \"nonce\": a string of 1 to {} bytes, new for every request",
                    self.config.max_nonce_len
                )))
            }
        };
        let skew = self.config.max_skew_secs;
        if iat > now.saturating_add(skew) {
            return Err(AuthError::IssuedInFuture { secs: iat - now, skew });
        }
        if now > iat.saturating_add(skew) {
            return Err(AuthError::TooOld { secs: now - iat, skew });
        }
        Ok(Verified { kid, party: self.party, request, iat, nonce })
    }
}

/// Signs `header` and exactly `payload` as a JWS compact serialization with ES256. The header
/// is used as given: tests use this to make tokens the verifier must refuse.
pub fn sign_compact(key: &SigningKey, header: &Value, payload: &[u8]) -> String {
    let mut out = URL_SAFE_NO_PAD.encode(header.to_string());
    out.push('.');
    out.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let sig: Signature = key.sign(out.as_bytes());
    out.push('.');
    out.push_str(&URL_SAFE_NO_PAD.encode(sig.to_bytes()));
    out
}

/// Signs `request` with an explicit `iat` and `nonce` (which replace any in `request`).
pub fn sign_request_at(
    key: &SigningKey,
    kid: &str,
    request: &Value,
    iat: u64,
    nonce: &str,
) -> String {
    let mut payload = request.clone();
    if let Some(obj) = payload.as_object_mut() {
        obj.insert("iat".into(), iat.into());
        obj.insert("nonce".into(), nonce.into());
    }
    let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": kid});
    sign_compact(key, &header, payload.to_string().as_bytes())
}

/// A fresh random nonce: 128 bits, base64url.
pub fn random_nonce() -> String {
    URL_SAFE_NO_PAD.encode(<[u8; 16]>::generate())
}

/// Signs a request object for `jws` mode: adds `iat` (the system clock) and a random `nonce`
/// unless `request` has them, and signs with ES256 under key id `kid`. A `request` that is not
/// a JSON object is signed as it is (and will be refused by the gateway).
pub fn sign_request(key: &SigningKey, kid: &str, request: &Value) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let iat = request.get("iat").and_then(numeric_date).unwrap_or(now);
    let nonce = match request.get("nonce").and_then(Value::as_str) {
        Some(n) => n.to_string(),
        None => random_nonce(),
    };
    if request.is_object() {
        sign_request_at(key, kid, request, iat, &nonce)
    } else {
        let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": kid});
        sign_compact(key, &header, request.to_string().as_bytes())
    }
}
