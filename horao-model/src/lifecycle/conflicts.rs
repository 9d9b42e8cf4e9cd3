//! Conflicts in the storage document: invariants that concurrent edits broke and that every
//! replica reports identically once they have merged the same edits.

use super::Storage;
use super::ids::{InstanceId, MachineId, VolumeId};
use horao_crdt::DotStore;
use serde::{Deserialize, Serialize};

/// One broken invariant, for an operator (or an agent) to resolve.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StorageConflict {
    /// A volume placed on several machines concurrently (servers on both sides of a
    /// partition). Every assignment is kept; the agents of these machines decide which copy
    /// stays.
    VolumeAssignment {
        /// The volume.
        volume: VolumeId,
        /// The machines, sorted.
        machines: Vec<MachineId>,
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
    Fragment {
        /// The kind of entity (`machine`, `volume`, `image` or `instance`).
        kind: String,
        /// Its id.
        id: String,
    },
}

impl std::fmt::Display for StorageConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::VolumeAssignment { volume, machines } => {
                let m: Vec<&str> = machines.iter().map(MachineId::as_str).collect();
                write!(
                    f,
                    "volume {volume} is assigned to several machines: {}",
                    m.join(", ")
                )
            }
            Self::MissingDisk { instance, volume } => {
                write!(f, "instance {instance}: disk {volume} no longer exists")
            }
            Self::Fragment { kind, id } => {
                write!(f, "{kind} {id}: incomplete, edited while it was removed")
            }
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

fn fragments<'a, K: std::fmt::Display + 'a, V: DotStore + 'a>(
    out: &mut Vec<StorageConflict>,
    kind: &str,
    entries: impl Iterator<Item = (&'a K, &'a V)>,
    missing_spec: impl Fn(&V) -> bool,
) {
    out.extend(
        entries
            .filter(|(_, v)| missing_spec(v))
            .map(|(id, _)| StorageConflict::Fragment {
                kind: kind.to_string(),
                id: id.to_string(),
            }),
    );
}
