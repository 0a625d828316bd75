//! The classification table: what a failure means and what to do about it.
//!
//! One explicit, versioned table turns every [`Failure`] into a [`Classification`]: the
//! failure's [`Level`], a [`Verdict`] (retry, retry on the throttled curve, renew the
//! credential, reprovision, or give up) and the status [`Reason`] to report, plus the
//! name of the row that matched (`mqtt5/0x87`, `http/403002`...).
//!
//! The table is data. Every [`Row`] carries the [`Pattern`] it matches, and
//! [`classify`] takes the first row, in [`table`] order, whose pattern matches the
//! failure. The same rows, in the same order, are what [`table`] returns and what
//! [`markdown_table`] prints into the README, so the documentation cannot drift from
//! the behaviour. Specific rows come before the catch-all row of their family
//! (`mqtt5/unknown`, `http/4xx`...), and the tests prove that every row is reachable.
//!
//! Only the failure's `kind` is classified. The server's hints (retry-after, server
//! reference) never change the verdict; the retry policy uses them.
//!
//! Any change to a row's pattern or answer, or a row added or removed, bumps
//! [`TABLE_VERSION`], which travels with the table so a transcript says which table
//! produced it.
//!
//! # Choices where the Azure SDKs disagree
//!
//! - **TLS** is retried on the throttled curve. .NET treats a TLS failure as fatal and
//!   Python as transient. On a flaky link a TLS failure is usually a handshake cut
//!   short, which the next attempt fixes; a misconfigured certificate fails every
//!   attempt and the policy's retry timeout ends it. The slower curve keeps the second
//!   case from hammering the server meanwhile.
//! - **MQTT 3.1.1 CONNACK 5** (not authorized) renews the credential. IoT Hub answers
//!   every refused CONNECT with 5, so it cannot tell an expired token from a deleted
//!   device. The connection flow, not this table, escalates: when a freshly renewed
//!   credential is refused again it reprovisions (or, without a provisioning service,
//!   gives up). This avoids both the C SDK's tight retry loop and the other SDKs'
//!   giving up on a merely expired token.
//! - **Quota** (HTTP 403002, AMQP `amqp:resource-limit-exceeded`, MQTT 5 0x97) is
//!   retried on the throttled curve, never reprovisioned and never fatal: the daily
//!   quota resets, and a device that gave up would stay offline until someone
//!   restarted it. Reprovisioning would not help either, since the quota belongs to
//!   the hub, not the device's registration.
//! - **Session taken over** (MQTT 5 0x8E) is retried on the throttled curve, at most
//!   `takeover-retries` times in one outage (the flow counts them), then the device
//!   stops. The SDKs that name it stop at once; but the usual cause is the device's
//!   own earlier link, and stopping for good over that would brick it.
//! - **Unknown codes** (an AMQP condition, MQTT 5 reason or HTTP status the table does
//!   not name) are retried on the throttled curve: an unknown answer is more likely a
//!   newer server than a dead device, and the slow curve bounds the cost of being
//!   wrong.
#![forbid(unsafe_code)]

use alloc::string::String;
use core::fmt;

use crate::types::{
    ApplicationError, Classification, Failure, FailureKind, HttpFailure, Level, NetworkError,
    ProtocolError, Reason, Verdict,
};

/// The version of the table. Bumped whenever a row is added, removed, or changes its
/// pattern, verdict or reason.
pub const TABLE_VERSION: u32 = 2;

/// What a [`Row`] matches. A row matches only failures of its own family; the
/// `Other*` patterns are the catch-all rows of their family and match anything that
/// no earlier row of the family took.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pattern {
    /// This network error.
    Network(NetworkError),
    /// This MQTT 3.1.1 CONNACK return code.
    MqttConnack(u8),
    /// Any other MQTT 3.1.1 CONNACK return code.
    OtherMqttConnack,
    /// This MQTT 5 reason code.
    MqttReason(u8),
    /// An MQTT 5 reason code in `first..=last`.
    MqttReasonRange {
        /// The lowest code matched.
        first: u8,
        /// The highest code matched.
        last: u8,
    },
    /// Any other MQTT 5 reason code.
    OtherMqttReason,
    /// This AMQP condition symbol, compared exactly (AMQP symbols are case-sensitive)
    /// after trimming ASCII whitespace from the failure's text.
    Amqp(&'static str),
    /// Any other AMQP condition.
    OtherAmqp,
    /// This IoT-hub six-digit error code. It wins over the HTTP status.
    HubCode(u32),
    /// This HTTP status. The status compared is the hub code's first three digits
    /// when the failure has a hub code and those digits are 100 to 599; otherwise the
    /// HTTP status itself.
    HttpStatus(u16),
    /// An HTTP status (as for [`Pattern::HttpStatus`]) in `first..=last`.
    HttpStatusRange {
        /// The lowest status matched.
        first: u16,
        /// The highest status matched.
        last: u16,
    },
    /// Any other HTTP failure.
    OtherHttp,
    /// No answer to a keep-alive ping.
    KeepAliveLost,
    /// The server ended the session.
    SessionExpired,
    /// The server detached a link.
    LinkDetached,
    /// This application error.
    Application(ApplicationError),
}

impl Pattern {
    /// Whether a failure of this kind matches the pattern on its own (the catch-all
    /// patterns match their whole family; [`classify`] tries rows in order).
    pub fn matches(&self, kind: &FailureKind) -> bool {
        use FailureKind as K;
        use ProtocolError as P;
        match (*self, kind) {
            (Pattern::Network(want), K::Network(got)) => want == *got,
            (Pattern::MqttConnack(want), K::Protocol(P::MqttConnack(got))) => want == *got,
            (Pattern::OtherMqttConnack, K::Protocol(P::MqttConnack(_))) => true,
            (Pattern::MqttReason(want), K::Protocol(P::MqttReason(got))) => want == *got,
            (Pattern::MqttReasonRange { first, last }, K::Protocol(P::MqttReason(got))) => {
                (first..=last).contains(got)
            }
            (Pattern::OtherMqttReason, K::Protocol(P::MqttReason(_))) => true,
            (Pattern::Amqp(want), K::Protocol(P::Amqp(got))) => got.trim_ascii() == want,
            (Pattern::OtherAmqp, K::Protocol(P::Amqp(_))) => true,
            (Pattern::HubCode(want), K::Protocol(P::Http(got))) => got.hub_code == Some(want),
            (Pattern::HttpStatus(want), K::Protocol(P::Http(got))) => effective_status(got) == want,
            (Pattern::HttpStatusRange { first, last }, K::Protocol(P::Http(got))) => {
                (first..=last).contains(&effective_status(got))
            }
            (Pattern::OtherHttp, K::Protocol(P::Http(_))) => true,
            (Pattern::KeepAliveLost, K::Protocol(P::KeepAliveLost))
            | (Pattern::SessionExpired, K::Protocol(P::SessionExpired))
            | (Pattern::LinkDetached, K::Protocol(P::LinkDetached)) => true,
            (Pattern::Application(want), K::Application(got)) => want == *got,
            _ => false,
        }
    }
}

/// The HTTP status the status rows compare: the hub code's first three digits when
/// they form a plausible status (the contract says the six-digit code wins when the
/// two disagree), otherwise the status as given.
fn effective_status(http: &HttpFailure) -> u16 {
    http.hub_code
        .and_then(|code| code.checked_div(1000))
        .and_then(|prefix| u16::try_from(prefix).ok())
        .filter(|prefix| (100..=599).contains(prefix))
        .unwrap_or(http.status)
}

/// One row of the table: what input it matches, and its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Row {
    /// The row's name, reported as [`Classification::rule`], for example `mqtt5/0x87`.
    pub rule: &'static str,
    /// What the row matches, for people, for example
    /// `MQTT 5 reason 0x87 not authorized`.
    pub input: &'static str,
    /// The level of the failures it matches.
    pub level: Level,
    /// What to do about them.
    pub verdict: Verdict,
    /// The status reason to report.
    pub reason: Reason,
    /// What it matches, for the classifier.
    pub pattern: Pattern,
}

impl Row {
    /// The classifier's answer for a failure this row matches.
    pub const fn classification(&self) -> Classification {
        Classification {
            level: self.level,
            verdict: self.verdict,
            reason: self.reason,
            rule: self.rule,
        }
    }
}

/// Classifies a failure by the first row of [`table`] that matches its kind.
///
/// Total and deterministic: every failure gets an answer, and the same failure always
/// gets the same one. The server's hints do not take part.
pub fn classify(failure: &Failure) -> Classification {
    row_for(&failure.kind).map_or(UNMATCHED, Row::classification)
}

/// The row of [`table`] that classifies failures of this kind: the first whose
/// pattern matches. `None` never happens (the tests check every family), but the
/// signature keeps [`classify`] honest about it rather than panicking.
pub fn row_for(kind: &FailureKind) -> Option<&'static Row> {
    TABLE.iter().find(|row| row.pattern.matches(kind))
}

/// Every row, in the order the classifier tries them and the README prints them.
pub fn table() -> &'static [Row] {
    TABLE
}

/// The table as Markdown: `| rule | input | level | verdict | reason |`, one line per
/// row, names in kebab-case as in the WIT contract.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| rule | input | level | verdict | reason |\n| --- | --- | --- | --- | --- |\n",
    );
    for row in TABLE {
        for cell in [
            row.rule,
            row.input,
            level_name(row.level),
            verdict_name(row.verdict),
            reason_name(row.reason),
        ] {
            out.push_str("| ");
            out.push_str(cell);
            out.push(' ');
        }
        out.push_str("|\n");
    }
    out
}

/// The answer if no row matched. Unreachable: every network and application error and
/// every protocol variant has rows, and each open-ended family (CONNACK codes, MQTT 5
/// reasons, AMQP conditions, HTTP) ends in a catch-all row; the tests check all of it.
/// It exists so that [`classify`] stays total without a panic, and gives the table's
/// answer for the unknown: retry slowly.
const UNMATCHED: Classification = Classification {
    level: Level::Protocol,
    verdict: Verdict::RetryThrottled,
    reason: Reason::CommunicationError,
    rule: "unmatched",
};

use Reason as R;
use Verdict as V;

const fn net(
    error: NetworkError,
    rule: &'static str,
    input: &'static str,
    verdict: Verdict,
    reason: Reason,
) -> Row {
    Row {
        rule,
        input,
        level: Level::Network,
        verdict,
        reason,
        pattern: Pattern::Network(error),
    }
}

const fn proto(
    pattern: Pattern,
    rule: &'static str,
    input: &'static str,
    verdict: Verdict,
    reason: Reason,
) -> Row {
    Row {
        rule,
        input,
        level: Level::Protocol,
        verdict,
        reason,
        pattern,
    }
}

const fn connack(
    code: u8,
    rule: &'static str,
    input: &'static str,
    verdict: Verdict,
    reason: Reason,
) -> Row {
    proto(Pattern::MqttConnack(code), rule, input, verdict, reason)
}

const fn mqtt5(
    code: u8,
    rule: &'static str,
    input: &'static str,
    verdict: Verdict,
    reason: Reason,
) -> Row {
    proto(Pattern::MqttReason(code), rule, input, verdict, reason)
}

const fn amqp(
    condition: &'static str,
    rule: &'static str,
    input: &'static str,
    verdict: Verdict,
    reason: Reason,
) -> Row {
    proto(Pattern::Amqp(condition), rule, input, verdict, reason)
}

const fn hub(
    code: u32,
    rule: &'static str,
    input: &'static str,
    verdict: Verdict,
    reason: Reason,
) -> Row {
    proto(Pattern::HubCode(code), rule, input, verdict, reason)
}

const fn status(
    code: u16,
    rule: &'static str,
    input: &'static str,
    verdict: Verdict,
    reason: Reason,
) -> Row {
    proto(Pattern::HttpStatus(code), rule, input, verdict, reason)
}

const fn app(
    error: ApplicationError,
    rule: &'static str,
    input: &'static str,
    verdict: Verdict,
    reason: Reason,
) -> Row {
    Row {
        rule,
        input,
        level: Level::Application,
        verdict,
        reason,
        pattern: Pattern::Application(error),
    }
}

#[rustfmt::skip]
static TABLE: &[Row] = &[
    // Network. Every SDK retries socket, DNS, timeout and closed-channel errors.
    net(NetworkError::Dns, "net/dns", "DNS lookup failed", V::Retry, R::NoNetwork),
    net(NetworkError::Refused, "net/refused", "TCP connection refused", V::Retry, R::CommunicationError),
    net(NetworkError::Reset, "net/reset", "connection reset by the peer", V::Retry, R::CommunicationError),
    net(NetworkError::Unreachable, "net/unreachable", "network or host unreachable", V::Retry, R::NoNetwork),
    net(NetworkError::Timeout, "net/timeout", "connect, handshake or read timed out", V::Retry, R::CommunicationError),
    // A cut handshake on a flaky link, or a bad certificate that the retry timeout
    // ends: see the module docs.
    net(NetworkError::Tls, "net/tls", "TLS handshake or record layer failed", V::RetryThrottled, R::CommunicationError),
    net(NetworkError::Closed, "net/closed", "connection closed without a protocol reason", V::Retry, R::CommunicationError),

    // MQTT 3.1.1 CONNACK return codes.
    connack(1, "mqtt311/1", "MQTT 3.1.1 CONNACK 1 unacceptable protocol version", V::Fatal, R::ProtocolError),
    connack(2, "mqtt311/2", "MQTT 3.1.1 CONNACK 2 identifier rejected", V::Reprovision, R::BadCredential),
    connack(3, "mqtt311/3", "MQTT 3.1.1 CONNACK 3 server unavailable", V::Retry, R::ServerBusy),
    connack(4, "mqtt311/4", "MQTT 3.1.1 CONNACK 4 bad user name or password", V::Reprovision, R::BadCredential),
    // IoT Hub answers every refused CONNECT with 5; the connection flow escalates to
    // reprovision (or fatal) when a freshly renewed credential is refused again.
    connack(5, "mqtt311/5", "MQTT 3.1.1 CONNACK 5 not authorized", V::RenewCredential, R::BadCredential),
    proto(Pattern::OtherMqttConnack, "mqtt311/unknown", "MQTT 3.1.1 CONNACK 0 or above 5 reported as a failure", V::Fatal, R::ProtocolError),

    // MQTT 5 reason codes a CONNACK or a DISCONNECT can carry (0x91 and 0x92 belong
    // to PUBACK and friends, so they fall to mqtt5/unknown).
    mqtt5(0x80, "mqtt5/0x80", "MQTT 5 reason 0x80 unspecified error", V::Retry, R::CommunicationError),
    mqtt5(0x81, "mqtt5/0x81", "MQTT 5 reason 0x81 malformed packet", V::RetryThrottled, R::ProtocolError),
    mqtt5(0x82, "mqtt5/0x82", "MQTT 5 reason 0x82 protocol error", V::Fatal, R::ProtocolError),
    mqtt5(0x83, "mqtt5/0x83", "MQTT 5 reason 0x83 implementation specific error", V::Retry, R::CommunicationError),
    mqtt5(0x84, "mqtt5/0x84", "MQTT 5 reason 0x84 unsupported protocol version", V::Fatal, R::ProtocolError),
    mqtt5(0x85, "mqtt5/0x85", "MQTT 5 reason 0x85 client identifier not valid", V::Reprovision, R::BadCredential),
    mqtt5(0x86, "mqtt5/0x86", "MQTT 5 reason 0x86 bad user name or password", V::RenewCredential, R::BadCredential),
    mqtt5(0x87, "mqtt5/0x87", "MQTT 5 reason 0x87 not authorized", V::RenewCredential, R::BadCredential),
    mqtt5(0x88, "mqtt5/0x88", "MQTT 5 reason 0x88 server unavailable", V::Retry, R::ServerBusy),
    mqtt5(0x89, "mqtt5/0x89", "MQTT 5 reason 0x89 server busy", V::RetryThrottled, R::ServerBusy),
    mqtt5(0x8A, "mqtt5/0x8A", "MQTT 5 reason 0x8A banned", V::Fatal, R::DeviceDisabled),
    mqtt5(0x8B, "mqtt5/0x8B", "MQTT 5 reason 0x8B server shutting down", V::Retry, R::ServerBusy),
    mqtt5(0x8C, "mqtt5/0x8C", "MQTT 5 reason 0x8C bad authentication method", V::Fatal, R::BadCredential),
    mqtt5(0x8D, "mqtt5/0x8D", "MQTT 5 reason 0x8D keep alive timeout", V::Retry, R::NoPingResponse),
    // Usually the device's own earlier link (a late CONNECT, a hub dropping the
    // link the device replaced): retried slowly, `takeover-retries` times per
    // outage, then the flow stops, since a second device with this identity would
    // otherwise make both flap for good.
    mqtt5(0x8E, "mqtt5/0x8E", "MQTT 5 reason 0x8E session taken over", V::RetryThrottled, R::SessionTakenOver),
    mqtt5(0x8F, "mqtt5/0x8F", "MQTT 5 reason 0x8F topic filter invalid", V::Fatal, R::ProtocolError),
    mqtt5(0x90, "mqtt5/0x90", "MQTT 5 reason 0x90 topic name invalid", V::Fatal, R::ProtocolError),
    mqtt5(0x93, "mqtt5/0x93", "MQTT 5 reason 0x93 receive maximum exceeded", V::RetryThrottled, R::ProtocolError),
    mqtt5(0x94, "mqtt5/0x94", "MQTT 5 reason 0x94 topic alias invalid", V::Fatal, R::ProtocolError),
    mqtt5(0x95, "mqtt5/0x95", "MQTT 5 reason 0x95 packet too large", V::Fatal, R::ProtocolError),
    mqtt5(0x96, "mqtt5/0x96", "MQTT 5 reason 0x96 message rate too high", V::RetryThrottled, R::Throttled),
    mqtt5(0x97, "mqtt5/0x97", "MQTT 5 reason 0x97 quota exceeded", V::RetryThrottled, R::QuotaExceeded),
    mqtt5(0x98, "mqtt5/0x98", "MQTT 5 reason 0x98 administrative action", V::RetryThrottled, R::CommunicationError),
    mqtt5(0x99, "mqtt5/0x99", "MQTT 5 reason 0x99 payload format invalid", V::Fatal, R::ProtocolError),
    mqtt5(0x9A, "mqtt5/0x9A", "MQTT 5 reason 0x9A retain not supported", V::Fatal, R::ProtocolError),
    mqtt5(0x9B, "mqtt5/0x9B", "MQTT 5 reason 0x9B QoS not supported", V::Fatal, R::ProtocolError),
    mqtt5(0x9C, "mqtt5/0x9C", "MQTT 5 reason 0x9C use another server", V::Retry, R::ServerMoved),
    mqtt5(0x9D, "mqtt5/0x9D", "MQTT 5 reason 0x9D server moved", V::Retry, R::ServerMoved),
    mqtt5(0x9E, "mqtt5/0x9E", "MQTT 5 reason 0x9E shared subscriptions not supported", V::Fatal, R::ProtocolError),
    mqtt5(0x9F, "mqtt5/0x9F", "MQTT 5 reason 0x9F connection rate exceeded", V::RetryThrottled, R::Throttled),
    mqtt5(0xA0, "mqtt5/0xA0", "MQTT 5 reason 0xA0 maximum connect time", V::Retry, R::CommunicationError),
    mqtt5(0xA1, "mqtt5/0xA1", "MQTT 5 reason 0xA1 subscription identifiers not supported", V::Fatal, R::ProtocolError),
    mqtt5(0xA2, "mqtt5/0xA2", "MQTT 5 reason 0xA2 wildcard subscriptions not supported", V::Fatal, R::ProtocolError),
    proto(Pattern::MqttReasonRange { first: 0x00, last: 0x7F }, "mqtt5/below-0x80", "MQTT 5 reason below 0x80 (normal disconnection, disconnect with will) reported as a failure", V::Retry, R::CommunicationError),
    proto(Pattern::OtherMqttReason, "mqtt5/unknown", "MQTT 5 reason no CONNACK or DISCONNECT carries (0x91, 0x92, above 0xA2)", V::RetryThrottled, R::CommunicationError),

    // AMQP conditions the SDKs retry.
    amqp("amqp:connection:forced", "amqp/amqp:connection:forced", "AMQP amqp:connection:forced: the peer closed the connection", V::Retry, R::CommunicationError),
    amqp("amqp:connection:framing-error", "amqp/amqp:connection:framing-error", "AMQP amqp:connection:framing-error: a malformed frame", V::Retry, R::CommunicationError),
    amqp("amqp:connection:redirect", "amqp/amqp:connection:redirect", "AMQP amqp:connection:redirect: connect elsewhere", V::Retry, R::ServerMoved),
    amqp("amqp:link:detach-forced", "amqp/amqp:link:detach-forced", "AMQP amqp:link:detach-forced: the peer detached the link", V::Retry, R::CommunicationError),
    amqp("amqp:link:redirect", "amqp/amqp:link:redirect", "AMQP amqp:link:redirect: attach the link elsewhere", V::Retry, R::ServerMoved),
    amqp("amqp:link:stolen", "amqp/amqp:link:stolen", "AMQP amqp:link:stolen: a link of the same name was attached", V::Retry, R::CommunicationError),
    amqp("amqp:link:transfer-limit-exceeded", "amqp/amqp:link:transfer-limit-exceeded", "AMQP amqp:link:transfer-limit-exceeded: more transfers than credit allowed", V::RetryThrottled, R::Throttled),
    amqp("amqp:resource-locked", "amqp/amqp:resource-locked", "AMQP amqp:resource-locked: the resource is in use", V::Retry, R::CommunicationError),
    amqp("amqp:session:window-violation", "amqp/amqp:session:window-violation", "AMQP amqp:session:window-violation: a transfer outside the session window", V::Retry, R::CommunicationError),
    amqp("amqp:session:errant-link", "amqp/amqp:session:errant-link", "AMQP amqp:session:errant-link: a frame for a link the peer does not know", V::Retry, R::CommunicationError),
    amqp("amqp:session:handle-in-use", "amqp/amqp:session:handle-in-use", "AMQP amqp:session:handle-in-use: a link handle already in use", V::Retry, R::CommunicationError),
    amqp("amqp:session:unattached-handle", "amqp/amqp:session:unattached-handle", "AMQP amqp:session:unattached-handle: a frame for an unattached handle", V::Retry, R::CommunicationError),
    amqp("amqp:internal-error", "amqp/amqp:internal-error", "AMQP amqp:internal-error: the server failed", V::Retry, R::CommunicationError),
    amqp("com.microsoft:device-container-throttled", "amqp/com.microsoft:device-container-throttled", "AMQP com.microsoft:device-container-throttled: the hub throttles the device", V::RetryThrottled, R::Throttled),
    amqp("com.microsoft:timeout", "amqp/com.microsoft:timeout", "AMQP com.microsoft:timeout: the hub timed out", V::Retry, R::CommunicationError),
    amqp("com.microsoft:server-busy", "amqp/com.microsoft:server-busy", "AMQP com.microsoft:server-busy: the hub is busy", V::RetryThrottled, R::ServerBusy),
    // AMQP conditions the SDKs do not retry.
    amqp("amqp:link:message-size-exceeded", "amqp/amqp:link:message-size-exceeded", "AMQP amqp:link:message-size-exceeded: a message larger than the link allows", V::Fatal, R::ProtocolError),
    amqp("amqp:invalid-field", "amqp/amqp:invalid-field", "AMQP amqp:invalid-field: a frame field is invalid", V::Fatal, R::ProtocolError),
    amqp("amqp:decode-error", "amqp/amqp:decode-error", "AMQP amqp:decode-error: data that could not be decoded", V::Fatal, R::ProtocolError),
    amqp("amqp:illegal-state", "amqp/amqp:illegal-state", "AMQP amqp:illegal-state: a frame not valid in the current state", V::Fatal, R::ProtocolError),
    amqp("amqp:not-allowed", "amqp/amqp:not-allowed", "AMQP amqp:not-allowed: an operation the peer does not allow", V::Fatal, R::ProtocolError),
    amqp("amqp:not-implemented", "amqp/amqp:not-implemented", "AMQP amqp:not-implemented: a feature the peer lacks", V::Fatal, R::ProtocolError),
    amqp("amqp:precondition-failed", "amqp/amqp:precondition-failed", "AMQP amqp:precondition-failed: a precondition does not hold", V::Fatal, R::ProtocolError),
    amqp("com.microsoft:argument-error", "amqp/com.microsoft:argument-error", "AMQP com.microsoft:argument-error: an invalid argument", V::Fatal, R::ProtocolError),
    amqp("com.microsoft:argument-out-of-range", "amqp/com.microsoft:argument-out-of-range", "AMQP com.microsoft:argument-out-of-range: an argument out of range", V::Fatal, R::ProtocolError),
    amqp("amqp:not-found", "amqp/amqp:not-found", "AMQP amqp:not-found: the hub does not know the device", V::Reprovision, R::DeviceNotFound),
    amqp("amqp:resource-deleted", "amqp/amqp:resource-deleted", "AMQP amqp:resource-deleted: the device was deleted", V::Reprovision, R::DeviceNotFound),
    // Quota: the SDKs stop; tether keeps trying slowly because the quota resets.
    amqp("amqp:resource-limit-exceeded", "amqp/amqp:resource-limit-exceeded", "AMQP amqp:resource-limit-exceeded: a quota is spent", V::RetryThrottled, R::QuotaExceeded),
    amqp("amqp:unauthorized-access", "amqp/amqp:unauthorized-access", "AMQP amqp:unauthorized-access: the credential was refused", V::RenewCredential, R::BadCredential),
    amqp("com.microsoft:iot-hub-suspended", "amqp/com.microsoft:iot-hub-suspended", "AMQP com.microsoft:iot-hub-suspended: the hub is suspended", V::Reprovision, R::DeviceDisabled),
    proto(Pattern::OtherAmqp, "amqp/unknown", "any other AMQP condition", V::RetryThrottled, R::CommunicationError),

    // IoT-hub six-digit codes: checked before the status, which alone cannot tell
    // quota (403002) from other 403s.
    hub(401003, "http/401003", "IoT Hub 401003 IotHubUnauthorized: the credential expired", V::RenewCredential, R::ExpiredCredential),
    // Quota resets daily: not a reason to reprovision (see the module docs).
    hub(403002, "http/403002", "IoT Hub 403002 IotHubQuotaExceeded: the daily quota is spent", V::RetryThrottled, R::QuotaExceeded),
    hub(403004, "http/403004", "IoT Hub 403004 DeviceMaximumQueueDepthExceeded", V::RetryThrottled, R::Throttled),
    hub(404104, "http/404104", "IoT Hub 404104 DeviceConnectionClosedRemotely", V::Retry, R::CommunicationError),
    hub(404001, "http/404001", "IoT Hub 404001 DeviceNotFound", V::Reprovision, R::DeviceNotFound),
    hub(429001, "http/429001", "IoT Hub 429001 ThrottlingException", V::RetryThrottled, R::Throttled),
    hub(503003, "http/503003", "IoT Hub 503003 PartitionNotFound: transient", V::Retry, R::ServerBusy),
    // HTTP statuses (or a hub code's first three digits). 401, 403 and 404 send the
    // device back to provisioning, as the reconnection guidance says.
    status(400, "http/400", "HTTP 400 bad request", V::Fatal, R::ProtocolError),
    status(401, "http/401", "HTTP 401 unauthorized", V::Reprovision, R::BadCredential),
    status(403, "http/403", "HTTP 403 forbidden, other than the hub codes above", V::Reprovision, R::DeviceDisabled),
    status(404, "http/404", "HTTP 404 not found", V::Reprovision, R::DeviceNotFound),
    status(408, "http/408", "HTTP 408 request timeout", V::Retry, R::CommunicationError),
    status(412, "http/412", "HTTP 412 precondition failed", V::Fatal, R::ProtocolError),
    status(413, "http/413", "HTTP 413 payload too large", V::Fatal, R::ProtocolError),
    status(429, "http/429", "HTTP 429 too many requests", V::RetryThrottled, R::Throttled),
    status(500, "http/500", "HTTP 500 internal server error", V::Retry, R::CommunicationError),
    status(502, "http/502", "HTTP 502 bad gateway", V::Retry, R::CommunicationError),
    status(503, "http/503", "HTTP 503 service unavailable", V::Retry, R::ServerBusy),
    status(504, "http/504", "HTTP 504 gateway timeout", V::Retry, R::CommunicationError),
    proto(Pattern::HttpStatusRange { first: 500, last: 599 }, "http/5xx", "any other HTTP 5xx", V::Retry, R::CommunicationError),
    proto(Pattern::HttpStatusRange { first: 400, last: 499 }, "http/4xx", "any other HTTP 4xx", V::Fatal, R::ProtocolError),
    proto(Pattern::OtherHttp, "http/other", "any other HTTP status (1xx, 2xx, 3xx, out of range) reported as a failure", V::RetryThrottled, R::CommunicationError),

    // The rest of the protocol level.
    proto(Pattern::KeepAliveLost, "proto/keep-alive-lost", "no answer to a keep-alive ping: the link is half open", V::Retry, R::NoPingResponse),
    proto(Pattern::SessionExpired, "proto/session-expired", "the server ended the session", V::Retry, R::CommunicationError),
    proto(Pattern::LinkDetached, "proto/link-detached", "the server detached a link", V::Retry, R::CommunicationError),

    // Application level.
    app(ApplicationError::Unauthorized, "app/unauthorized", "the credential was refused", V::RenewCredential, R::BadCredential),
    app(ApplicationError::CredentialExpired, "app/credential-expired", "the credential has expired", V::RenewCredential, R::ExpiredCredential),
    app(ApplicationError::Forbidden, "app/forbidden", "the device may not do this (not a quota problem)", V::Reprovision, R::DeviceDisabled),
    app(ApplicationError::DeviceNotFound, "app/device-not-found", "the service does not know the device", V::Reprovision, R::DeviceNotFound),
    app(ApplicationError::DeviceDisabled, "app/device-disabled", "the device is disabled on the service", V::Reprovision, R::DeviceDisabled),
    app(ApplicationError::QuotaExceeded, "app/quota-exceeded", "the daily or unit quota is spent", V::RetryThrottled, R::QuotaExceeded),
    app(ApplicationError::Throttled, "app/throttled", "the service is throttling the device", V::RetryThrottled, R::Throttled),
    app(ApplicationError::BadEndpoint, "app/bad-endpoint", "no hub answers at the endpoint", V::Fatal, R::BadEndpoint),
];

const fn level_name(level: Level) -> &'static str {
    match level {
        Level::Network => "network",
        Level::Protocol => "protocol",
        Level::Application => "application",
    }
}

const fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Retry => "retry",
        Verdict::RetryThrottled => "retry-throttled",
        Verdict::RenewCredential => "renew-credential",
        Verdict::Reprovision => "reprovision",
        Verdict::Fatal => "fatal",
    }
}

const fn reason_name(reason: Reason) -> &'static str {
    match reason {
        Reason::ConnectionOk => "connection-ok",
        Reason::CredentialRenewal => "credential-renewal",
        Reason::ExpiredCredential => "expired-credential",
        Reason::BadCredential => "bad-credential",
        Reason::DeviceDisabled => "device-disabled",
        Reason::DeviceNotFound => "device-not-found",
        Reason::RetryExpired => "retry-expired",
        Reason::NoNetwork => "no-network",
        Reason::CommunicationError => "communication-error",
        Reason::NoPingResponse => "no-ping-response",
        Reason::QuotaExceeded => "quota-exceeded",
        Reason::Throttled => "throttled",
        Reason::ServerBusy => "server-busy",
        Reason::ServerMoved => "server-moved",
        Reason::Provisioning => "provisioning",
        Reason::ProtocolError => "protocol-error",
        Reason::BadEndpoint => "bad-endpoint",
        Reason::SessionTakenOver => "session-taken-over",
        Reason::ClientClose => "client-close",
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(level_name(*self))
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(verdict_name(*self))
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(reason_name(*self))
    }
}

pub mod refusals;
#[cfg(test)]
mod tests;
