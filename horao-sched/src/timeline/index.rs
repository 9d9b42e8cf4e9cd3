//! The query index of a timeline: constant-usage segments between change points and a
//! per-dimension max segment tree over them, answering "first segment in a range where some
//! dimension exceeds its threshold" in O(log n · d).

use std::collections::BTreeMap;

/// Segments and the max tree, rebuilt from the change-point map after each modification.
#[derive(Debug)]
pub(crate) struct Index {
    d: usize,
    /// Start of each segment; `times[0] == 0`, so every instant lies in some segment, and the
    /// last segment runs forever.
    times: Vec<u64>,
    /// Usage per segment, flattened with stride `d`.
    usage: Vec<i128>,
    /// Number of leaves (a power of two ≥ the number of segments).
    leaves: usize,
    /// Per node (1-based heap order) the max usage per dimension, stride `d`.
    tree: Vec<i128>,
}

impl Index {
    /// Builds the index from the net usage change at each change point.
    pub(crate) fn build(deltas: &BTreeMap<u64, Vec<i128>>, d: usize) -> Self {
        let mut times = Vec::with_capacity(deltas.len() + 1);
        let mut usage = Vec::with_capacity((deltas.len() + 1) * d);
        let mut running = vec![0i128; d];
        if !deltas.contains_key(&0) {
            times.push(0);
            usage.extend_from_slice(&running);
        }
        for (&t, delta) in deltas {
            for (u, x) in running.iter_mut().zip(delta) {
                *u += x;
            }
            times.push(t);
            usage.extend_from_slice(&running);
        }
        let n = times.len();
        let leaves = n.next_power_of_two();
        // Padding leaves can never exceed a threshold.
        let mut tree = vec![i128::MIN; 2 * leaves * d];
        tree[leaves * d..(leaves + n) * d].copy_from_slice(&usage);
        for node in (1..leaves).rev() {
            for r in 0..d {
                tree[node * d + r] = tree[2 * node * d + r].max(tree[(2 * node + 1) * d + r]);
            }
        }
        Self {
            d,
            times,
            usage,
            leaves,
            tree,
        }
    }

    /// The number of segments.
    pub(crate) fn len(&self) -> usize {
        self.times.len()
    }

    /// The start instant of segment `i`.
    pub(crate) fn start(&self, i: usize) -> u64 {
        self.times[i]
    }

    /// The usage per dimension during segment `i`.
    pub(crate) fn usage(&self, i: usize) -> &[i128] {
        &self.usage[i * self.d..(i + 1) * self.d]
    }

    /// The segment containing instant `t`.
    pub(crate) fn segment_of(&self, t: u64) -> usize {
        self.times.partition_point(|&x| x <= t).saturating_sub(1)
    }

    /// The first segment in `[lo, hi)` whose usage exceeds `threshold` in some dimension.
    pub(crate) fn first_over(&self, lo: usize, hi: usize, threshold: &[i128]) -> Option<usize> {
        self.descend(1, 0, self.leaves, lo, hi, threshold)
    }

    /// Whether some leaf under `node` exceeds the threshold: exactly when some dimension's
    /// maximum over the node does.
    fn over(&self, node: usize, threshold: &[i128]) -> bool {
        self.tree[node * self.d..(node + 1) * self.d]
            .iter()
            .zip(threshold)
            .any(|(m, t)| m > t)
    }

    fn descend(
        &self,
        node: usize,
        from: usize,
        to: usize,
        lo: usize,
        hi: usize,
        threshold: &[i128],
    ) -> Option<usize> {
        if to <= lo || from >= hi || !self.over(node, threshold) {
            return None;
        }
        if to - from == 1 {
            return Some(from);
        }
        let mid = from + (to - from) / 2;
        self.descend(2 * node, from, mid, lo, hi, threshold)
            .or_else(|| self.descend(2 * node + 1, mid, to, lo, hi, threshold))
    }
}
