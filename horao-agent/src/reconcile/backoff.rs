//! Per-item capped exponential backoff on a clock the caller passes in: an item that failed
//! is skipped until its retry time, and a change to what is desired of it retries at once.

use crate::error::ErrorClass;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::time::Duration;

/// Backoff parameters: the first delay, doubled per consecutive failure up to the cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub base: Duration,
    /// Longest delay.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The delay after `failures` consecutive failures (at least 1).
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.base.saturating_mul(1 << doublings).min(self.cap)
    }
}

/// The last failure of an item that is backing off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    /// Consecutive failures.
    pub(crate) failures: u32,
    /// Not retried before this time.
    pub(crate) retry_at: Duration,
    /// The last error's class and message.
    pub(crate) class: ErrorClass,
    pub(crate) message: String,
    /// A fingerprint of what was desired when it failed.
    fingerprint: u64,
}

/// The failures of the items that are backing off, by key.
#[derive(Clone, Debug, Default)]
pub(crate) struct BackoffTable {
    entries: BTreeMap<String, Failure>,
}

impl BackoffTable {
    /// The failure that keeps `key` waiting at `now`, if any. A different `fingerprint`
    /// (the desired state of the item changed) ends the wait.
    pub(crate) fn waiting(&self, key: &str, fingerprint: u64, now: Duration) -> Option<&Failure> {
        self.entries
            .get(key)
            .filter(|f| f.fingerprint == fingerprint && now < f.retry_at)
    }

    /// Records a failure at `now` and returns it.
    pub(crate) fn fail(
        &mut self,
        backoff: &Backoff,
        key: &str,
        fingerprint: u64,
        now: Duration,
        class: ErrorClass,
        message: String,
    ) -> &Failure {
        let failures = self
            .entries
            .get(key)
            .filter(|f| f.fingerprint == fingerprint)
            .map_or(1, |f| f.failures.saturating_add(1));
        let failure = Failure {
            failures,
            retry_at: now.saturating_add(backoff.delay(failures)),
            class,
            message,
            fingerprint,
        };
        match self.entries.entry(key.to_string()) {
            Entry::Occupied(mut slot) => {
                slot.insert(failure);
                slot.into_mut()
            }
            Entry::Vacant(slot) => slot.insert(failure),
        }
    }

    /// Forgets `key` after a success.
    pub(crate) fn succeed(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// Forgets every key `keep` rejects (items no longer desired).
    pub(crate) fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.entries.retain(|k, _| keep(k));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn delays_double_up_to_the_cap() {
        let b = Backoff {
            base: S(1),
            cap: S(60),
        };
        let delays: Vec<u64> = (1..=9).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(b.delay(u32::MAX), S(60));
    }

    #[test]
    fn waits_until_retry_time_or_a_new_desire() {
        let b = Backoff::default();
        let mut t = BackoffTable::default();
        let f = t.fail(&b, "v", 7, S(10), ErrorClass::Busy, "busy".into());
        assert_eq!((f.failures, f.retry_at), (1, S(11)));
        assert!(t.waiting("v", 7, S(10)).is_some());
        assert!(t.waiting("v", 7, S(11)).is_none());
        assert!(
            t.waiting("v", 8, S(10)).is_none(),
            "changed desire retries now"
        );
        let f = t.fail(&b, "v", 7, S(11), ErrorClass::Busy, "busy".into());
        assert_eq!((f.failures, f.retry_at), (2, S(13)));
        let f = t.fail(&b, "v", 9, S(11), ErrorClass::Busy, "busy".into());
        assert_eq!(f.failures, 1, "a new desire starts over");
        t.succeed("v");
        assert!(t.waiting("v", 9, S(11)).is_none());
        t.fail(&b, "a", 1, S(0), ErrorClass::Other, String::new());
        t.fail(&b, "b", 1, S(0), ErrorClass::Other, String::new());
        t.retain(|k| k == "a");
        assert_eq!(t.len(), 1);
    }
}
