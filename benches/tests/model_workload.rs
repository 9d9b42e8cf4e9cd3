//! The model workload builders produce the entity counts they promise, at a small scale.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use horao_bench::model_workload::claims::{ClaimsConfig, build_claims};
use horao_bench::model_workload::{Counts, DEVICES_PER_RACK, ModelConfig, build_model};
use horao_model::claims::FitContext;

#[test]
fn small_model_has_the_configured_entities() {
    let cfg = ModelConfig::small();
    let built = build_model(&cfg).unwrap();
    let c = built.counts();
    assert_eq!(
        c,
        Counts {
            datacenters: 1,
            rows: 2,
            racks: 200usize.div_ceil(DEVICES_PER_RACK),
            devices: 200,
            machines: 50,
            volumes: 500,
            assigned_volumes: 500,
            reservations: 0,
            maintenance: 0,
        }
    );
    assert_eq!(built.devices.len(), 200);
    assert_eq!(built.volumes.len(), 500);
    assert_eq!(built.mutations, 1 + 2 + 5 + 200 + 2 * 50 + 3 * 500);
    // Every volume is on the machine it was assigned to, reported ready by that agent.
    for (v, m) in &built.volumes {
        let vol = built.model().storage.volume(v).unwrap();
        assert_eq!(vol.assigned(), vec![m]);
        assert_eq!(vol.current().unwrap().machine, *m);
    }
    assert!(built.model().conflicts().is_empty());
}

#[test]
fn the_build_is_deterministic() {
    let a = build_model(&ModelConfig::small()).unwrap();
    let b = build_model(&ModelConfig::small()).unwrap();
    assert_eq!(a.replica.causal(), b.replica.causal());
}

#[test]
fn small_claims_scenario_has_the_configured_claims_and_the_probes_fit() {
    let cfg = ClaimsConfig::small();
    let built = build_claims(&cfg).unwrap();
    let c = Counts::of(built.model());
    assert_eq!(c.devices, 80);
    assert_eq!(c.reservations, cfg.reservations);
    assert_eq!(c.maintenance, cfg.maintenance);
    let ctx = FitContext::new(built.model());
    assert_eq!(
        ctx.pools_of(&built.probe.infrastructure, &built.probe.tenant)
            .len(),
        3
    );
    ctx.check_reservation(None, &built.probe).unwrap();
    ctx.check_reservation(None, &built.probe_one_pool).unwrap();
    assert!(
        built
            .model()
            .earliest_start(&built.request)
            .unwrap()
            .is_some()
    );
}
