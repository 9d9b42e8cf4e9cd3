//! The timeline's state: capacity, claims and the change-point tree, with the mutators.

use std::collections::BTreeMap;

use super::tree::Tree;
use super::types::{Claim, ClaimId, ClaimKind};
use crate::{Error, Result};

/// Capacity over time: a capacity per dimension, minus the claims active at each instant.
///
/// Call order: build with [`Timeline::new`], add claims with [`Timeline::add_reservation`] and
/// [`Timeline::add_maintenance`] (or remove them with [`Timeline::remove`]) in any order, and
/// query with [`Timeline::fits`] and [`Timeline::earliest_start`] at any point; every change
/// updates the query structure in place, so queries and changes can interleave freely.
/// [`Timeline::what_if`] asks the same questions with claims set aside or added, without
/// changing the timeline. Claims are not checked against the capacity when added — a merge of
/// two replicas may legitimately produce an over-committed timeline, which then simply has no
/// room — so callers test `fits` first.
#[derive(Clone, Debug)]
pub struct Timeline {
    pub(super) capacity: Vec<u64>,
    claims: BTreeMap<ClaimId, Claim>,
    next_id: u64,
    /// Net change of usage per dimension at each instant where some claim starts or ends.
    pub(super) tree: Tree,
}

impl Timeline {
    /// An empty timeline with this capacity per dimension.
    pub fn new(capacity: Vec<u64>) -> Self {
        let tree = Tree::new(capacity.len());
        Self {
            capacity,
            claims: BTreeMap::new(),
            next_id: 0,
            tree,
        }
    }

    /// The capacity per dimension.
    pub fn capacity(&self) -> &[u64] {
        &self.capacity
    }

    /// Replaces the capacity (claims stay as they are), in O(d).
    ///
    /// Errors if `capacity` has a different number of dimensions.
    pub fn set_capacity(&mut self, capacity: Vec<u64>) -> Result<()> {
        self.check_len("capacity", &capacity)?;
        self.capacity = capacity;
        Ok(())
    }

    /// The number of claims.
    pub fn len(&self) -> usize {
        self.claims.len()
    }

    /// Whether there are no claims.
    pub fn is_empty(&self) -> bool {
        self.claims.is_empty()
    }

    /// The number of distinct instants where usage changes.
    pub fn change_points(&self) -> usize {
        self.tree.points()
    }

    /// A claim by id.
    pub fn claim(&self, id: ClaimId) -> Option<&Claim> {
        self.claims.get(&id)
    }

    /// All claims with their ids, in id (insertion) order.
    pub fn claims(&self) -> Vec<(ClaimId, &Claim)> {
        self.iter().collect()
    }

    /// All claims with their ids, in id (insertion) order, without collecting them.
    pub fn iter(&self) -> impl Iterator<Item = (ClaimId, &Claim)> {
        self.claims.iter().map(|(&id, c)| (id, c))
    }

    /// The usage per dimension at instant `t`: the sum of the claims active then.
    pub fn usage_at(&self, t: u64) -> Vec<u64> {
        self.tree
            .usage_at(t)
            .into_iter()
            .map(|u| u64::try_from(u.max(0)).unwrap_or(u64::MAX))
            .collect()
    }

    /// Every instant where usage changes, with the net change per dimension there, in time
    /// order. Two timelines holding the same claims give the same list, whatever order the
    /// claims were added and removed in.
    pub fn changes(&self) -> Vec<(u64, Vec<i128>)> {
        self.tree.entries()
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

    /// Records any claim, in O(log n · d); the two `add_*` methods are shorthands for this.
    pub fn add(&mut self, claim: Claim) -> Result<ClaimId> {
        self.check_claim(&claim)?;
        self.shift(&claim, 1);
        let id = ClaimId(self.next_id);
        self.next_id += 1;
        self.claims.insert(id, claim);
        Ok(id)
    }

    /// Records many claims at once, rebuilding the change-point tree bottom-up in
    /// O((n + k) · (log(n + k) + d)) for `k` new claims on `n` held ones: cheaper than `k`
    /// calls of [`Timeline::add`] when `k` is large (building a timeline from scratch, say).
    ///
    /// Each claim is checked as `add` checks it; the answer holds, in order, each claim's id or
    /// the error that kept it out. Claims that pass are recorded even when others fail.
    pub fn add_all(&mut self, claims: impl IntoIterator<Item = Claim>) -> Vec<Result<ClaimId>> {
        let mut changes = self.tree.entries();
        let mut out = Vec::new();
        for claim in claims {
            if let Err(e) = self.check_claim(&claim) {
                out.push(Err(e));
                continue;
            }
            if claim.amount.iter().any(|&a| a != 0) {
                let up: Vec<i128> = claim.amount.iter().map(|&a| i128::from(a)).collect();
                let down = up.iter().map(|&a| -a).collect();
                changes.push((claim.start, up));
                changes.push((claim.end, down));
            }
            let id = ClaimId(self.next_id);
            self.next_id += 1;
            self.claims.insert(id, claim);
            out.push(Ok(id));
        }
        changes.sort_by_key(|&(t, _)| t);
        let mut points: Vec<(u64, Vec<i128>)> = Vec::with_capacity(changes.len());
        for (t, change) in changes {
            match points.last_mut() {
                Some((last, sum)) if *last == t => {
                    for (s, c) in sum.iter_mut().zip(change) {
                        *s += c;
                    }
                }
                _ => points.push((t, change)),
            }
        }
        points.retain(|(_, change)| change.iter().any(|&c| c != 0));
        self.tree = Tree::from_points(self.capacity.len(), &points);
        out
    }

    /// Removes a claim, in O(log n · d), returning it; `None` if there is no claim with this
    /// id.
    pub fn remove(&mut self, id: ClaimId) -> Option<Claim> {
        let claim = self.claims.remove(&id)?;
        self.shift(&claim, -1);
        Some(claim)
    }

    /// Adds (`sign` = 1) or subtracts (`sign` = −1) a claim's amount at its two change points.
    fn shift(&mut self, claim: &Claim, sign: i128) {
        self.tree.add(claim.start, &claim.amount, sign);
        self.tree.add(claim.end, &claim.amount, -sign);
    }

    pub(super) fn check_claim(&self, claim: &Claim) -> Result<()> {
        self.check_len("claim amount", &claim.amount)?;
        check_window(claim.start, claim.end)
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
