//! Entry points of the model fuzz targets: decoding a stored model snapshot, and decoding a
//! replicated model delta and applying it to a model that holds every layer.
//!
//! The same file is compiled into horao-model's test binary (`tests/it/fuzz_replay.rs`
//! includes it), which replays the committed corpus on stable: the fuzzer and CI run exactly
//! the same code on the same bytes. It uses only horao-model and horao-crdt's public API.
//!
//! Each entry point takes arbitrary bytes and returns normally for every input: input that
//! does not decode is an `Err` the entry point drops. What decoded or applied data must
//! satisfy is an `assert!`, because a panic is what the fuzzer reports.

// Panicking on a violated invariant is the purpose of this module.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use horao_crdt::wire::{self, Kind};
use horao_crdt::{Causal, Replica, ReplicaId, Timestamp};
use horao_model::Actor;
use horao_model::api::{self, ListQuery};
use horao_model::ids::{DatacenterId, MachineId, ResourceId, VolumeId};
use horao_model::logical::Scope;
use horao_model::model::Model;
use horao_model::physical::{DatacenterInfo, NetworkKind};
use horao_model::snapshot::{decode_snapshot, encode_snapshot};
use horao_model::storage::{MachineReport, MachineState};
use std::sync::OnceLock;

/// Payload limit the entry points decode with: small, so oversized input is exercised too.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// The model deltas are applied to: horao-model's pinned snapshot holding every layer
/// (datacenters to links, an infrastructure, a tenant, a reservation and a maintenance
/// window, machines, volumes, an image and an instance, an environment and resources).
const BASE_HEX: &str =
    include_str!("../../horao-model/testdata/formats/model-snapshot-full-v2.hex");

/// The decoded base state, built once.
pub fn base() -> &'static Causal<Model> {
    static BASE: OnceLock<Causal<Model>> = OnceLock::new();
    BASE.get_or_init(|| {
        let hex = BASE_HEX.trim();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        decode_snapshot(&bytes, MAX_PAYLOAD).expect("the pinned snapshot decodes")
    })
}

/// Decodes `bytes` as a model snapshot; whatever decodes must validate, round-trip, and
/// answer every query without panicking.
pub fn decode_snapshot_entry(bytes: &[u8]) {
    let Ok(state) = decode_snapshot(bytes, MAX_PAYLOAD) else {
        return;
    };
    check_state(&state, "a decoded snapshot");
}

/// Decodes `bytes` as a model delta and applies it to a replica of [`base`] whose derived
/// indexes are built. Whatever decodes must apply without panicking and leave a valid state
/// whose patched indexes equal rebuilt ones; a second delivery changes nothing; the replica
/// still takes local mutations (or refuses them with a typed error).
pub fn apply_delta_entry(bytes: &[u8]) {
    let Ok(delta) = wire::decode_causal::<Model>(Kind::Delta, bytes, MAX_PAYLOAD) else {
        return;
    };
    let _ = delta.store.touched();
    let base = base();
    let mut r = Replica::from_state(ReplicaId(1), base.clone());
    r.state().build_fit_index();
    r.apply(delta.clone());
    let after = r.causal().clone();
    assert!(after.ctx.includes(&base.ctx), "the context shrank");
    assert!(
        after.ctx.includes(&delta.ctx),
        "the delta's context was not joined"
    );
    check_state(&after, "the state after a delta");
    r.apply(delta);
    assert_eq!(r.causal(), &after, "a second delivery changed the state");
    mutate(&mut r);
    check_state(r.causal(), "the state after local mutations");
}

/// Checks a state that decoded or resulted from applying a delta.
fn check_state(state: &Causal<Model>, what: &str) {
    state
        .validate()
        .unwrap_or_else(|e| panic!("{what} does not validate: {e}"));
    let m = &state.store;
    // Indexes patched delta by delta (or built now) equal rebuilt ones.
    m.build_fit_index();
    assert!(m.indexes_are_consistent(), "{what}: indexes drifted");
    let conflicts = m.conflicts();
    assert!(conflicts.is_sorted(), "{what}: conflicts unsorted");
    // The state survives a snapshot round trip, with the same report.
    let bytes = encode_snapshot(state).expect("a valid state encodes");
    let back = decode_snapshot(&bytes, usize::MAX).expect("its snapshot decodes");
    assert_eq!(&back, state, "{what} does not round-trip");
    assert_eq!(
        back.store.conflicts(),
        conflicts,
        "{what}: report differs after decoding"
    );
    // Every query answers: listings (and so the views) of every table, search, placement.
    let _ = m.capacity(&Scope::default());
    for kind in [NetworkKind::Data, NetworkKind::Management] {
        let _ = m.physical.topology(kind).components();
    }
    let q = ListQuery::default();
    let totals = [
        api::physical::list_datacenters(m, &q).map(|p| (p.items.len(), p.total)),
        api::physical::list_rows(m, &q).map(|p| (p.items.len(), p.total)),
        api::physical::list_racks(m, &q).map(|p| (p.items.len(), p.total)),
        api::physical::list_devices(m, &q).map(|p| (p.items.len(), p.total)),
        api::physical::list_links(m, &q).map(|p| (p.items.len(), p.total)),
        api::logical::list_infrastructures(m, &q).map(|p| (p.items.len(), p.total)),
        api::logical::list_tenants(m, &q).map(|p| (p.items.len(), p.total)),
        api::logical::list_profiles(m, &q).map(|p| (p.items.len(), p.total)),
        api::claims::list_reservations(m, &q).map(|p| (p.items.len(), p.total)),
        api::claims::list_maintenance(m, &q).map(|p| (p.items.len(), p.total)),
        api::storage::list_machines(m, &q).map(|p| (p.items.len(), p.total)),
        api::storage::list_volumes(m, &q).map(|p| (p.items.len(), p.total)),
        api::storage::list_images(m, &q).map(|p| (p.items.len(), p.total)),
        api::storage::list_instances(m, &q).map(|p| (p.items.len(), p.total)),
        api::environments::list_environments(m, &q).map(|p| (p.items.len(), p.total)),
        api::environments::list_resources(m, &q).map(|p| (p.items.len(), p.total)),
    ];
    for t in totals {
        let (items, total) = t.unwrap_or_else(|e| panic!("{what}: a listing fails: {e}"));
        assert!(items <= total, "{what}: a page holds more than the total");
    }
    for (id, _) in m.environments.resources() {
        let _ = m.environments.depends_on(id);
    }
    for (_, spec) in m.claims.maintenance_specs() {
        let _ = m.maintenance_impact(spec);
    }
    let volumes: Vec<_> = m
        .storage
        .volumes()
        .map(|(id, _)| id.clone())
        .take(8)
        .collect();
    let _ = m.place_volumes(&volumes, 0);
    let _ = api::search::search_model(m, "a", 10);
}

/// Local mutations of every layer on `r`: each succeeds or fails with a typed error.
fn mutate(r: &mut Replica<Model>) {
    let ts = Timestamp::new(1 << 40, 0).expect("timestamp");
    let by = Actor::User;
    let dc = DatacenterId::new("fz-dc").expect("id");
    let info = DatacenterInfo {
        name: "Fuzz".into(),
        site: String::new(),
    };
    let _ = r.try_mutate(|m, tx| m.create_datacenter(&by, &dc, info, &[], ts, tx));
    let _ = r.try_mutate(|m, tx| m.delete_datacenter(&by, &dc, tx));
    let machine = MachineId::new("st-1").expect("id");
    let report = MachineReport {
        state: MachineState::Ready,
        capacity_bytes: 1 << 40,
        used_bytes: 1 << 20,
        orphans: Vec::new(),
    };
    let agent = Actor::Agent(machine.clone());
    let _ = r.try_mutate(|m, tx| m.report_machine(&agent, &machine, report, ts, tx));
    let volume = VolumeId::new("vol-2").expect("id");
    let _ = r.try_mutate(|m, tx| m.place_volume(&Actor::Server, &volume, 0, ts, tx));
    let _ = r.try_mutate(|m, tx| m.assign_volume(&Actor::Server, &volume, &machine, ts, tx));
    let db = ResourceId::new("db").expect("id");
    let _ = r.try_mutate(|m, tx| m.delete_resource(&by, &db, tx));
}
