//! Stability over the persisted membership: a partitioned member stalls collection but never
//! writes, retiring is explicit and returns what to persist, a retired replica that returns
//! re-syncs by full state — and, as a property over random partitions, retirements,
//! restarts, failed commits and collection, no removed entry ever comes back.

use crate::common::{self, NOW, Store, deliver, drain, mesh, open, pair, pump, write};
use horao_crdt::{
    Causal, Change, Dot, DotStore, OrSet, ReplicaId, SyncConfig, SyncError, SyncNode, SyncState,
};
use proptest::prelude::*;
use std::collections::BTreeSet;

type Set = OrSet<u8>;

/// Delivers frames among `nodes` until quiet, dropping those to or from `cut`.
fn pump_without<S: Store>(nodes: &mut [SyncNode<S>], cut: usize) {
    for _ in 0..1_000 {
        let mut moved = false;
        for i in 0..nodes.len() {
            for t in drain(&mut nodes[i]) {
                let to = (t.to.0 - 1) as usize;
                if i == cut || to == cut {
                    continue;
                }
                moved = true;
                let from = nodes[i].id();
                deliver(&mut nodes[to], from, &t.frame).unwrap();
            }
        }
        if !moved {
            return;
        }
    }
    panic!("never quiet");
}

fn round_without(nodes: &mut [SyncNode<Set>], cut: usize) {
    nodes.iter_mut().for_each(SyncNode::tick);
    pump_without(nodes, cut);
}

#[test]
fn a_partitioned_member_stalls_collection_but_never_writes() {
    for max_log_entries in [100_000, 8] {
        let config = SyncConfig {
            max_log_entries,
            ..SyncConfig::default()
        };
        let mut nodes: Vec<SyncNode<Set>> = mesh(3, &config);
        for e in 0..50 {
            write(&mut nodes[0], |s, tx| s.add(e, tx)).unwrap();
            round_without(&mut nodes, 2);
        }
        // Node 2 has everything, node 3 nothing: node 1 keeps its deltas for node 3, up to
        // the log's bound — writes never wait for it.
        assert_eq!(nodes[1].replica().state().len(), 50);
        assert_eq!(nodes[0].replica().log_len(), 50.min(max_log_entries));
        // Retired: the membership to persist no longer names it, and the log is collected.
        let m = nodes[0].retire_peer(ReplicaId(3));
        assert_eq!(
            m.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            vec![ReplicaId(2)]
        );
        let m = nodes[1].retire_peer(ReplicaId(3));
        assert!(!m.contains(ReplicaId(3)));
        round_without(&mut nodes, 2);
        assert_eq!(nodes[0].replica().log_len(), 0);
        assert_eq!(nodes[1].replica().log_len(), 0);

        // It comes back: its hello makes it a member again, and since the deltas it lacks were
        // collected, it gets the full state.
        let (a, b) = pair(&mut nodes, 0, 2);
        open(a, b);
        let accepted_membership = nodes[0].membership();
        assert!(accepted_membership.contains(ReplicaId(3)));
        let mut fulls = 0;
        for _ in 0..4 {
            for i in [0, 2] {
                for t in drain(&mut nodes[i]) {
                    let to = (t.to.0 - 1) as usize;
                    if to == 1 {
                        continue;
                    }
                    let from = nodes[i].id();
                    if deliver(&mut nodes[to], from, &t.frame).unwrap() == Change::Full {
                        fulls += 1;
                    }
                }
            }
            nodes[2].tick();
        }
        assert!(fulls > 0);
        assert_eq!(nodes[2].replica().causal(), nodes[0].replica().causal());
    }
}

// ---------------------------------------------------------------------------------------------
// No resurrection, as a property
// ---------------------------------------------------------------------------------------------

/// Replicas in the property.
const N: usize = 4;

/// One step of a random history.
#[derive(Clone, Debug)]
enum Op {
    Add(usize, u8),
    Remove(usize, u8),
    /// Deliver (or lose, across a partition) the in-flight message at this index (modulo).
    Deliver(usize),
    Tick(usize),
    /// Cut a replica off from the others, or reconnect it.
    Partition(usize),
    /// The replica's next commit fails (the change is aborted).
    FailCommit(usize),
    /// Save the replica's sync state (as a server does now and then).
    Save(usize),
    /// Restart from the committed state and the last saved sync state.
    Restart(usize),
    /// Every other replica retires it (it stays away until it returns).
    Retire(usize),
    Return(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let node = 0..N;
    prop_oneof![
        3 => (node.clone(), 0..4u8).prop_map(|(n, e)| Op::Add(n, e)),
        2 => (node.clone(), 0..4u8).prop_map(|(n, e)| Op::Remove(n, e)),
        8 => any::<usize>().prop_map(Op::Deliver),
        2 => node.clone().prop_map(Op::Tick),
        1 => node.clone().prop_map(Op::Partition),
        1 => node.clone().prop_map(Op::FailCommit),
        1 => node.clone().prop_map(Op::Save),
        1 => node.clone().prop_map(Op::Restart),
        1 => node.clone().prop_map(Op::Retire),
        1 => node.prop_map(Op::Return),
    ]
}

/// The cluster of the property, with a network of in-flight frames.
struct World {
    nodes: Vec<SyncNode<Set>>,
    saved: Vec<SyncState>,
    net: Vec<(usize, usize, Vec<u8>)>,
    cut: [bool; N],
    away: [bool; N],
    fail: [bool; N],
    /// Per replica, the dots it has seen removed (in its context, not in its store), ever.
    removed: Vec<BTreeSet<Dot>>,
    /// The join of every committed local change.
    oracle: Causal<Set>,
}

impl World {
    fn new(max_log_entries: usize) -> Self {
        let config = SyncConfig {
            max_log_entries,
            incarnation: 1,
            ..SyncConfig::default()
        };
        let nodes: Vec<SyncNode<Set>> = mesh(N as u64, &config);
        Self {
            saved: nodes.iter().map(SyncNode::export).collect(),
            nodes,
            net: Vec::new(),
            cut: [false; N],
            away: [false; N],
            fail: [false; N],
            removed: vec![BTreeSet::new(); N],
            oracle: Causal::default(),
        }
    }

    fn send(&mut self, i: usize) {
        for t in drain(&mut self.nodes[i]) {
            self.net.push((i, (t.to.0 - 1) as usize, t.frame.to_vec()));
        }
    }

    fn local(&mut self, i: usize, f: impl FnOnce(&Set, &mut horao_crdt::Tx) -> Set) {
        let p = self.nodes[i].mutate(f).unwrap();
        if std::mem::take(&mut self.fail[i]) {
            self.nodes[i].abort(p);
        } else {
            self.oracle.apply(p.change().clone());
            self.nodes[i].commit(p).unwrap();
        }
        self.send(i);
    }

    fn reachable(&self, a: usize, b: usize) -> bool {
        !(self.away[a] || self.away[b] || self.cut[a] != self.cut[b])
    }

    fn deliver(&mut self, k: usize) {
        if self.net.is_empty() {
            return;
        }
        let (from, to, frame) = self.net.remove(k % self.net.len());
        if !self.reachable(from, to) {
            return;
        }
        let node = &mut self.nodes[to];
        let msg = node.decode(&frame).unwrap();
        let handled = match node.handle(ReplicaId(from as u64 + 1), msg, NOW) {
            Ok(h) => h,
            // From a retired replica, or a chunk of a transfer a restart cut short.
            Err(SyncError::UnknownPeer(_) | SyncError::Transfer { .. }) => return,
            Err(e) => panic!("{e}"),
        };
        if let Some(p) = handled.pending {
            if std::mem::take(&mut self.fail[to]) {
                self.nodes[to].abort(p);
            } else {
                self.nodes[to].commit(p).unwrap();
            }
        }
        self.send(to);
    }

    fn connect(&mut self, i: usize, j: usize) {
        let (a, b) = pair(&mut self.nodes, i, j);
        open(a, b);
        let (ma, mb) = (a.membership(), b.membership());
        self.saved[i].membership = ma;
        self.saved[j].membership = mb;
        self.send(i);
        self.send(j);
    }

    fn restart(&mut self, i: usize) {
        self.nodes[i] = common::restarted(&self.nodes[i], self.saved[i].clone());
        // Frames in flight to the old process are lost with it.
        self.net.retain(|(_, to, _)| *to != i);
        if !self.away[i] {
            let away = self.away;
            for j in (0..N).filter(|&j| j != i && !away[j]) {
                self.connect(i, j);
            }
        }
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::Add(i, e) => self.local(i, |s, tx| s.add(e, tx)),
            Op::Remove(i, e) => self.local(i, |s, tx| s.remove(&e, tx)),
            Op::Deliver(k) => self.deliver(k),
            Op::Tick(i) => {
                self.nodes[i].tick();
                self.send(i);
            }
            Op::Partition(i) => self.cut[i] = !self.cut[i],
            Op::FailCommit(i) => self.fail[i] = true,
            Op::Save(i) => self.saved[i] = self.nodes[i].export(),
            Op::Restart(i) => self.restart(i),
            Op::Retire(i) if !self.away[i] => {
                self.away[i] = true;
                let id = ReplicaId(i as u64 + 1);
                for j in (0..N).filter(|&j| j != i) {
                    // Retirement returns the membership to persist; it is persisted.
                    self.saved[j].membership = self.nodes[j].retire_peer(id);
                }
            }
            Op::Return(i) if self.away[i] => {
                self.away[i] = false;
                let away = self.away;
                for j in (0..N).filter(|&j| j != i && !away[j]) {
                    self.connect(i, j);
                }
            }
            Op::Retire(_) | Op::Return(_) => {}
        }
    }

    /// No replica stores a dot it has ever seen removed (a dot in its context but not in its
    /// store) — across restarts too, since a restart keeps what was committed.
    fn check(&mut self) -> Result<(), TestCaseError> {
        for (n, removed) in self.nodes.iter().zip(&mut self.removed) {
            let mut stored = BTreeSet::new();
            n.replica().state().for_each_dot(&mut |d| {
                stored.insert(d);
            });
            let back: Vec<&Dot> = stored.intersection(removed).collect();
            prop_assert!(
                back.is_empty(),
                "{:?} stores removed dots {:?}",
                n.id(),
                back
            );
            for (r, ranges) in n.replica().ctx().iter() {
                for &(s, e) in ranges.intervals() {
                    removed.extend(
                        (s..=e)
                            .map(|c| Dot::new(*r, c))
                            .filter(|d| !stored.contains(d)),
                    );
                }
            }
        }
        Ok(())
    }

    /// Heals everything and runs anti-entropy until every replica holds the oracle.
    fn settle(&mut self) -> Result<(), TestCaseError> {
        self.cut = [false; N];
        self.fail = [false; N];
        for i in 0..N {
            self.step(Op::Return(i));
        }
        self.net.clear();
        for _ in 0..3 {
            self.nodes.iter_mut().for_each(SyncNode::tick);
            pump(&mut self.nodes);
        }
        self.check()?;
        for n in &self.nodes {
            prop_assert_eq!(n.replica().causal(), &self.oracle);
        }
        Ok(())
    }
}

// Case count: PROPTEST_CASES (proptest's default configuration reads it).
proptest! {
    #[test]
    fn no_removed_entry_ever_comes_back(
        max_log_entries in prop_oneof![Just(2usize), Just(100_000)],
        ops in proptest::collection::vec(op(), 0..80),
    ) {
        let mut w = World::new(max_log_entries);
        for op in ops {
            w.step(op);
            w.check()?;
        }
        w.settle()?;
    }
}
