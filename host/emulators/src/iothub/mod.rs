//! An IoT Hub emulator that enforces the hub's rules in front of a real broker.
//!
//! Devices connect to it as they would to Azure IoT Hub: MQTT 3.1.1 over TLS, or
//! MQTT over secure WebSockets at `/$iothub/websocket` (subprotocol `mqtt`). It
//! checks every CONNECT as the hub does ([`connect`]: user name, client id,
//! api-version, a SAS token it verifies itself, or an X.509 client certificate),
//! closes a link when its token expires, drops the older link when a device
//! connects again, throttles new connections, and lets each identity publish and
//! subscribe only on its own topics ([`topics`]). Delivery is left to mosquitto:
//! each accepted link gets a link of its own to the broker (same client id, same
//! clean-session flag), and packets are relayed both ways, the device's inspected
//! with rumqttc's MQTT 3.1.1 codec. Cloud-to-device messages
//! ([`IotHub::send_c2d`]) are QoS 1 publishes to the device's devicebound topic,
//! so mosquitto keeps them for an offline device with a persistent session.
//!
//! ```no_run
//! # async fn demo(cert_pem: String, key_pem: String, key: Vec<u8>) -> std::io::Result<()> {
//! use tether_emulators::iothub::{Credential, HubConfig, IdentityId, Identity, IotHub};
//!
//! let mut config = HubConfig::new("hub-a.localhost", cert_pem, key_pem, "127.0.0.1:1883".parse().unwrap());
//! config.registry.insert(
//!     IdentityId::device("dev-1"),
//!     Identity { credential: Credential::Keys { primary: key, secondary: None }, enabled: true },
//! );
//! let hub = IotHub::start(config).await?;
//! println!("mqtts on {}, wss on {}", hub.mqtt_address(), hub.websocket_address());
//! hub.send_c2d("dev-1", b"reboot", &[("kind".into(), "command".into())]).await?;
//! assert_eq!(hub.counters().refused("bad-signature"), 0);
//! # Ok(()) }
//! ```

pub mod connect;
mod link;
pub mod registry;
pub mod sas;
pub mod tls;
pub mod topics;
mod ws;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

pub use connect::API_VERSIONS;
pub use registry::{Credential, Identity, IdentityId, Registry, RegistryError};

/// How many new connections the hub takes per period; the excess is closed
/// without a CONNACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Connections allowed per period.
    pub connections: u32,
    /// The period.
    pub per: Duration,
}

impl Default for RateLimit {
    /// 100 per second: one S1 unit ("the higher of 100/s or 12/s per unit", Azure
    /// docs, IoT Hub quotas and throttling, Device connections).
    fn default() -> Self {
        Self {
            connections: 100,
            per: Duration::from_secs(1),
        }
    }
}

/// How the emulator starts.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// The hub's host name, for example `hub-a.localhost`: in user names and token
    /// resource URIs, and in the server certificate.
    pub host_name: String,
    /// The server certificate chain (leaf first) and its key, PEM.
    pub cert_pem: String,
    /// The server key, PEM.
    pub key_pem: String,
    /// The loopback address both listeners bind (127.0.0.1 by default; another
    /// 127.x address lets a second hub share a port under its own host name).
    pub bind: IpAddr,
    /// The loopback port for MQTT over TLS (0: any free port).
    pub mqtt_port: u16,
    /// The loopback port for MQTT over secure WebSockets (0: any free port).
    pub websocket_port: u16,
    /// The mosquitto behind the emulator (anonymous, plain MQTT).
    pub broker: SocketAddr,
    /// New connections allowed.
    pub rate_limit: RateLimit,
    /// The identities known at start.
    pub registry: Registry,
}

impl HubConfig {
    /// A hub `host_name` with the given certificate, in front of `broker`: free
    /// ports, the default rate limit, an empty registry.
    pub fn new(
        host_name: impl Into<String>,
        cert_pem: impl Into<String>,
        key_pem: impl Into<String>,
        broker: SocketAddr,
    ) -> Self {
        Self {
            host_name: host_name.into(),
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            mqtt_port: 0,
            websocket_port: 0,
            broker,
            rate_limit: RateLimit::default(),
            registry: Registry::new(),
        }
    }
}

/// The emulator's counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// CONNECTs answered with CONNACK 0.
    pub accepted: u64,
    /// Connections refused, by reason: `protocol`, `bad-user-name`, `wrong-hub`,
    /// `api-version`, `client-id`, `unknown-device`, `device-disabled`,
    /// `no-password`, `bad-token`, `policy-token`, `wrong-resource`,
    /// `bad-signature`, `expired`, `no-certificate`, `bad-certificate`,
    /// `will-topic`, `throttled`, `broker-unavailable`, `malformed`,
    /// `websocket-path`, `websocket-subprotocol`, `tls`.
    pub refused: BTreeMap<String, u64>,
    /// Accepted links closed, by reason: `token-expired`, `duplicate`,
    /// `topic-denied`, `qos2`, `subscription-limit`, `device-disabled`,
    /// `device-removed`, `malformed`, `client-disconnect`, `client-closed`,
    /// `broker-closed`, `shutdown`.
    pub closed: BTreeMap<String, u64>,
}

impl Counters {
    /// Refusals for `reason`.
    pub fn refused(&self, reason: &str) -> u64 {
        self.refused.get(reason).copied().unwrap_or(0)
    }

    /// Links closed for `reason`.
    pub fn closed(&self, reason: &str) -> u64 {
        self.closed.get(reason).copied().unwrap_or(0)
    }

    /// All refusals.
    pub fn refused_total(&self) -> u64 {
        self.refused.values().fold(0, |a, b| a.saturating_add(*b))
    }
}

/// A running emulator; dropping it stops the listeners and closes every link.
pub struct IotHub {
    shared: Arc<Shared>,
    mqtt: SocketAddr,
    websocket: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for IotHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IotHub")
            .field("host_name", &self.shared.host_name)
            .field("mqtt", &self.mqtt)
            .field("websocket", &self.websocket)
            .finish_non_exhaustive()
    }
}

/// Which of an identity's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySlot {
    /// The primary key.
    Primary,
    /// The secondary key.
    Secondary,
}

impl IotHub {
    /// Bind both listeners on `config.bind` and start serving.
    ///
    /// # Errors
    /// When a port cannot be bound or the certificate or key is refused.
    pub async fn start(config: HubConfig) -> io::Result<IotHub> {
        let tls = tls::server_config(&config.cert_pem, &config.key_pem)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        if !config.bind.is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bind: {} is not a loopback address", config.bind),
            ));
        }
        let mqtt = TcpListener::bind((config.bind, config.mqtt_port)).await?;
        let websocket = TcpListener::bind((config.bind, config.websocket_port)).await?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            host_name: config.host_name,
            broker: config.broker,
            registry: Mutex::new(config.registry),
            counters: Mutex::new(Counters::default()),
            live: Mutex::new(HashMap::new()),
            limiter: Mutex::new(Limiter {
                limit: config.rate_limit,
                window_start: Instant::now(),
                used: 0,
            }),
            next_link: AtomicU64::new(1),
            next_message: AtomicU64::new(1),
            ahead_s: AtomicU64::new(0),
            shutdown: shutdown_rx,
        });
        let addresses = (mqtt.local_addr()?, websocket.local_addr()?);
        let tasks = vec![
            tokio::spawn(link::serve_mqtt(mqtt, acceptor.clone(), shared.clone())),
            tokio::spawn(ws::serve(websocket, acceptor, shared.clone())),
        ];
        Ok(IotHub {
            shared,
            mqtt: addresses.0,
            websocket: addresses.1,
            tasks,
            shutdown,
        })
    }

    /// Where MQTT over TLS listens.
    pub fn mqtt_address(&self) -> SocketAddr {
        self.mqtt
    }

    /// Where MQTT over secure WebSockets listens (path `/$iothub/websocket`).
    pub fn websocket_address(&self) -> SocketAddr {
        self.websocket
    }

    /// The hub's host name.
    pub fn host_name(&self) -> &str {
        &self.shared.host_name
    }

    /// The counters now.
    pub fn counters(&self) -> Counters {
        lock(&self.shared.counters).clone()
    }

    /// How many device links are open.
    pub fn live_links(&self) -> usize {
        lock(&self.shared.live).len()
    }

    /// Run the hub's clock `seconds` ahead of the machine's (a device whose clock
    /// lags): tokens whose `se` falls before the hub's now are refused as
    /// expired, and open links whose tokens have now expired are closed
    /// (`token-expired`), as the hub closes a link at its token's expiry.
    pub fn set_clock_ahead(&self, seconds: u64) {
        self.shared.ahead_s.store(seconds, Ordering::Relaxed);
        let now = self.shared.now();
        let expired: Vec<String> = lock(&self.shared.live)
            .iter()
            .filter(|(_, l)| l.expiry.is_some_and(|se| se <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for client_id in expired {
            self.shared.kick(&client_id, "token-expired");
        }
    }

    /// Register (or replace) an identity.
    pub fn add_identity(&self, id: IdentityId, identity: Identity) {
        lock(&self.shared.registry).insert(id, identity);
    }

    /// Remove an identity and close its link; whether it was registered.
    pub fn remove_identity(&self, id: &IdentityId) -> bool {
        let removed = lock(&self.shared.registry).remove(id);
        if removed {
            self.shared.kick(&id.client_id(), "device-removed");
        }
        removed
    }

    /// Enable or disable an identity; disabling closes its link. Whether it is
    /// registered.
    pub fn set_enabled(&self, id: &IdentityId, enabled: bool) -> bool {
        let found = match lock(&self.shared.registry).get_mut(id) {
            Some(identity) => {
                identity.enabled = enabled;
                true
            }
            None => false,
        };
        if found && !enabled {
            self.shared.kick(&id.client_id(), "device-disabled");
        }
        found
    }

    /// Replace one of a symmetric-key identity's keys with a fresh random one and
    /// return it (base64); tokens signed with the old key are refused from now on
    /// (links already open stay until their tokens expire, as on the hub).
    /// `None` when the identity is unknown or not a symmetric-key identity.
    pub fn regenerate_key(&self, id: &IdentityId, slot: KeySlot) -> Option<String> {
        let mut fresh = vec![0u8; 32];
        getrandom::fill(&mut fresh).ok()?;
        let mut registry = lock(&self.shared.registry);
        let Credential::Keys { primary, secondary } = &mut registry.get_mut(id)?.credential else {
            return None;
        };
        let text = base64::engine::general_purpose::STANDARD.encode(&fresh);
        match slot {
            KeySlot::Primary => *primary = fresh,
            KeySlot::Secondary => *secondary = Some(fresh),
        }
        Some(text)
    }

    /// Send a cloud-to-device message: a QoS 1 publish, through the broker, on
    /// `devices/{device}/messages/devicebound/{property bag}`. The bag holds
    /// `properties` (URL-encoded, in order), then `$.mid` (a message id) and
    /// `$.to`, as the hub's do. Returns once the broker acknowledged it; a device
    /// offline with a persistent session gets it when it reconnects.
    ///
    /// # Errors
    /// When the broker cannot be reached or does not acknowledge.
    pub async fn send_c2d(
        &self,
        device: &str,
        payload: &[u8],
        properties: &[(String, String)],
    ) -> io::Result<()> {
        let mid = self.shared.next_message.fetch_add(1, Ordering::Relaxed);
        let mut pairs: Vec<(String, String)> = properties.to_vec();
        pairs.push(("$.mid".to_string(), mid.to_string()));
        pairs.push((
            "$.to".to_string(),
            format!("/devices/{device}/messages/deviceBound"),
        ));
        let topic = topics::devicebound_topic(device, &property_bag(&pairs));
        link::publish_once(self.shared.broker, &topic, payload).await
    }
}

impl Drop for IotHub {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A URL-encoded property bag: `k=v&k2=v2` (RFC 3986 unreserved characters kept).
pub fn property_bag(pairs: &[(String, String)]) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, KEEP),
                utf8_percent_encode(v, KEEP)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// What the listeners and links share.
struct Shared {
    host_name: String,
    broker: SocketAddr,
    registry: Mutex<Registry>,
    counters: Mutex<Counters>,
    /// Open links by client id.
    live: Mutex<HashMap<String, LiveLink>>,
    limiter: Mutex<Limiter>,
    next_link: AtomicU64,
    next_message: AtomicU64,
    /// How far the hub's clock runs ahead of the machine's, in seconds.
    ahead_s: AtomicU64,
    shutdown: watch::Receiver<bool>,
}

/// An open link, and how to close it.
struct LiveLink {
    link: u64,
    /// The token's `se` (Unix seconds), for a SAS link.
    expiry: Option<u64>,
    kick: oneshot::Sender<Kick>,
}

/// Close a link for `reason`; `done` is answered once it is closed.
struct Kick {
    reason: &'static str,
    done: Option<oneshot::Sender<()>>,
}

impl Shared {
    /// The hub's Unix time in seconds: the machine's plus the configured lead.
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .saturating_add(self.ahead_s.load(Ordering::Relaxed))
    }

    fn refused(&self, reason: &str) {
        bump(&mut lock(&self.counters).refused, reason);
    }

    fn closed(&self, reason: &str) {
        bump(&mut lock(&self.counters).closed, reason);
    }

    fn accepted(&self) {
        let mut c = lock(&self.counters);
        c.accepted = c.accepted.saturating_add(1);
    }

    /// Close the link of `client_id`, if any, without waiting.
    fn kick(&self, client_id: &str, reason: &'static str) {
        if let Some(live) = lock(&self.live).remove(client_id) {
            let _ = live.kick.send(Kick { reason, done: None });
        }
    }

    /// Whether one more connection fits the rate limit now.
    fn admit(&self) -> bool {
        let mut l = lock(&self.limiter);
        let now = Instant::now();
        if now.duration_since(l.window_start) >= l.limit.per {
            l.window_start = now;
            l.used = 0;
        }
        if l.used >= l.limit.connections {
            return false;
        }
        l.used = l.used.saturating_add(1);
        true
    }
}

/// A fixed-window counter of new connections.
struct Limiter {
    limit: RateLimit,
    window_start: Instant,
    used: u32,
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    let n = map.entry(key.to_string()).or_insert(0);
    *n = n.saturating_add(1);
}

/// Lock `m`, taking the data of a poisoned lock (a panicked link must not stop
/// the others).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_bags_are_url_encoded() {
        let bag = property_bag(&[
            ("prop3".into(), "a string".into()),
            ("$.to".into(), "/devices/d/messages/deviceBound".into()),
        ]);
        assert_eq!(
            bag,
            "prop3=a%20string&%24.to=%2Fdevices%2Fd%2Fmessages%2FdeviceBound"
        );
    }
}
