//! What IoT Hub expects of an MQTT client: the CONNECT fields and the topics.

use alloc::format;
use alloc::string::String;

use super::connection_string::HubIdentity;
use super::sas::encode;
use crate::types::ConfigError;

/// The generally available IoT Hub MQTT API version.
pub const DEFAULT_API_VERSION: &str = "2021-04-12";

/// The keep-alive asked for when the application gives none, in seconds.
pub const DEFAULT_KEEP_ALIVE_S: u32 = 60;

/// The largest keep-alive IoT Hub honours: it allows 1.5 times the client's value
/// up to 1767 s, so 1177 s is the most a client can ask for.
pub const MAX_KEEP_ALIVE_S: u32 = 1177;

/// The TLS port of IoT Hub's MQTT endpoint.
const MQTTS_PORT: u16 = 8883;

/// What the application may choose about its MQTT session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MqttOptions {
    /// The API version in the user name; [`DEFAULT_API_VERSION`] when `None`.
    pub api_version: Option<String>,
    /// A query parameter describing the client (for example
    /// `DeviceClientType=tether%2F0.1`), appended to the user name as given.
    pub user_agent: Option<String>,
    /// An IoT Plug and Play model id (`dtmi:...`), percent-encoded into the user name.
    pub model_id: Option<String>,
    /// Keep-alive in seconds; [`DEFAULT_KEEP_ALIVE_S`] when `None`, clamped to
    /// 1..=[`MAX_KEEP_ALIVE_S`].
    pub keep_alive_s: Option<u32>,
}

/// The MQTT settings of one IoT Hub identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MqttSettings {
    /// Where to connect: the gateway when there is one, else the hub.
    pub host: String,
    /// The TLS port.
    pub port: u16,
    /// CONNECT client id: `{device}` or `{device}/{module}`.
    pub client_id: String,
    /// CONNECT user name: `{hub}/{device}[/{module}]/?api-version=..[&..]`.
    pub user_name: String,
    /// Where telemetry goes (without a property bag).
    pub telemetry_topic: String,
    /// The cloud-to-device subscription; modules have none.
    pub cloud_to_device_filter: Option<String>,
    /// The keep-alive to ask for, clamped.
    pub keep_alive_s: u32,
    /// IoT Hub keeps sessions: the SDKs connect with clean-session off.
    pub clean_session: bool,
}

fn query_value(field: &str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::new(field, "is empty"));
    }
    // The user name is one token of a URI query: no spaces, controls or separators
    // that would end it.
    if value
        .bytes()
        .any(|b| !b.is_ascii_graphic() || matches!(b, b'&' | b'?' | b'#' | b'/'))
    {
        return Err(ConfigError::new(
            field,
            "must be printable ASCII without spaces, `&`, `?`, `#` or `/`",
        ));
    }
    Ok(())
}

/// The CONNECT fields and topics for `identity`.
pub fn hub_mqtt_settings(
    identity: &HubIdentity,
    options: &MqttOptions,
) -> Result<MqttSettings, ConfigError> {
    let api_version = options
        .api_version
        .as_deref()
        .unwrap_or(DEFAULT_API_VERSION);
    query_value("api-version", api_version)?;
    let mut user_name = match &identity.module_id {
        Some(module) => format!(
            "{}/{}/{module}/?api-version={api_version}",
            identity.host_name, identity.device_id
        ),
        None => format!(
            "{}/{}/?api-version={api_version}",
            identity.host_name, identity.device_id
        ),
    };
    if let Some(agent) = &options.user_agent {
        query_value("user-agent", agent)?;
        user_name.push('&');
        user_name.push_str(agent);
    }
    if let Some(model) = &options.model_id {
        if model.is_empty() {
            return Err(ConfigError::new("model-id", "is empty"));
        }
        user_name.push_str("&model-id=");
        user_name.push_str(&encode(model));
    }
    let client_id = match &identity.module_id {
        Some(module) => format!("{}/{module}", identity.device_id),
        None => identity.device_id.clone(),
    };
    let keep_alive_s = options
        .keep_alive_s
        .unwrap_or(DEFAULT_KEEP_ALIVE_S)
        .clamp(1, MAX_KEEP_ALIVE_S);
    Ok(MqttSettings {
        host: identity
            .gateway_host_name
            .clone()
            .unwrap_or_else(|| identity.host_name.clone()),
        port: MQTTS_PORT,
        client_id,
        user_name,
        telemetry_topic: telemetry_topic(&identity.device_id, identity.module_id.as_deref(), &[])?,
        cloud_to_device_filter: match identity.module_id {
            Some(_) => None,
            None => Some(format!(
                "devices/{}/messages/devicebound/#",
                identity.device_id
            )),
        },
        keep_alive_s,
        clean_session: false,
    })
}

/// The telemetry topic with a property bag: `devices/{d}/messages/events/k=v&k2=v2`
/// (modules: `devices/{d}/modules/{m}/messages/events/..`), names and values
/// percent-encoded.
pub fn telemetry_topic(
    device_id: &str,
    module_id: Option<&str>,
    properties: &[(String, String)],
) -> Result<String, ConfigError> {
    if device_id.is_empty() {
        return Err(ConfigError::new("device-id", "is empty"));
    }
    let mut topic = match module_id {
        Some("") => return Err(ConfigError::new("module-id", "is empty")),
        Some(module) => format!("devices/{device_id}/modules/{module}/messages/events/"),
        None => format!("devices/{device_id}/messages/events/"),
    };
    for (index, (name, value)) in properties.iter().enumerate() {
        if name.is_empty() {
            return Err(ConfigError::new(
                format!("properties[{index}]"),
                "has an empty name",
            ));
        }
        if index > 0 {
            topic.push('&');
        }
        topic.push_str(&encode(name));
        topic.push('=');
        topic.push_str(&encode(value));
    }
    Ok(topic)
}
