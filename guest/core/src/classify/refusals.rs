//! The refusal table: what a hub's refusal of one message means for that message.
//!
//! A refusal (an MQTT 5 PUBACK with a reason of 0x80 or above, reported through
//! `on-refused`) is not a connection failure: the link stays up and the other
//! messages carry on. Each refusal gets a [`MessageVerdict`] from the first row of
//! [`table`] that matches it: send the message again after a wait (at most
//! `queue.max-refusals` refusals in all), or end it at once as failed with the
//! row's [`MessageFailure`]. Either way the message ends as exactly one outcome:
//! never resent for good, never dropped without one.
//!
//! Like the connection table, the rows are data, printed into the README by
//! [`markdown_table`], and a change to any of them bumps [`REFUSAL_TABLE_VERSION`].
//!
//! # Choices
//!
//! - **Resent**: quota (0x97) and a busy or rate-limited server (0x89, 0x96) pass;
//!   0x91 (packet identifier in use) is the client's bookkeeping, and a new send
//!   gets a new identifier; 0x80 (unspecified) and unknown codes may be passing
//!   too, and the bound caps the cost of being wrong.
//! - **Failed at once**: not authorized (0x87), topic name invalid (0x90) and
//!   payload format invalid (0x99) are about the message itself, and 0x83
//!   (implementation specific) is the hub's own rule about it: the same message
//!   sent again gets the same answer.
#![forbid(unsafe_code)]

use alloc::string::String;

use super::Pattern;
use crate::types::{Failure, MessageFailure};

/// The version of the refusal table. Bumped whenever a row is added, removed, or
/// changes its pattern or answer.
pub const REFUSAL_TABLE_VERSION: u32 = 1;

/// What to do with a refused message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageVerdict {
    /// Send it again after the refusal backoff; the `max-refusals`th refusal
    /// ends it failed with the row's failure.
    Resend,
    /// End it now, failed with the row's failure.
    Fail,
}

/// One row of the refusal table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RefusalRow {
    /// The row's name, for example `puback/0x97`.
    pub rule: &'static str,
    /// What it matches, for people.
    pub input: &'static str,
    /// What to do with the message.
    pub verdict: MessageVerdict,
    /// The failure the message ends with (at once, or when resends are spent).
    pub failure: MessageFailure,
    /// What it matches, for the classifier.
    pub pattern: Pattern,
}

/// The row for a refusal: the first of [`table`] whose pattern matches. Total:
/// the last row matches every failure.
pub fn refusal_row(failure: &Failure) -> &'static RefusalRow {
    REFUSALS
        .iter()
        .find(|row| match row.pattern {
            Pattern::OtherMqttReason => true,
            p => p.matches(&failure.kind),
        })
        .unwrap_or(&OTHER)
}

/// Every row, in the order they are tried.
pub fn table() -> &'static [RefusalRow] {
    REFUSALS
}

/// The table as Markdown: `| rule | input | verdict | message failure |`.
pub fn markdown_table() -> String {
    let mut out =
        String::from("| rule | input | verdict | message failure |\n| --- | --- | --- | --- |\n");
    for row in REFUSALS {
        for cell in [
            row.rule,
            row.input,
            verdict_name(row.verdict),
            message_failure_name(row.failure),
        ] {
            out.push_str("| ");
            out.push_str(cell);
            out.push(' ');
        }
        out.push_str("|\n");
    }
    out
}

/// The WIT name of a message verdict, as the README prints it.
pub const fn verdict_name(verdict: MessageVerdict) -> &'static str {
    match verdict {
        MessageVerdict::Resend => "resend",
        MessageVerdict::Fail => "fail",
    }
}

/// The WIT name of a message failure.
pub const fn message_failure_name(failure: MessageFailure) -> &'static str {
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

use MessageFailure as F;
use MessageVerdict as V;

const fn puback(
    code: u8,
    rule: &'static str,
    input: &'static str,
    verdict: MessageVerdict,
    failure: MessageFailure,
) -> RefusalRow {
    RefusalRow {
        rule,
        input,
        verdict,
        failure,
        pattern: Pattern::MqttReason(code),
    }
}

/// The catch-all: anything no earlier row names.
const OTHER: RefusalRow = RefusalRow {
    rule: "refusal/other",
    input: "any other refusal: another MQTT 5 code, a code below 0x80, or a failure of another protocol",
    verdict: V::Resend,
    failure: F::Refused,
    pattern: Pattern::OtherMqttReason,
};

#[rustfmt::skip]
static REFUSALS: &[RefusalRow] = &[
    puback(0x80, "puback/0x80", "PUBACK 0x80 unspecified error", V::Resend, F::Refused),
    puback(0x83, "puback/0x83", "PUBACK 0x83 implementation specific error: the hub's own rule", V::Fail, F::Refused),
    puback(0x87, "puback/0x87", "PUBACK 0x87 not authorized", V::Fail, F::NotAuthorized),
    puback(0x89, "puback/0x89", "PUBACK 0x89 server busy (not a PUBACK code in the standard; some hubs send it)", V::Resend, F::Refused),
    puback(0x90, "puback/0x90", "PUBACK 0x90 topic name invalid", V::Fail, F::TopicInvalid),
    puback(0x91, "puback/0x91", "PUBACK 0x91 packet identifier in use", V::Resend, F::Refused),
    puback(0x96, "puback/0x96", "PUBACK 0x96 message rate too high (as 0x89)", V::Resend, F::Refused),
    puback(0x97, "puback/0x97", "PUBACK 0x97 quota exceeded", V::Resend, F::QuotaExceeded),
    puback(0x99, "puback/0x99", "PUBACK 0x99 payload format invalid", V::Fail, F::PayloadInvalid),
    OTHER,
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::types::{NetworkError, ProtocolError};

    fn code(c: u8) -> Failure {
        Failure::protocol(ProtocolError::MqttReason(c))
    }

    #[test]
    fn every_row_is_reachable_and_named_by_its_code() {
        for row in REFUSALS {
            if let Pattern::MqttReason(c) = row.pattern {
                assert_eq!(refusal_row(&code(c)).rule, row.rule);
                assert!(row.rule.ends_with(&alloc::format!("{c:#04X}")[2..]));
            }
        }
        assert_eq!(REFUSALS.last(), Some(&OTHER));
    }

    #[test]
    fn the_documented_verdicts() {
        let verdict = |c| {
            let r = refusal_row(&code(c));
            (r.verdict, r.failure)
        };
        assert_eq!(verdict(0x97), (V::Resend, F::QuotaExceeded));
        assert_eq!(verdict(0x87), (V::Fail, F::NotAuthorized));
        assert_eq!(verdict(0x90), (V::Fail, F::TopicInvalid));
        assert_eq!(verdict(0x99), (V::Fail, F::PayloadInvalid));
        assert_eq!(verdict(0x83), (V::Fail, F::Refused));
        assert_eq!(verdict(0x80), (V::Resend, F::Refused));
    }

    #[test]
    fn anything_else_is_resent_within_the_bound() {
        for c in [0x00, 0x10, 0x7F, 0x81, 0x8E, 0xA2, 0xFF] {
            assert_eq!(refusal_row(&code(c)).rule, "refusal/other", "code {c:#x}");
        }
        let other = refusal_row(&Failure::network(NetworkError::Reset));
        assert_eq!((other.rule, other.verdict), ("refusal/other", V::Resend));
    }

    #[test]
    fn markdown_has_a_line_per_row() {
        let md = markdown_table();
        assert_eq!(md.lines().count(), REFUSALS.len() + 2);
        assert!(
            md.contains("| puback/0x97 | PUBACK 0x97 quota exceeded | resend | quota-exceeded |")
        );
    }
}
