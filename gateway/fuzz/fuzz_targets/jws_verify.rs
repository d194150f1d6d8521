//! MQTT request authentication: `JwsVerifier::verify` on arbitrary bytes, and on a token whose
//! payload is the arbitrary bytes under a valid signature (so decoding past the signature check
//! is reached too). Must return `Ok` or `Err`, never panic.
#![no_main]

use std::sync::OnceLock;

use gateway::auth::jws::sign_compact;
use gateway::auth::{JwsConfig, JwsVerifier, KeyRegistry};
use gateway::grants::PartyId;
use p256::ecdsa::SigningKey;

fn key() -> &'static SigningKey {
    static K: OnceLock<SigningKey> = OnceLock::new();
    K.get_or_init(|| SigningKey::from_slice(&[7u8; 32]).expect("a valid scalar"))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut keys = KeyRegistry::new();
    keys.insert("k1", PartyId::new("p".to_owned()), *key().verifying_key());
    let mut v = JwsVerifier::new(keys, JwsConfig::default());
    let _ = v.verify(data, 1_800_000_000);
    let header = serde_json::json!({"alg": "ES256", "kid": "k1"});
    let token = sign_compact(key(), &header, data);
    let _ = v.verify(token.as_bytes(), 1_800_000_000);
});
