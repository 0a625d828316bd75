//! The MQTT transport: one `rumqttc` client and event-loop task per link.
//!
//! `open` starts a task that connects once; its first error ends it and is
//! reported (`on-failed` before the CONNACK, `on-closed` after). The event loop is
//! never polled again after an error, which is what keeps `rumqttc` from
//! reconnecting on its own schedule. `send` publishes at QoS 1; the PUBACK's packet
//! id is mapped back to the component's message id (`rumqttc` hands packet ids out
//! in the order publishes leave its request queue, one `Outgoing::Publish` event
//! each). `close` sends DISCONNECT and silences the link: no further reports.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode as V5Code, Packet as V5Packet};
use rumqttc::{ConnectReturnCode as V4Code, Packet as V4Packet, QoS, TlsConfiguration};
use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::config::{CredentialFormat, MqttSettings, MqttVersion};
use super::profile::{self, Profile};
use super::{Input, InputSender, io_failure, net, plain, split_address};
use tether_host::{
    ApplicationError, Failure, FailureKind, Instance, NetworkError, ProtocolError, Transport,
};

/// Requests a link's client may queue: far above the component's in-flight window.
const REQUEST_CAPACITY: usize = 1024;
/// Packet ids in flight at once (`rumqttc` collides ids beyond this).
const INFLIGHT: u16 = 1000;
/// How long a closed link may take to say goodbye before its task is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The TLS client configuration of `settings`, on the ring provider: trusting the
/// CA certificates of `tls.ca-file`, or the system's roots without one, and
/// presenting `tls.cert-file` / `tls.key-file` when given.
///
/// # Errors
/// When a file cannot be read or holds nothing usable (naming the field).
pub fn tls_config(settings: &MqttSettings) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    match &settings.tls_ca_file {
        Some(ca_file) => {
            let certs = CertificateDer::pem_file_iter(ca_file).map_err(|e| {
                anyhow::anyhow!("mqtt.tls.ca-file: cannot read {}: {e}", ca_file.display())
            })?;
            for cert in certs {
                let cert = cert
                    .map_err(|e| anyhow::anyhow!("mqtt.tls.ca-file: {}: {e}", ca_file.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| anyhow::anyhow!("mqtt.tls.ca-file: {}: {e}", ca_file.display()))?;
            }
            anyhow::ensure!(
                !roots.is_empty(),
                "mqtt.tls.ca-file: {} holds no certificate",
                ca_file.display()
            );
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            anyhow::ensure!(
                added > 0,
                "mqtt.tls: the system has no CA certificates; give mqtt.tls.ca-file"
            );
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = match &settings.client_cert {
        None => builder.with_no_client_auth(),
        Some(c) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&c.cert_file)
                .and_then(Iterator::collect)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "mqtt.tls.cert-file: cannot read {}: {e}",
                        c.cert_file.display()
                    )
                })?;
            anyhow::ensure!(
                !chain.is_empty(),
                "mqtt.tls.cert-file: {} holds no certificate",
                c.cert_file.display()
            );
            // The key's bytes never reach an error message: only the file's name.
            let key = PrivateKeyDer::from_pem_file(&c.key_file).map_err(|_| {
                anyhow::anyhow!(
                    "mqtt.tls.key-file: {} holds no usable private key (PEM: PKCS#8, PKCS#1 or SEC1)",
                    c.key_file.display()
                )
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| anyhow::anyhow!("mqtt.tls.key-file: does not match cert-file: {e}"))?
        }
    };
    Ok(Arc::new(config))
}

enum Client {
    V4(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
}

struct Link {
    client: Client,
    /// Message ids published and not yet given a packet id, in order.
    sent: Arc<Mutex<VecDeque<u64>>>,
    /// Set by `close`: the task reports nothing more.
    closed: Arc<AtomicBool>,
}

/// The [`Transport`] over MQTT. Needs a tokio runtime (it spawns a task per link).
pub struct MqttTransport {
    settings: MqttSettings,
    profile: Profile,
    tls: Option<Arc<ClientConfig>>,
    /// An instance of the component for its `identity` functions (IoT Hub user
    /// names), apart from the connection's own.
    identity: Instance,
    inputs: InputSender,
    links: HashMap<u64, Link>,
}

/// The CONNECT fields of one link.
struct Session {
    client_id: String,
    user: Option<String>,
    password: Option<String>,
    keep_alive_s: u16,
    clean: bool,
}

impl MqttTransport {
    pub(crate) fn new(
        settings: MqttSettings,
        profile: Profile,
        tls: Option<Arc<ClientConfig>>,
        identity: Instance,
        inputs: InputSender,
    ) -> Self {
        Self {
            settings,
            profile,
            tls,
            identity,
            inputs,
            links: HashMap::new(),
        }
    }

    /// Client id, user name and password for a link to `host` as `device`, by
    /// the profile. `None` when the component refuses the identity.
    fn session(&mut self, host: &str, device: &str, credential: Option<&str>) -> Option<Session> {
        let s = &self.settings;
        let clean = self.profile.clean_session();
        match &self.profile {
            Profile::Mqtt => {
                let client_id = s.client_id.clone().unwrap_or_else(|| device.to_string());
                let (user, password) = match (credential, s.credential_format) {
                    (None, _) => (s.username.clone(), None),
                    (Some(c), CredentialFormat::Password) => (
                        Some(s.username.clone().unwrap_or_else(|| device.to_string())),
                        Some(c.to_string()),
                    ),
                    (Some(c), CredentialFormat::UserPassword) => match c.split_once(':') {
                        Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
                        None => (
                            Some(s.username.clone().unwrap_or_else(|| device.to_string())),
                            Some(c.to_string()),
                        ),
                    },
                };
                Some(Session {
                    client_id,
                    user,
                    password,
                    keep_alive_s: s.keep_alive_s,
                    clean,
                })
            }
            Profile::AzureIotHub(hub) => {
                let c = profile::hub_connect(hub, host, device, s.keep_alive_s, &mut self.identity)
                    .ok()?;
                Some(Session {
                    client_id: c.client_id,
                    user: Some(c.user_name),
                    // X.509 devices send no password: the certificate is in TLS.
                    password: if c.uses_token {
                        credential.map(str::to_string)
                    } else {
                        None
                    },
                    keep_alive_s: c.keep_alive_s,
                    clean,
                })
            }
            Profile::AwsIotCore => Some(Session {
                client_id: s.client_id.clone().unwrap_or_else(|| device.to_string()),
                user: None,
                password: None,
                keep_alive_s: s.keep_alive_s,
                clean,
            }),
        }
    }

    /// The TLS settings of a link to `port`: AWS IoT Core takes MQTT on 443 only
    /// with its ALPN protocol.
    fn tls_for(&self, port: u16) -> Option<Arc<ClientConfig>> {
        let config = self.tls.as_ref()?;
        if matches!(self.profile, Profile::AwsIotCore) && port == 443 {
            let mut with_alpn = ClientConfig::clone(config);
            with_alpn.alpn_protocols = vec![profile::AWS_ALPN.as_bytes().to_vec()];
            return Some(Arc::new(with_alpn));
        }
        Some(config.clone())
    }

    fn report(&self, input: Input) {
        // The loop is gone only when the device is shutting down.
        let _ = self.inputs.send(input);
    }
}

impl std::fmt::Debug for MqttTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttTransport")
            .field("settings", &self.settings)
            .field("links", &self.links.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// What a link task needs.
struct Task {
    link: u64,
    host: String,
    port: u16,
    sent: Arc<Mutex<VecDeque<u64>>>,
    closed: Arc<AtomicBool>,
    inputs: InputSender,
}

impl Task {
    fn report(&self, input: Input) {
        if !self.closed.load(Ordering::SeqCst) {
            let _ = self.inputs.send(input);
        }
    }

    /// The first failure ends the link: before the CONNACK it is `on-failed`,
    /// after it `on-closed`.
    fn end(&self, connected: bool, failure: Failure) {
        let input = if connected {
            Input::Closed(self.link, failure)
        } else {
            Input::Failed(self.link, failure)
        };
        self.report(input);
    }

    /// Resolve the name first, so a lookup failure is reported as `dns` rather
    /// than as an opaque I/O error.
    async fn resolve(&self) -> Result<(), Failure> {
        match tokio::net::lookup_host((self.host.as_str(), self.port)).await {
            Ok(mut addrs) => addrs
                .next()
                .map(|_| ())
                .ok_or_else(|| net(NetworkError::Dns)),
            Err(_) => Err(net(NetworkError::Dns)),
        }
    }

    fn next_message(&self) -> Option<u64> {
        self.sent.lock().ok().and_then(|mut q| q.pop_front())
    }

    /// Report the link's events until its first error (or our DISCONNECT).
    async fn run(self, mut events: impl LinkEvents) {
        if let Err(f) = self.resolve().await {
            return self.end(false, f);
        }
        let mut connected = false;
        let mut packets: HashMap<u16, u64> = HashMap::new();
        loop {
            match events.next_event().await {
                Ok(LinkEvent::ConnAck) => {
                    connected = true;
                    self.report(Input::Opened(self.link));
                }
                Ok(LinkEvent::Published(pkid)) => {
                    if let Some(message) = self.next_message() {
                        packets.insert(pkid, message);
                    }
                }
                Ok(LinkEvent::PubAck { pkid, refusal }) => {
                    // A refusal goes to the component, whose refusal table
                    // resends the message later or ends it.
                    if let Some(message) = packets.remove(&pkid) {
                        self.report(match refusal {
                            None => Input::Acked(message),
                            Some(code) => Input::Refused(
                                message,
                                plain(FailureKind::Protocol(ProtocolError::MqttReason(code))),
                            ),
                        });
                    }
                }
                Ok(LinkEvent::Disconnected) => return,
                Ok(LinkEvent::Message { topic, payload }) => {
                    self.report(Input::Received { topic, payload });
                }
                Ok(LinkEvent::Other) => {}
                Err(failure) => return self.end(connected, failure),
            }
        }
    }
}

/// What a link task looks at in an event of either MQTT version.
enum LinkEvent {
    /// The CONNACK: the link is open.
    ConnAck,
    /// A QoS 1 publish left with this packet id.
    Published(u16),
    /// The PUBACK of a packet id; `refusal` is its MQTT 5 reason code when that
    /// is 0x80 or above (the hub refused the message).
    PubAck {
        pkid: u16,
        refusal: Option<u8>,
    },
    /// Our DISCONNECT went out: the link was closed on purpose.
    Disconnected,
    /// A message on a subscription (rumqttc acknowledges QoS 1 itself).
    Message {
        topic: String,
        payload: Vec<u8>,
    },
    Other,
}

/// A `rumqttc` event loop of either version, its events and errors already in
/// the contract's terms.
trait LinkEvents: Send + 'static {
    fn next_event(&mut self) -> impl Future<Output = Result<LinkEvent, Failure>> + Send;
}

impl LinkEvents for rumqttc::EventLoop {
    async fn next_event(&mut self) -> Result<LinkEvent, Failure> {
        use rumqttc::{Event, Outgoing};
        Ok(match self.poll().await.map_err(|e| v4_failure(&e))? {
            Event::Incoming(V4Packet::ConnAck(_)) => LinkEvent::ConnAck,
            Event::Outgoing(Outgoing::Publish(pkid)) => LinkEvent::Published(pkid),
            Event::Incoming(V4Packet::PubAck(ack)) => LinkEvent::PubAck {
                pkid: ack.pkid,
                refusal: None,
            },
            Event::Incoming(V4Packet::Publish(p)) => LinkEvent::Message {
                topic: p.topic,
                payload: p.payload.to_vec(),
            },
            Event::Outgoing(Outgoing::Disconnect) => LinkEvent::Disconnected,
            _ => LinkEvent::Other,
        })
    }
}

impl LinkEvents for rumqttc::v5::EventLoop {
    async fn next_event(&mut self) -> Result<LinkEvent, Failure> {
        use rumqttc::Outgoing;
        use rumqttc::v5::Event;
        Ok(match self.poll().await.map_err(|e| v5_failure(&e))? {
            Event::Incoming(V5Packet::ConnAck(_)) => LinkEvent::ConnAck,
            Event::Outgoing(Outgoing::Publish(pkid)) => LinkEvent::Published(pkid),
            Event::Incoming(V5Packet::PubAck(ack)) => LinkEvent::PubAck {
                pkid: ack.pkid,
                refusal: Some(puback_code(ack.reason)).filter(|code| *code >= 0x80),
            },
            Event::Incoming(V5Packet::Publish(p)) => LinkEvent::Message {
                topic: String::from_utf8_lossy(&p.topic).into_owned(),
                payload: p.payload.to_vec(),
            },
            Event::Outgoing(Outgoing::Disconnect) => LinkEvent::Disconnected,
            _ => LinkEvent::Other,
        })
    }
}

impl Transport for MqttTransport {
    fn open(&mut self, link: u64, hub: &str, device_id: Option<&str>, credential: Option<&str>) {
        let default_port =
            self.settings
                .port
                .unwrap_or(if self.tls.is_some() { 8883 } else { 1883 });
        // A hub may be given without a port (DPS assigns bare host names).
        let Some((host, port)) = split_address(hub, default_port) else {
            // No hub can answer at an address that does not parse.
            self.report(Input::Failed(
                link,
                plain(FailureKind::Application(ApplicationError::BadEndpoint)),
            ));
            return;
        };
        let device = device_id.unwrap_or("tether-device");
        let Some(session) = self.session(&host, device, credential) else {
            // The component refuses this identity: no hub would take it either.
            self.report(Input::Failed(
                link,
                plain(FailureKind::Application(ApplicationError::BadEndpoint)),
            ));
            return;
        };
        let tls = self.tls_for(port);
        // Over WebSockets rumqttc takes the broker as a URL (and the port again).
        let broker = if self.settings.websockets {
            let scheme = if tls.is_some() { "wss" } else { "ws" };
            let host_part = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.clone()
            };
            format!(
                "{scheme}://{host_part}:{port}{}",
                self.settings.websocket_path
            )
        } else {
            host.clone()
        };
        let transport = match (tls, self.settings.websockets) {
            (Some(config), false) => {
                rumqttc::Transport::tls_with_config(TlsConfiguration::Rustls(config))
            }
            (Some(config), true) => {
                rumqttc::Transport::wss_with_config(TlsConfiguration::Rustls(config))
            }
            (None, false) => rumqttc::Transport::Tcp,
            (None, true) => rumqttc::Transport::Ws,
        };
        let s = &self.settings;
        let Session {
            client_id,
            user,
            password,
            keep_alive_s,
            clean,
        } = session;
        let keep_alive = Duration::from_secs(u64::from(keep_alive_s));
        let sent = Arc::new(Mutex::new(VecDeque::new()));
        let closed = Arc::new(AtomicBool::new(false));
        let task = Task {
            link,
            host: host.clone(),
            port,
            sent: sent.clone(),
            closed: closed.clone(),
            inputs: self.inputs.clone(),
        };
        let client = match s.version {
            MqttVersion::V311 => {
                let mut o = rumqttc::MqttOptions::new(client_id, broker, port);
                o.set_keep_alive(keep_alive)
                    .set_clean_session(clean)
                    .set_inflight(INFLIGHT)
                    .set_transport(transport);
                if let Some(user) = user {
                    o.set_credentials(user, password.unwrap_or_default());
                }
                let (client, mut events) = rumqttc::AsyncClient::new(o, REQUEST_CAPACITY);
                let mut net_options = events.network_options();
                net_options.set_connection_timeout(s.connect_timeout_s);
                events.set_network_options(net_options);
                tokio::spawn(task.run(events));
                Client::V4(client)
            }
            MqttVersion::V5 => {
                let mut o = rumqttc::v5::MqttOptions::new(client_id, broker, port);
                o.set_keep_alive(keep_alive)
                    .set_clean_start(clean)
                    .set_outgoing_inflight_upper_limit(INFLIGHT)
                    .set_transport(transport);
                if let Some(user) = user {
                    o.set_credentials(user, password.unwrap_or_default());
                }
                o.set_connection_timeout(s.connect_timeout_s);
                let (client, events) = rumqttc::v5::AsyncClient::new(o, REQUEST_CAPACITY);
                tokio::spawn(task.run(events));
                Client::V5(client)
            }
        };
        self.links.insert(
            link,
            Link {
                client,
                sent,
                closed,
            },
        );
    }

    fn send(&mut self, link: u64, message: u64, topic: &str, payload: &[u8]) {
        let Some(l) = self.links.get(&link) else {
            return;
        };
        if let Ok(mut q) = l.sent.lock() {
            q.push_back(message);
        }
        let published = match &l.client {
            Client::V4(c) => c
                .try_publish(topic, QoS::AtLeastOnce, false, payload.to_vec())
                .is_ok(),
            Client::V5(c) => c
                .try_publish(
                    topic,
                    rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
                    false,
                    payload.to_vec(),
                )
                .is_ok(),
        };
        if !published {
            // The request queue is full or the link's task has ended: either way
            // this link cannot carry the message.
            if let Ok(mut q) = l.sent.lock() {
                q.pop_back();
            }
            if !l.closed.swap(true, Ordering::SeqCst) {
                self.report(Input::Closed(link, net(NetworkError::Closed)));
            }
        }
    }

    fn subscribe(&mut self, link: u64, filters: &[String]) {
        let Some(l) = self.links.get(&link) else {
            return;
        };
        let queued = filters.iter().all(|filter| match &l.client {
            Client::V4(c) => c.try_subscribe(filter, QoS::AtLeastOnce).is_ok(),
            Client::V5(c) => c
                .try_subscribe(filter, rumqttc::v5::mqttbytes::QoS::AtLeastOnce)
                .is_ok(),
        });
        if !queued && !l.closed.swap(true, Ordering::SeqCst) {
            // The link cannot take the request: it is as good as gone, and the
            // next link subscribes again.
            self.report(Input::Closed(link, net(NetworkError::Closed)));
        }
    }

    fn close(&mut self, link: u64) {
        let Some(l) = self.links.remove(&link) else {
            return;
        };
        l.closed.store(true, Ordering::SeqCst);
        // A polite DISCONNECT; the task ends when it has gone out, or is dropped
        // with the client after a grace period.
        let client = l.client;
        tokio::spawn(async move {
            let _ = tokio::time::timeout(CLOSE_GRACE, async {
                match &client {
                    Client::V4(c) => c.disconnect().await.is_ok(),
                    Client::V5(c) => c.disconnect().await.is_ok(),
                }
            })
            .await;
            tokio::time::sleep(CLOSE_GRACE).await;
            drop(client);
        });
    }
}

/// The contract's failure for an MQTT 3.1.1 connection error.
pub fn v4_failure(e: &rumqttc::ConnectionError) -> Failure {
    use rumqttc::{ConnectionError as E, StateError as S};
    match e {
        E::ConnectionRefused(code) => plain(FailureKind::Protocol(ProtocolError::MqttConnack(
            v4_code(*code),
        ))),
        E::MqttState(S::AwaitPingResp) => {
            plain(FailureKind::Protocol(ProtocolError::KeepAliveLost))
        }
        // Socket errors met while reading arrive wrapped as decoding errors.
        E::MqttState(S::Io(io) | S::Deserialization(rumqttc::Error::Io(io))) | E::Io(io) => {
            net(io_failure(io))
        }
        E::Tls(t) => net(tls_failure(t)),
        E::NetworkTimeout | E::FlushTimeout => net(NetworkError::Timeout),
        E::MqttState(_) | E::NotConnAck(_) | E::RequestsDone => net(NetworkError::Closed),
        E::Websocket(w) => ws_failure(w),
        E::WsConnect(_) | E::InvalidUrl(_) | E::ResponseValidation(_) => bad_endpoint(),
    }
}

/// No hub answers at this address as asked (a URL that does not parse, a server
/// that does not speak MQTT over WebSockets there).
fn bad_endpoint() -> Failure {
    plain(FailureKind::Application(ApplicationError::BadEndpoint))
}

/// The contract's failure for a WebSocket error: the socket's, TLS, or the
/// server's HTTP answer to the upgrade.
fn ws_failure(e: &tungstenite::Error) -> Failure {
    use tungstenite::Error as W;
    match e {
        W::Io(io) => net(io_failure(io)),
        W::Tls(_) => net(NetworkError::Tls),
        // The upgrade refused: a missing path is a wrong endpoint, anything else
        // the server's status to classify.
        W::Http(response) if response.status().as_u16() == 404 => bad_endpoint(),
        W::Http(response) => plain(FailureKind::Protocol(ProtocolError::Http(
            tether_host::HttpFailure {
                status: response.status().as_u16(),
                hub_code: None,
            },
        ))),
        W::Url(_) | W::HttpFormat(_) => bad_endpoint(),
        _ => net(NetworkError::Closed),
    }
}

/// The contract's failure for an MQTT 5 connection error.
pub fn v5_failure(e: &rumqttc::v5::ConnectionError) -> Failure {
    use rumqttc::v5::{ConnectionError as E, StateError as S};
    let reason = |code: u8| plain(FailureKind::Protocol(ProtocolError::MqttReason(code)));
    match e {
        E::ConnectionRefused(code) => reason(v5_code(*code)),
        E::MqttState(S::ConnFail { reason: code }) => reason(v5_code(*code)),
        E::MqttState(S::ServerDisconnect { reason_code, .. }) => reason(*reason_code as u8),
        E::MqttState(S::AwaitPingResp) => {
            plain(FailureKind::Protocol(ProtocolError::KeepAliveLost))
        }
        // Socket errors met while reading arrive wrapped as decoding errors.
        E::MqttState(S::Io(io) | S::Deserialization(rumqttc::v5::mqttbytes::Error::Io(io)))
        | E::Io(io) => net(io_failure(io)),
        E::Tls(t) => net(tls_failure(t)),
        E::Timeout(_) => net(NetworkError::Timeout),
        // The server broke the protocol: a malformed packet or one out of place.
        E::MqttState(S::Deserialization(_) | S::IncomingPacketTooLarge { .. }) => reason(0x81),
        E::MqttState(S::WrongPacket | S::Unsolicited(_)) | E::NotConnAck(_) => reason(0x82),
        E::MqttState(_) | E::RequestsDone => net(NetworkError::Closed),
        E::Websocket(w) => ws_failure(w),
        E::WsConnect(_) | E::InvalidUrl(_) | E::ResponseValidation(_) => bad_endpoint(),
    }
}

fn tls_failure(e: &rumqttc::TlsError) -> NetworkError {
    match e {
        // A socket error during the handshake keeps its own kind (a reset is a
        // reset); an error carrying a TLS alert or a bad certificate is TLS.
        rumqttc::TlsError::Io(io) => match io_failure(io) {
            NetworkError::Closed => NetworkError::Tls,
            other => other,
        },
        _ => NetworkError::Tls,
    }
}

fn v4_code(code: V4Code) -> u8 {
    code as u8
}

/// MQTT 5 CONNACK reason codes as numbers.
fn v5_code(code: V5Code) -> u8 {
    match code {
        V5Code::Success => 0x00,
        V5Code::UnspecifiedError => 0x80,
        V5Code::MalformedPacket => 0x81,
        V5Code::ProtocolError => 0x82,
        V5Code::ImplementationSpecificError => 0x83,
        V5Code::UnsupportedProtocolVersion | V5Code::RefusedProtocolVersion => 0x84,
        V5Code::ClientIdentifierNotValid | V5Code::BadClientId => 0x85,
        V5Code::BadUserNamePassword => 0x86,
        V5Code::NotAuthorized => 0x87,
        V5Code::ServerUnavailable | V5Code::ServiceUnavailable => 0x88,
        V5Code::ServerBusy => 0x89,
        V5Code::Banned => 0x8A,
        V5Code::BadAuthenticationMethod => 0x8C,
        V5Code::TopicNameInvalid => 0x90,
        V5Code::PacketTooLarge => 0x95,
        V5Code::QuotaExceeded => 0x97,
        V5Code::PayloadFormatInvalid => 0x99,
        V5Code::RetainNotSupported => 0x9A,
        V5Code::QoSNotSupported => 0x9B,
        V5Code::UseAnotherServer => 0x9C,
        V5Code::ServerMoved => 0x9D,
        V5Code::ConnectionRateExceeded => 0x9F,
    }
}

fn puback_code(reason: rumqttc::v5::mqttbytes::v5::PubAckReason) -> u8 {
    use rumqttc::v5::mqttbytes::v5::PubAckReason as R;
    match reason {
        R::Success => 0x00,
        R::NoMatchingSubscribers => 0x10,
        R::UnspecifiedError => 0x80,
        R::ImplementationSpecificError => 0x83,
        R::NotAuthorized => 0x87,
        R::TopicNameInvalid => 0x90,
        R::PacketIdentifierInUse => 0x91,
        R::QuotaExceeded => 0x97,
        R::PayloadFormatInvalid => 0x99,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connack_codes_keep_their_numbers() {
        let f = v4_failure(&rumqttc::ConnectionError::ConnectionRefused(
            V4Code::NotAuthorized,
        ));
        assert_eq!(f.kind, FailureKind::Protocol(ProtocolError::MqttConnack(5)));
        let f = v5_failure(&rumqttc::v5::ConnectionError::ConnectionRefused(
            V5Code::NotAuthorized,
        ));
        assert_eq!(
            f.kind,
            FailureKind::Protocol(ProtocolError::MqttReason(0x87))
        );
        let f = v5_failure(&rumqttc::v5::ConnectionError::ConnectionRefused(
            V5Code::ServerMoved,
        ));
        assert_eq!(
            f.kind,
            FailureKind::Protocol(ProtocolError::MqttReason(0x9D))
        );
    }

    #[test]
    fn a_lost_ping_is_keep_alive_lost() {
        let f = v4_failure(&rumqttc::ConnectionError::MqttState(
            rumqttc::StateError::AwaitPingResp,
        ));
        assert_eq!(f.kind, FailureKind::Protocol(ProtocolError::KeepAliveLost));
        let f = v5_failure(&rumqttc::v5::ConnectionError::MqttState(
            rumqttc::v5::StateError::AwaitPingResp,
        ));
        assert_eq!(f.kind, FailureKind::Protocol(ProtocolError::KeepAliveLost));
    }

    #[test]
    fn socket_errors_while_reading_keep_their_kind() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let f = v5_failure(&rumqttc::v5::ConnectionError::MqttState(
            rumqttc::v5::StateError::Deserialization(rumqttc::v5::mqttbytes::Error::Io(reset)),
        ));
        assert_eq!(f.kind, FailureKind::Network(NetworkError::Reset));
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let f = v4_failure(&rumqttc::ConnectionError::MqttState(
            rumqttc::StateError::Deserialization(rumqttc::Error::Io(reset)),
        ));
        assert_eq!(f.kind, FailureKind::Network(NetworkError::Reset));
    }

    #[test]
    fn socket_errors_keep_their_kind() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let f = v4_failure(&rumqttc::ConnectionError::Io(refused));
        assert_eq!(f.kind, FailureKind::Network(NetworkError::Refused));
        let f = v5_failure(&rumqttc::v5::ConnectionError::MqttState(
            rumqttc::v5::StateError::ConnectionAborted,
        ));
        assert_eq!(f.kind, FailureKind::Network(NetworkError::Closed));
    }
}
