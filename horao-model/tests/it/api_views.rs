//! The JSON of every API view (`horao_model::api`), pinned under `testdata/api/`: one entity of
//! each kind from the model of every layer (`formats::every_layer`). A renamed field or enum
//! value fails here, since it changes the public API; the pinned JSON also decodes back to
//! the same view.

use crate::formats::every_layer;
use crate::support::pin::pinned_json;
use horao_model::api::{claims, environments, logical, physical, storage};
use horao_model::model::Model;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::str::FromStr;

/// Pins the view `of(m, id)` of the entity `id` as `testdata/api/<name>.json`.
fn pin<I, V>(name: &str, m: &Model, id: &str, of: fn(&Model, &I) -> Option<V>)
where
    I: FromStr<Err = horao_model::Error>,
    V: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let id: I = id.parse().unwrap();
    let view = of(m, &id).unwrap_or_else(|| panic!("{name}: no such entity"));
    let json = serde_json::to_string_pretty(&view).unwrap();
    pinned_json(name, &json);
    let back: V = serde_json::from_str(&json).unwrap();
    assert_eq!(back, view, "{name}: the view does not decode back");
}

#[test]
fn every_view_is_pinned() {
    let mut w = every_layer();
    let m = w.model("a");
    pin("datacenter", m, "dc-a", physical::DatacenterView::of);
    pin("row", m, "r1", physical::RowView::of);
    pin("rack", m, "k1", physical::RackView::of);
    pin("device", m, "n1", physical::DeviceView::of);
    pin("device-blade", m, "bl1", physical::DeviceView::of);
    pin("link", m, "l1", physical::LinkView::of);
    pin("infrastructure", m, "i1", logical::InfrastructureView::of);
    pin("tenant", m, "t1", logical::TenantView::of);
    pin("profile", m, "p1", logical::ProfileView::of);
    pin("reservation", m, "c1", claims::ReservationView::of);
    pin("maintenance", m, "m1", claims::MaintenanceView::of);
    pin("machine", m, "st-1", storage::MachineView::of);
    pin("volume", m, "vol-1", storage::VolumeView::of);
    pin("volume-unplaced", m, "vol-2", storage::VolumeView::of);
    pin("image", m, "img-1", storage::ImageView::of);
    pin("instance", m, "vm-1", storage::InstanceView::of);
    pin("environment", m, "shop", environments::EnvironmentView::of);
    pin("resource", m, "api", environments::ResourceView::of);
}

/// Pins the JSON of a request shape as `testdata/api/request-<name>.json`, checks that the
/// pinned JSON decodes to the same request, and that `check` accepts it.
fn pin_request<R>(name: &str, req: &R, check: impl Fn(&R) -> bool)
where
    R: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let json = serde_json::to_string_pretty(req).unwrap();
    pinned_json(&format!("request-{name}"), &json);
    let back: R = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, req, "{name}: the request does not decode back");
    assert!(check(&back), "{name}: the model refuses the pinned request");
}

#[test]
fn every_request_is_pinned() {
    use horao_model::api::claims::{CreateMaintenance, CreateReservation};
    use horao_model::api::environments::{EnvironmentRequest, ResourceRequest};
    use horao_model::api::logical::{
        CapacityView, CreateInfrastructure, CreateTenant, ProfileRequest,
    };
    use horao_model::api::physical::{
        CreateDatacenter, CreateDevice, CreateLink, CreateRack, CreateRow, HardwareView, MountView,
        PortRefView, Position,
    };
    use horao_model::api::storage::{
        CloneVolume, CreateImage, CreateInstance, CreateVolume, PutMachine, ResizeVolume,
        VolumeCurrentView,
    };
    use horao_model::physical::{DeviceKind, NetworkKind};
    use horao_model::storage::{MachineState, VolumeState};
    use std::collections::BTreeMap;
    let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    pin_request(
        "datacenter",
        &CreateDatacenter {
            name: "Amsterdam 1".into(),
            site: "Science Park".into(),
            labels: labels(&[("region", "eu")]),
        },
        |r| r.to_model().is_ok(),
    );
    pin_request(
        "row",
        &CreateRow {
            datacenter: "ams-1".into(),
            name: "Row A".into(),
            position: Position {
                after: Some("r0".into()),
                before: None,
            },
        },
        |r| r.to_model().is_ok(),
    );
    pin_request(
        "rack",
        &CreateRack {
            row: "r1".into(),
            name: "A01".into(),
            height_units: 42,
            labels: labels(&[("power", "a")]),
            position: Position::default(),
        },
        |r| r.to_model().is_ok(),
    );
    pin_request(
        "device",
        &CreateDevice {
            name: "node 1".into(),
            kind: DeviceKind::Server,
            model: "R760".into(),
            height_units: 2,
            mount: MountView::Rack {
                rack: "k1".parse().unwrap(),
                unit: 10,
            },
            position: Position::default(),
            hardware: HardwareView {
                ram_bytes: 512 << 30,
                ..HardwareView::default()
            },
            labels: labels(&[("gpu", "")]),
        },
        |r| r.to_model().is_ok(),
    );
    pin_request(
        "link",
        &CreateLink {
            a: PortRefView {
                device: "n1".parse().unwrap(),
                port: "eth0".into(),
            },
            b: PortRefView {
                device: "sw1".parse().unwrap(),
                port: "swp1".into(),
            },
            speed_mbps: 100_000,
            kind: NetworkKind::Data,
        },
        |r| r.to_model().a.port == "eth0",
    );
    pin_request(
        "infrastructure",
        &CreateInfrastructure {
            name: "EU".into(),
            datacenters: BTreeMap::from([(
                "ams-1".to_string(),
                horao_model::logical::Membership::Active,
            )]),
        },
        |r| r.to_model().is_ok(),
    );
    pin_request(
        "tenant",
        &CreateTenant {
            name: "Acme".into(),
            owner: "ann".into(),
            delegates: vec!["bob".into()],
            quotas: BTreeMap::from([("cores".to_string(), 512)]),
            constraints: Default::default(),
        },
        |r| r.to_model().is_ok(),
    );
    pin_request(
        "profile",
        &ProfileRequest {
            name: "gpu-node".into(),
            demand: CapacityView {
                cpu_cores: 64,
                ram_bytes: 512 << 30,
                accelerators: 4,
                ..CapacityView::default()
            },
        },
        |r| !r.to_model().demand.is_zero(),
    );
    pin_request(
        "reservation",
        &CreateReservation {
            infrastructure: "i1".into(),
            tenant: "t1".into(),
            profile: "p1".into(),
            count: 4,
            start: 1_000,
            end: 2_000,
        },
        |r| r.to_model().is_ok(),
    );
    pin_request(
        "maintenance",
        &CreateMaintenance {
            devices: vec!["n1".into()],
            start: 1_000,
            end: 2_000,
            reason: "firmware".into(),
        },
        |r| r.to_model().is_ok(),
    );
    pin_request(
        "volume",
        &CreateVolume {
            name: "pg-data".into(),
            size_bytes: 100 << 30,
            dilation_percent: 10,
            owner_uid: 999,
            owner_gid: 999,
            mode: "0750".into(),
            labels: labels(&[("app", "postgres")]),
            require_labels: labels(&[("disk", "nvme")]),
            image: Some("pg-16".into()),
            tenant: Some("acme".into()),
        },
        |r| r.to_model().is_ok(),
    );
    pin_request(
        "volume-resize",
        &ResizeVolume {
            size_bytes: 200 << 30,
            dilation_percent: None,
        },
        |r| r.size_bytes > 0,
    );
    pin_request(
        "volume-clone",
        &CloneVolume {
            name: "pg-copy".into(),
            size_bytes: None,
            dilation_percent: Some(20),
        },
        |r| !r.name.is_empty(),
    );
    pin_request(
        "volume-current",
        &VolumeCurrentView {
            state: VolumeState::Rejected,
            used_bytes: 0,
            limit_bytes: 0,
            initialized: false,
            degraded: false,
            reason: "no space: 10 GiB free, quota 110 GiB".into(),
            nested: vec![],
        },
        |r| r.to_model().validate().is_ok(),
    );
    pin_request(
        "machine",
        &PutMachine {
            labels: labels(&[("disk", "nvme"), ("zone", "a")]),
            device: Some("st1".into()),
            state: Some(MachineState::Ready),
            capacity_bytes: Some(4 << 40),
            used_bytes: Some(1 << 40),
            orphans: vec!["old-backup".into()],
        },
        |r| matches!(r.to_model(), Ok((_, Some(_)))),
    );
    pin_request(
        "image",
        &CreateImage {
            name: "PostgreSQL 16".into(),
            size_bytes: 2 << 30,
            from_volume: None,
            url: Some("https://images.example/pg16.btrfs".into()),
        },
        |r| r.to_model().is_ok(),
    );
    pin_request(
        "instance",
        &CreateInstance {
            name: "db-1".into(),
        },
        |r| r.to_model().name == "db-1",
    );
    pin_request(
        "environment",
        &EnvironmentRequest {
            name: Some("Shop".into()),
            description: Some("The web shop".into()),
            tags: Some(vec!["prod".into()]),
            entry_points: Some(vec!["https://shop.example".into()]),
            status_endpoints: None,
            tenant: Some("acme".into()),
        },
        |r| r.to_model().is_ok(),
    );
    pin_request(
        "resource",
        &ResourceRequest {
            name: Some("api".into()),
            description: None,
            tags: None,
            status_endpoints: Some(vec!["https://api.example/health".into()]),
            tenant: None,
        },
        |r| r.to_model().is_ok(),
    );
}
