//! Multi-value register: keeps every concurrent write, one dot per value.

use crate::causal::Tx;
use crate::id::Dot;
use crate::store::{DotFun, newtype_dot_store};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// A register that keeps all concurrent writes; a write replaces every value it has seen.
/// Each value carries a single dot, not a vector clock, so metadata stays flat as writers grow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MvReg<V>(DotFun<V>);

impl<V> Default for MvReg<V> {
    fn default() -> Self {
        Self(DotFun::default())
    }
}

impl<V: Clone + PartialEq + Debug> MvReg<V> {
    /// Delta writing `value`, replacing every value seen.
    pub fn write(&self, value: V, tx: &mut Tx) -> Self {
        tx.kill(&self.0);
        Self(DotFun::single(tx.dot(), value))
    }

    /// Delta clearing the register (no value until the next write).
    pub fn clear(&self, tx: &mut Tx) -> Self {
        tx.kill(&self.0);
        Self::default()
    }

    /// The concurrent values, in dot order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.entries().iter().map(|(_, v)| v)
    }

    /// The values with their dots.
    pub fn entries(&self) -> &[(Dot, V)] {
        self.0.entries()
    }
}

newtype_dot_store!(MvReg<V> where V: Clone + PartialEq + Debug);
