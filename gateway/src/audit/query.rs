//! `audit/query` and the counts by requester and type (BR-028.008, BR-310, BR-400).
//!
//! Both scan the file from the start: simple, and fast enough for a regulator's occasional
//! query (a few hundred MB/s). An index can come later without changing these signatures.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::verify::{Tamper, TamperKind};
use super::{AuditError, AuditRecord, Decision};
use crate::grants::PartyId;

/// Largest page returned.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Filters of `audit/query`; `None` matches all. `from` is inclusive, `to` exclusive (Unix
/// seconds). `page` counts from 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditQuery {
    pub esi_id: Option<String>,
    pub party: Option<PartyId>,
    pub action: Option<String>,
    pub reason: Option<String>,
    pub from: Option<u64>,
    pub to: Option<u64>,
    pub page: u64,
    pub page_size: usize,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self {
            esi_id: None,
            party: None,
            action: None,
            reason: None,
            from: None,
            to: None,
            page: 0,
            page_size: 100,
        }
    }
}

impl AuditQuery {
    pub fn matches(&self, r: &AuditRecord) -> bool {
        let e = &r.entry;
        self.esi_id.as_ref().is_none_or(|x| e.esi_id.as_ref() == Some(x))
            && self.party.as_ref().is_none_or(|x| e.party.as_ref() == Some(x))
            && self.action.as_ref().is_none_or(|x| &e.action == x)
            && self.reason.as_ref().is_none_or(|x| e.reason.as_ref() == Some(x))
            && self.from.is_none_or(|t| e.time >= t)
            && self.to.is_none_or(|t| e.time < t)
    }
}

/// One page of matching records, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub records: Vec<AuditRecord>,
    /// The page to ask for next, if more records match.
    pub next_page: Option<u64>,
}

/// Requests by one party and action (BR-310).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountRow {
    pub party: Option<PartyId>,
    pub action: String,
    pub allowed: u64,
    pub denied: u64,
    /// Records without a decision (outcomes reported later).
    pub other: u64,
}

fn for_each_record(path: &Path, mut f: impl FnMut(AuditRecord) -> bool) -> Result<(), AuditError> {
    let io = |source| AuditError::Io { path: path.to_path_buf(), source };
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut buf = String::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        if reader.read_line(&mut buf).map_err(io)? == 0 {
            return Ok(());
        }
        line += 1;
        if !buf.ends_with('\n') {
            // A torn last line (crash during a write) is not a record yet.
            return Ok(());
        }
        let rec: AuditRecord = serde_json::from_str(&buf).map_err(|_| AuditError::Tampered {
            path: path.to_path_buf(),
            tamper: Tamper {
                seq: None,
                line: Some(line),
                kind: TamperKind::Unreadable("the line".into()),
            },
        })?;
        if !f(rec) {
            return Ok(());
        }
    }
}

/// The `page`th page of records matching `q`.
pub fn query(path: impl AsRef<Path>, q: &AuditQuery) -> Result<AuditPage, AuditError> {
    let size = q.page_size.clamp(1, MAX_PAGE_SIZE);
    let skip = q.page.saturating_mul(size as u64);
    let mut seen = 0u64;
    let mut records = Vec::new();
    let mut more = false;
    for_each_record(path.as_ref(), |r| {
        if !q.matches(&r) {
            return true;
        }
        seen += 1;
        if seen <= skip {
            return true;
        }
        if records.len() == size {
            more = true;
            return false;
        }
        records.push(r);
        true
    })?;
    Ok(AuditPage { records, next_page: more.then_some(q.page + 1) })
}

/// Counts of records matching `q` (paging ignored) by party and action, sorted.
pub fn counts(path: impl AsRef<Path>, q: &AuditQuery) -> Result<Vec<CountRow>, AuditError> {
    let mut by: BTreeMap<(Option<PartyId>, String), [u64; 3]> = BTreeMap::new();
    for_each_record(path.as_ref(), |r| {
        if q.matches(&r) {
            let slot = match r.entry.decision {
                Some(Decision::Allowed) => 0,
                Some(Decision::Denied) => 1,
                None => 2,
            };
            let c = by.entry((r.entry.party, r.entry.action)).or_default();
            if let Some(n) = c.get_mut(slot) {
                *n += 1;
            }
        }
        true
    })?;
    Ok(by
        .into_iter()
        .map(|((party, action), [allowed, denied, other])| CountRow {
            party,
            action,
            allowed,
            denied,
            other,
        })
        .collect())
}
