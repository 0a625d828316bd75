//! What a simulation records: the transcript and the message ledger.

use std::collections::BTreeMap;
use std::fmt;

use tether_host::Command;
use tether_host::names::message_failure_name;
use tether_host::{InputError, Outcome, PublishError};

/// What a transcript line records. See the [crate] docs for the texts.
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

    pub(super) fn push(&mut self, at_ms: u64, kind: LineKind, text: String) {
        self.lines.push(Line { at_ms, kind, text });
    }

    /// Append a line: for drivers other than [`Sim`](super::Sim) (the
    /// [`dst`](crate::dst) simulator) that keep a transcript of their own.
    pub fn record(&mut self, at_ms: u64, kind: LineKind, text: impl Into<String>) {
        self.push(at_ms, kind, text.into());
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

pub(crate) fn kind_of(command: &Command) -> LineKind {
    match command {
        Command::Open { .. }
        | Command::Send { .. }
        | Command::Subscribe { .. }
        | Command::Close { .. }
        | Command::Register
        | Command::Poll { .. }
        | Command::Renew => LineKind::Call,
        Command::Status(_) => LineKind::Status,
        Command::Decided(_) => LineKind::Decision,
        Command::Outcome { .. } => LineKind::Outcome,
        Command::WakeAt(_) => LineKind::Wake,
        // The fallback's decision replaced the plugin's: part of deciding.
        Command::PluginFault(_) => LineKind::Decision,
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
                        .entry(message_failure_name(*why))
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

    /// Record a publish the component accepted as `id` (for drivers other than
    /// [`Sim`](super::Sim)).
    pub fn record_accepted(&mut self, id: u64, at_ms: u64) {
        self.accepted(id, at_ms);
    }

    /// Record a publish the component refused.
    pub fn record_refused(&mut self, at_ms: u64, error: PublishError) {
        self.refused(at_ms, error);
    }

    /// Record an outcome the component reported.
    pub fn record_outcome(&mut self, id: u64, at_ms: u64, outcome: Outcome) {
        self.outcome(id, at_ms, outcome);
    }

    pub(super) fn refused(&mut self, at_ms: u64, error: PublishError) {
        self.rejected.push((at_ms, error));
    }

    pub(super) fn accepted(&mut self, id: u64, at_ms: u64) {
        self.records.entry(id).or_default().accepted_at_ms = Some(at_ms);
    }

    pub(super) fn outcome(&mut self, id: u64, at_ms: u64, outcome: Outcome) {
        self.records
            .entry(id)
            .or_default()
            .outcomes
            .push((at_ms, outcome));
    }
}
