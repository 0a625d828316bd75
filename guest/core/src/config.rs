//! The connection configuration: one JSON document, the same in every host.
//!
//! ```json
//! {
//!   "hub": "hub-a.example:8883",
//!   "device-id": "sensor-17",
//!   "seed": 17,
//!   "provisioning": { "reprovision-after": 10 },
//!   "credential": { "renewable": true, "renew-at-percent": 80 },
//!   "policy": { "kind": "exponential", "initial-ms": 1000, "max-ms": 60000 },
//!   "queue": { "capacity": 64, "operation-timeout-ms": 240000 }
//! }
//! ```
//!
//! A device with an IoT Hub key mints its own tokens: either
//! `"connection-string": "HostName=..;DeviceId=..;SharedAccessKey=.."` in place of
//! `hub` and `device-id`, or `"credential": {"sas": {"key": "..", "lifetime-s":
//! 3600}}` beside them (with provisioning, the key signs tokens for whichever hub
//! is assigned). The key stays inside the component: `Debug` shows it redacted.
//!
//! ```json
//! {
//!   "policy": { "kind": "exponential", "initial-ms": 1000, "max-ms": 60000 },
//!   "queue": { "capacity": 64, "operation-timeout-ms": 240000 }
//! }
//! ```
//!
//! Every field is optional except that a hub or a provisioning section must be
//! given. Unknown fields are refused; every error names the field's path.
#![forbid(unsafe_code)]

use alloc::rc::Rc;
use alloc::string::{String, ToString};

use crate::fleet::{FleetConfig, parse_fleet};
use crate::identity::{AuthMethod, ConnectionString};
use crate::json::{self, Obj};
use crate::policy::{self, PolicyConfig};
use crate::types::{ConfigError, Millis};

/// The largest duration a configuration may give: about 31 years. Larger values
/// are almost certainly unit mistakes.
pub const MAX_MS: Millis = Millis::from_ms(1_000_000_000_000);

/// A validated connection configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Seed for the jitter; `None` draws one from `wasi:random` so that devices
    /// of a fleet do not back off in lockstep.
    pub seed: Option<u64>,
    /// The hub to connect to (with provisioning: the cached assignment, tried first).
    pub hub: Option<String>,
    /// The device identity on that hub.
    pub device_id: Option<String>,
    /// Present when the device uses a provisioning service.
    pub provisioning: Option<ProvisioningConfig>,
    /// How credentials are handled.
    pub credential: CredentialConfig,
    /// The retry policy, shared with the connection's schedule.
    pub policy: Rc<PolicyConfig>,
    /// The outgoing-message queue.
    pub queue: QueueConfig,
    /// `takeover-retries`: sessions taken over (MQTT 5 0x8E) retried within one
    /// outage before giving up; see [`DEFAULT_TAKEOVER_RETRIES`].
    pub takeover_retries: u32,
    /// What the operator knows about the fleet: its devices retry in slots
    /// spread over the hub's admission rate (see [`crate::fleet`]).
    pub fleet: Option<FleetConfig>,
}

/// Takeovers (MQTT 5 0x8E) retried within one outage by default.
///
/// A device meets its own earlier link once or twice after an outage: a CONNECT
/// of an attempt whose TCP handshake completed just before the path went dark,
/// delivered after it healed, or a hub dropping the link the device already
/// replaced. New handshakes cannot complete while the path is dark, so more than
/// two stale CONNECTs per outage would be unusual; three leaves a margin. Two
/// devices that really share an identity take each other's session on every
/// attempt: after three retries on the throttled curve within the outage the
/// device stops with `session-taken-over`, rather than making both flap for good.
pub const DEFAULT_TAKEOVER_RETRIES: u32 = 3;

/// The hub-plus-provisioning flow.
///
/// # Defaults
/// `reprovision-after` 10 consecutive failed reconnects (the guidance's number);
/// `retry-after-min-ms` 2000 and `retry-after-max-ms` 300000 (the clamp on the
/// service's retry-after: DPS allows at most 5 polls per 10 s);
/// `poll-default-ms` 2000 when a 202 carries no retry-after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvisioningConfig {
    /// Reprovision after this many consecutive failed reconnects.
    pub reprovision_after: u32,
    /// Lower clamp on the service's retry-after.
    pub retry_after_min_ms: Millis,
    /// Upper clamp on the service's retry-after.
    pub retry_after_max_ms: Millis,
    /// Poll interval when the service gives none.
    pub poll_default_ms: Millis,
}

impl Default for ProvisioningConfig {
    fn default() -> Self {
        Self {
            reprovision_after: 10,
            retry_after_min_ms: Millis::from_secs(2),
            retry_after_max_ms: Millis::from_secs(300),
            poll_default_ms: Millis::from_secs(2),
        }
    }
}

/// Credentials.
///
/// # Defaults
/// Not `renewable` (the host's `credentials.renew` is never called);
/// `renew-at-percent` 80 (of the lifetime, as the Azure C SDK does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialConfig {
    /// The host can mint fresh credentials (`credentials.renew`).
    pub renewable: bool,
    /// Renew when this share of the lifetime has passed.
    pub renew_at_percent: u8,
    /// A credential to start with.
    pub secret: Option<String>,
    /// Its lifetime from `start`.
    pub lifetime_ms: Option<Millis>,
    /// A key to mint IoT Hub SAS tokens from, inside the component: renewals never
    /// call `credentials.renew`.
    pub sas: Option<SasConfig>,
    /// `token-lifetime-s`: the lifetime of each minted token.
    pub token_lifetime_s: u64,
}

/// The token lifetime when `lifetime-s` is not given: one hour, as the Azure SDKs.
pub const DEFAULT_TOKEN_LIFETIME_S: u64 = 3600;

/// The longest token lifetime accepted: one year.
pub const MAX_TOKEN_LIFETIME_S: u64 = 365 * 24 * 3600;

/// How hub tokens are minted: `credential.sas`, or a connection string's key.
#[derive(Clone, PartialEq, Eq)]
pub struct SasConfig {
    /// The key (base64). Never printed.
    pub key: String,
    /// The shared access policy the key belongs to (`skn`).
    pub key_name: Option<String>,
    /// The module, for a module identity.
    pub module_id: Option<String>,
    /// The hub host name tokens are for when no hub has been assigned: the
    /// connection string's `HostName`, else the `hub` address without its port.
    pub host_name: Option<String>,
    /// Each token's lifetime, in seconds.
    pub lifetime_s: u64,
}

impl core::fmt::Debug for SasConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SasConfig")
            .field("key", &"<redacted>")
            .field("key_name", &self.key_name)
            .field("module_id", &self.module_id)
            .field("host_name", &self.host_name)
            .field("lifetime_s", &self.lifetime_s)
            .finish()
    }
}

impl Default for CredentialConfig {
    fn default() -> Self {
        Self {
            renewable: false,
            renew_at_percent: 80,
            secret: None,
            lifetime_ms: None,
            sas: None,
            token_lifetime_s: DEFAULT_TOKEN_LIFETIME_S,
        }
    }
}

/// What `publish` does when the queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenFull {
    /// Accept the new message; the oldest queued one fails with `queue-full`.
    DropOldest,
    /// Refuse the new message (`publish` returns `queue-full`).
    Reject,
}

/// The outgoing-message queue.
///
/// # Defaults
/// `capacity` 64 messages (queued plus in flight), `max-in-flight` 16,
/// `operation-timeout-ms` none (a message waits as long as the queue keeps it),
/// `when-full` `drop-oldest` (telemetry: the newest reading matters most),
/// `max-payload-bytes` 262144 (IoT Hub's message limit), `max-refusals` 5 and
/// `refusal-backoff-ms` 1000 (see [`QueueConfig::max_refusals`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// Messages held at most, queued plus in flight.
    pub capacity: u32,
    /// Messages sent and not yet acknowledged, at most.
    pub max_in_flight: u32,
    /// A message not acknowledged this long after `publish` fails.
    pub operation_timeout_ms: Option<Millis>,
    /// What a full queue does.
    pub when_full: WhenFull,
    /// The largest payload accepted.
    pub max_payload_bytes: u32,
    /// A message the hub refuses (a PUBACK reason of 0x80 or above) with a
    /// reason worth resending is sent again at most this many times less one: the
    /// `max-refusals`th refusal ends it as failed. The default 5 waits 1, 2, 4
    /// and 8 s between sends (15 s in all): long enough to ride out a throttling
    /// window of a few seconds, short enough that a message the hub keeps
    /// refusing frees its place in the queue instead of being resent for good.
    pub max_refusals: u32,
    /// The wait before a refused message is sent again; it doubles with each
    /// refusal of the same message, up to [`MAX_REFUSAL_BACKOFF_MS`].
    pub refusal_backoff_ms: Millis,
}

/// The longest wait before a refused message is sent again.
pub const MAX_REFUSAL_BACKOFF_MS: Millis = Millis::from_secs(60);

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            capacity: 64,
            max_in_flight: 16,
            operation_timeout_ms: None,
            when_full: WhenFull::DropOldest,
            max_payload_bytes: 262_144,
            max_refusals: 5,
            refusal_backoff_ms: Millis::from_secs(1),
        }
    }
}

/// Parse and validate a configuration document.
pub fn parse(text: &str) -> Result<Config, ConfigError> {
    let root = json::parse_root(text)?;
    let mut o = Obj::new(&root, "")?;
    let seed = o.u64("seed")?;
    let mut hub = non_empty(&mut o, "hub")?;
    let mut device_id = non_empty(&mut o, "device-id")?;
    let connection_string = match o.str("connection-string")? {
        None => None,
        Some(text) => Some(ConnectionString::parse(text).map_err(|e| ConfigError {
            field: if e.field == "connection-string" {
                e.field
            } else {
                alloc::format!("connection-string.{}", e.field)
            },
            message: e.message,
        })?),
    };
    let provisioning = match o.object("provisioning")? {
        None => None,
        Some(p) => Some(parse_provisioning(p)?),
    };
    let mut credential = match o.object("credential")? {
        None => CredentialConfig::default(),
        Some(c) => parse_credential(c)?,
    };
    let policy = match o.get("policy") {
        None => PolicyConfig::default(),
        Some(v) => policy::parse_policy(v, "policy")?,
    };
    let queue = match o.object("queue")? {
        None => QueueConfig::default(),
        Some(q) => parse_queue(q)?,
    };
    let takeover_retries = o
        .u32_in("takeover-retries", 0, 1000)?
        .unwrap_or(DEFAULT_TAKEOVER_RETRIES);
    let fleet = match o.object("fleet")? {
        None => None,
        Some(f) => Some(parse_fleet(f, policy.limits().max_delay_ms)?),
    };
    o.finish()?;
    if let Some(cs) = connection_string {
        apply_connection_string(&cs, &mut hub, &mut device_id, &mut credential)?;
    }
    if let Some(sas) = &mut credential.sas {
        if device_id.is_none() && provisioning.is_none() {
            return Err(ConfigError::new(
                "device-id",
                "is needed to mint tokens with credential.sas (or let provisioning assign one)",
            ));
        }
        if sas.host_name.is_none() {
            sas.host_name = hub.as_deref().map(|h| host_of(h).to_string());
        }
    }
    if hub.is_none() && provisioning.is_none() {
        return Err(ConfigError::new(
            "hub",
            "give a hub address, or a provisioning section to get one",
        ));
    }
    Ok(Config {
        seed,
        hub,
        device_id,
        provisioning,
        credential,
        policy: Rc::new(policy),
        queue,
        takeover_retries,
        fleet,
    })
}

/// A connection string stands for `hub`, `device-id` and how the device proves
/// itself; giving those too is a contradiction, refused rather than guessed at.
fn apply_connection_string(
    cs: &ConnectionString,
    hub: &mut Option<String>,
    device_id: &mut Option<String>,
    credential: &mut CredentialConfig,
) -> Result<(), ConfigError> {
    let clash = |field: &str| {
        ConfigError::new(
            field,
            "is given by connection-string; give one or the other",
        )
    };
    if hub.is_some() {
        return Err(clash("hub"));
    }
    if device_id.is_some() {
        return Err(clash("device-id"));
    }
    if credential.sas.is_some() {
        return Err(clash("credential.sas"));
    }
    if credential.secret.is_some() {
        return Err(clash("credential.secret"));
    }
    let id = cs.identity();
    *hub = Some(
        id.gateway_host_name
            .clone()
            .unwrap_or_else(|| id.host_name.clone()),
    );
    *device_id = Some(id.device_id.clone());
    match (cs.key(), id.auth) {
        (Some(key), _) => {
            credential.renewable = true;
            credential.sas = Some(SasConfig {
                key: key.to_string(),
                key_name: id.key_name.clone(),
                module_id: id.module_id.clone(),
                host_name: Some(id.host_name.clone()),
                lifetime_s: credential.token_lifetime_s,
            });
        }
        (None, AuthMethod::SharedAccessSignature) => {
            // A ready-made token: used as given, and it cannot be renewed here.
            credential.secret = Some(cs.token(0)?);
            credential.renewable = false;
        }
        (None, _) => {}
    }
    Ok(())
}

/// `host` of `host:port` (an IPv6 literal in brackets keeps its brackets off).
pub(crate) fn host_of(address: &str) -> &str {
    if let Some(rest) = address.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match address.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => address,
    }
}

fn non_empty(o: &mut Obj<'_>, field: &'static str) -> Result<Option<String>, ConfigError> {
    match o.str(field)? {
        Some("") => Err(o.error(field, "must not be empty")),
        other => Ok(other.map(ToString::to_string)),
    }
}

/// An optional duration field, a plain integer of milliseconds in `[min, MAX_MS]`.
fn millis_in(
    o: &mut Obj<'_>,
    field: &'static str,
    min: u64,
) -> Result<Option<Millis>, ConfigError> {
    Ok(o.u64_in(field, min, MAX_MS.as_ms())?.map(Millis::from_ms))
}

fn parse_provisioning(mut p: Obj<'_>) -> Result<ProvisioningConfig, ConfigError> {
    let d = ProvisioningConfig::default();
    let cfg = ProvisioningConfig {
        reprovision_after: p
            .u32_in("reprovision-after", 1, u32::MAX)?
            .unwrap_or(d.reprovision_after),
        retry_after_min_ms: millis_in(&mut p, "retry-after-min-ms", 0)?
            .unwrap_or(d.retry_after_min_ms),
        retry_after_max_ms: millis_in(&mut p, "retry-after-max-ms", 0)?
            .unwrap_or(d.retry_after_max_ms),
        poll_default_ms: millis_in(&mut p, "poll-default-ms", 0)?.unwrap_or(d.poll_default_ms),
    };
    if cfg.retry_after_max_ms < cfg.retry_after_min_ms {
        return Err(p.error(
            "retry-after-max-ms",
            "must not be smaller than retry-after-min-ms",
        ));
    }
    p.finish()?;
    Ok(cfg)
}

fn parse_credential(mut c: Obj<'_>) -> Result<CredentialConfig, ConfigError> {
    let d = CredentialConfig::default();
    let renewable = c.bool("renewable")?;
    let token_lifetime_s = c
        .u64_in("token-lifetime-s", 1, MAX_TOKEN_LIFETIME_S)?
        .unwrap_or(d.token_lifetime_s);
    let sas = match c.object("sas")? {
        None => None,
        Some(s) => Some(parse_sas(s, token_lifetime_s)?),
    };
    if sas.is_some() && renewable == Some(false) {
        return Err(c.error(
            "renewable",
            "cannot be false with sas: a key always mints fresh tokens",
        ));
    }
    let cfg = CredentialConfig {
        renewable: renewable.unwrap_or(sas.is_some() || d.renewable),
        renew_at_percent: c
            .u32_in("renew-at-percent", 1, 99)?
            .and_then(|p| u8::try_from(p).ok())
            .unwrap_or(d.renew_at_percent),
        secret: c.str("secret")?.map(ToString::to_string),
        lifetime_ms: millis_in(&mut c, "lifetime-ms", 1)?,
        sas,
        token_lifetime_s,
    };
    if cfg.lifetime_ms.is_some() && cfg.secret.is_none() {
        return Err(c.error(
            "lifetime-ms",
            "is the lifetime of `secret`, which is not given",
        ));
    }
    if cfg.sas.is_some() && cfg.secret.is_some() {
        return Err(c.error(
            "secret",
            "cannot be given with sas: tokens are minted from the key",
        ));
    }
    c.finish()?;
    Ok(cfg)
}

fn parse_sas(mut s: Obj<'_>, lifetime_s: u64) -> Result<SasConfig, ConfigError> {
    let key = s
        .str("key")?
        .ok_or_else(|| s.error("key", "is required (the device or policy key, base64)"))?
        .to_string();
    // Checked here so that a bad key is a configuration error, not a failed renewal.
    crate::identity::sas_token("check", &key, None, 0).map_err(|e| s.error("key", e.message))?;
    let key_name = non_empty(&mut s, "key-name")?;
    let module_id = non_empty(&mut s, "module-id")?;
    let host_name = non_empty(&mut s, "host-name")?;
    s.finish()?;
    Ok(SasConfig {
        key,
        key_name,
        module_id,
        host_name,
        lifetime_s,
    })
}

fn parse_queue(mut q: Obj<'_>) -> Result<QueueConfig, ConfigError> {
    let d = QueueConfig::default();
    let capacity = q.u32_in("capacity", 1, 1_000_000)?.unwrap_or(d.capacity);
    let max_in_flight = q
        .u32_in("max-in-flight", 1, 65_535)?
        .unwrap_or(d.max_in_flight.min(capacity));
    if max_in_flight > capacity {
        return Err(q.error("max-in-flight", "must not be larger than capacity"));
    }
    let when_full = match q.str("when-full")? {
        None => d.when_full,
        Some("drop-oldest") => WhenFull::DropOldest,
        Some("reject") => WhenFull::Reject,
        Some(other) => {
            return Err(q.error(
                "when-full",
                alloc::format!(
                    "expected \"drop-oldest\" or \"reject\", got {}",
                    json::quoted(other)
                ),
            ));
        }
    };
    let cfg = QueueConfig {
        capacity,
        max_in_flight,
        operation_timeout_ms: millis_in(&mut q, "operation-timeout-ms", 1)?,
        when_full,
        max_payload_bytes: q
            .u32_in("max-payload-bytes", 1, 16 * 1024 * 1024)?
            .unwrap_or(d.max_payload_bytes),
        max_refusals: q.u32_in("max-refusals", 1, 1000)?.unwrap_or(d.max_refusals),
        refusal_backoff_ms: q
            .u64_in("refusal-backoff-ms", 0, MAX_REFUSAL_BACKOFF_MS.as_ms())?
            .map_or(d.refusal_backoff_ms, Millis::from_ms),
    };
    q.finish()?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn field_of(doc: &str) -> String {
        parse(doc).unwrap_err().field
    }

    #[test]
    fn minimal_documents() {
        let c = parse(r#"{"hub": "h:1"}"#).unwrap();
        assert_eq!(c.hub.as_deref(), Some("h:1"));
        assert_eq!(c.queue, QueueConfig::default());
        let c = parse(r#"{"provisioning": {}}"#).unwrap();
        assert_eq!(c.provisioning, Some(ProvisioningConfig::default()));
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of("{}"), "hub");
        assert_eq!(field_of(r#"{"hub": ""}"#), "hub");
        assert_eq!(field_of(r#"{"hub": 5}"#), "hub");
        assert_eq!(field_of(r#"{"hub": "h", "hubb": "h"}"#), "hubb");
        assert_eq!(field_of(r#"{"hub": "h", "seed": -1}"#), "seed");
        assert_eq!(
            field_of(r#"{"hub": "h", "queue": {"capacity": 0}}"#),
            "queue.capacity"
        );
        assert_eq!(
            field_of(r#"{"hub": "h", "queue": {"capacity": 4, "max-in-flight": 5}}"#),
            "queue.max-in-flight"
        );
        assert_eq!(
            field_of(r#"{"hub": "h", "queue": {"when-full": "panic"}}"#),
            "queue.when-full"
        );
        assert_eq!(
            field_of(r#"{"hub": "h", "credential": {"renew-at-percent": 100}}"#),
            "credential.renew-at-percent"
        );
        assert_eq!(
            field_of(r#"{"hub": "h", "credential": {"lifetime-ms": 100}}"#),
            "credential.lifetime-ms"
        );
        assert_eq!(
            field_of(r#"{"provisioning": {"retry-after-min-ms": 5, "retry-after-max-ms": 4}}"#),
            "provisioning.retry-after-max-ms"
        );
        assert_eq!(
            field_of(r#"{"provisioning": {"reprovision-after": 0}}"#),
            "provisioning.reprovision-after"
        );
        assert_eq!(field_of(r#"{"hub": "h", "policy": 3}"#), "policy");
        assert_eq!(field_of("[]"), "(document)");
        assert_eq!(
            field_of(r#"{"hub": "h", "queue": {"max-refusals": 0}}"#),
            "queue.max-refusals"
        );
        assert_eq!(
            field_of(r#"{"hub": "h", "takeover-retries": 1001}"#),
            "takeover-retries"
        );
    }
}
