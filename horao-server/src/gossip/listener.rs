//! `GET /api/v1/gossip`: a peer's websocket, authenticated before the upgrade with the
//! cluster secret (`Authorization: Bearer SECRET`, compared in constant time) or a peer token
//! (`POST /api/v1/tokens {"role": "peer"}`), with the gossip's limits on the websocket.

use super::connection::{self, Outcome, Side};
use super::limits::secret_matches;
use super::socket;
use crate::auth::Role;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The endpoint takes no query parameters (any is refused with 422, as elsewhere).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

/// The handler.
pub async fn gossip(
    State(state): State<AppState>,
    ApiQuery(NoQuery {}): ApiQuery<NoQuery>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let secret = state.gossip.config.secret.as_deref();
    let allowed = match given {
        None => false,
        Some(g) if secret.is_some_and(|s| secret_matches(g, s)) => true,
        Some(g) => crate::auth::role_of(&state, g).await == Some(Role::Peer),
    };
    if !allowed {
        tracing::warn!(
            "gossip: a connection without the cluster secret or a peer token was refused"
        );
        metrics::counter!("horao_gossip_refused_total", "reason" => "secret").increment(1);
        return ApiError::unauthorized(
            "send the cluster secret or a peer token as Authorization: Bearer TOKEN",
        )
        .into_response();
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => return ApiError::upgrade_required(&e).into_response(),
    };
    if state.gossip.stopping() || !state.is_ready() {
        return ApiError::unavailable("the server is stopping").into_response();
    }
    state
        .gossip
        .config
        .limits
        .server_upgrade(ws)
        .on_failed_upgrade(|e| tracing::warn!(error = %e, "gossip: upgrade failed"))
        .on_upgrade(move |socket| async move {
            match connection::run(state, socket::from_axum(socket), Side::Accepted).await {
                Outcome::Refused(e) => tracing::debug!("gossip: incoming connection refused: {e}"),
                Outcome::Duplicate(_) | Outcome::Session { .. } => {}
            }
        })
}
