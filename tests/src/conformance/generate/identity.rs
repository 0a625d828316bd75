//! The identity vectors: known answers from the Azure SDKs' own tests and the Azure
//! docs (the source is in each vector's `about`), and the error of every malformed
//! input.

use serde_json::{Value, json};

use super::{Body, Kind, Spec};

fn spec(slug: &str, about: &'static str, call: &'static str, args: Value) -> Spec {
    Spec {
        kind: Kind::Identity,
        slug: slug.into(),
        about: Some(about),
        body: Body::Identity { call, args },
    }
}

const NODE_SAS: &str = "Azure/azure-iot-sdk-node common/core/test/_shared_access_signature_test.js";
const CLI_SAS: &str = "Azure/azure-iot-cli-extension azext_iot/tests/iothub/core/test_iot_ext_unit.py (TestSasTokenAuth)";
const DOCS_DPS_KEY: &str =
    "MicrosoftDocs/azure-docs articles/iot-dps/how-to-legacy-device-symm-key.md";
const PY_CS: &str = "Azure/azure-iot-sdk-python tests/unit/common/auth/test_connection_string.py";
const C_HUB: &str = "Azure/azure-sdk-for-c sdk/tests/iot/hub/test_az_iot_hub_client.c";
const C_TELEMETRY: &str =
    "Azure/azure-sdk-for-c sdk/tests/iot/hub/test_az_iot_hub_client_telemetry.c";
const RULE: &str = "a connection-string rule of the identity interface (wit/identity.wit)";

const CLI_URI: &str = "iot-hub-for-test.azure-devices.net/devices/iot-device-for-test";
const CLI_KEY: &str = "+XLy+MVZ+aTeOnVzN2kLeB16O+kSxmz6g3rS6fAf6rw=";
const OK: &str = "HostName=h.example;DeviceId=d;SharedAccessKey=Zm9vYmFy";

fn parse(slug: &str, about: &'static str, text: &str) -> Spec {
    spec(
        slug,
        about,
        "parse-connection-string",
        json!({ "text": text }),
    )
}

fn c_device() -> Value {
    json!({"host-name": "myiothub.azure-devices.net", "device-id": "my_device", "auth": "shared-access-key"})
}

fn c_module() -> Value {
    json!({"host-name": "myiothub.azure-devices.net", "device-id": "my_device",
           "module-id": "my_module_id", "auth": "shared-access-key"})
}

pub(super) fn identity_specs() -> Vec<Spec> {
    let long = format!("{OK}{}", ";GatewayHostName=g".repeat(300));
    vec![
        spec(
            "sas-node-sdk",
            NODE_SAS,
            "sas-token",
            json!({"resource-uri": "uri", "key": "cGFzc3dvcmQ=", "expiry": 12345}),
        ),
        spec(
            "sas-cli-device",
            CLI_SAS,
            "sas-token",
            json!({"resource-uri": CLI_URI, "key": CLI_KEY, "expiry": 1_471_940_363_u64}),
        ),
        spec(
            "sas-cli-policy-name",
            CLI_SAS,
            "sas-token",
            json!({"resource-uri": CLI_URI, "key": CLI_KEY, "key-name": "iothubowner", "expiry": 1_471_940_363_u64}),
        ),
        spec(
            "sas-bad-key",
            "a key that is not base64 is refused, without echoing it",
            "sas-token",
            json!({"resource-uri": "uri", "key": "not*base64", "expiry": 1}),
        ),
        spec(
            "sas-empty-resource",
            "an empty resource is refused",
            "sas-token",
            json!({"resource-uri": "", "key": "Zm9vYmFy", "expiry": 1}),
        ),
        spec(
            "derive-docs-group-key",
            DOCS_DPS_KEY,
            "derive-device-key",
            json!({"group-key": "8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw==",
                    "registration-id": "sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6"}),
        ),
        spec(
            "derive-empty-registration",
            "an empty registration id is refused",
            "derive-device-key",
            json!({"group-key": "Zm9vYmFy", "registration-id": ""}),
        ),
        spec(
            "dps-token-derived-key",
            "a DPS registration token signed with the docs' derived key: resource {scope}/registrations/{id}, skn=registration (iot-services.md)",
            "dps-token",
            json!({"id-scope": "0ne00000A0A", "registration-id": "sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6",
                    "key": "Jsm0lyGpjaVYVP2g3FnmnmG9dI/9qU24wNoykUmermc=", "expiry": 1_700_000_000_u64}),
        ),
        spec(
            "dps-token-empty-scope",
            "an empty id scope is refused",
            "dps-token",
            json!({"id-scope": "", "registration-id": "r", "key": "Zm9vYmFy", "expiry": 1}),
        ),
        spec(
            "resource-device",
            C_HUB,
            "hub-resource-uri",
            json!({"host-name": "myiothub.azure-devices.net", "device-id": "my_device"}),
        ),
        spec(
            "resource-module",
            C_HUB,
            "hub-resource-uri",
            json!({"host-name": "myiothub.azure-devices.net", "device-id": "my_device", "module-id": "my_module"}),
        ),
        spec(
            "token-cli-device-string",
            CLI_SAS,
            "connection-string-token",
            json!({"text": format!("HostName=iot-hub-for-test.azure-devices.net;DeviceId=iot-device-for-test;SharedAccessKey={CLI_KEY}"),
                    "expiry": 1_471_940_363_u64}),
        ),
        spec(
            "token-python-module-string",
            PY_CS,
            "connection-string-token",
            json!({"text": "HostName=my.host.name;DeviceId=my-device;ModuleId=my-module;SharedAccessKey=Zm9vYmFy", "expiry": 1_578_941_692_u64}),
        ),
        spec(
            "token-given-signature",
            "a SharedAccessSignature string gives its own token as is",
            "connection-string-token",
            json!({"text": "HostName=h.example;DeviceId=d;SharedAccessSignature=SharedAccessSignature sr=h.example%2Fdevices%2Fd&sig=abc&se=9", "expiry": 1}),
        ),
        spec(
            "token-x509-has-none",
            "an X.509 identity has no token",
            "connection-string-token",
            json!({"text": "HostName=my.host.name;DeviceId=my-device;x509=True", "expiry": 1}),
        ),
        parse(
            "parse-python-device",
            PY_CS,
            "HostName=my.host.name;DeviceId=my-device;SharedAccessKey=Zm9vYmFy",
        ),
        parse(
            "parse-python-gateway",
            PY_CS,
            "HostName=my.host.name;DeviceId=my-device;SharedAccessKey=Zm9vYmFy;GatewayHostName=mygateway",
        ),
        parse(
            "parse-python-x509",
            PY_CS,
            "HostName=my.host.name;DeviceId=my-device;x509=True",
        ),
        parse(
            "parse-python-module",
            PY_CS,
            "HostName=my.host.name;DeviceId=my-device;ModuleId=my-module;SharedAccessKey=Zm9vYmFy",
        ),
        parse(
            "parse-policy-key-name",
            RULE,
            "HostName=h.example;DeviceId=d;SharedAccessKeyName=device-policy;SharedAccessKey=Zm9vYmFy",
        ),
        parse(
            "parse-trailing-semicolon",
            RULE,
            "HostName=h.example;DeviceId=d;SharedAccessKey=Zm9vYmFy;",
        ),
        parse(
            "parse-missing-host",
            RULE,
            "DeviceId=d;SharedAccessKey=Zm9vYmFy",
        ),
        parse(
            "parse-missing-device",
            RULE,
            "HostName=h.example;SharedAccessKey=Zm9vYmFy",
        ),
        parse(
            "parse-duplicate-key",
            RULE,
            "HostName=h.example;DeviceId=d;DeviceId=e;SharedAccessKey=Zm9vYmFy",
        ),
        parse(
            "parse-unknown-key",
            RULE,
            "HostName=h.example;DeviceId=d;Colour=blue;SharedAccessKey=Zm9vYmFy",
        ),
        parse(
            "parse-key-case",
            RULE,
            "hostname=h.example;DeviceId=d;SharedAccessKey=Zm9vYmFy",
        ),
        parse(
            "parse-empty-value",
            RULE,
            "HostName=;DeviceId=d;SharedAccessKey=Zm9vYmFy",
        ),
        parse(
            "parse-key-not-base64",
            RULE,
            "HostName=h.example;DeviceId=d;SharedAccessKey=not*base64",
        ),
        parse(
            "parse-key-and-x509",
            PY_CS,
            "HostName=h.example;DeviceId=d;SharedAccessKey=Zm9vYmFy;x509=true",
        ),
        parse("parse-no-credential", RULE, "HostName=h.example;DeviceId=d"),
        parse(
            "parse-empty-segment",
            RULE,
            "HostName=h.example;DeviceId=d;;SharedAccessKey=Zm9vYmFy",
        ),
        parse(
            "parse-bad-device-id",
            RULE,
            "HostName=h.example;DeviceId=d/e;SharedAccessKey=Zm9vYmFy",
        ),
        parse("parse-too-long", RULE, &long),
        spec(
            "mqtt-device-defaults",
            "IoT Hub MQTT settings of a device: 3.1.1 user name with the GA api-version (iot-services.md)",
            "hub-mqtt-settings",
            json!({"identity": c_device(), "options": {}}),
        ),
        spec(
            "mqtt-module-user-agent",
            C_HUB,
            "hub-mqtt-settings",
            json!({"identity": c_module(), "options": {"api-version": "2018-06-30", "user-agent": "os=azrtos"}}),
        ),
        spec(
            "mqtt-module-model-id",
            C_HUB,
            "hub-mqtt-settings",
            json!({"identity": c_module(), "options": {"api-version": "2020-05-31-preview", "user-agent": "os=azrtos",
                                                        "model-id": "dtmi:YOUR_COMPANY_NAME_HERE:sample_device;1"}}),
        ),
        spec(
            "mqtt-gateway",
            "a device behind an IoT Edge gateway connects to the gateway, names the hub",
            "hub-mqtt-settings",
            json!({"identity": {"host-name": "hub.example", "device-id": "d", "gateway-host-name": "edge.local", "auth": "x509"},
                    "options": {"keep-alive-s": 240}}),
        ),
        spec(
            "mqtt-keep-alive-clamped",
            "the hub allows 1.5 times the keep-alive up to 1767 s, so at most 1177 s (iot-services.md)",
            "hub-mqtt-settings",
            json!({"identity": c_device(), "options": {"keep-alive-s": 1767}}),
        ),
        spec(
            "mqtt-bad-api-version",
            "an api-version that would break the user name is refused",
            "hub-mqtt-settings",
            json!({"identity": c_device(), "options": {"api-version": "2021 04"}}),
        ),
        spec(
            "telemetry-properties",
            C_TELEMETRY,
            "telemetry-topic",
            json!({"device-id": "my_device", "properties": [["key", "value"], ["key_two", "value2"]]}),
        ),
        spec(
            "telemetry-module-properties",
            C_TELEMETRY,
            "telemetry-topic",
            json!({"device-id": "my_device", "module-id": "my_module_id", "properties": [["key", "value"], ["key_two", "value2"]]}),
        ),
        spec(
            "telemetry-encoded",
            "property names and values are percent-encoded",
            "telemetry-topic",
            json!({"device-id": "d", "properties": [["$.ct", "application/json; charset=utf-8"], ["temp", "21.5"]]}),
        ),
        spec(
            "telemetry-empty-name",
            "an empty property name is refused, naming its index",
            "telemetry-topic",
            json!({"device-id": "d", "properties": [["a", "1"], ["", "2"]]}),
        ),
    ]
}
