//! The simulator's only source of randomness (style.md §3): one seed, split into independent
//! streams per concern so that, for example, adding a device does not change which radio frames
//! are lost.
//!
//! The generator is xoshiro256** seeded through SplitMix64 (Blackman & Vigna, "Scrambled linear
//! pseudorandom number generators", 2021). It is written out here rather than taken from a crate
//! so that a seed replays the same run whatever crate versions are in the lock file.

/// A seeded pseudo-random stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRng {
    s: [u64; 4],
}

/// SplitMix64 step: spreads a seed over the state words.
fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 64-bit hash of a label (FNV-1a), to name streams.
pub fn label_hash(label: &str) -> u64 {
    label
        .bytes()
        .fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3))
}

impl SimRng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let s = [splitmix64(&mut x), splitmix64(&mut x), splitmix64(&mut x), splitmix64(&mut x)];
        Self { s }
    }

    /// An independent stream for one concern, derived from the seed and a label (and an index,
    /// e.g. the device number). Forking does not advance `self`.
    #[must_use]
    pub fn fork(&self, label: &str, index: u64) -> Self {
        let mut x = self.s[0] ^ label_hash(label).rotate_left(17) ^ index.wrapping_mul(0xA24B_AED4);
        Self::new(splitmix64(&mut x))
    }

    pub fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = &mut self.s;
        let result = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = *s1 << 17;
        *s2 ^= *s0;
        *s3 ^= *s1;
        *s1 ^= *s2;
        *s0 ^= *s3;
        *s2 ^= t;
        *s3 = s3.rotate_left(45);
        result
    }

    /// Uniform in `0..n` (0 when `n` is 0). Lemire's multiply-shift; the tiny bias is irrelevant
    /// for a simulator and keeps the draw count fixed (one per call), which replay relies on.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi` (`lo` if `hi < lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1))
    }

    /// True with probability `p` (0.0 ..= 1.0). Always draws, so the stream position does not
    /// depend on `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `0.0..1.0` (53 random bits, exactly representable).
    #[allow(clippy::cast_precision_loss)]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_forks_differ() {
        let mut a = SimRng::new(1);
        let mut b = SimRng::new(1);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        let mut f1 = SimRng::new(1).fork("medium", 0);
        let mut f2 = SimRng::new(1).fork("medium", 1);
        let mut f3 = SimRng::new(1).fork("serial", 0);
        let (x1, x2, x3) = (f1.next_u64(), f2.next_u64(), f3.next_u64());
        assert!(x1 != x2 && x1 != x3 && x2 != x3);
        assert_ne!(SimRng::new(2).next_u64(), SimRng::new(1).next_u64());
    }

    #[test]
    fn bounded_draws_stay_in_range() {
        let mut r = SimRng::new(7);
        for _ in 0..1000 {
            assert!(r.below(10) < 10);
            let v = r.range(5, 9);
            assert!((5..=9).contains(&v));
        }
        assert_eq!(r.below(0), 0);
        assert!(!r.chance(0.0));
        assert!(r.chance(1.0));
    }
}
