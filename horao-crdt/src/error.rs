//! The crate's single error type.

use crate::id::ReplicaId;

/// Everything that can go wrong in horao-crdt.
///
/// Decoding errors name what was malformed; clock errors name the offending timestamps. No
/// function of this crate panics on input that came from outside the process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input ended before a complete value was read.
    #[error("truncated input: needed more than the {len} bytes given")]
    Truncated {
        /// Length of the input.
        len: usize,
    },
    /// The input is larger than the configured limit.
    #[error("input of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Length of the input (or of the declared payload).
        len: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The envelope does not start with the HORAO magic bytes.
    #[error("bad magic bytes: not a HORAO envelope")]
    BadMagic,
    /// The envelope's format version is not one this build reads.
    #[error("unsupported format version {found} (this build reads {min}..={max})")]
    UnsupportedVersion {
        /// Version found in the envelope.
        found: u16,
        /// Oldest version supported.
        min: u16,
        /// Newest version supported.
        max: u16,
    },
    /// The envelope carries a different kind of payload than the caller asked for.
    #[error("payload kind {found} where {expected} was expected")]
    WrongKind {
        /// Kind tag found.
        found: u8,
        /// Kind tag expected.
        expected: u8,
    },
    /// The payload did not decode.
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// Bytes were left over after the payload.
    #[error("{0} trailing bytes after the payload")]
    TrailingBytes(usize),
    /// A decoded value violates a structural invariant (for example unsorted intervals).
    #[error("invalid {what}: {why}")]
    Invalid {
        /// Which structure.
        what: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// A remote timestamp is further in the future than the allowed clock drift.
    #[error(
        "remote clock {remote_ms} ms is more than {max_drift_ms} ms ahead of local {local_ms} ms"
    )]
    ClockDrift {
        /// Physical part of the remote timestamp.
        remote_ms: u64,
        /// Local physical time.
        local_ms: u64,
        /// Largest drift accepted.
        max_drift_ms: u64,
    },
    /// A physical time does not fit the 48 bits of a hybrid timestamp.
    #[error("physical time {0} ms does not fit in 48 bits")]
    TimeOutOfRange(u64),
    /// A replica's counter space is exhausted.
    #[error("replica {0} has used every dot counter")]
    CounterExhausted(ReplicaId),
    /// A message came from a peer the sync node does not know.
    #[error("message from unknown peer {0}")]
    UnknownPeer(ReplicaId),
    /// An element id does not name a live element.
    #[error("no element {0}")]
    NoSuchElement(String),
    /// No fractional position fits where one was asked for: the bounds are out of order or
    /// equal, an index is past the end, or the position would exceed the length limit.
    #[error("no position fits: {0}")]
    NoPosition(String),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;
