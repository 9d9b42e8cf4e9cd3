//! Reconnect delays: exponential from a base up to a cap, with jitter applied to the capped
//! delay, so servers restarted together do not redial in step.

use rand::Rng;
use std::time::Duration;

/// A reconnect schedule.
#[derive(Clone, Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    /// Delays from `base`, doubling, up to `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap: cap.max(base),
            attempt: 0,
        }
    }

    /// The delay before the next attempt: `min(base * 2^n, cap)`, then a random part of it
    /// between a half and the whole (the jitter is applied after the cap, so a server stuck
    /// at the cap still redials at a random moment).
    pub fn next_delay(&mut self) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32.checked_shl(self.attempt.min(20)).unwrap_or(u32::MAX));
        self.attempt = self.attempt.saturating_add(1);
        let capped = exp.min(self.cap);
        let half = capped / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
        half + Duration::from_millis(jitter)
    }

    /// Back to the base delay (after a connection that worked).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_with_jitter() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let first = b.next_delay();
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(101));
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..40 {
            let d = b.next_delay();
            assert!(d <= Duration::from_millis(5001), "{d:?} over the cap");
            seen.insert(d.as_millis());
        }
        let capped: Vec<_> = (0..20).map(|_| b.next_delay()).collect();
        assert!(capped.iter().all(|d| *d >= Duration::from_millis(2500)));
        assert!(
            capped
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                > 1,
            "delays at the cap are jittered"
        );
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(101));
    }
}
