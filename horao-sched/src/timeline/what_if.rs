//! Hypothetical queries: does a demand fit if some claims were set aside and others added,
//! answered from the timeline as it is, without changing it (a reservation being replaced, a
//! maintenance window being admitted).

use super::store::{Timeline, check_window};
use super::types::{Claim, ClaimId, Fit};
use crate::Result;

/// A timeline seen with some claims set aside and others added; build one with
/// [`Timeline::what_if`], then [`WhatIf::without`] and [`WhatIf::with`], and query it with
/// [`WhatIf::fits`].
///
/// A query splits its window at the edges of the hypothetical changes and asks the timeline
/// once per piece with the threshold shifted by what changes there, so it costs
/// O(k · (k + log n) · d) for k changes instead of a copy of the timeline.
#[derive(Clone, Debug)]
pub struct WhatIf<'a> {
    timeline: &'a Timeline,
    /// Signed usage changes over half-open windows: added claims count up, set-aside ones down.
    changes: Vec<(Vec<i128>, u64, u64)>,
    aside: Vec<ClaimId>,
}

impl Timeline {
    /// A hypothetical view of this timeline, initially identical to it.
    pub fn what_if(&self) -> WhatIf<'_> {
        WhatIf {
            timeline: self,
            changes: Vec::new(),
            aside: Vec::new(),
        }
    }
}

impl<'a> WhatIf<'a> {
    /// Sets claim `id` aside, as if it were removed. Unknown ids and ids already set aside
    /// change nothing.
    pub fn without(mut self, id: ClaimId) -> Self {
        if !self.aside.contains(&id)
            && let Some(c) = self.timeline.claim(id)
        {
            let amount = c.amount.iter().map(|&a| -i128::from(a)).collect();
            self.changes.push((amount, c.start, c.end));
            self.aside.push(id);
        }
        self
    }

    /// Adds `claim`, as if it were recorded.
    ///
    /// Errors, as [`Timeline::add`] does, if its amount has the wrong length or its window is
    /// empty.
    pub fn with(mut self, claim: &Claim) -> Result<Self> {
        self.timeline.check_claim(claim)?;
        let amount = claim.amount.iter().map(|&a| i128::from(a)).collect();
        self.changes.push((amount, claim.start, claim.end));
        Ok(self)
    }

    /// Whether `demand` fits throughout `[start, end)` on the hypothetical timeline, with the
    /// same answer [`Timeline::fits`] would give had the changes been made.
    pub fn fits(&self, demand: &[u64], start: u64, end: u64) -> Result<Fit> {
        let t = self.timeline;
        t.check_len("demand", demand)?;
        check_window(start, end)?;
        let threshold = t.threshold(demand);
        let mut cuts = vec![start];
        for &(_, s, e) in &self.changes {
            cuts.extend([s, e].into_iter().filter(|&x| start < x && x < end));
        }
        cuts.sort_unstable();
        cuts.dedup();
        for (k, &from) in cuts.iter().enumerate() {
            let to = cuts.get(k + 1).copied().unwrap_or(end);
            // The hypothetical change is constant on `[from, to)`: no edge lies inside.
            let mut shift = vec![0i128; demand.len()];
            for (amount, s, e) in &self.changes {
                if *s <= from && from < *e {
                    for (x, a) in shift.iter_mut().zip(amount) {
                        *x += a;
                    }
                }
            }
            let piece: Vec<i128> = threshold.iter().zip(&shift).map(|(t, s)| t - s).collect();
            if let Some((at, mut usage)) = t.tree.first_over(from, to, &piece) {
                for (u, s) in usage.iter_mut().zip(&shift) {
                    *u += s;
                }
                return Ok(t.overflow(demand, &threshold, at, &usage));
            }
        }
        Ok(Fit::Fits)
    }
}
