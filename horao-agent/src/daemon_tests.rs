//! The loop with a scripted source, the fake backend and the fake server: an explicit delete
//! from the feed removes the volume, is not reported to the server (which no longer has it),
//! and is handed back to the source once done; a volume merely absent stays on disk.
#![allow(clippy::unwrap_used)] // Tests fail by panicking.

use super::*;
use crate::fake::FakeBtrfs;
use crate::server::client::Listing;
use crate::server::fake::{FakeServer, volume_view};
use crate::server::retry::RetryPolicy;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const ROOT: &str = "/srv/horao";

#[derive(Default)]
struct Scripted {
    listing: Arc<Mutex<Listing>>,
    done: Arc<Mutex<Vec<String>>>,
}

impl DesiredSource for Scripted {
    fn fetch(&mut self, _machine: &str) -> Result<Listing, ClientError> {
        Ok(self.listing.lock().unwrap().clone())
    }

    fn deletes_done(&mut self, ids: &[String]) {
        self.done.lock().unwrap().extend(ids.iter().cloned());
    }
}

fn on_disk(fake: &FakeBtrfs, name: &str) -> bool {
    fake.world
        .borrow()
        .subvols
        .contains_key(&Path::new(ROOT).join(name))
}

#[test]
fn explicit_deletes_from_the_feed_are_carried_out_and_not_reported() {
    let server = FakeServer::start("t").unwrap();
    let views = [
        volume_view("v-a", "a", "m1", 1 << 20).unwrap(),
        volume_view("v-b", "b", "m1", 1 << 20).unwrap(),
    ];
    server.state().volumes.extend(views.iter().cloned());
    let dir = tempfile_dir();
    let client = || {
        let policy = RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        };
        Client::new(&server.url(), "t", policy, 1)
    };
    let source = Scripted::default();
    let (listing, done) = (Arc::clone(&source.listing), Arc::clone(&source.done));
    *listing.lock().unwrap() = Listing {
        volumes: views.to_vec(),
        total: 2,
        ..Listing::default()
    };
    let settings = Settings {
        machine: "m1".into(),
        labels: LabelMap::new(),
        interval: Duration::from_secs(3600),
        report_interval: Duration::from_secs(3600),
        delete_orphans: false,
    };
    let mut daemon = Daemon::new(
        settings,
        Config::new(ROOT),
        FakeBtrfs::new(ROOT, 1 << 30),
        source,
        client(),
        StateFile::new(dir.join("state.json")),
        Arc::new(Metrics::default()),
    );
    daemon.step(Duration::ZERO).unwrap();
    assert!(on_disk(&daemon.btrfs, "a") && on_disk(&daemon.btrfs, "b"));
    // A subvolume a user made inside `b` goes to the server with `b`'s report, relative to it.
    daemon
        .btrfs
        .create_subvolume(&Path::new(ROOT).join("b/inner"))
        .unwrap();
    daemon.step(Duration::from_millis(500)).unwrap();
    let nested = server.state().current["v-b"].last().unwrap().nested.clone();
    assert_eq!(nested, ["inner"]);
    assert!(server.state().machines["m1"].orphans.is_empty());

    // The feed deleted `v-a` (purged on the server); `v-b` just dropped out of the listing.
    server.state().volumes.clear();
    server.state().current.clear();
    *listing.lock().unwrap() = Listing {
        deleted: ["v-a".to_owned()].into(),
        ..Listing::default()
    };
    let report = daemon.step(Duration::from_secs(1)).unwrap();
    assert!(!on_disk(&daemon.btrfs, "a"), "{report:#?}");
    assert!(on_disk(&daemon.btrfs, "b"), "b was not deleted explicitly");
    assert_eq!(report.orphans.len(), 1, "{report:#?}");
    assert_eq!(*done.lock().unwrap(), ["v-a"]);
    // The orphan goes to the server with the machine's report at once (the refresh interval
    // is an hour): `b`, and not `b/inner`, which is nested in it.
    assert_eq!(server.state().machines["m1"].orphans, ["b"]);
    // One report of `v-a` (ready, at the first step); none of its deletion.
    let puts = server
        .state()
        .requests
        .iter()
        .filter(|r| r.contains("/volumes/v-a/current"))
        .count();
    assert_eq!(puts, 1, "{:?}", server.state().requests);
    assert_eq!(
        daemon.desired().volumes[0].desired,
        crate::desired::Presence::Deleted
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("horao-daemon-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
