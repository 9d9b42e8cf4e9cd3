//! The real `horao-agent` binary, run with `--once` on a loop-mounted btrfs against the
//! in-process fake of the server's three agent routes, which lets a test stage any listing
//! (another machine's volumes, a delete, an empty page). `e2e.rs` runs the same binary
//! against the real horao-server.

use crate::support::{MIB, exists, owner, run_agent_once, scratch};
use horao_agent::btrfs::Btrfs;
use horao_agent::server::fake::{FakeServer, volume_view};
use horao_model::storage::VolumeState;
use std::path::Path;

const TOKEN: &str = "agent-token";

/// Runs the agent once against `server` with the state file `state`; returns success.
fn agent_once(server: &str, root: &Path, state: &Path) -> bool {
    agent_once_with(server, root, state, &[])
}

/// [`agent_once`] with extra flags.
fn agent_once_with(server: &str, root: &Path, state: &Path, extra: &[&str]) -> bool {
    run_agent_once(server, TOKEN, root, state, extra)
}

#[test]
fn binary_reconciles_reports_and_survives_the_server_going_away() {
    let Some(s) = scratch("binary_reconciles_reports", 1 << 30) else {
        return;
    };
    let state = s.fs.path().join("agent-state.json");
    let server = FakeServer::start(TOKEN).unwrap();
    {
        let mut f = server.state();
        f.volumes
            .push(volume_view("v-a", "a", "m1", 8 * MIB).unwrap());
        f.volumes
            .push(volume_view("v-b", "b", "m1", 16 * MIB).unwrap());
        f.volumes
            .push(volume_view("v-x", "x", "m2", 8 * MIB).unwrap());
    }
    assert!(agent_once(&server.url(), &s.root, &state));
    let (limit, _, own, ro) = s.read_back("a");
    assert_eq!(
        (limit, own, ro),
        (Some(8 * MIB), owner(1000, 1000, 0o750), false)
    );
    assert_eq!(s.read_back("b").0, Some(16 * MIB));
    assert!(!exists(&s.path("x")), "another machine's volume");
    {
        let f = server.state();
        let machine = &f.machines["m1"];
        assert_eq!(machine.labels["rack"], "r1");
        assert!(machine.capacity_bytes.unwrap() > 0);
        let a = f.current["v-a"].last().unwrap();
        assert_eq!(
            (a.state, a.limit_bytes, a.initialized),
            (VolumeState::Ready, 8 * MIB, true)
        );
        assert!(!f.current.contains_key("v-x"));
    }

    // The server goes away; a volume disappears behind the agent's back. The agent keeps the
    // persisted desired state: it recreates `a` and deletes nothing.
    let url = server.url();
    drop(server);
    let ids = s.btrfs.delete_subvolume(&s.path("a")).unwrap();
    s.btrfs.sync(&s.root, &ids).unwrap();
    assert!(agent_once(&url, &s.root, &state));
    assert_eq!(s.read_back("a").0, Some(8 * MIB));
    assert_eq!(s.read_back("b").0, Some(16 * MIB));

    // Back, with `b` to delete and `a` gone from the listing: `b` is deleted on the explicit
    // word, `a` is only an orphan (no --delete-orphans) and stays.
    let server = FakeServer::start(TOKEN).unwrap();
    {
        let mut f = server.state();
        let mut b = volume_view("v-b", "b", "m1", 16 * MIB).unwrap();
        b.desired_state = VolumeState::Deleting;
        f.volumes.push(b);
    }
    assert!(agent_once(&server.url(), &s.root, &state));
    assert!(!exists(&s.path("b")));
    assert!(exists(&s.path("a")));
    assert_eq!(
        server.state().current["v-b"].last().unwrap().state,
        VolumeState::Gone
    );
    s.assert_no_stale_qgroups();
}

#[test]
fn a_refused_token_stops_the_agent() {
    let Some(s) = scratch("a_refused_token_stops_the_agent", 1 << 30) else {
        return;
    };
    let server = FakeServer::start("another-token").unwrap();
    let state = s.fs.path().join("agent-state.json");
    assert!(!agent_once(&server.url(), &s.root, &state));
    assert!(s.subvolumes().is_empty());
}

#[test]
fn orphans_are_deleted_only_when_asked_and_never_on_an_empty_listing() {
    let Some(s) = scratch("orphans_are_deleted_only_when_asked", 1 << 30) else {
        return;
    };
    let state = s.fs.path().join("agent-state.json");
    let server = FakeServer::start(TOKEN).unwrap();
    server.state().volumes = vec![
        volume_view("v-a", "a", "m1", 8 * MIB).unwrap(),
        volume_view("v-b", "b", "m1", 8 * MIB).unwrap(),
    ];
    assert!(agent_once(&server.url(), &s.root, &state));
    // `a` leaves the listing. Without the setting it stays, as an orphan.
    server.state().volumes.remove(0);
    assert!(agent_once(&server.url(), &s.root, &state));
    assert!(exists(&s.path("a")));
    // An empty listing deletes nothing, even with the setting.
    let b = server.state().volumes.remove(0);
    assert!(agent_once_with(
        &server.url(),
        &s.root,
        &state,
        &["--delete-orphans"]
    ));
    assert!(exists(&s.path("a")) && exists(&s.path("b")));
    // With the setting and a non-empty listing, the orphan goes and the volume stays.
    server.state().volumes.push(b);
    assert!(agent_once_with(
        &server.url(),
        &s.root,
        &state,
        &["--delete-orphans"]
    ));
    assert!(!exists(&s.path("a")));
    assert!(exists(&s.path("b")));
    s.assert_no_stale_qgroups();
}
