//! horao-server's integration tests, one binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail by panicking.

mod crud;
mod gossip;
mod hostile;
mod kill9;
mod lifecycle;
mod openapi;
mod peers;
mod roles;
mod shared;
mod soak;
mod store;
mod support;
mod tls;
mod upgrade;
mod versions;
mod watch;
