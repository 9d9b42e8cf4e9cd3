//! The change-point tree of a timeline: the net usage change at each instant where some claim
//! starts or ends, in a crit-bit tree keyed by instant whose nodes carry, per dimension, the
//! sum of the changes below them and the largest prefix sum among them.
//!
//! Usage at instant `t` is the sum of the changes at instants `≤ t`, so "the first instant in a
//! window where usage exceeds a threshold" is one descent that skips every subtree whose
//! largest prefix stays under it. A crit-bit tree over 64-bit keys is never deeper than 64
//! levels whatever the keys and the order they arrive in, and its shape depends on the set of
//! keys alone, so an update and a query each cost O(64 · d) at worst (O(log n · d) for
//! spread-out instants), with no rebalancing and no randomness.
//!
//! Nodes live in one flat array, each in `1 + 2d` consecutive slots, so that a node's header
//! and its aggregates share cache lines: slot 0 packs the header (the key in the low 64 bits,
//! the two children above it), then come the sums and the largest prefix sums. A leaf's
//! children are both [`NIL`] and its key is its instant. An inner node's key is the prefix its
//! keys share above its crit bit, with the crit bit itself set as a marker (so the crit bit is
//! the key's lowest set bit); keys with the crit bit clear lie in its first child.

/// No node: an empty tree's root, a leaf's children.
const NIL: u32 = u32::MAX;

/// The deepest a path of inner nodes can be: each tests a lower bit than its parent.
const MAX_DEPTH: usize = 64;

/// Bits `0..=bit` set.
fn low_bits(bit: u32) -> u64 {
    if bit >= 63 {
        u64::MAX
    } else {
        (1u64 << (bit + 1)) - 1
    }
}

fn bit_of(key: u64, bit: u32) -> usize {
    usize::from((key >> bit) & 1 == 1)
}

/// A node's header, unpacked.
#[derive(Clone, Copy)]
struct Head {
    key: u64,
    children: [u32; 2],
}

impl Head {
    fn pack(self) -> i128 {
        let [a, b] = self.children;
        // A bit-for-bit reinterpretation: the header is 128 bits of fields, not a number.
        (u128::from(self.key) | (u128::from(a) << 64) | (u128::from(b) << 96)) as i128
    }

    fn unpack(slot: i128) -> Head {
        let h = slot as u128;
        Head {
            key: h as u64,
            children: [(h >> 64) as u32, (h >> 96) as u32],
        }
    }

    fn is_leaf(self) -> bool {
        self.children[0] == NIL
    }

    /// The crit bit of an inner node.
    fn bit(self) -> u32 {
        self.key.trailing_zeros()
    }

    /// The smallest and largest key that can lie below this node.
    fn span(self) -> (u64, u64) {
        if self.is_leaf() {
            (self.key, self.key)
        } else {
            let bit = self.bit();
            let prefix = self.key ^ (1u64 << bit);
            (prefix, prefix | low_bits(bit))
        }
    }

    /// The child on `key`'s side of an inner node.
    fn toward(self, key: u64) -> u32 {
        self.children[bit_of(key, self.bit())]
    }
}

/// The header of a new inner node over keys sharing `key`'s bits above `bit`.
fn inner(key: u64, bit: u32, children: [u32; 2]) -> Head {
    Head {
        key: (key & !low_bits(bit)) | (1u64 << bit),
        children,
    }
}

/// Where a search stands after a subtree.
enum Step {
    /// The instant sought.
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
    /// Every node's `1 + 2d` slots: header, sums, largest prefix sums.
    slots: Vec<i128>,
    /// Unused nodes.
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
            slots: Vec::new(),
            free: Vec::new(),
            root: NIL,
            points: 0,
        }
    }

    /// A tree holding `points`: instants in increasing order, each with a change that is not
    /// zero in every dimension. Built bottom-up in O(n · d).
    pub(crate) fn from_points(d: usize, points: &[(u64, Vec<i128>)]) -> Self {
        let mut t = Tree::new(d);
        t.slots
            .reserve((2 * points.len()).saturating_sub(1) * (1 + 2 * d));
        if !points.is_empty() {
            t.root = t.build(points);
            t.points = points.len();
        }
        t
    }

    fn build(&mut self, points: &[(u64, Vec<i128>)]) -> u32 {
        let (first, last) = (points[0].0, points[points.len() - 1].0);
        if points.len() == 1 {
            return self.leaf(first, &points[0].1);
        }
        // Sorted keys: the highest bit where any two differ is where the first and last do.
        let bit = 63 - (first ^ last).leading_zeros();
        let mid = points.partition_point(|(k, _)| bit_of(*k, bit) == 0);
        let children = [self.build(&points[..mid]), self.build(&points[mid..])];
        let n = self.alloc(inner(first, bit, children));
        self.pull(n);
        n
    }

    /// The number of change points.
    pub(crate) fn points(&self) -> usize {
        self.points
    }

    fn base(&self, n: u32) -> usize {
        n as usize * (1 + 2 * self.d)
    }

    fn head(&self, n: u32) -> Head {
        Head::unpack(self.slots[self.base(n)])
    }

    fn set_head(&mut self, n: u32, h: Head) {
        let at = self.base(n);
        self.slots[at] = h.pack();
    }

    fn sum(&self, n: u32) -> &[i128] {
        let at = self.base(n) + 1;
        &self.slots[at..at + self.d]
    }

    fn max_prefix(&self, n: u32) -> &[i128] {
        let at = self.base(n) + 1 + self.d;
        &self.slots[at..at + self.d]
    }

    fn alloc(&mut self, h: Head) -> u32 {
        let n = match self.free.pop() {
            Some(n) => n,
            None => {
                let width = 1 + 2 * self.d;
                // Trees with 2^32 - 1 nodes do not fit in memory, so indices stay below NIL.
                let n = u32::try_from(self.slots.len() / width).unwrap_or(NIL - 1);
                self.slots.resize(self.slots.len() + width, 0);
                n
            }
        };
        self.set_head(n, h);
        n
    }

    /// A new leaf for `key` with `change`.
    fn leaf(&mut self, key: u64, change: &[i128]) -> u32 {
        let n = self.alloc(Head {
            key,
            children: [NIL; 2],
        });
        let (at, d) = (self.base(n) + 1, self.d);
        self.slots[at..at + d].copy_from_slice(change);
        self.slots[at + d..at + 2 * d].copy_from_slice(change);
        n
    }

    /// Recomputes the aggregates of inner node `n` from its children.
    fn pull(&mut self, n: u32) {
        let [l, r] = self.head(n).children;
        let d = self.d;
        let (n, l, r) = (self.base(n) + 1, self.base(l) + 1, self.base(r) + 1);
        for i in 0..d {
            let (sl, sr) = (self.slots[l + i], self.slots[r + i]);
            let (ml, mr) = (self.slots[l + d + i], self.slots[r + d + i]);
            self.slots[n + i] = sl + sr;
            self.slots[n + d + i] = ml.max(sl + mr);
        }
    }

    /// Adds `sign · amount` to the change at instant `key`, creating the change point if it is
    /// new and dropping it if its change becomes zero in every dimension.
    pub(crate) fn add(&mut self, key: u64, amount: &[u64], sign: i128) {
        if amount.iter().all(|&a| a == 0) {
            return;
        }
        // The inner nodes from the root down to the leaf `key` leads to.
        let mut path = [NIL; MAX_DEPTH];
        let mut depth = 0;
        let mut n = self.root;
        while n != NIL && !self.head(n).is_leaf() && depth < MAX_DEPTH {
            path[depth] = n;
            depth += 1;
            n = self.head(n).toward(key);
        }
        if n == NIL {
            let change: Vec<i128> = amount.iter().map(|&a| sign * i128::from(a)).collect();
            self.root = self.leaf(key, &change);
            self.points = 1;
            return;
        }
        let found = self.head(n).key;
        if found == key {
            self.update_leaf(n, amount, sign, &path[..depth]);
        } else {
            let change: Vec<i128> = amount.iter().map(|&a| sign * i128::from(a)).collect();
            self.insert_leaf(key, found, &change);
        }
    }

    /// Adds `sign · amount` to leaf `n`, removing it when it nets to zero; `path` leads to it.
    fn update_leaf(&mut self, n: u32, amount: &[u64], sign: i128, path: &[u32]) {
        let (at, d) = (self.base(n) + 1, self.d);
        for (i, &a) in amount.iter().enumerate() {
            self.slots[at + i] += sign * i128::from(a);
            self.slots[at + d + i] = self.slots[at + i];
        }
        let mut path = path;
        if self.slots[at..at + d].iter().all(|&x| x == 0) {
            self.points -= 1;
            self.free.push(n);
            match path.split_last() {
                None => self.root = NIL,
                Some((&parent, above)) => {
                    let [l, r] = self.head(parent).children;
                    let sibling = if l == n { r } else { l };
                    self.free.push(parent);
                    match above.last() {
                        None => self.root = sibling,
                        Some(&grand) => {
                            let mut h = self.head(grand);
                            let side = usize::from(h.children[1] == parent);
                            h.children[side] = sibling;
                            self.set_head(grand, h);
                        }
                    }
                    path = above;
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
        let bit = 63 - (key ^ found).leading_zeros();
        let mut path = [NIL; MAX_DEPTH];
        let mut depth = 0;
        let mut n = self.root;
        loop {
            let h = self.head(n);
            if h.is_leaf() || h.bit() < bit || depth == MAX_DEPTH {
                break;
            }
            path[depth] = n;
            depth += 1;
            n = h.toward(key);
        }
        let leaf = self.leaf(key, change);
        let mut children = [n; 2];
        children[bit_of(key, bit)] = leaf;
        let node = self.alloc(inner(key, bit, children));
        self.pull(node);
        match depth.checked_sub(1).map(|i| path[i]) {
            None => self.root = node,
            Some(p) => {
                let mut h = self.head(p);
                h.children[bit_of(key, h.bit())] = node;
                self.set_head(p, h);
            }
        }
        for &p in path[..depth].iter().rev() {
            self.pull(p);
        }
        self.points += 1;
    }

    /// Usage at instant `t`: the sum of the changes at instants `≤ t`.
    pub(crate) fn usage_at(&self, t: u64) -> Vec<i128> {
        let mut acc = vec![0i128; self.d];
        let mut n = self.root;
        while n != NIL {
            let h = self.head(n);
            let (lo, hi) = h.span();
            if hi <= t {
                add_to(&mut acc, self.sum(n));
                break;
            }
            if lo > t || h.is_leaf() {
                break;
            }
            // `t` shares the bits above the crit bit with every key below.
            let [l, r] = h.children;
            if bit_of(t, h.bit()) == 1 {
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
        let mut walk = Walk {
            tree: self,
            start,
            end,
            threshold,
            acc: vec![0; self.d],
            at_start: false,
        };
        let step = if self.root == NIL {
            Step::Continue
        } else {
            walk.visit(self.root)
        };
        match step {
            Step::Found(t) => Some((t, walk.acc)),
            Step::Continue | Step::Stop => {
                (!walk.at_start && over(&walk.acc, threshold)).then_some((start, walk.acc))
            }
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
        let h = self.head(n);
        let (lo, hi) = h.span();
        if hi <= t {
            return None;
        }
        if lo > t || h.is_leaf() {
            // Every key below is after `t` (a leaf here has `key > t`): take the leftmost.
            let mut n = n;
            while !self.head(n).is_leaf() {
                n = self.head(n).children[0];
            }
            return Some(self.head(n).key);
        }
        let [l, r] = h.children;
        self.next_below(l, t).or_else(|| self.next_below(r, t))
    }

    /// Every change point with its change, in time order.
    pub(crate) fn entries(&self) -> Vec<(u64, Vec<i128>)> {
        let mut out = Vec::with_capacity(self.points);
        let mut stack = vec![self.root];
        while let Some(n) = stack.pop() {
            if n == NIL {
                continue;
            }
            let h = self.head(n);
            if h.is_leaf() {
                out.push((h.key, self.sum(n).to_vec()));
            } else {
                stack.push(h.children[1]);
                stack.push(h.children[0]);
            }
        }
        out
    }
}

/// One [`Tree::first_over`] search: a walk over the change points in time order, summing the
/// changes into `acc`, that skips whole subtrees wherever it can.
struct Walk<'a> {
    tree: &'a Tree,
    start: u64,
    end: u64,
    threshold: &'a [i128],
    /// The sum of the changes walked so far.
    acc: Vec<i128>,
    /// Whether usage at `start` has been checked.
    at_start: bool,
}

impl Walk<'_> {
    fn visit(&mut self, n: u32) -> Step {
        let t = self.tree;
        let h = t.head(n);
        let (lo, hi) = h.span();
        if hi <= self.start {
            add_to(&mut self.acc, t.sum(n));
            return Step::Continue;
        }
        if lo > self.start {
            // Every change at or before `start` is summed by now: `acc` is the usage then.
            if !self.at_start {
                self.at_start = true;
                if over(&self.acc, self.threshold) {
                    return Step::Found(self.start);
                }
            }
            if lo >= self.end {
                return Step::Stop;
            }
            if hi < self.end {
                let peak_over = self
                    .acc
                    .iter()
                    .zip(t.max_prefix(n))
                    .zip(self.threshold)
                    .any(|((a, m), l)| a + m > *l);
                if !peak_over {
                    add_to(&mut self.acc, t.sum(n));
                    return Step::Continue;
                }
                if h.is_leaf() {
                    add_to(&mut self.acc, t.sum(n));
                    return Step::Found(h.key);
                }
            }
        }
        // An inner node straddling `start` or `end`, or wholly inside the window and over
        // somewhere: look at both halves in order.
        let [l, r] = h.children;
        match self.visit(l) {
            Step::Continue => self.visit(r),
            step => step,
        }
    }
}

fn add_to(acc: &mut [i128], x: &[i128]) {
    for (a, b) in acc.iter_mut().zip(x) {
        *a += b;
    }
}

/// Whether some dimension of `usage` exceeds its threshold.
fn over(usage: &[i128], threshold: &[i128]) -> bool {
    usage.iter().zip(threshold).any(|(u, t)| u > t)
}
