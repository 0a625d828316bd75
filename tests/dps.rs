//! The device runtime's DPS client against the DPS emulator, which enforces the
//! service's rules itself (its own HMAC check, not the component's).
//!
//! Facts checked, with their sources:
//! - REST: `PUT {idScope}/registrations/{registrationId}/register?api-version=2021-06-01`,
//!   then `GET .../operations/{operationId}`; 202 `assigning` with `Retry-After`
//!   (seconds), then 200 `assigned` with `registrationState{assignedHub, deviceId}`
//!   (DPS REST API "Runtime Registration - Register Device" / "Operation Status
//!   Lookup"; azure-sdk-for-c sdk/src/azure/iot/az_iot_provisioning_client.c parses
//!   the same fields and statuses assigning/assigned/failed/disabled/unassigned).
//! - SAS: `sr={idScope}%2Fregistrations%2F{registrationId}`, `skn=registration`
//!   (azure-sdk-for-c `az_iot_provisioning_client_sas_get_signature`); a group
//!   enrollment's device key is HMAC-SHA256(group key, registration id)
//!   (DPS docs "How to use symmetric keys with enrollment groups"; the Python and
//!   Node device SDKs' provisioning samples derive it the same way).
//! - Errors: `{"errorCode": 401002, "trackingId", "message": "Unauthorized",
//!   "timestampUtc"}` (Azure/azure-iot-sdk-c#2575); 429 with `Retry-After` for
//!   throttling (DPS troubleshooting page: "follow the retry-after header");
//!   status = errorCode / 1000 (azure-sdk-for-c `_az_iot_status_from_extended_status`).
//! - MQTT: client id = registration id, user name
//!   `{idScope}/registrations/{registrationId}/api-version=2019-03-31`, topics
//!   `$dps/registrations/PUT/iotdps-register/?$rid=`,
//!   `$dps/registrations/GET/iotdps-get-operationstatus/?$rid=&operationId=`,
//!   answers on `$dps/registrations/res/{status}/?$rid=&retry-after=` (DPS docs
//!   "Communicate with DPS using MQTT"; azure-sdk-for-c, same file).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use tether_device::provisioning::{DpsClient, parse_settings};
use tether_emulators::dps::{DpsConfig, DpsEmulator, Enrollment, GroupEnrollment};
use tether_host::{
    ApplicationError, FailureKind, HttpFailure, NetworkError, ProtocolError, Provisioner,
    ProvisioningResult,
};
use tether_tests::runtime;
use tether_tests::tls::{Certificates, DeviceCa};

const KEY: &str = "aW5kaXZpZHVhbC1lbnJvbGxtZW50LWtleS0wMDAwMDE=";
const OTHER_KEY: &str = "bm90LXRoZS1lbnJvbGxtZW50LWtleS1hdC1hbGwtMDA=";
const GROUP_KEY: &str = "Z3JvdXAtZW5yb2xsbWVudC1rZXktbGluZS00LTAwMDA=";
const SCOPE: &str = "0ne0000DEMO";
const HUBS: [&str; 2] = ["hub-a.localhost", "hub-b.localhost"];

struct Lab {
    emulator: DpsEmulator,
    dir: PathBuf,
    ca_file: PathBuf,
    devices: DeviceCa,
}

impl Lab {
    async fn start(name: &str, tune: impl FnOnce(&mut DpsConfig)) -> Lab {
        let certs = Certificates::generate().unwrap();
        let devices = DeviceCa::generate(&format!("tether device CA {name}")).unwrap();
        let dir = std::env::temp_dir().join(format!("tether-dps-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, certs.ca_pem()).unwrap();
        let mut config = DpsConfig::new(certs.server_cert_pem(), certs.server_key_pem());
        config.id_scope = SCOPE.into();
        config.hubs = HUBS.iter().map(|h| (*h).to_string()).collect();
        config.client_ca_pem = Some(devices.ca_pem().to_string());
        config.enrollments = vec![
            Enrollment::symmetric("dev-sym", KEY),
            Enrollment::x509("dev-x509"),
            Enrollment {
                enabled: false,
                ..Enrollment::symmetric("dev-off", KEY)
            },
        ];
        config.groups = vec![GroupEnrollment::new("line-4", GROUP_KEY)];
        config.pending_polls = 1;
        tune(&mut config);
        let emulator = DpsEmulator::start(config, 0, Some(0)).await.unwrap();
        Lab {
            emulator,
            dir,
            ca_file,
            devices,
        }
    }

    fn section(&self, registration_id: &str, extra: serde_json::Value) -> serde_json::Value {
        let mut s = json!({
            "endpoint": self.emulator.endpoint(),
            "id-scope": SCOPE,
            "registration-id": registration_id,
            "ca-file": self.ca_file.display().to_string(),
            "timeout-ms": 5000,
        });
        for (k, v) in extra.as_object().unwrap() {
            s[k] = v.clone();
        }
        s
    }

    fn client(&self, section: &serde_json::Value) -> Session {
        let settings = parse_settings(section).unwrap();
        let (client, results) = DpsClient::standalone(runtime(), settings).unwrap();
        Session { client, results }
    }

    /// Write a client certificate for `cn` from `ca` and return the section fields.
    fn x509_files(&self, ca: &DeviceCa, cn: &str) -> serde_json::Value {
        let (cert, key) = ca.issue(cn).unwrap();
        let cert_file = self.dir.join(format!("{cn}.pem"));
        let key_file = self.dir.join(format!("{cn}.key"));
        std::fs::write(&cert_file, cert).unwrap();
        std::fs::write(&key_file, key).unwrap();
        json!({"cert-file": cert_file.display().to_string(), "key-file": key_file.display().to_string()})
    }
}

struct Session {
    client: DpsClient,
    results: tokio::sync::mpsc::UnboundedReceiver<ProvisioningResult>,
}

impl Session {
    async fn next(&mut self) -> ProvisioningResult {
        tokio::time::timeout(Duration::from_secs(20), self.results.recv())
            .await
            .expect("an answer within 20 s")
            .expect("the client is alive")
    }

    async fn register(&mut self) -> ProvisioningResult {
        self.client.register();
        self.next().await
    }

    /// Register, then poll while pending (the component would wait the
    /// retry-after; the emulator does not insist on it). Every answer, in order.
    async fn run(&mut self) -> Vec<ProvisioningResult> {
        let mut answers = vec![self.register().await];
        while let Some(ProvisioningResult::Pending(p)) = answers.last() {
            assert!(
                answers.len() < 6,
                "still pending after 5 polls: {answers:?}"
            );
            let op = p.operation_id.clone();
            self.client.poll(&op);
            answers.push(self.next().await);
        }
        answers
    }
}

fn http(result: &ProvisioningResult) -> (HttpFailure, Option<u64>) {
    match result {
        ProvisioningResult::Failed(f) => match &f.kind {
            FailureKind::Protocol(ProtocolError::Http(h)) => (*h, f.retry_after_ms),
            other => panic!("not an HTTP failure: {other:?}"),
        },
        other => panic!("not a failure: {other:?}"),
    }
}

fn assigned_hub(answers: &[ProvisioningResult], device: &str) -> String {
    match answers.last() {
        Some(ProvisioningResult::Assigned(a)) => {
            assert_eq!(a.device_id, device);
            // DPS hands out no credential for key attestation.
            assert!(a.credential.is_none(), "{a:?}");
            assert!(HUBS.contains(&a.hub.as_str()), "{a:?}");
            a.hub.clone()
        }
        other => panic!("not assigned: {other:?} (all: {answers:?})"),
    }
}

/// The component's verdict on a failed answer: the table row it matched.
fn rule(result: &ProvisioningResult) -> String {
    let ProvisioningResult::Failed(f) = result else {
        panic!("not a failure: {result:?}");
    };
    let mut instance = runtime().instantiate_real().unwrap();
    instance.classify(f).unwrap().rule
}

#[tokio::test]
async fn an_individual_key_registers_over_https() {
    let lab = Lab::start("individual", |_| {}).await;
    let mut s = lab.client(&lab.section("dev-sym", json!({"symmetric-key": KEY})));
    let answers = s.run().await;
    // 202 assigning with Retry-After: 1 (as milliseconds), one more 202, then 200.
    assert_eq!(answers.len(), 3, "{answers:?}");
    let ProvisioningResult::Pending(p) = &answers[0] else {
        panic!("{answers:?}")
    };
    assert_eq!(p.retry_after_ms, Some(1000));
    let hub = assigned_hub(&answers, "dev-sym");
    assert_eq!(lab.emulator.assigned_hub("dev-sym"), Some(hub));
    let served: Vec<(&str, &str, u16)> = lab
        .emulator
        .served()
        .iter()
        .map(|s| (s.transport, s.kind, s.status))
        .collect();
    assert_eq!(
        served,
        [
            ("https", "register", 202),
            ("https", "poll", 202),
            ("https", "poll", 200)
        ]
    );
}

#[tokio::test]
async fn a_group_key_registers_with_the_derived_device_key() {
    let lab = Lab::start("group", |_| {}).await;
    let mut s = lab.client(&lab.section("line4-dev-7", json!({"group-key": GROUP_KEY})));
    assigned_hub(&s.run().await, "line4-dev-7");
    // The group key itself is not the device key: signing with it is refused.
    let mut s = lab.client(&lab.section("line4-dev-8", json!({"symmetric-key": GROUP_KEY})));
    let refused = s.register().await;
    assert_eq!(
        http(&refused).0,
        HttpFailure {
            status: 401,
            hub_code: Some(401002)
        }
    );
}

#[tokio::test]
async fn an_x509_certificate_registers_and_its_cn_must_be_the_registration_id() {
    let lab = Lab::start("x509", |_| {}).await;
    let files = lab.x509_files(&lab.devices, "dev-x509");
    let mut s = lab.client(&lab.section("dev-x509", files));
    assigned_hub(&s.run().await, "dev-x509");

    // A good certificate for another name proves nothing about dev-x509.
    let files = lab.x509_files(&lab.devices, "someone-else");
    let mut s = lab.client(&lab.section("dev-x509", files));
    assert_eq!(http(&s.register().await).0.hub_code, Some(401002));

    // A certificate from a CA the service does not trust fails the handshake.
    let stranger = DeviceCa::generate("stranger CA").unwrap();
    let files = lab.x509_files(&stranger, "dev-x509");
    let mut s = lab.client(&lab.section("dev-x509", files));
    match s.register().await {
        ProvisioningResult::Failed(f) => assert!(
            matches!(
                f.kind,
                FailureKind::Network(
                    NetworkError::Tls | NetworkError::Reset | NetworkError::Closed
                )
            ),
            "{f:?}"
        ),
        other => panic!("an untrusted certificate registered: {other:?}"),
    }
}

#[tokio::test]
async fn the_mqtt_transport_registers_and_refuses_a_forged_token() {
    let lab = Lab::start("mqtt", |_| {}).await;
    let endpoint = lab.emulator.mqtt_endpoint().unwrap();
    let mut s = lab.client(&lab.section(
        "dev-sym",
        json!({"transport": "mqtt", "endpoint": endpoint, "symmetric-key": KEY}),
    ));
    let answers = s.run().await;
    let ProvisioningResult::Pending(p) = &answers[0] else {
        panic!("{answers:?}")
    };
    // retry-after from the answer topic's `&retry-after=1`.
    assert_eq!(p.retry_after_ms, Some(1000));
    assigned_hub(&answers, "dev-sym");
    assert!(lab.emulator.served().iter().all(|s| s.transport == "mqtt"));

    // A wrong key: the CONNECT is refused with return code 5 (not authorized).
    let mut s = lab.client(&lab.section(
        "dev-sym",
        json!({"transport": "mqtt", "endpoint": endpoint, "symmetric-key": OTHER_KEY}),
    ));
    match s.register().await {
        ProvisioningResult::Failed(f) => {
            assert_eq!(f.kind, FailureKind::Protocol(ProtocolError::MqttConnack(5)))
        }
        other => panic!("a forged token connected: {other:?}"),
    }
    // X.509 over MQTT too.
    let mut files = lab.x509_files(&lab.devices, "dev-x509");
    files["transport"] = json!("mqtt");
    files["endpoint"] = json!(endpoint);
    let mut s = lab.client(&lab.section("dev-x509", files));
    assigned_hub(&s.run().await, "dev-x509");
}

#[tokio::test]
async fn forged_expired_and_misscoped_tokens_get_the_services_errors() {
    let lab = Lab::start("refusals", |_| {}).await;

    // Forged: signed with a key that is not the enrollment's.
    let mut s = lab.client(&lab.section("dev-sym", json!({"symmetric-key": OTHER_KEY})));
    let forged = s.register().await;
    assert_eq!(
        http(&forged).0,
        HttpFailure {
            status: 401,
            hub_code: Some(401002)
        }
    );
    let ProvisioningResult::Failed(f) = &forged else {
        unreachable!()
    };
    assert!(
        f.server_reference.is_some(),
        "the trackingId is kept: {f:?}"
    );
    assert_eq!(rule(&forged), "http/401");

    // Expired: the service's clock is two hours past the token's hour.
    lab.emulator.set_clock_ahead(7200);
    let mut s = lab.client(&lab.section(
        "dev-sym",
        json!({"symmetric-key": KEY, "token-lifetime-s": 3600}),
    ));
    let expired = s.register().await;
    assert_eq!(
        http(&expired).0,
        HttpFailure {
            status: 401,
            hub_code: Some(401002)
        }
    );
    assert_eq!(rule(&expired), "http/401");
    lab.emulator.set_clock_ahead(0);

    // An id scope the service does not have.
    let mut section = lab.section("dev-sym", json!({"symmetric-key": KEY}));
    section["id-scope"] = json!("0ne0000NONE");
    let mut s = lab.client(&section);
    let unknown = s.register().await;
    assert_eq!(
        http(&unknown).0,
        HttpFailure {
            status: 404,
            hub_code: Some(404001)
        }
    );
    assert_eq!(rule(&unknown), "http/404001");

    // An unknown registration id cannot be authenticated.
    let mut s = lab.client(&lab.section("nobody", json!({"symmetric-key": KEY})));
    assert_eq!(http(&s.register().await).0.hub_code, Some(401002));

    // No attestation at all.
    let mut s = lab.client(&lab.section("dev-sym", json!({})));
    assert_eq!(http(&s.register().await).0.hub_code, Some(401002));
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after() {
    let lab = Lab::start("throttle", |c| {
        c.registrations_per_window = Some(2);
        c.window = Duration::from_secs(30);
    })
    .await;
    let mut s = lab.client(&lab.section("dev-sym", json!({"symmetric-key": KEY})));
    for _ in 0..2 {
        assert!(matches!(s.register().await, ProvisioningResult::Pending(_)));
    }
    let throttled = s.register().await;
    let (h, retry_after_ms) = http(&throttled);
    assert_eq!(
        h,
        HttpFailure {
            status: 429,
            hub_code: Some(429001)
        }
    );
    // The window has up to 30 s left: Retry-After says so, in whole seconds.
    let ms = retry_after_ms.expect("a Retry-After");
    assert!((1000..=30_000).contains(&ms) && ms % 1000 == 0, "{ms}");
    assert_eq!(rule(&throttled), "http/429001");
}

#[tokio::test]
async fn a_moved_registration_is_assigned_the_other_hub() {
    let lab = Lab::start("reassign", |_| {}).await;
    let mut s = lab.client(&lab.section("dev-sym", json!({"symmetric-key": KEY})));
    let first = assigned_hub(&s.run().await, "dev-sym");
    // Again without a move: the same hub.
    assert_eq!(assigned_hub(&s.run().await, "dev-sym"), first);
    let other = HUBS.iter().find(|h| **h != first).unwrap();
    lab.emulator.move_registration("dev-sym", other);
    assert_eq!(assigned_hub(&s.run().await, "dev-sym"), *other);
}

#[tokio::test]
async fn a_disabled_enrollment_ends_disabled() {
    let lab = Lab::start("disabled", |_| {}).await;
    let mut s = lab.client(&lab.section("dev-off", json!({"symmetric-key": KEY})));
    let answers = s.run().await;
    match answers.last() {
        Some(ProvisioningResult::Failed(f)) => assert_eq!(
            f.kind,
            FailureKind::Application(ApplicationError::DeviceDisabled)
        ),
        other => panic!("{other:?}"),
    }
    // Enabled again, it registers.
    assert!(lab.emulator.set_enabled("dev-off", true));
    assigned_hub(&s.run().await, "dev-off");
}

#[tokio::test]
async fn keys_never_appear_in_errors_or_debug_output() {
    let lab = Lab::start("secrets", |_| {}).await;
    let derived = tether_emulators::dps::sas::derive_device_key(GROUP_KEY, "line4-dev-9").unwrap();
    let secrets = [KEY, OTHER_KEY, GROUP_KEY, derived.as_str()];
    let mut printed = Vec::new();
    for section in [
        lab.section("dev-sym", json!({"symmetric-key": KEY})),
        lab.section("dev-sym", json!({"symmetric-key": OTHER_KEY})),
        lab.section("line4-dev-9", json!({"group-key": GROUP_KEY})),
        lab.section(
            "dev-sym",
            json!({"transport": "mqtt", "endpoint": lab.emulator.mqtt_endpoint().unwrap(), "symmetric-key": OTHER_KEY}),
        ),
    ] {
        let settings = parse_settings(&section).unwrap();
        printed.push(format!("{settings:?}"));
        let mut s = lab.client(&section);
        printed.push(format!("{:?}", s.client));
        for answer in s.run().await {
            printed.push(format!("{answer:?}"));
        }
    }
    // A key the component refuses: the start-up error names the field only.
    let mut bad = parse_settings(&lab.section("dev-sym", json!({"symmetric-key": KEY}))).unwrap();
    bad.attestation = tether_device::provisioning::Attestation::SymmetricKey(
        tether_device::provisioning::Secret::new("not*base64*QUJD"),
    );
    let refused =
        DpsClient::standalone(runtime(), bad).expect_err("a key that is not base64 is refused");
    let text = format!("{refused:#} {refused:?}");
    assert!(text.contains("provisioning.symmetric-key"), "{text}");
    assert!(!text.contains("QUJD"), "{text}");
    printed.push(text);
    printed.push(format!("{:?}", lab.emulator));
    printed.push(format!("{:?}", lab.emulator.served()));
    let all = printed.join("\n");
    for secret in secrets {
        assert!(!all.contains(secret), "a key leaked into:\n{all}");
    }
    assert!(all.contains("401002"), "the refusal was printed: {all}");
}

/// One raw HTTPS request (rustls from rumqttc's re-export), the status line and
/// body back: for what the client never sends.
async fn raw_https(lab: &Lab, request_line: &str, authorization: Option<&str>) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let ca = std::fs::read_to_string(&lab.ca_file).unwrap();
    let certs = rustls::pki_types::pem::PemObject::pem_slice_iter(ca.as_bytes())
        .collect::<Result<Vec<rustls::pki_types::CertificateDer<'static>>, _>>()
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in certs {
        roots.add(c).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let addr = lab
        .emulator
        .endpoint()
        .trim_start_matches("https://")
        .to_string();
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = rumqttc::tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let body = r#"{"registrationId":"dev-sym"}"#;
    let text = format!(
        "{request_line} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(text.as_bytes()).await.unwrap();
    let mut out = String::new();
    let _ = tls.read_to_string(&mut out).await;
    out
}

#[tokio::test]
async fn a_missing_or_unknown_api_version_is_400004() {
    let lab = Lab::start("api-version", |_| {}).await;
    let path = format!("/{SCOPE}/registrations/dev-sym/register");
    let missing = raw_https(&lab, &format!("PUT {path}"), None).await;
    assert!(missing.starts_with("HTTP/1.1 400"), "{missing}");
    assert!(missing.contains("\"errorCode\":400004"), "{missing}");
    let unknown = raw_https(&lab, &format!("PUT {path}?api-version=2017-11-15"), None).await;
    assert!(
        unknown.contains("Unsupported API version 2017-11-15."),
        "{unknown}"
    );
    // With a known version, the same request without a token is 401002.
    let known = raw_https(&lab, &format!("PUT {path}?api-version=2021-06-01"), None).await;
    assert!(known.starts_with("HTTP/1.1 401"), "{known}");
    assert!(known.contains("\"errorCode\":401002"), "{known}");
    for field in ["trackingId", "message", "timestampUtc"] {
        assert!(known.contains(field), "{field} missing: {known}");
    }
    // A token for another resource (sr) is refused too, however well signed.
    let mut instance = runtime().instantiate_real().unwrap();
    let se = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let other = instance.dps_token(SCOPE, "dev-x509", KEY, se).unwrap();
    let wrong_sr = raw_https(
        &lab,
        &format!("PUT {path}?api-version=2021-06-01"),
        Some(&other),
    )
    .await;
    assert!(wrong_sr.starts_with("HTTP/1.1 401"), "{wrong_sr}");
    let right = instance.dps_token(SCOPE, "dev-sym", KEY, se).unwrap();
    let ok = raw_https(
        &lab,
        &format!("PUT {path}?api-version=2021-06-01"),
        Some(&right),
    )
    .await;
    assert!(ok.starts_with("HTTP/1.1 202"), "{ok}");
    assert!(ok.to_ascii_lowercase().contains("retry-after: 1"), "{ok}");
}

#[tokio::test]
async fn a_running_device_provisions_through_the_component() {
    use tether_device::config::DeviceFile;
    use tether_device::device::{DeviceEvent, RunningDevice};
    let lab = Lab::start("device", |_| {}).await;
    let doc = json!({
        "connection": { "seed": 1, "provisioning": {} },
        "provisioning": lab.section("dev-sym", json!({"symmetric-key": KEY})),
    });
    let file = DeviceFile::parse(&doc.to_string()).unwrap();
    let mut device = RunningDevice::spawn(runtime(), &file, tether_host::Entropy::fixed(1))
        .unwrap()
        .unwrap();
    let mut events = device.events().unwrap();
    let assigned = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some((_, event)) = events.recv().await {
            if let DeviceEvent::Input(text) = event
                && text.starts_with("on-provisioned assigned")
            {
                return text;
            }
        }
        panic!("the device loop ended before an assignment");
    })
    .await
    .expect("assigned within 30 s (the component waits the 1 s retry-after)");
    let hub = lab.emulator.assigned_hub("dev-sym").unwrap();
    assert_eq!(
        assigned,
        format!("on-provisioned assigned hub={hub} device=dev-sym")
    );
    assert!(device.tally().registrations >= 1);
    let _ = device.stop().await;
}
