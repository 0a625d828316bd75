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

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

/// A throwaway certificate authority (rcgen, ring, ECDSA P-256).
struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        Self {
            issuer: Issuer::new(params, key),
            pem: cert.pem(),
        }
    }

    /// The hub's server certificate: `HOST`, `localhost`, `127.0.0.1`.
    fn server(&self) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![
            HOST.to_string(),
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .unwrap();
        params.distinguished_name.push(DnType::CommonName, HOST);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A client certificate with common name `cn`.
    fn client(&self, cn: &str) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (
            cert.der().clone(),
            PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap(),
        )
    }
}

/// A self-signed client certificate with common name `cn`.
fn self_signed_client(cn: &str) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = params.self_signed(&key).unwrap();
    (
        cert.der().clone(),
        PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap(),
    )
}

fn client_tls(
    ca_pem: &str,
    client_cert: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    Arc::new(match client_cert {
        Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
        None => builder.with_no_client_auth(),
    })
}

// ---------------------------------------------------------------------------
// The lab: mosquitto, the emulator, the component
// ---------------------------------------------------------------------------

struct Lab {
    broker: Broker,
    hub: IotHub,
    ca: TestCa,
}

impl Lab {
    async fn start(configure: impl FnOnce(&mut HubConfig)) -> Lab {
        let broker = Broker::start().unwrap();
        let ca = TestCa::new("hub test CA");
        let (cert, key) = ca.server();
        let mut config = HubConfig::new(HOST, cert, key, broker.address().parse().unwrap());
        for device in ["dev-1", "dev-2"] {
            config.registry.insert(
                IdentityId::device(device),
                Identity {
                    credential: Credential::Keys {
                        primary: decode(KEY),
                        secondary: None,
                    },
                    enabled: true,
                },
            );
        }
        configure(&mut config);
        let hub = IotHub::start(config).await.unwrap();
        Lab { broker, hub, ca }
    }

    fn tls(&self) -> Arc<rustls::ClientConfig> {
        client_tls(&self.ca.pem, None)
    }

    /// rumqttc options for a device link to the emulator (MQTT 3.1.1, TLS).
    fn options(&self, login: &Login, tls: Arc<rustls::ClientConfig>) -> MqttOptions {
        let mut o = MqttOptions::new(
            login.client_id.clone(),
            "127.0.0.1",
            self.hub.mqtt_address().port(),
        );
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
        o.set_keep_alive(Duration::from_secs(30));
        o.set_clean_session(false);
        o.set_credentials(login.user_name.clone(), login.password.clone());
        o
    }

    /// A subscriber on mosquitto itself (behind the emulator), ready.
    async fn subscriber(&self, filter: &str) -> Running {
        let port = self.broker.port();
        let mut o = MqttOptions::new(format!("observer-{}", unique()), "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(30));
        let (client, mut events) = AsyncClient::new(o, 16);
        client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
        loop {
            match events.poll().await.unwrap() {
                Event::Incoming(Incoming::SubAck(_)) => break,
                _ => continue,
            }
        }
        Running::spawn(client, events)
    }
}

fn decode(key: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .unwrap()
}

fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// What a device sends in its CONNECT.
#[derive(Clone)]
struct Login {
    client_id: String,
    user_name: String,
    password: String,
}

/// The CONNECT fields of connection string `cs`, with a token valid until
/// `expiry`, all computed by the tether component.
fn component_login(cs: &str, expiry: u64) -> Login {
    let mut instance = tether_tests::runtime().instantiate_real().unwrap();
    let identity = instance.parse_connection_string(cs).unwrap();
    let settings = instance
        .hub_mqtt_settings(
            &identity,
            &ComponentMqttOptions {
                api_version: None,
                user_agent: Some("DeviceClientType=tether-tests".to_string()),
                model_id: None,
                keep_alive_s: None,
            },
        )
        .unwrap();
    let password = if cs.contains("x509=true") {
        String::new()
    } else {
        instance.connection_string_token(cs, expiry).unwrap()
    };
    Login {
        client_id: settings.client_id,
        user_name: settings.user_name,
        password,
    }
}

fn device_cs(device: &str, key: &str) -> String {
    format!("HostName={HOST};DeviceId={device};SharedAccessKey={key}")
}

/// A token for `resource`, signed with `key`, by the component.
fn component_token(resource: &str, key: &str, expiry: u64) -> String {
    let mut instance = tether_tests::runtime().instantiate_real().unwrap();
    instance.sas_token(resource, key, None, expiry).unwrap()
}

/// A connected client whose event loop runs in a task: publishes it receives
/// arrive on `publishes`, and `ended` yields the error that closed the link.
struct Running {
    client: AsyncClient,
    publishes: mpsc::UnboundedReceiver<Publish>,
    subacks: mpsc::UnboundedReceiver<SubAck>,
    ended: JoinHandle<ConnectionError>,
}

impl Running {
    fn spawn(client: AsyncClient, mut events: EventLoop) -> Running {
        let (tx, publishes) = mpsc::unbounded_channel();
        let (sub_tx, subacks) = mpsc::unbounded_channel();
        let ended = tokio::spawn(async move {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Incoming::Publish(p))) => {
                        let _ = tx.send(p);
                    }
                    Ok(Event::Incoming(Incoming::SubAck(a))) => {
                        let _ = sub_tx.send(a);
                    }
                    Ok(_) => {}
                    Err(e) => return e,
                }
            }
        });
        Running {
            client,
            publishes,
            subacks,
            ended,
        }
    }

    async fn next_suback(&mut self) -> SubAck {
        tokio::time::timeout(Duration::from_secs(10), self.subacks.recv())
            .await
            .expect("no SUBACK within 10 s")
            .expect("the event loop ended")
    }

    async fn next_publish(&mut self) -> Publish {
        tokio::time::timeout(Duration::from_secs(10), self.publishes.recv())
            .await
            .expect("no publish within 10 s")
            .expect("the event loop ended")
    }

    /// Wait (at most 30 s) for the link to close and return why.
    async fn closed(self) -> ConnectionError {
        tokio::time::timeout(Duration::from_secs(30), self.ended)
            .await
            .expect("the link stayed open")
            .unwrap()
    }
}

/// Connect with `options`: the CONNACK, or the error that came instead.
async fn connect(options: MqttOptions) -> Result<(Running, ConnAck), ConnectionError> {
    let (client, mut events) = AsyncClient::new(options, 16);
    let ack = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Incoming::ConnAck(ack))) => return Ok(ack),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .expect("neither CONNACK nor an error within 15 s")?;
    Ok((Running::spawn(client, events), ack))
}

#[track_caller]
fn assert_not_authorized(result: Result<(Running, ConnAck), ConnectionError>) {
    match result {
        Err(ConnectionError::ConnectionRefused(ConnectReturnCode::NotAuthorized)) => {}
        Err(e) => panic!("expected CONNACK 5 (not authorized), got {e:?}"),
        Ok(_) => panic!("expected CONNACK 5 (not authorized), got CONNACK 0"),
    }
}

/// Wait (at most 10 s) until the counters satisfy `ok`, and return them.
async fn counters_when(hub: &IotHub, ok: impl Fn(&Counters) -> bool) -> Counters {
    for _ in 0..100 {
        let c = hub.counters();
        if ok(&c) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    hub.counters()
}

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
