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
    /// A checked packing leaves an item out.
    #[error("item {index} is not packed in any bin")]
    ItemUnpacked {
        /// Position of the item in the input.
        index: usize,
    },
    /// A checked packing puts an item into more than one place.
    #[error("item {index} is packed more than once (again in bin {bin})")]
    ItemPackedTwice {
        /// Position of the item in the input.
        index: usize,
        /// The bin where it appears the second time.
        bin: usize,
    },
    /// A checked packing refers to an item that does not exist.
    #[error("bin {bin} refers to item {index}, but there are only {count} items")]
    UnknownItem {
        /// The bin holding the bad reference.
        bin: usize,
        /// The out-of-range item index.
        index: usize,
        /// The number of items.
        count: usize,
    },
    /// A checked packing overfills a bin.
    #[error("bin {bin} holds {load}, more than the capacity {capacity}")]
    BinOverflow {
        /// The overfull bin.
        bin: usize,
        /// The sum of its item sizes.
        load: u128,
        /// The bin capacity.
        capacity: u64,
    },
    /// A checked packing contains a bin with no items.
    #[error("bin {bin} is empty")]
    EmptyBin {
        /// The empty bin.
        bin: usize,
    },
    /// A vector (capacity, usage, demand) has the wrong number of dimensions.
    #[error("{what} has {found} dimensions, expected {expected}")]
    DimensionMismatch {
        /// Which vector: "capacity", "item 3", "machine m1 usage", "request r7 demand", ...
        what: String,
        /// The number of dimensions of the problem.
        expected: usize,
        /// The number of entries the vector has.
        found: usize,
    },
    /// Two resources (dimensions) share a name.
    #[error("resource {0:?} is declared twice")]
    DuplicateResource(String),
    /// A resource name is not in the registry.
    #[error("unknown resource {0:?}")]
    UnknownResource(String),
    /// Two machines or two requests share an id.
    #[error("duplicate {kind} id {id:?}")]
    DuplicateId {
        /// "machine" or "request".
        kind: &'static str,
        /// The repeated id.
        id: String,
    },
    /// An item type of a vector-packing instance exceeds the bin capacity in one dimension.
    #[error(
        "item type {item} needs {size} in dimension {dimension}, more than the capacity {capacity}"
    )]
    VectorItemTooLarge {
        /// Position of the item type in the instance.
        item: usize,
        /// The dimension (index into the capacity vector).
        dimension: usize,
        /// The item's size in that dimension.
        size: u64,
        /// The bin capacity in that dimension.
        capacity: u64,
    },
    /// A time window is empty or reversed (`start >= end`), or a duration is zero.
    #[error("invalid time window [{start}, {end})")]
    InvalidWindow {
        /// Window start (inclusive).
        start: u64,
        /// Window end (exclusive).
        end: u64,
    },
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;
