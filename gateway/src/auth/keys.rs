//! Parties' public keys, by key id (`kid`), and helpers to create and exchange P-256 keys.
//!
//! Keys come as PEM (`-----BEGIN PUBLIC KEY-----`, SubjectPublicKeyInfo, what `openssl ec
//! -pubout` and Python's `cryptography` write) or as a JWK (`{"kty": "EC", "crv": "P-256", "x",
//! "y"}`, RFC 7517/7518 §6.2). Only P-256 is accepted: ES256 is the one algorithm of the API.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::elliptic_curve::zeroize::Zeroizing;
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::grants::PartyId;

/// A key could not be read or is not a P-256 public key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a P-256 public key in PEM (expected -----BEGIN PUBLIC KEY-----)")]
    BadPem,
    #[error("not a P-256 private key in PKCS#8 PEM (expected -----BEGIN PRIVATE KEY-----)")]
    BadPrivatePem,
    #[error("JWK: {0}")]
    BadJwk(String),
    #[error("key {kid:?}: {reason}")]
    Spec { kid: String, reason: String },
}

/// A party's public key as configured: `{"kid", "party", "pem"}` or `{"kid", "party", "jwk"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    pub kid: String,
    pub party: PartyId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwk: Option<Value>,
}

/// A registered public key and the party it speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredKey {
    pub party: PartyId,
    pub key: VerifyingKey,
}

/// Public keys by key id. A party may hold several keys (rotation); a key id names one key.
#[derive(Debug, Clone, Default)]
pub struct KeyRegistry {
    keys: HashMap<String, RegisteredKey>,
}

impl KeyRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a registry from configuration; every error names the key id.
    pub fn from_specs(specs: impl IntoIterator<Item = KeySpec>) -> Result<Self, KeyError> {
        let mut r = Self::new();
        for s in specs {
            let spec_err = |reason: String| KeyError::Spec { kid: s.kid.clone(), reason };
            let key = match (&s.pem, &s.jwk) {
                (Some(pem), None) => verifying_key_from_pem(pem),
                (None, Some(jwk)) => verifying_key_from_jwk(jwk),
                _ => return Err(spec_err("give exactly one of `pem` and `jwk`".into())),
            }
            .map_err(|e| spec_err(e.to_string()))?;
            if r.keys.contains_key(&s.kid) {
                return Err(spec_err("key id configured twice".into()));
            }
            r.insert(s.kid, s.party, key);
        }
        Ok(r)
    }

    /// Adds or replaces the key with this id; returns the one it replaced.
    pub fn insert(
        &mut self,
        kid: impl Into<String>,
        party: PartyId,
        key: VerifyingKey,
    ) -> Option<RegisteredKey> {
        self.keys.insert(kid.into(), RegisteredKey { party, key })
    }

    pub fn insert_pem(
        &mut self,
        kid: impl Into<String>,
        party: PartyId,
        pem: &str,
    ) -> Result<(), KeyError> {
        self.insert(kid, party, verifying_key_from_pem(pem)?);
        Ok(())
    }

    pub fn insert_jwk(
        &mut self,
        kid: impl Into<String>,
        party: PartyId,
        jwk: &Value,
    ) -> Result<(), KeyError> {
        self.insert(kid, party, verifying_key_from_jwk(jwk)?);
        Ok(())
    }

    pub fn remove(&mut self, kid: &str) -> Option<RegisteredKey> {
        self.keys.remove(kid)
    }

    pub fn get(&self, kid: &str) -> Option<&RegisteredKey> {
        self.keys.get(kid)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A fresh P-256 key pair from the operating system's random source.
pub fn generate_signing_key() -> SigningKey {
    SigningKey::generate()
}

/// Reads a SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
pub fn verifying_key_from_pem(pem: &str) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_public_key_pem(pem.trim()).map_err(|_| KeyError::BadPem)
}

/// Reads a public P-256 JWK. A JWK carrying the private part (`d`) is refused: configure only
/// public keys on the gateway.
pub fn verifying_key_from_jwk(jwk: &Value) -> Result<VerifyingKey, KeyError> {
    let bad = |m: &str| KeyError::BadJwk(m.to_string());
    let obj = jwk.as_object().ok_or_else(|| bad("not a JSON object"))?;
    let field = |name: &str| obj.get(name).and_then(Value::as_str);
    if field("kty") != Some("EC") {
        return Err(bad("\"kty\" must be \"EC\""));
    }
    if field("crv") != Some("P-256") {
        return Err(bad("\"crv\" must be \"P-256\""));
    }
    if obj.contains_key("d") {
        return Err(bad("contains a private key (\"d\"); configure only the public part"));
    }
    let coord = |name: &str| -> Result<Vec<u8>, KeyError> {
        let text = field(name).ok_or_else(|| KeyError::BadJwk(format!("\"{name}\" missing")))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| KeyError::BadJwk(format!("\"{name}\" is not base64url")))?;
        if bytes.len() == 32 {
            Ok(bytes)
        } else {
            Err(KeyError::BadJwk(format!("\"{name}\" must be 32 bytes, found {}", bytes.len())))
        }
    };
    let mut sec1 = Vec::with_capacity(65);
    sec1.push(0x04);
    sec1.extend(coord("x")?);
    sec1.extend(coord("y")?);
    VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| bad("the point is not on the P-256 curve"))
}

/// The public key as SubjectPublicKeyInfo PEM.
pub fn public_key_pem(key: &VerifyingKey) -> String {
    // Encoding a valid point cannot fail; an empty string would be refused by any reader.
    key.to_public_key_pem(LineEnding::LF).unwrap_or_default()
}

/// The public key as a JWK (with `kid`, `alg` and `use` when a key id is given).
pub fn public_jwk(key: &VerifyingKey, kid: Option<&str>) -> Value {
    let point = key.to_sec1_point(false);
    let b64 =
        |c: Option<&p256::FieldBytes>| c.map(|b| URL_SAFE_NO_PAD.encode(b)).unwrap_or_default();
    let mut jwk = serde_json::json!({
        "kty": "EC",
        "crv": "P-256",
        "x": b64(point.x()),
        "y": b64(point.y()),
    });
    if let (Some(kid), Some(obj)) = (kid, jwk.as_object_mut()) {
        obj.insert("kid".into(), kid.into());
        obj.insert("alg".into(), "ES256".into());
        obj.insert("use".into(), "sig".into());
    }
    jwk
}

/// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), wiped from memory on drop.
pub fn signing_key_to_pem(key: &SigningKey) -> Zeroizing<String> {
    key.to_pkcs8_pem(LineEnding::LF).unwrap_or_default()
}

/// Reads a PKCS#8 PEM private key.
pub fn signing_key_from_pem(pem: &str) -> Result<SigningKey, KeyError> {
    SigningKey::from_pkcs8_pem(pem.trim()).map_err(|_| KeyError::BadPrivatePem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_and_jwk_round_trip() {
        let sk = generate_signing_key();
        let vk = *sk.verifying_key();
        let pem = public_key_pem(&vk);
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert_eq!(verifying_key_from_pem(&pem).unwrap(), vk);
        let jwk = public_jwk(&vk, Some("k1"));
        assert_eq!(jwk["kid"], "k1");
        assert_eq!(verifying_key_from_jwk(&jwk).unwrap(), vk);
        let spem = signing_key_to_pem(&sk);
        assert_eq!(signing_key_from_pem(&spem).unwrap().verifying_key(), &vk);
    }

    #[test]
    fn bad_keys_are_refused() {
        assert_eq!(verifying_key_from_pem("hello"), Err(KeyError::BadPem));
        let vk = *generate_signing_key().verifying_key();
        let mut jwk = public_jwk(&vk, None);
        jwk["d"] = "AAAA".into();
        assert!(
            matches!(verifying_key_from_jwk(&jwk), Err(KeyError::BadJwk(m)) if m.contains("private"))
        );
        let mut jwk = public_jwk(&vk, None);
        jwk["crv"] = "P-384".into();
        assert!(verifying_key_from_jwk(&jwk).is_err());
        let mut jwk = public_jwk(&vk, None);
        jwk["y"] = jwk["x"].clone(); // almost surely not on the curve
        assert!(verifying_key_from_jwk(&jwk).is_err());
    }

    #[test]
    fn registry_from_specs() {
        let vk = *generate_signing_key().verifying_key();
        let specs: Vec<KeySpec> = serde_json::from_value(serde_json::json!([
            {"kid": "a", "party": "rep", "pem": public_key_pem(&vk)},
            {"kid": "b", "party": "tp", "jwk": public_jwk(&vk, None)},
        ]))
        .unwrap();
        let r = KeyRegistry::from_specs(specs.clone()).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r.get("b").unwrap().party, PartyId::new("tp"));
        let dup = [specs[0].clone(), specs[0].clone()];
        assert!(
            matches!(KeyRegistry::from_specs(dup), Err(KeyError::Spec { kid, .. }) if kid == "a")
        );
        let mut neither = specs[0].clone();
        neither.pem = None;
        assert!(KeyRegistry::from_specs([neither]).is_err());
    }
}
