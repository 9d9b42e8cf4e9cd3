//! Dialing one configured peer: connect, run the connection, and redial with capped,
//! jittered backoff. Once a handshake has told which replica the URL reaches, the dialer
//! does not redial while that replica is connected anyway (it dialed this server, and the
//! pair keeps one connection).

use super::ConnState;
use super::backoff::Backoff;
use super::connection::{self, Outcome, Side};
use super::socket;
use crate::state::Shared;
use horao_crdt::ReplicaId;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// A session that lasted this long resets the backoff.
const STABLE: Duration = Duration::from_secs(2);

/// Dials `url` until the server stops.
pub(crate) async fn run(weak: Weak<Shared>, url: String) {
    let Some(state) = weak.upgrade() else { return };
    let gossip = state.gossip.clone();
    drop(state);
    let mut backoff = Backoff::new(gossip.config.backoff_base, gossip.config.backoff_cap);
    let mut stop = gossip.subscribe_stop();
    let mut conns = gossip.subscribe_conns();
    let mut known: Option<ReplicaId> = None;
    let tls = match gossip.config.tls.clone() {
        Some(tls) => tls,
        None => match super::tls::client_config(None) {
            Ok(tls) => tls,
            Err(e) => {
                tracing::error!(%url, error = %e, "gossip: no TLS configuration; not dialing");
                return;
            }
        },
    };
    loop {
        if gossip.stopping() {
            return;
        }
        if let Some(peer) = known
            && gossip.is_connected(peer)
        {
            gossip.dial_state(&url, ConnState::Connected, None, Some(peer));
            tokio::select! {
                _ = conns.changed() => continue,
                _ = stop.changed() => return,
            }
        }
        gossip.dial_state(&url, ConnState::Connecting, None, None);
        let Some(state) = weak.upgrade() else { return };
        let outcome = dial(&state, &url, &tls).await;
        drop(state);
        let error = match outcome {
            Ok(Outcome::Session {
                peer,
                lasted,
                reason,
            }) => {
                known = Some(peer);
                if lasted >= STABLE {
                    backoff.reset();
                }
                reason
            }
            Ok(Outcome::Duplicate(peer)) => {
                // The pair's connection is the one the peer dialed: wait for it to end.
                known = Some(peer);
                backoff.reset();
                "duplicate: the peer's own connection is kept".to_string()
            }
            Ok(Outcome::Refused(e)) | Err(e) => e,
        };
        tracing::debug!(%url, error = %error, "gossip: redialing later");
        gossip.dial_state(&url, ConnState::Connecting, Some(error), known);
        let delay = backoff.next_delay();
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One attempt: connect within the handshake timeout, then run the connection.
/// `wss://` goes through rustls trusting `tls`'s roots (the connector is not used for
/// `ws://`).
async fn dial(
    state: &crate::state::AppState,
    url: &str,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<Outcome, String> {
    let gossip = &state.gossip;
    let limits = &gossip.config.limits;
    let mut req = url
        .into_client_request()
        .map_err(|e| format!("bad peer URL {url}: {e}"))?;
    let credential = gossip
        .config
        .peer_token
        .as_deref()
        .or(gossip.config.secret.as_deref())
        .unwrap_or_default();
    let auth = HeaderValue::from_str(&format!("Bearer {credential}"))
        .map_err(|_| "the cluster secret or peer token is not a valid header value".to_string())?;
    req.headers_mut().insert("authorization", auth);
    let connect = tokio_tungstenite::connect_async_tls_with_config(
        req,
        Some(limits.client_config()),
        true,
        Some(tokio_tungstenite::Connector::Rustls(tls.clone())),
    );
    let ws = match tokio::time::timeout(limits.handshake_timeout, connect).await {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(e)) => return Err(format!("connecting to {url}: {e}")),
        Err(_) => return Err(format!("connecting to {url}: timed out")),
    };
    Ok(connection::run(
        state.clone(),
        socket::from_tungstenite(ws),
        Side::Dialed {
            url: url.to_string(),
        },
    )
    .await)
}
