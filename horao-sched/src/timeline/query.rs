//! The timeline's queries: whether a demand fits a window, and the earliest window it fits.

use super::store::{Timeline, check_window};
use super::types::Fit;
use crate::{Error, Result};

impl Timeline {
    /// Whether `demand` fits on top of every claim at every instant of `[start, end)`.
    ///
    /// When it does not, the answer names the earliest instant in the window where it
    /// overflows, the first dimension that overflows then, and what is free there. Errors if
    /// `demand` has the wrong length or the window is empty.
    pub fn fits(&self, demand: &[u64], start: u64, end: u64) -> Result<Fit> {
        self.check_len("demand", demand)?;
        check_window(start, end)?;
        let index = self.index();
        let threshold = self.threshold(demand);
        let (lo, hi) = (index.segment_of(start), index.segment_of(end - 1) + 1);
        let Some(i) = index.first_over(lo, hi, &threshold) else {
            return Ok(Fit::Fits);
        };
        let usage = index.usage(i);
        let dimension = (0..demand.len())
            .find(|&r| usage[r] > threshold[r])
            .unwrap_or(0);
        let free = i128::from(self.capacity[dimension]) - usage[dimension];
        Ok(Fit::Overflow {
            dimension,
            at: start.max(index.start(i)),
            needed: demand[dimension],
            available: u64::try_from(free.max(0)).unwrap_or(u64::MAX),
        })
    }

    /// The earliest `s ≥ not_before` such that `demand` fits throughout `[s, s + duration)`
    /// and `s + duration ≤ horizon`; `None` if there is none.
    ///
    /// Only change points can end a blocked stretch, so the search jumps from one blocking
    /// segment's end to the next candidate instead of stepping through time. Errors if
    /// `demand` has the wrong length or `duration` is zero.
    pub fn earliest_start(
        &self,
        demand: &[u64],
        duration: u64,
        not_before: u64,
        horizon: u64,
    ) -> Result<Option<u64>> {
        self.check_len("demand", demand)?;
        if duration == 0 {
            return Err(Error::InvalidWindow {
                start: not_before,
                end: not_before,
            });
        }
        if demand.iter().zip(&self.capacity).any(|(d, c)| d > c) {
            return Ok(None);
        }
        let index = self.index();
        let threshold = self.threshold(demand);
        let mut start = not_before;
        loop {
            let Some(end) = start.checked_add(duration).filter(|&e| e <= horizon) else {
                return Ok(None);
            };
            let (lo, hi) = (index.segment_of(start), index.segment_of(end - 1) + 1);
            match index.first_over(lo, hi, &threshold) {
                None => return Ok(Some(start)),
                // The last segment runs forever, so a block there never ends.
                Some(i) if i + 1 >= index.len() => return Ok(None),
                Some(i) => start = index.start(i + 1),
            }
        }
    }

    /// Per dimension, the largest usage that still leaves room for `demand`.
    fn threshold(&self, demand: &[u64]) -> Vec<i128> {
        self.capacity
            .iter()
            .zip(demand)
            .map(|(&c, &d)| i128::from(c) - i128::from(d))
            .collect()
    }
}
