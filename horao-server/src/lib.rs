//! The HORAO daemon as a library: the replicated model held in memory by one sync node,
//! every change made durable in a store before it is acknowledged, served over a versioned
//! REST API. The binary in `main.rs` is a thin shell over this crate.
//!
//! Code map: [`config`] (flags, environment, TOML), [`state`] (start-up and shared state),
//! [`writer`] (the single write path), [`auth`] (tokens and roles), [`routes`] (the API's
//! route table and handlers), [`extract`] and [`error`] (JSON in, JSON errors out),
//! [`openapi`], [`app`] (middleware and `/metrics`), [`server`] (serving and shutdown),
//! [`store`] (durable storage), [`follow`] (the other servers' commits to a shared store),
//! [`gossip`] (websocket sync with the other servers), [`watch`]
//! (the change feed and the Redis event stream).

#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod config;
pub mod error;
pub mod extract;
pub mod follow;
pub mod gossip;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod state;
pub mod store;
pub mod upgrade;
pub mod watch;
pub mod writer;

use std::sync::Arc;

/// Opens the store the configuration names: Redis when a URL is given, otherwise the
/// embedded store in the data directory. Configuration problems the store found (Redis
/// without `appendonly`, for one) are logged as warnings.
pub async fn open_store(
    config: &config::Config,
) -> Result<Arc<dyn store::Store>, store::StoreError> {
    let store: Arc<dyn store::Store> = match &config.redis {
        // Every server on one Redis database shares the model under its own node name.
        Some(url) => Arc::new(
            store::redis::RedisStore::open_node(
                url,
                REDIS_KEY_PREFIX,
                &config.redis_node,
                store::redis::RedisOptions::default(),
                store::redis_node::LeaseOptions::default(),
            )
            .await?,
        ),
        None => {
            // Opening checks the file's integrity: blocking work, off the async workers.
            let dir = config.data_dir.clone();
            let options = store::embedded::EmbeddedOptions {
                group_commit: config.group_commit,
                ..Default::default()
            };
            let opened = tokio::task::spawn_blocking(move || {
                store::embedded::EmbeddedStore::open(&dir, options)
            })
            .await
            .map_err(|e| store::StoreError::Embedded(format!("opening the store: {e}")))??;
            Arc::new(opened)
        }
    };
    for warning in store.warnings() {
        tracing::warn!(store = store.kind(), "{warning}");
    }
    Ok(store)
}

/// The prefix of every key the server writes in Redis.
pub const REDIS_KEY_PREFIX: &str = "horao";
