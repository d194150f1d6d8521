//! ZigBee security primitives an SE 1.0 trust center needs (se10.md §8), without allocation.
//!
//! * [`key`]: [`Key128`], an AES-128 key (link key, network key) that never prints its bytes.
//! * [`install_code`]: install codes as printed on labels and in QR codes, their CRC-16/X-25,
//!   and the EUI-64 that travels with them (se10.md §8.1).
//! * [`mmo`]: the AES-MMO-128 hash, the install-code → link-key derivation, and the HMAC-MMO
//!   keyed hash behind the key-transport and key-load keys (se10.md §8.2–§8.3).
//! * [`ccm`]: CCM* for ZigBee security levels 0–7 with the 13-byte ZigBee nonce (se10.md §8.4,
//!   §8.6).
//! * [`aux_header`]: the auxiliary security header of NWK and APS frames (se10.md §8.5), and the
//!   "level bits are 0 on the air" rule.
//!
//! Secrets (keys, install codes) are never part of a `Debug`/`Display` output or of an error.

pub mod aux_header;
pub mod ccm;
pub mod install_code;
pub mod key;
pub mod mmo;

pub use aux_header::{
    AuxHeader, AuxHeaderView, KeyIdentifier, SecurityControl, NWK_SECURITY_LEVEL,
};
pub use ccm::{decrypt_in_place, encrypt_in_place, CcmStar, Nonce, SecurityLevel};
pub use install_code::{InstallCode, InstallCodeError, InstallCodeLabel};
pub use key::Key128;
pub use mmo::{
    aes_mmo_hash, hmac_mmo, key_load_key, key_transport_key, link_key_from_install_code, AesMmo,
};

use crate::zcl::Eui64;
use core::fmt;

/// Failure of a CCM* operation or of a frame-counter check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecurityError {
    /// The MIC computed over the received frame differs from the MIC it carries: wrong key, wrong
    /// nonce (source address, frame counter, level), or a modified frame. The payload buffer has
    /// been zeroed so that unauthenticated plaintext cannot be used by mistake.
    MicMismatch,
    /// A buffer has the wrong length: the MIC buffer does not match the security level, or the
    /// authenticated data plus payload exceed what CCM* with a 2-byte length field can cover.
    BadLength,
    /// A frame counter that is not greater than the last one accepted from the same source: a
    /// replayed or reordered frame (ZigBee PRO §4.3.1.2 / §4.4.1.2 freshness check).
    FrameCounterRegression {
        /// The highest counter accepted so far from this source.
        last: u32,
        /// The counter of the rejected frame.
        got: u32,
    },
}

impl fmt::Display for SecurityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MicMismatch => f.write_str("message integrity code mismatch"),
            Self::BadLength => f.write_str("bad buffer length for CCM*"),
            Self::FrameCounterRegression { last, got } => write!(
                f,
                "frame counter {got} is not greater than the last accepted counter {last}"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SecurityError {}

/// Incoming frame counters per source, for the freshness check of received secured frames:
/// a frame is accepted only if its counter is strictly greater than the last accepted one from
/// the same EUI-64 (ZigBee PRO NWK/APS frame security, "incoming frame count").
///
/// Use it in two steps, so that a forged frame cannot move the counter forward:
/// [`check`](Self::check) before decrypting, [`accept`](Self::accept) only after the MIC
/// verified. Holds up to `N` sources without allocating; when full, the entry accepted least
/// recently is replaced (that source then starts over, so a replay of its old frames would pass
/// the counter check: size `N` for every device that talks to the node).
#[derive(Debug, Clone)]
pub struct FrameCounterCheck<const N: usize> {
    entries: [Option<CounterEntry>; N],
    /// Monotonic use stamp, for least-recently-accepted replacement.
    clock: u64,
}

#[derive(Debug, Clone, Copy)]
struct CounterEntry {
    source: Eui64,
    last: u32,
    stamp: u64,
}

impl<const N: usize> Default for FrameCounterCheck<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameCounterCheck<N> {
    pub const fn new() -> Self {
        Self { entries: [None; N], clock: 0 }
    }

    /// The last counter accepted from `source`, if any.
    pub fn last(&self, source: Eui64) -> Option<u32> {
        self.entries.iter().flatten().find(|e| e.source == source).map(|e| e.last)
    }

    /// Whether a frame from `source` with `counter` is fresh. Does not record anything.
    pub fn check(&self, source: Eui64, counter: u32) -> Result<(), SecurityError> {
        match self.last(source) {
            Some(last) if counter <= last => {
                Err(SecurityError::FrameCounterRegression { last, got: counter })
            }
            _ => Ok(()),
        }
    }

    /// Records `counter` as the last accepted one from `source` (call after the MIC verified).
    /// Fails, recording nothing, if the counter is not fresh.
    pub fn accept(&mut self, source: Eui64, counter: u32) -> Result<(), SecurityError> {
        self.check(source, counter)?;
        self.clock += 1;
        let stamp = self.clock;
        if let Some(e) = self.entries.iter_mut().flatten().find(|e| e.source == source) {
            e.last = counter;
            e.stamp = stamp;
            return Ok(());
        }
        let new = CounterEntry { source, last: counter, stamp };
        let slot = match self.entries.iter_mut().position(|e| e.is_none()) {
            Some(free) => self.entries.get_mut(free),
            None => self.entries.iter_mut().min_by_key(|e| e.map_or(0, |e| e.stamp)),
        };
        if let Some(slot) = slot {
            *slot = Some(new);
        }
        Ok(())
    }

    /// Forgets `source` (e.g. after it left the network or was given a new key).
    pub fn forget(&mut self, source: Eui64) {
        for e in &mut self.entries {
            if e.is_some_and(|x| x.source == source) {
                *e = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_counters_must_increase_per_source() {
        let a = Eui64(0x000B_57FF_FE12_3456);
        let b = Eui64(0x000D_6F00_0ABC_DEF0);
        let mut fc = FrameCounterCheck::<4>::new();
        assert_eq!(fc.check(a, 0), Ok(()));
        fc.accept(a, 10).unwrap();
        fc.accept(b, 3).unwrap();
        assert_eq!(
            fc.check(a, 10),
            Err(SecurityError::FrameCounterRegression { last: 10, got: 10 })
        );
        assert_eq!(
            fc.accept(a, 9),
            Err(SecurityError::FrameCounterRegression { last: 10, got: 9 })
        );
        assert_eq!(fc.last(a), Some(10), "a refused counter is not recorded");
        fc.accept(a, 11).unwrap();
        assert_eq!(fc.last(a), Some(11));
        assert_eq!(fc.last(b), Some(3));
        fc.forget(a);
        assert_eq!(fc.check(a, 0), Ok(()));
    }

    #[test]
    fn full_table_replaces_least_recently_accepted() {
        let mut fc = FrameCounterCheck::<2>::new();
        fc.accept(Eui64(1), 5).unwrap();
        fc.accept(Eui64(2), 5).unwrap();
        fc.accept(Eui64(1), 6).unwrap();
        fc.accept(Eui64(3), 1).unwrap(); // replaces source 2
        assert_eq!(fc.last(Eui64(1)), Some(6));
        assert_eq!(fc.last(Eui64(2)), None);
        assert_eq!(fc.last(Eui64(3)), Some(1));
    }

    #[test]
    fn zero_capacity_table_never_fails() {
        let mut fc = FrameCounterCheck::<0>::new();
        fc.accept(Eui64(1), 5).unwrap();
        assert_eq!(fc.last(Eui64(1)), None);
    }
}
