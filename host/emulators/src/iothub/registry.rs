//! The hub's identity registry: devices and modules with their credentials and an
//! enabled flag, as the IoT Hub identity registry keeps them.
//!
//! A registry file (JSON) is a list of identities:
//!
//! ```json
//! {"devices": [
//!   {"deviceId": "dev-1", "primaryKey": "<base64>", "secondaryKey": "<base64>"},
//!   {"deviceId": "dev-1", "moduleId": "filter", "primaryKey": "<base64>"},
//!   {"deviceId": "cam-7", "thumbprint": "<sha-256 of the certificate, hex>"},
//!   {"deviceId": "cam-8", "caPem": "-----BEGIN CERTIFICATE-----..."},
//!   {"deviceId": "old-1", "primaryKey": "<base64>", "enabled": false}
//! ]}
//! ```

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use serde_json::Value;

/// A device, or a module of a device.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdentityId {
    /// The device id.
    pub device: String,
    /// The module id, for a module identity.
    pub module: Option<String>,
}

impl IdentityId {
    /// A device identity.
    pub fn device(device: impl Into<String>) -> Self {
        Self {
            device: device.into(),
            module: None,
        }
    }

    /// A module identity of `device`.
    pub fn module(device: impl Into<String>, module: impl Into<String>) -> Self {
        Self {
            device: device.into(),
            module: Some(module.into()),
        }
    }

    /// The MQTT client id the hub expects: `{device}` or `{device}/{module}`.
    pub fn client_id(&self) -> String {
        match &self.module {
            Some(m) => format!("{}/{m}", self.device),
            None => self.device.clone(),
        }
    }
}

impl fmt::Display for IdentityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.client_id())
    }
}

/// How an identity authenticates.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// Symmetric keys (base64, as the registry shows them); a SAS token signed
    /// with either is accepted.
    Keys {
        /// The primary key, decoded.
        primary: Vec<u8>,
        /// The secondary key, decoded.
        secondary: Option<Vec<u8>>,
    },
    /// X.509, self-signed or not: the client certificate's SHA-256 thumbprint.
    Thumbprint([u8; 32]),
    /// X.509 signed by a certificate authority: any certificate chaining to this CA
    /// (DER) whose subject common name is the device id.
    CertificateAuthority(Vec<u8>),
}

impl fmt::Debug for Credential {
    // Keys never appear in output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Keys { secondary, .. } => f
                .debug_struct("Keys")
                .field("secondary", &secondary.is_some())
                .finish_non_exhaustive(),
            Credential::Thumbprint(t) => write!(f, "Thumbprint({})", hex(t)),
            Credential::CertificateAuthority(_) => f.write_str("CertificateAuthority(..)"),
        }
    }
}

/// One registered identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Its credential.
    pub credential: Credential,
    /// A disabled identity cannot connect, and its live link is closed.
    pub enabled: bool,
}

/// A registry entry that does not parse; `field` names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    /// The entry (its index in `devices`) and field, for example `devices[2].primaryKey`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for RegistryError {}

fn err(field: impl Into<String>, message: impl Into<String>) -> RegistryError {
    RegistryError {
        field: field.into(),
        message: message.into(),
    }
}

/// Decode a base64 key; the error names `field` and never shows the key.
pub fn decode_key(field: &str, key: &str) -> Result<Vec<u8>, RegistryError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .map_err(|_| err(field, "is not base64"))?;
    if bytes.is_empty() {
        return Err(err(field, "is empty"));
    }
    Ok(bytes)
}

/// Decode a hex SHA-256 thumbprint (64 hex digits, any case, `:` allowed).
pub fn decode_thumbprint(field: &str, text: &str) -> Result<[u8; 32], RegistryError> {
    let digits: Vec<u8> = text.bytes().filter(|b| *b != b':').collect();
    let mut out = [0u8; 32];
    if digits.len() != 64 {
        return Err(err(field, "is not 64 hex digits (a SHA-256 thumbprint)"));
    }
    for (slot, pair) in out.iter_mut().zip(digits.chunks(2)) {
        let text = std::str::from_utf8(pair).map_err(|_| err(field, "is not hex"))?;
        *slot = u8::from_str_radix(text, 16).map_err(|_| err(field, "is not hex"))?;
    }
    Ok(out)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The registry: identities by id.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    identities: BTreeMap<IdentityId, Identity>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse a registry file (see the module documentation).
    ///
    /// # Errors
    /// A [`RegistryError`] naming the entry and field that is wrong.
    pub fn from_json(text: &str) -> Result<Self, RegistryError> {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| err("registry", format!("is not JSON: {e}")))?;
        let list = doc
            .get("devices")
            .and_then(Value::as_array)
            .ok_or_else(|| err("devices", "is missing or not a list"))?;
        let mut registry = Registry::new();
        for (i, entry) in list.iter().enumerate() {
            let at = |name: &str| format!("devices[{i}].{name}");
            let text = |name: &str| -> Result<Option<&str>, RegistryError> {
                match entry.get(name) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.as_str())),
                    Some(_) => Err(err(at(name), "is not a string")),
                }
            };
            let device = text("deviceId")?.ok_or_else(|| err(at("deviceId"), "is missing"))?;
            check_id(&at("deviceId"), device)?;
            let module = text("moduleId")?;
            if let Some(m) = module {
                check_id(&at("moduleId"), m)?;
            }
            let credential = if let Some(primary) = text("primaryKey")? {
                Credential::Keys {
                    primary: decode_key(&at("primaryKey"), primary)?,
                    secondary: text("secondaryKey")?
                        .map(|k| decode_key(&at("secondaryKey"), k))
                        .transpose()?,
                }
            } else if let Some(t) = text("thumbprint")? {
                Credential::Thumbprint(decode_thumbprint(&at("thumbprint"), t)?)
            } else if let Some(pem) = text("caPem")? {
                Credential::CertificateAuthority(ca_der(&at("caPem"), pem)?)
            } else {
                return Err(err(
                    format!("devices[{i}]"),
                    "names no credential (primaryKey, thumbprint or caPem)",
                ));
            };
            let enabled = match entry.get("enabled") {
                None => true,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(err(at("enabled"), "is not true or false")),
            };
            let id = IdentityId {
                device: device.to_string(),
                module: module.map(str::to_string),
            };
            if registry.identities.contains_key(&id) {
                return Err(err(at("deviceId"), format!("{id} is listed twice")));
            }
            registry.identities.insert(
                id,
                Identity {
                    credential,
                    enabled,
                },
            );
        }
        Ok(registry)
    }

    /// Add or replace an identity.
    pub fn insert(&mut self, id: IdentityId, identity: Identity) {
        self.identities.insert(id, identity);
    }

    /// Remove an identity; whether it was there.
    pub fn remove(&mut self, id: &IdentityId) -> bool {
        self.identities.remove(id).is_some()
    }

    /// The identity `id`.
    pub fn get(&self, id: &IdentityId) -> Option<&Identity> {
        self.identities.get(id)
    }

    /// The identity `id`, to change.
    pub fn get_mut(&mut self, id: &IdentityId) -> Option<&mut Identity> {
        self.identities.get_mut(id)
    }

    /// How many identities there are.
    pub fn len(&self) -> usize {
        self.identities.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }
}

/// Device and module ids: up to 128 characters of letters, digits and
/// `- . % _ * ? ! ( ) , : = @ $ '` (the IoT Hub identity registry's rule).
fn check_id(field: &str, id: &str) -> Result<(), RegistryError> {
    if id.is_empty() || id.len() > 128 {
        return Err(err(field, "must be 1 to 128 characters"));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-.%_*?!(),:=@$'".contains(*c)))
    {
        return Err(err(field, format!("holds {c:?}, which an id may not")));
    }
    Ok(())
}

/// The DER of the first certificate in `pem`.
pub fn ca_der(field: &str, pem: &str) -> Result<Vec<u8>, RegistryError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map(|c| c.as_ref().to_vec())
        .map_err(|e| err(field, format!("is not a PEM certificate: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_file_parses_and_a_bad_entry_is_named() {
        let reg = Registry::from_json(
            r#"{"devices":[{"deviceId":"d1","primaryKey":"cGFzc3dvcmQ="},
                {"deviceId":"d1","moduleId":"m","primaryKey":"cGFzc3dvcmQ=","enabled":false},
                {"deviceId":"cam","thumbprint":"00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff"}]}"#,
        )
        .unwrap();
        assert_eq!(reg.len(), 3);
        assert!(!reg.get(&IdentityId::module("d1", "m")).unwrap().enabled);
        let e =
            Registry::from_json(r#"{"devices":[{"deviceId":"d1","primaryKey":"not base64!"}]}"#)
                .unwrap_err();
        assert_eq!(e.field, "devices[0].primaryKey");
        let e = Registry::from_json(r#"{"devices":[{"deviceId":"d 1","primaryKey":"cGFzcw=="}]}"#)
            .unwrap_err();
        assert_eq!(e.field, "devices[0].deviceId");
        let e = Registry::from_json(r#"{"devices":[{"deviceId":"d1"}]}"#).unwrap_err();
        assert_eq!(e.field, "devices[0]");
    }

    #[test]
    fn debug_output_never_shows_a_key() {
        let c = Credential::Keys {
            primary: b"secret-bytes".to_vec(),
            secondary: None,
        };
        assert!(!format!("{c:?}").contains("secret"));
    }
}
