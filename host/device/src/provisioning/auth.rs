//! What the provisioning client presents: the TLS client configuration (roots,
//! and the X.509 chain for certificate attestation) and the registration SAS
//! tokens, minted by the component.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::settings::{Attestation, ProvisioningSettings, Secret};
use tether_host::{Instance, Runtime};

/// The TLS client configuration for the DPS endpoint: the `ca-file`'s CAs, or
/// the system's roots; plus the client certificate for X.509 attestation.
///
/// # Errors
/// A file that does not load, named by its field.
pub fn client_config(settings: &ProvisioningSettings) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    match &settings.ca_file {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| {
                anyhow::anyhow!("provisioning.ca-file: cannot read {}: {e}", path.display())
            })? {
                let cert = cert.map_err(|e| {
                    anyhow::anyhow!("provisioning.ca-file: {}: {e}", path.display())
                })?;
                roots.add(cert).map_err(|e| {
                    anyhow::anyhow!("provisioning.ca-file: {}: {e}", path.display())
                })?;
            }
            if roots.is_empty() {
                anyhow::bail!(
                    "provisioning.ca-file: {} holds no certificate",
                    path.display()
                );
            }
        }
        None => {
            // Unreadable system certificates are skipped; none at all is an error
            // worth naming rather than a handshake that fails later.
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                anyhow::bail!(
                    "provisioning.ca-file: the system has no root certificates; name a ca-file"
                );
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow::anyhow!("provisioning: TLS: {e}"))?
        .with_root_certificates(roots);
    let config = match &settings.attestation {
        Attestation::X509 {
            cert_file,
            key_file,
        } => {
            let chain = CertificateDer::pem_file_iter(cert_file)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "provisioning.cert-file: cannot read {}: {e}",
                        cert_file.display()
                    )
                })?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    anyhow::anyhow!("provisioning.cert-file: {}: {e}", cert_file.display())
                })?;
            if chain.is_empty() {
                anyhow::bail!(
                    "provisioning.cert-file: {} holds no certificate",
                    cert_file.display()
                );
            }
            // The key's own error text could quote it; name only the file.
            let key = PrivateKeyDer::from_pem_file(key_file).map_err(|_| {
                anyhow::anyhow!(
                    "provisioning.key-file: {} holds no readable PEM private key",
                    key_file.display()
                )
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|_| {
                anyhow::anyhow!(
                    "provisioning.key-file: {} does not match the certificate",
                    key_file.display()
                )
            })?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Mints registration SAS tokens through a component instance of its own.
///
/// The device's event loop owns the component instance that runs the
/// connection, and a provisioning task must not reach into it; so the signer
/// instantiates the same compiled component once (cheap: the runtime keeps it
/// pre-instantiated) and calls only its pure `identity` functions. The device
/// key of a group enrollment is derived there too, once, at start.
pub struct Signer {
    instance: Instance,
    id_scope: String,
    registration_id: String,
    device_key: Secret,
    lifetime_s: u64,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("registration_id", &self.registration_id)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for the section's key, or `None` when it has none (X.509, or no
    /// attestation).
    ///
    /// # Errors
    /// When the component cannot be instantiated or refuses the key (the error
    /// names the field, never the key).
    pub fn new(runtime: &Runtime, settings: &ProvisioningSettings) -> anyhow::Result<Option<Self>> {
        let (key, field) = match &settings.attestation {
            Attestation::SymmetricKey(k) => (k, "provisioning.symmetric-key"),
            Attestation::GroupKey(k) => (k, "provisioning.group-key"),
            _ => return Ok(None),
        };
        let mut instance = runtime.instantiate_real()?;
        let device_key = match &settings.attestation {
            Attestation::GroupKey(group) => Secret::new(
                instance
                    .derive_device_key(group.expose(), &settings.registration_id)
                    .map_err(|_| anyhow::anyhow!("{field}: the component refused the key"))?,
            ),
            _ => key.clone(),
        };
        let mut signer = Self {
            instance,
            id_scope: settings.id_scope.clone(),
            registration_id: settings.registration_id.clone(),
            device_key,
            lifetime_s: settings.token_lifetime_s,
        };
        // Sign once now, so a key the component refuses is a start-up error.
        signer
            .token()
            .ok_or_else(|| anyhow::anyhow!("{field}: the component refused the key"))?;
        Ok(Some(signer))
    }

    /// A fresh token (`SharedAccessSignature sr=...&skn=registration`) valid for
    /// the configured lifetime from now. `None` if the component refuses.
    pub fn token(&mut self) -> Option<String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let expiry = now.saturating_add(self.lifetime_s);
        self.instance
            .dps_token(
                &self.id_scope,
                &self.registration_id,
                self.device_key.expose(),
                expiry,
            )
            .ok()
    }
}
