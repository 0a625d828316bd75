//! Tests of the classification table: every row reachable, the documented shape,
//! sweeps over codes, and the display names against the WIT contract.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use super::*;
use crate::types::{HttpFailure, Millis};
use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;
use proptest::prelude::*;

use ApplicationError as A;
use Level as L;
use NetworkError as N;

fn net(e: NetworkError) -> Failure {
    Failure::network(e)
}
fn connack(code: u8) -> Failure {
    Failure::protocol(ProtocolError::MqttConnack(code))
}
fn mqtt5(code: u8) -> Failure {
    Failure::protocol(ProtocolError::MqttReason(code))
}
fn amqp(condition: &str) -> Failure {
    Failure::protocol(ProtocolError::Amqp(condition.into()))
}
fn http(status: u16, hub_code: Option<u32>) -> Failure {
    Failure::protocol(ProtocolError::Http(HttpFailure { status, hub_code }))
}
fn app(e: ApplicationError) -> Failure {
    Failure::application(e)
}

/// Every network error. The match makes adding a variant a compile error here.
fn all_network_errors() -> [NetworkError; 7] {
    match N::Dns {
        N::Dns | N::Refused | N::Reset | N::Unreachable | N::Timeout | N::Tls | N::Closed => {}
    }
    [
        N::Dns,
        N::Refused,
        N::Reset,
        N::Unreachable,
        N::Timeout,
        N::Tls,
        N::Closed,
    ]
}

/// Every application error, kept complete the same way.
fn all_application_errors() -> [ApplicationError; 8] {
    match A::Unauthorized {
        A::Unauthorized
        | A::CredentialExpired
        | A::Forbidden
        | A::DeviceNotFound
        | A::DeviceDisabled
        | A::QuotaExceeded
        | A::Throttled
        | A::BadEndpoint => {}
    }
    [
        A::Unauthorized,
        A::CredentialExpired,
        A::Forbidden,
        A::DeviceNotFound,
        A::DeviceDisabled,
        A::QuotaExceeded,
        A::Throttled,
        A::BadEndpoint,
    ]
}

type Case = (Failure, Level, Verdict, Reason, &'static str);

/// The table written out by hand, one concrete input per row (plus boundary
/// inputs for the range and catch-all rows). Not derived from `TABLE`: a wrong
/// entry there fails here.
#[rustfmt::skip]
fn cases() -> Vec<Case> {
    use Reason as R;
    use Verdict as V;
    let p = L::Protocol;
    let n = L::Network;
    let a = L::Application;
    alloc::vec![
        (net(N::Dns), n, V::Retry, R::NoNetwork, "net/dns"),
        (net(N::Refused), n, V::Retry, R::CommunicationError, "net/refused"),
        (net(N::Reset), n, V::Retry, R::CommunicationError, "net/reset"),
        (net(N::Unreachable), n, V::Retry, R::NoNetwork, "net/unreachable"),
        (net(N::Timeout), n, V::Retry, R::CommunicationError, "net/timeout"),
        (net(N::Tls), n, V::RetryThrottled, R::CommunicationError, "net/tls"),
        (net(N::Closed), n, V::Retry, R::CommunicationError, "net/closed"),

        (connack(1), p, V::Fatal, R::ProtocolError, "mqtt311/1"),
        (connack(2), p, V::Reprovision, R::BadCredential, "mqtt311/2"),
        (connack(3), p, V::Retry, R::ServerBusy, "mqtt311/3"),
        (connack(4), p, V::Reprovision, R::BadCredential, "mqtt311/4"),
        (connack(5), p, V::RenewCredential, R::BadCredential, "mqtt311/5"),
        (connack(0), p, V::Fatal, R::ProtocolError, "mqtt311/unknown"),
        (connack(6), p, V::Fatal, R::ProtocolError, "mqtt311/unknown"),
        (connack(255), p, V::Fatal, R::ProtocolError, "mqtt311/unknown"),

        (mqtt5(0x80), p, V::Retry, R::CommunicationError, "mqtt5/0x80"),
        (mqtt5(0x81), p, V::RetryThrottled, R::ProtocolError, "mqtt5/0x81"),
        (mqtt5(0x82), p, V::Fatal, R::ProtocolError, "mqtt5/0x82"),
        (mqtt5(0x83), p, V::Retry, R::CommunicationError, "mqtt5/0x83"),
        (mqtt5(0x84), p, V::Fatal, R::ProtocolError, "mqtt5/0x84"),
        (mqtt5(0x85), p, V::Reprovision, R::BadCredential, "mqtt5/0x85"),
        (mqtt5(0x86), p, V::RenewCredential, R::BadCredential, "mqtt5/0x86"),
        (mqtt5(0x87), p, V::RenewCredential, R::BadCredential, "mqtt5/0x87"),
        (mqtt5(0x88), p, V::Retry, R::ServerBusy, "mqtt5/0x88"),
        (mqtt5(0x89), p, V::RetryThrottled, R::ServerBusy, "mqtt5/0x89"),
        (mqtt5(0x8A), p, V::Fatal, R::DeviceDisabled, "mqtt5/0x8A"),
        (mqtt5(0x8B), p, V::Retry, R::ServerBusy, "mqtt5/0x8B"),
        (mqtt5(0x8C), p, V::Fatal, R::BadCredential, "mqtt5/0x8C"),
        (mqtt5(0x8D), p, V::Retry, R::NoPingResponse, "mqtt5/0x8D"),
        (mqtt5(0x8E), p, V::RetryThrottled, R::SessionTakenOver, "mqtt5/0x8E"),
        (mqtt5(0x8F), p, V::Fatal, R::ProtocolError, "mqtt5/0x8F"),
        (mqtt5(0x90), p, V::Fatal, R::ProtocolError, "mqtt5/0x90"),
        (mqtt5(0x93), p, V::RetryThrottled, R::ProtocolError, "mqtt5/0x93"),
        (mqtt5(0x94), p, V::Fatal, R::ProtocolError, "mqtt5/0x94"),
        (mqtt5(0x95), p, V::Fatal, R::ProtocolError, "mqtt5/0x95"),
        (mqtt5(0x96), p, V::RetryThrottled, R::Throttled, "mqtt5/0x96"),
        (mqtt5(0x97), p, V::RetryThrottled, R::QuotaExceeded, "mqtt5/0x97"),
        (mqtt5(0x98), p, V::RetryThrottled, R::CommunicationError, "mqtt5/0x98"),
        (mqtt5(0x99), p, V::Fatal, R::ProtocolError, "mqtt5/0x99"),
        (mqtt5(0x9A), p, V::Fatal, R::ProtocolError, "mqtt5/0x9A"),
        (mqtt5(0x9B), p, V::Fatal, R::ProtocolError, "mqtt5/0x9B"),
        (mqtt5(0x9C), p, V::Retry, R::ServerMoved, "mqtt5/0x9C"),
        (mqtt5(0x9D), p, V::Retry, R::ServerMoved, "mqtt5/0x9D"),
        (mqtt5(0x9E), p, V::Fatal, R::ProtocolError, "mqtt5/0x9E"),
        (mqtt5(0x9F), p, V::RetryThrottled, R::Throttled, "mqtt5/0x9F"),
        (mqtt5(0xA0), p, V::Retry, R::CommunicationError, "mqtt5/0xA0"),
        (mqtt5(0xA1), p, V::Fatal, R::ProtocolError, "mqtt5/0xA1"),
        (mqtt5(0xA2), p, V::Fatal, R::ProtocolError, "mqtt5/0xA2"),
        (mqtt5(0x00), p, V::Retry, R::CommunicationError, "mqtt5/below-0x80"),
        (mqtt5(0x04), p, V::Retry, R::CommunicationError, "mqtt5/below-0x80"),
        (mqtt5(0x7F), p, V::Retry, R::CommunicationError, "mqtt5/below-0x80"),
        (mqtt5(0x91), p, V::RetryThrottled, R::CommunicationError, "mqtt5/unknown"),
        (mqtt5(0x92), p, V::RetryThrottled, R::CommunicationError, "mqtt5/unknown"),
        (mqtt5(0xA3), p, V::RetryThrottled, R::CommunicationError, "mqtt5/unknown"),
        (mqtt5(0xFF), p, V::RetryThrottled, R::CommunicationError, "mqtt5/unknown"),

        (amqp("amqp:connection:forced"), p, V::Retry, R::CommunicationError, "amqp/amqp:connection:forced"),
        (amqp("amqp:connection:framing-error"), p, V::Retry, R::CommunicationError, "amqp/amqp:connection:framing-error"),
        (amqp("amqp:connection:redirect"), p, V::Retry, R::ServerMoved, "amqp/amqp:connection:redirect"),
        (amqp("amqp:link:detach-forced"), p, V::Retry, R::CommunicationError, "amqp/amqp:link:detach-forced"),
        (amqp("amqp:link:redirect"), p, V::Retry, R::ServerMoved, "amqp/amqp:link:redirect"),
        (amqp("amqp:link:stolen"), p, V::Retry, R::CommunicationError, "amqp/amqp:link:stolen"),
        (amqp("amqp:link:transfer-limit-exceeded"), p, V::RetryThrottled, R::Throttled, "amqp/amqp:link:transfer-limit-exceeded"),
        (amqp("amqp:resource-locked"), p, V::Retry, R::CommunicationError, "amqp/amqp:resource-locked"),
        (amqp("amqp:session:window-violation"), p, V::Retry, R::CommunicationError, "amqp/amqp:session:window-violation"),
        (amqp("amqp:session:errant-link"), p, V::Retry, R::CommunicationError, "amqp/amqp:session:errant-link"),
        (amqp("amqp:session:handle-in-use"), p, V::Retry, R::CommunicationError, "amqp/amqp:session:handle-in-use"),
        (amqp("amqp:session:unattached-handle"), p, V::Retry, R::CommunicationError, "amqp/amqp:session:unattached-handle"),
        (amqp("amqp:internal-error"), p, V::Retry, R::CommunicationError, "amqp/amqp:internal-error"),
        (amqp("com.microsoft:device-container-throttled"), p, V::RetryThrottled, R::Throttled, "amqp/com.microsoft:device-container-throttled"),
        (amqp("com.microsoft:timeout"), p, V::Retry, R::CommunicationError, "amqp/com.microsoft:timeout"),
        (amqp("com.microsoft:server-busy"), p, V::RetryThrottled, R::ServerBusy, "amqp/com.microsoft:server-busy"),
        (amqp("amqp:link:message-size-exceeded"), p, V::Fatal, R::ProtocolError, "amqp/amqp:link:message-size-exceeded"),
        (amqp("amqp:invalid-field"), p, V::Fatal, R::ProtocolError, "amqp/amqp:invalid-field"),
        (amqp("amqp:decode-error"), p, V::Fatal, R::ProtocolError, "amqp/amqp:decode-error"),
        (amqp("amqp:illegal-state"), p, V::Fatal, R::ProtocolError, "amqp/amqp:illegal-state"),
        (amqp("amqp:not-allowed"), p, V::Fatal, R::ProtocolError, "amqp/amqp:not-allowed"),
        (amqp("amqp:not-implemented"), p, V::Fatal, R::ProtocolError, "amqp/amqp:not-implemented"),
        (amqp("amqp:precondition-failed"), p, V::Fatal, R::ProtocolError, "amqp/amqp:precondition-failed"),
        (amqp("com.microsoft:argument-error"), p, V::Fatal, R::ProtocolError, "amqp/com.microsoft:argument-error"),
        (amqp("com.microsoft:argument-out-of-range"), p, V::Fatal, R::ProtocolError, "amqp/com.microsoft:argument-out-of-range"),
        (amqp("amqp:not-found"), p, V::Reprovision, R::DeviceNotFound, "amqp/amqp:not-found"),
        (amqp("amqp:resource-deleted"), p, V::Reprovision, R::DeviceNotFound, "amqp/amqp:resource-deleted"),
        (amqp("amqp:resource-limit-exceeded"), p, V::RetryThrottled, R::QuotaExceeded, "amqp/amqp:resource-limit-exceeded"),
        (amqp("amqp:unauthorized-access"), p, V::RenewCredential, R::BadCredential, "amqp/amqp:unauthorized-access"),
        (amqp("com.microsoft:iot-hub-suspended"), p, V::Reprovision, R::DeviceDisabled, "amqp/com.microsoft:iot-hub-suspended"),
        // Trimmed, but case-sensitive and whole-symbol.
        (amqp(" \tamqp:unauthorized-access\r\n"), p, V::RenewCredential, R::BadCredential, "amqp/amqp:unauthorized-access"),
        (amqp("AMQP:UNAUTHORIZED-ACCESS"), p, V::RetryThrottled, R::CommunicationError, "amqp/unknown"),
        (amqp("amqp:unauthorized-access:x"), p, V::RetryThrottled, R::CommunicationError, "amqp/unknown"),
        (amqp("amqp:unauthorized"), p, V::RetryThrottled, R::CommunicationError, "amqp/unknown"),
        (amqp(""), p, V::RetryThrottled, R::CommunicationError, "amqp/unknown"),
        (amqp("com.example:something-new"), p, V::RetryThrottled, R::CommunicationError, "amqp/unknown"),

        (http(401, Some(401003)), p, V::RenewCredential, R::ExpiredCredential, "http/401003"),
        (http(403, Some(403002)), p, V::RetryThrottled, R::QuotaExceeded, "http/403002"),
        (http(403, Some(403004)), p, V::RetryThrottled, R::Throttled, "http/403004"),
        (http(404, Some(404104)), p, V::Retry, R::CommunicationError, "http/404104"),
        (http(404, Some(404001)), p, V::Reprovision, R::DeviceNotFound, "http/404001"),
        (http(429, Some(429001)), p, V::RetryThrottled, R::Throttled, "http/429001"),
        (http(503, Some(503003)), p, V::Retry, R::ServerBusy, "http/503003"),
        // The six-digit code wins over a status that disagrees with it.
        (http(500, Some(403002)), p, V::RetryThrottled, R::QuotaExceeded, "http/403002"),
        (http(0, Some(401003)), p, V::RenewCredential, R::ExpiredCredential, "http/401003"),
        (http(400, None), p, V::Fatal, R::ProtocolError, "http/400"),
        (http(401, None), p, V::Reprovision, R::BadCredential, "http/401"),
        (http(403, None), p, V::Reprovision, R::DeviceDisabled, "http/403"),
        (http(404, None), p, V::Reprovision, R::DeviceNotFound, "http/404"),
        (http(408, None), p, V::Retry, R::CommunicationError, "http/408"),
        (http(412, None), p, V::Fatal, R::ProtocolError, "http/412"),
        (http(413, None), p, V::Fatal, R::ProtocolError, "http/413"),
        (http(429, None), p, V::RetryThrottled, R::Throttled, "http/429"),
        (http(500, None), p, V::Retry, R::CommunicationError, "http/500"),
        (http(502, None), p, V::Retry, R::CommunicationError, "http/502"),
        (http(503, None), p, V::Retry, R::ServerBusy, "http/503"),
        (http(504, None), p, V::Retry, R::CommunicationError, "http/504"),
        // An unknown six-digit code falls back to its first three digits...
        (http(403, Some(403999)), p, V::Reprovision, R::DeviceDisabled, "http/403"),
        (http(200, Some(403005)), p, V::Reprovision, R::DeviceDisabled, "http/403"),
        (http(500, Some(429999)), p, V::RetryThrottled, R::Throttled, "http/429"),
        (http(503, Some(501000)), p, V::Retry, R::CommunicationError, "http/5xx"),
        (http(503, Some(100500)), p, V::RetryThrottled, R::CommunicationError, "http/other"),
        // ...and, when those are no HTTP status, to the status given.
        (http(503, Some(999999)), p, V::Retry, R::ServerBusy, "http/503"),
        (http(429, Some(600000)), p, V::RetryThrottled, R::Throttled, "http/429"),
        (http(404, Some(99999)), p, V::Reprovision, R::DeviceNotFound, "http/404"),
        (http(401, Some(0)), p, V::Reprovision, R::BadCredential, "http/401"),
        (http(500, Some(u32::MAX)), p, V::Retry, R::CommunicationError, "http/500"),
        (http(500, None), p, V::Retry, R::CommunicationError, "http/500"),
        (http(501, None), p, V::Retry, R::CommunicationError, "http/5xx"),
        (http(599, None), p, V::Retry, R::CommunicationError, "http/5xx"),
        (http(499, None), p, V::Fatal, R::ProtocolError, "http/4xx"),
        (http(402, None), p, V::Fatal, R::ProtocolError, "http/4xx"),
        (http(0, None), p, V::RetryThrottled, R::CommunicationError, "http/other"),
        (http(200, None), p, V::RetryThrottled, R::CommunicationError, "http/other"),
        (http(302, None), p, V::RetryThrottled, R::CommunicationError, "http/other"),
        (http(399, None), p, V::RetryThrottled, R::CommunicationError, "http/other"),
        (http(600, None), p, V::RetryThrottled, R::CommunicationError, "http/other"),
        (http(999, None), p, V::RetryThrottled, R::CommunicationError, "http/other"),
        (http(u16::MAX, None), p, V::RetryThrottled, R::CommunicationError, "http/other"),

        (Failure::protocol(ProtocolError::KeepAliveLost), p, V::Retry, R::NoPingResponse, "proto/keep-alive-lost"),
        (Failure::protocol(ProtocolError::SessionExpired), p, V::Retry, R::CommunicationError, "proto/session-expired"),
        (Failure::protocol(ProtocolError::LinkDetached), p, V::Retry, R::CommunicationError, "proto/link-detached"),

        (app(A::Unauthorized), a, V::RenewCredential, R::BadCredential, "app/unauthorized"),
        (app(A::CredentialExpired), a, V::RenewCredential, R::ExpiredCredential, "app/credential-expired"),
        (app(A::Forbidden), a, V::Reprovision, R::DeviceDisabled, "app/forbidden"),
        (app(A::DeviceNotFound), a, V::Reprovision, R::DeviceNotFound, "app/device-not-found"),
        (app(A::DeviceDisabled), a, V::Reprovision, R::DeviceDisabled, "app/device-disabled"),
        (app(A::QuotaExceeded), a, V::RetryThrottled, R::QuotaExceeded, "app/quota-exceeded"),
        (app(A::Throttled), a, V::RetryThrottled, R::Throttled, "app/throttled"),
        (app(A::BadEndpoint), a, V::Fatal, R::BadEndpoint, "app/bad-endpoint"),
    ]
}

fn table_rules() -> BTreeSet<&'static str> {
    table().iter().map(|row| row.rule).collect()
}

/// Classifies and checks the answer is a row of the table, returned unchanged.
fn classify_checked(failure: &Failure) -> Classification {
    let got = classify(failure);
    let row = row_for(&failure.kind).expect("every failure matches a row");
    assert_eq!(got, row.classification());
    assert!(table().contains(row));
    assert_ne!(got.rule, "unmatched");
    got
}

#[test]
fn every_case_classifies_as_written() {
    for (failure, level, verdict, reason, rule) in cases() {
        let want = Classification {
            level,
            verdict,
            reason,
            rule,
        };
        assert_eq!(classify_checked(&failure), want, "for {failure:?}");
    }
}

#[test]
fn the_cases_exercise_every_row() {
    let tested: BTreeSet<&str> = cases().iter().map(|case| case.4).collect();
    let rules = table_rules();
    let untested: Vec<_> = rules.difference(&tested).collect();
    assert!(untested.is_empty(), "rows without a case: {untested:?}");
    let unknown: Vec<_> = tested.difference(&rules).collect();
    assert!(unknown.is_empty(), "cases naming no row: {unknown:?}");
}

#[test]
fn the_table_has_the_documented_shape() {
    assert_eq!(TABLE_VERSION, 2);
    assert_eq!(table().len(), 112);
    let count = |prefix: &str| {
        table()
            .iter()
            .filter(|row| row.rule.starts_with(prefix))
            .count()
    };
    assert_eq!(count("net/"), 7);
    assert_eq!(count("mqtt311/"), 6);
    assert_eq!(count("mqtt5/"), 35);
    assert_eq!(count("amqp/"), 31);
    assert_eq!(count("http/"), 22);
    assert_eq!(count("proto/"), 3);
    assert_eq!(count("app/"), 8);
    // README order: network, protocol, application.
    let first = table().first().unwrap();
    let last = table().last().unwrap();
    assert_eq!(first.rule, "net/dns");
    assert_eq!(last.rule, "app/bad-endpoint");
}

#[test]
fn rule_names_are_unique() {
    assert_eq!(table_rules().len(), table().len());
    let patterns: BTreeSet<String> = table()
        .iter()
        .map(|row| format!("{:?}", row.pattern))
        .collect();
    assert_eq!(patterns.len(), table().len(), "two rows share a pattern");
}

#[test]
fn rule_names_follow_their_patterns() {
    for row in table() {
        let want = match row.pattern {
            Pattern::Network(_) => None,
            Pattern::MqttConnack(code) => Some(format!("mqtt311/{code}")),
            Pattern::MqttReason(code) => Some(format!("mqtt5/0x{code:02X}")),
            Pattern::Amqp(symbol) => Some(format!("amqp/{symbol}")),
            Pattern::HubCode(code) => Some(format!("http/{code}")),
            Pattern::HttpStatus(status) => Some(format!("http/{status}")),
            _ => None,
        };
        if let Some(want) = want {
            assert_eq!(row.rule, want);
        }
    }
}

#[test]
fn levels_follow_the_family() {
    for row in table() {
        let want = match row.pattern {
            Pattern::Network(_) => Level::Network,
            Pattern::Application(_) => Level::Application,
            _ => Level::Protocol,
        };
        assert_eq!(row.level, want, "{}", row.rule);
        let prefix = row.rule.split('/').next().unwrap();
        let want_prefix = match want {
            Level::Network => "net",
            Level::Application => "app",
            Level::Protocol => prefix,
        };
        assert_eq!(prefix, want_prefix, "{}", row.rule);
    }
}

#[test]
fn mqtt5_rows_are_the_codes_connack_and_disconnect_carry() {
    // MQTT 5.0 sections 3.2.2.2 (CONNACK) and 3.14.2.1 (DISCONNECT), from 0x80 up.
    let carried: BTreeSet<u8> = [
        0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x8D, 0x8E,
        0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F,
        0xA0, 0xA1, 0xA2,
    ]
    .into_iter()
    .collect();
    let rows: BTreeSet<u8> = table()
        .iter()
        .filter_map(|row| match row.pattern {
            Pattern::MqttReason(code) => Some(code),
            _ => None,
        })
        .collect();
    assert_eq!(rows, carried);
}

/// Every row is reachable: an input built from its own pattern lands on it, so no
/// earlier row (a catch-all placed too soon, a duplicate) shadows it.
#[test]
fn table_and_classify_agree() {
    for row in table() {
        let examples: Vec<Failure> = match row.pattern {
            Pattern::Network(e) => alloc::vec![net(e)],
            Pattern::MqttConnack(code) => alloc::vec![connack(code)],
            Pattern::OtherMqttConnack => alloc::vec![connack(0), connack(6), connack(255)],
            Pattern::MqttReason(code) => alloc::vec![mqtt5(code)],
            Pattern::MqttReasonRange { first, last } => alloc::vec![mqtt5(first), mqtt5(last)],
            Pattern::OtherMqttReason => alloc::vec![mqtt5(0x91), mqtt5(0xFF)],
            Pattern::Amqp(symbol) => {
                alloc::vec![amqp(symbol), amqp(&format!("  {symbol}\n"))]
            }
            Pattern::OtherAmqp => alloc::vec![amqp("x:unknown")],
            Pattern::HubCode(code) => {
                let status = u16::try_from(code / 1000).unwrap();
                alloc::vec![http(status, Some(code)), http(0, Some(code))]
            }
            Pattern::HttpStatus(status) => {
                alloc::vec![
                    http(status, None),
                    http(1, Some(u32::from(status) * 1000 + 999))
                ]
            }
            Pattern::HttpStatusRange { first, last } => {
                // The lowest and highest statuses of the range no row names.
                let named = |s: &u16| table().iter().any(|r| r.pattern == Pattern::HttpStatus(*s));
                let low = (first..=last).find(|s| !named(s)).unwrap();
                let high = (first..=last).rev().find(|s| !named(s)).unwrap();
                alloc::vec![http(low, None), http(high, None)]
            }
            Pattern::OtherHttp => alloc::vec![http(0, None), http(200, None)],
            Pattern::KeepAliveLost => {
                alloc::vec![Failure::protocol(ProtocolError::KeepAliveLost)]
            }
            Pattern::SessionExpired => {
                alloc::vec![Failure::protocol(ProtocolError::SessionExpired)]
            }
            Pattern::LinkDetached => {
                alloc::vec![Failure::protocol(ProtocolError::LinkDetached)]
            }
            Pattern::Application(e) => alloc::vec![app(e)],
        };
        for example in examples {
            assert_eq!(classify_checked(&example).rule, row.rule, "for {example:?}");
        }
    }
}

#[test]
fn every_network_and_application_error_has_its_own_row() {
    for e in all_network_errors() {
        let rule = classify_checked(&net(e)).rule;
        assert!(rule.starts_with("net/"), "{rule}");
    }
    for e in all_application_errors() {
        let rule = classify_checked(&app(e)).rule;
        assert!(rule.starts_with("app/"), "{rule}");
    }
}

#[test]
fn every_mqtt5_code_classifies() {
    for code in 0..=u8::MAX {
        let got = classify_checked(&mqtt5(code));
        let named = table()
            .iter()
            .any(|r| r.pattern == Pattern::MqttReason(code));
        let want = if named {
            format!("mqtt5/0x{code:02X}")
        } else if code < 0x80 {
            "mqtt5/below-0x80".to_string()
        } else {
            "mqtt5/unknown".to_string()
        };
        assert_eq!(got.rule, want);
        assert_eq!(got.level, Level::Protocol);
    }
}

#[test]
fn every_connack_code_classifies() {
    for code in 0..=u8::MAX {
        let got = classify_checked(&connack(code));
        let want = if (1..=5).contains(&code) {
            format!("mqtt311/{code}")
        } else {
            "mqtt311/unknown".to_string()
        };
        assert_eq!(got.rule, want);
    }
}

#[test]
fn http_status_sweep_classifies() {
    for status in 0..=1000u16 {
        let got = classify_checked(&http(status, None));
        let named = table()
            .iter()
            .any(|r| r.pattern == Pattern::HttpStatus(status));
        let want = match status {
            _ if named => format!("http/{status}"),
            400..=499 => "http/4xx".to_string(),
            500..=599 => "http/5xx".to_string(),
            _ => "http/other".to_string(),
        };
        assert_eq!(got.rule, want, "status {status}");
        // A hub code with the same prefix and no row of its own changes nothing.
        let with_code = http(status, Some(u32::from(status) * 1000 + 999));
        assert_eq!(classify_checked(&with_code), got, "status {status}");
    }
}

#[test]
fn random_hub_codes_classify() {
    // xorshift32: a fixed, dependency-free sequence.
    let mut x: u32 = 0x9E37_79B9;
    for _ in 0..10_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        for code in [x, x % 1_000_000, 100_000 + x % 500_000] {
            let got = classify_checked(&http(503, Some(code)));
            assert!(got.rule.starts_with("http/"), "{code}: {}", got.rule);
        }
    }
}

#[test]
fn hints_do_not_change_the_verdict() {
    for (failure, ..) in cases() {
        let hinted = failure
            .clone()
            .with_retry_after(Millis::from_secs(30))
            .with_server_reference("hub-b.example:8883");
        assert_eq!(classify(&hinted), classify(&failure));
    }
}

#[test]
fn markdown_table_has_a_line_per_row() {
    let md = markdown_table();
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(lines.len(), table().len() + 2);
    assert_eq!(lines[0], "| rule | input | level | verdict | reason |");
    assert_eq!(lines[1], "| --- | --- | --- | --- | --- |");
    for (line, row) in lines[2..].iter().zip(table()) {
        let want = format!(
            "| {} | {} | {} | {} | {} |",
            row.rule, row.input, row.level, row.verdict, row.reason
        );
        assert_eq!(*line, want);
    }
    assert!(md.contains(
        "| mqtt5/0x87 | MQTT 5 reason 0x87 not authorized | protocol | renew-credential | bad-credential |"
    ));
    assert!(md.contains("| http/403002 |"));
    assert!(md.contains("| retry-throttled | quota-exceeded |"));
}

#[test]
fn cells_cannot_break_the_markdown() {
    for row in table() {
        for cell in [row.rule, row.input] {
            assert!(!cell.is_empty());
            assert!(!cell.contains('|') && !cell.contains('\n'), "{cell}");
            assert_eq!(cell.trim(), cell);
        }
    }
}

#[test]
fn display_names_are_the_wit_names() {
    assert_eq!(Level::Network.to_string(), "network");
    assert_eq!(Level::Protocol.to_string(), "protocol");
    assert_eq!(Level::Application.to_string(), "application");

    assert_eq!(Verdict::Retry.to_string(), "retry");
    assert_eq!(Verdict::RetryThrottled.to_string(), "retry-throttled");
    assert_eq!(Verdict::RenewCredential.to_string(), "renew-credential");
    assert_eq!(Verdict::Reprovision.to_string(), "reprovision");
    assert_eq!(Verdict::Fatal.to_string(), "fatal");

    let reasons = [
        (Reason::ConnectionOk, "connection-ok"),
        (Reason::CredentialRenewal, "credential-renewal"),
        (Reason::ExpiredCredential, "expired-credential"),
        (Reason::BadCredential, "bad-credential"),
        (Reason::DeviceDisabled, "device-disabled"),
        (Reason::DeviceNotFound, "device-not-found"),
        (Reason::RetryExpired, "retry-expired"),
        (Reason::NoNetwork, "no-network"),
        (Reason::CommunicationError, "communication-error"),
        (Reason::NoPingResponse, "no-ping-response"),
        (Reason::QuotaExceeded, "quota-exceeded"),
        (Reason::Throttled, "throttled"),
        (Reason::ServerBusy, "server-busy"),
        (Reason::ServerMoved, "server-moved"),
        (Reason::Provisioning, "provisioning"),
        (Reason::ProtocolError, "protocol-error"),
        (Reason::BadEndpoint, "bad-endpoint"),
        (Reason::SessionTakenOver, "session-taken-over"),
        (Reason::ClientClose, "client-close"),
    ];
    for (reason, name) in reasons {
        assert_eq!(reason.to_string(), name);
    }
}

#[test]
fn display_names_match_the_wit_contract() {
    let wit = include_str!("../../../../wit/types.wit");
    let section = |name: &str| -> String {
        let start = wit.find(&format!("enum {name} {{")).unwrap();
        let body = &wit[start..];
        let end = body.find('}').unwrap();
        body[..end].to_string()
    };
    let cases_of = |body: String| -> Vec<String> {
        body.lines()
            .skip(1)
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .map(|l| l.trim_end_matches(',').to_string())
            .collect()
    };
    let levels = [Level::Network, Level::Protocol, Level::Application];
    let verdicts = [
        Verdict::Retry,
        Verdict::RetryThrottled,
        Verdict::RenewCredential,
        Verdict::Reprovision,
        Verdict::Fatal,
    ];
    let level_names: Vec<String> = levels.iter().map(ToString::to_string).collect();
    let verdict_names: Vec<String> = verdicts.iter().map(ToString::to_string).collect();
    assert_eq!(cases_of(section("level")), level_names);
    assert_eq!(cases_of(section("verdict")), verdict_names);
    // Every reason the table uses is a case of the WIT `reason` enum.
    let reasons = cases_of(section("reason"));
    for row in table() {
        assert!(reasons.contains(&row.reason.to_string()), "{}", row.reason);
    }
}

fn arb_failure() -> impl Strategy<Value = Failure> {
    let symbols: Vec<&'static str> = table()
        .iter()
        .filter_map(|row| match row.pattern {
            Pattern::Amqp(symbol) => Some(symbol),
            _ => None,
        })
        .collect();
    let amqp_text = prop_oneof![
        any::<String>(),
        "[a-z.:-]{0,40}",
        (
            "[ \t\r\n]{0,3}",
            proptest::sample::select(symbols),
            "[ \t\r\n]{0,3}"
        )
            .prop_map(|(pre, s, post)| format!("{pre}{s}{post}")),
    ];
    let kind = prop_oneof![
        proptest::sample::select(all_network_errors().to_vec()).prop_map(FailureKind::Network),
        any::<u8>().prop_map(|c| FailureKind::Protocol(ProtocolError::MqttConnack(c))),
        any::<u8>().prop_map(|c| FailureKind::Protocol(ProtocolError::MqttReason(c))),
        amqp_text.prop_map(|s| FailureKind::Protocol(ProtocolError::Amqp(s))),
        (any::<u16>(), any::<Option<u32>>()).prop_map(|(status, hub_code)| {
            FailureKind::Protocol(ProtocolError::Http(HttpFailure { status, hub_code }))
        }),
        Just(FailureKind::Protocol(ProtocolError::KeepAliveLost)),
        Just(FailureKind::Protocol(ProtocolError::SessionExpired)),
        Just(FailureKind::Protocol(ProtocolError::LinkDetached)),
        proptest::sample::select(all_application_errors().to_vec())
            .prop_map(FailureKind::Application),
    ];
    (kind, any::<Option<u64>>(), any::<Option<String>>()).prop_map(
        |(kind, retry_after_ms, server_reference)| Failure {
            kind,
            retry_after_ms: retry_after_ms.map(Millis::from_ms),
            server_reference,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn classify_is_total_and_deterministic(failure in arb_failure()) {
        let got = classify_checked(&failure);
        prop_assert_eq!(classify(&failure), got);
        prop_assert_eq!(classify(&Failure::new(failure.kind.clone())), got);
        let level = match failure.kind {
            FailureKind::Network(_) => Level::Network,
            FailureKind::Protocol(_) => Level::Protocol,
            FailureKind::Application(_) => Level::Application,
        };
        prop_assert_eq!(got.level, level);
    }

    #[test]
    fn amqp_whitespace_is_ignored(text in "[ -~]{0,30}", pre in "[ \t\r\n]{0,3}", post in "[ \t\r\n]{0,3}") {
        let padded = amqp(&format!("{pre}{text}{post}"));
        prop_assert_eq!(classify(&padded), classify(&amqp(text.trim_ascii())));
    }
}
