//! Opening the watch feed: the websocket URL from the server's base URL (`ws://` for
//! `http://`, `wss://` for `https://`), asking for this machine's volumes and images only
//! (`kinds=volume,image&machine=`: an admin token would otherwise see every machine's; the
//! server shows a machine the images with a copy on it and those taken from its volumes), a
//! TCP connection with a timeout, TLS through rustls
//! with the HTTP client's roots, the upgrade with the bearer token, and the read timeout that
//! lets the follower check its stop flag while the feed is idle.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::HandshakeError;
use tungstenite::http::{HeaderValue, Uri, header};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Connector, WebSocket};

/// The feed's socket.
pub type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

/// Why the feed could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The server URL cannot carry a websocket.
    #[error("the server URL {0:?} is not http:// or https://")]
    Url(String),
    /// The server answered without upgrading (404: a server without the feed; 401/403: the
    /// token; 503: too many watchers or stopping).
    #[error("the server refused the watch feed ({status}): {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The start of its body.
        body: String,
    },
    /// No connection, TLS failed, or the upgrade broke off.
    #[error("the watch feed is unreachable: {0}")]
    Unreachable(String),
}

/// Where and how to open the feed.
#[derive(Clone)]
pub struct Endpoint {
    base: String,
    machine: String,
    auth: String,
    tls: Arc<rustls::ClientConfig>,
    /// Connect and upgrade within this long.
    pub connect_timeout: Duration,
    /// Reads wait at most this long (the follower checks its stop flag in between).
    pub read_timeout: Duration,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("base", &self.base)
            .finish()
    }
}

/// The feed's URL for the server at `base`: the volumes and images of `machine`, after
/// `since` of the feed `feed` (a server whose feed is another answers with a resync).
pub fn watch_url(
    base: &str,
    machine: &str,
    since: Option<u64>,
    feed: Option<&str>,
) -> Result<String, OpenError> {
    let base = base.trim_end_matches('/');
    let rest = if let Some(r) = base.strip_prefix("http://") {
        format!("ws://{r}")
    } else if let Some(r) = base.strip_prefix("https://") {
        format!("wss://{r}")
    } else {
        return Err(OpenError::Url(base.to_owned()));
    };
    let url = format!(
        "{rest}/api/v1/watch?kinds=volume,image&machine={}",
        crate::server::client::segment(machine)
    );
    Ok(match (since, feed) {
        (Some(c), Some(f)) => format!("{url}&since={c}&feed={}", crate::server::client::segment(f)),
        (Some(c), None) => format!("{url}&since={c}"),
        (None, _) => url,
    })
}

fn addresses(uri: &Uri) -> Result<Vec<SocketAddr>, OpenError> {
    let host = uri
        .host()
        .ok_or_else(|| OpenError::Url(uri.to_string()))?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("wss") {
            443
        } else {
            80
        });
    (host, port)
        .to_socket_addrs()
        .map(Iterator::collect)
        .map_err(|e| OpenError::Unreachable(format!("resolving {host}: {e}")))
}

fn connect(addrs: &[SocketAddr], timeout: Duration) -> Result<TcpStream, OpenError> {
    let mut last = String::from("no address");
    for a in addrs {
        match TcpStream::connect_timeout(a, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("{a}: {e}"),
        }
    }
    Err(OpenError::Unreachable(last))
}

fn set_read_timeout(socket: &Socket, t: Duration) -> std::io::Result<()> {
    match socket.get_ref() {
        MaybeTlsStream::Plain(s) => s.set_read_timeout(Some(t)),
        MaybeTlsStream::Rustls(s) => s.sock.set_read_timeout(Some(t)),
        _ => Ok(()),
    }
}

impl Endpoint {
    /// The feed of machine `machine`'s volumes and images on the server at `base` with `token`,
    /// trusting `tls` for `https://`.
    pub fn new(base: &str, token: &str, machine: &str, tls: Arc<rustls::ClientConfig>) -> Self {
        Self {
            base: base.to_owned(),
            machine: machine.to_owned(),
            auth: format!("Bearer {token}"),
            tls,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_millis(250),
        }
    }

    /// Opens the feed, resuming after `since` of the feed `feed` (`None`: start with a
    /// snapshot).
    pub fn open(&self, since: Option<u64>, feed: Option<&str>) -> Result<Socket, OpenError> {
        let url = watch_url(&self.base, &self.machine, since, feed)?;
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| OpenError::Url(format!("{url}: {e}")))?;
        let auth = HeaderValue::from_str(&self.auth)
            .map_err(|_| OpenError::Url("the token is not a valid header value".into()))?;
        request.headers_mut().insert(header::AUTHORIZATION, auth);
        let tcp = connect(&addresses(request.uri())?, self.connect_timeout)?;
        let io = |e: std::io::Error| OpenError::Unreachable(e.to_string());
        tcp.set_read_timeout(Some(self.connect_timeout))
            .map_err(io)?;
        tcp.set_write_timeout(Some(self.connect_timeout))
            .map_err(io)?;
        tcp.set_nodelay(true).map_err(io)?;
        let connector = Connector::Rustls(Arc::clone(&self.tls));
        let socket = match tungstenite::client_tls_with_config(request, tcp, None, Some(connector))
        {
            Ok((socket, _)) => socket,
            Err(HandshakeError::Failure(tungstenite::Error::Http(response))) => {
                let body = response
                    .body()
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).chars().take(300).collect())
                    .unwrap_or_default();
                return Err(OpenError::Refused {
                    status: response.status().as_u16(),
                    body,
                });
            }
            Err(HandshakeError::Failure(e)) => return Err(OpenError::Unreachable(e.to_string())),
            Err(HandshakeError::Interrupted(_)) => {
                return Err(OpenError::Unreachable("the upgrade timed out".into()));
            }
        };
        set_read_timeout(&socket, self.read_timeout).map_err(io)?;
        Ok(socket)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    #[test]
    fn urls_follow_the_server_scheme() {
        assert_eq!(
            watch_url("http://127.0.0.1:7600/", "m1", None, None).unwrap(),
            "ws://127.0.0.1:7600/api/v1/watch?kinds=volume,image&machine=m1"
        );
        assert_eq!(
            watch_url("https://h.example", "a b", Some(42), Some("f 1")).unwrap(),
            "wss://h.example/api/v1/watch?kinds=volume,image&machine=a%20b&since=42&feed=f%201"
        );
        assert!(matches!(
            watch_url("ftp://h", "m1", None, None),
            Err(OpenError::Url(_))
        ));
    }

    #[test]
    fn a_server_that_answers_without_upgrading_is_refused_with_its_status() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap();
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            let body = r#"{"error":"not_found","detail":"no route"}"#;
            // One write: the head and the body arrive together, as from a real server.
            let answer = format!(
                "HTTP/1.1 404 Not Found\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            s.write_all(answer.as_bytes()).unwrap();
            request
        });
        let tls = crate::server::Trust::default().rustls_config().unwrap();
        let ep = Endpoint::new(&format!("http://{addr}"), "tok", "m1", tls);
        match ep.open(Some(7), None) {
            Err(OpenError::Refused { status, body }) => {
                assert_eq!(status, 404);
                assert!(body.contains("no route"), "{body}");
            }
            other => panic!("{other:?}"),
        }
        let request = server.join().unwrap();
        assert!(
            request.starts_with("GET /api/v1/watch?kinds=volume,image&machine=m1&since=7 "),
            "{request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains("authorization: bearer tok"),
            "{request}"
        );
        // Nobody listening: unreachable.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let gone = closed.local_addr().unwrap();
        drop(closed);
        let tls = crate::server::Trust::default().rustls_config().unwrap();
        let ep = Endpoint::new(&format!("http://{gone}"), "tok", "m1", tls);
        assert!(matches!(
            ep.open(None, None),
            Err(OpenError::Unreachable(_))
        ));
    }
}
