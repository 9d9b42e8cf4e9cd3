//! Stores written by an older schema of the model: which schema the journal's entries were
//! written with, and whether start-up must rewrite the store in the current one.
//!
//! A snapshot names its schema in its header; journal entries have no header, so the store
//! keeps their schema under [`META_SCHEMA`], written at every start. A store without it was
//! written before the key existed: its entries have the schema of the snapshot they follow
//! (schema 2 without a snapshot, the oldest this build reads). When anything stored is of an
//! older schema, start-up decodes it with that schema (the model migrates the records), then
//! writes a snapshot of the migrated state covering the whole journal before it serves or
//! commits anything, so every entry written afterwards follows a snapshot of its own schema.
//! The delta log saved with the sync state holds encoded deltas of the old schema, which
//! peers would read in the new one: it is dropped, and lagging peers get a full state once.

use horao_model::snapshot::{MIN_SCHEMA_VERSION, SCHEMA_VERSION};
use std::collections::BTreeMap;

/// Metadata key of the schema the journal's entries are written with (2 bytes, little
/// endian).
pub const META_SCHEMA: &str = "model/schema";

/// The schema of the journal's entries: the stored key, else the snapshot's schema, else the
/// oldest schema this build reads.
pub fn journal_schema(meta: &BTreeMap<String, Vec<u8>>, snapshot: Option<u16>) -> u16 {
    meta.get(META_SCHEMA)
        .and_then(|b| <[u8; 2]>::try_from(b.as_slice()).ok())
        .map(u16::from_le_bytes)
        .or(snapshot)
        .unwrap_or(MIN_SCHEMA_VERSION)
}

/// True when the store holds something of an older schema: a snapshot, or journal entries.
pub fn needed(snapshot: Option<u16>, journal: u16, journal_empty: bool) -> bool {
    snapshot.is_some_and(|v| v < SCHEMA_VERSION) || (!journal_empty && journal < SCHEMA_VERSION)
}

/// The metadata entry recording the current schema.
pub fn meta() -> (String, Option<Vec<u8>>) {
    (
        META_SCHEMA.to_string(),
        Some(SCHEMA_VERSION.to_le_bytes().to_vec()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_schema_comes_from_the_key_then_the_snapshot() {
        let mut meta = BTreeMap::new();
        assert_eq!(journal_schema(&meta, None), MIN_SCHEMA_VERSION);
        assert_eq!(journal_schema(&meta, Some(3)), 3);
        meta.insert(META_SCHEMA.to_string(), 2u16.to_le_bytes().to_vec());
        assert_eq!(journal_schema(&meta, Some(3)), 2);
        meta.insert(META_SCHEMA.to_string(), vec![1]);
        assert_eq!(
            journal_schema(&meta, Some(3)),
            3,
            "a damaged key is ignored"
        );
    }

    #[test]
    fn only_older_stored_data_is_migrated() {
        assert!(!needed(None, MIN_SCHEMA_VERSION, true), "a new store");
        assert!(
            needed(None, 2, false),
            "a schema-2 journal without a snapshot"
        );
        assert!(needed(Some(2), 2, true), "a schema-2 snapshot");
        assert!(!needed(Some(SCHEMA_VERSION), SCHEMA_VERSION, false));
        assert!(needed(Some(SCHEMA_VERSION), 2, false), "a schema-2 journal");
    }
}
