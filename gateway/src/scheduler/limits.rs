//! Per-ESI token bucket, retry backoff with jitter, and the seeded RNG the scheduler takes.

use std::time::Duration;

/// Source of randomness for jitter. The scheduler never creates one: the daemon passes a seeded
/// generator so a simulation run replays exactly (house style §3).
pub trait JitterRng {
    /// Next 64 random bits.
    fn next_u64(&mut self) -> u64;
}

/// SplitMix64: tiny, seedable, good enough for jitter.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl JitterRng for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Exponential backoff with "equal jitter": the n-th retry waits
/// `d/2 + uniform(0..=d/2)` where `d = min(max, base · 2ⁿ)`, so retries of many deliveries that
/// failed together (a coordinator reset) spread out instead of arriving in a burst.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Backoff {
    /// Delay scale of the first retry.
    pub base: Duration,
    /// Upper bound of `d`.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { base: Duration::from_secs(2), max: Duration::from_secs(5 * 60) }
    }
}

impl Backoff {
    /// Delay in ms before retry number `retries + 1` (`retries` re-sends so far).
    pub fn delay_ms(&self, retries: u32, rng: &mut impl JitterRng) -> u64 {
        let base = u64::try_from(self.base.as_millis()).unwrap_or(u64::MAX);
        let max = u64::try_from(self.max.as_millis()).unwrap_or(u64::MAX);
        let d = base.saturating_mul(1u64.checked_shl(retries.min(63)).unwrap_or(u64::MAX)).min(max);
        let half = d / 2;
        half + rng.next_u64() % (d - half + 1)
    }
}

/// A per-ESI rate limit: `per_second` sustained, bursts of up to `burst`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RateLimit {
    /// Tokens added per second.
    pub per_second: u32,
    /// Bucket size.
    pub burst: u32,
}

/// Token bucket in milli-tokens (integer arithmetic, time passed in as ms).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bucket {
    milli: u64,
    last_ms: u64,
}

pub(crate) const TOKEN: u64 = 1000;

impl Bucket {
    /// A full bucket.
    pub fn full(limit: RateLimit, now_ms: u64) -> Self {
        Self { milli: u64::from(limit.burst) * TOKEN, last_ms: now_ms }
    }

    /// Adds what accrued since the last refill (1 token/s = 1 milli-token/ms).
    pub fn refill(&mut self, limit: RateLimit, now_ms: u64) {
        if now_ms > self.last_ms {
            let add = (now_ms - self.last_ms).saturating_mul(u64::from(limit.per_second));
            self.milli = self.milli.saturating_add(add).min(u64::from(limit.burst) * TOKEN);
            self.last_ms = now_ms;
        }
    }

    /// Whether `need` milli-tokens are there.
    pub fn has(&self, need: u64) -> bool {
        self.milli >= need
    }

    /// Takes one token (never below zero).
    pub fn take(&mut self) {
        self.milli = self.milli.saturating_sub(TOKEN);
    }

    /// When `need` milli-tokens will be there (`None`: never, the rate is 0 or need > burst).
    pub fn ready_at(&self, limit: RateLimit, need: u64) -> Option<u64> {
        if self.milli >= need {
            return Some(self.last_ms);
        }
        if limit.per_second == 0 || need > u64::from(limit.burst) * TOKEN {
            return None;
        }
        let per = u64::from(limit.per_second);
        Some(self.last_ms + (need - self.milli).div_ceil(per))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters_within_bounds() {
        let b = Backoff { base: Duration::from_secs(1), max: Duration::from_secs(8) };
        let mut rng = SplitMix64(7);
        for (n, d) in [(0, 1000u64), (1, 2000), (2, 4000), (3, 8000), (10, 8000), (200, 8000)] {
            for _ in 0..100 {
                let got = b.delay_ms(n, &mut rng);
                assert!(got >= d / 2 && got <= d, "retry {n}: {got} not in [{}, {d}]", d / 2);
            }
        }
        // same seed, same sequence
        let (mut a, mut c) = (SplitMix64(42), SplitMix64(42));
        assert_eq!(b.delay_ms(2, &mut a), b.delay_ms(2, &mut c));
    }

    #[test]
    fn bucket_refills_and_predicts() {
        let l = RateLimit { per_second: 2, burst: 3 };
        let mut b = Bucket::full(l, 0);
        for _ in 0..3 {
            assert!(b.has(TOKEN));
            b.take();
        }
        assert!(!b.has(TOKEN));
        assert_eq!(b.ready_at(l, TOKEN), Some(500));
        b.refill(l, 499);
        assert!(!b.has(TOKEN));
        b.refill(l, 500);
        assert!(b.has(TOKEN));
        b.refill(l, 1_000_000);
        assert!(b.has(3 * TOKEN) && !b.has(3 * TOKEN + 1));
        assert_eq!(b.ready_at(l, 4 * TOKEN), None);
        let zero = RateLimit { per_second: 0, burst: 0 };
        assert_eq!(Bucket::full(zero, 0).ready_at(zero, TOKEN), None);
    }
}
