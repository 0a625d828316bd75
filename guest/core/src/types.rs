//! The contract's vocabulary as plain Rust types.
//!
//! These mirror `wit/types.wit` one to one so the core can be unit-tested natively;
//! `bindings.rs` converts between them and the wit-bindgen types at the boundary.
#![forbid(unsafe_code)]

use alloc::string::String;
use core::fmt;

/// Nanoseconds in a millisecond: the WIT `instant` counts nanoseconds, the core
/// milliseconds.
const NS_PER_MS: u64 = 1_000_000;

/// A duration in whole milliseconds.
///
/// A newtype rather than a bare `u64` so that a duration cannot be passed where
/// a clock reading ([`Instant`]) is expected, nor the other way round. Every
/// operation saturates: a delay is never allowed to wrap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(u64);

impl Millis {
    /// No time at all.
    pub const ZERO: Self = Self(0);

    /// The longest duration representable.
    pub const MAX: Self = Self(u64::MAX);

    /// `ms` milliseconds.
    pub const fn from_ms(ms: u64) -> Self {
        Self(ms)
    }

    /// `secs` seconds, saturating.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1_000))
    }

    /// The number of milliseconds.
    pub const fn as_ms(self) -> u64 {
        self.0
    }

    /// `self + other`, saturating.
    #[must_use]
    pub const fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }

    /// `self - other`, or zero if `other` is longer.
    #[must_use]
    pub const fn saturating_sub(self, other: Self) -> Self {
        Self(self.0.saturating_sub(other.0))
    }

    /// `self` scaled by `factor`, saturating.
    #[must_use]
    pub const fn saturating_mul(self, factor: u64) -> Self {
        Self(self.0.saturating_mul(factor))
    }

    /// `self / divisor`, rounded down; `None` when `divisor` is zero.
    #[must_use]
    pub const fn checked_div(self, divisor: u64) -> Option<Self> {
        match self.0.checked_div(divisor) {
            Some(q) => Some(Self(q)),
            None => None,
        }
    }
}

/// The bare number of milliseconds, as a `u64` prints (documentation and error
/// messages add the unit themselves).
impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A monotonic clock reading: milliseconds since the clock's (arbitrary) origin.
///
/// The WIT `instant` is nanoseconds; [`from_nanos`](Self::from_nanos) and
/// [`as_nanos`](Self::as_nanos) are the only way across that boundary, so the
/// two units cannot be confused. Two instants give a [`Millis`] apart, and an
/// instant plus a [`Millis`] is an instant; there is no other arithmetic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The clock's origin.
    pub const ZERO: Self = Self(0);

    /// The reading `ms` milliseconds after the origin.
    pub const fn from_ms(ms: u64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the origin.
    pub const fn as_ms(self) -> u64 {
        self.0
    }

    /// A WIT `instant` (nanoseconds), rounded down to the millisecond.
    pub const fn from_nanos(ns: u64) -> Self {
        Self(ns / NS_PER_MS)
    }

    /// As a WIT `instant` (nanoseconds), saturating.
    pub const fn as_nanos(self) -> u64 {
        self.0.saturating_mul(NS_PER_MS)
    }

    /// `d` after `self`, saturating.
    #[must_use]
    pub const fn saturating_add(self, d: Millis) -> Self {
        Self(self.0.saturating_add(d.0))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    #[must_use]
    pub const fn saturating_since(self, earlier: Self) -> Millis {
        Millis(self.0.saturating_sub(earlier.0))
    }
}

/// The bare number of milliseconds since the origin.
impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A failure below the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum NetworkError {
    Dns,
    Refused,
    Reset,
    Unreachable,
    Timeout,
    Tls,
    Closed,
}

/// An HTTP answer, with the IoT-hub six-digit code when there is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HttpFailure {
    /// HTTP status code.
    pub status: u16,
    /// IoT-hub six-digit error code.
    pub hub_code: Option<u32>,
}

/// A failure reported by the protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ProtocolError {
    MqttConnack(u8),
    MqttReason(u8),
    Amqp(String),
    Http(HttpFailure),
    KeepAliveLost,
    SessionExpired,
    LinkDetached,
}

/// A failure in the application's or the service's own terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ApplicationError {
    Unauthorized,
    CredentialExpired,
    Forbidden,
    DeviceNotFound,
    DeviceDisabled,
    QuotaExceeded,
    Throttled,
    BadEndpoint,
}

/// The three levels of failure.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum FailureKind {
    Network(NetworkError),
    Protocol(ProtocolError),
    Application(ApplicationError),
}

/// One failure with the server's hints.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Failure {
    /// What failed.
    pub kind: FailureKind,
    /// The server's retry-after.
    pub retry_after_ms: Option<Millis>,
    /// Another server to use.
    pub server_reference: Option<String>,
}

impl Failure {
    /// A failure with no server hints.
    pub fn new(kind: FailureKind) -> Self {
        Self {
            kind,
            retry_after_ms: None,
            server_reference: None,
        }
    }

    /// A network failure with no hints.
    pub fn network(e: NetworkError) -> Self {
        Self::new(FailureKind::Network(e))
    }

    /// A protocol failure with no hints.
    pub fn protocol(e: ProtocolError) -> Self {
        Self::new(FailureKind::Protocol(e))
    }

    /// An application failure with no hints.
    pub fn application(e: ApplicationError) -> Self {
        Self::new(FailureKind::Application(e))
    }

    /// The same failure carrying a retry-after hint.
    pub fn with_retry_after(mut self, ms: Millis) -> Self {
        self.retry_after_ms = Some(ms);
        self
    }

    /// The same failure carrying a server reference.
    pub fn with_server_reference(mut self, server: impl Into<String>) -> Self {
        self.server_reference = Some(server.into());
        self
    }
}

/// The level a failure belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Level {
    Network,
    Protocol,
    Application,
}

/// What to do about a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Verdict {
    Retry,
    RetryThrottled,
    RenewCredential,
    Reprovision,
    Fatal,
}

/// The status reported to the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Status {
    Connected,
    DisconnectedRetrying,
    Disconnected,
    Disabled,
}

/// Why the status is what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Reason {
    ConnectionOk,
    CredentialRenewal,
    ExpiredCredential,
    BadCredential,
    DeviceDisabled,
    DeviceNotFound,
    RetryExpired,
    NoNetwork,
    CommunicationError,
    NoPingResponse,
    QuotaExceeded,
    Throttled,
    ServerBusy,
    ServerMoved,
    Provisioning,
    ProtocolError,
    BadEndpoint,
    SessionTakenOver,
    ClientClose,
}

/// The classifier's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Classification {
    /// The level of the failure.
    pub level: Level,
    /// What to do.
    pub verdict: Verdict,
    /// The status reason to report.
    pub reason: Reason,
    /// The table row that matched, for example `mqtt5/0x87`.
    pub rule: &'static str,
}

/// A retry policy's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Reconnect after this many milliseconds.
    RetryAfter(Millis),
    /// Stop retrying.
    GiveUp(GiveUpReason),
}

/// Why a policy stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum GiveUpReason {
    NoRetry,
    MaxAttempts,
    RetryTimeout,
    Unrecoverable,
    /// A custom policy plugin decided to stop.
    Plugin,
}

/// Why an accepted message failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum MessageFailure {
    OperationTimeout,
    NoRetry,
    QueueFull,
    Unrecoverable,
    RetryExpired,
    ClientClose,
    /// Refused by the hub: not authorized (PUBACK 0x87).
    NotAuthorized,
    /// Refused by the hub: topic name invalid (PUBACK 0x90).
    TopicInvalid,
    /// Refused by the hub: payload format invalid (PUBACK 0x99).
    PayloadInvalid,
    /// Refused by the hub for quota `max-refusals` times (PUBACK 0x97).
    QuotaExceeded,
    /// Refused by the hub for another reason.
    Refused,
}

/// The one outcome of an accepted message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Outcome {
    Delivered,
    Failed(MessageFailure),
}

/// An invalid configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The field's path, for example `policy.initial-ms`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl core::error::Error for ConfigError {}

/// A credential: opaque secret plus lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The secret the transport presents.
    pub secret: String,
    /// How long it is valid from now.
    pub lifetime_ms: Option<Millis>,
}

/// What the provisioning service assigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The hub address.
    pub hub: String,
    /// The device identity there.
    pub device_id: String,
    /// A credential for that hub.
    pub credential: Option<Credential>,
}

/// A registration in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The operation to poll.
    pub operation_id: String,
    /// When to poll, as the service asked.
    pub retry_after_ms: Option<Millis>,
}

/// The answer to a provisioning request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ProvisioningResult {
    Assigned(Assignment),
    Pending(Pending),
    Failed(Failure),
}

/// Why an input was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum InputError {
    StaleLink,
    Unexpected,
    UnknownMessage,
    Stopped,
}

/// Why a message was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum PublishError {
    QueueFull,
    PayloadTooLarge,
    EmptyTopic,
    Stopped,
}

/// Why a subscription was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SubscribeError {
    EmptyFilter,
    TooMany,
    Stopped,
}

/// Where a backoff delay came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Curve {
    Normal,
    Throttled,
    ServerHint,
    /// The custom policy's plugin decided the delay.
    Plugin,
}

/// Where a connection attempt goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectPlan {
    /// Link number.
    pub link: u64,
    /// Hub address.
    pub hub: String,
    /// Attempt of this outage (0 for the first connect).
    pub attempt: u32,
}

/// A wait before the next attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffPlan {
    /// How long.
    pub delay_ms: Millis,
    /// The failed attempt count it follows.
    pub attempt: u32,
    /// Where the delay came from.
    pub curve: Curve,
    /// A registration follows the wait, not a reconnect.
    pub then_provision: bool,
}

/// A step the connection takes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Action {
    Connect(ConnectPlan),
    Backoff(BackoffPlan),
    RenewCredential { routine: bool },
    Provision,
    PollProvisioning(Millis),
    GiveUp(GiveUpReason),
}

/// A decision with its cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionEvent {
    /// When, in milliseconds.
    pub at: Instant,
    /// The classified failure behind it.
    pub cause: Option<Classification>,
    /// What the connection does.
    pub action: Action,
}

/// A status change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusChange {
    /// When, in milliseconds.
    pub at: Instant,
    /// The new status.
    pub status: Status,
    /// Why.
    pub reason: Reason,
}

/// Why a custom policy plugin's answer was not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PluginFaultReason {
    /// The plugin trapped (a panic, an out-of-bounds access, a stack overflow).
    Trap,
    /// The plugin used up its fuel for one decision.
    OutOfFuel,
    /// The plugin ran past its wall-clock deadline.
    Deadline,
    /// The plugin tried to grow its memory or tables past its cap.
    MemoryLimit,
    /// The host cannot run the plugin.
    Unavailable,
    /// The plugin's answer is out of bounds.
    InvalidAnswer,
}

/// A plugin failed one decision; the fallback's decision was used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginFault {
    /// When, in milliseconds.
    pub at: Instant,
    /// The plugin, as the configuration names it.
    pub plugin: alloc::string::String,
    /// What went wrong.
    pub reason: PluginFaultReason,
    /// A short description, at most [`PLUGIN_DETAIL_MAX`] bytes.
    pub detail: alloc::string::String,
    /// The decision used instead.
    pub used: Decision,
    /// Faults in a row, this one included.
    pub consecutive: u32,
    /// This fault put the plugin in quarantine.
    pub quarantined: bool,
}

/// The longest `detail` a plugin fault carries, in bytes.
pub const PLUGIN_DETAIL_MAX: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boundary_converts_nanoseconds_and_saturates() {
        assert_eq!(Instant::from_nanos(1_999_999), Instant::from_ms(1));
        assert_eq!(Instant::from_ms(7).as_nanos(), 7_000_000);
        assert_eq!(Instant::from_nanos(u64::MAX).as_ms(), u64::MAX / 1_000_000);
        assert_eq!(Instant::from_ms(u64::MAX).as_nanos(), u64::MAX);
    }

    #[test]
    fn instant_and_millis_arithmetic_saturates() {
        let t = Instant::from_ms(10);
        assert_eq!(t.saturating_add(Millis::from_ms(5)), Instant::from_ms(15));
        assert_eq!(
            Instant::from_ms(u64::MAX).saturating_add(Millis::from_ms(1)),
            Instant::from_ms(u64::MAX)
        );
        assert_eq!(Instant::from_ms(15).saturating_since(t), Millis::from_ms(5));
        assert_eq!(t.saturating_since(Instant::from_ms(15)), Millis::ZERO);
        assert_eq!(Millis::from_secs(2), Millis::from_ms(2_000));
        assert_eq!(Millis::from_secs(u64::MAX), Millis::MAX);
        assert_eq!(Millis::MAX.saturating_mul(2), Millis::MAX);
        assert_eq!(Millis::from_ms(7).checked_div(2), Some(Millis::from_ms(3)));
        assert_eq!(Millis::from_ms(7).checked_div(0), None);
        assert_eq!(alloc::format!("{}", Millis::from_ms(1500)), "1500");
    }
}
