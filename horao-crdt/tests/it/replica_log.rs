//! The replica's encoded, byte-bounded delta log: trimming by bytes drops the oldest deltas
//! only (peers behind them get the full state, the others exactly the deltas they lack), and
//! on random histories every answer equals what a log of decoded deltas, as the replica kept
//! before, answers.

use horao_crdt::{Answer, Causal, CausalContext, DotStore, OrMap, OrSet, Replica, ReplicaId, Tx};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// Keys holding sets: adds, element removals and key removals (reset-remove) all occur.
type Doc = OrMap<u8, OrSet<u8>>;

/// A random local change.
fn change(rng: &mut ChaCha8Rng) -> impl FnOnce(&Doc, &mut Tx) -> Doc + use<> {
    let (k, e, kind) = (
        rng.random_range(0..6u8),
        rng.random_range(0..4u8),
        rng.random_range(0..10u8),
    );
    move |m: &Doc, tx: &mut Tx| match kind {
        0..=5 => m.update(k, tx, |s, tx| s.add(e, tx)),
        6..=8 => m.update(k, tx, |s, tx| s.remove(&e, tx)),
        _ => m.remove(&k, tx),
    }
}

/// A delta combined the way an answer combines logged deltas.
fn combined<S: DotStore>(deltas: &[Causal<S>]) -> Causal<S> {
    let mut out = Causal::default();
    for d in deltas {
        out.combine(d.clone());
    }
    out
}

#[test]
fn byte_bound_drops_the_oldest_deltas_only() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut a: Replica<Doc> = Replica::new(ReplicaId(1));
    let bound = 4_096;
    a.set_max_log_bytes(bound);
    // The peers: A's state after each of its mutations.
    let mut history = vec![a.causal().clone()];
    let mut deltas = Vec::new();
    for _ in 0..300 {
        deltas.push(a.mutate(change(&mut rng)).unwrap());
        history.push(a.causal().clone());
        assert!(a.log_bytes() <= bound, "{} bytes logged", a.log_bytes());
    }
    let kept = a.log_len();
    assert!(
        kept > 1 && kept < deltas.len(),
        "{kept} deltas kept: the bound should trim some"
    );
    // Mutations that changed nothing (removing what is absent) bring no dots and are not
    // logged; the oldest logged ones were dropped.
    let logged: Vec<usize> = (0..deltas.len())
        .filter(|&i| !deltas[i].ctx.is_empty())
        .collect();
    let last_dropped = logged[logged.len() - kept - 1];
    for (k, peer) in history.iter().enumerate() {
        match a.answer(&peer.ctx) {
            Answer::UpToDate => assert_eq!(k, deltas.len()),
            Answer::Full(s) => {
                assert!(k <= last_dropped, "peer at {k} got the full state");
                assert_eq!(&s, a.causal());
            }
            Answer::Deltas(d) => {
                assert!(k > last_dropped, "peer at {k} lacks trimmed deltas");
                let lacked: Vec<_> = logged
                    .iter()
                    .filter(|&&i| i >= k)
                    .map(|&i| deltas[i].clone())
                    .collect();
                assert_eq!(d, combined(&lacked), "peer at {k}");
                let mut caught_up = peer.clone();
                caught_up.apply(d);
                assert_eq!(&caught_up, a.causal(), "peer at {k} after applying");
            }
        }
    }
    // A bound below one delta's size keeps nothing, and every peer behind gets the full state.
    a.set_max_log_bytes(1);
    assert_eq!((a.log_len(), a.log_bytes()), (0, 0));
    assert_eq!(
        a.answer(&history[deltas.len() - 1].ctx),
        Answer::Full(a.causal().clone())
    );
}

#[test]
fn the_entry_bound_still_applies_under_the_byte_bound() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut a: Replica<Doc> = Replica::new(ReplicaId(1));
    a.set_max_log_entries(10);
    let before = a.causal().clone();
    // Adds only: every one brings a dot and is logged.
    let deltas: Vec<_> = (0..40)
        .map(|_| {
            let (k, e) = (rng.random_range(0..6u8), rng.random_range(0..4u8));
            a.mutate(|m, tx| m.update(k, tx, |s, tx| s.add(e, tx)))
                .unwrap()
        })
        .collect();
    assert_eq!(a.log_len(), 10);
    assert_eq!(a.answer(&before.ctx), Answer::Full(a.causal().clone()));
    let mut peer = Replica::<Doc>::new(ReplicaId(2));
    for d in &deltas[..30] {
        peer.apply(d.clone());
    }
    assert_eq!(
        a.answer(peer.ctx()),
        Answer::Deltas(combined(&deltas[30..]))
    );
}

/// The delta log as the replica kept it before its deltas were encoded: decoded deltas in a
/// deque bounded by entries only, with the same collection rules.
#[derive(Clone, Debug)]
struct OldLog<S> {
    state: Causal<S>,
    log: VecDeque<(CausalContext, Causal<S>)>,
    collected: CausalContext,
    max: usize,
}

impl<S: DotStore> OldLog<S> {
    fn new() -> Self {
        Self {
            state: Causal::default(),
            log: VecDeque::new(),
            collected: CausalContext::new(),
            max: usize::MAX,
        }
    }

    fn set_max(&mut self, max: usize) {
        self.max = max.max(1);
        self.trim();
    }

    fn apply(&mut self, delta: Causal<S>) -> bool {
        let dots = delta.ctx.difference(&self.state.ctx);
        if dots.is_empty() {
            self.state.apply(delta);
            return false;
        }
        self.state.apply(delta.clone());
        self.log.push_back((dots, delta));
        self.trim();
        true
    }

    fn merge(&mut self, state: Causal<S>) -> bool {
        let dots = state.ctx.difference(&self.state.ctx);
        self.state.merge(state);
        self.collected.union(&dots);
        !dots.is_empty()
    }

    fn answer(&self, peer: &CausalContext) -> Answer<S> {
        if peer.includes(&self.state.ctx) {
            return Answer::UpToDate;
        }
        if !peer.includes(&self.collected) {
            return Answer::Full(self.state.clone());
        }
        let mut out = Causal::default();
        for (dots, delta) in &self.log {
            if !peer.includes(dots) {
                out.combine(delta.clone());
            }
        }
        Answer::Deltas(out)
    }

    fn collect(&mut self, stable: &CausalContext) -> usize {
        let before = self.log.len();
        let collected = &mut self.collected;
        self.log.retain(|(dots, _)| {
            let gone = stable.includes(dots);
            if gone {
                collected.union(dots);
            }
            !gone
        });
        before - self.log.len()
    }

    fn trim(&mut self) {
        while self.log.len() > self.max {
            if let Some((dots, _)) = self.log.pop_front() {
                self.collected.union(&dots);
            }
        }
    }
}

/// A replica and its old-log twin, fed the same deltas and states.
struct Twin {
    new: Replica<Doc>,
    old: OldLog<Doc>,
}

impl Twin {
    fn apply(&mut self, d: &Causal<Doc>) {
        assert_eq!(self.new.apply(d.clone()), self.old.apply(d.clone()));
    }
}

/// Sends `from`'s answer to `to`'s digest, checking both logs answer the same.
fn sync(twins: &mut [Twin], from: usize, to: usize) {
    let peer = twins[to].new.ctx().clone();
    let answer = twins[from].new.answer(&peer);
    assert_eq!(
        answer,
        twins[from].old.answer(&peer),
        "{from} answering {to}"
    );
    match answer {
        Answer::UpToDate => {}
        Answer::Deltas(d) => twins[to].apply(&d),
        Answer::Full(s) => {
            let t = &mut twins[to];
            assert_eq!(t.new.merge(s.clone()), t.old.merge(s));
        }
    }
}

fn run(seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = rng.random_range(2..=4usize);
    let mut twins: Vec<Twin> = (0..n)
        .map(|i| Twin {
            new: Replica::new(ReplicaId(i as u64 + 1)),
            old: OldLog::new(),
        })
        .collect();
    // Every delta made, with its dependencies (the dots it overwrote or removed).
    let mut made: Vec<(Causal<Doc>, CausalContext)> = Vec::new();
    for _ in 0..80 {
        let i = rng.random_range(0..n);
        match rng.random_range(0..20u8) {
            0..=8 => {
                let t = &mut twins[i];
                let before = t.new.ctx().clone();
                let d = t.new.mutate(change(&mut rng)).unwrap();
                t.old.apply(d.clone());
                made.push((d.clone(), d.ctx.intersection(&before)));
            }
            9..=12 if !made.is_empty() => {
                let (d, deps) = &made[rng.random_range(0..made.len())];
                if twins[i].new.ctx().includes(deps) {
                    twins[i].apply(d);
                }
            }
            13..=16 => sync(&mut twins, rng.random_range(0..n), i),
            17 => {
                let s = twins[rng.random_range(0..n)].new.causal().clone();
                let t = &mut twins[i];
                assert_eq!(t.new.merge(s.clone()), t.old.merge(s));
            }
            18 => {
                let stable = twins
                    .iter()
                    .map(|t| t.new.ctx().clone())
                    .reduce(|a, c| a.intersection(&c))
                    .unwrap_or_default();
                for t in &mut twins {
                    assert_eq!(t.new.collect(&stable), t.old.collect(&stable));
                }
            }
            _ => {
                let max = rng.random_range(1..12usize);
                twins[i].new.set_max_log_entries(max);
                twins[i].old.set_max(max);
            }
        }
        // Every replica answers every other replica's digest, and a few older digests, as
        // the old log does.
        let mut digests: Vec<CausalContext> = twins.iter().map(|t| t.new.ctx().clone()).collect();
        digests.push(CausalContext::new());
        for (d, _) in made.iter().rev().take(3) {
            digests.push(d.ctx.clone());
        }
        for t in &twins {
            assert_eq!(t.new.causal(), &t.old.state);
            assert_eq!(t.new.log_len(), t.old.log.len());
            for peer in &digests {
                assert_eq!(t.new.answer(peer), t.old.answer(peer), "seed {seed}");
            }
        }
    }
    // Everyone converges through the answers.
    for _ in 0..2 {
        for to in 0..n {
            for from in 0..n {
                if from != to {
                    sync(&mut twins, from, to);
                }
            }
        }
    }
    for t in &twins {
        assert_eq!(t.new.causal(), twins[0].new.causal(), "seed {seed}");
    }
}

#[test]
fn answers_equal_those_of_a_decoded_log() {
    for seed in 0..300 {
        run(seed);
    }
}
