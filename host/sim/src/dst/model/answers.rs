//! The model's rules for the answers of the provisioning service and the
//! credential source.

use super::rules::Source;
use super::*;

impl Model {
    pub(super) fn on_provisioned(
        &mut self,
        eff: &Effective,
        now: u64,
        result: &ProvisioningResult,
        c: Option<&Classification>,
        cur: &mut Cursor<'_>,
    ) -> Check {
        let prov = eff
            .provisioning
            .ok_or("a provisioning answer was taken without a provisioning section")?;
        match result {
            ProvisioningResult::Assigned(a) => {
                self.hub = Some(a.hub.clone());
                self.device_id = Some(a.device_id.clone());
                // "the credential, if one comes with it, counting as not renewed"
                if let Some(cred) = &a.credential {
                    self.credential = Some(hold(eff, cred.secret.clone(), cred.lifetime_ms, now));
                    self.run.renewed = false;
                }
                // "The count starts over on every ... assignment".
                self.run.failed_reconnects = 0;
                self.next_step(eff, now, cur)
            }
            ProvisioningResult::Pending(p) => {
                let asked = p.retry_after_ms.unwrap_or(prov.poll_default_ms);
                let clamped = asked
                    .max(prov.retry_after_min_ms)
                    .min(prov.retry_after_max_ms);
                let d = cur.decision("a poll decision")?;
                cause_is(d, None)?;
                let Action::PollProvisioning(delay) = d.action else {
                    return Err(format!(
                        "a pending registration, but the decision is {}",
                        action_text(&d.action)
                    ));
                };
                if delay > eff.max_delay_ms {
                    return Err(format!(
                        "poll delay {delay}ms above max-delay-ms {} (the hard cap on every delay, whatever its source)",
                        eff.max_delay_ms
                    ));
                }
                let wanted = clamped.min(eff.max_delay_ms);
                if delay != wanted {
                    return Err(format!(
                        "poll delay {delay}ms; the service asked {asked}ms, clamped to [{}, {}] and capped at {} gives {wanted}ms",
                        prov.retry_after_min_ms, prov.retry_after_max_ms, eff.max_delay_ms
                    ));
                }
                self.phase = Phase::PollWait {
                    until: deadline(now, delay),
                    op: p.operation_id.clone(),
                };
                Ok(())
            }
            ProvisioningResult::Failed(f) => {
                let c = c.ok_or("no classification")?;
                // "the service's retry-after clamped to its window"
                let hint = f
                    .retry_after_ms
                    .map(|h| h.max(prov.retry_after_min_ms).min(prov.retry_after_max_ms));
                self.respond(eff, now, Source::Service, c, hint, 0, cur)
            }
        }
    }

    pub(super) fn on_credential(
        &mut self,
        eff: &Effective,
        now: u64,
        result: &Result<Credential, Failure>,
        c: Option<&Classification>,
        cur: &mut Cursor<'_>,
    ) -> Check {
        self.renew_outstanding = false;
        match (self.phase.clone(), result) {
            (Phase::Renewing, Ok(cred)) => {
                self.credential = Some(hold(eff, cred.secret.clone(), cred.lifetime_ms, now));
                self.next_step(eff, now, cur)
            }
            (Phase::Renewing, Err(f)) => {
                let c = c.ok_or("no classification")?;
                let source = Source::Credentials;
                self.respond(eff, now, source, c, f.retry_after_ms, 0, cur)
            }
            (
                Phase::Connected {
                    link,
                    since,
                    renewing: true,
                },
                Ok(cred),
            ) => {
                self.credential = Some(hold(eff, cred.secret.clone(), cred.lifetime_ms, now));
                cur.exact(&Command::Close { link })?;
                self.link_lost(eff, now, since);
                self.set_status(
                    now,
                    Status::DisconnectedRetrying,
                    Reason::CredentialRenewal,
                    cur,
                )?;
                self.open(now, cur)
            }
            (
                Phase::Connected {
                    link,
                    since,
                    renewing: true,
                },
                Err(_),
            ) => {
                // README, "Credentials": a routine renewal that fails while the
                // link still works is tried again after half the time the old
                // credential has left, and never sooner than a second.
                if let Some(held) = &mut self.credential {
                    let time_left = held.expires_at.map_or(0, |end| end.saturating_sub(now));
                    let wait = (time_left / 2).max(1_000);
                    held.renew_at = Some(deadline(now, wait));
                }
                self.phase = Phase::Connected {
                    link,
                    since,
                    renewing: false,
                };
                Ok(())
            }
            // A late answer (the link dropped while a routine renewal was out):
            // a good credential is kept for the next attempt, a failure changes
            // nothing.
            (_, Ok(cred)) => {
                self.credential = Some(hold(eff, cred.secret.clone(), cred.lifetime_ms, now));
                Ok(())
            }
            (_, Err(_)) => Ok(()),
        }
    }

    /// During a wait, an early wake-up does nothing.
    pub(super) fn no_attempt_before(&self, until: u64, cur: &Cursor<'_>) -> Check {
        if let Some(c) = cur.peek()
            && matches!(
                c,
                Command::Open { .. } | Command::Register | Command::Poll { .. } | Command::Renew
            )
        {
            return Err(format!(
                "`{}` before the wait ends at {until}ms",
                command_text(c)
            ));
        }
        Ok(())
    }
}
