//! Service profiles: what the device file's `"profile"` implies for the MQTT link.
//!
//! - `mqtt` (the default): any broker. The `mqtt` section says everything (version,
//!   user name, client id, TLS), as before profiles existed.
//! - `azure-iot-hub`: MQTT 3.1.1 over TLS on 8883 with CleanSession 0. The client
//!   id, user name (`{hub}/{device}/?api-version=..`) and keep-alive come from the
//!   component's `identity.hub-mqtt-settings` for the hub of each `open`, so a hub
//!   assigned by DPS gets a user name of its own; the password is the SAS token the
//!   component minted (none for X.509, whose certificate goes in TLS).
//! - `aws-iot-core`: MQTT (3.1.1 or 5) over TLS with a client certificate, client id
//!   the thing name (`connection.device-id`), no user name or password; on port 443
//!   the ALPN protocol `x-amzn-mqtt-ca`; keep-alive 30 to 1200 s.
//!
//! Fields a profile decides are refused in the `mqtt` section, naming the field,
//! rather than silently overridden.

use std::fmt;

use serde_json::{Map, Value};

use super::settings::{FileError, MqttSettings, MqttVersion};
use tether_host::identity::{AuthMethod, HubIdentity, MqttOptions};
use tether_host::{ConfigError, Instance};

/// Where IoT Hub serves MQTT over WebSockets.
pub const IOTHUB_WEBSOCKET_PATH: &str = "/$iothub/websocket";

/// The ALPN protocol AWS IoT Core expects for MQTT on port 443.
pub const AWS_ALPN: &str = "x-amzn-mqtt-ca";

/// Which service the device talks to.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Profile {
    /// Any MQTT broker.
    #[default]
    Mqtt,
    /// Azure IoT Hub.
    AzureIotHub(AzureIotHub),
    /// AWS IoT Core.
    AwsIotCore,
}

/// What the IoT Hub profile knows about the identity beyond `open`'s hub and
/// device: from the connection string, when the connection has one.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AzureIotHub {
    /// The connection string's identity (no secret), when there is one.
    pub identity: Option<HubIdentity>,
    /// `mqtt.model-id`: an IoT Plug and Play model id.
    pub model_id: Option<String>,
}

impl Profile {
    /// The profile's name as the device file spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Profile::Mqtt => "mqtt",
            Profile::AzureIotHub(_) => "azure-iot-hub",
            Profile::AwsIotCore => "aws-iot-core",
        }
    }

    /// The MQTT session's clean flag: the clouds keep sessions (and the messages
    /// queued for an offline device), so they are resumed.
    pub fn clean_session(&self) -> bool {
        matches!(self, Profile::Mqtt)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn err(field: &str, message: impl Into<String>) -> FileError {
    crate::settings::err(field, message)
}

/// The profile named by the device file's `profile` field (`mqtt` when absent).
///
/// # Errors
/// An unknown name, naming `profile`.
pub fn parse_name(v: Option<&Value>) -> Result<Profile, FileError> {
    match v {
        None => Ok(Profile::Mqtt),
        Some(Value::String(s)) => match s.as_str() {
            "mqtt" => Ok(Profile::Mqtt),
            "azure-iot-hub" => Ok(Profile::AzureIotHub(AzureIotHub::default())),
            "aws-iot-core" => Ok(Profile::AwsIotCore),
            other => Err(err(
                "profile",
                format!(
                    "expected \"mqtt\", \"azure-iot-hub\" or \"aws-iot-core\", got \"{}\"",
                    other.escape_debug()
                ),
            )),
        },
        Some(_) => Err(err("profile", "expected a string")),
    }
}

/// Check the `mqtt` section against the profile and fill in what the profile
/// decides. `raw` is the section as written (to tell a default from a choice).
///
/// # Errors
/// A field the profile decides, or a value the service does not accept.
pub fn apply(
    profile: &mut Profile,
    raw: Option<&Map<String, Value>>,
    mqtt: &mut MqttSettings,
) -> Result<(), FileError> {
    let given = |key: &str| raw.is_some_and(|m| m.contains_key(key));
    let name = profile.name();
    let decided = |key: &str, what: &str| -> Result<(), FileError> {
        if given(key) {
            Err(err(
                &format!("mqtt.{key}"),
                format!("is set by the {name} profile ({what})"),
            ))
        } else {
            Ok(())
        }
    };
    match profile {
        Profile::Mqtt => {
            if given("model-id") {
                return Err(err(
                    "mqtt.model-id",
                    "is an Azure IoT Hub setting (profile azure-iot-hub)",
                ));
            }
        }
        Profile::AzureIotHub(hub) => {
            decided("username", "{hub}/{device}/?api-version=..")?;
            decided("client-id", "the device id")?;
            decided("credential-format", "the SAS token is the password")?;
            decided("websocket-path", "/$iothub/websocket")?;
            mqtt.websocket_path = IOTHUB_WEBSOCKET_PATH.to_string();
            if mqtt.websockets && mqtt.port.is_none() {
                // IoT Hub serves MQTT over WebSockets on 443 only.
                mqtt.port = Some(443);
            }
            if given("version") && mqtt.version != MqttVersion::V311 {
                return Err(err(
                    "mqtt.version",
                    "IoT Hub speaks MQTT 3.1.1 (its MQTT 5 is a preview with other rules): give 3 or leave it out",
                ));
            }
            mqtt.version = MqttVersion::V311;
            mqtt.tls = true;
            if !given("keep-alive-s") {
                // The Azure SDKs' default.
                mqtt.keep_alive_s = 60;
            }
            hub.model_id = raw
                .and_then(|m| m.get("model-id"))
                .map(|v| {
                    v.as_str()
                        .filter(|s| s.starts_with("dtmi:"))
                        .map(str::to_string)
                        .ok_or_else(|| err("mqtt.model-id", "expected a model id \"dtmi:...\""))
                })
                .transpose()?;
        }
        Profile::AwsIotCore => {
            decided("username", "certificates only")?;
            decided("credential-format", "certificates only")?;
            if given("model-id") {
                return Err(err(
                    "mqtt.model-id",
                    "is an Azure IoT Hub setting (profile azure-iot-hub)",
                ));
            }
            mqtt.tls = true;
            if mqtt.client_cert.is_none() {
                return Err(err(
                    "mqtt.tls.cert-file",
                    "missing: AWS IoT Core authenticates devices by their X.509 certificate",
                ));
            }
            if given("keep-alive-s") && !(30..=1200).contains(&mqtt.keep_alive_s) {
                return Err(err(
                    "mqtt.keep-alive-s",
                    format!(
                        "AWS IoT Core accepts 30 to 1200 s, got {}",
                        mqtt.keep_alive_s
                    ),
                ));
            }
            if !given("keep-alive-s") {
                mqtt.keep_alive_s = 60;
            }
        }
    }
    Ok(())
}

/// What the IoT Hub profile takes from the connection configuration: the
/// connection string's identity (asked of the component, which also checks it).
///
/// # Errors
/// A malformed connection string, naming its key under `connection.`.
pub fn read_connection(
    profile: &mut Profile,
    connection: &Map<String, Value>,
    identity: &mut Instance,
) -> Result<(), FileError> {
    let Profile::AzureIotHub(hub) = profile else {
        return Ok(());
    };
    let Some(text) = connection.get("connection-string").and_then(Value::as_str) else {
        return Ok(());
    };
    hub.identity = Some(
        identity
            .parse_connection_string(text)
            .map_err(|e| match e {
                tether_host::Error::Config(ConfigError { field, message }) => err(
                    &if field == "connection-string" {
                        format!("connection.{field}")
                    } else {
                        format!("connection.connection-string.{field}")
                    },
                    message,
                ),
                other => err("connection.connection-string", other.to_string()),
            })?,
    );
    Ok(())
}

/// The CONNECT fields of one IoT Hub link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubConnect {
    /// Client id.
    pub client_id: String,
    /// User name.
    pub user_name: String,
    /// Keep-alive to ask for, in seconds.
    pub keep_alive_s: u16,
    /// Whether the password is the token (false for X.509).
    pub uses_token: bool,
}

/// The IoT Hub CONNECT fields for a link to `host` (the `open`'s hub without its
/// port) as `device`, from the component.
///
/// # Errors
/// The component's refusal (an id IoT Hub would refuse, say).
pub fn hub_connect(
    hub: &AzureIotHub,
    host: &str,
    device: &str,
    keep_alive_s: u16,
    identity: &mut Instance,
) -> Result<HubConnect, tether_host::Error> {
    // The connection string's identity when this link goes where it says (its
    // gateway or its hub); a hub assigned by provisioning is an identity of its own.
    let id = match &hub.identity {
        Some(id)
            if id.device_id == device
                && id.gateway_host_name.as_deref().unwrap_or(&id.host_name) == host =>
        {
            id.clone()
        }
        _ => HubIdentity {
            host_name: host.to_string(),
            device_id: device.to_string(),
            module_id: None,
            gateway_host_name: None,
            key_name: None,
            auth: hub
                .identity
                .as_ref()
                .map_or(AuthMethod::SharedAccessKey, |i| i.auth),
        },
    };
    let options = MqttOptions {
        api_version: None,
        user_agent: Some(format!(
            "DeviceClientType=tether%2F{}",
            env!("CARGO_PKG_VERSION")
        )),
        model_id: hub.model_id.clone(),
        keep_alive_s: Some(u32::from(keep_alive_s)),
    };
    let s = identity.hub_mqtt_settings(&id, &options)?;
    Ok(HubConnect {
        client_id: s.client_id,
        user_name: s.user_name,
        keep_alive_s: u16::try_from(s.keep_alive_s).unwrap_or(u16::MAX),
        uses_token: id.auth != AuthMethod::X509,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn identity() -> Instance {
        tether_host::Runtime::shared()
            .unwrap()
            .instantiate_real()
            .unwrap()
    }

    #[test]
    fn an_assigned_hub_gets_a_user_name_of_its_own() {
        let mut inst = identity();
        let hub = AzureIotHub::default();
        let c = hub_connect(&hub, "hub-b.localhost", "dev-7", 60, &mut inst).unwrap();
        assert_eq!(c.client_id, "dev-7");
        assert!(
            c.user_name.starts_with(
                "hub-b.localhost/dev-7/?api-version=2021-04-12&DeviceClientType=tether%2F"
            ),
            "{}",
            c.user_name
        );
        assert!(c.uses_token);
    }

    #[test]
    fn a_module_and_a_gateway_come_from_the_connection_string() {
        let mut inst = identity();
        let id = inst
            .parse_connection_string(
                "HostName=h.example;DeviceId=d;ModuleId=m;GatewayHostName=gw;SharedAccessKey=Zm9vYmFy",
            )
            .unwrap();
        let hub = AzureIotHub {
            identity: Some(id),
            model_id: None,
        };
        let c = hub_connect(&hub, "gw", "d", 60, &mut inst).unwrap();
        assert_eq!(c.client_id, "d/m");
        assert!(
            c.user_name.starts_with("h.example/d/m/?api-version="),
            "{}",
            c.user_name
        );
    }

    #[test]
    fn the_profile_refuses_what_it_decides() {
        let raw: Map<String, Value> = serde_json::from_str(r#"{"username": "x"}"#).unwrap();
        let mut p = Profile::AzureIotHub(AzureIotHub::default());
        let e = apply(&mut p, Some(&raw), &mut MqttSettings::default()).unwrap_err();
        assert_eq!(e.field, "mqtt.username");
        let raw: Map<String, Value> = serde_json::from_str(r#"{"version": 5}"#).unwrap();
        let mut m = MqttSettings {
            version: MqttVersion::V5,
            ..MqttSettings::default()
        };
        let e = apply(&mut p, Some(&raw), &mut m).unwrap_err();
        assert_eq!(e.field, "mqtt.version");
        let mut aws = Profile::AwsIotCore;
        let e = apply(&mut aws, None, &mut MqttSettings::default()).unwrap_err();
        assert_eq!(e.field, "mqtt.tls.cert-file");
        assert_eq!(
            parse_name(Some(&Value::from("azure"))).unwrap_err().field,
            "profile"
        );
    }
}
