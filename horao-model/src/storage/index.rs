//! The derived index of the storage tables: volumes by name (names are unique), volumes by
//! machine (what each agent reconciles) and the bytes each machine has reserved (the quotas
//! of its live volumes, moves in flight counted on both ends), so a placement or an agent's
//! listing never scans every volume.
//!
//! It lives in a [`horao_crdt::Derived`] slot of [`Storage`]: built on first use, patched for
//! the volumes an applied delta carries, rebuilt after a full-state merge.

use super::{Storage, Volume, VolumeOp, VolumeState};
use crate::ids::{MachineId, VolumeId, VolumeName};
use horao_crdt::DerivedIndex;
use std::collections::{BTreeMap, BTreeSet};

/// The volumes holding one name: one, unless concurrent creations collided (a conflict).
/// Kept inline for the common case, since there is an entry per volume; the rare set is
/// boxed so an entry is two words and a tag.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Holders {
    One(VolumeId),
    #[expect(
        clippy::box_collection,
        reason = "the box keeps the common `One` entry at two words and a tag"
    )]
    Many(Box<BTreeSet<VolumeId>>),
}

impl Holders {
    fn iter(&self) -> impl Iterator<Item = &VolumeId> {
        let (one, many) = match self {
            Holders::One(id) => (Some(id), None),
            Holders::Many(ids) => (None, Some(&**ids)),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    fn insert(&mut self, id: VolumeId) {
        match self {
            Holders::One(x) if *x == id => {}
            Holders::One(x) => {
                let first = x.clone();
                *self = Holders::Many(Box::new(BTreeSet::from([first, id])));
            }
            Holders::Many(ids) => {
                ids.insert(id);
            }
        }
    }

    /// Removes `id`; true when no holder is left.
    fn remove(&mut self, id: &VolumeId) -> bool {
        match self {
            Holders::One(x) => x == id,
            Holders::Many(ids) => {
                ids.remove(id);
                if ids.len() == 1
                    && let Some(last) = ids.pop_first()
                {
                    *self = Holders::One(last);
                }
                ids_empty(self)
            }
        }
    }
}

fn ids_empty(h: &Holders) -> bool {
    matches!(h, Holders::Many(ids) if ids.is_empty())
}

/// The key of a name in the index: its 64-bit FNV-1a hash, so the index holds no copy of the
/// name (one entry per volume; readers compare the volumes' own names, which resolves the
/// rare hash collision).
fn name_key(name: &VolumeName) -> u64 {
    name.as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

/// Volumes by name and by machine, and bytes reserved per machine. The ids it holds share
/// their text with the volumes table's keys ([`VolumeId`] is reference-counted), so an entry
/// costs its slot in a B-tree node and no copy of the id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StorageIndex {
    /// Volumes by the hash of their name.
    by_name: BTreeMap<u64, Holders>,
    on_machine: BTreeMap<MachineId, BTreeSet<VolumeId>>,
    reserved: BTreeMap<MachineId, u128>,
}

/// What one volume contributes to the index.
#[derive(Clone, Debug, Default)]
pub struct Entry {
    name: Option<VolumeName>,
    /// Its assigned machines and a move's destination.
    machines: Vec<MachineId>,
    /// Its quota while it is live (not desired `gone`), else 0.
    reserving: u64,
}

/// The machines a volume occupies: where it is assigned, and where it is being moved to.
pub(crate) fn occupied(v: &Volume) -> Vec<MachineId> {
    let mut ms: Vec<MachineId> = v.assigned().into_iter().cloned().collect();
    if let Some(VolumeOp::Move { to }) = v.desired.get().and_then(|d| d.op.as_deref())
        && !ms.contains(to)
    {
        ms.push(to.clone());
    }
    ms
}

fn entry(s: &Storage, id: &VolumeId) -> Entry {
    let Some(v) = s.volumes.get(id) else {
        return Entry::default();
    };
    let Some(spec) = v.spec() else {
        return Entry::default();
    };
    let live = v.desired_state() != VolumeState::Gone;
    Entry {
        name: Some(spec.name.clone()),
        machines: occupied(v),
        reserving: if live {
            v.quota_bytes().unwrap_or(0)
        } else {
            0
        },
    }
}

fn unlink<K: Ord, V: Ord>(map: &mut BTreeMap<K, BTreeSet<V>>, key: &K, v: &V) {
    if let Some(set) = map.get_mut(key) {
        set.remove(v);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

impl StorageIndex {
    fn put(&mut self, id: &VolumeId, e: Entry, sign: bool) {
        if let Some(name) = e.name {
            let key = name_key(&name);
            if sign {
                match self.by_name.get_mut(&key) {
                    Some(h) => h.insert(id.clone()),
                    None => {
                        self.by_name.insert(key, Holders::One(id.clone()));
                    }
                }
            } else if let Some(h) = self.by_name.get_mut(&key)
                && h.remove(id)
            {
                self.by_name.remove(&key);
            }
        }
        for m in e.machines {
            if sign {
                if e.reserving > 0 {
                    *self.reserved.entry(m.clone()).or_default() += u128::from(e.reserving);
                }
                self.on_machine.entry(m).or_default().insert(id.clone());
            } else {
                if let Some(r) = self.reserved.get_mut(&m) {
                    *r = r.saturating_sub(u128::from(e.reserving));
                    if *r == 0 {
                        self.reserved.remove(&m);
                    }
                }
                unlink(&mut self.on_machine, &m, id);
            }
        }
    }

    /// The volumes whose name may be `name` (the same hash): callers compare the name. One,
    /// unless concurrent creations collided.
    pub(crate) fn maybe_named(&self, name: &VolumeName) -> impl Iterator<Item = &VolumeId> {
        self.by_name
            .get(&name_key(name))
            .into_iter()
            .flat_map(Holders::iter)
    }

    /// Groups of more than one volume whose names hash alike (callers group them by name).
    pub(crate) fn name_collisions(&self) -> impl Iterator<Item = &BTreeSet<VolumeId>> {
        self.by_name.values().filter_map(|h| match h {
            Holders::Many(ids) => Some(&**ids),
            Holders::One(_) => None,
        })
    }

    /// The volumes assigned to `machine` or being moved there, by id.
    pub fn on(&self, machine: &MachineId) -> impl Iterator<Item = &VolumeId> {
        self.on_machine.get(machine).into_iter().flatten()
    }

    /// The bytes `machine` has reserved: the quotas of its live volumes, saturated at
    /// `u64::MAX`.
    pub fn reserved(&self, machine: &MachineId) -> u64 {
        self.reserved
            .get(machine)
            .map_or(0, |r| u64::try_from(*r).unwrap_or(u64::MAX))
    }
}

impl DerivedIndex<Storage> for StorageIndex {
    type Touched = Vec<(VolumeId, Entry)>;

    fn build(s: &Storage) -> Self {
        let mut ix = StorageIndex::default();
        for id in s.volumes.keys() {
            ix.put(id, entry(s, id), true);
        }
        ix
    }

    fn touched(&self, state: &Storage, delta: &Storage) -> Self::Touched {
        delta
            .volumes
            .raw_keys()
            .map(|id| (id.clone(), entry(state, id)))
            .collect()
    }

    fn patch(&mut self, touched: Self::Touched, state: &Storage) -> bool {
        for (id, old) in touched {
            self.put(&id, old, false);
            self.put(&id, entry(state, &id), true);
        }
        true
    }

    fn same_entries(&self, other: &Self) -> bool {
        self == other
    }
}
