//! Idempotent retries: a request repeated with the same `transaction` by the same party gets the
//! first attempt's answer and is not carried out again (design.md §7).
//!
//! Outcomes are kept in the store's `kv` table under (party, transaction) for
//! `idempotency_ttl`, with the action and a hash of the request body: the same transaction with
//! another action or body is refused (`BAD_REQUEST`), since it is a client bug, not a retry.
//!
//! What is kept: outcomes of actions that change something (`message/send`, `device/provision`,
//! `grant/add`, …), successes and final errors alike. Not kept: reads (repeating them is
//! harmless and returns current data), and errors that a retry may cure (`RATE_LIMITED`,
//! `COORDINATOR_OFFLINE`, `INTERNAL`, `STORAGE_UNAVAILABLE`), nor requests that failed authentication.
//!
//! Crash safety: the broker gets the request's acknowledgement only after the outcome record is
//! committed; a crash before that means the broker delivers the request again. For the accepting
//! actions (`message/send`, `price/publish`, `drlc/event`, `drlc/cancel`) the store also indexes
//! the request under (party, transaction) in the same transaction that accepts it, so even a
//! crash between the accept and the outcome record cannot accept the request twice: the retry
//! finds the committed request and answers with it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{oneshot, Notify};

use crate::grants::PartyId;
use crate::store::Store;

const NS: &str = "mqtt.outcome";
/// Longest `transaction` accepted.
pub const MAX_TRANSACTION_LEN: usize = 128;

/// A stored outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub action: String,
    /// SHA-256 (hex) of the canonical request body.
    pub body_hash: String,
    /// Unix milliseconds when it was recorded.
    pub at: u64,
    /// The response object without `transaction` (`status`, `data` / `error`).
    pub response: Value,
}

/// The key of (party, transaction).
pub fn key(party: &PartyId, transaction: &str) -> String {
    // Party ids contain no spaces (grants::check_id, config::check_ident).
    format!("{} {transaction}", party.0)
}

/// Sorts object keys recursively and serializes: the same request encodes the same bytes
/// whatever order its members came in.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(x) = m.get(k) {
                    canonical(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// SHA-256 (hex) of the canonical form of a request body.
pub fn body_hash(body: &Value) -> String {
    let mut s = String::new();
    canonical(body, &mut s);
    crate::audit::sha256_hex(s.as_bytes())
}

/// The outcome table plus the requests being carried out right now (so that a retry arriving
/// while the first attempt is still running waits for it instead of running twice).
#[derive(Debug, Clone)]
pub struct Idempotency {
    store: Arc<Store>,
    ttl_ms: u64,
    running: Arc<Mutex<HashMap<String, Arc<Notify>>>>,
}

/// Holds the "running" mark of a transaction; dropping it wakes waiting retries.
#[derive(Debug)]
pub struct RunningGuard {
    key: String,
    notify: Arc<Notify>,
    running: Arc<Mutex<HashMap<String, Arc<Notify>>>>,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = self.running.lock() {
            m.remove(&self.key);
        }
        self.notify.notify_waiters();
    }
}

fn now_ms() -> u64 {
    crate::model::Timestamp::now().as_millis()
}

impl Idempotency {
    pub fn new(store: Arc<Store>, ttl: std::time::Duration) -> Self {
        Self {
            store,
            ttl_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
            running: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Marks (party, transaction) running; if it already is, waits until that attempt ends and
    /// tries again.
    pub async fn begin(&self, party: &PartyId, transaction: &str) -> RunningGuard {
        let k = key(party, transaction);
        loop {
            let wait = {
                let Ok(mut m) = self.running.lock() else {
                    // A poisoned map only loses the "running" optimisation.
                    return RunningGuard {
                        key: k,
                        notify: Arc::new(Notify::new()),
                        running: self.running.clone(),
                    };
                };
                if let Some(n) = m.get(&k) {
                    // Register interest before releasing the lock.
                    Some(n.clone().notified_owned())
                } else {
                    let n = Arc::new(Notify::new());
                    m.insert(k.clone(), n.clone());
                    return RunningGuard { key: k, notify: n, running: self.running.clone() };
                }
            };
            if let Some(f) = wait {
                f.await;
            }
        }
    }

    /// The stored outcome, unless there is none or it is older than the TTL.
    pub async fn lookup(&self, party: &PartyId, transaction: &str) -> Option<Outcome> {
        let (store, k) = (self.store.clone(), key(party, transaction));
        let bytes = crate::coordinator::blocking(move || store.kv_get(NS, &k)).await.ok()??;
        let o: Outcome = serde_json::from_slice(&bytes).ok()?;
        (now_ms().saturating_sub(o.at) <= self.ttl_ms).then_some(o)
    }

    /// The request the store accepted under (party, transaction), for the accepting actions.
    pub async fn accepted_request(&self, party: &PartyId, transaction: &str) -> Option<u64> {
        let (store, p, t) = (self.store.clone(), party.0.clone(), transaction.to_owned());
        crate::coordinator::blocking(move || store.request_by_transaction(&p, &t))
            .await
            .ok()?
            .map(|r| r.0)
    }

    /// Records an outcome; resolves once committed (`durable`: with fsync).
    pub async fn record(
        &self,
        party: &PartyId,
        transaction: &str,
        outcome: &Outcome,
        durable: bool,
    ) -> bool {
        let Ok(bytes) = serde_json::to_vec(outcome) else { return false };
        let (tx, rx) = oneshot::channel();
        let item = (NS.to_owned(), key(party, transaction), Some(bytes));
        let submitted = self.store.kv_write_with(vec![item], durable, move |r| {
            let _ = tx.send(r.is_ok());
        });
        if submitted.is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// Deletes outcomes older than the TTL; returns how many.
    pub fn purge(&self) -> usize {
        let now = now_ms();
        let Ok(all) = self.store.kv_scan(NS) else { return 0 };
        let old: Vec<_> = all
            .into_iter()
            .filter(|(_, v)| {
                serde_json::from_slice::<Outcome>(v)
                    .map_or(true, |o| now.saturating_sub(o.at) > self.ttl_ms)
            })
            .map(|(k, _)| (NS.to_owned(), k, None))
            .collect();
        let n = old.len();
        if n > 0 && self.store.kv_write(old, false).is_err() {
            return 0;
        }
        n
    }
}

/// An outcome record for `response` now.
pub fn outcome(action: &str, body_hash: String, response: Value) -> Outcome {
    Outcome { action: action.to_owned(), body_hash, at: now_ms(), response }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn body_hash_ignores_member_order() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": "s"}});
        let b = json!({"a": {"x": "s", "y": [1, 2]}, "b": 1});
        assert_eq!(body_hash(&a), body_hash(&b));
        assert_ne!(body_hash(&a), body_hash(&json!({"b": 2, "a": {"x": "s", "y": [1, 2]}})));
    }
}
