//! [`RealBtrfs`]: the [`Btrfs`] trait over btrfs-progs (Debian 12's 6.2; nothing newer is
//! used), run through the crate's one command wrapper, with qgroup figures from sysfs.

use super::mounts;
use super::parse::{self, SubvolumeRow};
use super::sysfs::{Quotas, Sysfs};
use super::tree::{below, is_subvolume_root, top_path};
use super::{Btrfs, FsStatus, Ownership, Qgroup, Subvolume, Usage};
use crate::classify::io_error;
use crate::command::{Output, Runner};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// How long btrfs commands may run before they are killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Every command but the waits below (default 60 s).
    pub command: Duration,
    /// `subvolume sync` and waiting for a quota rescan, which take as long as the
    /// filesystem's cleaner or rescan does (default one hour).
    pub wait: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            command: Duration::from_secs(60),
            wait: Duration::from_secs(3600),
        }
    }
}

/// The btrfs backend over btrfs-progs.
#[derive(Debug)]
pub struct RealBtrfs {
    btrfs: Runner,
    wait: Duration,
    sysfs: Sysfs,
    /// Per root: the filesystem id and the root's path from the top level. Neither changes
    /// while the filesystem stays mounted, and each costs a command to learn.
    roots: Mutex<BTreeMap<PathBuf, (String, Option<String>)>>,
}

impl Default for RealBtrfs {
    fn default() -> Self {
        Self::new("btrfs", Timeouts::default())
    }
}

impl RealBtrfs {
    /// A backend running `program` (normally `btrfs`) with the given timeouts.
    pub fn new(program: impl Into<PathBuf>, timeouts: Timeouts) -> Self {
        Self {
            btrfs: Runner::new(program, timeouts.command),
            wait: timeouts.wait,
            sysfs: Sysfs::default(),
            roots: Mutex::default(),
        }
    }

    /// The command wrapper, for its latency statistics.
    pub fn runner(&self) -> &Runner {
        &self.btrfs
    }

    fn run(&self, args: Args) -> Result<Output> {
        self.btrfs.run(&args.0)
    }

    fn run_waiting(&self, args: Args) -> Result<Output> {
        self.btrfs.run_with_timeout(&args.0, self.wait)
    }

    fn cached(&self, root: &Path) -> Option<(String, Option<String>)> {
        let roots = self.roots.lock().unwrap_or_else(PoisonError::into_inner);
        roots.get(root).cloned()
    }

    fn remember(&self, root: &Path, fsid: String, prefix: Option<String>) {
        let mut roots = self.roots.lock().unwrap_or_else(PoisonError::into_inner);
        roots.insert(root.to_path_buf(), (fsid, prefix));
    }

    fn fsid(&self, root: &Path) -> Result<String> {
        if let Some((fsid, _)) = self.cached(root) {
            return Ok(fsid);
        }
        let mount = mounts::btrfs_mount_point(root)?;
        let out = self.run(Args::new(&["filesystem", "show"]).arg(mount))?;
        let fsid = parse::parse_fsid(&out.stdout)?;
        self.remember(root, fsid.clone(), None);
        Ok(fsid)
    }

    fn rows(&self, path: &Path, read_only: bool) -> Result<Vec<SubvolumeRow>> {
        let flags: &[&str] = if read_only { &["-a", "-r"] } else { &["-a"] };
        let args = Args::new(&["subvolume", "list"]).args(flags).arg(path);
        parse::parse_subvolume_list(&self.run(args)?.stdout)
    }

    fn rootid(&self, path: &Path) -> Result<u64> {
        let out = self.run(Args::new(&["inspect-internal", "rootid"]).arg(path))?;
        out.stdout
            .trim()
            .parse()
            .map_err(|_| Error::parse("inspect-internal rootid", out.stdout.trim().to_string()))
    }

    /// The root's path from the top level, learnt once per root.
    fn prefix(&self, root: &Path, rows: &[SubvolumeRow]) -> Result<String> {
        if let Some((_, Some(prefix))) = self.cached(root) {
            return Ok(prefix);
        }
        let prefix = top_path(root, self.rootid(root)?, rows)?;
        let fsid = self.fsid(root)?;
        self.remember(root, fsid, Some(prefix.clone()));
        Ok(prefix)
    }

    fn read_only_ids(&self, path: &Path) -> Result<BTreeSet<u64>> {
        Ok(self.rows(path, true)?.into_iter().map(|r| r.id).collect())
    }

    fn set_read_only(&self, path: &Path, read_only: bool) -> Result<()> {
        let value = if read_only { "true" } else { "false" };
        self.run(
            Args::new(&["property", "set", "-ts"])
                .arg(path)
                .args(["ro", value]),
        )
        .map(drop)
    }

    fn qgroups_from_progs(&self, root: &Path) -> Result<BTreeMap<u64, Qgroup>> {
        let out = self.run(Args::new(&["qgroup", "show", "--raw", "-re"]).arg(root))?;
        let rows = parse::parse_qgroup_show(&out.stdout)?;
        Ok(rows.into_iter().map(|r| (r.id, r.qgroup)).collect())
    }
}

/// A btrfs command line being built: subcommand words, then paths and values.
struct Args(Vec<OsString>);

impl Args {
    fn new(words: &[&str]) -> Self {
        Self(words.iter().map(OsString::from).collect())
    }

    fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.0.push(arg.as_ref().to_owned());
        self
    }

    fn args<A: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = A>) -> Self {
        self.0
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }
}

fn qgroup_id(id: u64) -> String {
    format!("0/{id}")
}

/// Runs a command and treats "busy" and "not found" as done.
fn tolerate_gone(result: Result<Output>) -> Result<()> {
    match result {
        Ok(_) | Err(Error::Busy(_) | Error::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

impl Btrfs for RealBtrfs {
    fn latencies(&self) -> BTreeMap<String, crate::command::Latency> {
        self.btrfs.latencies()
    }

    fn status(&self, root: &Path) -> Result<FsStatus> {
        let fsid = self.fsid(root)?;
        let (quotas_enabled, inconsistent) = match self.sysfs.quotas(&fsid)? {
            Quotas::Enabled { inconsistent } => (true, inconsistent),
            Quotas::Disabled => (false, false),
            Quotas::Unknown => match self.run(Args::new(&["qgroup", "show", "--raw"]).arg(root)) {
                Ok(out) => (true, out.stderr.contains("inconsistent")),
                Err(Error::QuotaNotEnabled(_)) => (false, false),
                Err(e) => return Err(e),
            },
        };
        let rescan_running = quotas_enabled && {
            let args = Args::new(&["quota", "rescan", "-s"]).arg(root);
            parse::parse_rescan_running(&self.run(args)?.stdout)?
        };
        Ok(FsStatus {
            fsid,
            quotas_enabled,
            inconsistent,
            rescan_running,
        })
    }

    fn enable_quotas(&self, root: &Path) -> Result<()> {
        self.run(Args::new(&["quota", "enable"]).arg(root))
            .map(drop)
    }

    fn wait_rescan(&self, root: &Path) -> Result<()> {
        self.run_waiting(Args::new(&["quota", "rescan", "-W"]).arg(root))
            .map(drop)
    }

    fn usage(&self, root: &Path) -> Result<Usage> {
        let args = Args::new(&["filesystem", "usage", "-b"]).arg(root);
        parse::parse_usage(&self.run(args)?.stdout)
    }

    fn create_subvolume(&self, path: &Path) -> Result<()> {
        self.run(Args::new(&["subvolume", "create"]).arg(path))
            .map(drop)
    }

    fn snapshot(&self, source: &Path, dest: &Path, read_only: bool) -> Result<()> {
        let flags: &[&str] = if read_only { &["-r"] } else { &[] };
        let args = Args::new(&["subvolume", "snapshot"]).args(flags);
        self.run(args.arg(source).arg(dest)).map(drop)
    }

    fn delete_subvolume(&self, path: &Path) -> Result<Vec<u64>> {
        if !is_subvolume_root(path)? {
            return Err(Error::parse(path.display().to_string(), "not a subvolume"));
        }
        let id = self.rootid(path)?;
        let rows = self.rows(path, false)?;
        let top = top_path(path, id, &rows)?;
        let mut victims: Vec<(usize, u64, u64, PathBuf)> = below(&rows, &top)
            .map(|(row, rel)| {
                (
                    rel.matches('/').count(),
                    row.id,
                    row.parent_id,
                    path.join(rel),
                )
            })
            .collect();
        if !victims.is_empty() {
            // Deleting a subvolume removes its entry from the directory holding it, which a
            // read-only subvolume refuses: make every read-only holder writable first.
            let read_only = self.read_only_ids(path)?;
            let holders: BTreeSet<u64> = victims.iter().map(|v| v.2).collect();
            for holder in holders.intersection(&read_only) {
                let holder_path = if *holder == id {
                    Some(path)
                } else {
                    victims
                        .iter()
                        .find(|v| v.1 == *holder)
                        .map(|v| v.3.as_path())
                };
                if let Some(p) = holder_path {
                    self.set_read_only(p, false)?;
                }
            }
        }
        victims.sort_by(|a, b| b.0.cmp(&a.0).then(a.3.cmp(&b.3)));
        // Commit the deletion: it cannot come back after a crash, and the commit wakes the
        // cleaner, which `subvolume sync` waits for (otherwise up to the commit interval).
        let args = Args::new(&["subvolume", "delete", "--commit-after"])
            .args(victims.iter().map(|v| &v.3));
        self.run(args.arg(path))?;
        let mut ids: Vec<u64> = victims.iter().map(|v| v.1).collect();
        ids.push(id);
        Ok(ids)
    }

    fn sync(&self, root: &Path, ids: &[u64]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = ids.iter().map(u64::to_string);
        self.run_waiting(Args::new(&["subvolume", "sync"]).arg(root).args(ids))
            .map(drop)
    }

    fn subvolume_id(&self, path: &Path) -> Result<u64> {
        if !is_subvolume_root(path)? {
            return Err(Error::parse(path.display().to_string(), "not a subvolume"));
        }
        self.rootid(path)
    }

    fn list(&self, root: &Path) -> Result<Vec<Subvolume>> {
        let rows = self.rows(root, false)?;
        let prefix = self.prefix(root, &rows)?;
        let read_only = self.read_only_ids(root)?;
        Ok(below(&rows, &prefix)
            .map(|(row, rel)| Subvolume {
                id: row.id,
                parent_id: row.parent_id,
                path: rel.to_string(),
                read_only: read_only.contains(&row.id),
            })
            .collect())
    }

    fn read_only(&self, path: &Path) -> Result<bool> {
        let out = self.run(Args::new(&["property", "get", "-ts"]).arg(path).arg("ro"))?;
        match out.stdout.trim() {
            "ro=true" => Ok(true),
            "ro=false" => Ok(false),
            other => Err(Error::parse("property get ro", other.to_string())),
        }
    }

    fn qgroups(&self, root: &Path) -> Result<BTreeMap<u64, Qgroup>> {
        match self.sysfs.qgroups(&self.fsid(root)?)? {
            Some(all) => Ok(all),
            None => self.qgroups_from_progs(root),
        }
    }

    fn qgroup(&self, root: &Path, id: u64) -> Result<Option<Qgroup>> {
        let fsid = self.fsid(root)?;
        if self.sysfs.has_qgroups(&fsid) {
            self.sysfs.qgroup(&fsid, id)
        } else {
            Ok(self.qgroups_from_progs(root)?.get(&id).copied())
        }
    }

    fn set_limit(&self, root: &Path, id: u64, limit: Option<u64>) -> Result<()> {
        let value = limit.map_or_else(|| "none".to_string(), |l| l.to_string());
        let args = Args::new(&["qgroup", "limit"]).args([value, qgroup_id(id)]);
        self.run(args.arg(root)).map(drop)
    }

    fn destroy_qgroup(&self, root: &Path, id: u64) -> Result<()> {
        let counts = |q: Option<Qgroup>| q.is_some_and(|q| q.referenced != 0 || q.exclusive != 0);
        let mut q = self.qgroup(root, id)?;
        if counts(q) {
            // The cleaner dropped the subvolume, but its figures reach zero only at the next
            // commit.
            self.run(Args::new(&["filesystem", "sync"]).arg(root))?;
            q = self.qgroup(root, id)?;
        }
        match q {
            None => Ok(()),
            // Left for a later stale-qgroup cleanup: destroying a qgroup that still counts
            // bytes makes newer kernels flag every qgroup figure inconsistent.
            Some(_) if counts(q) => {
                tracing::debug!(qgroup = %qgroup_id(id), "not destroyed yet: it still counts bytes");
                Ok(())
            }
            Some(_) => tolerate_gone(
                self.run(
                    Args::new(&["qgroup", "destroy"])
                        .arg(qgroup_id(id))
                        .arg(root),
                ),
            ),
        }
    }

    fn clear_stale(&self, root: &Path) -> Result<()> {
        // Not `btrfs qgroup clear-stale`, which also destroys the qgroups of deleted
        // subvolumes the cleaner has not dropped yet (still counting bytes). The qgroups are
        // read before the subvolumes are listed, so a subvolume created in between (whose
        // fresh qgroup counts nothing until the next commit) is in the listing.
        let qgroups = self.qgroups(root)?;
        let live: BTreeSet<u64> = self.rows(root, false)?.iter().map(|r| r.id).collect();
        for (id, q) in qgroups {
            let stale = id != super::TOP_LEVEL_ID && !live.contains(&id);
            if stale && q.referenced == 0 && q.exclusive == 0 {
                let args = Args::new(&["qgroup", "destroy"])
                    .arg(qgroup_id(id))
                    .arg(root);
                tolerate_gone(self.run(args))?;
            }
        }
        Ok(())
    }

    fn ownership(&self, path: &Path) -> Result<Ownership> {
        let meta = std::fs::metadata(path).map_err(|e| io_error("stat", path, &e))?;
        Ok(Ownership {
            uid: meta.uid(),
            gid: meta.gid(),
            mode: meta.mode() & 0o7777,
        })
    }

    fn set_ownership(&self, path: &Path, o: Ownership) -> Result<()> {
        // chown first: it clears the setuid and setgid bits the mode may ask for.
        std::os::unix::fs::chown(path, Some(o.uid), Some(o.gid))
            .map_err(|e| io_error("chown", path, &e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(o.mode))
            .map_err(|e| io_error("chmod", path, &e))
    }

    fn create_dir(&self, path: &Path) -> Result<()> {
        match std::fs::create_dir(path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                Err(io_error("mkdir", path, &e))
            }
            _ => Ok(()),
        }
    }
}
