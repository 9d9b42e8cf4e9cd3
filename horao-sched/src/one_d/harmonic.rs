//! Bounded-space online algorithms: Harmonic-k (Lee & Lee 1985) and a refined harmonic.
//!
//! Both see items one at a time in input order and never look back: each item is classified
//! by size and packed next-fit within its class, so only a constant number of bins is open.

use super::fit::Bins;

/// Most classes Harmonic-k keeps (a larger k is taken as this): one open bin each.
const MAX_CLASSES: usize = 1 << 16;

/// The harmonic class of an item: `j` when the item is in (C/(j+1), C/j], capped at `k`.
fn class(size: u64, capacity: u64, k: usize) -> usize {
    if size == 0 {
        return k;
    }
    let j = capacity / size;
    usize::try_from(j).map_or(k, |j| j.clamp(1, k))
}

/// Harmonic-k: classes 1..k-1 hold exactly `j` items per bin; the last class (items of at
/// most C/k) is packed next fit. `k` is clamped to 1..=[`MAX_CLASSES`].
pub(crate) fn harmonic(items: &[u64], capacity: u64, k: usize) -> Bins {
    let k = k.clamp(1, MAX_CLASSES);
    let mut bins: Bins = Vec::new();
    // Per class: the open bin and the room left in it.
    let mut open: Vec<Option<(usize, u64)>> = vec![None; k + 1];
    for (i, &size) in items.iter().enumerate() {
        let j = class(size, capacity, k);
        let limit = if j < k { j } else { usize::MAX };
        match open[j] {
            Some((bin, room)) if size <= room && bins[bin].len() < limit => {
                bins[bin].push(i);
                open[j] = Some((bin, room - size));
            }
            _ => {
                bins.push(vec![i]);
                open[j] = Some((bins.len() - 1, capacity - size));
            }
        }
    }
    bins
}

/// The size classes of the refined harmonic algorithm.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RhClass {
    /// (59/96, 1]: a bin each.
    Huge,
    /// (1/2, 59/96]: may share a bin with one `Small` item.
    A,
    /// (37/96, 1/2]: two per bin.
    Half,
    /// (1/3, 37/96]: two per bin, except every 7th, which waits for an `A` item.
    B,
    /// Harmonic class j (items in (1/(j+1), 1/j]) for 3 ≤ j < 19, or next fit below that.
    Harmonic(usize),
}

fn rh_class(size: u64, capacity: u64) -> RhClass {
    let (s, c) = (u128::from(size), u128::from(capacity));
    if 96 * s > 59 * c {
        RhClass::Huge
    } else if 2 * s > c {
        RhClass::A
    } else if 96 * s > 37 * c {
        RhClass::Half
    } else if 3 * s > c {
        RhClass::B
    } else {
        RhClass::Harmonic(class(size, capacity, 19))
    }
}

/// Refined harmonic in the spirit of Lee & Lee: harmonic classes plus pairing of medium
/// items in (1/2, 59/96] with a reserved share (one in seven) of items in (1/3, 37/96], which
/// always fit together since 59/96 + 37/96 = 1.
pub(crate) fn refined_harmonic(items: &[u64], capacity: u64) -> Bins {
    let mut bins: Bins = Vec::new();
    let mut harmonic_open: Vec<Option<(usize, u64)>> = vec![None; 20];
    let mut half_open: Option<usize> = None;
    let mut b_open: Option<usize> = None;
    // Bins holding one A item waiting for a B item, and vice versa.
    let mut a_waiting: Vec<usize> = Vec::new();
    let mut b_waiting: Vec<usize> = Vec::new();
    let mut b_count = 0u64;
    for (i, &size) in items.iter().enumerate() {
        match rh_class(size, capacity) {
            RhClass::Huge => bins.push(vec![i]),
            RhClass::A => match b_waiting.pop() {
                Some(bin) => bins[bin].push(i),
                None => {
                    bins.push(vec![i]);
                    a_waiting.push(bins.len() - 1);
                }
            },
            RhClass::Half => pair_up(&mut bins, &mut half_open, i),
            RhClass::B => {
                b_count += 1;
                if b_count % 7 == 0 {
                    match a_waiting.pop() {
                        Some(bin) => bins[bin].push(i),
                        None => {
                            bins.push(vec![i]);
                            b_waiting.push(bins.len() - 1);
                        }
                    }
                } else {
                    pair_up(&mut bins, &mut b_open, i);
                }
            }
            RhClass::Harmonic(j) => {
                let limit = if j < 19 { j } else { usize::MAX };
                match harmonic_open[j] {
                    Some((bin, room)) if size <= room && bins[bin].len() < limit => {
                        bins[bin].push(i);
                        harmonic_open[j] = Some((bin, room - size));
                    }
                    _ => {
                        bins.push(vec![i]);
                        harmonic_open[j] = Some((bins.len() - 1, capacity - size));
                    }
                }
            }
        }
    }
    bins
}

/// Puts item `i` into the class's open bin if it holds a single item, else opens a new one.
fn pair_up(bins: &mut Bins, open: &mut Option<usize>, i: usize) {
    match *open {
        Some(bin) => {
            bins[bin].push(i);
            *open = None;
        }
        None => {
            bins.push(vec![i]);
            *open = Some(bins.len() - 1);
        }
    }
}
