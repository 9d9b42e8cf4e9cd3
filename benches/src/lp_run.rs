//! The LP bound by itself (`horao-pack --lp-bound`): the set-covering LP of a 1-D instance
//! solved to optimality by column generation, timed, for comparing LP solvers and bounds.

use std::collections::BTreeSet;
use std::time::Instant;

use horao_sched::one_d;
use serde::Serialize;

use crate::instance::{Instance, Problem};

/// One instance's LP bound; serialised as one JSON line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LpRecord {
    /// Instance name (file name without extension).
    pub instance: String,
    /// Instance class (see [`crate::class::class_of`]).
    pub class: String,
    /// Number of items.
    pub items: u64,
    /// Rows of the LP: the distinct item sizes.
    pub rows: u64,
    /// The LP optimum z_LP as the simplex found it (floating point).
    pub value: f64,
    /// The bound proven from it in integers (Farley's bound, ⌈z_LP⌉ at LP optimality).
    pub bound: u64,
    /// Whether column generation reached LP optimality within its round limit.
    pub optimal: bool,
    /// Pricing rounds spent.
    pub rounds: u64,
    /// Wall-clock time of the call in microseconds.
    pub micros: u64,
}

/// The LP bound of a 1-D `instance` under `config`'s round limit; an error names the file
/// for a vector instance or an invalid one.
pub fn lp_record(instance: &Instance, config: &one_d::Config) -> Result<LpRecord, String> {
    let Problem::OneD { capacity, items } = &instance.problem else {
        return Err(format!(
            "{}: the LP bound applies to 1-D instances only",
            instance.path.display()
        ));
    };
    let start = Instant::now();
    let lp = one_d::lp_bound(items, *capacity, config)
        .map_err(|e| format!("{}: {e}", instance.path.display()))?;
    let micros = start.elapsed().as_micros();
    let rows = items.iter().collect::<BTreeSet<_>>().len();
    Ok(LpRecord {
        instance: instance.name.clone(),
        class: instance.class.clone(),
        items: instance.item_count(),
        rows: rows as u64,
        value: lp.value,
        bound: lp.bound,
        optimal: lp.optimal,
        rounds: lp.rounds,
        micros: u64::try_from(micros).unwrap_or(u64::MAX),
    })
}
