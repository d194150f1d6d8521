//! The slot table: which HAN devices this ESI serves, in what provisioning state, and the
//! trust-centre link key each one joins with (design.md §5; BR-068).
//!
//! A meter's ESI has a fixed number of device slots (5–16, a const generic checked at compile
//! time). A slot is taken by `AddDevice` and freed by removal or join-window expiry; nothing else
//! allocates or frees one, so "no slot is used twice" is local to this module.

use super::clock::Instant;
use core::fmt;
use zse::zcl::Eui64;

/// A 128-bit trust-centre link key (derived from the device's install code, se10.md §8.1).
/// `Debug` never prints the key; the bytes are reachable only through [`LinkKey::expose`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LinkKey([u8; 16]);

impl LinkKey {
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The key bytes, for the radio's key table only.
    pub const fn expose(&self) -> &[u8; 16] {
        &self.0
    }

    pub(crate) const ZERO: Self = Self([0; 16]);
}

impl fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkKey(<redacted>)")
    }
}

/// Provisioning state of an occupied slot (design.md §5: pending → joining → key_established →
/// paired).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotState {
    /// Provisioned; the join window is open and the device has not joined yet.
    Pending,
    /// The device joined with its install-code link key (design's "joining").
    Joined,
    /// The device has shown it holds the link key: it sent an APS link-key secured frame
    /// (typically Key Establishment, se10.md §7).
    KeyEstablished,
    /// Key establishment completed: the device is served. See the module docs of
    /// `provisioning` for how the core decides this without doing CBKE itself.
    Paired,
    /// The device was on the network and left it; it stays provisioned and may rejoin.
    Left,
}

impl SlotState {
    /// The device is on the network (may send and receive).
    pub const fn is_on_network(self) -> bool {
        matches!(self, Self::Joined | Self::KeyEstablished | Self::Paired)
    }
}

/// One provisioned device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub eui64: Eui64,
    pub(crate) key: LinkKey,
    pub state: SlotState,
    /// NWK short address, once the device has joined.
    pub short: Option<u16>,
    /// The device's SE application endpoint (learned from its frames; configured default until
    /// then).
    pub endpoint: u8,
    /// Join window end while `Pending`.
    pub join_deadline: Option<Instant>,
    pub last_seen: Option<Instant>,
    pub lqi: Option<u8>,
    /// Sent GetCurrentPrice with "Requestor Rx On When Idle" set: PublishPrice is pushed to it
    /// (se10.md §3.2).
    pub price_client: bool,
}

/// Fixed-capacity slot table.
#[derive(Debug, Clone)]
pub struct SlotTable<const SLOTS: usize> {
    slots: [Option<Slot>; SLOTS],
}

impl<const SLOTS: usize> SlotTable<SLOTS> {
    pub const fn new() -> Self {
        Self { slots: [None; SLOTS] }
    }

    pub const fn capacity(&self) -> usize {
        SLOTS
    }

    pub fn occupied(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Index of the slot holding `eui64`.
    pub fn find(&self, eui64: Eui64) -> Option<usize> {
        self.slots.iter().position(|s| s.is_some_and(|s| s.eui64 == eui64))
    }

    /// Index of the on-network slot with short address `short`.
    pub fn find_short(&self, short: u16) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.is_some_and(|s| s.short == Some(short) && s.state.is_on_network()))
    }

    pub fn get(&self, index: usize) -> Option<&Slot> {
        self.slots.get(index).and_then(Option::as_ref)
    }

    pub fn get_mut(&mut self, index: usize) -> Option<&mut Slot> {
        self.slots.get_mut(index).and_then(Option::as_mut)
    }

    pub fn by_eui(&self, eui64: Eui64) -> Option<&Slot> {
        self.find(eui64).and_then(|i| self.get(i))
    }

    pub fn by_eui_mut(&mut self, eui64: Eui64) -> Option<&mut Slot> {
        self.find(eui64).and_then(|i| self.get_mut(i))
    }

    /// Puts `slot` into the first free entry; `None` when full.
    pub fn insert(&mut self, slot: Slot) -> Option<usize> {
        let (i, free) = self.slots.iter_mut().enumerate().find(|(_, s)| s.is_none())?;
        *free = Some(slot);
        Some(i)
    }

    /// Frees the slot. The key is overwritten in place before the entry is emptied, and the
    /// returned copy carries no key.
    pub fn remove(&mut self, index: usize) -> Option<Slot> {
        let entry = self.slots.get_mut(index)?;
        let slot = entry.as_mut()?;
        slot.key = LinkKey::ZERO;
        entry.take()
    }

    /// Occupied slots with their indices.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Slot)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Slot> {
        self.slots.iter_mut().flatten()
    }
}

impl<const SLOTS: usize> Default for SlotTable<SLOTS> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::format;

    fn slot(eui: u64) -> Slot {
        Slot {
            eui64: Eui64(eui),
            key: LinkKey::from_bytes([0xAB; 16]),
            state: SlotState::Pending,
            short: None,
            endpoint: 1,
            join_deadline: None,
            last_seen: None,
            lqi: None,
            price_client: false,
        }
    }

    #[test]
    fn insert_find_remove() {
        let mut t = SlotTable::<5>::new();
        assert_eq!(t.insert(slot(1)), Some(0));
        assert_eq!(t.insert(slot(2)), Some(1));
        assert_eq!(t.find(Eui64(2)), Some(1));
        assert!(t.remove(0).is_some());
        assert_eq!(t.insert(slot(3)), Some(0));
        assert_eq!(t.occupied(), 2);
        for e in 10..13 {
            assert!(t.insert(slot(e)).is_some());
        }
        assert_eq!(t.insert(slot(99)), None);
    }

    #[test]
    fn keys_never_in_debug() {
        let s = slot(1);
        let text = format!("{s:?}");
        assert!(text.contains("redacted"));
        assert!(!text.contains("171"), "{text}");
        assert!(!text.to_lowercase().contains("ab, "), "{text}");
    }
}
