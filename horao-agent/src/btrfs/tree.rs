//! Maps between directories and the paths `btrfs subvolume list -a` prints, which are relative
//! to the filesystem's top level whatever is mounted where: a directory's top-level path is
//! the path of the subvolume containing it joined with the directory's path inside that
//! subvolume.

use super::TOP_LEVEL_ID;
use super::parse::SubvolumeRow;
use crate::classify::io_error;
use crate::error::{Error, Result};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The inode number of every subvolume's root directory (`BTRFS_FIRST_FREE_OBJECTID`).
pub(super) const SUBVOLUME_ROOT_INODE: u64 = 256;

/// Whether `path` is the root directory of a subvolume.
pub(super) fn is_subvolume_root(path: &Path) -> Result<bool> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| io_error("stat", path, &e))?;
    Ok(meta.is_dir() && meta.ino() == SUBVOLUME_ROOT_INODE)
}

/// The top-level path of `dir`, which lies in subvolume `containing` (`btrfs inspect-internal
/// rootid`): that subvolume's path from `rows` (empty for the top level) joined with the path
/// from the subvolume's root directory down to `dir`, found by walking up to the first
/// ancestor on the same device whose inode is the subvolume root's.
pub(super) fn top_path(dir: &Path, containing: u64, rows: &[SubvolumeRow]) -> Result<String> {
    let dir = std::fs::canonicalize(dir).map_err(|e| io_error("canonicalize", dir, &e))?;
    let meta = std::fs::metadata(&dir).map_err(|e| io_error("stat", &dir, &e))?;
    let mut inside = None;
    for ancestor in dir.ancestors() {
        let m = std::fs::metadata(ancestor).map_err(|e| io_error("stat", ancestor, &e))?;
        if m.dev() != meta.dev() {
            break;
        }
        if m.ino() == SUBVOLUME_ROOT_INODE {
            inside = dir.strip_prefix(ancestor).ok();
            break;
        }
    }
    let inside = inside.ok_or_else(|| {
        Error::parse(
            dir.display().to_string(),
            "no subvolume root directory above it",
        )
    })?;
    let base = if containing == TOP_LEVEL_ID {
        String::new()
    } else {
        rows.iter()
            .find(|r| r.id == containing)
            .map(|r| r.path.clone())
            .ok_or_else(|| {
                Error::parse(
                    "subvolume list",
                    format!("subvolume {containing} is not listed"),
                )
            })?
    };
    let inside = inside
        .to_str()
        .ok_or_else(|| Error::parse(dir.display().to_string(), "path is not UTF-8"))?;
    Ok(join(&base, inside))
}

/// `a/b` with empty parts left out.
pub(super) fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    }
}

/// The rows strictly below the top-level path `prefix`, each with its path relative to it.
pub(super) fn below<'a>(
    rows: &'a [SubvolumeRow],
    prefix: &'a str,
) -> impl Iterator<Item = (&'a SubvolumeRow, &'a str)> + 'a {
    rows.iter().filter_map(move |row| {
        let rel = if prefix.is_empty() {
            Some(row.path.as_str())
        } else {
            row.path
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('/'))
        };
        rel.filter(|r| !r.is_empty()).map(|r| (row, r))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u64, parent_id: u64, path: &str) -> SubvolumeRow {
        SubvolumeRow {
            id,
            parent_id,
            path: path.to_string(),
        }
    }

    #[test]
    fn rows_below_a_prefix() {
        let rows = [
            row(256, 5, "a"),
            row(257, 5, "top"),
            row(258, 257, "top/v1"),
            row(259, 258, "top/v1/n"),
            row(260, 5, "topx/v"),
        ];
        let got: Vec<_> = below(&rows, "top").map(|(r, rel)| (r.id, rel)).collect();
        assert_eq!(got, [(258, "v1"), (259, "v1/n")]);
        assert_eq!(below(&rows, "").count(), 5);
        assert_eq!(join("", "x"), "x");
        assert_eq!(join("a", ""), "a");
        assert_eq!(join("a", "b/c"), "a/b/c");
    }
}
