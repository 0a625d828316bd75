//! The emulator's TLS: its server certificate, and the client certificates of
//! X.509 attestation, verified against the configured CA in the handshake
//! (rustls' WebPKI verifier; a device without a certificate may still connect
//! and present a SAS token).

use std::io;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio_rustls::TlsAcceptor;

use super::DpsConfig;

fn bad(what: &str) -> impl Fn(rustls::pki_types::pem::Error) -> io::Error + '_ {
    move |e| io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {e}"))
}

/// The acceptor for both front ends.
///
/// # Errors
/// PEM that does not load, or a key that does not match the certificate.
pub fn acceptor(config: &DpsConfig) -> io::Result<TlsAcceptor> {
    let chain = CertificateDer::pem_slice_iter(config.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad("server certificate"))?;
    // The key's own error text could quote it; say only what failed.
    let key = PrivateKeyDer::from_pem_slice(config.key_pem.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "server key: no readable PEM private key",
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?;
    let builder = match &config.client_ca_pem {
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                roots
                    .add(cert.map_err(bad("x509 CA"))?)
                    .map_err(io::Error::other)?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(io::Error::other)?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let server = builder.with_single_cert(chain, key).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("server certificate: {e}"),
        )
    })?;
    Ok(TlsAcceptor::from(Arc::new(server)))
}

/// The subject CN of a verified client certificate (the leaf of `chain`).
pub fn client_cn(chain: Option<&[CertificateDer<'_>]>) -> Option<String> {
    let leaf = chain?.first()?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_string)
}
