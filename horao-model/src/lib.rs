//! HORAO's replicated domain model, built on horao-crdt.
//!
//! Two layers and two lifecycles, all in one replicated document:
//! - physical: datacenters, rows, racks, devices, components, ports and links (per datacenter);
//! - logical: logical infrastructures over datacenters, tenants, resource profiles and claims
//!   (reservations and maintenance windows) fitted against capacity over time;
//! - storage and compute: machines, volumes, images and instances with desired and current
//!   state as separate fields and explicit state machines;
//! - environments: environments and resources with a dependency graph and text search.
//!
//! Every mutation validates its input and returns a CRDT delta; invalid input is a typed
//! [`Error`] naming the field and the reason. Concurrent edits always converge; where a merge
//! breaks an invariant, both sides are kept and the conflict is reported by a query,
//! identically on every replica. A stored snapshot carries the model's schema version in
//! front of the state ([`snapshot`]). The crate is pure: no I/O, no clock, no global RNG.

pub mod error;

pub mod claims;
pub mod conflict;
pub mod environments;
pub mod lifecycle;
pub mod logical;
pub mod model;
pub mod physical;
pub mod search;
pub mod snapshot;

pub use error::{Error, Result};
