//! Pinned stored encodings: each sub-document (physical, logical, claims, storage,
//! environments) in a `Kind::State` envelope, and whole-model snapshots (schema header plus
//! envelope) of the physical, logical and claims layers and of every layer at once; and the
//! snapshot header check.
//!
//! Each vector lives under `testdata/formats/` as hex (see [`crate::support::pin`]); its
//! suffix is the schema version that last changed what it pins (the physical, logical and
//! claims shapes are those of schema 1). The schema-2 vectors of storage and of whole
//! snapshots stay, read by this build through the migration to schema 3. A change of any stored shape fails here: bump
//! `SCHEMA_VERSION` (keeping a migration from the old shape, or refusing it as schema 1 is)
//! and re-bless with `HORAO_BLESS=1`.

use crate::support::index_entries;
use crate::support::pin::{pinned, read};
use crate::support::transcript::{Clock, World, desired_path};
use horao_crdt::wire::{self, Kind};
use horao_crdt::{Causal, DotStore};
use horao_model::Error;
use horao_model::claims::Claims;
use horao_model::environments::Environments;
use horao_model::logical::Logical;
use horao_model::model::Model;
use horao_model::physical::Physical;
use horao_model::schema::decoding_as;
use horao_model::snapshot::{
    MIN_SCHEMA_VERSION, SCHEMA_VERSION, SnapshotHeader, decode_snapshot, decode_stored,
    decode_versioned_snapshot, encode_snapshot,
};
use horao_model::storage::{Storage, VolumeState};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A representative model of the physical, logical and claims layers: every physical entity
/// kind (hardware, ports, a chassis with a blade, links, labels), an infrastructure, a tenant
/// with delegates, quotas and constraints, a profile, a reservation and a maintenance window.
pub(crate) const DOC: &str = "
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

/// Representative storage: machines with labels, one on an inventory device, and reports; a
/// volume owned by a tenant, with labels and required labels, made from an image, placed,
/// reported and initialized; a clone waiting for placement; an image with a replica; an
/// instance running on the volume. Ids and names differ from every id of [`DOC`], so each
/// names one entity of one kind.
pub(crate) const STORAGE: &str = "
a machine-register st-1 labels=disk=nvme,zone=dc-a device=n1 => ok
a machine-report st-1 state=ready capacity=100000 used=100 by=agent:st-1 => ok
a machine-register st-2 labels=disk=hdd => ok
a machine-state st-2 ready => ok
a machine-report st-2 state=ready capacity=50000 by=agent:st-2 => ok
a image-create img-1 name=Debian_13 size=80 url=http://mirror.example/debian.img => ok
a volume-create vol-1 name=data-1 size=1000 dilation=25 uid=1000 gid=100 mode=750 labels=team=db require=disk=nvme tenant=t1 image=img-1 => ok
a volume-create vol-2 name=data-2 size=10 from-volume=vol-1 => ok
a volume-assign vol-1 st-1 by=server => ok
a volume-report vol-1 state=ready used=80 initialized=true by=agent:st-1 => ok
a image-replica-add img-1 pool=pool-1 volume=vol-1 => ok
a instance-create vm-1 name=web => ok
a instance-attach vm-1 vol-1 => ok
a instance-state vm-1 running => ok
";

/// Representative environments (over [`DOC`], whose tenant owns a resource): an environment
/// with tags, entry points, status endpoints and resources, past its first transition;
/// resources depending on each other and on an external id.
pub(crate) const ENVIRONMENTS: &str = "
a env-create shop name=Web_shop description=The_customer_shop tags=prod,team-a entry=https://shop.example status=https://shop.example/health => ok
a env-status shop deployed_validating => ok
a res-create db name=Database tags=postgres tenant=t1 => ok
a res-create api name=API description=Orders_and_carts status=http://api.example/health => ok
a dep-add api db => ok
a dep-add db external:s3://backups => ok
a env-add shop api => ok
a env-add shop db => ok
";

/// A world that has run `parts` in order on replica `a`.
fn world(parts: &[&str]) -> World {
    let mut w = World::default();
    for p in parts {
        w.script(p).unwrap();
    }
    w
}

/// The model of every layer at once ([`DOC`], [`STORAGE`], [`ENVIRONMENTS`]) on replica `a`.
pub(crate) fn every_layer() -> World {
    world(&[DOC, STORAGE, ENVIRONMENTS])
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

/// Pins a whole-model snapshot and checks that it decodes to the same state and report.
fn pin_snapshot(name: &str, state: &Causal<Model>) {
    let bytes = encode_snapshot(state).unwrap();
    // The header, then an ordinary `Kind::State` envelope.
    assert_eq!(bytes[..SnapshotHeader::LEN], SCHEMA_VERSION.to_le_bytes());
    let envelope: Causal<Model> =
        wire::decode_causal(Kind::State, &bytes[SnapshotHeader::LEN..], 1 << 20).unwrap();
    assert_eq!(&envelope, state);
    pinned(name, &bytes);
    let back = decode_snapshot(&bytes, 1 << 20).unwrap();
    assert_eq!(&back, state);
    assert!(back.store.indexes_are_consistent());
    assert_eq!(
        index_entries(&back.store.physical),
        index_entries(&state.store.physical)
    );
    assert_eq!(back.store.conflicts(), state.store.conflicts());
}

#[test]
fn physical_encoding_is_pinned() {
    let mut w = world(&[DOC]);
    let p = w.model("a").physical.clone();
    assert_eq!(p.devices.keys().count(), 5);
    assert_eq!(p.links.keys().count(), 2);
    let back: Physical = pin_store("physical-v1", &p);
    // The derived index is not stored: decoding rebuilds it.
    assert_eq!(index_entries(&back), index_entries(&p));
    assert!(back.index().ports().count() >= 4);
}

#[test]
fn logical_encoding_is_pinned() {
    let mut w = world(&[DOC]);
    let l = w.model("a").logical.clone();
    let t = l.tenants.get(&"t1".parse().unwrap()).unwrap();
    assert_eq!(t.constraint_list().len(), 3);
    assert_eq!(t.quotas.keys().count(), 2);
    let _: Logical = pin_store("logical-v1", &l);
}

#[test]
fn claims_encoding_is_pinned() {
    let mut w = world(&[DOC]);
    let c = w.model("a").claims.clone();
    assert_eq!(c.reservations.keys().count(), 1);
    assert_eq!(c.maintenance.keys().count(), 1);
    let _: Claims = pin_store("claims-v1", &c);
}

#[test]
fn storage_encoding_is_pinned() {
    // A storage state with its context (holding only storage dots), written with a clock of
    // one millisecond a step from 1,000, as the first storage vector was.
    let mut w = World::with_clock(Clock {
        epoch_ms: 1_000,
        tick_ms: 1,
        period: None,
    });
    w.script(&desired_path(VolumeState::Moving)).unwrap();
    w.script(
        "
        a image-create img1 name=base size=5 url=http://example.invalid/base.img => ok
        a instance-create i1 name=web => ok
        ",
    )
    .unwrap();
    let c = w.replica("a").causal();
    let state = Causal {
        store: c.store.storage.clone(),
        ctx: c.ctx.clone(),
    };
    let bytes = wire::encode(Kind::State, &state).unwrap();
    pinned("storage-v3", &bytes);
    let back: Causal<Storage> = wire::decode(Kind::State, &bytes, 1 << 20).unwrap();
    assert_eq!(back, state);
    // The same state as schema 2 stored it (no orphans, nested subvolumes or image homes in
    // this document) is read by this build into the same state.
    let v2 = read("storage-v2");
    assert_ne!(v2, bytes, "schema 3 changed the stored shape");
    let migrated: Causal<Storage> =
        decoding_as(2, || wire::decode(Kind::State, &v2, 1 << 20)).unwrap();
    assert_eq!(migrated, state);
}

#[test]
fn environments_encoding_is_pinned() {
    let mut w = every_layer();
    let e = w.model("a").environments.clone();
    assert_eq!(e.environments().count(), 1);
    assert_eq!(e.resources().count(), 2);
    let _: Environments = pin_store("environments-v2", &e);
}

#[test]
fn model_snapshot_is_pinned() {
    let mut w = world(&[DOC]);
    pin_snapshot("model-snapshot-v3", w.replica("a").causal());
}

#[test]
fn model_snapshot_of_every_layer_is_pinned() {
    let mut w = every_layer();
    let state = w.replica("a").causal().clone();
    let m = &state.store;
    assert_eq!(m.physical.devices.len(), 5);
    assert_eq!(m.logical.tenants.len(), 1);
    assert_eq!(m.claims.reservation_specs().count(), 1);
    assert_eq!(m.storage.machines().count(), 2);
    assert_eq!(m.storage.volumes().count(), 2);
    assert_eq!(m.storage.images().count(), 1);
    assert_eq!(m.storage.instances().count(), 1);
    assert_eq!(m.environments.environments().count(), 1);
    assert_eq!(m.environments.resources().count(), 2);
    assert_eq!(w.run("a", "show conflicts"), "-");
    pin_snapshot("model-snapshot-full-v3", &state);
}

#[test]
fn a_snapshot_of_schema_2_is_read_and_migrated() {
    // Every layer as schema 2 stored it: its reports and images had none of schema 3's
    // fields, so the migrated state is the one this build makes from the same script.
    let mut w = every_layer();
    let state = w.replica("a").causal().clone();
    for name in ["model-snapshot-full-v2", "model-snapshot-v2"] {
        let v2 = read(name);
        assert_eq!(v2[..SnapshotHeader::LEN], 2u16.to_le_bytes(), "{name}");
        let (back, version) = decode_versioned_snapshot(&v2, 1 << 20).unwrap();
        assert_eq!(version, 2);
        if name == "model-snapshot-full-v2" {
            assert_eq!(back, state);
            assert!(back.store.indexes_are_consistent());
        }
        // Read as schema 3 (its header rewritten), the same bytes do not decode.
        let mut as_v3 = v2.clone();
        as_v3[..SnapshotHeader::LEN].copy_from_slice(&3u16.to_le_bytes());
        if name == "model-snapshot-full-v2" {
            assert!(decode_snapshot(&as_v3, 1 << 20).is_err());
        }
    }
    // A stored delta of schema 2 (no header: the store keeps its version) decodes the same.
    let v2 = read("model-snapshot-full-v2");
    let body = &v2[SnapshotHeader::LEN..];
    assert_eq!(decode_stored(Kind::State, body, 2, 1 << 20).unwrap(), state);
    assert!(decode_stored(Kind::State, body, 3, 1 << 20).is_err());
    assert_eq!(
        decode_stored(Kind::State, body, 1, 1 << 20).unwrap_err(),
        Error::UnsupportedSchema {
            found: 1,
            min: MIN_SCHEMA_VERSION,
            max: SCHEMA_VERSION
        }
    );
}

#[test]
fn snapshots_of_other_schema_versions_are_refused() {
    let mut w = every_layer();
    let bytes = encode_snapshot(w.replica("a").causal()).unwrap();
    for version in [0, SCHEMA_VERSION + 1, u16::MAX] {
        let mut other = bytes.clone();
        other[..SnapshotHeader::LEN].copy_from_slice(&version.to_le_bytes());
        assert_eq!(
            decode_snapshot(&other, 1 << 20).unwrap_err(),
            Error::UnsupportedSchema {
                found: version,
                min: MIN_SCHEMA_VERSION,
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

#[test]
fn a_snapshot_of_schema_1_is_refused() {
    // Schema 1 was never written by a released server: no migration reads it (see
    // `snapshot::SCHEMA_VERSION`), and its pinned snapshot is refused by its header alone.
    let v1 = read("model-snapshot-v1");
    assert_eq!(v1[..SnapshotHeader::LEN], 1u16.to_le_bytes());
    assert_eq!(
        decode_snapshot(&v1, 1 << 20).unwrap_err(),
        Error::UnsupportedSchema {
            found: 1,
            min: MIN_SCHEMA_VERSION,
            max: SCHEMA_VERSION
        }
    );
}
