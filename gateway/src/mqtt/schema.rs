//! The JSON Schemas of `docs/schemas/` (draft 2020-12), compiled into the binary.
//!
//! Every request is validated against its action's schema before anything else reads it, so a
//! misspelt or mistyped member is answered `BAD_REQUEST` naming it instead of being ignored. The
//! tests validate every published payload (responses, events, retained state) against the
//! schemas too, so the documentation cannot drift from the wire.

use std::collections::HashMap;

use jsonschema::{Resource, Validator};
use serde_json::Value;

use crate::error::ApiError;

/// Where the schemas say they live (`$id` base).
pub const BASE: &str = "https://open-se-han.github.io/han-gateway/schemas/";

macro_rules! schemas {
    ($($path:literal),* $(,)?) => {
        /// Every schema file: path under `docs/schemas/` and contents.
        pub const FILES: &[(&str, &str)] = &[
            $(($path, include_str!(concat!("../../../docs/schemas/", $path)))),*
        ];
    };
}

schemas!(
    "common.json",
    "response.json",
    "request/message-send.json",
    "request/message-cancel.json",
    "request/message-status.json",
    "request/price-publish.json",
    "request/drlc-event.json",
    "request/drlc-cancel.json",
    "request/device-provision.json",
    "request/device-deprovision.json",
    "request/device-list.json",
    "request/meter-read.json",
    "request/meter-status.json",
    "request/group-create.json",
    "request/group-delete.json",
    "request/group-list.json",
    "request/grant-add.json",
    "request/grant-revoke.json",
    "request/grant-list.json",
    "request/esi-move_out.json",
    "request/audit-query.json",
    "data/message-send.json",
    "data/message-cancel.json",
    "data/message-status.json",
    "data/price-publish.json",
    "data/drlc-event.json",
    "data/drlc-cancel.json",
    "data/device-provision.json",
    "data/device-deprovision.json",
    "data/device-list.json",
    "data/meter-read.json",
    "data/meter-status.json",
    "data/group-create.json",
    "data/group-delete.json",
    "data/group-list.json",
    "data/grant-add.json",
    "data/grant-revoke.json",
    "data/grant-list.json",
    "data/esi-move_out.json",
    "data/audit-query.json",
    "event/delivery.json",
    "event/device.json",
    "event/meter.json",
    "event/drlc.json",
    "event/coordinator.json",
    "bridge/state.json",
    "bridge/info.json",
    "bridge/esis.json",
    "bridge/esi-status.json",
);

/// The file name of an action's schema (`message/send` → `message-send.json`).
pub fn action_file(action: &str) -> String {
    format!("{}.json", action.replace('/', "-"))
}

/// Member names whose values never appear in an error message.
const SECRET_FIELDS: [&str; 2] = ["install_code", "password"];

/// Compiled validators by path (`request/message-send.json`, …).
#[derive(Debug)]
pub struct Schemas {
    validators: HashMap<&'static str, Validator>,
}

impl Schemas {
    /// Compiles every schema; an error names the file (a build with a broken schema fails its
    /// tests, never a running gateway: the files are compiled in).
    pub fn load() -> Result<Self, String> {
        let mut resources = Vec::new();
        let mut parsed = Vec::new();
        for (path, text) in FILES {
            let v: Value =
                serde_json::from_str(text).map_err(|e| format!("schema {path}: not JSON: {e}"))?;
            let r =
                Resource::from_contents(v.clone()).map_err(|e| format!("schema {path}: {e}"))?;
            resources.push((format!("{BASE}{path}"), r));
            parsed.push((*path, v));
        }
        let mut validators = HashMap::new();
        for (path, v) in parsed {
            let opts = jsonschema::options()
                .should_validate_formats(true)
                .with_resources(resources.iter().map(|(u, r)| (u.clone(), r.clone())));
            let val = opts.build(&v).map_err(|e| format!("schema {path}: {e}"))?;
            validators.insert(path, val);
        }
        Ok(Self { validators })
    }

    pub fn get(&self, path: &str) -> Option<&Validator> {
        self.validators.get(path)
    }

    /// Checks a request body of `action`: `BAD_REQUEST` naming the first offending member.
    pub fn check_request(&self, action: &str, body: &Value) -> Result<(), ApiError> {
        let Some(v) = self.get(&format!("request/{}", action_file(action))) else {
            return Ok(());
        };
        let Some(e) = v.iter_errors(body).next() else { return Ok(()) };
        let path = e.instance_path.to_string();
        let field = path.trim_start_matches('/').replace('/', ".");
        // A message quotes the offending value: never when it is (or contains) a secret.
        let secrets: Vec<String> = SECRET_FIELDS
            .iter()
            .filter_map(|f| body.get(*f))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .filter(|s| s.len() >= 4)
            .collect();
        let text = e.to_string();
        let secret = SECRET_FIELDS.iter().any(|s| field.split('.').any(|p| p == *s))
            || secrets.iter().any(|s| text.contains(s.as_str()));
        let what = if secret {
            "has the wrong type or format".to_owned()
        } else {
            let mut m = text;
            if m.len() > 200 {
                let cut = (0..=200).rev().find(|i| m.is_char_boundary(*i)).unwrap_or(0);
                m.truncate(cut);
                m.push('…');
            }
            m
        };
        let at = if field.is_empty() { "request".to_owned() } else { field };
        Err(ApiError::bad_request(format!(
            "{at}: {what} (see the {action} schema in docs/schemas/request/{})",
            action_file(action)
        )))
    }

    /// Every error of `instance` against the schema at `path` (tests).
    pub fn errors(&self, path: &str, instance: &Value) -> Vec<String> {
        match self.get(path) {
            None => vec![format!("no schema {path}")],
            Some(v) => {
                v.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path)).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn every_schema_compiles_and_every_action_has_request_and_data_schemas() {
        let s = Schemas::load().unwrap();
        for a in super::super::actions::ACTIONS {
            let f = action_file(a.name);
            assert!(s.get(&format!("request/{f}")).is_some(), "request schema of {}", a.name);
            assert!(s.get(&format!("data/{f}")).is_some(), "data schema of {}", a.name);
        }
    }

    #[test]
    fn asyncapi_refers_only_to_existing_schemas() {
        let doc = include_str!("../../../docs/asyncapi.yaml");
        let mut n = 0;
        for part in doc.split("'./schemas/").skip(1) {
            let path = part.split('\'').next().unwrap();
            assert!(FILES.iter().any(|(p, _)| *p == path), "asyncapi.yaml refers to {path}");
            n += 1;
        }
        assert!(n > 40, "{n}");
    }

    #[test]
    fn request_errors_name_the_member_and_never_quote_secrets() {
        let s = Schemas::load().unwrap();
        let e = s
            .check_request(
                "message/send",
                &json!({"esi_ids": ["1"], "text": "x", "priorty": "high"}),
            )
            .unwrap_err();
        assert!(e.message.contains("priorty"), "{e}");
        let e = s
            .check_request("device/provision", &json!({"esi_id": "1", "meter_number": "M",
                "eui64": "000d6f0000000001", "install_code": ["83FED3407A939723A5C639B26916D505C3B5"]}))
            .unwrap_err();
        assert!(e.message.starts_with("install_code: has the wrong type"), "{e}");
        assert!(!e.message.contains("83FED340"), "{e}");
        let e = s
            .check_request(
                "device/provision",
                &json!({"esi_id": "1", "meter_number": "M",
                "eui64": "000d6f0000000001", "install_code": "83FED3407A939723A5C639B26916D505C3B5",
                "extra": true}),
            )
            .unwrap_err();
        assert!(!e.message.contains("83FED340"), "{e}");
        s.check_request("meter/read", &json!({"esi_id": "10443720000000000"})).unwrap();
    }
}
