//! What one pass sees below the root, taken once at its start: the subvolumes by path, the
//! level-0 qgroups, and from them the orphans and the escapes.

use crate::btrfs::{Qgroup, Subvolume};
use crate::name::{IMAGES_DIR, Name};
use crate::report::{Escape, Orphan};
use std::collections::{BTreeMap, BTreeSet};

/// The subvolumes and qgroups below the root.
#[derive(Clone, Debug, Default)]
pub(crate) struct Observed {
    /// Subvolumes by path relative to the root.
    by_path: BTreeMap<String, Subvolume>,
    /// Level-0 qgroups by subvolume id.
    pub(crate) qgroups: BTreeMap<u64, Qgroup>,
}

fn image_rel(name: &Name) -> String {
    format!("{IMAGES_DIR}/{name}")
}

impl Observed {
    pub(crate) fn new(subvolumes: Vec<Subvolume>, qgroups: BTreeMap<u64, Qgroup>) -> Self {
        Self {
            by_path: subvolumes
                .into_iter()
                .map(|s| (s.path.clone(), s))
                .collect(),
            qgroups,
        }
    }

    /// The volume's subvolume, if it exists.
    pub(crate) fn volume(&self, name: &Name) -> Option<&Subvolume> {
        self.by_path.get(name.as_str())
    }

    /// The image's subvolume, if it exists.
    pub(crate) fn image(&self, name: &Name) -> Option<&Subvolume> {
        self.by_path.get(&image_rel(name))
    }

    /// Subvolumes no desired volume or image claims and that are not nested in one of the
    /// root's subvolumes: unclaimed ones directly under the root or the images directory,
    /// and ones below plain directories. The images directory itself is not an orphan.
    pub(crate) fn orphans(&self, volumes: &BTreeSet<&str>, images: &BTreeSet<&str>) -> Vec<Orphan> {
        self.by_path
            .values()
            .filter(|s| match holder(&s.path) {
                Some(h) => !self.by_path.contains_key(h),
                None => match s.path.split_once('/') {
                    Some((_, image)) => !images.contains(image),
                    None => s.path != IMAGES_DIR && !volumes.contains(s.path.as_str()),
                },
            })
            .map(|s| Orphan {
                path: s.path.clone(),
                subvolume_id: s.id,
            })
            .collect()
    }

    /// Subvolumes nested inside a subvolume directly under the root or the images directory,
    /// each naming the volume or image that holds it.
    pub(crate) fn escapes(&self) -> Vec<Escape> {
        self.by_path
            .values()
            .filter_map(|s| {
                let inside = holder(&s.path).filter(|h| self.by_path.contains_key(*h))?;
                Some(Escape {
                    inside: inside.to_string(),
                    path: s.path.clone(),
                    subvolume_id: s.id,
                })
            })
            .collect()
    }
}

/// The volume or image path a nested path lies in (`a` for `a/b/c`, `.images/x` for
/// `.images/x/y`); `None` for a volume or image path itself (`a`, `.images/x`).
fn holder(path: &str) -> Option<&str> {
    let skip =
        usize::from(path.starts_with(IMAGES_DIR) && path[IMAGES_DIR.len()..].starts_with('/'));
    let mut cut = 0;
    for (n, (i, _)) in path.match_indices('/').enumerate() {
        if n == skip {
            cut = i;
            break;
        }
    }
    (cut > 0).then(|| &path[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(id: u64, path: &str) -> Subvolume {
        Subvolume {
            id,
            parent_id: 5,
            path: path.into(),
            read_only: false,
        }
    }

    #[test]
    fn orphans_and_escapes() {
        let obs = Observed::new(
            vec![
                sub(256, "a"),
                sub(257, "stray"),
                sub(258, "a/inner"),
                sub(259, "a/inner/deeper"),
                sub(260, ".images"),
                sub(261, ".images/base"),
                sub(262, ".images/old"),
                sub(263, ".images/base/x"),
                sub(264, "dir/not-a-volume"),
            ],
            BTreeMap::new(),
        );
        let orphans: Vec<_> = obs
            .orphans(&["a"].into(), &["base"].into())
            .into_iter()
            .map(|o| o.path)
            .collect();
        assert_eq!(orphans, [".images/old", "dir/not-a-volume", "stray"]);
        assert_eq!(holder("a"), None);
        assert_eq!(holder("a/b/c"), Some("a"));
        assert_eq!(holder(".images"), None);
        assert_eq!(holder(".images/x"), None);
        assert_eq!(holder(".images/x/y/z"), Some(".images/x"));
        assert_eq!(holder(".imagesx/y"), Some(".imagesx"));
        let escapes: Vec<_> = obs
            .escapes()
            .into_iter()
            .map(|e| (e.inside, e.path))
            .collect();
        assert_eq!(
            escapes,
            [
                (".images/base".to_string(), ".images/base/x".to_string()),
                ("a".to_string(), "a/inner".to_string()),
                ("a".to_string(), "a/inner/deeper".to_string()),
            ]
        );
        let a = Name::new("a").unwrap();
        assert_eq!(obs.volume(&a).map(|s| s.id), Some(256));
        assert_eq!(
            obs.image(&Name::new("base").unwrap()).map(|s| s.id),
            Some(261)
        );
    }
}
