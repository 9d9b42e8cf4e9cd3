//! Pinned stored encodings of the physical, logical and claims documents and of the whole
//! model snapshot (schema header plus `Kind::State` envelope), and the snapshot header check.
//!
//! Each vector lives under `testdata/formats/` as hex. A change of any stored shape fails
//! here: bump `SCHEMA_VERSION` (keeping a migration from the old shape) and re-bless with
//! `HORAO_BLESS=1 cargo test -p horao-model --test formats`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "physical/script.rs"]
mod script;

use horao_crdt::wire::{self, Kind};
use horao_crdt::{Causal, DotStore};
use horao_model::Error;
use horao_model::claims::Claims;
use horao_model::logical::Logical;
use horao_model::model::Model;
use horao_model::physical::Physical;
use horao_model::snapshot::{SCHEMA_VERSION, SnapshotHeader, decode_snapshot, encode_snapshot};
use script::World;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A representative model: every physical entity kind (hardware, ports, a chassis with a
/// blade, links, labels), an infrastructure, a tenant with delegates, quotas and
/// constraints, a profile, a reservation and a maintenance window.
const DOC: &str = "
a dc dc-a name=Alpha site=Amsterdam labels=eu => ok
a dc dc-b name=Bravo site=Boston => ok
a row r1 dc=dc-a name=R1 => ok
a row r2 dc=dc-a name=R2 at=start => ok
a row r3 dc=dc-b name=R3 => ok
a rack k1 row=r1 name=K1 height=42 => ok
a rack k2 row=r1 name=K2 height=20 at=start => ok
a rack k3 row=r3 name=K3 height=42 => ok
a device sw1 kind=switch rack=k1 unit=42 ports=swp1:100000,swp2:100000,mgmt:1000 => ok
a device n1 rack=k1 unit=1 height=2 cpus=32@2400,32@2400 ram=524288 disks=nvme:4000,ssd:960 gpus=h100,h100 ports=eth0:100000,ipmi:1000 labels=gpu,rack=k1 => ok
a device n2 rack=k2 unit=3 cpus=16@2000 ram=131072 disks=hdd:8000 ports=eth0:25000 => ok
a device ch1 kind=chassis rack=k3 unit=1 height=10 => ok
a device bl1 kind=blade chassis=ch1 slot=1 cpus=24@2600 ram=196608 disks=nvme:1000 => ok
a link l1 a=n1:eth0 b=sw1:swp1 speed=100000 => ok
a link l2 a=n2:eth0 b=sw1:swp2 speed=25000 => ok
a infra i1 name=Prod => ok
a member i1 dc-a => ok
a member i1 dc-b role=standby => ok
a tenant t1 name=T1 owner=ann => ok
a delegate t1 +bob => ok
a quota t1 cores=64 => ok
a quota t1 ram_mib=262144 => ok
a constraint t1 +dc:dc-a => ok
a constraint t1 +disk:nvme => ok
a constraint t1 +label:gpu => ok
a profile p1 name=gpu-node cores=8 ram_mib=65536 accelerators=1 disk_nvme_gib=100 => ok
a reserve c1 infra=i1 tenant=t1 profile=p1 count=2 window=100..200 => ok
a maintain m1 devices=n2 window=150..160 => ok
";

fn world() -> World {
    let mut w = World::default();
    w.script(DOC).unwrap();
    w
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares `bytes` with the vector `testdata/formats/<name>.hex` (rewriting it first under
/// `HORAO_BLESS`).
fn pinned(name: &str, bytes: &[u8]) {
    let path = format!("{}/testdata/formats/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    let hex = hex(bytes);
    if std::env::var_os("HORAO_BLESS").is_some() {
        std::fs::write(&path, format!("{hex}\n")).unwrap();
    }
    let pinned = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}; bless it with HORAO_BLESS=1"));
    assert_eq!(
        hex,
        pinned.trim(),
        "the stored encoding of {name} changed: bump SCHEMA_VERSION and keep a migration"
    );
}

/// Pins one sub-document's store in a `Kind::State` envelope and checks that it decodes back.
fn pin_store<S>(name: &str, store: &S) -> S
where
    S: DotStore + Serialize + DeserializeOwned,
{
    assert!(
        !store.is_bottom(),
        "{name}: the representative document is empty"
    );
    let bytes = wire::encode(Kind::State, store).unwrap();
    pinned(name, &bytes);
    let back: S = wire::decode(Kind::State, &bytes, 1 << 20).unwrap();
    back.validate().unwrap();
    assert_eq!(&back, store);
    back
}

#[test]
fn physical_encoding_is_pinned() {
    let mut w = world();
    let p = w.model("a").physical.clone();
    assert_eq!(p.devices.keys().count(), 5);
    assert_eq!(p.links.keys().count(), 2);
    let back: Physical = pin_store("physical-v1", &p);
    // The derived index is not stored: decoding rebuilds it.
    assert!(back.index().same_entries(p.index()));
    assert!(back.index().ports().count() >= 4);
}

#[test]
fn logical_encoding_is_pinned() {
    let mut w = world();
    let l = w.model("a").logical.clone();
    let t = l.tenants.get(&"t1".parse().unwrap()).unwrap();
    assert_eq!(t.constraint_list().len(), 3);
    assert_eq!(t.quotas.keys().count(), 2);
    let _: Logical = pin_store("logical-v1", &l);
}

#[test]
fn claims_encoding_is_pinned() {
    let mut w = world();
    let c = w.model("a").claims.clone();
    assert_eq!(c.reservations.keys().count(), 1);
    assert_eq!(c.maintenance.keys().count(), 1);
    let _: Claims = pin_store("claims-v1", &c);
}

#[test]
fn model_snapshot_is_pinned() {
    let mut w = world();
    let state: Causal<Model> = w.node("a").replica.causal().clone();
    let bytes = encode_snapshot(&state).unwrap();
    // The header, then an ordinary `Kind::State` envelope.
    assert_eq!(bytes[..SnapshotHeader::LEN], SCHEMA_VERSION.to_le_bytes());
    let envelope: Causal<Model> =
        wire::decode_causal(Kind::State, &bytes[SnapshotHeader::LEN..], 1 << 20).unwrap();
    assert_eq!(envelope, state);
    pinned("model-snapshot-v1", &bytes);
    let back = decode_snapshot(&bytes, 1 << 20).unwrap();
    assert_eq!(back, state);
    assert!(back.store.physical.index_is_consistent());
    assert_eq!(back.store.conflicts(), state.store.conflicts());
}

#[test]
fn snapshots_of_other_schema_versions_are_refused() {
    let mut w = world();
    let bytes = encode_snapshot(w.node("a").replica.causal()).unwrap();
    for version in [0, SCHEMA_VERSION + 1, u16::MAX] {
        let mut other = bytes.clone();
        other[..SnapshotHeader::LEN].copy_from_slice(&version.to_le_bytes());
        assert_eq!(
            decode_snapshot(&other, 1 << 20).unwrap_err(),
            Error::UnsupportedSchema {
                found: version,
                min: 1,
                max: SCHEMA_VERSION
            }
        );
    }
    assert!(matches!(
        decode_snapshot(&bytes[..1], 1 << 20),
        Err(Error::Crdt(horao_crdt::Error::Truncated { len: 1 }))
    ));
    assert!(matches!(
        decode_snapshot(&bytes[..bytes.len() - 1], 1 << 20),
        Err(Error::Crdt(_))
    ));
    assert_eq!(SnapshotHeader::current().check(), Ok(()));
}
