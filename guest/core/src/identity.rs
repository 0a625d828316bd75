//! Who a device is on a real IoT service, and how it proves it: IoT Hub connection
//! strings, shared access signature (SAS) tokens for IoT Hub and the Device
//! Provisioning Service (DPS), group-enrollment key derivation, and the MQTT
//! settings IoT Hub expects (client id, user name, topics, keep-alive).
//!
//! One implementation for every host: the Rust, C, Python and Node hosts call these
//! through the component's `identity` interface and get the same bytes.
//!
//! Keys go in and only signatures come out. No error message, `Debug` output or
//! panic message here contains a key, a derived key or a token's signature: errors
//! name the connection-string key or argument that is wrong, never its value.
#![forbid(unsafe_code)]

mod connection_string;
mod mqtt;
mod sas;
#[cfg(test)]
mod tests;

pub use connection_string::{AuthMethod, ConnectionString, HubIdentity, MAX_CONNECTION_STRING};
pub use mqtt::{
    DEFAULT_API_VERSION, DEFAULT_KEEP_ALIVE_S, MAX_KEEP_ALIVE_S, MqttOptions, MqttSettings,
    hub_mqtt_settings, telemetry_topic,
};
pub use sas::{
    DPS_KEY_NAME, derive_device_key, dps_resource_uri, dps_token, hub_resource_uri, sas_token,
};
