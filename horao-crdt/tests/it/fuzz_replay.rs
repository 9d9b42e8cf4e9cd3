//! Replays the committed fuzz corpus and crashers through the fuzz entry points on stable, so
//! CI checks them without nightly; also holds the (ignored) seed generator for the corpus.

use horao_crdt::fuzzing;
use std::path::{Path, PathBuf};

/// A fuzz entry point.
type Entry = fn(&[u8]);

/// The fuzz targets and the entry point each one runs.
const TARGETS: [(&str, Entry); 2] = [
    ("decode", fuzzing::decode_any),
    ("apply", fuzzing::apply_message),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The regular files directly under `dir`, sorted; empty when `dir` does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Runs every file of `dir` through `entry`, naming the file if it panics.
fn replay(dir: &Path, entry: Entry) -> usize {
    let inputs = files(dir);
    for path in &inputs {
        let bytes = std::fs::read(path).expect("read input");
        let outcome = std::panic::catch_unwind(|| entry(&bytes));
        assert!(outcome.is_ok(), "{} panics", path.display());
    }
    inputs.len()
}

#[test]
fn corpus_replays_cleanly() {
    for (target, entry) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(target);
        let n = replay(&dir, entry);
        assert!(
            n > 0,
            "no corpus under {}: nothing was tested",
            dir.display()
        );
    }
}

#[test]
fn regressions_replay_cleanly() {
    let mut total = 0;
    for (target, entry) in TARGETS {
        total += replay(&fuzz_dir().join("regressions").join(target), entry);
    }
    assert!(
        total > 0,
        "no crashers under fuzz/regressions: nothing was tested"
    );
}

#[test]
fn every_input_also_goes_through_the_other_target() {
    // The targets share an input format (envelopes), so a crasher of one is a good input for
    // the other; this catches a fix that only hardened one path.
    for (target, _) in TARGETS {
        for sub in ["corpus", "regressions"] {
            let dir = fuzz_dir().join(sub).join(target);
            for (_, entry) in TARGETS {
                replay(&dir, entry);
            }
        }
    }
}

#[test]
fn seeds_are_valid_envelopes() {
    let seeds = fuzzing::seeds();
    assert!(seeds.len() > 10);
    for s in &seeds {
        assert_eq!(&s[..4], b"HRAO");
        fuzzing::decode_any(s);
        fuzzing::apply_message(s);
    }
}

/// Writes the seed corpus: `cargo test -p horao-crdt --test it fuzz_replay:: -- --ignored
/// write_seed_corpus`, then minimise with `cargo +nightly fuzz cmin <target>`.
#[test]
#[ignore = "writes files under fuzz/corpus; run by hand to refresh the seeds"]
fn write_seed_corpus() {
    for (target, _) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).expect("create corpus dir");
        for (i, seed) in fuzzing::seeds().iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:03}")), seed).expect("write seed");
        }
    }
}
