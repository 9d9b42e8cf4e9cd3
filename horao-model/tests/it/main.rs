//! horao-model's integration tests, in one binary (one link on a 2-core CI): scenarios of
//! every layer run by one transcript runner (`support::transcript`, files under
//! `testdata/`), properties of convergence and of the derived indexes, pinned encodings
//! (`testdata/formats/`) and API views (`testdata/api/`), the checks on decoding, and the
//! replay of the fuzz corpus.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod api_views;
mod claims;
mod convergence;
mod decoding;
mod environments;
mod fit_index;
mod formats;
mod fuzz_replay;
mod logical;
mod physical;
mod search;
mod storage;
mod storage_props;
mod touched;
