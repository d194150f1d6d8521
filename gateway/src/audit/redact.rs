//! Keeping secrets out of logs: install codes (from which link keys derive), keys, passwords,
//! and signed tokens (a JWS payload is only base64url, so a logged token would leak the
//! install code inside it).

use serde_json::Value;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Whether a JSON member name holds a secret (case and `-`/`_` insensitive).
fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('-', "_");
    const EXACT: [&str; 7] = ["key", "jws", "signature", "pin", "pem", "jwk", "credentials"];
    const PARTS: [&str; 7] =
        ["install_code", "installcode", "secret", "password", "passwd", "passphrase", "token"];
    EXACT.contains(&n.as_str())
        || n.ends_with("_key")
        || n.ends_with("key_pem")
        || PARTS.iter().any(|p| n.contains(p))
        || n == "qr"
        || n.ends_with("_qr")
}

/// A string that looks like a JWS compact serialization: three base64url runs joined by dots,
/// the first starting like a JSON object (`eyJ`).
fn looks_like_jws(s: &str) -> bool {
    let parts: Vec<&str> = s.trim().split('.').collect();
    parts.len() == 3
        && parts.first().is_some_and(|h| h.starts_with("eyJ"))
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        && s.len() > 40
}

/// Replaces secrets in `v`, recursively: the values of secret-named members (see the list in
/// the source: `install_code`, `link_key`, `*_key`, `password`, `secret`, `token`, …) and any
/// string that looks like a signed token.
pub fn redact_in_place(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if is_secret_name(k) && !val.is_null() {
                    *val = Value::String(REDACTED.into());
                } else {
                    redact_in_place(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_in_place),
        Value::String(s) if looks_like_jws(s) => *s = REDACTED.into(),
        _ => {}
    }
}

/// A redacted copy of `v`.
pub fn redact(v: &Value) -> Value {
    let mut out = v.clone();
    redact_in_place(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_replaced_everywhere() {
        let v = json!({
            "esi_id": "1008901", "eui64": "000d6f000abcdef0", "label": "kitchen IHD",
            "install_code": "83FED3407A939723A5C639B26916D505C3B5",
            "Install-Code": "x",
            "devices": [{"eui64": "1", "installCode": "y", "link_key": "66B6…"}],
            "auth": {"private_key": "-----BEGIN PRIVATE KEY-----", "password": "hunter2", "Key": "k"},
            "raw": "eyJhbGciOiJFUzI1NiJ9.eyJpbnN0YWxsX2NvZGUiOiI4M0ZFIn0.c2lnbmF0dXJlc2lnbmF0dXJl",
            "reason": "customer_request", "install_code_present": null,
        });
        let r = redact(&v);
        assert_eq!(r["install_code"], REDACTED);
        assert_eq!(r["Install-Code"], REDACTED);
        assert_eq!(r["devices"][0]["installCode"], REDACTED);
        assert_eq!(r["devices"][0]["link_key"], REDACTED);
        assert_eq!(r["devices"][0]["eui64"], "1");
        assert_eq!(r["auth"]["private_key"], REDACTED);
        assert_eq!(r["auth"]["password"], REDACTED);
        assert_eq!(r["auth"]["Key"], REDACTED);
        assert_eq!(r["raw"], REDACTED);
        assert_eq!(r["label"], "kitchen IHD");
        assert_eq!(r["reason"], "customer_request");
        assert_eq!(r["esi_id"], "1008901");
        assert!(r["install_code_present"].is_null());
        assert!(!r.to_string().contains("83FED340"));
    }

    #[test]
    fn ordinary_text_with_dots_is_kept() {
        let v = json!({"text": "Peak 4.30 pm. Save now.", "version": "1.2.3"});
        assert_eq!(redact(&v), v);
    }
}
