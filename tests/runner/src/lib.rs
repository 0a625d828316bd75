//! Conformance vectors (`tests/conformance/vectors/*.json`, specified in
//! `tests/conformance/FORMAT.md`): reading them, replaying their inputs through the
//! component, and rendering the canonical line for each.
//!
//! This is the Rust runner's whole logic, shared by the `conformance` binary, the
//! `conformance-gen` generator and the `conformance` test (through
//! `tether_tests::conformance`), and by `tether-conformance`, the runner that loads a
//! precompiled component with no compiler (so it cross-builds for ARM devices and
//! runs there under qemu, tests/arm.rs). It decides nothing: it
//! converts a vector's JSON into the WIT values, calls the component at the given
//! virtual times, and spells what the component said. The Python, Node and C
//! runners do the same from FORMAT.md, and their output must match this one byte
//! for byte.
//!
//! Test support, and one file on purpose: it is the reference runner the other
//! languages' runners are read against, so it stays readable top to bottom.

use std::path::{Path, PathBuf};

pub mod identity;

use anyhow::{Context as _, anyhow, bail, ensure};
use serde::{Deserialize, Serialize};
use tether_host::names::{
    APPLICATION_ERRORS, NETWORK_ERRORS, curve_name, give_up_name, level_name, message_failure_name,
    reason_name, status_name, verdict_name,
};
use tether_host::{
    Action, Assignment, Classification, Command, ConfigError, Conn, Credential, Decision, Entropy,
    Failure, FailureKind, HttpFailure, InputError, Instance, NS_PER_MS, Outcome, Pending,
    ProtocolError, ProvisioningResult, PublishError, Runtime, SubscribeError, VirtualClock,
};

/// The separator between the items of a flow line.
pub const ITEM_SEPARATOR: &str = " ; ";

/// Splits the component's verdict on a configuration or policy (the inner result)
/// from a host failure (the outer one).
///
/// # Errors
/// The host failure: anything but the component's configuration error.
pub fn config_verdict<T>(result: tether_host::Result<T>) -> anyhow::Result<Result<T, ConfigError>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(tether_host::Error::Config(e)) => Ok(Err(e)),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------
// The vector document
// ---------------------------------------------------------------------------------

/// What a vector exercises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `decisions.classify` of one failure.
    Classify,
    /// `decisions.validate-config` of one document.
    Validate,
    /// A `retry-schedule` asked for its decisions, one failure at a time.
    Schedule,
    /// A `connection` driven by inputs at virtual times.
    Flow,
    /// One call of the `identity` interface.
    Identity,
}

impl Kind {
    /// Every kind, in the order reports list them.
    pub const ALL: [Kind; 5] = [
        Kind::Classify,
        Kind::Validate,
        Kind::Schedule,
        Kind::Flow,
        Kind::Identity,
    ];

    /// The kind's name in vectors.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Classify => "classify",
            Kind::Validate => "validate",
            Kind::Schedule => "schedule",
            Kind::Flow => "flow",
            Kind::Identity => "identity",
        }
    }
}

/// One vector file. Field order here is the order the file is written in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Vector {
    /// Unique; the line is printed as `<name>: <line>`.
    pub name: String,
    /// What it exercises.
    pub kind: Kind,
    /// A sentence for readers; runners ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// `classify`: the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureJson>,
    /// `validate` and `flow`: the configuration document, as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// `schedule`: the policy document, as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// `schedule`: the jitter seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// `schedule`: one item per `next` call; `None` is a plain failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<Option<FailureJson>>>,
    /// `schedule`: the `elapsed-ms` of each step (same length as `steps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<Vec<Option<u64>>>,
    /// `flow`: the inputs, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Event>>,
    /// `identity`: the call, by its WIT name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// `identity`: the call's arguments, an object keyed by the WIT's parameter names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<serde_json::Value>,
    /// The canonical line (without `<name>: `); absent until blessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

/// A failure as vectors write it: exactly one kind key, plus optional hints.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FailureJson {
    /// `dns`, `refused`, `reset`, `unreachable`, `timeout`, `tls`, `closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// An MQTT 3.1.1 CONNACK return code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt_connack: Option<u8>,
    /// An MQTT 5 reason code (decimal in JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt_reason: Option<u8>,
    /// An AMQP condition symbol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amqp: Option<String>,
    /// An HTTP status with an optional IoT-hub code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpJson>,
    /// `keep-alive-lost`, `session-expired`, `link-detached`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Any `application-error` case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// The server's retry-after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// Another server to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_reference: Option<String>,
}

/// `{"status": 403, "hub-code": 403002}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpJson {
    /// The HTTP status.
    pub status: u16,
    /// The IoT-hub six-digit code, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_code: Option<u32>,
}

/// The input of a flow event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    /// `start()`.
    Start,
    /// `on-opened(link)`.
    Opened,
    /// `on-failed(link, failure)`.
    Failed,
    /// `on-closed(link, failure)`.
    Closed,
    /// `on-acked(message)`.
    Acked,
    /// `on-refused(message, failure)`.
    Refused,
    /// `on-provisioned(..)`.
    Provisioned,
    /// `on-credential(..)`.
    Credential,
    /// `on-wake()`.
    Wake,
    /// `publish(topic, payload)`.
    Publish,
    /// `subscribe(topic)` (the topic is a filter).
    Subscribe,
    /// `stop()`.
    Stop,
}

/// One flow input at a virtual time. Which optional fields belong to which input
/// is in FORMAT.md; [`Event::to_input`] checks it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Event {
    /// Virtual time, ms.
    pub at: u64,
    /// Which input.
    pub input: InputKind,
    /// `opened`, `failed`, `closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<u64>,
    /// `failed`, `closed`, `refused`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureJson>,
    /// `acked`, `refused`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<u64>,
    /// `provisioned`: the assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned: Option<AssignedJson>,
    /// `provisioned`: still pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingJson>,
    /// `provisioned`: the request failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<FailureJson>,
    /// `credential`: a fresh credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<CredentialJson>,
    /// `credential`: the renewal failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FailureJson>,
    /// `publish`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// `publish`: UTF-8 text, sent as its bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// `{"hub": .., "device-id": .., "credential": {..}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AssignedJson {
    /// The assigned hub.
    pub hub: String,
    /// The device identity on it.
    pub device_id: String,
    /// A credential for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialJson>,
}

/// `{"operation-id": .., "retry-after-ms": ..}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PendingJson {
    /// The operation to poll.
    pub operation_id: String,
    /// When to poll, as the service asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

/// `{"secret": .., "lifetime-ms": ..}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CredentialJson {
    /// The opaque secret.
    pub secret: String,
    /// Its lifetime from now, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_ms: Option<u64>,
}

// ---------------------------------------------------------------------------------
// JSON to WIT values
// ---------------------------------------------------------------------------------

impl FailureJson {
    /// The WIT failure. Exactly one kind key must be present.
    pub fn to_failure(&self) -> anyhow::Result<Failure> {
        let mut kinds: Vec<FailureKind> = Vec::new();
        if let Some(name) = &self.network {
            let e = NETWORK_ERRORS
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, e)| *e)
                .ok_or_else(|| anyhow!("unknown network error {name:?}"))?;
            kinds.push(FailureKind::Network(e));
        }
        if let Some(code) = self.mqtt_connack {
            kinds.push(FailureKind::Protocol(ProtocolError::MqttConnack(code)));
        }
        if let Some(code) = self.mqtt_reason {
            kinds.push(FailureKind::Protocol(ProtocolError::MqttReason(code)));
        }
        if let Some(condition) = &self.amqp {
            kinds.push(FailureKind::Protocol(ProtocolError::Amqp(
                condition.clone(),
            )));
        }
        if let Some(http) = &self.http {
            kinds.push(FailureKind::Protocol(ProtocolError::Http(HttpFailure {
                status: http.status,
                hub_code: http.hub_code,
            })));
        }
        if let Some(name) = &self.protocol {
            let e = match name.as_str() {
                "keep-alive-lost" => ProtocolError::KeepAliveLost,
                "session-expired" => ProtocolError::SessionExpired,
                "link-detached" => ProtocolError::LinkDetached,
                other => bail!("unknown protocol failure {other:?}"),
            };
            kinds.push(FailureKind::Protocol(e));
        }
        if let Some(name) = &self.application {
            let e = APPLICATION_ERRORS
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, e)| *e)
                .ok_or_else(|| anyhow!("unknown application error {name:?}"))?;
            kinds.push(FailureKind::Application(e));
        }
        let kind = match kinds.len() {
            1 => kinds.pop().ok_or_else(|| anyhow!("no failure kind"))?,
            0 => bail!("a failure needs one kind key (network, mqtt-connack, ...)"),
            n => bail!("a failure has {n} kind keys; exactly one is allowed"),
        };
        Ok(Failure {
            kind,
            retry_after_ms: self.retry_after_ms,
            server_reference: self.server_reference.clone(),
        })
    }
}

impl CredentialJson {
    /// The WIT credential.
    pub fn to_credential(&self) -> Credential {
        Credential {
            secret: self.secret.clone(),
            lifetime_ms: self.lifetime_ms,
        }
    }
}

/// A flow input as WIT values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// `start()`.
    Start,
    /// `on-opened(link)`.
    Opened(u64),
    /// `on-failed(link, failure)`.
    Failed(u64, Failure),
    /// `on-closed(link, failure)`.
    Closed(u64, Failure),
    /// `on-acked(message)`.
    Acked(u64),
    /// `on-refused(message, failure)`.
    Refused(u64, Failure),
    /// `on-provisioned(result)`.
    Provisioned(ProvisioningResult),
    /// `on-credential(result)`.
    Credential(Result<Credential, Failure>),
    /// `on-wake()`.
    Wake,
    /// `publish(topic, payload)`.
    Publish(String, Vec<u8>),
    /// `subscribe(filter)`.
    Subscribe(String),
    /// `stop()`.
    Stop,
}

impl Event {
    /// The input, after checking that exactly the fields it takes are present.
    pub fn to_input(&self) -> anyhow::Result<Input> {
        let present: Vec<&str> = [
            ("link", self.link.is_some()),
            ("failure", self.failure.is_some()),
            ("message", self.message.is_some()),
            ("assigned", self.assigned.is_some()),
            ("pending", self.pending.is_some()),
            ("failed", self.failed.is_some()),
            ("ok", self.ok.is_some()),
            ("error", self.error.is_some()),
            ("topic", self.topic.is_some()),
            ("payload", self.payload.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        let allowed: &[&str] = match self.input {
            InputKind::Start | InputKind::Wake | InputKind::Stop => &[],
            InputKind::Opened => &["link"],
            InputKind::Failed | InputKind::Closed => &["link", "failure"],
            InputKind::Acked => &["message"],
            InputKind::Refused => &["message", "failure"],
            InputKind::Provisioned => &["assigned", "pending", "failed"],
            InputKind::Credential => &["ok", "error"],
            InputKind::Publish => &["topic", "payload"],
            InputKind::Subscribe => &["topic"],
        };
        if let Some(extra) = present.iter().find(|f| !allowed.contains(f)) {
            bail!("input {:?} does not take `{extra}`", self.input);
        }
        let link = || self.link.ok_or_else(|| anyhow!("`link` is missing"));
        let failure = || {
            self.failure
                .as_ref()
                .ok_or_else(|| anyhow!("`failure` is missing"))?
                .to_failure()
        };
        Ok(match self.input {
            InputKind::Start => Input::Start,
            InputKind::Wake => Input::Wake,
            InputKind::Stop => Input::Stop,
            InputKind::Opened => Input::Opened(link()?),
            InputKind::Failed => Input::Failed(link()?, failure()?),
            InputKind::Closed => Input::Closed(link()?, failure()?),
            InputKind::Acked => Input::Acked(
                self.message
                    .ok_or_else(|| anyhow!("`message` is missing"))?,
            ),
            InputKind::Refused => Input::Refused(
                self.message
                    .ok_or_else(|| anyhow!("`message` is missing"))?,
                failure()?,
            ),
            InputKind::Provisioned => {
                let result = match (&self.assigned, &self.pending, &self.failed) {
                    (Some(a), None, None) => ProvisioningResult::Assigned(Assignment {
                        hub: a.hub.clone(),
                        device_id: a.device_id.clone(),
                        credential: a.credential.as_ref().map(CredentialJson::to_credential),
                    }),
                    (None, Some(p), None) => ProvisioningResult::Pending(Pending {
                        operation_id: p.operation_id.clone(),
                        retry_after_ms: p.retry_after_ms,
                    }),
                    (None, None, Some(f)) => ProvisioningResult::Failed(f.to_failure()?),
                    _ => bail!("`provisioned` takes exactly one of assigned, pending, failed"),
                };
                Input::Provisioned(result)
            }
            InputKind::Credential => match (&self.ok, &self.error) {
                (Some(c), None) => Input::Credential(Ok(c.to_credential())),
                (None, Some(f)) => Input::Credential(Err(f.to_failure()?)),
                _ => bail!("`credential` takes exactly one of ok, error"),
            },
            InputKind::Subscribe => Input::Subscribe(
                self.topic
                    .clone()
                    .ok_or_else(|| anyhow!("`topic` is missing"))?,
            ),
            InputKind::Publish => Input::Publish(
                self.topic
                    .clone()
                    .ok_or_else(|| anyhow!("`topic` is missing"))?,
                self.payload
                    .clone()
                    .ok_or_else(|| anyhow!("`payload` is missing"))?
                    .into_bytes(),
            ),
        })
    }
}

// ---------------------------------------------------------------------------------
// Rendering (names as the WIT spells them; nothing is decided here)
// ---------------------------------------------------------------------------------

/// The WIT name of an input error.
pub fn input_error_name(e: InputError) -> &'static str {
    match e {
        InputError::StaleLink => "stale-link",
        InputError::Unexpected => "unexpected",
        InputError::UnknownMessage => "unknown-message",
        InputError::Stopped => "stopped",
    }
}

/// The WIT name of a publish error.
pub fn publish_error_name(e: PublishError) -> &'static str {
    match e {
        PublishError::QueueFull => "queue-full",
        PublishError::PayloadTooLarge => "payload-too-large",
        PublishError::EmptyTopic => "empty-topic",
        PublishError::Stopped => "stopped",
    }
}

/// The WIT name of a subscribe error.
pub fn subscribe_error_name(e: SubscribeError) -> &'static str {
    match e {
        SubscribeError::EmptyFilter => "empty-filter",
        SubscribeError::TooMany => "too-many",
        SubscribeError::Stopped => "stopped",
    }
}

/// `error <field>: <message>`.
pub fn config_error_line(e: &ConfigError) -> String {
    format!("error {}: {}", e.field, e.message)
}

/// `<level> <verdict> <reason> <rule>`.
pub fn classification_line(c: &Classification) -> String {
    format!(
        "{} {} {} {}",
        level_name(c.level),
        verdict_name(c.verdict),
        reason_name(c.reason),
        c.rule
    )
}

/// A number of ms, or `give-up:<reason>`.
pub fn decision_word(d: &Decision) -> String {
    match d {
        Decision::RetryAfter(ms) => ms.to_string(),
        Decision::GiveUp(why) => format!("give-up:{}", give_up_name(*why)),
    }
}

/// The action of a `decide` item.
pub fn action_item(action: &Action) -> String {
    match action {
        Action::Connect(p) => format!("connect {} {} {}", p.link, p.hub, p.attempt),
        Action::Backoff(p) => format!(
            "backoff {} {} {} {}",
            p.delay_ms,
            p.attempt,
            curve_name(p.curve),
            if p.then_provision {
                "provision"
            } else {
                "reconnect"
            }
        ),
        Action::RenewCredential(true) => "renew-credential routine".to_string(),
        Action::RenewCredential(false) => "renew-credential after-failure".to_string(),
        Action::Provision => "provision".to_string(),
        Action::PollProvisioning(ms) => format!("poll-provisioning {ms}"),
        Action::GiveUp(why) => format!("give-up {}", give_up_name(*why)),
    }
}

/// The item of one import call.
pub fn command_item(command: &Command) -> String {
    match command {
        Command::Open {
            link,
            hub,
            device_id,
            credential,
        } => format!(
            "open {link} {hub} {} {}",
            device_id.as_deref().unwrap_or("-"),
            credential.as_deref().unwrap_or("-")
        ),
        Command::Send {
            link,
            message,
            topic,
            payload,
        } => format!("send {link} {message} {topic} {}", payload.len()),
        Command::Subscribe { link, filters } => format!("subscribe {link} {}", filters.join(",")),
        Command::Close { link } => format!("close {link}"),
        Command::Register => "register".to_string(),
        Command::Poll { operation_id } => format!("poll {operation_id}"),
        Command::Renew => "renew".to_string(),
        Command::Status(change) => format!(
            "status {} {}",
            status_name(change.status),
            reason_name(change.reason)
        ),
        Command::Decided(event) => format!(
            "decide {} cause={}",
            action_item(&event.action),
            event.cause.as_ref().map_or("-", |c| c.rule.as_str())
        ),
        Command::Outcome { message, outcome } => match outcome {
            Outcome::Delivered => format!("outcome {message} delivered"),
            Outcome::Failed(why) => {
                format!("outcome {message} failed {}", message_failure_name(*why))
            }
        },
        Command::WakeAt(ns) => format!("wake-at {}", ns / NS_PER_MS),
        // No vector runs a custom policy (its plugin is host-specific); the line
        // is the transcript's.
        Command::PluginFault(fault) => tether_host::names::plugin_fault_text(fault),
    }
}

// ---------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------

/// A fresh instance on a virtual clock at 0. Vectors always give a seed, so the
/// entropy is never read; it is fixed anyway.
pub fn fresh_instance(runtime: &Runtime) -> anyhow::Result<(Instance, VirtualClock)> {
    let clock = VirtualClock::new();
    let instance = runtime.instantiate(clock.clone(), Entropy::fixed(0))?;
    Ok((instance, clock))
}

/// A field a kind requires.
fn required<'a, T>(value: &'a Option<T>, field: &str, kind: Kind) -> anyhow::Result<&'a T> {
    value
        .as_ref()
        .ok_or_else(|| anyhow!("a {} vector needs `{field}`", kind.name()))
}

/// What one flow input produced: its own result item, if any, and the import calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// `input-error ..`, `published ..` or `publish-error ..`.
    pub result: Option<String>,
    /// The import calls the input caused, in order.
    pub commands: Vec<Command>,
}

impl Applied {
    /// The items of this input, `t=<at>` first.
    pub fn items(&self, at: u64) -> Vec<String> {
        let mut items = vec![format!("t={at}")];
        items.extend(self.result.iter().cloned());
        items.extend(self.commands.iter().map(command_item));
        items
    }
}

/// One `connection` on its own instance and virtual clock: a flow vector in
/// progress.
#[derive(Debug)]
pub struct Flow {
    instance: Instance,
    conn: Conn,
    clock: VirtualClock,
}

impl Flow {
    /// Create the connection from `config` at virtual time 0. The inner error is the
    /// component's verdict on the configuration.
    pub fn create(runtime: &Runtime, config: &str) -> anyhow::Result<Result<Self, ConfigError>> {
        let (mut instance, clock) = fresh_instance(runtime)?;
        Ok(
            config_verdict(instance.create_connection(config))?.map(|conn| Self {
                instance,
                conn,
                clock,
            }),
        )
    }

    /// The virtual time, in ms.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Set the clock to `at` ms and deliver `input`.
    pub fn apply(&mut self, at: u64, input: &Input) -> anyhow::Result<Applied> {
        let now = self.clock.now_ms();
        ensure!(
            at >= now,
            "event at {at} ms follows one at {now} ms: times never decrease"
        );
        self.clock.set_ms(at);
        let (i, c) = (&mut self.instance, &self.conn);
        let input_result = |step: tether_host::Step<Result<(), InputError>>| {
            let (result, commands) = step.into_parts();
            Applied {
                result: result
                    .err()
                    .map(|e| format!("input-error {}", input_error_name(e))),
                commands,
            }
        };
        let no_result = |step: tether_host::Step<()>| Applied {
            result: None,
            commands: step.commands,
        };
        Ok(match input {
            Input::Start => input_result(i.start(c)?),
            Input::Opened(link) => input_result(i.on_opened(c, *link)?),
            Input::Failed(link, f) => input_result(i.on_failed(c, *link, f)?),
            Input::Closed(link, f) => input_result(i.on_closed(c, *link, f)?),
            Input::Acked(message) => input_result(i.on_acked(c, *message)?),
            Input::Refused(message, f) => input_result(i.on_refused(c, *message, f)?),
            Input::Provisioned(r) => input_result(i.on_provisioned(c, r)?),
            Input::Credential(r) => input_result(i.on_credential(c, r.as_ref())?),
            Input::Wake => no_result(i.on_wake(c)?),
            Input::Stop => no_result(i.stop(c)?),
            Input::Subscribe(filter) => {
                let (result, commands) = i.subscribe(c, filter)?.into_parts();
                Applied {
                    result: Some(match result {
                        Ok(()) => "subscribed".to_string(),
                        Err(e) => format!("subscribe-error {}", subscribe_error_name(e)),
                    }),
                    commands,
                }
            }
            Input::Publish(topic, payload) => {
                let (result, commands) = i.publish(c, topic, payload)?.into_parts();
                Applied {
                    result: Some(match result {
                        Ok(id) => format!("published {id}"),
                        Err(e) => format!("publish-error {}", publish_error_name(e)),
                    }),
                    commands,
                }
            }
        })
    }
}

/// The canonical line of `vector` (without `<name>: `). An `Err` means the vector
/// is malformed or the host broke, never an answer of the component.
pub fn run_vector(runtime: &Runtime, vector: &Vector) -> anyhow::Result<String> {
    let kind = vector.kind;
    match kind {
        Kind::Classify => {
            let failure = required(&vector.failure, "failure", kind)?.to_failure()?;
            let (mut instance, _) = fresh_instance(runtime)?;
            Ok(classification_line(&instance.classify(&failure)?))
        }
        Kind::Validate => {
            let config = required(&vector.config, "config", kind)?;
            let (mut instance, _) = fresh_instance(runtime)?;
            Ok(match config_verdict(instance.validate_config(config))? {
                Ok(()) => "ok".to_string(),
                Err(e) => config_error_line(&e),
            })
        }
        Kind::Schedule => run_schedule(runtime, vector),
        Kind::Flow => {
            let config = required(&vector.config, "config", kind)?;
            let events = required(&vector.events, "events", kind)?;
            let mut flow = match Flow::create(runtime, config)? {
                Ok(flow) => flow,
                Err(e) => return Ok(config_error_line(&e)),
            };
            let mut items = Vec::new();
            for (n, event) in events.iter().enumerate() {
                let input = event
                    .to_input()
                    .with_context(|| format!("event {n} (at {} ms)", event.at))?;
                items.extend(flow.apply(event.at, &input)?.items(event.at));
            }
            Ok(items.join(ITEM_SEPARATOR))
        }
        Kind::Identity => {
            let call = required(&vector.call, "call", kind)?;
            let args = required(&vector.args, "args", kind)?;
            identity::run(runtime, call, args)
        }
    }
}

fn run_schedule(runtime: &Runtime, vector: &Vector) -> anyhow::Result<String> {
    let kind = Kind::Schedule;
    let policy = required(&vector.policy, "policy", kind)?;
    let seed = *required(&vector.seed, "seed", kind)?;
    let steps = required(&vector.steps, "steps", kind)?;
    ensure!(
        !steps.is_empty(),
        "a schedule vector needs at least one step"
    );
    let elapsed: Vec<Option<u64>> = match &vector.elapsed_ms {
        None => vec![None; steps.len()],
        Some(list) => {
            ensure!(
                list.len() == steps.len(),
                "`elapsed-ms` has {} items, `steps` {}",
                list.len(),
                steps.len()
            );
            list.clone()
        }
    };
    let (mut instance, _) = fresh_instance(runtime)?;
    let schedule = match config_verdict(instance.create_schedule(policy, seed))? {
        Ok(s) => s,
        Err(e) => return Ok(config_error_line(&e)),
    };
    let mut words = Vec::new();
    for (step, elapsed) in steps.iter().zip(elapsed) {
        let failure = step.as_ref().map(FailureJson::to_failure).transpose()?;
        let decision = instance.schedule_next(&schedule, failure.as_ref(), elapsed)?;
        words.push(decision_word(&decision));
        if matches!(decision, Decision::GiveUp(_)) {
            break;
        }
    }
    Ok(words.join(" "))
}

// ---------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------

/// A vector and the file it came from.
#[derive(Clone, Debug)]
pub struct VectorFile {
    /// The file.
    pub path: PathBuf,
    /// The vector in it.
    pub vector: Vector,
}

/// The `*.json` files directly in `dir`, sorted by file name (byte order).
pub fn vector_paths(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(paths)
}

/// Read one vector file.
pub fn read_vector(path: &Path) -> anyhow::Result<Vector> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Every vector in `dir`, in file-name order. Names must be unique.
pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<VectorFile>> {
    let mut files: Vec<VectorFile> = Vec::new();
    for path in vector_paths(dir)? {
        let vector = read_vector(&path)?;
        if let Some(other) = files.iter().find(|f| f.vector.name == vector.name) {
            bail!(
                "vector name {:?} is used by {} and {}",
                vector.name,
                other.path.display(),
                path.display()
            );
        }
        files.push(VectorFile { path, vector });
    }
    Ok(files)
}

/// One line of JSON with a space after each `:` and `,`: `{"at": 0, "input": "start"}`.
struct OneLine;

impl serde_json::ser::Formatter for OneLine {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
}

/// `value` as one line of JSON (see [`OneLine`]).
fn one_line<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<String> {
    let mut out = Vec::new();
    value.serialize(&mut serde_json::Serializer::with_formatter(
        &mut out, OneLine,
    ))?;
    Ok(String::from_utf8(out)?)
}

/// A list with one item per line.
fn list<T: Serialize>(items: &[T]) -> anyhow::Result<String> {
    if items.is_empty() {
        return Ok("[]".to_string());
    }
    let lines = items
        .iter()
        .map(|item| one_line(item).map(|l| format!("    {l}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(format!("[\n{}\n  ]", lines.join(",\n")))
}

/// The file text of a vector: an object with one key per line, in the order of
/// [`Vector`]'s fields; lists with one item per line, each item one line of JSON.
/// Stable: the same vector always gives the same bytes.
pub fn render_file(v: &Vector) -> anyhow::Result<String> {
    let mut entries: Vec<(&str, String)> =
        vec![("name", one_line(&v.name)?), ("kind", one_line(&v.kind)?)];
    if let Some(about) = &v.about {
        entries.push(("about", one_line(about)?));
    }
    if let Some(failure) = &v.failure {
        entries.push(("failure", one_line(failure)?));
    }
    if let Some(config) = &v.config {
        entries.push(("config", one_line(config)?));
    }
    if let Some(policy) = &v.policy {
        entries.push(("policy", one_line(policy)?));
    }
    if let Some(seed) = &v.seed {
        entries.push(("seed", one_line(seed)?));
    }
    if let Some(steps) = &v.steps {
        entries.push(("steps", list(steps)?));
    }
    if let Some(elapsed) = &v.elapsed_ms {
        entries.push(("elapsed-ms", one_line(elapsed)?));
    }
    if let Some(events) = &v.events {
        entries.push(("events", list(events)?));
    }
    if let Some(call) = &v.call {
        entries.push(("call", one_line(call)?));
    }
    if let Some(args) = &v.args {
        entries.push(("args", one_line(args)?));
    }
    if let Some(expected) = &v.expected {
        entries.push(("expected", one_line(expected)?));
    }
    let body: Vec<String> = entries
        .into_iter()
        .map(|(key, text)| format!("  \"{key}\": {text}"))
        .collect();
    let text = format!("{{\n{}\n}}\n", body.join(",\n"));
    // What is written must read back as the same vector.
    let back: Vector = serde_json::from_str(&text)?;
    ensure!(
        &back == v,
        "a vector does not survive writing and reading back"
    );
    Ok(text)
}

/// Write `vector` to `path` if the file's text would change. Returns whether it
/// wrote.
pub fn write_vector(path: &Path, vector: &Vector) -> anyhow::Result<bool> {
    let text = render_file(vector)?;
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    // Write then rename, so that a runner reading the directory meanwhile never
    // sees half a file (the temporary name does not end in `.json`).
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(true)
}

/// The output of a runner: `<name>: <line>\n` per vector, in file-name order.
pub fn output_line(name: &str, line: &str) -> String {
    format!("{name}: {line}\n")
}

/// Where two runner outputs first differ, as a message; `None` when identical.
pub fn first_difference(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let mut exp = expected.split_inclusive('\n');
    let mut act = actual.split_inclusive('\n');
    let mut n = 0usize;
    loop {
        n = n.saturating_add(1);
        let (e, a) = (exp.next(), act.next());
        if e != a {
            let show =
                |l: Option<&str>| l.map_or("(end of output)".to_string(), |t| format!("{t:?}"));
            return Some(format!(
                "first difference at line {n}:\n  rust:  {}\n  other: {}",
                show(e),
                show(a)
            ));
        }
        if e.is_none() {
            // Unreachable: equal iterators to the end mean equal strings.
            return Some("outputs differ".to_string());
        }
    }
}
