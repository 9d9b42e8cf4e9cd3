//! The gossip's limits, set explicitly (the websocket library's defaults are tens of MiB or
//! unbounded), and the constant-time check of the cluster secret.

use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;

/// Every bound of the gossip in one place.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest sync message sent or read whole (larger ones travel in chunks): the
    /// websocket's message and frame limits are this plus [`ENVELOPE_SLACK`].
    pub max_message: usize,
    /// Bytes the websocket buffers before writing to the socket.
    pub write_buffer: usize,
    /// Most bytes the websocket may hold unsent (beyond it a send fails and the peer is
    /// dropped).
    pub max_write_buffer: usize,
    /// Bytes of received data messages waiting to be committed, over all peers: past it a
    /// peer is told "busy" and its message is dropped (anti-entropy sends it again).
    pub max_incoming_bytes: usize,
    /// Bytes queued for one peer (the sync node's outbox bound): past it the peer's queued
    /// deltas are dropped and it gets a digest instead.
    pub max_outbound_bytes: usize,
    /// Largest chunked transfer (full state) accepted from a peer.
    pub max_transfer_bytes: usize,
    /// Full states being committed at once, over all peers.
    pub max_full_states: usize,
    /// Full states being sent (as chunked transfers) at once, over all peers: a lagging
    /// peer past it waits for its next digest.
    pub max_full_sends: usize,
    /// How long the handshake (connect, upgrade, hellos) may take.
    pub handshake_timeout: Duration,
}

/// Room for the envelope and the message's tag beside a message's payload.
pub const ENVELOPE_SLACK: usize = 4096;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message: horao_crdt::sync::DEFAULT_MAX_MESSAGE_BYTES,
            write_buffer: 128 << 10,
            max_write_buffer: 4 << 20,
            max_incoming_bytes: 64 << 20,
            max_outbound_bytes: horao_crdt::sync::DEFAULT_MAX_QUEUED_BYTES,
            max_transfer_bytes: horao_crdt::sync::DEFAULT_MAX_TRANSFER_BYTES,
            max_full_states: 2,
            max_full_sends: horao_crdt::sync::DEFAULT_MAX_FULL_TRANSFERS,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// The largest websocket message or frame accepted.
    pub fn max_ws_message(&self) -> usize {
        self.max_message.saturating_add(ENVELOPE_SLACK)
    }

    /// The client's websocket configuration.
    pub fn client_config(&self) -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
        tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .write_buffer_size(self.write_buffer)
            .max_write_buffer_size(self.max_write_buffer.max(self.max_ws_message() * 2))
            .max_message_size(Some(self.max_ws_message()))
            .max_frame_size(Some(self.max_ws_message()))
    }

    /// Applies the same limits to an accepted upgrade.
    pub fn server_upgrade(
        &self,
        ws: axum::extract::ws::WebSocketUpgrade,
    ) -> axum::extract::ws::WebSocketUpgrade {
        ws.write_buffer_size(self.write_buffer)
            .max_write_buffer_size(self.max_write_buffer.max(self.max_ws_message() * 2))
            .max_message_size(self.max_ws_message())
            .max_frame_size(self.max_ws_message())
    }
}

/// True when `given` is `secret`, compared in constant time (over digests, so the lengths
/// leak nothing either).
pub fn secret_matches(given: &str, secret: &str) -> bool {
    let a: [u8; 32] = Sha256::digest(given.as_bytes()).into();
    let b: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    bool::from(a.ct_eq(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets() {
        assert!(secret_matches("s3cret", "s3cret"));
        assert!(!secret_matches("s3cre", "s3cret"));
        assert!(!secret_matches("", "s3cret"));
    }
}
