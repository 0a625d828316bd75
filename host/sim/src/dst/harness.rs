//! The harness that delivers inputs to the component and has the reference model
//! ([`super::model`]) judge every step.
//!
//! For each input the harness asks the model whether the component should take it,
//! calls the component, then lets the model walk the commands the component made.
//! On top of that, a few whole-state invariants are checked after every step: the
//! queue bound, the in-flight window, the status the component reports, and the
//! deadline it wants to be woken at.
//!
//! Any divergence is a [`Violation`] naming the seed, the step, the virtual time and
//! what went wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::input::{Answer, Input};
use super::model::{Check, Model, Phase};
use super::spec::{Effective, Spec};
use crate::transcript::kind_of;
use crate::{LineKind, MessageLedger, Transcript};
use tether_host::Command;
use tether_host::Runtime;
use tether_host::names::{command_text, reason_name, status_name};
use tether_host::{Device, Step};
use tether_host::{Entropy, NS_PER_MS, VirtualClock};
use tether_host::{InputError, Status};

/// A broken invariant: where, when, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The simulation seed (or fuzz input number) that found it.
    pub seed: u64,
    /// The input count at which it was found (1 for the first input).
    pub step: u64,
    /// Virtual time, in milliseconds.
    pub at_ms: u64,
    /// What went wrong.
    pub message: String,
    /// The last lines of the transcript, for context.
    pub tail: Vec<String>,
    /// The whole transcript up to the violation.
    pub transcript: Transcript,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invariant violated: seed {} step {} t={}ms: {}",
            self.seed, self.step, self.at_ms, self.message
        )?;
        if !self.tail.is_empty() {
            writeln!(f, "last transcript lines:")?;
            for line in &self.tail {
                writeln!(f, "  {line}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Violation {}

/// What one applied input gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The component's answer.
    pub answer: Answer,
    /// The commands it made, in order.
    pub commands: Vec<Command>,
}

/// One device under test: the component (through [`Device`]), its virtual clock,
/// the reference model, the transcript and the message ledger.
///
/// Call order: [`Harness::new`], then [`advance_to`](Self::advance_to) and
/// [`apply`](Self::apply) as the world decides, [`finish`](Self::finish) at the end.
#[derive(Debug)]
pub struct Harness {
    device: Device,
    clock: VirtualClock,
    eff: Effective,
    model: Model,
    transcript: Transcript,
    ledger: MessageLedger,
    seed: u64,
    step: u64,
    /// When each accepted message was accepted.
    accepted: BTreeMap<u64, u64>,
    /// Messages that already have their outcome.
    settled: BTreeSet<u64>,
}

impl Harness {
    /// A device configured by `spec` in a fresh instance of `runtime`. `seed` is the
    /// simulation's seed, quoted in violations. A configuration the component
    /// refuses is a violation: the simulator only writes valid ones.
    pub fn new(runtime: &Runtime, spec: &Spec, seed: u64) -> Result<Self, Violation> {
        let clock = VirtualClock::new();
        let config = spec.to_json();
        let violation = |message: String| Violation {
            seed,
            step: 0,
            at_ms: 0,
            message,
            tail: Vec::new(),
            transcript: Transcript::default(),
        };
        let device = Device::new(runtime, &config, clock.clone(), Entropy::fixed(seed)).map_err(
            |e| match e {
                tether_host::Error::Config(e) => violation(format!(
                    "the component refused a valid configuration: {}: {} (config {config})",
                    e.field, e.message
                )),
                e => violation(format!(
                    "host error creating the device: {:#}",
                    anyhow::Error::new(e)
                )),
            },
        )?;
        let eff = spec.effective();
        let mut transcript = Transcript::default();
        transcript.record(0, LineKind::Note, format!("note config {config}"));
        Ok(Self {
            device,
            clock,
            model: Model::new(&eff),
            eff,
            transcript,
            ledger: MessageLedger::default(),
            seed,
            step: 0,
            accepted: BTreeMap::new(),
            settled: BTreeSet::new(),
        })
    }

    /// Virtual time, in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Move the clock forward to `ms` (never back).
    pub fn advance_to(&mut self, ms: u64) {
        self.clock.set_ms(ms);
    }

    /// Inputs delivered so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The configuration's meaning.
    pub fn effective(&self) -> &Effective {
        &self.eff
    }

    /// The transcript so far.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// The message ledger so far.
    pub fn ledger(&self) -> &MessageLedger {
        &self.ledger
    }

    /// The connection has stopped (given up, or stopped by the application).
    pub fn stopped(&self) -> bool {
        self.model.phase == Phase::Stopped
    }

    /// The link the model believes open or opening, if any.
    pub fn current_link(&self) -> Option<u64> {
        match self.model.phase {
            Phase::Opening { link, .. } | Phase::Connected { link, .. } => Some(link),
            _ => None,
        }
    }

    /// The messages in flight on the current link.
    pub fn in_flight(&self) -> Vec<u64> {
        self.model.in_flight.iter().copied().collect()
    }

    /// The deadline (ms) at which the documented flow wants a wake-up, if any.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        self.model.next_wake(&self.eff)
    }

    /// The highest link number the component has used.
    pub fn last_link(&self) -> u64 {
        self.model.next_link.saturating_sub(1)
    }

    /// The highest message id the component has given out.
    pub fn last_message(&self) -> u64 {
        self.model.next_message.saturating_sub(1)
    }

    /// Write a note (something the world did) into the transcript.
    pub fn note(&mut self, text: impl Into<String>) {
        let now = self.now_ms();
        self.transcript.record(now, LineKind::Note, text.into());
    }

    fn violation(&self, message: String) -> Violation {
        let lines = self.transcript.lines();
        let tail = lines
            .get(lines.len().saturating_sub(12)..)
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        Violation {
            seed: self.seed,
            step: self.step,
            at_ms: self.now_ms(),
            message,
            tail,
            transcript: self.transcript.clone(),
        }
    }

    /// Deliver `input` now, check the step, and return what the component did.
    pub fn apply(&mut self, input: Input) -> Result<Applied, Violation> {
        self.step = self.step.saturating_add(1);
        let now = self.now_ms();
        let label = input.label();
        let classification = match input.failure() {
            Some(f) => Some(
                self.device
                    .instance()
                    .classify(f)
                    .map_err(|e| self.violation(format!("trap in classify: {e:#}")))?,
            ),
            None => None,
        };
        let (answer, commands) = self
            .call(&input)
            .map_err(|e| self.violation(format!("trap or host error on {label}: {e:#}")))?;
        self.transcript.record(
            now,
            LineKind::Input,
            format!("{label} -> {}", answer.text()),
        );
        for command in &commands {
            self.transcript
                .record(now, kind_of(command), command_text(command));
        }
        self.record_messages(now, &input, &answer, &commands)
            .map_err(|m| self.violation(m))?;
        let before = self.model.clone();
        let result = self.model.step(
            &self.eff,
            now,
            &input,
            classification.as_ref(),
            &answer,
            &commands,
        );
        if let Err(m) = result {
            self.model = before;
            return Err(self.violation(m));
        }
        self.after_step(now).map_err(|m| self.violation(m))?;
        Ok(Applied { answer, commands })
    }

    fn call(&mut self, input: &Input) -> anyhow::Result<(Answer, Vec<Command>)> {
        let d = &mut self.device;
        fn unit(step: Step<Result<(), InputError>>) -> (Answer, Vec<Command>) {
            (Answer::Input(step.result), step.commands)
        }
        Ok(match input {
            Input::Start => unit(d.start()?),
            Input::Stop => (Answer::Done, d.stop()?.commands),
            Input::Wake => (Answer::Done, d.on_wake()?.commands),
            Input::Publish { topic, payload } => {
                let step = d.publish(topic, payload)?;
                (Answer::Publish(step.result), step.commands)
            }
            Input::Opened { link } => unit(d.on_opened(*link)?),
            Input::Failed { link, failure } => unit(d.on_failed(*link, failure)?),
            Input::Closed { link, failure } => unit(d.on_closed(*link, failure)?),
            Input::Acked { message } => unit(d.on_acked(*message)?),
            Input::Refused { message, failure } => unit(d.on_refused(*message, failure)?),
            Input::Provisioned(result) => unit(d.on_provisioned(result)?),
            Input::Credential(result) => unit(d.on_credential(result.as_ref())?),
        })
    }

    /// The message ledger, and its contract: one outcome per accepted message,
    /// none for anything else.
    fn record_messages(
        &mut self,
        now: u64,
        input: &Input,
        answer: &Answer,
        commands: &[Command],
    ) -> Check {
        let duplicate_ack = match input {
            Input::Acked { message } => self.settled.contains(message).then_some(*message),
            _ => None,
        };
        match answer {
            Answer::Publish(Ok(id)) => {
                if self.accepted.insert(*id, now).is_some() {
                    return Err(format!("publish returned message id {id} a second time"));
                }
                self.ledger.record_accepted(*id, now);
            }
            Answer::Publish(Err(e)) => self.ledger.record_refused(now, *e),
            _ => {}
        }
        for command in commands {
            if let Command::Outcome { message, outcome } = command {
                self.ledger.record_outcome(*message, now, *outcome);
                if !self.accepted.contains_key(message) {
                    return Err(format!(
                        "outcome for message {message}, which publish never accepted"
                    ));
                }
                if !self.settled.insert(*message) {
                    return Err(format!(
                        "second outcome for message {message} ({}): every accepted message ends as exactly one outcome",
                        tether_host::names::outcome_text(outcome)
                    ));
                }
            }
        }
        if let Some(message) = duplicate_ack
            && (answer.accepted() || !commands.is_empty())
        {
            return Err(format!(
                "a duplicate acknowledgement of message {message} (it already has its outcome) was taken: {}",
                answer.text()
            ));
        }
        Ok(())
    }

    /// Whole-state invariants, against the component's own queries.
    fn after_step(&mut self, now: u64) -> Check {
        let status = self
            .device
            .current_status()
            .map_err(|e| format!("trap in current-status: {e:#}"))?;
        let pending = self
            .device
            .pending_messages()
            .map_err(|e| format!("trap in pending-messages: {e:#}"))?;
        let wake = self
            .device
            .next_wake()
            .map_err(|e| format!("trap in next-wake: {e:#}"))?;
        let m = &self.model;
        if (status.status, status.reason) != (m.status.0, m.status.1) {
            return Err(format!(
                "current-status is {} / {} but the last status event said {} / {}",
                status_name(status.status),
                reason_name(status.reason),
                status_name(m.status.0),
                reason_name(m.status.1)
            ));
        }
        let open = self.accepted.len().saturating_sub(self.settled.len());
        if usize::try_from(pending).ok() != Some(open) {
            return Err(format!(
                "pending-messages is {pending} but {open} accepted messages have no outcome"
            ));
        }
        if u64::from(pending) > self.eff.capacity {
            return Err(format!(
                "{pending} messages held, above queue.capacity {}",
                self.eff.capacity
            ));
        }
        if usize::try_from(pending).ok() != Some(m.pending.len()) {
            return Err(format!(
                "pending-messages is {pending}, the model holds {}",
                m.pending.len()
            ));
        }
        let in_flight = u64::try_from(m.in_flight.len()).unwrap_or(u64::MAX);
        if in_flight > self.eff.max_in_flight {
            return Err(format!(
                "{in_flight} messages in flight, above queue.max-in-flight {}",
                self.eff.max_in_flight
            ));
        }
        if let Phase::Connected { .. } = m.phase {
            // Refused messages waiting for their resend are not ready to go.
            let held =
                u64::try_from(m.pending.len().saturating_sub(m.waiting_now())).unwrap_or(u64::MAX);
            if in_flight < held.min(self.eff.max_in_flight) {
                return Err(format!(
                    "connected with {in_flight} of {held} messages in flight and room for {}: queued messages wait although the window has room",
                    self.eff.max_in_flight
                ));
            }
        }
        let model_wake = m.next_wake(&self.eff).map(|t| t.saturating_mul(NS_PER_MS));
        if wake != model_wake {
            return Err(format!(
                "next-wake is {:?} ns, the documented flow wants {:?} ns",
                wake, model_wake
            ));
        }
        if let Some(t) = wake
            && m.announced != Some(t.checked_div(NS_PER_MS).unwrap_or(0))
        {
            return Err(format!(
                "the component wants a wake-up at {}ms but never announced it with wake-at",
                t.checked_div(NS_PER_MS).unwrap_or(0)
            ));
        }
        let connected = matches!(m.phase, Phase::Connected { .. });
        if connected != (m.status.0 == Status::Connected) {
            return Err(format!(
                "status {} while the link is {}",
                status_name(m.status.0),
                m.phase.name()
            ));
        }
        let allowed: &[Status] = match m.phase {
            Phase::Stopped => &[Status::Disconnected, Status::Disabled],
            Phase::Backoff { .. } | Phase::PollWait { .. } | Phase::Provisioning { .. } => {
                &[Status::DisconnectedRetrying]
            }
            _ => &[],
        };
        if !allowed.is_empty() && !allowed.contains(&m.status.0) {
            return Err(format!(
                "{}, but the status is {}",
                m.phase.name(),
                status_name(m.status.0)
            ));
        }
        let _ = now;
        Ok(())
    }

    /// Stop the device (if it is not stopped) and check the end state: every
    /// accepted message has exactly one outcome, nothing is pending.
    pub fn finish(&mut self) -> Result<(), Violation> {
        self.note("note final stop");
        self.apply(Input::Stop)?;
        let summary = self.ledger.summary();
        if summary.pending != 0 || summary.extra_outcomes != 0 {
            return Err(self.violation(format!(
                "after the final stop: {} messages without an outcome (lost), {} extra outcomes",
                summary.pending, summary.extra_outcomes
            )));
        }
        let unexpected = self
            .ledger
            .records()
            .values()
            .filter(|r| r.accepted_at_ms.is_none())
            .count();
        if unexpected != 0 {
            return Err(
                self.violation(format!("{unexpected} outcomes for messages never accepted"))
            );
        }
        Ok(())
    }
}
