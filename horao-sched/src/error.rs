//! The crate's single error type.

/// Everything that can go wrong when a caller hands the scheduler invalid input.
///
/// Expected outcomes (an item that cannot be placed, a claim that does not fit) are values in
/// the returned plan, never errors: an `Error` always means the input itself was malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bin capacity is zero.
    #[error("bin capacity must be positive")]
    ZeroCapacity,
    /// An item is larger than the bin capacity, so no packing exists.
    #[error("item {index} has size {size}, larger than the bin capacity {capacity}")]
    ItemTooLarge {
        /// Position of the item in the input.
        index: usize,
        /// Its size.
        size: u64,
        /// The bin capacity.
        capacity: u64,
    },
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;
