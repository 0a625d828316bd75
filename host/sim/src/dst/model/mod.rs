//! The reference model of the reconnection flow, written from its documentation
//! (the README's flows, the WIT docs, the stated rules), separately from the
//! guest's code: for each input it predicts whether the component takes it, then
//! walks the commands the component actually made, in order, and checks each
//! against what the documented flow allows at that point. Where the component has
//! a free choice (a jittered delay) the model reads the choice from the command and
//! checks it lies within the documented bounds.
//!
//! `answers` holds the rules for provisioning and credential answers, `flow` the
//! attempts, backoff, give-up and message rules; this file the state and the
//! per-input transitions.

mod answers;
mod flow;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use super::input::{Answer, Input};
use super::spec::Effective;
use tether_host::Command;
use tether_host::NS_PER_MS;
use tether_host::names::{action_text, command_text, give_up_name, reason_name, status_name};
use tether_host::{
    Action, Classification, Credential, Curve, DecisionEvent, Failure, GiveUpReason, InputError,
    MessageFailure, Outcome, ProvisioningResult, PublishError, Reason, Status, StatusChange,
    Verdict,
};

/// A check failed inside the model: the message, turned into a [`Violation`] by
/// the harness.
pub(in crate::dst) type Check<T = ()> = Result<T, String>;

// ---------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------

/// What follows a backoff wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::dst) enum Next {
    Open,
    Provision,
    Renew,
}

/// Where the documented flow is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::dst) enum Phase {
    Idle,
    Provisioning {
        op: Option<String>,
    },
    PollWait {
        until: u64,
        op: String,
    },
    Renewing,
    Opening {
        link: u64,
        at: u64,
    },
    Connected {
        link: u64,
        since: u64,
        renewing: bool,
    },
    Backoff {
        until: u64,
        next: Next,
    },
    Stopped,
}

impl Phase {
    pub(in crate::dst) fn name(&self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Provisioning { .. } => "provisioning",
            Phase::PollWait { .. } => "waiting to poll provisioning",
            Phase::Renewing => "renewing the credential",
            Phase::Opening { .. } => "opening",
            Phase::Connected { .. } => "connected",
            Phase::Backoff { .. } => "backing off",
            Phase::Stopped => "stopped",
        }
    }
}

/// The schedule's counters, as the README defines them.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Held {
    secret: String,
    renew_at: Option<u64>,
    expires_at: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::dst) struct Model {
    pub(in crate::dst) phase: Phase,
    pub(in crate::dst) status: (Status, Reason),
    hub: Option<String>,
    device_id: Option<String>,
    credential: Option<Held>,
    renewed_since_connect: bool,
    /// `credentials.renew` was asked and not answered yet.
    renew_outstanding: bool,
    consecutive: u32,
    attempts: u32,
    outage_start: Option<u64>,
    pub(in crate::dst) next_link: u64,
    pub(in crate::dst) next_message: u64,
    /// Accepted messages without an outcome, by id, with their deadline.
    pub(in crate::dst) pending: BTreeMap<u64, Option<u64>>,
    pub(in crate::dst) in_flight: BTreeSet<u64>,
    pub(in crate::dst) announced: Option<u64>,
}

/// The commands of one step, consumed in order.
struct Cursor<'a> {
    commands: &'a [Command],
    pos: usize,
    now: u64,
}

impl<'a> Cursor<'a> {
    fn next(&mut self, wanted: &str) -> Check<&'a Command> {
        let c = self.commands.get(self.pos).ok_or_else(|| {
            format!("expected {wanted}, but the component made no further command")
        })?;
        self.pos = self.pos.saturating_add(1);
        Ok(c)
    }

    fn peek(&self) -> Option<&'a Command> {
        self.commands.get(self.pos)
    }

    /// The next decision event, without consuming anything.
    fn peek_decision(&self) -> Check<&'a DecisionEvent> {
        self.commands
            .get(self.pos..)
            .unwrap_or_default()
            .iter()
            .find_map(|c| match c {
                Command::Decided(d) => Some(d),
                _ => None,
            })
            .ok_or_else(|| "expected a decision, but the component made none".to_string())
    }

    fn decision(&mut self, wanted: &str) -> Check<&'a DecisionEvent> {
        match self.next(wanted)? {
            Command::Decided(d) => {
                if d.at != self.now.saturating_mul(NS_PER_MS) {
                    return Err(format!(
                        "decision {} stamped {} ns, not now",
                        action_text(&d.action),
                        d.at
                    ));
                }
                Ok(d)
            }
            other => Err(format!("expected {wanted}, got `{}`", command_text(other))),
        }
    }

    fn exact(&mut self, wanted: &Command) -> Check {
        let got = self.next(&format!("`{}`", command_text(wanted)))?;
        if got != wanted {
            return Err(format!(
                "expected `{}`, got `{}`",
                command_text(wanted),
                command_text(got)
            ));
        }
        Ok(())
    }
}

fn cause_is(d: &DecisionEvent, cause: Option<&Classification>) -> Check {
    if d.cause.as_ref() != cause {
        return Err(format!(
            "decision {} carries cause {:?}, expected {:?} (the classifier's answer for the failure)",
            action_text(&d.action),
            d.cause.as_ref().map(|c| &c.rule),
            cause.map(|c| &c.rule)
        ));
    }
    Ok(())
}

impl Model {
    pub(in crate::dst) fn new(eff: &Effective) -> Self {
        Self {
            phase: Phase::Idle,
            status: (Status::Disconnected, Reason::ClientClose),
            hub: eff.hub.clone(),
            device_id: eff.device_id.clone(),
            credential: None,
            renewed_since_connect: false,
            renew_outstanding: false,
            consecutive: 0,
            attempts: 0,
            outage_start: None,
            next_link: 1,
            next_message: 1,
            pending: BTreeMap::new(),
            in_flight: BTreeSet::new(),
            announced: None,
        }
    }

    pub(in crate::dst) fn stopped(&self) -> bool {
        self.phase == Phase::Stopped
    }

    fn link_error(&self, link: u64) -> InputError {
        if self.stopped() {
            InputError::Stopped
        } else if link < self.next_link {
            InputError::StaleLink
        } else {
            InputError::Unexpected
        }
    }

    /// Whether the component must take the input, and if not, its answer.
    pub(in crate::dst) fn expected_answer(&self, eff: &Effective, input: &Input) -> Answer {
        let unit = |ok: bool, err: InputError| Answer::Input(if ok { Ok(()) } else { Err(err) });
        match input {
            Input::Start => unit(
                matches!(self.phase, Phase::Idle | Phase::Stopped),
                InputError::Unexpected,
            ),
            Input::Stop | Input::Wake => Answer::Done,
            Input::Publish { topic, payload } => {
                let full = u64::try_from(self.pending.len()).unwrap_or(u64::MAX) >= eff.capacity;
                let droppable = self.pending.len() > self.in_flight.len();
                let refusal = if self.stopped() {
                    Some(PublishError::Stopped)
                } else if topic.is_empty() {
                    Some(PublishError::EmptyTopic)
                } else if u64::try_from(payload.len()).unwrap_or(u64::MAX) > eff.max_payload_bytes {
                    Some(PublishError::PayloadTooLarge)
                } else if full && (eff.reject_when_full || !droppable) {
                    Some(PublishError::QueueFull)
                } else {
                    None
                };
                Answer::Publish(match refusal {
                    Some(e) => Err(e),
                    None => Ok(self.next_message),
                })
            }
            Input::Opened { link } => match self.phase {
                Phase::Opening { link: l, .. } if l == *link => Answer::Input(Ok(())),
                _ => Answer::Input(Err(self.link_error(*link))),
            },
            Input::Failed { link, .. } | Input::Closed { link, .. } => match self.phase {
                Phase::Opening { link: l, .. } | Phase::Connected { link: l, .. } if l == *link => {
                    Answer::Input(Ok(()))
                }
                _ => Answer::Input(Err(self.link_error(*link))),
            },
            Input::Acked { message } => Answer::Input(if self.stopped() {
                Err(InputError::Stopped)
            } else if self.in_flight.contains(message) {
                Ok(())
            } else {
                Err(InputError::UnknownMessage)
            }),
            Input::Provisioned(_) => match self.phase {
                Phase::Provisioning { .. } => Answer::Input(Ok(())),
                Phase::Stopped => Answer::Input(Err(InputError::Stopped)),
                _ => Answer::Input(Err(InputError::Unexpected)),
            },
            // An answer is taken whenever a renewal is outstanding, even when the
            // flow moved on meanwhile (a late answer).
            Input::Credential(_) => Answer::Input(if self.stopped() {
                Err(InputError::Stopped)
            } else if self.renew_outstanding {
                Ok(())
            } else {
                Err(InputError::Unexpected)
            }),
        }
    }

    /// Check one step: the answer, then every command in order.
    pub(in crate::dst) fn step(
        &mut self,
        eff: &Effective,
        now: u64,
        input: &Input,
        c: Option<&Classification>,
        answer: &Answer,
        commands: &[Command],
    ) -> Check {
        let expected = self.expected_answer(eff, input);
        if *answer != expected {
            return Err(format!(
                "answered {} where the documented flow answers {} (while {})",
                answer.text(),
                expected.text(),
                self.phase.name()
            ));
        }
        if !answer.accepted() {
            if let Some(first) = commands.first() {
                return Err(format!(
                    "a refused input ({}) still made `{}`",
                    answer.text(),
                    command_text(first)
                ));
            }
            return Ok(());
        }
        if self.stopped() && *input == Input::Stop {
            // The application closing a connection that gave up is still news
            // (once): disabled / client-close. Nothing else happens.
            let mut cur = Cursor {
                commands,
                pos: 0,
                now,
            };
            self.set_status(now, Status::Disabled, Reason::ClientClose, &mut cur)?;
            if let Some(extra) = cur.peek() {
                return Err(format!(
                    "stopping a stopped connection made `{}`",
                    command_text(extra)
                ));
            }
            return Ok(());
        }
        if self.stopped() && !matches!(input, Input::Start) {
            // Nothing but start leaves a stopped connection: no attempt, no event.
            if let Some(first) = commands.first() {
                return Err(format!(
                    "stopped (gave up or stopped), yet `{}` followed `{}` before any new start",
                    command_text(first),
                    input.label()
                ));
            }
            return Ok(());
        }
        let mut cur = Cursor {
            commands,
            pos: 0,
            now,
        };
        self.transition(eff, now, input, c, &mut cur)?;
        if let Some(extra) = cur.peek() {
            return Err(format!(
                "unexpected `{}` after {} (the flow is {})",
                command_text(extra),
                input.label(),
                self.phase.name()
            ));
        }
        Ok(())
    }

    fn transition(
        &mut self,
        eff: &Effective,
        now: u64,
        input: &Input,
        c: Option<&Classification>,
        cur: &mut Cursor<'_>,
    ) -> Check {
        match input {
            Input::Start => {
                self.attempts = 0;
                self.outage_start = None;
                self.consecutive = 0;
                self.renewed_since_connect = false;
                if self.credential.is_none()
                    && let Some(secret) = &eff.secret
                {
                    self.credential = Some(hold(eff, secret.clone(), eff.lifetime_ms, now));
                }
                self.proceed(eff, now, cur)?;
            }
            Input::Stop => {
                if let Some(link) = self.open_link() {
                    cur.exact(&Command::Close { link })?;
                }
                self.phase = Phase::Stopped;
                self.fail_all(MessageFailure::ClientClose, cur)?;
                self.set_status(now, Status::Disabled, Reason::ClientClose, cur)?;
            }
            Input::Publish { topic, payload } => {
                let full = u64::try_from(self.pending.len()).unwrap_or(u64::MAX) >= eff.capacity;
                if full {
                    let oldest = self
                        .pending
                        .keys()
                        .find(|id| !self.in_flight.contains(id))
                        .copied()
                        .ok_or("the queue is full of messages in flight")?;
                    cur.exact(&Command::Outcome {
                        message: oldest,
                        outcome: Outcome::Failed(MessageFailure::QueueFull),
                    })
                    .map_err(|e| format!("drop-oldest: {e}"))?;
                    self.pending.remove(&oldest);
                }
                let id = self.next_message;
                self.next_message = id.saturating_add(1);
                self.pending
                    .insert(id, eff.operation_timeout_ms.map(|t| deadline(now, t)));
                let _ = (topic, payload);
                self.flush(eff, cur)?;
            }
            Input::Wake => {
                self.expire(now, cur)?;
                self.flush(eff, cur)?;
                match self.phase.clone() {
                    Phase::Backoff { until, next } if now >= until => match next {
                        Next::Open => self.proceed(eff, now, cur)?,
                        Next::Provision => self.provision(now, cur)?,
                        Next::Renew => self.renew(now, None, cur)?,
                    },
                    Phase::PollWait { until, op } if now >= until => {
                        cur.exact(&Command::Poll {
                            operation_id: op.clone(),
                        })?;
                        self.phase = Phase::Provisioning { op: Some(op) };
                    }
                    Phase::Connected {
                        link,
                        since,
                        renewing: false,
                    } if self.renewal_due(eff, now) => {
                        self.phase = Phase::Connected {
                            link,
                            since,
                            renewing: true,
                        };
                        let d = cur.decision("a routine renewal")?;
                        if d.action != Action::RenewCredential(true) {
                            return Err(format!(
                                "the credential's renewal time has come, but the decision is {}",
                                action_text(&d.action)
                            ));
                        }
                        cause_is(d, None)?;
                        cur.exact(&Command::Renew)?;
                        self.renew_outstanding = true;
                    }
                    Phase::Backoff { until, .. } | Phase::PollWait { until, .. } if now < until => {
                        self.no_attempt_before(until, cur)?;
                    }
                    _ => {}
                }
            }
            Input::Opened { link } => {
                self.phase = Phase::Connected {
                    link: *link,
                    since: now,
                    renewing: false,
                };
                self.consecutive = 0;
                self.renewed_since_connect = false;
                self.set_status(now, Status::Connected, Reason::ConnectionOk, cur)?;
                self.expire(now, cur)?;
                self.flush(eff, cur)?;
            }
            Input::Failed { failure, .. } | Input::Closed { failure, .. } => {
                let c = c.ok_or("no classification")?;
                match self.phase.clone() {
                    Phase::Opening { at, .. } => {
                        self.phase = Phase::Idle;
                        let took = Some(now.saturating_sub(at));
                        self.handle_failure(eff, now, failure, c, took, cur)?;
                    }
                    Phase::Connected { since, .. } => {
                        self.link_lost(eff, now, since);
                        self.phase = Phase::Idle;
                        self.handle_failure(eff, now, failure, c, None, cur)?;
                    }
                    other => return Err(format!("a link failure taken while {}", other.name())),
                }
            }
            Input::Acked { message } => {
                cur.exact(&Command::Outcome {
                    message: *message,
                    outcome: Outcome::Delivered,
                })?;
                self.in_flight.remove(message);
                self.pending.remove(message);
                self.expire(now, cur)?;
                self.flush(eff, cur)?;
            }
            Input::Provisioned(result) => self.on_provisioned(eff, now, result, c, cur)?,
            Input::Credential(result) => self.on_credential(eff, now, result, c, cur)?,
        }
        self.finish(eff, cur)
    }
}

fn curve_of(verdict: Verdict) -> Curve {
    if verdict == Verdict::RetryThrottled {
        Curve::Throttled
    } else {
        Curve::Normal
    }
}

/// `delay` after `now`, clamped to the last millisecond a WIT `instant` (u64
/// nanoseconds) can express: a later deadline could never be announced or come due.
fn deadline(now: u64, delay: u64) -> u64 {
    now.saturating_add(delay)
        .min(u64::MAX.checked_div(NS_PER_MS).unwrap_or(0))
}

/// A credential held from `now`: renewed at `renew-at-percent` of its lifetime.
/// A credential taken at `now`. README, "Credentials": with a known lifetime it
/// is renewed at `renew-at-percent` of it, and it expires at its end.
fn hold(eff: &Effective, secret: String, lifetime: Option<u64>, now: u64) -> Held {
    Held {
        secret,
        renew_at: lifetime.map(|l| deadline(now, percent_of(l, eff.renew_at_percent))),
        expires_at: lifetime.map(|l| deadline(now, l)),
    }
}

/// `percent`% of `ms`, rounded down: whole hundreds first, then the remainder, so
/// that nothing overflows (and the sum is exactly `ms * percent / 100`).
fn percent_of(ms: u64, percent: u64) -> u64 {
    (ms / 100)
        .saturating_mul(percent)
        .saturating_add((ms % 100).saturating_mul(percent) / 100)
}
