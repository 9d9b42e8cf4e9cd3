//! A store written by an older schema of the model: start-up reads it with that schema,
//! migrates it, and rewrites it as a snapshot in the current one before committing anything.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::{TestServer, stores};
use horao_model::snapshot::SCHEMA_VERSION;
use horao_server::store::Commit;
use horao_server::upgrade::META_SCHEMA;
use serde_json::json;

/// The pinned schema-2 snapshot of every layer (horao-model's test vector).
fn schema_2_snapshot() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../horao-model/testdata/formats/model-snapshot-full-v2.hex"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.trim();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_schema_2_is_migrated_at_start() {
    let v2 = schema_2_snapshot();
    assert_eq!(v2[..2], 2u16.to_le_bytes());
    for kind in stores() {
        let home = kind.home();
        {
            // What a schema-2 server left: its snapshot, and a journal entry after it (the
            // snapshot's state again, journalled as a full state received from a peer is).
            let store = home.open();
            store.write_snapshot(v2.clone(), 0).await.unwrap();
            let seq = store
                .commit(Commit {
                    delta: v2[2..].to_vec(),
                    meta: Vec::new(),
                })
                .await
                .unwrap();
            assert!(seq > 0, "{}", kind.name);
            store.close().await.unwrap();
        }
        let s = TestServer::start(home.open()).await;
        let machine = s.admin.get("/api/v1/machines/st-1").await;
        assert_eq!(machine.status, 200, "{}: {:?}", kind.name, machine.body);
        assert_eq!(machine.body["capacity_bytes"], 100_000, "{}", kind.name);
        assert_eq!(machine.body["orphans"], json!([]), "{}", kind.name);
        let volume = s.admin.get("/api/v1/volumes/vol-1").await;
        assert_eq!(volume.body["name"], "data-1", "{}", kind.name);
        assert_eq!(volume.body["current"]["nested"], json!([]), "{}", kind.name);
        let image = s.admin.get("/api/v1/images/img-1").await;
        assert_eq!(image.body["machine"], json!(null), "{}", kind.name);
        // A report in the current schema, with what schema 2 could not hold.
        let report = json!({
            "labels": {"disk": "nvme"},
            "state": "ready",
            "capacity_bytes": 1000,
            "used_bytes": 10,
            "orphans": ["stray", "tmp/left"],
        });
        let put = s.admin.put("/api/v1/machines/st-9", &report).await;
        assert!(put.status < 300, "{}: {:?}", kind.name, put.body);
        s.stop().await;

        // The store now holds a snapshot of the current schema and says so for its journal.
        let store = home.open();
        let loaded = store.load().await.unwrap();
        let snapshot = loaded.snapshot.expect("a snapshot");
        assert_eq!(snapshot[..2], SCHEMA_VERSION.to_le_bytes(), "{}", kind.name);
        assert_eq!(
            loaded.meta.get(META_SCHEMA).map(Vec::as_slice),
            Some(&SCHEMA_VERSION.to_le_bytes()[..]),
            "{}",
            kind.name
        );
        store.close().await.unwrap();

        // And a restart reads both.
        let s = TestServer::start(home.open()).await;
        let machine = s.admin.get("/api/v1/machines/st-9").await;
        assert_eq!(
            machine.body["orphans"],
            json!(["stray", "tmp/left"]),
            "{}",
            kind.name
        );
        assert_eq!(
            s.admin.get("/api/v1/volumes/vol-1").await.body["name"],
            "data-1"
        );
        s.stop().await;
    }
}
