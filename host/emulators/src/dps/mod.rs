//! An Azure IoT Hub Device Provisioning Service emulator that enforces the
//! service's rules, for the device runtime's provisioning client to meet.
//!
//! Front ends ([`https`], [`mqtt`]) share one service core:
//!
//! - **api-version**: REST requests must name one the service knows
//!   ([`API_VERSIONS`]); a missing or unknown one is 400 with errorCode 400004
//!   (`"Unsupported API version ..."`, as DPS answered in Azure/iotedge#4112).
//! - **Authentication**: an X.509 client certificate that chains to the
//!   configured CA with CN = registration id (verified in the TLS handshake), or
//!   `Authorization: SharedAccessSignature ...` verified here ([`sas`]): signed
//!   with the individual enrollment's key or with the device key derived from a
//!   group key, `sr` = `{idScope}/registrations/{registrationId}`,
//!   `skn=registration`, `se` in the future. Anything else is 401 with errorCode
//!   401002 and the service's error body `{errorCode, trackingId, message,
//!   timestampUtc}` (as in Azure/azure-iot-sdk-c#2575).
//! - **Unknown id scope**: 404 with errorCode 404001 (the DPS troubleshooting
//!   page lists 404 for an instance or resource that does not exist; the
//!   three-digit suffix is the emulator's). An unknown registration id cannot be
//!   authenticated, so it gets 401002.
//! - **Rate limit**: at most [`DpsConfig::registrations_per_window`] register
//!   requests per [`DpsConfig::window`] (DPS: 1,000 per minute per service);
//!   beyond it 429 with `Retry-After` and errorCode 429001.
//! - **Operations**: register answers 202 `{operationId, status: "assigning"}`
//!   with `Retry-After`; polls answer 202 again [`DpsConfig::pending_polls`]
//!   times, then 200 `{operationId, status: "assigned", registrationState:
//!   {registrationId, assignedHub, deviceId, status, substatus, ...}}`, or
//!   `status: "disabled"` for a disabled enrollment. No credential comes back
//!   for symmetric keys: the device signs its own hub tokens.
//! - **Hubs**: a registration goes to its enrollment's hub, else to one of
//!   [`DpsConfig::hubs`] by a stable hash of its id; [`DpsEmulator::move_registration`]
//!   sends it elsewhere on its next registration (substatus `deviceDataMigrated`).

pub mod enrollments;
pub mod https;
pub mod mqtt;
pub mod sas;
pub mod tls;

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

pub use enrollments::{Attestation, DpsConfig, Enrollment, GroupEnrollment};

/// The REST API versions the emulator accepts.
pub const API_VERSIONS: &[&str] = &["2019-03-31", "2021-06-01"];

/// The api-version of the MQTT user name.
pub const MQTT_API_VERSION: &str = "2019-03-31";

/// One answer of the service, whichever front end carries it.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// The HTTP status (also the MQTT answer topic's `{status}`).
    pub status: u16,
    /// `Retry-After` in seconds.
    pub retry_after_s: Option<u64>,
    /// The JSON body.
    pub body: Value,
}

/// Who the device proved to be, besides what its token says.
#[derive(Clone, Debug, Default)]
pub struct Credentials<'a> {
    /// The `Authorization` header, or the MQTT password.
    pub token: Option<&'a str>,
    /// The CN of a client certificate that chained to the configured CA.
    pub certificate_cn: Option<&'a str>,
}

/// One request the service answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// When.
    pub at: Instant,
    /// `https` or `mqtt`.
    pub transport: &'static str,
    /// `register` or `poll`.
    pub kind: &'static str,
    /// The registration id named.
    pub registration_id: String,
    /// The status answered.
    pub status: u16,
    /// The errorCode answered, if any.
    pub error_code: Option<u64>,
}

struct Operation {
    registration_id: String,
    enrolled: Enrolled,
    polls_left: u32,
}

struct Inner {
    config: DpsConfig,
    operations: BTreeMap<String, Operation>,
    /// Registration id -> hub it is to go to on its next registration, set by
    /// `move_registration`.
    moved: BTreeMap<String, String>,
    /// Registration id -> hub it was last assigned.
    assigned: BTreeMap<String, String>,
    recent: VecDeque<Instant>,
    served: Vec<Served>,
    next_operation: u64,
    /// How far the service's clock runs ahead of the machine's, in seconds.
    ahead_s: u64,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A running emulator. Dropping it stops its servers.
pub struct DpsEmulator {
    shared: Shared,
    https: SocketAddr,
    mqtt: Option<SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for DpsEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpsEmulator")
            .field("https", &self.https)
            .field("mqtt", &self.mqtt)
            .finish_non_exhaustive()
    }
}

impl DpsEmulator {
    /// Start on `127.0.0.1`: HTTPS on `https_port`, and MQTT/TLS on `mqtt_port`
    /// if given (0: a free port), on the current tokio runtime.
    ///
    /// # Errors
    /// When a port cannot be bound or the certificates do not load.
    pub async fn start(
        config: DpsConfig,
        https_port: u16,
        mqtt_port: Option<u16>,
    ) -> io::Result<DpsEmulator> {
        let acceptor = tls::acceptor(&config)?;
        let shared: Shared = Arc::new(Mutex::new(Inner {
            config,
            operations: BTreeMap::new(),
            moved: BTreeMap::new(),
            assigned: BTreeMap::new(),
            recent: VecDeque::new(),
            served: Vec::new(),
            next_operation: 0,
            ahead_s: 0,
        }));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", https_port)).await?;
        let https = listener.local_addr()?;
        let mut tasks = vec![tokio::spawn(https::serve(
            listener,
            acceptor.clone(),
            shared.clone(),
        ))];
        let mqtt = match mqtt_port {
            Some(port) => {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
                let addr = listener.local_addr()?;
                tasks.push(tokio::spawn(mqtt::serve(
                    listener,
                    acceptor,
                    shared.clone(),
                )));
                Some(addr)
            }
            None => None,
        };
        Ok(DpsEmulator {
            shared,
            https,
            mqtt,
            tasks,
        })
    }

    /// `https://127.0.0.1:port`: a device file's `provisioning.endpoint`.
    pub fn endpoint(&self) -> String {
        format!("https://{}", self.https)
    }

    /// `mqtts://127.0.0.1:port`, when the MQTT front end runs.
    pub fn mqtt_endpoint(&self) -> Option<String> {
        self.mqtt.map(|a| format!("mqtts://{a}"))
    }

    /// The id scope devices must name.
    pub fn id_scope(&self) -> String {
        lock(&self.shared).config.id_scope.clone()
    }

    /// Send `registration_id` to `hub` on its next registration (DPS
    /// reprovisioning after the enrollment's allocation changed).
    pub fn move_registration(&self, registration_id: &str, hub: &str) {
        lock(&self.shared)
            .moved
            .insert(registration_id.to_string(), hub.to_string());
    }

    /// Enable or disable an individual enrollment (or a group, by its name).
    /// Returns whether one was found.
    pub fn set_enabled(&self, name: &str, enabled: bool) -> bool {
        let mut inner = lock(&self.shared);
        let mut found = false;
        for e in &mut inner.config.enrollments {
            if e.registration_id == name {
                e.enabled = enabled;
                found = true;
            }
        }
        for g in &mut inner.config.groups {
            if g.name == name {
                g.enabled = enabled;
                found = true;
            }
        }
        found
    }

    /// Run the service's clock `seconds` ahead: tokens whose `se` falls before
    /// the service's now are expired (a device whose clock lags).
    pub fn set_clock_ahead(&self, seconds: u64) {
        lock(&self.shared).ahead_s = seconds;
    }

    /// The hub `registration_id` was last assigned.
    pub fn assigned_hub(&self, registration_id: &str) -> Option<String> {
        lock(&self.shared).assigned.get(registration_id).cloned()
    }

    /// Every request answered so far.
    pub fn served(&self) -> Vec<Served> {
        lock(&self.shared).served.clone()
    }
}

impl Drop for DpsEmulator {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The service's error body, with a fresh tracking id and the time.
pub fn error_reply(
    status: u16,
    error_code: u64,
    message: &str,
    retry_after_s: Option<u64>,
) -> Reply {
    Reply {
        status,
        retry_after_s,
        body: json!({
            "errorCode": error_code,
            "trackingId": tracking_id(),
            "message": message,
            "timestampUtc": timestamp_utc(SystemTime::now()),
        }),
    }
}

fn tracking_id() -> String {
    let mut raw = [0u8; 16];
    // A tracking id is not a secret: a failed generator just gives zeros.
    let _ = getrandom::fill(&mut raw);
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let part = |a: usize, b: usize| hex.get(a..b).unwrap_or("0");
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

/// `2024-02-08T18:13:04.331Z` (UTC, millisecond precision).
// Days since 1970 stay far below any overflow of i64 in this arithmetic.
#[allow(clippy::arithmetic_side_effects)]
pub fn timestamp_utc(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

fn served(inner: &mut Inner, transport: &'static str, kind: &'static str, id: &str, r: &Reply) {
    inner.served.push(Served {
        at: Instant::now(),
        transport,
        kind,
        registration_id: id.to_string(),
        status: r.status,
        error_code: r.body.get("errorCode").and_then(Value::as_u64),
    });
}

fn unauthorized() -> Reply {
    error_reply(401, 401002, "Unauthorized", None)
}

/// Which enrollment a device proved itself under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Enrolled {
    /// `config.enrollments[i]`.
    Individual(usize),
    /// `config.groups[i]`.
    Group(usize),
    /// Any certificate chaining to the configured CA.
    X509Group,
}

/// Check the scope and the device's proof; `Err` is the answer to send.
fn authenticate(
    inner: &Inner,
    scope: &str,
    registration_id: &str,
    creds: &Credentials<'_>,
) -> Result<Enrolled, Reply> {
    if !scope.eq_ignore_ascii_case(&inner.config.id_scope) {
        return Err(error_reply(404, 404001, "The id scope is not known.", None));
    }
    let individual = inner
        .config
        .enrollments
        .iter()
        .position(|e| e.registration_id.eq_ignore_ascii_case(registration_id));
    let attestation = individual
        .and_then(|i| inner.config.enrollments.get(i))
        .map(|e| &e.attestation);
    if let Some(cn) = creds.certificate_cn
        && cn == registration_id
    {
        match (individual, attestation) {
            (Some(i), Some(Attestation::X509)) => return Ok(Enrolled::Individual(i)),
            (None, _) if inner.config.x509_group => return Ok(Enrolled::X509Group),
            _ => {}
        }
    }
    let Some(token) = creds.token.filter(|t| !t.is_empty()) else {
        return Err(unauthorized());
    };
    let now = unix_now().saturating_add(inner.ahead_s);
    match (individual, attestation) {
        (Some(i), Some(Attestation::SymmetricKey(k))) => {
            sas::verify(token, scope, registration_id, std::slice::from_ref(k), now)
                .map(|()| Enrolled::Individual(i))
                .map_err(|_| unauthorized())
        }
        (Some(_), _) => Err(unauthorized()),
        (None, _) => inner
            .config
            .groups
            .iter()
            .position(|g| {
                sas::derive_device_key(&g.key, registration_id)
                    .is_some_and(|k| sas::verify(token, scope, registration_id, &[k], now).is_ok())
            })
            .map(Enrolled::Group)
            .ok_or_else(unauthorized),
    }
}

/// The registration rate limit: `Err` is the 429 to send.
fn admit(inner: &mut Inner) -> Result<(), Reply> {
    let Some(limit) = inner.config.registrations_per_window else {
        return Ok(());
    };
    let now = Instant::now();
    let window = inner.config.window;
    while inner
        .recent
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        inner.recent.pop_front();
    }
    if inner.recent.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
        let oldest = inner.recent.front().copied().unwrap_or(now);
        let wait = window.saturating_sub(now.duration_since(oldest));
        let secs = wait
            .as_secs()
            .saturating_add(u64::from(wait.subsec_nanos() > 0))
            .max(1);
        return Err(error_reply(
            429,
            429001,
            "Operations are being throttled by the service.",
            Some(secs),
        ));
    }
    inner.recent.push_back(now);
    Ok(())
}

fn pending(inner: &Inner, operation: &str) -> Reply {
    Reply {
        status: 202,
        retry_after_s: Some(inner.config.retry_after_s),
        body: json!({ "operationId": operation, "status": "assigning" }),
    }
}

/// `register`: authenticate, rate-limit, start an operation.
fn register(
    shared: &Shared,
    transport: &'static str,
    scope: &str,
    registration_id: &str,
    creds: &Credentials<'_>,
) -> Reply {
    let mut inner = lock(shared);
    let reply = match authenticate(&inner, scope, registration_id, creds)
        .and_then(|enrolled| admit(&mut inner).map(|()| enrolled))
    {
        Err(r) => r,
        Ok(enrolled) => {
            inner.next_operation = inner.next_operation.saturating_add(1);
            let operation = format!("4.{:016x}.{}", unix_now(), inner.next_operation);
            let polls_left = inner.config.pending_polls;
            inner.operations.insert(
                operation.clone(),
                Operation {
                    registration_id: registration_id.to_string(),
                    enrolled,
                    polls_left,
                },
            );
            pending(&inner, &operation)
        }
    };
    served(&mut inner, transport, "register", registration_id, &reply);
    reply
}

/// `poll`: authenticate, then the operation's state.
fn poll(
    shared: &Shared,
    transport: &'static str,
    scope: &str,
    registration_id: &str,
    operation: &str,
    creds: &Credentials<'_>,
) -> Reply {
    let mut inner = lock(shared);
    let reply = match authenticate(&inner, scope, registration_id, creds) {
        Err(r) => r,
        Ok(_) => poll_operation(&mut inner, registration_id, operation),
    };
    served(&mut inner, transport, "poll", registration_id, &reply);
    reply
}

fn poll_operation(inner: &mut Inner, registration_id: &str, operation: &str) -> Reply {
    let Some(op) = inner
        .operations
        .get_mut(operation)
        .filter(|o| o.registration_id.eq_ignore_ascii_case(registration_id))
    else {
        return error_reply(404, 404001, "The operation is not known.", None);
    };
    if op.polls_left > 0 {
        op.polls_left = op.polls_left.saturating_sub(1);
        return pending(inner, operation);
    }
    let enrolled = op.enrolled;
    inner.operations.remove(operation);
    let (enabled, preferred) = match enrolled {
        Enrolled::Individual(i) => inner
            .config
            .enrollments
            .get(i)
            .map_or((false, None), |e| (e.enabled, e.hub.clone())),
        Enrolled::Group(i) => inner
            .config
            .groups
            .get(i)
            .map_or((false, None), |g| (g.enabled, g.hub.clone())),
        Enrolled::X509Group => (true, None),
    };
    let timestamp = timestamp_utc(SystemTime::now());
    if !enabled {
        return Reply {
            status: 200,
            retry_after_s: None,
            body: json!({
                "operationId": operation,
                "status": "disabled",
                "registrationState": {
                    "registrationId": registration_id,
                    "status": "disabled",
                    "lastUpdatedDateTimeUtc": timestamp,
                }
            }),
        };
    }
    let (hub, substatus) = match inner.moved.remove(registration_id) {
        Some(hub) => (hub, "deviceDataMigrated"),
        None => (
            inner
                .assigned
                .get(registration_id)
                .cloned()
                .or(preferred)
                .unwrap_or_else(|| hashed_hub(&inner.config.hubs, registration_id)),
            "initialAssignment",
        ),
    };
    inner
        .assigned
        .insert(registration_id.to_string(), hub.clone());
    Reply {
        status: 200,
        retry_after_s: None,
        body: json!({
            "operationId": operation,
            "status": "assigned",
            "registrationState": {
                "registrationId": registration_id,
                "createdDateTimeUtc": timestamp,
                "assignedHub": hub,
                "deviceId": registration_id,
                "status": "assigned",
                "substatus": substatus,
                "lastUpdatedDateTimeUtc": timestamp,
            }
        }),
    }
}

/// DPS's "evenly weighted distribution", made stable: the same id always lands
/// on the same hub (FNV-1a of the id).
fn hashed_hub(hubs: &[String], registration_id: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in registration_id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let n = u64::try_from(hubs.len()).unwrap_or(1).max(1);
    let i = usize::try_from(h.checked_rem(n).unwrap_or(0)).unwrap_or(0);
    hubs.get(i).cloned().unwrap_or_default()
}

/// `api-version` of a query string: `Err` is the 400 to send.
fn check_api_version(query: Option<&str>) -> Result<(), Reply> {
    let version = query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "api-version")
            .map(|(_, v)| v.into_owned())
    });
    match version {
        Some(v) if API_VERSIONS.contains(&v.as_str()) => Ok(()),
        Some(v) => Err(error_reply(
            400,
            400004,
            &format!("Unsupported API version {v}."),
            None,
        )),
        None => Err(error_reply(
            400,
            400004,
            "The api-version query parameter is required.",
            None,
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_iso_8601() {
        let t = UNIX_EPOCH + Duration::from_millis(1_707_415_984_331);
        assert_eq!(timestamp_utc(t), "2024-02-08T18:13:04.331Z");
        assert_eq!(timestamp_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn api_versions_are_checked() {
        assert!(check_api_version(Some("api-version=2021-06-01")).is_ok());
        let r = check_api_version(Some("api-version=2017-01-01")).err();
        assert_eq!(
            r.map(|r| (r.status, r.body["errorCode"].as_u64())),
            Some((400, Some(400004)))
        );
        assert!(check_api_version(None).is_err());
    }

    #[test]
    fn hashing_spreads_and_is_stable() {
        let hubs = vec!["hub-a.localhost".to_string(), "hub-b.localhost".to_string()];
        let a = hashed_hub(&hubs, "d1");
        assert_eq!(a, hashed_hub(&hubs, "d1"));
        let spread: std::collections::BTreeSet<String> = (0..20)
            .map(|i| hashed_hub(&hubs, &format!("d{i}")))
            .collect();
        assert_eq!(spread.len(), 2);
    }
}
