//! The `identity` vectors (FORMAT.md): one call of the component's `identity`
//! interface, its arguments as a JSON object, and the canonical line of its answer.

use anyhow::{Context as _, anyhow, bail};
use serde_json::Value;
use tether_host::identity::{AuthMethod, HubIdentity, MqttOptions, MqttSettings};
use tether_host::{Instance, Runtime};

use super::{config_error_line, fresh_instance};
use crate::config_verdict;

/// Every call an identity vector may name, in the WIT's order.
pub const CALLS: [&str; 8] = [
    "parse-connection-string",
    "connection-string-token",
    "sas-token",
    "hub-resource-uri",
    "dps-token",
    "derive-device-key",
    "hub-mqtt-settings",
    "telemetry-topic",
];

fn text<'a>(args: &'a Value, key: &str) -> anyhow::Result<&'a str> {
    args.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("`args` needs the string `{key}`"))
}

fn optional<'a>(args: &'a Value, key: &str) -> anyhow::Result<Option<&'a str>> {
    match args.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .map(Some)
            .ok_or_else(|| anyhow!("`{key}` is not a string")),
    }
}

fn number(args: &Value, key: &str) -> anyhow::Result<u64> {
    args.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("`args` needs the number `{key}`"))
}

fn owned(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

fn auth_in(name: &str) -> anyhow::Result<AuthMethod> {
    Ok(match name {
        "shared-access-key" => AuthMethod::SharedAccessKey,
        "shared-access-signature" => AuthMethod::SharedAccessSignature,
        "x509" => AuthMethod::X509,
        other => bail!("unknown auth `{other}`"),
    })
}

fn auth_name(a: AuthMethod) -> &'static str {
    match a {
        AuthMethod::SharedAccessKey => "shared-access-key",
        AuthMethod::SharedAccessSignature => "shared-access-signature",
        AuthMethod::X509 => "x509",
    }
}

fn dash(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

/// `ok <host> <device> <module> <gateway> <key-name> <auth>`, `-` for none.
fn identity_line(i: &HubIdentity) -> String {
    format!(
        "ok {} {} {} {} {} {}",
        i.host_name,
        i.device_id,
        dash(&i.module_id),
        dash(&i.gateway_host_name),
        dash(&i.key_name),
        auth_name(i.auth)
    )
}

/// `ok <host> <port> <client-id> <user-name> <telemetry> <c2d> <keep-alive> <clean>`.
fn settings_line(s: &MqttSettings) -> String {
    format!(
        "ok {} {} {} {} {} {} {} {}",
        s.host,
        s.port,
        s.client_id,
        s.user_name,
        s.telemetry_topic,
        dash(&s.cloud_to_device_filter),
        s.keep_alive_s,
        s.clean_session
    )
}

fn string_line(answer: tether_host::Result<String>) -> anyhow::Result<String> {
    Ok(match config_verdict(answer)? {
        Ok(s) => format!("ok {s}"),
        Err(e) => config_error_line(&e),
    })
}

fn hub_identity(v: &Value) -> anyhow::Result<HubIdentity> {
    Ok(HubIdentity {
        host_name: text(v, "host-name")?.to_string(),
        device_id: text(v, "device-id")?.to_string(),
        module_id: owned(optional(v, "module-id")?),
        gateway_host_name: owned(optional(v, "gateway-host-name")?),
        key_name: owned(optional(v, "key-name")?),
        auth: auth_in(text(v, "auth")?)?,
    })
}

fn mqtt_options(v: &Value) -> anyhow::Result<MqttOptions> {
    Ok(MqttOptions {
        api_version: owned(optional(v, "api-version")?),
        user_agent: owned(optional(v, "user-agent")?),
        model_id: owned(optional(v, "model-id")?),
        keep_alive_s: match v.get("keep-alive-s") {
            None => None,
            Some(n) => Some(
                n.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| anyhow!("`keep-alive-s` is not a u32"))?,
            ),
        },
    })
}

fn properties(args: &Value) -> anyhow::Result<Vec<(String, String)>> {
    let list = args
        .get("properties")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("`args` needs the list `properties`"))?;
    list.iter()
        .map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([Value::String(k), Value::String(v)]) => Ok((k.clone(), v.clone())),
            _ => bail!("a property is not a [name, value] pair of strings"),
        })
        .collect()
}

fn call(instance: &mut Instance, name: &str, args: &Value) -> anyhow::Result<String> {
    match name {
        "parse-connection-string" => Ok(
            match config_verdict(instance.parse_connection_string(text(args, "text")?))? {
                Ok(i) => identity_line(&i),
                Err(e) => config_error_line(&e),
            },
        ),
        "connection-string-token" => string_line(
            instance.connection_string_token(text(args, "text")?, number(args, "expiry")?),
        ),
        "sas-token" => string_line(instance.sas_token(
            text(args, "resource-uri")?,
            text(args, "key")?,
            optional(args, "key-name")?,
            number(args, "expiry")?,
        )),
        "hub-resource-uri" => Ok(format!(
            "ok {}",
            instance.hub_resource_uri(
                text(args, "host-name")?,
                text(args, "device-id")?,
                optional(args, "module-id")?,
            )?
        )),
        "dps-token" => string_line(instance.dps_token(
            text(args, "id-scope")?,
            text(args, "registration-id")?,
            text(args, "key")?,
            number(args, "expiry")?,
        )),
        "derive-device-key" => string_line(
            instance.derive_device_key(text(args, "group-key")?, text(args, "registration-id")?),
        ),
        "hub-mqtt-settings" => {
            let identity = hub_identity(args.get("identity").context("`args` needs `identity`")?)?;
            let options = mqtt_options(args.get("options").unwrap_or(&Value::Null))?;
            Ok(
                match config_verdict(instance.hub_mqtt_settings(&identity, &options))? {
                    Ok(s) => settings_line(&s),
                    Err(e) => config_error_line(&e),
                },
            )
        }
        "telemetry-topic" => string_line(instance.telemetry_topic(
            text(args, "device-id")?,
            optional(args, "module-id")?,
            &properties(args)?,
        )),
        other => bail!(
            "unknown identity call `{other}` (known: {})",
            CALLS.join(", ")
        ),
    }
}

/// The canonical line of one identity vector.
pub fn run(runtime: &Runtime, name: &str, args: &Value) -> anyhow::Result<String> {
    let (mut instance, _) = fresh_instance(runtime)?;
    call(&mut instance, name, args).with_context(|| format!("identity call `{name}`"))
}
