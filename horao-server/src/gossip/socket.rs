//! One message type for both ends of a gossip connection: the accepted side is axum's
//! websocket, the dialing side tokio-tungstenite's; both are adapted to [`WsMsg`] so the
//! connection loop is written once.

use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt, future};
use tokio_tungstenite::tungstenite;

/// A websocket message.
#[derive(Clone, Debug)]
pub(crate) enum WsMsg {
    /// A sync message or handshake.
    Binary(Bytes),
    /// A control message (`{"busy": …}`).
    Text(String),
    /// A ping.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// A close, with its code and reason.
    Close(Option<(u16, String)>),
}

/// Why the socket failed, and whether the peer broke the protocol (an oversized or
/// malformed frame) rather than the connection simply dropping.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct WsError(pub(crate) String, pub(crate) bool);

impl From<axum::Error> for WsError {
    fn from(e: axum::Error) -> Self {
        match e.into_inner().downcast::<tungstenite::Error>() {
            Ok(t) => Self::from(*t),
            Err(other) => Self(other.to_string(), false),
        }
    }
}

impl From<tungstenite::Error> for WsError {
    fn from(e: tungstenite::Error) -> Self {
        use tungstenite::error::ProtocolError;
        let hostile = match &e {
            tungstenite::Error::Capacity(_) | tungstenite::Error::Utf8(_) => true,
            tungstenite::Error::Protocol(p) => !matches!(
                p,
                ProtocolError::ResetWithoutClosingHandshake | ProtocolError::SendAfterClosing
            ),
            _ => false,
        };
        Self(e.to_string(), hostile)
    }
}

/// What the connection loop needs of a socket.
pub(crate) trait Socket:
    Stream<Item = Result<WsMsg, WsError>> + Sink<WsMsg, Error = WsError> + Send + Unpin + 'static
{
}

impl<T> Socket for T where
    T: Stream<Item = Result<WsMsg, WsError>>
        + Sink<WsMsg, Error = WsError>
        + Send
        + Unpin
        + 'static
{
}

/// An accepted (axum) websocket as a [`Socket`].
pub(crate) fn from_axum(ws: axum::extract::ws::WebSocket) -> impl Socket {
    use axum::extract::ws::{CloseFrame, Message};
    ws.with(|m: WsMsg| {
        future::ready(Ok::<_, WsError>(match m {
            WsMsg::Binary(b) => Message::Binary(b),
            WsMsg::Text(t) => Message::Text(t.into()),
            WsMsg::Ping(b) => Message::Ping(b),
            WsMsg::Pong(b) => Message::Pong(b),
            WsMsg::Close(c) => Message::Close(c.map(|(code, reason)| CloseFrame {
                code,
                reason: reason.into(),
            })),
        }))
    })
    .map(|r| {
        r.map_err(WsError::from).map(|m| match m {
            Message::Binary(b) => WsMsg::Binary(b),
            Message::Text(t) => WsMsg::Text(t.as_str().to_string()),
            Message::Ping(b) => WsMsg::Ping(b),
            Message::Pong(b) => WsMsg::Pong(b),
            Message::Close(c) => WsMsg::Close(c.map(|f| (f.code, f.reason.as_str().to_string()))),
        })
    })
}

/// A dialed (tokio-tungstenite) websocket as a [`Socket`].
pub(crate) fn from_tungstenite<S>(ws: tokio_tungstenite::WebSocketStream<S>) -> impl Socket
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    use tungstenite::Message;
    use tungstenite::protocol::CloseFrame;
    ws.with(|m: WsMsg| {
        future::ready(Ok::<_, WsError>(match m {
            WsMsg::Binary(b) => Message::Binary(b),
            WsMsg::Text(t) => Message::Text(t.into()),
            WsMsg::Ping(b) => Message::Ping(b),
            WsMsg::Pong(b) => Message::Pong(b),
            WsMsg::Close(c) => Message::Close(c.map(|(code, reason)| CloseFrame {
                code: code.into(),
                reason: reason.into(),
            })),
        }))
    })
    .filter_map(|r| {
        future::ready(match r {
            Err(e) => Some(Err(WsError::from(e))),
            Ok(Message::Binary(b)) => Some(Ok(WsMsg::Binary(b))),
            Ok(Message::Text(t)) => Some(Ok(WsMsg::Text(t.as_str().to_string()))),
            Ok(Message::Ping(b)) => Some(Ok(WsMsg::Ping(b))),
            Ok(Message::Pong(b)) => Some(Ok(WsMsg::Pong(b))),
            Ok(Message::Close(c)) => {
                Some(Ok(WsMsg::Close(c.map(|f| {
                    (u16::from(f.code), f.reason.as_str().to_string())
                }))))
            }
            // Raw frames are never returned by a read.
            Ok(Message::Frame(_)) => None,
        })
    })
}
