//! Which topics an identity may publish to and subscribe to. IoT Hub "only supports
//! the documented topic names and topic filters" (Azure docs, "Communicate with an
//! IoT hub using the MQTT protocol", Receiving cloud-to-device messages); over
//! MQTT it answers anything else by closing the link ("AMQP returns errors for many
//! conditions, while MQTT terminates the connection", same page).

use super::registry::IdentityId;

/// How many topic filters one link may hold at a time: "A device can only
/// subscribe to five topics at a time" (same page).
pub const MAX_SUBSCRIPTIONS: usize = 5;

/// Whether `id` may publish on `topic`: its telemetry topic (with or without a
/// property bag), twin requests, direct-method replies.
pub fn may_publish(id: &IdentityId, topic: &str) -> bool {
    if has_wildcard(topic) {
        return false;
    }
    let telemetry = telemetry_prefix(id);
    topic.starts_with(&telemetry)
        || topic.starts_with("$iothub/twin/GET/")
        || topic.starts_with("$iothub/twin/PATCH/properties/reported/")
        || topic.starts_with("$iothub/methods/res/")
}

/// Whether `id` may subscribe to `filter`: its cloud-to-device messages (devices),
/// its inputs (modules: `devices/{d}/modules/{m}/#`), twin responses and desired
/// property patches, direct-method requests.
pub fn may_subscribe(id: &IdentityId, filter: &str) -> bool {
    let own = match &id.module {
        None => format!("devices/{}/messages/devicebound/#", id.device),
        Some(m) => format!("devices/{}/modules/{m}/#", id.device),
    };
    filter == own
        || filter == "$iothub/twin/res/#"
        || filter == "$iothub/twin/PATCH/properties/desired/#"
        || filter == "$iothub/methods/POST/#"
}

/// `devices/{d}/messages/events/` or `devices/{d}/modules/{m}/messages/events/`.
pub fn telemetry_prefix(id: &IdentityId) -> String {
    match &id.module {
        None => format!("devices/{}/messages/events/", id.device),
        Some(m) => format!("devices/{}/modules/{m}/messages/events/", id.device),
    }
}

/// The topic the hub delivers a cloud-to-device message on.
pub fn devicebound_topic(device: &str, bag: &str) -> String {
    format!("devices/{device}/messages/devicebound/{bag}")
}

fn has_wildcard(topic: &str) -> bool {
    topic.contains(['#', '+'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_publishes_only_on_its_own_topics() {
        let d = IdentityId::device("dev-1");
        assert!(may_publish(&d, "devices/dev-1/messages/events/"));
        assert!(may_publish(&d, "devices/dev-1/messages/events/a=1&b=2"));
        assert!(may_publish(&d, "$iothub/twin/GET/?$rid=1"));
        assert!(may_publish(&d, "$iothub/methods/res/200/?$rid=7"));
        assert!(!may_publish(&d, "devices/dev-2/messages/events/"));
        assert!(!may_publish(&d, "devices/dev-1/messages/devicebound/"));
        assert!(!may_publish(&d, "devices/dev-1/messages/events/#"));
        assert!(!may_publish(&d, "anything/else"));
        let m = IdentityId::module("dev-1", "m1");
        assert!(may_publish(&m, "devices/dev-1/modules/m1/messages/events/"));
        assert!(!may_publish(&m, "devices/dev-1/messages/events/"));
    }

    #[test]
    fn a_device_subscribes_only_to_its_own_filters() {
        let d = IdentityId::device("dev-1");
        assert!(may_subscribe(&d, "devices/dev-1/messages/devicebound/#"));
        assert!(may_subscribe(&d, "$iothub/twin/res/#"));
        assert!(may_subscribe(&d, "$iothub/methods/POST/#"));
        assert!(!may_subscribe(&d, "devices/dev-2/messages/devicebound/#"));
        assert!(!may_subscribe(&d, "devices/+/messages/devicebound/#"));
        assert!(!may_subscribe(&d, "#"));
        let m = IdentityId::module("dev-1", "m1");
        assert!(may_subscribe(&m, "devices/dev-1/modules/m1/#"));
        assert!(!may_subscribe(&m, "devices/dev-1/messages/devicebound/#"));
    }
}
