//! Criterion benchmark of horao-model at the scale of its goals: snapshot encode, decode
//! (with validation) and both together for a model of 50,000 devices, 10,000 machines and
//! 100,000 volumes; capacity-fit queries (reservation, update, maintenance), the
//! earliest-start search, rebuilding the fit index and a whole admission against 10,000
//! claims; applying one delta to the big model.
//!
//! Snapshots are `horao_model::snapshot`'s (the schema header, then horao-crdt's wire envelope
//! of the full state), as the server stores them. `cargo bench -p horao-bench --bench model`
//! for the figures. Under `cargo bench -- --test`
//! (what CI runs) criterion runs each benchmark once, and the models are built at their small
//! scale (`ModelConfig::small`, `ClaimsConfig::small`) so the run takes seconds; setting
//! `HORAO_BENCH_SMALL=1` measures the small scale in a normal run. Workloads are in
//! `horao_bench::model_workload`; memory is measured by the `model-footprint` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use horao_bench::model_workload::claims::{ClaimsConfig, build_claims};
use horao_bench::model_workload::{BuiltModel, ModelConfig, build_model};
use horao_crdt::{Causal, CausalContext, DotStore, JoinMode, Timestamp, Tx};
use horao_model::claims::{ClaimId, FitContext};
use horao_model::model::Model;
use horao_model::physical::DeviceKind;
use horao_model::snapshot::{decode_snapshot, encode_snapshot};
use horao_model::storage::{MachineReport, MachineState, VolumeReport, VolumeState};
use horao_model::{Actor, Label};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Small models: under `cargo bench -- --test` (criterion then runs each benchmark once) or
/// when `HORAO_BENCH_SMALL` is set.
fn small() -> bool {
    std::env::args().any(|a| a == "--test") || std::env::var_os("HORAO_BENCH_SMALL").is_some()
}

/// Mints a delta with `f` against the replica's state, the way `try_mutate` does, without
/// applying it.
fn mint(
    built: &BuiltModel,
    f: impl FnOnce(&Model, &mut Tx) -> horao_model::Result<Model>,
) -> Causal<Model> {
    let r = &built.replica;
    let mut tx = Tx::new(r.id(), r.ctx().max(r.id()));
    let store = f(r.state(), &mut tx).unwrap();
    let delta = tx.finish(store).unwrap();
    assert!(
        !delta.is_empty(),
        "the mutation changes nothing: the bench would time a no-op"
    );
    delta
}

/// Times `iters` applications of fresh deltas made by `make(i)`, each stamped with the next
/// tick of the workload's clock; minting is not timed.
fn time_applies(
    built: &mut BuiltModel,
    iters: u64,
    make: impl Fn(&BuiltModel, Timestamp, u64) -> Causal<Model>,
) -> Duration {
    let mut total = Duration::ZERO;
    for i in 0..iters {
        let ts = built.clock.tick();
        let delta = make(built, ts, i);
        let t = Instant::now();
        black_box(built.replica.apply(delta));
        total += t.elapsed();
    }
    total
}

fn snapshot(c: &mut Criterion, built: &BuiltModel) {
    let state = built.replica.causal();
    let bytes = encode_snapshot(state).unwrap();
    let decode = |b: &[u8]| decode_snapshot(b, b.len()).unwrap();
    assert_eq!(&decode(&bytes), state);
    println!("model snapshot: {} bytes", bytes.len());

    let mut g = c.benchmark_group("model/snapshot");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(15));
    g.bench_function("encode", |b| {
        b.iter(|| encode_snapshot(black_box(state)).unwrap())
    });
    g.bench_function("decode-validate", |b| {
        b.iter_with_large_drop(|| decode(black_box(&bytes)))
    });
    g.bench_function("encode-decode", |b| {
        b.iter_with_large_drop(|| decode(&encode_snapshot(black_box(state)).unwrap()))
    });
    g.finish();
}

/// The `i`-th report of a volume whose quota is `limit`: usage moves by 2% of the limit each
/// time, so every report is a delta (the model replicates nothing below a 1% step).
fn volume_usage(limit: u64, i: u64) -> VolumeReport {
    VolumeReport {
        limit_bytes: limit,
        ..VolumeReport::new(VolumeState::Ready, (i % 40 + 1) * (limit / 50), true)
    }
}

fn deltas(c: &mut Criterion, built: &mut BuiltModel) {
    let machine = built.machines[built.machines.len() / 2].clone();
    let (volume, holder) = built.volumes[built.volumes.len() / 2].clone();
    let volume_limit = built
        .model()
        .storage
        .volume(&volume)
        .and_then(|v| v.quota_bytes())
        .unwrap();
    let server = built
        .devices
        .iter()
        .rev()
        .find(|(_, k)| *k == DeviceKind::Server)
        .map(|(d, _)| d.clone())
        .unwrap();
    let hardware = built
        .model()
        .physical
        .devices
        .get(&server)
        .unwrap()
        .hardware
        .get()
        .cloned()
        .unwrap();

    let machine_report = |built: &BuiltModel, ts: Timestamp, i: u64| {
        // Usage moves by 2% of the capacity each time: a report below the model's 1% step
        // would be an empty delta.
        let capacity_bytes = 7_680 << 30;
        let report = MachineReport {
            state: MachineState::Ready,
            capacity_bytes,
            used_bytes: (i % 40 + 1) * (capacity_bytes / 50),
            orphans: Vec::new(),
        };
        let agent = Actor::Agent(machine.clone());
        mint(built, |m, tx| {
            m.report_machine(&agent, &machine, report, ts, tx)
        })
    };
    let volume_report = |built: &BuiltModel, ts: Timestamp, i: u64| {
        let report = volume_usage(volume_limit, i);
        let agent = Actor::Agent(holder.clone());
        mint(built, |m, tx| {
            m.report_volume(&agent, &volume, report, ts, tx)
        })
    };
    let set_hardware = |built: &BuiltModel, ts: Timestamp, i: u64| {
        let mut hw = hardware.clone();
        hw.ram_mib += (i % 2) * 1024;
        mint(built, |m, tx| {
            m.set_hardware(&Actor::User, &server, hw, ts, tx)
        })
    };

    let mut g = c.benchmark_group("model/delta");
    g.bench_function("apply/machine-report", |b| {
        b.iter_custom(|n| time_applies(built, n, machine_report))
    });
    g.bench_function("apply/volume-report", |b| {
        b.iter_custom(|n| time_applies(built, n, volume_report))
    });
    g.bench_function("apply/device-hardware", |b| {
        b.iter_custom(|n| time_applies(built, n, set_hardware))
    });
    // A label removal: its device delta is bottom, which the physical index must still see
    // (it once rebuilt the whole index then: 44 ms at 50,000 devices). Add and remove are
    // timed together below (an untimed step per timed one would make criterion's iteration
    // count explode); the two are printed apart here.
    let label = Label::new("maintenance=pending").unwrap();
    let (mut add, mut remove) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..10 {
        for (present, sum) in [(true, &mut add), (false, &mut remove)] {
            let d = mint(built, |m, tx| {
                m.label_device(&Actor::User, &server, &label, present, tx)
            });
            let t = Instant::now();
            black_box(built.replica.apply(d));
            *sum += t.elapsed();
        }
    }
    println!(
        "model/delta: device label add {:.1} µs, remove {:.1} µs (mean of 10)",
        add.as_secs_f64() * 1e5,
        remove.as_secs_f64() * 1e5
    );
    g.bench_function("apply/device-label-add-remove", |b| {
        b.iter_custom(|n| {
            let mut total = Duration::ZERO;
            for _ in 0..n {
                for present in [true, false] {
                    let d = mint(built, |m, tx| {
                        m.label_device(&Actor::User, &server, &label, present, tx)
                    });
                    let t = Instant::now();
                    black_box(built.replica.apply(d));
                    total += t.elapsed();
                }
            }
            total
        })
    });
    g.bench_function("try-mutate/volume-report", |b| {
        let agent = Actor::Agent(holder.clone());
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            let ts = built.clock.tick();
            let report = volume_usage(volume_limit, i);
            built
                .replica
                .try_mutate(|m, tx| m.report_volume(&agent, &volume, report, ts, tx))
                .unwrap()
        })
    });
    g.finish();
}

fn big_model(c: &mut Criterion) {
    let cfg = if small() {
        ModelConfig::small()
    } else {
        ModelConfig::goal()
    };
    let t = Instant::now();
    let mut built = build_model(&cfg).unwrap();
    println!(
        "model: {:?} built in {:.1} s",
        built.counts(),
        t.elapsed().as_secs_f64()
    );
    snapshot(c, &built);
    deltas(c, &mut built);
}

fn claims(c: &mut Criterion) {
    let cfg = if small() {
        ClaimsConfig::small()
    } else {
        ClaimsConfig::goal()
    };
    let t = Instant::now();
    let mut built = build_claims(&cfg).unwrap();
    let m = built.model();
    println!(
        "claims: {} reservations ({} refused and redrawn), {} maintenance windows, {} devices, \
         built in {:.1} s",
        m.claims.reservation_specs().count(),
        built.refused,
        m.claims.maintenance_specs().count(),
        m.physical.devices.len(),
        t.elapsed().as_secs_f64()
    );
    let ctx = FitContext::new(m);
    ctx.check_reservation(None, &built.probe).unwrap();
    ctx.check_reservation(None, &built.probe_one_pool).unwrap();
    let mut with_maintenance = FitContext::new(m);
    with_maintenance.include_maintenance(&built.probe_maintenance);
    println!(
        "claims: earliest start of the request: {:?}; maintenance probe: {:?}",
        m.earliest_start(&built.request).unwrap(),
        with_maintenance.check_window(built.probe_maintenance.window)
    );
    let existing = m
        .claims
        .reservation_specs()
        .next()
        .map(|(id, _)| id.clone())
        .unwrap();

    let mut g = c.benchmark_group("model/fit");
    // What `create_reservation` does: fit against every pool, from the model's fit index
    // (built by the admissions above and patched by each of their deltas).
    g.bench_function("check-reservation/three-pools", |b| {
        b.iter(|| FitContext::new(m).check_reservation(None, black_box(&built.probe)))
    });
    g.bench_function("check-reservation/one-pool", |b| {
        b.iter(|| FitContext::new(m).check_reservation(None, black_box(&built.probe_one_pool)))
    });
    // What `update_reservation` does: fit with the reservation's old spec set aside.
    g.bench_function("check-update/three-pools", |b| {
        b.iter(|| FitContext::new(m).check_reservation(Some(&existing), black_box(&built.probe)))
    });
    g.bench_function("earliest-start/three-pools", |b| {
        b.iter(|| m.earliest_start(black_box(&built.request)))
    });
    // What `create_maintenance` does: every pool must still hold its reservations.
    g.bench_function("check-maintenance/all-pools", |b| {
        b.iter(|| {
            let mut ctx = FitContext::new(m);
            ctx.include_maintenance(black_box(&built.probe_maintenance));
            ctx.check_window(built.probe_maintenance.window)
        })
    });
    // The first query after the index was dropped (a full-state merge, a decoded snapshot):
    // rebuilding every pool's timeline from the model.
    g.bench_function("index-build", |b| {
        b.iter_batched(
            || {
                let mut fresh = m.clone();
                let empty = CausalContext::new();
                fresh.join(Model::default(), &empty, &empty, JoinMode::State);
                fresh
            },
            |fresh| {
                fresh.build_fit_index();
                fresh
            },
            BatchSize::LargeInput,
        )
    });
    // The infrastructure pool derived from the model without the index, step by step:
    // gathering its claims, building a timeline from them and querying it; and the query on
    // a built timeline alone.
    let pool = &ctx.pools_of(&built.probe.infrastructure, &built.probe.tenant)[0];
    g.bench_function("pool-claims/infrastructure-pool", |b| {
        b.iter(|| ctx.pool_claims(black_box(pool), None))
    });
    g.bench_function("timeline-build-fit/infrastructure-pool", |b| {
        let pc = ctx.pool_claims(pool, None);
        let demand = ctx.demand(&built.probe).unwrap();
        let w = built.probe.window;
        b.iter(|| pc.timeline().fits(black_box(&demand.0), w.start, w.end))
    });
    g.bench_function("timeline-only/infrastructure-pool", |b| {
        let timeline = ctx.pool_claims(pool, None).timeline();
        let demand = ctx.demand(&built.probe).unwrap();
        let w = built.probe.window;
        b.iter(|| timeline.fits(black_box(&demand.0), w.start, w.end))
    });
    // A whole admission as the server runs it: `try_mutate` (fit check, delta, apply, which
    // patches the index) of a new reservation, then of its deletion.
    g.bench_function("admit-and-delete-reservation/three-pools", |b| {
        let id = ClaimId::new("rsv-bench").unwrap();
        b.iter(|| {
            let ts = built.clock.tick();
            let spec = built.probe.clone();
            built
                .replica
                .try_mutate(|m, tx| m.create_reservation(&Actor::User, &id, spec, ts, tx))
                .unwrap();
            built
                .replica
                .try_mutate(|m, tx| m.delete_reservation(&Actor::User, &id, tx))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, big_model, claims);
criterion_main!(benches);
