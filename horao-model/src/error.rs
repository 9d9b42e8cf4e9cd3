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
    /// The writer is not allowed to write this field (for example a user writing a machine's
    /// current state, which only that machine's agent may write).
    #[error("{entity} {id}: {field} may not be written by {actor}")]
    WrongWriter {
        /// The kind of entity (for example `volume`).
        entity: &'static str,
        /// Its id.
        id: String,
        /// The field, as `entity.field` (for example `volume.current`).
        field: &'static str,
        /// The writer that was refused.
        actor: String,
    },
    /// A field that can no longer change (for example a volume's size once it is placed).
    #[error("{entity} {id}: {field} is immutable: {reason}")]
    Immutable {
        /// The kind of entity.
        entity: &'static str,
        /// Its id.
        id: String,
        /// The field, as `entity.field`.
        field: &'static str,
        /// Why, and what to do instead.
        reason: String,
    },
    /// An entity cannot be removed or changed because another one still uses it.
    #[error("{kind} {id} is in use by {by}")]
    InUse {
        /// The kind of entity.
        kind: &'static str,
        /// Its id.
        id: String,
        /// The user, as `kind id`.
        by: String,
    },
    /// An instance disk that the agent has not initialized yet.
    #[error("instance {instance}: disk {volume} is not initialized")]
    DiskNotInitialized {
        /// The instance.
        instance: String,
        /// The volume that is not initialized.
        volume: String,
    },
    /// A dependency that would close a cycle; `cycle` lists the path, first id repeated last.
    #[error("dependency cycle: {}", cycle.join(" -> "))]
    DependencyCycle {
        /// The resources along the cycle, starting and ending with the same id.
        cycle: Vec<String>,
    },
    /// A claim that does not fit the capacity (or quota) left in its window.
    #[error("does not fit {pool}: {dimension} needs {needed} at time {at}, {available} available")]
    DoesNotFit {
        /// The capacity pool, as `infrastructure ID`, `tenant ID in infrastructure ID` or
        /// `quota of tenant ID`.
        pool: String,
        /// The first dimension that overflows.
        dimension: String,
        /// The earliest instant of the window where it overflows.
        at: u64,
        /// What the claim needs (for maintenance: what the pool's reservations need).
        needed: u64,
        /// What is left at that instant.
        available: u64,
    },
    /// A machine without room for a volume's quota.
    #[error("machine {machine} has {available} bytes free, the volume needs {needed}")]
    NoRoom {
        /// The machine.
        machine: String,
        /// The quota to place.
        needed: u64,
        /// Its reported capacity less what it has reserved.
        available: u64,
    },
    /// No machine can hold a volume (horao-sched's reason).
    #[error("volume {volume} cannot be placed: {reason}")]
    NotPlaced {
        /// The volume.
        volume: String,
        /// Why no machine can hold it.
        reason: String,
    },
    /// A stored snapshot written with a schema version this build cannot read.
    #[error("snapshot schema version {found} is not supported (this build reads {min} to {max})")]
    UnsupportedSchema {
        /// The version in the snapshot's header.
        found: u16,
        /// The oldest version this build reads.
        min: u16,
        /// The version this build writes.
        max: u16,
    },
    /// An error from the CRDT engine.
    #[error(transparent)]
    Crdt(#[from] horao_crdt::Error),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The field `field` (as `entity.field`) is not acceptable, for `reason`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// No entity `kind id` exists.
    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        Error::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    /// An entity `kind id` exists already.
    pub fn already_exists(kind: &'static str, id: impl ToString) -> Self {
        Error::AlreadyExists {
            kind,
            id: id.to_string(),
        }
    }

    /// The entity `kind id` cannot be removed or changed while `by` (as `kind id`) uses it.
    pub fn in_use(kind: &'static str, id: impl ToString, by: impl ToString) -> Self {
        Error::InUse {
            kind,
            id: id.to_string(),
            by: by.to_string(),
        }
    }
}
