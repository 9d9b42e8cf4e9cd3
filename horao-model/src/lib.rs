//! HORAO's replicated domain model, built on horao-crdt.
//!
//! One replicated document, [`Model`](model::Model), holds every layer:
//! - [`physical`]: datacenters, rows, racks, devices with their components and ports, and the
//!   links between ports;
//! - [`logical`]: logical infrastructures over datacenters, tenants with quotas and
//!   constraints, resource profiles, and capacity aggregated by dimension;
//! - [`claims`]: reservations and maintenance windows, admitted only when they fit the
//!   capacity left over time;
//! - [`storage`]: machines, volumes, images and instances, with desired and current state in
//!   separate fields and explicit state machines;
//! - [`environments`]: environments and resources with a dependency graph.
//!
//! One vocabulary serves every layer: [`ids`] (one id rule, checked on construction and on
//! decoding), [`label`] (one label type, `key` or `key=value`), [`validate`] (the name and text
//! rules) and [`Error`] (one error type naming the field and the reason).
//!
//! # The mutator convention
//!
//! Every change is a method on [`Model`](model::Model) with this shape:
//!
//! ```text
//! fn verb_noun(&self, by: &Actor, id: &XId, request…, [ts: Timestamp,] [rng,] tx: &mut Tx)
//!     -> Result<Model>
//! ```
//!
//! - `&self` is the replica's current state, read to validate references across layers;
//! - `by` is who asks ([`Actor`]): each mutator refuses a writer that may not write what it
//!   changes ([`Error::WrongWriter`]), so a server passes the actor its token authenticates;
//! - then the entity's id, then what the request carries, then the hybrid timestamp when the
//!   change writes a last-writer-wins register, then the randomness when it mints a
//!   fractional position, then the transaction that mints dots;
//! - it validates everything before it mints a dot, so an error leaves nothing behind;
//! - it returns a delta holding only what changed. Run it through
//!   [`Replica::try_mutate`](horao_crdt::Replica::try_mutate) (or the sync node's), which
//!   applies it, logs it for peers and returns the delta to persist and ship.
//!
//! ```
//! use horao_crdt::{Replica, ReplicaId, Timestamp};
//! use horao_model::model::Model;
//! use horao_model::physical::DatacenterInfo;
//! use horao_model::{Actor, Error, ids::DatacenterId};
//!
//! let mut replica: Replica<Model> = Replica::new(ReplicaId(1));
//! let ts = Timestamp::new(1_700_000_000_000, 0)?;
//! let id = DatacenterId::new("ams-1")?;
//! let info = DatacenterInfo { name: "Amsterdam 1".into(), site: String::new() };
//! let delta = replica.try_mutate(|m, tx| m.create_datacenter(&Actor::User, &id, info, &[], ts, tx))?;
//! assert!(replica.state().physical.datacenters.contains_key(&id));
//! assert!(!delta.is_empty()); // what the caller persists, then acknowledges and sends
//!
//! // An agent may not edit the inventory; nothing changes.
//! let agent = Actor::Agent(horao_model::ids::MachineId::new("host-1")?);
//! let info = DatacenterInfo { name: "x".into(), site: String::new() };
//! let other = DatacenterId::new("x")?;
//! let refused = replica.try_mutate(|m, tx| m.create_datacenter(&agent, &other, info, &[], ts, tx));
//! assert!(matches!(refused, Err(Error::WrongWriter { .. })));
//! # Ok::<(), horao_model::Error>(())
//! ```
//!
//! Concurrent edits always converge; where a merge breaks an invariant, both sides are kept
//! and [`Model::conflicts`](model::Model::conflicts) reports it, identically on every replica.
//! Derived indexes (children by parent, fit timelines per pool) are kept beside the state by
//! horao-crdt's [`Derived`](horao_crdt::Derived) mechanism. A stored snapshot carries the
//! model's schema version in front of the state ([`snapshot`]). The crate is pure: no I/O, no
//! clock, no global RNG.

#![forbid(unsafe_code)]

pub mod actor;
pub mod error;
pub mod ids;
pub mod label;
pub mod validate;

pub mod api;
pub mod claims;
pub mod conflict;
pub mod environments;
pub mod logical;
pub mod model;
pub mod physical;
pub mod schema;
pub mod search;
pub mod snapshot;
pub mod storage;

pub use actor::Actor;
pub use error::{Error, Result};
pub use label::Label;
