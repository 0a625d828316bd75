//! The held credential: its renewal and expiry timers, routine and fault-driven
//! renewals, and what the credential source's answers lead to.

use alloc::string::String;
use alloc::vec::Vec;

use super::failures::{FailureContext, Retry};
use super::{Command, Connection, Next, State, deadline};
use crate::classify::classify;
use crate::identity::{hub_resource_uri, sas_token};
use crate::policy::CurveSel;
use crate::types::{
    Action, ApplicationError, Classification, Credential, Failure, FailureKind, GiveUpReason,
    InputError, Instant, Millis, Reason, Status, Verdict,
};

/// A held credential and its timers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct HeldCredential {
    /// What `transport.open` is given.
    pub(super) secret: String,
    /// When a routine renewal is due, if the lifetime is known.
    renew_at: Option<Instant>,
    /// When it expires, if the lifetime is known.
    expires_at: Option<Instant>,
}

/// The time of day, for the expiry a minted token carries: the host's
/// `wasi:clocks/wall-clock`. Only a connection that mints tokens reads it.
pub trait WallClock: core::fmt::Debug {
    /// Seconds since the Unix epoch.
    fn unix_seconds(&self) -> u64;
}

impl Connection {
    /// The credential source answered.
    pub fn on_credential(
        &mut self,
        now: Instant,
        result: Result<&Credential, &Failure>,
        out: &mut Vec<Command>,
    ) -> Result<(), InputError> {
        if self.state == State::Stopped {
            return Err(InputError::Stopped);
        }
        if !self.renew_outstanding {
            return Err(InputError::Unexpected);
        }
        self.renew_outstanding = false;
        self.credential_arrived(now, result, out);
        self.finish(now, out);
        Ok(())
    }

    /// Ask for a fresh credential: mint it here when the configuration holds a
    /// key, else ask the host's credential source.
    fn request_credential(&mut self, now: Instant, out: &mut Vec<Command>) {
        match self.mint() {
            Some(result) => self.credential_arrived(now, result.as_ref(), out),
            None => {
                self.renew_outstanding = true;
                out.push(Command::Renew);
            }
        }
    }

    /// A token from the configured key for the current hub and device, valid for
    /// the configured lifetime from the wall clock's now. `None` without a key.
    fn mint(&self) -> Option<Result<Credential, Failure>> {
        let sas = self.config.credential.sas.as_ref()?;
        // The assigned hub's own name once provisioning has named one.
        let host = match (&self.assigned, &sas.host_name) {
            (true, _) | (false, None) => self.hub.as_deref().map(crate::config::host_of),
            (false, Some(h)) => Some(h.as_str()),
        };
        let (Some(host), Some(device)) = (host, self.device_id.as_deref()) else {
            // Nothing to sign for yet: the service must say who the device is.
            return Some(Err(Failure {
                kind: FailureKind::Application(ApplicationError::DeviceNotFound),
                retry_after_ms: None,
                server_reference: None,
            }));
        };
        let now_s = self.wall.as_ref().map_or(0, |w| w.unix_seconds());
        let expiry = now_s.saturating_add(sas.lifetime_s);
        let resource = hub_resource_uri(host, device, sas.module_id.as_deref());
        Some(
            sas_token(&resource, &sas.key, sas.key_name.as_deref(), expiry)
                .map(|secret| Credential {
                    secret,
                    lifetime_ms: Some(Millis::from_secs(sas.lifetime_s)),
                })
                // The key was checked when the configuration was read; a host
                // name the signer refuses is the service's answer to fix.
                .map_err(|_| Failure {
                    kind: FailureKind::Application(ApplicationError::BadEndpoint),
                    retry_after_ms: None,
                    server_reference: None,
                }),
        )
    }

    /// A fresh credential or the failure to get one, from either source.
    fn credential_arrived(
        &mut self,
        now: Instant,
        result: Result<&Credential, &Failure>,
        out: &mut Vec<Command>,
    ) {
        match (&self.state, result) {
            (State::Renewing, Ok(c)) => {
                self.credential = Some(self.hold(c.secret.clone(), c.lifetime_ms, now));
                self.proceed(now, out);
            }
            (State::Renewing, Err(f)) => {
                let c = classify(f);
                self.outage_start.get_or_insert(now);
                match c.verdict {
                    Verdict::Retry => {
                        let retry =
                            Retry::fresh(c, CurveSel::Normal, f.retry_after_ms, Next::Renew);
                        self.backoff(now, retry, out);
                    }
                    Verdict::RetryThrottled => {
                        let retry =
                            Retry::fresh(c, CurveSel::Throttled, f.retry_after_ms, Next::Renew);
                        self.backoff(now, retry, out);
                    }
                    Verdict::RenewCredential | Verdict::Reprovision
                        if self.config.provisioning.is_some() =>
                    {
                        self.reprovision(now, &c, FailureContext::default(), out);
                    }
                    Verdict::RenewCredential | Verdict::Reprovision | Verdict::Fatal => {
                        self.give_up(now, &c, GiveUpReason::Unrecoverable, out);
                    }
                }
            }
            (
                State::Connected {
                    link,
                    since,
                    renewing: true,
                },
                Ok(c),
            ) => {
                // Routine rollover: on MQTT a new credential means a new link.
                let (link, since) = (*link, *since);
                self.credential = Some(self.hold(c.secret.clone(), c.lifetime_ms, now));
                out.push(Command::Close { link });
                self.link_lost(now, since);
                self.set_status(
                    now,
                    Status::DisconnectedRetrying,
                    Reason::CredentialRenewal,
                    out,
                );
                self.open(now, out);
            }
            (
                State::Connected {
                    link,
                    since,
                    renewing: true,
                },
                Err(_),
            ) => {
                // The link still works on the old credential. Try again half way
                // to its expiry, at least a second from now.
                let (link, since) = (*link, *since);
                if let Some(held) = &mut self.credential {
                    let half_way = held.expires_at.map_or(now, |e| {
                        now.saturating_add(
                            e.saturating_since(now)
                                .checked_div(2)
                                .unwrap_or(Millis::ZERO),
                        )
                    });
                    held.renew_at = Some(half_way.max(deadline(now, Millis::from_secs(1))));
                }
                self.state = State::Connected {
                    link,
                    since,
                    renewing: false,
                };
            }
            // A late answer: the link dropped while a routine renewal was out.
            // Keep a good credential for the next attempt; a failure changes
            // nothing (the flow renews again when it needs to).
            (_, Ok(c)) => {
                self.credential = Some(self.hold(c.secret.clone(), c.lifetime_ms, now));
            }
            (_, Err(_)) => {}
        }
    }

    /// Renew before connecting (or reconnecting), after a refusal when `cause` is
    /// set.
    pub(super) fn renew(
        &mut self,
        now: Instant,
        cause: Option<Classification>,
        out: &mut Vec<Command>,
    ) {
        self.state = State::Renewing;
        self.renewed_since_connect = true;
        if let Some(c) = &cause {
            self.set_status(now, Status::DisconnectedRetrying, c.reason, out);
        }
        self.decide(now, cause, Action::RenewCredential { routine: false }, out);
        self.request_credential(now, out);
    }

    /// The held credential is due while link `link` (up since `since`) works:
    /// renew it without dropping the link.
    pub(super) fn renew_routinely(
        &mut self,
        now: Instant,
        link: u64,
        since: Instant,
        out: &mut Vec<Command>,
    ) {
        self.state = State::Connected {
            link,
            since,
            renewing: true,
        };
        self.decide(now, None, Action::RenewCredential { routine: true }, out);
        self.request_credential(now, out);
    }

    /// Renewing can help: once per connect, so a refused fresh credential escalates.
    pub(super) fn can_renew(&self) -> bool {
        self.config.credential.renewable && !self.renewed_since_connect
    }

    /// Hold `secret`, due for renewal at `renew-at-percent` of its lifetime.
    pub(super) fn hold(
        &self,
        secret: String,
        lifetime: Option<Millis>,
        now: Instant,
    ) -> HeldCredential {
        let percent = u64::from(self.config.credential.renew_at_percent);
        HeldCredential {
            secret,
            renew_at: lifetime.map(|l| {
                let share = u128::from(l.as_ms()).saturating_mul(u128::from(percent)) / 100;
                deadline(
                    now,
                    Millis::from_ms(u64::try_from(share).unwrap_or(u64::MAX)),
                )
            }),
            expires_at: lifetime.map(|l| deadline(now, l)),
        }
    }

    /// When a routine renewal is due; never for a credential that cannot renew.
    pub(super) fn renew_deadline(&self) -> Option<Instant> {
        if !self.config.credential.renewable {
            return None;
        }
        self.credential.as_ref().and_then(|c| c.renew_at)
    }

    /// The routine renewal is due at `now`.
    pub(super) fn renewal_due(&self, now: Instant) -> bool {
        self.renew_deadline().is_some_and(|t| now >= t)
    }
}
