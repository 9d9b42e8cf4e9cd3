//! `horao-server`: parses the configuration, sets up logging and metrics, opens the store and
//! serves until SIGINT or SIGTERM.

use anyhow::Context;
use clap::Parser;
use horao_server::app::HttpLimits;
use horao_server::config::{Config, Flags};
use horao_server::gossip::GossipConfig;
use horao_server::gossip::limits::Limits;
use horao_server::server::{self, Options};
use horao_server::state::StateConfig;
use horao_server::watch::WatchConfig;
use horao_server::watch::events::EventsConfig;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Returns the pages freed during start-up (the snapshot's bytes, the decode's transient
/// buffers) to the operating system at once, instead of after mimalloc's purge delay.
#[allow(unsafe_code)]
fn release_freed_memory() {
    // SAFETY: `mi_collect` has no preconditions; it only purges mimalloc's free pages.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// Resolves on SIGINT or SIGTERM.
async fn stop_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Config::resolve(Flags::parse())?;
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    let tls = match &config.tls {
        None => None,
        Some((cert, key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            Some(
                axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                    .await
                    .with_context(|| format!("loading TLS from {}", cert.display()))?,
            )
        }
    };
    let peer_tls = match &config.peer_ca_cert {
        None => None,
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading --peer-ca-cert {}", path.display()))?;
            Some(
                horao_server::gossip::tls::client_config(Some(&pem))
                    .map_err(anyhow::Error::msg)
                    .with_context(|| format!("--peer-ca-cert {}", path.display()))?,
            )
        }
    };
    let store = horao_server::open_store(&config)
        .await
        .context("opening the store")?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let opts = Options {
        state: StateConfig {
            replica_id: config.replica_id,
            admin_token: std::env::var("HORAO_ADMIN_TOKEN").ok(),
            compact_entries: 10_000,
            on_loaded: Some(release_freed_memory),
            gossip: GossipConfig {
                peers: config.peers.clone(),
                secret: config.cluster_secret.clone(),
                peer_token: config.peer_token.clone(),
                tls: peer_tls,
                interval: config.gossip_interval,
                ping_interval: config.gossip_ping_interval,
                limits: Limits {
                    max_message: config.gossip_max_message,
                    ..Limits::default()
                },
                ..GossipConfig::default()
            },
            watch: WatchConfig {
                progress_interval: config.watch_progress_interval,
                history_bytes: config.watch_history_bytes,
                max_watchers: config.watch_max,
                events: config.redis.clone().map(|url| EventsConfig {
                    url,
                    maxlen: config.events_maxlen,
                }),
                ..WatchConfig::default()
            },
        },
        limits: HttpLimits {
            body_limit: config.body_limit,
            request_timeout: config.request_timeout,
        },
        metrics: Some(metrics),
        tls,
    };
    let running = server::start(listener, store, opts, stop_signal())
        .await
        .context("starting")?;
    if let Some(token) = &running.new_admin_token {
        eprintln!(
            "horao-server: generated admin token (shown once, only its digest is kept): {token}"
        );
    }
    tracing::info!(addr = %running.addr, store = running.state.store.kind(), "serving");
    running.wait().await.context("serving")?;
    Ok(())
}
