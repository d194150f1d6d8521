//! Per-party request rate limits: a token bucket per party (BR-025.008: a stated volume flows,
//! and one party cannot starve the others).
//!
//! A bucket holds up to `burst` tokens and refills at `per_second`; each request takes one. Time
//! is passed in (a monotonic [`Instant`]), so tests and simulations control it. Buckets exist
//! only for authenticated parties, whose number the configuration bounds; [`RateLimiter::prune`]
//! drops buckets that have refilled completely.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::grants::PartyId;

/// A sustained rate and a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests per second, sustained. Must be positive.
    pub per_second: f64,
    /// Requests that may arrive at once after a quiet period. At least 1.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self { per_second: 50.0, burst: 200 }
    }
}

/// A party exceeded its limit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "party {party} exceeded its rate limit of {per_second} requests/s (burst {burst}); retry in {:.1} s",
    retry_after.as_secs_f64()
)]
pub struct RateLimited {
    pub party: PartyId,
    pub per_second: f64,
    pub burst: u32,
    /// When one request will be allowed again.
    pub retry_after: Duration,
}

impl From<RateLimited> for ApiError {
    fn from(e: RateLimited) -> Self {
        ApiError::rate_limited(e.to_string())
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets per party.
#[derive(Debug, Clone, Default)]
pub struct RateLimiter {
    default: RateLimit,
    overrides: HashMap<PartyId, RateLimit>,
    buckets: HashMap<PartyId, Bucket>,
}

impl RateLimiter {
    pub fn new(default: RateLimit) -> Self {
        Self { default, overrides: HashMap::new(), buckets: HashMap::new() }
    }

    /// A different limit for one party (e.g. a TDSP's head-end).
    pub fn set_limit(&mut self, party: PartyId, limit: RateLimit) {
        self.overrides.insert(party, limit);
    }

    pub fn limit_of(&self, party: &PartyId) -> RateLimit {
        self.overrides.get(party).copied().unwrap_or(self.default)
    }

    /// Takes one token from `party`'s bucket at `now`, or says how long to wait.
    pub fn check(&mut self, party: &PartyId, now: Instant) -> Result<(), RateLimited> {
        let limit = self.limit_of(party);
        let burst = f64::from(limit.burst.max(1));
        let rate = if limit.per_second > 0.0 { limit.per_second } else { f64::MIN_POSITIVE };
        let b = self.buckets.entry(party.clone()).or_insert(Bucket { tokens: burst, last: now });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.last = b.last.max(now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - b.tokens) / rate).min(86_400.0 * 365.0);
        Err(RateLimited {
            party: party.clone(),
            per_second: limit.per_second,
            burst: limit.burst,
            retry_after: Duration::from_secs_f64(wait),
        })
    }

    /// Forgets buckets that are full again at `now` (they would start full anyway).
    pub fn prune(&mut self, now: Instant) {
        let (default, overrides) = (self.default, &self.overrides);
        self.buckets.retain(|p, b| {
            let l = overrides.get(p).copied().unwrap_or(default);
            let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
            b.tokens + elapsed * l.per_second < f64::from(l.burst.max(1))
        });
    }

    /// Parties with a bucket in memory.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn burst_then_sustained_rate() {
        let mut rl = RateLimiter::new(RateLimit { per_second: 2.0, burst: 3 });
        let p = PartyId::new("rep");
        let t0 = Instant::now();
        for _ in 0..3 {
            rl.check(&p, t0).unwrap();
        }
        let e = rl.check(&p, t0).unwrap_err();
        assert!((e.retry_after.as_secs_f64() - 0.5).abs() < 1e-6);
        let api: ApiError = e.into();
        assert_eq!(api.code, ErrorCode::RateLimited);
        assert!(api.message.contains("retry in 0.5 s"), "{}", api.message);
        rl.check(&p, t0 + Duration::from_millis(500)).unwrap();
        assert!(rl.check(&p, t0 + Duration::from_millis(600)).is_err());
        // Another party has its own bucket.
        rl.check(&PartyId::new("tp"), t0).unwrap();
        // After a long pause the bucket is full again, but not more than full.
        let later = t0 + Duration::from_secs(100);
        for _ in 0..3 {
            rl.check(&p, later).unwrap();
        }
        assert!(rl.check(&p, later).is_err());
    }

    #[test]
    fn overrides_and_prune() {
        let mut rl = RateLimiter::new(RateLimit { per_second: 1.0, burst: 1 });
        let big = PartyId::new("tdsp");
        rl.set_limit(big.clone(), RateLimit { per_second: 1000.0, burst: 100 });
        let t0 = Instant::now();
        for _ in 0..100 {
            rl.check(&big, t0).unwrap();
        }
        rl.check(&PartyId::new("rep"), t0).unwrap();
        assert_eq!(rl.tracked(), 2);
        rl.prune(t0 + Duration::from_secs(10));
        assert_eq!(rl.tracked(), 0);
    }
}
