//! Independent checks: input validation and a solution checker that trusts no packer.
//!
//! The checker deliberately shares no code with the packing algorithms, so a bug in a packer
//! cannot hide itself by agreeing with a bug in the checker.

use crate::{Error, Result};

/// Checks that `items` can be packed at all into bins of size `capacity`.
///
/// Returns [`Error::ZeroCapacity`] for a zero capacity and [`Error::ItemTooLarge`] for the
/// first item that exceeds the capacity. An empty item list is valid.
pub fn check_input(items: &[u64], capacity: u64) -> Result<()> {
    if capacity == 0 {
        return Err(Error::ZeroCapacity);
    }
    match items.iter().position(|&size| size > capacity) {
        Some(index) => Err(Error::ItemTooLarge {
            index,
            size: items[index],
            capacity,
        }),
        None => Ok(()),
    }
}

/// Checks a packing: every item is packed exactly once, no bin is empty, no bin overflows.
///
/// `bins` lists, per bin, the indices into `items` of the items it holds. Returns the first
/// violation found as a typed error; the input itself is validated first.
pub fn check_packing(items: &[u64], capacity: u64, bins: &[Vec<usize>]) -> Result<()> {
    check_input(items, capacity)?;
    let mut seen = vec![false; items.len()];
    for (bin, contents) in bins.iter().enumerate() {
        if contents.is_empty() {
            return Err(Error::EmptyBin { bin });
        }
        let mut load: u128 = 0;
        for &index in contents {
            let Some(&size) = items.get(index) else {
                return Err(Error::UnknownItem {
                    bin,
                    index,
                    count: items.len(),
                });
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(Error::ItemPackedTwice { index, bin });
            }
            load += u128::from(size);
        }
        if load > u128::from(capacity) {
            return Err(Error::BinOverflow {
                bin,
                load,
                capacity,
            });
        }
    }
    match seen.iter().position(|&packed| !packed) {
        Some(index) => Err(Error::ItemUnpacked { index }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_valid_packing() {
        assert_eq!(
            check_packing(&[5, 5, 3], 10, &[vec![0, 1], vec![2]]),
            Ok(())
        );
    }

    #[test]
    fn rejects_each_kind_of_violation() {
        let items = [5, 5, 3];
        assert_eq!(
            check_packing(&items, 10, &[vec![0, 1]]),
            Err(Error::ItemUnpacked { index: 2 })
        );
        assert_eq!(
            check_packing(&items, 10, &[vec![0, 1], vec![2, 1]]),
            Err(Error::ItemPackedTwice { index: 1, bin: 1 })
        );
        assert_eq!(
            check_packing(&items, 10, &[vec![0, 1], vec![7]]),
            Err(Error::UnknownItem {
                bin: 1,
                index: 7,
                count: 3
            })
        );
        assert_eq!(
            check_packing(&items, 10, &[vec![0, 2, 1]]),
            Err(Error::BinOverflow {
                bin: 0,
                load: 13,
                capacity: 10
            })
        );
        assert_eq!(
            check_packing(&items, 10, &[vec![0, 1], vec![], vec![2]]),
            Err(Error::EmptyBin { bin: 1 })
        );
    }

    #[test]
    fn rejects_invalid_input() {
        assert_eq!(check_input(&[1], 0), Err(Error::ZeroCapacity));
        assert_eq!(
            check_input(&[1, 11], 10),
            Err(Error::ItemTooLarge {
                index: 1,
                size: 11,
                capacity: 10
            })
        );
        assert_eq!(check_input(&[], 10), Ok(()));
    }
}
