//! The audit log: who asked for what, what was decided and what came of it (design.md §8;
//! BR-028.008, BR-081.004, BR-084, BR-310, BR-400).
//!
//! # Format
//!
//! One JSON object per line (JSON Lines), append-only:
//!
//! ```text
//! {"seq":0,"time":1800000000,"party":"rep","action":"device/deprovision","esi_id":"1008…",
//!  "eui64":"000d6f000abcdef0","decision":"allowed","outcome":"removed","reason":"customer_request",
//!  "prev_hash":"0000…0000","hash":"9f2c…"}
//! ```
//!
//! - `seq` counts from 0 with no gaps; `time` is Unix seconds (UTC).
//! - `hash` is the SHA-256, in lowercase hex, of the exact bytes of the line up to `hash`: the
//!   line without its `,"hash":"…"` member, closed with `}`. The body is written in a fixed
//!   field order with absent fields left out and `detail` objects' keys sorted, so it is the
//!   canonical encoding of the record; verification hashes the bytes as stored and never needs
//!   to re-encode them.
//! - `prev_hash` is the previous record's `hash` ([`GENESIS_HASH`] for `seq` 0), so every
//!   record commits to all records before it: an edit, deletion, insertion or reordering breaks
//!   the chain at the first record touched ([`verify()`]).
//! - A side file `<log>.head` holds the `seq` and `hash` of the last record known to be on
//!   disk. It catches a log cut at a line boundary, which the chain alone cannot see. Anyone who
//!   can rewrite both files can forge a consistent history: for evidence against the operator,
//!   publish the head (`seq`, `hash`) elsewhere from time to time, and compare.
//!
//! # Durability
//!
//! [`SyncPolicy::EveryAppend`] writes and fsyncs each record before [`AuditLog::append`]
//! returns (then updates the head), so an acknowledged record survives a crash. With
//! [`SyncPolicy::Manual`], records are written at once but made durable by
//! [`AuditLog::sync`] (the store's group commit calls it once per batch); a crash may lose the
//! records since the last sync, never corrupt the ones before. A torn last line left by a crash
//! is cut off when the log is reopened.
//!
//! # Secrets
//!
//! Install codes, keys, passwords and signed tokens never enter the log: every `detail` passes
//! through [`redact()`] on append. Nothing else in a record holds request content.

mod log;
mod query;
mod redact;
#[cfg(test)]
mod tests;
mod verify;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use zse::zcl::Eui64;

use crate::error::{ApiError, ErrorCode};
use crate::grants::PartyId;

pub use log::{AuditLog, SyncPolicy};
pub use query::{counts, query, AuditPage, AuditQuery, CountRow};
pub use redact::{redact, redact_in_place, REDACTED};
pub use verify::{verify, verify_against, Head, Tamper, TamperKind, VerifyReport};

/// `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The access decision for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allowed,
    Denied,
}

/// What to record; [`AuditLog::append`] adds `seq`, `prev_hash` and `hash`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Unix seconds (UTC).
    pub time: u64,
    /// The authenticated party; `None` when authentication failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<PartyId>,
    /// The MQTT action (`device/provision`, …) or an internal event name (`grant/expired`).
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub esi_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "eui64_opt")]
    pub eui64: Option<Eui64>,
    /// The access decision; `None` for a record that reports a later outcome of a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// The error code of a denial or a failed outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    /// What happened (`accepted`, `paired`, `removed`, `delivered`, `failed`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The reason code of a removal (BR-084) or of another change that has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The request's `transaction`, linking outcome records to their request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    /// Anything else worth keeping, redacted on append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Value>,
}

impl AuditEntry {
    pub fn new(time: u64, party: Option<PartyId>, action: impl Into<String>) -> Self {
        Self { time, party, action: action.into(), ..Self::default() }
    }

    #[must_use]
    pub fn target(mut self, esi_id: impl Into<String>, eui64: Option<Eui64>) -> Self {
        self.esi_id = Some(esi_id.into());
        self.eui64 = eui64;
        self
    }

    #[must_use]
    pub fn allowed(mut self) -> Self {
        self.decision = Some(Decision::Allowed);
        self
    }

    #[must_use]
    pub fn denied(mut self, code: ErrorCode) -> Self {
        self.decision = Some(Decision::Denied);
        self.code = Some(code);
        self
    }

    #[must_use]
    pub fn outcome(mut self, outcome: impl Into<String>) -> Self {
        self.outcome = Some(outcome.into());
        self
    }

    #[must_use]
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    #[must_use]
    pub fn transaction(mut self, transaction: impl Into<String>) -> Self {
        self.transaction = Some(transaction.into());
        self
    }

    #[must_use]
    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// A record as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// The hashed part of a record, in its field order.
#[derive(Serialize)]
struct Body<'a> {
    seq: u64,
    #[serde(flatten)]
    entry: &'a AuditEntry,
    prev_hash: &'a str,
}

/// Length of the `,"hash":"<64 hex>"}` tail of a line.
const HASH_TAIL_LEN: usize = 9 + 64 + 2;

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Encodes one record as a line (with `\n`); `entry.detail` must already be redacted.
fn encode_line(
    seq: u64,
    entry: &AuditEntry,
    prev_hash: &str,
) -> Result<(String, String), AuditError> {
    let mut body = serde_json::to_string(&Body { seq, entry, prev_hash })
        .map_err(|e| AuditError::Encode(e.to_string()))?;
    let hash = sha256_hex(body.as_bytes());
    body.pop(); // the closing '}'
    body.push_str(",\"hash\":\"");
    body.push_str(&hash);
    body.push_str("\"}\n");
    Ok((body, hash))
}

/// Splits a stored line (without `\n`) into the hashed body (re-closed with `}`) and the hash.
fn split_line(line: &str) -> Option<(String, &str)> {
    let cut = line.len().checked_sub(HASH_TAIL_LEN)?;
    let head = line.get(..cut)?;
    let tail = line.get(cut..)?;
    let hash = tail.strip_prefix(",\"hash\":\"")?.strip_suffix("\"}")?;
    if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    Some((format!("{head}}}"), hash))
}

/// Sorts object keys recursively, so `detail` encodes the same whatever built it.
fn canonicalize(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, mut val) in entries {
                canonicalize(&mut val);
                map.insert(k, val);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(canonicalize),
        _ => {}
    }
}

/// Audit log failures.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("audit log {}: {tamper}", path.display())]
    Tampered { path: PathBuf, tamper: Tamper },
    #[error("audit record could not be encoded: {0}")]
    Encode(String),
}

impl AuditError {
    /// The verification failure, if this is one.
    pub fn tamper(&self) -> Option<&Tamper> {
        match self {
            Self::Tampered { tamper, .. } => Some(tamper),
            _ => None,
        }
    }
}

impl From<AuditError> for ApiError {
    fn from(e: AuditError) -> Self {
        tracing::error!(error = %e, "audit log failed");
        ApiError::internal()
    }
}

/// `Option<Eui64>` as 16 hex digits (separators accepted on input).
mod eui64_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use zse::zcl::Eui64;

    #[allow(clippy::ref_option)] // serde's `with` passes `&Option<T>`
    pub fn serialize<S: Serializer>(v: &Option<Eui64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(e) => s.collect_str(e),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Eui64>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| {
                Eui64::parse_text(&t).ok_or_else(|| {
                    serde::de::Error::custom(format!("{t:?} is not an EUI-64 (16 hex digits)"))
                })
            })
            .transpose()
    }
}
