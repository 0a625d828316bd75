//! A deterministic world in virtual time, for tests and the demo.
//!
//! A [`Sim`] runs one [`Device`] (the real component) against scripted
//! counterparts: a [`ScriptedHub`] (the transport), a [`ScriptedProvisioning`]
//! service and [`ScriptedCredentials`]. Everything that will happen is an [`Event`]
//! in an [`EventQueue`] ordered by (time, insertion). The loop pops the next event,
//! sets the [`VirtualClock`] to its time, delivers it to the component as an input,
//! and dispatches the commands that input produced: the scripted parts schedule
//! their answers as later events, `wake-at` deadlines become [`Event::Wake`]s, and
//! every step is written to a [`Transcript`]. Nothing sleeps: a simulated hour takes
//! milliseconds, and the same script, configuration and seed give the same
//! transcript, byte for byte.
//!
//! ```no_run
//! use tether_host::sim::{ScriptedHub, Sim};
//! use tether_host::syntax::failure;
//! use tether_host::{NetworkError, Runtime};
//!
//! # fn main() -> anyhow::Result<()> {
//! let runtime = Runtime::shared()?;
//! let hub = ScriptedHub::new()
//!     .drop_at(10_000, failure::net(NetworkError::Reset))
//!     .refuse_between(10_000, 30_000, vec![failure::net(NetworkError::Refused)]);
//! let mut sim = Sim::builder(r#"{"hub": "hub-a", "seed": 7}"#)
//!     .hub(hub)
//!     .build(runtime)?;
//! sim.publish_every(1_000, 5_000, 60_000, "telemetry");
//! sim.run_until(60_000)?;
//! println!("{}", sim.transcript());
//! assert_eq!(sim.messages().summary().pending, 0);
//! # Ok(()) }
//! ```
//!
//! # Transcript lines
//!
//! One line per step, `t=<ms>ms <text>`, in the order things happened:
//!
//! | kind | examples |
//! | --- | --- |
//! | [`LineKind::Input`] | `start`, `on-opened link=1`, `on-failed link=2 net:refused`, `on-closed link=1 net:reset`, `on-acked msg=3`, `on-provisioned assigned hub=hub-b device=dev-1`, `on-credential token-2 lifetime=3600000ms`, `publish topic=telemetry bytes=9 -> msg=3`, `stop`; an input the component refused ends with ` -> <input-error>` |
//! | [`LineKind::Call`] | `open link=2 hub=hub-a device=sensor-17 credential=token-1`, `send link=1 msg=3 topic=telemetry bytes=9`, `close link=1`, `register`, `poll op=op-1`, `renew` |
//! | [`LineKind::Status`] | `status disconnected-retrying reason=no-network` |
//! | [`LineKind::Decision`] | `decide backoff 742ms attempt=1 curve=normal cause=net/refused`, `decide connect link=2 hub=hub-a attempt=1` |
//! | [`LineKind::Outcome`] | `outcome msg=3 delivered`, `outcome msg=4 failed reason=client-close` |
//! | [`LineKind::Wake`] | `wake-at 2242ms`, `on-wake` |
//! | [`LineKind::Note`] | `note hub drops link=1 net:reset`, `note ack msg=3 lost: link=1 is closed` |

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::fmt;

use crate::clock::{Entropy, NS_PER_MS, VirtualClock};
use crate::driver::{CredentialSource, Driver, Observer, Provisioner, Transport};
use crate::instance::{Device, Step};
use crate::names::command_text;
use crate::runtime::Runtime;
use crate::state::Command;
use crate::syntax::failure_text;
use crate::{
    Assignment, Credential, DecisionEvent, Failure, InputError, Outcome, Pending,
    ProvisioningResult, PublishError, StatusChange,
};

// ---- events and their queue ----

/// Something that happens at a moment of virtual time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The application starts the connection.
    Start,
    /// The application stops the connection.
    Stop,
    /// The application publishes a message.
    Publish {
        /// The topic.
        topic: String,
        /// The payload.
        payload: Vec<u8>,
    },
    /// A deadline the component asked for with `wake-at`.
    Wake,
    /// The hub accepts link `link`. Delivered only if the hub still has the link
    /// opening (not closed by the component meanwhile).
    Opened {
        /// The link.
        link: u64,
    },
    /// The hub refuses link `link`. Delivered only if the link is still opening.
    Failed {
        /// The link.
        link: u64,
        /// Why.
        failure: Failure,
    },
    /// The hub closes open link `link`. Delivered only if the link is open.
    Closed {
        /// The link.
        link: u64,
        /// Why.
        failure: Failure,
    },
    /// The hub acknowledges message `message` sent on `link`. Delivered only if
    /// that link is still open (an ack cannot outlive its link).
    Acked {
        /// The link the message went out on.
        link: u64,
        /// The message.
        message: u64,
    },
    /// The hub drops whatever link is open (nothing happens if none is).
    HubDrop {
        /// Why.
        failure: Failure,
    },
    /// The provisioning service answers.
    Provisioned(ProvisioningResult),
    /// The credential source answers.
    Credential(Result<Credential, Failure>),
}

#[derive(Debug)]
struct Queued {
    at_ms: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at_ms, self.seq) == (other.at_ms, other.seq)
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at_ms, self.seq).cmp(&(other.at_ms, other.seq))
    }
}

/// Events ordered by time, then by the order they were scheduled in: two events
/// at the same millisecond come out first-in, first-out.
#[derive(Debug, Default)]
pub struct EventQueue {
    heap: BinaryHeap<Reverse<Queued>>,
    next_seq: u64,
}

impl EventQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedule `event` at `at_ms`.
    pub fn push(&mut self, at_ms: u64, event: Event) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        self.heap.push(Reverse(Queued { at_ms, seq, event }));
    }

    /// The earliest event and its time.
    pub fn pop(&mut self) -> Option<(u64, Event)> {
        self.heap.pop().map(|Reverse(q)| (q.at_ms, q.event))
    }

    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse(q)| q.at_ms)
    }

    /// How many events are scheduled.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

// ---- the transcript ----

/// What a transcript line records. See the [module docs](self) for the texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LineKind {
    /// An input delivered to the component.
    Input,
    /// A transport, provisioning or credentials call the component made.
    Call,
    /// A status change.
    Status,
    /// A decision.
    Decision,
    /// A message outcome.
    Outcome,
    /// Timer plumbing: `wake-at` requests and `on-wake` deliveries.
    Wake,
    /// Something the simulated world did on its own, or an answer it dropped.
    Note,
}

/// One transcript line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Virtual time, in milliseconds.
    pub at_ms: u64,
    /// What it records.
    pub kind: LineKind,
    /// The text, without the time.
    pub text: String,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={}ms {}", self.at_ms, self.text)
    }
}

/// Everything that happened in a simulation, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    lines: Vec<Line>,
}

impl Transcript {
    /// Every line.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The lines of the given kinds.
    pub fn only(&self, kinds: &[LineKind]) -> Vec<&Line> {
        self.lines
            .iter()
            .filter(|l| kinds.contains(&l.kind))
            .collect()
    }

    /// The lines of the given kinds, one per line of text, each ending in `\n`:
    /// the form golden transcripts are pinned in.
    pub fn render(&self, kinds: &[LineKind]) -> String {
        self.only(kinds).iter().map(|l| format!("{l}\n")).collect()
    }

    /// Every line, rendered.
    pub fn render_all(&self) -> String {
        self.lines.iter().map(|l| format!("{l}\n")).collect()
    }

    /// Whether some line's text contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.lines.iter().any(|l| l.text.contains(needle))
    }

    fn push(&mut self, at_ms: u64, kind: LineKind, text: String) {
        self.lines.push(Line { at_ms, kind, text });
    }
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

fn kind_of(command: &Command) -> LineKind {
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
    }
}

/// How an input's answer shows on its transcript line.
pub trait InputAnswer {
    /// The ` -> ...` suffix, if the answer is worth showing.
    fn suffix(&self) -> Option<String>;
}

impl InputAnswer for () {
    fn suffix(&self) -> Option<String> {
        None
    }
}

impl InputAnswer for Result<(), InputError> {
    fn suffix(&self) -> Option<String> {
        self.as_ref().err().map(|e| e.name().to_string())
    }
}

impl InputAnswer for Result<u64, PublishError> {
    fn suffix(&self) -> Option<String> {
        Some(match self {
            Ok(id) => format!("msg={id}"),
            Err(e) => format!("rejected={}", e.name()),
        })
    }
}

// ---- the message ledger ----

/// What became of one message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageRecord {
    /// When `publish` accepted it (`None` if it was published outside the sim's
    /// events and only its outcome was seen).
    pub accepted_at_ms: Option<u64>,
    /// Every outcome reported for it, with its time. Exactly one is the contract.
    pub outcomes: Vec<(u64, Outcome)>,
}

/// Counts over all messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageSummary {
    /// Messages `publish` accepted.
    pub accepted: u32,
    /// Messages `publish` refused (they get no outcome).
    pub rejected: u32,
    /// Messages whose outcome is `delivered`.
    pub delivered: u32,
    /// Messages whose outcome is `failed`.
    pub failed: u32,
    /// Accepted messages with no outcome yet.
    pub pending: u32,
    /// Failed messages by reason (kebab-case names).
    pub failed_by_reason: BTreeMap<&'static str, u32>,
    /// Outcomes reported for a message that already had one (a contract breach).
    pub extra_outcomes: u32,
}

/// Every message the sim saw accepted or given an outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageLedger {
    records: BTreeMap<u64, MessageRecord>,
    rejected: Vec<(u64, PublishError)>,
}

impl MessageLedger {
    /// The record of each message, by id.
    pub fn records(&self) -> &BTreeMap<u64, MessageRecord> {
        &self.records
    }

    /// The refused publishes: when, and why.
    pub fn rejected(&self) -> &[(u64, PublishError)] {
        &self.rejected
    }

    /// The counts.
    pub fn summary(&self) -> MessageSummary {
        let mut s = MessageSummary {
            rejected: u32::try_from(self.rejected.len()).unwrap_or(u32::MAX),
            ..MessageSummary::default()
        };
        for record in self.records.values() {
            if record.accepted_at_ms.is_some() {
                s.accepted = s.accepted.saturating_add(1);
            }
            match record.outcomes.first() {
                None => s.pending = s.pending.saturating_add(1),
                Some((_, Outcome::Delivered)) => s.delivered = s.delivered.saturating_add(1),
                Some((_, Outcome::Failed(why))) => {
                    s.failed = s.failed.saturating_add(1);
                    let n = s
                        .failed_by_reason
                        .entry(crate::names::message_failure_name(*why))
                        .or_default();
                    *n = n.saturating_add(1);
                }
            }
            let extra = record.outcomes.len().saturating_sub(1);
            s.extra_outcomes = s
                .extra_outcomes
                .saturating_add(u32::try_from(extra).unwrap_or(u32::MAX));
        }
        s
    }

    fn accepted(&mut self, id: u64, at_ms: u64) {
        self.records.entry(id).or_default().accepted_at_ms = Some(at_ms);
    }

    fn outcome(&mut self, id: u64, at_ms: u64, outcome: Outcome) {
        self.records
            .entry(id)
            .or_default()
            .outcomes
            .push((at_ms, outcome));
    }
}

// ---- the scripted hub ----

/// An `open` as the hub sees it, for scripts to decide the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenRequest {
    /// When the open was made.
    pub at_ms: u64,
    /// The link number.
    pub link: u64,
    /// The hub address asked for.
    pub hub: String,
    /// The device identity presented.
    pub device_id: Option<String>,
    /// The credential presented.
    pub credential: Option<String>,
    /// How many opens the hub has seen, this one included (1 for the first).
    pub nth: u32,
}

/// The hub's answer to one `open`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenAnswer {
    /// Accept the link after `after_ms`.
    Accept {
        /// Latency of the answer.
        after_ms: u64,
    },
    /// Refuse the link after `after_ms`.
    Refuse {
        /// Latency of the answer.
        after_ms: u64,
        /// The failure reported.
        failure: Failure,
    },
    /// Never answer (a black hole: the transport's own timeout is not modelled,
    /// so script a `Refuse` with `net:timeout` to model one).
    Silence,
}

impl OpenAnswer {
    /// Accept after `after_ms`.
    pub fn accept(after_ms: u64) -> Self {
        Self::Accept { after_ms }
    }

    /// Refuse with `failure` after `after_ms`.
    pub fn refuse(after_ms: u64, failure: Failure) -> Self {
        Self::Refuse { after_ms, failure }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LinkState {
    Opening,
    Open,
    Closed,
}

type OpenRule = Box<dyn FnMut(&OpenRequest) -> OpenAnswer + Send>;

/// A hub whose answers come from a script.
///
/// The answer to each `open` is taken from, in order of precedence:
/// 1. a refusal window ([`refuse_between`](Self::refuse_between)) covering the
///    time of the open, cycling through its failures;
/// 2. the list of per-attempt answers ([`answers`](Self::answers)), one per open,
///    while it lasts;
/// 3. the rule ([`rule`](Self::rule)), a closure over the [`OpenRequest`];
/// 4. otherwise: accept after the default latency.
///
/// Answers are decided when the open is made and delivered after their latency.
/// While a link is open, each `send` is acknowledged after the ack latency; an ack
/// still on its way when the link closes is lost (the component sends the message
/// again). Scheduled drops ([`drop_at`](Self::drop_at)) close whatever link is open
/// at that time.
///
/// # Defaults
/// Accept every open after 100 ms; acknowledge every send after 20 ms; no drops.
pub struct ScriptedHub {
    windows: Vec<RefusalWindow>,
    answers: VecDeque<OpenAnswer>,
    rule: Option<OpenRule>,
    latency_ms: u64,
    ack_latency_ms: Option<u64>,
    drops: Vec<(u64, Failure)>,
    links: BTreeMap<u64, LinkState>,
    opens: u32,
    sends: u32,
    now_ms: u64,
    scheduled: Vec<(u64, Event)>,
}

#[derive(Clone, Debug)]
struct RefusalWindow {
    from_ms: u64,
    until_ms: u64,
    failures: Vec<Failure>,
    latency_ms: u64,
    used: usize,
}

impl Default for ScriptedHub {
    fn default() -> Self {
        Self::new()
    }
}

impl ScriptedHub {
    /// A hub that accepts every open after 100 ms and acks every send after 20 ms.
    pub fn new() -> Self {
        Self {
            windows: Vec::new(),
            answers: VecDeque::new(),
            rule: None,
            latency_ms: 100,
            ack_latency_ms: Some(20),
            drops: Vec::new(),
            links: BTreeMap::new(),
            opens: 0,
            sends: 0,
            now_ms: 0,
            scheduled: Vec::new(),
        }
    }

    /// The latency of the default answer (accept).
    pub fn latency_ms(mut self, ms: u64) -> Self {
        self.latency_ms = ms;
        self
    }

    /// Acknowledge sends after `ms`.
    pub fn ack_latency_ms(mut self, ms: u64) -> Self {
        self.ack_latency_ms = Some(ms);
        self
    }

    /// Never acknowledge a send.
    pub fn no_acks(mut self) -> Self {
        self.ack_latency_ms = None;
        self
    }

    /// Per-attempt answers: the first open gets the first answer, and so on.
    pub fn answers(mut self, answers: impl IntoIterator<Item = OpenAnswer>) -> Self {
        self.answers.extend(answers);
        self
    }

    /// The answer to opens not covered by a window or the answer list.
    pub fn rule(mut self, rule: impl FnMut(&OpenRequest) -> OpenAnswer + Send + 'static) -> Self {
        self.rule = Some(Box::new(rule));
        self
    }

    /// Refuse every open made in `[from_ms, until_ms)`, with `failures` in turn
    /// (cycling), each after 30 ms. An empty list refuses with `net:refused`.
    pub fn refuse_between(mut self, from_ms: u64, until_ms: u64, failures: Vec<Failure>) -> Self {
        let failures = if failures.is_empty() {
            vec![crate::syntax::failure::net(crate::NetworkError::Refused)]
        } else {
            failures
        };
        self.windows.push(RefusalWindow {
            from_ms,
            until_ms,
            failures,
            latency_ms: 30,
            used: 0,
        });
        self
    }

    /// At `at_ms`, close whatever link is open with `failure`.
    pub fn drop_at(mut self, at_ms: u64, failure: Failure) -> Self {
        self.drops.push((at_ms, failure));
        self
    }

    /// How many opens the hub has seen.
    pub fn opens(&self) -> u32 {
        self.opens
    }

    /// How many sends the hub has seen.
    pub fn sends(&self) -> u32 {
        self.sends
    }

    /// The link the hub holds open, if any.
    pub fn open_link(&self) -> Option<u64> {
        self.links
            .iter()
            .rev()
            .find(|(_, s)| **s == LinkState::Open)
            .map(|(link, _)| *link)
    }

    fn answer(&mut self, request: &OpenRequest) -> OpenAnswer {
        let now = request.at_ms;
        if let Some(w) = self
            .windows
            .iter_mut()
            .find(|w| (w.from_ms..w.until_ms).contains(&now))
        {
            let failure = w
                .failures
                .get(w.used.checked_rem(w.failures.len()).unwrap_or(0))
                .cloned();
            w.used = w.used.saturating_add(1);
            if let Some(failure) = failure {
                return OpenAnswer::refuse(w.latency_ms, failure);
            }
        }
        if let Some(answer) = self.answers.pop_front() {
            return answer;
        }
        if let Some(rule) = &mut self.rule {
            return rule(request);
        }
        OpenAnswer::accept(self.latency_ms)
    }

    /// Whether a hub event still applies, updating the hub's view of its links.
    fn admit(&mut self, event: &Event) -> bool {
        let state = |links: &BTreeMap<u64, LinkState>, link: &u64| links.get(link).copied();
        match event {
            Event::Opened { link } if state(&self.links, link) == Some(LinkState::Opening) => {
                self.links.insert(*link, LinkState::Open);
                true
            }
            Event::Failed { link, .. } if state(&self.links, link) == Some(LinkState::Opening) => {
                self.links.insert(*link, LinkState::Closed);
                true
            }
            Event::Closed { link, .. } if state(&self.links, link) == Some(LinkState::Open) => {
                self.links.insert(*link, LinkState::Closed);
                true
            }
            Event::Acked { link, .. } => state(&self.links, link) == Some(LinkState::Open),
            _ => false,
        }
    }
}

impl Transport for ScriptedHub {
    fn open(&mut self, link: u64, hub: &str, device_id: Option<&str>, credential: Option<&str>) {
        self.opens = self.opens.saturating_add(1);
        self.links.insert(link, LinkState::Opening);
        let request = OpenRequest {
            at_ms: self.now_ms,
            link,
            hub: hub.to_string(),
            device_id: device_id.map(str::to_string),
            credential: credential.map(str::to_string),
            nth: self.opens,
        };
        match self.answer(&request) {
            OpenAnswer::Accept { after_ms } => self
                .scheduled
                .push((self.now_ms.saturating_add(after_ms), Event::Opened { link })),
            OpenAnswer::Refuse { after_ms, failure } => self.scheduled.push((
                self.now_ms.saturating_add(after_ms),
                Event::Failed { link, failure },
            )),
            OpenAnswer::Silence => {}
        }
    }

    fn send(&mut self, link: u64, message: u64, _topic: &str, _payload: &[u8]) {
        self.sends = self.sends.saturating_add(1);
        if self.links.get(&link) != Some(&LinkState::Open) {
            return;
        }
        if let Some(latency) = self.ack_latency_ms {
            self.scheduled.push((
                self.now_ms.saturating_add(latency),
                Event::Acked { link, message },
            ));
        }
    }

    fn close(&mut self, link: u64) {
        self.links.insert(link, LinkState::Closed);
    }
}

impl fmt::Debug for ScriptedHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptedHub")
            .field("opens", &self.opens)
            .field("sends", &self.sends)
            .field("links", &self.links)
            .finish_non_exhaustive()
    }
}

// ---- scripted provisioning ----

/// One answer of the provisioning service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvisioningAnswer {
    /// Latency of the answer.
    pub after_ms: u64,
    /// The answer.
    pub result: ProvisioningResult,
}

impl ProvisioningAnswer {
    /// Assigned to `hub` as `device_id`, with no credential.
    pub fn assigned(after_ms: u64, hub: &str, device_id: &str) -> Self {
        Self {
            after_ms,
            result: ProvisioningResult::Assigned(Assignment {
                hub: hub.to_string(),
                device_id: device_id.to_string(),
                credential: None,
            }),
        }
    }

    /// Still assigning (HTTP 202): poll `operation_id`, after `retry_after_ms` if given.
    pub fn pending(after_ms: u64, operation_id: &str, retry_after_ms: Option<u64>) -> Self {
        Self {
            after_ms,
            result: ProvisioningResult::Pending(Pending {
                operation_id: operation_id.to_string(),
                retry_after_ms,
            }),
        }
    }

    /// The request failed.
    pub fn failed(after_ms: u64, failure: Failure) -> Self {
        Self {
            after_ms,
            result: ProvisioningResult::Failed(failure),
        }
    }
}

/// A provisioning service whose answers come from a list: each `register` or
/// `poll` takes the next one; when the list is spent the last answer repeats.
/// With an empty list the service never answers.
#[derive(Clone, Debug, Default)]
pub struct ScriptedProvisioning {
    answers: VecDeque<ProvisioningAnswer>,
    last: Option<ProvisioningAnswer>,
    requests: u32,
    now_ms: u64,
    scheduled: Vec<(u64, Event)>,
}

impl ScriptedProvisioning {
    /// A service answering with `answers`, in turn.
    pub fn new(answers: impl IntoIterator<Item = ProvisioningAnswer>) -> Self {
        Self {
            answers: answers.into_iter().collect(),
            ..Self::default()
        }
    }

    /// A service that assigns `hub` / `device_id` after 200 ms, every time.
    pub fn assigning(hub: &str, device_id: &str) -> Self {
        Self::new([ProvisioningAnswer::assigned(200, hub, device_id)])
    }

    /// How many registers and polls the service has seen.
    pub fn requests(&self) -> u32 {
        self.requests
    }

    fn answer(&mut self) {
        self.requests = self.requests.saturating_add(1);
        if let Some(next) = self.answers.pop_front() {
            self.last = Some(next);
        }
        if let Some(answer) = &self.last {
            self.scheduled.push((
                self.now_ms.saturating_add(answer.after_ms),
                Event::Provisioned(answer.result.clone()),
            ));
        }
    }
}

impl Provisioner for ScriptedProvisioning {
    fn register(&mut self) {
        self.answer();
    }

    fn poll(&mut self, _operation_id: &str) {
        self.answer();
    }
}

// ---- scripted credentials ----

/// One answer of the credential source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialAnswer {
    /// Mint the next `token-N`.
    Mint,
    /// Fail with this failure.
    Fail(Failure),
}

/// A credential source that mints `token-1`, `token-2`... with a fixed lifetime,
/// or fails as scripted: each `renew` takes the next scripted answer, and mints
/// once the script is spent.
///
/// # Defaults
/// Tokens without a known lifetime, answered after 50 ms, nothing scripted.
#[derive(Clone, Debug)]
pub struct ScriptedCredentials {
    script: VecDeque<CredentialAnswer>,
    lifetime_ms: Option<u64>,
    latency_ms: u64,
    minted: u32,
    requests: u32,
    now_ms: u64,
    scheduled: Vec<(u64, Event)>,
}

impl Default for ScriptedCredentials {
    fn default() -> Self {
        Self::new()
    }
}

impl ScriptedCredentials {
    /// A source minting tokens with no known lifetime.
    pub fn new() -> Self {
        Self {
            script: VecDeque::new(),
            lifetime_ms: None,
            latency_ms: 50,
            minted: 0,
            requests: 0,
            now_ms: 0,
            scheduled: Vec::new(),
        }
    }

    /// Tokens valid for `ms`.
    pub fn lifetime_ms(mut self, ms: u64) -> Self {
        self.lifetime_ms = Some(ms);
        self
    }

    /// Answer after `ms`.
    pub fn latency_ms(mut self, ms: u64) -> Self {
        self.latency_ms = ms;
        self
    }

    /// Answers for the next renewals, in order.
    pub fn script(mut self, answers: impl IntoIterator<Item = CredentialAnswer>) -> Self {
        self.script.extend(answers);
        self
    }

    /// How many tokens were minted.
    pub fn minted(&self) -> u32 {
        self.minted
    }

    /// How many renewals were asked for.
    pub fn requests(&self) -> u32 {
        self.requests
    }
}

impl CredentialSource for ScriptedCredentials {
    fn renew(&mut self) {
        self.requests = self.requests.saturating_add(1);
        let result = match self.script.pop_front().unwrap_or(CredentialAnswer::Mint) {
            CredentialAnswer::Mint => {
                self.minted = self.minted.saturating_add(1);
                Ok(Credential {
                    secret: format!("token-{}", self.minted),
                    lifetime_ms: self.lifetime_ms,
                })
            }
            CredentialAnswer::Fail(failure) => Err(failure),
        };
        self.scheduled.push((
            self.now_ms.saturating_add(self.latency_ms),
            Event::Credential(result),
        ));
    }
}

// ---- the simulation ----

/// Receives the `events` interface inside the sim.
struct Recorder<'a> {
    now_ms: u64,
    queue: &'a mut EventQueue,
    wakes: &'a mut BTreeSet<u64>,
    ledger: &'a mut MessageLedger,
    statuses: &'a mut Vec<StatusChange>,
    decisions: &'a mut Vec<DecisionEvent>,
}

impl Observer for Recorder<'_> {
    fn status_changed(&mut self, change: &StatusChange) {
        self.statuses.push(*change);
    }

    fn decided(&mut self, decision: &DecisionEvent) {
        self.decisions.push(decision.clone());
    }

    fn message_outcome(&mut self, message: u64, outcome: &Outcome) {
        self.ledger.outcome(message, self.now_ms, *outcome);
    }

    fn wake_at(&mut self, deadline_ns: u64) {
        // Round up: waking a little late is allowed, early is not useful.
        let at_ms = deadline_ns.div_ceil(NS_PER_MS).max(self.now_ms);
        if self.wakes.insert(at_ms) {
            self.queue.push(at_ms, Event::Wake);
        }
    }
}

/// Builds a [`Sim`]. See [`Sim::builder`].
///
/// # Defaults
/// A [`ScriptedHub::new`] hub, a provisioning service that never answers, a
/// [`ScriptedCredentials::new`] source, entropy fixed at seed 0, `start` at t=0,
/// and a limit of 1,000,000 events per run.
#[derive(Debug)]
pub struct SimBuilder {
    config: String,
    hub: ScriptedHub,
    provisioning: ScriptedProvisioning,
    credentials: ScriptedCredentials,
    entropy_seed: u64,
    start_at: Option<u64>,
    event_limit: u64,
}

impl SimBuilder {
    /// The hub.
    pub fn hub(mut self, hub: ScriptedHub) -> Self {
        self.hub = hub;
        self
    }

    /// The provisioning service.
    pub fn provisioning(mut self, provisioning: ScriptedProvisioning) -> Self {
        self.provisioning = provisioning;
        self
    }

    /// The credential source.
    pub fn credentials(mut self, credentials: ScriptedCredentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Seed of the entropy the component reads when its configuration has no `seed`.
    pub fn entropy_seed(mut self, seed: u64) -> Self {
        self.entropy_seed = seed;
        self
    }

    /// Start the connection at `ms` instead of 0.
    pub fn start_at(mut self, ms: u64) -> Self {
        self.start_at = Some(ms);
        self
    }

    /// Do not schedule a start: the test schedules [`Event::Start`] itself.
    pub fn no_start(mut self) -> Self {
        self.start_at = None;
        self
    }

    /// Stop a run with an error after this many events (a guard against a world
    /// that never settles).
    pub fn event_limit(mut self, events: u64) -> Self {
        self.event_limit = events;
        self
    }

    /// Instantiate the component and build the world. An invalid configuration is
    /// an error carrying the component's [`ConfigError`](crate::ConfigError).
    pub fn build(self, runtime: &Runtime) -> anyhow::Result<Sim> {
        let clock = VirtualClock::new();
        let device = Device::new(
            runtime,
            &self.config,
            clock.clone(),
            Entropy::fixed(self.entropy_seed),
        )?
        .map_err(|e| anyhow::anyhow!("invalid configuration: {}: {}", e.field, e.message))?;
        let mut queue = EventQueue::new();
        if let Some(at) = self.start_at {
            queue.push(at, Event::Start);
        }
        for (at, failure) in &self.hub.drops {
            queue.push(
                *at,
                Event::HubDrop {
                    failure: failure.clone(),
                },
            );
        }
        Ok(Sim {
            device,
            clock,
            queue,
            wakes: BTreeSet::new(),
            hub: self.hub,
            provisioning: self.provisioning,
            credentials: self.credentials,
            transcript: Transcript::default(),
            ledger: MessageLedger::default(),
            statuses: Vec::new(),
            decisions: Vec::new(),
            event_limit: self.event_limit,
            published: 0,
        })
    }
}

/// One device in a scripted world, in virtual time. See the [module docs](self).
#[derive(Debug)]
pub struct Sim {
    device: Device,
    clock: VirtualClock,
    queue: EventQueue,
    wakes: BTreeSet<u64>,
    hub: ScriptedHub,
    provisioning: ScriptedProvisioning,
    credentials: ScriptedCredentials,
    transcript: Transcript,
    ledger: MessageLedger,
    statuses: Vec<StatusChange>,
    decisions: Vec<DecisionEvent>,
    event_limit: u64,
    published: u64,
}

impl Sim {
    /// A builder for a sim running a connection configured by `config` (JSON).
    pub fn builder(config: &str) -> SimBuilder {
        SimBuilder {
            config: config.to_string(),
            hub: ScriptedHub::new(),
            provisioning: ScriptedProvisioning::default(),
            credentials: ScriptedCredentials::new(),
            entropy_seed: 0,
            start_at: Some(0),
            event_limit: 1_000_000,
        }
    }

    // ---- scheduling ----

    /// Schedule `event` at `at_ms` (at the current time if `at_ms` has passed).
    pub fn at(&mut self, at_ms: u64, event: Event) {
        let at_ms = at_ms.max(self.now_ms());
        if event == Event::Wake && !self.wakes.insert(at_ms) {
            return;
        }
        self.queue.push(at_ms, event);
    }

    /// Schedule `event` `delay_ms` from now.
    pub fn after(&mut self, delay_ms: u64, event: Event) {
        self.at(self.now_ms().saturating_add(delay_ms), event);
    }

    /// Publish `payload` on `topic` at `at_ms`.
    pub fn publish_at(&mut self, at_ms: u64, topic: &str, payload: &[u8]) {
        self.at(
            at_ms,
            Event::Publish {
                topic: topic.to_string(),
                payload: payload.to_vec(),
            },
        );
    }

    /// Publish a numbered reading (`reading 1`, `reading 2`...) on `topic` at
    /// `first_ms` and every `every_ms` after it, up to and including `until_ms`.
    /// Returns how many publishes were scheduled.
    pub fn publish_every(
        &mut self,
        first_ms: u64,
        every_ms: u64,
        until_ms: u64,
        topic: &str,
    ) -> u32 {
        let mut count = 0u32;
        let mut at = first_ms;
        while at <= until_ms {
            self.published = self.published.saturating_add(1);
            let payload = format!("reading {}", self.published);
            self.publish_at(at, topic, payload.as_bytes());
            count = count.saturating_add(1);
            match at.checked_add(every_ms.max(1)) {
                Some(next) => at = next,
                None => break,
            }
        }
        count
    }

    /// Stop the connection at `at_ms`.
    pub fn stop_at(&mut self, at_ms: u64) {
        self.at(at_ms, Event::Stop);
    }

    // ---- running ----

    /// Deliver the next event. `false` when nothing is scheduled.
    pub fn step(&mut self) -> anyhow::Result<bool> {
        let Some((at_ms, event)) = self.queue.pop() else {
            return Ok(false);
        };
        self.clock.set_ms(at_ms);
        self.deliver(event)?;
        Ok(true)
    }

    /// Deliver every event scheduled up to and including `end_ms`, then move the
    /// clock to `end_ms`.
    pub fn run_until(&mut self, end_ms: u64) -> anyhow::Result<()> {
        let mut budget = self.event_limit;
        while self.queue.peek_time().is_some_and(|t| t <= end_ms) {
            budget = self.spend(budget)?;
            self.step()?;
        }
        self.clock.set_ms(end_ms);
        Ok(())
    }

    /// Deliver events until none is left.
    pub fn run_until_idle(&mut self) -> anyhow::Result<()> {
        let mut budget = self.event_limit;
        while !self.queue.is_empty() {
            budget = self.spend(budget)?;
            self.step()?;
        }
        Ok(())
    }

    fn spend(&self, budget: u64) -> anyhow::Result<u64> {
        budget.checked_sub(1).ok_or_else(|| {
            anyhow::anyhow!(
                "the simulation did not settle: {} events by t={}ms",
                self.event_limit,
                self.now_ms()
            )
        })
    }

    /// Run an input of your own on the device now (for example a late, stale
    /// report), record it under `label`, and dispatch what it produced like any
    /// other input. Returns the component's answer.
    pub fn input<R: InputAnswer>(
        &mut self,
        label: &str,
        input: impl FnOnce(&mut Device) -> anyhow::Result<Step<R>>,
    ) -> anyhow::Result<R> {
        let step = input(&mut self.device)?;
        Ok(self.settle(LineKind::Input, label.to_string(), step))
    }

    // ---- looking ----

    /// The virtual time, in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The sim's clock.
    pub fn clock(&self) -> &VirtualClock {
        &self.clock
    }

    /// The device: its connection, and its instance for stateless decisions. Inputs
    /// given here directly are neither recorded nor dispatched; use
    /// [`input`](Self::input) for that.
    pub fn device(&mut self) -> &mut Device {
        &mut self.device
    }

    /// What happened so far.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// Every message seen and its outcomes.
    pub fn messages(&self) -> &MessageLedger {
        &self.ledger
    }

    /// Every status change reported, in order.
    pub fn statuses(&self) -> &[StatusChange] {
        &self.statuses
    }

    /// Every decision reported, in order.
    pub fn decisions(&self) -> &[DecisionEvent] {
        &self.decisions
    }

    /// The hub.
    pub fn hub(&self) -> &ScriptedHub {
        &self.hub
    }

    /// The provisioning service.
    pub fn provisioning(&self) -> &ScriptedProvisioning {
        &self.provisioning
    }

    /// The credential source.
    pub fn credentials(&self) -> &ScriptedCredentials {
        &self.credentials
    }

    /// Events still scheduled.
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    /// The time of the next scheduled event.
    pub fn next_event_ms(&self) -> Option<u64> {
        self.queue.peek_time()
    }

    // ---- delivery ----

    fn note(&mut self, text: String) {
        let now = self.now_ms();
        self.transcript.push(now, LineKind::Note, text);
    }

    fn deliver(&mut self, event: Event) -> anyhow::Result<()> {
        match event {
            Event::Start => {
                let step = self.device.start()?;
                self.apply(LineKind::Input, "start".into(), step);
            }
            Event::Stop => {
                let step = self.device.stop()?;
                self.apply(LineKind::Input, "stop".into(), step);
            }
            Event::Publish { topic, payload } => {
                let step = self.device.publish(&topic, &payload)?;
                let now = self.now_ms();
                match step.result {
                    Ok(id) => self.ledger.accepted(id, now),
                    Err(e) => self.ledger.rejected.push((now, e)),
                }
                let label = format!("publish topic={topic} bytes={}", payload.len());
                self.apply(LineKind::Input, label, step);
            }
            Event::Wake => {
                self.wakes.remove(&self.now_ms());
                let step = self.device.on_wake()?;
                self.apply(LineKind::Wake, "on-wake".into(), step);
            }
            Event::HubDrop { failure } => match self.hub.open_link() {
                Some(link) => {
                    self.note(format!(
                        "note hub drops link={link} {}",
                        failure_text(&failure)
                    ));
                    let closed = Event::Closed { link, failure };
                    self.deliver(closed)?;
                }
                None => self.note(format!(
                    "note hub drop ({}) finds no open link",
                    failure_text(&failure)
                )),
            },
            Event::Opened { .. }
            | Event::Failed { .. }
            | Event::Closed { .. }
            | Event::Acked { .. } => self.deliver_hub_event(event)?,
            Event::Provisioned(result) => {
                let step = self.device.on_provisioned(&result)?;
                let label = format!("on-provisioned {}", provisioning_text(&result));
                self.apply(LineKind::Input, label, step);
            }
            Event::Credential(result) => {
                let step = self.device.on_credential(result.as_ref())?;
                let label = match &result {
                    Ok(c) => match c.lifetime_ms {
                        Some(ms) => format!("on-credential {} lifetime={ms}ms", c.secret),
                        None => format!("on-credential {}", c.secret),
                    },
                    Err(f) => format!("on-credential failed {}", failure_text(f)),
                };
                self.apply(LineKind::Input, label, step);
            }
        }
        Ok(())
    }

    fn deliver_hub_event(&mut self, event: Event) -> anyhow::Result<()> {
        if !self.hub.admit(&event) {
            let why = match &event {
                Event::Acked { link, message } => {
                    format!("note ack msg={message} lost: link={link} is closed")
                }
                Event::Opened { link } => {
                    format!("note open answer for link={link} dropped: link closed")
                }
                Event::Failed { link, .. } => {
                    format!("note open failure for link={link} dropped: link closed")
                }
                Event::Closed { link, .. } => {
                    format!("note close of link={link} dropped: not open")
                }
                _ => String::from("note event dropped"),
            };
            self.note(why);
            return Ok(());
        }
        match event {
            Event::Opened { link } => {
                let step = self.device.on_opened(link)?;
                self.apply(LineKind::Input, format!("on-opened link={link}"), step);
            }
            Event::Failed { link, failure } => {
                let step = self.device.on_failed(link, &failure)?;
                let label = format!("on-failed link={link} {}", failure_text(&failure));
                self.apply(LineKind::Input, label, step);
            }
            Event::Closed { link, failure } => {
                let step = self.device.on_closed(link, &failure)?;
                let label = format!("on-closed link={link} {}", failure_text(&failure));
                self.apply(LineKind::Input, label, step);
            }
            Event::Acked { message, .. } => {
                let step = self.device.on_acked(message)?;
                self.apply(LineKind::Input, format!("on-acked msg={message}"), step);
            }
            _ => {}
        }
        Ok(())
    }

    /// [`settle`](Self::settle), for inputs whose answer is only recorded.
    fn apply<R: InputAnswer>(&mut self, kind: LineKind, label: String, step: Step<R>) {
        // The answer is on the transcript line; nothing else needs it.
        let _answer = self.settle(kind, label, step);
    }

    /// Record an input and what it produced, then dispatch the commands.
    fn settle<R: InputAnswer>(&mut self, kind: LineKind, label: String, step: Step<R>) -> R {
        let now = self.now_ms();
        let (result, commands) = step.into_parts();
        let label = match result.suffix() {
            Some(suffix) => format!("{label} -> {suffix}"),
            None => label,
        };
        self.transcript.push(now, kind, label);
        for command in &commands {
            self.transcript
                .push(now, kind_of(command), command_text(command));
        }
        self.hub.now_ms = now;
        self.provisioning.now_ms = now;
        self.credentials.now_ms = now;
        let mut recorder = Recorder {
            now_ms: now,
            queue: &mut self.queue,
            wakes: &mut self.wakes,
            ledger: &mut self.ledger,
            statuses: &mut self.statuses,
            decisions: &mut self.decisions,
        };
        Driver {
            transport: &mut self.hub,
            provisioner: &mut self.provisioning,
            credentials: &mut self.credentials,
            observer: &mut recorder,
        }
        .dispatch(commands);
        let answers = self
            .hub
            .scheduled
            .drain(..)
            .chain(self.provisioning.scheduled.drain(..))
            .chain(self.credentials.scheduled.drain(..));
        for (at, event) in answers {
            self.queue.push(at, event);
        }
        result
    }
}

fn provisioning_text(result: &ProvisioningResult) -> String {
    match result {
        ProvisioningResult::Assigned(a) => {
            let mut text = format!("assigned hub={} device={}", a.hub, a.device_id);
            if let Some(c) = &a.credential {
                text.push_str(&format!(" credential={}", c.secret));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(queue: &mut EventQueue) -> Vec<(u64, Event)> {
        std::iter::from_fn(|| queue.pop()).collect()
    }

    #[test]
    fn queue_orders_by_time_then_insertion() {
        let mut q = EventQueue::new();
        q.push(300, Event::Stop);
        q.push(100, Event::Opened { link: 1 });
        q.push(200, Event::Wake);
        q.push(100, Event::Opened { link: 2 });
        q.push(0, Event::Start);
        q.push(100, Event::Opened { link: 3 });
        assert_eq!(q.len(), 6);
        assert_eq!(q.peek_time(), Some(0));
        assert_eq!(
            drain(&mut q),
            vec![
                (0, Event::Start),
                (100, Event::Opened { link: 1 }),
                (100, Event::Opened { link: 2 }),
                (100, Event::Opened { link: 3 }),
                (200, Event::Wake),
                (300, Event::Stop),
            ]
        );
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn queue_keeps_fifo_order_across_interleaved_pushes_and_pops() {
        let mut q = EventQueue::new();
        q.push(50, Event::Opened { link: 1 });
        q.push(10, Event::Start);
        assert_eq!(q.pop(), Some((10, Event::Start)));
        // Pushed later at the same time as a waiting event: comes out after it.
        q.push(50, Event::Opened { link: 2 });
        q.push(40, Event::Wake);
        assert_eq!(
            drain(&mut q),
            vec![
                (40, Event::Wake),
                (50, Event::Opened { link: 1 }),
                (50, Event::Opened { link: 2 }),
            ]
        );
    }

    #[test]
    fn hub_answers_follow_precedence_and_filter_late_events() {
        use crate::NetworkError;
        use crate::syntax::failure;
        let refused = failure::net(NetworkError::Refused);
        let mut hub = ScriptedHub::new()
            .refuse_between(1_000, 2_000, vec![refused.clone()])
            .answers([OpenAnswer::refuse(5, failure::net(NetworkError::Dns))])
            .rule(|r| OpenAnswer::accept(r.nth.into()));
        hub.now_ms = 1_500;
        hub.open(1, "h", None, None);
        hub.now_ms = 2_000;
        hub.open(2, "h", None, None);
        hub.open(3, "h", None, None);
        assert_eq!(
            hub.scheduled,
            vec![
                (
                    1_530,
                    Event::Failed {
                        link: 1,
                        failure: refused
                    }
                ),
                (
                    2_005,
                    Event::Failed {
                        link: 2,
                        failure: failure::net(NetworkError::Dns)
                    }
                ),
                (2_003, Event::Opened { link: 3 }),
            ]
        );
        // Link 3 is closed by the component before the hub's answer arrives.
        hub.close(3);
        assert!(!hub.admit(&Event::Opened { link: 3 }));
        assert!(hub.admit(&Event::Failed {
            link: 2,
            failure: failure::net(NetworkError::Dns)
        }));
        assert_eq!(hub.open_link(), None);
    }
}
