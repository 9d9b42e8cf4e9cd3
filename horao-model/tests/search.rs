//! Text search: token matching over names, tags, ids and descriptions, deterministic
//! ranking, any source through the `Searchable` trait, and the root model as a source.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use horao_crdt::{Replica, ReplicaId, Timestamp};
use horao_model::environments::*;
use horao_model::model::Model;
use horao_model::search::{Document, Searchable, search};

/// A fixed list of documents: (kind, id, name, description, tags).
struct Fixed(
    Vec<(
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        Vec<&'static str>,
    )>,
);

impl Searchable for Fixed {
    fn for_each_document(&self, f: &mut dyn FnMut(Document<'_>)) {
        for (kind, id, name, description, tags) in &self.0 {
            f(Document {
                kind,
                id,
                name,
                description,
                tags: tags.clone(),
            });
        }
    }
}

fn devices() -> Fixed {
    Fixed(vec![
        (
            "device",
            "sw-01",
            "Core switch",
            "Arista 7050",
            vec!["network", "core"],
        ),
        (
            "device",
            "srv-01",
            "Database server",
            "Dell R650",
            vec!["compute", "db"],
        ),
        (
            "device",
            "srv-02",
            "Web server",
            "Dell R650",
            vec!["compute"],
        ),
        ("device", "srv-03", "Spare", "database appliance", vec![]),
    ])
}

/// Runs `query` over the fixed devices and renders `kind:id:score` hits.
fn check(query: &str, expect: &str) {
    let hits = search(query, &[&devices()], 10);
    let got: Vec<String> = hits
        .iter()
        .map(|h| format!("{}:{}:{}", h.kind, h.id, h.score))
        .collect();
    assert_eq!(got.join(" "), expect, "query {query:?}");
}

#[test]
fn matching_and_ranking() {
    check("database", "device:srv-01:8 device:srv-03:2");
    check("data", "device:srv-01:4 device:srv-03:1");
    check("dell", "device:srv-01:2 device:srv-02:2");
    check("DELL server", "device:srv-01:10 device:srv-02:10");
    check("compute", "device:srv-01:6 device:srv-02:6");
    check("core", "device:sw-01:8");
    check("srv 02", "device:srv-02:10");
    check("dell nothing", "");
    check("", "");
    check(" -- ", "");
}

#[test]
fn limit_truncates_after_ranking() {
    let hits = search("r650", &[&devices()], 1);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, "srv-01");
}

#[test]
fn environments_and_resources_are_searchable_through_the_model() {
    let mut r: Replica<Model> = Replica::new(ReplicaId(1));
    let ts = Timestamp::new(1, 0).unwrap();
    let env = EnvironmentInput {
        name: Some("Payments".into()),
        description: Some("Card payments for the shop".into()),
        tags: Some(vec!["prod".into()]),
        ..Default::default()
    };
    r.try_mutate(|m, tx| {
        m.environments
            .create_environment(&EnvironmentId::new("pay").unwrap(), env, ts, tx)
            .map(Model::from)
    })
    .unwrap();
    let res = ResourceInput {
        name: Some("Payments database".into()),
        tags: Some(vec!["postgres".into(), "prod".into()]),
        ..Default::default()
    };
    r.try_mutate(|m, tx| {
        m.environments
            .create_resource(&ResourceId::new("pay-db").unwrap(), res, ts, tx)
            .map(Model::from)
    })
    .unwrap();
    let model = r.state();
    let render = |q: &str| -> String {
        search(q, &[model], 10)
            .iter()
            .map(|h| format!("{}:{}:{}", h.kind, h.id, h.score))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(render("payments"), "environment:pay:8 resource:pay-db:8");
    assert_eq!(
        render("prod payments"),
        "environment:pay:14 resource:pay-db:14"
    );
    assert_eq!(render("postgres"), "resource:pay-db:6");
    assert_eq!(render("shop"), "environment:pay:2");
    assert_eq!(render("card shop"), "environment:pay:4");
    assert_eq!(render("database"), "resource:pay-db:8");
}
