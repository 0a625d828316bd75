//! Certificates for the TLS broker: a throwaway certificate authority and a server
//! certificate it signs for `127.0.0.1`, `127.0.0.2` (a second hub) and `localhost`,
//! made with `rcgen` (ring backend, ECDSA P-256) when a test starts. Nothing is
//! read from or trusted by the system.
//!
//! ```no_run
//! use tether_tests::broker::Broker;
//! use tether_tests::tls::Certificates;
//!
//! let certs = Certificates::generate()?;
//! let broker = Broker::options().with_tls(&certs).start()?; // TLS on 127.0.0.1:<port>
//! let client = certs.client_config()?;   // a rustls ClientConfig trusting only this CA
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A second `Certificates::generate()` gives an unrelated CA (its own name and key): a
//! client trusting it fails the first broker's handshake. rumqttc 0.25 reports that
//! as `ConnectionError::Tls(TlsError::Io(e))`, `e` of kind `InvalidData` wrapping
//! `rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)`
//! (`tests/lab.rs` checks it for MQTT 3.1.1 and 5).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// A certificate authority and one server certificate it signed, all as PEM.
#[derive(Debug, Clone)]
pub struct Certificates {
    ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
}

/// Where [`Certificates::write_to`] put the PEM files.
#[derive(Debug, Clone)]
pub struct CertificateFiles {
    /// The CA certificate (mosquitto `cafile`).
    pub ca: PathBuf,
    /// The server certificate (mosquitto `certfile`).
    pub cert: PathBuf,
    /// The server's private key (mosquitto `keyfile`).
    pub key: PathBuf,
}

impl Certificates {
    /// A new CA and a server certificate for `127.0.0.1`, `127.0.0.2` and
    /// `localhost` (as subject alternative names: IP addresses and a DNS name).
    ///
    /// # Errors
    /// When `rcgen` cannot make a key or sign a certificate.
    pub fn generate() -> io::Result<Certificates> {
        let ca_key = KeyPair::generate().map_err(cert_error)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
        // A name of its own: a client trusting another generated CA then fails with
        // "unknown issuer", not with a bad signature from a same-named CA.
        static NEXT: AtomicU32 = AtomicU32::new(0);
        ca_params.distinguished_name.push(
            DnType::CommonName,
            format!(
                "tether test CA {}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
        );
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(cert_error)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().map_err(cert_error)?;
        let mut server_params = CertificateParams::new(vec![
            "127.0.0.1".to_string(),
            "127.0.0.2".to_string(),
            "localhost".to_string(),
        ])
        .map_err(cert_error)?;
        server_params
            .distinguished_name
            .push(DnType::CommonName, "tether test broker");
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .map_err(cert_error)?;
        Ok(Certificates {
            ca_pem: ca_cert.pem(),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
        })
    }

    /// The CA certificate, PEM: what a client trusts.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The server certificate, PEM.
    pub fn server_cert_pem(&self) -> &str {
        &self.server_cert_pem
    }

    /// The server's private key, PEM (PKCS#8).
    pub fn server_key_pem(&self) -> &str {
        &self.server_key_pem
    }

    /// Write `ca.pem`, `server.pem` and `server.key` into `dir`.
    ///
    /// # Errors
    /// When a file cannot be written.
    pub fn write_to(&self, dir: &Path) -> io::Result<CertificateFiles> {
        let files = CertificateFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        };
        fs::write(&files.ca, &self.ca_pem)?;
        fs::write(&files.cert, &self.server_cert_pem)?;
        fs::write(&files.key, &self.server_key_pem)?;
        Ok(files)
    }

    /// A rustls client configuration (ring provider, TLS 1.2 and 1.3) that trusts this
    /// CA and nothing else; hand it to rumqttc as `TlsConfiguration::Rustls`. It needs
    /// no process-wide default crypto provider.
    ///
    /// # Errors
    /// When the CA does not parse or rustls refuses the configuration.
    pub fn client_config(&self) -> io::Result<Arc<rustls::ClientConfig>> {
        let ca = CertificateDer::from_pem_slice(self.ca_pem.as_bytes())
            .map_err(|e| io::Error::other(format!("the generated CA does not parse: {e}")))?;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(ca)
            .map_err(|e| io::Error::other(format!("the generated CA is refused: {e}")))?;
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| io::Error::other(format!("rustls configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

fn cert_error(e: rcgen::Error) -> io::Error {
    io::Error::other(format!("certificate generation: {e}"))
}

/// A certificate authority for device certificates (X.509 attestation): it
/// issues client certificates whose subject CN is the registration id.
pub struct DeviceCa {
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for DeviceCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCa").finish_non_exhaustive()
    }
}

/// A self-signed device certificate for `cn`, written as `{stem}.pem` and
/// `{stem}.key` in `dir`, with its SHA-256 thumbprint (what an IoT Hub registry
/// holds for a thumbprint device).
///
/// # Errors
/// When `rcgen` cannot make a key or sign, or a file cannot be written.
pub fn self_signed_device(
    dir: &Path,
    cn: &str,
    stem: &str,
) -> io::Result<(PathBuf, PathBuf, [u8; 32])> {
    use sha2::Digest as _;
    let key = KeyPair::generate().map_err(cert_error)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = params.self_signed(&key).map_err(cert_error)?;
    let (cert_file, key_file) = (
        dir.join(format!("{stem}.pem")),
        dir.join(format!("{stem}.key")),
    );
    fs::write(&cert_file, cert.pem())?;
    fs::write(&key_file, key.serialize_pem())?;
    Ok((cert_file, key_file, sha2::Sha256::digest(cert.der()).into()))
}

impl DeviceCa {
    /// A fresh CA named `name`.
    ///
    /// # Errors
    /// When `rcgen` cannot make a key or sign.
    pub fn generate(name: &str) -> io::Result<DeviceCa> {
        let key = KeyPair::generate().map_err(cert_error)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).map_err(cert_error)?;
        Ok(DeviceCa {
            ca_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA certificate, PEM: what the service trusts.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A client certificate for `cn` and its key, both PEM.
    ///
    /// # Errors
    /// When `rcgen` cannot make a key or sign.
    pub fn issue(&self, cn: &str) -> io::Result<(String, String)> {
        let key = KeyPair::generate().map_err(cert_error)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.issuer).map_err(cert_error)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}
