//! What a failure leads to: classify it, then back off (the wait chosen by the
//! policy, or by a custom policy's plugin within the policy's limits), reprovision,
//! renew the credential, or give up.

use alloc::vec::Vec;

use super::{Command, Connection, Next, State, deadline};
use crate::classify::classify;
use crate::plugin::{PluginAnswer, PluginDecision, PluginInput};
use crate::policy::CurveSel;
use crate::types::{
    Action, BackoffPlan, Classification, Curve, Decision, Failure, FailureKind, GiveUpReason,
    Instant, MessageFailure, Millis, NetworkError, PluginFault, PluginFaultReason, ProtocolError,
    Reason, Status, Verdict,
};

/// What failed: an attempt to open a link, or a link that was up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lost {
    /// Opening a link failed after `took` milliseconds.
    Attempt {
        /// How long the open took.
        took: Millis,
    },
    /// An open link dropped after holding for `held` milliseconds.
    Link {
        /// How long the link had held.
        held: Millis,
    },
}

/// What the failure being handled tells a plugin beyond its classification.
/// Passed down explicitly: it belongs to one failure, not to the connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct FailureContext {
    /// How long the link that just dropped had held (`None` unless a link dropped).
    pub(super) connected_ms: Option<Millis>,
    /// The failure named another server.
    pub(super) server_reference: bool,
    /// The failure looks like the device's own network (a timeout, an
    /// unreachable network, a failed lookup, a lost keep-alive): only a `fleet`
    /// section's slots treat it differently.
    pub(super) local: bool,
}

/// One request for a backoff wait: the failure, how to wait, and what follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Retry {
    /// The failure's classification.
    pub(super) cause: Classification,
    /// Which of the policy's curves to use.
    pub(super) curve: CurveSel,
    /// The failure's retry-after hint, if it gave one.
    pub(super) hint: Option<Millis>,
    /// How long the failed open took; 0 when no open was attempted.
    pub(super) attempt_took: Millis,
    /// What follows the wait.
    pub(super) next: Next,
    /// What the plugin is told about the failure.
    pub(super) context: FailureContext,
}

impl Retry {
    /// A retry after a failure that was not an open attempt and carries no context
    /// (a provisioning or credential-source failure, or a reprovision).
    pub(super) fn fresh(
        cause: Classification,
        curve: CurveSel,
        hint: Option<Millis>,
        next: Next,
    ) -> Self {
        Self {
            cause,
            curve,
            hint,
            attempt_took: Millis::ZERO,
            next,
            context: FailureContext::default(),
        }
    }
}

impl Connection {
    /// Register again after a backoff; the failure's `context` still reaches a
    /// plugin.
    pub(super) fn reprovision(
        &mut self,
        now: Instant,
        c: &Classification,
        context: FailureContext,
        out: &mut Vec<Command>,
    ) {
        self.consecutive_failures = 0;
        let retry = Retry {
            context,
            ..Retry::fresh(*c, CurveSel::Normal, None, Next::Provision)
        };
        self.backoff(now, retry, out);
    }

    /// A failed attempt or a lost link: classify and decide. Only failed attempts
    /// count towards `reprovision-after`: a link that came up was a successful
    /// reconnect.
    pub(super) fn handle_failure(
        &mut self,
        now: Instant,
        failure: &Failure,
        lost: Lost,
        out: &mut Vec<Command>,
    ) {
        let c = classify(failure);
        self.outage_start.get_or_insert(now);
        if let Some(server) = &failure.server_reference
            && !server.is_empty()
        {
            self.hub = Some(server.clone());
        }
        let provisioning = self.config.provisioning.is_some();
        let (attempt_took, connected_ms) = match lost {
            Lost::Attempt { took } => (Some(took), None),
            Lost::Link { held } => (None, Some(held)),
        };
        let context = FailureContext {
            connected_ms,
            server_reference: failure
                .server_reference
                .as_ref()
                .is_some_and(|s| !s.is_empty()),
            local: matches!(
                failure.kind,
                FailureKind::Network(
                    NetworkError::Timeout | NetworkError::Unreachable | NetworkError::Dns
                ) | FailureKind::Protocol(ProtocolError::KeepAliveLost)
            ),
        };
        if c.reason == Reason::SessionTakenOver {
            // Retried as the table says, but only so often per outage: past that
            // another device is using this identity.
            self.takeovers = self.takeovers.saturating_add(1);
            if self.takeovers > self.config.takeover_retries {
                self.give_up(now, &c, GiveUpReason::Unrecoverable, out);
                return;
            }
        }
        match c.verdict {
            Verdict::Fatal => self.give_up(now, &c, GiveUpReason::Unrecoverable, out),
            Verdict::Reprovision if provisioning => self.reprovision(now, &c, context, out),
            Verdict::RenewCredential if self.can_renew() => self.renew(now, Some(c), out),
            // A refused credential that renewing will not fix.
            Verdict::RenewCredential if provisioning => self.reprovision(now, &c, context, out),
            Verdict::Reprovision | Verdict::RenewCredential => {
                self.give_up(now, &c, GiveUpReason::Unrecoverable, out);
            }
            Verdict::Retry | Verdict::RetryThrottled => {
                if attempt_took.is_some() {
                    self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                }
                let threshold = self
                    .config
                    .provisioning
                    .as_ref()
                    .map(|p| p.reprovision_after);
                let next = match threshold {
                    Some(t) if self.consecutive_failures >= t => {
                        self.consecutive_failures = 0;
                        Next::Provision
                    }
                    _ => Next::Open,
                };
                let curve = if c.verdict == Verdict::RetryThrottled {
                    CurveSel::Throttled
                } else {
                    CurveSel::Normal
                };
                let retry = Retry {
                    cause: c,
                    curve,
                    hint: failure.retry_after_ms,
                    attempt_took: attempt_took.unwrap_or(Millis::ZERO),
                    next,
                    context,
                };
                self.backoff(now, retry, out);
            }
        }
    }

    /// Ask the policy for the wait, or give up.
    pub(super) fn backoff(&mut self, now: Instant, retry: Retry, out: &mut Vec<Command>) {
        let Retry {
            curve,
            hint,
            attempt_took,
            next,
            ..
        } = retry;
        let c = &retry.cause;
        let elapsed = now.saturating_since(self.outage_start.unwrap_or(now));
        let (fallback, source) =
            self.schedule
                .next_after(curve, hint, elapsed, attempt_took, retry.context.local);
        let (decision, used) = self.consult_plugin(now, &retry, elapsed, (fallback, source), out);
        match decision {
            Decision::RetryAfter(delay) => {
                self.state = State::Backoff {
                    until: deadline(now, delay),
                    next,
                };
                let reason = if next == Next::Provision {
                    Reason::Provisioning
                } else {
                    c.reason
                };
                self.set_status(now, Status::DisconnectedRetrying, reason, out);
                let plan = BackoffPlan {
                    delay_ms: delay,
                    attempt: self.schedule.attempts(),
                    curve: used,
                    then_provision: next == Next::Provision,
                };
                self.decide(now, Some(*c), Action::Backoff(plan), out);
            }
            Decision::GiveUp(reason) => self.give_up(now, c, reason, out),
        }
    }

    /// With a custom policy, ask its plugin; keep its answer only if it is in
    /// bounds, otherwise report the fault and keep the fallback's `proposal`.
    ///
    /// Limits bind whoever decides: past `max-attempts` the plugin is not asked; a
    /// delay over `max-delay-ms` is refused (not cut: an answer that far out is a
    /// bug, and the fallback knows better); `min-interval-ms` raises the delay and
    /// `retry-timeout-ms` gives up, exactly as for a built-in policy.
    fn consult_plugin(
        &mut self,
        now: Instant,
        retry: &Retry,
        elapsed: Millis,
        proposal: (Decision, Curve),
        out: &mut Vec<Command>,
    ) -> (Decision, Curve) {
        let Some(plugin) = self.plugin.as_mut() else {
            return proposal;
        };
        if plugin.quarantined {
            return proposal;
        }
        let limits = *self.schedule.config().limits();
        let attempt = self.schedule.attempts();
        if limits.max_attempts.is_some_and(|max| attempt > max) {
            return (Decision::GiveUp(GiveUpReason::MaxAttempts), proposal.1);
        }
        let input = PluginInput {
            attempt,
            consecutive_failures: self.consecutive_failures,
            elapsed_ms: elapsed,
            connected_ms: retry.context.connected_ms,
            failure: retry.cause,
            retry_after_ms: retry.hint.map(|h| {
                h.max(limits.retry_after_min_ms)
                    .min(limits.retry_after_max_ms)
            }),
            server_reference: retry.context.server_reference,
            random: plugin.rng.next_u64(),
            now_ms: now,
            max_delay_ms: limits.max_delay_ms,
            fallback: PluginDecision::from(proposal.0),
            params: &plugin.spec.params,
        };
        let answer = match self.plugin_host.as_mut() {
            Some(host) => host.decide(&plugin.spec.plugin, &input),
            None => PluginAnswer::Failed(
                PluginFaultReason::Unavailable,
                "this host does not run plugins".into(),
            ),
        };
        let (reason, detail) = match answer {
            PluginAnswer::Decided(PluginDecision::GiveUp) => {
                plugin.faults_in_row = 0;
                return (Decision::GiveUp(GiveUpReason::Plugin), Curve::Plugin);
            }
            PluginAnswer::Decided(PluginDecision::RetryAfter(d)) if d <= limits.max_delay_ms => {
                plugin.faults_in_row = 0;
                let floor = limits.min_interval_ms.saturating_sub(retry.attempt_took);
                let delay = d.max(floor).min(limits.max_delay_ms);
                if limits
                    .retry_timeout_ms
                    .is_some_and(|timeout| elapsed.saturating_add(delay) > timeout)
                {
                    return (Decision::GiveUp(GiveUpReason::RetryTimeout), Curve::Plugin);
                }
                return (Decision::RetryAfter(delay), Curve::Plugin);
            }
            PluginAnswer::Decided(PluginDecision::RetryAfter(d)) => (
                PluginFaultReason::InvalidAnswer,
                alloc::format!("delay {d} ms is over max-delay-ms {}", limits.max_delay_ms),
            ),
            PluginAnswer::Failed(reason, detail) => (reason, detail),
        };
        plugin.faults_in_row = plugin.faults_in_row.saturating_add(1);
        plugin.quarantined = plugin.faults_in_row >= plugin.spec.quarantine_after;
        out.push(Command::PluginFault(PluginFault {
            at: now,
            plugin: plugin.spec.plugin.clone(),
            reason,
            detail: crate::plugin::bounded_detail(detail),
            used: proposal.0,
            consecutive: plugin.faults_in_row,
            quarantined: plugin.quarantined,
        }));
        proposal
    }

    /// Stop for good and say so, once.
    pub(super) fn give_up(
        &mut self,
        now: Instant,
        c: &Classification,
        why: GiveUpReason,
        out: &mut Vec<Command>,
    ) {
        if let Some(link) = self.open_link() {
            out.push(Command::Close { link });
        }
        self.state = State::Stopped;
        self.decide(now, Some(*c), Action::GiveUp(why), out);
        let (reason, failure) = match why {
            GiveUpReason::MaxAttempts | GiveUpReason::RetryTimeout | GiveUpReason::Plugin => {
                (Reason::RetryExpired, MessageFailure::RetryExpired)
            }
            GiveUpReason::NoRetry => (c.reason, MessageFailure::NoRetry),
            GiveUpReason::Unrecoverable => (c.reason, MessageFailure::Unrecoverable),
        };
        self.fail_all(failure, out);
        self.set_status(now, Status::Disconnected, reason, out);
    }
}
