//! Where parties and grants live: the [`GrantStore`] trait and its in-memory impl.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::{Grant, GrantId, Party, PartyId};

/// A failure of the storage under a [`GrantStore`]. Its text is for the log; callers of
/// [`super::Grants`] see only `INTERNAL`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("grant store: {0}")]
pub struct GrantStoreError(pub String);

/// Storage of parties and grants. The rules (who may add, what a grant allows) live in
/// [`super::Grants`]; a store only keeps records, so a durable impl is plain bookkeeping.
pub trait GrantStore {
    fn party(&self, id: &PartyId) -> Result<Option<Party>, GrantStoreError>;
    /// Inserts or replaces the party with this id.
    fn put_party(&mut self, party: Party) -> Result<(), GrantStoreError>;
    fn parties(&self) -> Result<Vec<Party>, GrantStoreError>;
    fn grant(&self, id: GrantId) -> Result<Option<Grant>, GrantStoreError>;
    /// Every grant on `esi_id`, expired ones included, in id order.
    fn grants_of_esi(&self, esi_id: &str) -> Result<Vec<Grant>, GrantStoreError>;
    /// Every grant, in id order.
    fn grants(&self) -> Result<Vec<Grant>, GrantStoreError>;
    /// Stores `grant` under a fresh id (the `id` field passed in is ignored) and returns it.
    fn insert_grant(&mut self, grant: Grant) -> Result<Grant, GrantStoreError>;
    fn remove_grant(&mut self, id: GrantId) -> Result<Option<Grant>, GrantStoreError>;
}

/// Parties and grants in memory, indexed by ESIID. Serializes as
/// `{"parties": [...], "grants": [...], "next_id": n}` (the index is rebuilt on load).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Snapshot", into = "Snapshot")]
pub struct MemoryGrantStore {
    parties: BTreeMap<PartyId, Party>,
    grants: BTreeMap<GrantId, Grant>,
    next_id: u64,
    by_esi: HashMap<String, BTreeSet<GrantId>>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    parties: Vec<Party>,
    grants: Vec<Grant>,
    next_id: u64,
}

impl From<Snapshot> for MemoryGrantStore {
    fn from(s: Snapshot) -> Self {
        let mut store = Self::default();
        for p in s.parties {
            store.parties.insert(p.id.clone(), p);
        }
        let max_id = s.grants.iter().map(|g| g.id.0 + 1).max().unwrap_or(0);
        for g in s.grants {
            store.index(&g);
            store.grants.insert(g.id, g);
        }
        store.next_id = s.next_id.max(max_id);
        store
    }
}

impl From<MemoryGrantStore> for Snapshot {
    fn from(m: MemoryGrantStore) -> Self {
        Self {
            parties: m.parties.into_values().collect(),
            grants: m.grants.into_values().collect(),
            next_id: m.next_id,
        }
    }
}

impl MemoryGrantStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store with these parties and no grants (e.g. from configuration).
    pub fn with_parties(parties: impl IntoIterator<Item = Party>) -> Self {
        let mut s = Self::default();
        for p in parties {
            s.parties.insert(p.id.clone(), p);
        }
        s
    }

    fn index(&mut self, g: &Grant) {
        self.by_esi.entry(g.esi_id.clone()).or_default().insert(g.id);
    }
}

impl GrantStore for MemoryGrantStore {
    fn party(&self, id: &PartyId) -> Result<Option<Party>, GrantStoreError> {
        Ok(self.parties.get(id).cloned())
    }

    fn put_party(&mut self, party: Party) -> Result<(), GrantStoreError> {
        self.parties.insert(party.id.clone(), party);
        Ok(())
    }

    fn parties(&self) -> Result<Vec<Party>, GrantStoreError> {
        Ok(self.parties.values().cloned().collect())
    }

    fn grant(&self, id: GrantId) -> Result<Option<Grant>, GrantStoreError> {
        Ok(self.grants.get(&id).cloned())
    }

    fn grants_of_esi(&self, esi_id: &str) -> Result<Vec<Grant>, GrantStoreError> {
        Ok(self
            .by_esi
            .get(esi_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.grants.get(id).cloned())
            .collect())
    }

    fn grants(&self) -> Result<Vec<Grant>, GrantStoreError> {
        Ok(self.grants.values().cloned().collect())
    }

    fn insert_grant(&mut self, mut grant: Grant) -> Result<Grant, GrantStoreError> {
        grant.id = GrantId(self.next_id);
        self.next_id += 1;
        self.index(&grant);
        self.grants.insert(grant.id, grant.clone());
        Ok(grant)
    }

    fn remove_grant(&mut self, id: GrantId) -> Result<Option<Grant>, GrantStoreError> {
        let Some(g) = self.grants.remove(&id) else { return Ok(None) };
        if let Some(ids) = self.by_esi.get_mut(&g.esi_id) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_esi.remove(&g.esi_id);
            }
        }
        Ok(Some(g))
    }
}
