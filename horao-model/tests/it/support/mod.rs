//! What every test module shares: the transcript runner ([`transcript`]), the pinned test
//! vectors ([`pin`]), the concurrent-history property ([`history`]), the check of a state
//! machine's table, and small helpers.

pub(crate) mod history;
pub(crate) mod pin;
pub(crate) mod transcript;

use horao_model::model::Model;
use horao_model::physical::{Index, Physical};
use horao_model::storage::StateMachine;
use proptest::test_runner::Config;
use transcript::World;

/// A property-test configuration running `PROPTEST_CASES` cases (`scripts/test.sh` sets
/// 1000), or `default` when it is not set.
pub(crate) fn cases(default: u32) -> Config {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Config::with_cases(n)
}

/// Everything the physical index holds, for comparing two of them (the index is derived,
/// so it has no equality of its own).
pub(crate) fn index_entries(p: &Physical) -> String {
    let ix: &Index = p.index();
    format!(
        "{:?} {:?}",
        ix.parents().collect::<Vec<_>>(),
        ix.ports().collect::<Vec<_>>()
    )
}

/// Tries every ordered pair of distinct states `from` of `froms` and `to` of `S` on entity
/// `S::ENTITY` `id`: on a fresh world that has run `reach(from)` (scenario lines taking the
/// entity to `from`), the command `request(from, to)` (on replica `a`) succeeds exactly when
/// the table allows `from → to`, after which `read` finds the entity in `to`, and otherwise
/// fails naming the illegal transition. Returns the number of illegal pairs.
pub(crate) fn check_transitions<S>(
    id: &str,
    froms: &[S],
    reach: impl Fn(S) -> String,
    request: impl Fn(S, S) -> String,
    read: impl Fn(&Model) -> Option<S>,
) -> usize
where
    S: StateMachine + std::fmt::Display,
{
    let mut illegal = 0;
    for &from in froms {
        for &to in S::ALL.iter().filter(|&&to| to != from) {
            let mut w = World::default();
            w.script(&reach(from))
                .unwrap_or_else(|e| panic!("reaching {from}: {e}"));
            let out = w.run("a", &request(from, to));
            if from.next().contains(&to) {
                assert_eq!(out, "ok", "{from} -> {to}");
                assert_eq!(read(w.model("a")), Some(to), "{from} -> {to}");
            } else {
                illegal += 1;
                let entity = S::ENTITY;
                let refused = format!("{entity} {id}: illegal transition from {from} to {to}");
                assert_eq!(out, refused);
            }
        }
    }
    illegal
}
