//! Which certificates the agent's client trusts when the server URL is `https://`: Mozilla's
//! roots (the default), or the CA bundle an operator names with `--ca-cert`, for a server
//! whose certificate a private CA (or the server itself) signed.

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, parse_pem};

/// The roots a client trusts.
#[derive(Clone, Debug, Default)]
pub enum Trust {
    /// Mozilla's root certificates (webpki-roots).
    #[default]
    PublicRoots,
    /// Only these certificates (a CA bundle).
    Bundle(Vec<Certificate<'static>>),
}

/// Why a CA bundle was refused.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The bundle is not PEM, or a certificate in it is damaged.
    #[error("CA bundle {source_name}: {detail}")]
    Malformed {
        /// Where the bundle came from (a path).
        source_name: String,
        /// What the parser said.
        detail: String,
    },
    /// The bundle holds no certificate (only keys, or nothing).
    #[error(
        "CA bundle {source_name} holds no certificate (expected PEM `BEGIN CERTIFICATE` blocks)"
    )]
    Empty {
        /// Where the bundle came from (a path).
        source_name: String,
    },
}

impl Trust {
    /// The certificates of the PEM bundle `pem` read from `source_name` (other PEM items,
    /// such as keys, are skipped).
    pub fn from_pem(source_name: &str, pem: &[u8]) -> Result<Self, TrustError> {
        let mut certs = Vec::new();
        for item in parse_pem(pem) {
            match item {
                Ok(PemItem::Certificate(c)) => certs.push(c),
                Ok(_) => {}
                Err(e) => {
                    return Err(TrustError::Malformed {
                        source_name: source_name.to_owned(),
                        detail: e.to_string(),
                    });
                }
            }
        }
        if certs.is_empty() {
            return Err(TrustError::Empty {
                source_name: source_name.to_owned(),
            });
        }
        Ok(Self::Bundle(certs))
    }

    /// The client's TLS settings.
    pub fn tls_config(&self) -> TlsConfig {
        let roots = match self {
            Trust::PublicRoots => RootCerts::WebPki,
            Trust::Bundle(certs) => RootCerts::new_with_certs(certs),
        };
        TlsConfig::builder().root_certs(roots).build()
    }
}

impl Trust {
    /// The same roots as a rustls client configuration (ring, TLS 1.2 and 1.3), for the
    /// watch feed's websocket. Certificates rustls cannot parse are skipped (the handshake
    /// then fails with an unknown issuer, as the HTTP client's does).
    pub fn rustls_config(&self) -> Result<std::sync::Arc<rustls::ClientConfig>, TrustError> {
        let mut roots = rustls::RootCertStore::empty();
        match self {
            Trust::PublicRoots => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Trust::Bundle(certs) => {
                let ders = certs
                    .iter()
                    .map(|c| rustls::pki_types::CertificateDer::from(c.der().to_vec()));
                roots.add_parsable_certificates(ders);
            }
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TrustError::Malformed {
                source_name: "the TLS provider".into(),
                detail: e.to_string(),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(std::sync::Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    #[test]
    fn bundles_without_certificates_or_with_damaged_ones_are_refused() {
        let key_only = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        match Trust::from_pem("k.pem", key_only) {
            Err(TrustError::Empty { source_name }) => assert_eq!(source_name, "k.pem"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Trust::from_pem("e.pem", b""),
            Err(TrustError::Empty { .. })
        ));
        let damaged = b"-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n";
        let err = Trust::from_pem("d.pem", damaged).unwrap_err();
        assert!(matches!(err, TrustError::Malformed { .. }), "{err}");
        assert!(err.to_string().contains("d.pem"), "{err}");
    }

    #[test]
    fn certificates_are_kept_and_keys_skipped() {
        // Any base64 body parses as a certificate item; validity is checked at handshake.
        let pem = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n\
-----BEGIN CERTIFICATE-----\nAAECAw==\n-----END CERTIFICATE-----\n\
-----BEGIN CERTIFICATE-----\nBAUG\n-----END CERTIFICATE-----\n";
        match Trust::from_pem("b.pem", pem).unwrap() {
            Trust::Bundle(certs) => {
                let ders: Vec<&[u8]> = certs.iter().map(|c| c.der()).collect();
                assert_eq!(ders, [&[0u8, 1, 2, 3][..], &[4, 5, 6][..]]);
            }
            Trust::PublicRoots => panic!("a bundle was given"),
        }
    }
}
