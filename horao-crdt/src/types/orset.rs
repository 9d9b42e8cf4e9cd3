//! Add-wins observed-remove set.

use crate::causal::Tx;
use crate::store::{DotMap, DotSet, DotStore, newtype_dot_store};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// A set where an add concurrent with a remove of the same element wins. Each element keeps
/// one dot; removing it kills the dots the remover saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrSet<E: Ord>(DotMap<E, DotSet>);

impl<E: Ord> Default for OrSet<E> {
    fn default() -> Self {
        Self(DotMap::default())
    }
}

impl<E: Ord + Clone + Debug> OrSet<E> {
    /// Delta adding `e`.
    pub fn add(&self, e: E, tx: &mut Tx) -> Self {
        if let Some(old) = self.0.0.get(&e) {
            tx.kill(old);
        }
        Self(DotMap::single(e, DotSet::single(tx.dot(), ())))
    }

    /// Delta removing `e` (a no-op delta when absent).
    pub fn remove(&self, e: &E, tx: &mut Tx) -> Self {
        match self.0.0.get(e) {
            Some(old) => {
                tx.kill(old);
                Self(DotMap::single(e.clone(), DotSet::default()))
            }
            None => Self::default(),
        }
    }

    /// Delta removing every element seen.
    pub fn clear(&self, tx: &mut Tx) -> Self {
        tx.kill(&self.0);
        Self(DotMap(
            self.0
                .0
                .keys()
                .map(|k| (k.clone(), DotSet::default()))
                .collect(),
        ))
    }

    /// True when `e` is present.
    pub fn contains(&self, e: &E) -> bool {
        self.0.0.get(e).is_some_and(|s| !s.is_bottom())
    }

    /// The elements in order.
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.0
            .0
            .iter()
            .filter(|(_, s)| !s.is_bottom())
            .map(|(e, _)| e)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

newtype_dot_store!(OrSet<E> where E: Ord + Clone + Debug);
