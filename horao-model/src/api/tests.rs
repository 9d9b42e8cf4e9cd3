//! Request shapes turn into the model's arguments or errors naming the field; listings page
//! with a cursor and filters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::storage::{CreateVolume, PutMachine, parse_mode};
use super::*;
use crate::actor::Actor;
use crate::ids::DatacenterId;
use crate::model::Model;
use crate::physical::DatacenterInfo;
use horao_crdt::{Replica, ReplicaId, Timestamp};

fn volume(json: &str) -> Result<CreateVolume> {
    serde_json::from_str(json).map_err(|e| Error::invalid("body", e.to_string()))
}

#[test]
fn a_volume_request_needs_only_name_and_size() {
    let v = volume(r#"{"name": "data-1", "size_bytes": 1000}"#).unwrap();
    let (spec, source) = v.to_model().unwrap();
    assert_eq!(spec.name.as_str(), "data-1");
    assert_eq!(spec.permissions.mode, 0o750);
    assert_eq!(spec.quota_bytes(), Some(1000));
    assert!(source.is_none());
    let v = volume(
        r#"{"name": "d", "size_bytes": 100, "dilation_percent": 25, "mode": "0700",
            "labels": {"team": "db"}, "require_labels": {"ssd": "", "zone": "a"},
            "image": "base", "tenant": "acme"}"#,
    )
    .unwrap();
    let (spec, source) = v.to_model().unwrap();
    assert_eq!(spec.quota_bytes(), Some(125));
    let req: Vec<&str> = spec.require_labels.iter().map(|l| l.as_str()).collect();
    assert_eq!(req, ["ssd", "zone=a"]);
    assert_eq!(
        source,
        Some(crate::storage::Source::Image("base".parse().unwrap()))
    );
}

#[test]
fn bad_volume_requests_name_the_field() {
    let cases = [
        (r#"{"name": "../x", "size_bytes": 1}"#, "volume.name"),
        (r#"{"name": ".x", "size_bytes": 1}"#, "volume.name"),
        (r#"{"name": "a/b", "size_bytes": 1}"#, "volume.name"),
        (r#"{"name": "x", "size_bytes": 0}"#, "volume.size_bytes"),
        (
            r#"{"name": "x", "size_bytes": 1, "mode": "0999"}"#,
            "volume.mode",
        ),
        (
            r#"{"name": "x", "size_bytes": 1, "mode": "17777"}"#,
            "volume.mode",
        ),
        (
            r#"{"name": "x", "size_bytes": 1, "labels": {"a b": ""}}"#,
            "volume.labels",
        ),
        (
            r#"{"name": "x", "size_bytes": 1, "dilation_percent": 5000}"#,
            "volume.dilation_percent",
        ),
        (
            r#"{"name": "x", "size_bytes": 1, "tenant": "t/1"}"#,
            "tenant.id",
        ),
    ];
    for (json, field) in cases {
        let e = volume(json)
            .and_then(|v| v.to_model())
            .unwrap_err()
            .to_string();
        assert!(e.contains(field), "{json}: {e}");
    }
    assert!(volume(r#"{"name": "x", "size_bytes": 1, "colour": "red"}"#).is_err());
    assert!(volume(r#"{"name": "x", "size_bytes": -1}"#).is_err());
    assert_eq!(parse_mode("0o755").unwrap(), 0o755);
}

#[test]
fn a_machine_report_comes_whole_or_not_at_all() {
    let p: PutMachine = serde_json::from_str(r#"{"labels": {"ssd": ""}}"#).unwrap();
    assert!(p.to_model().unwrap().1.is_none());
    let p: PutMachine =
        serde_json::from_str(r#"{"state": "ready", "capacity_bytes": 10, "used_bytes": 2}"#)
            .unwrap();
    assert_eq!(p.to_model().unwrap().1.unwrap().capacity_bytes, 10);
    let p: PutMachine = serde_json::from_str(r#"{"state": "ready"}"#).unwrap();
    assert!(p.to_model().is_err());
}

#[test]
fn listings_page_by_cursor() {
    let mut r: Replica<Model> = Replica::new(ReplicaId(1));
    let ts = Timestamp::new(1, 0).unwrap();
    for i in 0..5 {
        let id = DatacenterId::new(format!("dc-{i}")).unwrap();
        let info = DatacenterInfo {
            name: if i % 2 == 0 {
                "even".into()
            } else {
                "odd".into()
            },
            site: String::new(),
        };
        r.try_mutate(|m, tx| m.create_datacenter(&Actor::User, &id, info, &[], ts, tx))
            .unwrap();
    }
    let m = r.state();
    let q = |limit, after: Option<&str>| ListQuery {
        limit: Some(limit),
        after: after.map(str::to_string),
        ..ListQuery::default()
    };
    let p = physical::list_datacenters(m, &q(2, None)).unwrap();
    let ids: Vec<&str> = p.items.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        (ids, p.total, p.next.as_deref()),
        (vec!["dc-0", "dc-1"], 5, Some("dc-1"))
    );
    let p = physical::list_datacenters(m, &q(2, Some("dc-3"))).unwrap();
    assert_eq!(p.items.len(), 1);
    assert_eq!(p.next, None);
    let even = ListQuery {
        name: Some("even".into()),
        ..ListQuery::default()
    };
    assert_eq!(physical::list_datacenters(m, &even).unwrap().total, 3);
    assert!(physical::list_datacenters(m, &q(0, None)).is_err());
    assert!(physical::list_datacenters(m, &q(1001, None)).is_err());
    assert!(physical::list_datacenters(m, &q(1, Some("../x"))).is_err());
}
