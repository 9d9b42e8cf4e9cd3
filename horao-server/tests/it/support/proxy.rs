//! A TCP proxy in front of a server, for gossip tests: it can cut its link (drop every
//! connection, refuse new ones), heal it, and follow the server to a new address.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};

/// A TCP proxy to a server whose address changes when it restarts; its link can be cut
/// (every connection dropped, new ones refused) and healed.
pub struct Link {
    /// Where it listens.
    pub addr: SocketAddr,
    to: Arc<Mutex<SocketAddr>>,
    up: Arc<AtomicBool>,
    cut: Arc<tokio::sync::Notify>,
}

impl Link {
    /// A link to `to`, up.
    pub async fn start(to: SocketAddr) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let to = Arc::new(Mutex::new(to));
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(tokio::sync::Notify::new());
        let (t, u, k) = (to.clone(), up.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !u.load(Ordering::SeqCst) {
                    continue;
                }
                let target = *t.lock().unwrap();
                let k = k.clone();
                tokio::spawn(async move {
                    let Ok(mut out) = TcpStream::connect(target).await else {
                        return;
                    };
                    let cut = k.notified();
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut out) => {}
                        _ = cut => {}
                    }
                });
            }
        });
        Link { addr, to, up, cut }
    }

    /// The gossip URL through it.
    pub fn url(&self) -> String {
        format!("ws://{}/api/v1/gossip", self.addr)
    }

    /// Heals (`true`) or cuts (`false`) it.
    pub fn set(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            self.cut.notify_waiters();
        }
    }

    /// Leads it to `to` from the next connection on (the server restarted elsewhere).
    pub fn retarget(&self, to: SocketAddr) {
        *self.to.lock().unwrap() = to;
    }

    /// Whether it is up.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }
}
