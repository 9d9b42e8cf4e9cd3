//! The convergence property every layer is held to: a random concurrent history of
//! operations (transcript commands) on 2 to 5 replicas, with one-way delta exchanges between
//! them, heals to one state and one conflict report on every replica, whatever the order the
//! exchanges happen in; the derived indexes, patched delta by delta, equal rebuilt ones
//! throughout; the healed state survives a snapshot round trip; and the deltas of the
//! history, applied to an empty state in a shuffled order with some repeated, give the same
//! state.

use super::index_entries;
use super::transcript::{Clock, World, split_line};
use horao_crdt::Causal;
use horao_model::model::Model;
use horao_model::snapshot::{decode_snapshot, encode_snapshot};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Replica names, in creation order.
pub(crate) const NAMES: [&str; 5] = ["a", "b", "c", "d", "e"];

/// One step of a history.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// Replica `.0` runs the command `.1` (which may be refused).
    Op(usize, String),
    /// Replica `.1` pulls from replica `.0` what it lacks.
    Exchange(usize, usize),
}

/// A history: its replicas, its steps, the exchanges that start healing it, and the
/// shuffle of its deltas for the replay.
#[derive(Clone, Debug)]
pub(crate) struct History {
    pub(crate) replicas: usize,
    pub(crate) steps: Vec<Step>,
    pub(crate) heal: Vec<(usize, usize)>,
    pub(crate) shuffle: Vec<u32>,
}

/// Histories of up to `max_steps` steps drawing operations from `op`.
pub(crate) fn history(
    op: impl Strategy<Value = String> + Clone + 'static,
    max_steps: usize,
) -> impl Strategy<Value = History> {
    (2..=5usize).prop_flat_map(move |n| {
        let step = prop_oneof![
            4 => (0..n, op.clone()).prop_map(|(r, o)| Step::Op(r, o)),
            1 => (0..n, 0..n).prop_map(|(a, b)| Step::Exchange(a, b)),
        ];
        (
            proptest::collection::vec(step, 1..max_steps),
            proptest::collection::vec((0..n, 0..n), 0..20),
            proptest::collection::vec(any::<u32>(), 0..400),
        )
            .prop_map(move |(steps, heal, shuffle)| History {
                replicas: n,
                steps,
                heal,
                shuffle,
            })
    })
}

/// Runs `h` after `base` (scenario lines run on replica `a`, whose state every other replica
/// then pulls) on a world with `clock`, and checks the property.
pub(crate) fn check_history(base: &str, clock: Clock, h: &History) -> Result<(), TestCaseError> {
    let names = &NAMES[..h.replicas];
    let mut w = World::with_clock(clock);
    let mut deltas: Vec<Causal<Model>> = Vec::new();
    for line in base.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (who, cmd, expect) = split_line(line).expect("a scenario line");
        prop_assert_eq!(w.run(who, cmd), expect, "base: {}", line);
        deltas.extend(w.take_delta(who));
    }
    for to in &names[1..] {
        w.exchange("a", to);
    }
    // Replicas that never pulled from another since the base hold only their own edits.
    let mut received = vec![false; h.replicas];
    for s in &h.steps {
        let (r, context) = match s {
            Step::Op(r, o) => {
                // A built fit index is patched by the operation's delta, never rebuilt.
                w.model(names[*r]).build_fit_index();
                if w.run(names[*r], o) == "ok" {
                    deltas.extend(w.take_delta(names[*r]));
                }
                (*r, o.clone())
            }
            Step::Exchange(from, to) => {
                w.model(names[*to]).build_fit_index();
                w.exchange(names[*from], names[*to]);
                received[*to] |= from != to;
                (*to, format!("{} pulled from {}", names[*to], names[*from]))
            }
        };
        let m = w.model(names[r]);
        prop_assert!(
            m.indexes_are_consistent(),
            "indexes drifted after {}",
            context
        );
        // A replica refuses a dependency that closes a cycle: only merges can make one.
        prop_assert!(
            received[r] || m.environments.cycles().is_empty(),
            "a cycle on an unmerged replica after {}",
            context
        );
    }
    for (from, to) in &h.heal {
        w.exchange(names[*from], names[*to]);
    }
    w.exchange_all(names);

    let first = w.replica("a").causal().clone();
    let conflicts = first.store.conflicts();
    for name in &names[1..] {
        let r = w.replica(name);
        prop_assert_eq!(r.causal(), &first, "replica {} differs", name);
        let m = r.state();
        prop_assert_eq!(
            m.conflicts(),
            conflicts.clone(),
            "replica {} reports differently",
            name
        );
        prop_assert!(
            m.indexes_are_consistent(),
            "replica {}'s indexes drifted",
            name
        );
        prop_assert_eq!(
            index_entries(&m.physical),
            index_entries(&first.store.physical)
        );
    }

    // The snapshot a server would store decodes to the same state and report.
    let bytes = encode_snapshot(&first).unwrap();
    let decoded = decode_snapshot(&bytes, 1 << 24).unwrap();
    prop_assert_eq!(&decoded, &first);
    prop_assert_eq!(
        index_entries(&decoded.store.physical),
        index_entries(&first.store.physical)
    );
    prop_assert_eq!(decoded.store.conflicts(), conflicts.clone());

    // The same deltas, shuffled, some applied twice, into a state whose indexes are built.
    let mut order: Vec<usize> = (0..deltas.len()).collect();
    let len = order.len();
    for (i, x) in h.shuffle.iter().enumerate().take_while(|_| len > 0) {
        order.swap(i % len, *x as usize % len);
    }
    let mut fresh = Causal::<Model>::default();
    fresh.store.build_fit_index();
    for &i in order.iter().chain(order.iter().take(3)) {
        fresh.apply(deltas[i].clone());
    }
    prop_assert_eq!(&fresh, &first, "the shuffled deltas give another state");
    prop_assert!(
        fresh.store.indexes_are_consistent(),
        "indexes drifted in the replay"
    );
    prop_assert_eq!(fresh.store.conflicts(), conflicts);
    Ok(())
}
