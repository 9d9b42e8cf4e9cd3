//! The classic "fit" heuristics over a given item order: next, first, best and worst fit.
//!
//! First fit uses an eight-ary max tournament tree over bin residuals (O(log n) per item), best fit an
//! ordered set of (residual, bin) and worst fit a binary heap, so every one runs in
//! O(n log n) even on millions of items.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

/// A bin under construction: item indices and the space left.
pub(crate) type Bins = Vec<Vec<usize>>;

/// Next fit: keep one open bin; open a new one when the item does not fit.
pub(crate) fn next_fit(sized: &[(usize, u64)], capacity: u64) -> Bins {
    let mut bins: Bins = Vec::new();
    let mut residual = 0u64;
    for &(i, size) in sized {
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

/// Children per node of [`FitTree`]: eight `u64` residuals fill one 64-byte cache line.
const FAN: usize = 8;

/// A max tournament tree over bin residuals that finds the leftmost bin with enough room.
///
/// The tree is eight-ary: a descent reads one cache line per level, so a million bins take
/// seven levels instead of the twenty of a binary tree, which matters once the tree no
/// longer fits in cache. `levels[0]` holds the leaves, each level above the maxima of the
/// blocks of [`FAN`] entries below it; every level is padded with zeros (no room) to a whole
/// number of blocks, and the last level is a single block.
pub(crate) struct FitTree {
    levels: Vec<Vec<u64>>,
}

impl FitTree {
    /// A tree with room for `bins` bins, all with residual `capacity` (unopened bins are full
    /// of room, so the leftmost fitting leaf is either an open bin or the next new one).
    pub(crate) fn new(bins: usize, capacity: u64) -> Self {
        let mut levels = Vec::new();
        let mut len = bins.max(1);
        loop {
            let blocks = len.div_ceil(FAN);
            let mut level = vec![0; blocks * FAN];
            level[..len].fill(capacity);
            levels.push(level);
            if blocks == 1 {
                break;
            }
            len = blocks;
        }
        Self { levels }
    }

    /// The leftmost bin whose residual is at least `size`.
    pub(crate) fn first_at_least(&self, size: u64) -> Option<usize> {
        let mut block = 0;
        for level in self.levels.iter().rev() {
            let slots = &level[block * FAN..(block + 1) * FAN];
            block = block * FAN + slots.iter().position(|&r| r >= size)?;
        }
        Some(block)
    }

    /// The residual of bin `bin`.
    pub(crate) fn get(&self, bin: usize) -> u64 {
        self.levels[0][bin]
    }

    /// Sets the residual of bin `bin`.
    pub(crate) fn set(&mut self, bin: usize, residual: u64) {
        self.levels[0][bin] = residual;
        let mut index = bin;
        for up in 1..self.levels.len() {
            let block = index / FAN;
            let max = self.levels[up - 1][block * FAN..(block + 1) * FAN]
                .iter()
                .copied()
                .max()
                .unwrap_or(0);
            if self.levels[up][block] == max {
                break; // Nothing above changes.
            }
            self.levels[up][block] = max;
            index = block;
        }
    }
}

/// First fit: each item goes into the lowest-numbered bin with room.
pub(crate) fn first_fit(sized: &[(usize, u64)], capacity: u64) -> Bins {
    let mut tree = FitTree::new(sized.len(), capacity);
    let mut bins: Bins = Vec::new();
    for &(i, size) in sized {
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
pub(crate) fn best_fit(sized: &[(usize, u64)], capacity: u64) -> Bins {
    let mut open: BTreeSet<(u64, usize)> = BTreeSet::new();
    let mut bins: Bins = Vec::new();
    for &(i, size) in sized {
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
pub(crate) fn worst_fit(sized: &[(usize, u64)], capacity: u64) -> Bins {
    let mut open: BinaryHeap<(u64, Reverse<usize>)> = BinaryHeap::new();
    let mut bins: Bins = Vec::new();
    for &(i, size) in sized {
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

/// `(index, size)` of every item in input order.
pub(crate) fn input_order(items: &[u64]) -> Vec<(usize, u64)> {
    items.iter().copied().enumerate().collect()
}

/// `(index, size)` of every item by decreasing size (ties by index, so the order is
/// deterministic). The fit heuristics take sizes alongside indices: looking each size up by
/// index in sorted order is a cache miss per item, which dominated FFD on a million items.
pub(crate) fn decreasing(items: &[u64]) -> Vec<(usize, u64)> {
    crate::sort::by_decreasing_size(input_order(items), |&(_, s)| s)
}

/// Item indices sorted by decreasing size (ties by index), for the searches.
pub(crate) fn decreasing_order(items: &[u64]) -> Vec<usize> {
    decreasing(items).into_iter().map(|(i, _)| i).collect()
}
