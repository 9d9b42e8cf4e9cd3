//! Vector bin packing: items and bins with several resource dimensions.
//!
//! Every item and bin is a dense `Vec<u64>` indexed by dimension, so the inner loops of the
//! heuristics are plain slice walks; [`Resources`] maps resource names ("cpu", "ram", "disk",
//! "gpu", ...) to those indices for callers that think in names.
//!
//! [`pack`] solves the pure vector-bin-packing problem (identical bins, minimise their number,
//! as in VPSolver `.vbp` files) with one of four [`Heuristic`]s and returns the packing with a
//! per-dimension lower bound; [`check_packing`] verifies a packing independently of the code
//! that produced it. The constrained, incremental problem (machines with different capacities,
//! labels, anti-affinity and dilation) is [`crate::placement`].
//!
//! ```
//! use horao_sched::vector::{Heuristic, VectorInstance, VectorItem, check_packing, pack};
//!
//! let instance = VectorInstance {
//!     capacity: vec![10, 10],
//!     items: vec![
//!         VectorItem { size: vec![6, 2], count: 2 },
//!         VectorItem { size: vec![3, 7], count: 2 },
//!     ],
//! };
//! let packing = pack(&instance, Heuristic::FfdSum).unwrap();
//! assert_eq!(packing.bins.len(), 2);
//! assert_eq!(packing.lower_bound, 2);
//! check_packing(&instance, &packing).unwrap();
//! ```

mod check;
mod dilation;
mod instance;
pub(crate) mod kernel;
mod pack;
mod resources;

pub use check::{Violation, check_packing};
pub use dilation::Dilation;
pub use instance::{VectorInstance, VectorItem, VectorPacking, lower_bound};
pub use pack::{Heuristic, pack};
pub use resources::Resources;
