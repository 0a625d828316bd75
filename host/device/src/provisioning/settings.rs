//! The device file's `provisioning` section.
//!
//! ```json
//! "provisioning": {
//!   "endpoint": "https://127.0.0.1:8443", "id-scope": "0ne00000001",
//!   "registration-id": "sensor-1", "transport": "https",
//!   "symmetric-key": "BASE64", "ca-file": "ca.pem", "token-lifetime-s": 3600
//! }
//! ```
//!
//! Attestation is one of `symmetric-key` (an individual enrollment's key),
//! `group-key` (an enrollment group's key: the component derives the device's
//! key from it), or `cert-file` + `key-file` (an X.509 chain and its private key
//! presented in the TLS handshake); none of them means no `Authorization` (the
//! stand-in provisioning service of the generic MQTT profile asks for none).
//! Keys are held as [`Secret`]s, which never print.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::settings::FileError;

/// A key from the device file. Its `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself: for signing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How the device proves who it is to DPS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attestation {
    /// No proof: no `Authorization` header (the stand-in service).
    None,
    /// `symmetric-key`: an individual enrollment's key (base64).
    SymmetricKey(Secret),
    /// `group-key`: an enrollment group's key (base64); the device key is
    /// derived from it and the registration id.
    GroupKey(Secret),
    /// `cert-file` + `key-file`: PEM files of the client certificate chain and
    /// its private key.
    X509 {
        /// The certificate chain, leaf first.
        cert_file: PathBuf,
        /// The private key.
        key_file: PathBuf,
    },
}

/// The protocol spoken to DPS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DpsTransport {
    /// `https` (default): REST over HTTPS (or plain HTTP for an `http://` endpoint).
    Https,
    /// `mqtt`: MQTT 3.1.1 over TLS.
    Mqtt,
}

/// The `provisioning` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvisioningSettings {
    /// `endpoint`: `https://HOST[:PORT]` or `http://HOST:PORT` for the `https`
    /// transport, `mqtts://HOST[:PORT]` for `mqtt`. No trailing slash.
    pub endpoint: String,
    /// `id-scope`.
    pub id_scope: String,
    /// `registration-id`.
    pub registration_id: String,
    /// `timeout-ms`: per request. Default 10000.
    pub timeout_ms: u64,
    /// `transport`: `https` (default) or `mqtt`.
    pub transport: DpsTransport,
    /// The attestation.
    pub attestation: Attestation,
    /// `ca-file`: a PEM file of CAs to trust instead of the system's roots.
    pub ca_file: Option<PathBuf>,
    /// `token-lifetime-s`: the lifetime of each registration SAS token. Default 3600.
    pub token_lifetime_s: u64,
}

impl ProvisioningSettings {
    /// Take relative file names (`ca-file`, `cert-file`, `key-file`) relative to
    /// `dir`, the device file's folder.
    pub fn resolve_paths(&mut self, dir: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        if let Some(ca) = &mut self.ca_file {
            fix(ca);
        }
        if let Attestation::X509 {
            cert_file,
            key_file,
        } = &mut self.attestation
        {
            fix(cert_file);
            fix(key_file);
        }
    }

    /// `host:port` of the endpoint, and whether it is TLS.
    pub fn authority(&self) -> (&str, bool) {
        for (scheme, tls) in [("https://", true), ("mqtts://", true), ("http://", false)] {
            if let Some(rest) = self.endpoint.strip_prefix(scheme) {
                return (rest, tls);
            }
        }
        (&self.endpoint, true)
    }
}

fn err(field: &str, message: impl Into<String>) -> FileError {
    crate::settings::err(field, message)
}

const KNOWN: &[&str] = &[
    "endpoint",
    "id-scope",
    "registration-id",
    "timeout-ms",
    "transport",
    "symmetric-key",
    "group-key",
    "cert-file",
    "key-file",
    "ca-file",
    "token-lifetime-s",
];

/// Read the `provisioning` section; an error names its field.
///
/// # Errors
/// A [`FileError`] naming the field.
pub fn parse_settings(v: &Value) -> Result<ProvisioningSettings, FileError> {
    let m = v
        .as_object()
        .ok_or_else(|| err("provisioning", "expected an object"))?;
    if let Some(k) = m.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(err(
            &format!("provisioning.{k}"),
            format!("unknown field (expected one of: {})", KNOWN.join(", ")),
        ));
    }
    let transport = match opt_string(m, "transport")?.as_deref() {
        None | Some("https") => DpsTransport::Https,
        Some("mqtt") => DpsTransport::Mqtt,
        Some(other) => {
            return Err(err(
                "provisioning.transport",
                format!("expected \"https\" or \"mqtt\", got \"{other}\""),
            ));
        }
    };
    let endpoint = endpoint(
        &opt_string(m, "endpoint")?.ok_or_else(|| err("provisioning.endpoint", "missing"))?,
        transport,
    )?;
    let id_scope = segment(m, "id-scope")?;
    let registration_id = segment(m, "registration-id")?;
    let attestation = attestation(m)?;
    Ok(ProvisioningSettings {
        endpoint,
        id_scope,
        registration_id,
        timeout_ms: int(m, "timeout-ms", 1, 600_000)?.unwrap_or(10_000),
        transport,
        attestation,
        ca_file: opt_string(m, "ca-file")?.map(PathBuf::from),
        token_lifetime_s: int(m, "token-lifetime-s", 60, 31_536_000)?.unwrap_or(3600),
    })
}

fn attestation(m: &Map<String, Value>) -> Result<Attestation, FileError> {
    let symmetric = opt_string(m, "symmetric-key")?;
    let group = opt_string(m, "group-key")?;
    let cert = opt_string(m, "cert-file")?;
    let key = opt_string(m, "key-file")?;
    let given = [
        symmetric.is_some(),
        group.is_some(),
        cert.is_some() || key.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(err(
            "provisioning.symmetric-key",
            "give one attestation: symmetric-key, group-key, or cert-file with key-file",
        ));
    }
    let key_field = |name: &str, k: String| -> Result<Secret, FileError> {
        // A key is base64; say so without echoing the key.
        let ok = !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c));
        if ok {
            Ok(Secret(k))
        } else {
            Err(err(
                &format!("provisioning.{name}"),
                "expected a base64 key (the value is not shown)",
            ))
        }
    };
    Ok(match (symmetric, group, cert, key) {
        (Some(k), _, _, _) => Attestation::SymmetricKey(key_field("symmetric-key", k)?),
        (_, Some(k), _, _) => Attestation::GroupKey(key_field("group-key", k)?),
        (_, _, Some(c), Some(k)) => Attestation::X509 {
            cert_file: PathBuf::from(c),
            key_file: PathBuf::from(k),
        },
        (_, _, Some(_), None) => return Err(err("provisioning.key-file", "missing")),
        (_, _, None, Some(_)) => return Err(err("provisioning.cert-file", "missing")),
        (None, None, None, None) => Attestation::None,
    })
}

fn endpoint(s: &str, transport: DpsTransport) -> Result<String, FileError> {
    let field = "provisioning.endpoint";
    let schemes: &[(&str, u16)] = match transport {
        DpsTransport::Https => &[("https://", 443), ("http://", 80)],
        DpsTransport::Mqtt => &[("mqtts://", 8883)],
    };
    let expected = match transport {
        DpsTransport::Https => "https://HOST[:PORT] or http://HOST:PORT",
        DpsTransport::Mqtt => "mqtts://HOST[:PORT] (transport \"mqtt\")",
    };
    let trimmed = s.trim_end_matches('/');
    for (scheme, port) in schemes {
        if let Some(rest) = trimmed.strip_prefix(scheme)
            && crate::split_address(rest, *port).is_some()
        {
            return Ok(trimmed.to_string());
        }
    }
    Err(err(field, format!("expected {expected}, got \"{s}\"")))
}

fn opt_string(m: &Map<String, Value>, key: &str) -> Result<Option<String>, FileError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(err(&format!("provisioning.{key}"), "expected a string")),
    }
}

fn segment(m: &Map<String, Value>, key: &str) -> Result<String, FileError> {
    let field = format!("provisioning.{key}");
    let s = opt_string(m, key)?.ok_or_else(|| err(&field, "missing"))?;
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
    {
        return Err(err(
            &field,
            format!("expected letters, digits, '-', '.', '_' or '~', got \"{s}\""),
        ));
    }
    Ok(s)
}

fn int(m: &Map<String, Value>, key: &str, min: u64, max: u64) -> Result<Option<u64>, FileError> {
    m.get(key)
        .map(|v| {
            v.as_u64()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    err(
                        &format!("provisioning.{key}"),
                        format!("expected an integer from {min} to {max}, got {v}"),
                    )
                })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str) -> Result<ProvisioningSettings, FileError> {
        parse_settings(&serde_json::from_str(text).unwrap())
    }

    #[test]
    fn a_full_section_reads() {
        let s = parse(
            r#"{"endpoint": "https://127.0.0.1:8443/", "id-scope": "0ne1", "registration-id": "d1",
                "group-key": "a2V5", "ca-file": "ca.pem", "token-lifetime-s": 600}"#,
        )
        .unwrap();
        assert_eq!(s.endpoint, "https://127.0.0.1:8443");
        assert_eq!(s.transport, DpsTransport::Https);
        assert_eq!(s.attestation, Attestation::GroupKey(Secret::new("a2V5")));
        assert_eq!(s.token_lifetime_s, 600);
        assert_eq!(s.authority(), ("127.0.0.1:8443", true));
    }

    #[test]
    fn keys_never_print() {
        let s = parse(
            r#"{"endpoint": "mqtts://127.0.0.1", "transport": "mqtt", "id-scope": "s",
                "registration-id": "d1", "symmetric-key": "c2VjcmV0a2V5"}"#,
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("c2VjcmV0a2V5"));
        // A malformed key's error does not echo it either.
        let e = parse(
            r#"{"endpoint": "https://h", "id-scope": "s", "registration-id": "d1",
                "symmetric-key": "not base64!"}"#,
        )
        .unwrap_err();
        assert_eq!(e.field, "provisioning.symmetric-key");
        assert!(!e.to_string().contains("not base64!"));
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                r#"{"endpoint": "ftp://x", "id-scope": "s", "registration-id": "r"}"#,
                "provisioning.endpoint",
            ),
            (
                r#"{"endpoint": "https://x", "transport": "mqtt", "id-scope": "s", "registration-id": "r"}"#,
                "provisioning.endpoint",
            ),
            (
                r#"{"endpoint": "https://x", "transport": "amqp", "id-scope": "s", "registration-id": "r"}"#,
                "provisioning.transport",
            ),
            (
                r#"{"endpoint": "https://x", "registration-id": "r"}"#,
                "provisioning.id-scope",
            ),
            (
                r#"{"endpoint": "https://x", "id-scope": "s", "registration-id": "r", "cert-file": "c.pem"}"#,
                "provisioning.key-file",
            ),
            (
                r#"{"endpoint": "https://x", "id-scope": "s", "registration-id": "r", "symmetric-key": "a", "group-key": "b"}"#,
                "provisioning.symmetric-key",
            ),
            (
                r#"{"endpoint": "https://x", "id-scope": "s", "registration-id": "r", "colour": 1}"#,
                "provisioning.colour",
            ),
        ];
        for (text, field) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.field, field, "{text}: {e}");
        }
    }

    #[test]
    fn relative_files_follow_the_device_file() {
        let mut s = parse(
            r#"{"endpoint": "https://x", "id-scope": "s", "registration-id": "r",
                "cert-file": "c.pem", "key-file": "/abs/k.pem", "ca-file": "ca.pem"}"#,
        )
        .unwrap();
        s.resolve_paths(Path::new("/etc/dev"));
        assert_eq!(s.ca_file.as_deref(), Some(Path::new("/etc/dev/ca.pem")));
        assert_eq!(
            s.attestation,
            Attestation::X509 {
                cert_file: "/etc/dev/c.pem".into(),
                key_file: "/abs/k.pem".into()
            }
        );
    }
}
