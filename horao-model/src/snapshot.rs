//! The stored snapshot of a whole model: a header carrying [`SCHEMA_VERSION`], then the
//! replicated state in horao-crdt's wire envelope.
//!
//! The wire envelope versions the CRDT encoding (contexts, dot stores); the schema version
//! versions the model's records inside it (which fields a device has, how a reservation is
//! shaped). They change independently, so a snapshot carries both. The server writes
//! [`encode_snapshot`]'s bytes wherever it keeps state and reads them back with
//! [`decode_snapshot`], which checks the header before it decodes anything else: a snapshot
//! written by a newer schema, or by an older one with no migration, is a typed error rather
//! than a misread model. Pure: the caller does the I/O.
//!
//! ```
//! use horao_crdt::Causal;
//! use horao_model::model::Model;
//! use horao_model::snapshot::{decode_snapshot, encode_snapshot};
//!
//! let state = Causal::<Model>::default();
//! let bytes = encode_snapshot(&state)?;
//! assert_eq!(decode_snapshot(&bytes, 1 << 20)?, state);
//! # Ok::<(), horao_model::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::model::Model;
use horao_crdt::Causal;
use horao_crdt::wire::{self, Kind};

/// The version of the stored shape of [`Model`]'s records. Bump it whenever a stored record
/// changes, keep the old shape in a `vN` module with a migration, and re-bless the pinned
/// vectors under `testdata/` (they fail on any change of the encoding). Written by
/// [`SnapshotHeader::current`] and checked by [`SnapshotHeader::check`].
///
/// Version 3 gave machine reports the agent's orphans, volume reports the nested subvolumes,
/// images their home machine and a volume's desired state the machines that rejected it;
/// version 2 records are read and migrated
/// ([`crate::schema`]). Version 2 gave volumes a unique name, their own labels, required
/// labels (version 1's filters), an owning tenant and the agent's refusals; machines the
/// device they run on. Version 1 was never written by a released server, so no migration
/// reads it.
pub const SCHEMA_VERSION: u16 = 3;

/// The oldest schema version this build reads (migrating it to [`SCHEMA_VERSION`]).
pub const MIN_SCHEMA_VERSION: u16 = 2;

/// The header stored in front of every model snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// The schema version the snapshot's records were written with.
    pub schema_version: u16,
}

impl SnapshotHeader {
    /// Encoded length in bytes: the schema version, little endian.
    pub const LEN: usize = 2;

    /// The header this build writes.
    pub const fn current() -> Self {
        SnapshotHeader {
            schema_version: SCHEMA_VERSION,
        }
    }

    /// The encoded header.
    pub fn to_bytes(self) -> [u8; Self::LEN] {
        self.schema_version.to_le_bytes()
    }

    /// Splits `bytes` into a header and the rest.
    pub fn parse(bytes: &[u8]) -> Result<(Self, &[u8])> {
        match bytes.split_first_chunk::<{ Self::LEN }>() {
            Some((h, rest)) => Ok((
                SnapshotHeader {
                    schema_version: u16::from_le_bytes(*h),
                },
                rest,
            )),
            None => Err(Error::Crdt(horao_crdt::Error::Truncated {
                len: bytes.len(),
            })),
        }
    }

    /// Checks that this build can read records of the header's schema version.
    pub fn check(self) -> Result<()> {
        if (MIN_SCHEMA_VERSION..=SCHEMA_VERSION).contains(&self.schema_version) {
            Ok(())
        } else {
            Err(Error::UnsupportedSchema {
                found: self.schema_version,
                min: MIN_SCHEMA_VERSION,
                max: SCHEMA_VERSION,
            })
        }
    }
}

/// Encodes a full model state as a snapshot: [`SnapshotHeader::current`], then the state in a
/// [`Kind::State`] envelope.
pub fn encode_snapshot(state: &Causal<Model>) -> Result<Vec<u8>> {
    let body = wire::encode_causal(Kind::State, state)?;
    let mut out = Vec::with_capacity(SnapshotHeader::LEN + body.len());
    out.extend_from_slice(&SnapshotHeader::current().to_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes and validates a snapshot whose state payload is at most `max_payload` bytes,
/// checking its schema version first; an older schema's records are migrated as they are
/// read.
pub fn decode_snapshot(bytes: &[u8], max_payload: usize) -> Result<Causal<Model>> {
    decode_versioned_snapshot(bytes, max_payload).map(|(state, _)| state)
}

/// Like [`decode_snapshot`], and also returns the schema version the snapshot was written
/// with (a store that keeps deltas beside it decodes them with that version, then writes
/// a new snapshot in the current one).
pub fn decode_versioned_snapshot(bytes: &[u8], max_payload: usize) -> Result<(Causal<Model>, u16)> {
    let (header, body) = SnapshotHeader::parse(bytes)?;
    header.check()?;
    let state = decode_stored(Kind::State, body, header.schema_version, max_payload)?;
    Ok((state, header.schema_version))
}

/// Decodes and validates a stored delta (`Kind::Delta`) or full state (`Kind::State`) that was
/// written with schema `version` (which has no header of its own: the store keeps it),
/// migrating an older schema's records as they are read.
pub fn decode_stored(
    kind: Kind,
    bytes: &[u8],
    version: u16,
    max_payload: usize,
) -> Result<Causal<Model>> {
    SnapshotHeader {
        schema_version: version,
    }
    .check()?;
    Ok(crate::schema::decoding_as(version, || {
        wire::decode_causal(kind, bytes, max_payload)
    })?)
}
