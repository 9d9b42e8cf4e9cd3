//! What one reconcile pass reports: the current state of every desired volume and image,
//! orphans and escapes, and the filesystem's usage. Plain serde types, for the server.

use crate::btrfs::Usage;
use crate::error::ErrorClass;
use serde::{Deserialize, Serialize};

/// The state of one volume or image on this machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum State {
    /// It exists and matches the desired state.
    Ready,
    /// It exists, but the qgroup figures are not trustworthy (inconsistent, or a rescan is
    /// running), so used bytes may be wrong and shrinking is deferred.
    Degraded,
    /// The agent will not hold it; the server should place it elsewhere.
    Rejected {
        /// Why.
        reason: String,
    },
    /// Reconciling it failed; it is retried after a capped exponential backoff.
    Failed {
        /// The class of the last error.
        class: ErrorClass,
        /// The last error.
        message: String,
        /// When it is retried, on the clock the caller passes to the pass (milliseconds).
        retry_at_ms: u64,
    },
    /// It was deleted (or never existed) and is desired deleted.
    Gone,
}

/// The current state of one desired volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeReport {
    /// The volume's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its state.
    #[serde(flatten)]
    pub state: State,
    /// Its subvolume id, when it exists.
    pub subvolume_id: Option<u64>,
    /// Bytes used: the qgroup's referenced bytes.
    pub used_bytes: Option<u64>,
    /// The qgroup's referenced limit.
    pub limit_bytes: Option<u64>,
    /// Whether the subvolume is read-only (volumes are created writable).
    pub read_only: Option<bool>,
}

/// The current state of one desired image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageReport {
    /// The image's name.
    pub name: String,
    /// Its state.
    #[serde(flatten)]
    pub state: State,
    /// Its subvolume id, when it exists.
    pub subvolume_id: Option<u64>,
    /// Bytes it references.
    pub used_bytes: Option<u64>,
}

/// A subvolume directly under the root (or under the images directory) that no desired
/// volume or image names. Reported, never deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Orphan {
    /// Its path relative to the root.
    pub path: String,
    /// Its subvolume id.
    pub subvolume_id: u64,
}

/// A subvolume nested inside a volume or an image, which its qgroup does not count: a user
/// created it to escape the quota, or it was left behind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escape {
    /// The path of the volume or image holding it, relative to the root.
    pub inside: String,
    /// Its own path relative to the root.
    pub path: String,
    /// Its subvolume id.
    pub subvolume_id: u64,
}

/// Why a pass changed nothing: the filesystem cannot be reconciled as it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// The class of the problem.
    pub class: ErrorClass,
    /// What is wrong.
    pub message: String,
    /// The command an operator runs to fix it, when there is one.
    pub remedy: Option<String>,
}

/// Everything one pass saw and did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassReport {
    /// Set when the pass could not reconcile at all.
    pub blocked: Option<Blocked>,
    /// The qgroup figures are not trustworthy (see [`State::Degraded`]).
    pub degraded: bool,
    /// The filesystem's capacity and usage, when they could be read.
    pub usage: Option<Usage>,
    /// One report per desired volume, in the desired state's order.
    pub volumes: Vec<VolumeReport>,
    /// One report per desired image, in the desired state's order.
    pub images: Vec<ImageReport>,
    /// Subvolumes nobody asked for.
    pub orphans: Vec<Orphan>,
    /// Subvolumes nested in volumes or images.
    pub escapes: Vec<Escape>,
    /// How many changes the pass made (0 in a steady state).
    pub changes: u32,
    /// Problems that did not concern one volume (a failed stale-qgroup cleanup).
    pub warnings: Vec<String>,
}

impl PassReport {
    /// True when nothing is blocked, failed, or waiting: every volume and image is ready,
    /// degraded, rejected or gone.
    pub fn settled(&self) -> bool {
        self.blocked.is_none()
            && self
                .volumes
                .iter()
                .map(|v| &v.state)
                .chain(self.images.iter().map(|i| &i.state))
                .all(|s| !matches!(s, State::Failed { .. }))
    }
}
