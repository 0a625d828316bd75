//! The reference model of the reconnection flow, written from its documentation
//! (the README's "Flows", "Refused inputs", "Statuses and reasons", "Retry
//! policies" and "Configuration"), not from the guest's code: where the README
//! did not state a rule the model needs, the rule was added to the README first
//! and the model written from that text. For each input it predicts whether the
//! component takes it, then
//! walks the commands the component actually made, in order, and checks each
//! against what the documented flow allows at that point. Where the component has
//! a free choice (a jittered delay) the model reads the choice from the command and
//! checks it lies within the documented bounds.
//!
//! `rules` states what a failure leads to, by where it came from and its verdict;
//! `answers` holds the provisioning and credential answers, `flow` the retries,
//! backoff, give-up and message rules; this file the state, the refused inputs
//! and the per-input transitions.

mod answers;
mod flow;
mod rules;
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

/// A held credential (README, "Credentials").
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
    /// What `start` begins afresh.
    run: Run,
    /// `credentials.renew` was asked and not answered yet.
    renew_outstanding: bool,
    pub(in crate::dst) next_link: u64,
    pub(in crate::dst) next_message: u64,
    /// Accepted messages without an outcome, by id, with their deadline.
    pub(in crate::dst) pending: BTreeMap<u64, Option<u64>>,
    pub(in crate::dst) in_flight: BTreeSet<u64>,
    /// Refused messages waiting to be sent again, until when.
    waiting: BTreeMap<u64, u64>,
    /// Refusals of each message so far.
    refusals: BTreeMap<u64, u32>,
    pub(in crate::dst) announced: Option<u64>,
}

/// README, "Hub only": "`start` ... begins afresh: no retries counted, no outage, no
/// failed reconnects, no renewal yet".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Run {
    /// Retries counted: one per wait decided, until the count starts over.
    retries: u32,
    /// When the current outage began (`retry-timeout-ms` counts from it).
    outage_since: Option<u64>,
    /// Failed reconnects in a row ("Hub plus provisioning").
    failed_reconnects: u32,
    /// The credential was renewed since the last connect.
    renewed: bool,
    /// Sessions taken over in this outage ("Hub only").
    takeovers: u32,
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
            run: Run::default(),
            renew_outstanding: false,
            next_link: 1,
            next_message: 1,
            pending: BTreeMap::new(),
            in_flight: BTreeSet::new(),
            waiting: BTreeMap::new(),
            refusals: BTreeMap::new(),
            announced: None,
        }
    }

    /// Queued refused messages still waiting for their resend (not in flight).
    pub(in crate::dst) fn waiting_now(&self) -> usize {
        self.waiting
            .keys()
            .filter(|id| self.pending.contains_key(id) && !self.in_flight.contains(id))
            .count()
    }

    pub(in crate::dst) fn stopped(&self) -> bool {
        self.phase == Phase::Stopped
    }

    /// README, "Refused inputs": a link report for a link other than the current
    /// one.
    fn other_link(&self, link: u64) -> InputError {
        if link < self.next_link {
            InputError::StaleLink
        } else {
            InputError::Unexpected
        }
    }

    /// README, "Refused inputs", `publish`: stopped, then empty topic, then payload
    /// too large, then queue full (README, "Messages": a full `drop-oldest` queue
    /// makes room unless every message is in flight).
    fn publish_refusal(
        &self,
        eff: &Effective,
        topic: &str,
        payload: &[u8],
    ) -> Option<PublishError> {
        let held = u64::try_from(self.pending.len()).unwrap_or(u64::MAX);
        let all_in_flight = self.pending.keys().all(|id| self.in_flight.contains(id));
        let no_room = held >= eff.capacity && (eff.reject_when_full || all_in_flight);
        let too_large = u64::try_from(payload.len()).unwrap_or(u64::MAX) > eff.max_payload_bytes;
        [
            (self.stopped(), PublishError::Stopped),
            (topic.is_empty(), PublishError::EmptyTopic),
            (too_large, PublishError::PayloadTooLarge),
            (no_room, PublishError::QueueFull),
        ]
        .into_iter()
        .find_map(|(applies, e)| applies.then_some(e))
    }

    /// Whether the component must take the input, and if not, its answer: the
    /// README's "Refused inputs", rule by rule.
    pub(in crate::dst) fn expected_answer(&self, eff: &Effective, input: &Input) -> Answer {
        let refusal = match input {
            // "`stop` and `on-wake` are always taken."
            Input::Stop | Input::Wake => return Answer::Done,
            Input::Publish { topic, payload } => {
                return Answer::Publish(match self.publish_refusal(eff, topic, payload) {
                    Some(e) => Err(e),
                    None => Ok(self.next_message),
                });
            }
            // "`start` while the connection runs (anything but created or stopped)"
            Input::Start => (!matches!(self.phase, Phase::Idle | Phase::Stopped))
                .then_some(InputError::Unexpected),
            // "After a stop or a give-up ...: `stopped`. This answer comes before any
            // other below."
            _ if self.stopped() => Some(InputError::Stopped),
            // "`on-opened` for any link but the one being opened"
            Input::Opened { link } => {
                let opening = matches!(self.phase, Phase::Opening { link: l, .. } if l == *link);
                (!opening).then(|| self.other_link(*link))
            }
            // "`on-failed` and `on-closed` for any link but the one opening or open"
            Input::Failed { link, .. } | Input::Closed { link, .. } => {
                (self.open_link() != Some(*link)).then(|| self.other_link(*link))
            }
            // "`on-acked` and `on-refused` of a message not in flight"
            Input::Acked { message } | Input::Refused { message, .. } => {
                (!self.in_flight.contains(message)).then_some(InputError::UnknownMessage)
            }
            // "`on-provisioned` while no registration or poll is out"
            Input::Provisioned(_) => (!matches!(self.phase, Phase::Provisioning { .. }))
                .then_some(InputError::Unexpected),
            // "`on-credential` while no renewal is out ... taken even when the flow
            // moved on meanwhile"
            Input::Credential(_) => (!self.renew_outstanding).then_some(InputError::Unexpected),
        };
        Answer::Input(refusal.map_or(Ok(()), Err))
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
                self.run = Run::default();
                // "a credential in the configuration is taken up if none is held"
                if self.credential.is_none()
                    && let Some(secret) = &eff.secret
                {
                    self.credential = Some(hold(eff, secret.clone(), eff.lifetime_ms, now));
                }
                self.next_step(eff, now, cur)?;
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
                self.flush(eff, now, cur)?;
            }
            Input::Wake => {
                self.expire(now, cur)?;
                self.flush(eff, now, cur)?;
                match self.phase.clone() {
                    Phase::Backoff { until, next } if now >= until => match next {
                        Next::Open => self.next_step(eff, now, cur)?,
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
                // "The count starts over on every connect"; renewing can help again.
                self.run.failed_reconnects = 0;
                self.run.renewed = false;
                self.set_status(now, Status::Connected, Reason::ConnectionOk, cur)?;
                self.expire(now, cur)?;
                self.flush(eff, now, cur)?;
            }
            Input::Failed { failure, .. } | Input::Closed { failure, .. } => {
                let c = c.ok_or("no classification")?;
                match self.phase.clone() {
                    Phase::Opening { at, .. } => {
                        self.phase = Phase::Idle;
                        let took = now.saturating_sub(at);
                        self.link_failed(eff, now, failure, c, Some(took), cur)?;
                    }
                    Phase::Connected { since, .. } => {
                        self.link_lost(eff, now, since);
                        self.phase = Phase::Idle;
                        self.link_failed(eff, now, failure, c, None, cur)?;
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
                self.flush(eff, now, cur)?;
            }
            // README, "Messages": "`on-refused` of a message in flight takes it out
            // of the window and looks the refusal up in the refusal table".
            Input::Refused { message, failure } => {
                self.in_flight.remove(message);
                let count = self.refusals.entry(*message).or_insert(0);
                *count = count.saturating_add(1);
                let count = *count;
                let (resend, why) = rules::refusal(failure);
                if !resend || count >= eff.max_refusals {
                    cur.exact(&Command::Outcome {
                        message: *message,
                        outcome: Outcome::Failed(why),
                    })
                    .map_err(|e| format!("refusal: {e}"))?;
                    self.pending.remove(message);
                } else {
                    // "not sent before `refusal-backoff-ms` x 2^(refusals - 1) (at
                    // most 60 s) has passed"
                    let doublings = count.saturating_sub(1).min(16);
                    let wait = eff
                        .refusal_backoff_ms
                        .saturating_mul(1u64.checked_shl(doublings).unwrap_or(u64::MAX))
                        .min(60_000);
                    self.waiting.insert(*message, deadline(now, wait));
                }
                self.expire(now, cur)?;
                self.flush(eff, now, cur)?;
            }
            Input::Provisioned(result) => self.on_provisioned(eff, now, result, c, cur)?,
            Input::Credential(result) => self.on_credential(eff, now, result, c, cur)?,
        }
        self.finish(eff, cur)
    }
}

/// `delay` after `now`, clamped to the last millisecond a WIT `instant` (u64
/// nanoseconds) can express: a later deadline could never be announced or come due.
fn deadline(now: u64, delay: u64) -> u64 {
    now.saturating_add(delay)
        .min(u64::MAX.checked_div(NS_PER_MS).unwrap_or(0))
}

/// A credential received at `now`. README, "Credentials": "renewal falls due at
/// `renew-at-percent` of its lifetime (whole milliseconds, rounded down) after it
/// was received, and it expires at the end of its lifetime".
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
