//! Validated volume and image names: one path component that cannot escape the agent's root.

use crate::error::{Error, Result};
use std::fmt;
use std::path::{Path, PathBuf};

/// Longest accepted name, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// The directory under the root that holds images. Volume names never start with a dot, so
/// no volume can be named like it.
pub const IMAGES_DIR: &str = ".images";

/// A volume or image name: 1 to [`MAX_NAME_LEN`] characters from `[A-Za-z0-9._-]`, not
/// starting with `.` (so never `.` or `..`, and never the images directory). It contains no
/// `/` and no NUL, so `root.join(name)` is always a direct child of `root`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    /// Checks `name`.
    pub fn new(name: &str) -> Result<Self> {
        let invalid = |reason| Error::InvalidName {
            name: name.chars().take(MAX_NAME_LEN + 8).collect(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("empty"));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(invalid("longer than 128 bytes"));
        }
        if name.starts_with('.') {
            return Err(invalid("starts with a dot"));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(invalid("only A-Z, a-z, 0-9, '.', '_' and '-' are allowed"));
        }
        Ok(Self(name.to_string()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The volume's subvolume: `root/name`.
    pub fn volume_path(&self, root: &Path) -> PathBuf {
        root.join(&self.0)
    }

    /// The image's subvolume: `root/.images/name`.
    pub fn image_path(&self, root: &Path) -> PathBuf {
        root.join(IMAGES_DIR).join(&self.0)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, ok: bool) {
        assert_eq!(Name::new(name).is_ok(), ok, "{name:?}");
    }

    #[test]
    fn accepted() {
        for name in ["a", "vol-1", "A.b_c-9", "x..y", &"n".repeat(128)] {
            check(name, true);
        }
    }

    #[test]
    fn rejected() {
        let long = "n".repeat(129);
        for name in [
            "", ".", "..", ".images", ".hidden", "a/b", "../x", "/abs", "a\0b", "a b", "é", "a\nb",
            "*", &long,
        ] {
            check(name, false);
        }
    }

    #[test]
    fn paths_stay_under_the_root() {
        let name = Name::new("v1").unwrap();
        let root = Path::new("/srv/horao");
        assert_eq!(name.volume_path(root), Path::new("/srv/horao/v1"));
        assert_eq!(name.image_path(root), Path::new("/srv/horao/.images/v1"));
        assert_eq!(name.volume_path(root).parent(), Some(root));
    }
}
