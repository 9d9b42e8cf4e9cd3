//! Replays the committed corpus (and any crashers) of the model fuzz targets through their
//! entry points on stable, so CI checks them without nightly; also writes the seed corpus
//! (an ignored test).
//!
//! The entry points are `fuzz/src/model.rs`, compiled here as they are into the targets.

use crate::formats::{DOC, ENVIRONMENTS, STORAGE, every_layer};
use crate::support::transcript::World;
use horao_crdt::Causal;
use horao_crdt::wire::{self, Kind};
use horao_model::model::Model;
use horao_model::snapshot::{decode_snapshot, encode_snapshot};
use std::path::{Path, PathBuf};

// The entry points are public for the fuzz targets, which are another crate.
#[allow(unreachable_pub)]
#[path = "../../../fuzz/src/model.rs"]
mod entry;

/// A fuzz entry point.
type Entry = fn(&[u8]);

/// The model fuzz targets and the entry point each one runs.
const TARGETS: [(&str, Entry); 2] = [
    ("model_snapshot", entry::decode_snapshot_entry),
    ("model_delta", entry::apply_delta_entry),
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

/// Runs every input of target `target` (its corpus and its crashers) through every model
/// entry point (the inputs of one are good inputs for the other), naming the file that
/// panics; returns how many corpus files the target has.
fn replay(target: &str) -> usize {
    let corpus = files(&fuzz_dir().join("corpus").join(target));
    let crashers = files(&fuzz_dir().join("regressions").join(target));
    for path in corpus.iter().chain(&crashers) {
        let bytes = std::fs::read(path).expect("read input");
        for (_, run) in TARGETS {
            let outcome = std::panic::catch_unwind(|| run(&bytes));
            assert!(outcome.is_ok(), "{} panics", path.display());
        }
    }
    corpus.len()
}

#[test]
fn corpus_replays_cleanly() {
    for (target, _) in TARGETS {
        assert!(
            replay(target) > 0,
            "no corpus under fuzz/corpus/{target}: nothing was tested"
        );
    }
}

/// Valid snapshots: an empty model, the representative documents of the layers (storage's and
/// environments' over the physical and logical ones they refer to), and all of them.
fn snapshot_seeds() -> Vec<Vec<u8>> {
    let mut out = vec![encode_snapshot(&Causal::<Model>::default()).unwrap()];
    for parts in [
        &[DOC][..],
        &[DOC, STORAGE],
        &[DOC, ENVIRONMENTS],
        &[DOC, STORAGE, ENVIRONMENTS],
    ] {
        let mut w = World::default();
        for p in parts {
            w.script(p).unwrap();
        }
        out.push(encode_snapshot(w.replica("a").causal()).unwrap());
    }
    out
}

/// Valid deltas of every layer, made on top of the base the delta target applies them to,
/// by its own replica and by another.
fn delta_seeds() -> Vec<Vec<u8>> {
    let mut w = every_layer();
    assert_eq!(w.replica("a").causal(), entry::base());
    w.script("a sync b => ok").unwrap();
    let mut out = Vec::new();
    for (who, cmd) in [
        (
            "a",
            "device n3 rack=k1 unit=5 ports=eth0:1000 labels=zone=a",
        ),
        ("a", "link l3 a=n3:eth0 b=sw1:mgmt speed=1000"),
        ("b", "move-device n1 rack=k2 unit=10 at=start"),
        ("b", "delete link l1"),
        ("a", "label device n2 +gpu"),
        (
            "a",
            "reserve c2 infra=i1 tenant=t1 profile=p1 count=1 window=0..10",
        ),
        ("b", "delete reservation c1"),
        ("a", "maintain m2 devices=n1,n2 window=300..400"),
        ("b", "quota t1 cores=-"),
        ("a", "volume-assign vol-2 st-2 by=server"),
        (
            "b",
            "volume-report vol-1 state=ready used=90 initialized=true by=agent:st-1",
        ),
        ("a", "instance-detach vm-1 vol-1"),
        ("b", "volume-state vol-1 pending"),
        ("a", "dep-add api external:dns.example"),
        ("b", "dep-remove api db"),
        ("b", "env-remove shop db"),
        ("b", "res-delete db"),
        ("a", "env-status shop deployed_ok"),
    ] {
        assert_eq!(w.run(who, cmd), "ok", "{who} {cmd}");
        let delta = w.take_delta(who).unwrap();
        out.push(wire::encode_causal(Kind::Delta, &delta).unwrap());
    }
    out
}

#[test]
fn seeds_decode_and_pass_both_targets() {
    for s in snapshot_seeds() {
        decode_snapshot(&s, entry::MAX_PAYLOAD).unwrap();
        entry::decode_snapshot_entry(&s);
    }
    for s in delta_seeds() {
        wire::decode_causal::<Model>(Kind::Delta, &s, entry::MAX_PAYLOAD).unwrap();
        entry::apply_delta_entry(&s);
    }
}

/// Writes the seed corpus: `cargo test -p horao-model --test it -- --ignored
/// write_model_seed_corpus`, then minimise with `cargo +nightly fuzz cmin <target>`.
#[test]
#[ignore = "writes files under fuzz/corpus; run by hand to refresh the seeds"]
fn write_model_seed_corpus() {
    for (target, seeds) in [
        ("model_snapshot", snapshot_seeds()),
        ("model_delta", delta_seeds()),
    ] {
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).expect("create corpus dir");
        for (i, seed) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:03}")), seed).expect("write seed");
        }
    }
}
