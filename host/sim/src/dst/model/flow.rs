//! The model's rules for retries, backoff, give-up, messages and the status.

use super::rules::{self, Response, Situation, Source, Then};
use super::*;

impl Model {
    /// README, "Hub only", the *next step*: "register when no hub is known; renew
    /// first when the credential is renewable and none is held or its renewal is
    /// due; otherwise open a link."
    pub(super) fn next_step(&mut self, eff: &Effective, now: u64, cur: &mut Cursor<'_>) -> Check {
        let renew_first = eff.renewable
            && self
                .credential
                .as_ref()
                .is_none_or(|_| self.renewal_due(eff, now));
        match (&self.hub, renew_first) {
            (None, _) => self.provision(now, cur),
            (Some(_), true) => self.renew(now, None, cur),
            (Some(_), false) => self.open(now, cur),
        }
    }

    pub(super) fn open(&mut self, now: u64, cur: &mut Cursor<'_>) -> Check {
        let Some(hub) = self.hub.clone() else {
            return self.provision(now, cur);
        };
        let link = self.next_link;
        self.next_link = link.saturating_add(1);
        self.phase = Phase::Opening { link, at: now };
        let d = cur.decision("a connect decision")?;
        cause_is(d, None)?;
        match &d.action {
            Action::Connect(plan)
                if plan.link == link && plan.hub == hub && plan.attempt == self.run.retries => {}
            other => {
                return Err(format!(
                    "expected `connect link={link} hub={hub} attempt={}`, got {}",
                    self.run.retries,
                    action_text(other)
                ));
            }
        }
        cur.exact(&Command::Open {
            link,
            hub,
            device_id: self.device_id.clone(),
            credential: self.credential.as_ref().map(|c| c.secret.clone()),
        })
    }

    pub(super) fn provision(&mut self, now: u64, cur: &mut Cursor<'_>) -> Check {
        self.phase = Phase::Provisioning { op: None };
        self.set_status(now, Status::DisconnectedRetrying, Reason::Provisioning, cur)?;
        let d = cur.decision("a provision decision")?;
        cause_is(d, None)?;
        if d.action != Action::Provision {
            return Err(format!(
                "time to register with the provisioning service, but the decision is {}",
                action_text(&d.action)
            ));
        }
        cur.exact(&Command::Register)
    }

    pub(super) fn renew(
        &mut self,
        now: u64,
        cause: Option<&Classification>,
        cur: &mut Cursor<'_>,
    ) -> Check {
        self.phase = Phase::Renewing;
        self.run.renewed = true;
        if let Some(c) = cause {
            self.set_status(now, Status::DisconnectedRetrying, c.reason, cur)?;
        }
        let d = cur.decision("a renew decision")?;
        cause_is(d, cause)?;
        if d.action != Action::RenewCredential(false) {
            return Err(format!(
                "time to renew the credential, but the decision is {}",
                action_text(&d.action)
            ));
        }
        cur.exact(&Command::Renew)?;
        self.renew_outstanding = true;
        Ok(())
    }

    /// A failed open (`took` its duration) or a lost link.
    pub(super) fn link_failed(
        &mut self,
        eff: &Effective,
        now: u64,
        failure: &Failure,
        c: &Classification,
        took: Option<u64>,
        cur: &mut Cursor<'_>,
    ) -> Check {
        // README, "Hub only": "The server reference of a failed open or a lost
        // link, when not empty, becomes the hub first, whatever the verdict."
        if let Some(server) = failure.server_reference.as_ref().filter(|s| !s.is_empty()) {
            self.hub = Some(server.clone());
        }
        // "A failure whose reason is `session-taken-over` ... counts one takeover
        // ... a takeover past `takeover-retries` in one outage stops as
        // unrecoverable."
        if c.reason == Reason::SessionTakenOver {
            self.run.takeovers = self.run.takeovers.saturating_add(1);
            if self.run.takeovers > eff.takeover_retries {
                self.run.outage_since.get_or_insert(now);
                return self.give_up(now, c, GiveUpReason::Unrecoverable, cur);
            }
        }
        let source = Source::Link {
            failed_open: took.is_some(),
        };
        self.respond(
            eff,
            now,
            source,
            c,
            failure.retry_after_ms,
            took.unwrap_or(0),
            cur,
        )
    }

    /// Do what [`rules::response`] says a failure from `source` leads to. `hint` is
    /// the failure's retry-after, `took` the failed open's duration (0 otherwise).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn respond(
        &mut self,
        eff: &Effective,
        now: u64,
        source: Source,
        c: &Classification,
        hint: Option<u64>,
        took: u64,
        cur: &mut Cursor<'_>,
    ) -> Check {
        // "`retry-timeout-ms` is counted from the first failure of an outage."
        self.run.outage_since.get_or_insert(now);
        let situation = Situation {
            provisioning: eff.provisioning.is_some(),
            renewing_helps: self.can_renew(eff),
        };
        match rules::response(source, c.verdict, situation) {
            Response::Stop => self.give_up(now, c, GiveUpReason::Unrecoverable, cur),
            Response::Renew => self.renew(now, Some(c), cur),
            Response::Wait {
                curve,
                hint: with_hint,
                counts_open,
                then,
            } => {
                let mut next = match then {
                    Then::Reopen => Next::Open,
                    Then::Register => Next::Provision,
                    Then::RenewAgain => Next::Renew,
                };
                // README, "Hub plus provisioning": "Only failed opens are failed
                // reconnects"; "After `reprovision-after` ... consecutive failed
                // reconnects, register again."
                if source == (Source::Link { failed_open: true }) && then == Then::Reopen {
                    self.run.failed_reconnects = self.run.failed_reconnects.saturating_add(1);
                    if eff
                        .provisioning
                        .is_some_and(|p| self.run.failed_reconnects >= p.reprovision_after)
                    {
                        next = Next::Provision;
                    }
                }
                // "The count starts over ... when the flow decides to register again."
                if next == Next::Provision {
                    self.run.failed_reconnects = 0;
                }
                let hint = if with_hint { hint } else { None };
                let took = if counts_open { took } else { 0 };
                self.backoff(eff, now, c, curve, hint, took, next, cur)
            }
        }
    }

    /// One call of the policy: the attempt counter, the give-up rules and the
    /// bounds of the delay, against the decision the component made.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn backoff(
        &mut self,
        eff: &Effective,
        now: u64,
        c: &Classification,
        curve: Curve,
        hint: Option<u64>,
        took: u64,
        next: Next,
        cur: &mut Cursor<'_>,
    ) -> Check {
        // "Each wait counts one retry".
        self.run.retries = self.run.retries.saturating_add(1);
        let k = self.run.retries;
        let elapsed = now.saturating_sub(self.run.outage_since.unwrap_or(now));
        let d = cur.peek_decision()?;
        let gave_up = |why: GiveUpReason| d.action == Action::GiveUp(why);
        let then_provision = next == Next::Provision;
        if eff.no_retry {
            if !gave_up(GiveUpReason::NoRetry) {
                return Err(format!(
                    "the policy is no-retry, but the decision is {}",
                    action_text(&d.action)
                ));
            }
            return self.give_up(now, c, GiveUpReason::NoRetry, cur);
        }
        if let Some(max) = eff.max_attempts
            && k > max
        {
            if !gave_up(GiveUpReason::MaxAttempts) {
                return Err(format!(
                    "retry {k} is past max-attempts {max}, but the decision is {}",
                    action_text(&d.action)
                ));
            }
            return self.give_up(now, c, GiveUpReason::MaxAttempts, cur);
        }
        if gave_up(GiveUpReason::MaxAttempts) {
            return Err(format!(
                "gave up for max-attempts at retry {k} (max-attempts {:?})",
                eff.max_attempts
            ));
        }
        let floor = eff.min_interval_ms.saturating_sub(took);
        let (curve, exact) = match hint {
            Some(h) => {
                let raw = h.max(eff.retry_after_min_ms).min(eff.retry_after_max_ms);
                (
                    Curve::ServerHint,
                    Some(raw.max(floor).min(eff.max_delay_ms)),
                )
            }
            None => (curve, None),
        };
        let timeout_exceeded = |delay: u64| {
            eff.retry_timeout_ms
                .is_some_and(|t| elapsed.saturating_add(delay) > t)
        };
        match &d.action {
            Action::Backoff(plan) => {
                let delay = plan.delay_ms;
                if delay > eff.max_delay_ms {
                    return Err(format!(
                        "backoff {delay}ms above max-delay-ms {} (cause {})",
                        eff.max_delay_ms, c.rule
                    ));
                }
                if let Some(want) = exact
                    && delay != want
                {
                    return Err(format!(
                        "server retry-after {:?}ms gives {want}ms once clamped to [{}, {}], raised to the min-interval floor {floor}ms and capped at {}; the component waits {delay}ms",
                        hint, eff.retry_after_min_ms, eff.retry_after_max_ms, eff.max_delay_ms
                    ));
                }
                if delay < floor.min(eff.max_delay_ms) {
                    return Err(format!(
                        "backoff {delay}ms below what is left of min-interval-ms {} ({floor}ms)",
                        eff.min_interval_ms
                    ));
                }
                if timeout_exceeded(delay) {
                    return Err(format!(
                        "backoff {delay}ms {elapsed}ms into the outage passes retry-timeout-ms {:?}: it should give up",
                        eff.retry_timeout_ms
                    ));
                }
                if plan.then_provision != then_provision {
                    let rule = match (then_provision, eff.provisioning) {
                        (true, Some(p))
                            if c.verdict == Verdict::Retry
                                || c.verdict == Verdict::RetryThrottled =>
                        {
                            format!(
                                "{} consecutive failed reconnects reach reprovision-after {}",
                                p.reprovision_after, p.reprovision_after
                            )
                        }
                        (true, _) => format!(
                            "verdict {:?} ({}) goes back to the provisioning service",
                            c.verdict, c.rule
                        ),
                        (false, Some(p)) => format!(
                            "only {} consecutive failed reconnects of reprovision-after {}, verdict {:?}",
                            self.run.failed_reconnects, p.reprovision_after, c.verdict
                        ),
                        (false, None) => "no provisioning section".to_string(),
                    };
                    return Err(format!(
                        "reprovisioning: expected then-provision={then_provision} ({rule}), got {}",
                        action_text(&d.action)
                    ));
                }
                if plan.attempt != k || plan.curve != curve {
                    return Err(format!(
                        "expected backoff attempt={k} curve={}, got {}",
                        tether_host::names::curve_name(curve),
                        action_text(&d.action)
                    ));
                }
                let reason = if then_provision {
                    Reason::Provisioning
                } else {
                    c.reason
                };
                self.phase = Phase::Backoff {
                    until: deadline(now, delay),
                    next,
                };
                self.set_status(now, Status::DisconnectedRetrying, reason, cur)?;
                let d = cur.decision("the backoff decision")?;
                cause_is(d, Some(c))
            }
            Action::GiveUp(GiveUpReason::RetryTimeout) => {
                let possible = match exact {
                    Some(delay) => timeout_exceeded(delay),
                    None => timeout_exceeded(eff.max_delay_ms),
                };
                if !possible {
                    return Err(format!(
                        "gave up for retry-timeout {elapsed}ms into the outage, but no delay up to {}ms would pass retry-timeout-ms {:?}",
                        exact.unwrap_or(eff.max_delay_ms),
                        eff.retry_timeout_ms
                    ));
                }
                self.give_up(now, c, GiveUpReason::RetryTimeout, cur)
            }
            other => Err(format!(
                "a recoverable failure ({}) wants a backoff{}, got {}",
                c.rule,
                if then_provision {
                    " then provisioning"
                } else {
                    ""
                },
                action_text(other)
            )),
        }
    }

    pub(super) fn give_up(
        &mut self,
        now: u64,
        c: &Classification,
        why: GiveUpReason,
        cur: &mut Cursor<'_>,
    ) -> Check {
        if let Some(link) = self.open_link() {
            cur.exact(&Command::Close { link })?;
        }
        self.phase = Phase::Stopped;
        let d = cur.decision("a give-up decision")?;
        if d.action != Action::GiveUp(why) {
            return Err(format!(
                "expected give-up {} (cause {}, verdict {:?}), got {}",
                give_up_name(why),
                c.rule,
                c.verdict,
                action_text(&d.action)
            ));
        }
        cause_is(d, Some(c))?;
        let (reason, failure) = rules::give_up_report(why, c.reason);
        self.fail_all(failure, cur)?;
        self.set_status(now, Status::Disconnected, reason, cur)
    }

    pub(super) fn fail_all(&mut self, why: MessageFailure, cur: &mut Cursor<'_>) -> Check {
        self.in_flight.clear();
        for id in std::mem::take(&mut self.pending).into_keys() {
            cur.exact(&Command::Outcome {
                message: id,
                outcome: Outcome::Failed(why),
            })?;
        }
        Ok(())
    }

    pub(super) fn expire(&mut self, now: u64, cur: &mut Cursor<'_>) -> Check {
        let due: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, d)| d.is_some_and(|d| now >= d))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            cur.exact(&Command::Outcome {
                message: id,
                outcome: Outcome::Failed(MessageFailure::OperationTimeout),
            })
            .map_err(|e| format!("operation timeout: {e}"))?;
            self.pending.remove(&id);
            self.in_flight.remove(&id);
        }
        Ok(())
    }

    pub(super) fn flush(&mut self, eff: &Effective, now: u64, cur: &mut Cursor<'_>) -> Check {
        let Phase::Connected { link, .. } = self.phase else {
            return Ok(());
        };
        let window = usize::try_from(eff.max_in_flight).unwrap_or(usize::MAX);
        while self.in_flight.len() < window {
            // "the oldest messages not in flight (and not waiting after a refusal)"
            let Some(id) = self
                .pending
                .keys()
                .find(|id| {
                    !self.in_flight.contains(id) && self.waiting.get(id).is_none_or(|t| now >= *t)
                })
                .copied()
            else {
                break;
            };
            self.waiting.remove(&id);
            match cur.next(&format!("a send of message {id}"))? {
                Command::Send {
                    link: l, message, ..
                } if *l == link && *message == id => {}
                other => {
                    return Err(format!(
                        "expected `send link={link} msg={id}` (the oldest queued message, window open), got `{}`",
                        command_text(other)
                    ));
                }
            }
            self.in_flight.insert(id);
        }
        Ok(())
    }

    pub(super) fn set_status(
        &mut self,
        now: u64,
        status: Status,
        reason: Reason,
        cur: &mut Cursor<'_>,
    ) -> Check {
        if self.status == (status, reason) {
            // Never two identical status events in a row.
            if let Some(Command::Status(s)) = cur.peek() {
                return Err(format!(
                    "status {} / {} reported twice in a row",
                    status_name(s.status),
                    reason_name(s.reason)
                ));
            }
            return Ok(());
        }
        self.status = (status, reason);
        cur.exact(&Command::Status(StatusChange {
            at: now.saturating_mul(NS_PER_MS),
            status,
            reason,
        }))
        .map_err(|e| format!("status event for a transition: {e}"))
    }

    pub(super) fn finish(&mut self, eff: &Effective, cur: &mut Cursor<'_>) -> Check {
        let wake = self.next_wake(eff);
        if wake != self.announced {
            self.announced = wake;
            if let Some(t) = wake {
                cur.exact(&Command::WakeAt(t.saturating_mul(NS_PER_MS)))?;
            }
        }
        Ok(())
    }

    /// README, "Wake-ups": "the earliest of: the end of the current wait (a
    /// backoff, or before a poll), the routine renewal while connected and none is
    /// out, and the earliest message deadline".
    pub(in crate::dst) fn next_wake(&self, eff: &Effective) -> Option<u64> {
        let wait_end = match &self.phase {
            Phase::Backoff { until, .. } | Phase::PollWait { until, .. } => Some(*until),
            _ => None,
        };
        let renewal = match &self.phase {
            Phase::Connected {
                renewing: false, ..
            } => self.renew_deadline(eff),
            _ => None,
        };
        let message = self.pending.values().flatten().min().copied();
        // "while connected with room in the window, the end of the earliest refused
        // message's wait"
        let window = usize::try_from(eff.max_in_flight).unwrap_or(usize::MAX);
        let room = matches!(self.phase, Phase::Connected { .. }) && self.in_flight.len() < window;
        let resend = self
            .waiting
            .iter()
            .filter(|(id, _)| room && self.pending.contains_key(id) && !self.in_flight.contains(id))
            .map(|(_, t)| *t)
            .min();
        [wait_end, renewal, message, resend]
            .into_iter()
            .flatten()
            .min()
    }

    /// A link that was up (since `since`) is gone.
    pub(super) fn link_lost(&mut self, eff: &Effective, now: u64, since: u64) {
        // README, "Backoff reset": "The attempt count starts over only after a link
        // held for `reset-after-ms`".
        if now.saturating_sub(since) >= eff.reset_after_ms {
            self.run.retries = 0;
        }
        // README, "Hub only": "An outage ends when a link is lost while no retry is
        // counted".
        if self.run.retries == 0 {
            self.run.outage_since = None;
            // "The count starts over with every outage".
            self.run.takeovers = 0;
        }
        // README, "Messages": unacknowledged messages are sent again after a
        // reconnect; they are no longer in flight.
        self.in_flight.clear();
    }

    /// README: "the credential is renewable and has not been renewed since the last
    /// connect".
    pub(super) fn can_renew(&self, eff: &Effective) -> bool {
        eff.renewable && !self.run.renewed
    }

    pub(super) fn renew_deadline(&self, eff: &Effective) -> Option<u64> {
        if !eff.renewable {
            return None;
        }
        self.credential.as_ref().and_then(|c| c.renew_at)
    }

    pub(super) fn renewal_due(&self, eff: &Effective, now: u64) -> bool {
        self.renew_deadline(eff).is_some_and(|t| now >= t)
    }

    pub(super) fn open_link(&self) -> Option<u64> {
        match self.phase {
            Phase::Opening { link, .. } | Phase::Connected { link, .. } => Some(link),
            _ => None,
        }
    }
}
