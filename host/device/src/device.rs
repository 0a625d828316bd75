//! The device event loop: one tokio task that owns the component's connection.
//!
//! Inputs come from the transport, provisioning and credential tasks (over a
//! channel), from the application (`publish`, `stop`), from the optional numbered
//! stream, and from the timer at the component's next `wake-at` deadline (read
//! with `next-wake` after every input; early or extra wake-ups do nothing). Each
//! input's commands are handed to the [`Driver`] in order. The loop decides
//! nothing: every wait, retry and renewal is the component's.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use tether_host::{Entropy, Runtime};
//! use tether_device::{config::DeviceFile, device::RunningDevice};
//!
//! let file = DeviceFile::parse(r#"{"connection": {"hub": "127.0.0.1:1883", "device-id": "d1"}}"#)?;
//! let device = RunningDevice::spawn(Runtime::shared()?, &file, Entropy::os())?
//!     .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
//! let id = device.publish("telemetry", b"21.5").await?;
//! let tally = device.stop().await?;
//! # let _ = (id, tally); Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::config::{DeviceFile, PublishSettings};
use super::credentials::TokenSource;
use super::mqtt::{MqttTransport, tls_config};
use super::outbox::{Outbox, Record};
use super::profile::{self, Profile};
use super::provisioning::DpsClient;
use super::{Input, InputSender};
use tether_host::names::command_text;
use tether_host::syntax::failure_text;
use tether_host::{
    Command, ConfigError, CredentialSource, DecisionEvent, Device, Driver, Entropy, MessageFailure,
    NoCredentials, NoProvisioning, Observer, Outcome, PluginFaultReport, Provisioner,
    ProvisioningResult, PublishError, Runtime, StatusChange, SubscribeError, SystemClock,
};

/// Something the loop did, for printing (`tether run`) or logging.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceEvent {
    /// An input went into the component, as text (`on-failed link=2 net:refused`).
    Input(String),
    /// A command the component gave (status changes, decisions, outcomes, opens...).
    Command(Command),
    /// A message arrived on a subscription: topic (with IoT Hub's property bag,
    /// when there is one) and payload.
    Received {
        /// The topic it was published on.
        topic: String,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// The application or the numbered stream published; `seq` is the stream's
    /// number. `Err` when the component refused the message.
    Published {
        /// The stream's sequence number, if it came from the stream.
        seq: Option<u64>,
        /// The message id, or why it was refused.
        result: Result<u64, PublishError>,
    },
    /// A message the outbox held from an earlier run, published again at the
    /// start. `Err` when the component refused it (its record is removed).
    Resent {
        /// Its durable key in the outbox.
        key: u64,
        /// The stream's sequence number, if it came from the stream.
        seq: Option<u64>,
        /// This run's message id, or why it was refused.
        result: Result<u64, PublishError>,
    },
    /// A message the stop would have failed with `client-close`, kept in the
    /// outbox for the next run instead: it has no outcome yet.
    Kept {
        /// Its durable key.
        key: u64,
        /// This run's message id.
        message: u64,
    },
    /// Something the outbox could not do, and what follows for the message.
    Outbox(String),
}

/// What happened so far, for tests and the final summary.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Every status change, with when the loop saw it.
    pub statuses: Vec<(Instant, StatusChange)>,
    /// Every decision.
    pub decisions: Vec<(Instant, DecisionEvent)>,
    /// Every plugin fault (the engine fell back to the built-in policy).
    pub plugin_faults: Vec<(Instant, PluginFaultReport)>,
    /// Accepted messages: message id to the stream's sequence number (`None` for
    /// messages the application published itself).
    pub accepted: BTreeMap<u64, Option<u64>>,
    /// When each message was accepted.
    pub accepted_at: BTreeMap<u64, Instant>,
    /// Outcomes by message id.
    pub outcomes: BTreeMap<u64, Outcome>,
    /// When each outcome arrived.
    pub outcome_at: BTreeMap<u64, Instant>,
    /// Messages the component refused.
    pub refused: u64,
    /// Links opened: when, and to which hub.
    pub opens: Vec<(Instant, String)>,
    /// `provisioning.register` calls.
    pub registrations: u32,
    /// `credentials.renew` calls.
    pub renewals: u32,
    /// Messages received on subscriptions: when, topic, payload.
    pub received: Vec<(Instant, String, Vec<u8>)>,
    /// Whether the device has a persistent outbox.
    pub outbox: bool,
    /// Messages an earlier run left in the outbox, published again: this run's
    /// id to the durable key. They are in `accepted` too.
    pub resent: BTreeMap<u64, u64>,
    /// Messages kept in the outbox at the stop (no outcome): id to durable key.
    pub kept: BTreeMap<u64, u64>,
}

impl Tally {
    /// Accepted messages without an outcome yet, and not kept in the outbox.
    pub fn pending(&self) -> usize {
        self.accepted
            .keys()
            .filter(|id| !self.outcomes.contains_key(id) && !self.kept.contains_key(id))
            .count()
    }

    /// Messages delivered.
    pub fn delivered(&self) -> usize {
        self.outcomes
            .values()
            .filter(|o| matches!(o, Outcome::Delivered))
            .count()
    }

    /// Messages failed.
    pub fn failed(&self) -> usize {
        self.outcomes.len().saturating_sub(self.delivered())
    }
}

enum Request {
    Publish {
        topic: String,
        payload: Vec<u8>,
        reply: oneshot::Sender<anyhow::Result<Result<u64, PublishError>>>,
    },
    Subscribe {
        filter: String,
        reply: oneshot::Sender<anyhow::Result<Result<(), SubscribeError>>>,
    },
    Stream(bool),
    Stop(oneshot::Sender<anyhow::Result<()>>),
}

/// A device running on the current tokio runtime.
#[derive(Debug)]
pub struct RunningDevice {
    requests: mpsc::UnboundedSender<Request>,
    events: Option<mpsc::UnboundedReceiver<(Instant, DeviceEvent)>>,
    tally: Arc<Mutex<Tally>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningDevice {
    /// Start a device described by `file` on the current tokio runtime: a fresh
    /// instance of the component, its connection configured by `file.connection`,
    /// and the tasks that carry its commands out. The outer error is a host
    /// failure (a TLS file that does not load, say); the inner one is the
    /// component's verdict on the connection's configuration.
    ///
    /// # Errors
    /// See above.
    pub fn spawn(
        runtime: &Runtime,
        file: &DeviceFile,
        entropy: Entropy,
    ) -> anyhow::Result<Result<RunningDevice, ConfigError>> {
        let tls = if file.mqtt.tls {
            Some(tls_config(&file.mqtt)?)
        } else {
            None
        };
        // Before anything starts: a damaged store stops the device here.
        let (outbox, recovered) = match &file.outbox {
            Some(o) => {
                let (outbox, records) = Outbox::open(&o.path)?;
                (Some(outbox), records)
            }
            None => (None, Vec::new()),
        };
        let clock = SystemClock::new();
        // The transport's own instance, for the identity functions.
        let mut identity = runtime.instantiate_real()?;
        let connection_text = match enrollment_key(file, &mut identity) {
            Ok(text) => text,
            Err(e) => return Ok(Err(e)),
        };
        let device = match Device::new(runtime, &connection_text, clock, entropy) {
            Ok(d) => d,
            Err(tether_host::Error::Config(e)) => {
                return Ok(Err(ConfigError {
                    field: format!("connection.{}", e.field),
                    message: e.message,
                }));
            }
            Err(e) => return Err(e.into()),
        };
        let mut profile = file.profile.clone();
        let connection: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&file.connection).unwrap_or_default();
        if let Err(e) = profile::read_connection(&mut profile, &connection, &mut identity) {
            return Ok(Err(ConfigError {
                field: e.field,
                message: e.message,
            }));
        }
        let topic = match file.publish.as_ref().map(|p| p.topic.clone()) {
            Some(Some(topic)) => Some(topic),
            Some(None) => match telemetry_topic(&profile, file, &mut identity) {
                Ok(topic) => Some(topic),
                Err(e) => return Ok(Err(e)),
            },
            None => None,
        };
        let (input_tx, input_rx) = mpsc::unbounded_channel();
        let (request_tx, request_rx) = mpsc::unbounded_channel();
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let device_id = Arc::new(Mutex::new(file.device_id.clone()));
        let provisioner: Box<dyn Provisioner + Send> = match &file.provisioning {
            Some(p) => Box::new(DpsClient::new(runtime, p.clone(), input_tx.clone())?),
            None => Box::new(NoProvisioning::default()),
        };
        let credentials: Box<dyn CredentialSource + Send> = match &file.credentials {
            Some(c) => Box::new(TokenSource::new(
                c.clone(),
                device_id.clone(),
                input_tx.clone(),
            )),
            None => Box::new(NoCredentials::default()),
        };
        let tally = Arc::new(Mutex::new(Tally {
            outbox: outbox.is_some(),
            ..Tally::default()
        }));
        // The stream goes on after the last number an earlier run stored.
        let stream_next = outbox.as_ref().and_then(Outbox::stream_next);
        let event_loop = Loop {
            device,
            clock,
            transport: MqttTransport::new(
                file.mqtt.clone(),
                profile,
                tls,
                identity,
                input_tx.clone(),
            ),
            provisioner,
            credentials,
            device_id,
            tally: tally.clone(),
            events: event_tx,
            stream: file
                .publish
                .clone()
                .zip(topic)
                .map(|(settings, topic)| Stream {
                    next: stream_next.map_or(settings.first, |n| n.max(settings.first)),
                    published: 0,
                    on: true,
                    topic,
                    settings,
                }),
            outbox,
            recovered,
            _inputs: input_tx,
        };
        let task = tokio::spawn(event_loop.run(input_rx, request_rx));
        Ok(Ok(RunningDevice {
            requests: request_tx,
            events: Some(event_rx),
            tally,
            task,
        }))
    }

    /// The events as they happen (once: later calls give `None`). Unread events
    /// pile up in memory; a long-running host should read them.
    pub fn events(&mut self) -> Option<mpsc::UnboundedReceiver<(Instant, DeviceEvent)>> {
        self.events.take()
    }

    /// A copy of the tally so far.
    pub fn tally(&self) -> Tally {
        self.tally.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Publish a message (QoS 1). `Ok(id)`: accepted; it ends as one outcome.
    ///
    /// # Errors
    /// When the loop has ended.
    pub async fn publish(
        &self,
        topic: &str,
        payload: &[u8],
    ) -> anyhow::Result<Result<u64, PublishError>> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Publish {
                topic: topic.to_string(),
                payload: payload.to_vec(),
                reply,
            })
            .map_err(|_| anyhow::anyhow!("the device loop has ended"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the device loop has ended"))?
    }

    /// Keep `filter` subscribed on every link (the component restores it after
    /// each reconnect). Messages arrive as [`DeviceEvent::Received`].
    ///
    /// # Errors
    /// When the device loop has ended; the inner error is the component's refusal.
    pub async fn subscribe(&self, filter: &str) -> anyhow::Result<Result<(), SubscribeError>> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Subscribe {
                filter: filter.to_string(),
                reply,
            })
            .map_err(|_| anyhow::anyhow!("the device loop has ended"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the device loop has ended"))?
    }

    /// Pause (`false`) or resume (`true`) the numbered stream.
    pub fn set_stream(&self, on: bool) {
        let _ = self.requests.send(Request::Stream(on));
    }

    /// Stop the connection (its queued messages fail with `client-close`), end the
    /// loop, and give the final tally.
    ///
    /// # Errors
    /// When the component failed (a trap) or the loop had already ended with an
    /// error.
    pub async fn stop(self) -> anyhow::Result<Tally> {
        let (reply, answer) = oneshot::channel();
        if self.requests.send(Request::Stop(reply)).is_ok() {
            let _ = answer.await;
        }
        self.task.await??;
        Ok(self.tally.lock().map(|t| t.clone()).unwrap_or_default())
    }
}

struct Stream {
    settings: PublishSettings,
    /// `settings.topic`, or the IoT Hub telemetry topic.
    topic: String,
    next: u64,
    published: u64,
    on: bool,
}

impl Stream {
    fn active(&self) -> bool {
        self.on && self.settings.count.is_none_or(|n| self.published < n)
    }
}

struct Loop {
    device: Device,
    clock: SystemClock,
    transport: MqttTransport,
    provisioner: Box<dyn Provisioner + Send>,
    credentials: Box<dyn CredentialSource + Send>,
    device_id: Arc<Mutex<Option<String>>>,
    tally: Arc<Mutex<Tally>>,
    events: mpsc::UnboundedSender<(Instant, DeviceEvent)>,
    stream: Option<Stream>,
    /// The persistent outbox, if configured.
    outbox: Option<Outbox>,
    /// What the outbox held at the start, published again after `start`.
    recovered: Vec<Record>,
    /// Keeps the input channel open for as long as the loop runs.
    _inputs: InputSender,
}

/// Receives the `events` interface: statuses, decisions and outcomes go to the
/// tally. Wake-ups are read back with `next-wake` instead.
struct Recorder<'a> {
    tally: &'a Mutex<Tally>,
}

impl Observer for Recorder<'_> {
    fn status_changed(&mut self, change: &StatusChange) {
        if let Ok(mut t) = self.tally.lock() {
            t.statuses.push((Instant::now(), *change));
        }
    }

    fn decided(&mut self, decision: &DecisionEvent) {
        if let Ok(mut t) = self.tally.lock() {
            t.decisions.push((Instant::now(), decision.clone()));
        }
    }

    fn message_outcome(&mut self, message: u64, outcome: &Outcome) {
        if let Ok(mut t) = self.tally.lock() {
            t.outcomes.insert(message, *outcome);
            t.outcome_at.insert(message, Instant::now());
        }
    }

    fn wake_at(&mut self, _deadline_ns: u64) {}

    fn plugin_fault(&mut self, fault: &PluginFaultReport) {
        if let Ok(mut t) = self.tally.lock() {
            t.plugin_faults.push((Instant::now(), fault.clone()));
        }
    }
}

impl Loop {
    fn emit(&self, event: DeviceEvent) {
        let _ = self.events.send((Instant::now(), event));
    }

    fn handle(&mut self, mut commands: Vec<Command>) {
        if self.outbox.is_some() {
            commands = self.settle_outbox(commands);
        }
        let now = Instant::now();
        if let Ok(mut t) = self.tally.lock() {
            for c in &commands {
                match c {
                    Command::Open { hub, .. } => t.opens.push((now, hub.clone())),
                    Command::Register => t.registrations = t.registrations.saturating_add(1),
                    Command::Renew => t.renewals = t.renewals.saturating_add(1),
                    _ => {}
                }
            }
        }
        for c in &commands {
            if let Command::Open {
                device_id: Some(id),
                ..
            } = c
                && let Ok(mut d) = self.device_id.lock()
            {
                *d = Some(id.clone());
            }
            if !matches!(c, Command::WakeAt(_)) {
                self.emit(DeviceEvent::Command(c.clone()));
            }
        }
        let mut recorder = Recorder { tally: &self.tally };
        Driver {
            transport: &mut self.transport,
            provisioner: &mut *self.provisioner,
            credentials: &mut *self.credentials,
            observer: &mut recorder,
        }
        .dispatch(commands);
    }

    /// The outbox's side of a step's outcomes, before anyone hears of them: an
    /// outcome removes the message's record (committed first, so a restart never
    /// reports it again); `client-close` at a stop keeps it for the next run, and
    /// its outcome is taken out of the step.
    fn settle_outbox(&mut self, commands: Vec<Command>) -> Vec<Command> {
        let Some(outbox) = &mut self.outbox else {
            return commands;
        };
        let mut notes = Vec::new();
        let mut kept = Vec::new();
        let commands = commands
            .into_iter()
            .filter(|c| {
                let Command::Outcome { message, outcome } = c else {
                    return true;
                };
                if *outcome == Outcome::Failed(MessageFailure::ClientClose) {
                    if let Some(key) = outbox.keep(*message) {
                        kept.push((*message, key));
                        return false;
                    }
                    return true;
                }
                if let Err(e) = outbox.finish(*message) {
                    notes.push(format!(
                        "{e}; msg={message} stays in the outbox and is sent again after a restart"
                    ));
                }
                true
            })
            .collect();
        if let Ok(mut t) = self.tally.lock() {
            t.kept.extend(kept.iter().map(|&(id, key)| (id, key)));
        }
        for (message, key) in kept {
            self.emit(DeviceEvent::Kept { key, message });
        }
        for note in notes {
            self.emit(DeviceEvent::Outbox(note));
        }
        commands
    }

    /// Publish what an earlier run left in the outbox, in key order.
    fn resend(&mut self) -> anyhow::Result<()> {
        for record in std::mem::take(&mut self.recovered) {
            let step = self.device.publish(&record.topic, &record.payload)?;
            let (result, commands) = step.into_parts();
            match result {
                Ok(id) => {
                    if let Some(o) = &mut self.outbox {
                        o.bind(record.key, id);
                    }
                    if let Ok(mut t) = self.tally.lock() {
                        t.accepted.insert(id, record.seq);
                        t.accepted_at.insert(id, Instant::now());
                        t.resent.insert(id, record.key);
                    }
                }
                Err(_) => {
                    // It can never be sent (a payload over a new, lower limit, say):
                    // reported, and not kept to be refused at every start.
                    if let Ok(mut t) = self.tally.lock() {
                        t.refused = t.refused.saturating_add(1);
                    }
                    if let Some(Err(e)) = self.outbox.as_mut().map(|o| o.remove(record.key)) {
                        self.emit(DeviceEvent::Outbox(e.to_string()));
                    }
                }
            }
            self.emit(DeviceEvent::Resent {
                key: record.key,
                seq: record.seq,
                result,
            });
            self.handle(commands);
        }
        Ok(())
    }

    fn input(&mut self, input: Input) -> anyhow::Result<()> {
        if let Input::Received { topic, payload } = input {
            // Inbound messages go to the application; the component decides
            // nothing about them.
            if let Ok(mut t) = self.tally.lock() {
                t.received
                    .push((Instant::now(), topic.clone(), payload.clone()));
            }
            self.emit(DeviceEvent::Received { topic, payload });
            return Ok(());
        }
        let (text, step) = match &input {
            Input::Received { .. } => return Ok(()),
            Input::Opened(link) => (
                format!("on-opened link={link}"),
                self.device.on_opened(*link)?,
            ),
            Input::Failed(link, f) => (
                format!("on-failed link={link} {}", failure_text(f)),
                self.device.on_failed(*link, f)?,
            ),
            Input::Closed(link, f) => (
                format!("on-closed link={link} {}", failure_text(f)),
                self.device.on_closed(*link, f)?,
            ),
            Input::Acked(message) => (
                format!("on-acked msg={message}"),
                self.device.on_acked(*message)?,
            ),
            Input::Refused(message, f) => (
                format!("on-refused msg={message} {}", failure_text(f)),
                self.device.on_refused(*message, f)?,
            ),
            Input::Provisioned(result) => (
                format!("on-provisioned {}", provisioned_text(result)),
                self.device.on_provisioned(result)?,
            ),
            Input::Credential(result) => (
                match result {
                    Ok(c) => match c.lifetime_ms {
                        Some(ms) => format!("on-credential ok lifetime={ms}ms"),
                        None => "on-credential ok".to_string(),
                    },
                    Err(f) => format!("on-credential failed {}", failure_text(f)),
                },
                self.device.on_credential(result.as_ref())?,
            ),
        };
        // Acknowledgements are many and dull; report the rest.
        if !matches!(input, Input::Acked(_)) {
            match step.result {
                Ok(()) => self.emit(DeviceEvent::Input(text)),
                Err(e) => self.emit(DeviceEvent::Input(format!("{text} (not taken: {e:?})"))),
            }
        }
        self.handle(step.commands);
        Ok(())
    }

    fn subscribe(&mut self, filter: &str) -> anyhow::Result<Result<(), SubscribeError>> {
        let step = self.device.subscribe(filter)?;
        let result = step.result;
        self.emit(DeviceEvent::Input(match result {
            Ok(()) => format!("subscribe {filter}"),
            Err(e) => format!("subscribe {filter} refused {e:?}"),
        }));
        self.handle(step.commands);
        Ok(result)
    }

    fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        seq: Option<u64>,
    ) -> anyhow::Result<Result<u64, PublishError>> {
        // Stored before the component sees it: accepted means durable.
        let key = match &mut self.outbox {
            Some(o) => Some(o.store(topic, payload, seq)?),
            None => None,
        };
        let step = self.device.publish(topic, payload)?;
        let (result, commands) = step.into_parts();
        if let (Some(key), Some(o)) = (key, &mut self.outbox) {
            match result {
                Ok(id) => o.bind(key, id),
                Err(_) => {
                    if let Err(e) = o.remove(key) {
                        let note = format!("{e}; a refused message is sent after a restart");
                        self.emit(DeviceEvent::Outbox(note));
                    }
                }
            }
        }
        if let Ok(mut t) = self.tally.lock() {
            match result {
                Ok(id) => {
                    t.accepted.insert(id, seq);
                    t.accepted_at.insert(id, Instant::now());
                }
                Err(_) => t.refused = t.refused.saturating_add(1),
            }
        }
        self.emit(DeviceEvent::Published { seq, result });
        self.handle(commands);
        Ok(result)
    }

    fn publish_next(&mut self) -> anyhow::Result<()> {
        let Some(s) = &mut self.stream else {
            return Ok(());
        };
        let (seq, topic) = (s.next, s.topic.clone());
        s.next = s.next.saturating_add(1);
        s.published = s.published.saturating_add(1);
        // A refusal is tallied and reported; the stream goes on with the next number.
        match self.publish(&topic, seq.to_string().as_bytes(), Some(seq)) {
            Ok(_accepted) => Ok(()),
            // The outbox could not store it: not published, reported, and the
            // stream goes on (the store may have room again later).
            Err(e) if e.is::<super::outbox::OutboxError>() => {
                if let Ok(mut t) = self.tally.lock() {
                    t.refused = t.refused.saturating_add(1);
                }
                self.emit(DeviceEvent::Outbox(format!("{e}; seq={seq} not published")));
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn run(
        mut self,
        mut inputs: mpsc::UnboundedReceiver<Input>,
        mut requests: mpsc::UnboundedReceiver<Request>,
    ) -> anyhow::Result<()> {
        let step = self.device.start()?;
        if let Err(e) = step.result {
            anyhow::bail!("the connection did not start: {e:?}");
        }
        self.handle(step.commands);
        self.resend()?;
        let interval = self
            .stream
            .as_ref()
            .map_or(1000, |s| s.settings.interval_ms);
        let mut tick = tokio::time::interval(Duration::from_millis(interval));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let wake = self
                .device
                .next_wake()?
                .and_then(|ns| self.clock.instant_at(ns));
            let streaming = self.stream.as_ref().is_some_and(Stream::active);
            tokio::select! {
                Some(input) = inputs.recv() => self.input(input)?,
                request = requests.recv() => match request {
                    Some(Request::Publish { topic, payload, reply }) => {
                        let _ = reply.send(self.publish(&topic, &payload, None));
                    }
                    Some(Request::Subscribe { filter, reply }) => {
                        let _ = reply.send(self.subscribe(&filter));
                    }
                    Some(Request::Stream(on)) => {
                        if let Some(s) = &mut self.stream {
                            s.on = on;
                        }
                    }
                    Some(Request::Stop(reply)) => {
                        let result = self
                            .device
                            .stop()
                            .map(|step| self.handle(step.commands))
                            .map_err(anyhow::Error::new);
                        let ok = result.is_ok();
                        let _ = reply.send(result);
                        anyhow::ensure!(ok, "the component failed while stopping");
                        return Ok(());
                    }
                    // Every handle is gone: stop as if asked to.
                    None => {
                        let step = self.device.stop()?;
                        self.handle(step.commands);
                        return Ok(());
                    }
                },
                () = sleep_until(wake) => {
                    let step = self.device.on_wake()?;
                    self.handle(step.commands);
                }
                _ = tick.tick(), if streaming => self.publish_next()?,
            }
        }
    }
}

/// Sleep until `at`, or forever.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

fn provisioned_text(result: &ProvisioningResult) -> String {
    match result {
        ProvisioningResult::Assigned(a) => format!(
            "assigned hub={} device={}{}",
            a.hub,
            a.device_id,
            match &a.credential {
                Some(c) => match c.lifetime_ms {
                    Some(ms) => format!(" credential lifetime={ms}ms"),
                    None => " credential".to_string(),
                },
                None => String::new(),
            }
        ),
        ProvisioningResult::Pending(p) => match p.retry_after_ms {
            Some(ms) => format!("pending op={} retry-after={ms}ms", p.operation_id),
            None => format!("pending op={}", p.operation_id),
        },
        ProvisioningResult::Failed(f) => format!("failed {}", failure_text(f)),
    }
}

/// The IoT Hub telemetry topic of the device the file describes, from the
/// component: the connection string's device (or module), else the
/// connection's `device-id`, else the DPS registration id.
fn telemetry_topic(
    profile: &Profile,
    file: &DeviceFile,
    identity: &mut tether_host::Instance,
) -> Result<String, ConfigError> {
    let missing = || ConfigError {
        field: "publish.topic".into(),
        message: "missing, and no device id to make the telemetry topic from".into(),
    };
    let (device, module) = match profile {
        Profile::AzureIotHub(hub) => match &hub.identity {
            Some(id) => (id.device_id.clone(), id.module_id.clone()),
            None => (
                file.device_id
                    .clone()
                    .or_else(|| {
                        file.provisioning
                            .as_ref()
                            .map(|p| p.registration_id.clone())
                    })
                    .ok_or_else(missing)?,
                None,
            ),
        },
        _ => return Err(missing()),
    };
    identity
        .telemetry_topic(&device, module.as_deref(), &[])
        .map_err(|e| ConfigError {
            field: "publish.topic".into(),
            message: e.to_string(),
        })
}

/// The connection configuration, with the DPS enrollment's key as its hub-token
/// key when an IoT Hub device provisions with a symmetric key and names no key of
/// its own: the individual enrollment's key, or the device key the component
/// derives from the group's. The hub accepts tokens signed with the same key DPS
/// checked, so the device needs one secret, not two.
fn enrollment_key(
    file: &DeviceFile,
    identity: &mut tether_host::Instance,
) -> Result<String, ConfigError> {
    use crate::provisioning::Attestation;
    let (Profile::AzureIotHub(_), Some(p)) = (&file.profile, &file.provisioning) else {
        return Ok(file.connection.clone());
    };
    let key = match &p.attestation {
        Attestation::SymmetricKey(k) => k.expose().to_string(),
        Attestation::GroupKey(g) => identity
            .derive_device_key(g.expose(), &p.registration_id)
            .map_err(|e| ConfigError {
                field: "provisioning.group-key".into(),
                message: match e {
                    tether_host::Error::Config(c) => c.message,
                    other => other.to_string(),
                },
            })?,
        Attestation::X509 { .. } | Attestation::None => return Ok(file.connection.clone()),
    };
    let mut connection: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&file.connection).unwrap_or_default();
    if connection.contains_key("connection-string") {
        return Ok(file.connection.clone());
    }
    let credential = connection
        .entry("credential")
        .or_insert_with(|| serde_json::json!({}));
    if let Some(c) = credential.as_object_mut()
        && !c.contains_key("sas")
    {
        c.insert("sas".into(), serde_json::json!({ "key": key }));
    }
    Ok(serde_json::Value::Object(connection).to_string())
}

/// One event as a line for `tether run`: the text of the command or input.
pub fn event_text(event: &DeviceEvent) -> String {
    match event {
        DeviceEvent::Input(text) => text.clone(),
        // A real device's secrets are real: a SAS token shows only its expiry
        // (command_text), anything else not at all.
        DeviceEvent::Command(Command::Open {
            link,
            hub,
            device_id,
            credential,
        }) => command_text(&Command::Open {
            link: *link,
            hub: hub.clone(),
            device_id: device_id.clone(),
            credential: credential.as_ref().map(|c| {
                if c.starts_with("SharedAccessSignature ") {
                    c.clone()
                } else {
                    "<redacted>".to_string()
                }
            }),
        }),
        DeviceEvent::Command(c) => command_text(c),
        DeviceEvent::Received { topic, payload } => {
            format!("received topic={topic} bytes={}", payload.len())
        }
        DeviceEvent::Published { seq, result } => match (seq, result) {
            (Some(seq), Ok(id)) => format!("publish seq={seq} msg={id}"),
            (None, Ok(id)) => format!("publish msg={id}"),
            (Some(seq), Err(e)) => format!("publish seq={seq} refused {e:?}"),
            (None, Err(e)) => format!("publish refused {e:?}"),
        },
        DeviceEvent::Resent { key, seq, result } => {
            let seq = seq.map(|s| format!(" seq={s}")).unwrap_or_default();
            match result {
                Ok(id) => format!("publish{seq} msg={id} resent key={key}"),
                Err(e) => format!("publish{seq} resent key={key} refused {e:?}"),
            }
        }
        DeviceEvent::Kept { key, message } => format!("kept msg={message} key={key}"),
        DeviceEvent::Outbox(text) => text.clone(),
    }
}
