//! The steps that make one volume or image match what is desired of it. Each step first
//! compares with what the pass observed (or reads back), so running it again after any
//! interruption does only what is still missing.

use super::admission::Origin;
use super::observe::Observed;
use crate::btrfs::{Btrfs, Ownership, Qgroup};
use crate::error::{Context, Error, Result};
use crate::name::{IMAGES_DIR, Name};
use crate::report::State;
use std::path::Path;

/// What a pass works with, and what it counts.
pub(crate) struct Cx<'a, B: ?Sized> {
    pub(crate) btrfs: &'a B,
    pub(crate) root: &'a Path,
    pub(crate) observed: &'a Observed,
    /// Qgroup figures are not trustworthy: shrinking is deferred.
    pub(crate) degraded: bool,
    /// Changes made so far.
    pub(crate) changes: u32,
    /// Subvolumes deleted so far (a stale-qgroup cleanup follows).
    pub(crate) deleted: u32,
}

/// The state of a subvolume after its step succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Present {
    pub(crate) state: State,
    pub(crate) subvolume_id: u64,
    pub(crate) qgroup: Qgroup,
    pub(crate) read_only: bool,
}

/// What is desired of a volume that should exist.
pub(crate) struct VolumeSpec<'a> {
    pub(crate) name: &'a Name,
    pub(crate) limit: u64,
    pub(crate) origin: &'a Origin,
    pub(crate) ownership: Ownership,
}

fn missing_qgroup(id: u64) -> Error {
    Error::NotFound(Context {
        operation: format!("qgroup 0/{id}"),
        code: None,
        detail: "the subvolume has no qgroup".into(),
    })
}

impl<B: Btrfs + ?Sized> Cx<'_, B> {
    fn state(&self) -> State {
        if self.degraded {
            State::Degraded
        } else {
            State::Ready
        }
    }

    /// The subvolume id at `path`: as observed, or created by `create` and then read.
    fn existing_or(
        &mut self,
        observed: Option<u64>,
        path: &Path,
        create: impl FnOnce(&B) -> Result<()>,
    ) -> Result<(u64, bool)> {
        if let Some(id) = observed {
            return Ok((id, false));
        }
        create(self.btrfs)?;
        self.changes += 1;
        Ok((self.btrfs.subvolume_id(path)?, true))
    }

    fn qgroup(&self, id: u64, fresh: bool) -> Result<Qgroup> {
        let q = if fresh {
            self.btrfs.qgroup(self.root, id)?
        } else {
            self.observed.qgroups.get(&id).copied()
        };
        q.ok_or_else(|| missing_qgroup(id))
    }

    /// Sets qgroup `0/<id>`'s referenced limit to `limit` unless it already is, and reads it
    /// back. A limit below the bytes referenced is refused (deferred while degraded).
    fn ensure_limit(&mut self, id: u64, q: Qgroup, limit: Option<u64>) -> Result<Qgroup> {
        if q.max_referenced == limit {
            return Ok(q);
        }
        if let Some(l) = limit.filter(|&l| l < q.referenced) {
            if self.degraded {
                return Ok(q);
            }
            return Err(Error::BelowUsage {
                limit: l,
                referenced: q.referenced,
            });
        }
        self.btrfs.set_limit(self.root, id, limit)?;
        self.changes += 1;
        let back = self
            .btrfs
            .qgroup(self.root, id)?
            .ok_or_else(|| missing_qgroup(id))?;
        if back.max_referenced != limit {
            return Err(Error::Mismatch {
                what: format!("qgroup 0/{id} referenced limit"),
                wrote: format!("{limit:?}"),
                read: format!("{:?}", back.max_referenced),
            });
        }
        Ok(back)
    }

    fn ensure_ownership(&mut self, path: &Path, want: Ownership) -> Result<()> {
        if self.btrfs.ownership(path)? == want {
            return Ok(());
        }
        self.btrfs.set_ownership(path, want)?;
        self.changes += 1;
        let back = self.btrfs.ownership(path)?;
        if back != want {
            return Err(Error::Mismatch {
                what: format!("owner and mode of {}", path.display()),
                wrote: format!("{want:?}"),
                read: format!("{back:?}"),
            });
        }
        Ok(())
    }

    /// Creates the volume if it is missing (empty, or a writable snapshot of its image or
    /// source volume), then sets its limit (right after a snapshot, which inherits the
    /// source's), owner and mode.
    pub(crate) fn ensure_volume(&mut self, spec: &VolumeSpec<'_>) -> Result<Present> {
        let path = spec.name.volume_path(self.root);
        let seen = self.observed.volume(spec.name);
        let root = self.root;
        let (id, fresh) = self.existing_or(seen.map(|s| s.id), &path, |b| match spec.origin {
            Origin::Empty => b.create_subvolume(&path),
            Origin::Image(image) => b.snapshot(&image.image_path(root), &path, false),
            Origin::Clone(source) => b.snapshot(&source.volume_path(root), &path, false),
        })?;
        let q = self.qgroup(id, fresh)?;
        let q = self.ensure_limit(id, q, Some(spec.limit))?;
        self.ensure_ownership(&path, spec.ownership)?;
        Ok(Present {
            state: self.state(),
            subvolume_id: id,
            qgroup: q,
            read_only: seen.is_some_and(|s| s.read_only),
        })
    }

    /// Creates the image if it is missing, as a read-only snapshot of `from`, and removes the
    /// limit the snapshot inherited: images are kept without one.
    pub(crate) fn ensure_image(&mut self, name: &Name, from: Option<&Name>) -> Result<Present> {
        let path = name.image_path(self.root);
        let seen = self.observed.image(name);
        let root = self.root;
        let (id, fresh) = self.existing_or(seen.map(|s| s.id), &path, |b| {
            let Some(source) = from else {
                return Err(Error::NotFound(Context {
                    operation: format!("image {name}"),
                    code: None,
                    detail: "not on this machine and no volume to make it from".into(),
                }));
            };
            b.create_dir(&root.join(IMAGES_DIR))?;
            b.snapshot(&source.volume_path(root), &path, true)
        })?;
        let q = self.qgroup(id, fresh)?;
        let q = self.ensure_limit(id, q, None)?;
        Ok(Present {
            state: self.state(),
            subvolume_id: id,
            qgroup: q,
            read_only: seen.is_none_or(|s| s.read_only),
        })
    }

    /// Deletes the subvolume at `path` if the pass saw it, with everything nested in it; waits
    /// for the cleaner, then destroys the qgroups.
    pub(crate) fn ensure_deleted(&mut self, path: &Path, seen: bool) -> Result<()> {
        if !seen {
            return Ok(());
        }
        let ids = self.btrfs.delete_subvolume(path)?;
        self.changes += 1;
        self.deleted += 1;
        self.btrfs.sync(self.root, &ids)?;
        for id in ids {
            self.btrfs.destroy_qgroup(self.root, id)?;
        }
        Ok(())
    }
}
