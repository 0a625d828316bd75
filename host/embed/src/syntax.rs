//! A one-word text syntax for failures, shared by the command line
//! (`tether classify mqtt5:0x87`) and transcripts (`on-failed link=2 net:refused`).
//!
//! | text | failure |
//! | --- | --- |
//! | `net:dns`, `net:refused`, `net:reset`, `net:unreachable`, `net:timeout`, `net:tls`, `net:closed` | a network error |
//! | `mqtt311:5` | an MQTT 3.1.1 CONNACK return code (decimal or `0x..`) |
//! | `mqtt5:0x87` | an MQTT 5 reason code (`0x..` or decimal) |
//! | `amqp:amqp:unauthorized-access` | an AMQP condition (everything after the first `:`) |
//! | `http:403`, `http:403:403002` | an HTTP status, optionally with the IoT-hub error code |
//! | `hub:401003` | an IoT-hub six-digit error code (its HTTP status is the first three digits) |
//! | `keep-alive-lost`, `session-expired`, `link-detached` | a protocol-level loss |
//! | `app:unauthorized`, `app:quota-exceeded`, ... | an application error |
//!
//! [`format_failure_kind`] writes exactly what [`parse_failure`] reads, so a failure
//! survives the round trip. Server hints are not part of the word: the command line
//! takes them as options, and [`failure_text`] appends them as `retry-after=..ms` and
//! `server-reference=..`.

use std::fmt;

use crate::bindings::types::{Failure, FailureKind, HttpFailure, ProtocolError};
use crate::names::{APPLICATION_ERRORS, NETWORK_ERRORS};

/// A failure text that does not parse. The message names what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    message: String,
}

impl SyntaxError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SyntaxError {}

const FAMILIES: &str = "net:, mqtt311:, mqtt5:, amqp:, http:, hub:, app:, \
                        keep-alive-lost, session-expired or link-detached";

/// Parse a failure (without server hints). See the [module docs](self) for the syntax.
pub fn parse_failure(text: &str) -> Result<Failure, SyntaxError> {
    Ok(Failure {
        kind: parse_failure_kind(text)?,
        retry_after_ms: None,
        server_reference: None,
    })
}

/// Parse the kind of a failure. See the [module docs](self) for the syntax.
pub fn parse_failure_kind(text: &str) -> Result<FailureKind, SyntaxError> {
    let text = text.trim();
    match text {
        "" => {
            return Err(SyntaxError::new(format!(
                "no failure given; expected {FAMILIES}"
            )));
        }
        "keep-alive-lost" => return Ok(FailureKind::Protocol(ProtocolError::KeepAliveLost)),
        "session-expired" => return Ok(FailureKind::Protocol(ProtocolError::SessionExpired)),
        "link-detached" => return Ok(FailureKind::Protocol(ProtocolError::LinkDetached)),
        _ => {}
    }
    let Some((family, rest)) = text.split_once(':') else {
        return Err(SyntaxError::new(format!(
            "unknown failure \"{text}\"; expected {FAMILIES}"
        )));
    };
    if rest.is_empty() {
        return Err(SyntaxError::new(format!(
            "\"{text}\" has nothing after \"{family}:\""
        )));
    }
    match family {
        "net" => lookup(&NETWORK_ERRORS, rest, "network error", text).map(FailureKind::Network),
        "app" => lookup(&APPLICATION_ERRORS, rest, "application error", text)
            .map(FailureKind::Application),
        "mqtt311" => {
            let code = number::<u8>(rest, "MQTT 3.1.1 CONNACK code", "0 to 255", text)?;
            Ok(FailureKind::Protocol(ProtocolError::MqttConnack(code)))
        }
        "mqtt5" => {
            let code = number::<u8>(rest, "MQTT 5 reason code", "0x00 to 0xFF", text)?;
            Ok(FailureKind::Protocol(ProtocolError::MqttReason(code)))
        }
        "amqp" => Ok(FailureKind::Protocol(ProtocolError::Amqp(rest.to_string()))),
        "http" => {
            let (status, hub_code) = match rest.split_once(':') {
                None => (rest, None),
                Some((status, code)) => (status, Some(code)),
            };
            let status = number::<u16>(status, "HTTP status", "0 to 65535", text)?;
            let hub_code = hub_code
                .map(|code| number::<u32>(code, "IoT-hub error code", "a number like 403002", text))
                .transpose()?;
            Ok(FailureKind::Protocol(ProtocolError::Http(HttpFailure {
                status,
                hub_code,
            })))
        }
        "hub" => {
            let code = number::<u32>(rest, "IoT-hub error code", "six digits, like 403002", text)?;
            if !(100_000..=999_999).contains(&code) {
                return Err(SyntaxError::new(format!(
                    "IoT-hub error code {code} in \"{text}\" is not six digits (like 403002)"
                )));
            }
            let status = u16::try_from(code / 1000)
                .map_err(|_| SyntaxError::new(format!("IoT-hub error code {code} out of range")))?;
            Ok(FailureKind::Protocol(ProtocolError::Http(HttpFailure {
                status,
                hub_code: Some(code),
            })))
        }
        other => Err(SyntaxError::new(format!(
            "unknown failure family \"{other}\" in \"{text}\"; expected {FAMILIES}"
        ))),
    }
}

fn lookup<T: Copy>(
    table: &[(&str, T)],
    name: &str,
    what: &str,
    text: &str,
) -> Result<T, SyntaxError> {
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            SyntaxError::new(format!(
                "unknown {what} \"{name}\" in \"{text}\"; expected one of: {}",
                names.join(", ")
            ))
        })
}

/// A decimal or `0x` hexadecimal number that fits `T`.
fn number<T: TryFrom<u64>>(
    digits: &str,
    what: &str,
    range: &str,
    text: &str,
) -> Result<T, SyntaxError> {
    let parsed = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse::<u64>(),
    };
    parsed
        .ok()
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| {
            SyntaxError::new(format!(
                "{what} \"{digits}\" in \"{text}\" is not a number in range ({range})"
            ))
        })
}

/// The failure's kind in the syntax [`parse_failure`] reads: `net:refused`,
/// `mqtt5:0x87`, `http:403:403002`...
pub fn format_failure_kind(kind: &FailureKind) -> String {
    match kind {
        FailureKind::Network(e) => format!("net:{}", crate::names::network_error_name(*e)),
        FailureKind::Application(e) => format!("app:{}", crate::names::application_error_name(*e)),
        FailureKind::Protocol(p) => match p {
            ProtocolError::MqttConnack(code) => format!("mqtt311:{code}"),
            ProtocolError::MqttReason(code) => format!("mqtt5:0x{code:02X}"),
            ProtocolError::Amqp(condition) => format!("amqp:{condition}"),
            ProtocolError::Http(HttpFailure {
                status,
                hub_code: None,
            }) => format!("http:{status}"),
            ProtocolError::Http(HttpFailure {
                status,
                hub_code: Some(code),
            }) => format!("http:{status}:{code}"),
            ProtocolError::KeepAliveLost => "keep-alive-lost".to_string(),
            ProtocolError::SessionExpired => "session-expired".to_string(),
            ProtocolError::LinkDetached => "link-detached".to_string(),
        },
    }
}

/// The failure with its hints: `http:429 retry-after=5000ms`,
/// `mqtt5:0x9C server-reference=hub-b`.
pub fn failure_text(failure: &Failure) -> String {
    let mut text = format_failure_kind(&failure.kind);
    if let Some(ms) = failure.retry_after_ms {
        text.push_str(&format!(" retry-after={ms}ms"));
    }
    if let Some(server) = &failure.server_reference {
        text.push_str(&format!(" server-reference={server}"));
    }
    text
}

/// Shorthands for building failures in code.
pub mod failure {
    use crate::{ApplicationError, Failure, FailureKind, HttpFailure, NetworkError, ProtocolError};

    /// A failure of `kind` with no hints.
    pub fn of(kind: FailureKind) -> Failure {
        Failure {
            kind,
            retry_after_ms: None,
            server_reference: None,
        }
    }

    /// A network failure.
    pub fn net(error: NetworkError) -> Failure {
        of(FailureKind::Network(error))
    }

    /// An application failure.
    pub fn app(error: ApplicationError) -> Failure {
        of(FailureKind::Application(error))
    }

    /// A protocol failure.
    pub fn protocol(error: ProtocolError) -> Failure {
        of(FailureKind::Protocol(error))
    }

    /// An MQTT 5 reason code.
    pub fn mqtt5(code: u8) -> Failure {
        protocol(ProtocolError::MqttReason(code))
    }

    /// An MQTT 3.1.1 CONNACK return code.
    pub fn mqtt311(code: u8) -> Failure {
        protocol(ProtocolError::MqttConnack(code))
    }

    /// An HTTP status with an optional IoT-hub error code.
    pub fn http(status: u16, hub_code: Option<u32>) -> Failure {
        protocol(ProtocolError::Http(HttpFailure { status, hub_code }))
    }

    /// The same failure with the server's retry-after.
    pub fn with_retry_after(mut failure: Failure, ms: u64) -> Failure {
        failure.retry_after_ms = Some(ms);
        failure
    }

    /// The same failure with a server reference (a redirect).
    pub fn with_server_reference(mut failure: Failure, server: impl Into<String>) -> Failure {
        failure.server_reference = Some(server.into());
        failure
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{ApplicationError, NetworkError};

    fn kind(text: &str) -> FailureKind {
        parse_failure_kind(text).unwrap()
    }

    fn error(text: &str) -> String {
        parse_failure_kind(text).unwrap_err().to_string()
    }

    #[test]
    fn reads_every_family() {
        assert_eq!(kind("net:dns"), FailureKind::Network(NetworkError::Dns));
        assert_eq!(
            kind("mqtt5:0x87"),
            FailureKind::Protocol(ProtocolError::MqttReason(0x87))
        );
        assert_eq!(
            kind("mqtt5:135"),
            FailureKind::Protocol(ProtocolError::MqttReason(0x87))
        );
        assert_eq!(
            kind("mqtt311:5"),
            FailureKind::Protocol(ProtocolError::MqttConnack(5))
        );
        assert_eq!(
            kind("http:403"),
            FailureKind::Protocol(ProtocolError::Http(HttpFailure {
                status: 403,
                hub_code: None
            }))
        );
        assert_eq!(
            kind("http:403:403002"),
            FailureKind::Protocol(ProtocolError::Http(HttpFailure {
                status: 403,
                hub_code: Some(403_002)
            }))
        );
        assert_eq!(
            kind("hub:401003"),
            FailureKind::Protocol(ProtocolError::Http(HttpFailure {
                status: 401,
                hub_code: Some(401_003)
            }))
        );
        assert_eq!(
            kind("amqp:amqp:unauthorized-access"),
            FailureKind::Protocol(ProtocolError::Amqp("amqp:unauthorized-access".into()))
        );
        assert_eq!(
            kind("keep-alive-lost"),
            FailureKind::Protocol(ProtocolError::KeepAliveLost)
        );
        assert_eq!(
            kind("session-expired"),
            FailureKind::Protocol(ProtocolError::SessionExpired)
        );
        assert_eq!(
            kind("link-detached"),
            FailureKind::Protocol(ProtocolError::LinkDetached)
        );
        assert_eq!(
            kind("app:quota-exceeded"),
            FailureKind::Application(ApplicationError::QuotaExceeded)
        );
        assert_eq!(
            kind("  net:tls "),
            FailureKind::Network(NetworkError::Tls),
            "surrounding blanks are ignored"
        );
    }

    #[test]
    fn bad_inputs_name_what_is_wrong() {
        assert!(error("").contains("no failure given"));
        assert!(error("mqtt6:0x87").contains("unknown failure family \"mqtt6\""));
        assert!(error("dns").contains("unknown failure \"dns\""));
        assert!(error("net:").contains("nothing after \"net:\""));
        assert!(error("net:dnss").contains("unknown network error \"dnss\""));
        assert!(error("net:dnss").contains("dns, refused"));
        assert!(error("app:sad").contains("unknown application error \"sad\""));
        assert!(error("mqtt5:0x187").contains("MQTT 5 reason code \"0x187\""));
        assert!(error("mqtt5:0xZZ").contains("not a number"));
        assert!(error("mqtt311:256").contains("MQTT 3.1.1 CONNACK code \"256\""));
        assert!(error("mqtt311:-1").contains("not a number"));
        assert!(error("http:abc").contains("HTTP status \"abc\""));
        assert!(error("http:70000").contains("HTTP status \"70000\""));
        assert!(error("http:403:x").contains("IoT-hub error code \"x\""));
        assert!(error("hub:4010").contains("not six digits"));
        assert!(error("hub:4010031").contains("not six digits"));
        assert!(error("amqp:").contains("nothing after"));
    }

    #[test]
    fn formatting_round_trips() {
        let samples = [
            "net:refused",
            "mqtt311:5",
            "mqtt5:0x87",
            "mqtt5:0x0A",
            "amqp:amqp:unauthorized-access",
            "http:503",
            "http:403:403002",
            "keep-alive-lost",
            "session-expired",
            "link-detached",
            "app:device-disabled",
        ];
        for text in samples {
            assert_eq!(format_failure_kind(&kind(text)), text);
        }
        assert_eq!(format_failure_kind(&kind("hub:401003")), "http:401:401003");
        for (name, e) in NETWORK_ERRORS {
            assert_eq!(kind(&format!("net:{name}")), FailureKind::Network(e));
        }
        for (name, e) in APPLICATION_ERRORS {
            assert_eq!(kind(&format!("app:{name}")), FailureKind::Application(e));
        }
    }

    #[test]
    fn hints_are_appended() {
        let f = failure::with_server_reference(
            failure::with_retry_after(failure::http(429, None), 5000),
            "hub-b",
        );
        assert_eq!(
            failure_text(&f),
            "http:429 retry-after=5000ms server-reference=hub-b"
        );
    }
}
