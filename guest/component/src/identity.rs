//! The `identity` export: WIT values in and out of `tether_core::identity`.

use alloc::string::String;
use alloc::vec::Vec;

use tether_core::identity as id;

use crate::exports::tether::reconnect::identity as x;
use crate::{Component, config_error_out, w};

fn identity_out(i: &id::HubIdentity) -> x::HubIdentity {
    x::HubIdentity {
        host_name: i.host_name.clone(),
        device_id: i.device_id.clone(),
        module_id: i.module_id.clone(),
        gateway_host_name: i.gateway_host_name.clone(),
        key_name: i.key_name.clone(),
        auth: match i.auth {
            id::AuthMethod::SharedAccessKey => x::AuthMethod::SharedAccessKey,
            id::AuthMethod::SharedAccessSignature => x::AuthMethod::SharedAccessSignature,
            id::AuthMethod::X509 => x::AuthMethod::X509,
        },
    }
}

fn identity_in(i: x::HubIdentity) -> id::HubIdentity {
    id::HubIdentity {
        host_name: i.host_name,
        device_id: i.device_id,
        module_id: i.module_id,
        gateway_host_name: i.gateway_host_name,
        key_name: i.key_name,
        auth: match i.auth {
            x::AuthMethod::SharedAccessKey => id::AuthMethod::SharedAccessKey,
            x::AuthMethod::SharedAccessSignature => id::AuthMethod::SharedAccessSignature,
            x::AuthMethod::X509 => id::AuthMethod::X509,
        },
    }
}

impl x::Guest for Component {
    fn parse_connection_string(text: String) -> Result<x::HubIdentity, w::ConfigError> {
        id::ConnectionString::parse(&text)
            .map(|cs| identity_out(cs.identity()))
            .map_err(config_error_out)
    }

    fn connection_string_token(text: String, expiry: u64) -> Result<String, w::ConfigError> {
        id::ConnectionString::parse(&text)
            .and_then(|cs| cs.token(expiry))
            .map_err(config_error_out)
    }

    fn sas_token(
        resource_uri: String,
        key: String,
        key_name: Option<String>,
        expiry: u64,
    ) -> Result<String, w::ConfigError> {
        id::sas_token(&resource_uri, &key, key_name.as_deref(), expiry).map_err(config_error_out)
    }

    fn hub_resource_uri(host_name: String, device_id: String, module_id: Option<String>) -> String {
        id::hub_resource_uri(&host_name, &device_id, module_id.as_deref())
    }

    fn dps_token(
        id_scope: String,
        registration_id: String,
        key: String,
        expiry: u64,
    ) -> Result<String, w::ConfigError> {
        id::dps_token(&id_scope, &registration_id, &key, expiry).map_err(config_error_out)
    }

    fn derive_device_key(
        group_key: String,
        registration_id: String,
    ) -> Result<String, w::ConfigError> {
        id::derive_device_key(&group_key, &registration_id).map_err(config_error_out)
    }

    fn hub_mqtt_settings(
        identity: x::HubIdentity,
        options: x::MqttOptions,
    ) -> Result<x::MqttSettings, w::ConfigError> {
        let options = id::MqttOptions {
            api_version: options.api_version,
            user_agent: options.user_agent,
            model_id: options.model_id,
            keep_alive_s: options.keep_alive_s,
        };
        let s =
            id::hub_mqtt_settings(&identity_in(identity), &options).map_err(config_error_out)?;
        Ok(x::MqttSettings {
            host: s.host,
            port: s.port,
            client_id: s.client_id,
            user_name: s.user_name,
            telemetry_topic: s.telemetry_topic,
            cloud_to_device_filter: s.cloud_to_device_filter,
            keep_alive_s: s.keep_alive_s,
            clean_session: s.clean_session,
        })
    }

    fn telemetry_topic(
        device_id: String,
        module_id: Option<String>,
        properties: Vec<(String, String)>,
    ) -> Result<String, w::ConfigError> {
        id::telemetry_topic(&device_id, module_id.as_deref(), &properties).map_err(config_error_out)
    }
}
