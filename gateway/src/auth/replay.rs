//! The nonces seen recently, so a captured request cannot be played again.
//!
//! A signed request is accepted only while its `iat` is within the clock skew of now, so a nonce
//! needs remembering only until `iat + skew`: after that the `iat` check refuses the token anyway.
//! Entries are kept in time buckets (one per expiry second) and whole buckets are dropped as time
//! passes, so memory is bounded by the request rate × 2 × skew, and by a hard entry cap. When the
//! cap is reached the cache refuses new requests (fails closed) instead of forgetting live nonces.
//!
//! Each entry is 16 bytes: a SHA-256 of key id and nonce, truncated. A collision would refuse one
//! honest request; with 128 bits that does not happen in practice.

use std::collections::{BTreeMap, HashSet};

use sha2::{Digest, Sha256};

/// Why [`ReplayCache::insert`] refused a nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayRefusal {
    /// The nonce was used before, within the replay window.
    Replayed,
    /// The cache holds its maximum of live entries.
    Full,
}

/// Time-bucketed set of `(key id, nonce)` with expiry.
#[derive(Debug, Clone)]
pub struct ReplayCache {
    seen: HashSet<[u8; 16]>,
    /// Expiry second → entries that expire then.
    buckets: BTreeMap<u64, Vec<[u8; 16]>>,
    max_entries: usize,
}

fn fingerprint(kid: &str, nonce: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update((kid.len() as u64).to_be_bytes());
    h.update(kid.as_bytes());
    h.update(nonce.as_bytes());
    let d = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(d.get(..16).unwrap_or(&[0; 16]));
    out
}

impl ReplayCache {
    pub fn new(max_entries: usize) -> Self {
        Self { seen: HashSet::new(), buckets: BTreeMap::new(), max_entries }
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Drops every entry whose expiry is `<= now`.
    pub fn evict(&mut self, now: u64) {
        while let Some(entry) = self.buckets.first_entry() {
            if *entry.key() > now {
                break;
            }
            for fp in entry.remove() {
                self.seen.remove(&fp);
            }
        }
    }

    /// Records `(kid, nonce)` until `expires_at` (Unix seconds, exclusive), unless it is already
    /// recorded or the cache is full.
    pub fn insert(
        &mut self,
        kid: &str,
        nonce: &str,
        expires_at: u64,
        now: u64,
    ) -> Result<(), ReplayRefusal> {
        self.evict(now);
        let fp = fingerprint(kid, nonce);
        if self.seen.contains(&fp) {
            return Err(ReplayRefusal::Replayed);
        }
        if self.seen.len() >= self.max_entries {
            return Err(ReplayRefusal::Full);
        }
        self.seen.insert(fp);
        self.buckets.entry(expires_at).or_default().push(fp);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_expiry_then_forgets() {
        let mut c = ReplayCache::new(10);
        c.insert("k", "n1", 110, 100).unwrap();
        assert_eq!(c.insert("k", "n1", 110, 109), Err(ReplayRefusal::Replayed));
        // Same nonce from another key is a different request.
        c.insert("k2", "n1", 110, 109).unwrap();
        c.insert("k", "n1", 120, 110).unwrap();
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn kid_and_nonce_boundaries_do_not_collide() {
        let mut c = ReplayCache::new(10);
        c.insert("ab", "c", 10, 0).unwrap();
        c.insert("a", "bc", 10, 0).unwrap();
    }

    #[test]
    fn full_cache_fails_closed_and_recovers_after_expiry() {
        let mut c = ReplayCache::new(3);
        for n in ["a", "b", "c"] {
            c.insert("k", n, 50, 0).unwrap();
        }
        assert_eq!(c.insert("k", "d", 50, 10), Err(ReplayRefusal::Full));
        c.insert("k", "d", 90, 50).unwrap();
        assert_eq!(c.len(), 1);
    }
}
