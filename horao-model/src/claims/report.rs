//! Over-commitment reports: the stretches of time where a pool's claims exceed its capacity
//! (possible only after concurrent claims merge), found by one sweep over change points.

use super::fit::PoolClaims;
use crate::logical::{DIMENSIONS, Dimension};
use std::collections::BTreeMap;

/// One stretch of time where a dimension of a pool is over-committed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Overcommit {
    /// The dimension.
    pub dimension: Dimension,
    /// First instant over.
    pub start: u64,
    /// First instant no longer over (`u64::MAX` if it never ends).
    pub end: u64,
    /// The largest amount reservations need during the stretch.
    pub needed: u64,
    /// The least capacity left by maintenance during the stretch.
    pub available: u64,
}

/// Every over-committed stretch of `pc`, in (dimension, start) order. Adjacent over-committed
/// segments of one dimension are merged into one stretch.
pub fn overcommits(pc: &PoolClaims) -> Vec<Overcommit> {
    // Per change point: net change of reservation demand and of capacity down.
    let mut deltas: BTreeMap<u64, [[i128; DIMENSIONS]; 2]> = BTreeMap::new();
    let mut shift = |which: usize, amount: &[u64; DIMENSIONS], start: u64, end: u64| {
        for (t, sign) in [(start, 1i128), (end, -1i128)] {
            let e = deltas.entry(t).or_insert([[0; DIMENSIONS]; 2]);
            for (x, a) in e[which].iter_mut().zip(amount) {
                *x += sign * i128::from(*a);
            }
        }
    };
    for (_, c, w) in &pc.reservations {
        shift(0, &c.0, w.start, w.end);
    }
    for (c, w) in &pc.maintenance {
        shift(1, &c.0, w.start, w.end);
    }
    let mut open: [Option<Overcommit>; DIMENSIONS] = Default::default();
    let mut out = Vec::new();
    let (mut need, mut down) = ([0i128; DIMENSIONS], [0i128; DIMENSIONS]);
    for (&t, [dn, dd]) in &deltas {
        for i in 0..DIMENSIONS {
            need[i] += dn[i];
            down[i] += dd[i];
            let left = (i128::from(pc.capacity.0[i]) - down[i]).max(0);
            let clamp = |v: i128| u64::try_from(v.max(0)).unwrap_or(u64::MAX);
            if need[i] > left {
                let o = open[i].get_or_insert(Overcommit {
                    dimension: Dimension::ALL[i],
                    start: t,
                    end: u64::MAX,
                    needed: 0,
                    available: u64::MAX,
                });
                o.needed = o.needed.max(clamp(need[i]));
                o.available = o.available.min(clamp(left));
            } else if let Some(mut o) = open[i].take() {
                o.end = t;
                out.push(o);
            }
        }
    }
    out.extend(open.into_iter().flatten());
    out.sort();
    out
}
