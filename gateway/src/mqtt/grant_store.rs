//! Parties and grants kept durably in the store's `kv` table (design.md §8, §9).
//!
//! Reads come from memory (a [`MemoryGrantStore`] loaded at start): every request is checked
//! against the grants, so the check must not touch the disk. Writes go to the store first,
//! committed with fsync, and only then to memory: a grant the bridge answered `ok` for survives a
//! crash, and a failed write leaves memory as it was. Records are JSON (small, rare, and readable
//! with any redb tool).
//!
//! Calls block on the store's writer: use them from blocking code (`spawn_blocking`).

use std::sync::Arc;

use serde_json::json;

use crate::grants::{
    Grant, GrantId, GrantStore, GrantStoreError, MemoryGrantStore, Party, PartyId,
};
use crate::store::Store;

const NS_PARTY: &str = "grants.party";
const NS_GRANT: &str = "grants.grant";
const NS_META: &str = "grants.meta";
const NEXT_ID: &str = "next_id";
/// (party, transaction) → the grant a `grant/add` created, committed with the grant itself.
const NS_TXN: &str = "grants.txn";

fn grant_key(id: GrantId) -> String {
    format!("{:020}", id.0)
}

fn err(e: impl std::fmt::Display) -> GrantStoreError {
    GrantStoreError(e.to_string())
}

/// A [`GrantStore`] over the durable store.
#[derive(Debug)]
pub struct KvGrantStore {
    mem: MemoryGrantStore,
    store: Arc<Store>,
    /// Idempotency key to commit with the next inserted grant.
    tag: Option<String>,
}

impl KvGrantStore {
    /// Loads every party and grant.
    pub fn open(store: Arc<Store>) -> Result<Self, GrantStoreError> {
        let decode = |ns: &str| -> Result<Vec<serde_json::Value>, GrantStoreError> {
            store
                .kv_scan(ns)
                .map_err(err)?
                .into_iter()
                .map(|(_, v)| serde_json::from_slice(&v).map_err(err))
                .collect()
        };
        let parties = decode(NS_PARTY)?;
        let grants = decode(NS_GRANT)?;
        let next_id: u64 = match store.kv_get(NS_META, NEXT_ID).map_err(err)? {
            Some(v) => serde_json::from_slice(&v).map_err(err)?,
            None => 0,
        };
        let mem: MemoryGrantStore = serde_json::from_value(
            json!({"parties": parties, "grants": grants, "next_id": next_id}),
        )
        .map_err(err)?;
        Ok(Self { mem, store, tag: None })
    }

    /// The next [`GrantStore::insert_grant`] also records the grant under `key` (an
    /// idempotency key), in the same commit: a retry after a crash finds it (see
    /// [`super::idempotency`]). Cleared by the insert or by [`Self::untag`].
    pub fn tag_next_insert(&mut self, key: String) {
        self.tag = Some(key);
    }

    pub fn untag(&mut self) {
        self.tag = None;
    }

    /// The grant recorded under an idempotency key, if any.
    pub fn tagged(&self, key: &str) -> Option<Grant> {
        let bytes = self.store.kv_get(NS_TXN, key).ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    fn put(&self, ns: &str, key: String, value: Option<Vec<u8>>) -> Result<(), GrantStoreError> {
        self.store.kv_write(vec![(ns.to_owned(), key, value)], true).map_err(err)
    }
}

impl GrantStore for KvGrantStore {
    fn party(&self, id: &PartyId) -> Result<Option<Party>, GrantStoreError> {
        self.mem.party(id)
    }

    fn put_party(&mut self, party: Party) -> Result<(), GrantStoreError> {
        if self.mem.party(&party.id)?.as_ref() == Some(&party) {
            return Ok(());
        }
        let bytes = serde_json::to_vec(&party).map_err(err)?;
        self.put(NS_PARTY, party.id.0.clone(), Some(bytes))?;
        self.mem.put_party(party)
    }

    fn parties(&self) -> Result<Vec<Party>, GrantStoreError> {
        self.mem.parties()
    }

    fn grant(&self, id: GrantId) -> Result<Option<Grant>, GrantStoreError> {
        self.mem.grant(id)
    }

    fn grants_of_esi(&self, esi_id: &str) -> Result<Vec<Grant>, GrantStoreError> {
        self.mem.grants_of_esi(esi_id)
    }

    fn grants(&self) -> Result<Vec<Grant>, GrantStoreError> {
        self.mem.grants()
    }

    fn insert_grant(&mut self, grant: Grant) -> Result<Grant, GrantStoreError> {
        // The memory store assigns the id (its counter was loaded with ours).
        let g = self.mem.insert_grant(grant)?;
        let bytes = serde_json::to_vec(&g).map_err(err)?;
        let next = serde_json::to_vec(&(g.id.0 + 1)).map_err(err)?;
        let mut items = vec![
            (NS_GRANT.to_owned(), grant_key(g.id), Some(bytes.clone())),
            (NS_META.to_owned(), NEXT_ID.to_owned(), Some(next)),
        ];
        if let Some(k) = self.tag.take() {
            items.push((NS_TXN.to_owned(), k, Some(bytes)));
        }
        if let Err(e) = self.store.kv_write(items, true) {
            self.mem.remove_grant(g.id)?;
            return Err(err(e));
        }
        Ok(g)
    }

    fn remove_grant(&mut self, id: GrantId) -> Result<Option<Grant>, GrantStoreError> {
        if self.mem.grant(id)?.is_none() {
            return Ok(None);
        }
        self.put(NS_GRANT, grant_key(id), None)?;
        self.mem.remove_grant(id)
    }
}
