//! Small subsets (at most three items) of a bin or of the trash, the unit of every swap move
//! of the improvement method.

/// A subset of at most three members of a bin or of the trash, by position in that list.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Subset {
    /// Total size of the members.
    pub(crate) weight: u128,
    /// Number of members (0..=3).
    pub(crate) len: usize,
    /// Positions of the members in the list they were taken from; the first `len` count.
    pub(crate) pos: [usize; 3],
}

impl Subset {
    /// The item indices of the subset's members of `members`.
    pub(crate) fn items<'a>(&'a self, members: &'a [usize]) -> impl Iterator<Item = usize> + 'a {
        self.pos[..self.len].iter().map(move |&p| members[p])
    }
}

/// All subsets of `members` with `min_len..=max_len` elements (`max_len` ≤ 3), sizes from
/// `items`.
pub(crate) fn subsets(
    items: &[u64],
    members: &[usize],
    min_len: usize,
    max_len: usize,
) -> Vec<Subset> {
    let w = |p: usize| u128::from(items[members[p]]);
    let n = members.len();
    let mut out = Vec::new();
    if min_len == 0 {
        out.push(Subset {
            weight: 0,
            len: 0,
            pos: [0; 3],
        });
    }
    for a in 0..n {
        if max_len >= 1 && min_len <= 1 {
            out.push(Subset {
                weight: w(a),
                len: 1,
                pos: [a, 0, 0],
            });
        }
        for b in a + 1..n {
            if max_len >= 2 && min_len <= 2 {
                out.push(Subset {
                    weight: w(a) + w(b),
                    len: 2,
                    pos: [a, b, 0],
                });
            }
            if max_len >= 3 {
                for c in b + 1..n {
                    out.push(Subset {
                        weight: w(a) + w(b) + w(c),
                        len: 3,
                        pos: [a, b, c],
                    });
                }
            }
        }
    }
    out
}

/// Removes the subset's members from `members` and returns them.
pub(crate) fn take(members: &mut Vec<usize>, subset: &Subset) -> Vec<usize> {
    let mut positions: Vec<usize> = subset.pos[..subset.len].to_vec();
    positions.sort_unstable_by(|a, b| b.cmp(a));
    positions
        .into_iter()
        .map(|p| members.swap_remove(p))
        .collect()
}

/// True when the two subsets hold the same multiset of sizes, so swapping them changes
/// nothing that matters.
pub(crate) fn same_sizes(
    items: &[u64],
    a: &Subset,
    a_members: &[usize],
    b: &Subset,
    b_members: &[usize],
) -> bool {
    if a.len != b.len || a.weight != b.weight {
        return false;
    }
    let sizes = |s: &Subset, m: &[usize]| {
        let mut v: Vec<u64> = s.items(m).map(|i| items[i]).collect();
        v.sort_unstable();
        v
    };
    sizes(a, a_members) == sizes(b, b_members)
}
