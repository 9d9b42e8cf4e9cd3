//! Tests of the horao-pack harness: instance and bounds parsing (LF and CRLF), errors that
//! name file and line, and end-to-end runs of the binary over generated directories.

// Test helpers fail the test by panicking, which is what a test should do.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use horao_bench::bounds_file::parse_bounds;
use horao_bench::instance::{Problem, parse};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("horao-pack-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("scratch dir: {e}"));
    dir
}

#[test]
fn parses_bpplib_with_lf_and_crlf() {
    for text in ["3\n10\n4\n6\n5\n", "3\r\n10\r\n4\r\n6\r\n5\r\n\r\n"] {
        let instance = parse(Path::new("dir/Falkenauer_u120_00.txt"), text);
        let instance = instance.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(instance.name, "Falkenauer_u120_00");
        assert_eq!(instance.class, "Falkenauer_U");
        assert_eq!(
            instance.problem,
            Problem::OneD {
                capacity: 10,
                items: vec![4, 6, 5]
            }
        );
    }
}

#[test]
fn parses_vbp() {
    let text = "2\r\n10 20\r\n2\r\n3 4 5\r\n7 20 1\r\n";
    let instance = parse(Path::new("a/inst.vbp"), text).unwrap_or_else(|e| panic!("{e}"));
    let Problem::Vector(v) = instance.problem else {
        panic!("not a vector instance");
    };
    assert_eq!(v.capacity, vec![10, 20]);
    assert_eq!(v.items.len(), 2);
    assert_eq!((v.items[0].size.clone(), v.items[0].count), (vec![3, 4], 5));
    assert_eq!(
        (v.items[1].size.clone(), v.items[1].count),
        (vec![7, 20], 1)
    );
}

#[test]
fn bad_inputs_name_file_and_line() {
    let cases: [(&str, &str, usize, &str); 7] = [
        ("a.txt", "3\n10\n4\nx\n5\n", 4, "not a non-negative integer"),
        ("a.txt", "3\n10\n4\n11\n5\n", 4, "larger than the capacity"),
        ("a.txt", "3\n10\n4\n5\n", 4, "only 2 weights follow"),
        ("a.txt", "2\n10\n4\n5\n6\n", 5, "unexpected extra data"),
        ("a.txt", "2\n0\n4\n5\n", 2, "capacity must be positive"),
        ("a.vbp", "2\n10 10\n1\n3 4\n", 4, "expected 3 number(s)"),
        (
            "a.vbp",
            "2\n10 10\n1\n3 11 1\n",
            4,
            "larger than the capacity",
        ),
    ];
    for (file, text, line, message) in cases {
        let error = parse(Path::new(file), text).err();
        let error = error.unwrap_or_else(|| panic!("{file} {text:?} parsed"));
        assert_eq!(error.path, Path::new(file));
        assert_eq!(error.line, Some(line), "{text:?}: {error}");
        assert!(error.message.contains(message), "{text:?}: {error}");
        assert!(error.to_string().starts_with(&format!("{file}:{line}: ")));
    }
}

#[test]
fn parses_bounds_and_reports_bad_lines() {
    let table = parse_bounds(Path::new("b.tsv"), "x\t3\t4\r\ny 5 5\r\n\r\n");
    let table = table.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(table.len(), 2);
    assert_eq!((table["x"].lower, table["x"].upper), (3, 4));
    assert_eq!((table["y"].lower, table["y"].upper), (5, 5));
    let bad = parse_bounds(Path::new("b.tsv"), "x 3 4\ny five 5\n").err();
    let bad = bad.unwrap_or_else(|| panic!("bad bounds accepted"));
    assert_eq!(bad.line, Some(2));
    let short = parse_bounds(Path::new("b.tsv"), "x 3\n").err();
    assert_eq!(short.and_then(|e| e.line), Some(1));
}

/// Writes `bins` bins filled exactly by item triplets, in an order that defeats FFD.
fn write_triplets(path: &Path, bins: u64) {
    let capacity = 1000u64;
    let mut items = Vec::new();
    for b in 0..bins {
        let a = 380 + (b * 7) % 100;
        let c = 260 + (b * 13) % 90;
        items.extend([a, c, capacity - a - c]);
    }
    let mut text = format!("{}\r\n{capacity}\r\n", items.len());
    for w in items {
        text.push_str(&format!("{w}\r\n"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

fn horao_pack(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_horao-pack"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running horao-pack: {e}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn run_reports_good_files_and_fails_on_the_bad_one() {
    let dir = scratch("mixed");
    std::fs::create_dir_all(dir.join("sub")).unwrap_or_else(|e| panic!("{e}"));
    write_triplets(&dir.join("good_a.txt"), 4);
    write_triplets(&dir.join("sub/good_b.txt"), 6);
    std::fs::write(dir.join("bad.txt"), "2\n10\n4\nseven\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("bounds.tsv"), "good_a\t4\t4\r\ngood_b\t6\t6\r\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let dir_arg = dir.to_string_lossy().into_owned();
    let bounds = dir.join("bounds.tsv").to_string_lossy().into_owned();
    let (code, stdout, stderr) =
        horao_pack(&["--json", "-a", "ffd", "--bounds", &bounds, &dir_arg]);
    assert_eq!(code, 1, "stderr: {stderr}");
    assert!(stderr.contains("bad.txt:4:"), "stderr: {stderr}");
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    for row in &rows {
        for field in [
            "instance",
            "algorithm",
            "items",
            "capacity",
            "bins",
            "lower_bound",
            "bound",
            "proven",
            "best_known",
            "at_best_known",
            "optimal",
            "valid",
            "micros",
        ] {
            assert!(row.get(field).is_some(), "missing {field} in {row}");
        }
        assert_eq!(row["valid"], true);
        assert_eq!(row["algorithm"], "ffd");
        assert_eq!(row["capacity"], 1000);
        let at_best = row["bins"] == row["best_known"];
        assert_eq!(row["at_best_known"], at_best);
        assert_eq!(row["proven"], row["bins"] == row["lower_bound"]);
        let optimal = at_best || row["bins"] == row["lower_bound"];
        assert_eq!(row["optimal"], optimal);
    }
    // Progress goes to stderr, one line per finished class; stdout holds only JSON.
    assert!(stderr.contains("result(s)"), "stderr: {stderr}");
    let b = rows.iter().find(|r| r["instance"] == "good_b");
    let b = b.unwrap_or_else(|| panic!("good_b missing"));
    assert_eq!(b["items"], 18);
    assert_eq!(b["best_known"], 6);
}

#[test]
fn run_on_good_files_succeeds_with_table_and_plot() {
    let dir = scratch("good");
    write_triplets(&dir.join("t1.txt"), 5);
    std::fs::write(dir.join("v.vbp"), "2\n10 10\n2\n6 2 2\n3 7 2\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let plot = dir.join("plot.svg");
    let (dir_arg, plot_arg) = (dir.to_string_lossy(), plot.to_string_lossy());
    let (code, stdout, stderr) = horao_pack(&["-a", "all", "--plot", &plot_arg, &dir_arg]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(stdout.contains("local-search"), "{stdout}");
    assert!(stdout.contains("ffd-sum"), "{stdout}");
    assert!(stdout.contains("ALL"), "{stdout}");
    let svg = std::fs::read_to_string(&plot).unwrap_or_else(|e| panic!("{e}"));
    assert!(svg.starts_with("<svg") && svg.contains("local-search"));
}

/// The bounds file never decides "proven": a file that claims fewer bins than possible
/// makes a packing miss the best known value, and one that claims more makes it look at
/// the best known value, but `proven` follows the solver's own bound only.
#[test]
fn proven_is_decided_by_the_solver_not_the_bounds_file() {
    let dir = scratch("proven");
    write_triplets(&dir.join("t.txt"), 12);
    for (claimed, at_best) in [("t 11 11\n", false), ("t 13 13\n", true)] {
        std::fs::write(dir.join("b.tsv"), claimed).unwrap_or_else(|e| panic!("{e}"));
        let (file, bounds) = (dir.join("t.txt"), dir.join("b.tsv"));
        let (code, stdout, stderr) = horao_pack(&[
            "--json",
            "--bounds",
            &bounds.to_string_lossy(),
            &file.to_string_lossy(),
        ]);
        assert_eq!(code, 0, "stderr: {stderr}");
        let row: serde_json::Value =
            serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        assert_eq!(row["algorithm"], "local-search");
        assert_eq!(row["bins"], 12);
        assert_eq!(row["proven"], true, "{row}");
        assert_eq!(row["at_best_known"], at_best, "{row}");
    }
}

#[test]
fn missing_file_fails() {
    let (code, _, stderr) = horao_pack(&["/nonexistent/horao/file.txt"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("/nonexistent/horao/file.txt"), "{stderr}");
}

/// `--nodes` takes a count (the branch-and-price node limit) and leaves a packing the
/// search closes without branch and price as it was; anything but a count is refused.
#[test]
fn nodes_flag_takes_a_count() {
    let dir = scratch("nodes");
    write_triplets(&dir.join("t.txt"), 12);
    let file = dir.join("t.txt");
    let file = file.to_string_lossy();
    let mut rows = Vec::new();
    for nodes in [None, Some("0"), Some("5000")] {
        let mut args = vec!["--json"];
        if let Some(n) = nodes {
            args.extend(["--nodes", n]);
        }
        args.push(&file);
        let (code, stdout, stderr) = horao_pack(&args);
        assert_eq!(code, 0, "{nodes:?}: {stderr}");
        let row: serde_json::Value =
            serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        assert_eq!(row["valid"], true, "{row}");
        rows.push((row["bins"].clone(), row["proven"].clone()));
    }
    assert!(rows.iter().all(|r| *r == rows[0]), "{rows:?}");
    let (code, _, stderr) = horao_pack(&["--nodes", "many", &file]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--nodes"), "{stderr}");
}

#[test]
fn lp_bound_mode_reports_the_lp_of_each_instance() {
    let dir = scratch("lp");
    write_triplets(&dir.join("triplets.txt"), 5);
    // Four items of 3 in bins of 10: three to a bin, so z_LP = 4/3 and the bound is 2.
    std::fs::write(dir.join("thirds.txt"), "4\n10\n3\n3\n3\n3\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("broken.txt"), "2\n10\n11\n1\n").unwrap_or_else(|e| panic!("{e}"));
    let dir_arg = dir.to_string_lossy().into_owned();
    let (code, stdout, stderr) = horao_pack(&["--lp-bound", &dir_arg]);
    assert_eq!(code, 1, "stderr: {stderr}");
    assert!(stderr.contains("broken.txt"), "stderr: {stderr}");
    assert!(
        stderr.contains("LP bound: 2 instance(s), 2 at LP optimality"),
        "stderr: {stderr}"
    );
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    let row = |name: &str| {
        rows.iter()
            .find(|r| r["instance"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {stdout}"))
    };
    let thirds = row("thirds");
    assert_eq!(thirds["rows"], 1);
    assert_eq!(thirds["bound"], 2);
    assert_eq!(thirds["optimal"], true);
    let value = thirds["value"].as_f64().unwrap_or(0.0);
    assert!((value - 4.0 / 3.0).abs() < 1e-9, "{value}");
    let triplets = row("triplets");
    assert_eq!(triplets["items"], 15);
    assert_eq!(triplets["bound"], 5);
    let value = triplets["value"].as_f64().unwrap_or(0.0);
    assert!((value - 5.0).abs() < 1e-9, "{value}");
}

#[test]
fn limits_are_set_by_name_and_a_bad_one_is_refused_naming_the_known_ones() {
    let dir = scratch("limit");
    // First-fit decreasing needs four bins (4+4, 4+3+2, 3+3+2, 2); three hold it (4+3+2 each).
    std::fs::write(dir.join("greedy.txt"), "9\n9\n4\n4\n4\n3\n3\n3\n2\n2\n2\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let dir_arg = dir.to_string_lossy().into_owned();
    let bins = |extra: &[&str]| {
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        args.push(&dir_arg);
        let (code, stdout, stderr) = horao_pack(&args);
        assert_eq!(code, 0, "stderr: {stderr}");
        let row: serde_json::Value =
            serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        row["bins"].as_u64().unwrap_or(0)
    };
    assert_eq!(bins(&[]), 3);
    // Every instance is then too large for the improvement phases: the greedy packing stands.
    assert_eq!(bins(&["--limit", "max_search_items=0"]), 4);
    assert_eq!(bins(&["--limit", "Max-Search-Items = 9"]), 3);
    let (code, _, stderr) = horao_pack(&["--limit", "pivots=5", &dir_arg]);
    assert_eq!(code, 2, "stderr: {stderr}");
    assert!(
        stderr.contains("unknown limit \"pivots\""),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("large_price_pivots"), "stderr: {stderr}");
    let (code, _, stderr) = horao_pack(&["--limit", "lp_work=lots", &dir_arg]);
    assert_eq!(code, 2, "stderr: {stderr}");
    assert!(stderr.contains("lp_work"), "stderr: {stderr}");
    // The help names every limit the library has.
    let (_, help, _) = horao_pack(&["--help"]);
    for name in horao_sched::one_d::Config::LIMITS {
        assert!(help.contains(name), "--help lacks {name}: {help}");
    }
}
