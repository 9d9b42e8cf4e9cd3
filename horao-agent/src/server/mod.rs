//! The side of the agent that faces the server: the HTTP client of the agent's routes, the
//! mapping between the server's views (horao-model's `api` module, the one contract) and the
//! reconcile loop's types, the rule that decides which reports are due, and where the desired
//! state comes from.
//!
//! - [`client`]: a blocking client with typed errors and retries (capped, jittered backoff).
//! - [`mapping`]: `VolumeView` → [`DesiredState`](crate::DesiredState), and each volume's
//!   [`VolumeReport`](crate::report::VolumeReport) → `VolumeCurrentView`.
//! - [`gate`]: change detection, so reports go out on change and at a modest interval.
//! - [`source`]: where the desired state comes from (polling today; the watch feed later).
//! - [`tls`]: which certificates the client trusts for `https://` servers.
//! - [`fake`]: a small in-process fake of the agent's routes, for tests.

pub mod client;
pub mod fake;
pub mod gate;
pub mod mapping;
pub mod retry;
pub mod source;
pub mod tls;

pub use client::{ApiErrorBody, Client, ClientError};
pub use tls::{Trust, TrustError};
