//! Positive-negative counter as a dot store, so it can live inside a map.

use crate::causal::Tx;
use crate::store::{DotFun, newtype_dot_store};
use serde::{Deserialize, Serialize};

/// A counter that supports increments and decrements from any replica.
///
/// Each replica keeps one entry `(dot, increments, decrements)` holding its running totals; an
/// update replaces the replica's previous entry. Inside an [`crate::OrMap`], removing the
/// counter resets the totals the remover saw; a replica that updated concurrently keeps its
/// own running total.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PnCounter(DotFun<(u64, u64)>);

impl PnCounter {
    /// Delta adding `by` (negative to decrement).
    pub fn add(&self, by: i64, tx: &mut Tx) -> Self {
        let me = tx.replica();
        let own: Vec<_> = self
            .0
            .entries()
            .iter()
            .filter(|(d, _)| d.replica == me)
            .cloned()
            .collect();
        let (mut inc, mut dec) = own
            .iter()
            .fold((0u64, 0u64), |(i, d), (_, (a, b))| (i.max(*a), d.max(*b)));
        let old = DotFun::from_vec(own);
        tx.kill(&old);
        if by >= 0 {
            inc = inc.saturating_add(by.unsigned_abs());
        } else {
            dec = dec.saturating_add(by.unsigned_abs());
        }
        Self(DotFun::single(tx.dot(), (inc, dec)))
    }

    /// The current value.
    pub fn value(&self) -> i64 {
        let (inc, dec) = self
            .0
            .entries()
            .iter()
            .fold((0i128, 0i128), |(i, d), (_, (a, b))| {
                (i + i128::from(*a), d + i128::from(*b))
            });
        i64::try_from(inc - dec).unwrap_or(if inc > dec { i64::MAX } else { i64::MIN })
    }
}

newtype_dot_store!(PnCounter<> where);
