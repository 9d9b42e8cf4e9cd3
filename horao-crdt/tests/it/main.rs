//! horao-crdt's integration tests, in one binary so the crate is linked once (a test binary
//! per file would each link the crate and its dependencies). One module per topic, helpers
//! shared by the sync tests in `common`; run one module with
//! `cargo test -p horao-crdt --test it MODULE::` (for example `--test it sim::`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail by panicking.

mod array;
mod common;
mod fuzz_replay;
mod gossip;
mod handshake;
mod laws;
mod replica_log;
mod semantics;
mod sim;
mod stability;
mod sync;
mod wire;
