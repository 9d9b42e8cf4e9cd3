//! Which mount a path lies on, from `/proc/self/mountinfo`: `btrfs filesystem show` accepts a
//! mount point but not a directory below one, and a mount that is not btrfs is refused here
//! without running anything.

use crate::classify::io_error;
use crate::error::{Context, Error, Result};
use std::path::{Path, PathBuf};

/// One line of mountinfo: the mount point and the filesystem type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Mount {
    pub(super) point: PathBuf,
    pub(super) fstype: String,
}

/// Undoes mountinfo's octal escapes (`\040` for a space, `\134` for a backslash).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) => {
                let v = d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses mountinfo (proc(5)): the fifth field is the mount point, the first field after the
/// `-` separator the filesystem type. Malformed lines are skipped.
pub(super) fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (head, tail) = line.split_once(" - ")?;
            let point = head.split(' ').nth(4)?;
            let fstype = tail.split(' ').next()?;
            Some(Mount {
                point: PathBuf::from(unescape(point)),
                fstype: fstype.to_string(),
            })
        })
        .collect()
}

/// The mount point of the btrfs filesystem holding `path`: the last-mounted of the longest
/// mount points above it. An error says when that mount is not btrfs.
pub(super) fn btrfs_mount_point(path: &Path) -> Result<PathBuf> {
    let path = std::fs::canonicalize(path).map_err(|e| io_error("canonicalize", path, &e))?;
    let info = Path::new("/proc/self/mountinfo");
    let text = std::fs::read_to_string(info).map_err(|e| io_error("read", info, &e))?;
    let mounts = parse_mountinfo(&text);
    let mount = mounts
        .iter()
        .filter(|m| path.starts_with(&m.point))
        .max_by_key(|m| m.point.components().count())
        .ok_or_else(|| Error::parse("mountinfo", format!("no mount holds {}", path.display())))?;
    if mount.fstype != "btrfs" {
        return Err(Error::NotBtrfs(Context {
            operation: format!("mount of {}", path.display()),
            code: None,
            detail: format!("{} is {}", mount.point.display(), mount.fstype),
        }));
    }
    Ok(mount.point.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines() {
        let text = "\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
36 22 0:45 / /tmp/a\\040b/mnt rw,relatime shared:5 - btrfs /dev/loop0 rw,space_cache=v2,subvolid=5,subvol=/
37 36 0:46 /top /tmp/a\\040b/mnt/top rw - btrfs /dev/loop0 rw
garbage
";
        let mounts = parse_mountinfo(text);
        assert_eq!(mounts.len(), 3);
        assert_eq!(mounts[1].point, Path::new("/tmp/a b/mnt"));
        assert_eq!(mounts[1].fstype, "btrfs");
        assert_eq!(mounts[0].fstype, "ext4");
        assert_eq!(unescape("a\\134b\\011"), "a\\b\t");
        assert_eq!(unescape("tail\\04"), "tail\\04");
    }

    #[test]
    fn the_root_filesystem_here_is_not_refused_wrongly() {
        // Whatever "/" is mounted as, the answer is consistent with mountinfo.
        match btrfs_mount_point(Path::new("/")) {
            Ok(p) => assert_eq!(p, Path::new("/")),
            Err(e) => assert!(matches!(e, Error::NotBtrfs(_)), "{e}"),
        }
    }
}
