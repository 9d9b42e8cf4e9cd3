//! Human-readable reports: per-instance rows for small runs and summaries per class and
//! algorithm (instances solved to optimum, bins against best known, time).

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
            "{:<28} {:<18} {:>7} {:>6} {:>6} {:>6} {:>4} {:>5} {:>10}",
            "instance", "algorithm", "items", "bins", "lower", "best", "opt", "valid", "ms"
        );
        for r in records {
            let best = r.best_known.map_or("-".to_owned(), |b| b.to_string());
            let _ = writeln!(
                out,
                "{:<28} {:<18} {:>7} {:>6} {:>6} {:>6} {:>4} {:>5} {:>10.3}",
                r.instance,
                r.algorithm,
                r.items,
                r.bins,
                r.lower_bound,
                best,
                yes(r.optimal),
                yes(r.valid),
                r.micros as f64 / 1000.0
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{:<14} {:<18} {:>6} {:>12} {:>10} {:>10} {:>8} {:>9} {:>10}",
        "class", "algorithm", "inst", "optimal", "bins", "best", "extra%", "meangap%", "time s"
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
            "{:<14} {:<18} {:>6} {:>12} {:>10} {:>10} {:>8.3} {:>9.3} {:>10.3}",
            class,
            algorithm,
            s.instances,
            format!("{} ({:.1}%)", s.optimal, s.optimal_percent()),
            s.bins,
            s.reference,
            s.extra_bins_percent(),
            s.mean_gap_percent(),
            s.micros as f64 / 1e6
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
