//! The pinned test vectors: stored encodings under `testdata/formats/` (hex), which a change of
//! the stored shape must not alter silently, and the JSON of the API's views under
//! `testdata/api/`, which a change of the public API must not alter silently.
//!
//! `HORAO_BLESS=1 cargo test -p horao-model` rewrites every vector from the current encoding
//! (then review the diff: a changed vector means a bumped schema version and a migration), and
//! the expected outcomes of the scenario files under `testdata/` from what the model answers
//! now (review that diff line by line too).

use std::path::PathBuf;

/// True when the tests are asked to rewrite what they compare against (`HORAO_BLESS` set).
pub(crate) fn blessing() -> bool {
    std::env::var_os("HORAO_BLESS").is_some()
}

/// The path of vector `name`.
pub(crate) fn path(name: &str) -> PathBuf {
    PathBuf::from(format!(
        "{}/testdata/formats/{name}.hex",
        env!("CARGO_MANIFEST_DIR")
    ))
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of vector `name`.
pub(crate) fn read(name: &str) -> Vec<u8> {
    let p = path(name);
    let text = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}; bless it with HORAO_BLESS=1", p.display()));
    let text = text.trim();
    assert!(
        text.len() % 2 == 0,
        "{}: odd number of hex digits",
        p.display()
    );
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Asserts that `json` equals the JSON vector `testdata/api/<name>.json` (after rewriting it
/// under `HORAO_BLESS`).
pub(crate) fn pinned_json(name: &str, json: &str) {
    let path = format!("{}/testdata/api/{name}.json", env!("CARGO_MANIFEST_DIR"));
    if blessing() {
        std::fs::create_dir_all(format!("{}/testdata/api", env!("CARGO_MANIFEST_DIR"))).unwrap();
        std::fs::write(&path, format!("{json}\n")).unwrap();
    }
    let pinned = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}; bless it with HORAO_BLESS=1"));
    assert!(
        pinned.trim_end() == json,
        "the JSON of {name} changed, and with it the public API (re-bless with HORAO_BLESS=1 \
         if the change is intended)\n  now: {json}"
    );
}

/// Asserts that `bytes` equal vector `name` (after rewriting it under `HORAO_BLESS`).
pub(crate) fn pinned(name: &str, bytes: &[u8]) {
    if blessing() {
        std::fs::write(path(name), format!("{}\n", hex(bytes))).unwrap();
    }
    assert!(
        read(name) == bytes,
        "the stored encoding of {name} changed: bump SCHEMA_VERSION and keep a migration \
         (or re-bless with HORAO_BLESS=1 if the change is intended)\n  now: {}",
        hex(bytes)
    );
}
