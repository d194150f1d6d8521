//! Cross-check of the `jws` mode against an independent implementation: PyJWT with the
//! `cryptography` backend signs requests that the gateway verifies, and verifies requests the
//! gateway signs; keys go both ways as PEM and JWK.
//!
//! PyJWT comes from the shared cross-check virtualenv (`xcheck`, created on first use in
//! `target/pyenv`); `ZSE_SKIP_PY_XCHECK=1` skips the test on an offline machine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::{SystemTime, UNIX_EPOCH};

use gateway::auth::keys::{public_key_pem, signing_key_to_pem};
use gateway::auth::{
    generate_signing_key, sign_request, AuthError, JwsConfig, JwsVerifier, KeyRegistry,
};
use gateway::grants::PartyId;
use serde_json::{json, Value};

fn run_python(input: &Value) -> Value {
    let out = xcheck::run_python("gateway/tests/jws_pyjwt.py", &input.to_string());
    serde_json::from_str(&out).unwrap()
}

#[test]
fn pyjwt_and_gateway_agree_on_es256_jws() {
    if xcheck::skip_python() {
        eprintln!("ZSE_SKIP_PY_XCHECK=1: skipping the PyJWT cross-check");
        return;
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let sk = generate_signing_key();
    let kid = "rep-2026-01";
    let request = json!({
        "transaction": "x-1",
        "esi_ids": ["10443720000000001"],
        "priority": "high",
        "text": "Conservation event 3–6 pm ⚡",
    });
    let rust_token = sign_request(&sk, kid, &request);
    let mut payload = request.clone();
    payload["iat"] = now.into();
    payload["nonce"] = "py-nonce-1".into();
    let out = run_python(&json!({
        "kid": kid,
        "payload": payload,
        "rust_token": rust_token,
        "rust_public_pem": public_key_pem(sk.verifying_key()),
        "rust_private_pem": signing_key_to_pem(&sk).as_str(),
    }));

    // PyJWT verified the gateway's token and read the same claims and header.
    let claims = &out["rust_token_claims"];
    for (k, v) in request.as_object().unwrap() {
        assert_eq!(&claims[k], v, "claim {k}");
    }
    assert!(claims["nonce"].is_string());
    assert!(claims["iat"].as_u64().unwrap().abs_diff(now) <= 5);
    assert_eq!(out["rust_token_header"]["alg"], "ES256");
    assert_eq!(out["rust_token_header"]["kid"], kid);

    // The gateway verifies PyJWT's token made with the gateway's key...
    let mut keys = KeyRegistry::new();
    keys.insert(kid, PartyId::new("rep"), *sk.verifying_key());
    // ...and with Python's own key, given once as PEM and once as JWK.
    let py_kid = out["py_kid"].as_str().unwrap();
    keys.insert_pem(py_kid, PartyId::new("tp"), out["py_public_pem"].as_str().unwrap()).unwrap();
    let mut v = JwsVerifier::new(keys, JwsConfig::default());
    let a = v.verify(out["token_rust_key"].as_str().unwrap().as_bytes(), now).unwrap();
    assert_eq!(a.party, PartyId::new("rep"));
    assert_eq!(Value::Object(a.request), request);
    assert_eq!(a.nonce.as_deref(), Some("py-nonce-1"));
    let token_py = out["token_py_key"].as_str().unwrap();
    let a = v.verify(token_py.as_bytes(), now).unwrap();
    assert_eq!(a.party, PartyId::new("tp"));
    assert_eq!(Value::Object(a.request), request);
    assert_eq!(v.verify(token_py.as_bytes(), now), Err(AuthError::Replayed));

    let mut keys = KeyRegistry::new();
    keys.insert_jwk(py_kid, PartyId::new("tp"), &out["py_jwk"]).unwrap();
    let mut v = JwsVerifier::new(keys, JwsConfig::default());
    assert_eq!(v.verify(token_py.as_bytes(), now).unwrap().party, PartyId::new("tp"));

    // A PyJWT token under the wrong key id does not verify.
    let mut keys = KeyRegistry::new();
    keys.insert(py_kid, PartyId::new("tp"), *sk.verifying_key());
    let mut v = JwsVerifier::new(keys, JwsConfig::default());
    assert_eq!(v.verify(token_py.as_bytes(), now), Err(AuthError::BadSignature(py_kid.into())));
}
