//! Properties and scenarios of fractional positions and the fractionally indexed array:
//! positions strictly between neighbours, position length under common insert patterns,
//! convergence of concurrent insert/move/remove/update histories, and the join laws.

use horao_crdt::types::MAX_POSITION_LEN;
use horao_crdt::{
    Causal, ElemId, Error, FracArray, LwwReg, Position, Replica, ReplicaId, Timestamp,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

type Arr = FracArray<LwwReg<u32>>;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}

fn ts(ms: u64) -> Timestamp {
    Timestamp::new(ms, 0).unwrap()
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

// ---------------------------------------------------------------------------------------------
// Positions

/// Inserts into a sorted list at slot `i` and checks the new position fits strictly.
fn insert_checked(list: &mut Vec<Position>, i: usize, rng: &mut ChaCha8Rng) -> usize {
    let lo = i.checked_sub(1).map(|j| &list[j]);
    let hi = list.get(i);
    let replay = Position::between(lo, hi, &mut rng.clone()).unwrap();
    let p = Position::between(lo, hi, rng).unwrap();
    assert_eq!(p, replay, "same seed, same position");
    assert!(lo.is_none_or(|l| *l < p), "{lo:?} < {p:?}");
    assert!(hi.is_none_or(|h| p < *h), "{p:?} < {hi:?}");
    p.validate().unwrap();
    assert_ne!(p.as_bytes().last(), Some(&0));
    let len = p.as_bytes().len();
    list.insert(i, p);
    len
}

#[derive(Clone, Copy, Debug)]
enum Pattern {
    Append,
    Prepend,
    ForwardTyping,
    ReverseTyping,
    Random,
}

/// Performs `n` inserts in `pattern` on a list that starts with two elements and returns the
/// byte lengths of the inserted positions.
fn run_pattern(pattern: Pattern, n: usize, seed: u64) -> Vec<usize> {
    let mut rng = rng(seed);
    let mut list = Vec::new();
    insert_checked(&mut list, 0, &mut rng);
    insert_checked(&mut list, 1, &mut rng);
    let mut cursor = 0;
    (0..n)
        .map(|_| {
            let slot = match pattern {
                Pattern::Append => list.len(),
                Pattern::Prepend => 0,
                Pattern::ForwardTyping => {
                    cursor += 1;
                    cursor
                }
                Pattern::ReverseTyping => 1,
                Pattern::Random => rng.random_range(0..=list.len()),
            };
            insert_checked(&mut list, slot, &mut rng)
        })
        .collect()
}

#[test]
fn position_lengths_stay_short_under_common_patterns() {
    // (pattern, inserts, bound on the mean, bound on the max). The 100,000-insert rows show
    // the logarithmic growth; they are cheap because those inserts land at the end.
    let bounds = [
        (Pattern::Append, 10_000, 4.5, 5),
        (Pattern::Prepend, 10_000, 4.5, 5),
        (Pattern::ForwardTyping, 10_000, 5.5, 6),
        (Pattern::ReverseTyping, 10_000, 6.5, 7),
        (Pattern::Random, 10_000, 6.5, 14),
        (Pattern::Append, 100_000, 5.0, 5),
        (Pattern::ForwardTyping, 100_000, 6.0, 6),
    ];
    println!("pattern          inserts  mean bytes  max bytes   (seed 1)");
    for (pattern, n, mean_bound, max_bound) in bounds {
        let lens = run_pattern(pattern, n, 1);
        let mean = lens.iter().sum::<usize>() as f64 / lens.len() as f64;
        let max = lens.iter().copied().max().unwrap_or(0);
        println!(
            "{:<16} {n:>7} {mean:>11.2}  {max:>9}",
            format!("{pattern:?}")
        );
        assert!(
            mean <= mean_bound,
            "{pattern:?}: mean {mean} > {mean_bound}"
        );
        assert!(max <= max_bound, "{pattern:?}: max {max} > {max_bound}");
    }
}

#[test]
fn between_rejects_unordered_bounds() {
    let mut r = rng(3);
    let a = Position::between(None, None, &mut r).unwrap();
    let b = Position::between(Some(&a), None, &mut r).unwrap();
    for (lo, hi) in [(&a, &a), (&b, &a)] {
        assert!(matches!(
            Position::between(Some(lo), Some(hi), &mut r),
            Err(Error::NoPosition(_))
        ));
    }
}

#[test]
fn nested_inserts_hit_the_length_limit_as_an_error() {
    // Always inserting between the two newest elements narrows one gap forever: any
    // allocator must then grow, and ours reports the limit instead of exceeding it.
    let mut r = rng(4);
    let mut lo = Position::between(None, None, &mut r).unwrap();
    let mut hi = Position::between(Some(&lo), None, &mut r).unwrap();
    for i in 0.. {
        match Position::between(Some(&lo), Some(&hi), &mut r) {
            Ok(p) => {
                assert!(lo < p && p < hi);
                assert!(p.as_bytes().len() <= MAX_POSITION_LEN);
                if i % 2 == 0 {
                    lo = p;
                } else {
                    hi = p;
                }
            }
            Err(Error::NoPosition(_)) => {
                println!("nested inserts before the {MAX_POSITION_LEN}-byte limit: {i}");
                assert!(i > 1000, "the limit came after only {i} nested inserts");
                break;
            }
            Err(e) => panic!("unexpected {e}"),
        }
        assert!(i < 1_000_000, "never hit the limit");
    }
}

#[test]
fn decoding_validates_positions() {
    for bad in [vec![], vec![0x80, 0], vec![1; MAX_POSITION_LEN + 1]] {
        assert!(Position::from_bytes(bad.clone()).is_err());
        let encoded = bincode::serde::encode_to_vec(&bad, bincode::config::standard()).unwrap();
        let decoded: Result<(Position, usize), _> =
            bincode::serde::decode_from_slice(&encoded, bincode::config::standard());
        assert!(decoded.is_err(), "{bad:?} decoded");
    }
    assert!(Position::from_bytes(vec![0, 0, 7]).is_ok());
}

/// A valid position that need not be made of levels: any bytes, trailing zeros trimmed.
fn any_position() -> impl Strategy<Value = Position> {
    prop::collection::vec(any::<u8>(), 1..12).prop_filter_map("all zero", |mut b| {
        while b.last() == Some(&0) {
            b.pop();
        }
        Position::from_bytes(b).ok()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn positions_fit_strictly_between_neighbours(
        seed in any::<u64>(),
        slots in prop::collection::vec(any::<prop::sample::Index>(), 1..200),
    ) {
        let mut r = rng(seed);
        let mut list = Vec::new();
        for s in slots {
            let i = s.index(list.len() + 1);
            insert_checked(&mut list, i, &mut r);
        }
        prop_assert!(list.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn positions_fit_between_arbitrary_valid_bytes(
        a in any_position(),
        b in any_position(),
        seed in any::<u64>(),
    ) {
        let mut r = rng(seed);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        for (l, h) in [(Some(&lo), Some(&hi)), (Some(&lo), None), (None, Some(&lo))] {
            match Position::between(l, h, &mut r) {
                Ok(p) => {
                    p.validate().unwrap();
                    prop_assert!(l.is_none_or(|l| *l < p) && h.is_none_or(|h| p < *h));
                }
                Err(Error::NoPosition(_)) => prop_assert_eq!(l, h),
                Err(e) => panic!("unexpected {e}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Array histories

#[derive(Clone, Debug)]
enum Op {
    Insert {
        r: usize,
        at: usize,
    },
    Push {
        r: usize,
    },
    Move {
        r: usize,
        which: usize,
        at: usize,
    },
    MoveBetween {
        r: usize,
        which: usize,
        at: usize,
    },
    Remove {
        r: usize,
        which: usize,
    },
    Update {
        r: usize,
        which: usize,
        v: u32,
    },
    Sync {
        from: usize,
        to: usize,
        shuffle: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..4usize;
    let ix = 0..64usize;
    prop_oneof![
        3 => (r.clone(), ix.clone()).prop_map(|(r, at)| Op::Insert { r, at }),
        1 => r.clone().prop_map(|r| Op::Push { r }),
        2 => (r.clone(), ix.clone(), ix.clone())
            .prop_map(|(r, which, at)| Op::Move { r, which, at }),
        1 => (r.clone(), ix.clone(), ix.clone())
            .prop_map(|(r, which, at)| Op::MoveBetween { r, which, at }),
        1 => (r.clone(), ix.clone()).prop_map(|(r, which)| Op::Remove { r, which }),
        1 => (r.clone(), ix.clone(), any::<u32>())
            .prop_map(|(r, which, v)| Op::Update { r, which, v }),
        2 => (r.clone(), r, any::<u64>())
            .prop_map(|(from, to, shuffle)| Op::Sync { from, to, shuffle }),
    ]
}

/// A simulated cluster: replicas, their random sources, every delta made, and which deltas
/// each replica has applied.
struct Sim {
    replicas: Vec<Replica<Arr>>,
    rngs: Vec<ChaCha8Rng>,
    deltas: Vec<Causal<Arr>>,
    applied: Vec<BTreeSet<usize>>,
    /// For each remove: the element, and the deltas its replica had applied.
    removes: Vec<(ElemId, BTreeSet<usize>)>,
    /// For each element: the deltas that wrote to it.
    writes: std::collections::BTreeMap<ElemId, BTreeSet<usize>>,
}

impl Sim {
    fn new(n: usize, seed: u64) -> Self {
        Self {
            replicas: (0..n)
                .map(|i| Replica::new(ReplicaId(i as u64 + 1)))
                .collect(),
            rngs: (0..n).map(|i| rng(seed ^ (i as u64 * 0x9E37))).collect(),
            deltas: Vec::new(),
            applied: vec![BTreeSet::new(); n],
            removes: Vec::new(),
            writes: Default::default(),
        }
    }

    /// Runs a mutation on replica `r`, checks delta == mutation, records the delta.
    fn mutate(
        &mut self,
        r: usize,
        f: impl FnOnce(&Arr, &mut horao_crdt::Tx, &mut ChaCha8Rng) -> horao_crdt::Result<Arr>,
    ) -> Causal<Arr> {
        let before = self.replicas[r].causal().clone();
        let rng = &mut self.rngs[r];
        let delta = self.replicas[r].try_mutate(|s, tx| f(s, tx, rng)).unwrap();
        let mut merged = before.clone();
        merged.merge(delta.clone());
        assert_eq!(&merged, self.replicas[r].causal(), "delta == mutation");
        delta.validate().unwrap();
        let i = self.deltas.len();
        for id in delta.store.elements().map(|(id, _)| id) {
            self.writes.entry(id).or_default().insert(i);
        }
        self.deltas.push(delta.clone());
        self.applied[r].insert(i);
        delta
    }

    fn deliver(&mut self, to: usize, mut which: Vec<usize>, shuffle: u64) {
        let mut r = rng(shuffle);
        for k in (1..which.len()).rev() {
            which.swap(k, r.random_range(0..=k));
        }
        for i in which {
            self.replicas[to].apply(self.deltas[i].clone());
            self.applied[to].insert(i);
        }
    }

    fn step(&mut self, op: &Op, t: u64) {
        let n = self.replicas.len();
        // Several operations share a millisecond so equal timestamps occur.
        let now = ts(t / 3);
        let pick = |s: &Arr, which: usize| {
            let ids = s.ids();
            (!ids.is_empty()).then(|| ids[which % ids.len()])
        };
        match *op {
            Op::Insert { r, at } => {
                let r = r % n;
                let at = at % (self.replicas[r].state().len() + 1);
                let mut new = None;
                self.mutate(r, |s, tx, rng| {
                    let (d, id) =
                        s.insert_at(at, now, tx, rng, |v, tx| v.write(t as u32, now, tx))?;
                    new = Some(id);
                    Ok(d)
                });
                let s = self.replicas[r].state();
                assert_eq!(s.index_of(new.unwrap()), Some(at));
            }
            Op::Push { r } => {
                let r = r % n;
                self.mutate(r, |s, tx, rng| {
                    Ok(s.push_back(now, tx, rng, |_, _| LwwReg::default())?.0)
                });
            }
            Op::Move { r, which, at } => {
                let r = r % n;
                let s = self.replicas[r].state();
                let Some(id) = pick(s, which) else { return };
                let at = at % s.len();
                self.mutate(r, |s, tx, rng| s.move_to(id, at, now, tx, rng));
                assert_eq!(self.replicas[r].state().index_of(id), Some(at));
            }
            Op::MoveBetween { r, which, at } => {
                // Move right after another element, its right neighbour as upper bound.
                let r = r % n;
                let s = self.replicas[r].state();
                let Some(id) = pick(s, which) else { return };
                let Some(left) = pick(s, at).filter(|l| *l != id) else {
                    return;
                };
                let order = s.ids();
                let next = order.iter().skip_while(|x| **x != left).nth(1).copied();
                let right = next
                    .filter(|x| *x != id)
                    .or_else(|| order.iter().skip_while(|x| **x != left).nth(2).copied());
                self.mutate(r, |s, tx, rng| {
                    s.move_between(id, Some(left), right, now, tx, rng)
                });
                let s = self.replicas[r].state();
                assert_eq!(s.index_of(id), s.index_of(left).map(|i| i + 1));
            }
            Op::Remove { r, which } => {
                let r = r % n;
                let Some(id) = pick(self.replicas[r].state(), which) else {
                    return;
                };
                let seen = self.applied[r].clone();
                self.mutate(r, |s, tx, _| s.remove(id, tx));
                assert!(!self.replicas[r].state().contains(id));
                self.removes.push((id, seen));
            }
            Op::Update { r, which, v } => {
                let r = r % n;
                let Some(id) = pick(self.replicas[r].state(), which) else {
                    return;
                };
                let before = self.replicas[r].state().index_of(id);
                self.mutate(r, |s, tx, _| {
                    s.update(id, tx, |reg, tx| reg.write(v, now, tx))
                });
                let s = self.replicas[r].state();
                assert_eq!(s.get(id).and_then(LwwReg::get), Some(&v));
                assert_eq!(s.index_of(id), before, "an update does not move");
            }
            Op::Sync { from, to, shuffle } => {
                let (from, to) = (from % n, to % n);
                let missing = self.applied[from]
                    .difference(&self.applied[to])
                    .copied()
                    .collect();
                self.deliver(to, missing, shuffle);
            }
        }
    }
}

fn check_converged(sim: &Sim) {
    let first = &sim.replicas[0];
    let ids = first.state().ids();
    let unique: BTreeSet<_> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an element appears twice");
    assert_eq!(ids.len(), first.state().len());
    for (k, id) in ids.iter().enumerate() {
        assert_eq!(first.state().index_of(*id), Some(k));
        assert!(first.state().position(*id).is_some());
    }
    for r in &sim.replicas[1..] {
        assert_eq!(r.causal(), first.causal());
        assert_eq!(r.state().ids(), ids, "same order everywhere");
    }
    // Oracle, independent of the join: an element never removed is live; an element whose
    // remover had seen every write to it is gone.
    for (id, writes) in &sim.writes {
        let removes: Vec<_> = sim.removes.iter().filter(|(x, _)| x == id).collect();
        if removes.is_empty() {
            assert!(unique.contains(id), "{id} lost");
        }
        if removes.iter().any(|(_, seen)| writes.is_subset(seen)) {
            assert!(!unique.contains(id), "{id} resurrected");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn concurrent_histories_converge_with_each_element_once(
        n in 2..=4usize,
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 1..40),
        finale in any::<u64>(),
    ) {
        let mut sim = Sim::new(n, seed);
        for (t, op) in ops.iter().enumerate() {
            sim.step(op, t as u64);
        }
        // Full-state merge of the partial states, before delivering the rest.
        let mut merged = Causal::default();
        for r in &sim.replicas {
            merged.merge(r.causal().clone());
        }
        for to in 0..n {
            let all = (0..sim.deltas.len()).collect();
            sim.deliver(to, all, finale ^ to as u64);
        }
        check_converged(&sim);
        prop_assert_eq!(&merged, sim.replicas[0].causal(), "delta exchange == full merge");
    }

    #[test]
    fn joins_of_array_states_are_commutative_associative_idempotent(
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let mut sim = Sim::new(3, seed);
        for (t, op) in ops.iter().enumerate() {
            sim.step(op, t as u64);
        }
        let [a, b, c] = [0, 1, 2].map(|i| sim.replicas[i].causal().clone());
        let join = |x: &Causal<Arr>, y: &Causal<Arr>| {
            let mut z = x.clone();
            z.merge(y.clone());
            z
        };
        prop_assert_eq!(join(&a, &b), join(&b, &a));
        prop_assert_eq!(join(&join(&a, &b), &c), join(&a, &join(&b, &c)));
        prop_assert_eq!(join(&a, &a), a.clone());
        // Applying every delta a lacks equals merging the full state that holds them.
        let mut applied = a.clone();
        for i in sim.applied[1].difference(&sim.applied[0]) {
            applied.apply(sim.deltas[*i].clone());
        }
        prop_assert_eq!(applied, join(&a, &b));
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/// Two replicas holding the same three elements.
fn pair() -> (Replica<Arr>, Replica<Arr>, ChaCha8Rng, [ElemId; 3]) {
    let mut a: Replica<Arr> = Replica::new(ReplicaId(1));
    let mut b = Replica::new(ReplicaId(2));
    let mut r = rng(9);
    let mut ids = Vec::new();
    for v in 0..3 {
        let mut id = None;
        let d = a
            .try_mutate(|s, tx| {
                let (d, x) = s.push_back(ts(1), tx, &mut r, |reg, tx| reg.write(v, ts(1), tx))?;
                id = Some(x);
                Ok::<_, Error>(d)
            })
            .unwrap();
        b.apply(d);
        ids.push(id.unwrap());
    }
    (a, b, r, [ids[0], ids[1], ids[2]])
}

fn exchange(a: &mut Replica<Arr>, b: &mut Replica<Arr>, da: Causal<Arr>, db: Causal<Arr>) {
    a.apply(db);
    b.apply(da);
    assert_eq!(a.causal(), b.causal());
}

#[test]
fn concurrent_moves_of_one_element_keep_one_copy_at_the_later_spot() {
    let (mut a, mut b, mut r, [x, y, z]) = pair();
    let da = a
        .try_mutate(|s, tx| s.move_to(x, 2, ts(5), tx, &mut r))
        .unwrap();
    let db = b
        .try_mutate(|s, tx| s.move_to(x, 1, ts(6), tx, &mut r))
        .unwrap();
    exchange(&mut a, &mut b, da, db);
    assert_eq!(a.state().ids(), vec![y, x, z]);
    assert_eq!(a.state().len(), 3);
}

#[test]
fn concurrent_move_and_insert_converge() {
    let (mut a, mut b, mut r, [x, y, z]) = pair();
    let da = a
        .try_mutate(|s, tx| s.move_to(z, 0, ts(5), tx, &mut r))
        .unwrap();
    let mut new = None;
    let db = b
        .try_mutate(|s, tx| {
            let (d, id) =
                s.insert_between(Some(x), Some(y), ts(5), tx, &mut r, |v, _| v.clone())?;
            new = Some(id);
            Ok::<_, Error>(d)
        })
        .unwrap();
    exchange(&mut a, &mut b, da, db);
    assert_eq!(a.state().ids(), vec![z, x, new.unwrap(), y]);
}

#[test]
fn move_concurrent_with_remove_keeps_the_element_with_a_reset_value() {
    let (mut a, mut b, mut r, [x, y, z]) = pair();
    let da = a.try_mutate(|s, tx| s.remove(y, tx)).unwrap();
    let db = b
        .try_mutate(|s, tx| s.move_to(y, 0, ts(5), tx, &mut r))
        .unwrap();
    exchange(&mut a, &mut b, da, db);
    assert_eq!(a.state().ids(), vec![y, x, z]);
    assert_eq!(a.state().get(y).and_then(LwwReg::get), None);
}

#[test]
fn update_concurrent_with_remove_keeps_the_element_in_place() {
    let (mut a, mut b, _, [x, y, z]) = pair();
    let da = a.try_mutate(|s, tx| s.remove(y, tx)).unwrap();
    let db = b
        .try_mutate(|s, tx| s.update(y, tx, |v, tx| v.write(42, ts(5), tx)))
        .unwrap();
    exchange(&mut a, &mut b, da, db);
    assert_eq!(a.state().ids(), vec![x, y, z]);
    assert_eq!(a.state().get(y).and_then(LwwReg::get), Some(&42));
}

#[test]
fn a_later_move_beats_a_concurrent_update() {
    let (mut a, mut b, mut r, [x, y, z]) = pair();
    let da = a
        .try_mutate(|s, tx| s.move_to(x, 2, ts(5), tx, &mut r))
        .unwrap();
    let db = b
        .try_mutate(|s, tx| s.update(x, tx, |v, tx| v.write(7, ts(5), tx)))
        .unwrap();
    exchange(&mut a, &mut b, da, db);
    assert_eq!(a.state().ids(), vec![y, z, x]);
    assert_eq!(a.state().get(x).and_then(LwwReg::get), Some(&7));
}

#[test]
fn out_of_order_remove_can_leave_a_positionless_element_listed_last() {
    // C sees y's move but not the update the move overwrote; C's remove then kills the move's
    // position while the update's value survives: y holds a value and no position.
    let (mut a, b, mut r, [x, y, z]) = pair();
    let mut c = Replica::from_state(ReplicaId(3), b.causal().clone());
    let update = a
        .try_mutate(|s, tx| s.update(y, tx, |v, tx| v.write(42, ts(5), tx)))
        .unwrap();
    let moved = a
        .try_mutate(|s, tx| s.move_to(y, 0, ts(6), tx, &mut r))
        .unwrap();
    c.apply(moved);
    let removed = c.try_mutate(|s, tx| s.remove(y, tx)).unwrap();
    c.apply(update);
    a.apply(removed);
    assert_eq!(a.causal(), c.causal());
    let s = a.state();
    assert_eq!(s.ids(), vec![x, z, y]);
    assert_eq!(s.position(y), None);
    assert_eq!(s.get(y).and_then(LwwReg::get), Some(&42));
    // New elements go before it; moving it gives it a position again.
    let mut a2 = a.clone();
    let mut new = None;
    a2.try_mutate(|s, tx| {
        let (d, id) = s.insert_at(3, ts(7), tx, &mut r, |v, _| v.clone())?;
        new = Some(id);
        Ok::<_, Error>(d)
    })
    .unwrap();
    assert_eq!(a2.state().ids(), vec![x, z, new.unwrap(), y]);
    a.try_mutate(|s, tx| s.move_to(y, 0, ts(8), tx, &mut r))
        .unwrap();
    assert_eq!(a.state().ids(), vec![y, x, z]);
    assert!(a.state().position(y).is_some());
}

#[test]
fn tied_positions_are_spread_to_make_room() {
    // Two replicas with the same random seed append concurrently: equal positions.
    let (mut a, mut b, r, [_, _, z]) = pair();
    let push = |rep: &mut Replica<Arr>| {
        let mut id = None;
        let mut same = r.clone();
        let d = rep
            .try_mutate(|s, tx| {
                let (d, x) = s.push_back(ts(5), tx, &mut same, |v, _| v.clone())?;
                id = Some(x);
                Ok::<_, Error>(d)
            })
            .unwrap();
        (d, id.unwrap())
    };
    let (da, p) = push(&mut a);
    let (db, q) = push(&mut b);
    exchange(&mut a, &mut b, da, db);
    assert_eq!(a.state().position(p), a.state().position(q));
    let (p, q) = (p.min(q), p.max(q));
    assert_eq!(a.state().ids()[3..], [p, q]);
    let mut r2 = rng(11);
    let mut new = None;
    let d = a
        .try_mutate(|s, tx| {
            let (d, id) =
                s.insert_between(Some(p), Some(q), ts(6), tx, &mut r2, |v, _| v.clone())?;
            new = Some(id);
            Ok::<_, Error>(d)
        })
        .unwrap();
    assert!(
        d.store.elements().any(|(id, _)| id == q),
        "the tie was spread"
    );
    b.apply(d);
    assert_eq!(a.causal(), b.causal());
    let ids = a.state().ids();
    assert_eq!(ids[2..], [z, p, new.unwrap(), q]);
    assert!(a.state().position(p) < a.state().position(q));
}

#[test]
fn unknown_ids_and_bad_bounds_are_typed_errors() {
    let (mut a, _, mut r, [x, y, _]) = pair();
    let ghost = ElemId(horao_crdt::Dot::new(ReplicaId(9), 1));
    let rm = a.try_mutate(|s, tx| s.remove(ghost, tx));
    assert!(matches!(rm, Err(Error::NoSuchElement(_))));
    let up = a.try_mutate(|s, tx| s.update(ghost, tx, |v, _| v.clone()));
    assert!(matches!(up, Err(Error::NoSuchElement(_))));
    let mv = a.try_mutate(|s, tx| s.move_between(x, Some(ghost), None, ts(2), tx, &mut r));
    assert!(matches!(mv, Err(Error::NoSuchElement(_))));
    let wrong_way = a.try_mutate(|s, tx| {
        s.insert_between(Some(y), Some(x), ts(2), tx, &mut r, |v, _| v.clone())
            .map(|(d, _)| d)
    });
    assert!(matches!(wrong_way, Err(Error::NoPosition(_))));
    let itself = a.try_mutate(|s, tx| s.move_between(x, Some(x), None, ts(2), tx, &mut r));
    assert!(matches!(itself, Err(Error::NoPosition(_))));
    let past = a.try_mutate(|s, tx| s.move_to(x, 3, ts(2), tx, &mut r));
    assert!(matches!(past, Err(Error::NoPosition(_))));
    let past = a.try_mutate(|s, tx| {
        s.insert_at(4, ts(2), tx, &mut r, |v, _| v.clone())
            .map(|(d, _)| d)
    });
    assert!(matches!(past, Err(Error::NoPosition(_))));
    assert_eq!(a.state().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// Core regression found by the histories above

#[test]
fn replica_applies_a_late_delta_whose_dots_it_already_knows() {
    // A register written twice, then cleared. A peer receives the clear, then the first write,
    // then the second: by then it knows every dot of the second write (the overwritten one
    // came with the first write, the new one was killed by the clear), yet only the second
    // write removes the first value.
    let mut a: Replica<LwwReg<u8>> = Replica::new(ReplicaId(1));
    let w1 = a.mutate(|r, tx| r.write(1, ts(1), tx)).unwrap();
    let w2 = a.mutate(|r, tx| r.write(2, ts(2), tx)).unwrap();
    let clear = a.mutate(|r, tx| r.clear(tx)).unwrap();
    let mut b = Replica::new(ReplicaId(2));
    b.apply(clear);
    b.apply(w1);
    b.apply(w2);
    assert_eq!(b.state().get(), None);
    assert_eq!(b.causal(), a.causal());
}
