//! `GET /api/v1/watch?kinds=volume,machine&machine=NAME&since=CURSOR`: checks the token (401)
//! and the query (422) before the upgrade, builds the caller's filter (a tenant sees its own
//! objects, an agent its machine and what is placed on it), takes a watcher slot (503 at
//! the limit) and hands the websocket to [`super::socket::run`]. A cursor given with the name
//! of another feed (`feed=`) starts with a resync.

use super::render::Filter;
use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::response::{IntoResponse, Response};
use horao_model::ids::MachineId;
use horao_model::model::EntityKind;
use serde::Deserialize;
use std::str::FromStr;

/// Largest message a watcher may send (it has nothing to say but close).
const MAX_CLIENT_MESSAGE: usize = 64 << 10;

/// The query.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchQuery {
    /// Kinds to watch, comma separated (`volume,machine`; default: all).
    pub kinds: Option<String>,
    /// Only this machine and the volumes and images placed on it.
    pub machine: Option<String>,
    /// Resume after this cursor (default: start with a snapshot).
    pub since: Option<String>,
    /// The feed the cursor belongs to (from the snapshot's end): a cursor of another feed
    /// gets a resync instead of changes it does not count.
    pub feed: Option<String>,
}

/// The filter and start of a watch, or why the query is refused.
pub fn parse(caller: &Caller, q: &WatchQuery) -> Result<(Filter, Option<u64>), ApiError> {
    let since = q
        .since
        .as_deref()
        .map(|s| {
            s.parse::<u64>().map_err(|_| {
                ApiError::unprocessable(format!("since: {s:?} is not a cursor (a whole number)"))
            })
        })
        .transpose()?;
    let kinds = q
        .kinds
        .as_deref()
        .map(|ks| {
            ks.split(',')
                .map(|k| {
                    EntityKind::parse(k.trim()).ok_or_else(|| {
                        ApiError::unprocessable(format!("kinds: {k:?} is not a kind"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let machine = q
        .machine
        .as_deref()
        .map(|m| {
            MachineId::from_str(m).map_err(|e| ApiError::unprocessable(format!("machine: {e}")))
        })
        .transpose()?;
    let (tenant, machine) = match &caller.0 {
        Role::Admin | Role::Peer => (None, machine),
        Role::Tenant { tenant } => (Some(tenant.clone()), machine),
        Role::Agent { machine: own } => {
            if machine.as_ref().is_some_and(|m| m != own) {
                return Err(ApiError::forbidden(
                    "an agent token watches only its own machine",
                ));
            }
            (None, Some(own.clone()))
        }
    };
    Ok((
        Filter {
            kinds,
            tenant,
            machine,
        },
        since,
    ))
}

/// The handler.
pub async fn watch(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<WatchQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let (filter, since) = match parse(&caller, &q) {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => return ApiError::upgrade_required(&e).into_response(),
    };
    if state.gossip.stopping() || !state.is_ready() {
        return ApiError::unavailable("the server is stopping").into_response();
    }
    let Some(slot) = state.watch.admit() else {
        return ApiError::unavailable("too many watchers; try again later").into_response();
    };
    ws.max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_failed_upgrade(|e| tracing::warn!(error = %e, "watch: upgrade failed"))
        .on_upgrade(move |socket| {
            let foreign = q.feed.is_some_and(|f| f != state.watch.feed());
            super::socket::run(socket, state, filter, since, foreign, slot)
        })
}
