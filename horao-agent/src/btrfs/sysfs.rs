//! Qgroup figures and quota flags read from sysfs (`/sys/fs/btrfs/<FSID>/qgroups/`), which
//! costs no process and no tree search; kernels without it fall back to `btrfs qgroup show`.

use super::Qgroup;
use crate::classify::io_error;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// `limit_flags` bits (`BTRFS_QGROUP_LIMIT_MAX_RFER`, `BTRFS_QGROUP_LIMIT_MAX_EXCL`).
const LIMIT_MAX_RFER: u64 = 1;
const LIMIT_MAX_EXCL: u64 = 2;

/// Where btrfs filesystems appear in sysfs.
#[derive(Clone, Debug)]
pub(super) struct Sysfs {
    base: PathBuf,
}

impl Default for Sysfs {
    fn default() -> Self {
        Self {
            base: PathBuf::from("/sys/fs/btrfs"),
        }
    }
}

/// What sysfs says about a filesystem's quotas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Quotas {
    /// The kernel publishes no directory for the filesystem: ask btrfs-progs.
    Unknown,
    /// Quotas are off (the `qgroups` directory is absent).
    Disabled,
    /// Quotas are on; the flag says whether the figures are inconsistent.
    Enabled { inconsistent: bool },
}

/// `ENODEV`: what sysfs answers for a file of a qgroup the kernel is destroying.
const ENODEV: i32 = 19;

/// A read error, with a file of a qgroup being destroyed counted as gone (`NotFound`): sysfs
/// lists the qgroup, then answers `ENODEV` for its files until the directory disappears.
fn read_error(path: &Path, err: std::io::Error) -> Error {
    let err = if err.raw_os_error() == Some(ENODEV) {
        std::io::Error::new(ErrorKind::NotFound, err)
    } else {
        err
    };
    io_error("read", path, &err)
}

fn read_u64(path: &Path) -> Result<u64> {
    let text = std::fs::read_to_string(path).map_err(|e| read_error(path, e))?;
    text.trim()
        .parse()
        .map_err(|_| Error::parse(path.display().to_string(), format!("{:?}", text.trim())))
}

impl Sysfs {
    fn qgroups_dir(&self, fsid: &str) -> PathBuf {
        self.base.join(fsid).join("qgroups")
    }

    /// The state of the filesystem's quotas as sysfs shows it.
    pub(super) fn quotas(&self, fsid: &str) -> Result<Quotas> {
        if !self.base.join(fsid).is_dir() {
            return Ok(Quotas::Unknown);
        }
        let dir = self.qgroups_dir(fsid);
        if !dir.is_dir() {
            return Ok(Quotas::Disabled);
        }
        let flag = dir.join("inconsistent");
        let inconsistent = match read_u64(&flag) {
            Ok(v) => v != 0,
            Err(Error::NotFound(_)) => false,
            Err(e) => return Err(e),
        };
        Ok(Quotas::Enabled { inconsistent })
    }

    /// Whether sysfs publishes the filesystem's qgroups (quotas on, kernel 5.9 or later).
    pub(super) fn has_qgroups(&self, fsid: &str) -> bool {
        self.qgroups_dir(fsid).is_dir()
    }

    /// Qgroup `0/<id>`, `Ok(None)` when it does not exist (or sysfs publishes no qgroups:
    /// ask [`Sysfs::has_qgroups`] first).
    pub(super) fn qgroup(&self, fsid: &str, id: u64) -> Result<Option<Qgroup>> {
        let dir = self.qgroups_dir(fsid);
        match read_qgroup(&dir.join(format!("0_{id}"))) {
            Ok(q) => Ok(Some(q)),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every level-0 qgroup, or `Ok(None)` when sysfs has no qgroups directory.
    pub(super) fn qgroups(&self, fsid: &str) -> Result<Option<BTreeMap<u64, Qgroup>>> {
        let dir = self.qgroups_dir(fsid);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("read_dir", &dir, &e)),
        };
        let mut out = BTreeMap::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error("read_dir", &dir, &e))?;
            let name = entry.file_name();
            let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_prefix("0_"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            match read_qgroup(&entry.path()) {
                Ok(q) => {
                    out.insert(id, q);
                }
                // Destroyed between the listing and the read.
                Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Some(out))
    }
}

fn read_qgroup(dir: &Path) -> Result<Qgroup> {
    let flags = read_u64(&dir.join("limit_flags"))?;
    let limit = |file: &str, bit: u64| -> Result<Option<u64>> {
        if flags & bit == 0 {
            return Ok(None);
        }
        let v = read_u64(&dir.join(file))?;
        Ok((v != u64::MAX).then_some(v))
    };
    Ok(Qgroup {
        referenced: read_u64(&dir.join("referenced"))?,
        exclusive: read_u64(&dir.join("exclusive"))?,
        max_referenced: limit("max_referenced", LIMIT_MAX_RFER)?,
        max_exclusive: limit("max_exclusive", LIMIT_MAX_EXCL)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_qgroup_file_being_destroyed_counts_as_gone() {
        let path = Path::new("/sys/fs/btrfs/F/qgroups/0_260/limit_flags");
        let gone = read_error(path, std::io::Error::from_raw_os_error(ENODEV));
        assert!(matches!(gone, Error::NotFound(_)), "{gone:?}");
        let denied = read_error(path, std::io::Error::from_raw_os_error(13));
        assert!(!matches!(denied, Error::NotFound(_)), "{denied:?}");
    }

    fn fake_sysfs(tag: &str) -> (Sysfs, PathBuf) {
        let base = std::env::temp_dir().join(format!("horao-sysfs-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(base.join("F")).unwrap();
        (Sysfs { base: base.clone() }, base)
    }

    fn write_qgroup(base: &Path, id: u64, files: &[(&str, &str)]) {
        let dir = base.join("F/qgroups").join(format!("0_{id}"));
        fs::create_dir_all(&dir).unwrap();
        for (name, value) in files {
            fs::write(dir.join(name), format!("{value}\n")).unwrap();
        }
    }

    #[test]
    fn reads_figures_and_limits_by_flag() {
        let (sysfs, base) = fake_sysfs("figures");
        assert_eq!(sysfs.quotas("F").unwrap(), Quotas::Disabled);
        assert_eq!(sysfs.quotas("nofs").unwrap(), Quotas::Unknown);
        assert_eq!(sysfs.qgroups("F").unwrap(), None);
        assert!(!sysfs.has_qgroups("F"));
        let files = |flags: &'static str| {
            [
                ("referenced", "4096"),
                ("exclusive", "1024"),
                ("max_referenced", "0"),
                ("max_exclusive", "0"),
                ("limit_flags", flags),
            ]
        };
        write_qgroup(&base, 256, &files("0"));
        write_qgroup(&base, 257, &files("1"));
        fs::write(base.join("F/qgroups/inconsistent"), "1\n").unwrap();
        fs::create_dir_all(base.join("F/qgroups/1_100")).unwrap();
        assert_eq!(
            sysfs.quotas("F").unwrap(),
            Quotas::Enabled { inconsistent: true }
        );
        let all = sysfs.qgroups("F").unwrap().unwrap();
        assert_eq!(all.keys().copied().collect::<Vec<_>>(), [256, 257]);
        assert_eq!(all[&256].max_referenced, None);
        assert_eq!(all[&257].max_referenced, Some(0));
        assert_eq!(all[&257].referenced, 4096);
        assert_eq!(sysfs.qgroup("F", 256).unwrap(), Some(all[&256]));
        assert_eq!(sysfs.qgroup("F", 999).unwrap(), None);
        write_qgroup(&base, 258, &[("limit_flags", "x")]);
        assert!(matches!(sysfs.qgroup("F", 258), Err(Error::Parse { .. })));
        fs::remove_dir_all(base).unwrap();
    }
}
