use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use p256::ecdsa::SigningKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::jws::{sign_compact, sign_request_at};
use super::keys::public_key_pem;
use super::*;

const NOW: u64 = 1_800_000_000;

fn setup() -> (SigningKey, JwsVerifier) {
    let sk = generate_signing_key();
    let mut keys = KeyRegistry::new();
    keys.insert("rep-key-1", PartyId::new("rep"), *sk.verifying_key());
    (sk, JwsVerifier::new(keys, JwsConfig::default()))
}

fn request() -> Value {
    json!({"transaction": "t1", "esi_ids": ["1008901"], "text": "Peak at 4 pm", "priority": "high"})
}

fn code(r: Result<Authenticated, AuthError>) -> ErrorCode {
    r.map(|a| a.party).unwrap_err().code()
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(msg).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().to_vec()
}

#[test]
fn valid_token_is_accepted_and_stripped_of_iat_and_nonce() {
    let (sk, mut v) = setup();
    let token = sign_request_at(&sk, "rep-key-1", &request(), NOW - 5, "n-1");
    let a = v.verify(token.as_bytes(), NOW).unwrap();
    assert_eq!(a.party, PartyId::new("rep"));
    assert_eq!(a.key_id.as_deref(), Some("rep-key-1"));
    assert_eq!(a.iat, Some(NOW - 5));
    assert_eq!(a.nonce.as_deref(), Some("n-1"));
    assert_eq!(Value::Object(a.request), request());
    // sign_request fills iat from the clock and a random nonce.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let t1 = sign_request(&sk, "rep-key-1", &request());
    let t2 = sign_request(&sk, "rep-key-1", &request());
    assert_ne!(t1, t2);
    v.verify(t1.as_bytes(), now).unwrap();
    v.verify(t2.as_bytes(), now).unwrap();
    // A trailing newline (as `mosquitto_pub -l` sends) is tolerated.
    let t3 = sign_request_at(&sk, "rep-key-1", &request(), NOW, "n-3") + "\n";
    v.verify(t3.as_bytes(), NOW).unwrap();
}

#[test]
fn wrong_key_is_not_authorized() {
    let (_sk, mut v) = setup();
    let other = generate_signing_key();
    let token = sign_request_at(&other, "rep-key-1", &request(), NOW, "n");
    let e = v.verify(token.as_bytes(), NOW).unwrap_err();
    assert_eq!(e, AuthError::BadSignature("rep-key-1".into()));
    assert_eq!(e.to_string(), "signature does not verify for key id rep-key-1");
    assert_eq!(e.code(), ErrorCode::NotAuthorized);
    let token = sign_request_at(&other, "who", &request(), NOW, "n");
    assert_eq!(v.verify(token.as_bytes(), NOW), Err(AuthError::UnknownKey("who".into())));
}

#[test]
fn tampered_payload_header_or_signature_is_not_authorized() {
    let (sk, mut v) = setup();
    let token = sign_request_at(&sk, "rep-key-1", &request(), NOW, "n");
    let parts: Vec<&str> = token.split('.').collect();
    let mut evil = request();
    evil["priority"] = "low".into();
    evil["iat"] = NOW.into();
    evil["nonce"] = "n".into();
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(evil.to_string()), parts[2]);
    assert_eq!(code(v.verify(forged.as_bytes(), NOW)), ErrorCode::NotAuthorized);
    // A different (still ES256) header is covered by the signature too.
    let h2 = URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": "rep-key-1"}).to_string());
    let forged = format!("{h2}.{}.{}", parts[1], parts[2]);
    assert_eq!(code(v.verify(forged.as_bytes(), NOW)), ErrorCode::NotAuthorized);
    // Flip one bit of the signature.
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[10] ^= 1;
    let forged = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&sig));
    assert_eq!(code(v.verify(forged.as_bytes(), NOW)), ErrorCode::NotAuthorized);
    // The untampered token still passes (nothing above consumed its nonce).
    v.verify(token.as_bytes(), NOW).unwrap();
}

#[test]
fn alg_none_hs256_and_others_are_refused() {
    let (sk, mut v) = setup();
    let mut payload = request();
    payload["iat"] = NOW.into();
    payload["nonce"] = "n".into();
    let p64 = URL_SAFE_NO_PAD.encode(payload.to_string());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let h64 = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "kid": "rep-key-1"}).to_string());
        let e = v.verify(format!("{h64}.{p64}.").as_bytes(), NOW).unwrap_err();
        assert_eq!(e, AuthError::UnsupportedAlgorithm(alg.into()));
        assert_eq!(e.code(), ErrorCode::NotAuthorized, "{alg}: {e}");
        // Without the final '.', it is not even a JWS.
        let e = v.verify(format!("{h64}.{p64}").as_bytes(), NOW).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadRequest, "{alg}: {e}");
    }
    // HS256 keyed with the public key's PEM: the classic algorithm-confusion forgery.
    let pem = public_key_pem(sk.verifying_key());
    let h64 = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "kid": "rep-key-1"}).to_string());
    let mac = hmac_sha256(pem.as_bytes(), format!("{h64}.{p64}").as_bytes());
    let token = format!("{h64}.{p64}.{}", URL_SAFE_NO_PAD.encode(mac));
    let e = v.verify(token.as_bytes(), NOW).unwrap_err();
    assert_eq!(e, AuthError::UnsupportedAlgorithm("HS256".into()));
    assert_eq!(e.code(), ErrorCode::NotAuthorized);
    // Other algorithms, even when signed with the right key.
    for alg in ["ES384", "ES512", "RS256", "PS256", "EdDSA", "es256", "HS512"] {
        let token = sign_compact(
            &sk,
            &json!({"alg": alg, "kid": "rep-key-1"}),
            payload.to_string().as_bytes(),
        );
        assert_eq!(
            v.verify(token.as_bytes(), NOW),
            Err(AuthError::UnsupportedAlgorithm(alg.into()))
        );
    }
    // `alg` missing or not a string.
    for h in [json!({"kid": "rep-key-1"}), json!({"alg": 256, "kid": "rep-key-1"})] {
        let token = sign_compact(&sk, &h, payload.to_string().as_bytes());
        assert_eq!(code(v.verify(token.as_bytes(), NOW)), ErrorCode::BadRequest);
    }
    // `crit` extensions are not understood, so refused (RFC 7515 §4.1.11).
    let h = json!({"alg": "ES256", "kid": "rep-key-1", "crit": ["b64"], "b64": false});
    let token = sign_compact(&sk, &h, payload.to_string().as_bytes());
    assert_eq!(code(v.verify(token.as_bytes(), NOW)), ErrorCode::BadRequest);
    // An embedded key is ignored: the registry's key decides.
    let attacker = generate_signing_key();
    let h = json!({"alg": "ES256", "kid": "rep-key-1",
                   "jwk": keys::public_jwk(attacker.verifying_key(), None)});
    let token = sign_compact(&attacker, &h, payload.to_string().as_bytes());
    assert_eq!(code(v.verify(token.as_bytes(), NOW)), ErrorCode::NotAuthorized);
}

#[test]
fn iat_outside_the_skew_is_refused_with_the_distance() {
    let (sk, mut v) = setup();
    let t = sign_request_at(&sk, "rep-key-1", &request(), NOW + 412, "a");
    let e = v.verify(t.as_bytes(), NOW).unwrap_err();
    assert_eq!(e, AuthError::IssuedInFuture { secs: 412, skew: 300 });
    assert!(e.to_string().starts_with("token issued 412 s in the future"), "{e}");
    assert_eq!(e.code(), ErrorCode::NotAuthorized);
    let t = sign_request_at(&sk, "rep-key-1", &request(), NOW - 301, "b");
    let e = v.verify(t.as_bytes(), NOW).unwrap_err();
    assert_eq!(e, AuthError::TooOld { secs: 301, skew: 300 });
    // The edges of the window are inside.
    for (iat, n) in [(NOW + 300, "c"), (NOW - 300, "d")] {
        let t = sign_request_at(&sk, "rep-key-1", &request(), iat, n);
        v.verify(t.as_bytes(), NOW).unwrap();
    }
    // The skew is configurable.
    let mut keys = KeyRegistry::new();
    keys.insert("k", PartyId::new("rep"), *sk.verifying_key());
    let mut strict =
        JwsVerifier::new(keys, JwsConfig { max_skew_secs: 10, ..JwsConfig::default() });
    let t = sign_request_at(&sk, "k", &request(), NOW - 11, "e");
    assert_eq!(strict.verify(t.as_bytes(), NOW), Err(AuthError::TooOld { secs: 11, skew: 10 }));
    // A fractional iat (allowed by RFC 7519) is truncated; a negative or textual one is refused.
    let mut p = request();
    p["iat"] = json!(1_800_000_000.75_f64);
    p["nonce"] = "f".into();
    let t =
        sign_compact(&sk, &json!({"alg": "ES256", "kid": "rep-key-1"}), p.to_string().as_bytes());
    assert_eq!(v.verify(t.as_bytes(), NOW).unwrap().iat, Some(NOW));
    for bad in [json!(-5), json!("1800000000"), Value::Null] {
        p["iat"] = bad;
        p["nonce"] = "g".into();
        let t = sign_compact(
            &sk,
            &json!({"alg": "ES256", "kid": "rep-key-1"}),
            p.to_string().as_bytes(),
        );
        assert_eq!(code(v.verify(t.as_bytes(), NOW)), ErrorCode::BadRequest);
    }
}

#[test]
fn replayed_nonce_is_refused_within_the_window_only() {
    let (sk, mut v) = setup();
    let t = sign_request_at(&sk, "rep-key-1", &request(), NOW, "once");
    v.verify(t.as_bytes(), NOW).unwrap();
    let e = v.verify(t.as_bytes(), NOW + 1).unwrap_err();
    assert_eq!(e, AuthError::Replayed);
    assert_eq!(e.to_string(), "nonce already used; sign every request with a new nonce");
    assert_eq!(e.code(), ErrorCode::NotAuthorized);
    // Same nonce, different content: still a replay.
    let mut other = request();
    other["text"] = "other".into();
    let t2 = sign_request_at(&sk, "rep-key-1", &other, NOW + 2, "once");
    assert_eq!(v.verify(t2.as_bytes(), NOW + 2), Err(AuthError::Replayed));
    // When the token has aged out, the iat check refuses it, and the nonce has been forgotten.
    assert!(matches!(v.verify(t.as_bytes(), NOW + 301), Err(AuthError::TooOld { .. })));
    let t3 = sign_request_at(&sk, "rep-key-1", &request(), NOW + 400, "once");
    v.verify(t3.as_bytes(), NOW + 400).unwrap();
    assert_eq!(v.nonces_remembered(), 1, "the first 'once' expired at NOW + 301");
}

#[test]
fn replay_cache_full_is_rate_limited() {
    let sk = generate_signing_key();
    let mut keys = KeyRegistry::new();
    keys.insert("k", PartyId::new("rep"), *sk.verifying_key());
    let mut v = JwsVerifier::new(keys, JwsConfig { max_nonces: 2, ..JwsConfig::default() });
    for n in ["a", "b"] {
        v.verify(sign_request_at(&sk, "k", &request(), NOW, n).as_bytes(), NOW).unwrap();
    }
    let e = v.verify(sign_request_at(&sk, "k", &request(), NOW, "c").as_bytes(), NOW).unwrap_err();
    assert_eq!(e.code(), ErrorCode::RateLimited);
}

#[test]
fn oversize_and_malformed_tokens_are_bad_requests() {
    let (sk, mut v) = setup();
    let mut big = request();
    big["text"] = "x".repeat(70 * 1024).into();
    let t = sign_request_at(&sk, "rep-key-1", &big, NOW, "n");
    let e = v.verify(t.as_bytes(), NOW).unwrap_err();
    assert!(matches!(e, AuthError::TooLarge { max: 65536, .. }), "{e}");
    assert_eq!(e.code(), ErrorCode::BadRequest);

    let good = sign_request_at(&sk, "rep-key-1", &request(), NOW, "n");
    let parts: Vec<&str> = good.split('.').collect();
    let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "three base64url parts"),
        ("{\"transaction\":1}".into(), "three base64url parts"),
        (format!("{}.{}", parts[0], parts[1]), "three base64url parts"),
        (format!("{good}.extra"), "three base64url parts"),
        (format!("!!!.{}.{}", parts[1], parts[2]), "header is not base64url"),
        // Padded base64 is not base64url as JWS uses it.
        (
            format!(
                "{}.{}.{}",
                URL_SAFE.encode(r#"{"alg":"ES256","kid":"rep-key-1" }"#),
                parts[1],
                parts[2]
            ),
            "header is not base64url",
        ),
        (format!("{}.{}.{}", b64("not json"), parts[1], parts[2]), "header is not a JSON object"),
        (format!("{}.{}.{}", b64("[1,2]"), parts[1], parts[2]), "header is not a JSON object"),
        (format!("{}.{}.{}", b64(r#"{"alg":"ES256"}"#), parts[1], parts[2]), "no \"kid\""),
        (format!("{}.{}.%%%", parts[0], parts[1]), "signature is not base64url"),
        (format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode([0u8; 70])), "64 bytes"),
    ];
    for (token, expect) in cases {
        let e = v.verify(token.as_bytes(), NOW).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadRequest, "{token:?}: {e}");
        assert!(e.to_string().contains(expect), "{token:?}: {e} (wanted {expect:?})");
    }
    assert_eq!(code(v.verify(&[0xff, 0xfe, b'.'], NOW)), ErrorCode::BadRequest);

    // Correctly signed, but the payload is not a usable request.
    let h = json!({"alg": "ES256", "kid": "rep-key-1"});
    for (payload, expect) in [
        ("not json", "payload is not a JSON object"),
        ("[1]", "payload is not a JSON object"),
        (r#"{"nonce":"n"}"#, "\"iat\""),
        (&format!(r#"{{"iat":{NOW}}}"#), "\"nonce\""),
        (&format!(r#"{{"iat":{NOW},"nonce":""}}"#), "\"nonce\""),
        (&format!(r#"{{"iat":{NOW},"nonce":7}}"#), "\"nonce\""),
        (&format!(r#"{{"iat":{NOW},"nonce":"{}"}}"#, "n".repeat(129)), "\"nonce\""),
    ] {
        let t = sign_compact(&sk, &h, payload.as_bytes());
        let e = v.verify(t.as_bytes(), NOW).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadRequest, "{payload}: {e}");
        assert!(e.to_string().contains(expect), "{payload}: {e}");
    }
    // An all-zero signature of the right size is simply invalid.
    let t = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode([0u8; 64]));
    assert_eq!(code(v.verify(t.as_bytes(), NOW)), ErrorCode::NotAuthorized);
}

#[test]
fn api_error_from_auth_error() {
    let e: ApiError = AuthError::Replayed.into();
    assert_eq!(e.code, ErrorCode::NotAuthorized);
    assert_eq!(e.message, "nonce already used; sign every request with a new nonce");
}

#[test]
fn trusted_broker_maps_identities() {
    let t = TrustedBroker::new(
        serde_json::from_value::<Vec<TrustedIdentity>>(json!([
            {"username": "rep-a", "party": "rep"},
            {"client_id": "tdsp-headend", "party": "tdsp"},
        ]))
        .unwrap(),
        1024,
    )
    .unwrap();
    let mut auth = Authenticator::TrustedBroker(t);
    let body = request().to_string();
    let id = ClientIdentity { username: Some("rep-a"), client_id: Some("tdsp-headend") };
    // The username (authenticated by the broker) wins over the client id.
    assert_eq!(auth.authenticate(&id, body.as_bytes(), NOW).unwrap().party, PartyId::new("rep"));
    let id = ClientIdentity { username: Some("someone"), client_id: Some("tdsp-headend") };
    assert_eq!(auth.authenticate(&id, body.as_bytes(), NOW).unwrap().party, PartyId::new("tdsp"));
    let id = ClientIdentity { username: Some("mallory"), client_id: None };
    let e = auth.authenticate(&id, body.as_bytes(), NOW).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotAuthorized);
    assert!(e.to_string().contains("mallory"));
    let id = ClientIdentity { username: Some("rep-a"), client_id: None };
    assert_eq!(code(auth.authenticate(&id, b"[]", NOW)), ErrorCode::BadRequest);
    assert_eq!(code(auth.authenticate(&id, &[b' '; 2000], NOW)), ErrorCode::BadRequest);
    // Configuration errors.
    let both = TrustedIdentity {
        username: Some("a".into()),
        client_id: Some("b".into()),
        party: PartyId::new("p"),
    };
    assert!(TrustedBroker::new([both], 10).is_err());
    let a =
        TrustedIdentity { username: Some("a".into()), client_id: None, party: PartyId::new("p") };
    assert!(TrustedBroker::new([a.clone(), a], 10).is_err());
}

#[test]
fn jws_mode_through_the_authenticator() {
    let (sk, v) = setup();
    let mut auth = Authenticator::Jws(v);
    let t = sign_request_at(&sk, "rep-key-1", &request(), NOW, "n");
    // The broker identity does not matter in jws mode.
    let id = ClientIdentity { username: Some("anyone"), client_id: None };
    assert_eq!(auth.authenticate(&id, t.as_bytes(), NOW).unwrap().party, PartyId::new("rep"));
    assert_eq!(
        code(auth.authenticate(&id, request().to_string().as_bytes(), NOW)),
        ErrorCode::BadRequest
    );
}
