//! The IoT Hub emulator (`tether_emulators::iothub`) against real clients: rumqttc
//! 0.25 over MQTT 3.1.1 and TLS, a tokio-tungstenite WebSocket client, a real
//! mosquitto behind it. Tokens, user names and client ids are minted by the tether
//! component (`tether_host::Instance`), and the emulator verifies them with its own
//! code: a token the component got wrong would be refused here.
//!
//! The hub rules each test checks are cited next to it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use futures_util::{SinkExt as _, StreamExt as _};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rumqttc::mqttbytes::v4::{ConnAck, Connect, Packet};
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, Incoming, MqttOptions,
    Publish, QoS, SubAck, TlsConfiguration, Transport,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sha2::Digest as _;
use tether_emulators::iothub::{
    Counters, Credential, HubConfig, Identity, IdentityId, IotHub, RateLimit,
};
use tether_host::identity::MqttOptions as ComponentMqttOptions;
use tether_tests::broker::Broker;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite;

const HOST: &str = "hub-a.localhost";
/// base64("tether-test-key-1"), base64("tether-test-key-2").
const KEY: &str = "dGV0aGVyLXRlc3Qta2V5LTE=";
const OTHER_KEY: &str = "dGV0aGVyLXRlc3Qta2V5LTI=";

#[path = "iothub/support.rs"]
mod support;
use support::*;

// ---------------------------------------------------------------------------
// Accepted links and telemetry
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_token_connects_and_telemetry_reaches_the_broker() {
    let lab = Lab::start(|_| {}).await;
    let mut observer = lab.subscriber("devices/dev-1/messages/events/#").await;
    let login = component_login(&device_cs("dev-1", KEY), now() + 3600);
    let (device, ack) = connect(lab.options(&login, lab.tls())).await.unwrap();
    assert_eq!(ack.code, ConnectReturnCode::Success);
    device
        .client
        .publish(
            "devices/dev-1/messages/events/n=1",
            QoS::AtLeastOnce,
            false,
            "t-1",
        )
        .await
        .unwrap();
    let seen = observer.next_publish().await;
    assert_eq!(seen.topic, "devices/dev-1/messages/events/n=1");
    assert_eq!(&seen.payload[..], b"t-1");
    let c = lab.hub.counters();
    assert_eq!(c.accepted, 1);
    assert_eq!(c.refused_total(), 0);
}

// ---------------------------------------------------------------------------
// Refused CONNECTs. The hub answers CONNACK 5 to a wrong key, an unknown device
// and a malformed user name alike (CONNACK traces in Azure/azure-iot-sdk-c issues
// #373 and #806 and Azure/azure-umqtt-c issue #11).
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signed_with_another_key_is_refused() {
    let lab = Lab::start(|_| {}).await;
    // Well formed, for the right resource, signed by the component with a key that
    // is not the device's: a forgery.
    let login = component_login(&device_cs("dev-1", OTHER_KEY), now() + 3600);
    assert_not_authorized(connect(lab.options(&login, lab.tls())).await);
    // The same with the right key connects: the refusal is the signature's.
    let good = component_login(&device_cs("dev-1", KEY), now() + 3600);
    connect(lab.options(&good, lab.tls())).await.unwrap();
    let c = lab.hub.counters();
    assert_eq!((c.refused("bad-signature"), c.accepted), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused() {
    let lab = Lab::start(|_| {}).await;
    let login = component_login(&device_cs("dev-1", KEY), now() - 10);
    assert_not_authorized(connect(lab.options(&login, lab.tls())).await);
    let c = lab.hub.counters();
    assert_eq!((c.refused("expired"), c.accepted), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_or_user_name_for_another_hub_is_refused() {
    let lab = Lab::start(|_| {}).await;
    let login = component_login(&device_cs("dev-1", KEY), now() + 3600);
    // A token signed with the right key for hub-b's resource URI.
    let mut other_resource = login.clone();
    other_resource.password = component_token("hub-b.localhost/devices/dev-1", KEY, now() + 3600);
    assert_not_authorized(connect(lab.options(&other_resource, lab.tls())).await);
    // A token for another device of this hub.
    let mut other_device = login.clone();
    other_device.password = component_token(&format!("{HOST}/devices/dev-2"), KEY, now() + 3600);
    assert_not_authorized(connect(lab.options(&other_device, lab.tls())).await);
    // A user name naming hub-b.
    let mut other_hub = login.clone();
    other_hub.user_name = login.user_name.replacen(HOST, "hub-b.localhost", 1);
    assert_not_authorized(connect(lab.options(&other_hub, lab.tls())).await);
    let c = lab.hub.counters();
    assert_eq!(c.refused("wrong-resource"), 2);
    assert_eq!(c.refused("wrong-hub"), 1);
    assert_eq!(c.accepted, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_user_names_are_refused() {
    let lab = Lab::start(|_| {}).await;
    let login = component_login(&device_cs("dev-1", KEY), now() + 3600);
    // azure-umqtt-c issue #11: `{host}/{device}` without an api-version got CONNACK 5.
    let mut no_version = login.clone();
    no_version.user_name = format!("{HOST}/dev-1");
    assert_not_authorized(connect(lab.options(&no_version, lab.tls())).await);
    let mut unknown_version = login.clone();
    unknown_version.user_name = format!("{HOST}/dev-1/?api-version=1999-01-01");
    assert_not_authorized(connect(lab.options(&unknown_version, lab.tls())).await);
    // The client id must be the device id of the user name.
    let mut other_client = login.clone();
    other_client.client_id = "dev-2".to_string();
    assert_not_authorized(connect(lab.options(&other_client, lab.tls())).await);
    let c = lab.hub.counters();
    assert_eq!(c.refused("bad-user-name"), 1);
    assert_eq!(c.refused("api-version"), 1);
    assert_eq!(c.refused("client-id"), 1);
    assert_eq!(c.accepted, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mqtt_5_connect_gets_connack_1() {
    // IoT Hub speaks MQTT 3.1.1 ("MQTT v3.1.1 on TCP port 8883", Azure docs, MQTT
    // support); MQTT 3.1.1 section 3.2.2.3: return code 1 for an unacceptable
    // protocol level.
    let lab = Lab::start(|_| {}).await;
    let login = component_login(&device_cs("dev-1", KEY), now() + 3600);
    let tcp = tokio::net::TcpStream::connect(lab.hub.mqtt_address())
        .await
        .unwrap();
    let connector = rumqttc::tokio_rustls::TlsConnector::from(lab.tls());
    let mut tls = connector
        .connect(ServerName::try_from(HOST).unwrap(), tcp)
        .await
        .unwrap();
    use rumqttc::v5::mqttbytes::v5;
    let connect = v5::Connect {
        keep_alive: 30,
        client_id: login.client_id.clone(),
        clean_start: false,
        properties: None,
    };
    let login5 = v5::Login {
        username: login.user_name.clone(),
        password: login.password.clone(),
    };
    let mut out = BytesMut::new();
    v5::Packet::Connect(connect, None, Some(login5))
        .write(&mut out, None)
        .unwrap();
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    tls.write_all(&out).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer))
        .await
        .unwrap()
        .ok();
    assert_eq!(answer, [0x20, 0x02, 0x00, 0x01], "CONNACK 1, then the end");
    let c = lab.hub.counters();
    assert_eq!((c.refused("protocol"), c.accepted), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_disabled_devices_are_refused() {
    let lab = Lab::start(|_| {}).await;
    let unknown = component_login(&device_cs("dev-9", KEY), now() + 3600);
    assert_not_authorized(connect(lab.options(&unknown, lab.tls())).await);
    // Disabling a connected device closes its link, and it cannot come back.
    let login = component_login(&device_cs("dev-1", KEY), now() + 3600);
    let (device, _) = connect(lab.options(&login, lab.tls())).await.unwrap();
    assert!(lab.hub.set_enabled(&IdentityId::device("dev-1"), false));
    device.closed().await;
    assert_not_authorized(connect(lab.options(&login, lab.tls())).await);
    let c = lab.hub.counters();
    assert_eq!(c.refused("unknown-device"), 1);
    assert_eq!(c.refused("device-disabled"), 1);
    assert_eq!(c.closed("device-disabled"), 1);
    assert_eq!(c.accepted, 1);
}

// ---------------------------------------------------------------------------
// Live links
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_closes_when_its_token_expires() {
    let lab = Lab::start(|_| {}).await;
    let login = component_login(&device_cs("dev-1", KEY), now() + 5);
    let (device, _) = connect(lab.options(&login, lab.tls())).await.unwrap();
    let error = device.closed().await;
    assert!(
        !matches!(error, ConnectionError::ConnectionRefused(_)),
        "{error:?}"
    );
    let c = lab.hub.counters();
    assert_eq!((c.accepted, c.closed("token-expired")), (1, 1));
    // The same token cannot open a new link now.
    assert_not_authorized(connect(lab.options(&login, lab.tls())).await);
    assert_eq!(lab.hub.counters().refused("expired"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connection_drops_the_first() {
    // "Any new MQTT connection on behalf of the same device ID causes IoT Hub to
    // drop the existing connection" (Azure docs, MQTT support).
    let lab = Lab::start(|_| {}).await;
    let mut observer = lab.subscriber("devices/dev-1/messages/events/#").await;
    let login = component_login(&device_cs("dev-1", KEY), now() + 3600);
    let (first, _) = connect(lab.options(&login, lab.tls())).await.unwrap();
    let (second, _) = connect(lab.options(&login, lab.tls())).await.unwrap();
    first.closed().await;
    second
        .client
        .publish(
            "devices/dev-1/messages/events/",
            QoS::AtLeastOnce,
            false,
            "second",
        )
        .await
        .unwrap();
    assert_eq!(&observer.next_publish().await.payload[..], b"second");
    let c = lab.hub.counters();
    assert_eq!((c.accepted, c.closed("duplicate")), (2, 1));
    assert_eq!(lab.hub.live_links(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_rate_limit_are_closed_without_connack() {
    // "Throttled or refused on 3.1.1: the hub just closes the link" (reference
    // notes); the rate is configurable, 2 per hour here so timing cannot matter.
    let lab = Lab::start(|c| {
        c.rate_limit = RateLimit {
            connections: 2,
            per: Duration::from_secs(3600),
        };
    })
    .await;
    let login = component_login(&device_cs("dev-1", KEY), now() + 3600);
    let other = component_login(&device_cs("dev-2", KEY), now() + 3600);
    let _a = connect(lab.options(&login, lab.tls())).await.unwrap();
    let _b = connect(lab.options(&other, lab.tls())).await.unwrap();
    for _ in 0..2 {
        match connect(lab.options(&other, lab.tls())).await {
            Err(ConnectionError::ConnectionRefused(code)) => {
                panic!("throttling sends no CONNACK, got {code:?}")
            }
            Err(_) => {}
            Ok(_) => panic!("a third connection in the period was accepted"),
        }
    }
    let c = lab.hub.counters();
    assert_eq!((c.accepted, c.refused("throttled")), (2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_on_another_devices_topic_closes_the_link() {
    // IoT Hub "only supports the documented topic names and topic filters", and over
    // MQTT it terminates the connection where AMQP would return an error (Azure
    // docs, MQTT support).
    let lab = Lab::start(|_| {}).await;
    let login = component_login(&device_cs("dev-1", KEY), now() + 3600);
    let (device, _) = connect(lab.options(&login, lab.tls())).await.unwrap();
    device
        .client
        .publish(
            "devices/dev-2/messages/events/",
            QoS::AtLeastOnce,
            false,
            "x",
        )
        .await
        .unwrap();
    device.closed().await;
    // And a subscription to another device's messages closes it too.
    let (device, _) = connect(lab.options(&login, lab.tls())).await.unwrap();
    device
        .client
        .subscribe("devices/dev-2/messages/devicebound/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    device.closed().await;
    // QoS 2: "If a device app publishes a message with QoS 2, IoT Hub closes the
    // network connection" (Azure docs, MQTT support).
    let (device, _) = connect(lab.options(&login, lab.tls())).await.unwrap();
    device
        .client
        .publish(
            "devices/dev-1/messages/events/",
            QoS::ExactlyOnce,
            false,
            "x",
        )
        .await
        .unwrap();
    device.closed().await;
    let c = counters_when(&lab.hub, |c| c.closed("qos2") == 1).await;
    assert_eq!(c.closed("topic-denied"), 2);
    assert_eq!(c.closed("qos2"), 1);
    assert_eq!(c.accepted, 3);
}

// ---------------------------------------------------------------------------
// X.509
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x509_devices_need_the_registered_certificate() {
    let device_ca = TestCa::new("device CA");
    let (cam1_cert, cam1_key) = self_signed_client("cam-1");
    let thumbprint: [u8; 32] = sha2::Sha256::digest(cam1_cert.as_ref()).into();
    let ca_der = CertificateDer::from_pem_slice(device_ca.pem.as_bytes())
        .unwrap()
        .as_ref()
        .to_vec();
    let lab = Lab::start(|c| {
        c.registry.insert(
            IdentityId::device("cam-1"),
            Identity {
                credential: Credential::Thumbprint(thumbprint),
                enabled: true,
            },
        );
        c.registry.insert(
            IdentityId::device("cam-2"),
            Identity {
                credential: Credential::CertificateAuthority(ca_der),
                enabled: true,
            },
        );
    })
    .await;
    let x509 =
        |device: &str| component_login(&format!("HostName={HOST};DeviceId={device};x509=true"), 0);
    let with_cert = |cert: (CertificateDer<'static>, PrivateKeyDer<'static>)| {
        client_tls(&lab.ca.pem, Some(cert))
    };
    // Thumbprint: the registered certificate connects, another one is refused.
    connect(lab.options(&x509("cam-1"), with_cert((cam1_cert, cam1_key))))
        .await
        .unwrap();
    assert_not_authorized(
        connect(lab.options(&x509("cam-1"), with_cert(self_signed_client("cam-1")))).await,
    );
    // No certificate at all.
    assert_not_authorized(connect(lab.options(&x509("cam-1"), lab.tls())).await);
    // CA: a certificate of that CA for cam-2 connects; one for another name, or one
    // of another CA, is refused.
    connect(lab.options(&x509("cam-2"), with_cert(device_ca.client("cam-2"))))
        .await
        .unwrap();
    assert_not_authorized(
        connect(lab.options(&x509("cam-2"), with_cert(device_ca.client("cam-3")))).await,
    );
    assert_not_authorized(
        connect(lab.options(
            &x509("cam-2"),
            with_cert(TestCa::new("rogue CA").client("cam-2")),
        ))
        .await,
    );
    let c = lab.hub.counters();
    assert_eq!(c.accepted, 2);
    assert_eq!(c.refused("bad-certificate"), 3);
    assert_eq!(c.refused("no-certificate"), 1);
}

// ---------------------------------------------------------------------------
// WebSockets
// ---------------------------------------------------------------------------

async fn websocket(
    lab: &Lab,
    path: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<
        rumqttc::tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    >,
    tungstenite::Error,
> {
    use tungstenite::client::IntoClientRequest as _;
    let tcp = tokio::net::TcpStream::connect(lab.hub.websocket_address())
        .await
        .unwrap();
    let tls = rumqttc::tokio_rustls::TlsConnector::from(lab.tls())
        .connect(ServerName::try_from(HOST).unwrap(), tcp)
        .await
        .unwrap();
    let mut request = format!("wss://{HOST}{path}").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "mqtt".parse().unwrap());
    tokio_tungstenite::client_async(request, tls)
        .await
        .map(|(ws, _)| ws)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_over_websockets_works_at_the_hub_path_only() {
    // "MQTT v3.1.1 over WebSocket on TCP port 443" (Azure docs, MQTT support), at
    // `/$iothub/websocket` as the SDKs connect.
    let lab = Lab::start(|_| {}).await;
    let mut observer = lab.subscriber("devices/dev-1/messages/events/#").await;
    let login = component_login(&device_cs("dev-1", KEY), now() + 3600);
    let mut ws = websocket(&lab, "/$iothub/websocket").await.unwrap();
    let mut connect = Connect::new(login.client_id.clone());
    connect.clean_session = false;
    connect.keep_alive = 30;
    connect.set_login(login.user_name.clone(), login.password.clone());
    let mut out = BytesMut::new();
    Packet::Connect(connect).write(&mut out, 1 << 20).unwrap();
    ws.send(tungstenite::Message::Binary(out.freeze()))
        .await
        .unwrap();
    let mut inbound = BytesMut::new();
    let ack = loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let tungstenite::Message::Binary(b) = message {
            inbound.extend_from_slice(&b);
        }
        if let Ok(p) = Packet::read(&mut inbound, 1 << 20) {
            break p;
        }
    };
    assert!(
        matches!(&ack, Packet::ConnAck(a) if a.code == ConnectReturnCode::Success),
        "{ack:?}"
    );
    let mut out = BytesMut::new();
    Packet::Publish(rumqttc::mqttbytes::v4::Publish::new(
        "devices/dev-1/messages/events/",
        QoS::AtMostOnce,
        b"over-ws".to_vec(),
    ))
    .write(&mut out, 1 << 20)
    .unwrap();
    ws.send(tungstenite::Message::Binary(out.freeze()))
        .await
        .unwrap();
    assert_eq!(&observer.next_publish().await.payload[..], b"over-ws");
    // Another path: HTTP 404, no upgrade.
    match websocket(&lab, "/mqtt").await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 404),
        Err(e) => panic!("expected HTTP 404, got {e:?}"),
        Ok(_) => panic!("a WebSocket at /mqtt was accepted"),
    }
    let c = lab.hub.counters();
    assert_eq!(c.accepted, 1);
    assert_eq!(c.refused("websocket-path"), 1);
}

// ---------------------------------------------------------------------------
// Cloud-to-device
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_to_device_message_sent_while_offline_arrives_after_reconnect() {
    // "If the device connects with CleanSession flag set to 0, the subscription is
    // persisted across different sessions. In this case, the next time the device
    // connects with CleanSession 0 it receives any outstanding messages sent to it
    // while disconnected" (Azure docs, MQTT support, Receiving cloud-to-device
    // messages).
    let lab = Lab::start(|_| {}).await;
    let login = component_login(&device_cs("dev-1", KEY), now() + 3600);
    let (mut device, _) = connect(lab.options(&login, lab.tls())).await.unwrap();
    device
        .client
        .subscribe("devices/dev-1/messages/devicebound/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    let granted = device.next_suback().await;
    assert_eq!(
        granted.return_codes,
        [rumqttc::SubscribeReasonCode::Success(QoS::AtLeastOnce)]
    );
    device.client.disconnect().await.unwrap();
    device.closed().await;
    let c = counters_when(&lab.hub, |c| c.closed("client-disconnect") == 1).await;
    assert_eq!(c.closed("client-disconnect"), 1);
    // The outage: the message is sent while nobody is connected.
    lab.hub
        .send_c2d(
            "dev-1",
            b"reboot",
            &[("kind".to_string(), "a command".to_string())],
        )
        .await
        .unwrap();
    let (mut device, ack) = connect(lab.options(&login, lab.tls())).await.unwrap();
    assert!(ack.session_present, "the broker kept the session");
    let message = device.next_publish().await;
    assert!(
        message
            .topic
            .starts_with("devices/dev-1/messages/devicebound/kind=a%20command&%24.mid="),
        "{}",
        message.topic
    );
    assert_eq!(&message.payload[..], b"reboot");
    assert_eq!(message.qos, QoS::AtLeastOnce);
    assert_eq!(lab.hub.counters().accepted, 2);
}

// ---------------------------------------------------------------------------
// The `tether iothub-emulator` command
// ---------------------------------------------------------------------------

/// `tether iothub-emulator` starts its own mosquitto, prints the addresses, takes
/// a device with a component token, and prints its counters at SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_serves_devices_and_reports_its_counters() {
    use std::io::BufRead as _;
    let root = tether_tests::workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let built = std::process::Command::new(&cargo)
        .current_dir(&root)
        .args(["build", "-p", "tether-cli", "--bin", "tether"])
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let dir = std::env::temp_dir().join(format!("tether-hub-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let registry = dir.join("registry.json");
    std::fs::write(
        &registry,
        format!(r#"{{"devices": [{{"deviceId": "dev-1", "primaryKey": "{KEY}"}}]}}"#),
    )
    .unwrap();
    let ca = dir.join("ca.pem");
    let mut child = std::process::Command::new(root.join("target/debug/tether"))
        .arg("iothub-emulator")
        .arg("--registry")
        .arg(&registry)
        .arg("--write-ca")
        .arg(&ca)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, mut lines) = mpsc::unbounded_channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_secs(30), lines.recv())
            .await
            .unwrap()
            .unwrap()
    };
    let first = next_line().await;
    let mqtt = first
        .split("mqtts://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no mqtts address in {first:?}"))
        .to_string();
    let second = next_line().await;
    let broker = second
        .strip_prefix("broker behind it: ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no broker address in {second:?}"))
        .trim_end_matches(';')
        .to_string();
    // A subscriber on the mosquitto the command started.
    let broker: std::net::SocketAddr = broker.parse().unwrap();
    let mut o = MqttOptions::new("cli-observer", "127.0.0.1", broker.port());
    o.set_keep_alive(Duration::from_secs(30));
    let (client, mut events) = AsyncClient::new(o, 16);
    client
        .subscribe("devices/dev-1/messages/events/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    while !matches!(
        events.poll().await.unwrap(),
        Event::Incoming(Incoming::SubAck(_))
    ) {}
    let mut observer = Running::spawn(client, events);
    // The device, trusting the certificate the command wrote.
    let login = component_login(&device_cs("dev-1", KEY), now() + 3600);
    let tls = client_tls(&std::fs::read_to_string(&ca).unwrap(), None);
    let address: std::net::SocketAddr = mqtt.parse().unwrap();
    let mut o = MqttOptions::new(login.client_id.clone(), "127.0.0.1", address.port());
    o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
    o.set_credentials(login.user_name.clone(), login.password.clone());
    let (device, _) = connect(o).await.unwrap();
    device
        .client
        .publish(
            "devices/dev-1/messages/events/",
            QoS::AtLeastOnce,
            false,
            "via-cli",
        )
        .await
        .unwrap();
    assert_eq!(&observer.next_publish().await.payload[..], b"via-cli");
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-s", "TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let last = next_line().await;
    assert!(last.starts_with("accepted 1,"), "{last:?}");
    assert!(child.wait().unwrap().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_ahead_closes_links_whose_tokens_it_finds_expired() {
    let lab = Lab::start(|_| {}).await;
    // A token with an hour left: 7200 s ahead, the hub finds it expired.
    let login = component_login(&device_cs("dev-1", KEY), now() + 3600);
    let (device, _) = connect(lab.options(&login, lab.tls())).await.unwrap();
    lab.hub.set_clock_ahead(7200);
    let error = device.closed().await;
    assert!(
        !matches!(error, ConnectionError::ConnectionRefused(_)),
        "{error:?}"
    );
    assert_eq!(lab.hub.counters().closed("token-expired"), 1);
    assert_not_authorized(connect(lab.options(&login, lab.tls())).await);
    assert_eq!(lab.hub.counters().refused("expired"), 1);
    // A token that outlives the hub's clock is accepted again.
    let fresh = component_login(&device_cs("dev-1", KEY), now() + 7300);
    let (again, _) = connect(lab.options(&fresh, lab.tls())).await.unwrap();
    drop(again);
}

#[tokio::test]
async fn a_hub_binds_only_loopback_addresses() {
    let certs = tether_tests::tls::Certificates::generate().unwrap();
    let mut config = HubConfig::new(
        HOST,
        certs.server_cert_pem(),
        certs.server_key_pem(),
        "127.0.0.1:1".parse().unwrap(),
    );
    config.bind = "192.0.2.1".parse().unwrap();
    let Err(e) = IotHub::start(config).await else {
        panic!("a hub on a non-loopback address started");
    };
    assert!(e.to_string().contains("192.0.2.1 is not a loopback"), "{e}");
}
