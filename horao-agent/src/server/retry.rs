//! Capped exponential backoff with jitter for requests the server may answer later (it is
//! unreachable or answered 5xx). The jitter comes from a seeded generator the caller owns, so
//! a run is reproducible and no global random state is read.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// How often and how long to retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1: no retry).
    pub attempts: u32,
    /// The delay before the first retry (before jitter).
    pub base: Duration,
    /// The longest delay.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts, 250 ms doubling, at most 4 s apart.
    fn default() -> Self {
        Self {
            attempts: 4,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(4),
        }
    }
}

/// The delays of one policy, jittered by a seeded generator.
#[derive(Debug)]
pub struct Jitter {
    rng: ChaCha8Rng,
}

impl Jitter {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The delay before retry number `retry` (0 for the first): the capped exponential delay
    /// scaled by a factor in [1/2, 1], so agents that failed together do not retry together.
    pub fn delay(&mut self, policy: &RetryPolicy, retry: u32) -> Duration {
        let exp = policy
            .base
            .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX));
        let full = exp.min(policy.cap);
        full.mul_f64(self.rng.random_range(0.5..=1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_capped_and_jittered_reproducibly() {
        let policy = RetryPolicy {
            attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
        };
        let mut a = Jitter::new(7);
        let delays: Vec<Duration> = (0..8).map(|r| a.delay(&policy, r)).collect();
        for (r, d) in delays.iter().enumerate() {
            let full = (Duration::from_millis(100) * (1 << r)).min(policy.cap);
            assert!(*d <= full && *d >= full / 2, "retry {r}: {d:?} vs {full:?}");
        }
        assert!(delays[7] <= policy.cap);
        let mut b = Jitter::new(7);
        let again: Vec<Duration> = (0..8).map(|r| b.delay(&policy, r)).collect();
        assert_eq!(delays, again);
        // The jitter is real: not every delay is the full one.
        assert!(
            delays
                .iter()
                .enumerate()
                .any(|(r, d)| { *d < (Duration::from_millis(100) * (1 << r)).min(policy.cap) })
        );
        assert!(a.delay(&policy, u32::MAX) <= policy.cap);
    }
}
