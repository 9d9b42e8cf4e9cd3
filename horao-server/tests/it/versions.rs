//! Mixed versions during a rolling upgrade: a server of another model schema version is
//! refused at the handshake, each side says why (its log, `/api/v1/cluster`'s refusals, the
//! dialer's last error), neither state changes, and once the server runs the same version
//! again the two converge.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::{Home, TestServer, stores, until};
use horao_model::snapshot::SCHEMA_VERSION;
use horao_server::gossip::GossipConfig;
use serde_json::{Value, json};
use std::time::Duration;

const SECRET: &str = "versions-cluster-secret";

async fn start(home: &Home, peers: Vec<String>, schema: u16) -> TestServer {
    TestServer::start_config(home.open(), move |c| {
        c.gossip = GossipConfig {
            peers,
            secret: Some(SECRET.into()),
            interval: Duration::from_millis(200),
            ping_interval: Duration::from_millis(400),
            backoff_base: Duration::from_millis(20),
            backoff_cap: Duration::from_millis(200),
            schema_version: schema,
            ..GossipConfig::default()
        };
    })
    .await
}

async fn cluster(s: &TestServer) -> Value {
    let r = s.admin.get("/api/v1/cluster?hash=true").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn create(s: &TestServer, name: &str) -> String {
    let r = s
        .admin
        .post("/api/v1/datacenters", &json!({"name": name}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn has(s: &TestServer, id: &str) -> bool {
    s.admin
        .get(&format!("/api/v1/datacenters/{id}"))
        .await
        .status
        == 200
}

fn refused_for_schema(c: &Value, side: &str) -> bool {
    c["refusals"].as_array().unwrap().iter().any(|r| {
        r["side"] == side
            && r["reason"]
                .as_str()
                .is_some_and(|s| s.contains("schema version"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_schema_version_is_refused_on_both_sides_and_an_upgrade_then_converges() {
    let kind = stores().into_iter().find(|s| s.name == "embedded").unwrap();
    let (home_a, home_b) = (kind.home(), kind.home());
    let a = start(&home_a, vec![], SCHEMA_VERSION).await;
    let on_a = create(&a, "written on the current version").await;
    let url = format!("ws://{}/api/v1/gossip", a.running.addr);
    // B runs the next schema version (the first server of a rolling upgrade) and dials A.
    let b = start(&home_b, vec![url.clone()], SCHEMA_VERSION + 1).await;
    let on_b = create(&b, "written on the next version").await;

    until("A says it refused B for its schema version", async || {
        refused_for_schema(&cluster(&a).await, "accepted")
    })
    .await;
    until("B says it was refused for its schema version", async || {
        let c = cluster(&b).await;
        refused_for_schema(&c, "dialed")
            && c["dials"].as_array().unwrap().iter().any(|d| {
                d["url"] == url.as_str()
                    && d["last_error"]
                        .as_str()
                        .is_some_and(|e| e.contains("schema version"))
            })
    })
    .await;
    // The refusal names both versions.
    let ca = cluster(&a).await;
    let reason = ca["refusals"][0]["reason"].as_str().unwrap().to_string();
    assert!(
        reason.contains(&SCHEMA_VERSION.to_string())
            && reason.contains(&(SCHEMA_VERSION + 1).to_string()),
        "{reason}"
    );
    assert_eq!(ca["refusals"][0]["peer"], cluster(&b).await["id"]);
    // Nothing crossed, and neither took the other as a member.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!has(&a, &on_b).await && !has(&b, &on_a).await);
    for c in [cluster(&a).await, cluster(&b).await] {
        assert!(
            c["peers"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["member"] != true),
            "{c:#}"
        );
    }

    // B restarts on the same version as A (the upgrade rolled back, or A upgraded): the
    // two converge with both writes.
    b.stop().await;
    let b = start(&home_b, vec![url], SCHEMA_VERSION).await;
    until("the two converge", async || {
        let (x, y) = (cluster(&a).await, cluster(&b).await);
        x["content_hash"] == y["content_hash"] && x["context"] == y["context"]
    })
    .await;
    for s in [&a, &b] {
        assert!(has(s, &on_a).await && has(s, &on_b).await);
    }
    b.stop().await;
    a.stop().await;
}
