//! Shared helpers: a scratch filesystem with quotas on (or a skip), desired volumes, and
//! read-back of what is on disk.

use horao_agent::btrfs::{Btrfs, Ownership};
use horao_agent::loopfs::LoopFs;
use horao_agent::{
    Config, DesiredState, DesiredVolume, PassReport, Presence, RealBtrfs, Reconciler, VolumeSource,
    preflight,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) const MIB: u64 = 1 << 20;

/// A loop-mounted btrfs with quotas on, the real backend, and the agent's root below it.
pub(crate) struct Scratch {
    pub(crate) btrfs: RealBtrfs,
    pub(crate) root: PathBuf,
    // Dropped last: unmounts and removes the image.
    pub(crate) fs: LoopFs,
}

/// A scratch filesystem of `size` bytes, or `None` (after saying why) where the tests cannot
/// run here. With `HORAO_REQUIRE_ROOT_TESTS=1` a missing requirement fails the test instead.
pub(crate) fn scratch(test: &str, size: u64) -> Option<Scratch> {
    if let Some(reason) = LoopFs::unavailable() {
        if std::env::var("HORAO_REQUIRE_ROOT_TESTS").as_deref() == Ok("1") {
            panic!("{test}: HORAO_REQUIRE_ROOT_TESTS=1 but {reason}");
        }
        eprintln!("{test}: skipped: {reason}");
        return None;
    }
    let fs = LoopFs::create(size).expect("scratch filesystem");
    let btrfs = RealBtrfs::default();
    preflight(&btrfs, fs.path(), true).expect("quotas enabled");
    // The root is a plain directory on the filesystem, as an operator may choose.
    let root = fs.path().join("srv");
    std::fs::create_dir(&root).unwrap();
    Some(Scratch { btrfs, root, fs })
}

impl Scratch {
    pub(crate) fn reconciler(&self) -> Reconciler {
        let mut config = Config::new(&self.root);
        config.backoff.base = Duration::from_millis(1);
        Reconciler::new(config)
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Limit, referenced bytes, owner and mode, read-only flag of the subvolume at `rel`.
    pub(crate) fn read_back(&self, rel: &str) -> (Option<u64>, u64, Ownership, bool) {
        let path = self.path(rel);
        let id = self.btrfs.subvolume_id(&path).unwrap();
        let q = self.btrfs.qgroup(&self.root, id).unwrap().unwrap();
        let owner = self.btrfs.ownership(&path).unwrap();
        let ro = self.btrfs.read_only(&path).unwrap();
        (q.max_referenced, q.referenced, owner, ro)
    }

    /// Commits the filesystem's transaction (`btrfs filesystem sync`), so qgroup figures
    /// count what was just written.
    pub(crate) fn sync_fs(&self) {
        horao_agent::command::Runner::new("btrfs", Duration::from_secs(60))
            .run(&[
                "filesystem".as_ref(),
                "sync".as_ref(),
                self.root.as_os_str(),
            ])
            .unwrap();
    }

    /// The paths (relative to the root) of every subvolume below it.
    pub(crate) fn subvolumes(&self) -> BTreeSet<String> {
        let list = self.btrfs.list(&self.root).unwrap();
        list.into_iter().map(|s| s.path).collect()
    }

    /// Checks that every level-0 qgroup belongs to a live subvolume (or the top level).
    pub(crate) fn assert_no_stale_qgroups(&self) {
        let live: BTreeSet<u64> = self
            .btrfs
            .list(self.fs.path())
            .unwrap()
            .iter()
            .map(|s| s.id)
            .chain([5])
            .collect();
        let qgroups: BTreeSet<u64> = self
            .btrfs
            .qgroups(&self.root)
            .unwrap()
            .into_keys()
            .collect();
        assert_eq!(qgroups, live, "level-0 qgroups without a subvolume");
    }

    /// Runs passes until the report is settled (at most `max`), 1 ms apart on the loop's clock.
    pub(crate) fn converge(
        &self,
        r: &mut Reconciler,
        desired: &DesiredState,
        max: u32,
    ) -> PassReport {
        let mut report = PassReport::default();
        for i in 0..max {
            report = r.pass(
                &self.btrfs,
                desired,
                Duration::from_millis(u64::from(i) * 10),
            );
            if report.settled() && report.changes == 0 {
                return report;
            }
        }
        panic!("not converged after {max} passes: {report:#?}");
    }
}

pub(crate) fn vol(name: &str, size: u64, at: u64) -> DesiredVolume {
    DesiredVolume {
        id: format!("id-{name}"),
        name: name.into(),
        size_bytes: size,
        dilation_percent: 0,
        owner_uid: 1000,
        owner_gid: 1000,
        mode: 0o750,
        source: VolumeSource::None,
        assigned_at: at,
        desired: Presence::Present,
    }
}

pub(crate) fn owner(uid: u32, gid: u32, mode: u32) -> Ownership {
    Ownership { uid, gid, mode }
}

/// Whether `path` exists.
pub(crate) fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

/// Runs the real agent binary once (`--once`) as machine `m1` with the label `rack=r1`,
/// against `server` with `token`, on `root` with the state file `state` and `extra` flags;
/// prints its log and returns whether it succeeded.
pub(crate) fn run_agent_once(
    server: &str,
    token: &str,
    root: &Path,
    state: &Path,
    extra: &[&str],
) -> bool {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_horao-agent"))
        .args(extra)
        .args([
            "--server",
            server,
            "--machine",
            "m1",
            "--label",
            "rack=r1",
            "--once",
        ])
        .arg("--root")
        .arg(root)
        .arg("--state-file")
        .arg(state)
        .env("HORAO_TOKEN", token)
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    out.status.success()
}
