//! The identity functions under fuzzing: connection strings (built from arbitrary
//! segments or raw text), the tokens minted from them, SAS and DPS tokens, device
//! keys, IoT Hub MQTT settings and telemetry topics.
//!
//! Each call goes to the component (through `tether_host`) and to the native core,
//! which must give the same answer, error field and message included. Every token
//! either returns is then checked independently, as the service checks it
//! (HMAC-SHA256 here, not the core's code), and no error message may show a key.

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use std::cell::RefCell;
use tether_core::identity as native;
use tether_core::types::ConfigError as NativeError;
use tether_host::{Instance, Runtime};

/// One identity case: calls, in order.
#[derive(Arbitrary, Debug)]
pub struct IdentityCase {
    /// The calls (at most 32 run).
    pub calls: Vec<Call>,
}

/// One identity function and its arguments.
#[derive(Arbitrary, Debug)]
#[allow(missing_docs)]
pub enum Call {
    Parse(Cs),
    Token(Cs, u64),
    Sas {
        uri: Text,
        key: Key,
        key_name: Option<Text>,
        expiry: u64,
    },
    Dps {
        scope: Text,
        registration: Text,
        key: Key,
        expiry: u64,
    },
    Derive {
        group: Key,
        registration: Text,
    },
    Settings {
        cs: Cs,
        api_version: Option<Text>,
        user_agent: Option<Text>,
        model_id: Option<Text>,
        keep_alive_s: Option<u32>,
    },
    Topic {
        device: Text,
        module: Option<Text>,
        properties: Vec<(Text, Text)>,
    },
}

/// A connection string: segments put together, or raw text.
#[derive(Arbitrary, Debug)]
#[allow(missing_docs)]
pub enum Cs {
    Segments {
        segments: Vec<Segment>,
        trailing: bool,
    },
    Raw(String),
}

/// One `Key=Value` segment (or a broken one).
#[derive(Arbitrary, Debug)]
#[allow(missing_docs)]
pub struct Segment {
    pub name: u8,
    pub value: Value,
    pub spaces: bool,
    pub no_equals: bool,
}

/// A segment's value.
#[derive(Arbitrary, Debug)]
#[allow(missing_docs)]
pub enum Value {
    Text(Text),
    Key(Key),
    Signature(Text),
    True,
}

/// Text: one of a few telling values, or anything.
#[derive(Arbitrary, Debug)]
#[allow(missing_docs)]
pub enum Text {
    Pick(u8),
    Raw(String),
}

/// A key: base64 of some bytes (a secret that must never be shown), or raw text.
#[derive(Arbitrary, Debug)]
#[allow(missing_docs)]
pub enum Key {
    Bytes(Vec<u8>),
    Raw(String),
}

const NAMES: [&str; 10] = [
    "HostName",
    "DeviceId",
    "ModuleId",
    "SharedAccessKey",
    "SharedAccessKeyName",
    "SharedAccessSignature",
    "GatewayHostName",
    "x509",
    "hostname",
    "Other",
];

const TEXTS: [&str; 12] = [
    "hub-1.azure-devices.net",
    "sensor-1",
    "edge",
    "0ne00000001",
    "a b/c?d",
    "ünï",
    "",
    " ",
    "%41",
    "gw.local",
    "dtmi:com:example;1",
    "2021-04-12",
];

impl Text {
    fn text(&self) -> String {
        match self {
            Text::Pick(i) => TEXTS
                .get(usize::from(*i).checked_rem(TEXTS.len()).unwrap_or(0))
                .copied()
                .unwrap_or_default()
                .to_string(),
            Text::Raw(s) => s.clone(),
        }
    }
}

impl Key {
    /// The key's text, and the secret to look for in messages (a generated key of
    /// at least 12 bytes, which cannot turn up in a message by chance).
    fn text(&self) -> (String, Option<String>) {
        match self {
            Key::Bytes(b) => {
                let b = b.get(..b.len().min(64)).unwrap_or_default();
                let k = STANDARD.encode(b);
                let secret = (b.len() >= 12).then(|| k.clone());
                (k, secret)
            }
            Key::Raw(s) => (s.clone(), None),
        }
    }
}

impl Cs {
    fn text(&self, secrets: &mut Vec<String>) -> String {
        match self {
            Cs::Raw(s) => s.clone(),
            Cs::Segments { segments, trailing } => {
                let mut out = String::new();
                for (i, s) in segments.iter().take(12).enumerate() {
                    if i > 0 {
                        out.push(';');
                    }
                    let name = NAMES
                        .get(usize::from(s.name).checked_rem(NAMES.len()).unwrap_or(0))
                        .copied()
                        .unwrap_or_default();
                    let value = match &s.value {
                        Value::Text(t) => t.text(),
                        Value::Key(k) => {
                            let (k, secret) = k.text();
                            secrets.extend(secret);
                            k
                        }
                        Value::Signature(t) => format!("SharedAccessSignature {}", t.text()),
                        Value::True => "true".into(),
                    };
                    if s.spaces {
                        out.push(' ');
                    }
                    out.push_str(name);
                    if !s.no_equals {
                        out.push('=');
                    }
                    out.push_str(&value);
                }
                if *trailing {
                    out.push(';');
                }
                out
            }
        }
    }
}

thread_local! {
    static INSTANCE: RefCell<Option<Instance>> = const { RefCell::new(None) };
}

/// Run one case. `Err` is a finding.
///
/// # Errors
/// A trap, a disagreement between the component and the native core, a token
/// that does not verify, or a key shown in a message.
pub fn run(case: &IdentityCase) -> Result<(), String> {
    INSTANCE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let runtime = Runtime::shared().map_err(|e| format!("{e:#}"))?;
            *slot = Some(runtime.instantiate_real().map_err(|e| format!("{e:#}"))?);
        }
        let instance = slot.as_mut().ok_or("no instance")?;
        for call in case.calls.iter().take(32) {
            let outcome = one(instance, call);
            if outcome.is_err() {
                // A trap leaves the instance unusable; the next case gets a new one.
                *slot = None;
                return outcome;
            }
        }
        Ok(())
    })
}

/// What a component call gave, in the native core's terms.
fn host<T>(r: tether_host::Result<T>) -> Result<Result<T, NativeError>, String> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(tether_host::Error::Config(e)) => Ok(Err(NativeError {
            field: e.field,
            message: e.message,
        })),
        Err(other) => Err(format!("the component failed: {other:#}")),
    }
}

fn same<T: PartialEq + std::fmt::Debug>(
    what: &str,
    component: &Result<T, NativeError>,
    native: &Result<T, NativeError>,
) -> Result<(), String> {
    if component == native {
        Ok(())
    } else {
        Err(format!(
            "{what}: the component and the native core disagree:\ncomponent: {component:?}\nnative:    {native:?}"
        ))
    }
}

fn hidden<T>(r: &Result<T, NativeError>, secrets: &[String]) -> Result<(), String> {
    if let Err(e) = r {
        for s in secrets {
            if e.field.contains(s.as_str()) || e.message.contains(s.as_str()) {
                return Err(format!(
                    "an error shows the key: {}: {}",
                    e.field, e.message
                ));
            }
        }
    }
    Ok(())
}

fn one(instance: &mut Instance, call: &Call) -> Result<(), String> {
    let mut secrets = Vec::new();
    match call {
        Call::Parse(cs) => {
            let text = cs.text(&mut secrets);
            let component = host(instance.parse_connection_string(&text))?.map(|i| identity(&i));
            let native = native::ConnectionString::parse(&text).map(|c| c.identity().clone());
            same("parse-connection-string", &component, &native)?;
            hidden(&native, &secrets)
        }
        Call::Token(cs, expiry) => {
            let text = cs.text(&mut secrets);
            let component = host(instance.connection_string_token(&text, *expiry))?;
            let parsed = native::ConnectionString::parse(&text);
            let native = parsed.clone().and_then(|c| c.token(*expiry));
            same("connection-string-token", &component, &native)?;
            hidden(&native, &secrets)?;
            if let (Ok(token), Ok(cs)) = (&native, &parsed)
                && let Some(key) = cs.key()
            {
                let id = cs.identity();
                let uri = match &id.module_id {
                    Some(m) => format!("{}/devices/{}/modules/{m}", id.host_name, id.device_id),
                    None => format!("{}/devices/{}", id.host_name, id.device_id),
                };
                verify(token, &uri, key, id.key_name.as_deref(), *expiry)?;
            }
            Ok(())
        }
        Call::Sas {
            uri,
            key,
            key_name,
            expiry,
        } => {
            let (uri, (key, secret)) = (uri.text(), key.text());
            secrets.extend(secret);
            let name = key_name.as_ref().map(Text::text);
            let component = host(instance.sas_token(&uri, &key, name.as_deref(), *expiry))?;
            let native = native::sas_token(&uri, &key, name.as_deref(), *expiry);
            same("sas-token", &component, &native)?;
            hidden(&native, &secrets)?;
            if let Ok(token) = &native {
                verify(token, &uri, &key, name.as_deref(), *expiry)?;
            }
            Ok(())
        }
        Call::Dps {
            scope,
            registration,
            key,
            expiry,
        } => {
            let (scope, reg, (key, secret)) = (scope.text(), registration.text(), key.text());
            secrets.extend(secret);
            let component = host(instance.dps_token(&scope, &reg, &key, *expiry))?;
            let native = native::dps_token(&scope, &reg, &key, *expiry);
            same("dps-token", &component, &native)?;
            hidden(&native, &secrets)?;
            if let Ok(token) = &native {
                let uri = format!("{scope}/registrations/{reg}");
                verify(token, &uri, &key, Some("registration"), *expiry)?;
            }
            Ok(())
        }
        Call::Derive {
            group,
            registration,
        } => {
            let (reg, (key, secret)) = (registration.text(), group.text());
            secrets.extend(secret);
            let component = host(instance.derive_device_key(&key, &reg))?;
            let native = native::derive_device_key(&key, &reg);
            same("derive-device-key", &component, &native)?;
            hidden(&native, &secrets)?;
            if let Ok(derived) = &native {
                let expected = sign(&key, reg.as_bytes()).ok_or("derived from a bad key")?;
                if *derived != expected {
                    return Err(format!("derive-device-key: {derived} is not {expected}"));
                }
            }
            Ok(())
        }
        Call::Settings {
            cs,
            api_version,
            user_agent,
            model_id,
            keep_alive_s,
        } => {
            let text = cs.text(&mut secrets);
            let Ok(parsed) = native::ConnectionString::parse(&text) else {
                return Ok(());
            };
            let id = parsed.identity();
            let options = native::MqttOptions {
                api_version: api_version.as_ref().map(Text::text),
                user_agent: user_agent.as_ref().map(Text::text),
                model_id: model_id.as_ref().map(Text::text),
                keep_alive_s: *keep_alive_s,
            };
            let native = native::hub_mqtt_settings(id, &options).map(|s| {
                (
                    s.host,
                    s.port,
                    s.client_id,
                    s.user_name,
                    s.telemetry_topic,
                    s.cloud_to_device_filter,
                    s.keep_alive_s,
                )
            });
            let component = host(instance.hub_mqtt_settings(
                &tether_host::identity::HubIdentity {
                    host_name: id.host_name.clone(),
                    device_id: id.device_id.clone(),
                    module_id: id.module_id.clone(),
                    gateway_host_name: id.gateway_host_name.clone(),
                    key_name: id.key_name.clone(),
                    auth: match id.auth {
                        native::AuthMethod::SharedAccessKey => {
                            tether_host::identity::AuthMethod::SharedAccessKey
                        }
                        native::AuthMethod::SharedAccessSignature => {
                            tether_host::identity::AuthMethod::SharedAccessSignature
                        }
                        native::AuthMethod::X509 => tether_host::identity::AuthMethod::X509,
                    },
                },
                &tether_host::identity::MqttOptions {
                    api_version: options.api_version.clone(),
                    user_agent: options.user_agent.clone(),
                    model_id: options.model_id.clone(),
                    keep_alive_s: options.keep_alive_s,
                },
            ))?
            .map(|s| {
                (
                    s.host,
                    s.port,
                    s.client_id,
                    s.user_name,
                    s.telemetry_topic,
                    s.cloud_to_device_filter,
                    s.keep_alive_s,
                )
            });
            same("hub-mqtt-settings", &component, &native)?;
            hidden(&native, &secrets)
        }
        Call::Topic {
            device,
            module,
            properties,
        } => {
            let device = device.text();
            let module = module.as_ref().map(Text::text);
            let props: Vec<(String, String)> = properties
                .iter()
                .take(8)
                .map(|(k, v)| (k.text(), v.text()))
                .collect();
            let component = host(instance.telemetry_topic(&device, module.as_deref(), &props))?;
            let native = native::telemetry_topic(&device, module.as_deref(), &props);
            same("telemetry-topic", &component, &native)
        }
    }
}

fn identity(i: &tether_host::identity::HubIdentity) -> native::HubIdentity {
    native::HubIdentity {
        host_name: i.host_name.clone(),
        device_id: i.device_id.clone(),
        module_id: i.module_id.clone(),
        gateway_host_name: i.gateway_host_name.clone(),
        key_name: i.key_name.clone(),
        auth: match i.auth {
            tether_host::identity::AuthMethod::SharedAccessKey => {
                native::AuthMethod::SharedAccessKey
            }
            tether_host::identity::AuthMethod::SharedAccessSignature => {
                native::AuthMethod::SharedAccessSignature
            }
            tether_host::identity::AuthMethod::X509 => native::AuthMethod::X509,
        },
    }
}

/// base64(HMAC-SHA256(base64-decode(key), text)), or `None` for a key that is not
/// base64.
fn sign(key: &str, text: &[u8]) -> Option<String> {
    let key = STANDARD.decode(key).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(text);
    Some(STANDARD.encode(mac.finalize().into_bytes()))
}

fn decoded(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Check `token` as the service does: its fields, its resource (decoded) against
/// `uri`, its expiry, its key name, and its signature over the resource as sent.
fn verify(
    token: &str,
    uri: &str,
    key: &str,
    key_name: Option<&str>,
    expiry: u64,
) -> Result<(), String> {
    let bad = |why: &str| Err(format!("token {token:?} for {uri:?}: {why}"));
    let Some(rest) = token.strip_prefix("SharedAccessSignature ") else {
        return bad("no `SharedAccessSignature ` prefix");
    };
    let (mut sr, mut sig, mut se, mut skn) = (None, None, None, None);
    for pair in rest.split('&') {
        let Some((k, v)) = pair.split_once('=') else {
            return bad("a field is not k=v");
        };
        let slot = match k {
            "sr" => &mut sr,
            "sig" => &mut sig,
            "se" => &mut se,
            "skn" => &mut skn,
            _ => return bad("an unknown field"),
        };
        if slot.replace(v).is_some() {
            return bad("a field twice");
        }
    }
    let (Some(sr), Some(sig), Some(se)) = (sr, sig, se) else {
        return bad("sr, sig or se missing");
    };
    if decoded(sr) != uri {
        return bad("sr names another resource");
    }
    if se != expiry.to_string() {
        return bad("se is not the expiry");
    }
    if skn.map(decoded).as_deref() != key_name {
        return bad("skn is not the key name");
    }
    let expected = sign(key, format!("{sr}\n{se}").as_bytes());
    if expected.as_deref() != Some(decoded(sig).as_str()) {
        return bad("the signature does not match the key");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const KEY: &str = "c2VjcmV0LWtleS1vZi10aGUtZGV2aWNl";

    #[test]
    fn a_minted_token_verifies_and_a_tampered_one_does_not() {
        let uri = "hub-1.azure-devices.net/devices/sensor-1";
        let token = native::sas_token(uri, KEY, None, 1_700_000_000).unwrap();
        verify(&token, uri, KEY, None, 1_700_000_000).unwrap();
        assert!(verify(&token, uri, KEY, None, 1_700_000_001).is_err());
        assert!(verify(&token, "hub-2/devices/sensor-1", KEY, None, 1_700_000_000).is_err());
        assert!(verify(&token, uri, "b3RoZXIta2V5", None, 1_700_000_000).is_err());
        assert!(verify(&token, uri, KEY, Some("owner"), 1_700_000_000).is_err());
        let forged = token.replacen("sig=", "sig=A", 1);
        assert!(verify(&forged, uri, KEY, None, 1_700_000_000).is_err());
    }

    #[test]
    fn a_key_in_a_message_is_a_finding() {
        let shown = Err::<(), _>(NativeError {
            field: "SharedAccessKey".into(),
            message: format!("bad key {KEY}"),
        });
        assert!(hidden(&shown, &[KEY.into()]).is_err());
    }

    #[test]
    fn every_call_runs_through_both_sides() {
        let key = Key::Bytes(b"0123456789abcdef".to_vec());
        let cs = || Cs::Segments {
            segments: vec![
                Segment {
                    name: 0,
                    value: Value::Text(Text::Pick(0)),
                    spaces: false,
                    no_equals: false,
                },
                Segment {
                    name: 1,
                    value: Value::Text(Text::Pick(1)),
                    spaces: false,
                    no_equals: false,
                },
                Segment {
                    name: 3,
                    value: Value::Key(Key::Bytes(b"0123456789abcdef".to_vec())),
                    spaces: true,
                    no_equals: false,
                },
            ],
            trailing: true,
        };
        let case = IdentityCase {
            calls: vec![
                Call::Parse(cs()),
                Call::Token(cs(), 1_700_000_000),
                Call::Sas {
                    uri: Text::Pick(4),
                    key,
                    key_name: Some(Text::Pick(2)),
                    expiry: 5,
                },
                Call::Dps {
                    scope: Text::Pick(3),
                    registration: Text::Pick(5),
                    key: Key::Bytes(vec![1; 32]),
                    expiry: 9,
                },
                Call::Derive {
                    group: Key::Bytes(vec![2; 32]),
                    registration: Text::Pick(1),
                },
                Call::Settings {
                    cs: cs(),
                    api_version: None,
                    user_agent: Some(Text::Pick(8)),
                    model_id: Some(Text::Pick(10)),
                    keep_alive_s: Some(5000),
                },
                Call::Topic {
                    device: Text::Pick(1),
                    module: None,
                    properties: vec![(Text::Pick(4), Text::Pick(5))],
                },
            ],
        };
        run(&case).unwrap();
    }
}
