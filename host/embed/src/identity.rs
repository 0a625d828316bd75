//! The component's `identity` interface: connection strings, SAS tokens, DPS keys
//! and IoT Hub MQTT settings, computed by the component (never here) so every host
//! gets the same bytes.

use crate::bindings::exports::tether::reconnect::identity as x;
use crate::error::Result;
use crate::instance::Instance;

pub use x::{AuthMethod, HubIdentity, MqttOptions, MqttSettings};

impl Instance {
    /// What an IoT Hub connection string says, without its secret. A malformed
    /// string is [`Error::Config`](crate::Error::Config) naming the key.
    pub fn parse_connection_string(&mut self, text: &str) -> Result<HubIdentity> {
        Ok(self.query(|d, s| {
            d.tether_reconnect_identity()
                .call_parse_connection_string(s, text)
        })??)
    }

    /// The connection string's token valid until `expiry` (Unix seconds).
    pub fn connection_string_token(&mut self, text: &str, expiry: u64) -> Result<String> {
        Ok(self.query(|d, s| {
            d.tether_reconnect_identity()
                .call_connection_string_token(s, text, expiry)
        })??)
    }

    /// A SAS token for `resource_uri`, signed with `key` (base64).
    pub fn sas_token(
        &mut self,
        resource_uri: &str,
        key: &str,
        key_name: Option<&str>,
        expiry: u64,
    ) -> Result<String> {
        Ok(self.query(|d, s| {
            d.tether_reconnect_identity()
                .call_sas_token(s, resource_uri, key, key_name, expiry)
        })??)
    }

    /// The resource URI of a device or module token.
    pub fn hub_resource_uri(
        &mut self,
        host_name: &str,
        device_id: &str,
        module_id: Option<&str>,
    ) -> Result<String> {
        self.query(|d, s| {
            d.tether_reconnect_identity()
                .call_hub_resource_uri(s, host_name, device_id, module_id)
        })
    }

    /// A DPS registration token (`skn=registration`).
    pub fn dps_token(
        &mut self,
        id_scope: &str,
        registration_id: &str,
        key: &str,
        expiry: u64,
    ) -> Result<String> {
        Ok(self.query(|d, s| {
            d.tether_reconnect_identity()
                .call_dps_token(s, id_scope, registration_id, key, expiry)
        })??)
    }

    /// A group enrollment's device key for `registration_id`.
    pub fn derive_device_key(&mut self, group_key: &str, registration_id: &str) -> Result<String> {
        Ok(self.query(|d, s| {
            d.tether_reconnect_identity()
                .call_derive_device_key(s, group_key, registration_id)
        })??)
    }

    /// The MQTT CONNECT fields and topics of `identity`.
    pub fn hub_mqtt_settings(
        &mut self,
        identity: &HubIdentity,
        options: &MqttOptions,
    ) -> Result<MqttSettings> {
        Ok(self.query(|d, s| {
            d.tether_reconnect_identity()
                .call_hub_mqtt_settings(s, identity, options)
        })??)
    }

    /// The telemetry topic with a percent-encoded property bag.
    pub fn telemetry_topic(
        &mut self,
        device_id: &str,
        module_id: Option<&str>,
        properties: &[(String, String)],
    ) -> Result<String> {
        Ok(self.query(|d, s| {
            d.tether_reconnect_identity()
                .call_telemetry_topic(s, device_id, module_id, properties)
        })??)
    }
}
