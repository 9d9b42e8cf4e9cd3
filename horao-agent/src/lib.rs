//! The HORAO storage-host agent's library: a btrfs backend and the reconcile loop that makes
//! a host's btrfs filesystem match the volumes and images assigned to it.
//!
//! - [`btrfs`]: the [`Btrfs`] trait and [`RealBtrfs`], which drives btrfs-progs through the
//!   one command wrapper ([`command::Runner`]: argument vectors, timeouts, tracing, latency,
//!   classified errors) and reads qgroup figures from sysfs.
//! - [`reconcile`]: the level-triggered, idempotent loop: admission, create, snapshot, limit,
//!   owner and mode, resize, delete, orphans and escapes, per-item backoff. Time is a
//!   parameter; the loop reads no clock.
//! - [`desired`] and [`report`]: the plain serde types going in and coming out.
//! - [`persist`]: the last desired state, kept on local disk atomically.
//! - [`server`]: the HTTP client of the server's agent routes, the mapping between the API's
//!   views and the loop's types, change detection of reports, the desired-state source.
//! - [`daemon`]: the binary's loop: register, fetch, persist, pass, report.
//! - [`metrics`]: Prometheus text exposition on `GET /metrics`.
//!
//! ```
//! use horao_agent::{Config, DesiredState, Reconciler, RealBtrfs};
//! use std::time::Duration;
//!
//! let btrfs = RealBtrfs::default();
//! let mut reconciler = Reconciler::new(Config::new("/nonexistent/horao"));
//! // Not a btrfs filesystem (not even a directory): the pass changes nothing and says why.
//! let report = reconciler.pass(&btrfs, &DesiredState::default(), Duration::ZERO);
//! assert!(report.blocked.is_some());
//! ```

#![forbid(unsafe_code)]

pub mod btrfs;
pub mod classify;
pub mod command;
pub mod daemon;
pub mod desired;
pub mod error;
#[cfg(test)]
mod fake;
pub mod loopfs;
pub mod metrics;
pub mod name;
pub mod persist;
pub mod reconcile;
pub mod report;
pub mod server;
pub mod watch;

pub use btrfs::{Btrfs, RealBtrfs};
pub use desired::{DesiredImage, DesiredState, DesiredVolume, Presence, VolumeSource};
pub use error::{Error, ErrorClass, Result};
pub use name::Name;
pub use reconcile::{Config, Reconciler, preflight};
pub use report::{PassReport, State};
