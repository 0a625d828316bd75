//! The device file parser of `tether run` under fuzzing: JSON documents built from
//! the file's own section and field names with values of every JSON type (and
//! keys planted where keys belong), or raw text.
//!
//! The parser must answer every document without a panic; an error names a field
//! (the whole file, a section or a field in one); no error and no debug view of
//! the provisioning settings shows a key; an IoT Hub profile's connection string
//! goes to the component (as `tether run` does), which must not trap on it.

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use std::cell::RefCell;
use tether_device::config::DeviceFile;
use tether_host::{Instance, Runtime};

/// One device file case.
#[derive(Arbitrary, Debug)]
#[allow(missing_docs)]
pub enum FileCase {
    /// A JSON object made of sections.
    Document(Vec<Section>),
    /// Any text.
    Raw(String),
}

/// A top-level field and its value.
#[derive(Arbitrary, Debug)]
#[allow(missing_docs)]
pub struct Section {
    pub name: u8,
    pub value: Node,
}

/// A JSON value.
#[derive(Arbitrary, Debug)]
#[allow(missing_docs)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Small(u16),
    Float(f64),
    Text(u8),
    Raw(String),
    /// A base64 key (a secret: it must never be shown).
    Key(Vec<u8>),
    /// A connection string with a key.
    ConnectionString {
        device: u8,
        key: Vec<u8>,
    },
    Array(Vec<Node>),
    Object(Vec<(u8, Node)>),
}

const SECTIONS: [&str; 7] = [
    "profile",
    "connection",
    "mqtt",
    "provisioning",
    "credentials",
    "publish",
    "unknown",
];

/// Field names of every section and of the component's configuration, so that
/// objects reach the checks past "unknown field".
const FIELDS: [&str; 40] = [
    "hub",
    "device-id",
    "connection-string",
    "credential",
    "sas",
    "key",
    "key-name",
    "module-id",
    "policy",
    "version",
    "keep-alive-s",
    "connect-timeout-s",
    "tls",
    "ca-file",
    "cert-file",
    "key-file",
    "username",
    "client-id",
    "credential-format",
    "model-id",
    "port",
    "transport",
    "websocket-path",
    "endpoint",
    "id-scope",
    "registration-id",
    "timeout-ms",
    "symmetric-key",
    "group-key",
    "token-lifetime-s",
    "topic",
    "interval-ms",
    "count",
    "first",
    "kind",
    "initial-ms",
    "queue",
    "server-name",
    "insecure",
    "other",
];

const TEXTS: [&str; 16] = [
    "mqtt",
    "azure-iot-hub",
    "aws-iot-core",
    "127.0.0.1:1883",
    "sensor-1",
    "http://127.0.0.1:8080",
    "https://127.0.0.1:8443",
    "mqtts://127.0.0.1:8883",
    "0ne00000001",
    "websockets",
    "tcp",
    "/$iothub/websocket",
    "password",
    "5",
    "3.1.1",
    "",
];

fn pick<'a>(items: &[&'a str], i: u8) -> &'a str {
    items
        .get(usize::from(i).checked_rem(items.len()).unwrap_or(0))
        .copied()
        .unwrap_or_default()
}

/// A base64 key of `bytes`, remembered as a secret when `secret` (a key of at
/// least 12 bytes, which cannot turn up in a message by chance).
fn key(bytes: &[u8], secret: bool, secrets: &mut Vec<String>) -> String {
    let b = bytes.get(..bytes.len().min(48)).unwrap_or_default();
    let k = STANDARD.encode(b);
    if b.len() >= 12 {
        // The same text planted as plain text too may be quoted: marked, and left
        // out of the secrets at the end (`document`).
        secrets.push(if secret {
            k.clone()
        } else {
            format!("{PLAIN}{k}")
        });
    }
    k
}

const PLAIN: &str = "\0plain:";

/// The fields whose value is a key. A bare key elsewhere is just text to the
/// parser, which may quote it; a connection string is recognisable anywhere.
const KEY_FIELDS: [&str; 3] = ["key", "symmetric-key", "group-key"];

impl Node {
    fn json(&self, depth: u8, field: &str, secrets: &mut Vec<String>) -> Value {
        let deeper = depth.saturating_add(1);
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::from(*i),
            Node::Small(i) => Value::from(*i),
            Node::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Node::Text(i) => Value::from(pick(&TEXTS, *i)),
            Node::Raw(s) => Value::from(s.as_str()),
            Node::Key(b) => Value::from(key(b, KEY_FIELDS.contains(&field), secrets)),
            Node::ConnectionString { device, key: k } => Value::from(format!(
                "HostName=hub-1.azure-devices.net;DeviceId={};SharedAccessKey={}",
                pick(&TEXTS, *device),
                key(k, true, secrets)
            )),
            Node::Array(items) if depth < 4 => Value::Array(
                items
                    .iter()
                    .take(8)
                    .map(|n| n.json(deeper, field, secrets))
                    .collect(),
            ),
            Node::Object(fields) if depth < 4 => {
                let mut m = Map::new();
                for (name, n) in fields.iter().take(12) {
                    let name = pick(&FIELDS, *name);
                    m.insert(name.into(), n.json(deeper, name, secrets));
                }
                Value::Object(m)
            }
            Node::Array(_) | Node::Object(_) => Value::Null,
        }
    }
}

/// The case's text, with the keys planted in it.
fn document(case: &FileCase, secrets: &mut Vec<String>) -> String {
    match case {
        FileCase::Raw(s) => s.clone(),
        FileCase::Document(sections) => {
            let mut m = Map::new();
            for s in sections.iter().take(10) {
                let name = pick(&SECTIONS, s.name);
                m.insert(name.into(), s.value.json(0, name, secrets));
            }
            let plain: Vec<String> = secrets
                .iter()
                .filter_map(|s| s.strip_prefix(PLAIN).map(str::to_string))
                .collect();
            secrets
                .retain(|s| !s.starts_with(PLAIN) && !plain.iter().any(|p| p.contains(s.as_str())));
            Value::Object(m).to_string()
        }
    }
}

thread_local! {
    static INSTANCE: RefCell<Option<Instance>> = const { RefCell::new(None) };
}

/// Run one case. `Err` is a finding.
///
/// # Errors
/// An error without a field, a key shown, or a trap in the component.
pub fn run(case: &FileCase) -> Result<(), String> {
    let mut secrets = Vec::new();
    let text = document(case, &mut secrets);
    let shows = |text: &str| secrets.iter().any(|s| text.contains(s.as_str()));
    let mut file = match DeviceFile::parse(&text) {
        Ok(file) => file,
        Err(e) => {
            let section = e.field.split('.').next().unwrap_or_default();
            if e.field.is_empty() || e.message.is_empty() {
                return Err(format!("an error without a field or message: {e:?}"));
            }
            // Raw text may name any field; a built document only its own.
            let built = matches!(case, FileCase::Document(_));
            if built && e.field != "(file)" && !SECTIONS.contains(&section) {
                return Err(format!("an error names no field of the file: {e:?}"));
            }
            if shows(&e.to_string()) {
                return Err(format!("an error shows a key: {e}"));
            }
            return Ok(());
        }
    };
    if shows(&format!("{:?}", file.provisioning)) || shows(&format!("{:?}", file.mqtt)) {
        return Err("the debug view of the settings shows a key".into());
    }
    let connection: Value = serde_json::from_str(&file.connection)
        .map_err(|e| format!("the accepted connection is not JSON: {e}"))?;
    let Some(connection) = connection.as_object() else {
        return Err("the accepted connection is not an object".into());
    };
    INSTANCE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let runtime = Runtime::shared().map_err(|e| format!("{e:#}"))?;
            *slot = Some(runtime.instantiate_real().map_err(|e| format!("{e:#}"))?);
        }
        let instance = slot.as_mut().ok_or("no instance")?;
        match tether_device::profile::read_connection(&mut file.profile, connection, instance) {
            Ok(()) => Ok(()),
            Err(e) if !e.field.starts_with("connection") => {
                Err(format!("a connection error names another field: {e:?}"))
            }
            Err(e) if e.message.contains("wasm") || e.message.contains("trap") => {
                *slot = None;
                Err(format!(
                    "the component failed on the connection string: {e}"
                ))
            }
            Err(e) if shows(&e.to_string()) => Err(format!("an error shows a key: {e}")),
            Err(_) => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn field(name: &str) -> u8 {
        u8::try_from(FIELDS.iter().position(|f| *f == name).unwrap()).unwrap()
    }

    fn text(value: &str) -> Node {
        Node::Text(u8::try_from(TEXTS.iter().position(|t| *t == value).unwrap()).unwrap())
    }

    /// An IoT Hub file with a connection string and a DPS symmetric key: accepted,
    /// and it reaches the component's connection-string check.
    #[test]
    fn a_built_iot_hub_file_is_accepted_and_its_keys_stay_hidden() {
        let case = FileCase::Document(vec![
            Section {
                name: 0,
                value: text("azure-iot-hub"),
            },
            Section {
                name: 1,
                value: Node::Object(vec![(
                    field("connection-string"),
                    Node::ConnectionString {
                        device: 4,
                        key: vec![7; 32],
                    },
                )]),
            },
            Section {
                name: 3,
                value: Node::Object(vec![
                    (field("endpoint"), text("https://127.0.0.1:8443")),
                    (field("id-scope"), text("0ne00000001")),
                    (field("registration-id"), text("sensor-1")),
                    (field("symmetric-key"), Node::Key(vec![9; 32])),
                ]),
            },
        ]);
        let mut secrets = Vec::new();
        let doc = document(&case, &mut secrets);
        assert_eq!(secrets.len(), 2);
        let file = DeviceFile::parse(&doc).unwrap();
        assert!(!format!("{:?}", file.provisioning).contains(secrets.get(1).unwrap()));
        run(&case).unwrap();
    }

    #[test]
    fn a_bad_value_is_an_error_naming_its_field() {
        let case = FileCase::Document(vec![
            Section {
                name: 1,
                value: Node::Object(vec![(field("hub"), text("127.0.0.1:1883"))]),
            },
            Section {
                name: 2,
                value: Node::Object(vec![(field("keep-alive-s"), Node::Bool(true))]),
            },
        ]);
        let e = DeviceFile::parse(&document(&case, &mut Vec::new())).unwrap_err();
        assert_eq!(e.field, "mqtt.keep-alive-s");
        run(&case).unwrap();
    }
}
