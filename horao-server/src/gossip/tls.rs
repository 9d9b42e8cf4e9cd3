//! Which certificates the gossip dialer trusts for `wss://` peers: Mozilla's roots
//! (webpki-roots) by default, or only the CA bundle an operator names with `--peer-ca-cert`
//! (a private CA, or a peer's self-signed certificate).

use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::Arc;

/// A rustls client configuration (ring, TLS 1.2 and 1.3) trusting the certificates of the PEM
/// bundle `ca_pem`, or Mozilla's roots without one. Errors when the bundle holds no
/// certificate or one rustls cannot use.
pub fn client_config(ca_pem: Option<&[u8]>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("reading the CA bundle: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("a certificate of the CA bundle is unusable: {e}"))?;
            }
            if roots.is_empty() {
                return Err("the CA bundle holds no certificate".into());
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        assert!(client_config(None).is_ok());
        let e = client_config(Some(b"not pem at all")).unwrap_err();
        assert!(e.contains("no certificate"), "{e}");
        let broken = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(client_config(Some(broken)).is_err());
    }
}
