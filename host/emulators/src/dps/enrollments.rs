//! What the emulated service knows: its id scope, hubs, enrollments, and TLS
//! material; from code or from an enrollments file.
//!
//! ```json
//! {
//!   "id-scope": "0ne00000001",
//!   "hubs": ["hub-a.localhost", "hub-b.localhost"],
//!   "individual": [
//!     {"registration-id": "sensor-1", "symmetric-key": "BASE64"},
//!     {"registration-id": "sensor-2", "x509": true, "hub": "hub-b.localhost"},
//!     {"registration-id": "sensor-3", "symmetric-key": "BASE64", "enabled": false}
//!   ],
//!   "groups": [{"name": "line-4", "symmetric-key": "BASE64"}],
//!   "x509-ca-file": "devices-ca.pem",
//!   "pending-polls": 1, "retry-after-s": 1,
//!   "registrations-per-minute": 1000
//! }
//! ```

use std::time::Duration;

use serde_json::{Map, Value};

/// How an individual enrollment authenticates.
#[derive(Clone, PartialEq, Eq)]
pub enum Attestation {
    /// A symmetric key (base64).
    SymmetricKey(String),
    /// An X.509 certificate with CN = registration id, chaining to the CA.
    X509,
}

impl std::fmt::Debug for Attestation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SymmetricKey(_) => f.write_str("SymmetricKey(<redacted>)"),
            Self::X509 => f.write_str("X509"),
        }
    }
}

/// An individual enrollment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrollment {
    /// The registration id (also the device id assigned).
    pub registration_id: String,
    /// How it authenticates.
    pub attestation: Attestation,
    /// The hub it goes to; `None`: one of the service's hubs by hash.
    pub hub: Option<String>,
    /// A disabled enrollment ends in status `disabled`.
    pub enabled: bool,
}

impl Enrollment {
    /// An enabled symmetric-key enrollment.
    pub fn symmetric(registration_id: &str, key: &str) -> Self {
        Self {
            registration_id: registration_id.to_string(),
            attestation: Attestation::SymmetricKey(key.to_string()),
            hub: None,
            enabled: true,
        }
    }

    /// An enabled X.509 enrollment.
    pub fn x509(registration_id: &str) -> Self {
        Self {
            registration_id: registration_id.to_string(),
            attestation: Attestation::X509,
            hub: None,
            enabled: true,
        }
    }
}

/// An enrollment group with a symmetric key: any registration id whose token is
/// signed with the key derived from it.
#[derive(Clone, PartialEq, Eq)]
pub struct GroupEnrollment {
    /// The group's name.
    pub name: String,
    /// The group key (base64).
    pub key: String,
    /// The hub its devices go to; `None`: by hash.
    pub hub: Option<String>,
    /// A disabled group's devices end in status `disabled`.
    pub enabled: bool,
}

impl std::fmt::Debug for GroupEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupEnrollment")
            .field("name", &self.name)
            .field("hub", &self.hub)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl GroupEnrollment {
    /// An enabled group.
    pub fn new(name: &str, key: &str) -> Self {
        Self {
            name: name.to_string(),
            key: key.to_string(),
            hub: None,
            enabled: true,
        }
    }
}

/// How the emulator starts.
#[derive(Clone)]
pub struct DpsConfig {
    /// The id scope devices must name.
    pub id_scope: String,
    /// The hubs assigned by hash (host names, e.g. `hub-a.localhost`).
    pub hubs: Vec<String>,
    /// Individual enrollments.
    pub enrollments: Vec<Enrollment>,
    /// Enrollment groups with symmetric keys.
    pub groups: Vec<GroupEnrollment>,
    /// Whether any certificate chaining to `client_ca_pem` may register (an X.509
    /// enrollment group), besides the individual X.509 enrollments.
    pub x509_group: bool,
    /// The server certificate chain (PEM).
    pub cert_pem: String,
    /// The server's private key (PEM).
    pub key_pem: String,
    /// The CA that signs device certificates (PEM), for X.509 attestation.
    pub client_ca_pem: Option<String>,
    /// 202 answers to polls before the outcome.
    pub pending_polls: u32,
    /// The `Retry-After` of 202 answers, in seconds.
    pub retry_after_s: u64,
    /// At most this many register requests per [`Self::window`]; `None`: no limit.
    pub registrations_per_window: Option<u32>,
    /// The rate limit's window.
    pub window: Duration,
}

impl std::fmt::Debug for DpsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the server's private key.
        f.debug_struct("DpsConfig")
            .field("id_scope", &self.id_scope)
            .field("hubs", &self.hubs)
            .field("enrollments", &self.enrollments)
            .field("groups", &self.groups)
            .field("x509_group", &self.x509_group)
            .field("pending_polls", &self.pending_polls)
            .field("retry_after_s", &self.retry_after_s)
            .field("registrations_per_window", &self.registrations_per_window)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl DpsConfig {
    /// The defaults with this server certificate: id scope `0ne00000001`, hubs
    /// `hub-a.localhost` and `hub-b.localhost`, no enrollments, one pending poll,
    /// `Retry-After: 1`, DPS's 1,000 registrations per minute.
    pub fn new(cert_pem: impl Into<String>, key_pem: impl Into<String>) -> Self {
        Self {
            id_scope: "0ne00000001".to_string(),
            hubs: vec!["hub-a.localhost".to_string(), "hub-b.localhost".to_string()],
            enrollments: Vec::new(),
            groups: Vec::new(),
            x509_group: false,
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
            client_ca_pem: None,
            pending_polls: 1,
            retry_after_s: 1,
            registrations_per_window: Some(1000),
            window: Duration::from_secs(60),
        }
    }

    /// Read an enrollments file's JSON into this configuration. `read_file` loads
    /// `x509-ca-file` (relative to the file, the caller's business).
    ///
    /// # Errors
    /// A message naming the field.
    pub fn apply_enrollments(
        &mut self,
        text: &str,
        read_file: impl Fn(&str) -> Result<String, String>,
    ) -> Result<(), String> {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| format!("(file): not valid JSON: {e}"))?;
        let m = doc.as_object().ok_or("(file): expected an object")?;
        known(
            m,
            "",
            &[
                "id-scope",
                "hubs",
                "individual",
                "groups",
                "x509-ca-file",
                "x509-group",
                "pending-polls",
                "retry-after-s",
                "registrations-per-minute",
            ],
        )?;
        if let Some(v) = m.get("id-scope") {
            self.id_scope = string(v, "id-scope")?;
        }
        if let Some(v) = m.get("hubs") {
            let list = v.as_array().ok_or("hubs: expected a list of host names")?;
            self.hubs = list
                .iter()
                .map(|h| string(h, "hubs[]"))
                .collect::<Result<_, _>>()?;
            if self.hubs.is_empty() {
                return Err("hubs: expected at least one host name".into());
            }
        }
        for (i, e) in array(m, "individual")?.iter().enumerate() {
            self.enrollments
                .push(individual(e, &format!("individual[{i}]"))?);
        }
        for (i, g) in array(m, "groups")?.iter().enumerate() {
            self.groups.push(group(g, &format!("groups[{i}]"))?);
        }
        if let Some(v) = m.get("x509-ca-file") {
            let path = string(v, "x509-ca-file")?;
            self.client_ca_pem = Some(read_file(&path).map_err(|e| format!("x509-ca-file: {e}"))?);
        }
        if let Some(v) = m.get("x509-group") {
            self.x509_group = v.as_bool().ok_or("x509-group: expected true or false")?;
        }
        if let Some(v) = m.get("pending-polls") {
            self.pending_polls = uint(v, "pending-polls")?;
        }
        if let Some(v) = m.get("retry-after-s") {
            self.retry_after_s = u64::from(uint(v, "retry-after-s")?);
        }
        if let Some(v) = m.get("registrations-per-minute") {
            self.registrations_per_window = Some(uint(v, "registrations-per-minute")?);
            self.window = Duration::from_secs(60);
        }
        Ok(())
    }
}

fn known(m: &Map<String, Value>, prefix: &str, keys: &[&str]) -> Result<(), String> {
    match m.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{prefix}{k}: unknown field (expected one of: {})",
            keys.join(", ")
        )),
        None => Ok(()),
    }
}

fn array<'a>(m: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], String> {
    match m.get(key) {
        None => Ok(&[]),
        Some(v) => v
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| format!("{key}: expected a list")),
    }
}

fn string(v: &Value, field: &str) -> Result<String, String> {
    v.as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| format!("{field}: expected a non-empty string"))
}

fn uint(v: &Value, field: &str) -> Result<u32, String> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("{field}: expected a whole number"))
}

fn key(v: &Value, field: &str) -> Result<String, String> {
    use base64::Engine as _;
    let k = string(v, field)?;
    base64::engine::general_purpose::STANDARD
        .decode(&k)
        .map_err(|_| format!("{field}: expected a base64 key (the value is not shown)"))?;
    Ok(k)
}

fn enabled_and_hub(m: &Map<String, Value>, at: &str) -> Result<(bool, Option<String>), String> {
    let enabled = match m.get("enabled") {
        None => true,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| format!("{at}.enabled: expected true or false"))?,
    };
    let hub = m
        .get("hub")
        .map(|v| string(v, &format!("{at}.hub")))
        .transpose()?;
    Ok((enabled, hub))
}

fn individual(v: &Value, at: &str) -> Result<Enrollment, String> {
    let m = v
        .as_object()
        .ok_or_else(|| format!("{at}: expected an object"))?;
    known(
        m,
        &format!("{at}."),
        &["registration-id", "symmetric-key", "x509", "hub", "enabled"],
    )?;
    let registration_id = string(
        m.get("registration-id")
            .ok_or_else(|| format!("{at}.registration-id: missing"))?,
        &format!("{at}.registration-id"),
    )?;
    let attestation = match (m.get("symmetric-key"), m.get("x509")) {
        (Some(k), None) => Attestation::SymmetricKey(key(k, &format!("{at}.symmetric-key"))?),
        (None, Some(Value::Bool(true))) => Attestation::X509,
        _ => {
            return Err(format!(
                "{at}.symmetric-key: give either symmetric-key or \"x509\": true"
            ));
        }
    };
    let (enabled, hub) = enabled_and_hub(m, at)?;
    Ok(Enrollment {
        registration_id,
        attestation,
        hub,
        enabled,
    })
}

fn group(v: &Value, at: &str) -> Result<GroupEnrollment, String> {
    let m = v
        .as_object()
        .ok_or_else(|| format!("{at}: expected an object"))?;
    known(
        m,
        &format!("{at}."),
        &["name", "symmetric-key", "hub", "enabled"],
    )?;
    let name = string(
        m.get("name").ok_or_else(|| format!("{at}.name: missing"))?,
        &format!("{at}.name"),
    )?;
    let k = key(
        m.get("symmetric-key")
            .ok_or_else(|| format!("{at}.symmetric-key: missing"))?,
        &format!("{at}.symmetric-key"),
    )?;
    let (enabled, hub) = enabled_and_hub(m, at)?;
    Ok(GroupEnrollment {
        name,
        key: k,
        hub,
        enabled,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn an_enrollments_file_reads_and_errors_name_the_field() {
        let mut c = DpsConfig::new("", "");
        c.apply_enrollments(
            r#"{"id-scope": "0ne9", "hubs": ["h1"], "individual": [
                {"registration-id": "d1", "symmetric-key": "a2V5", "enabled": false},
                {"registration-id": "d2", "x509": true}],
                "groups": [{"name": "g", "symmetric-key": "a2V5", "hub": "h2"}],
                "x509-ca-file": "ca.pem", "registrations-per-minute": 5}"#,
            |p| Ok(format!("pem of {p}")),
        )
        .unwrap();
        assert_eq!(c.id_scope, "0ne9");
        assert_eq!(c.enrollments.len(), 2);
        assert!(!c.enrollments[0].enabled);
        assert_eq!(c.groups[0].hub.as_deref(), Some("h2"));
        assert_eq!(c.client_ca_pem.as_deref(), Some("pem of ca.pem"));
        assert_eq!(c.registrations_per_window, Some(5));
        // Keys never print.
        assert!(!format!("{c:?}").contains("a2V5"));
        let e = c
            .apply_enrollments(
                r#"{"individual": [{"registration-id": "x", "symmetric-key": "!!"}]}"#,
                |_| Ok(String::new()),
            )
            .unwrap_err();
        assert!(e.starts_with("individual[0].symmetric-key"), "{e}");
        assert!(!e.contains("!!"));
    }
}
