//! Machine indexes for placement: schedulable machines grouped by identical label sets, the
//! label classes that satisfy each distinct filter (memoised), and per class and resource a
//! sorted set of free capacities for best-fit lookups in O(log n).

use std::collections::{BTreeSet, HashMap};

use super::types::Machine;

/// Schedulable machines grouped by label set.
pub(crate) struct LabelClasses<'a> {
    /// The label set of each class.
    labels: Vec<&'a BTreeSet<String>>,
    /// The machines (input positions) of each class, in input order.
    pub(crate) members: Vec<Vec<usize>>,
    /// The class of each machine; `None` for machines that are not schedulable.
    pub(crate) class_of: Vec<Option<usize>>,
}

impl<'a> LabelClasses<'a> {
    pub(crate) fn new(machines: &'a [Machine]) -> Self {
        let mut by_labels: HashMap<&'a BTreeSet<String>, usize> = HashMap::new();
        let mut labels = Vec::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        let mut class_of = vec![None; machines.len()];
        for (m, machine) in machines.iter().enumerate() {
            if !machine.schedulable {
                continue;
            }
            let c = *by_labels.entry(&machine.labels).or_insert_with(|| {
                labels.push(&machine.labels);
                members.push(Vec::new());
                labels.len() - 1
            });
            members[c].push(m);
            class_of[m] = Some(c);
        }
        Self {
            labels,
            members,
            class_of,
        }
    }
}

/// The label classes satisfying each label filter seen so far: requests repeat a few filters.
#[derive(Default)]
pub(crate) struct FilterMemo<'a> {
    memo: HashMap<&'a BTreeSet<String>, Vec<usize>>,
}

impl<'a> FilterMemo<'a> {
    /// The classes whose machines carry every label of `filter`, in class order.
    pub(crate) fn matching(
        &mut self,
        classes: &LabelClasses<'a>,
        filter: &'a BTreeSet<String>,
    ) -> &[usize] {
        self.memo.entry(filter).or_insert_with(|| {
            (0..classes.labels.len())
                .filter(|&c| filter.is_subset(classes.labels[c]))
                .collect()
        })
    }
}

/// Per class and resource, the machines ordered by (free amount, input position).
pub(crate) struct ResidualIndex {
    d: usize,
    /// `sets[class * d + resource]`.
    sets: Vec<BTreeSet<(u64, usize)>>,
}

impl ResidualIndex {
    pub(crate) fn new(classes: &LabelClasses<'_>, residual: &[u64], d: usize) -> Self {
        let mut sets = Vec::with_capacity(classes.members.len() * d);
        for members in &classes.members {
            for r in 0..d {
                sets.push(members.iter().map(|&m| (residual[m * d + r], m)).collect());
            }
        }
        Self { d, sets }
    }

    /// Machines of `class` with at least `at_least` free of `resource`, least free first.
    pub(crate) fn ascending(
        &self,
        class: usize,
        resource: usize,
        at_least: u64,
    ) -> impl Iterator<Item = (u64, usize)> + '_ {
        self.sets[class * self.d + resource]
            .range((at_least, 0)..)
            .copied()
    }

    /// Machines of `class` with at least `at_least` free of `resource`, most free first.
    pub(crate) fn descending(
        &self,
        class: usize,
        resource: usize,
        at_least: u64,
    ) -> impl Iterator<Item = (u64, usize)> + '_ {
        self.sets[class * self.d + resource]
            .range((at_least, 0)..)
            .rev()
            .copied()
    }

    /// The largest free amount of `resource` on any machine of `class`.
    pub(crate) fn max(&self, class: usize, resource: usize) -> u64 {
        self.sets[class * self.d + resource]
            .last()
            .map_or(0, |&(free, _)| free)
    }

    /// Records that machine `m` of `class` went from `old` to `new` free capacity.
    pub(crate) fn update(&mut self, class: usize, m: usize, old: &[u64], new: &[u64]) {
        for r in 0..self.d {
            if old[r] != new[r] {
                let set = &mut self.sets[class * self.d + r];
                set.remove(&(old[r], m));
                set.insert((new[r], m));
            }
        }
    }
}
