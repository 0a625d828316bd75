//! The hub's TLS side: its server certificate, and client certificates asked for
//! but judged later. IoT Hub decides per identity (SAS or X.509, thumbprint or CA)
//! once it reads the CONNECT, so the handshake only checks that a client which
//! sends a certificate holds its key (the CertificateVerify signature, checked
//! with ring's algorithms); [`super::connect::check`] then judges the certificate
//! against the identity's registration.

use std::io;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// A rustls server configuration for `cert_pem` (the chain, leaf first) and
/// `key_pem`, asking for an optional client certificate.
///
/// # Errors
/// When the PEM does not parse or rustls refuses the key.
pub fn server_config(cert_pem: &str, key_pem: &str) -> io::Result<Arc<rustls::ServerConfig>> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| io::Error::other(format!("server certificate PEM: {e}")))?;
    if chain.is_empty() {
        return Err(io::Error::other("server certificate PEM: no certificate"));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| io::Error::other(format!("server key PEM: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(DeferredClientAuth {
        algorithms: provider.signature_verification_algorithms,
    });
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| io::Error::other(format!("rustls: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| io::Error::other(format!("server certificate or key refused: {e}")))?;
    Ok(Arc::new(config))
}

/// A self-signed certificate for `host_name` (and `localhost`, `127.0.0.1`):
/// `(certificate PEM, key PEM)`. Clients trust the certificate itself.
///
/// # Errors
/// When rcgen cannot make the key or certificate.
pub fn self_signed(host_name: &str) -> io::Result<(String, String)> {
    let names = vec![
        host_name.to_string(),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
    ];
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|e| io::Error::other(format!("certificate generation: {e}")))?;
    Ok((certified.cert.pem(), certified.signing_key.serialize_pem()))
}

/// Accepts any client certificate the client proves it holds the key of; see the
/// module documentation.
#[derive(Debug)]
struct DeferredClientAuth {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for DeferredClientAuth {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
