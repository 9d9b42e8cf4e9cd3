//! Runs algorithms on instances, checks every packing independently and records the result.

use std::str::FromStr;
use std::time::Instant;

use horao_sched::one_d::{self, Algorithm};
use horao_sched::vector::{self, Heuristic};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::bounds_file::BoundsTable;
use crate::instance::{Instance, Problem};

/// An algorithm the harness can run: a 1-D algorithm or a vector heuristic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Choice {
    /// For BPPLIB (1-D) files.
    OneD(Algorithm),
    /// For `.vbp` (vector) files.
    Vector(Heuristic),
}

impl Choice {
    /// The name shown in reports.
    pub fn name(self) -> &'static str {
        match self {
            Choice::OneD(a) => a.name(),
            Choice::Vector(h) => h.name(),
        }
    }

    /// Parses a name; `all` expands to every algorithm of both kinds.
    pub fn parse_list(name: &str) -> Result<Vec<Choice>, String> {
        if name.eq_ignore_ascii_case("all") {
            let one = Algorithm::ALL.into_iter().map(Choice::OneD);
            let vec = Heuristic::ALL.into_iter().map(Choice::Vector);
            return Ok(one.chain(vec).collect());
        }
        if let Ok(a) = Algorithm::from_str(name) {
            return Ok(vec![Choice::OneD(a)]);
        }
        Heuristic::from_str(name)
            .map(|h| vec![Choice::Vector(h)])
            .map_err(|_| {
                let one: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
                let vec: Vec<&str> = Heuristic::ALL.iter().map(|h| h.name()).collect();
                format!(
                    "unknown algorithm {name:?}; 1-D: {}; vector: {}; or all",
                    one.join(", "),
                    vec.join(", ")
                )
            })
    }

    /// The choices that apply to `problem` among `selected` (the defaults if none applies:
    /// the best 1-D algorithm, or FFD by sum for vectors).
    pub fn for_problem(problem: &Problem, selected: &[Choice]) -> Vec<Choice> {
        let fits = |c: &&Choice| {
            matches!(
                (problem, c),
                (Problem::OneD { .. }, Choice::OneD(_)) | (Problem::Vector(_), Choice::Vector(_))
            )
        };
        let chosen: Vec<Choice> = selected.iter().filter(fits).copied().collect();
        if !chosen.is_empty() {
            return chosen;
        }
        match problem {
            Problem::OneD { .. } => vec![Choice::OneD(Algorithm::BEST)],
            Problem::Vector(_) => vec![Choice::Vector(Heuristic::default())],
        }
    }
}

/// A bin capacity as reported: one number, or one per dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Capacity {
    /// A 1-D capacity.
    Scalar(u64),
    /// A vector capacity.
    Vector(Vec<u64>),
}

/// One (instance, algorithm) result; serialised as one JSON line by `--json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// Instance name (file name without extension).
    pub instance: String,
    /// Instance class (see [`crate::class::class_of`]).
    pub class: String,
    /// Algorithm name.
    pub algorithm: String,
    /// Number of items (copies, for vector instances).
    pub items: u64,
    /// Bin capacity (a number for 1-D, one per dimension for vector instances).
    pub capacity: Capacity,
    /// Bins used.
    pub bins: u64,
    /// The lower bound computed by the library: L2 for every 1-D algorithm, and for the
    /// search-based ones the strongest of L2, DFF and the LP bound (or the bin count when an
    /// exhaustive search proved it); the per-dimension bound for vector instances.
    pub lower_bound: u64,
    /// The argument behind `lower_bound`: `L2`, `DFF`, `LP`, `exact` (1-D) or `L1` (vector).
    pub bound: String,
    /// True when the packing is proven optimal by the solver's own bound: `bins` equals
    /// `lower_bound`. The bounds file never decides this.
    pub proven: bool,
    /// Best known optimum (upper bound) from the bounds file, if known.
    pub best_known: Option<u64>,
    /// True when `bins` is at (or below) the bounds file's best known value.
    pub at_best_known: bool,
    /// True when the packing is optimal by any evidence: proven, at the best known value, or
    /// at the bounds file's lower bound.
    pub optimal: bool,
    /// True when the independent checker confirmed the packing.
    pub valid: bool,
    /// The checker's complaint when `valid` is false.
    pub error: Option<String>,
    /// Wall-clock time of the packing call in microseconds (checking excluded).
    pub micros: u64,
}

/// Runs `choice` on `instance` with a fixed seed and checks the result.
pub fn run(
    instance: &Instance,
    choice: Choice,
    bounds: &BoundsTable,
    seed: u64,
) -> Result<Record, String> {
    run_with(instance, choice, bounds, seed, &one_d::Config::default())
}

/// [`run`] with explicit work limits for the 1-D algorithms.
pub fn run_with(
    instance: &Instance,
    choice: Choice,
    bounds: &BoundsTable,
    seed: u64,
    config: &one_d::Config,
) -> Result<Record, String> {
    let known = bounds.get(&instance.name).copied();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (capacity, bins, (lower_bound, bound), micros, checked) = match (&instance.problem, choice)
    {
        (Problem::OneD { capacity, items }, Choice::OneD(algorithm)) => {
            let start = Instant::now();
            let packing = one_d::pack_with(items, *capacity, algorithm, config, &mut rng)
                .map_err(|e| format!("{}: {e}", instance.path.display()))?;
            let micros = start.elapsed().as_micros();
            let checked = horao_sched::check::check_packing(items, *capacity, &packing.bins)
                .map_err(|e| e.to_string());
            let bins = packing.bin_count();
            (
                Capacity::Scalar(*capacity),
                bins,
                (packing.lower_bound, packing.bound.name()),
                micros,
                checked,
            )
        }
        (Problem::Vector(v), Choice::Vector(heuristic)) => {
            let start = Instant::now();
            let packing = vector::pack(v, heuristic)
                .map_err(|e| format!("{}: {e}", instance.path.display()))?;
            let micros = start.elapsed().as_micros();
            let checked = vector::check_packing(v, &packing).map_err(|e| e.to_string());
            let bins = packing.bin_count() as u64;
            (
                Capacity::Vector(v.capacity.clone()),
                bins,
                (packing.lower_bound, "L1"),
                micros,
                checked,
            )
        }
        _ => {
            return Err(format!(
                "{} does not apply to {}",
                choice.name(),
                instance.name
            ));
        }
    };
    let proven = bins <= lower_bound;
    let best_known = known.map(|k| k.upper);
    let at_best_known = best_known.is_some_and(|b| bins <= b);
    let file_lower = known.is_some_and(|k| bins <= k.lower);
    Ok(Record {
        instance: instance.name.clone(),
        class: instance.class.clone(),
        algorithm: choice.name().to_owned(),
        items: instance.item_count(),
        capacity,
        bins,
        lower_bound,
        bound: bound.to_owned(),
        proven,
        best_known,
        at_best_known,
        optimal: proven || at_best_known || file_lower,
        valid: checked.is_ok(),
        error: checked.err(),
        micros: u64::try_from(micros).unwrap_or(u64::MAX),
    })
}
