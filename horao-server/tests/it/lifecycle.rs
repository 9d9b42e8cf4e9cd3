//! Restart on the same store, graceful shutdown, store failures, the OpenAPI document and
//! the metrics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::crud::populate;
use crate::support::{TestServer, stores};
use horao_server::routes::api;
use horao_server::store::memory::MemoryStore;
use serde_json::json;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_everything_acknowledged() {
    for kind in stores() {
        let home = kind.home();
        let s = TestServer::start(home.open()).await;
        let ids = populate(&s.admin).await;
        // Enough writes to pass the compaction threshold, so a snapshot is replayed too.
        let mut dcs = Vec::new();
        for i in 0..80 {
            let r = s
                .admin
                .post("/api/v1/datacenters", &json!({"name": format!("dc {i}")}))
                .await;
            assert_eq!(r.status, 201);
            dcs.push(r.body);
        }
        let agent = s.minted(json!({"role": "agent", "machine": "st1"})).await;
        let before: Vec<_> = {
            let mut v = Vec::new();
            for (path, id) in &ids {
                v.push(s.admin.get(&format!("/api/v1/{path}/{id}")).await.body);
            }
            v
        };
        let replica = s.running.state.node().id();
        s.stop().await;

        let s = TestServer::start(home.open()).await;
        assert_eq!(
            s.running.state.node().id(),
            replica,
            "{}: the replica id is kept",
            kind.name
        );
        for ((path, id), want) in ids.iter().zip(&before) {
            let r = s.admin.get(&format!("/api/v1/{path}/{id}")).await;
            assert_eq!(r.status, 200, "{}: {path}/{id} after restart", kind.name);
            assert_eq!(&r.body, want);
        }
        for dc in &dcs {
            let id = dc["id"].as_str().unwrap();
            assert_eq!(
                &s.admin.get(&format!("/api/v1/datacenters/{id}")).await.body,
                dc
            );
        }
        // Minted tokens survive too.
        let c = s.client(agent.token.as_deref());
        assert_eq!(c.get("/api/v1/machines/st1").await.status, 200);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_failure_is_503_and_changes_nothing() {
    let store = MemoryStore::new();
    let s = TestServer::start(Arc::new(store.clone())).await;
    store.set_fail_commits(true);
    let r = s
        .admin
        .post("/api/v1/datacenters", &json!({"name": "lost"}))
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["error"], "unavailable");
    assert_eq!(s.admin.get("/api/v1/datacenters").await.body["total"], 0);
    store.set_fail_commits(false);
    let r = s
        .admin
        .post("/api/v1/datacenters", &json!({"name": "kept"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(s.admin.get("/api/v1/datacenters").await.body["total"], 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_all_land() {
    let s = TestServer::start(Arc::new(MemoryStore::new())).await;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let c = s.admin.clone();
        tasks.push(tokio::spawn(async move {
            c.post("/api/v1/datacenters", &json!({"name": format!("dc {i}")}))
                .await
                .status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    assert_eq!(s.admin.get("/api/v1/datacenters").await.body["total"], 64);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_closes_the_store() {
    let store = MemoryStore::new();
    let s = TestServer::start(Arc::new(store.clone())).await;
    let addr = s.running.addr;
    let state = s.running.state.clone();
    s.stop().await;
    assert!(!state.is_ready(), "not ready once stopping");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
    use horao_server::store::Store;
    assert!(store.load().await.is_err(), "the store was closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_every_route_and_only_those() {
    let s = TestServer::start(Arc::new(MemoryStore::new())).await;
    let doc = s.client(None).get("/api/v1/openapi.json").await;
    assert_eq!(doc.status, 200);
    let paths = doc.body["paths"].as_object().unwrap();
    let table = api();
    let mut n = 0;
    for (path, item) in paths {
        for (method, _) in item.as_object().unwrap() {
            n += 1;
            // Every documented operation is served: not the router's "no such route" nor
            // "method not allowed".
            let url = path.replace("{id}", "x");
            let r = s
                .admin
                .raw(
                    &method.to_uppercase(),
                    &url,
                    b"{}".to_vec(),
                    Some("application/json"),
                )
                .await;
            assert!(
                r.body["error"] != "method_not_allowed" && r.body["detail"] != "no such route",
                "{method} {path} is documented but not served: {}",
                r.body
            );
        }
    }
    assert_eq!(
        n,
        table.routes().len(),
        "one operation per route of the table"
    );
    // Every path the router serves is documented: probe each method on each documented
    // path; whatever is not documented must be refused by the router itself.
    for path in paths.keys() {
        let url = path.replace("{id}", "x");
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let documented = paths[path].get(method.to_lowercase()).is_some();
            if documented {
                continue;
            }
            let r = s
                .admin
                .raw(method, &url, b"{}".to_vec(), Some("application/json"))
                .await;
            assert_eq!(
                r.status, 405,
                "{method} {path} is served but not documented"
            );
        }
    }
    s.stop().await;
}
