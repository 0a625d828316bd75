//! IoT Hub device and module connection strings:
//! `HostName=..;DeviceId=..[;ModuleId=..];SharedAccessKey=..` and their variants.

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;

use super::sas::{decode_key, hub_resource_uri, sas_token};
use crate::types::ConfigError;

/// The longest connection string accepted, in bytes. Real ones are a few hundred;
/// the limit keeps a pasted file or a runaway buffer from being parsed.
pub const MAX_CONNECTION_STRING: usize = 4096;

/// The longest device or module id IoT Hub accepts.
const MAX_ID: usize = 128;

/// How the device proves who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// A device (or policy) key: tokens are minted from it.
    SharedAccessKey,
    /// A ready-made token, used as given until it expires.
    SharedAccessSignature,
    /// An X.509 client certificate in TLS; no token.
    X509,
}

impl AuthMethod {
    /// The name the WIT and the canonical lines use.
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::SharedAccessKey => "shared-access-key",
            AuthMethod::SharedAccessSignature => "shared-access-signature",
            AuthMethod::X509 => "x509",
        }
    }
}

/// What a connection string says about the device, without its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubIdentity {
    /// The hub, for example `my-hub.azure-devices.net`.
    pub host_name: String,
    /// The device.
    pub device_id: String,
    /// The module, for a module identity.
    pub module_id: Option<String>,
    /// An IoT Edge gateway the device connects through.
    pub gateway_host_name: Option<String>,
    /// The shared access policy the key belongs to (`skn`), when not a device key.
    pub key_name: Option<String>,
    /// How it authenticates.
    pub auth: AuthMethod,
}

/// The secret of a connection string. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
enum Secret {
    Key(String),
    Signature(String),
    None,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Secret::Key(_) => "Key(<redacted>)",
            Secret::Signature(_) => "Signature(<redacted>)",
            Secret::None => "None",
        })
    }
}

/// A parsed connection string: the identity and, inside, its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionString {
    identity: HubIdentity,
    secret: Secret,
}

/// The keys a connection string may hold, as IoT Hub spells them.
const KEYS: [&str; 8] = [
    "HostName",
    "DeviceId",
    "ModuleId",
    "SharedAccessKey",
    "SharedAccessKeyName",
    "SharedAccessSignature",
    "GatewayHostName",
    "x509",
];

impl ConnectionString {
    /// Parses `text`. Every error names the key (or the segment) that is wrong.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        if text.len() > MAX_CONNECTION_STRING {
            return Err(ConfigError::new(
                "connection-string",
                format!(
                    "is {} bytes, over the limit of {MAX_CONNECTION_STRING}",
                    text.len()
                ),
            ));
        }
        if text.trim().is_empty() {
            return Err(ConfigError::new("connection-string", "is empty"));
        }
        let mut values: [Option<&str>; KEYS.len()] = [None; KEYS.len()];
        // One trailing `;` is common in pasted strings; empty segments elsewhere are not.
        let body = text.strip_suffix(';').unwrap_or(text);
        for (index, segment) in body.split(';').enumerate() {
            let position = index.saturating_add(1);
            let Some((key, value)) = segment.split_once('=') else {
                return Err(ConfigError::new(
                    "connection-string",
                    format!("segment {position} is not Key=Value"),
                ));
            };
            let key = key.trim();
            let Some(slot) = KEYS.iter().position(|k| *k == key) else {
                return Err(unknown_key(key, position));
            };
            let value = value.trim();
            if value.is_empty() {
                return Err(ConfigError::new(key, "is empty"));
            }
            match values.get_mut(slot) {
                Some(Some(_)) => return Err(ConfigError::new(key, "appears twice")),
                Some(entry) => *entry = Some(value),
                None => {}
            }
        }
        let [
            host,
            device,
            module,
            key,
            key_name,
            signature,
            gateway,
            x509,
        ] = values;
        let host_name = check_host("HostName", host)?;
        let device_id = id("DeviceId", device)?;
        let module_id = module.map(|m| id("ModuleId", Some(m))).transpose()?;
        let gateway_host_name = gateway
            .map(|g| check_host("GatewayHostName", Some(g)))
            .transpose()?;
        let x509 = match x509 {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(_) => return Err(ConfigError::new("x509", "must be `true` when present")),
        };
        let (auth, secret) = match (key, signature, x509) {
            (Some(k), None, false) => {
                decode_key("SharedAccessKey", k)?;
                (AuthMethod::SharedAccessKey, Secret::Key(k.to_string()))
            }
            (None, Some(s), false) => {
                if !s.starts_with("SharedAccessSignature ") {
                    return Err(ConfigError::new(
                        "SharedAccessSignature",
                        "does not start with `SharedAccessSignature `",
                    ));
                }
                (
                    AuthMethod::SharedAccessSignature,
                    Secret::Signature(s.to_string()),
                )
            }
            (None, None, true) => (AuthMethod::X509, Secret::None),
            (Some(_), _, true) => {
                return Err(ConfigError::new(
                    "SharedAccessKey",
                    "cannot be combined with x509=true",
                ));
            }
            (_, Some(_), true) => {
                return Err(ConfigError::new(
                    "SharedAccessSignature",
                    "cannot be combined with x509=true",
                ));
            }
            (Some(_), Some(_), false) => {
                return Err(ConfigError::new(
                    "SharedAccessSignature",
                    "cannot be combined with SharedAccessKey",
                ));
            }
            (None, None, false) => {
                return Err(ConfigError::new(
                    "connection-string",
                    "has no credential: give SharedAccessKey, SharedAccessSignature or x509=true",
                ));
            }
        };
        if key_name.is_some() && auth != AuthMethod::SharedAccessKey {
            return Err(ConfigError::new(
                "SharedAccessKeyName",
                "needs a SharedAccessKey",
            ));
        }
        Ok(Self {
            identity: HubIdentity {
                host_name,
                device_id,
                module_id,
                gateway_host_name,
                key_name: key_name.map(str::to_string),
                auth,
            },
            secret,
        })
    }

    /// The identity, without the secret.
    pub fn identity(&self) -> &HubIdentity {
        &self.identity
    }

    /// The key, when the identity has one: for hosts inside the component that sign
    /// with it (it never crosses the WIT boundary).
    pub fn key(&self) -> Option<&str> {
        match &self.secret {
            Secret::Key(k) => Some(k),
            _ => None,
        }
    }

    /// A token valid until `expiry` (Unix seconds): minted from the key, or the
    /// string's own signature as given. An X.509 identity has none.
    pub fn token(&self, expiry: u64) -> Result<String, ConfigError> {
        let id = &self.identity;
        match &self.secret {
            Secret::Key(key) => sas_token(
                &hub_resource_uri(&id.host_name, &id.device_id, id.module_id.as_deref()),
                key,
                id.key_name.as_deref(),
                expiry,
            ),
            Secret::Signature(signature) => Ok(signature.clone()),
            Secret::None => Err(ConfigError::new(
                "x509",
                "an X.509 identity has no token: its certificate authenticates it in TLS",
            )),
        }
    }
}

fn unknown_key(key: &str, position: usize) -> ConfigError {
    if key.is_empty() {
        return ConfigError::new(
            "connection-string",
            format!("segment {position} has no key"),
        );
    }
    // Echo the name only when it cannot hold a key: a known key in another case, or
    // a short printable name. A key's value glued to its name (a missing `=`, as in
    // `SharedAccessKeyc2Vj..==`) must not be repeated back: 12 characters are fewer
    // than the 16 of the shortest key worth the name (12 bytes), found by the
    // identity fuzz target.
    let known = KEYS.iter().find(|k| k.eq_ignore_ascii_case(key));
    let printable =
        known.is_some() || (key.len() <= 12 && key.bytes().all(|b| b.is_ascii_alphanumeric()));
    let field = if printable {
        key.to_string()
    } else {
        format!("segment {position}")
    };
    match known {
        Some(known) => ConfigError::new(
            field,
            format!("is not a connection-string key (keys are case-sensitive: {known})"),
        ),
        _ => ConfigError::new(
            field,
            format!(
                "is not a connection-string key (known: {})",
                KEYS.join(", ")
            ),
        ),
    }
}

fn check_host(field: &str, value: Option<&str>) -> Result<String, ConfigError> {
    let Some(value) = value else {
        return Err(ConfigError::new(field, "is missing"));
    };
    let valid = value.len() <= 253
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':'));
    if !valid {
        return Err(ConfigError::new(
            field,
            "is not a host name (letters, digits, `-`, `.`, at most 253 bytes)",
        ));
    }
    Ok(value.to_string())
}

/// Device and module ids: IoT Hub's 128 ASCII letters, digits and `-.%_*?!(),:=@$'`.
fn id(field: &str, value: Option<&str>) -> Result<String, ConfigError> {
    let Some(value) = value else {
        return Err(ConfigError::new(field, "is missing"));
    };
    let valid = value.len() <= MAX_ID
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.'
                        | b'%'
                        | b'_'
                        | b'*'
                        | b'?'
                        | b'!'
                        | b'('
                        | b')'
                        | b','
                        | b':'
                        | b'='
                        | b'@'
                        | b'$'
                        | b'\''
                )
        });
    if !valid {
        return Err(ConfigError::new(
            field,
            format!(
                "is not a valid id (at most {MAX_ID} ASCII letters, digits and -.%_*?!(),:=@$')"
            ),
        ));
    }
    Ok(value.to_string())
}

impl HubIdentity {
    /// A key identity for a device the provisioning service assigned to `host_name`.
    pub fn assigned(host_name: &str, device_id: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            host_name: check_host("assigned-hub", Some(host_name))?,
            device_id: id("device-id", Some(device_id))?,
            module_id: None,
            gateway_host_name: None,
            key_name: None,
            auth: AuthMethod::SharedAccessKey,
        })
    }
}
