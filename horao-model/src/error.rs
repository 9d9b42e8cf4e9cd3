//! The crate's single error type.

/// Everything a model mutation or query can reject. Each variant names the offending field or
/// entity and the reason, so API callers can show it as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A field's value is not acceptable.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field, as `entity.field` (for example `rack.height_units`).
        field: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An entity referenced by id does not exist.
    #[error("{kind} {id} not found")]
    NotFound {
        /// The kind of entity (for example `datacenter`).
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// An entity with this id exists already.
    #[error("{kind} {id} already exists")]
    AlreadyExists {
        /// The kind of entity.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// A state machine transition that is not allowed.
    #[error("{entity} {id}: illegal transition from {from} to {to}")]
    IllegalTransition {
        /// The kind of entity (for example `volume`).
        entity: &'static str,
        /// Its id.
        id: String,
        /// The current state.
        from: String,
        /// The requested state.
        to: String,
    },
    /// An error from the CRDT engine.
    #[error(transparent)]
    Crdt(#[from] horao_crdt::Error),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;
