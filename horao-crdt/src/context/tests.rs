//! Unit tests of causal contexts against a plain set-of-dots model.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

fn ctx_of(dots: &BTreeSet<Dot>) -> CausalContext {
    dots.iter().copied().collect()
}

fn dots() -> impl Strategy<Value = BTreeSet<Dot>> {
    proptest::collection::btree_set(
        (0u64..3, 1u64..40).prop_map(|(r, c)| Dot::new(ReplicaId(r), c)),
        0..40,
    )
}

proptest! {
    #[test]
    fn ranges_match_a_set_model(a in dots(), b in dots(), probe in (0u64..3, 1u64..45)) {
        let (ca, cb) = (ctx_of(&a), ctx_of(&b));
        ca.validate().unwrap();
        let probe = Dot::new(ReplicaId(probe.0), probe.1);
        prop_assert_eq!(ca.contains(&probe), a.contains(&probe));
        let mut u = ca.clone();
        u.union(&cb);
        u.validate().unwrap();
        prop_assert_eq!(&u, &ctx_of(&a.union(&b).copied().collect()));
        let d = ca.difference(&cb);
        d.validate().unwrap();
        prop_assert_eq!(&d, &ctx_of(&a.difference(&b).copied().collect()));
        prop_assert_eq!(ca.includes(&cb), b.is_subset(&a));
        prop_assert_eq!(ca.dot_count(), a.len() as u64);
        prop_assert_eq!(
            ca.intersection(&cb),
            ctx_of(&a.intersection(&b).copied().collect())
        );
    }
}

proptest! {
    #[test]
    fn ranges_inserted_in_any_order_match_a_set_model(
        ranges in proptest::collection::vec((0u64..2, 0u64..60, 0u64..6), 0..40),
        probes in proptest::collection::vec((0u64..3, 0u64..70, 0u64..8), 8),
    ) {
        // Out-of-order ranges, overlapping, touching and empty ones (start 0 or past the
        // end; both ignored): the in-place insertion must keep the list sorted, disjoint and merged.
        let mut ctx = CausalContext::new();
        let mut model = BTreeSet::new();
        for &(r, start, len) in &ranges {
            let (start, end) = if len == 5 { (start, start.saturating_sub(1)) } else { (start, start + len) };
            ctx.insert_range(ReplicaId(r), start, end);
            if start > 0 {
                model.extend((start..=end).map(|c| Dot::new(ReplicaId(r), c)));
            }
            ctx.validate().unwrap();
            prop_assert_eq!(&ctx, &ctx_of(&model));
        }
        // Range inclusion, empty ranges (`len` 7) included, against the model.
        for &(r, start, len) in &probes {
            let end = if len == 7 { start.saturating_sub(1) } else { start + len };
            let model_has = (start..=end).all(|c| model.contains(&Dot::new(ReplicaId(r), c)));
            prop_assert_eq!(ctx.includes_range(ReplicaId(r), start, end), model_has, "{} {}..={}", r, start, end);
        }
    }
}

#[test]
fn version_vector_is_the_contiguous_prefix() {
    let mut c = CausalContext::new();
    c.insert_range(ReplicaId(1), 1, 5);
    c.insert(Dot::new(ReplicaId(1), 7));
    c.insert(Dot::new(ReplicaId(2), 3));
    let vv = c.version_vector();
    assert_eq!(vv.get(&ReplicaId(1)), Some(&5));
    assert_eq!(vv.get(&ReplicaId(2)), None);
    c.insert(Dot::new(ReplicaId(1), 6));
    assert_eq!(
        c.iter().next().map(|(_, r)| r.intervals().to_vec()),
        Some(vec![(1, 7)])
    );
}

#[test]
fn validate_rejects_overlapping_intervals() {
    let bad = CausalContext(BTreeMap::from([(
        ReplicaId(1),
        Ranges(vec![(1, 5), (4, 9)]),
    )]));
    assert!(matches!(bad.validate(), Err(Error::Invalid { .. })));
    let zero = CausalContext(BTreeMap::from([(ReplicaId(1), Ranges(vec![(0, 2)]))]));
    assert!(zero.validate().is_err());
}
