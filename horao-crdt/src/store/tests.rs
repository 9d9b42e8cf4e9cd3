//! Unit tests of the map join against a per-key model: every key of either side joined on its
//! own, then keys left empty dropped (except between deltas).

use super::*;
use crate::id::ReplicaId;
use proptest::prelude::*;

type Map = DotMap<u8, DotFun<u8>>;

fn dot((r, c): (u64, u64)) -> Dot {
    Dot::new(ReplicaId(r), c)
}

/// Maps over a few keys whose values draw dots from a small space, some values empty.
fn map() -> impl Strategy<Value = Map> {
    let value =
        proptest::collection::btree_map((0u64..3, 1u64..10).prop_map(dot), any::<u8>(), 0..3)
            .prop_map(|m| DotFun::from_vec(m.into_iter().collect()));
    proptest::collection::btree_map(0u8..40, value, 0..30).prop_map(DotMap)
}

fn context() -> impl Strategy<Value = CausalContext> {
    proptest::collection::btree_set((0u64..3, 1u64..10).prop_map(dot), 0..30)
        .prop_map(|s| s.into_iter().collect())
}

fn model(a: &Map, b: &Map, ours: &CausalContext, theirs: &CausalContext, mode: JoinMode) -> Map {
    let keys: BTreeMap<u8, ()> = a.0.keys().chain(b.0.keys()).map(|k| (*k, ())).collect();
    DotMap(
        keys.into_keys()
            .filter_map(|k| {
                let mut v = a.0.get(&k).cloned().unwrap_or_default();
                v.join(b.0.get(&k).cloned().unwrap_or_default(), ours, theirs, mode);
                (mode == JoinMode::Combine || !v.is_bottom()).then_some((k, v))
            })
            .collect(),
    )
}

proptest! {
    #[test]
    fn state_join_matches_the_per_key_model(
        a in map(),
        b in map(),
        ours in context(),
        theirs in context(),
    ) {
        let mut joined = a.clone();
        joined.join(b.clone(), &ours, &theirs, JoinMode::State);
        prop_assert_eq!(joined, model(&a, &b, &ours, &theirs, JoinMode::State));
    }

    #[test]
    fn combine_join_matches_the_per_key_model(
        a in map(),
        b in map(),
        ours in context(),
        theirs in context(),
    ) {
        // A delta much smaller than `a` takes the per-delta-key path, which this model does
        // not describe.
        prop_assume!(b.0.len() * 8 >= a.0.len());
        let mut joined = a.clone();
        joined.join(b.clone(), &ours, &theirs, JoinMode::Combine);
        prop_assert_eq!(joined, model(&a, &b, &ours, &theirs, JoinMode::Combine));
    }
}

#[test]
fn a_state_join_inserts_and_removes_keys_all_along_the_walk() {
    // `a` holds even keys, `b` odd ones; `b`'s context has seen every third key of `a`, so
    // the walk alternates inserts and removals.
    let d = |k: u8| Dot::new(ReplicaId(u64::from(k % 2) + 1), u64::from(k) + 1);
    let side = |parity: u8| {
        DotMap(
            (0u8..60)
                .filter(|k| k % 2 == parity)
                .map(|k| (k, DotFun::single(d(k), k)))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    let (a, b) = (side(0), side(1));
    let ours: CausalContext = (0u8..60).filter(|k| k % 2 == 0).map(d).collect();
    let mut theirs: CausalContext = (0u8..60).filter(|k| k % 2 == 1).map(d).collect();
    for k in (0u8..60).filter(|k| k % 2 == 0 && k % 3 == 0) {
        theirs.insert(d(k));
    }
    let mut joined = a.clone();
    joined.join(b.clone(), &ours, &theirs, JoinMode::State);
    let want: Vec<u8> = (0u8..60).filter(|k| k % 2 == 1 || k % 3 != 0).collect();
    assert_eq!(joined.0.keys().copied().collect::<Vec<_>>(), want);
    assert_eq!(joined, model(&a, &b, &ours, &theirs, JoinMode::State));
}
