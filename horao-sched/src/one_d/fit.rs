//! The classic "fit" heuristics over a given item order: next, first, best and worst fit.
//!
//! First fit uses a max tournament tree over bin residuals (O(log n) per item), best fit an
//! ordered set of (residual, bin) and worst fit a binary heap, so every one runs in
//! O(n log n) even on millions of items.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

/// A bin under construction: item indices and the space left.
pub(crate) type Bins = Vec<Vec<usize>>;

/// Next fit: keep one open bin; open a new one when the item does not fit.
pub(crate) fn next_fit(items: &[u64], order: &[usize], capacity: u64) -> Bins {
    let mut bins: Bins = Vec::new();
    let mut residual = 0u64;
    for &i in order {
        let size = items[i];
        match bins.last_mut() {
            Some(bin) if size <= residual => {
                bin.push(i);
                residual -= size;
            }
            _ => {
                bins.push(vec![i]);
                residual = capacity - size;
            }
        }
    }
    bins
}

/// A max tournament tree over bin residuals that finds the leftmost bin with enough room.
pub(crate) struct FitTree {
    leaves: usize,
    tree: Vec<u64>,
}

impl FitTree {
    /// A tree with room for `bins` bins, all with residual `capacity` (unopened bins are full
    /// of room, so the leftmost fitting leaf is either an open bin or the next new one).
    pub(crate) fn new(bins: usize, capacity: u64) -> Self {
        let leaves = bins.max(1).next_power_of_two();
        Self {
            leaves,
            tree: vec![capacity; 2 * leaves],
        }
    }

    /// The leftmost bin whose residual is at least `size`.
    pub(crate) fn first_at_least(&self, size: u64) -> Option<usize> {
        if self.tree[1] < size {
            return None;
        }
        let mut node = 1;
        while node < self.leaves {
            node = if self.tree[2 * node] >= size {
                2 * node
            } else {
                2 * node + 1
            };
        }
        Some(node - self.leaves)
    }

    /// The residual of bin `bin`.
    pub(crate) fn get(&self, bin: usize) -> u64 {
        self.tree[self.leaves + bin]
    }

    /// Sets the residual of bin `bin`.
    pub(crate) fn set(&mut self, bin: usize, residual: u64) {
        let mut node = self.leaves + bin;
        self.tree[node] = residual;
        while node > 1 {
            node /= 2;
            self.tree[node] = self.tree[2 * node].max(self.tree[2 * node + 1]);
        }
    }
}

/// First fit: each item goes into the lowest-numbered bin with room.
pub(crate) fn first_fit(items: &[u64], order: &[usize], capacity: u64) -> Bins {
    let mut tree = FitTree::new(order.len(), capacity);
    let mut bins: Bins = Vec::new();
    for &i in order {
        let size = items[i];
        // The tree has one leaf per item, so a leaf with room always exists.
        let bin = tree.first_at_least(size).unwrap_or(bins.len());
        if bin == bins.len() {
            bins.push(Vec::new());
        }
        bins[bin].push(i);
        let residual = tree.get(bin) - size;
        tree.set(bin, residual);
    }
    bins
}

/// Best fit: each item goes into the fullest bin that still has room (ties: lowest index).
pub(crate) fn best_fit(items: &[u64], order: &[usize], capacity: u64) -> Bins {
    let mut open: BTreeSet<(u64, usize)> = BTreeSet::new();
    let mut bins: Bins = Vec::new();
    for &i in order {
        let size = items[i];
        let found = open.range((size, 0)..).next().copied();
        let (residual, bin) = match found {
            Some(entry) => {
                open.remove(&entry);
                entry
            }
            None => {
                bins.push(Vec::new());
                (capacity, bins.len() - 1)
            }
        };
        bins[bin].push(i);
        open.insert((residual - size, bin));
    }
    bins
}

/// Worst fit: each item goes into the emptiest open bin if it fits there, else a new bin.
pub(crate) fn worst_fit(items: &[u64], order: &[usize], capacity: u64) -> Bins {
    let mut open: BinaryHeap<(u64, Reverse<usize>)> = BinaryHeap::new();
    let mut bins: Bins = Vec::new();
    for &i in order {
        let size = items[i];
        let (residual, bin) = match open.peek() {
            Some(&(residual, Reverse(bin))) if residual >= size => {
                open.pop();
                (residual, bin)
            }
            _ => {
                bins.push(Vec::new());
                (capacity, bins.len() - 1)
            }
        };
        bins[bin].push(i);
        open.push((residual - size, Reverse(bin)));
    }
    bins
}

/// Item indices sorted by decreasing size (ties by index, so the order is deterministic).
pub(crate) fn decreasing_order(items: &[u64]) -> Vec<usize> {
    // Sorting contiguous (key, index) pairs avoids a random access into `items` per
    // comparison, which dominates FFD on millions of items.
    let mut keyed: Vec<(Reverse<u64>, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, &s)| (Reverse(s), i))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}
