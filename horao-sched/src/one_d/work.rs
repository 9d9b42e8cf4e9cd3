//! The work meter of the LP-based phases: one count of elementary operations that every
//! master, pricing call and search node of one instance draws from, against one limit.
//!
//! A unit is one multiply-add of the simplex (a pivot on an m-row master with an explicit
//! inverse costs m² units, its dense update, which runs vectorised); an operation on a sparse
//! factorization of the basis (an entry of a factor or eta column in a solve, a step of the
//! factorization) costs [`SPARSE_UNITS`], a cell of a pricing table (a compare, a branch and a
//! bit written) [`CELL_UNITS`], a knapsack search node [`NODE_UNITS`], and an entry of a pool
//! column priced (a gathered dual, read at random) [`ENTRY_UNITS`]. The count depends only on
//! the input, so a limit on it keeps the results deterministic while bounding the time of the
//! largest instances, where a pivot or a pricing call costs a thousand times what it costs on
//! a small one.

use std::cell::Cell;
use std::rc::Rc;

/// Units one entry of a column is charged when the pool is priced.
pub(crate) const ENTRY_UNITS: u64 = 4;
/// Units one elementary operation on a sparse basis factorization is charged: an entry of a
/// factor or eta column in a solve, a step of the factorization (indexed, not vectorised).
/// Eight, not three as first set: once pricing returns several columns per table, the
/// simplex and not the tables dominates the AI/ANI masters above 256 rows, and at three a
/// budget spent mostly in the LU ran about twice as long as one spent mostly in tables
/// (ANI 402 NR_0: 15 s against 8 s for the same budget; docs/PERFORMANCE.md).
pub(crate) const SPARSE_UNITS: u64 = 8;
/// Units one cell of a knapsack table is charged.
pub(crate) const CELL_UNITS: u64 = 8;
/// Units one knapsack branch-and-bound node is charged (its bound and bookkeeping).
pub(crate) const NODE_UNITS: u64 = 64;

/// Work left, shared by every clone (a master copied for a child node draws from the same
/// budget as its parent).
#[derive(Clone, Debug)]
pub(crate) struct Meter {
    left: Rc<Cell<u64>>,
}

impl Meter {
    /// A meter with `limit` units to spend.
    pub(crate) fn new(limit: u64) -> Self {
        Self {
            left: Rc::new(Cell::new(limit)),
        }
    }

    /// A meter that never runs out in practice.
    pub(crate) fn unlimited() -> Self {
        Self::new(u64::MAX)
    }

    /// Spends `units` (down to zero).
    pub(crate) fn charge(&self, units: u64) {
        self.left.set(self.left.get().saturating_sub(units));
    }

    /// Whether the budget is spent.
    pub(crate) fn exhausted(&self) -> bool {
        self.left.get() == 0
    }

    /// Units left.
    #[cfg(test)]
    pub(crate) fn left(&self) -> u64 {
        self.left.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_budget() {
        let meter = Meter::new(100);
        let copy = meter.clone();
        copy.charge(60);
        assert_eq!(meter.left(), 40);
        assert!(!meter.exhausted());
        meter.charge(50);
        assert!(copy.exhausted());
        assert_eq!(copy.left(), 0);
    }
}
