//! How peers prove themselves and whom a dialer trusts: a peer token (minted with
//! `{"role": "peer"}`) opens the gossip endpoint instead of the cluster secret and nothing
//! else, a wrong one is refused; a `wss://` peer is dialed through TLS, trusted by the CA
//! bundle the dialer was given, and refused when its certificate is not trusted.

use crate::support::{TestServer, stores, until};
use horao_server::gossip::GossipConfig;
use serde_json::json;
use std::time::Duration;

fn quick(peers: Vec<String>, secret: Option<&str>, token: Option<&str>) -> GossipConfig {
    GossipConfig {
        peers,
        secret: secret.map(String::from),
        peer_token: token.map(String::from),
        interval: Duration::from_millis(200),
        ping_interval: Duration::from_millis(400),
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(200),
        ..GossipConfig::default()
    }
}

fn same_context(a: &TestServer, b: &TestServer) -> bool {
    let ca = a.running.state.node().replica().ctx().clone();
    !ca.is_empty() && ca == *b.running.state.node().replica().ctx()
}

/// The last error of the dialer of `url` on `s`.
fn dial_error(s: &TestServer, url: &str) -> String {
    s.running
        .state
        .gossip
        .dials()
        .get(url)
        .and_then(|d| d.last_error.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_token_opens_gossip_and_nothing_else() {
    let kind = &stores()[0];
    let (ha, hb, hc) = (kind.home(), kind.home(), kind.home());
    // A has no cluster secret: only peer tokens open its gossip endpoint.
    let a = TestServer::start_config(ha.open(), |c| c.gossip = quick(vec![], None, None)).await;
    let r = a
        .admin
        .post("/api/v1/tokens", &json!({"role": "peer"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.body["token"].as_str().unwrap().to_string();
    // Nothing but gossip: the REST API refuses the token.
    let r = a.client(Some(&token)).get("/api/v1/datacenters").await;
    assert_eq!(r.status, 403, "{}", r.body);
    let url = format!("ws://{}/api/v1/gossip", a.running.addr);
    let b = TestServer::start_config(hb.open(), |c| {
        c.gossip = quick(vec![url.clone()], None, Some(&token));
    })
    .await;
    let r = a
        .admin
        .post("/api/v1/datacenters", &json!({"name": "x"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    until("B has A's write", async || same_context(&a, &b)).await;
    let r = b
        .admin
        .post("/api/v1/datacenters", &json!({"name": "y"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    until("A has B's write", async || same_context(&a, &b)).await;
    // A wrong token is refused at the upgrade, and the dialer says so.
    let c = TestServer::start_config(hc.open(), |c| {
        c.gossip = quick(vec![url.clone()], None, Some("not-a-peer-token"));
    })
    .await;
    until("C's dial is refused", async || {
        dial_error(&c, &url).contains("401")
    })
    .await;
    assert!(c.running.state.node().replica().ctx().is_empty());
    c.stop().await;
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wss_peer_is_dialed_through_tls_and_trusted_by_the_given_ca() {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    const SECRET: &str = "wss-cluster-secret";
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
        cert.cert.pem().into_bytes(),
        cert.signing_key.serialize_pem().into_bytes(),
    )
    .await
    .unwrap();
    let kind = &stores()[0];
    let (ha, hb, hc) = (kind.home(), kind.home(), kind.home());
    let b = TestServer::start_tls(hb.open(), tls, |c| {
        c.gossip = quick(vec![], Some(SECRET), None);
    })
    .await;
    let url = format!("wss://localhost:{}/api/v1/gossip", b.running.addr.port());
    let ca = horao_server::gossip::tls::client_config(Some(cert.cert.pem().as_bytes())).unwrap();
    let a = TestServer::start_config(ha.open(), |c| {
        c.gossip = GossipConfig {
            tls: Some(ca),
            ..quick(vec![url.clone()], Some(SECRET), None)
        };
    })
    .await;
    let r = a
        .admin
        .post("/api/v1/datacenters", &json!({"name": "over tls"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    until("B has A's write over wss", async || same_context(&a, &b)).await;
    // Without the CA (Mozilla's roots only), the self-signed certificate is refused.
    let c = TestServer::start_config(hc.open(), |c| {
        c.gossip = quick(vec![url.clone()], Some(SECRET), None);
    })
    .await;
    until("C refuses B's certificate", async || {
        dial_error(&c, &url).contains("certificate")
    })
    .await;
    assert!(c.running.state.node().replica().ctx().is_empty());
    c.stop().await;
    a.stop().await;
    b.stop().await;
}
