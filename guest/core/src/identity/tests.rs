//! Known answers from the Azure SDKs' tests and the Azure docs (source beside each),
//! and the errors of every malformed input.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use alloc::string::{String, ToString};
use alloc::vec;

use super::*;

fn err(text: &str) -> (String, String) {
    let e = ConnectionString::parse(text).unwrap_err();
    (e.field, e.message)
}

// Azure/azure-iot-sdk-node, common/core/test/_shared_access_signature_test.js:
// resource `uri`, key base64("password"), expiry 12345.
#[test]
fn node_sdk_sas_vector() {
    assert_eq!(
        sas_token("uri", "cGFzc3dvcmQ=", None, 12345).unwrap(),
        "SharedAccessSignature sr=uri&sig=kcWxXAK2OAaAoq2oCkaGzX2NMqDB8nCyNuq2fPYCDhk%3D&se=12345"
    );
}

// Azure/azure-iot-cli-extension, azext_iot/tests/iothub/core/test_iot_ext_unit.py
// (TestSasTokenAuth): a device resource, with and without a policy name.
#[test]
fn cli_extension_sas_vector() {
    let uri = "iot-hub-for-test.azure-devices.net/devices/iot-device-for-test";
    let key = "+XLy+MVZ+aTeOnVzN2kLeB16O+kSxmz6g3rS6fAf6rw=";
    assert_eq!(
        sas_token(uri, key, None, 1_471_940_363).unwrap(),
        "SharedAccessSignature sr=iot-hub-for-test.azure-devices.net%2Fdevices%2Fiot-device-for-test\
         &sig=SIumZ1ACqqPJZ2okHDlW9MSYKykEpqsQY3z6FMOICd4%3D&se=1471940363"
    );
    let with_name = sas_token(uri, key, Some("iothubowner"), 1_471_940_363).unwrap();
    assert!(with_name.ends_with("&se=1471940363&skn=iothubowner"));
    // The key name is not part of what is signed.
    assert!(with_name.contains("&sig=SIumZ1ACqqPJZ2okHDlW9MSYKykEpqsQY3z6FMOICd4%3D&"));
}

// MicrosoftDocs/azure-docs, articles/iot-dps/how-to-legacy-device-symm-key.md
// (derive a device key from a group enrollment's key).
#[test]
fn docs_derived_key_vector() {
    let group =
        "8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw==";
    assert_eq!(
        derive_device_key(group, "sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6").unwrap(),
        "Jsm0lyGpjaVYVP2g3FnmnmG9dI/9qU24wNoykUmermc="
    );
}

#[test]
fn a_connection_string_mints_its_device_token() {
    let cs = ConnectionString::parse(
        "HostName=iot-hub-for-test.azure-devices.net;DeviceId=iot-device-for-test;\
         SharedAccessKey=+XLy+MVZ+aTeOnVzN2kLeB16O+kSxmz6g3rS6fAf6rw=",
    )
    .unwrap();
    assert_eq!(
        cs.token(1_471_940_363).unwrap(),
        sas_token(
            "iot-hub-for-test.azure-devices.net/devices/iot-device-for-test",
            "+XLy+MVZ+aTeOnVzN2kLeB16O+kSxmz6g3rS6fAf6rw=",
            None,
            1_471_940_363
        )
        .unwrap()
    );
}

#[test]
fn dps_token_signs_the_registration_resource() {
    let token = dps_token("0ne00000A0A", "my-device", "Zm9vYmFy", 1_700_000_000).unwrap();
    assert!(
        token.starts_with("SharedAccessSignature sr=0ne00000A0A%2Fregistrations%2Fmy-device&sig=")
    );
    assert!(token.ends_with("&se=1700000000&skn=registration"));
    assert_eq!(
        token,
        sas_token(
            "0ne00000A0A/registrations/my-device",
            "Zm9vYmFy",
            Some("registration"),
            1_700_000_000
        )
        .unwrap()
    );
}

// Azure/azure-iot-sdk-python, tests/unit/common/auth/test_connection_string.py: the four
// shapes it accepts.
#[test]
fn python_sdk_connection_strings() {
    let cs = ConnectionString::parse(
        "HostName=my.host.name;DeviceId=my-device;SharedAccessKey=Zm9vYmFy",
    )
    .unwrap();
    let id = cs.identity();
    assert_eq!(
        (id.host_name.as_str(), id.device_id.as_str()),
        ("my.host.name", "my-device")
    );
    assert_eq!(
        (id.module_id.clone(), id.auth),
        (None, AuthMethod::SharedAccessKey)
    );
    assert_eq!(cs.key(), Some("Zm9vYmFy"));

    let cs = ConnectionString::parse(
        "HostName=my.host.name;DeviceId=my-device;SharedAccessKey=Zm9vYmFy;GatewayHostName=mygateway",
    )
    .unwrap();
    assert_eq!(
        cs.identity().gateway_host_name.as_deref(),
        Some("mygateway")
    );

    let cs = ConnectionString::parse("HostName=my.host.name;DeviceId=my-device;x509=True").unwrap();
    assert_eq!(cs.identity().auth, AuthMethod::X509);
    assert_eq!(cs.token(1).unwrap_err().field, "x509");

    let cs = ConnectionString::parse(
        "HostName=my.host.name;DeviceId=my-device;ModuleId=my-module;SharedAccessKey=Zm9vYmFy",
    )
    .unwrap();
    assert_eq!(cs.identity().module_id.as_deref(), Some("my-module"));
    assert!(cs.token(5).unwrap().starts_with(
        "SharedAccessSignature sr=my.host.name%2Fdevices%2Fmy-device%2Fmodules%2Fmy-module&sig="
    ));
}

#[test]
fn a_given_signature_is_used_as_is() {
    let cs = ConnectionString::parse(
        "HostName=h.example;DeviceId=d;SharedAccessSignature=SharedAccessSignature sr=h.example%2Fdevices%2Fd&sig=abc&se=9",
    )
    .unwrap();
    assert_eq!(cs.identity().auth, AuthMethod::SharedAccessSignature);
    assert_eq!(
        cs.token(1).unwrap(),
        "SharedAccessSignature sr=h.example%2Fdevices%2Fd&sig=abc&se=9"
    );
    assert_eq!(cs.key(), None);
}

#[test]
fn every_malformed_connection_string_names_its_key() {
    let ok = "HostName=h.example;DeviceId=d;SharedAccessKey=Zm9vYmFy";
    assert!(ConnectionString::parse(ok).is_ok());
    assert!(ConnectionString::parse(&(ok.to_string() + ";")).is_ok());
    assert_eq!(err("DeviceId=d;SharedAccessKey=Zm9vYmFy").0, "HostName");
    assert_eq!(
        err("HostName=h.example;SharedAccessKey=Zm9vYmFy").0,
        "DeviceId"
    );
    assert_eq!(
        err("HostName=h.example;DeviceId=d;DeviceId=e;SharedAccessKey=Zm9vYmFy"),
        ("DeviceId".into(), "appears twice".into())
    );
    let (field, message) =
        err("HostName=h.example;DeviceId=d;Colour=blue;SharedAccessKey=Zm9vYmFy");
    assert_eq!(field, "Colour");
    assert!(message.contains("not a connection-string key"));
    // A key glued to its name (no `=`) is not echoed as an unknown key name.
    let glued = "HostName=h.example;DeviceId=d;SharedAccessKeyRUVFRUVFRUVFRUVFRQ==";
    let (field, message) = err(glued);
    assert_eq!(field, "segment 3");
    assert!(!message.contains("RUVF"), "{message}");
    let (field, message) = err("hostname=h.example;DeviceId=d;SharedAccessKey=Zm9vYmFy");
    assert_eq!(field, "hostname");
    assert!(message.contains("HostName"), "{message}");
    assert_eq!(
        err("HostName=;DeviceId=d;SharedAccessKey=Zm9vYmFy"),
        ("HostName".into(), "is empty".into())
    );
    assert_eq!(
        err("HostName=h.example;DeviceId=d;SharedAccessKey=not*base64"),
        ("SharedAccessKey".into(), "is not valid base64".into())
    );
    assert_eq!(
        err("HostName=h.example;DeviceId=d;SharedAccessKey=Zm9vYmFy;x509=true").0,
        "SharedAccessKey"
    );
    assert_eq!(err("HostName=h.example;DeviceId=d;x509=maybe").0, "x509");
    assert_eq!(err("HostName=h.example;DeviceId=d").0, "connection-string");
    assert_eq!(
        err("HostName=h.example;DeviceId=d;;SharedAccessKey=Zm9vYmFy").1,
        "segment 3 is not Key=Value"
    );
    assert_eq!(
        err("HostName=h.example;DeviceId=d;=x;SharedAccessKey=Zm9vYmFy").1,
        "segment 3 has no key"
    );
    assert_eq!(
        err("HostName=h example;DeviceId=d;SharedAccessKey=Zm9vYmFy").0,
        "HostName"
    );
    assert_eq!(
        err("HostName=h.example;DeviceId=d/e;SharedAccessKey=Zm9vYmFy").0,
        "DeviceId"
    );
    assert_eq!(
        err("HostName=h.example;DeviceId=d;SharedAccessKeyName=p;x509=true").0,
        "SharedAccessKeyName"
    );
    assert_eq!(err("").1, "is empty");
    let long = ok.to_string() + &";GatewayHostName=g".repeat(300);
    assert!(err(&long).1.contains("over the limit of 4096"));
}

#[test]
fn no_error_or_debug_output_shows_a_key() {
    let key = "c2VjcmV0LWtleS1ieXRlcy0xMjM0NTY3ODkw";
    let inputs = [
        "HostName=h.example;DeviceId=d;SharedAccessKey=c2VjcmV0LWtleS1ieXRlcy0xMjM0NTY3ODkw;x509=true",
        "HostName=h.example;DeviceId=d;SharedAccessKey=c2VjcmV0LWtleS1ieXRlcy0xMjM0NTY3ODkw;SharedAccessKey=c2VjcmV0LWtleS1ieXRlcy0xMjM0NTY3ODkw",
        "HostName=h.example;DeviceId=d;c2VjcmV0LWtleS1ieXRlcy0xMjM0NTY3ODkw",
        "HostName=h.example;DeviceId=d;c2VjcmV0LWtleS1ieXRlcy0xMjM0NTY3ODkw=c2VjcmV0LWtleS1ieXRlcy0xMjM0NTY3ODkw",
        "HostName=h.example;DeviceId=;SharedAccessKey=c2VjcmV0LWtleS1ieXRlcy0xMjM0NTY3ODkw",
    ];
    for input in inputs {
        let e = ConnectionString::parse(input).unwrap_err();
        let shown = alloc::format!("{e} {e:?}");
        assert!(!shown.contains(key), "{shown}");
    }
    let cs = ConnectionString::parse(
        "HostName=h.example;DeviceId=d;SharedAccessKey=c2VjcmV0LWtleS1ieXRlcy0xMjM0NTY3ODkw",
    )
    .unwrap();
    assert!(!alloc::format!("{cs:?}").contains(key));
}

// Azure/azure-sdk-for-c, sdk/tests/iot/hub/test_az_iot_hub_client.c: user names and
// client ids of a device and a module, with a user agent and a model id.
#[test]
fn c_sdk_user_names() {
    let device = HubIdentity {
        host_name: "myiothub.azure-devices.net".into(),
        device_id: "my_device".into(),
        module_id: None,
        gateway_host_name: None,
        key_name: None,
        auth: AuthMethod::SharedAccessKey,
    };
    let module = HubIdentity {
        module_id: Some("my_module_id".into()),
        ..device.clone()
    };
    let options = |api: &str, agent: Option<&str>, model: Option<&str>| MqttOptions {
        api_version: Some(api.into()),
        user_agent: agent.map(Into::into),
        model_id: model.map(Into::into),
        keep_alive_s: None,
    };
    let s = hub_mqtt_settings(&module, &options("2018-06-30", Some("os=azrtos"), None)).unwrap();
    assert_eq!(
        s.user_name,
        "myiothub.azure-devices.net/my_device/my_module_id/?api-version=2018-06-30&os=azrtos"
    );
    assert_eq!(s.client_id, "my_device/my_module_id");
    let model = "dtmi:YOUR_COMPANY_NAME_HERE:sample_device;1";
    let s = hub_mqtt_settings(
        &module,
        &options("2020-05-31-preview", Some("os=azrtos"), Some(model)),
    )
    .unwrap();
    assert_eq!(
        s.user_name,
        "myiothub.azure-devices.net/my_device/my_module_id/?api-version=2020-05-31-preview&os=azrtos\
         &model-id=dtmi%3AYOUR_COMPANY_NAME_HERE%3Asample_device%3B1"
    );
    let s = hub_mqtt_settings(&device, &MqttOptions::default()).unwrap();
    assert_eq!(s.client_id, "my_device");
    assert_eq!(
        s.user_name,
        "myiothub.azure-devices.net/my_device/?api-version=2021-04-12"
    );
    assert_eq!(s.telemetry_topic, "devices/my_device/messages/events/");
    assert_eq!(
        s.cloud_to_device_filter.as_deref(),
        Some("devices/my_device/messages/devicebound/#")
    );
    assert_eq!(
        (s.host.as_str(), s.port, s.keep_alive_s, s.clean_session),
        ("myiothub.azure-devices.net", 8883, 60, false)
    );
}

#[test]
fn keep_alive_is_clamped_to_what_the_hub_allows() {
    let id = HubIdentity::assigned("hub.example", "d").unwrap();
    let ka = |v| {
        hub_mqtt_settings(
            &id,
            &MqttOptions {
                keep_alive_s: Some(v),
                ..MqttOptions::default()
            },
        )
        .unwrap()
        .keep_alive_s
    };
    assert_eq!(
        (ka(0), ka(30), ka(1177), ka(1767), ka(u32::MAX)),
        (1, 30, 1177, 1177, 1177)
    );
}

#[test]
fn a_gateway_is_where_the_device_connects() {
    let cs = ConnectionString::parse(
        "HostName=hub.example;DeviceId=d;SharedAccessKey=Zm9vYmFy;GatewayHostName=edge.local",
    )
    .unwrap();
    let s = hub_mqtt_settings(cs.identity(), &MqttOptions::default()).unwrap();
    assert_eq!(s.host, "edge.local");
    assert!(s.user_name.starts_with("hub.example/d/?"));
}

// Azure/azure-sdk-for-c, sdk/tests/iot/hub/test_az_iot_hub_client_telemetry.c: the
// property bag after the events topic.
#[test]
fn telemetry_topics_carry_encoded_properties() {
    let props = vec![
        ("key".to_string(), "value".to_string()),
        ("key_two".to_string(), "value2".to_string()),
    ];
    assert_eq!(
        telemetry_topic("my_device", None, &props).unwrap(),
        "devices/my_device/messages/events/key=value&key_two=value2"
    );
    assert_eq!(
        telemetry_topic("my_device", Some("my_module_id"), &props).unwrap(),
        "devices/my_device/modules/my_module_id/messages/events/key=value&key_two=value2"
    );
    assert_eq!(
        telemetry_topic("my_device", Some("my_module_id"), &[]).unwrap(),
        "devices/my_device/modules/my_module_id/messages/events/"
    );
    let odd = vec![(
        "$.ct".to_string(),
        "application/json; charset=utf-8".to_string(),
    )];
    assert_eq!(
        telemetry_topic("d", None, &odd).unwrap(),
        "devices/d/messages/events/%24.ct=application%2Fjson%3B%20charset%3Dutf-8"
    );
    let empty = vec![(String::new(), "v".to_string())];
    assert_eq!(
        telemetry_topic("d", None, &empty).unwrap_err().field,
        "properties[0]"
    );
}

#[test]
fn bad_token_inputs_are_named() {
    assert_eq!(
        sas_token("", "Zm9vYmFy", None, 1).unwrap_err().field,
        "resource-uri"
    );
    assert_eq!(sas_token("r", "", None, 1).unwrap_err().field, "key");
    assert_eq!(
        sas_token("r", "%%%", None, 1).unwrap_err().message,
        "is not valid base64"
    );
    assert_eq!(
        sas_token("r", "Zm9vYmFy", Some(""), 1).unwrap_err().field,
        "key-name"
    );
    assert_eq!(
        derive_device_key("Zm9vYmFy", "").unwrap_err().field,
        "registration-id"
    );
    assert_eq!(
        derive_device_key("nope!", "r").unwrap_err().field,
        "group-key"
    );
    assert_eq!(
        dps_token("", "r", "Zm9vYmFy", 1).unwrap_err().field,
        "id-scope"
    );
    let id = HubIdentity::assigned("hub.example", "d").unwrap();
    let bad = MqttOptions {
        api_version: Some("2021 04".into()),
        ..MqttOptions::default()
    };
    assert_eq!(
        hub_mqtt_settings(&id, &bad).unwrap_err().field,
        "api-version"
    );
    assert_eq!(
        HubIdentity::assigned("hub example", "d").unwrap_err().field,
        "assigned-hub"
    );
}
