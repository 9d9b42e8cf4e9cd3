//! The schema version of the records being decoded, so a record whose stored shape changed
//! reads the shape it was written with.
//!
//! The stored encoding is positional (bincode), so a record cannot tell an old shape from a
//! new one by looking at its bytes. Whoever decodes stored bytes knows their version (a
//! snapshot's header, or the version a store keeps for its journal) and decodes inside
//! [`decoding_as`]; the few records whose shape changed implement `Deserialize` by asking
//! [`decoding`] which shape to read, and migrate an old shape as they read it. Outside
//! [`decoding_as`], records are read in the shape of [`SCHEMA_VERSION`]. A thread-local value,
//! set and restored around one decode: no I/O, no global state shared between threads.

use crate::snapshot::SCHEMA_VERSION;
use std::cell::Cell;

thread_local! {
    static DECODING: Cell<u16> = const { Cell::new(SCHEMA_VERSION) };
}

/// The schema version records are being decoded with on this thread.
pub(crate) fn decoding() -> u16 {
    DECODING.with(Cell::get)
}

/// Restores the previous version when dropped, also when the decode panics.
struct Restore(u16);

impl Drop for Restore {
    fn drop(&mut self) {
        DECODING.with(|d| d.set(self.0));
    }
}

/// Runs `decode` with records read in the shape of schema `version` (checked by the caller
/// against [`MIN_SCHEMA_VERSION`](crate::snapshot::MIN_SCHEMA_VERSION)`..=`[`SCHEMA_VERSION`]).
///
/// The v2 → v3 migration is tested in `storage::v2` (records) and in the pinned snapshots
/// of `tests/it/formats.rs` (a whole schema-2 snapshot read by this build).
pub fn decoding_as<T>(version: u16, decode: impl FnOnce() -> T) -> T {
    let _restore = Restore(DECODING.with(|d| d.replace(version)));
    decode()
}
