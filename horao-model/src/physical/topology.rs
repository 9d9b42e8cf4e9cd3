//! The topology view: which devices reach which over links of one network kind.

use super::{DeviceId, NetworkKind, Physical};
use std::collections::{BTreeMap, BTreeSet};

/// The undirected graph of devices joined by links of one network kind. Built on demand from
/// the link table; switches and routers are ordinary vertices, so two servers on one switch
/// reach each other through it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topology {
    adjacent: BTreeMap<DeviceId, BTreeSet<DeviceId>>,
}

impl Physical {
    /// The topology of links of `kind`.
    pub fn topology(&self, kind: NetworkKind) -> Topology {
        let mut adjacent: BTreeMap<DeviceId, BTreeSet<DeviceId>> = BTreeMap::new();
        for (_, link) in self.links.iter() {
            let Some(spec) = link.spec.get() else {
                continue;
            };
            if spec.kind != kind || spec.a.device == spec.b.device {
                continue;
            }
            adjacent
                .entry(spec.a.device.clone())
                .or_default()
                .insert(spec.b.device.clone());
            adjacent
                .entry(spec.b.device.clone())
                .or_default()
                .insert(spec.a.device.clone());
        }
        Topology { adjacent }
    }
}

impl Topology {
    /// The devices directly linked to `dev`.
    pub fn neighbours(&self, dev: &DeviceId) -> impl Iterator<Item = &DeviceId> {
        self.adjacent.get(dev).into_iter().flatten()
    }

    /// Every device `dev` reaches (itself excluded), sorted.
    pub fn reachable(&self, dev: &DeviceId) -> BTreeSet<DeviceId> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![dev];
        while let Some(d) = stack.pop() {
            for n in self.neighbours(d) {
                if n != dev && seen.insert(n.clone()) {
                    stack.push(n);
                }
            }
        }
        seen
    }

    /// True when `a` and `b` are connected.
    pub fn connected(&self, a: &DeviceId, b: &DeviceId) -> bool {
        a == b || self.reachable(a).contains(b)
    }

    /// The connected components with at least one link, each sorted, in order of their
    /// smallest device.
    pub fn components(&self) -> Vec<BTreeSet<DeviceId>> {
        let mut done: BTreeSet<&DeviceId> = BTreeSet::new();
        let mut out = Vec::new();
        for d in self.adjacent.keys() {
            if done.contains(d) {
                continue;
            }
            let mut c = self.reachable(d);
            c.insert(d.clone());
            done.extend(self.adjacent.keys().filter(|k| c.contains(*k)));
            out.push(c);
        }
        out
    }
}
