//! The HORAO daemon as a library: the replicated model held in memory by one sync node,
//! every change made durable in a store before it is acknowledged, served over a versioned
//! REST API. The binary in `main.rs` is a thin shell over this crate.
//!
//! Code map: [`config`] (flags, environment, TOML), [`state`] (start-up and shared state),
//! [`writer`] (the single write path), [`auth`] (tokens and roles), [`routes`] (the API's
//! route table and handlers), [`extract`] and [`error`] (JSON in, JSON errors out),
//! [`openapi`], [`app`] (middleware and `/metrics`), [`server`] (serving and shutdown),
//! [`store`] (durable storage).

pub mod app;
pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod state;
pub mod store;
pub mod writer;

use std::sync::Arc;

/// Opens the store the configuration names. For now every configuration gets the in-memory
/// store: the embedded and Redis stores are added to this function when they land.
pub fn open_store(config: &config::Config) -> Arc<dyn store::Store> {
    let _ = config;
    Arc::new(store::memory::MemoryStore::new())
}
