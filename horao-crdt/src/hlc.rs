//! Hybrid logical clock: physical milliseconds (passed in by the caller) plus a logical
//! counter, so timestamps respect causality even when wall clocks disagree.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

const LOGICAL_BITS: u32 = 16;
const LOGICAL_MASK: u64 = (1 << LOGICAL_BITS) - 1;
const MAX_PHYSICAL: u64 = (1 << (64 - LOGICAL_BITS)) - 1;

/// A hybrid timestamp packed in one `u64`: 48 bits of milliseconds, 16 bits of logical counter.
/// Ordered as the pair (physical, logical).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The timestamp `(physical_ms, logical)`; errors if `physical_ms` needs more than 48 bits.
    pub fn new(physical_ms: u64, logical: u16) -> Result<Self> {
        if physical_ms > MAX_PHYSICAL {
            return Err(Error::TimeOutOfRange(physical_ms));
        }
        Ok(Self((physical_ms << LOGICAL_BITS) | u64::from(logical)))
    }

    /// Milliseconds part.
    pub fn physical(self) -> u64 {
        self.0 >> LOGICAL_BITS
    }

    /// Logical part.
    pub fn logical(self) -> u16 {
        // The mask keeps 16 bits, so the conversion cannot lose anything.
        u16::try_from(self.0 & LOGICAL_MASK).unwrap_or(u16::MAX)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.physical(), self.logical())
    }
}

/// A hybrid logical clock. It never reads the system clock: every call takes the caller's
/// current physical time in milliseconds.
///
/// Call order: [`Hlc::now`] before stamping a local event; [`Hlc::observe`] when a remote
/// timestamp arrives. Both return a timestamp strictly greater than every one returned before.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Hlc {
    last: Timestamp,
    max_drift_ms: u64,
}

impl Hlc {
    /// A clock that rejects remote timestamps more than `max_drift_ms` ahead of local time.
    pub fn new(max_drift_ms: u64) -> Self {
        Self {
            last: Timestamp::default(),
            max_drift_ms,
        }
    }

    /// The last timestamp issued.
    pub fn last(&self) -> Timestamp {
        self.last
    }

    /// A timestamp for a local event at physical time `now_ms`.
    pub fn now(&mut self, now_ms: u64) -> Result<Timestamp> {
        let now = Timestamp::new(now_ms, 0)?;
        self.last = if now > self.last {
            now
        } else {
            self.successor(self.last)?
        };
        Ok(self.last)
    }

    /// Merges a remote timestamp seen at local physical time `now_ms`, returning a timestamp
    /// greater than both. Errors (and changes nothing) when the remote clock is too far ahead.
    pub fn observe(&mut self, remote: Timestamp, now_ms: u64) -> Result<Timestamp> {
        if remote.physical() > now_ms.saturating_add(self.max_drift_ms) {
            return Err(Error::ClockDrift {
                remote_ms: remote.physical(),
                local_ms: now_ms,
                max_drift_ms: self.max_drift_ms,
            });
        }
        let now = Timestamp::new(now_ms, 0)?;
        let top = self.last.max(remote);
        self.last = if now > top { now } else { self.successor(top)? };
        Ok(self.last)
    }

    /// The next timestamp after `t`: logical + 1, or the next millisecond when the logical
    /// counter is full.
    fn successor(&self, t: Timestamp) -> Result<Timestamp> {
        if t.logical() < u16::MAX {
            Ok(Timestamp(t.0 + 1))
        } else {
            Timestamp::new(t.physical() + 1, 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_strictly_monotone_even_when_time_goes_back() {
        let mut c = Hlc::new(1000);
        let a = c.now(100).unwrap();
        let b = c.now(50).unwrap();
        let d = c.now(100).unwrap();
        assert!(a < b && b < d);
        assert_eq!(a.physical(), 100);
        assert_eq!(b.physical(), 100);
        assert_eq!(b.logical(), 1);
        let e = c.now(200).unwrap();
        assert_eq!((e.physical(), e.logical()), (200, 0));
    }

    #[test]
    fn observe_moves_past_remote_and_rejects_drift() {
        let mut c = Hlc::new(1000);
        c.now(100).unwrap();
        let r = Timestamp::new(900, 7).unwrap();
        let t = c.observe(r, 100).unwrap();
        assert!(t > r);
        let far = Timestamp::new(5000, 0).unwrap();
        let before = c.last();
        assert!(matches!(c.observe(far, 100), Err(Error::ClockDrift { .. })));
        assert_eq!(c.last(), before);
    }

    #[test]
    fn logical_overflow_borrows_a_millisecond() {
        let mut c = Hlc::new(10);
        c.observe(Timestamp::new(10, u16::MAX).unwrap(), 10)
            .unwrap();
        let t = c.last();
        assert_eq!((t.physical(), t.logical()), (11, 0));
        assert!(Timestamp::new(1 << 50, 0).is_err());
    }
}
