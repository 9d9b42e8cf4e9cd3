//! An in-memory [`Btrfs`] for the unit tests of the reconcile loop only: subvolumes by path,
//! qgroups that snapshots inherit, injected failures, and a "crash" after a number of changes.
//! The real backend is tested against real btrfs in the integration tests.

use crate::btrfs::{Btrfs, FsStatus, Ownership, Qgroup, Subvolume, TOP_LEVEL_ID, Usage};
use crate::error::{Context, Error, ErrorClass, Result};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FakeSub {
    pub(crate) id: u64,
    pub(crate) read_only: bool,
    pub(crate) owner: Ownership,
}

/// The whole fake filesystem; public to the tests so they can set it up and compare it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct World {
    pub(crate) root: PathBuf,
    pub(crate) status: FsStatus,
    pub(crate) usage: Usage,
    pub(crate) subvols: BTreeMap<PathBuf, FakeSub>,
    pub(crate) dirs: BTreeSet<PathBuf>,
    pub(crate) qgroups: BTreeMap<u64, Qgroup>,
    pub(crate) next_id: u64,
}

#[derive(Debug, Default)]
struct Faults {
    /// (operation, path fragment, class, times left).
    fail: Vec<(&'static str, String, ErrorClass, u32)>,
    /// Changes allowed before every later call fails, as if the process died.
    changes_left: Option<u32>,
    /// Every call made, as "operation path".
    calls: Vec<String>,
}

/// The fake backend.
#[derive(Debug)]
pub(crate) struct FakeBtrfs {
    pub(crate) world: RefCell<World>,
    faults: RefCell<Faults>,
}

fn err(class: ErrorClass, what: &str, path: &Path) -> Error {
    Error::from_class(
        class,
        Context {
            operation: format!("{what} {}", path.display()),
            code: Some(1),
            detail: format!("fake {class}"),
        },
    )
}

impl FakeBtrfs {
    /// An empty filesystem at `root` with quotas on and `capacity` bytes.
    pub(crate) fn new(root: &str, capacity: u64) -> Self {
        Self {
            world: RefCell::new(World {
                root: PathBuf::from(root),
                status: FsStatus {
                    fsid: "fake".into(),
                    quotas_enabled: true,
                    inconsistent: false,
                    rescan_running: false,
                },
                usage: Usage {
                    capacity_bytes: capacity,
                    used_bytes: 0,
                    free_bytes: capacity,
                },
                subvols: BTreeMap::new(),
                dirs: BTreeSet::new(),
                qgroups: BTreeMap::new(),
                next_id: 256,
            }),
            faults: RefCell::default(),
        }
    }

    /// Fails the next `times` calls of `op` on a path containing `fragment` with `class`.
    pub(crate) fn fail(&self, op: &'static str, fragment: &str, class: ErrorClass, times: u32) {
        let mut f = self.faults.borrow_mut();
        f.fail.push((op, fragment.to_string(), class, times));
    }

    /// After `n` more changes, every call fails (the agent "died" there).
    pub(crate) fn die_after(&self, n: u32) {
        self.faults.borrow_mut().changes_left = Some(n);
    }

    /// Undoes [`FakeBtrfs::die_after`] and every injected failure.
    pub(crate) fn revive(&self) {
        *self.faults.borrow_mut() = Faults::default();
    }

    /// The calls made so far.
    pub(crate) fn calls(&self) -> Vec<String> {
        self.faults.borrow().calls.clone()
    }

    /// Sets the bytes a subvolume references (as if data were written).
    pub(crate) fn set_referenced(&self, path: &str, bytes: u64) {
        let mut w = self.world.borrow_mut();
        let id = w.subvols[Path::new(path)].id;
        if let Some(q) = w.qgroups.get_mut(&id) {
            q.referenced = bytes;
        }
    }

    fn check(&self, op: &'static str, path: &Path, change: bool) -> Result<()> {
        let mut f = self.faults.borrow_mut();
        f.calls.push(format!("{op} {}", path.display()));
        if f.changes_left == Some(0) {
            return Err(err(ErrorClass::Other, "killed", path));
        }
        let shown = path.display().to_string();
        if let Some(rule) = f
            .fail
            .iter_mut()
            .find(|r| r.0 == op && shown.contains(&r.1) && r.3 > 0)
        {
            rule.3 -= 1;
            return Err(err(rule.2, op, path));
        }
        if change {
            if let Some(n) = f.changes_left.as_mut() {
                *n -= 1;
            }
        }
        Ok(())
    }

    fn new_subvolume(&self, path: &Path, from: Option<&Path>, read_only: bool) -> Result<()> {
        let mut w = self.world.borrow_mut();
        if w.subvols.contains_key(path) || w.dirs.contains(path) {
            return Err(err(ErrorClass::TargetExists, "create", path));
        }
        let parent = path.parent().unwrap_or(Path::new("/"));
        if parent != w.root && !w.dirs.contains(parent) {
            match w.subvols.get(parent) {
                None => return Err(err(ErrorClass::NotFound, "create", path)),
                Some(p) if p.read_only => return Err(err(ErrorClass::ReadOnly, "create", path)),
                Some(_) => {}
            }
        }
        let (q, owner) = match from {
            None => (
                Qgroup {
                    referenced: 16384,
                    exclusive: 16384,
                    ..Qgroup::default()
                },
                Ownership {
                    uid: 0,
                    gid: 0,
                    mode: 0o755,
                },
            ),
            Some(src) => {
                let s = w
                    .subvols
                    .get(src)
                    .ok_or_else(|| err(ErrorClass::NotFound, "snapshot", src))?;
                (w.qgroups.get(&s.id).copied().unwrap_or_default(), s.owner)
            }
        };
        let id = w.next_id;
        w.next_id += 1;
        w.qgroups.insert(id, q);
        w.subvols.insert(
            path.to_path_buf(),
            FakeSub {
                id,
                read_only,
                owner,
            },
        );
        Ok(())
    }

    fn sub(&self, path: &Path) -> Result<FakeSub> {
        self.world
            .borrow()
            .subvols
            .get(path)
            .cloned()
            .ok_or_else(|| err(ErrorClass::NotFound, "stat", path))
    }
}

impl Btrfs for FakeBtrfs {
    fn status(&self, root: &Path) -> Result<FsStatus> {
        self.check("status", root, false)?;
        Ok(self.world.borrow().status.clone())
    }

    fn enable_quotas(&self, root: &Path) -> Result<()> {
        self.check("enable_quotas", root, true)?;
        self.world.borrow_mut().status.quotas_enabled = true;
        Ok(())
    }

    fn wait_rescan(&self, root: &Path) -> Result<()> {
        self.check("wait_rescan", root, false)?;
        self.world.borrow_mut().status.rescan_running = false;
        Ok(())
    }

    fn usage(&self, root: &Path) -> Result<Usage> {
        self.check("usage", root, false)?;
        Ok(self.world.borrow().usage)
    }

    fn create_subvolume(&self, path: &Path) -> Result<()> {
        self.check("create_subvolume", path, true)?;
        self.new_subvolume(path, None, false)
    }

    fn snapshot(&self, source: &Path, dest: &Path, read_only: bool) -> Result<()> {
        self.check("snapshot", dest, true)?;
        self.new_subvolume(dest, Some(source), read_only)
    }

    fn delete_subvolume(&self, path: &Path) -> Result<Vec<u64>> {
        self.check("delete_subvolume", path, true)?;
        let mut w = self.world.borrow_mut();
        if !w.subvols.contains_key(path) {
            return Err(err(ErrorClass::NotFound, "delete", path));
        }
        let doomed: Vec<PathBuf> = w
            .subvols
            .keys()
            .filter(|p| p.starts_with(path))
            .cloned()
            .collect();
        let ids: Vec<u64> = doomed
            .iter()
            .rev()
            .filter_map(|p| w.subvols.remove(p).map(|s| s.id))
            .collect();
        // Like old kernels, the qgroups stay behind until destroyed; the cleaner is instant.
        for id in &ids {
            if let Some(q) = w.qgroups.get_mut(id) {
                *q = Qgroup::default();
            }
        }
        Ok(ids)
    }

    fn sync(&self, root: &Path, _ids: &[u64]) -> Result<()> {
        self.check("sync", root, false)
    }

    fn subvolume_id(&self, path: &Path) -> Result<u64> {
        self.check("subvolume_id", path, false)?;
        Ok(self.sub(path)?.id)
    }

    fn list(&self, root: &Path) -> Result<Vec<Subvolume>> {
        self.check("list", root, false)?;
        let w = self.world.borrow();
        Ok(w.subvols
            .iter()
            .filter_map(|(p, s)| {
                let rel = p.strip_prefix(root).ok()?.to_str()?.to_string();
                let parent_id = p
                    .ancestors()
                    .skip(1)
                    .find_map(|a| w.subvols.get(a))
                    .map_or(TOP_LEVEL_ID, |h| h.id);
                Some(Subvolume {
                    id: s.id,
                    parent_id,
                    path: rel,
                    read_only: s.read_only,
                })
            })
            .collect())
    }

    fn read_only(&self, path: &Path) -> Result<bool> {
        self.check("read_only", path, false)?;
        Ok(self.sub(path)?.read_only)
    }

    fn qgroups(&self, root: &Path) -> Result<BTreeMap<u64, Qgroup>> {
        self.check("qgroups", root, false)?;
        Ok(self.world.borrow().qgroups.clone())
    }

    fn qgroup(&self, root: &Path, id: u64) -> Result<Option<Qgroup>> {
        self.check("qgroup", root, false)?;
        Ok(self.world.borrow().qgroups.get(&id).copied())
    }

    fn set_limit(&self, root: &Path, id: u64, limit: Option<u64>) -> Result<()> {
        self.check("set_limit", root, true)?;
        let mut w = self.world.borrow_mut();
        let q = w
            .qgroups
            .get_mut(&id)
            .ok_or_else(|| err(ErrorClass::NotFound, "limit", root))?;
        q.max_referenced = limit;
        Ok(())
    }

    fn destroy_qgroup(&self, root: &Path, id: u64) -> Result<()> {
        self.check("destroy_qgroup", root, true)?;
        let mut w = self.world.borrow_mut();
        if !w.subvols.values().any(|s| s.id == id) {
            w.qgroups.remove(&id);
        }
        Ok(())
    }

    fn clear_stale(&self, root: &Path) -> Result<()> {
        self.check("clear_stale", root, true)?;
        let mut w = self.world.borrow_mut();
        let live: BTreeSet<u64> = w.subvols.values().map(|s| s.id).collect();
        w.qgroups.retain(|id, _| live.contains(id));
        Ok(())
    }

    fn ownership(&self, path: &Path) -> Result<Ownership> {
        self.check("ownership", path, false)?;
        Ok(self.sub(path)?.owner)
    }

    fn set_ownership(&self, path: &Path, ownership: Ownership) -> Result<()> {
        self.check("set_ownership", path, true)?;
        let mut w = self.world.borrow_mut();
        let s = w
            .subvols
            .get_mut(path)
            .ok_or_else(|| err(ErrorClass::NotFound, "chown", path))?;
        s.owner = ownership;
        Ok(())
    }

    fn create_dir(&self, path: &Path) -> Result<()> {
        self.check("create_dir", path, true)?;
        self.world.borrow_mut().dirs.insert(path.to_path_buf());
        Ok(())
    }
}
