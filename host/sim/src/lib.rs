//! A deterministic world in virtual time, for tests and the demo.
//!
//! A [`Sim`] runs one [`Device`] (the real component) against scripted
//! counterparts: a [`ScriptedHub`] (the transport), a [`ScriptedProvisioning`]
//! service and [`ScriptedCredentials`]. Everything that will happen is an [`Event`]
//! in an [`EventQueue`] ordered by (time, insertion). The [`kernel`] loop, which
//! DST and the fleet simulator run too, pops the next event,
//! sets the [`VirtualClock`] to its time, delivers it to the component as an input,
//! and dispatches the commands that input produced: the scripted parts schedule
//! their answers as later events, `wake-at` deadlines become [`Event::Wake`]s, and
//! every step is written to a [`Transcript`]. Nothing sleeps: a simulated hour takes
//! milliseconds, and the same script, configuration and seed give the same
//! transcript, byte for byte.
//!
//! ```
//! use tether_sim::{ScriptedHub, Sim};
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
//! | [`LineKind::Decision`] | `decide backoff 742ms attempt=1 curve=normal cause=net/refused`, `decide connect link=2 hub=hub-a attempt=1`, `plugin-fault plugin=P reason=out-of-fuel used=backoff 1031ms consecutive=1 detail=...` |
//! | [`LineKind::Outcome`] | `outcome msg=3 delivered`, `outcome msg=4 failed reason=client-close` |
//! | [`LineKind::Wake`] | `wake-at 2242ms`, `on-wake` |
//! | [`LineKind::Note`] | `note hub drops link=1 net:reset`, `note ack msg=3 lost: link=1 is closed` |

pub mod dst;
mod event;
pub mod fleet;
pub mod kernel;
pub mod preview;
pub mod soak;
mod transcript;
mod world;

use std::collections::BTreeSet;

pub use event::Event;
pub use kernel::EventQueue;
pub use transcript::{
    InputAnswer, Line, LineKind, MessageLedger, MessageRecord, MessageSummary, Transcript,
};
pub use world::{
    CredentialAnswer, OpenAnswer, OpenRequest, ProvisioningAnswer, ScriptedCredentials,
    ScriptedHub, ScriptedProvisioning,
};

use tether_host::Runtime;
use tether_host::names::command_text;
use tether_host::syntax::failure_text;
use tether_host::{DecisionEvent, Outcome, PluginFaultReport, ProvisioningResult, StatusChange};
use tether_host::{Device, Step};
use tether_host::{Driver, Observer};
use tether_host::{Entropy, NS_PER_MS, VirtualClock};
use transcript::kind_of;

/// Receives the `events` interface inside the sim.
struct Recorder<'a> {
    now_ms: u64,
    queue: &'a mut EventQueue<Event>,
    wakes: &'a mut BTreeSet<u64>,
    ledger: &'a mut MessageLedger,
    statuses: &'a mut Vec<StatusChange>,
    decisions: &'a mut Vec<DecisionEvent>,
    plugin_faults: &'a mut Vec<PluginFaultReport>,
}

impl Observer for Recorder<'_> {
    fn plugin_fault(&mut self, fault: &PluginFaultReport) {
        self.plugin_faults.push(fault.clone());
    }

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
    /// an error carrying [`tether_host::Error::Config`]
    /// (`error.downcast_ref::<tether_host::Error>()`).
    pub fn build(self, runtime: &Runtime) -> anyhow::Result<Sim> {
        let clock = VirtualClock::new();
        let device = Device::new(
            runtime,
            &self.config,
            clock.clone(),
            Entropy::fixed(self.entropy_seed),
        )
        .map_err(|e| {
            let message = match &e {
                tether_host::Error::Config(c) => {
                    format!("invalid configuration: {}: {}", c.field, c.message)
                }
                e => format!("starting the device: {e}"),
            };
            anyhow::Error::new(e).context(message)
        })?;
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
            plugin_faults: Vec::new(),
            event_limit: self.event_limit,
            budget: self.event_limit,
            published: 0,
        })
    }
}

/// One device in a scripted world, in virtual time. See the [module docs](self).
#[derive(Debug)]
pub struct Sim {
    device: Device,
    clock: VirtualClock,
    queue: EventQueue<Event>,
    wakes: BTreeSet<u64>,
    hub: ScriptedHub,
    provisioning: ScriptedProvisioning,
    credentials: ScriptedCredentials,
    transcript: Transcript,
    ledger: MessageLedger,
    statuses: Vec<StatusChange>,
    decisions: Vec<DecisionEvent>,
    plugin_faults: Vec<PluginFaultReport>,
    event_limit: u64,
    /// Events a run may still deliver.
    budget: u64,
    published: u64,
}

impl kernel::World for Sim {
    type Event = Event;
    type Error = anyhow::Error;

    fn queue(&mut self) -> &mut EventQueue<Event> {
        &mut self.queue
    }

    fn proceed(&mut self) -> anyhow::Result<bool> {
        self.budget = self.budget.checked_sub(1).ok_or_else(|| {
            anyhow::anyhow!(
                "the simulation did not settle: {} events by t={}ms",
                self.event_limit,
                self.now_ms()
            )
        })?;
        Ok(true)
    }

    fn handle(&mut self, at_ms: u64, event: Event) -> anyhow::Result<()> {
        self.clock.set_ms(at_ms);
        self.deliver(event)
    }
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
        kernel::step(self)
    }

    /// Deliver every event scheduled up to and including `end_ms`, then move the
    /// clock to `end_ms`.
    pub fn run_until(&mut self, end_ms: u64) -> anyhow::Result<()> {
        self.budget = self.event_limit;
        kernel::run(self, kernel::Until::Through(end_ms))?;
        self.clock.set_ms(end_ms);
        Ok(())
    }

    /// Deliver events until none is left.
    pub fn run_until_idle(&mut self) -> anyhow::Result<()> {
        self.budget = self.event_limit;
        kernel::run(self, kernel::Until::Idle)?;
        Ok(())
    }

    /// Run an input of your own on the device now (for example a late, stale
    /// report), record it under `label`, and dispatch what it produced like any
    /// other input. Returns the component's answer.
    pub fn input<R: InputAnswer>(
        &mut self,
        label: &str,
        input: impl FnOnce(&mut Device) -> tether_host::Result<Step<R>>,
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

    /// Every plugin fault reported (custom policies), in order.
    pub fn plugin_faults(&self) -> &[PluginFaultReport] {
        &self.plugin_faults
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
                    Err(e) => self.ledger.refused(now, e),
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
            plugin_faults: &mut self.plugin_faults,
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
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tether_host::syntax::failure;
    use tether_host::{InputError, NetworkError, Status};

    fn runtime() -> &'static Runtime {
        Runtime::shared().unwrap()
    }

    #[test]
    fn provisioning_then_connect() {
        let provisioning = ScriptedProvisioning::new([
            ProvisioningAnswer::pending(100, "op-1", Some(3_000)),
            ProvisioningAnswer::assigned(100, "hub-b", "dev-1"),
        ]);
        let mut sim = Sim::builder(r#"{"provisioning": {}, "seed": 1}"#)
            .provisioning(provisioning)
            .build(runtime())
            .unwrap();
        sim.run_until(10_000).unwrap();
        let calls = sim.transcript().render(&[LineKind::Call, LineKind::Input]);
        assert_eq!(
            calls,
            "t=0ms start\n\
             t=0ms register\n\
             t=100ms on-provisioned pending op=op-1 retry-after=3000ms\n\
             t=3100ms poll op=op-1\n\
             t=3200ms on-provisioned assigned hub=hub-b device=dev-1\n\
             t=3200ms open link=1 hub=hub-b device=dev-1\n\
             t=3300ms on-opened link=1\n"
        );
        assert_eq!(sim.provisioning().requests(), 2);
        let last = sim.statuses().last().unwrap();
        assert_eq!(last.status, Status::Connected);
        assert_eq!(last.at, 3_300 * NS_PER_MS);
    }

    #[test]
    fn a_lost_ack_is_noted_and_the_message_still_ends_once() {
        let hub = ScriptedHub::new()
            .ack_latency_ms(500)
            .drop_at(1_200, failure::net(NetworkError::Reset));
        let mut sim = Sim::builder(r#"{"hub": "hub-a", "seed": 2}"#)
            .hub(hub)
            .build(runtime())
            .unwrap();
        sim.publish_at(1_000, "t", b"x");
        sim.run_until_idle().unwrap();
        assert!(
            sim.transcript()
                .contains("note ack msg=1 lost: link=1 is closed"),
            "{}",
            sim.transcript()
        );
        let summary = sim.messages().summary();
        assert_eq!((summary.accepted, summary.delivered), (1, 1));
        assert_eq!(summary.extra_outcomes, 0);
        assert_eq!(sim.hub().sends(), 2, "sent again on the next link");
    }

    #[test]
    fn own_inputs_are_recorded_with_the_components_answer() {
        let hub = ScriptedHub::new().drop_at(1_000, failure::net(NetworkError::Reset));
        let mut sim = Sim::builder(r#"{"hub": "hub-a", "seed": 3}"#)
            .hub(hub)
            .build(runtime())
            .unwrap();
        sim.run_until(1_000).unwrap();
        let answer = sim.input("on-opened link=1", |d| d.on_opened(1)).unwrap();
        assert_eq!(answer, Err(InputError::StaleLink));
        let last = sim.transcript().lines().last().unwrap();
        assert_eq!(last.to_string(), "t=1000ms on-opened link=1 -> stale-link");
        assert_eq!(last.kind, LineKind::Input);
    }

    #[test]
    fn an_invalid_configuration_names_the_field() {
        let e = Sim::builder(r#"{"hub": "h", "queue": {"capacity": 0}}"#)
            .build(runtime())
            .unwrap_err();
        assert!(e.to_string().contains("queue.capacity"), "{e}");
        let cause = e
            .downcast_ref::<tether_host::Error>()
            .and_then(|e| e.config());
        assert_eq!(cause.map(|c| c.field.as_str()), Some("queue.capacity"));
    }
}
