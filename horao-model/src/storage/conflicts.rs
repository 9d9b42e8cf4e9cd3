//! Conflicts in the storage document: invariants that concurrent edits broke and that every
//! replica reports identically once they have merged the same edits.

use super::Storage;
use crate::conflict::Incomplete;
use crate::ids::{InstanceId, MachineId, VolumeId, VolumeName};
use horao_crdt::DotStore;
use serde::Serialize;
use std::fmt;

/// One broken invariant, for an operator (or an agent) to resolve.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum StorageConflict {
    /// A volume placed on several machines concurrently (servers on both sides of a
    /// partition). Every assignment is kept; the agents of these machines decide which copy
    /// stays (the others report it rejected, and it is re-placed).
    VolumeAssignment {
        /// The volume.
        volume: VolumeId,
        /// The machines, sorted.
        machines: Vec<MachineId>,
    },
    /// Volumes created concurrently with one name. Rename or delete all but one.
    DuplicateName {
        /// The name.
        name: VolumeName,
        /// The volumes, sorted.
        volumes: Vec<VolumeId>,
    },
    /// A machine whose volumes reserve more than its agent reports it holds (placements
    /// made concurrently on both sides of a partition). Its agent admits what fits and
    /// rejects the rest.
    OverCapacity {
        /// The machine.
        machine: MachineId,
        /// The bytes its volumes reserve.
        reserved: u64,
        /// Its reported capacity.
        capacity: u64,
    },
    /// An instance disk naming a volume that was purged concurrently with the attachment.
    MissingDisk {
        /// The instance.
        instance: InstanceId,
        /// The missing volume.
        volume: VolumeId,
    },
    /// An edit concurrent with the removal of its entity brought back a fragment of the
    /// entity without its specification (the removal's other fields stay removed).
    Incomplete(Incomplete),
}

impl fmt::Display for StorageConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::VolumeAssignment { volume, machines } => {
                let m: Vec<&str> = machines.iter().map(MachineId::as_str).collect();
                write!(
                    f,
                    "volume {volume} is assigned to several machines: {}",
                    m.join(", ")
                )
            }
            Self::DuplicateName { name, volumes } => {
                let v: Vec<&str> = volumes.iter().map(VolumeId::as_str).collect();
                write!(f, "volume name {name} is held by {}", v.join(", "))
            }
            Self::OverCapacity {
                machine,
                reserved,
                capacity,
            } => write!(
                f,
                "machine {machine}: volumes reserve {reserved} bytes of {capacity}"
            ),
            Self::MissingDisk { instance, volume } => {
                write!(f, "instance {instance}: disk {volume} no longer exists")
            }
            Self::Incomplete(i) => i.fmt(f),
        }
    }
}

impl Storage {
    /// Every conflict, sorted; the same list on every replica holding the same state.
    pub fn conflicts(&self) -> Vec<StorageConflict> {
        let mut out = Vec::new();
        for (id, v) in self.volumes.iter() {
            let machines = v.assigned();
            if machines.len() > 1 {
                out.push(StorageConflict::VolumeAssignment {
                    volume: id.clone(),
                    machines: machines.into_iter().cloned().collect(),
                });
            }
        }
        for ids in self.index().name_collisions() {
            let mut by_name: std::collections::BTreeMap<&VolumeName, Vec<VolumeId>> =
                std::collections::BTreeMap::new();
            for id in ids {
                if let Some(spec) = self.volume(id).and_then(|v| v.spec()) {
                    by_name.entry(&spec.name).or_default().push(id.clone());
                }
            }
            out.extend(by_name.into_iter().filter(|(_, vs)| vs.len() > 1).map(
                |(name, volumes)| StorageConflict::DuplicateName {
                    name: name.clone(),
                    volumes,
                },
            ));
        }
        for (id, m) in self.machines() {
            let reserved = self.reserved_bytes(id);
            if let Some(r) = m.current()
                && reserved > r.capacity_bytes
            {
                out.push(StorageConflict::OverCapacity {
                    machine: id.clone(),
                    reserved,
                    capacity: r.capacity_bytes,
                });
            }
        }
        for (id, i) in self.instances.iter().filter(|(_, i)| i.spec().is_some()) {
            for d in i.disks().filter(|d| self.volume(d).is_none()) {
                out.push(StorageConflict::MissingDisk {
                    instance: id.clone(),
                    volume: d.clone(),
                });
            }
        }
        fragments(&mut out, "machine", self.machines.iter(), |m| {
            m.spec().is_none()
        });
        fragments(&mut out, "volume", self.volumes.iter(), |v| {
            v.spec().is_none()
        });
        fragments(&mut out, "image", self.images.iter(), |i| {
            i.spec().is_none()
        });
        fragments(&mut out, "instance", self.instances.iter(), |i| {
            i.spec().is_none()
        });
        out.sort();
        out
    }
}

fn fragments<'a, K: fmt::Display + 'a, V: DotStore + 'a>(
    out: &mut Vec<StorageConflict>,
    kind: &'static str,
    entries: impl Iterator<Item = (&'a K, &'a V)>,
    missing_spec: impl Fn(&V) -> bool,
) {
    out.extend(
        entries
            .filter(|(_, v)| missing_spec(v))
            .map(|(id, _)| StorageConflict::Incomplete(Incomplete::new(kind, id, "spec"))),
    );
}
