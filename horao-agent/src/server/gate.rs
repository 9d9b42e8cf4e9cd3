//! Change detection for reports: a report goes out when what it says changed significantly
//! since the last one the server accepted, and otherwise at a modest refresh interval, so
//! usage figures (which change with every write) do not flood the replicated delta log.

use horao_model::api::storage::VolumeCurrentView;
use std::collections::BTreeMap;
use std::time::Duration;

/// The last report the server accepted per key, and when.
#[derive(Clone, Debug)]
pub struct Gate<V> {
    refresh: Duration,
    sent: BTreeMap<String, (V, Duration)>,
}

impl<V: PartialEq> Gate<V> {
    /// A gate refreshing unchanged reports every `refresh`.
    pub fn new(refresh: Duration) -> Self {
        Self {
            refresh,
            sent: BTreeMap::new(),
        }
    }

    /// Whether a report of `key` whose significant part is `value` is due at `now` (any
    /// monotonic clock): never sent, changed, or older than the refresh interval.
    pub fn due(&self, key: &str, value: &V, now: Duration) -> bool {
        match self.sent.get(key) {
            None => true,
            Some((last, at)) => last != value || now.saturating_sub(*at) >= self.refresh,
        }
    }

    /// Records that the server accepted the report of `key` at `now`.
    pub fn sent(&mut self, key: &str, value: V, now: Duration) {
        self.sent.insert(key.to_owned(), (value, now));
    }

    /// Forgets every key `keep` refuses (volumes no longer assigned here).
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.sent.retain(|k, _| keep(k));
    }
}

/// The part of a volume's report whose change is sent at once: everything but the used bytes,
/// which go out with the periodic refresh.
pub fn significant(view: &VolumeCurrentView) -> VolumeCurrentView {
    VolumeCurrentView {
        used_bytes: 0,
        ..view.clone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use horao_model::storage::VolumeState;

    fn view(state: VolumeState, used: u64, limit: u64) -> VolumeCurrentView {
        VolumeCurrentView {
            state,
            used_bytes: used,
            limit_bytes: limit,
            initialized: true,
            degraded: false,
            reason: String::new(),
            nested: Vec::new(),
        }
    }

    #[test]
    fn reports_go_out_on_change_and_at_the_refresh_interval() {
        let s = Duration::from_secs;
        let mut gate = Gate::new(s(60));
        let a = significant(&view(VolumeState::Ready, 10, 100));
        assert!(gate.due("v", &a, s(0)));
        gate.sent("v", a.clone(), s(0));
        assert!(!gate.due("v", &a, s(1)));
        // Usage alone is not significant.
        assert_eq!(significant(&view(VolumeState::Ready, 99, 100)), a);
        assert!(!gate.due("v", &significant(&view(VolumeState::Ready, 99, 100)), s(59)));
        assert!(gate.due("v", &a, s(60)));
        // A state or limit change goes at once.
        assert!(gate.due("v", &significant(&view(VolumeState::Failed, 10, 100)), s(2)));
        assert!(gate.due("v", &significant(&view(VolumeState::Ready, 10, 200)), s(2)));
        assert!(gate.due("w", &a, s(2)));
        gate.retain(|k| k != "v");
        assert!(gate.due("v", &a, s(3)));
    }
}
