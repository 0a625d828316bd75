//! DPS over MQTT (3.1.1 over TLS, rumqttc), as azure-sdk-for-c's
//! `az_iot_provisioning_client.c` speaks it:
//!
//! - client id = registration id; user name
//!   `{idScope}/registrations/{registrationId}/api-version=2019-03-31`; password =
//!   the registration SAS token (empty for X.509, which the TLS handshake proves);
//! - subscribe `$dps/registrations/res/#`;
//! - register: publish `$dps/registrations/PUT/iotdps-register/?$rid={rid}` with
//!   `{"registrationId": ...}`; poll: publish
//!   `$dps/registrations/GET/iotdps-get-operationstatus/?$rid={rid}&operationId={op}`;
//! - the answer arrives on `$dps/registrations/res/{status}/?$rid={rid}&retry-after={s}`
//!   with the same JSON body as over HTTPS.
//!
//! Each register or poll is one short session (connect, subscribe, publish,
//! answer, disconnect): the operation lives on the service, so a poll needs no
//! earlier connection, and no link is held open between the component's waits.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, TlsConfiguration, Transport};

use super::settings::ProvisioningSettings;
use super::{MQTT_API_VERSION, answer};
use crate::http::Response;
use crate::{net, split_address};
use tether_host::{ApplicationError, FailureKind, NetworkError, ProvisioningResult};

/// The topic filter the answers arrive on.
pub const RESPONSE_FILTER: &str = "$dps/registrations/res/#";

/// The MQTT user name for `settings`.
pub fn user_name(settings: &ProvisioningSettings) -> String {
    format!(
        "{}/registrations/{}/api-version={MQTT_API_VERSION}",
        settings.id_scope, settings.registration_id
    )
}

/// The request topic: register (`operation` `None`) or poll.
pub fn request_topic(rid: &str, operation: Option<&str>) -> String {
    match operation {
        None => format!("$dps/registrations/PUT/iotdps-register/?$rid={rid}"),
        Some(op) => format!(
            "$dps/registrations/GET/iotdps-get-operationstatus/?$rid={rid}&operationId={op}"
        ),
    }
}

/// An answer topic's status, `$rid` and `retry-after` (seconds).
pub fn parse_response_topic(topic: &str) -> Option<(u16, String, Option<u64>)> {
    let rest = topic.strip_prefix("$dps/registrations/res/")?;
    let (status, query) = rest.split_once("/?")?;
    let status = status.parse().ok()?;
    let mut rid = None;
    let mut retry_after = None;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("$rid", v)) => rid = Some(v.to_string()),
            Some(("retry-after", v)) => retry_after = v.parse().ok(),
            _ => {}
        }
    }
    Some((status, rid?, retry_after))
}

/// One register or poll over MQTT, within the section's timeout.
pub(crate) async fn exchange(
    settings: &ProvisioningSettings,
    tls: Arc<rustls::ClientConfig>,
    token: Option<String>,
    operation: Option<String>,
) -> ProvisioningResult {
    let limit = Duration::from_millis(settings.timeout_ms);
    match tokio::time::timeout(limit, session(settings, tls, token, operation)).await {
        Ok(result) => result,
        Err(_) => ProvisioningResult::Failed(net(NetworkError::Timeout)),
    }
}

async fn session(
    settings: &ProvisioningSettings,
    tls: Arc<rustls::ClientConfig>,
    token: Option<String>,
    operation: Option<String>,
) -> ProvisioningResult {
    static NEXT_RID: AtomicU64 = AtomicU64::new(1);
    let Some((host, port)) = split_address(settings.authority().0, 8883) else {
        return ProvisioningResult::Failed(crate::plain(FailureKind::Application(
            ApplicationError::BadEndpoint,
        )));
    };
    let mut options = MqttOptions::new(&settings.registration_id, host, port);
    options.set_credentials(user_name(settings), token.unwrap_or_default());
    options.set_keep_alive(Duration::from_secs(30));
    options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
    let (client, mut events) = AsyncClient::new(options, 8);
    let rid = NEXT_RID.fetch_add(1, Ordering::Relaxed).to_string();
    let topic = request_topic(&rid, operation.as_deref());
    let payload = match &operation {
        None => serde_json::json!({ "registrationId": settings.registration_id }).to_string(),
        Some(_) => String::new(),
    };
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                let _ = client.try_subscribe(RESPONSE_FILTER, QoS::AtLeastOnce);
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                let _ = client.try_publish(&topic, QoS::AtLeastOnce, false, payload.clone());
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let Some((status, their_rid, retry_after)) = parse_response_topic(&p.topic) else {
                    continue;
                };
                if their_rid != rid {
                    continue;
                }
                let _ = client.try_disconnect();
                let body = serde_json::from_slice(&p.payload).unwrap_or(serde_json::Value::Null);
                return answer(&Response {
                    status,
                    retry_after_ms: retry_after.map(|s| s.saturating_mul(1000)),
                    body,
                });
            }
            Ok(_) => {}
            Err(e) => return ProvisioningResult::Failed(crate::mqtt::v4_failure(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // Topic and user-name shapes as in azure-sdk-for-c
    // sdk/src/azure/iot/az_iot_provisioning_client.c and the DPS MQTT docs.
    #[test]
    fn topics_and_user_name_have_the_documented_shapes() {
        assert_eq!(
            request_topic("7", None),
            "$dps/registrations/PUT/iotdps-register/?$rid=7"
        );
        assert_eq!(
            request_topic("7", Some("4.abc")),
            "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=7&operationId=4.abc"
        );
        assert_eq!(
            parse_response_topic("$dps/registrations/res/202/?$rid=7&retry-after=3"),
            Some((202, "7".into(), Some(3)))
        );
        assert_eq!(
            parse_response_topic("$dps/registrations/res/200/?$rid=9"),
            Some((200, "9".into(), None))
        );
        assert_eq!(
            parse_response_topic("$dps/registrations/res/x/?$rid=9"),
            None
        );
        let s = super::super::parse_settings(&serde_json::json!({
            "endpoint": "mqtts://127.0.0.1:8883", "transport": "mqtt",
            "id-scope": "0ne1", "registration-id": "d1"}))
        .unwrap();
        assert_eq!(
            user_name(&s),
            "0ne1/registrations/d1/api-version=2019-03-31"
        );
    }
}
