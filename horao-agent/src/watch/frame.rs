//! The watch feed's frames (JSON text), parsed into typed values: pure, no I/O. The shapes
//! are horao-server's (`horao-server/src/watch/socket.rs`):
//!
//! - `{"cursor": C, "records": [{"cursor", "kind", "id", "op": "put"|"delete"|"leave",
//!   "object"}]}` (`delete`: gone from the model; `leave`: it still exists but is no longer
//!   the watcher's — a volume re-placed on another machine);
//! - `{"progress": C}`;
//! - `{"resync_required": {"since": X, "reason": "…"}}`;
//! - `{"snapshot": {"cursor": C, "records": [...]}}`, then
//!   `{"snapshot_end": {"cursor": C, "feed": F}}` (`F`: the cursor space, sent back with the
//!   cursor on resuming, so a cursor of another server's feed is answered with a resync).
//!
//! Volume and image records matter to the agent (the server puts on an agent's feed the
//! volumes on its machine, the images with a copy there and the images taken from its
//! volumes); records of other kinds are kept as [`Record::Other`] and ignored.

use horao_model::api::storage::{ImageView, VolumeView};
use serde::Deserialize;

/// One record of a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A volume's view after the change (`None`: it was deleted).
    Volume {
        /// Its id.
        id: String,
        /// Its API view, or `None` for a delete.
        view: Option<Box<VolumeView>>,
    },
    /// An image's view after the change (`None`: it left the watcher's view — deleted, or
    /// no longer with a copy on this machine or a source volume here).
    Image {
        /// Its id.
        id: String,
        /// Its API view, or `None` for a delete.
        view: Option<Box<ImageView>>,
    },
    /// A volume that still exists but is no longer on this machine (re-placed elsewhere):
    /// not a delete — its subvolume, if any, becomes an orphan, reported and kept.
    VolumeLeft {
        /// Its id.
        id: String,
    },
    /// A record of another kind (machine, …).
    Other,
}

/// One frame of the feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Every change at `cursor` the watcher sees.
    Changes {
        /// The change's cursor.
        cursor: u64,
        /// Its records.
        records: Vec<Record>,
    },
    /// Nothing the watcher sees changed up to this cursor.
    Progress(u64),
    /// The changes after `since` cannot be delivered one by one: a snapshot follows.
    Resync {
        /// The watcher's cursor.
        since: u64,
        /// Why.
        reason: String,
    },
    /// Part of a snapshot at `cursor`.
    Snapshot {
        /// The snapshot's cursor.
        cursor: u64,
        /// Its records (all puts).
        records: Vec<Record>,
    },
    /// The snapshot at `cursor` is complete.
    SnapshotEnd {
        /// Its cursor.
        cursor: u64,
        /// The feed its cursors belong to (absent from servers before feeds were named).
        feed: Option<String>,
    },
}

/// A frame that is not what the server sends.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Not JSON, or not of any frame's shape.
    #[error("a watch frame that does not parse: {0}")]
    Shape(String),
    /// A record whose object is not the view of its kind, or whose op is unknown.
    #[error("watch record {id}: {detail}")]
    Record {
        /// The record's id.
        id: String,
        /// What is wrong.
        detail: String,
    },
}

#[derive(Deserialize)]
struct WireRecord {
    kind: String,
    id: String,
    op: String,
    #[serde(default)]
    object: serde_json::Value,
}

#[derive(Deserialize)]
struct WireBatch {
    cursor: u64,
    #[serde(default)]
    records: Vec<WireRecord>,
}

#[derive(Deserialize)]
struct WireResync {
    since: u64,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
struct WireEnd {
    cursor: u64,
    #[serde(default)]
    feed: Option<String>,
}

/// Every frame's keys; exactly one shape is present in a frame.
#[derive(Deserialize)]
struct Wire {
    cursor: Option<u64>,
    records: Option<Vec<WireRecord>>,
    progress: Option<u64>,
    resync_required: Option<WireResync>,
    snapshot: Option<WireBatch>,
    snapshot_end: Option<WireEnd>,
}

fn record(r: WireRecord) -> Result<Record, FrameError> {
    let err = |detail: String| FrameError::Record {
        id: r.id.clone(),
        detail,
    };
    let (put, left) = match r.op.as_str() {
        "put" => (true, false),
        "delete" => (false, false),
        "leave" => (false, true),
        other => return Err(err(format!("unknown op {other:?}"))),
    };
    match r.kind.as_str() {
        "volume" if left => Ok(Record::VolumeLeft { id: r.id }),
        "volume" => {
            let view = if put {
                let v: VolumeView = serde_json::from_value(r.object.clone())
                    .map_err(|e| err(format!("not a volume view: {e}")))?;
                if v.id.as_str() != r.id {
                    return Err(err(format!("the view's id is {}", v.id.as_str())));
                }
                Some(Box::new(v))
            } else {
                None
            };
            Ok(Record::Volume { id: r.id, view })
        }
        "image" => {
            let view = if put {
                let v: ImageView = serde_json::from_value(r.object.clone())
                    .map_err(|e| err(format!("not an image view: {e}")))?;
                if v.id.as_str() != r.id {
                    return Err(err(format!("the view's id is {}", v.id.as_str())));
                }
                Some(Box::new(v))
            } else {
                None
            };
            Ok(Record::Image { id: r.id, view })
        }
        _ => Ok(Record::Other),
    }
}

fn records(rs: Vec<WireRecord>) -> Result<Vec<Record>, FrameError> {
    rs.into_iter().map(record).collect()
}

/// Parses one text frame.
pub fn parse(text: &str) -> Result<Frame, FrameError> {
    let w: Wire = serde_json::from_str(text).map_err(|e| FrameError::Shape(e.to_string()))?;
    match w {
        Wire {
            cursor: Some(cursor),
            records: Some(rs),
            progress: None,
            resync_required: None,
            snapshot: None,
            snapshot_end: None,
        } => Ok(Frame::Changes {
            cursor,
            records: records(rs)?,
        }),
        Wire {
            progress: Some(c),
            cursor: None,
            records: None,
            resync_required: None,
            snapshot: None,
            snapshot_end: None,
        } => Ok(Frame::Progress(c)),
        Wire {
            resync_required: Some(r),
            cursor: None,
            records: None,
            progress: None,
            snapshot: None,
            snapshot_end: None,
        } => Ok(Frame::Resync {
            since: r.since,
            reason: r.reason,
        }),
        Wire {
            snapshot: Some(s),
            cursor: None,
            records: None,
            progress: None,
            resync_required: None,
            snapshot_end: None,
        } => Ok(Frame::Snapshot {
            cursor: s.cursor,
            records: records(s.records)?,
        }),
        Wire {
            snapshot_end: Some(e),
            cursor: None,
            records: None,
            progress: None,
            resync_required: None,
            snapshot: None,
        } => Ok(Frame::SnapshotEnd {
            cursor: e.cursor,
            feed: e.feed,
        }),
        _ => Err(FrameError::Shape(format!(
            "not one of the feed's frames: {}",
            text.chars().take(200).collect::<String>()
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::server::fake::{image_view, volume_view};

    fn volume_json(id: &str, name: &str) -> String {
        serde_json::to_string(&volume_view(id, name, "m1", 100).unwrap()).unwrap()
    }

    #[test]
    fn every_frame_of_the_server_parses() {
        let v = volume_json("volume-1", "data");
        let changes = format!(
            r#"{{"cursor":7,"records":[{{"cursor":7,"kind":"volume","id":"volume-1","op":"put","object":{v}}},{{"cursor":7,"kind":"volume","id":"volume-2","op":"delete","object":null}},{{"cursor":7,"kind":"machine","id":"m1","op":"put","object":{{"id":"m1"}}}},{{"cursor":7,"kind":"volume","id":"volume-3","op":"leave","object":null}},{{"cursor":7,"kind":"image","id":"image-1","op":"leave","object":null}}]}}"#
        );
        match parse(&changes).unwrap() {
            Frame::Changes { cursor, records } => {
                assert_eq!(cursor, 7);
                match &records[0] {
                    Record::Volume {
                        id,
                        view: Some(view),
                    } => {
                        assert_eq!((id.as_str(), view.name.as_str()), ("volume-1", "data"));
                    }
                    other => panic!("{other:?}"),
                }
                assert_eq!(
                    records[1],
                    Record::Volume {
                        id: "volume-2".into(),
                        view: None
                    }
                );
                assert_eq!(records[2], Record::Other);
                assert_eq!(
                    records[3],
                    Record::VolumeLeft {
                        id: "volume-3".into()
                    }
                );
                // An image that left the view is dropped from it like a deleted one.
                assert_eq!(
                    records[4],
                    Record::Image {
                        id: "image-1".into(),
                        view: None
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(parse(r#"{"progress":12}"#).unwrap(), Frame::Progress(12));
        assert_eq!(
            parse(r#"{"resync_required":{"since":3,"reason":"gone"}}"#).unwrap(),
            Frame::Resync {
                since: 3,
                reason: "gone".into()
            }
        );
        let snap = format!(
            r#"{{"snapshot":{{"cursor":9,"records":[{{"cursor":9,"kind":"volume","id":"volume-1","op":"put","object":{v}}}]}}}}"#
        );
        match parse(&snap).unwrap() {
            Frame::Snapshot { cursor: 9, records } => assert_eq!(records.len(), 1),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse(r#"{"snapshot_end":{"cursor":9}}"#).unwrap(),
            Frame::SnapshotEnd {
                cursor: 9,
                feed: None
            }
        );
        assert_eq!(
            parse(r#"{"snapshot_end":{"cursor":9,"feed":"0a1b"}}"#).unwrap(),
            Frame::SnapshotEnd {
                cursor: 9,
                feed: Some("0a1b".into())
            }
        );
    }

    #[test]
    fn malformed_frames_are_typed_errors() {
        for bad in [
            "not json",
            "{}",
            r#"{"progress":1,"cursor":2,"records":[]}"#,
            r#"{"progress":-1}"#,
            r#"{"snapshot_end":{}}"#,
        ] {
            assert!(
                matches!(parse(bad), Err(FrameError::Shape(_))),
                "{bad}: {:?}",
                parse(bad)
            );
        }
        let wrong_op = r#"{"cursor":1,"records":[{"cursor":1,"kind":"volume","id":"v","op":"patch","object":null}]}"#;
        assert!(matches!(parse(wrong_op), Err(FrameError::Record { .. })));
        let not_a_view = r#"{"cursor":1,"records":[{"cursor":1,"kind":"volume","id":"v","op":"put","object":{"id":"v"}}]}"#;
        let err = parse(not_a_view).unwrap_err();
        assert!(err.to_string().contains("not a volume view"), "{err}");
        let v = volume_json("volume-1", "data");
        let other_id = format!(
            r#"{{"cursor":1,"records":[{{"cursor":1,"kind":"volume","id":"volume-9","op":"put","object":{v}}}]}}"#
        );
        assert!(
            parse(&other_id)
                .unwrap_err()
                .to_string()
                .contains("volume-1")
        );
    }

    #[test]
    fn image_records_parse_as_images() {
        let i = serde_json::to_string(&image_view("image-1", "golden", Some("volume-1")).unwrap())
            .unwrap();
        let changes = format!(
            r#"{{"cursor":3,"records":[{{"cursor":3,"kind":"image","id":"image-1","op":"put","object":{i}}},{{"cursor":3,"kind":"image","id":"image-2","op":"delete","object":null}}]}}"#
        );
        match parse(&changes).unwrap() {
            Frame::Changes { cursor: 3, records } => {
                match &records[0] {
                    Record::Image {
                        id,
                        view: Some(view),
                    } => {
                        assert_eq!((id.as_str(), view.name.as_str()), ("image-1", "golden"));
                        assert_eq!(
                            view.from_volume.as_ref().map(|v| v.as_str()),
                            Some("volume-1")
                        );
                    }
                    other => panic!("{other:?}"),
                }
                assert_eq!(
                    records[1],
                    Record::Image {
                        id: "image-2".into(),
                        view: None
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        let snap = format!(
            r#"{{"snapshot":{{"cursor":9,"records":[{{"cursor":9,"kind":"image","id":"image-1","op":"put","object":{i}}}]}}}}"#
        );
        match parse(&snap).unwrap() {
            Frame::Snapshot { records, .. } => {
                assert!(matches!(&records[0], Record::Image { view: Some(_), .. }));
            }
            other => panic!("{other:?}"),
        }
        // Not an image's view, or another image's: typed errors.
        let not_a_view = r#"{"cursor":1,"records":[{"cursor":1,"kind":"image","id":"i","op":"put","object":{"id":"i"}}]}"#;
        let err = parse(not_a_view).unwrap_err();
        assert!(err.to_string().contains("not an image view"), "{err}");
        let other_id = format!(
            r#"{{"cursor":1,"records":[{{"cursor":1,"kind":"image","id":"image-9","op":"put","object":{i}}}]}}"#
        );
        assert!(matches!(
            parse(&other_id),
            Err(FrameError::Record { id, .. }) if id == "image-9"
        ));
    }
}
