//! The timeline's state: capacity, claims and the change-point map, with the mutators.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use super::index::Index;
use super::types::{Claim, ClaimId, ClaimKind};
use crate::{Error, Result};

/// Capacity over time: a fixed capacity per dimension, minus the claims active at each instant.
///
/// Call order: build with [`Timeline::new`], add claims with [`Timeline::add_reservation`] and
/// [`Timeline::add_maintenance`] (or remove them with [`Timeline::remove`]) in any order, and
/// query with [`Timeline::fits`] and [`Timeline::earliest_start`] at any point. Claims are not
/// checked against the capacity when added — a merge of two replicas may legitimately produce
/// an over-committed timeline, which then simply has no room — so callers test `fits` first.
#[derive(Debug)]
pub struct Timeline {
    pub(super) capacity: Vec<u64>,
    claims: HashMap<ClaimId, Claim>,
    next_id: u64,
    /// Net change of usage per dimension at each instant where some claim starts or ends.
    pub(super) deltas: BTreeMap<u64, Vec<i128>>,
    /// The query index, rebuilt on the first query after a change.
    pub(super) index: OnceLock<Index>,
}

impl Timeline {
    /// An empty timeline with this capacity per dimension.
    pub fn new(capacity: Vec<u64>) -> Self {
        Self {
            capacity,
            claims: HashMap::new(),
            next_id: 0,
            deltas: BTreeMap::new(),
            index: OnceLock::new(),
        }
    }

    /// The capacity per dimension.
    pub fn capacity(&self) -> &[u64] {
        &self.capacity
    }

    /// The number of claims.
    pub fn len(&self) -> usize {
        self.claims.len()
    }

    /// Whether there are no claims.
    pub fn is_empty(&self) -> bool {
        self.claims.is_empty()
    }

    /// A claim by id.
    pub fn claim(&self, id: ClaimId) -> Option<&Claim> {
        self.claims.get(&id)
    }

    /// All claims with their ids, in id (insertion) order.
    pub fn claims(&self) -> Vec<(ClaimId, &Claim)> {
        let mut all: Vec<_> = self.claims.iter().map(|(&id, c)| (id, c)).collect();
        all.sort_by_key(|&(id, _)| id);
        all
    }

    /// Records a reservation of `demand` over `[start, end)`.
    ///
    /// Errors if `demand` has the wrong length or the window is empty.
    pub fn add_reservation(&mut self, demand: Vec<u64>, start: u64, end: u64) -> Result<ClaimId> {
        self.add(Claim {
            kind: ClaimKind::Reservation,
            amount: demand,
            start,
            end,
        })
    }

    /// Records a maintenance window that removes `removed` capacity over `[start, end)`.
    ///
    /// Errors if `removed` has the wrong length or the window is empty.
    pub fn add_maintenance(&mut self, removed: Vec<u64>, start: u64, end: u64) -> Result<ClaimId> {
        self.add(Claim {
            kind: ClaimKind::Maintenance,
            amount: removed,
            start,
            end,
        })
    }

    /// Records any claim; the two `add_*` methods are shorthands for this.
    pub fn add(&mut self, claim: Claim) -> Result<ClaimId> {
        self.check_len("claim amount", &claim.amount)?;
        check_window(claim.start, claim.end)?;
        self.shift(&claim, 1);
        let id = ClaimId(self.next_id);
        self.next_id += 1;
        self.claims.insert(id, claim);
        Ok(id)
    }

    /// Removes a claim, returning it; `None` if there is no claim with this id.
    pub fn remove(&mut self, id: ClaimId) -> Option<Claim> {
        let claim = self.claims.remove(&id)?;
        self.shift(&claim, -1);
        Some(claim)
    }

    /// Adds (`sign` = 1) or subtracts (`sign` = −1) a claim's amount at its two change points.
    fn shift(&mut self, claim: &Claim, sign: i128) {
        let d = self.capacity.len();
        for (t, s) in [(claim.start, sign), (claim.end, -sign)] {
            let delta = self.deltas.entry(t).or_insert_with(|| vec![0; d]);
            for (x, &a) in delta.iter_mut().zip(&claim.amount) {
                *x += s * i128::from(a);
            }
            if delta.iter().all(|&x| x == 0) {
                self.deltas.remove(&t);
            }
        }
        self.index = OnceLock::new();
    }

    /// The query index, built now if a change invalidated it.
    pub(super) fn index(&self) -> &Index {
        self.index
            .get_or_init(|| Index::build(&self.deltas, self.capacity.len()))
    }

    pub(super) fn check_len(&self, what: &str, v: &[u64]) -> Result<()> {
        if v.len() == self.capacity.len() {
            Ok(())
        } else {
            Err(Error::DimensionMismatch {
                what: what.to_owned(),
                expected: self.capacity.len(),
                found: v.len(),
            })
        }
    }
}

/// Rejects empty and reversed windows.
pub(super) fn check_window(start: u64, end: u64) -> Result<()> {
    if start < end {
        Ok(())
    } else {
        Err(Error::InvalidWindow { start, end })
    }
}
