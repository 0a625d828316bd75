//! The harness that delivers inputs to the component, and the checker that judges
//! every step.
//!
//! The checker is a reference model of the reconnection flow, written from its
//! documentation (the README's flows, the WIT docs, the stated rules), separately
//! from the guest's code: for each input it predicts whether the component
//! takes it, then walks the commands the component actually made, in order, and
//! checks each against what the documented flow allows at that point. Where the
//! component has a free choice (a jittered delay) the model reads the choice from
//! the command and checks it lies within the documented bounds. On top of that, a
//! few whole-state invariants are checked after every step: the queue bound, the
//! in-flight window, the status the component reports, and the deadline it wants to
//! be woken at.
//!
//! Any divergence is a [`Violation`] naming the seed, the step, the virtual time and
//! what went wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::spec::{Effective, Spec};
use crate::{LineKind, MessageLedger, Transcript};
use tether_host::Command;
use tether_host::Runtime;
use tether_host::names::{action_text, command_text, give_up_name, reason_name, status_name};
use tether_host::syntax::failure_text;
use tether_host::{
    Action, Classification, Credential, Curve, DecisionEvent, Failure, GiveUpReason, InputError,
    MessageFailure, Outcome, ProvisioningResult, PublishError, Reason, Status, StatusChange,
    Verdict,
};
use tether_host::{Device, Step};
use tether_host::{Entropy, NS_PER_MS, VirtualClock};

/// One input to the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Input {
    Start,
    Stop,
    Publish { topic: String, payload: Vec<u8> },
    Opened { link: u64 },
    Failed { link: u64, failure: Failure },
    Closed { link: u64, failure: Failure },
    Acked { message: u64 },
    Provisioned(ProvisioningResult),
    Credential(Result<Credential, Failure>),
    Wake,
}

impl Input {
    /// The transcript text of the input.
    pub fn label(&self) -> String {
        match self {
            Input::Start => "start".into(),
            Input::Stop => "stop".into(),
            Input::Publish { topic, payload } => {
                format!("publish topic={topic:?} bytes={}", payload.len())
            }
            Input::Opened { link } => format!("on-opened link={link}"),
            Input::Failed { link, failure } => {
                format!("on-failed link={link} {}", failure_text(failure))
            }
            Input::Closed { link, failure } => {
                format!("on-closed link={link} {}", failure_text(failure))
            }
            Input::Acked { message } => format!("on-acked msg={message}"),
            Input::Provisioned(result) => format!("on-provisioned {}", provisioning_text(result)),
            Input::Credential(Ok(c)) => match c.lifetime_ms {
                Some(ms) => format!("on-credential {} lifetime={ms}ms", c.secret),
                None => format!("on-credential {}", c.secret),
            },
            Input::Credential(Err(f)) => format!("on-credential failed {}", failure_text(f)),
            Input::Wake => "on-wake".into(),
        }
    }

    fn failure(&self) -> Option<&Failure> {
        match self {
            Input::Failed { failure, .. } | Input::Closed { failure, .. } => Some(failure),
            Input::Provisioned(ProvisioningResult::Failed(f)) | Input::Credential(Err(f)) => {
                Some(f)
            }
            _ => None,
        }
    }
}

/// The text of a provisioning answer.
pub fn provisioning_text(result: &ProvisioningResult) -> String {
    match result {
        ProvisioningResult::Assigned(a) => {
            let mut text = format!("assigned hub={} device={}", a.hub, a.device_id);
            if let Some(c) = &a.credential {
                text.push_str(&format!(" credential={}", c.secret));
                if let Some(ms) = c.lifetime_ms {
                    text.push_str(&format!(" lifetime={ms}ms"));
                }
            }
            text
        }
        ProvisioningResult::Pending(p) => match p.retry_after_ms {
            Some(ms) => format!("pending op={} retry-after={ms}ms", p.operation_id),
            None => format!("pending op={}", p.operation_id),
        },
        ProvisioningResult::Failed(f) => format!("failed {}", failure_text(f)),
    }
}

/// The component's answer to an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Inputs without an answer (`stop`, `on-wake`).
    Done,
    /// Inputs answering `result<_, input-error>`.
    Input(Result<(), InputError>),
    /// `publish`.
    Publish(Result<u64, PublishError>),
}

impl Answer {
    fn text(&self) -> String {
        match self {
            Answer::Done | Answer::Input(Ok(())) => "ok".into(),
            Answer::Input(Err(e)) => e.name().into(),
            Answer::Publish(Ok(id)) => format!("msg={id}"),
            Answer::Publish(Err(e)) => format!("rejected={}", e.name()),
        }
    }

    fn accepted(&self) -> bool {
        matches!(
            self,
            Answer::Done | Answer::Input(Ok(())) | Answer::Publish(Ok(_))
        )
    }
}

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

/// A check failed inside the model: the message, turned into a [`Violation`] by
/// the harness.
type Check<T = ()> = Result<T, String>;

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
                .record(now, line_kind(command), command_text(command));
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
            let held = u64::try_from(m.pending.len()).unwrap_or(u64::MAX);
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

fn line_kind(command: &Command) -> LineKind {
    match command {
        Command::Open { .. }
        | Command::Send { .. }
        | Command::Close { .. }
        | Command::Register
        | Command::Poll { .. }
        | Command::Renew => LineKind::Call,
        Command::Status(_) => LineKind::Status,
        Command::Decided(_) => LineKind::Decision,
        Command::Outcome { .. } => LineKind::Outcome,
        Command::WakeAt(_) => LineKind::Wake,
        Command::PluginFault(_) => LineKind::Decision,
    }
}

// ---------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------

/// What follows a backoff wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    Open,
    Provision,
    Renew,
}

/// Where the documented flow is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
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
    fn name(&self) -> &'static str {
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
struct Model {
    phase: Phase,
    status: (Status, Reason),
    hub: Option<String>,
    device_id: Option<String>,
    credential: Option<Held>,
    renewed_since_connect: bool,
    /// `credentials.renew` was asked and not answered yet.
    renew_outstanding: bool,
    consecutive: u32,
    attempts: u32,
    outage_start: Option<u64>,
    next_link: u64,
    next_message: u64,
    /// Accepted messages without an outcome, by id, with their deadline.
    pending: BTreeMap<u64, Option<u64>>,
    in_flight: BTreeSet<u64>,
    announced: Option<u64>,
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
    fn new(eff: &Effective) -> Self {
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

    fn stopped(&self) -> bool {
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
    fn expected_answer(&self, eff: &Effective, input: &Input) -> Answer {
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
    fn step(
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

    fn on_provisioned(
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
                if let Some(cred) = &a.credential {
                    self.credential = Some(hold(eff, cred.secret.clone(), cred.lifetime_ms, now));
                    self.renewed_since_connect = false;
                }
                self.consecutive = 0;
                self.proceed(eff, now, cur)
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
                let hint = f
                    .retry_after_ms
                    .map(|h| h.max(prov.retry_after_min_ms).min(prov.retry_after_max_ms));
                self.outage_start.get_or_insert(now);
                match c.verdict {
                    Verdict::Retry | Verdict::RetryThrottled => {
                        let curve = curve_of(c.verdict);
                        self.backoff(eff, now, c, curve, hint, 0, Next::Provision, cur)
                    }
                    Verdict::RenewCredential if self.can_renew(eff) => {
                        self.renew(now, Some(c), cur)
                    }
                    _ => self.give_up(now, c, GiveUpReason::Unrecoverable, cur),
                }
            }
        }
    }

    fn on_credential(
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
                self.proceed(eff, now, cur)
            }
            (Phase::Renewing, Err(f)) => {
                let c = c.ok_or("no classification")?;
                self.outage_start.get_or_insert(now);
                match c.verdict {
                    Verdict::Retry | Verdict::RetryThrottled => self.backoff(
                        eff,
                        now,
                        c,
                        curve_of(c.verdict),
                        f.retry_after_ms,
                        0,
                        Next::Renew,
                        cur,
                    ),
                    Verdict::RenewCredential | Verdict::Reprovision
                        if eff.provisioning.is_some() =>
                    {
                        self.reprovision(eff, now, c, cur)
                    }
                    _ => self.give_up(now, c, GiveUpReason::Unrecoverable, cur),
                }
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
                // The link still works on the old credential: try again half way
                // to its expiry, at least a second from now (never a 1 Hz storm
                // against a failing credential source).
                if let Some(held) = &mut self.credential {
                    let half_way = held.expires_at.map_or(now, |e| {
                        now.saturating_add(e.saturating_sub(now).checked_div(2).unwrap_or(0))
                    });
                    held.renew_at = Some(half_way.max(deadline(now, 1_000)));
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
    fn no_attempt_before(&self, until: u64, cur: &Cursor<'_>) -> Check {
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

    fn proceed(&mut self, eff: &Effective, now: u64, cur: &mut Cursor<'_>) -> Check {
        if self.hub.is_none() {
            self.provision(now, cur)
        } else if eff.renewable && (self.credential.is_none() || self.renewal_due(eff, now)) {
            self.renew(now, None, cur)
        } else {
            self.open(now, cur)
        }
    }

    fn open(&mut self, now: u64, cur: &mut Cursor<'_>) -> Check {
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
                if plan.link == link && plan.hub == hub && plan.attempt == self.attempts => {}
            other => {
                return Err(format!(
                    "expected `connect link={link} hub={hub} attempt={}`, got {}",
                    self.attempts,
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

    fn provision(&mut self, now: u64, cur: &mut Cursor<'_>) -> Check {
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

    fn renew(&mut self, now: u64, cause: Option<&Classification>, cur: &mut Cursor<'_>) -> Check {
        self.phase = Phase::Renewing;
        self.renewed_since_connect = true;
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

    fn reprovision(
        &mut self,
        eff: &Effective,
        now: u64,
        c: &Classification,
        cur: &mut Cursor<'_>,
    ) -> Check {
        self.consecutive = 0;
        self.backoff(eff, now, c, Curve::Normal, None, 0, Next::Provision, cur)
    }

    fn handle_failure(
        &mut self,
        eff: &Effective,
        now: u64,
        failure: &Failure,
        c: &Classification,
        took: Option<u64>,
        cur: &mut Cursor<'_>,
    ) -> Check {
        self.outage_start.get_or_insert(now);
        if let Some(server) = &failure.server_reference
            && !server.is_empty()
        {
            self.hub = Some(server.clone());
        }
        let provisioning = eff.provisioning;
        match c.verdict {
            Verdict::Fatal => self.give_up(now, c, GiveUpReason::Unrecoverable, cur),
            Verdict::Reprovision if provisioning.is_some() => self.reprovision(eff, now, c, cur),
            Verdict::RenewCredential if self.can_renew(eff) => self.renew(now, Some(c), cur),
            Verdict::RenewCredential if provisioning.is_some() => {
                self.reprovision(eff, now, c, cur)
            }
            Verdict::Reprovision | Verdict::RenewCredential => {
                self.give_up(now, c, GiveUpReason::Unrecoverable, cur)
            }
            Verdict::Retry | Verdict::RetryThrottled => {
                // Only failed attempts are failed reconnects: a link that came up
                // and dropped was a successful one.
                if took.is_some() {
                    self.consecutive = self.consecutive.saturating_add(1);
                }
                let next = match provisioning {
                    Some(p) if self.consecutive >= p.reprovision_after => {
                        self.consecutive = 0;
                        Next::Provision
                    }
                    _ => Next::Open,
                };
                self.backoff(
                    eff,
                    now,
                    c,
                    curve_of(c.verdict),
                    failure.retry_after_ms,
                    took.unwrap_or(0),
                    next,
                    cur,
                )
            }
        }
    }

    /// One call of the policy: the attempt counter, the give-up rules and the
    /// bounds of the delay, against the decision the component made.
    #[allow(clippy::too_many_arguments)]
    fn backoff(
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
        self.attempts = self.attempts.saturating_add(1);
        let k = self.attempts;
        let elapsed = now.saturating_sub(self.outage_start.unwrap_or(now));
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
                            self.consecutive, p.reprovision_after, c.verdict
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

    fn give_up(
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
        let (reason, failure) = match why {
            GiveUpReason::MaxAttempts | GiveUpReason::RetryTimeout | GiveUpReason::Plugin => {
                (Reason::RetryExpired, MessageFailure::RetryExpired)
            }
            GiveUpReason::NoRetry => (c.reason, MessageFailure::NoRetry),
            GiveUpReason::Unrecoverable => (c.reason, MessageFailure::Unrecoverable),
        };
        self.fail_all(failure, cur)?;
        self.set_status(now, Status::Disconnected, reason, cur)
    }

    fn fail_all(&mut self, why: MessageFailure, cur: &mut Cursor<'_>) -> Check {
        self.in_flight.clear();
        for id in std::mem::take(&mut self.pending).into_keys() {
            cur.exact(&Command::Outcome {
                message: id,
                outcome: Outcome::Failed(why),
            })?;
        }
        Ok(())
    }

    fn expire(&mut self, now: u64, cur: &mut Cursor<'_>) -> Check {
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

    fn flush(&mut self, eff: &Effective, cur: &mut Cursor<'_>) -> Check {
        let Phase::Connected { link, .. } = self.phase else {
            return Ok(());
        };
        let window = usize::try_from(eff.max_in_flight).unwrap_or(usize::MAX);
        while self.in_flight.len() < window {
            let Some(id) = self
                .pending
                .keys()
                .find(|id| !self.in_flight.contains(id))
                .copied()
            else {
                break;
            };
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

    fn set_status(
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

    fn finish(&mut self, eff: &Effective, cur: &mut Cursor<'_>) -> Check {
        let wake = self.next_wake(eff);
        if wake != self.announced {
            self.announced = wake;
            if let Some(t) = wake {
                cur.exact(&Command::WakeAt(t.saturating_mul(NS_PER_MS)))?;
            }
        }
        Ok(())
    }

    fn next_wake(&self, eff: &Effective) -> Option<u64> {
        let state = match &self.phase {
            Phase::Backoff { until, .. } | Phase::PollWait { until, .. } => Some(*until),
            Phase::Connected {
                renewing: false, ..
            } => self.renew_deadline(eff),
            _ => None,
        };
        let messages = self.pending.values().filter_map(|d| *d).min();
        match (state, messages) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A link that was up is gone: the backoff starts over only if it held for
    /// reset-after-ms, and its unacknowledged messages go back to the queue.
    fn link_lost(&mut self, eff: &Effective, now: u64, since: u64) {
        if now.saturating_sub(since) >= eff.reset_after_ms {
            self.attempts = 0;
        }
        if self.attempts == 0 {
            self.outage_start = None;
        }
        self.in_flight.clear();
    }

    fn can_renew(&self, eff: &Effective) -> bool {
        eff.renewable && !self.renewed_since_connect
    }

    fn renew_deadline(&self, eff: &Effective) -> Option<u64> {
        if !eff.renewable {
            return None;
        }
        self.credential.as_ref().and_then(|c| c.renew_at)
    }

    fn renewal_due(&self, eff: &Effective, now: u64) -> bool {
        self.renew_deadline(eff).is_some_and(|t| now >= t)
    }

    fn open_link(&self) -> Option<u64> {
        match self.phase {
            Phase::Opening { link, .. } | Phase::Connected { link, .. } => Some(link),
            _ => None,
        }
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
fn hold(eff: &Effective, secret: String, lifetime: Option<u64>, now: u64) -> Held {
    Held {
        secret,
        renew_at: lifetime.map(|l| {
            let share = u128::from(l)
                .saturating_mul(u128::from(eff.renew_at_percent))
                .checked_div(100)
                .unwrap_or(0);
            deadline(now, u64::try_from(share).unwrap_or(u64::MAX))
        }),
        expires_at: lifetime.map(|l| deadline(now, l)),
    }
}

#[cfg(test)]
mod tests {
    //! The checker must catch what it is there to catch: each test feeds the model
    //! a hand-made command stream with one thing wrong.
    #![allow(clippy::unwrap_used, clippy::panic, clippy::arithmetic_side_effects)]
    use super::*;
    use crate::dst::spec::{KindSpec, LimitsSpec, PolicySpec, ProvisioningSpec};
    use tether_host::{BackoffPlan, ConnectPlan, FailureKind, Level, NetworkError};

    fn refused() -> (Failure, Classification) {
        (
            Failure {
                kind: FailureKind::Network(NetworkError::Refused),
                retry_after_ms: None,
                server_reference: None,
            },
            Classification {
                level: Level::Network,
                verdict: Verdict::Retry,
                reason: Reason::CommunicationError,
                rule: "net/refused".into(),
            },
        )
    }

    fn spec(provisioning: bool) -> Effective {
        Spec {
            provisioning: provisioning.then(|| ProvisioningSpec {
                reprovision_after: Some(1),
                ..ProvisioningSpec::default()
            }),
            policy: Some(PolicySpec {
                kind: KindSpec::Immediate,
                limits: LimitsSpec {
                    max_delay_ms: Some(1_000),
                    ..LimitsSpec::default()
                },
                throttled: None,
            }),
            ..Spec::minimal(1)
        }
        .effective()
    }

    fn decided(at: u64, cause: Option<Classification>, action: Action) -> Command {
        Command::Decided(DecisionEvent {
            at: at * NS_PER_MS,
            cause,
            action,
        })
    }

    fn started(eff: &Effective) -> Model {
        let mut m = Model::new(eff);
        let open = [
            decided(
                0,
                None,
                Action::Connect(ConnectPlan {
                    link: 1,
                    hub: "hub-a".into(),
                    attempt: 0,
                }),
            ),
            Command::Open {
                link: 1,
                hub: "hub-a".into(),
                device_id: None,
                credential: None,
            },
        ];
        let ok = Answer::Input(Ok(()));
        m.step(eff, 0, &Input::Start, None, &ok, &open).unwrap();
        m
    }

    fn failed_with(eff: &Effective, delay: u64, then_provision: bool) -> Result<(), String> {
        let mut m = started(eff);
        let (failure, c) = refused();
        let status_reason = if then_provision {
            Reason::Provisioning
        } else {
            Reason::CommunicationError
        };
        let commands = [
            Command::Status(StatusChange {
                at: 10 * NS_PER_MS,
                status: Status::DisconnectedRetrying,
                reason: status_reason,
            }),
            decided(
                10,
                Some(c.clone()),
                Action::Backoff(BackoffPlan {
                    delay_ms: delay,
                    attempt: 1,
                    curve: Curve::Normal,
                    then_provision,
                }),
            ),
            Command::WakeAt((10 + delay) * NS_PER_MS),
        ];
        let input = Input::Failed { link: 1, failure };
        m.step(eff, 10, &input, Some(&c), &Answer::Input(Ok(())), &commands)
    }

    #[test]
    fn a_correct_backoff_passes() {
        failed_with(&spec(false), 0, false).unwrap();
        failed_with(&spec(true), 0, true).unwrap();
    }

    #[test]
    fn a_delay_above_the_cap_is_caught() {
        let e = failed_with(&spec(false), 1_001, false).unwrap_err();
        assert!(e.contains("above max-delay-ms 1000"), "{e}");
    }

    #[test]
    fn a_missing_or_extra_reprovision_is_caught() {
        let e = failed_with(&spec(true), 0, false).unwrap_err();
        assert!(
            e.contains("reprovisioning: expected then-provision=true"),
            "{e}"
        );
        let e = failed_with(&spec(false), 0, true).unwrap_err();
        assert!(e.contains("then-provision=false"), "{e}");
    }

    #[test]
    fn an_attempt_after_giving_up_is_caught() {
        let eff = spec(false);
        let mut m = started(&eff);
        m.phase = Phase::Stopped;
        let commands = [Command::Open {
            link: 2,
            hub: "hub-a".into(),
            device_id: None,
            credential: None,
        }];
        let e = m
            .step(&eff, 20, &Input::Wake, None, &Answer::Done, &commands)
            .unwrap_err();
        assert!(e.contains("before any new start"), "{e}");
    }

    #[test]
    fn a_repeated_status_and_a_wrong_answer_are_caught() {
        let eff = spec(false);
        let mut m = started(&eff);
        let ok = Answer::Input(Ok(()));
        let connected = Command::Status(StatusChange {
            at: 5 * NS_PER_MS,
            status: Status::Connected,
            reason: Reason::ConnectionOk,
        });
        m.step(
            &eff,
            5,
            &Input::Opened { link: 1 },
            None,
            &ok,
            std::slice::from_ref(&connected),
        )
        .unwrap();
        // Acknowledging a message that was never sent must be refused.
        let e = m
            .step(&eff, 6, &Input::Acked { message: 9 }, None, &ok, &[])
            .unwrap_err();
        assert!(e.contains("unknown-message"), "{e}");
        let mut again = started(&eff);
        again.status = (Status::Connected, Reason::ConnectionOk);
        let e = again
            .step(&eff, 5, &Input::Opened { link: 1 }, None, &ok, &[connected])
            .unwrap_err();
        assert!(e.contains("twice in a row"), "{e}");
    }
}
