//! The actions of the MQTT API (design.md §7) and how each is carried out: the request body is
//! decoded (after schema validation) into the operations' types and handed to
//! [`crate::ops::Gateway`] or to the grants and audit services; lists are paged.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::request::Shared;
use crate::error::{ApiError, ErrorCode};
use crate::grants::{DeviceScope, Grant, GrantFilter, GrantId, NewGrant, PartyId, Right, Role};
use crate::ops::time::{format_rfc3339, parse_rfc3339};
use crate::ops::types::{Deprovision, DrCancel, DrEvent, Provision, PublishPrice, SendMessage};
use crate::ops::Caller;

/// Default and largest page of a listing.
pub const DEFAULT_PAGE_SIZE: usize = 100;
pub const MAX_PAGE_SIZE: usize = 500;
/// Deliveries listed in the answer of an accepting action (the rest via `message/status`).
pub const MAX_INLINE_DELIVERIES: usize = 100;

/// What an action does, for idempotency and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Reads only: repeated freely, outcome not stored.
    Read,
    /// Changes state: outcome stored under the transaction.
    Change,
    /// Changes state by accepting a request into the queue (indexed by transaction in the
    /// store's accept transaction).
    Accept,
}

/// One action of the API.
#[derive(Debug, Clone, Copy)]
pub struct Action {
    pub name: &'static str,
    pub kind: Kind,
}

/// Every action, in the order of design.md §7.
pub const ACTIONS: &[Action] = &[
    Action { name: "message/send", kind: Kind::Accept },
    Action { name: "message/cancel", kind: Kind::Change },
    Action { name: "message/status", kind: Kind::Read },
    Action { name: "price/publish", kind: Kind::Accept },
    Action { name: "drlc/event", kind: Kind::Accept },
    Action { name: "drlc/cancel", kind: Kind::Accept },
    Action { name: "device/provision", kind: Kind::Change },
    Action { name: "device/deprovision", kind: Kind::Change },
    Action { name: "device/list", kind: Kind::Read },
    Action { name: "meter/read", kind: Kind::Read },
    Action { name: "meter/status", kind: Kind::Read },
    Action { name: "group/create", kind: Kind::Change },
    Action { name: "group/delete", kind: Kind::Change },
    Action { name: "group/list", kind: Kind::Read },
    Action { name: "grant/add", kind: Kind::Change },
    Action { name: "grant/revoke", kind: Kind::Change },
    Action { name: "grant/list", kind: Kind::Read },
    Action { name: "esi/move_out", kind: Kind::Change },
    Action { name: "audit/query", kind: Kind::Read },
];

pub fn find(name: &str) -> Option<&'static Action> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// Decodes a (schema-checked) body. serde's own message is passed on only when it cannot quote
/// a value: a mistyped install code must not come back in an error.
pub fn decode<T: DeserializeOwned>(body: &Value) -> Result<T, ApiError> {
    serde_json::from_value(body.clone()).map_err(|e| {
        let m = e.to_string();
        if m.starts_with("missing field") || m.starts_with("unknown field") {
            ApiError::bad_request(m)
        } else {
            ApiError::bad_request("a field has the wrong type or value (see the action's schema)")
        }
    })
}

fn to_json<T: Serialize>(v: &T) -> Result<Value, ApiError> {
    serde_json::to_value(v).map_err(|_| ApiError::internal())
}

/// `page` / `page_size` of a listing request.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Paging {
    #[serde(default)]
    pub page: u64,
    #[serde(default)]
    pub page_size: Option<usize>,
}

impl Paging {
    fn size(self) -> usize {
        self.page_size.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
    }

    /// The page of `items`, and the next page's number if there is one.
    pub fn cut<T>(self, items: Vec<T>) -> (Vec<T>, Option<u64>) {
        let size = self.size();
        let skip = usize::try_from(self.page).unwrap_or(usize::MAX).saturating_mul(size);
        let total = items.len();
        let page: Vec<T> = items.into_iter().skip(skip).take(size).collect();
        let next = (skip.saturating_add(size) < total).then_some(self.page + 1);
        (page, next)
    }
}

#[derive(Debug, Deserialize)]
pub struct MessageRef {
    pub message_id: u64,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
pub struct EsiRef {
    pub esi_id: String,
    #[serde(default)]
    pub refresh: bool,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
pub struct GroupReq {
    pub name: String,
    #[serde(default)]
    pub esi_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct GrantAddReq {
    pub party: String,
    pub esi_id: String,
    pub meter_number: String,
    pub rights: Vec<Right>,
    #[serde(default)]
    pub devices: Option<Vec<String>>,
    #[serde(default)]
    pub expires_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct GrantRevokeReq {
    #[serde(default)]
    pub grant_id: Option<u64>,
    #[serde(default)]
    pub party: Option<String>,
    #[serde(default)]
    pub esi_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct GrantListReq {
    #[serde(default)]
    pub party: Option<String>,
    #[serde(default)]
    pub esi_id: Option<String>,
    #[serde(default)]
    pub include_expired: bool,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize)]
pub struct MoveOutReq {
    pub esi_id: String,
    pub meter_number: String,
}

#[derive(Debug, Deserialize)]
pub struct AuditReq {
    #[serde(default)]
    pub esi_id: Option<String>,
    #[serde(default)]
    pub party: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(flatten)]
    pub paging: Paging,
}

/// A grant as the API shows it (times in RFC 3339).
pub fn grant_view(g: &Grant) -> Value {
    json!({
        "grant_id": g.id.0,
        "party": g.party.0,
        "esi_id": g.esi_id,
        "meter_number": g.meter_number,
        "rights": g.rights,
        "devices": g.devices,
        "expires_at": g.expires_at.map(|t| format_rfc3339(crate::model::Timestamp(t * 1000))),
        "granted_by": g.granted_by.0,
        "granted_at": format_rfc3339(crate::model::Timestamp(g.granted_at * 1000)),
    })
}

/// Unix seconds of an RFC 3339 field.
pub fn unix_secs(text: &str, field: &str) -> Result<u64, ApiError> {
    Ok(parse_rfc3339(text, field)?.as_millis() / 1000)
}

/// Keeps at most [`MAX_INLINE_DELIVERIES`] deliveries in an answer and says how many there are.
fn trim_deliveries(mut v: Value) -> Value {
    if let Some(Value::Array(list)) = v.get_mut("deliveries") {
        let total = list.len();
        list.truncate(MAX_INLINE_DELIVERIES);
        if let Some(m) = v.as_object_mut() {
            m.insert("deliveries_total".into(), total.into());
        }
    }
    v
}

/// Carries out `action` for `caller` (authorization already done).
// One arm per action, in the table's order.
#[allow(clippy::too_many_lines)]
pub async fn execute(
    sh: &Shared,
    caller: &Caller,
    action: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    let gw = &sh.gw;
    let party = PartyId::new(caller.party.0.clone());
    match action {
        "message/send" => {
            let m: SendMessage = decode(body)?;
            Ok(trim_deliveries(to_json(&gw.send_message(caller, m).await?)?))
        }
        "message/cancel" => {
            let r: MessageRef = decode(body)?;
            let mut v = trim_deliveries(to_json(&gw.cancel_message(caller, r.message_id).await?)?);
            if let Some(Value::Object(c)) = v.get_mut("cancel_request") {
                let inner = trim_deliveries(Value::Object(std::mem::take(c)));
                *c = inner.as_object().cloned().unwrap_or_default();
            }
            Ok(v)
        }
        "message/status" => {
            let r: MessageRef = decode(body)?;
            let mut a = gw.message_status(r.message_id).await?;
            let total = a.deliveries.len();
            let (page, next) = r.paging.cut(std::mem::take(&mut a.deliveries));
            a.deliveries = page;
            let mut v = to_json(&a)?;
            if let Some(m) = v.as_object_mut() {
                m.insert("deliveries_total".into(), total.into());
                m.insert("next_page".into(), to_json(&next)?);
            }
            Ok(v)
        }
        "price/publish" => {
            let p: PublishPrice = decode(body)?;
            Ok(trim_deliveries(to_json(&gw.publish_price(caller, p).await?)?))
        }
        "drlc/event" => {
            let e: DrEvent = decode(body)?;
            Ok(trim_deliveries(to_json(&gw.drlc_event(caller, e).await?)?))
        }
        "drlc/cancel" => {
            let c: DrCancel = decode(body)?;
            Ok(trim_deliveries(to_json(&gw.drlc_cancel(caller, c).await?)?))
        }
        "device/provision" => {
            let p: Provision = decode(body)?;
            to_json(&gw.provision(caller, p).await?)
        }
        "device/deprovision" => {
            let d: Deprovision = decode(body)?;
            to_json(&gw.deprovision(caller, d).await?)
        }
        "device/list" => {
            let r: EsiRef = decode(body)?;
            let mut l = gw.devices(&r.esi_id).await?;
            let (page, next) = r.paging.cut(std::mem::take(&mut l.devices));
            l.devices = page;
            let mut v = to_json(&l)?;
            if let Some(m) = v.as_object_mut() {
                m.insert("next_page".into(), to_json(&next)?);
            }
            Ok(v)
        }
        "meter/read" => {
            let r: EsiRef = decode(body)?;
            to_json(&gw.meter_read(&r.esi_id).await?)
        }
        "meter/status" => {
            let r: EsiRef = decode(body)?;
            to_json(&gw.meter_status(&r.esi_id, r.refresh).await?)
        }
        "group/create" => {
            let g: GroupReq = decode(body)?;
            to_json(&gw.group_create(caller, &g.name, &g.esi_ids).await?)
        }
        "group/delete" => {
            let g: GroupReq = decode(body)?;
            let deleted = gw.group_delete(g.name.trim()).await?;
            if !deleted {
                return Err(ApiError::bad_request(format!("name: no group named {:?}", g.name)));
            }
            Ok(json!({"name": g.name.trim(), "deleted": true}))
        }
        "group/list" => {
            let p: Paging = decode(body)?;
            let visible = super::authz::visible_groups(sh, &party, caller.role).await?;
            let (groups, next) = p.cut(visible);
            Ok(json!({"groups": groups, "next_page": next}))
        }
        "grant/add" => grant_add(sh, &party, caller.transaction.as_deref(), decode(body)?).await,
        "grant/revoke" => grant_revoke(sh, &party, decode(body)?).await,
        "grant/list" => {
            let r: GrantListReq = decode(body)?;
            let filter = GrantFilter {
                party: r.party.map(PartyId::new),
                esi_id: r.esi_id,
                include_expired: r.include_expired,
            };
            let list = sh.with_grants(move |g, now| g.list(&party, &filter, now)).await?;
            let (page, next) = r.paging.cut(list);
            Ok(
                json!({"grants": page.iter().map(grant_view).collect::<Vec<_>>(), "next_page": next}),
            )
        }
        "esi/move_out" => {
            let r: MoveOutReq = decode(body)?;
            let dir = sh.esi_directory();
            let esi = r.esi_id.trim().to_owned();
            let meter = r.meter_number.trim().to_owned();
            let revoked =
                sh.with_grants(move |g, _| g.move_out(&party, &esi, &meter, &dir)).await?;
            Ok(json!({
                "esi_id": r.esi_id.trim(),
                "revoked": revoked.iter().map(grant_view).collect::<Vec<_>>(),
            }))
        }
        "audit/query" => audit_query(sh, &party, caller.role, decode(body)?).await,
        other => Err(ApiError::new(ErrorCode::UnknownAction, format!("unknown action {other:?}"))),
    }
}

async fn grant_add(
    sh: &Shared,
    party: &PartyId,
    transaction: Option<&str>,
    r: GrantAddReq,
) -> Result<Value, ApiError> {
    let devices = r
        .devices
        .map(|list| {
            list.iter()
                .map(|t| {
                    zse::zcl::Eui64::parse_text(t).ok_or_else(|| {
                        ApiError::bad_request(format!("devices: {t:?} is not an EUI-64"))
                    })
                })
                .collect::<Result<DeviceScope, _>>()
        })
        .transpose()?;
    let expires_at = r.expires_at.as_deref().map(|t| unix_secs(t, "expires_at")).transpose()?;
    let new = NewGrant {
        party: PartyId::new(r.party.trim()),
        esi_id: r.esi_id.trim().to_owned(),
        meter_number: r.meter_number.trim().to_owned(),
        rights: r.rights.into_iter().collect(),
        devices,
        expires_at,
    };
    let dir = sh.esi_directory();
    let actor = party.clone();
    let tag = transaction.map(|t| super::idempotency::key(party, t));
    let g = sh
        .with_grants(move |g, now| {
            if let Some(k) = tag {
                g.store_mut().tag_next_insert(k);
            }
            let r = g.add(&actor, new, &dir, now);
            g.store_mut().untag();
            r
        })
        .await?;
    Ok(grant_view(&g))
}

async fn grant_revoke(sh: &Shared, party: &PartyId, r: GrantRevokeReq) -> Result<Value, ApiError> {
    let actor = party.clone();
    let revoked =
        match (r.grant_id, r.party, r.esi_id) {
            (Some(id), None, None) => {
                vec![sh.with_grants(move |g, _| g.revoke(&actor, GrantId(id))).await?]
            }
            (None, Some(p), Some(e)) => {
                sh.with_grants(move |g, _| g.revoke_party_esi(&actor, &PartyId::new(p), &e)).await?
            }
            _ => return Err(ApiError::bad_request(
                "give grant_id, or party and esi_id (to revoke all of a party's grants on an ESI)",
            )),
        };
    Ok(json!({"revoked": revoked.iter().map(grant_view).collect::<Vec<_>>()}))
}

async fn audit_query(
    sh: &Shared,
    party: &PartyId,
    role: Role,
    r: AuditReq,
) -> Result<Value, ApiError> {
    let requested = r.party.map(PartyId::new);
    let party_filter = if role == Role::Admin {
        requested
    } else {
        if requested.as_ref().is_some_and(|p| p != party) {
            return Err(ApiError::not_authorized(format!(
                "party {party} may only query its own audit records (only an admin sees others')"
            )));
        }
        Some(party.clone())
    };
    let q = crate::audit::AuditQuery {
        esi_id: r.esi_id,
        party: party_filter,
        action: r.action,
        reason: r.reason,
        from: r.from.as_deref().map(|t| unix_secs(t, "from")).transpose()?,
        to: r.to.as_deref().map(|t| unix_secs(t, "to")).transpose()?,
        page: r.paging.page,
        page_size: r.paging.size(),
    };
    let path = sh.audit.path().to_path_buf();
    let page = tokio::task::spawn_blocking(move || crate::audit::query(path, &q))
        .await
        .map_err(|_| ApiError::internal())??;
    Ok(json!({"records": page.records, "next_page": page.next_page}))
}

/// Removes the members every request may carry (`transaction`) and returns the body.
pub fn split_transaction(mut req: Map<String, Value>) -> (Option<Value>, Value) {
    let t = req.remove("transaction");
    (t, Value::Object(req))
}
