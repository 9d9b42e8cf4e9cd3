//! Sets of instants as sorted, disjoint windows: merging a device's maintenance windows (a
//! device is down once, however many of its windows overlap) and what a new window adds.

use super::Window;

/// Sorts and merges overlapping or touching windows.
pub(crate) fn merge(mut ws: Vec<Window>) -> Vec<Window> {
    ws.sort();
    let mut out: Vec<Window> = Vec::with_capacity(ws.len());
    for w in ws {
        match out.last_mut() {
            Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
            _ => out.push(w),
        }
    }
    out
}

/// The instants of `a` not in `b`, both merged (sorted and disjoint), as merged windows.
pub(crate) fn difference(a: &[Window], b: &[Window]) -> Vec<Window> {
    let mut out = Vec::new();
    for w in a {
        let mut from = w.start;
        for o in b.iter().filter(|o| o.end > w.start && o.start < w.end) {
            if o.start > from {
                out.push(Window {
                    start: from,
                    end: o.start,
                });
            }
            from = from.max(o.end);
        }
        if from < w.end {
            out.push(Window {
                start: from,
                end: w.end,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(start: u64, end: u64) -> Window {
        Window { start, end }
    }

    #[test]
    fn merging_joins_overlapping_and_touching_windows() {
        assert_eq!(
            merge(vec![w(5, 8), w(0, 2), w(2, 3), w(6, 10), w(12, 13)]),
            vec![w(0, 3), w(5, 10), w(12, 13)]
        );
    }

    #[test]
    fn the_difference_keeps_only_new_instants() {
        let old = [w(2, 4), w(6, 7), w(9, 20)];
        assert_eq!(
            difference(&[w(0, 10)], &old),
            vec![w(0, 2), w(4, 6), w(7, 9)]
        );
        assert_eq!(difference(&[w(3, 4)], &old), vec![]);
        assert_eq!(difference(&[w(20, 22)], &old), vec![w(20, 22)]);
        assert_eq!(difference(&[w(0, 1), w(5, 6)], &[]), vec![w(0, 1), w(5, 6)]);
    }
}
