//! Last-writer-wins register ordered by hybrid timestamp, ties broken by replica id.

use crate::causal::Tx;
use crate::hlc::Timestamp;
use crate::id::Dot;
use crate::store::{DotFun, newtype_dot_store};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// A register whose value is the write with the greatest `(timestamp, replica)`.
///
/// A write overwrites every value its replica has seen, so a causally later write always
/// wins, whatever the clocks say; timestamps only arbitrate between concurrent writes. Each
/// stored value carries one dot and one timestamp, not a vector clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LwwReg<V>(DotFun<(Timestamp, V)>);

impl<V> Default for LwwReg<V> {
    fn default() -> Self {
        Self(DotFun::default())
    }
}

impl<V: Clone + PartialEq + Debug> LwwReg<V> {
    /// Delta writing `value` at time `ts`.
    pub fn write(&self, value: V, ts: Timestamp, tx: &mut Tx) -> Self {
        tx.kill(&self.0);
        Self(DotFun::single(tx.dot(), (ts, value)))
    }

    /// Delta clearing the register (it reads `None` until the next write).
    pub fn clear(&self, tx: &mut Tx) -> Self {
        tx.kill(&self.0);
        Self::default()
    }

    fn winner(&self) -> Option<&(Dot, (Timestamp, V))> {
        self.0
            .entries()
            .iter()
            .max_by_key(|(d, (ts, _))| (*ts, d.replica, d.counter))
    }

    /// The current value.
    pub fn get(&self) -> Option<&V> {
        self.winner().map(|(_, (_, v))| v)
    }

    /// The timestamp of the current value.
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.winner().map(|(_, (ts, _))| *ts)
    }

    /// Number of concurrent writes kept (1 once replicas have synchronised).
    pub fn concurrent_writes(&self) -> usize {
        self.0.len()
    }
}

newtype_dot_store!(LwwReg<V> where V: Clone + PartialEq + Debug);
