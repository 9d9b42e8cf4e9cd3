//! `horao-pack`: runs packing algorithms over BPPLIB and VPSolver instance files.
//!
//! Every packing is verified by an independent checker. The exit code is 0 when every file
//! was read and every packing was valid, 1 otherwise. Progress goes to stderr: a bar when it
//! is a terminal, and a line per finished instance class.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use horao_bench::bounds_file::{BoundsTable, read_bounds};
use horao_bench::instance::{collect, read};
use horao_bench::lp_run::lp_record;
use horao_bench::plot::render_svg;
use horao_bench::progress::Progress;
use horao_bench::report::render_table;
use horao_bench::runner::{Choice, Record, run_with};
use horao_sched::one_d;

/// Pack BPPLIB (1-D) and VPSolver .vbp (vector) instances and report quality and time.
#[derive(Parser, Debug)]
#[command(name = "horao-pack", version)]
struct Args {
    /// Algorithm to run (repeatable); `all` runs every one. Default: the best 1-D algorithm
    /// (local-search) for BPPLIB files, ffd-sum for .vbp files.
    #[arg(long = "algorithm", short = 'a')]
    algorithms: Vec<String>,
    /// File of `name lower upper` lines giving best known bounds.
    #[arg(long)]
    bounds: Option<PathBuf>,
    /// Print one JSON object per line per (instance, algorithm) instead of a table.
    #[arg(long)]
    json: bool,
    /// Write an SVG chart of optimum share and mean gap per instance class.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Seed of the random number generator given to randomised algorithms.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Branch-and-price nodes per instance (default 1,000) for the search-based 1-D
    /// algorithms; the limit on pricing rounds becomes 50 per node (at least its default,
    /// 50,000). Counts, not time: results stay the same on any machine.
    #[arg(long)]
    nodes: Option<u64>,
    /// Work units the LP-based phases (LP bound, LP dive, branch and price) may spend per
    /// instance, in millions (default 60,000); a simplex multiply-add is one unit, a pricing
    /// table cell eight. Counts, not time: results stay the same on any machine.
    #[arg(long)]
    lp_work: Option<u64>,
    /// Sets any limit of the 1-D algorithms, NAME=VALUE (repeatable, applied after --nodes
    /// and --lp-work), NAME one of: harmonic_k, mbs_nodes_per_bin, mbs_restarts,
    /// search_effort, exact_nodes, max_search_items, search_exact_nodes, max_exact_items,
    /// lp_rounds, max_lp_rows, dive_rounds, price_nodes, price_rounds, max_price_items,
    /// large_price_pivots, lp_work, shape_share (see horao_sched::one_d::Config). Counts, not
    /// time.
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    limits: Vec<String>,
    /// Instead of packing, solve the LP bound of each 1-D instance to optimality (column
    /// generation from the first-fit-decreasing patterns) and print one JSON line per
    /// instance with its value, bound, rounds and time; a total on stderr.
    #[arg(long)]
    lp_bound: bool,
    /// Instance files or directories (searched recursively for .txt, .bpp and .vbp files).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

fn main() -> ExitCode {
    match real_main() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs everything; returns whether every file and packing was fine.
fn real_main() -> anyhow::Result<bool> {
    let args = Args::parse();
    let mut selected = Vec::new();
    for name in &args.algorithms {
        selected.extend(Choice::parse_list(name).map_err(anyhow::Error::msg)?);
    }
    selected.dedup();
    let bounds: BoundsTable = match &args.bounds {
        Some(path) => read_bounds(path)?,
        None => BoundsTable::new(),
    };
    let mut config = one_d::Config::default();
    if let Some(nodes) = args.nodes {
        config.price_nodes = nodes;
        config.price_rounds = config.price_rounds.max(nodes.saturating_mul(50));
    }
    if let Some(millions) = args.lp_work {
        config.lp_work = millions.saturating_mul(1_000_000);
    }
    for assignment in &args.limits {
        config.apply(assignment).context("--limit")?;
    }
    let (files, mut failures) = collect(&args.paths);
    let mut ok = true;
    for e in failures.drain(..) {
        eprintln!("error: {e}");
        ok = false;
    }
    if args.lp_bound {
        return Ok(lp_bounds(&files, &config)? && ok);
    }
    let mut progress = Progress::new(files.len(), std::io::stderr().is_terminal());
    let stdout = std::io::stdout();
    let mut records: Vec<Record> = Vec::new();
    for path in &files {
        let instance = match read(path) {
            Ok(instance) => instance,
            Err(e) => {
                eprintln!("error: {e}");
                ok = false;
                progress.file_done();
                continue;
            }
        };
        progress.start(&instance.class);
        for choice in Choice::for_problem(&instance.problem, &selected) {
            match run_with(&instance, choice, &bounds, args.seed, &config) {
                Ok(record) => {
                    if !record.valid {
                        ok = false;
                        eprintln!(
                            "error: {}: {} produced an invalid packing: {}",
                            path.display(),
                            record.algorithm,
                            record.error.as_deref().unwrap_or("?")
                        );
                    }
                    if args.json {
                        let line = serde_json::to_string(&record)?;
                        writeln!(stdout.lock(), "{line}")?;
                    }
                    progress.record(&record);
                    records.push(record);
                }
                Err(message) => {
                    eprintln!("error: {message}");
                    ok = false;
                }
            }
        }
        progress.file_done();
    }
    progress.finish();
    if !args.json {
        print!("{}", render_table(&records, 60));
    }
    if let Some(plot) = &args.plot {
        std::fs::write(plot, render_svg(&records))
            .with_context(|| format!("writing {}", plot.display()))?;
    }
    Ok(ok)
}

/// The `--lp-bound` run: one JSON line per instance file, a total on stderr; returns whether
/// every file was read and solved.
fn lp_bounds(files: &[PathBuf], config: &one_d::Config) -> anyhow::Result<bool> {
    let stdout = std::io::stdout();
    let (mut ok, mut solved, mut optimal, mut micros) = (true, 0u64, 0u64, 0u64);
    for path in files {
        match read(path)
            .map_err(|e| e.to_string())
            .and_then(|i| lp_record(&i, config))
        {
            Ok(record) => {
                solved += 1;
                optimal += u64::from(record.optimal);
                micros = micros.saturating_add(record.micros);
                writeln!(stdout.lock(), "{}", serde_json::to_string(&record)?)?;
            }
            Err(message) => {
                eprintln!("error: {message}");
                ok = false;
            }
        }
    }
    eprintln!(
        "LP bound: {solved} instance(s), {optimal} at LP optimality, {:.1} s",
        micros as f64 / 1e6
    );
    Ok(ok)
}
