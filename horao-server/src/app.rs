//! The application: the API's router with its middleware — a request id (`x-request-id`,
//! kept when the client sends one) on a tracing span per request, metrics by route and
//! status, a request timeout and a body limit on every route — and `/metrics`.

use crate::error::ApiError;
use crate::routes;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use std::time::{Duration, Instant};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Limits of the HTTP layer.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    /// Largest request body in bytes.
    pub body_limit: usize,
    /// Longest time a request may take.
    pub request_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            body_limit: 1 << 20,
            request_timeout: Duration::from_secs(30),
        }
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

async fn timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took longer than the server's limit",
        )
        .into_response(),
    }
}

async fn record(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let t = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("horao_http_requests_total", &labels).increment(1);
    metrics::histogram!("horao_http_request_seconds", &labels).record(t.elapsed().as_secs_f64());
    resp
}

async fn metrics_page(
    State((state, handle)): State<(AppState, Option<PrometheusHandle>)>,
) -> Response {
    let (sizes, journal) = {
        let m = state.node();
        let m = m.replica().state();
        (
            [
                ("datacenters", m.physical.datacenters.len()),
                ("devices", m.physical.devices.len()),
                ("machines", m.storage.machines().count()),
                ("volumes", m.storage.volumes().count()),
            ],
            state.store.stats(),
        )
    };
    for (kind, n) in sizes {
        metrics::gauge!("horao_model_entities", "kind" => kind).set(n as f64);
    }
    metrics::gauge!("horao_journal_entries").set(journal.entries as f64);
    metrics::gauge!("horao_journal_bytes").set(journal.bytes as f64);
    match handle {
        Some(h) => h.render().into_response(),
        None => ApiError::unavailable("no metrics recorder is installed").into_response(),
    }
}

/// The whole application for `state`.
pub fn app(state: AppState, limits: &HttpLimits, metrics: Option<PrometheusHandle>) -> Router {
    let metrics_route = Router::new()
        .route("/metrics", get(metrics_page))
        .with_state((state.clone(), metrics));
    routes::router()
        .with_state(state)
        .merge(metrics_route)
        .layer(DefaultBodyLimit::max(limits.body_limit))
        .layer(middleware::from_fn_with_state(limits.request_timeout, timeout))
        .layer(middleware::from_fn(record))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
}
