//! End to end: the real horao-server (embedded store, serving HTTP on loopback in this
//! process) and the real `horao-agent` binary on a loop-mounted btrfs. A volume created
//! through the REST API becomes a subvolume with its limit, owner and mode; its usage comes
//! back through the API; an image taken from it and a volume made from the image exist on
//! disk as they should; deletes through the API remove subvolumes and qgroups.

use crate::support::{MIB, exists, owner, run_agent_once, scratch};
use axum_server::tls_rustls::RustlsConfig;
use horao_agent::btrfs::Btrfs;
use horao_agent::server::Trust;
use horao_server::app::HttpLimits;
use horao_server::server::{self, Options, Running};
use horao_server::state::StateConfig;
use horao_server::store::embedded::{EmbeddedOptions, EmbeddedStore};
use horao_server::watch::WatchConfig;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

const ADMIN: &str = "e2e-admin-token";

/// The real server, on its own runtime so the test thread can run the agent and wait.
pub(crate) struct RealServer {
    pub(crate) url: String,
    running: Option<Running>,
    rt: tokio::runtime::Runtime,
    /// What the test's own requests trust.
    trust: Trust,
}

impl RealServer {
    /// Starts a server with an embedded store in `dir`, on a free loopback port.
    pub(crate) fn start(dir: &Path) -> Self {
        Self::start_with(dir, None)
    }

    /// [`RealServer::start`], serving HTTPS with the PEM certificate and key `tls`.
    fn start_with(dir: &Path, tls: Option<(Vec<u8>, Vec<u8>)>) -> Self {
        Self::start_full(dir, tls, WatchConfig::default())
    }

    /// [`RealServer::start_with`], with the watch feed's settings `watch`.
    pub(crate) fn start_full(
        dir: &Path,
        tls: Option<(Vec<u8>, Vec<u8>)>,
        watch: WatchConfig,
    ) -> Self {
        let trust = match &tls {
            Some((cert, _)) => Trust::from_pem("the test's certificate", cert).unwrap(),
            None => Trust::default(),
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let store = EmbeddedStore::open(&dir.join("data"), EmbeddedOptions::default()).unwrap();
        let running = rt.block_on(async {
            let tls = match tls {
                None => None,
                Some((cert, key)) => {
                    let _ = rustls::crypto::ring::default_provider().install_default();
                    let config = RustlsConfig::from_pem(cert, key).await.unwrap();
                    Some(config)
                }
            };
            let scheme = if tls.is_some() { "https" } else { "http" };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let opts = Options {
                state: StateConfig {
                    admin_token: Some(ADMIN.into()),
                    watch,
                    ..StateConfig::default()
                },
                limits: HttpLimits::default(),
                metrics: None,
                tls,
            };
            let running = server::start(listener, Arc::new(store), opts, std::future::pending())
                .await
                .unwrap();
            (running, scheme)
        });
        let (running, scheme) = running;
        Self {
            // The certificate names `localhost`; plain HTTP uses the address itself.
            url: match scheme {
                "https" => format!("https://localhost:{}", running.addr.port()),
                _ => format!("http://{}", running.addr),
            },
            running: Some(running),
            rt,
            trust,
        }
    }

    /// [`RealServer::start_full`] on HTTPS with a self-signed certificate for `localhost`,
    /// whose PEM (the CA bundle to trust) is written to `dir/ca.pem`; returns its path too.
    pub(crate) fn start_https(dir: &Path, watch: WatchConfig) -> (Self, std::path::PathBuf) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, cert.cert.pem()).unwrap();
        let tls = (
            cert.cert.pem().into_bytes(),
            cert.signing_key.serialize_pem().into_bytes(),
        );
        let server = Self::start_full(dir, Some(tls), watch);
        assert!(server.url.starts_with("https://"), "{}", server.url);
        (server, ca)
    }

    /// An agent token for `machine`, minted by the admin.
    pub(crate) fn agent_token(&self, machine: &str) -> String {
        let (status, minted) = self.call(
            "POST",
            "/api/v1/tokens",
            Some(json!({"role": "agent", "machine": machine})),
        );
        assert_eq!(status, 201, "{minted}");
        minted["token"].as_str().unwrap().to_owned()
    }

    /// Sends `method` to `path` with the admin token; returns the status and the JSON body.
    pub(crate) fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(self.trust.tls_config())
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}{path}", self.url);
        let auth = format!("Bearer {ADMIN}");
        let sent = match (method, body) {
            ("GET", _) => agent.get(&url).header("authorization", &auth).call(),
            ("DELETE", _) => agent.delete(&url).header("authorization", &auth).call(),
            ("POST", Some(b)) => agent
                .post(&url)
                .header("authorization", &auth)
                .header("content-type", "application/json")
                .send(serde_json::to_vec(&b).unwrap().as_slice()),
            other => panic!("unsupported request {other:?}"),
        };
        let mut response = sent.unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            // A failed stop is reported, not hidden, but never panics inside a drop.
            if let Err(e) = self.rt.block_on(r.stop()) {
                eprintln!("stopping the server: {e}");
            }
        }
    }
}

/// Runs the agent binary once as machine `m1` with `token`; returns success.
fn agent_once(url: &str, token: &str, root: &Path, state: &Path) -> bool {
    run_agent_once(url, token, root, state, &[])
}

#[test]
fn a_volume_made_through_the_api_is_made_on_disk_reported_and_deleted() {
    let Some(s) = scratch("e2e_volume_through_the_api", 1 << 30) else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let server = RealServer::start(data.path());
    let state = s.fs.path().join("agent-state.json");

    let token = server.agent_token("m1");

    // The agent registers m1 with its labels and the filesystem's capacity.
    assert!(agent_once(&server.url, &token, &s.root, &state));
    let (status, m1) = server.call("GET", "/api/v1/machines/m1", None);
    assert_eq!(status, 200, "{m1}");
    assert_eq!(m1["labels"]["rack"], "r1", "{m1}");

    // A volume through the REST API is placed on m1 (the only machine, with the label asked).
    let (status, vol) = server.call(
        "POST",
        "/api/v1/volumes",
        Some(json!({
            "name": "data", "size_bytes": 8 * MIB, "dilation_percent": 50,
            "owner_uid": 1234, "owner_gid": 2345, "mode": "0750",
            "require_labels": {"rack": "r1"},
        })),
    );
    assert_eq!(status, 201, "{vol}");
    assert_eq!(vol["machine"], "m1", "{vol}");
    let id = vol["id"].as_str().unwrap().to_owned();

    // The agent makes it: limit with the dilation, owner, mode, writable.
    assert!(agent_once(&server.url, &token, &s.root, &state));
    let (limit, _, own, ro) = s.read_back("data");
    assert_eq!(
        (limit, own, ro),
        (Some(12 * MIB), owner(1234, 2345, 0o750), false)
    );

    // Usage written into it comes back through the API.
    std::fs::write(s.path("data").join("blob"), vec![7u8; 2 * MIB as usize]).unwrap();
    s.sync_fs();
    assert!(agent_once(&server.url, &token, &s.root, &state));
    let (status, vol) = server.call("GET", &format!("/api/v1/volumes/{id}"), None);
    assert_eq!(status, 200, "{vol}");
    let current = &vol["current"];
    assert_eq!(current["state"], "ready", "{vol}");
    assert_eq!(current["limit_bytes"], 12 * MIB, "{vol}");
    let used = current["used_bytes"].as_u64().unwrap();
    assert!(used >= 2 * MIB, "used {used} after writing 2 MiB: {vol}");

    // A subvolume a user made inside the volume (it escapes the quota) and one nobody asked
    // for under the root (an orphan) are reported through the API, and neither is deleted.
    s.btrfs.create_subvolume(&s.path("data/inner")).unwrap();
    s.btrfs.create_subvolume(&s.path("stray")).unwrap();
    assert!(agent_once(&server.url, &token, &s.root, &state));
    let (_, vol) = server.call("GET", &format!("/api/v1/volumes/{id}"), None);
    assert_eq!(vol["current"]["nested"], json!(["inner"]), "{vol}");
    let (_, m1) = server.call("GET", "/api/v1/machines/m1", None);
    assert_eq!(m1["orphans"], json!(["stray"]), "{m1}");
    assert!(exists(&s.path("stray")) && exists(&s.path("data/inner")));

    // An image taken from it through the API becomes a read-only snapshot under .images;
    // a volume made from the image through the API starts with its content, under its own
    // limit.
    let (status, image) = server.call(
        "POST",
        "/api/v1/images",
        Some(json!({"name": "golden", "size_bytes": 4 * MIB, "from_volume": id})),
    );
    assert_eq!(status, 201, "{image}");
    let image_id = image["id"].as_str().unwrap().to_owned();
    assert!(agent_once(&server.url, &token, &s.root, &state));
    let image_path = format!(".images/{image_id}");
    let (limit, _, _, ro) = s.read_back(&image_path);
    assert_eq!((limit, ro), (None, true), "an image: read-only, no limit");
    let (status, copy) = server.call(
        "POST",
        "/api/v1/volumes",
        Some(json!({"name": "copy", "size_bytes": 10 * MIB, "image": image_id})),
    );
    assert_eq!(status, 201, "{copy}");
    let copy_id = copy["id"].as_str().unwrap().to_owned();
    assert!(agent_once(&server.url, &token, &s.root, &state));
    let (limit, _, _, ro) = s.read_back("copy");
    assert_eq!((limit, ro), (Some(10 * MIB), false));
    assert_eq!(
        std::fs::read(s.path("copy").join("blob")).unwrap(),
        vec![7u8; 2 * MIB as usize]
    );

    // The image is deleted through the API (after its volume is): its snapshot goes.
    for path in [
        format!("/api/v1/volumes/{copy_id}"),
        format!("/api/v1/images/{image_id}"),
    ] {
        let (status, body) = server.call("DELETE", &path, None);
        assert!(matches!(status, 200 | 202 | 204), "{path}: {status} {body}");
        assert!(agent_once(&server.url, &token, &s.root, &state));
    }
    assert!(!exists(&s.path("copy")));
    assert!(!exists(&s.path(&image_path)));

    // A delete through the API: the agent removes the subvolume and its qgroup and says so.
    let (status, body) = server.call("DELETE", &format!("/api/v1/volumes/{id}"), None);
    assert!(
        status == 202 || status == 204 || status == 200,
        "{status} {body}"
    );
    assert!(agent_once(&server.url, &token, &s.root, &state));
    assert!(!exists(&s.path("data")));
    s.assert_no_stale_qgroups();
    let (status, vol) = server.call("GET", &format!("/api/v1/volumes/{id}"), None);
    assert!(
        status == 404 || vol["current"]["state"] == "gone",
        "{status} {vol}"
    );

    // An image whose source volume is deleted first stays (this machine is its home), and
    // goes when the image is deleted.
    let (status, src) = server.call(
        "POST",
        "/api/v1/volumes",
        Some(json!({"name": "src", "size_bytes": 4 * MIB})),
    );
    assert_eq!(status, 201, "{src}");
    let src_id = src["id"].as_str().unwrap().to_owned();
    assert!(agent_once(&server.url, &token, &s.root, &state));
    let (status, image) = server.call(
        "POST",
        "/api/v1/images",
        Some(json!({"name": "after", "size_bytes": MIB, "from_volume": src_id})),
    );
    assert_eq!(status, 201, "{image}");
    assert_eq!(image["machine"], "m1", "{image}");
    let image_path = format!(".images/{}", image["id"].as_str().unwrap());
    assert!(agent_once(&server.url, &token, &s.root, &state));
    assert!(exists(&s.path(&image_path)));
    let (status, body) = server.call("DELETE", &format!("/api/v1/volumes/{src_id}"), None);
    assert!(matches!(status, 200 | 202 | 204), "{status} {body}");
    assert!(agent_once(&server.url, &token, &s.root, &state));
    assert!(!exists(&s.path("src")));
    // Purged: the volume is gone from the model, so no listing names it any more.
    let (status, body) = server.call(
        "POST",
        &format!("/api/v1/volumes/{src_id}/purge"),
        Some(json!({})),
    );
    assert!(matches!(status, 200 | 202 | 204), "{status} {body}");
    assert!(agent_once(&server.url, &token, &s.root, &state));
    assert!(
        exists(&s.path(&image_path)),
        "the image outlives its source volume"
    );
    let path = format!("/api/v1/images/{}", image["id"].as_str().unwrap());
    let (status, body) = server.call("DELETE", &path, None);
    assert!(matches!(status, 200 | 202 | 204), "{status} {body}");
    assert!(agent_once(&server.url, &token, &s.root, &state));
    assert!(!exists(&s.path(&image_path)), "deleted with the image");
}

#[test]
fn the_agent_talks_to_an_https_server_it_trusts_and_refuses_one_it_does_not() {
    let Some(s) = scratch("e2e_https", 1 << 30) else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let (server, ca) = RealServer::start_https(data.path(), WatchConfig::default());
    let state = s.fs.path().join("agent-state.json");

    let token = server.agent_token("m1");

    // Mozilla's roots do not include a self-signed certificate: the agent cannot register
    // (it keeps reconciling what it has, nothing here, so `--once` may still succeed).
    run_agent_once(&server.url, &token, &s.root, &state, &[]);
    let (status, body) = server.call("GET", "/api/v1/machines/m1", None);
    assert_eq!(
        status, 404,
        "registered without trusting the server: {body}"
    );
    // With the certificate as its CA bundle it registers over HTTPS.
    let ca = ca.to_str().unwrap();
    assert!(run_agent_once(
        &server.url,
        &token,
        &s.root,
        &state,
        &["--ca-cert", ca]
    ));
    let (status, m1) = server.call("GET", "/api/v1/machines/m1", None);
    assert_eq!(status, 200, "{m1}");
    // A bundle that is not PEM stops the agent before it does anything.
    let bad = data.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    assert!(!run_agent_once(
        &server.url,
        &token,
        &s.root,
        &state,
        &["--ca-cert", bad.to_str().unwrap()]
    ));
}
