//! The derived-index law on a small document (items, and an index of items by value):
//! patched equals rebuilt after any sequence of local writes, applied deltas and merges.

#![allow(clippy::unwrap_used)]

use super::{Derived, DerivedIndex};
use crate::{Causal, LwwReg, OrMap, Replica, ReplicaId, Timestamp, combine};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Doc {
    items: OrMap<u8, LwwReg<u8>>,
    #[serde(skip)]
    by_value: Derived<ByValue>,
}
crate::dot_store_struct!(Doc { items } derived by_value);

/// Keys by value.
#[derive(Clone, Debug, PartialEq)]
struct ByValue(BTreeMap<u8, BTreeSet<u8>>);

fn value(d: &Doc, k: u8) -> Option<u8> {
    d.items.get(&k).and_then(|r| r.get()).copied()
}

impl DerivedIndex<Doc> for ByValue {
    type Touched = Vec<(u8, Option<u8>)>;

    fn build(d: &Doc) -> Self {
        let mut m: BTreeMap<u8, BTreeSet<u8>> = BTreeMap::new();
        for k in d.items.keys() {
            if let Some(v) = value(d, *k) {
                m.entry(v).or_default().insert(*k);
            }
        }
        ByValue(m)
    }

    fn touched(&self, state: &Doc, delta: &Doc) -> Self::Touched {
        delta
            .items
            .raw_keys()
            .map(|k| (*k, value(state, *k)))
            .collect()
    }

    fn patch(&mut self, touched: Self::Touched, state: &Doc) -> bool {
        for (k, old) in touched {
            if let Some(old) = old
                && let Some(set) = self.0.get_mut(&old)
            {
                set.remove(&k);
                if set.is_empty() {
                    self.0.remove(&old);
                }
            }
            if let Some(v) = value(state, k) {
                self.0.entry(v).or_default().insert(k);
            }
        }
        true
    }

    fn same_entries(&self, other: &Self) -> bool {
        self == other
    }
}

#[derive(Clone, Debug)]
enum Op {
    Set {
        at: usize,
        key: u8,
        value: u8,
    },
    Remove {
        at: usize,
        key: u8,
    },
    /// Deliver every delta `from` minted since the last delivery to `to`.
    Deliver {
        from: usize,
        to: usize,
    },
    Merge {
        from: usize,
        to: usize,
    },
    /// Query (and so build) the index of a replica.
    Query {
        at: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..3usize;
    prop_oneof![
        (r.clone(), 0..6u8, 0..4u8).prop_map(|(at, key, value)| Op::Set { at, key, value }),
        (r.clone(), 0..6u8).prop_map(|(at, key)| Op::Remove { at, key }),
        (r.clone(), r.clone()).prop_map(|(from, to)| Op::Deliver { from, to }),
        (r.clone(), r.clone()).prop_map(|(from, to)| Op::Merge { from, to }),
        r.prop_map(|at| Op::Query { at }),
    ]
}

proptest! {
    #[test]
    fn patched_equals_rebuilt(ops in proptest::collection::vec(op(), 1..60)) {
        let mut rs: Vec<Replica<Doc>> = (1..=3).map(|i| Replica::new(ReplicaId(i))).collect();
        let mut outbox: Vec<Vec<Causal<Doc>>> = vec![Vec::new(); 3];
        for (step, op) in ops.into_iter().enumerate() {
            let ts = Timestamp::new(1_000 + step as u64, 0).unwrap();
            match op {
                Op::Set { at, key, value } => {
                    let d = rs[at]
                        .mutate(|s, tx| s.items.update(key, tx, |r, tx| r.write(value, ts, tx)).into_doc())
                        .unwrap();
                    outbox[at].push(d);
                }
                Op::Remove { at, key } => {
                    let d = rs[at].mutate(|s, tx| s.items.remove(&key, tx).into_doc()).unwrap();
                    outbox[at].push(d);
                }
                Op::Deliver { from, to } => {
                    for d in outbox[from].clone() {
                        rs[to].apply(d);
                    }
                }
                Op::Merge { from, to } => {
                    let s = rs[from].causal().clone();
                    rs[to].merge(s);
                }
                Op::Query { at } => {
                    let s = rs[at].state();
                    s.by_value.get_or_build(s);
                }
            }
            for r in &rs {
                prop_assert!(r.state().by_value.is_consistent(r.state()));
            }
        }
    }
}

trait IntoDoc {
    fn into_doc(self) -> Doc;
}

impl IntoDoc for OrMap<u8, LwwReg<u8>> {
    fn into_doc(self) -> Doc {
        Doc {
            items: self,
            by_value: Derived::default(),
        }
    }
}

#[test]
fn an_applied_delta_patches_a_built_index_and_a_merge_drops_it() {
    let mut a: Replica<Doc> = Replica::new(ReplicaId(1));
    let mut b: Replica<Doc> = Replica::new(ReplicaId(2));
    let ts = Timestamp::new(1, 0).unwrap();
    let d = a
        .mutate(|s, tx| s.items.update(1, tx, |r, tx| r.write(7, ts, tx)).into_doc())
        .unwrap();
    let s = b.state();
    assert!(s.by_value.get_or_build(s).0.is_empty());
    b.apply(d);
    let ix = b.state().by_value.get().unwrap();
    assert_eq!(ix.0.get(&7), Some(&BTreeSet::from([1])));
    b.merge(a.causal().clone());
    assert!(!b.state().by_value.is_built());
}

#[test]
fn combine_refuses_a_dot_held_by_both_deltas() {
    let mut a: Replica<Doc> = Replica::new(ReplicaId(1));
    let ts = Timestamp::new(1, 0).unwrap();
    let mut pair = None;
    a.mutate(|s, tx| {
        let x = s.items.update(1, tx, |r, tx| r.write(1, ts, tx));
        let y = s.items.update(2, tx, |r, tx| r.write(2, ts, tx));
        pair = Some((x.clone(), y.clone()));
        combine(x, y).unwrap().into_doc()
    })
    .unwrap();
    let (x, y) = pair.unwrap();
    let both = combine(x.clone(), y).unwrap();
    assert_eq!(both.len(), 2);
    let e = combine(both, x).unwrap_err();
    assert!(e.to_string().contains("is held by both"), "{e}");
}
