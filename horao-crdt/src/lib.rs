//! Delta-state CRDTs for HORAO.
//!
//! Every type is a *dot store*: data tagged with dots (replica, counter), joined under the
//! causal contexts of the two sides. Mutators never change state directly: they return a small
//! delta, and applying a delta is the same join as merging a full state. Removals travel as
//! causal context, so there are no tombstones in the data; the only removal metadata is the
//! delta log a replica keeps for its peers, collected once every known replica has seen it.
//!
//! The crate is pure: no I/O, no threads, no clock (hybrid timestamps take the caller's
//! physical time) and no global RNG (randomness is a parameter).
//!
//! ```
//! use horao_crdt::{Hlc, LwwReg, OrMap, Replica, ReplicaId};
//!
//! let mut a: Replica<OrMap<String, LwwReg<u32>>> = Replica::new(ReplicaId(1));
//! let mut b = Replica::new(ReplicaId(2));
//! let mut clock = Hlc::new(1_000);
//! let ts = clock.now(1_700_000_000_000).unwrap();
//! let delta = a
//!     .mutate(|m, tx| m.update("rack-1".into(), tx, |r, tx| r.write(42, ts, tx)))
//!     .unwrap();
//! b.apply(delta);
//! assert_eq!(b.state().get(&"rack-1".to_string()).and_then(|r| r.get()), Some(&42));
//! ```

#![forbid(unsafe_code)]

pub mod causal;
pub mod context;
pub mod derived;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod hlc;
pub mod id;
pub mod replica;
mod seq_rng;
pub mod store;
#[cfg(feature = "proptest")]
pub mod strategies;
pub mod sync;
pub mod types;
pub mod wire;

pub use causal::{Causal, Tx};
pub use context::CausalContext;
pub use derived::{Derived, DerivedIndex};
pub use error::{Error, Result};
pub use hlc::{Hlc, Timestamp};
pub use id::{Dot, ReplicaId};
pub use replica::{Answer, DEFAULT_MAX_LOG_BYTES, DEFAULT_MAX_LOG_ENTRIES, LogState, Replica};
pub use store::{DotFun, DotMap, DotSet, DotStore, JoinMode, combine};
pub use sync::{
    Change, Frame, Handled, Handshake, HandshakeError, Message, Pending, SyncConfig, SyncError,
    SyncNode, SyncState, Transmit, Validated,
};
pub use types::{ElemId, FracArray, LwwReg, MvReg, OrMap, OrSet, PnCounter, Position};
