//! Proptest strategies for random operation histories on several replicas, and the code that
//! plays them, for this crate's laws and for downstream crates' property tests.
//!
//! Enabled by the `proptest` cargo feature (test builds only). A [`History`] is plain data: a
//! number of replicas and a list of [`Step`]s — local mutations interleaved with out-of-order
//! and duplicated delta deliveries, full-state merges, anti-entropy exchanges
//! ([`Replica::answer`]) and garbage collection at causal stability, possibly with one replica
//! retired so it falls behind the collection horizon. Proptest generates and shrinks the
//! history; [`play`] turns it into replicas and the deltas their mutations returned. Every
//! replica of one history lives in the same universe of dots, so their states can be joined
//! meaningfully (states from two independent histories would reuse the same dots for
//! different events).
//!
//! A type takes part by implementing [`Mutable`]: a strategy for its operations and a way to
//! run one as a mutation. This module implements it for every type of the crate, nested maps
//! included; values, keys and timestamps come from [`SmallDomain`]s so that random
//! operations collide often.
//!
//! ```
//! use horao_crdt::strategies::{history, join_all, play, sync_all};
//! use horao_crdt::{OrMap, OrSet};
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//!
//! type Doc = OrMap<String, OrSet<u8>>;
//! let mut runner = TestRunner::deterministic();
//! let h = history::<Doc>(3..=4, 0..30).new_tree(&mut runner).unwrap().current();
//! let mut played = play::<Doc>(&h);
//! let truth = join_all(&played.replicas);
//! sync_all(&mut played.replicas);
//! assert!(played.replicas.iter().all(|r| r.causal() == &truth));
//! ```

use crate::causal::{Causal, Tx};
use crate::context::CausalContext;
use crate::hlc::Timestamp;
use crate::id::ReplicaId;
use crate::replica::{Answer, Replica};
use crate::seq_rng::SeqRng;
use crate::store::DotStore;
use crate::types::{FracArray, LwwReg, MvReg, OrMap, OrSet, PnCounter};
use proptest::prelude::*;
use proptest::sample::Index;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::ops::{Range, RangeInclusive};

/// A type whose values come from a small domain, so random operations hit the same keys,
/// elements and values often (collisions are where CRDT bugs live).
pub trait SmallDomain: Clone + Ord + Debug + Serialize + DeserializeOwned + 'static {
    /// A strategy over a handful of values.
    fn small() -> BoxedStrategy<Self>;
}

impl SmallDomain for u8 {
    fn small() -> BoxedStrategy<Self> {
        (0u8..6).boxed()
    }
}

impl SmallDomain for u16 {
    fn small() -> BoxedStrategy<Self> {
        (0u16..4).boxed()
    }
}

impl SmallDomain for String {
    fn small() -> BoxedStrategy<Self> {
        prop::sample::select(&["a", "b", "c", "d", "e"][..])
            .prop_map(String::from)
            .boxed()
    }
}

/// A CRDT type whose mutations can be generated at random and replayed (on replicas, which
/// log deltas encoded, hence the serde bounds).
pub trait Mutable: DotStore + Serialize + DeserializeOwned + 'static {
    /// One mutation as plain data (printable and shrinkable).
    type Op: Clone + Debug + 'static;

    /// Any mutation, removals included.
    fn op() -> BoxedStrategy<Self::Op>;

    /// Mutations whose delta always holds a fresh dot (writes, adds, increments, updates of a
    /// map key with such a mutation; never removals). The add-wins laws use these.
    fn add_op() -> BoxedStrategy<Self::Op>;

    /// Runs `op` against `self`, minting dots from `tx`, and returns the delta store.
    fn run(&self, op: &Self::Op, tx: &mut Tx) -> Self;
}

/// A mutation of an [`LwwReg`].
#[derive(Clone, Debug, PartialEq)]
pub enum LwwOp<V> {
    /// Write the value at the given physical millisecond (small, so timestamps tie often).
    Write(V, u8),
    /// Clear the register.
    Clear,
}

/// Timestamp of a generated LWW write. Small millisecond values always fit.
fn ts(ms: u8) -> Timestamp {
    Timestamp::new(u64::from(ms), 0).unwrap_or_default()
}

impl<V: SmallDomain> Mutable for LwwReg<V> {
    type Op = LwwOp<V>;

    fn op() -> BoxedStrategy<Self::Op> {
        prop_oneof![
            4 => Self::add_op(),
            1 => Just(LwwOp::Clear),
        ]
        .boxed()
    }

    fn add_op() -> BoxedStrategy<Self::Op> {
        (V::small(), 0u8..4)
            .prop_map(|(v, ms)| LwwOp::Write(v, ms))
            .boxed()
    }

    fn run(&self, op: &Self::Op, tx: &mut Tx) -> Self {
        match op {
            LwwOp::Write(v, ms) => self.write(v.clone(), ts(*ms), tx),
            LwwOp::Clear => self.clear(tx),
        }
    }
}

/// A mutation of an [`MvReg`]: the value written.
#[derive(Clone, Debug, PartialEq)]
pub struct MvOp<V>(pub V);

impl<V: SmallDomain> Mutable for MvReg<V> {
    type Op = MvOp<V>;

    fn op() -> BoxedStrategy<Self::Op> {
        Self::add_op()
    }

    fn add_op() -> BoxedStrategy<Self::Op> {
        V::small().prop_map(MvOp).boxed()
    }

    fn run(&self, op: &Self::Op, tx: &mut Tx) -> Self {
        self.write(op.0.clone(), tx)
    }
}

/// A mutation of an [`OrSet`].
#[derive(Clone, Debug, PartialEq)]
pub enum SetOp<E> {
    /// Add the element.
    Add(E),
    /// Remove the element (a no-op when absent).
    Remove(E),
    /// Remove every element seen.
    Clear,
}

impl<E: SmallDomain> Mutable for OrSet<E> {
    type Op = SetOp<E>;

    fn op() -> BoxedStrategy<Self::Op> {
        prop_oneof![
            5 => Self::add_op(),
            4 => E::small().prop_map(SetOp::Remove),
            1 => Just(SetOp::Clear),
        ]
        .boxed()
    }

    fn add_op() -> BoxedStrategy<Self::Op> {
        E::small().prop_map(SetOp::Add).boxed()
    }

    fn run(&self, op: &Self::Op, tx: &mut Tx) -> Self {
        match op {
            SetOp::Add(e) => self.add(e.clone(), tx),
            SetOp::Remove(e) => self.remove(e, tx),
            SetOp::Clear => self.clear(tx),
        }
    }
}

/// A mutation of a [`PnCounter`]: the amount added (negative to decrement).
#[derive(Clone, Debug, PartialEq)]
pub struct CounterOp(pub i64);

impl Mutable for PnCounter {
    type Op = CounterOp;

    fn op() -> BoxedStrategy<Self::Op> {
        Self::add_op()
    }

    fn add_op() -> BoxedStrategy<Self::Op> {
        (-5i64..=5).prop_map(CounterOp).boxed()
    }

    fn run(&self, op: &Self::Op, tx: &mut Tx) -> Self {
        self.add(op.0, tx)
    }
}

/// A mutation of an [`OrMap`].
#[derive(Clone, Debug, PartialEq)]
pub enum MapOp<K, O> {
    /// Run the nested mutation on the value at the key (bottom when absent).
    Update(K, O),
    /// Remove the key (reset-remove).
    Remove(K),
}

impl<K: SmallDomain, V: Mutable> Mutable for OrMap<K, V> {
    type Op = MapOp<K, V::Op>;

    fn op() -> BoxedStrategy<Self::Op> {
        prop_oneof![
            4 => (K::small(), V::op()).prop_map(|(k, o)| MapOp::Update(k, o)),
            1 => K::small().prop_map(MapOp::Remove),
        ]
        .boxed()
    }

    fn add_op() -> BoxedStrategy<Self::Op> {
        (K::small(), V::add_op())
            .prop_map(|(k, o)| MapOp::Update(k, o))
            .boxed()
    }

    fn run(&self, op: &Self::Op, tx: &mut Tx) -> Self {
        match op {
            MapOp::Update(k, o) => self.update(k.clone(), tx, |v, tx| v.run(o, tx)),
            MapOp::Remove(k) => self.remove(k, tx),
        }
    }
}

/// A mutation of a [`FracArray`]. Elements are picked by [`Index`] into the current order, so
/// every operation stays meaningful after shrinking; position jitter comes from `jitter`.
#[derive(Clone, Debug)]
pub enum ArrayOp<O> {
    /// Insert a new element at an index of `0..=len`, initialised by the nested mutation.
    Insert {
        /// Where, among `len + 1` gaps.
        at: Index,
        /// The new element's initial value.
        init: O,
        /// Seed of the position jitter.
        jitter: u64,
        /// Physical millisecond of the position write.
        ms: u8,
    },
    /// Move an element to another index.
    Move {
        /// Which element, in the current order.
        from: Index,
        /// Its index among the other elements.
        to: Index,
        /// Seed of the position jitter.
        jitter: u64,
        /// Physical millisecond of the position write.
        ms: u8,
    },
    /// Run the nested mutation on an element's value.
    Update {
        /// Which element, in the current order.
        at: Index,
        /// The nested mutation.
        op: O,
    },
    /// Remove an element.
    Remove {
        /// Which element, in the current order.
        at: Index,
    },
}

impl<V: Mutable> Mutable for FracArray<V> {
    type Op = ArrayOp<V::Op>;

    fn op() -> BoxedStrategy<Self::Op> {
        prop_oneof![
            3 => Self::add_op(),
            2 => (any::<Index>(), any::<Index>(), any::<u64>(), any::<u8>())
                .prop_map(|(from, to, jitter, ms)| ArrayOp::Move { from, to, jitter, ms }),
            2 => (any::<Index>(), V::op()).prop_map(|(at, op)| ArrayOp::Update { at, op }),
            1 => any::<Index>().prop_map(|at| ArrayOp::Remove { at }),
        ]
        .boxed()
    }

    fn add_op() -> BoxedStrategy<Self::Op> {
        (any::<Index>(), V::add_op(), any::<u64>(), any::<u8>())
            .prop_map(|(at, init, jitter, ms)| ArrayOp::Insert {
                at,
                init,
                jitter,
                ms,
            })
            .boxed()
    }

    fn run(&self, op: &Self::Op, tx: &mut Tx) -> Self {
        let ids = self.ids();
        let pick = |i: &Index| (!ids.is_empty()).then(|| ids[i.index(ids.len())]);
        let rng = SeqRng::new;
        let delta = match op {
            ArrayOp::Insert {
                at,
                init,
                jitter,
                ms,
            } => self
                .insert_at(
                    at.index(ids.len() + 1),
                    ts(*ms),
                    tx,
                    &mut rng(*jitter),
                    |v, tx| v.run(init, tx),
                )
                .map(|(d, _)| d),
            ArrayOp::Move {
                from,
                to,
                jitter,
                ms,
            } => match pick(from) {
                Some(id) => self.move_to(id, to.index(ids.len()), ts(*ms), tx, &mut rng(*jitter)),
                None => Ok(Self::default()),
            },
            ArrayOp::Update { at, op } => match pick(at) {
                Some(id) => self.update(id, tx, |v, tx| v.run(op, tx)),
                None => Ok(Self::default()),
            },
            ArrayOp::Remove { at } => match pick(at) {
                Some(id) => self.remove(id, tx),
                None => Ok(Self::default()),
            },
        };
        // Generated operations are always valid; a refused one (a position past the length
        // limit) would be a no-op, as the caller of a fallible mutator sees it.
        delta.unwrap_or_default()
    }
}

/// One step of a history. Replica and delta choices are [`Index`]es, resolved against the
/// number of replicas and of deltas when played, so every shrunk history stays valid.
#[derive(Clone, Debug)]
pub enum Step<O> {
    /// Replica `at` performs a local mutation.
    Mutate {
        /// The replica.
        at: Index,
        /// The mutation.
        op: O,
    },
    /// Replica `to` applies one of the deltas returned so far, in any order and any number of
    /// times (a delta push that arrives late, twice, or to its own author) — but only when it
    /// is causally ready there, i.e. `to` has seen every dot the delta overwrites or removes.
    /// An unready delta is withheld, as [`crate::SyncNode`] withholds pushes: applying it
    /// would put dots in `to`'s context whose own removals `to` never saw, and its digest
    /// would then claim more than it has.
    Deliver {
        /// The receiving replica.
        to: Index,
        /// Which delta, among those produced so far.
        delta: Index,
    },
    /// Replica `to` merges the full state of replica `from`.
    Merge {
        /// The receiving replica.
        to: Index,
        /// The replica whose state is merged.
        from: Index,
    },
    /// Anti-entropy: replica `from` answers `to`'s causal context and `to` applies the answer
    /// (deltas, or the full state when the deltas were collected).
    Sync {
        /// The receiving replica.
        to: Index,
        /// The answering replica.
        from: Index,
    },
    /// Garbage collection at causal stability: every replica but the retired one collects
    /// the deltas whose dots all of them have seen. The retired replica falls behind the
    /// collection horizon (it keeps its state and takes part in later steps, like a node that
    /// comes back after its peers gave up on it).
    Collect {
        /// The replica left out of the stability computation, if any.
        retired: Option<Index>,
    },
}

/// A random history on a few replicas of one CRDT type.
#[derive(Clone, Debug)]
pub struct History<O> {
    /// Number of replicas (ids 1..=replicas).
    pub replicas: usize,
    /// Bound on each replica's delta log ([`Replica::set_max_log_entries`]); a small bound
    /// forces early collection and full-state fallbacks.
    pub max_log: Option<usize>,
    /// The steps, in order.
    pub steps: Vec<Step<O>>,
}

/// The outcome of playing a [`History`].
#[derive(Clone, Debug)]
pub struct Played<S> {
    /// The replicas at the end of the history, with their delta logs.
    pub replicas: Vec<Replica<S>>,
    /// Every delta the history's mutations returned, in order.
    pub deltas: Vec<Causal<S>>,
    /// For each delta, its causal dependencies: the dots of its context its author already
    /// had (what it overwrote or removed). A replica may apply the delta only once it has
    /// seen all of them (see [`Step::Deliver`]).
    pub deps: Vec<CausalContext>,
}

/// A random step for type `S` (mutations are the most frequent).
pub fn step<S: Mutable>() -> impl Strategy<Value = Step<S::Op>> {
    prop_oneof![
        6 => (any::<Index>(), S::op()).prop_map(|(at, op)| Step::Mutate { at, op }),
        3 => (any::<Index>(), any::<Index>()).prop_map(|(to, delta)| Step::Deliver { to, delta }),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(to, from)| Step::Merge { to, from }),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(to, from)| Step::Sync { to, from }),
        1 => prop::option::weighted(0.5, any::<Index>())
            .prop_map(|retired| Step::Collect { retired }),
    ]
}

/// A random history of `steps` steps on a number of replicas in `replicas` (at least 1).
pub fn history<S: Mutable>(
    replicas: RangeInclusive<usize>,
    steps: Range<usize>,
) -> impl Strategy<Value = History<S::Op>> {
    let max_log = prop_oneof![3 => Just(None), 1 => (1usize..6).prop_map(Some)];
    (replicas, max_log, prop::collection::vec(step::<S>(), steps)).prop_map(
        |(replicas, max_log, steps)| History {
            replicas: replicas.max(1),
            max_log,
            steps,
        },
    )
}

/// The id of the `i`-th replica of a history.
pub fn replica_id(i: usize) -> ReplicaId {
    ReplicaId(i as u64 + 1)
}

/// Plays a history from empty replicas.
pub fn play<S: Mutable>(h: &History<S::Op>) -> Played<S> {
    let mut played = Played {
        replicas: (0..h.replicas.max(1))
            .map(|i| {
                let mut r = Replica::new(replica_id(i));
                if let Some(max) = h.max_log {
                    r.set_max_log_entries(max);
                }
                r
            })
            .collect(),
        deltas: Vec::new(),
        deps: Vec::new(),
    };
    for s in &h.steps {
        play_step(&mut played, s);
    }
    played
}

/// Plays one more step (for tests that extend a history with steps of their own).
pub fn play_step<S: Mutable>(played: &mut Played<S>, step: &Step<S::Op>) {
    let n = played.replicas.len();
    if n == 0 {
        return;
    }
    match step {
        Step::Mutate { at, op } => {
            let r = &mut played.replicas[at.index(n)];
            let before = r.ctx().clone();
            if let Ok(d) = r.mutate(|s, tx| s.run(op, tx)) {
                played.deps.push(d.ctx.intersection(&before));
                played.deltas.push(d);
            }
        }
        Step::Deliver { to, delta } => {
            if !played.deltas.is_empty() {
                let i = delta.index(played.deltas.len());
                let r = &mut played.replicas[to.index(n)];
                if r.ctx().includes(&played.deps[i]) {
                    r.apply(played.deltas[i].clone());
                }
            }
        }
        Step::Merge { to, from } => {
            let s = played.replicas[from.index(n)].causal().clone();
            played.replicas[to.index(n)].merge(s);
        }
        Step::Sync { to, from } => {
            exchange(&mut played.replicas, from.index(n), to.index(n));
        }
        Step::Collect { retired } => {
            let retired = retired.map(|r| r.index(n));
            collect_stable(&mut played.replicas, retired);
        }
    }
}

/// Anti-entropy from replica `from` to replica `to`: `from` answers `to`'s causal context and
/// `to` applies the answer. Returns whether `to` learned anything.
pub fn exchange<S: DotStore + Serialize + DeserializeOwned>(
    replicas: &mut [Replica<S>],
    from: usize,
    to: usize,
) -> bool {
    if from == to {
        return false;
    }
    match replicas[from].answer(replicas[to].ctx()) {
        Answer::UpToDate => false,
        Answer::Deltas(d) => replicas[to].apply(d),
        Answer::Full(s) => replicas[to].merge(s),
    }
}

/// The dots every replica but `retired` has seen.
pub fn stable_context<S: DotStore>(
    replicas: &[Replica<S>],
    retired: Option<usize>,
) -> CausalContext {
    let mut live = replicas
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != retired)
        .map(|(_, r)| r.ctx());
    let Some(first) = live.next() else {
        return CausalContext::new();
    };
    live.fold(first.clone(), |acc, c| acc.intersection(c))
}

/// Every replica but `retired` collects the deltas that are stable among those replicas.
/// Returns how many deltas were dropped in all.
pub fn collect_stable<S: DotStore>(replicas: &mut [Replica<S>], retired: Option<usize>) -> usize {
    let stable = stable_context(replicas, retired);
    replicas
        .iter_mut()
        .enumerate()
        .filter(|(i, _)| Some(*i) != retired)
        .map(|(_, r)| r.collect(&stable))
        .sum()
}

/// Anti-entropy between every ordered pair of replicas, repeated until nothing changes.
/// Returns the number of passes that changed something: at most one, since in the first pass
/// replica 0 pulls from every replica and every later replica then pulls from replica 0.
pub fn sync_all<S: DotStore + Serialize + DeserializeOwned>(replicas: &mut [Replica<S>]) -> usize {
    let n = replicas.len();
    let mut passes = 0;
    loop {
        let mut changed = false;
        for to in 0..n {
            for from in 0..n {
                changed |= exchange(replicas, from, to);
            }
        }
        if !changed {
            return passes;
        }
        passes += 1;
    }
}

/// The lattice join of the replicas' full states: what every replica must reach once they
/// have exchanged everything, whatever was collected on the way.
pub fn join_all<S: DotStore>(replicas: &[Replica<S>]) -> Causal<S> {
    let mut out = Causal::default();
    for r in replicas {
        out.merge(r.causal().clone());
    }
    out
}
