//! `GET /api/v1/cluster` (admin): this replica, its context, and each peer with its
//! connection, lag and traffic; `POST /api/v1/cluster/peers/{id}/retire` (admin): retire a
//! replica that is gone for good, so the delta log is collected without waiting for it.
//!
//! Replica ids are shown as decimal strings (`id`, as `--replica-id` takes them; a `u64` does
//! not survive JSON numbers in every client) and as the logs name them (`name`, `r` + hex).

use super::{ConnState, PeerStats, save_sync_state};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use horao_crdt::wire::{self, Kind};
use horao_crdt::{CausalContext, ReplicaId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The query of `GET /api/v1/cluster`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterQuery {
    /// Also compute a content hash of the model (SHA-256 of its encoding: costs one
    /// encoding of the whole state).
    #[serde(default)]
    pub hash: bool,
}

/// One peer in the answer.
#[derive(Debug, Serialize)]
struct PeerView {
    id: String,
    name: String,
    /// A member of the persisted membership (holds back collection until it has the dots).
    member: bool,
    /// Dots this replica has that the peer is not known to have.
    lag: u64,
    /// Dots the peer is known to have.
    known_dots: u64,
    #[serde(flatten)]
    stats: PeerStats,
}

fn context_view(ctx: &CausalContext) -> Value {
    let vv: BTreeMap<String, u64> = ctx
        .version_vector()
        .into_iter()
        .map(|(r, max)| (r.0.to_string(), max))
        .collect();
    json!({"dots": ctx.dot_count(), "max": vv})
}

/// `GET /api/v1/cluster`.
pub async fn cluster(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ClusterQuery>,
) -> ApiResult<Json<Value>> {
    caller.require_admin()?;
    let mut stats = state.gossip.stats();
    let (me, incarnation, schema, context, log, full_transfers, peers, hash) = {
        let node = state.node();
        let me = node.id();
        let ctx = node.replica().ctx();
        let mut peers = Vec::new();
        let members: Vec<ReplicaId> = node.peers().collect();
        for id in &members {
            let known = node.known(*id).cloned().unwrap_or_default();
            let mut s = stats.remove(id).unwrap_or_default();
            if s.state == ConnState::Disconnected && state.gossip.is_connected(*id) {
                s.state = ConnState::Connected;
            }
            s.incarnation = node.incarnation_of(*id).unwrap_or(s.incarnation);
            peers.push(PeerView {
                id: id.0.to_string(),
                name: id.to_string(),
                member: true,
                lag: ctx.difference(&known).dot_count(),
                known_dots: known.dot_count(),
                stats: s,
            });
        }
        // Peers seen on a connection but no longer members (retired).
        for (id, s) in stats {
            peers.push(PeerView {
                id: id.0.to_string(),
                name: id.to_string(),
                member: false,
                lag: 0,
                known_dots: 0,
                stats: s,
            });
        }
        let hash = if q.hash {
            let bytes = wire::encode_causal(Kind::State, node.replica().causal())
                .map_err(|e| ApiError::internal(e.to_string()))?;
            let d: [u8; 32] = Sha256::digest(&bytes).into();
            Some(d.iter().map(|b| format!("{b:02x}")).collect::<String>())
        } else {
            None
        };
        let r = node.replica();
        (
            me,
            node.config().incarnation,
            node.config().schema_version,
            context_view(ctx),
            json!({"entries": r.log_len(), "bytes": r.log_bytes()}),
            json!({
                "running": node.full_transfers(),
                "limit": node.config().max_full_transfers,
                "deferred": node.deferred_full_states(),
            }),
            peers,
            hash,
        )
    };
    let dials: Vec<Value> = state
        .gossip
        .dials()
        .into_iter()
        .map(|(url, d)| {
            json!({
                "url": url,
                "state": d.state,
                "last_error": d.last_error,
                "id": d.peer.map(|p| p.0.to_string()),
            })
        })
        .collect();
    let mut out = json!({
        "id": me.0.to_string(),
        "name": me.to_string(),
        "incarnation": incarnation,
        "schema_version": schema,
        "wire_version": wire::VERSION,
        "context": context,
        "log": log,
        "full_state_transfers": full_transfers,
        "peers": peers,
        "dials": dials,
        "refusals": state.gossip.refusals(),
    });
    if let Some(h) = hash {
        out["content_hash"] = Value::String(h);
    }
    Ok(Json(out))
}

/// Parses a replica id: decimal, or `r` + hex as the logs print it.
pub fn parse_replica(s: &str) -> Option<ReplicaId> {
    match s.strip_prefix('r') {
        Some(hex) => u64::from_str_radix(hex, 16).ok().map(ReplicaId),
        None => s.parse().ok().map(ReplicaId),
    }
}

/// `POST /api/v1/cluster/peers/{id}/retire`.
pub async fn retire(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath,
) -> ApiResult<Json<Value>> {
    caller.require_admin()?;
    let peer = parse_replica(&id)
        .ok_or_else(|| ApiError::not_found(format!("{id} is not a replica id")))?;
    let members = {
        let mut node = state.node_mut();
        if peer == node.id() {
            return Err(ApiError::unprocessable("a replica cannot retire itself"));
        }
        if !node.peers().any(|p| p == peer) {
            return Err(ApiError::not_found(format!("{peer} is not a member")));
        }
        let members = node.retire_peer(peer);
        state.gossip.kick(peer);
        members
    };
    save_sync_state(&state).await;
    tracing::info!(%peer, "gossip: peer retired");
    Ok(Json(json!({
        "retired": peer.0.to_string(),
        "members": members.iter().map(|(id, _)| id.0.to_string()).collect::<Vec<_>>(),
    })))
}
