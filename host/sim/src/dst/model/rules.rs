//! What a failure leads to, as the README's "Flows" section states it, one rule
//! per sentence. The three places a failure can come from (a link, the
//! provisioning service, the credential source) are written as one table each,
//! from their own bullets: "Hub only" and "Hub plus provisioning" for links, "Hub
//! plus provisioning" for the service's answers, "Credentials" for the source's.

use tether_host::{Curve, GiveUpReason, MessageFailure, Reason, Verdict};

/// Where a failure came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Source {
    /// A failed open (`failed_open`) or a lost link.
    Link { failed_open: bool },
    /// The provisioning service answered `failed`.
    Service,
    /// The credential source failed a renewal made before connecting.
    Credentials,
}

/// What follows a wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Then {
    Reopen,
    Register,
    RenewAgain,
}

/// What the README says a failure leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Response {
    /// "stop as unrecoverable".
    Stop,
    /// "renew at once".
    Renew,
    /// "the policy's wait ... then ...": which curve, whether the failure's
    /// retry-after counts, and whether the failed open's own time counts towards
    /// `min-interval-ms`.
    Wait {
        curve: Curve,
        hint: bool,
        counts_open: bool,
        then: Then,
    },
}

/// The facts the rules depend on besides the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Situation {
    /// The configuration has a provisioning section.
    pub(super) provisioning: bool,
    /// "the credential is renewable and has not been renewed since the last connect".
    pub(super) renewing_helps: bool,
}

/// "the policy's wait (normal curve, no server hint), then register".
const WAIT_THEN_REGISTER: Response = Response::Wait {
    curve: Curve::Normal,
    hint: false,
    counts_open: false,
    then: Then::Register,
};

/// "*retry* and *retry-throttled*: the policy's wait (the throttled curve for the
/// second) with the failure's retry-after".
fn retry_wait(verdict: Verdict, counts_open: bool, then: Then) -> Response {
    let curve = match verdict {
        Verdict::RetryThrottled => Curve::Throttled,
        _ => Curve::Normal,
    };
    Response::Wait {
        curve,
        hint: true,
        counts_open,
        then,
    }
}

/// The response to a failure with `verdict` from `source`. For a link, `then`
/// of a retry is [`Then::Reopen`]; the count of failed reconnects may turn it into
/// a registration (README, "Hub plus provisioning"), which the caller decides.
pub(super) fn response(source: Source, verdict: Verdict, s: Situation) -> Response {
    let reprovision = if s.provisioning {
        WAIT_THEN_REGISTER
    } else {
        Response::Stop
    };
    match source {
        // README, "Hub only": "A failed open or a lost link leads, by the
        // classifier's verdict, to ..."
        Source::Link { failed_open } => match verdict {
            Verdict::Fatal => Response::Stop,
            Verdict::Reprovision => reprovision,
            Verdict::RenewCredential if s.renewing_helps => Response::Renew,
            Verdict::RenewCredential => reprovision,
            Verdict::Retry | Verdict::RetryThrottled => {
                retry_wait(verdict, failed_open, Then::Reopen)
            }
        },
        // README, "Hub plus provisioning", *Failed*: "retry and retry-throttled
        // back off and register again; renew-credential renews when renewing can
        // help; anything else stops as unrecoverable".
        Source::Service => match verdict {
            Verdict::Retry | Verdict::RetryThrottled => retry_wait(verdict, false, Then::Register),
            Verdict::RenewCredential if s.renewing_helps => Response::Renew,
            _ => Response::Stop,
        },
        // README, "Credentials": "retry and retry-throttled back off and renew
        // again; a renew-credential or reprovision verdict backs off and registers
        // again with provisioning, and stops as unrecoverable without; fatal
        // stops".
        Source::Credentials => match verdict {
            Verdict::Retry | Verdict::RetryThrottled => {
                retry_wait(verdict, false, Then::RenewAgain)
            }
            Verdict::RenewCredential | Verdict::Reprovision => reprovision,
            Verdict::Fatal => Response::Stop,
        },
    }
}

/// README, "Hub only": how giving up is reported, as (status reason, message
/// failure). `cause` is the failure's reason.
pub(super) fn give_up_report(why: GiveUpReason, cause: Reason) -> (Reason, MessageFailure) {
    let budget_spent = [
        GiveUpReason::MaxAttempts,
        GiveUpReason::RetryTimeout,
        GiveUpReason::Plugin,
    ]
    .contains(&why);
    if budget_spent {
        (Reason::RetryExpired, MessageFailure::RetryExpired)
    } else if why == GiveUpReason::NoRetry {
        (cause, MessageFailure::NoRetry)
    } else {
        (cause, MessageFailure::Unrecoverable)
    }
}

/// README, "Refusals of single messages": whether a refused message is sent again
/// (`true`) or ends at once, and the failure it ends with. The codes the refusal
/// table names, and *resend* / `refused` for anything else.
pub(super) fn refusal(failure: &tether_host::Failure) -> (bool, MessageFailure) {
    use tether_host::{FailureKind, ProtocolError};
    let code = match failure.kind {
        FailureKind::Protocol(ProtocolError::MqttReason(code)) => Some(code),
        _ => None,
    };
    match code {
        Some(0x83) => (false, MessageFailure::Refused),
        Some(0x87) => (false, MessageFailure::NotAuthorized),
        Some(0x90) => (false, MessageFailure::TopicInvalid),
        Some(0x99) => (false, MessageFailure::PayloadInvalid),
        Some(0x97) => (true, MessageFailure::QuotaExceeded),
        _ => (true, MessageFailure::Refused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every verdict, the test's own enumeration (not a name table).
    fn every_verdict() -> impl Iterator<Item = Verdict> {
        [
            Verdict::Retry,
            Verdict::RetryThrottled,
            Verdict::RenewCredential,
            Verdict::Reprovision,
            Verdict::Fatal,
        ]
        .into_iter()
    }

    #[test]
    fn without_provisioning_nothing_registers() {
        for renewing_helps in [false, true] {
            let s = Situation {
                provisioning: false,
                renewing_helps,
            };
            // (The provisioning service answers only when there is provisioning.)
            for source in [
                Source::Link { failed_open: true },
                Source::Link { failed_open: false },
                Source::Credentials,
            ] {
                for v in every_verdict() {
                    let r = response(source, v, s);
                    assert!(
                        !matches!(
                            r,
                            Response::Wait {
                                then: Then::Register,
                                ..
                            }
                        ),
                        "{source:?} {v:?}: {r:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_refused_credential_renews_once_then_escalates() {
        let fresh = Situation {
            provisioning: true,
            renewing_helps: true,
        };
        let renewed = Situation {
            renewing_helps: false,
            ..fresh
        };
        let link = Source::Link { failed_open: true };
        assert_eq!(
            response(link, Verdict::RenewCredential, fresh),
            Response::Renew
        );
        assert_eq!(
            response(link, Verdict::RenewCredential, renewed),
            WAIT_THEN_REGISTER
        );
        assert_eq!(
            response(Source::Service, Verdict::RenewCredential, renewed),
            Response::Stop
        );
    }
}
