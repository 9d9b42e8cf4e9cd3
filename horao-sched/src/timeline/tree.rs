//! The change-point tree of a timeline: the net usage change at each instant where some claim
//! starts or ends, in a crit-bit tree keyed by instant whose inner nodes carry, per dimension,
//! the sum of the changes below them and the largest prefix sum among them.
//!
//! Usage at instant `t` is the sum of the changes at instants `≤ t`, so "the first instant in a
//! window where usage exceeds a threshold" is a descent that skips every subtree whose largest
//! prefix stays under it. A crit-bit tree over 64-bit keys is never deeper than 64 levels
//! whatever the keys and the order they arrive in, and its shape depends on the set of keys
//! alone, so an update and a query each cost O(64 · d) at worst (O(log n · d) for spread-out
//! instants), with no rebalancing and no randomness.

/// No node: an empty tree's root, an unused child slot.
const NIL: u32 = u32::MAX;

/// The `bit` of a leaf (inner nodes hold 0..=63).
const LEAF: u8 = 64;

#[derive(Clone, Debug)]
struct Node {
    /// A leaf's instant; for an inner node, the bits above `bit` that every key below shares,
    /// with the other bits zero.
    key: u64,
    /// The highest bit in which the keys of the two subtrees differ, or [`LEAF`].
    bit: u8,
    /// Keys with `bit` clear go left (index 0), set go right.
    children: [u32; 2],
}

impl Node {
    fn is_leaf(&self) -> bool {
        self.bit == LEAF
    }

    /// The smallest and largest key that can lie below this node.
    fn span(&self) -> (u64, u64) {
        if self.is_leaf() {
            (self.key, self.key)
        } else {
            (self.key, self.key | low_bits(self.bit))
        }
    }
}

/// Bits `0..=bit` set.
fn low_bits(bit: u8) -> u64 {
    if bit >= 63 {
        u64::MAX
    } else {
        (1u64 << (bit + 1)) - 1
    }
}

fn bit_of(key: u64, bit: u8) -> usize {
    usize::from((key >> bit) & 1 == 1)
}

/// Where a search stands after a subtree.
enum Step {
    /// The instant sought lies in the subtree.
    Found(u64),
    /// Not in this subtree; go on with the next one.
    Continue,
    /// Not in this subtree nor in any later one.
    Stop,
}

/// Net usage change per change point, with the per-dimension aggregates above.
#[derive(Clone, Debug)]
pub(crate) struct Tree {
    d: usize,
    nodes: Vec<Node>,
    /// Per node, with stride `2 · d`: the sum of the changes below it, then per dimension the
    /// largest prefix sum of those changes in key order (for a leaf, its change twice).
    agg: Vec<i128>,
    /// Unused node slots.
    free: Vec<u32>,
    root: u32,
    /// Number of change points (leaves).
    points: usize,
}

impl Tree {
    /// An empty tree over `d` dimensions.
    pub(crate) fn new(d: usize) -> Self {
        Self {
            d,
            nodes: Vec::new(),
            agg: Vec::new(),
            free: Vec::new(),
            root: NIL,
            points: 0,
        }
    }

    /// The number of change points.
    pub(crate) fn points(&self) -> usize {
        self.points
    }

    fn node(&self, n: u32) -> &Node {
        &self.nodes[n as usize]
    }

    fn sum(&self, n: u32) -> &[i128] {
        let at = n as usize * 2 * self.d;
        &self.agg[at..at + self.d]
    }

    fn max_prefix(&self, n: u32) -> &[i128] {
        let at = n as usize * 2 * self.d + self.d;
        &self.agg[at..at + self.d]
    }

    fn alloc(&mut self, node: Node) -> u32 {
        let width = 2 * self.d;
        match self.free.pop() {
            Some(n) => {
                self.nodes[n as usize] = node;
                n
            }
            None => {
                self.nodes.push(node);
                self.agg.resize(self.agg.len() + width, 0);
                // Trees with 2^32 - 1 nodes do not fit in memory, so the index stays below NIL.
                u32::try_from(self.nodes.len() - 1).unwrap_or(NIL - 1)
            }
        }
    }

    fn release(&mut self, n: u32) {
        self.free.push(n);
    }

    /// Recomputes the aggregates of inner node `n` from its children.
    fn pull(&mut self, n: u32) {
        let [l, r] = self.node(n).children;
        let (d, width) = (self.d, 2 * self.d);
        let (n, l, r) = (n as usize * width, l as usize * width, r as usize * width);
        for i in 0..d {
            let (sl, sr) = (self.agg[l + i], self.agg[r + i]);
            let (ml, mr) = (self.agg[l + d + i], self.agg[r + d + i]);
            self.agg[n + i] = sl + sr;
            self.agg[n + d + i] = ml.max(sl + mr);
        }
    }

    fn set_leaf(&mut self, n: u32, change: &[i128]) {
        let at = n as usize * 2 * self.d;
        self.agg[at..at + self.d].copy_from_slice(change);
        self.agg[at + self.d..at + 2 * self.d].copy_from_slice(change);
    }

    /// Adds `sign · amount` to the change at instant `key`, creating the change point if it is
    /// new and dropping it if its change becomes zero in every dimension.
    pub(crate) fn add(&mut self, key: u64, amount: &[u64], sign: i128) {
        if amount.iter().all(|&a| a == 0) {
            return;
        }
        let change: Vec<i128> = amount.iter().map(|&a| sign * i128::from(a)).collect();
        // The inner nodes from the root down to where `key` belongs.
        let mut path: Vec<u32> = Vec::with_capacity(64);
        let mut n = self.root;
        while n != NIL && !self.node(n).is_leaf() {
            path.push(n);
            let node = self.node(n);
            n = node.children[bit_of(key, node.bit)];
        }
        if n == NIL {
            let leaf = self.alloc(Node {
                key,
                bit: LEAF,
                children: [NIL; 2],
            });
            self.set_leaf(leaf, &change);
            self.root = leaf;
            self.points += 1;
            return;
        }
        let found = self.node(n).key;
        if found == key {
            self.update_leaf(n, &change, path);
        } else {
            self.insert_leaf(key, found, &change);
        }
    }

    /// Adds `change` to leaf `n`, removing it when it nets to zero; `path` leads to it.
    fn update_leaf(&mut self, n: u32, change: &[i128], mut path: Vec<u32>) {
        let at = n as usize * 2 * self.d;
        let total: Vec<i128> = self.agg[at..at + self.d]
            .iter()
            .zip(change)
            .map(|(a, c)| a + c)
            .collect();
        if total.iter().any(|&x| x != 0) {
            self.set_leaf(n, &total);
        } else {
            self.points -= 1;
            self.release(n);
            match path.pop() {
                None => self.root = NIL,
                Some(parent) => {
                    let [l, r] = self.node(parent).children;
                    let sibling = if l == n { r } else { l };
                    self.release(parent);
                    match path.last() {
                        None => self.root = sibling,
                        Some(&grand) => {
                            let node = &mut self.nodes[grand as usize];
                            let side = usize::from(node.children[1] == parent);
                            node.children[side] = sibling;
                        }
                    }
                }
            }
        }
        for &p in path.iter().rev() {
            self.pull(p);
        }
    }

    /// Inserts a leaf for `key`, which differs from `found`, the leaf its bits lead to.
    fn insert_leaf(&mut self, key: u64, found: u64, change: &[i128]) {
        // The highest differing bit; `key != found`, so it is in 0..=63.
        let crit = (63 - (key ^ found).leading_zeros()) as u8;
        let mut path: Vec<u32> = Vec::with_capacity(64);
        let mut n = self.root;
        while !self.node(n).is_leaf() && self.node(n).bit > crit {
            path.push(n);
            let node = self.node(n);
            n = node.children[bit_of(key, node.bit)];
        }
        let leaf = self.alloc(Node {
            key,
            bit: LEAF,
            children: [NIL; 2],
        });
        self.set_leaf(leaf, change);
        let mut children = [n; 2];
        children[bit_of(key, crit)] = leaf;
        let inner = self.alloc(Node {
            key: key & !low_bits(crit),
            bit: crit,
            children,
        });
        self.pull(inner);
        match path.last() {
            None => self.root = inner,
            Some(&p) => {
                let node = &mut self.nodes[p as usize];
                let side = bit_of(key, node.bit);
                node.children[side] = inner;
            }
        }
        for &p in path.iter().rev() {
            self.pull(p);
        }
        self.points += 1;
    }

    /// Usage at instant `t`: the sum of the changes at instants `≤ t`.
    pub(crate) fn usage_at(&self, t: u64) -> Vec<i128> {
        let mut acc = vec![0i128; self.d];
        let mut n = self.root;
        while n != NIL {
            let node = self.node(n);
            let (lo, hi) = node.span();
            if hi <= t {
                add_to(&mut acc, self.sum(n));
                break;
            }
            if lo > t || node.is_leaf() {
                break;
            }
            // `t` shares the bits above `node.bit` with every key below.
            let [l, r] = node.children;
            if bit_of(t, node.bit) == 1 {
                add_to(&mut acc, self.sum(l));
                n = r;
            } else {
                n = l;
            }
        }
        acc
    }

    /// The first instant in `[start, end)` at which usage exceeds `threshold` in some
    /// dimension, with the usage then.
    pub(crate) fn first_over(
        &self,
        start: u64,
        end: u64,
        threshold: &[i128],
    ) -> Option<(u64, Vec<i128>)> {
        let at_start = self.usage_at(start);
        if over(&at_start, threshold) {
            return Some((start, at_start));
        }
        let mut acc = vec![0i128; self.d];
        match self.search(self.root, start, end, threshold, &mut acc) {
            Step::Found(t) => Some((t, acc)),
            Step::Continue | Step::Stop => None,
        }
    }

    /// Finds the first change point in `(start, end)` after which usage (the running sum
    /// `acc`, in key order) exceeds `threshold`. Subtrees wholly inside the window are skipped
    /// when their largest prefix stays under it, so only the two boundary paths and one
    /// descent are walked.
    fn search(&self, n: u32, start: u64, end: u64, threshold: &[i128], acc: &mut [i128]) -> Step {
        if n == NIL {
            return Step::Continue;
        }
        let node = self.node(n);
        let (lo, hi) = node.span();
        if hi <= start {
            add_to(acc, self.sum(n));
            return Step::Continue;
        }
        if lo >= end {
            return Step::Stop;
        }
        if lo > start
            && hi < end
            && !acc
                .iter()
                .zip(self.max_prefix(n))
                .zip(threshold)
                .any(|((a, m), t)| a + m > *t)
        {
            add_to(acc, self.sum(n));
            return Step::Continue;
        }
        if node.is_leaf() {
            // Here `start < key < end`.
            add_to(acc, self.sum(n));
            return if over(acc, threshold) {
                Step::Found(node.key)
            } else {
                Step::Continue
            };
        }
        let [l, r] = node.children;
        match self.search(l, start, end, threshold, acc) {
            Step::Continue => self.search(r, start, end, threshold, acc),
            step => step,
        }
    }

    /// The first change point after instant `t`.
    pub(crate) fn next_after(&self, t: u64) -> Option<u64> {
        self.next_below(self.root, t)
    }

    fn next_below(&self, n: u32, t: u64) -> Option<u64> {
        if n == NIL {
            return None;
        }
        let node = self.node(n);
        let (lo, hi) = node.span();
        if hi <= t {
            return None;
        }
        if lo > t || node.is_leaf() {
            // Every key below is after `t` (a leaf here has `key > t`): take the leftmost.
            let mut n = n;
            while !self.node(n).is_leaf() {
                n = self.node(n).children[0];
            }
            return Some(self.node(n).key);
        }
        let [l, r] = node.children;
        self.next_below(l, t).or_else(|| self.next_below(r, t))
    }

    /// Every change point with its change, in time order (for tests and consistency checks).
    pub(crate) fn entries(&self) -> Vec<(u64, Vec<i128>)> {
        let mut out = Vec::with_capacity(self.points);
        let mut stack = vec![self.root];
        while let Some(n) = stack.pop() {
            if n == NIL {
                continue;
            }
            let node = self.node(n);
            if node.is_leaf() {
                out.push((node.key, self.sum(n).to_vec()));
            } else {
                stack.push(node.children[1]);
                stack.push(node.children[0]);
            }
        }
        out
    }
}

fn add_to(acc: &mut [i128], x: &[i128]) {
    for (a, b) in acc.iter_mut().zip(x) {
        *a += b;
    }
}

/// Whether some dimension of `usage` exceeds its threshold.
pub(crate) fn over(usage: &[i128], threshold: &[i128]) -> bool {
    usage.iter().zip(threshold).any(|(u, t)| u > t)
}
