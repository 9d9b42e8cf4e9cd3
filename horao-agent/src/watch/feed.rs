//! What the agent knows from the watch feed: the views of the volumes on its machine and of
//! the images it sees (a copy on its machine, or taken from one of its volumes) at a cursor,
//! and the volumes the feed deleted explicitly that are not yet gone from disk. Pure: frames
//! in, state out; persisted with the desired state so a restart resumes from the cursor.
//!
//! - A snapshot (after no cursor, or after `resync_required`) replaces the views, volumes
//!   and images, as a whole once its `snapshot_end` arrives; a volume absent from it is
//!   simply no longer listed — the polling rule: it becomes an orphan on disk, reported,
//!   never deleted because of it.
//! - An image record puts or removes one image view; images have no explicit deletes of
//!   their own: an image is a listing like the REST one, and the mapping decides what an
//!   image missing from it means.
//! - A state persisted by an agent that did not follow images has no images
//!   ([`FeedState::images`] is `None`): resuming after its cursor would miss every image
//!   made before it, so the tracker asks for a fresh snapshot instead.
//! - A `delete` record of a volume the view holds is the server's explicit delete: the id is
//!   kept in [`FeedState::deleted`] (a resync does not forget it) until the agent has
//!   removed the subvolume. A `leave` record (the volume was re-placed on another machine)
//!   only drops it from the view, as a volume absent from a snapshot: never a delete.
//!   An image's `leave` and `delete` both drop it from the view (the mapping decides).
//! - Changes and progress frames move the cursor; a snapshot's frames are held aside until
//!   its end, so the state is always whole at its cursor.

use super::frame::{Frame, Record};
use horao_model::api::storage::{ImageView, VolumeView};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The feed's state at a cursor: what is persisted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    /// The cursor the views are at (resume after it).
    pub cursor: u64,
    /// The views of the volumes on this machine, by id.
    #[serde(default)]
    pub volumes: BTreeMap<String, VolumeView>,
    /// Volumes the feed deleted explicitly that the agent has not yet removed.
    #[serde(default)]
    pub deleted: BTreeSet<String>,
    /// The views of the images the feed shows this machine, by id; `None` in a state
    /// persisted before the agent followed images (it needs a fresh snapshot).
    #[serde(default)]
    pub images: Option<BTreeMap<String, ImageView>>,
    /// The feed the cursor belongs to (see [`Frame::SnapshotEnd`]), sent back on resuming.
    #[serde(default)]
    pub feed: Option<String>,
}

/// What a frame did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The views changed (or a snapshot completed): `n` volume and image records applied.
    Changed(usize),
    /// Only the cursor moved, or a snapshot is under way.
    Moved,
    /// The server asked for a resync: a snapshot follows.
    Resync,
}

/// A frame that cannot follow what came before.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SequenceError {
    /// Changes or progress before any snapshot (and without a cursor to resume from), or a
    /// snapshot's frames interleaved with changes.
    #[error("watch frame out of sequence: {0}")]
    OutOfSequence(String),
}

#[derive(Debug)]
struct Pending {
    cursor: u64,
    volumes: BTreeMap<String, VolumeView>,
    images: BTreeMap<String, ImageView>,
}

/// The state and the snapshot being received.
#[derive(Debug, Default)]
pub struct Tracker {
    state: Option<FeedState>,
    pending: Option<Pending>,
    need_snapshot: bool,
}

fn out_of_sequence(what: &str) -> SequenceError {
    SequenceError::OutOfSequence(what.to_owned())
}

impl Tracker {
    /// A tracker starting from a persisted state (`None`, or a state without images: a
    /// snapshot is needed; the state's volumes and deletes are kept until it arrives).
    pub fn new(saved: Option<FeedState>) -> Self {
        let need_snapshot = saved.as_ref().is_some_and(|s| s.images.is_none());
        Self {
            state: saved,
            pending: None,
            need_snapshot,
        }
    }

    /// The cursor to resume after; `None` when the feed must start with a snapshot.
    pub fn since(&self) -> Option<u64> {
        match (&self.state, self.need_snapshot) {
            (Some(s), false) => Some(s.cursor),
            _ => None,
        }
    }

    /// The feed of the cursor [`Tracker::since`] gives, when the server named it.
    pub fn feed(&self) -> Option<&str> {
        self.since()
            .and(self.state.as_ref())
            .and_then(|s| s.feed.as_deref())
    }

    /// The state, when it is whole (no snapshot under way).
    pub fn state(&self) -> Option<&FeedState> {
        self.state.as_ref().filter(|_| self.pending.is_none())
    }

    /// Forgets a snapshot under way (the connection ended) and, with `resnapshot`, asks the
    /// next connection for a fresh snapshot (after a frame that made no sense).
    pub fn disconnected(&mut self, resnapshot: bool) {
        self.pending = None;
        self.need_snapshot |= resnapshot;
    }

    /// Forgets explicit deletes that are done: `gone` were removed from disk (or were
    /// never there). True when something was forgotten.
    pub fn forget_deleted<'a>(&mut self, gone: impl IntoIterator<Item = &'a str>) -> bool {
        let Some(s) = &mut self.state else {
            return false;
        };
        let before = s.deleted.len();
        for id in gone {
            s.deleted.remove(id);
        }
        s.deleted.len() != before
    }

    /// Applies one frame.
    pub fn apply(&mut self, frame: Frame) -> Result<Applied, SequenceError> {
        match frame {
            Frame::Resync { .. } => {
                self.pending = None;
                Ok(Applied::Resync)
            }
            Frame::Snapshot { cursor, records } => {
                let pending = self.pending.get_or_insert_with(|| Pending {
                    cursor,
                    volumes: BTreeMap::new(),
                    images: BTreeMap::new(),
                });
                if pending.cursor != cursor {
                    return Err(out_of_sequence(
                        "a snapshot's frames disagree on its cursor",
                    ));
                }
                for r in records {
                    match r {
                        Record::Volume { id, view: Some(v) } => {
                            pending.volumes.insert(id, *v);
                        }
                        Record::Image { id, view: Some(v) } => {
                            pending.images.insert(id, *v);
                        }
                        _ => {}
                    }
                }
                Ok(Applied::Moved)
            }
            Frame::SnapshotEnd { cursor, feed } => {
                let (volumes, images) = match self.pending.take() {
                    Some(p) if p.cursor == cursor => (p.volumes, p.images),
                    Some(_) => return Err(out_of_sequence("a snapshot ends at another cursor")),
                    // A snapshot of nothing has no frames before its end.
                    None => (BTreeMap::new(), BTreeMap::new()),
                };
                let n = volumes.len() + images.len();
                let mut deleted = self.state.take().map(|s| s.deleted).unwrap_or_default();
                deleted.retain(|id| !volumes.contains_key(id));
                self.state = Some(FeedState {
                    cursor,
                    volumes,
                    deleted,
                    images: Some(images),
                    feed,
                });
                self.need_snapshot = false;
                Ok(Applied::Changed(n))
            }
            Frame::Changes { cursor, records } => {
                let Some(s) = self.state.as_mut().filter(|_| self.pending.is_none()) else {
                    return Err(out_of_sequence("changes before a snapshot"));
                };
                let mut n = 0;
                for r in records {
                    match r {
                        Record::Volume { id, view: Some(v) } => {
                            s.deleted.remove(&id);
                            s.volumes.insert(id, *v);
                        }
                        Record::Volume { id, view: None } => {
                            if s.volumes.remove(&id).is_some() {
                                s.deleted.insert(id);
                            }
                        }
                        Record::VolumeLeft { id } => {
                            s.volumes.remove(&id);
                        }
                        Record::Image { id, view: Some(v) } => {
                            // A state without images waits for its snapshot: a part of
                            // them would pass for the whole.
                            if let Some(images) = &mut s.images {
                                images.insert(id, *v);
                            }
                        }
                        Record::Image { id, view: None } => {
                            if let Some(images) = &mut s.images {
                                images.remove(&id);
                            }
                        }
                        Record::Other => continue,
                    }
                    n += 1;
                }
                s.cursor = s.cursor.max(cursor);
                Ok(if n > 0 {
                    Applied::Changed(n)
                } else {
                    Applied::Moved
                })
            }
            Frame::Progress(cursor) => {
                let Some(s) = self.state.as_mut().filter(|_| self.pending.is_none()) else {
                    return Err(out_of_sequence("progress before a snapshot"));
                };
                s.cursor = s.cursor.max(cursor);
                Ok(Applied::Moved)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::server::fake::{image_view, volume_view};

    fn put(id: &str, name: &str) -> Record {
        Record::Volume {
            id: id.into(),
            view: Some(Box::new(volume_view(id, name, "m1", 10).unwrap())),
        }
    }

    fn del(id: &str) -> Record {
        Record::Volume {
            id: id.into(),
            view: None,
        }
    }

    fn put_image(id: &str, from: &str) -> Record {
        Record::Image {
            id: id.into(),
            view: Some(Box::new(image_view(id, id, Some(from)).unwrap())),
        }
    }

    fn del_image(id: &str) -> Record {
        Record::Image {
            id: id.into(),
            view: None,
        }
    }

    fn image_ids(t: &Tracker) -> Vec<&str> {
        t.state()
            .unwrap()
            .images
            .as_ref()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect()
    }

    fn ids(t: &Tracker) -> Vec<&str> {
        t.state()
            .unwrap()
            .volumes
            .keys()
            .map(String::as_str)
            .collect()
    }

    fn deleted_ids(t: &Tracker) -> Vec<&str> {
        t.state()
            .unwrap()
            .deleted
            .iter()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn snapshots_then_changes_then_resync() {
        let mut t = Tracker::new(None);
        assert_eq!(t.since(), None);
        assert!(
            t.apply(Frame::Progress(1)).is_err(),
            "nothing to progress from"
        );
        let snap = |cursor, records| Frame::Snapshot { cursor, records };
        assert_eq!(t.apply(snap(5, vec![put("a", "a")])), Ok(Applied::Moved));
        assert!(t.state().is_none(), "a snapshot under way is not a state");
        t.apply(snap(5, vec![put("b", "b"), Record::Other]))
            .unwrap();
        assert!(t.apply(snap(6, vec![])).is_err());
        assert_eq!(
            t.apply(Frame::SnapshotEnd {
                cursor: 5,
                feed: None
            }),
            Ok(Applied::Changed(2))
        );
        assert_eq!((ids(&t), t.since()), (vec!["a", "b"], Some(5)));

        let changes = Frame::Changes {
            cursor: 8,
            records: vec![put("c", "c"), del("a"), del("never-seen"), Record::Other],
        };
        assert_eq!(t.apply(changes), Ok(Applied::Changed(3)));
        assert_eq!(ids(&t), ["b", "c"]);
        let deleted = deleted_ids(&t);
        assert_eq!(deleted, ["a"], "only a volume the view held is deleted");
        // `c` was placed on another machine: it leaves the view, and is not deleted.
        let left = Frame::Changes {
            cursor: 9,
            records: vec![Record::VolumeLeft { id: "c".into() }],
        };
        assert_eq!(t.apply(left), Ok(Applied::Changed(1)));
        assert_eq!(ids(&t), ["b"]);
        assert_eq!(deleted_ids(&t), ["a"], "a volume that left is not deleted");
        let back = Frame::Changes {
            cursor: 10,
            records: vec![put("c", "c")],
        };
        t.apply(back).unwrap();
        assert_eq!(ids(&t), ["b", "c"]);
        assert_eq!(t.apply(Frame::Progress(11)), Ok(Applied::Moved));
        assert_eq!(t.since(), Some(11));
        let others = Frame::Changes {
            cursor: 12,
            records: vec![Record::Other],
        };
        assert_eq!(t.apply(others), Ok(Applied::Moved));
        assert_eq!(t.since(), Some(12));

        // A resync: the snapshot replaces the views; `c`, absent from it, is no longer
        // listed but not deleted; the explicit delete of `a` is kept.
        let resync = Frame::Resync {
            since: 12,
            reason: "old".into(),
        };
        assert_eq!(t.apply(resync), Ok(Applied::Resync));
        t.apply(snap(40, vec![put("b", "b"), put("d", "d")]))
            .unwrap();
        assert!(
            t.apply(Frame::Changes {
                cursor: 41,
                records: vec![]
            })
            .is_err(),
            "changes inside a snapshot"
        );
        t.apply(Frame::SnapshotEnd {
            cursor: 40,
            feed: None,
        })
        .unwrap();
        let s = t.state().unwrap();
        assert_eq!(ids(&t), ["b", "d"]);
        assert!(s.deleted.contains("a") && !s.deleted.contains("c"));
        assert!(t.forget_deleted(["a"]));
        assert!(!t.forget_deleted(["a"]));
        assert!(t.state().unwrap().deleted.is_empty());
    }

    #[test]
    fn a_put_undoes_a_delete_and_resumes_and_resnapshots_work() {
        let saved = FeedState {
            cursor: 3,
            volumes: BTreeMap::from([("a".into(), volume_view("a", "a", "m1", 1).unwrap())]),
            deleted: BTreeSet::new(),
            images: Some(BTreeMap::new()),
            feed: Some("f1".into()),
        };
        let mut t = Tracker::new(Some(saved));
        assert_eq!(t.since(), Some(3));
        assert_eq!(t.feed(), Some("f1"), "a cursor is resumed with its feed");
        t.apply(Frame::Changes {
            cursor: 4,
            records: vec![del("a")],
        })
        .unwrap();
        assert!(t.state().unwrap().deleted.contains("a"));
        t.apply(Frame::Changes {
            cursor: 5,
            records: vec![put("a", "a")],
        })
        .unwrap();
        assert!(t.state().unwrap().deleted.is_empty());
        assert_eq!(ids(&t), ["a"]);
        // A snapshot cut by a disconnection is forgotten; a bad frame asks for a new one.
        t.apply(Frame::Snapshot {
            cursor: 9,
            records: vec![],
        })
        .unwrap();
        t.disconnected(false);
        assert_eq!((t.since(), ids(&t)), (Some(5), vec!["a"]));
        t.disconnected(true);
        assert_eq!(t.since(), None);
        // An empty snapshot has only its end.
        assert_eq!(
            t.apply(Frame::SnapshotEnd {
                cursor: 20,
                feed: None
            }),
            Ok(Applied::Changed(0))
        );
        assert_eq!((t.since(), ids(&t).len()), (Some(20), 0));
    }

    #[test]
    fn images_are_kept_beside_the_volumes() {
        let mut t = Tracker::new(None);
        let snap = |cursor, records| Frame::Snapshot { cursor, records };
        t.apply(snap(5, vec![put("a", "a"), put_image("i1", "a")]))
            .unwrap();
        t.apply(snap(5, vec![put_image("i2", "a"), Record::Other]))
            .unwrap();
        assert_eq!(
            t.apply(Frame::SnapshotEnd {
                cursor: 5,
                feed: None
            }),
            Ok(Applied::Changed(3))
        );
        assert_eq!((ids(&t), image_ids(&t)), (vec!["a"], vec!["i1", "i2"]));

        // A change puts or removes one image; an image delete is no volume delete.
        let changes = Frame::Changes {
            cursor: 6,
            records: vec![put_image("i3", "a"), del_image("i1"), del_image("never")],
        };
        assert_eq!(t.apply(changes), Ok(Applied::Changed(3)));
        assert_eq!(image_ids(&t), ["i2", "i3"]);
        assert!(t.state().unwrap().deleted.is_empty());
        let again = Frame::Changes {
            cursor: 7,
            records: vec![put_image("i2", "b"), del("a")],
        };
        assert_eq!(t.apply(again), Ok(Applied::Changed(2)));
        let s = t.state().unwrap();
        let i2 = &s.images.as_ref().unwrap()["i2"];
        assert_eq!(i2.from_volume.as_ref().map(|v| v.as_str()), Some("b"));
        assert!(s.deleted.contains("a") && s.volumes.is_empty());

        // A resync's snapshot replaces the images whole; the volume delete is kept, as it
        // is without images.
        t.apply(Frame::Resync {
            since: 7,
            reason: "old".into(),
        })
        .unwrap();
        t.apply(snap(20, vec![put("b", "b"), put_image("i4", "b")]))
            .unwrap();
        assert!(t.state().is_none(), "the snapshot is not whole yet");
        t.apply(Frame::SnapshotEnd {
            cursor: 20,
            feed: None,
        })
        .unwrap();
        assert_eq!((ids(&t), image_ids(&t)), (vec!["b"], vec!["i4"]));
        let deleted = deleted_ids(&t);
        assert_eq!(deleted, ["a"]);
        // An empty snapshot empties them.
        t.apply(Frame::SnapshotEnd {
            cursor: 30,
            feed: None,
        })
        .unwrap();
        assert!(image_ids(&t).is_empty());
    }

    #[test]
    fn a_state_persisted_without_images_asks_for_a_snapshot() {
        // The shape an agent that did not follow images persisted.
        let v = serde_json::to_string(&volume_view("a", "a", "m1", 1).unwrap()).unwrap();
        let old = format!(r#"{{"cursor":42,"volumes":{{"a":{v}}},"deleted":["gone"]}}"#);
        let saved: FeedState = serde_json::from_str(&old).unwrap();
        assert_eq!(saved.images, None);
        let mut t = Tracker::new(Some(saved));
        assert_eq!(t.since(), None, "resuming after 42 would miss every image");
        // Until the snapshot comes, the volumes and deletes it knew are kept.
        assert_eq!(ids(&t), ["a"]);
        // Image records cannot make a part of the images pass for the whole.
        t.apply(Frame::Changes {
            cursor: 43,
            records: vec![put_image("i0", "a")],
        })
        .unwrap();
        assert_eq!(t.state().unwrap().images, None);
        assert_eq!(t.since(), None);
        t.apply(Frame::Snapshot {
            cursor: 50,
            records: vec![put("a", "a"), put_image("i1", "a")],
        })
        .unwrap();
        t.apply(Frame::SnapshotEnd {
            cursor: 50,
            feed: None,
        })
        .unwrap();
        assert_eq!((t.since(), image_ids(&t)), (Some(50), vec!["i1"]));
        assert!(t.state().unwrap().deleted.contains("gone"));
        // Persisted again, it has its images and resumes from its cursor.
        let json = serde_json::to_string(t.state().unwrap()).unwrap();
        let again = Tracker::new(Some(serde_json::from_str(&json).unwrap()));
        assert_eq!((again.since(), image_ids(&again)), (Some(50), vec!["i1"]));
    }
}
