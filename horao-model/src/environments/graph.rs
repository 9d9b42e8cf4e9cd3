//! The dependency graph of resources: paths, transitive closures both ways, and the cycles a
//! merge of concurrent edits may create. Every walk is iterative (no recursion on user data)
//! and visits neighbours in sorted order, so answers are deterministic.

use super::Environments;
use super::types::{Dependency, ResourceId};
use crate::error::Result;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

impl Environments {
    /// The resources `id` depends on directly (external ids left out).
    fn resource_deps<'a>(&'a self, id: &ResourceId) -> impl Iterator<Item = &'a ResourceId> + 'a {
        self.resource(id)
            .into_iter()
            .flat_map(|r| r.dependencies())
            .filter_map(|d| match d {
                Dependency::Resource(r) => Some(r),
                Dependency::External(_) => None,
            })
    }

    /// The shortest dependency path from `from` to `to` (both included), if any; ties go to
    /// the smaller ids.
    pub fn path(&self, from: &ResourceId, to: &ResourceId) -> Option<Vec<ResourceId>> {
        let mut parent: BTreeMap<&ResourceId, &ResourceId> = BTreeMap::new();
        let mut queue = VecDeque::from([from]);
        let mut seen = BTreeSet::from([from]);
        while let Some(n) = queue.pop_front() {
            if n == to {
                let mut path = vec![n.clone()];
                let mut cur = n;
                while let Some(p) = parent.get(cur) {
                    path.push((*p).clone());
                    cur = p;
                }
                path.reverse();
                return Some(path);
            }
            for d in self.resource_deps(n) {
                if seen.insert(d) {
                    parent.insert(d, n);
                    queue.push_back(d);
                }
            }
        }
        None
    }

    /// Everything `id` depends on, directly or transitively: resources and external ids,
    /// sorted (resources first).
    pub fn depends_on(&self, id: &ResourceId) -> Result<Vec<Dependency>> {
        self.existing_resource(id)?;
        let mut out = BTreeSet::new();
        let mut stack = vec![id];
        let mut seen = BTreeSet::from([id]);
        while let Some(n) = stack.pop() {
            for d in self.resource(n).into_iter().flat_map(|r| r.dependencies()) {
                if let Dependency::Resource(r) = d {
                    if seen.insert(r) {
                        stack.push(r);
                    }
                }
                if d != &Dependency::Resource(id.clone()) {
                    out.insert(d.clone());
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// The resources that depend on `id` directly, sorted.
    pub fn direct_dependents(&self, id: &ResourceId) -> Vec<ResourceId> {
        let target = Dependency::Resource(id.clone());
        self.resources()
            .filter(|(_, r)| r.dependencies.contains(&target))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// What breaks if `target` goes: every resource depending on it directly or
    /// transitively, sorted. `target` may be a resource or an external id.
    pub fn dependents(&self, target: &Dependency) -> Vec<ResourceId> {
        let mut reverse: BTreeMap<&Dependency, Vec<&ResourceId>> = BTreeMap::new();
        for (id, r) in self.resources() {
            for d in r.dependencies() {
                reverse.entry(d).or_default().push(id);
            }
        }
        let mut out = BTreeSet::new();
        let mut stack = vec![target.clone()];
        while let Some(n) = stack.pop() {
            for r in reverse.get(&n).into_iter().flatten() {
                if out.insert((*r).clone()) {
                    stack.push(Dependency::Resource((*r).clone()));
                }
            }
        }
        if let Dependency::Resource(t) = target {
            out.remove(t);
        }
        out.into_iter().collect()
    }

    /// Every dependency cycle, one per strongly connected component: the shortest cycle
    /// through the component's smallest id, as a path starting and ending with it. Sorted.
    pub fn cycles(&self) -> Vec<Vec<ResourceId>> {
        let mut out: Vec<Vec<ResourceId>> = strongly_connected(self)
            .into_iter()
            .filter_map(|scc| {
                let start = scc.first()?;
                let members: BTreeSet<&ResourceId> = scc.iter().collect();
                let nontrivial = scc.len() > 1 || self.resource_deps(start).any(|d| d == start);
                nontrivial
                    .then(|| self.cycle_through(start, &members))
                    .flatten()
            })
            .collect();
        out.sort();
        out
    }

    /// The shortest cycle from `start` back to itself inside `members`.
    fn cycle_through(
        &self,
        start: &ResourceId,
        members: &BTreeSet<&ResourceId>,
    ) -> Option<Vec<ResourceId>> {
        let mut parent: BTreeMap<&ResourceId, &ResourceId> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(n) = queue.pop_front() {
            for d in self.resource_deps(n).filter(|d| members.contains(d)) {
                if d == start {
                    let mut path = vec![start.clone(), n.clone()];
                    let mut cur = n;
                    while let Some(p) = parent.get(cur) {
                        path.push((*p).clone());
                        cur = p;
                    }
                    path.reverse();
                    return Some(path);
                }
                if !parent.contains_key(d) {
                    parent.insert(d, n);
                    queue.push_back(d);
                }
            }
        }
        None
    }
}

/// Tarjan's algorithm, iteratively; each component's members sorted.
fn strongly_connected(env: &Environments) -> Vec<Vec<ResourceId>> {
    struct Node {
        index: usize,
        low: usize,
        on_stack: bool,
    }
    let mut nodes: BTreeMap<&ResourceId, Node> = BTreeMap::new();
    let mut stack: Vec<&ResourceId> = Vec::new();
    let mut out = Vec::new();
    let mut next = 0;
    for (root, _) in env.resources() {
        if nodes.contains_key(root) {
            continue;
        }
        // Each frame: a node and its remaining neighbours.
        let mut frames: Vec<(&ResourceId, Vec<&ResourceId>)> = Vec::new();
        nodes.insert(
            root,
            Node {
                index: next,
                low: next,
                on_stack: true,
            },
        );
        next += 1;
        stack.push(root);
        frames.push((root, env.resource_deps(root).rev_sorted()));
        while let Some((n, pending)) = frames.last_mut() {
            let n = *n;
            if let Some(d) = pending.pop() {
                match nodes.get(d) {
                    None => {
                        nodes.insert(
                            d,
                            Node {
                                index: next,
                                low: next,
                                on_stack: true,
                            },
                        );
                        next += 1;
                        stack.push(d);
                        frames.push((d, env.resource_deps(d).rev_sorted()));
                    }
                    Some(m) if m.on_stack => {
                        let idx = m.index;
                        if let Some(x) = nodes.get_mut(n) {
                            x.low = x.low.min(idx);
                        }
                    }
                    Some(_) => {}
                }
                continue;
            }
            frames.pop();
            let (index, low) = nodes.get(n).map_or((0, 0), |x| (x.index, x.low));
            if let Some((p, _)) = frames.last() {
                if let Some(x) = nodes.get_mut(*p) {
                    x.low = x.low.min(low);
                }
            }
            if low == index {
                let mut scc = Vec::new();
                while let Some(m) = stack.pop() {
                    if let Some(x) = nodes.get_mut(m) {
                        x.on_stack = false;
                    }
                    scc.push(m.clone());
                    if m == n {
                        break;
                    }
                }
                scc.sort();
                out.push(scc);
            }
        }
    }
    out
}

/// Collects neighbours in reverse order, so popping yields them in sorted order.
trait RevSorted<'a> {
    fn rev_sorted(self) -> Vec<&'a ResourceId>;
}

impl<'a, I: Iterator<Item = &'a ResourceId>> RevSorted<'a> for I {
    fn rev_sorted(self) -> Vec<&'a ResourceId> {
        let mut v: Vec<_> = self.collect();
        v.reverse();
        v
    }
}
