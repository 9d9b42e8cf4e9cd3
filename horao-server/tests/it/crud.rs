//! CRUD round trips over every entity kind, against every store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::{Client, TestServer, stores};
use serde_json::{Value, json};

/// Creates `body` under `path`, checks 201 and an id, and returns the id.
async fn create(c: &Client, path: &str, body: Value) -> String {
    let r = c.post(path, &body).await;
    assert_eq!(r.status, 201, "POST {path}: {}", r.body);
    let id = r.body["id"].as_str().expect("an id").to_string();
    let got = c.get(&format!("{path}/{id}")).await;
    assert_eq!(got.status, 200, "GET {path}/{id}: {}", got.body);
    let mut posted = r.body.clone();
    if path.ends_with("/maintenance") {
        // Creating a window also answers what it affects; the window itself is the view.
        let o = posted.as_object_mut().unwrap();
        assert!(o.remove("affected_reservations").unwrap().is_array());
        assert!(o.remove("affected_tenants").unwrap().is_array());
    }
    assert_eq!(got.body, posted, "GET answers what POST did");
    let list = c.get(&format!("{path}?limit=1000")).await;
    assert_eq!(list.status, 200);
    assert!(
        list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id.as_str()),
        "{path} lists {id}"
    );
    id
}

/// Builds an inventory with one of everything; returns the ids by kind.
pub(crate) async fn populate(c: &Client) -> Vec<(&'static str, String)> {
    let dc = create(
        c,
        "/api/v1/datacenters",
        json!({"name": "Amsterdam 1", "labels": {"tier": "gold"}}),
    )
    .await;
    let row = create(c, "/api/v1/rows", json!({"datacenter": dc, "name": "A"})).await;
    let rack = create(
        c,
        "/api/v1/racks",
        json!({"row": row, "name": "k1", "height_units": 42}),
    )
    .await;
    let device = create(
        c,
        "/api/v1/devices",
        json!({"name": "node 1", "kind": "server", "mount": {"rack": {"rack": rack, "unit": 10}}}),
    )
    .await;
    let infra = create(
        c,
        "/api/v1/infrastructures",
        json!({"name": "EU", "datacenters": {dc.clone(): "active"}}),
    )
    .await;
    let tenant = create(
        c,
        "/api/v1/tenants",
        json!({"name": "Acme", "owner": "ann", "quotas": {"cores": 512}}),
    )
    .await;
    let t = c.get(&format!("/api/v1/tenants/{tenant}")).await;
    assert_eq!(t.body["quotas"]["cores"], 512, "{}", t.body);
    let profile = create(
        c,
        "/api/v1/profiles",
        json!({"name": "small", "demand": {"cpu_cores": 1, "ram_bytes": 0, "accelerators": 0,
            "disk_hdd_bytes": 0, "disk_ssd_bytes": 0, "disk_nvme_bytes": 0, "network_mbps": 0}}),
    )
    .await;
    let maintenance = create(
        c,
        "/api/v1/maintenance",
        json!({"devices": [device], "start": 10, "end": 20, "reason": "firmware"}),
    )
    .await;
    let m = c
        .put(
            "/api/v1/machines/st1",
            &json!({"labels": {"disk": "nvme"}, "device": device}),
        )
        .await;
    assert_eq!(m.status, 200, "{}", m.body);
    let image = create(
        c,
        "/api/v1/images",
        json!({"name": "debian", "size_bytes": 1024, "url": "https://example.invalid/d.img"}),
    )
    .await;
    let instance = create(c, "/api/v1/instances", json!({"name": "vm1"})).await;
    let env = create(c, "/api/v1/environments", json!({"name": "prod"})).await;
    let res = create(c, "/api/v1/resources", json!({"name": "db"})).await;
    vec![
        ("datacenters", dc),
        ("rows", row),
        ("racks", rack),
        ("devices", device),
        ("infrastructures", infra),
        ("tenants", tenant),
        ("profiles", profile),
        ("maintenance", maintenance),
        ("machines", "st1".to_string()),
        ("images", image),
        ("instances", instance),
        ("environments", env),
        ("resources", res),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_round_trips() {
    for kind in stores() {
        let home = kind.home();
        let s = TestServer::start(home.open()).await;
        let c = &s.admin;
        let ids = populate(c).await;
        // PATCH where the API offers it.
        let dc = &ids[0].1;
        let r = c
            .patch(
                &format!("/api/v1/datacenters/{dc}"),
                &json!({"site": "Science Park"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}: {}", kind.name, r.body);
        assert_eq!(r.body["site"], "Science Park");
        assert_eq!(r.body["name"], "Amsterdam 1", "absent fields stay");
        let env = &ids[11].1;
        let r = c
            .patch(
                &format!("/api/v1/environments/{env}"),
                &json!({"description": "live"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["description"], "live");
        // Paging: limit and cursor.
        for _ in 0..3 {
            create(c, "/api/v1/datacenters", json!({"name": "more"})).await;
        }
        let p1 = c.get("/api/v1/datacenters?limit=2").await;
        assert_eq!(p1.body["items"].as_array().unwrap().len(), 2);
        assert_eq!(p1.body["total"], 4);
        let next = p1.body["next"].as_str().unwrap().to_string();
        let p2 = c
            .get(&format!("/api/v1/datacenters?limit=2&after={next}"))
            .await;
        assert_eq!(p2.body["items"].as_array().unwrap().len(), 2);
        assert!(p2.body["next"].is_null());
        let named = c.get("/api/v1/datacenters?name=more").await;
        assert_eq!(named.body["total"], 3);
        // Deletes, children first; then 404.
        for (path, id) in ids.iter().rev() {
            if matches!(*path, "rows" | "datacenters" | "racks" | "devices") {
                continue;
            }
            if let Some(field) = match *path {
                "environments" => Some("environment.status"),
                "machines" => Some("machine.state"),
                _ => None,
            } {
                // Only destroyed environments and retired machines are deleted: the model's
                // rule, as a 422 naming the field.
                let r = c.delete(&format!("/api/v1/{path}/{id}")).await;
                assert_eq!(r.status, 422, "{}", r.body);
                assert_eq!(r.body["field"], field);
                continue;
            }
            let r = c.delete(&format!("/api/v1/{path}/{id}")).await;
            assert_eq!(
                r.status, 204,
                "{}: DELETE {path}/{id}: {}",
                kind.name, r.body
            );
            let r = c.get(&format!("/api/v1/{path}/{id}")).await;
            assert_eq!(r.status, 404, "{path}/{id} is gone: {}", r.body);
            assert_eq!(r.body["error"], "not_found");
        }
        for (path, id) in [&ids[3], &ids[2], &ids[1], &ids[0]] {
            let r = c.delete(&format!("/api/v1/{path}/{id}")).await;
            assert_eq!(r.status, 204, "DELETE {path}/{id}: {}", r.body);
        }
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_are_placed_and_reported() {
    for kind in stores() {
        let home = kind.home();
        let s = TestServer::start(home.open()).await;
        let c = &s.admin;
        // Nothing to place on yet: 409 with the reason.
        let r = c
            .post(
                "/api/v1/volumes",
                &json!({"name": "pg-data", "size_bytes": 1000}),
            )
            .await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains("cannot be placed"),
            "{}",
            r.body
        );
        // The agent of st1 registers and reports its machine.
        let agent = s.minted(json!({"role": "agent", "machine": "st1"})).await;
        let r = agent
            .put(
                "/api/v1/machines/st1",
                &json!({"labels": {"disk": "nvme"}, "state": "ready", "capacity_bytes": 1_000_000u64, "used_bytes": 0}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = c
            .post(
                "/api/v1/volumes",
                &json!({"name": "pg-data", "size_bytes": 1000, "dilation_percent": 10, "mode": "0750",
                        "require_labels": {"disk": "nvme"}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}: {}", kind.name, r.body);
        assert_eq!(r.body["machine"], "st1", "{}", r.body);
        let id = r.body["id"].as_str().unwrap().to_string();
        // Too big for any machine: 409.
        let r = c
            .post(
                "/api/v1/volumes",
                &json!({"name": "huge", "size_bytes": 10_000_000u64}),
            )
            .await;
        assert_eq!(r.status, 409, "{}", r.body);
        // The same name twice: 409.
        let r = c
            .post(
                "/api/v1/volumes",
                &json!({"name": "pg-data", "size_bytes": 10}),
            )
            .await;
        assert_eq!(r.status, 409, "{}", r.body);
        // Only the holder's agent (or an admin, acting as it) reports current state.
        let report =
            json!({"state": "ready", "used_bytes": 10, "limit_bytes": 1100, "initialized": true});
        let other = s.minted(json!({"role": "agent", "machine": "st2"})).await;
        let r = other
            .put(&format!("/api/v1/volumes/{id}/current"), &report)
            .await;
        assert_eq!(
            r.status, 403,
            "another machine's agent may not report: {}",
            r.body
        );
        let r = agent
            .put(&format!("/api/v1/volumes/{id}/current"), &report)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        // Deletion is a request: the volume stays until its agent reports it gone.
        let r = c.delete(&format!("/api/v1/volumes/{id}")).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let r = c.get(&format!("/api/v1/volumes/{id}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patches_maintenance_impact_and_volume_retry_and_purge() {
    for kind in stores() {
        let home = kind.home();
        let s = TestServer::start(home.open()).await;
        let c = &s.admin;
        let ids: std::collections::HashMap<_, _> = populate(c).await.into_iter().collect();
        let (dc, infra, tenant) = (
            &ids["datacenters"],
            &ids["infrastructures"],
            &ids["tenants"],
        );

        // Infrastructures: rename and drop a member in one PATCH.
        let r = c
            .patch(
                &format!("/api/v1/infrastructures/{infra}"),
                &json!({"name": "Europe", "datacenters": {dc.clone(): null}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}: {}", kind.name, r.body);
        assert_eq!(r.body["name"], "Europe");
        assert_eq!(r.body["datacenters"], json!({}), "{}", r.body);
        let r = c
            .patch(
                &format!("/api/v1/infrastructures/{infra}"),
                &json!({"datacenters": {"dc-nowhere": "active"}}),
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.body);
        let r = c
            .patch(
                &format!("/api/v1/infrastructures/{infra}"),
                &json!({"datacenters": {dc.clone(): "active"}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);

        // Tenants: rename, a delegate, a quota set and one cleared, constraints replaced.
        let r = c
            .patch(
                &format!("/api/v1/tenants/{tenant}"),
                &json!({"name": "Acme Corp", "delegates": {"bob": true},
                        "quotas": {"cores": null, "ram_mib": 1024},
                        "constraints": {"datacenters": [dc]}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}: {}", kind.name, r.body);
        assert_eq!(r.body["name"], "Acme Corp");
        assert_eq!(r.body["owner"], "ann", "an absent field stays");
        assert_eq!(r.body["delegates"], json!(["bob"]));
        assert_eq!(r.body["quotas"], json!({"ram_mib": 1024}), "{}", r.body);
        assert_eq!(r.body["constraints"]["datacenters"], json!([dc]));
        let r = c
            .patch(
                &format!("/api/v1/tenants/{tenant}"),
                &json!({"quotas": {"bananas": 1}}),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.body);

        // A reservation, then a maintenance window over its devices lists it.
        let device = &ids["devices"];
        // A second server with cores holds the reservation; the window takes the first down.
        let r = c
            .post(
                "/api/v1/devices",
                &json!({"name": "node 2", "kind": "server",
                        "mount": {"rack": {"rack": ids["racks"], "unit": 20}},
                        "hardware": {"cpus": [{"cores": 8, "clock_mhz": 2000}]}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let profile = ids["profiles"].clone();
        let r = c
            .post(
                "/api/v1/reservations",
                &json!({"infrastructure": infra, "tenant": tenant, "profile": profile,
                        "count": 1, "start": 100, "end": 200}),
            )
            .await;
        assert_eq!(r.status, 201, "{}: {}", kind.name, r.body);
        let reservation = r.body["id"].as_str().unwrap().to_string();
        let r = c
            .post(
                "/api/v1/maintenance",
                &json!({"devices": [device], "start": 150, "end": 160, "reason": "disks"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}: {}", kind.name, r.body);
        assert_eq!(r.body["affected_reservations"], json!([reservation]));
        assert_eq!(r.body["affected_tenants"], json!([tenant]));
        let m = r.body["id"].as_str().unwrap().to_string();
        let r = c
            .post(
                "/api/v1/maintenance",
                &json!({"devices": [device], "start": 300, "end": 310, "reason": "later"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["affected_reservations"], json!([]));
        // Maintenance: PATCH replaces the window.
        let r = c
            .patch(
                &format!("/api/v1/maintenance/{m}"),
                &json!({"devices": [device], "start": 150, "end": 170, "reason": "disks"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["end"], 170);
        let r = c
            .patch(
                &format!("/api/v1/maintenance/{m}"),
                &json!({"devices": [device], "start": 170, "end": 150, "reason": "disks"}),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.body);

        // Volumes: retry only after a failure; purge only after deletion and a gone report.
        let agent = s.minted(json!({"role": "agent", "machine": "st1"})).await;
        let r = agent
            .put(
                "/api/v1/machines/st1",
                &json!({"state": "ready", "capacity_bytes": 1_000_000u64, "used_bytes": 0}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = c
            .post(
                "/api/v1/volumes",
                &json!({"name": "v1", "size_bytes": 1000}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let v = r.body["id"].as_str().unwrap().to_string();
        let r = c
            .post(&format!("/api/v1/volumes/{v}/retry"), &json!({}))
            .await;
        assert_eq!(r.status, 422, "not failed yet: {}", r.body);
        // A move is refused, clearly, and changes nothing (copying data between machines is
        // not implemented yet).
        let before = c.get(&format!("/api/v1/volumes/{v}")).await.body;
        let r = c
            .post(&format!("/api/v1/volumes/{v}/move"), &json!({"to": "st2"}))
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["field"], "to", "{}", r.body);
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains("not implemented"),
            "{}",
            r.body
        );
        assert_eq!(c.get(&format!("/api/v1/volumes/{v}")).await.body, before);
        let r = c
            .post("/api/v1/volumes/volume-nope/move", &json!({"to": "st2"}))
            .await;
        assert_eq!(r.status, 404, "{}", r.body);
        let failed = json!({"state": "failed", "used_bytes": 0, "limit_bytes": 0, "initialized": false,
                            "reason": "disk full"});
        let r = agent
            .put(&format!("/api/v1/volumes/{v}/current"), &failed)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = c
            .post(&format!("/api/v1/volumes/{v}/retry"), &json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["attempt"], 1, "{}", r.body);
        let r = c
            .post(&format!("/api/v1/volumes/{v}/purge"), &json!({}))
            .await;
        assert_eq!(r.status, 422, "not deleted: {}", r.body);
        assert_eq!(c.delete(&format!("/api/v1/volumes/{v}")).await.status, 204);
        let gone =
            json!({"state": "gone", "used_bytes": 0, "limit_bytes": 0, "initialized": false});
        let r = agent
            .put(&format!("/api/v1/volumes/{v}/current"), &gone)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = c
            .post(&format!("/api/v1/volumes/{v}/purge"), &json!({}))
            .await;
        assert_eq!(r.status, 204, "{}: {}", kind.name, r.body);
        assert_eq!(c.get(&format!("/api/v1/volumes/{v}")).await.status, 404);
        s.stop().await;
    }
}
