//! HTTPS: the real binary started with `--tls-cert` and `--tls-key` (a self-signed
//! certificate made here) answers an HTTPS request that trusts that certificate, and refuses
//! plain HTTP on the same port.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends a GET of `path` over `stream` and returns everything the server answered.
async fn get<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    path: &str,
) -> std::io::Result<String> {
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_answers_and_plain_http_does_not() {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_pem, key_pem) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_pem, cert.cert.pem()).unwrap();
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).unwrap();

    let addr: SocketAddr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_horao-server"))
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--tls-cert")
            .arg(&cert_pem)
            .arg("--tls-key")
            .arg(&key_pem)
            .env("HORAO_ADMIN_TOKEN", "tls-test-token")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(cert.cert.der().to_vec()))
        .unwrap();
    let tls = TlsConnector::from(Arc::new(
        ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ));
    let name = ServerName::try_from("localhost").unwrap();

    // HTTPS: wait until the server listens and answers.
    let started = Instant::now();
    let answer = loop {
        let attempt = async {
            let tcp = TcpStream::connect(addr).await?;
            let stream = tls.connect(name.clone(), tcp).await?;
            get(stream, "/api/v1/health/ready").await
        };
        match attempt.await {
            Ok(a) if a.starts_with("HTTP/1.1 200") => break a,
            other => {
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "no HTTPS answer in time: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert!(answer.contains("ready"), "{answer}");

    // Plain HTTP on the same port: no HTTP answer (the TLS layer drops the connection or
    // answers with a TLS alert, never with an HTTP status line).
    let plain = async {
        let tcp = TcpStream::connect(addr).await?;
        get(tcp, "/api/v1/health/ready").await
    };
    if let Ok(Ok(a)) = tokio::time::timeout(Duration::from_secs(10), plain).await {
        assert!(!a.starts_with("HTTP/"), "plain HTTP was answered: {a}");
    }
}
