//! Unit tests of the map join against a per-key model: every key of either side joined on its
//! own, then keys left empty dropped (except between deltas).

use super::*;
use crate::id::ReplicaId;
use proptest::prelude::*;

type Map = DotMap<u8, DotFun<u8>>;

fn dot((r, c): (u64, u64)) -> Dot {
    Dot::new(ReplicaId(r), c)
}

/// The dot of key `k` drawn as `(replica, c)`: every dot belongs to one key, as in real
/// states (map joins rely on it, see `DotStore::marker`).
fn key_dot(k: u8, (r, c): (u64, u64)) -> Dot {
    Dot::new(ReplicaId(r), u64::from(k) * 4 + c)
}

/// Largest counter `key_dot` makes.
const MAX_COUNTER: u64 = 40 * 4 + 4;

/// Maps over a few keys whose values draw dots from a small space per key, some values empty.
fn map() -> impl Strategy<Value = Map> {
    let value = proptest::collection::btree_map((0u64..3, 1u64..5), any::<u8>(), 0..3);
    proptest::collection::btree_map(0u8..40, value, 0..30).prop_map(|m| {
        DotMap(
            m.into_iter()
                .map(|(k, v)| {
                    let entries = v.into_iter().map(|(rc, x)| (key_dot(k, rc), x));
                    (k, DotFun::from_vec(entries.collect()))
                })
                .collect(),
        )
    })
}

/// Contexts holding each dot of the space with probability `density`.
fn context() -> impl Strategy<Value = CausalContext> {
    let n = 3 * MAX_COUNTER as usize;
    (0u8..=4).prop_flat_map(move |density| {
        proptest::collection::vec(0u8..4, n).prop_map(move |draws| {
            draws
                .iter()
                .enumerate()
                .filter(|(_, x)| **x < density)
                .map(|(i, _)| dot(((i as u64) % 3, (i as u64) / 3 + 1)))
                .collect()
        })
    })
}

fn model<K: Ord + Copy + Debug>(
    a: &DotMap<K, DotFun<u8>>,
    b: &DotMap<K, DotFun<u8>>,
    ours: &CausalContext,
    theirs: &CausalContext,
    mode: JoinMode,
) -> DotMap<K, DotFun<u8>> {
    let keys: BTreeMap<K, ()> = a.0.keys().chain(b.0.keys()).map(|k| (*k, ())).collect();
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

/// A large map of synchronised keys and two replicas' few edits on top of it, as the two
/// states and their contexts: the shape of a real merge, where most values hold the same dot
/// on both sides and the few changed keys are inserted or removed after the walk.
fn diverged(n: u16, edits: &[(u16, u8, bool)]) -> [(DotMap<u16, DotFun<u8>>, CausalContext); 2] {
    let d = |r: u64, k: u16, c: u64| Dot::new(ReplicaId(r), u64::from(k) * 4 + c);
    let base: BTreeMap<u16, DotFun<u8>> =
        (0..n).map(|k| (k, DotFun::single(d(0, k, 1), 0))).collect();
    let ctx: CausalContext = (0..n).map(|k| d(0, k, 1)).collect();
    let mut sides = [(DotMap(base.clone()), ctx.clone()), (DotMap(base), ctx)];
    for &(k, kind, second) in edits {
        let r = 1 + u64::from(second);
        let (map, ctx) = &mut sides[usize::from(second)];
        if kind == 0 {
            map.0.remove(&k);
        } else {
            map.0.insert(k, DotFun::single(d(r, k, r + 1), kind));
            ctx.insert(d(r, k, r + 1));
        }
    }
    sides
}

proptest! {
    #[test]
    fn a_large_state_join_with_few_changes_matches_the_per_key_model(
        n in 100u16..600,
        edits in proptest::collection::vec((0u16..650, 0u8..3, any::<bool>()), 0..24),
    ) {
        let [(a, ours), (b, theirs)] = diverged(n, &edits);
        for (x, y, cx, cy) in [(&a, &b, &ours, &theirs), (&b, &a, &theirs, &ours)] {
            let mut joined = x.clone();
            joined.join(y.clone(), cx, cy, JoinMode::State);
            prop_assert_eq!(&joined, &model(x, y, cx, cy, JoinMode::State));
        }
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

#[test]
fn a_dot_under_two_keys_does_not_break_the_join() {
    // Decoding rejects such states; a join that meets one anyway (a bug or a forged state
    // merged without validation) may pair the wrong keys but must not panic or disorder.
    let d = dot((1, 1));
    let a = DotMap(BTreeMap::from([
        (1u8, DotFun::single(d, 1)),
        (5, DotFun::single(d, 5)),
    ]));
    let b = DotMap(BTreeMap::from([
        (3u8, DotFun::single(d, 3)),
        (7, DotFun::single(d, 7)),
    ]));
    let ctx: CausalContext = [d].into_iter().collect();
    for (x, y) in [(&a, &b), (&b, &a)] {
        let mut joined = x.clone();
        joined.join(y.clone(), &ctx, &ctx, JoinMode::State);
        assert!(
            joined
                .0
                .keys()
                .all(|k| a.0.contains_key(k) || b.0.contains_key(k))
        );
        assert!(joined.validate().is_ok());
    }
}
