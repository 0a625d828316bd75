//! The device file of `tether run --config device.json`.
//!
//! ```json
//! {
//!   "connection": { "hub": "127.0.0.1:1883", "device-id": "sensor-1" },
//!   "mqtt": { "version": 5, "keep-alive-s": 10, "tls": { "ca-file": "ca.pem" },
//!             "username": "sensor-1", "client-id": "sensor-1",
//!             "credential-format": "password" },
//!   "provisioning": { "endpoint": "http://127.0.0.1:8080", "id-scope": "0ne0001",
//!                     "registration-id": "sensor-1" },
//!   "credentials": { "endpoint": "http://127.0.0.1:8080" },
//!   "publish": { "topic": "tether/sensor-1/telemetry", "interval-ms": 1000 },
//!   "outbox": { "path": "outbox.redb" }
//! }
//! ```
//!
//! `connection` is the component's own configuration, passed through unchanged
//! (the component validates it and names the field of any error). The other
//! sections configure the host's side; an error names its field, for example
//! `mqtt.keep-alive-s: expected an integer from 5 to 65535 (MQTT 5), got 2`.
//! Unknown fields are refused.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::profile::{self, Profile};
use super::settings::err;
pub use super::settings::{ClientCert, CredentialFormat, FileError, MqttSettings, MqttVersion};

pub use crate::outbox::OutboxSettings;

/// The `provisioning` section (read by [`crate::provisioning::parse_settings`]).
pub use crate::provisioning::ProvisioningSettings;

/// The `credentials` section: a token service handing out fresh tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialSettings {
    /// `endpoint`: `http://host:port` (plain HTTP only).
    pub endpoint: String,
    /// `device-id`: whose token; default the device id of the current assignment
    /// (or the connection's `device-id`).
    pub device_id: Option<String>,
    /// `timeout-ms`: per request. Default 10000.
    pub timeout_ms: u64,
}

/// The `publish` section: a numbered stream of QoS 1 messages (payload: the
/// sequence number in decimal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishSettings {
    /// `topic`: required, but for IoT Hub, where it defaults to the device's
    /// telemetry topic.
    pub topic: Option<String>,
    /// `interval-ms`: between messages. Default 1000.
    pub interval_ms: u64,
    /// `count`: how many; none means until stopped.
    pub count: Option<u64>,
    /// `first`: the first sequence number. Default 1.
    pub first: u64,
}

/// A whole device file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceFile {
    /// `profile`: the service (`mqtt`, `azure-iot-hub`, `aws-iot-core`).
    pub profile: Profile,
    /// `connection`: the component's configuration as JSON text, unchanged.
    pub connection: String,
    /// The `connection.device-id`, if given (a default for names below).
    pub device_id: Option<String>,
    /// `mqtt`.
    pub mqtt: MqttSettings,
    /// `provisioning`.
    pub provisioning: Option<ProvisioningSettings>,
    /// `credentials`.
    pub credentials: Option<CredentialSettings>,
    /// `publish`.
    pub publish: Option<PublishSettings>,
    /// `outbox`: the persistent outbox ([`crate::outbox`]); none: messages live
    /// in memory only.
    pub outbox: Option<OutboxSettings>,
}

impl DeviceFile {
    /// Read and check a device file. Relative paths inside it (`mqtt.tls.ca-file`,
    /// `connection.policy.plugin`) are taken relative to the file's folder.
    ///
    /// # Errors
    /// When the file cannot be read or is invalid (the error names the field).
    pub fn read(path: &Path) -> anyhow::Result<DeviceFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let mut file = Self::parse(&text)
            .map_err(|e| anyhow::anyhow!("invalid device file {}: {e}", path.display()))?;
        if let Some(dir) = path.parent() {
            let rebase = |p: &mut PathBuf| {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
            };
            if let Some(ca) = &mut file.mqtt.tls_ca_file {
                rebase(ca);
            }
            if let Some(c) = &mut file.mqtt.client_cert {
                rebase(&mut c.cert_file);
                rebase(&mut c.key_file);
            }
            if let Some(o) = &mut file.outbox {
                rebase(&mut o.path);
            }
        }
        if let (Some(p), Some(dir)) = (&mut file.provisioning, path.parent()) {
            p.resolve_paths(dir);
        }
        if let Some(dir) = path.parent() {
            file.connection = tether_host::plugin::resolve_plugin_path(&file.connection, dir);
        }
        Ok(file)
    }

    /// Check a device file given as JSON text.
    ///
    /// # Errors
    /// A [`FileError`] naming the field.
    pub fn parse(text: &str) -> Result<DeviceFile, FileError> {
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| err("(file)", format!("not valid JSON: {e}")))?;
        let root = object(&doc, "(file)")?;
        only(
            root,
            "",
            &[
                "profile",
                "connection",
                "mqtt",
                "provisioning",
                "credentials",
                "publish",
                "outbox",
            ],
        )?;
        let mut profile = profile::parse_name(root.get("profile"))?;
        let connection = root.get("connection").ok_or_else(|| {
            err(
                "connection",
                "missing: the component's configuration object",
            )
        })?;
        let conn = object(connection, "connection")?;
        let device_id = match conn.get("device-id") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let mut mqtt_settings = match root.get("mqtt") {
            Some(v) => mqtt(v)?,
            None => MqttSettings::default(),
        };
        profile::apply(
            &mut profile,
            root.get("mqtt").and_then(Value::as_object),
            &mut mqtt_settings,
        )?;
        let publish_needs_topic = !matches!(profile, Profile::AzureIotHub(_));
        Ok(DeviceFile {
            profile,
            connection: connection.to_string(),
            device_id,
            mqtt: mqtt_settings,
            provisioning: root
                .get("provisioning")
                .map(crate::provisioning::parse_settings)
                .transpose()?,
            credentials: root.get("credentials").map(credentials).transpose()?,
            publish: root
                .get("publish")
                .map(|v| publish(v, publish_needs_topic))
                .transpose()?,
            outbox: root.get("outbox").map(outbox).transpose()?,
        })
    }
}

fn mqtt(v: &Value) -> Result<MqttSettings, FileError> {
    let m = object(v, "mqtt")?;
    only(
        m,
        "mqtt.",
        &[
            "version",
            "keep-alive-s",
            "connect-timeout-s",
            "tls",
            "username",
            "client-id",
            "credential-format",
            "model-id",
            "port",
            "transport",
            "websocket-path",
        ],
    )?;
    let mut s = MqttSettings::default();
    if let Some(v) = m.get("transport") {
        s.websockets = match v.as_str() {
            Some("tcp") => false,
            Some("websockets") => true,
            _ => {
                return Err(err(
                    "mqtt.transport",
                    format!("expected \"tcp\" or \"websockets\", got {}", shown(v)),
                ));
            }
        };
    }
    if let Some(v) = m.get("websocket-path") {
        let path = string(v, "mqtt.websocket-path")?;
        if !path.starts_with('/') || path.contains(char::is_whitespace) {
            return Err(err(
                "mqtt.websocket-path",
                format!(
                    "expected a path starting with /, got \"{}\"",
                    path.escape_debug()
                ),
            ));
        }
        s.websocket_path = path;
    }
    if let Some(v) = m.get("port") {
        s.port = Some(
            v.as_u64()
                .filter(|n| (1..=65_535).contains(n))
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| {
                    err(
                        "mqtt.port",
                        format!("expected an integer from 1 to 65535, got {}", shown(v)),
                    )
                })?,
        );
    }
    if let Some(v) = m.get("version") {
        s.version = match v {
            Value::Number(n) if n.as_u64() == Some(3) || n.as_u64() == Some(4) => MqttVersion::V311,
            Value::Number(n) if n.as_u64() == Some(5) => MqttVersion::V5,
            Value::String(t) if t == "3.1.1" => MqttVersion::V311,
            Value::String(t) if t == "5" => MqttVersion::V5,
            other => {
                return Err(err(
                    "mqtt.version",
                    format!("expected 3 (3.1.1) or 5, got {}", shown(other)),
                ));
            }
        };
    }
    if let Some(v) = m.get("keep-alive-s") {
        // rumqttc takes whole seconds, and at least 5 for MQTT 5.
        let (min, label) = match s.version {
            MqttVersion::V311 => (1, "MQTT 3.1.1"),
            MqttVersion::V5 => (5, "MQTT 5"),
        };
        s.keep_alive_s = v
            .as_u64()
            .filter(|n| (min..=65_535).contains(n))
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| {
                err(
                    "mqtt.keep-alive-s",
                    format!(
                        "expected an integer from {min} to 65535 ({label}), got {}",
                        shown(v)
                    ),
                )
            })?;
    }
    if let Some(v) = m.get("connect-timeout-s") {
        s.connect_timeout_s = v
            .as_u64()
            .filter(|n| (1..=3600).contains(n))
            .ok_or_else(|| {
                err(
                    "mqtt.connect-timeout-s",
                    format!("expected an integer from 1 to 3600, got {}", shown(v)),
                )
            })?;
    }
    if let Some(v) = m.get("tls") {
        let t = object(v, "mqtt.tls")?;
        only(t, "mqtt.tls.", &["ca-file", "cert-file", "key-file"])?;
        s.tls = true;
        let path = |key: &str| {
            t.get(key)
                .map(|v| string(v, &format!("mqtt.tls.{key}")).map(PathBuf::from))
                .transpose()
        };
        s.tls_ca_file = path("ca-file")?;
        s.client_cert = match (path("cert-file")?, path("key-file")?) {
            (Some(cert_file), Some(key_file)) => Some(ClientCert {
                cert_file,
                key_file,
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(err(
                    "mqtt.tls.key-file",
                    "missing: the private key of cert-file",
                ));
            }
            (None, Some(_)) => {
                return Err(err(
                    "mqtt.tls.cert-file",
                    "missing: the certificate of key-file",
                ));
            }
        };
    }
    s.username = m
        .get("username")
        .map(|v| string(v, "mqtt.username"))
        .transpose()?;
    s.client_id = m
        .get("client-id")
        .map(|v| string(v, "mqtt.client-id"))
        .transpose()?;
    if let Some(v) = m.get("credential-format") {
        s.credential_format = match v.as_str() {
            Some("password") => CredentialFormat::Password,
            Some("user:password") => CredentialFormat::UserPassword,
            _ => {
                return Err(err(
                    "mqtt.credential-format",
                    format!(
                        "expected \"password\" or \"user:password\", got {}",
                        shown(v)
                    ),
                ));
            }
        };
    }
    Ok(s)
}

fn credentials(v: &Value) -> Result<CredentialSettings, FileError> {
    let m = object(v, "credentials")?;
    only(m, "credentials.", &["endpoint", "device-id", "timeout-ms"])?;
    Ok(CredentialSettings {
        endpoint: endpoint(
            required(m, "credentials.", "endpoint")?,
            "credentials.endpoint",
        )?,
        device_id: m
            .get("device-id")
            .map(|v| path_segment(v, "credentials.device-id"))
            .transpose()?,
        timeout_ms: timeout(m, "credentials.timeout-ms")?,
    })
}

fn publish(v: &Value, needs_topic: bool) -> Result<PublishSettings, FileError> {
    let m = object(v, "publish")?;
    only(m, "publish.", &["topic", "interval-ms", "count", "first"])?;
    let topic = match m.get("topic") {
        None if !needs_topic => None,
        None => return Err(err("publish.topic", "missing")),
        Some(v) => {
            let topic = string(v, "publish.topic")?;
            if topic.is_empty() || topic.contains(['+', '#']) {
                return Err(err(
                    "publish.topic",
                    format!("expected a topic name without wildcards, got \"{topic}\""),
                ));
            }
            Some(topic)
        }
    };
    let int = |key: &str, field: &str, min: u64| -> Result<Option<u64>, FileError> {
        m.get(key)
            .map(|v| {
                v.as_u64().filter(|n| *n >= min).ok_or_else(|| {
                    err(
                        field,
                        format!("expected an integer of at least {min}, got {}", shown(v)),
                    )
                })
            })
            .transpose()
    };
    Ok(PublishSettings {
        topic,
        interval_ms: int("interval-ms", "publish.interval-ms", 1)?.unwrap_or(1000),
        count: int("count", "publish.count", 0)?,
        first: int("first", "publish.first", 0)?.unwrap_or(1),
    })
}

fn outbox(v: &Value) -> Result<OutboxSettings, FileError> {
    let m = object(v, "outbox")?;
    only(m, "outbox.", &["path"])?;
    let path = string(required(m, "outbox.", "path")?, "outbox.path")?;
    if path.is_empty() || path.ends_with('/') {
        return Err(err(
            "outbox.path",
            format!("expected a file name, got \"{}\"", path.escape_debug()),
        ));
    }
    Ok(OutboxSettings {
        path: PathBuf::from(path),
    })
}

fn timeout(m: &Map<String, Value>, field: &str) -> Result<u64, FileError> {
    let key = field.rsplit('.').next().unwrap_or(field);
    match m.get(key) {
        None => Ok(10_000),
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=600_000).contains(n))
            .ok_or_else(|| {
                err(
                    field,
                    format!("expected an integer from 1 to 600000, got {}", shown(v)),
                )
            }),
    }
}

fn endpoint(v: &Value, field: &str) -> Result<String, FileError> {
    let s = string(v, field)?;
    let rest = s
        .strip_prefix("http://")
        .ok_or_else(|| err(field, format!("expected an http:// URL, got \"{s}\"")))?;
    let authority = rest.split('/').next().unwrap_or("");
    if super::split_address(authority, 80).is_none() {
        return Err(err(
            field,
            format!("expected http://HOST:PORT, got \"{s}\""),
        ));
    }
    Ok(s.trim_end_matches('/').to_string())
}

fn path_segment(v: &Value, field: &str) -> Result<String, FileError> {
    let s = string(v, field)?;
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
    {
        return Err(err(
            field,
            format!("expected letters, digits, '-', '.', '_' or '~', got \"{s}\""),
        ));
    }
    Ok(s)
}

fn required<'a>(
    m: &'a Map<String, Value>,
    prefix: &str,
    key: &str,
) -> Result<&'a Value, FileError> {
    m.get(key)
        .ok_or_else(|| err(&format!("{prefix}{key}"), "missing"))
}

fn object<'a>(v: &'a Value, field: &str) -> Result<&'a Map<String, Value>, FileError> {
    v.as_object()
        .ok_or_else(|| err(field, format!("expected an object, got {}", shown(v))))
}

fn string(v: &Value, field: &str) -> Result<String, FileError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| err(field, format!("expected a string, got {}", shown(v))))
}

fn only(m: &Map<String, Value>, prefix: &str, known: &[&str]) -> Result<(), FileError> {
    match m.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(err(
            &format!("{prefix}{k}"),
            format!("unknown field (expected one of: {})", known.join(", ")),
        )),
        None => Ok(()),
    }
}

/// A JSON value in an error message, cut short.
fn shown(v: &Value) -> String {
    let kind = match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "the number",
        Value::String(_) => "the string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    match v {
        Value::Number(_) | Value::String(_) => {
            let text: String = v.to_string().chars().take(40).collect();
            format!("{kind} {text}")
        }
        _ => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_full_file_reads() {
        let f = DeviceFile::parse(
            r#"{"connection": {"hub": "127.0.0.1:1883", "device-id": "d1"},
                "mqtt": {"version": 3, "keep-alive-s": 2, "tls": {"ca-file": "ca.pem"},
                         "credential-format": "user:password"},
                "provisioning": {"endpoint": "http://127.0.0.1:9/", "id-scope": "0ne1", "registration-id": "d1"},
                "credentials": {"endpoint": "http://127.0.0.1:9"},
                "publish": {"topic": "t/d1", "interval-ms": 50, "count": 10}}"#,
        )
        .unwrap();
        assert_eq!(f.device_id.as_deref(), Some("d1"));
        assert_eq!(f.mqtt.version, MqttVersion::V311);
        assert_eq!(f.mqtt.keep_alive_s, 2);
        assert_eq!(f.mqtt.credential_format, CredentialFormat::UserPassword);
        assert_eq!(f.provisioning.unwrap().endpoint, "http://127.0.0.1:9");
        assert_eq!(f.publish.unwrap().count, Some(10));
        assert!(f.connection.contains("\"hub\""));
    }

    /// Found by the device file fuzz target: a connection string in the wrong
    /// field was quoted back, key and all.
    #[test]
    fn a_misplaced_connection_string_is_not_quoted() {
        let key = "c2VjcmV0LWtleS1vZi10aGUtZGV2aWNl";
        for doc in [
            format!(
                r#"{{"profile": "HostName=h;DeviceId=d;SharedAccessKey={key}", "connection": {{}}}}"#
            ),
            format!(
                r#"{{"connection": {{"hub": "h:1"}}, "mqtt": {{"transport": "HostName=h;SharedAccessKey={key}"}}}}"#
            ),
        ] {
            let e = DeviceFile::parse(&doc).unwrap_err();
            assert!(!e.to_string().contains(key), "{e}");
            assert!(e.message.contains("expected"), "{e}");
            assert!(
                e.message
                    .ends_with("got a value holding a key or token (not shown)")
            );
        }
        // A message that only names the key is kept.
        let named = "does not start with `SharedAccessSignature `";
        assert_eq!(err("connection.x", named).message, named);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (r#"{}"#, "connection"),
            (
                r#"{"connection": {}, "mqtt": {"version": 4.5}}"#,
                "mqtt.version",
            ),
            (
                r#"{"connection": {}, "mqtt": {"keep-alive-s": 2}}"#,
                "mqtt.keep-alive-s",
            ),
            (
                r#"{"connection": {}, "mqtt": {"tls": {"cert-file": "c.pem"}}}"#,
                "mqtt.tls.key-file",
            ),
            (r#"{"connection": {}, "profile": "azure"}"#, "profile"),
            (
                r#"{"connection": {}, "profile": "azure-iot-hub", "mqtt": {"version": 5}}"#,
                "mqtt.version",
            ),
            (
                r#"{"connection": {}, "profile": "azure-iot-hub", "mqtt": {"client-id": "x"}}"#,
                "mqtt.client-id",
            ),
            (
                r#"{"connection": {}, "profile": "aws-iot-core"}"#,
                "mqtt.tls.cert-file",
            ),
            (r#"{"connection": {}, "mqtt": {"port": 0}}"#, "mqtt.port"),
            (
                r#"{"connection": {}, "mqtt": {"model-id": "dtmi:x;1"}}"#,
                "mqtt.model-id",
            ),
            (
                r#"{"connection": {}, "publish": {"interval-ms": 5}}"#,
                "publish.topic",
            ),
            (
                r#"{"connection": {}, "mqtt": {"colour": 1}}"#,
                "mqtt.colour",
            ),
            (
                r#"{"connection": {}, "provisioning": {"endpoint": "ftp://x:1", "id-scope": "s", "registration-id": "r"}}"#,
                "provisioning.endpoint",
            ),
            (
                r#"{"connection": {}, "provisioning": {"endpoint": "http://x:1", "registration-id": "r"}}"#,
                "provisioning.id-scope",
            ),
            (
                r#"{"connection": {}, "publish": {"topic": "a/#"}}"#,
                "publish.topic",
            ),
            (
                r#"{"connection": {}, "publish": {"topic": "a", "interval-ms": 0}}"#,
                "publish.interval-ms",
            ),
            (r#"{"connection": {}, "extra": 1}"#, "extra"),
            (r#"{"connection": {}, "outbox": {}}"#, "outbox.path"),
            (
                r#"{"connection": {}, "outbox": {"path": ""}}"#,
                "outbox.path",
            ),
            (
                r#"{"connection": {}, "outbox": {"path": 3}}"#,
                "outbox.path",
            ),
            (
                r#"{"connection": {}, "outbox": {"path": "o", "sync": 1}}"#,
                "outbox.sync",
            ),
        ];
        for (text, field) in cases {
            let e = DeviceFile::parse(text).unwrap_err();
            assert_eq!(e.field, field, "{text}: {e}");
        }
    }
}
