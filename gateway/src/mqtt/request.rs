//! One request, from the MQTT message to the response (design.md §7–§8):
//!
//! 1. topic → action (`UNKNOWN_ACTION` for one we do not know), MQTT 5 response topic checked;
//! 2. size cap (`BAD_REQUEST`);
//! 3. authentication: JWS signature, `iat`, nonce, or the trusted broker's identity
//!    (`NOT_AUTHORIZED` / `BAD_REQUEST`), the party registered;
//! 4. the party's rate limit (`RATE_LIMITED`);
//! 5. idempotency: a `transaction` seen before gets the first answer;
//! 6. the action's JSON Schema (`BAD_REQUEST` naming the member);
//! 7. grants (`NOT_AUTHORIZED`, `METER_MISMATCH`, …);
//! 8. the operation itself, whose typed errors pass through;
//! 9. outcome stored (idempotency) and audit record appended, both committed, then the response
//!    is published and only then the request acknowledged to the broker (by the caller).
//!
//! Every path ends in a response with a stable code and a message a person can act on; nothing
//! is dropped silently, and no message carries internals or secrets.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::actions::{self, Kind};
use super::audit_writer::AuditWriter;
use super::authz::{self, Scope};
use super::conn::Outbox;
use super::grant_store::KvGrantStore;
use super::idempotency::{self, Idempotency, MAX_TRANSACTION_LEN};
use super::schema::Schemas;
use super::topics::{plausible_action, Topics};
use crate::audit::AuditEntry;
use crate::auth::{AuthError, Authenticator, ClientIdentity, RateLimiter};
use crate::config::mqtt::MqttConfig;
use crate::error::{ApiError, ErrorCode};
use crate::grants::{Grants, PartyId, Right};
use crate::ops::{Caller, Gateway};

/// Everything the request path shares.
#[derive(Debug)]
pub struct Shared {
    pub gw: Gateway,
    pub cfg: MqttConfig,
    pub topics: Topics,
    pub auth: RwLock<Authenticator>,
    pub rate: Mutex<RateLimiter>,
    pub grants: Arc<Mutex<Grants<KvGrantStore>>>,
    pub idem: Idempotency,
    pub audit: AuditWriter,
    pub schemas: Schemas,
    pub outbox: Outbox,
}

/// Unix seconds now.
pub fn now_secs() -> u64 {
    crate::model::Timestamp::now().as_millis() / 1000
}

impl Shared {
    /// [`Grants::check`] at the current time (memory only: no I/O).
    pub fn check_grant(
        &self,
        party: &PartyId,
        right: Right,
        esi_id: &str,
        meter_number: Option<&str>,
        device: Option<zse::zcl::Eui64>,
    ) -> Result<(), ApiError> {
        let g = self.grants.lock().map_err(|_| ApiError::internal())?;
        g.check(party, right, esi_id, meter_number.map(str::trim), device, now_secs())
    }

    /// Runs `f` on the grants off the async threads (writes wait for the store's fsync).
    pub async fn with_grants<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Grants<KvGrantStore>, u64) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let grants = self.grants.clone();
        tokio::task::spawn_blocking(move || {
            let mut g = grants.lock().map_err(|_| ApiError::internal())?;
            f(&mut g, now_secs())
        })
        .await
        .map_err(|_| ApiError::internal())?
    }

    /// ESIID → meter number of the ESIs hosted here (BR-080 checks of grants).
    pub fn esi_directory(&self) -> BTreeMap<String, String> {
        self.gw
            .config()
            .coordinators
            .iter()
            .map(|c| (c.esi_id.0.clone(), c.meter_number.clone()))
            .collect()
    }
}

/// A request as it came off the broker.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub topic: String,
    pub payload: Bytes,
    pub response_topic: Option<String>,
    pub correlation_data: Option<Bytes>,
}

/// The response to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub topic: String,
    pub body: Value,
    pub correlation_data: Option<Bytes>,
}

/// What the audit record says about a request, and the outcome to store for its transaction.
#[derive(Debug, Default)]
struct Trail {
    party: Option<PartyId>,
    scope: Scope,
    denied: bool,
    replayed: bool,
    reason: Option<String>,
    /// (transaction, outcome, durable) to record before the acknowledgement.
    outcome: Option<(String, idempotency::Outcome, bool)>,
    /// Held until the outcome is recorded: a retry arriving meanwhile waits for it.
    running: Option<idempotency::RunningGuard>,
}

/// The `transaction` of a payload, read without trusting it (only to echo it in an error
/// response): a bare JSON object's member, or the one inside a JWS payload.
pub(crate) fn peek_transaction(payload: &[u8]) -> Option<Value> {
    let obj: Map<String, Value> = if let Ok(m) = serde_json::from_slice(payload) {
        m
    } else {
        use base64::Engine as _;
        let text = std::str::from_utf8(payload).ok()?.trim();
        let middle = text.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(middle).ok()?;
        serde_json::from_slice(&bytes).ok()?
    };
    match obj.get("transaction")? {
        Value::String(s) if s.len() <= MAX_TRANSACTION_LEN => Some(Value::String(s.clone())),
        _ => None,
    }
}

/// The response object.
pub fn response(action: &str, transaction: Option<&Value>, r: &Result<Value, ApiError>) -> Value {
    let mut m = Map::new();
    m.insert("transaction".into(), transaction.cloned().unwrap_or(Value::Null));
    m.insert("action".into(), action.into());
    match r {
        Ok(data) => {
            m.insert("status".into(), "ok".into());
            m.insert("data".into(), data.clone());
        }
        Err(e) => {
            m.insert("status".into(), "error".into());
            m.insert("error".into(), json!({"code": e.code, "message": e.message}));
        }
    }
    Value::Object(m)
}

/// Errors a retry may cure: never stored as a transaction's outcome.
fn transient(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::RateLimited
            | ErrorCode::CoordinatorOffline
            | ErrorCode::Internal
            | ErrorCode::StorageUnavailable
    )
}

/// Handles one inbound message; `None` if its topic is not a request topic of this gateway.
pub async fn handle(sh: &Shared, m: &Inbound) -> Option<Reply> {
    let rt = sh.topics.parse_request(&m.topic)?;
    let action =
        if plausible_action(rt.action) { rt.action.to_owned() } else { "invalid".to_owned() };
    let default_topic = sh.topics.response(&action, rt.identity);
    let (topic, bad_topic) = match &m.response_topic {
        Some(t) if sh.topics.response_topic_allowed(t) => (t.clone(), false),
        Some(_) => (default_topic, true),
        None => (default_topic, false),
    };
    let mut trail = Trail::default();
    let mut transaction = peek_transaction(&m.payload);
    let result = if bad_topic {
        Err(ApiError::bad_request(
            "response_topic: must be a topic without wildcards, and inside this gateway's tree \
             only under response/",
        ))
    } else {
        process(sh, rt.action, rt.identity, &m.payload, &mut transaction, &mut trail).await
    };
    let body = response(&action, transaction.as_ref(), &result);
    // The outcome record and the audit record commit concurrently; both before the ack.
    let record = async {
        if let (Some(party), Some((t, o, durable))) = (&trail.party, &trail.outcome) {
            if !sh.idem.record(party, t, o, *durable).await {
                tracing::error!(action, "the outcome of a request could not be stored");
            }
        }
    };
    tokio::join!(record, audit(sh, &action, transaction.as_ref(), &trail, &result));
    drop(trail.running.take());
    Some(Reply { topic, body, correlation_data: m.correlation_data.clone() })
}

// The steps of the module docs, in order; splitting them would hide the order.
#[allow(clippy::too_many_lines)]
async fn process(
    sh: &Shared,
    action: &str,
    identity: Option<&str>,
    payload: &[u8],
    transaction: &mut Option<Value>,
    trail: &mut Trail,
) -> Result<Value, ApiError> {
    let fail = |trail: &mut Trail, e: ApiError| {
        trail.denied = true;
        Err(e)
    };
    let Some(def) = actions::find(action) else {
        let known: Vec<&str> = actions::ACTIONS.iter().map(|a| a.name).collect();
        let shown = if plausible_action(action) { action } else { "(invalid name)" };
        return fail(
            trail,
            ApiError::new(
                ErrorCode::UnknownAction,
                format!("unknown action {shown:?}; known actions: {}", known.join(", ")),
            ),
        );
    };
    let max = sh.cfg.max_payload_bytes;
    if payload.len() > max {
        return fail(
            trail,
            ApiError::bad_request(format!(
                "the request is {} bytes, more than the limit of {max} bytes",
                payload.len()
            )),
        );
    }
    // 3. Who is asking.
    let id = ClientIdentity { username: identity, client_id: identity };
    // The signature is checked on the blocking pool without holding `auth`, so requests are
    // verified in parallel; only the nonce record takes the lock for writing.
    let now = now_secs();
    let started = sh.auth.read().map_err(|_| ApiError::internal())?.start(&id, payload);
    let checked = match started {
        Ok(s) if s.is_expensive() => tokio::task::spawn_blocking(move || s.check(now))
            .await
            .map_err(|_| ApiError::internal())?,
        Ok(s) => s.check(now),
        Err(e) => Err(e),
    };
    let authed = match checked {
        Ok(c) => sh.auth.write().map_err(|_| ApiError::internal())?.finish(c, now),
        Err(e) => Err(e),
    };
    let authed = match authed {
        Ok(a) => a,
        Err(AuthError::Replayed) => {
            // A JWS whose signature verified was seen before: the broker delivered it again
            // (reconnect), or someone replays it. A transaction with a stored outcome gets that
            // outcome; anything else is refused.
            if let Some(r) = replayed_retry(sh, action, payload, transaction, trail).await {
                return r;
            }
            return fail(trail, AuthError::Replayed.into());
        }
        Err(e) => return fail(trail, e.into()),
    };
    let party = authed.party.clone();
    trail.party = Some(party.clone());
    let role = match sh.grants.lock().map_err(|_| ApiError::internal())?.party(&party) {
        Ok(p) => p.role,
        Err(e) => return fail(trail, e),
    };
    // 4. Rate.
    let limited = sh.rate.lock().map_err(|_| ApiError::internal())?.check(&party, Instant::now());
    if let Err(e) = limited {
        return fail(trail, e.into());
    }
    // 5. Transaction and idempotency.
    let (t, body) = actions::split_transaction(authed.request);
    let t = match t {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_TRANSACTION_LEN => Some(s),
        Some(_) => {
            *transaction = None;
            return fail(
                trail,
                ApiError::bad_request(format!(
                    "transaction: a string of 1 to {MAX_TRANSACTION_LEN} characters"
                )),
            );
        }
    };
    *transaction = t.clone().map(Value::String);
    if let Some(r) = body.get("reason").and_then(Value::as_str) {
        trail.reason = Some(r.chars().take(64).collect());
    }
    let hash = idempotency::body_hash(&body);
    if let (Some(tr), Kind::Change | Kind::Accept) = (&t, def.kind) {
        trail.running = Some(sh.idem.begin(&party, tr).await);
        if let Some(r) = stored_outcome(sh, &party, tr, action, &hash, def.kind, trail).await {
            return r;
        }
    }
    // 6. Schema.
    if let Err(e) = sh.schemas.check_request(action, &body) {
        return fail(trail, e);
    }
    // 7. Grants.
    match authz::authorize(sh, &party, role, action, &body).await {
        Ok(s) => trail.scope = s,
        Err(e) => return fail(trail, e),
    }
    // 8. The operation.
    let caller =
        Caller { party: crate::model::PartyId(party.0.clone()), role, transaction: t.clone() };
    let result = actions::execute(sh, &caller, action, &body).await;
    // 9. The outcome, stored before the broker hears we are done.
    if let (Some(tr), Kind::Change | Kind::Accept) = (&t, def.kind) {
        let keep = result.as_ref().err().is_none_or(|e| !transient(e.code));
        if keep {
            let mut resp = response(action, None, &result);
            if let Some(m) = resp.as_object_mut() {
                m.remove("transaction");
            }
            let o = idempotency::outcome(action, hash, resp);
            // An accept is already indexed by the store; others must be durable here.
            trail.outcome = Some((tr.clone(), o, def.kind == Kind::Change));
        }
    }
    result
}

/// A stored outcome for (party, transaction), or (for accepting actions) the request the store
/// committed under it; `None` if the request is new.
async fn stored_outcome(
    sh: &Shared,
    party: &PartyId,
    t: &str,
    action: &str,
    hash: &str,
    kind: Kind,
    trail: &mut Trail,
) -> Option<Result<Value, ApiError>> {
    if let Some(o) = sh.idem.lookup(party, t).await {
        if o.action != action || o.body_hash != hash {
            trail.denied = true;
            return Some(Err(ApiError::bad_request(format!(
                "transaction {t:?} was already used for a different request ({}); use a new \
                 transaction for a new request",
                o.action
            ))));
        }
        trail.replayed = true;
        return Some(match o.response.get("status").and_then(Value::as_str) {
            Some("ok") => Ok(o.response.get("data").cloned().unwrap_or(Value::Null)),
            _ => Err(serde_json::from_value::<ApiError>(
                o.response.get("error").cloned().unwrap_or(Value::Null),
            )
            .unwrap_or_else(|_| ApiError::internal())),
        });
    }
    if action == "grant/add" {
        let k = idempotency::key(party, t);
        if let Ok(Some(g)) = sh.with_grants(move |g, _| Ok(g.store().tagged(&k))).await {
            // Committed with the grant, but the gateway stopped before storing the answer.
            trail.replayed = true;
            return Some(Ok(actions::grant_view(&g)));
        }
    }
    if kind == Kind::Accept {
        if let Some(rid) = sh.idem.accepted_request(party, t).await {
            // Committed, but the gateway stopped before storing the answer: rebuild it.
            trail.replayed = true;
            let a = sh.gw.message_status(rid).await;
            return Some(a.and_then(|a| {
                serde_json::to_value(&a).map_err(|_| ApiError::internal()).map(|mut v| {
                    if let Some(Value::Array(d)) = v.get_mut("deliveries") {
                        d.truncate(actions::MAX_INLINE_DELIVERIES);
                    }
                    v
                })
            }));
        }
    }
    None
}

/// For a JWS refused as a replay: the stored outcome of its transaction, if the same party
/// sent it for the same action and body (the signature was verified before the nonce check).
async fn replayed_retry(
    sh: &Shared,
    action: &str,
    payload: &[u8],
    transaction: &mut Option<Value>,
    trail: &mut Trail,
) -> Option<Result<Value, ApiError>> {
    use base64::Engine as _;
    let text = std::str::from_utf8(payload).ok()?.trim();
    let mut parts = text.split('.');
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts.next()?).ok()?,
    )
    .ok()?;
    let kid = header.get("kid")?.as_str()?;
    let mut req: Map<String, Value> = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts.next()?).ok()?,
    )
    .ok()?;
    req.remove("iat");
    req.remove("nonce");
    let party = match &*sh.auth.read().ok()? {
        Authenticator::Jws(v) => v.keys().get(kid)?.party.clone(),
        Authenticator::TrustedBroker(_) => return None,
    };
    let (t, body) = actions::split_transaction(req);
    let t = t?.as_str()?.to_owned();
    let kind = actions::find(action)?.kind;
    if kind == Kind::Read {
        return None;
    }
    let hash = idempotency::body_hash(&body);
    trail.party = Some(party.clone());
    let r = stored_outcome(sh, &party, &t, action, &hash, kind, trail).await?;
    *transaction = Some(Value::String(t));
    Some(r)
}

/// Appends the audit record of a request and waits until it is durable.
async fn audit(
    sh: &Shared,
    action: &str,
    transaction: Option<&Value>,
    trail: &Trail,
    result: &Result<Value, ApiError>,
) {
    let mut e = AuditEntry::new(now_secs(), trail.party.clone(), action);
    if let Some(first) = trail.scope.esi_ids.first() {
        e = e.target(first.clone(), trail.scope.eui64);
    }
    // A refusal by the grants or the rate limit is a denial wherever it was decided.
    let denied = |err: &ApiError| {
        trail.denied || matches!(err.code, ErrorCode::NotAuthorized | ErrorCode::RateLimited)
    };
    e = match result {
        Err(err) if denied(err) => e.denied(err.code).outcome("refused"),
        Err(err) => {
            let mut e = e.allowed().outcome(if trail.replayed { "replayed" } else { "error" });
            e.code = Some(err.code);
            e
        }
        Ok(_) => e.allowed().outcome(if trail.replayed { "replayed" } else { "ok" }),
    };
    if let Some(Value::String(t)) = transaction {
        e = e.transaction(t.clone());
    }
    if let Some(r) = &trail.reason {
        e = e.reason(r.clone());
    }
    let mut detail = Map::new();
    if trail.scope.esi_ids.len() > 1 {
        detail.insert("esi_ids".into(), json!(trail.scope.esi_ids));
    }
    match result {
        Ok(data) => {
            for k in ["request_id", "message_id", "issuer_event_id", "grant_id", "slot"] {
                if let Some(v) = data.get(k).filter(|v| !v.is_null()) {
                    detail.insert(k.into(), v.clone());
                }
            }
        }
        Err(err) => {
            detail.insert("message".into(), err.message.clone().into());
        }
    }
    if !detail.is_empty() {
        e = e.detail(Value::Object(detail));
    }
    if !sh.audit.append(e).await {
        tracing::error!(action, "audit record of a request could not be written");
    }
}
