//! The desired state the agent reconciles towards: the volumes and images assigned to this
//! machine. Plain serde types, so they can be filled from the server's JSON API and persisted
//! locally as they are.

use serde::{Deserialize, Serialize};

/// Whether a volume or image should exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Presence {
    /// It should exist.
    #[default]
    Present,
    /// It should be deleted: the only thing that makes the agent delete a subvolume.
    Deleted,
}

/// Where a new volume's content comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "name")]
pub enum VolumeSource {
    /// An empty subvolume.
    #[default]
    None,
    /// A writable snapshot of the image of that name (`root/.images/<name>`).
    Image(String),
    /// A writable snapshot of the volume of that name on this machine (a clone).
    Clone(String),
}

/// One volume assigned to this machine.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DesiredVolume {
    /// The volume's id (unique; the tie-break of the admission order).
    pub id: String,
    /// Its name: the subvolume `root/<name>` (see [`Name`](crate::Name)).
    pub name: String,
    /// Nominal size in bytes.
    pub size_bytes: u64,
    /// Headroom in percent: the qgroup limit is ⌈size × (1 + dilation/100)⌉.
    pub dilation_percent: u32,
    /// Owner user id of the volume's root directory.
    pub owner_uid: u32,
    /// Owner group id.
    pub owner_gid: u32,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
    /// Where its content comes from when it is created.
    #[serde(default)]
    pub source: VolumeSource,
    /// When it was assigned to this machine: any key that orders assignments (an HLC
    /// timestamp, for instance). Admission goes by (assigned_at, id).
    pub assigned_at: u64,
    /// Whether it should exist.
    #[serde(default)]
    pub desired: Presence,
}

/// One image this machine should hold: a read-only snapshot at `root/.images/<name>`, kept
/// without a qgroup limit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DesiredImage {
    /// Its name.
    pub name: String,
    /// The volume (on this machine) it is snapshotted from when it does not exist yet;
    /// `None` for an image put in place by other means, which is then only checked.
    #[serde(default)]
    pub from_volume: Option<String>,
    /// Whether it should exist.
    #[serde(default)]
    pub desired: Presence,
    /// The server names this machine the image's home (it was made here): the watch feed
    /// shows it here until it is deleted, so a complete listing without it means deleted,
    /// even once its source volume is gone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kept_here: bool,
}

/// Everything assigned to this machine.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredState {
    /// Volumes, in any order.
    #[serde(default)]
    pub volumes: Vec<DesiredVolume>,
    /// Images, in any order.
    #[serde(default)]
    pub images: Vec<DesiredImage>,
}

impl DesiredState {
    /// The volumes that should exist.
    pub fn present_volumes(&self) -> impl Iterator<Item = &DesiredVolume> {
        self.volumes
            .iter()
            .filter(|v| v.desired == Presence::Present)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_is_pinned() {
        let state = DesiredState {
            volumes: vec![DesiredVolume {
                id: "v-1".into(),
                name: "data".into(),
                size_bytes: 1000,
                dilation_percent: 10,
                owner_uid: 1000,
                owner_gid: 100,
                mode: 0o750,
                source: VolumeSource::Image("base".into()),
                assigned_at: 7,
                desired: Presence::Present,
            }],
            images: vec![DesiredImage {
                name: "base".into(),
                from_volume: None,
                desired: Presence::Deleted,
                kept_here: false,
            }],
        };
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(
            json,
            r#"{"volumes":[{"id":"v-1","name":"data","size_bytes":1000,"dilation_percent":10,"owner_uid":1000,"owner_gid":100,"mode":488,"source":{"kind":"image","name":"base"},"assigned_at":7,"desired":"present"}],"images":[{"name":"base","from_volume":null,"desired":"deleted"}]}"#
        );
        assert_eq!(serde_json::from_str::<DesiredState>(&json).unwrap(), state);
        let minimal = r#"{"volumes":[{"id":"a","name":"a","size_bytes":1,"dilation_percent":0,"owner_uid":0,"owner_gid":0,"mode":493,"assigned_at":0}]}"#;
        let parsed: DesiredState = serde_json::from_str(minimal).unwrap();
        assert_eq!(parsed.volumes[0].source, VolumeSource::None);
        assert_eq!(parsed.volumes[0].desired, Presence::Present);
    }
}
