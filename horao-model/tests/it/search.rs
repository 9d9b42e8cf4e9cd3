//! Text search: token matching over names, tags, ids and descriptions, deterministic
//! ranking, any source through the `Searchable` trait, and the root model as a source.

use crate::support::transcript::World;
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
fn environments_resources_and_devices_are_searchable_through_the_model() {
    let mut w = World::default();
    w.script(
        "
        a env-create pay name=Payments description=Card_payments_for_the_shop tags=prod => ok
        a res-create pay-db name=Payments_database tags=postgres,prod => ok
        a dc dc-a name=Alpha => ok
        a row r1 dc=dc-a name=R1 => ok
        a rack k1 row=r1 name=K1 height=10 => ok
        a device db-1 rack=k1 unit=1 name=Database_host model=Dell_R650 labels=postgres => ok
        ",
    )
    .unwrap();
    let model = w.model("a");
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
    assert_eq!(render("postgres"), "device:db-1:6 resource:pay-db:6");
    assert_eq!(render("shop"), "environment:pay:2");
    assert_eq!(render("card shop"), "environment:pay:4");
    assert_eq!(render("database"), "device:db-1:8 resource:pay-db:8");
    assert_eq!(render("dell"), "device:db-1:2");
}
