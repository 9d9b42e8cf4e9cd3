//! Following the server's watch feed (`GET /api/v1/watch`, a websocket) instead of polling
//! the REST API every pass.
//!
//! - [`frame`]: the feed's JSON frames, parsed (pure).
//! - [`feed`]: the views of the volumes and images at a cursor, built from snapshots and
//!   changes, and the explicit deletes not yet carried out (pure; persisted with the desired
//!   state).
//! - [`conn`]: opening the websocket (`ws://`/`wss://`, rustls with the HTTP client's
//!   roots, the bearer token, read timeouts).
//! - [`follower`]: the thread that keeps the feed open, applies its frames to a cell shared
//!   with the reconcile loop and wakes it; backoff and reconnection when the feed fails.
//! - [`source`]: the feed as a [`DesiredSource`](crate::server::source::DesiredSource) of
//!   volumes and images, polling the REST API while the feed is down.

pub mod conn;
pub mod feed;
pub mod follower;
pub mod frame;
pub mod source;

pub use conn::{Endpoint, OpenError};
pub use feed::FeedState;
pub use follower::FollowerSettings;
pub use source::WatchSource;
