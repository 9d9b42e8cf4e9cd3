//! A scratch btrfs filesystem in a sparse image file, loop-mounted in a temporary directory,
//! for the integration tests and measurements. Dropping it unmounts it (the loop device is
//! detached with it) and removes the directory, also when a test fails.

use crate::classify::io_error;
use crate::command::Runner;
use crate::error::Result;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A mounted scratch btrfs filesystem.
#[derive(Debug)]
pub struct LoopFs {
    dir: PathBuf,
    mount: PathBuf,
    mounted: bool,
    timeout: Duration,
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

impl LoopFs {
    /// Why a scratch filesystem cannot be made here (not root, no loop devices, no btrfs in
    /// the kernel, no btrfs-progs), or `None` when it can.
    pub fn unavailable() -> Option<String> {
        let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1));
        if uid != Some("0") {
            return Some("not running as root".into());
        }
        if !Path::new("/dev/loop-control").exists() {
            return Some("no loop devices (/dev/loop-control is missing)".into());
        }
        let filesystems = fs::read_to_string("/proc/filesystems").unwrap_or_default();
        if !filesystems.lines().any(|l| l.trim_end().ends_with("btrfs")) {
            return Some("the kernel has no btrfs support".into());
        }
        for program in ["mkfs.btrfs", "btrfs", "mount", "umount"] {
            if !on_path(program) {
                return Some(format!("{program} is not installed (btrfs-progs, mount)"));
            }
        }
        None
    }

    /// Makes a filesystem of `size_bytes` (sparse; at least about 128 MiB) and mounts it.
    pub fn create(size_bytes: u64) -> Result<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "horao-loopfs-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut fs = Self {
            mount: dir.join("mnt"),
            dir,
            mounted: false,
            timeout: Duration::from_secs(120),
        };
        fs::create_dir_all(&fs.mount).map_err(|e| io_error("mkdir", &fs.mount, &e))?;
        let image = fs.dir.join("image");
        File::create(&image)
            .and_then(|f| f.set_len(size_bytes))
            .map_err(|e| io_error("truncate", &image, &e))?;
        let image = image.as_os_str();
        Runner::new("mkfs.btrfs", fs.timeout).run(&["-q".as_ref(), "-f".as_ref(), image])?;
        Runner::new("mount", fs.timeout).run(&[
            "-o".as_ref(),
            "loop".as_ref(),
            image,
            fs.mount.as_os_str(),
        ])?;
        fs.mounted = true;
        Ok(fs)
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.mount
    }
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        if self.mounted {
            let umount = Runner::new("umount", self.timeout);
            let mount = self.mount.as_os_str();
            // A process that still has a file open there keeps the mount busy: detach it
            // lazily then, so the loop device goes once the last user is gone.
            if umount.run(&[mount]).is_err() {
                let _ = umount.run(&["-l".as_ref(), mount]);
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}
