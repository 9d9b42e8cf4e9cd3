//! Roles: 401 without or with a wrong token, 403 for the wrong role; a tenant sees and
//! changes only its own objects; an agent writes only its own machine's state.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::{TestServer, stores};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_roles() {
    for kind in stores() {
        let home = kind.home();
        let s = TestServer::start(home.open()).await;
        let c = &s.admin;
        assert_eq!(s.client(None).get("/api/v1/datacenters").await.status, 401);
        let r = s.client(Some("wrong")).get("/api/v1/datacenters").await;
        assert_eq!(r.status, 401);
        assert_eq!(r.body["error"], "unauthorized");
        // Health needs no token.
        assert_eq!(s.client(None).get("/api/v1/health/live").await.status, 200);
        assert_eq!(s.client(None).get("/api/v1/health/ready").await.status, 200);

        for t in ["acme", "globex"] {
            let r = c
                .post("/api/v1/tokens", &json!({"role": "tenant", "tenant": t}))
                .await;
            assert_eq!(r.status, 201, "{}", r.body);
        }
        let acme_t = c
            .post("/api/v1/tenants", &json!({"name": "Acme", "owner": "ann"}))
            .await;
        let acme_id = acme_t.body["id"].as_str().unwrap().to_string();
        let globex_t = c
            .post(
                "/api/v1/tenants",
                &json!({"name": "Globex", "owner": "gus"}),
            )
            .await;
        let globex_id = globex_t.body["id"].as_str().unwrap().to_string();
        let acme = s.minted(json!({"role": "tenant", "tenant": acme_id})).await;
        let globex = s
            .minted(json!({"role": "tenant", "tenant": globex_id}))
            .await;
        // Tenants may not mint tokens or edit the inventory.
        let r = acme
            .post(
                "/api/v1/tokens",
                &json!({"role": "tenant", "tenant": acme_id}),
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r = acme
            .post("/api/v1/datacenters", &json!({"name": "mine"}))
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
        // A tenant creates its own environment; the other tenant neither sees nor changes it.
        let r = acme
            .post(
                "/api/v1/environments",
                &json!({"name": "prod", "tenant": acme_id}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let env = r.body["id"].as_str().unwrap().to_string();
        let r = c
            .post("/api/v1/environments", &json!({"name": "shared"}))
            .await;
        assert_eq!(r.status, 201);
        let r = acme
            .post(
                "/api/v1/environments",
                &json!({"name": "theirs", "tenant": globex_id}),
            )
            .await;
        assert_eq!(
            r.status, 403,
            "a tenant may not create for another: {}",
            r.body
        );
        let r = globex.get(&format!("/api/v1/environments/{env}")).await;
        assert_eq!(r.status, 404, "{}", r.body);
        let r = globex
            .patch(
                &format!("/api/v1/environments/{env}"),
                &json!({"description": "x"}),
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.body);
        let r = globex.delete(&format!("/api/v1/environments/{env}")).await;
        assert_eq!(r.status, 404, "{}", r.body);
        let l = globex.get("/api/v1/environments").await;
        assert_eq!(l.body["total"], 0, "{}", l.body);
        let l = acme.get("/api/v1/environments").await;
        assert_eq!(l.body["total"], 1, "{}", l.body);
        assert_eq!(l.body["items"][0]["id"], env.as_str());
        let l = c.get("/api/v1/environments").await;
        assert_eq!(l.body["total"], 2, "the admin sees everything");
        let r = acme.get(&format!("/api/v1/tenants/{globex_id}")).await;
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(acme.get("/api/v1/tenants").await.body["total"], 1);
        let r = acme
            .patch(
                &format!("/api/v1/environments/{env}"),
                &json!({"description": "ours"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);

        // Agents: one machine each.
        let a1 = s.minted(json!({"role": "agent", "machine": "m1"})).await;
        let report = json!({"state": "ready", "capacity_bytes": 100, "used_bytes": 0});
        assert_eq!(a1.put("/api/v1/machines/m1", &report).await.status, 200);
        let r = a1.put("/api/v1/machines/m2", &report).await;
        assert_eq!(r.status, 403, "{}", r.body);
        // An admin token on the agent's routes acts as the machine's agent.
        let r = c.put("/api/v1/machines/m3", &report).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["state"], "ready", "{}", r.body);
        let vol = c
            .post(
                "/api/v1/volumes",
                &json!({"name": "by-admin", "size_bytes": 10}),
            )
            .await;
        assert_eq!(vol.status, 201, "{}", vol.body);
        let current = json!({"state": "ready", "used_bytes": 1, "limit_bytes": 10,
            "initialized": true, "degraded": false, "reason": ""});
        let path = format!(
            "/api/v1/volumes/{}/current",
            vol.body["id"].as_str().unwrap()
        );
        let r = c.put(&path, &current).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["reported_by"], vol.body["machine"], "{}", r.body);
        let r = a1.post("/api/v1/datacenters", &json!({"name": "x"})).await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r = c.post("/api/v1/tokens", &json!({"role": "admin"})).await;
        assert_eq!(r.status, 422, "{}", r.body);
        s.stop().await;
    }
}
