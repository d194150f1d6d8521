//! AES-128 keys (se10.md §8): APS link keys, the network key, and the keys derived from them.

use core::fmt;

/// A 128-bit AES key: a trust-center link key (e.g. derived from an install code, se10.md §8.1),
/// a network key, or a key-transport/key-load key (se10.md §8.3).
///
/// The bytes never appear in `Debug` or `Display` output (both print `Key128(<redacted>)`), so a
/// key that ends up in a log line or an error message does not leak. Equality is computed without
/// data-dependent branches. There is deliberately no serde support: a key is written to storage
/// through [`as_bytes`](Self::as_bytes), on purpose. Not zeroized on drop.
#[derive(Clone)]
pub struct Key128([u8; 16]);

impl Key128 {
    /// The publicly known default trust-center link key "ZigBeeAlliance09" (ZigBee HA 1.2 /
    /// Zigbee 3.0 "global" link key). Smart Energy networks join with install-code keys instead
    /// and must not accept this key for joining; it is here for test vectors and sniffing.
    pub const ZIGBEE_ALLIANCE_09: Self = Self(*b"ZigBeeAlliance09");

    pub const fn new(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The key bytes, in the order they are handed to AES (the order in which ZigBee tools print
    /// keys, e.g. `66B6900981E1EE3C...`).
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl From<[u8; 16]> for Key128 {
    fn from(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
}

impl PartialEq for Key128 {
    /// Compares all 16 bytes without an early exit (XOR-fold), so the time taken does not reveal
    /// how many leading bytes matched.
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.0, &other.0)
    }
}

impl Eq for Key128 {}

impl fmt::Debug for Key128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key128(<redacted>)")
    }
}

impl fmt::Display for Key128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key128(<redacted>)")
    }
}

/// Equality of two byte slices without an early exit on the first differing byte. Slices of
/// different lengths are unequal (the length itself is not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // `black_box` keeps the optimiser from turning the fold back into an early-exit compare.
    core::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;

    #[test]
    fn debug_and_display_never_show_bytes() {
        let k = Key128::new([0xAB; 16]);
        assert_eq!(format!("{k:?}"), "Key128(<redacted>)");
        assert_eq!(format!("{k}"), "Key128(<redacted>)");
        assert_eq!(format!("{:#?}", Some(k.clone())), "Some(\n    Key128(<redacted>),\n)");
        assert!(!format!("{k:?}").to_lowercase().contains("ab"));
    }

    #[test]
    fn equality() {
        let a = Key128::new([1; 16]);
        let mut other = [1; 16];
        assert_eq!(a, Key128::new(other));
        other[15] = 0;
        assert_ne!(a, Key128::new(other));
        assert!(!ct_eq(&[1, 2], &[1, 2, 3]));
        assert_eq!(Key128::ZIGBEE_ALLIANCE_09.as_bytes()[0], 0x5A);
    }
}
