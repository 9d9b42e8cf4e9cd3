//! Human-readable reports: per-instance rows for small runs and summaries per class and
//! algorithm (instances proven optimal by the solver's own bound, instances at the best
//! known value, bins against best known, time).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::runner::Record;

/// Aggregated results of one algorithm over a set of instances.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Instances run.
    pub instances: u64,
    /// Instances where the packing was proven or known optimal.
    pub optimal: u64,
    /// Instances proven optimal by the solver's own bound.
    pub proven: u64,
    /// Instances at the bounds file's best known value.
    pub at_best_known: u64,
    /// Proven instances by the argument that proved them (`L2`, `DFF`, `LP`, `exact`, `L1`).
    pub proofs: BTreeMap<String, u64>,
    /// Instances whose packing failed the checker.
    pub invalid: u64,
    /// Total bins used.
    pub bins: u64,
    /// Total reference bins: best known where known, else the lower bound.
    pub reference: u64,
    /// Sum over instances of the relative gap to the reference (for the mean gap).
    pub gap_sum: f64,
    /// Total packing time in microseconds.
    pub micros: u64,
}

impl Summary {
    /// Adds one record.
    pub fn add(&mut self, r: &Record) {
        let reference = r.best_known.unwrap_or(r.lower_bound);
        self.instances += 1;
        self.optimal += u64::from(r.optimal);
        self.proven += u64::from(r.proven);
        self.at_best_known += u64::from(r.at_best_known);
        if r.proven {
            *self.proofs.entry(r.bound.clone()).or_default() += 1;
        }
        self.invalid += u64::from(!r.valid);
        self.bins += r.bins;
        self.reference += reference;
        if reference > 0 {
            self.gap_sum += (r.bins as f64 - reference as f64) / reference as f64;
        }
        self.micros += r.micros;
    }

    /// Share of instances solved to optimum, in percent.
    pub fn optimal_percent(&self) -> f64 {
        percent(self.optimal as f64, self.instances as f64)
    }

    /// Share of instances proven optimal by the solver's own bound, in percent.
    pub fn proven_percent(&self) -> f64 {
        percent(self.proven as f64, self.instances as f64)
    }

    /// Share of instances at the best known value, in percent.
    pub fn at_best_known_percent(&self) -> f64 {
        percent(self.at_best_known as f64, self.instances as f64)
    }

    /// The proofs by argument, e.g. `L2 700, LP 12`.
    pub fn proofs_text(&self) -> String {
        let parts: Vec<String> = self
            .proofs
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        parts.join(", ")
    }

    /// Mean relative gap to the reference, in percent.
    pub fn mean_gap_percent(&self) -> f64 {
        percent(self.gap_sum, self.instances as f64)
    }

    /// Extra bins over the reference in total, in percent.
    pub fn extra_bins_percent(&self) -> f64 {
        percent(
            self.bins as f64 - self.reference as f64,
            self.reference as f64,
        )
    }
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        100.0 * part / whole
    } else {
        0.0
    }
}

/// Summaries keyed by (class, algorithm), plus "ALL" per algorithm.
pub fn summarize(records: &[Record]) -> BTreeMap<(String, String), Summary> {
    let mut map: BTreeMap<(String, String), Summary> = BTreeMap::new();
    for r in records {
        for class in [r.class.as_str(), "ALL"] {
            map.entry((class.to_owned(), r.algorithm.clone()))
                .or_default()
                .add(r);
        }
    }
    map
}

/// The table printed without `--json`: per-instance rows when there are at most
/// `detail_limit` records, then one summary row per class and algorithm, then the totals.
pub fn render_table(records: &[Record], detail_limit: usize) -> String {
    let mut out = String::new();
    if records.len() <= detail_limit {
        let _ = writeln!(
            out,
            "{:<28} {:<18} {:>7} {:>6} {:>6} {:>6} {:>7} {:>5} {:>5} {:>10}",
            "instance",
            "algorithm",
            "items",
            "bins",
            "lower",
            "best",
            "proven",
            "=best",
            "valid",
            "ms"
        );
        for r in records {
            let best = r.best_known.map_or("-".to_owned(), |b| b.to_string());
            let _ = writeln!(
                out,
                "{:<28} {:<18} {:>7} {:>6} {:>6} {:>6} {:>7} {:>5} {:>5} {:>10.3}",
                r.instance,
                r.algorithm,
                r.items,
                r.bins,
                r.lower_bound,
                best,
                if r.proven { r.bound.as_str() } else { "-" },
                yes(r.at_best_known),
                yes(r.valid),
                r.micros as f64 / 1000.0
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{:<14} {:<18} {:>6} {:>13} {:>13} {:>10} {:>10} {:>8} {:>9} {:>10}  proofs",
        "class",
        "algorithm",
        "inst",
        "proven",
        "best known",
        "bins",
        "best",
        "extra%",
        "meangap%",
        "time s"
    );
    let summaries = summarize(records);
    let mut rows: Vec<_> = summaries.iter().collect();
    // Totals last.
    rows.sort_by_key(|((class, algorithm), _)| (class == "ALL", class.clone(), algorithm.clone()));
    let mut previous_class = String::new();
    for ((class, algorithm), s) in rows {
        if !previous_class.is_empty() && *class != previous_class && class == "ALL" {
            out.push('\n');
        }
        previous_class.clone_from(class);
        let _ = writeln!(
            out,
            "{:<14} {:<18} {:>6} {:>13} {:>13} {:>10} {:>10} {:>8.3} {:>9.3} {:>10.3}  {}",
            class,
            algorithm,
            s.instances,
            format!("{} ({:.1}%)", s.proven, s.proven_percent()),
            format!("{} ({:.1}%)", s.at_best_known, s.at_best_known_percent()),
            s.bins,
            s.reference,
            s.extra_bins_percent(),
            s.mean_gap_percent(),
            s.micros as f64 / 1e6,
            s.proofs_text()
        );
    }
    let invalid: u64 = summaries
        .iter()
        .filter(|((c, _), _)| c == "ALL")
        .map(|(_, s)| s.invalid)
        .sum();
    if invalid > 0 {
        let _ = writeln!(out, "\n{invalid} packing(s) FAILED the independent checker");
    }
    out
}

fn yes(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}
