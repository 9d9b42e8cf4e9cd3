//! The derived index of the physical tables: devices by rack or chassis and links by port.
//!
//! It is a pure function of the tables, held in a [`horao_crdt::Derived`] slot: built on first
//! use, patched for the keys an applied delta carries, rebuilt after a full-state merge, so
//! inserts and conflict checks never scan every device. It is never stored or compared: two
//! replicas with equal tables have equal indexes.

use super::{DeviceId, LinkId, Physical, PortRef, RackId};
use horao_crdt::DerivedIndex;
use std::collections::{BTreeMap, BTreeSet};

/// The container a device is mounted in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Parent {
    /// A rack.
    Rack(RackId),
    /// A chassis (for blades).
    Chassis(DeviceId),
}

/// Children by parent, derived from [`Physical`]'s tables.
#[derive(Clone, Debug, Default)]
pub struct Index {
    children: BTreeMap<Parent, BTreeSet<DeviceId>>,
    links_by_port: BTreeMap<PortRef, BTreeSet<LinkId>>,
}

fn parent_of(p: &Physical, id: &DeviceId) -> Option<Parent> {
    p.devices
        .get(id)
        .and_then(|d| d.place.get())
        .map(|pl| pl.parent())
}

fn ports_of(p: &Physical, id: &LinkId) -> Vec<PortRef> {
    p.links
        .get(id)
        .and_then(|l| l.spec.get())
        .map(|s| vec![s.a.clone(), s.b.clone()])
        .unwrap_or_default()
}

impl Index {
    /// Builds the index of every table.
    pub fn build(p: &Physical) -> Self {
        let mut ix = Index::default();
        for id in p.devices.keys() {
            if let Some(parent) = parent_of(p, id) {
                ix.children.entry(parent).or_default().insert(id.clone());
            }
        }
        for id in p.links.keys() {
            for port in ports_of(p, id) {
                ix.links_by_port.entry(port).or_default().insert(id.clone());
            }
        }
        ix
    }

    /// The devices mounted in `parent`, by id.
    pub fn children(&self, parent: &Parent) -> impl Iterator<Item = &DeviceId> {
        self.children.get(parent).into_iter().flatten()
    }

    /// Every parent with its children.
    pub fn parents(&self) -> impl Iterator<Item = (&Parent, &BTreeSet<DeviceId>)> {
        self.children.iter()
    }

    /// The links attached to `port`, by id.
    pub fn links_at(&self, port: &PortRef) -> impl Iterator<Item = &LinkId> {
        self.links_by_port.get(port).into_iter().flatten()
    }

    /// The linked ports of `dev` with their links, in port order.
    pub fn device_ports<'a>(
        &'a self,
        dev: &'a DeviceId,
    ) -> impl Iterator<Item = (&'a PortRef, &'a BTreeSet<LinkId>)> + 'a {
        let start = PortRef {
            device: dev.clone(),
            port: String::new(),
        };
        self.links_by_port
            .range(start..)
            .take_while(move |(p, _)| &p.device == dev)
    }

    /// Every port with its links.
    pub fn ports(&self) -> impl Iterator<Item = (&PortRef, &BTreeSet<LinkId>)> {
        self.links_by_port.iter()
    }

    fn unlink_device(&mut self, parent: Option<Parent>, id: &DeviceId) {
        if let Some(parent) = parent
            && let Some(set) = self.children.get_mut(&parent)
        {
            set.remove(id);
            if set.is_empty() {
                self.children.remove(&parent);
            }
        }
    }

    fn unlink_link(&mut self, ports: Vec<PortRef>, id: &LinkId) {
        for port in ports {
            if let Some(set) = self.links_by_port.get_mut(&port) {
                set.remove(id);
                if set.is_empty() {
                    self.links_by_port.remove(&port);
                }
            }
        }
    }
}

/// The index entries a delta may change, recorded before the delta is joined (see
/// [`DerivedIndex::touched`]).
pub struct Touched {
    devices: Vec<(DeviceId, Option<Parent>)>,
    links: Vec<(LinkId, Vec<PortRef>)>,
}

impl Touched {
    /// Records the current index entries of every key `delta` carries: added, updated and
    /// removed ones alike ([`horao_crdt::OrMap::raw_keys`] names the keys a removal carries
    /// with an empty value). Only these keys can change when the delta is applied, so the
    /// cost is proportional to the delta, never to the tables.
    pub(crate) fn of(state: &Physical, delta: &Physical) -> Self {
        let devices = delta
            .devices
            .raw_keys()
            .map(|id| (id.clone(), parent_of(state, id)))
            .collect();
        let links = delta
            .links
            .raw_keys()
            .map(|id| (id.clone(), ports_of(state, id)))
            .collect();
        Touched { devices, links }
    }

    /// Moves the recorded entries of `ix` to where the joined `state` puts them.
    fn reindex(self, ix: &mut Index, state: &Physical) {
        for (id, old) in self.devices {
            ix.unlink_device(old, &id);
            if let Some(parent) = parent_of(state, &id) {
                ix.children.entry(parent).or_default().insert(id);
            }
        }
        for (id, old) in self.links {
            ix.unlink_link(old, &id);
            for port in ports_of(state, &id) {
                ix.links_by_port.entry(port).or_default().insert(id.clone());
            }
        }
    }
}

impl DerivedIndex<Physical> for Index {
    type Touched = Touched;

    fn build(p: &Physical) -> Self {
        Index::build(p)
    }

    fn touched(&self, state: &Physical, delta: &Physical) -> Touched {
        Touched::of(state, delta)
    }

    fn patch(&mut self, touched: Touched, state: &Physical) -> bool {
        touched.reindex(self, state);
        true
    }

    fn same_entries(&self, other: &Self) -> bool {
        self.children == other.children && self.links_by_port == other.links_by_port
    }
}
