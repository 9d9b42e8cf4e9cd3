//! The CRDT laws as properties, for every type, over states built from random histories
//! (`horao_crdt::strategies`): the join is commutative, associative, idempotent and monotone;
//! a mutation's delta equals the mutation; applying a delta equals merging it as a state;
//! combining deltas equals applying them in turn; anti-entropy equals a full-state merge; a dot
//! survives every operation that did not see it (add wins over a concurrent remove); garbage
//! collection never resurrects a removed key, even for a replica behind the collection horizon.
//! The fractionally indexed array takes part through inserts, moves, updates and removals at
//! random indices (`strategies::ArrayOp`), alone and nested in a map.
//!
//! Each law is written once as a generic function and instantiated per type by `suite!`, at
//! `PROPTEST_CASES` cases (default 1,000) and again, ignored, at 20,000 cases:
//! `cargo test -p horao-crdt --release --test it laws:: -- --ignored`.

use horao_crdt::strategies::{CounterOp, MapOp};
use horao_crdt::strategies::{
    History, Mutable, Played, SetOp, Step, collect_stable, history, join_all, play, sync_all,
};
use horao_crdt::{
    Answer, Causal, Dot, DotStore, FracArray, LwwReg, MvReg, OrMap, OrSet, PnCounter, Replica,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::fmt::Debug;

type TestResult = Result<(), TestCaseError>;

/// Cases per law in the ignored long run.
const LONG_CASES: u32 = 20_000;

/// Cases per law: `PROPTEST_CASES` (scripts/test.sh sets 1,000), default 1,000.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// Runs `law` on `cases` random inputs; on failure, panics with the shrunk input.
fn check<T: Debug>(cases: u32, strategy: impl Strategy<Value = T>, law: impl Fn(T) -> TestResult) {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    if let Err(e) = TestRunner::new(config).run(&strategy, law) {
        panic!("{e}");
    }
}

/// One generated input: a history plus the choices a law makes after playing it.
#[derive(Clone, Debug)]
struct Case<O> {
    history: History<O>,
    picks: [Index; 3],
    /// Any mutation.
    op: O,
    /// A mutation whose delta holds a fresh dot.
    add: O,
    /// Whether the add-wins scenarios let the adder see the key before the concurrent ops.
    sync_first: bool,
}

fn case<S: Mutable>() -> impl Strategy<Value = Case<S::Op>> {
    (
        history::<S>(3..=5, 0..40),
        any::<[Index; 3]>(),
        S::op(),
        S::add_op(),
        any::<bool>(),
    )
        .prop_map(|(history, picks, op, add, sync_first)| Case {
            history,
            picks,
            op,
            add,
            sync_first,
        })
}

fn join<S: DotStore>(mut a: Causal<S>, b: Causal<S>) -> Causal<S> {
    a.merge(b);
    a
}

fn apply<S: DotStore>(mut a: Causal<S>, d: Causal<S>) -> Causal<S> {
    a.apply(d);
    a
}

fn state<S: DotStore>(p: &Played<S>, i: &Index) -> Causal<S> {
    p.replicas[i.index(p.replicas.len())].causal().clone()
}

/// Two distinct replica indices (histories have at least 3 replicas).
fn two<S>(p: &Played<S>, a: &Index, b: &Index) -> (usize, usize) {
    let n = p.replicas.len();
    let i = a.index(n);
    (i, (i + 1 + b.index(n - 1)) % n)
}

fn dots<S: DotStore>(s: &S) -> Vec<Dot> {
    let mut v = Vec::new();
    s.for_each_dot(&mut |d| v.push(d));
    v
}

fn holds<S: DotStore>(s: &S, dot: Dot) -> bool {
    dots(s).contains(&dot)
}

// ---------------------------------------------------------------------------------------------
// Laws of the join, over full states.

fn merge_commutative<S: Mutable>(c: Case<S::Op>) -> TestResult {
    let p = play::<S>(&c.history);
    let (a, b) = (state(&p, &c.picks[0]), state(&p, &c.picks[1]));
    prop_assert_eq!(join(a.clone(), b.clone()), join(b, a));
    Ok(())
}

fn merge_associative<S: Mutable>(c: Case<S::Op>) -> TestResult {
    let p = play::<S>(&c.history);
    let [a, b, x] = c.picks.map(|i| state(&p, &i));
    prop_assert_eq!(
        join(join(a.clone(), b.clone()), x.clone()),
        join(a, join(b, x))
    );
    Ok(())
}

fn merge_idempotent<S: Mutable>(c: Case<S::Op>) -> TestResult {
    let p = play::<S>(&c.history);
    for r in &p.replicas {
        let a = r.causal().clone();
        a.validate()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&join(a.clone(), a.clone()), &a);
        prop_assert_eq!(&join(a.clone(), Causal::default()), &a);
        prop_assert_eq!(&join(Causal::default(), a.clone()), &a);
    }
    Ok(())
}

/// The join is an upper bound of both inputs (merging either again changes nothing), and
/// joining preserves order: a ⊑ b implies a ⊔ x ⊑ b ⊔ x.
fn merge_monotone<S: Mutable>(c: Case<S::Op>) -> TestResult {
    let p = play::<S>(&c.history);
    let [a, b, x] = c.picks.map(|i| state(&p, &i));
    let j = join(a.clone(), b.clone());
    prop_assert_eq!(&join(j.clone(), a.clone()), &j);
    prop_assert_eq!(&join(j.clone(), b.clone()), &j);
    prop_assert!(j.ctx.includes(&a.ctx) && j.ctx.includes(&b.ctx));
    // a ⊑ j, so a ⊔ x ⊑ j ⊔ x.
    let jx = join(j, x.clone());
    prop_assert_eq!(&join(join(a, x), jx.clone()), &jx);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Deltas.

/// The delta a mutation returns, applied to the pre-state, is the mutation; applied to any
/// replica that had the pre-state's information, it equals merging the mutated full state.
fn delta_is_mutation<S: Mutable>(c: Case<S::Op>) -> TestResult {
    let mut p = play::<S>(&c.history);
    let (i, j) = two(&p, &c.picks[0], &c.picks[1]);
    let pre = p.replicas[i].causal().clone();
    let delta = p.replicas[i].mutate(|s, tx| s.run(&c.op, tx)).unwrap();
    let post = p.replicas[i].causal().clone();
    delta
        .validate()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&apply(pre.clone(), delta.clone()), &post);
    prop_assert_eq!(&join(pre.clone(), delta.clone()), &post);
    // The delta is small: it holds only dots the mutation minted.
    for d in dots(&delta.store) {
        prop_assert!(!pre.ctx.contains(&d), "delta re-ships old dot {}", d);
    }
    // Another replica that has seen at least the pre-state.
    let other = join(p.replicas[j].causal().clone(), pre);
    prop_assert_eq!(
        apply(other.clone(), delta.clone()),
        join(other.clone(), post.clone())
    );
    // The same through the replica API (delta log included).
    let mut r = Replica::from_state(p.replicas[j].id(), other);
    r.apply(delta);
    prop_assert_eq!(r.causal(), &join(r.causal().clone(), post));
    Ok(())
}

/// Joining a delta in Apply mode (visiting only its keys) equals joining it as a full state,
/// on every replica, for every mutation delta and every anti-entropy answer.
fn apply_is_state_merge<S: Mutable>(c: Case<S::Op>) -> TestResult {
    let p = play::<S>(&c.history);
    let mut deltas = p.deltas.clone();
    for from in &p.replicas {
        for to in &p.replicas {
            if let Answer::Deltas(d) = from.answer(to.ctx()) {
                deltas.push(d);
            }
        }
    }
    for r in &p.replicas {
        for d in &deltas {
            let s = r.causal().clone();
            prop_assert_eq!(apply(s.clone(), d.clone()), join(s, d.clone()));
        }
    }
    Ok(())
}

/// Combining two deltas (what anti-entropy answers do) has the effect of applying both, in
/// either order.
fn combine_is_sequential_apply<S: Mutable>(c: Case<S::Op>) -> TestResult {
    let p = play::<S>(&c.history);
    if p.deltas.is_empty() {
        return Ok(());
    }
    let d1 = p.deltas[c.picks[0].index(p.deltas.len())].clone();
    let d2 = p.deltas[c.picks[1].index(p.deltas.len())].clone();
    let s = state(&p, &c.picks[2]);
    let mut d12 = d1.clone();
    d12.combine(d2.clone());
    let mut d21 = d2.clone();
    d21.combine(d1.clone());
    prop_assert_eq!(&d12, &d21, "combine is not commutative");
    let one_by_one = apply(apply(s.clone(), d1), d2);
    prop_assert_eq!(apply(s, d12), one_by_one);
    Ok(())
}

/// What a replica answers a peer's digest, applied by the peer, equals merging the
/// replica's full state into the peer.
fn delta_exchange_is_full_merge<S: Mutable>(c: Case<S::Op>) -> TestResult {
    let p = play::<S>(&c.history);
    for from in &p.replicas {
        for to in &p.replicas {
            let want = join(to.causal().clone(), from.causal().clone());
            let mut got = to.clone();
            match from.answer(to.ctx()) {
                Answer::UpToDate => {}
                Answer::Deltas(d) => {
                    got.apply(d);
                }
                Answer::Full(s) => {
                    prop_assert_eq!(&s, from.causal());
                    got.merge(s);
                }
            }
            prop_assert_eq!(
                got.causal(),
                &want,
                "answer from {} to {}",
                from.id(),
                to.id()
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Convergence, garbage collection, add wins.

/// After any history (collections, trimmed logs and retired replicas included), exchanging
/// digests brings every replica to the lattice join of all states: collection never loses an
/// update nor brings back a removed one. Collecting once everyone is equal empties the logs,
/// and replicas keep converging afterwards.
fn gc_converges_to_join<S: Mutable>(c: Case<S::Op>) -> TestResult {
    let mut p = play::<S>(&c.history);
    let truth = join_all(&p.replicas);
    let passes = sync_all(&mut p.replicas);
    prop_assert!(passes <= 1, "{} passes of anti-entropy", passes);
    for r in &p.replicas {
        prop_assert_eq!(r.causal(), &truth, "replica {}", r.id());
    }
    collect_stable(&mut p.replicas, None);
    for r in &p.replicas {
        prop_assert_eq!(r.log_len(), 0, "replica {} keeps a stable delta", r.id());
    }
    let i = c.picks[0].index(p.replicas.len());
    p.replicas[i].mutate(|s, tx| s.run(&c.op, tx)).unwrap();
    let truth = join_all(&p.replicas);
    sync_all(&mut p.replicas);
    for r in &p.replicas {
        prop_assert_eq!(r.causal(), &truth);
    }
    Ok(())
}

/// A dot survives every operation that had not seen it: replica j's fresh dots outlive
/// whatever replica i does concurrently (this is "add wins" for every type).
fn concurrent_dots_survive<S: Mutable>(c: Case<S::Op>) -> TestResult {
    let mut p = play::<S>(&c.history);
    let (i, j) = two(&p, &c.picks[0], &c.picks[1]);
    if c.sync_first {
        sync_all(&mut p.replicas);
    }
    let di = p.replicas[i].mutate(|s, tx| s.run(&c.op, tx)).unwrap();
    let dj = p.replicas[j].mutate(|s, tx| s.run(&c.add, tx)).unwrap();
    let fresh: Vec<Dot> = dots(&dj.store).into_iter().chain(dots(&di.store)).collect();
    prop_assert!(!dots(&dj.store).is_empty(), "an add op minted no dot");
    // Merge the two concurrent states both ways (the deltas alone are not causally ready
    // where the other replica missed earlier history).
    let (si, sj) = (
        p.replicas[i].causal().clone(),
        p.replicas[j].causal().clone(),
    );
    p.replicas[i].merge(sj);
    p.replicas[j].merge(si);
    prop_assert_eq!(p.replicas[i].causal(), p.replicas[j].causal());
    for d in fresh {
        prop_assert!(
            holds(p.replicas[i].state(), d),
            "concurrent dot {} was dropped",
            d
        );
    }
    Ok(())
}

/// Types with keys (set elements, map keys) that can be removed.
trait Keyed: Mutable {
    type Key: Clone + Debug;
    /// The key an add op writes (add ops always name one).
    fn key_of(add: &Self::Op) -> Self::Key;
    fn remove_op(key: &Self::Key) -> Self::Op;
    fn has(&self, key: &Self::Key) -> bool;
}

impl Keyed for OrSet<u8> {
    type Key = u8;
    fn key_of(add: &SetOp<u8>) -> u8 {
        match add {
            SetOp::Add(e) | SetOp::Remove(e) => *e,
            SetOp::Clear => panic!("not an add op"),
        }
    }
    fn remove_op(key: &u8) -> SetOp<u8> {
        SetOp::Remove(*key)
    }
    fn has(&self, key: &u8) -> bool {
        self.contains(key)
    }
}

impl<K, V> Keyed for OrMap<K, V>
where
    K: horao_crdt::strategies::SmallDomain,
    V: Mutable,
{
    type Key = K;
    fn key_of(add: &MapOp<K, V::Op>) -> K {
        match add {
            MapOp::Update(k, _) | MapOp::Remove(k) => k.clone(),
        }
    }
    fn remove_op(key: &K) -> MapOp<K, V::Op> {
        MapOp::Remove(key.clone())
    }
    fn has(&self, key: &K) -> bool {
        self.contains_key(key)
    }
}

/// An add concurrent with a remove of the same key wins, whether or not the adder had seen
/// the key before.
fn add_wins<S: Keyed>(c: Case<S::Op>) -> TestResult {
    let mut p = play::<S>(&c.history);
    let (i, j) = two(&p, &c.picks[0], &c.picks[1]);
    let key = S::key_of(&c.add);
    // Replica i holds the key (it adds it if needed) and, optionally, j has seen it.
    p.replicas[i].mutate(|s, tx| s.run(&c.add, tx)).unwrap();
    if c.sync_first {
        horao_crdt::strategies::exchange(&mut p.replicas, i, j);
    }
    prop_assert!(p.replicas[i].state().has(&key));
    p.replicas[i]
        .mutate(|s, tx| s.run(&S::remove_op(&key), tx))
        .unwrap();
    prop_assert!(!p.replicas[i].state().has(&key), "remove left the key");
    p.replicas[j].mutate(|s, tx| s.run(&c.add, tx)).unwrap();
    horao_crdt::strategies::exchange(&mut p.replicas, i, j);
    horao_crdt::strategies::exchange(&mut p.replicas, j, i);
    for r in [i, j] {
        prop_assert!(p.replicas[r].state().has(&key), "the remove won");
    }
    prop_assert_eq!(p.replicas[i].causal(), p.replicas[j].causal());
    Ok(())
}

/// A key removed and collected while one replica was retired (behind the collection
/// horizon) stays removed when that replica comes back: it gets the full state, and its
/// stale copy of the key does not come back to anyone — unless it re-added the key itself,
/// concurrently, which then wins.
fn removed_key_stays_removed<S: Keyed>(c: Case<S::Op>) -> TestResult {
    let mut p = play::<S>(&c.history);
    let n = p.replicas.len();
    let (i, behind) = two(&p, &c.picks[0], &c.picks[1]);
    let key = S::key_of(&c.add);
    sync_all(&mut p.replicas);
    // Everyone holds the key.
    let d = p.replicas[i].mutate(|s, tx| s.run(&c.add, tx)).unwrap();
    for r in &mut p.replicas {
        r.apply(d.clone());
    }
    // The replica that falls behind makes one private edit.
    let private = p.replicas[behind].mutate(|s, tx| s.run(&c.op, tx)).unwrap();
    // The key is removed; everyone but `behind` sees it and collects.
    let rm = p.replicas[i]
        .mutate(|s, tx| s.run(&S::remove_op(&key), tx))
        .unwrap();
    for (k, r) in p.replicas.iter_mut().enumerate() {
        if k != behind {
            r.apply(rm.clone());
        }
    }
    collect_stable(&mut p.replicas, Some(behind));
    prop_assert!(
        matches!(
            p.replicas[i].answer(p.replicas[behind].ctx()),
            Answer::Full(_)
        ),
        "the replica behind the horizon was not sent the full state"
    );
    let readded = private.store.has(&key);
    let truth = join_all(&p.replicas);
    prop_assert_eq!(truth.store.has(&key), readded);
    // It comes back: anti-entropy in both directions, in an order that lets its stale state
    // reach the others before it hears about the removal.
    for k in 0..n {
        horao_crdt::strategies::exchange(&mut p.replicas, behind, k);
    }
    sync_all(&mut p.replicas);
    for r in &p.replicas {
        prop_assert_eq!(r.state().has(&key), readded, "replica {}", r.id());
        prop_assert_eq!(r.causal(), &truth);
    }
    Ok(())
}

/// A counter's value is the sum of every increment, once replicas have synchronised.
fn counter_counts(c: Case<CounterOp>) -> TestResult {
    let mut p = play::<PnCounter>(&c.history);
    let sum: i64 = c
        .history
        .steps
        .iter()
        .map(|s| match s {
            Step::Mutate { op, .. } => op.0,
            _ => 0,
        })
        .sum();
    sync_all(&mut p.replicas);
    for r in &p.replicas {
        prop_assert_eq!(r.state().value(), sum);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Instantiation: every law for every type, at CI size and (ignored) at 20,000 cases.

macro_rules! tests {
    (long; $ty:ty; $($law:ident),+) => {
        $(
            #[test]
            #[ignore = "long run: 20,000 cases per law"]
            fn $law() {
                crate::laws::check(crate::laws::LONG_CASES, crate::laws::case::<$ty>(), crate::laws::$law::<$ty>);
            }
        )+
    };
    ($cases:expr; $ty:ty; $($law:ident),+) => {
        $(
            #[test]
            fn $law() {
                crate::laws::check($cases, crate::laws::case::<$ty>(), crate::laws::$law::<$ty>);
            }
        )+
    };
}

/// `suite!(module: Type; [extra laws])` instantiates the common laws plus the extra ones.
macro_rules! suite {
    ($name:ident: $ty:ty; [$($extra:ident),*]) => {
        mod $name {
            mod ci {
                #[allow(unused_imports)]
                use crate::laws::*;
                tests!(crate::laws::cases(); $ty; merge_commutative, merge_associative,
                    merge_idempotent, merge_monotone, delta_is_mutation, apply_is_state_merge,
                    combine_is_sequential_apply, delta_exchange_is_full_merge,
                    gc_converges_to_join, concurrent_dots_survive $(, $extra)*);
            }
            mod long {
                #[allow(unused_imports)]
                use crate::laws::*;
                tests!(long; $ty; merge_commutative, merge_associative, merge_idempotent,
                    merge_monotone, delta_is_mutation, apply_is_state_merge,
                    combine_is_sequential_apply, delta_exchange_is_full_merge,
                    gc_converges_to_join, concurrent_dots_survive $(, $extra)*);
            }
        }
    };
}

suite!(lww_reg: LwwReg<u16>; []);
suite!(mv_reg: MvReg<u8>; []);
suite!(pn_counter: PnCounter; []);
suite!(or_set: OrSet<u8>; [add_wins, removed_key_stays_removed]);
suite!(map_of_sets: OrMap<String, OrSet<u8>>; [add_wins, removed_key_stays_removed]);
suite!(map_of_lww: OrMap<u8, LwwReg<u16>>; [add_wins, removed_key_stays_removed]);
suite!(map_of_counters: OrMap<u8, PnCounter>; [add_wins, removed_key_stays_removed]);
suite!(map_of_maps: OrMap<u8, OrMap<String, MvReg<u8>>>; [add_wins, removed_key_stays_removed]);
suite!(frac_array: FracArray<LwwReg<u8>>; []);
suite!(map_of_arrays: OrMap<u8, FracArray<OrSet<u8>>>; [add_wins, removed_key_stays_removed]);

#[test]
fn counter_counts_ci() {
    check(cases(), case::<PnCounter>(), counter_counts);
}

#[test]
#[ignore = "long run: 20,000 cases per law"]
fn counter_counts_long() {
    check(LONG_CASES, case::<PnCounter>(), counter_counts);
}
