//! The MQTT contract, checked on everything the portal saw during a run: every response,
//! event and retained payload against its JSON Schema (docs/schemas, as compiled into the
//! gateway library), and no install code of any simulated device in any payload (secrets
//! never go over MQTT).

use gateway::mqtt::schema::{action_file, Schemas};
use serde_json::{json, Value};

use crate::portal::Seen;

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contract {
    /// Payloads checked.
    pub checked: usize,
    /// One line per violation (topic and what is wrong; never the secret itself).
    pub violations: Vec<String>,
}

/// The schema of a payload on `rest` (the topic below `<base>/<gateway_id>/`) and the value
/// to check against it; `None` for topics the contract does not describe.
fn schema_of(rest: &str, s: &Seen) -> Option<Vec<(String, Value)>> {
    let v = s.json();
    if rest == "bridge/state" {
        let text = String::from_utf8_lossy(&s.payload).into_owned();
        return Some(vec![("bridge/state.json".into(), json!(text))]);
    }
    if rest == "bridge/info" || rest == "bridge/esis" {
        return Some(vec![(format!("{rest}.json"), v)]);
    }
    if rest.starts_with("esi/") && rest.ends_with("/status") {
        return Some(vec![("bridge/esi-status.json".into(), v)]);
    }
    if let Some(kind) = rest.strip_prefix("event/") {
        return Some(vec![(format!("event/{kind}.json"), v)]);
    }
    let action = rest.strip_prefix("response/")?;
    let mut out = Vec::new();
    if v.get("status").and_then(Value::as_str) == Some("ok") {
        if let Some(data) = v.get("data") {
            out.push((format!("data/{}", action_file(action)), data.clone()));
        }
    }
    out.push(("response.json".into(), v));
    Some(out)
}

/// Checks `seen` (messages under `root`) against the schemas; `secrets` must appear nowhere.
pub fn check(seen: &[Seen], root: &str, secrets: &[String]) -> Contract {
    let mut c = Contract::default();
    let schemas = match Schemas::load() {
        Ok(s) => s,
        Err(e) => {
            c.violations.push(format!("cannot load the JSON Schemas: {e}"));
            return c;
        }
    };
    let prefix = format!("{root}/");
    for s in seen {
        let text = String::from_utf8_lossy(&s.payload);
        if secrets.iter().any(|k| !k.is_empty() && text.to_uppercase().contains(&k.to_uppercase()))
        {
            c.violations.push(format!("{}: carries an install code", s.topic));
        }
        let Some(rest) = s.topic.strip_prefix(&prefix) else { continue };
        let Some(checks) = schema_of(rest, s) else { continue };
        c.checked += 1;
        for (path, value) in checks {
            for e in schemas.errors(&path, &value) {
                c.violations.push(format!("{} ({path}): {e}", s.topic));
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(topic: &str, payload: &str) -> Seen {
        Seen {
            topic: topic.into(),
            payload: bytes::Bytes::copy_from_slice(payload.as_bytes()),
            retain: false,
            at: std::time::Instant::now(),
        }
    }

    #[test]
    fn bad_payloads_and_secrets_are_found() {
        let good = seen("han/g/bridge/state", "online");
        let bad = seen("han/g/event/delivery", r#"{"state": "teleported"}"#);
        let leak = seen("han/g/response/device/provision", r#"{"x": "83fed3407a939723"}"#);
        let c = check(&[good, bad, leak], "han/g", &["83FED3407A939723".into()]);
        assert_eq!(c.checked, 3);
        assert!(c.violations.iter().any(|v| v.contains("event/delivery")), "{c:?}");
        assert!(c.violations.iter().any(|v| v.contains("carries an install code")), "{c:?}");
        assert!(!c.violations.iter().any(|v| v.contains("bridge/state")), "{c:?}");
    }
}
