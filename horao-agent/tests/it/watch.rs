//! The agent binary following the real horao-server's watch feed (embedded store, in this
//! process) on a loop-mounted btrfs, with a reconcile interval of an hour so that nothing
//! but the feed can make a change appear: volumes made and deleted through the API appear
//! and go promptly; the agent resumes from its persisted cursor after a restart; after a
//! resync (a restarted server whose history no longer holds the cursor) the snapshot is the
//! desired state and nothing but an explicit delete removes a subvolume; an image taken from
//! a volume through the API is made, and deleted, through the feed alone, with no REST
//! listing while the feed is live. And against a server without the feed (the fake answers
//! 404) it polls.

use crate::e2e::RealServer;
use crate::support::{MIB, exists, scratch};
use horao_agent::btrfs::Btrfs;
use horao_agent::server::fake::{FakeServer, volume_view};
use horao_server::watch::WatchConfig;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The agent binary running in the background, its log in a file.
struct Agent {
    child: Child,
    log: PathBuf,
}

impl Agent {
    fn start(url: &str, token: &str, root: &Path, state: &Path, interval: &str) -> Self {
        Self::start_with(url, token, root, state, interval, &[])
    }

    /// [`Agent::start`] with `extra` flags.
    fn start_with(
        url: &str,
        token: &str,
        root: &Path,
        state: &Path,
        interval: &str,
        extra: &[&str],
    ) -> Self {
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let log = state.with_file_name(format!("agent-{n}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_horao-agent"))
            .args(["--server", url, "--machine", "m1", "--label", "rack=r1"])
            .args(["--interval", interval, "--log", "debug"])
            .args(extra)
            .arg("--root")
            .arg(root)
            .arg("--state-file")
            .arg(state)
            .env("HORAO_TOKEN", token)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM; the agent must be gone promptly.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "the agent did not stop within 10 s of SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.log()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits up to `secs` for `cond`; fails with `what` and the agent's log.
fn wait_for(agent: &Agent, secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "{what} within {secs} s; agent log:\n{}",
            agent.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn create(server: &RealServer, name: &str) -> String {
    let (status, vol) = server.call(
        "POST",
        "/api/v1/volumes",
        Some(json!({"name": name, "size_bytes": 8 * MIB, "require_labels": {"rack": "r1"}})),
    );
    assert_eq!(status, 201, "{vol}");
    assert_eq!(vol["machine"], "m1", "{vol}");
    vol["id"].as_str().unwrap().to_owned()
}

fn delete(server: &RealServer, id: &str) {
    let (status, body) = server.call("DELETE", &format!("/api/v1/volumes/{id}"), None);
    assert!(matches!(status, 200 | 202 | 204), "{status} {body}");
}

fn registered(server: &RealServer) -> bool {
    let (status, m) = server.call("GET", "/api/v1/machines/m1", None);
    status == 200 && m["capacity_bytes"].as_u64().is_some_and(|c| c > 0)
}

fn persisted_cursor(state: &Path) -> Option<u64> {
    let v: Value = serde_json::from_slice(&std::fs::read(state).ok()?).ok()?;
    v["feed"]["cursor"].as_u64()
}

/// A free local port for the agent's metrics.
fn free_addr() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// The value of the series `series` on the agent's `/metrics` at `addr`, if it is served.
fn metric(addr: &str, series: &str) -> Option<u64> {
    let mut s = TcpStream::connect(addr).ok()?;
    write!(s, "GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn fast_watch() -> WatchConfig {
    WatchConfig {
        progress_interval: Duration::from_millis(200),
        // The server closes a watcher that leaves two pings unanswered: the agent answers.
        ping_interval: Duration::from_millis(100),
        ..WatchConfig::default()
    }
}

#[test]
fn the_feed_drives_creates_and_deletes_resumes_and_resyncs_without_deleting() {
    let Some(s) = scratch("watch_feed_drives_the_agent", 1 << 30) else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let state = s.fs.path().join("agent-state.json");
    let server = RealServer::start_full(data.path(), None, fast_watch());
    let token = server.agent_token("m1");

    // An hour between passes: only the feed can make anything appear after the first pass.
    let agent = Agent::start(&server.url, &token, &s.root, &state, "3600");
    wait_for(&agent, 30, "the machine registered", || registered(&server));
    let a = create(&server, "a");
    wait_for(&agent, 20, "volume a on disk through the feed", || {
        exists(&s.path("a"))
    });
    assert_eq!(s.read_back("a").0, Some(8 * MIB));
    delete(&server, &a);
    wait_for(&agent, 20, "volume a deleted through the feed", || {
        !exists(&s.path("a"))
    });
    let b = create(&server, "b");
    wait_for(&agent, 20, "volume b on disk", || exists(&s.path("b")));
    // The cursor is persisted with the desired state.
    wait_for(&agent, 20, "a persisted cursor", || {
        persisted_cursor(&state).is_some()
    });
    let log = agent.stop();
    assert!(log.contains("following the server's watch feed"), "{log}");
    assert!(!log.contains("the watch feed ended"), "{log}");
    let cursor = persisted_cursor(&state).unwrap();

    // Restarted, the agent resumes after its cursor and sees what changed meanwhile.
    let c = create(&server, "c");
    let agent = Agent::start(&server.url, &token, &s.root, &state, "3600");
    wait_for(&agent, 20, "volume c on disk after the restart", || {
        exists(&s.path("c"))
    });
    let log = agent.stop();
    let resumed = format!("since=Some({cursor})");
    assert!(
        log.lines()
            .any(|l| l.contains("following the server's watch feed") && l.contains(&resumed)),
        "not resumed after {cursor}:\n{log}"
    );
    assert!(!log.contains("resync"), "{log}");

    // The server restarts with a history of a few bytes, and changes go by while the agent
    // is down: `b` is deleted (explicitly: `deleting`), `d` is made; a subvolume no volume
    // names sits under the root. (The server purges a volume only once its agent reported
    // it gone, so every volume on disk is in the snapshot or explicitly deleted.)
    s.btrfs.create_subvolume(&s.path("stray")).unwrap();
    drop(server);
    let server = RealServer::start_full(
        data.path(),
        None,
        WatchConfig {
            history_bytes: 1,
            ..fast_watch()
        },
    );
    delete(&server, &b);
    let d = create(&server, "d");
    let agent = Agent::start(&server.url, &token, &s.root, &state, "3600");
    wait_for(
        &agent,
        30,
        "volume d on disk and b deleted after the resync",
        || exists(&s.path("d")) && !exists(&s.path("b")),
    );
    // Later changes still flow after the resync.
    let e = create(&server, "e");
    wait_for(&agent, 20, "volume e on disk", || exists(&s.path("e")));
    let log = agent.stop();
    assert!(log.contains("asked for a resync"), "{log}");
    // Nothing was deleted but `b`: `c` is in the snapshot, the stray subvolume an orphan.
    for kept in ["c", "d", "e", "stray"] {
        assert!(
            exists(&s.path(kept)),
            "{kept} deleted without an explicit delete"
        );
    }
    let (status, vol) = server.call("GET", &format!("/api/v1/volumes/{d}"), None);
    assert_eq!(
        (status, &vol["current"]["state"]),
        (200, &json!("ready")),
        "{vol}"
    );
    let _ = (c, e);
}

#[test]
fn the_feed_over_tls_trusts_the_ca_bundle() {
    let Some(s) = scratch("watch_feed_over_tls", 1 << 30) else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let (server, ca) = RealServer::start_https(data.path(), fast_watch());
    let token = server.agent_token("m1");
    let state = s.fs.path().join("agent-state.json");
    let ca = ca.to_str().unwrap();
    let agent = Agent::start_with(
        &server.url,
        &token,
        &s.root,
        &state,
        "3600",
        &["--ca-cert", ca],
    );
    wait_for(&agent, 30, "the machine registered", || registered(&server));
    create(&server, "a");
    wait_for(
        &agent,
        20,
        "volume a on disk through the feed over TLS",
        || exists(&s.path("a")),
    );
    let log = agent.stop();
    assert!(log.contains("following the server's watch feed"), "{log}");
}

#[test]
fn without_a_feed_the_agent_polls() {
    let Some(s) = scratch("watch_fallback_polls", 1 << 30) else {
        return;
    };
    let state = s.fs.path().join("agent-state.json");
    let server = FakeServer::start("t").unwrap();
    let agent = Agent::start(&server.url(), "t", &s.root, &state, "1");
    // The volume comes after the first pass: a later poll finds it.
    wait_for(&agent, 20, "the first pass", || {
        server
            .state()
            .requests
            .iter()
            .any(|r| r.contains("/api/v1/images?"))
    });
    server
        .state()
        .volumes
        .push(volume_view("v-a", "a", "m1", 8 * MIB).unwrap());
    wait_for(&agent, 20, "volume a on disk by polling", || {
        exists(&s.path("a"))
    });
    let log = agent.stop();
    assert!(
        log.contains("the server has no watch feed; polling"),
        "{log}"
    );
    let requests = server.state().requests.clone();
    assert!(
        requests.iter().any(|r| r.contains("/api/v1/watch")),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.contains("/api/v1/volumes?"))
            .count()
            >= 2,
        "{requests:?}"
    );
}

#[test]
fn images_come_through_the_feed_without_rest_listings() {
    let Some(s) = scratch("watch_feed_images", 1 << 30) else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let state = s.fs.path().join("agent-state.json");
    let server = RealServer::start_full(data.path(), None, fast_watch());
    let token = server.agent_token("m1");
    let addr = free_addr();
    // An hour between passes: an image listed through the REST API once per interval would
    // not appear within the test.
    let agent = Agent::start_with(
        &server.url,
        &token,
        &s.root,
        &state,
        "3600",
        &["--metrics-listen", &addr],
    );
    wait_for(&agent, 30, "the machine registered", || registered(&server));
    let a = create(&server, "a");
    wait_for(&agent, 20, "volume a on disk through the feed", || {
        exists(&s.path("a"))
    });
    wait_for(&agent, 20, "the feed live", || {
        metric(&addr, "horao_agent_watch_connected") == Some(1)
    });
    let images = "horao_agent_rest_listings_total{kind=\"images\"}";
    let before = metric(&addr, images);

    // An image taken from `a` through the API: made here through the feed.
    let (status, image) = server.call(
        "POST",
        "/api/v1/images",
        Some(json!({"name": "golden", "size_bytes": 4 * MIB, "from_volume": a})),
    );
    assert_eq!(status, 201, "{image}");
    let image_path = format!(".images/{}", image["id"].as_str().unwrap());
    wait_for(&agent, 20, "the image on disk through the feed", || {
        exists(&s.path(&image_path))
    });
    let (limit, _, _, ro) = s.read_back(&image_path);
    assert_eq!((limit, ro), (None, true), "an image: read-only, no limit");

    // Deleted through the API (its volume is still here): gone through the feed.
    let (status, body) = server.call(
        "DELETE",
        &format!("/api/v1/images/{}", image["id"].as_str().unwrap()),
        None,
    );
    assert!(matches!(status, 200 | 202 | 204), "{status} {body}");
    wait_for(&agent, 20, "the image deleted through the feed", || {
        !exists(&s.path(&image_path))
    });
    assert!(before.is_some(), "no {images} on /metrics");
    assert_eq!(
        metric(&addr, images),
        before,
        "images listed through the REST API while the feed was live"
    );
    assert_eq!(metric(&addr, "horao_agent_watch_connected"), Some(1));
    let log = agent.stop();
    assert!(!log.contains("the watch feed ended"), "{log}");
}
