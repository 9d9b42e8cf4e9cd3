//! The last desired state the agent saw, kept on local disk so that a restart without a
//! reachable server keeps reconciling it; with it, what the agent knows from the watch feed
//! (its cursor, the views, the explicit deletes not yet carried out), so a restart resumes
//! the feed where it was. Written atomically: a temporary file, fsync, rename
//! over the old one, fsync of the directory; a crash leaves the old file or the new one.

use crate::classify::io_error;
use crate::desired::DesiredState;
use crate::error::{Error, Result};
use crate::watch::FeedState;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

/// The version written in the file; loading refuses any other.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    desired: DesiredState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    feed: Option<FeedState>,
}

/// Everything the state file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Saved {
    /// The last desired state.
    pub desired: DesiredState,
    /// The watch feed's state, when the agent follows it.
    pub feed: Option<FeedState>,
}

/// The state file at a path.
#[derive(Clone, Debug)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// The state file `path` (its directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn temp_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".tmp");
        self.path.with_file_name(name)
    }

    /// The stored desired state; `None` when no state was ever saved.
    pub fn load(&self) -> Result<Option<DesiredState>> {
        Ok(self.load_all()?.map(|s| s.desired))
    }

    /// Replaces the stored state with `desired` (and no feed state), durably.
    pub fn save(&self, desired: &DesiredState) -> Result<()> {
        self.save_with(desired, None)
    }

    /// The stored desired state and feed state; `None` when no state was ever saved.
    pub fn load_all(&self) -> Result<Option<Saved>> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("read", &self.path, &e)),
        };
        let what = || self.path.display().to_string();
        let stored: Stored =
            serde_json::from_slice(&bytes).map_err(|e| Error::parse(what(), e.to_string()))?;
        if stored.version != VERSION {
            return Err(Error::parse(
                what(),
                format!("version {} (this agent reads {VERSION})", stored.version),
            ));
        }
        Ok(Some(Saved {
            desired: stored.desired,
            feed: stored.feed,
        }))
    }

    /// Replaces the stored state with `desired` and `feed`, durably.
    pub fn save_with(&self, desired: &DesiredState, feed: Option<&FeedState>) -> Result<()> {
        let stored = Stored {
            version: VERSION,
            desired: desired.clone(),
            feed: feed.cloned(),
        };
        let bytes = serde_json::to_vec(&stored)
            .map_err(|e| Error::parse("desired state", e.to_string()))?;
        let temp = self.temp_path();
        let mut file = File::create(&temp).map_err(|e| io_error("create", &temp, &e))?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error("write", &temp, &e))?;
        drop(file);
        fs::rename(&temp, &self.path).map_err(|e| io_error("rename", &temp, &e))?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("fsync", dir, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::DesiredImage;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("horao-persist-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn round_trip_and_replace() {
        let dir = temp_dir("round");
        let file = StateFile::new(dir.join("desired.json"));
        assert_eq!(file.load().unwrap(), None);
        let mut state = DesiredState::default();
        file.save(&state).unwrap();
        assert_eq!(file.load().unwrap(), Some(state.clone()));
        state.images.push(DesiredImage {
            name: "base".into(),
            from_volume: None,
            desired: Default::default(),
            kept_here: false,
        });
        file.save(&state).unwrap();
        assert_eq!(file.load().unwrap(), Some(state));
        assert!(!file.temp_path().exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_feed_state_is_kept_with_the_desired_state() {
        let dir = temp_dir("feed");
        let file = StateFile::new(dir.join("desired.json"));
        let feed = FeedState {
            cursor: 42,
            deleted: ["v-gone".to_owned()].into(),
            ..FeedState::default()
        };
        file.save_with(&DesiredState::default(), Some(&feed))
            .unwrap();
        let saved = file.load_all().unwrap().unwrap();
        assert_eq!(saved.feed, Some(feed));
        // A file written without a feed state (an older agent, or polling) still loads.
        file.save(&DesiredState::default()).unwrap();
        assert_eq!(file.load_all().unwrap().unwrap().feed, None);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_torn_temporary_file_does_not_matter() {
        let dir = temp_dir("torn");
        let file = StateFile::new(dir.join("desired.json"));
        file.save(&DesiredState::default()).unwrap();
        // A crash during the write of the next state leaves a partial temporary file.
        fs::write(file.temp_path(), b"{\"version\":1,\"desi").unwrap();
        assert_eq!(file.load().unwrap(), Some(DesiredState::default()));
        file.save(&DesiredState::default()).unwrap();
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn corrupt_or_foreign_files_are_errors() {
        let dir = temp_dir("corrupt");
        let file = StateFile::new(dir.join("desired.json"));
        fs::write(file.path(), b"not json").unwrap();
        assert!(matches!(file.load(), Err(Error::Parse { .. })));
        fs::write(file.path(), br#"{"version":2,"desired":{}}"#).unwrap();
        assert!(matches!(file.load(), Err(Error::Parse { .. })));
        fs::remove_dir_all(dir).unwrap();
    }
}
