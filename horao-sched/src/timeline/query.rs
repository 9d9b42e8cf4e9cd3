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
        let threshold = self.threshold(demand);
        Ok(match self.tree.first_over(start, end, &threshold) {
            None => Fit::Fits,
            Some((at, usage)) => self.overflow(demand, &threshold, at, &usage),
        })
    }

    /// The earliest `s ≥ not_before` such that `demand` fits throughout `[s, s + duration)`
    /// and `s + duration ≤ horizon`; `None` if there is none.
    ///
    /// Only change points can end a blocked stretch, so the search jumps from one blocking
    /// instant to the next change point instead of stepping through time. Errors if
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
        let threshold = self.threshold(demand);
        let mut start = not_before;
        loop {
            let Some(end) = start.checked_add(duration).filter(|&e| e <= horizon) else {
                return Ok(None);
            };
            match self.tree.first_over(start, end, &threshold) {
                None => return Ok(Some(start)),
                // Usage is constant from `at` to the next change point; with none, the block
                // never ends.
                Some((at, _)) => match self.tree.next_after(at) {
                    None => return Ok(None),
                    Some(next) => start = next,
                },
            }
        }
    }

    /// Per dimension, the largest usage that still leaves room for `demand`.
    pub(super) fn threshold(&self, demand: &[u64]) -> Vec<i128> {
        self.capacity
            .iter()
            .zip(demand)
            .map(|(&c, &d)| i128::from(c) - i128::from(d))
            .collect()
    }

    /// The answer for a demand that overflows at `at`, where usage is `usage`.
    pub(super) fn overflow(
        &self,
        demand: &[u64],
        threshold: &[i128],
        at: u64,
        usage: &[i128],
    ) -> Fit {
        let dimension = (0..demand.len())
            .find(|&r| usage[r] > threshold[r])
            .unwrap_or(0);
        let free = i128::from(self.capacity[dimension]) - usage[dimension];
        Fit::Overflow {
            dimension,
            at,
            needed: demand[dimension],
            available: u64::try_from(free.max(0)).unwrap_or(u64::MAX),
        }
    }
}
