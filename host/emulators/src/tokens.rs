//! The stand-in provisioning service (shaped like Azure DPS, without its rules:
//! see [`crate::dps`] for the real ones), which also plays the
//! identity side of the hub: it hands out per-device credentials with a lifetime
//! and keeps a mosquitto password file in step with them.
//!
//! Provisioning (the device side of DPS, API version [`API_VERSION`]):
//! - `PUT /{id-scope}/registrations/{registration-id}/register` answers 202
//!   `{operationId, status: "assigning"}` with `Retry-After` (seconds);
//! - `GET /{id-scope}/registrations/{registration-id}/operations/{operationId}`
//!   answers 202 again for the first [`EmulatorConfig::pending_polls`] polls, then
//!   200 `{status: "assigned", registrationState: {assignedHub, deviceId,
//!   credential: {secret, lifetimeMs}}}`; the hub is whatever
//!   [`Emulator::set_hub`] last named. An unknown id scope gets 404.
//! - [`Emulator::inject`] makes the next requests fail instead: 401, 403, 404,
//!   429 with `Retry-After`, 500, each with a six-digit `errorCode` body.
//!
//! Credentials (`POST /identity/devices/{device-id}/token`): a fresh token for a
//! device, 200 `{secret, lifetimeMs}`; 401 once the device is revoked, until it
//! registers again.
//!
//! How credentials map to Azure SAS tokens. A SAS token is signed with the
//! device's key and carries its own expiry (`se`); the hub accepts any unexpired
//! token under a current key, so a renewed token and the one it replaces are
//! valid side by side, and regenerating the key invalidates them all at once.
//! mosquitto checks a password file instead, with one password per user name and
//! a re-check of every connected client when it reloads the file (SIGHUP). So
//! each token here is a user name of its own, `{device-id}.{n}`, with a random
//! password, handed to the device as `{device-id}.{n}:{password}` (the transport's
//! `credential-format: "user:password"`). The file lists every unexpired,
//! unrevoked token: renewing adds one without disturbing the link that uses the
//! previous one; at expiry a token leaves the file and the broker drops any link
//! still using it (as the hub does when a SAS token expires); [`Emulator::revoke`]
//! (the key regenerated) removes all of a device's tokens, so the broker drops the
//! link and refuses the old token with CONNACK 5 / 0x87, and the token service
//! answers 401 until the device registers again and is handed a new token.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;

/// The DPS API version the emulator answers to (it does not insist on it).
pub const API_VERSION: &str = "2021-06-01";

/// How the broker is told to reload its password file.
pub type Reload = Arc<dyn Fn() -> io::Result<()> + Send + Sync>;

/// A reload that sends SIGHUP to process `pid` (with `kill -s HUP`).
///
/// mosquitto reloads on its next loop turn and says nothing back, so this waits a
/// moment ([`SIGHUP_SETTLE`]) before the emulator hands out the token the new file
/// holds; a caller that can watch the broker's log should wait for its
/// `Reloading config.` line instead (the fault matrix does).
pub fn sighup(pid: u32) -> Reload {
    Arc::new(move || {
        let status = std::process::Command::new("kill")
            .args(["-s", "HUP", &pid.to_string()])
            .status()?;
        if !status.success() {
            return Err(io::Error::other(format!("kill -s HUP {pid}: {status}")));
        }
        std::thread::sleep(SIGHUP_SETTLE);
        Ok(())
    })
}

/// How long [`sighup`] gives the broker to reread its password file.
pub const SIGHUP_SETTLE: Duration = Duration::from_millis(200);

/// How the emulator starts.
///
/// # Defaults
/// Id scope `0ne00000001`, one pending poll before the assignment, `Retry-After: 1`,
/// tokens that last 60 s, no password file, no reload, no extra users.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// The id scope devices must name.
    pub id_scope: String,
    /// The hub assigned at first.
    pub hub: String,
    /// 202 answers to polls before the assignment.
    pub pending_polls: u32,
    /// The `Retry-After` of 202 answers, in seconds.
    pub retry_after_s: u64,
    /// The lifetime of every token handed out.
    pub token_lifetime: Duration,
    /// The mosquitto password file to keep in step (written at start).
    pub password_file: Option<PathBuf>,
    /// Called after the password file changed.
    pub reload: Option<Reload>,
    /// Users always in the password file (a test's subscriber, say), with their
    /// passwords.
    pub extra_users: Vec<(String, String)>,
}

impl EmulatorConfig {
    /// The defaults, assigning `hub`.
    pub fn new(hub: impl Into<String>) -> Self {
        Self {
            id_scope: "0ne00000001".to_string(),
            hub: hub.into(),
            pending_polls: 1,
            retry_after_s: 1,
            token_lifetime: Duration::from_secs(60),
            password_file: None,
            reload: None,
            extra_users: Vec::new(),
        }
    }
}

impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("id_scope", &self.id_scope)
            .field("hub", &self.hub)
            .field("pending_polls", &self.pending_polls)
            .field("retry_after_s", &self.retry_after_s)
            .field("token_lifetime", &self.token_lifetime)
            .field("password_file", &self.password_file)
            .finish_non_exhaustive()
    }
}

/// A failure the emulator answers with instead of doing its job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The HTTP status: 401, 403, 404, 429, 500...
    pub status: u16,
    /// `Retry-After` in seconds, if any.
    pub retry_after_s: Option<u64>,
}

impl Fault {
    /// A fault with this status and no retry-after.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            retry_after_s: None,
        }
    }

    /// 429 with `Retry-After: seconds`.
    pub fn throttled(seconds: u64) -> Self {
        Self {
            status: 429,
            retry_after_s: Some(seconds),
        }
    }
}

/// One request the emulator answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Served {
    /// When.
    pub at: Instant,
    /// `register`, `poll` or `token`.
    pub kind: &'static str,
    /// The HTTP status answered.
    pub status: u16,
}

#[derive(Clone, Debug)]
struct Token {
    user: String,
    password: String,
    expires: Instant,
}

#[derive(Debug, Default)]
struct DeviceRecord {
    tokens: Vec<Token>,
    revoked: bool,
    issued: u64,
}

struct Inner {
    config: EmulatorConfig,
    hub: String,
    faults: VecDeque<Fault>,
    operations: BTreeMap<String, (String, u32)>,
    devices: BTreeMap<String, DeviceRecord>,
    served: Vec<Served>,
    next_operation: u64,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    // A panic while holding the lock leaves plain data behind; keep serving it.
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    shared: Shared,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
    pruner: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Start on `127.0.0.1:port` (0: a free port) on the current tokio runtime.
    /// Writes the password file (with the extra users only) before it returns.
    ///
    /// # Errors
    /// When the port cannot be bound or the password file cannot be written.
    pub async fn start(config: EmulatorConfig, port: u16) -> io::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared: Shared = Arc::new(Mutex::new(Inner {
            hub: config.hub.clone(),
            config,
            faults: VecDeque::new(),
            operations: BTreeMap::new(),
            devices: BTreeMap::new(),
            served: Vec::new(),
            next_operation: 0,
        }));
        write_password_file(&lock(&shared))?;
        let app = axum::Router::new()
            .route(
                "/{scope}/registrations/{registration}/register",
                put(register),
            )
            .route(
                "/{scope}/registrations/{registration}/operations/{operation}",
                get(poll),
            )
            .route("/identity/devices/{device}/token", post(token))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        // Expired tokens leave the password file (and the broker drops their
        // links), as a hub drops a link whose SAS token expired.
        let pruner = tokio::spawn({
            let shared = shared.clone();
            async move {
                let mut tick = tokio::time::interval(Duration::from_millis(200));
                loop {
                    tick.tick().await;
                    let reload = {
                        let mut inner = lock(&shared);
                        let now = Instant::now();
                        let mut changed = false;
                        for d in inner.devices.values_mut() {
                            let before = d.tokens.len();
                            d.tokens.retain(|t| t.expires > now);
                            changed |= d.tokens.len() != before;
                        }
                        changed && write_password_file(&inner).is_ok()
                    };
                    if reload {
                        reload_broker(&shared).await;
                    }
                }
            }
        });
        Ok(Emulator {
            shared,
            addr,
            server,
            pruner,
        })
    }

    /// `http://127.0.0.1:port`: the `endpoint` of a device file's `provisioning`
    /// and `credentials` sections.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The id scope devices must name.
    pub fn id_scope(&self) -> String {
        lock(&self.shared).config.id_scope.clone()
    }

    /// Assign `hub` from now on.
    pub fn set_hub(&self, hub: impl Into<String>) {
        lock(&self.shared).hub = hub.into();
    }

    /// Answer the next `count` provisioning requests (register or poll) with
    /// `fault`.
    pub fn inject(&self, fault: Fault, count: u32) {
        let mut inner = lock(&self.shared);
        for _ in 0..count {
            inner.faults.push_back(fault);
        }
    }

    /// Revoke every credential of `device`: its tokens leave the password file
    /// (the broker reloads and drops its link), and the token service refuses it
    /// until it registers again.
    ///
    /// # Errors
    /// When the password file cannot be written or the reload fails.
    pub fn revoke(&self, device: &str) -> io::Result<()> {
        {
            let mut inner = lock(&self.shared);
            let record = inner.devices.entry(device.to_string()).or_default();
            record.revoked = true;
            record.tokens.clear();
            write_password_file(&inner)?;
        }
        match &lock(&self.shared).config.reload {
            Some(reload) => reload(),
            None => Ok(()),
        }
    }

    /// Every request answered so far.
    pub fn served(&self) -> Vec<Served> {
        lock(&self.shared).served.clone()
    }

    /// Tokens handed out to `device` so far (by registration or renewal).
    pub fn tokens_issued(&self, device: &str) -> u64 {
        lock(&self.shared)
            .devices
            .get(device)
            .map_or(0, |d| d.issued)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.server.abort();
        self.pruner.abort();
    }
}

/// Run the reload hook off the async workers (it may wait for the broker).
async fn reload_broker(shared: &Shared) {
    let reload = lock(shared).config.reload.clone();
    if let Some(reload) = reload {
        // A failed reload leaves the broker on the old file; the next change
        // tries again.
        let _ = tokio::task::spawn_blocking(move || reload()).await;
    }
}

/// The password file: one line per unexpired, unrevoked token and per extra
/// user, in mosquitto's salted SHA-512 format (`$6$`), written whole and renamed
/// into place so the broker never reads half a file.
fn write_password_file(inner: &Inner) -> io::Result<()> {
    let Some(path) = &inner.config.password_file else {
        return Ok(());
    };
    let mut text = String::new();
    for (user, password) in &inner.config.extra_users {
        text.push_str(&password_line(user, password));
    }
    for d in inner.devices.values() {
        for t in &d.tokens {
            text.push_str(&password_line(&t.user, &t.password));
        }
    }
    let tmp = tmp_path(path);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// `user:$6$salt$hash` where hash = SHA-512(password || salt), both base64.
fn password_line(user: &str, password: &str) -> String {
    let salt = random_bytes::<12>();
    let mut h = sha2::Sha512::new();
    h.update(password.as_bytes());
    h.update(salt);
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "{user}:$6${}${}\n",
        b64.encode(salt),
        b64.encode(h.finalize())
    )
}

/// Random bytes from the operating system's generator: these become keys and
/// tokens, so they must not be guessable.
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // Without an OS generator there is no safe fallback for secrets.
    getrandom::fill(&mut out).expect("the operating system's random generator failed");
    out
}

fn random_hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    getrandom::fill(&mut raw).expect("the operating system's random generator failed");
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

/// Mint a token for `device` and put it in the password file.
fn mint(inner: &mut Inner, device: &str) -> io::Result<Value> {
    let lifetime = inner.config.token_lifetime;
    let record = inner.devices.entry(device.to_string()).or_default();
    record.issued = record.issued.saturating_add(1);
    let token = Token {
        user: format!("{device}.{}", record.issued),
        password: random_hex(16),
        expires: Instant::now()
            .checked_add(lifetime)
            .unwrap_or_else(Instant::now),
    };
    let secret = format!("{}:{}", token.user, token.password);
    record.tokens.push(token);
    write_password_file(inner)?;
    Ok(json!({
        "secret": secret,
        "lifetimeMs": u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX),
    }))
}

fn error(status: u16, retry_after_s: Option<u64>, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // DPS bodies carry a six-digit code: the status and three digits.
    let error_code = u64::from(status).saturating_mul(1000).saturating_add(1);
    let mut headers = HeaderMap::new();
    if let Some(s) = retry_after_s {
        headers.insert("retry-after", HeaderValue::from(s));
    }
    (
        code,
        headers,
        Json(json!({ "errorCode": error_code, "message": message })),
    )
        .into_response()
}

/// The next injected fault, if any, recorded as served.
fn take_fault(inner: &mut Inner, kind: &'static str) -> Option<Response> {
    let fault = inner.faults.pop_front()?;
    inner.served.push(Served {
        at: Instant::now(),
        kind,
        status: fault.status,
    });
    Some(error(fault.status, fault.retry_after_s, "injected fault"))
}

fn served(inner: &mut Inner, kind: &'static str, status: u16) {
    inner.served.push(Served {
        at: Instant::now(),
        kind,
        status,
    });
}

async fn register(
    State(shared): State<Shared>,
    UrlPath((scope, registration)): UrlPath<(String, String)>,
) -> Response {
    let mut inner = lock(&shared);
    if let Some(r) = take_fault(&mut inner, "register") {
        return r;
    }
    if scope != inner.config.id_scope {
        served(&mut inner, "register", 404);
        return error(404, None, "unknown id scope");
    }
    inner.next_operation = inner.next_operation.saturating_add(1);
    let operation = format!("op-{}-{}", inner.next_operation, random_hex(4));
    let polls = inner.config.pending_polls;
    inner
        .operations
        .insert(operation.clone(), (registration, polls));
    served(&mut inner, "register", 202);
    let retry = inner.config.retry_after_s;
    (
        StatusCode::ACCEPTED,
        [("retry-after", HeaderValue::from(retry))],
        Json(json!({ "operationId": operation, "status": "assigning" })),
    )
        .into_response()
}

async fn poll(
    State(shared): State<Shared>,
    UrlPath((scope, registration, operation)): UrlPath<(String, String, String)>,
) -> Response {
    let body = {
        let mut inner = lock(&shared);
        if let Some(r) = take_fault(&mut inner, "poll") {
            return r;
        }
        let known = inner
            .operations
            .get(&operation)
            .is_some_and(|(r, _)| *r == registration);
        if scope != inner.config.id_scope || !known {
            served(&mut inner, "poll", 404);
            return error(404, None, "unknown operation");
        }
        let left = inner.operations.get(&operation).map_or(0, |(_, n)| *n);
        if left > 0 {
            if let Some(op) = inner.operations.get_mut(&operation) {
                op.1 = left.saturating_sub(1);
            }
            served(&mut inner, "poll", 202);
            let retry = inner.config.retry_after_s;
            return (
                StatusCode::ACCEPTED,
                [("retry-after", HeaderValue::from(retry))],
                Json(json!({ "operationId": operation, "status": "assigning" })),
            )
                .into_response();
        }
        inner.operations.remove(&operation);
        // Registering again re-enrolls the device: a revoked key is replaced.
        inner
            .devices
            .entry(registration.clone())
            .or_default()
            .revoked = false;
        let credential = match mint(&mut inner, &registration) {
            Ok(c) => c,
            Err(e) => {
                served(&mut inner, "poll", 500);
                return error(500, None, &format!("password file: {e}"));
            }
        };
        served(&mut inner, "poll", 200);
        let hub = inner.hub.clone();
        json!({
            "operationId": operation,
            "status": "assigned",
            "registrationState": {
                "registrationId": registration,
                "assignedHub": hub,
                "deviceId": registration,
                "status": "assigned",
                "substatus": "initialAssignment",
                "credential": credential,
            }
        })
    };
    reload_broker(&shared).await;
    (StatusCode::OK, Json(body)).into_response()
}

async fn token(State(shared): State<Shared>, UrlPath(device): UrlPath<String>) -> Response {
    let body = {
        let mut inner = lock(&shared);
        if inner.devices.get(&device).is_some_and(|d| d.revoked) {
            served(&mut inner, "token", 401);
            return error(401, None, "the device's key was revoked");
        }
        match mint(&mut inner, &device) {
            Ok(body) => {
                served(&mut inner, "token", 200);
                body
            }
            Err(e) => {
                served(&mut inner, "token", 500);
                return error(500, None, &format!("password file: {e}"));
            }
        }
    };
    reload_broker(&shared).await;
    (StatusCode::OK, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_lines_use_mosquitto_sha512_format() {
        let line = password_line("d1.1", "secret");
        let (user, hash) = line.trim_end().split_once(':').unwrap_or_default();
        assert_eq!(user, "d1.1");
        let parts: Vec<&str> = hash.split('$').collect();
        assert_eq!(parts.len(), 4, "{hash}");
        assert_eq!(parts.get(1), Some(&"6"));
        let b64 = base64::engine::general_purpose::STANDARD;
        let salt = b64.decode(parts.get(2).unwrap_or(&"")).unwrap_or_default();
        let mut h = sha2::Sha512::new();
        h.update(b"secret");
        h.update(&salt);
        assert_eq!(
            parts.get(3).copied(),
            Some(b64.encode(h.finalize()).as_str())
        );
    }
}
