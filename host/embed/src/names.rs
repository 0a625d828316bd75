//! Kebab-case names for the contract's values, as the WIT spells them, and the
//! one-line texts of commands used by transcripts and the command line.
//!
//! This is naming only: every value named here was decided by the component.

use crate::bindings::types::{
    Action, ApplicationError, Curve, Decision, DecisionEvent, GiveUpReason, Level, MessageFailure,
    NetworkError, Outcome, PluginFaultReason, PluginFaultReport, Reason, Status, StatusChange,
    Verdict,
};
use crate::clock::NS_PER_MS;
use crate::command::Command;

/// The WIT name of a status.
pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Connected => "connected",
        Status::DisconnectedRetrying => "disconnected-retrying",
        Status::Disconnected => "disconnected",
        Status::Disabled => "disabled",
    }
}

/// The WIT name of a status reason.
pub fn reason_name(reason: Reason) -> &'static str {
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

/// The WIT name of a verdict.
pub fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Retry => "retry",
        Verdict::RetryThrottled => "retry-throttled",
        Verdict::RenewCredential => "renew-credential",
        Verdict::Reprovision => "reprovision",
        Verdict::Fatal => "fatal",
    }
}

/// The WIT name of a failure level.
pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::Network => "network",
        Level::Protocol => "protocol",
        Level::Application => "application",
    }
}

/// The WIT name of a backoff curve.
pub fn curve_name(curve: Curve) -> &'static str {
    match curve {
        Curve::Normal => "normal",
        Curve::Throttled => "throttled",
        Curve::ServerHint => "server-hint",
        Curve::Plugin => "plugin",
    }
}

/// The WIT name of a reason to give up.
pub fn give_up_name(reason: GiveUpReason) -> &'static str {
    match reason {
        GiveUpReason::NoRetry => "no-retry",
        GiveUpReason::MaxAttempts => "max-attempts",
        GiveUpReason::RetryTimeout => "retry-timeout",
        GiveUpReason::Unrecoverable => "unrecoverable",
        GiveUpReason::Plugin => "plugin",
    }
}

/// The WIT name of a plugin fault's reason.
pub fn plugin_fault_reason_name(reason: PluginFaultReason) -> &'static str {
    match reason {
        PluginFaultReason::Trap => "trap",
        PluginFaultReason::OutOfFuel => "out-of-fuel",
        PluginFaultReason::Deadline => "deadline",
        PluginFaultReason::MemoryLimit => "memory-limit",
        PluginFaultReason::Unavailable => "unavailable",
        PluginFaultReason::InvalidAnswer => "invalid-answer",
    }
}

/// A plugin fault as one line: `plugin-fault plugin=P reason=R used=backoff 1000ms
/// consecutive=N [quarantined] detail=...`.
pub fn plugin_fault_text(fault: &PluginFaultReport) -> String {
    let used = match fault.used {
        Decision::RetryAfter(ms) => format!("backoff {ms}ms"),
        Decision::GiveUp(g) => format!("give-up {}", give_up_name(g)),
    };
    let mut text = format!(
        "plugin-fault plugin={} reason={} used={used} consecutive={}",
        fault.plugin,
        plugin_fault_reason_name(fault.reason),
        fault.consecutive
    );
    if fault.quarantined {
        text.push_str(" quarantined");
    }
    if !fault.detail.is_empty() {
        text.push_str(&format!(" detail={}", fault.detail));
    }
    text
}

/// The WIT name of a message failure.
pub fn message_failure_name(failure: MessageFailure) -> &'static str {
    match failure {
        MessageFailure::OperationTimeout => "operation-timeout",
        MessageFailure::NoRetry => "no-retry",
        MessageFailure::QueueFull => "queue-full",
        MessageFailure::Unrecoverable => "unrecoverable",
        MessageFailure::RetryExpired => "retry-expired",
        MessageFailure::ClientClose => "client-close",
        MessageFailure::NotAuthorized => "not-authorized",
        MessageFailure::TopicInvalid => "topic-invalid",
        MessageFailure::PayloadInvalid => "payload-invalid",
        MessageFailure::QuotaExceeded => "quota-exceeded",
        MessageFailure::Refused => "refused",
    }
}

/// Every network error, with its WIT name.
pub const NETWORK_ERRORS: [(&str, NetworkError); 7] = [
    ("dns", NetworkError::Dns),
    ("refused", NetworkError::Refused),
    ("reset", NetworkError::Reset),
    ("unreachable", NetworkError::Unreachable),
    ("timeout", NetworkError::Timeout),
    ("tls", NetworkError::Tls),
    ("closed", NetworkError::Closed),
];

/// Every application error, with its WIT name.
pub const APPLICATION_ERRORS: [(&str, ApplicationError); 8] = [
    ("unauthorized", ApplicationError::Unauthorized),
    ("credential-expired", ApplicationError::CredentialExpired),
    ("forbidden", ApplicationError::Forbidden),
    ("device-not-found", ApplicationError::DeviceNotFound),
    ("device-disabled", ApplicationError::DeviceDisabled),
    ("quota-exceeded", ApplicationError::QuotaExceeded),
    ("throttled", ApplicationError::Throttled),
    ("bad-endpoint", ApplicationError::BadEndpoint),
];

/// The WIT name of a network error.
pub fn network_error_name(error: NetworkError) -> &'static str {
    NETWORK_ERRORS
        .iter()
        .find(|(_, e)| *e == error)
        .map_or("unknown", |(name, _)| name)
}

/// The WIT name of an application error.
pub fn application_error_name(error: ApplicationError) -> &'static str {
    APPLICATION_ERRORS
        .iter()
        .find(|(_, e)| *e == error)
        .map_or("unknown", |(name, _)| name)
}

/// Nanoseconds as whole milliseconds.
pub fn ns_to_ms(ns: u64) -> u64 {
    ns / NS_PER_MS
}

/// `status connected reason=connection-ok`.
pub fn status_text(change: &StatusChange) -> String {
    format!(
        "status {} reason={}",
        status_name(change.status),
        reason_name(change.reason)
    )
}

/// `retry-after 742ms` or `give-up max-attempts`.
pub fn decision_text(decision: &Decision) -> String {
    match decision {
        Decision::RetryAfter(ms) => format!("retry-after {ms}ms"),
        Decision::GiveUp(why) => format!("give-up {}", give_up_name(*why)),
    }
}

/// The action of a decision event, for example
/// `backoff 742ms attempt=1 curve=normal` or `connect link=2 hub=hub-a attempt=1`.
pub fn action_text(action: &Action) -> String {
    match action {
        Action::Connect(plan) => format!(
            "connect link={} hub={} attempt={}",
            plan.link, plan.hub, plan.attempt
        ),
        Action::Backoff(plan) => {
            let then = if plan.then_provision {
                " then=provision"
            } else {
                ""
            };
            format!(
                "backoff {}ms attempt={} curve={}{then}",
                plan.delay_ms,
                plan.attempt,
                curve_name(plan.curve)
            )
        }
        Action::RenewCredential(true) => "renew-credential routine".to_string(),
        Action::RenewCredential(false) => "renew-credential".to_string(),
        Action::Provision => "provision".to_string(),
        Action::PollProvisioning(ms) => format!("poll-provisioning {ms}ms"),
        Action::GiveUp(why) => format!("give-up {}", give_up_name(*why)),
    }
}

/// `decide backoff 742ms attempt=1 curve=normal cause=net/refused`: the action,
/// then the classification rule behind it when there is one.
pub fn decision_event_text(event: &DecisionEvent) -> String {
    let action = action_text(&event.action);
    match &event.cause {
        Some(cause) => format!("decide {action} cause={}", cause.rule),
        None => format!("decide {action}"),
    }
}

/// `delivered` or `failed reason=operation-timeout`.
pub fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Delivered => "delivered".to_string(),
        Outcome::Failed(why) => format!("failed reason={}", message_failure_name(*why)),
    }
}

/// A credential as logs may show it: a SAS token by its expiry only (its
/// signature is as good as the key until then); anything else as given, which
/// only scripted tests' stand-in secrets are.
pub fn shown_secret(secret: &str) -> String {
    match secret.strip_prefix("SharedAccessSignature ") {
        Some(fields) => {
            let se = fields
                .split('&')
                .find_map(|f| f.strip_prefix("se="))
                .unwrap_or("?");
            format!("sas(se={se})")
        }
        None => secret.to_string(),
    }
}

/// The transcript text of one command (without its time).
///
/// | command | text |
/// | --- | --- |
/// | open | `open link=1 hub=hub-a device=sensor-17 credential=token-1` (absent parts left out) |
/// | send | `send link=1 msg=3 topic=telemetry bytes=12` |
/// | close | `close link=1` |
/// | register / poll / renew | `register`, `poll op=op-1`, `renew` |
/// | status | `status disconnected-retrying reason=no-network` |
/// | decided | `decide backoff 742ms attempt=1 curve=normal cause=net/refused` |
/// | outcome | `outcome msg=3 delivered`, `outcome msg=4 failed reason=client-close` |
/// | wake-at | `wake-at 2242ms` |
pub fn command_text(command: &Command) -> String {
    match command {
        Command::Open {
            link,
            hub,
            device_id,
            credential,
        } => {
            let mut text = format!("open link={link} hub={hub}");
            if let Some(id) = device_id {
                text.push_str(&format!(" device={id}"));
            }
            if let Some(secret) = credential {
                text.push_str(&format!(" credential={}", shown_secret(secret)));
            }
            text
        }
        Command::Send {
            link,
            message,
            topic,
            payload,
        } => format!(
            "send link={link} msg={message} topic={topic} bytes={}",
            payload.len()
        ),
        Command::Subscribe { link, filters } => {
            format!("subscribe link={link} filters={}", filters.join(","))
        }
        Command::Close { link } => format!("close link={link}"),
        Command::Register => "register".to_string(),
        Command::Poll { operation_id } => format!("poll op={operation_id}"),
        Command::Renew => "renew".to_string(),
        Command::Status(change) => status_text(change),
        Command::Decided(event) => decision_event_text(event),
        Command::Outcome { message, outcome } => {
            format!("outcome msg={message} {}", outcome_text(outcome))
        }
        Command::WakeAt(ns) => format!("wake-at {}ms", ns_to_ms(*ns)),
        Command::PluginFault(fault) => plugin_fault_text(fault),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BackoffPlan, Classification};

    #[test]
    fn decision_lines_read_as_documented() {
        let event = DecisionEvent {
            at: 1_500 * NS_PER_MS,
            cause: Some(Classification {
                level: Level::Network,
                verdict: Verdict::Retry,
                reason: Reason::CommunicationError,
                rule: "net/refused".into(),
            }),
            action: Action::Backoff(BackoffPlan {
                delay_ms: 742,
                attempt: 1,
                curve: Curve::Normal,
                then_provision: false,
            }),
        };
        assert_eq!(
            command_text(&Command::Decided(event)),
            "decide backoff 742ms attempt=1 curve=normal cause=net/refused"
        );
        assert_eq!(
            command_text(&Command::Outcome {
                message: 3,
                outcome: Outcome::Delivered
            }),
            "outcome msg=3 delivered"
        );
        assert_eq!(
            command_text(&Command::WakeAt(2_242 * NS_PER_MS)),
            "wake-at 2242ms"
        );
    }

    #[test]
    fn names_are_found_for_every_error() {
        for (name, e) in NETWORK_ERRORS {
            assert_eq!(network_error_name(e), name);
        }
        for (name, e) in APPLICATION_ERRORS {
            assert_eq!(application_error_name(e), name);
        }
    }
}
