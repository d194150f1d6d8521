//! MQTT request decoding after authentication: JSON, transaction split, the action's JSON
//! Schema, and the typed decode of every action's body.
#![no_main]

use std::sync::OnceLock;

use gateway::mqtt::actions::{decode, split_transaction, ACTIONS};
use gateway::mqtt::schema::Schemas;
use gateway::ops::types::{DrCancel, DrEvent, Provision, PublishPrice, SendMessage, Deprovision};
use serde_json::Value;

fn schemas() -> &'static Schemas {
    static S: OnceLock<Schemas> = OnceLock::new();
    S.get_or_init(|| Schemas::load().expect("schemas compile"))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&sel, json)) = data.split_first() else { return };
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(json) else { return };
    let (_t, body) = split_transaction(map);
    let action = &ACTIONS[usize::from(sel) % ACTIONS.len()];
    let _ = schemas().check_request(action.name, &body);
    let _ = decode::<SendMessage>(&body);
    let _ = decode::<PublishPrice>(&body);
    let _ = decode::<DrEvent>(&body);
    let _ = decode::<DrCancel>(&body);
    let _ = decode::<Provision>(&body);
    let _ = decode::<Deprovision>(&body);
    let _ = decode::<gateway::mqtt::actions::GrantAddReq>(&body);
    let _ = decode::<gateway::mqtt::actions::AuditReq>(&body);
});
