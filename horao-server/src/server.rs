//! Running the daemon: load the store, serve HTTP (or HTTPS) until asked to stop, then stop
//! accepting, finish the requests in flight, flush and close the store — within a deadline.

use crate::app::{HttpLimits, app};
use crate::state::{self, AppState, StartError, StateConfig};
use crate::store::Store;
use axum::serve::ListenerExt;
use metrics_exporter_prometheus::PrometheusHandle;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// How long a stop may take before the remaining connections are dropped.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Start-up failed.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Listening or serving failed.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
    /// Closing the store failed.
    #[error("closing the store: {0}")]
    Close(#[from] crate::store::StoreError),
}

/// Everything a server needs besides its listener.
#[derive(Clone)]
pub struct Options {
    /// The state's settings.
    pub state: StateConfig,
    /// The HTTP limits.
    pub limits: HttpLimits,
    /// The Prometheus recorder's handle (`None`: `/metrics` answers 503).
    pub metrics: Option<PrometheusHandle>,
    /// Serve HTTPS with this configuration.
    pub tls: Option<axum_server::tls_rustls::RustlsConfig>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("limits", &self.limits)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// A server started in this process.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its state.
    pub state: AppState,
    /// A generated admin token, when the store had none (print it once).
    pub new_admin_token: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl Running {
    /// Asks the server to stop and waits until it has (store closed).
    pub async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.wait().await
    }

    /// Waits until the server stops on its own (after `shutdown` resolved).
    pub async fn wait(self) -> Result<(), ServeError> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(ServeError::Io(std::io::Error::other(e.to_string()))),
        }
    }
}

/// Loads `store` and serves on `listener` until `shutdown` resolves or [`Running::stop`].
pub async fn start(
    listener: TcpListener,
    store: Arc<dyn Store>,
    opts: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running, ServeError> {
    let addr = listener.local_addr()?;
    for w in store.warnings() {
        tracing::warn!(store = store.kind(), "{w}");
    }
    let started = state::start(store, opts.state.clone()).await?;
    let state = started.state.clone();
    let router = app(state.clone(), &opts.limits, opts.metrics.clone());
    crate::gossip::start(&state);
    crate::watch::events::start(&state);
    crate::follow::start(&state);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (drain_tx, drain_rx) = oneshot::channel::<()>();
    let signal = {
        let state = state.clone();
        async move {
            tokio::select! {
                _ = shutdown => {}
                _ = stop_rx => {}
            }
            tracing::info!("stopping: no new connections, finishing requests in flight");
            state.set_unready();
            state.gossip.shutdown();
            let _ = drain_tx.send(());
        }
    };
    let served = state.clone();
    let writer = started.writer;
    let task = tokio::spawn(async move {
        let serving = async {
            match opts.tls {
                None => {
                    // Small answers and gossip frames go out at once: with Nagle's algorithm
                    // a frame behind unacknowledged data waits for the peer's delayed ACK
                    // (40 ms on Linux).
                    let listener = listener.tap_io(|tcp| {
                        if let Err(e) = tcp.set_nodelay(true) {
                            tracing::debug!(error = %e, "TCP_NODELAY on an accepted connection");
                        }
                    });
                    axum::serve(
                        listener,
                        router.into_make_service_with_connect_info::<SocketAddr>(),
                    )
                    .with_graceful_shutdown(signal)
                    .await
                }
                Some(tls) => {
                    let handle = axum_server::Handle::new();
                    let h = handle.clone();
                    tokio::spawn(async move {
                        signal.await;
                        h.graceful_shutdown(Some(SHUTDOWN_DEADLINE));
                    });
                    let std = listener.into_std()?;
                    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls)
                        .acceptor(axum_server::accept::NoDelayAcceptor::new());
                    axum_server::from_tcp(std)?
                        .acceptor(acceptor)
                        .handle(handle)
                        .serve(router.into_make_service_with_connect_info::<SocketAddr>())
                        .await
                }
            }
        };
        tokio::pin!(serving);
        // Serve until the stop, then give the requests in flight the deadline.
        let result = tokio::select! {
            r = &mut serving => r,
            _ = drain_rx => match tokio::time::timeout(SHUTDOWN_DEADLINE, &mut serving).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::warn!("requests still in flight at the deadline were dropped");
                    Ok(())
                }
            },
        };
        result?;
        served.close().await?;
        drop(writer);
        tracing::info!("stopped");
        Ok(())
    });
    Ok(Running {
        addr,
        state,
        new_admin_token: started.new_admin_token,
        stop: Some(stop_tx),
        task,
    })
}
