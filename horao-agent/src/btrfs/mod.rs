//! The btrfs backend: the [`Btrfs`] trait the reconcile loop drives, the figures it returns,
//! and the real implementation over btrfs-progs ([`RealBtrfs`]).
//!
//! Every method is idempotent where the operation allows it, takes absolute paths the caller
//! built from validated names, and returns the crate's classified [`Error`](crate::Error).

mod mounts;
mod parse;
mod real;
mod sysfs;
mod tree;

pub use parse::{
    QgroupRow, SubvolumeRow, parse_fsid, parse_qgroup_show, parse_rescan_running,
    parse_subvolume_list, parse_usage,
};
pub use real::{RealBtrfs, Timeouts};

use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The subvolume id of a filesystem's top level; a qgroup `0/5` belongs to it.
pub const TOP_LEVEL_ID: u64 = 5;

/// The state of a filesystem's quota machinery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsStatus {
    /// The filesystem's id (the directory name under `/sys/fs/btrfs`).
    pub fsid: String,
    /// Quotas (qgroups) are enabled.
    pub quotas_enabled: bool,
    /// The kernel flags the qgroup figures as inconsistent (a rescan is needed).
    pub inconsistent: bool,
    /// A quota rescan is running.
    pub rescan_running: bool,
}

/// Capacity and usage of a filesystem's data space, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Device size divided by the data profile's ratio (2 for RAID1 or DUP data).
    pub capacity_bytes: u64,
    /// Capacity minus the estimated free space.
    pub used_bytes: u64,
    /// The estimated free space btrfs reports.
    pub free_bytes: u64,
}

/// A subvolume found below a root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subvolume {
    /// Its subvolume id (its qgroup is `0/<id>`).
    pub id: u64,
    /// The id of the subvolume that contains it.
    pub parent_id: u64,
    /// Its path relative to the root, `/`-separated.
    pub path: String,
    /// It is read-only.
    pub read_only: bool,
}

/// The figures of one level-0 qgroup, `0/<subvolume id>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Qgroup {
    /// Bytes referenced by the subvolume (shared or not).
    pub referenced: u64,
    /// Bytes only this subvolume references.
    pub exclusive: u64,
    /// The referenced limit, if one is set.
    pub max_referenced: Option<u64>,
    /// The exclusive limit, if one is set (the agent never sets one).
    pub max_exclusive: Option<u64>,
}

/// Owner and permission bits of a directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ownership {
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
}

/// The operations the agent needs from a btrfs filesystem.
///
/// `root` is the agent's root directory (a mounted btrfs filesystem or a directory on one);
/// other paths are subvolumes or directories below it.
pub trait Btrfs {
    /// Checks that `root` is on btrfs and reads the state of its quotas.
    fn status(&self, root: &Path) -> Result<FsStatus>;
    /// Enables quotas (the kernel then starts a rescan).
    fn enable_quotas(&self, root: &Path) -> Result<()>;
    /// Waits until no quota rescan is running, without starting one.
    fn wait_rescan(&self, root: &Path) -> Result<()>;
    /// Capacity and usage of the filesystem's data space.
    fn usage(&self, root: &Path) -> Result<Usage>;

    /// Creates an empty subvolume at `path` (its parent must exist).
    fn create_subvolume(&self, path: &Path) -> Result<()>;
    /// Creates a snapshot of the subvolume `source` at `dest`, read-only or writable. The
    /// snapshot's qgroup starts with the source's limits.
    fn snapshot(&self, source: &Path, dest: &Path, read_only: bool) -> Result<()>;
    /// Deletes the subvolume at `path` with every subvolume nested in it, read-only ones
    /// included, deepest first; returns the ids deleted (for [`Btrfs::sync`] and
    /// [`Btrfs::destroy_qgroup`]).
    fn delete_subvolume(&self, path: &Path) -> Result<Vec<u64>>;
    /// Waits until the deleted subvolumes `ids` are cleaned up.
    fn sync(&self, root: &Path, ids: &[u64]) -> Result<()>;
    /// The id of the subvolume at `path`.
    fn subvolume_id(&self, path: &Path) -> Result<u64>;
    /// Every subvolume below `root` (nested ones included), with paths relative to `root`.
    fn list(&self, root: &Path) -> Result<Vec<Subvolume>>;
    /// Whether the subvolume at `path` is read-only.
    fn read_only(&self, path: &Path) -> Result<bool>;

    /// The level-0 qgroups of the filesystem, by subvolume id.
    fn qgroups(&self, root: &Path) -> Result<BTreeMap<u64, Qgroup>>;
    /// The qgroup `0/<id>`, if it exists.
    fn qgroup(&self, root: &Path, id: u64) -> Result<Option<Qgroup>>;
    /// Sets (or with `None` removes) the referenced limit of qgroup `0/<id>`.
    fn set_limit(&self, root: &Path, id: u64, limit: Option<u64>) -> Result<()>;
    /// Destroys qgroup `0/<id>` of a deleted subvolume once it counts no bytes; "busy" and
    /// "not found" count as done (kernels differ in whether they remove a deleted subvolume's
    /// qgroup themselves). A qgroup that still counts bytes is left for
    /// [`Btrfs::clear_stale`]: destroying it would make newer kernels mark every qgroup
    /// figure inconsistent.
    fn destroy_qgroup(&self, root: &Path, id: u64) -> Result<()>;
    /// Destroys every level-0 qgroup whose subvolume no longer exists and that counts no
    /// bytes.
    fn clear_stale(&self, root: &Path) -> Result<()>;

    /// Owner and mode of the directory at `path`.
    fn ownership(&self, path: &Path) -> Result<Ownership>;
    /// Sets owner and mode of the directory at `path`.
    fn set_ownership(&self, path: &Path, ownership: Ownership) -> Result<()>;
    /// Creates the plain directory `path` if it does not exist.
    fn create_dir(&self, path: &Path) -> Result<()>;

    /// Latency statistics of the commands run so far, per subcommand (none by default).
    fn latencies(&self) -> BTreeMap<String, crate::command::Latency> {
        BTreeMap::new()
    }
}
