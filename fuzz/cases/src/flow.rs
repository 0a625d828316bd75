//! The fuzz target's logic: arbitrary configurations and input sequences, mapped
//! onto the DST harness (the component through `tether_host`, checked by the
//! reference model) and onto the native core, which must agree command for command.
//!
//! One file on purpose: the mapping from fuzz bytes to inputs and the two replays
//! it feeds must change together.

use arbitrary::Arbitrary;
use tether_core::connection::{Command as NCommand, Connection as NConnection};
use tether_core::types as n;
use tether_sim::dst::{
    Answer, CredentialSpec, Harness, Input, JitterSpec, KindSpec, LimitsSpec, PRESETS, PolicySpec,
    ProvisioningSpec, QueueSpec, Spec,
};
// The errors come from tether_host's own list (WIT order), not a copy kept here.
use tether_host::names::{APPLICATION_ERRORS, NETWORK_ERRORS};
use tether_host::{
    Action, ApplicationError, Assignment, BackoffPlan, Classification, Command, ConnectPlan,
    Credential, Curve, Decision, DecisionEvent, Failure, FailureKind, GiveUpReason, HttpFailure,
    InputError, Level, MessageFailure, NetworkError, Outcome, Pending, PluginFaultReason,
    PluginFaultReport, ProtocolError, ProvisioningResult, PublishError, Reason, Runtime, Status,
    StatusChange, Verdict,
};

/// One fuzz case: a configuration and what happens to the device.
#[derive(Arbitrary, Debug)]
pub struct Case {
    /// The configuration.
    pub config: ConfigOp,
    /// The inputs, in order.
    pub ops: Vec<Op>,
}

/// A configuration, valid by construction.
#[derive(Arbitrary, Debug)]
#[allow(missing_docs)]
pub struct ConfigOp {
    pub seed: u64,
    pub hub: bool,
    pub provisioning: Option<ProvisioningOp>,
    pub renewable: Option<bool>,
    pub percent: Option<u8>,
    pub secret: bool,
    pub lifetime: Option<u32>,
    pub kind: KindOp,
    pub throttled: Option<KindOp>,
    pub limits: LimitsOp,
    pub capacity: Option<u8>,
    pub window: Option<u8>,
    pub op_timeout: Option<u32>,
    pub reject: Option<bool>,
    pub max_payload: Option<u8>,
}

/// The provisioning section: reprovision-after, the retry-after window (its lower
/// bound and its span) and the default poll interval.
#[derive(Arbitrary, Debug, Clone, Copy)]
#[allow(missing_docs)]
pub struct ProvisioningOp {
    pub after: Option<u8>,
    pub lo: Option<u16>,
    pub span: Option<u32>,
    pub poll: Option<u16>,
}

/// A policy kind and its formula fields.
#[derive(Arbitrary, Debug, Clone)]
#[allow(missing_docs)]
pub enum KindOp {
    Default,
    Exponential {
        initial: Option<u16>,
        multiplier: Option<u16>,
        span: Option<u32>,
        jitter: u8,
        percent: Option<u8>,
        first: Option<bool>,
    },
    Fixed {
        interval: Option<u32>,
        first: Option<u32>,
    },
    Linear {
        initial: Option<u16>,
        step: Option<u32>,
        span: Option<u32>,
    },
    Immediate,
    Random {
        min: Option<u16>,
        span: Option<u32>,
    },
    Decorrelated {
        base: Option<u16>,
        span: Option<u32>,
    },
    NoRetry,
    Preset(u8),
}

/// The policy limits.
#[derive(Arbitrary, Debug)]
#[allow(missing_docs)]
pub struct LimitsOp {
    pub max_attempts: Option<u8>,
    pub retry_timeout: Option<u32>,
    pub max_delay: Option<u32>,
    pub min_interval: Option<u16>,
    pub reset_after: Option<u32>,
    pub ra_min: Option<u32>,
    pub ra_max: Option<u32>,
}

/// One thing that happens.
#[derive(Arbitrary, Debug)]
#[allow(missing_docs)]
pub enum Op {
    Start,
    Stop,
    Publish {
        empty_topic: bool,
        len: u8,
    },
    Advance(u16),
    AdvanceLong(u32),
    /// Move to the deadline the component asked for and wake it.
    ToDeadline,
    /// Move to one millisecond before that deadline and wake it (must do nothing).
    JustBeforeDeadline,
    Wake,
    Opened(LinkSel),
    Failed(LinkSel, FailureOp),
    Closed(LinkSel, FailureOp),
    Acked(MsgSel),
    Provisioned(ProvOp),
    CredentialOk {
        lifetime: Option<u32>,
    },
    CredentialErr(FailureOp),
}

/// Which link a report is about.
#[derive(Arbitrary, Debug, Clone, Copy)]
#[allow(missing_docs)]
pub enum LinkSel {
    Current,
    Last,
    Other(u8),
}

/// Which message an ack is about.
#[derive(Arbitrary, Debug, Clone, Copy)]
#[allow(missing_docs)]
pub enum MsgSel {
    InFlight(u8),
    Last,
    Other(u8),
}

/// A failure, from any family.
#[derive(Arbitrary, Debug, Clone)]
#[allow(missing_docs)]
pub struct FailureOp {
    pub kind: KindF,
    pub hint: Option<HintOp>,
    pub server: Option<bool>,
}

/// A server retry-after.
#[derive(Arbitrary, Debug, Clone, Copy)]
#[allow(missing_docs)]
pub enum HintOp {
    Small(u16),
    Large(u32),
    Max,
    Any(u64),
}

/// A failure's kind.
#[derive(Arbitrary, Debug, Clone)]
#[allow(missing_docs)]
pub enum KindF {
    Net(u8),
    Connack(u8),
    Reason(u8),
    AmqpKnown(u8),
    AmqpRaw(String),
    Http(u16, Option<HubOp>),
    KeepAlive,
    SessionExpired,
    LinkDetached,
    App(u8),
}

/// An IoT-hub error code.
#[derive(Arbitrary, Debug, Clone, Copy)]
#[allow(missing_docs)]
pub enum HubOp {
    Known(u8),
    Raw(u32),
}

/// A provisioning answer.
#[derive(Arbitrary, Debug, Clone)]
#[allow(missing_docs)]
pub enum ProvOp {
    Assigned {
        hub: u8,
        credential: Option<Option<u32>>,
    },
    Pending {
        retry_after: Option<HintOp>,
    },
    Failed(FailureOp),
}

const AMQP: [&str; 8] = [
    "amqp:connection:forced",
    "amqp:unauthorized-access",
    "amqp:not-found",
    "amqp:resource-limit-exceeded",
    "com.microsoft:device-container-throttled",
    "com.microsoft:iot-hub-suspended",
    "amqp:decode-error",
    "amqp:link:redirect",
];

const HUB_CODES: [u32; 7] = [
    401_003, 403_002, 403_004, 404_104, 404_001, 429_001, 503_003,
];

fn pick<T: Copy>(items: &[T], i: u8) -> Option<T> {
    items.get(usize::from(i).checked_rem(items.len())?).copied()
}

impl HintOp {
    fn ms(self) -> u64 {
        match self {
            HintOp::Small(v) => u64::from(v),
            HintOp::Large(v) => u64::from(v).saturating_mul(1_000),
            HintOp::Max => u64::MAX,
            HintOp::Any(v) => v,
        }
    }
}

impl FailureOp {
    fn failure(&self) -> Failure {
        let kind = match &self.kind {
            KindF::Net(i) => FailureKind::Network(
                pick(&NETWORK_ERRORS, *i).map_or(NetworkError::Dns, |(_, e)| e),
            ),
            KindF::Connack(c) => FailureKind::Protocol(ProtocolError::MqttConnack(*c)),
            KindF::Reason(c) => FailureKind::Protocol(ProtocolError::MqttReason(*c)),
            KindF::AmqpKnown(i) => FailureKind::Protocol(ProtocolError::Amqp(
                pick(&AMQP, *i).unwrap_or("").to_string(),
            )),
            KindF::AmqpRaw(s) => FailureKind::Protocol(ProtocolError::Amqp(s.clone())),
            KindF::Http(status, code) => FailureKind::Protocol(ProtocolError::Http(HttpFailure {
                status: *status,
                hub_code: code.map(|c| match c {
                    HubOp::Known(i) => pick(&HUB_CODES, i).unwrap_or(403_002),
                    HubOp::Raw(v) => v,
                }),
            })),
            KindF::KeepAlive => FailureKind::Protocol(ProtocolError::KeepAliveLost),
            KindF::SessionExpired => FailureKind::Protocol(ProtocolError::SessionExpired),
            KindF::LinkDetached => FailureKind::Protocol(ProtocolError::LinkDetached),
            KindF::App(i) => FailureKind::Application(
                pick(&APPLICATION_ERRORS, *i).map_or(ApplicationError::Throttled, |(_, e)| e),
            ),
        };
        Failure {
            kind,
            retry_after_ms: self.hint.map(HintOp::ms),
            server_reference: self
                .server
                .map(|named| if named { "hub-z".into() } else { String::new() }),
        }
    }
}

/// The kind; `throttled` selects the throttled curve's defaults (initial 5 s).
fn kind_spec(k: &KindOp, throttled: bool) -> Option<KindSpec> {
    Some(match k {
        KindOp::Default => return None,
        KindOp::Exponential {
            initial,
            multiplier,
            span,
            jitter,
            percent,
            first,
        } => {
            let initial_ms = initial.map(|i| u64::from(i).max(1));
            KindSpec::Exponential {
                initial_ms,
                multiplier_permille: multiplier.map(|m| u32::from(m).clamp(1_000, 10_000)),
                max_ms: match (initial_ms, span) {
                    (Some(i), Some(s)) => Some(i.saturating_add(u64::from(*s))),
                    (Some(i), None) => Some(i.max(60_000)),
                    (None, Some(s)) => {
                        Some(u64::from(*s).max(if throttled { 5_000 } else { 1_000 }))
                    }
                    (None, None) => None,
                },
                jitter: Some(match jitter % 6 {
                    0 => JitterSpec::Full,
                    1 => JitterSpec::Equal,
                    2 => JitterSpec::None,
                    3 => JitterSpec::Symmetric(percent.map(|p| p.min(100))),
                    4 => JitterSpec::Upward(percent.map(|p| p.min(100))),
                    _ => JitterSpec::Phase,
                }),
                first_immediate: *first,
            }
        }
        KindOp::Fixed { interval, first } => KindSpec::Fixed {
            interval_ms: interval.map(u64::from),
            first_ms: first.map(u64::from),
        },
        KindOp::Linear {
            initial,
            step,
            span,
        } => {
            let initial_ms = u64::from(initial.unwrap_or(1_000));
            KindSpec::Linear {
                initial_ms: Some(initial_ms),
                step_ms: step.map(u64::from),
                max_ms: Some(initial_ms.saturating_add(u64::from(span.unwrap_or(60_000)))),
            }
        }
        KindOp::Immediate => KindSpec::Immediate,
        KindOp::Random { min, span } => {
            let lo = u64::from(min.unwrap_or(0));
            KindSpec::Random {
                min_ms: Some(lo),
                max_ms: Some(lo.saturating_add(u64::from(span.unwrap_or(10_000)))),
            }
        }
        KindOp::Decorrelated { base, span } => {
            let b = u64::from(base.unwrap_or(1_000)).max(1);
            KindSpec::DecorrelatedJitter {
                base_ms: Some(b),
                max_ms: Some(b.saturating_add(u64::from(span.unwrap_or(60_000)))),
            }
        }
        KindOp::NoRetry => KindSpec::NoRetry,
        KindOp::Preset(i) => KindSpec::Preset(pick(&PRESETS, *i).unwrap_or("grpc")),
    })
}

impl ConfigOp {
    /// The configuration this case describes (always a valid one).
    pub fn spec(&self) -> Spec {
        let provisioning = self.provisioning.map(|p| {
            let ProvisioningOp {
                after,
                lo,
                span,
                poll,
            } = p;
            let lo = lo.map(u64::from);
            let hi = match (lo, span) {
                (Some(l), Some(s)) => Some(l.saturating_add(u64::from(s))),
                (None, Some(s)) => Some(u64::from(s).max(2_000)),
                _ => None,
            };
            ProvisioningSpec {
                reprovision_after: after.map(|a| u32::from(a).max(1)),
                retry_after_min_ms: lo,
                retry_after_max_ms: hi,
                poll_default_ms: poll.map(u64::from),
            }
        });
        let hub = (self.hub || provisioning.is_none()).then(|| "hub-a".to_string());
        let credential = Some(CredentialSpec {
            renewable: self.renewable,
            renew_at_percent: self.percent.map(|p| p.clamp(1, 99)),
            secret: self.secret.then(|| "sas-0".to_string()),
            lifetime_ms: if self.secret {
                self.lifetime.map(|l| u64::from(l).max(1))
            } else {
                None
            },
        });
        let kind = kind_spec(&self.kind, false);
        let throttled = match (
            &kind,
            self.throttled.as_ref().and_then(|k| kind_spec(k, true)),
        ) {
            (Some(KindSpec::Preset(_) | KindSpec::NoRetry), _) => None,
            (_, Some(KindSpec::Preset(_) | KindSpec::NoRetry)) => None,
            (_, t) => t,
        };
        let l = &self.limits;
        let ra_min = l.ra_min.map(u64::from);
        let mut ra_max = l.ra_max.map(u64::from);
        if ra_min.unwrap_or(1_000) > ra_max.unwrap_or(600_000) {
            ra_max = Some(ra_min.unwrap_or(1_000));
        }
        let limits = LimitsSpec {
            max_attempts: l.max_attempts.map(|a| u32::from(a).max(1)),
            retry_timeout_ms: l.retry_timeout.map(|t| u64::from(t).max(1)),
            max_delay_ms: l.max_delay.map(u64::from),
            min_interval_ms: l.min_interval.map(u64::from),
            reset_after_ms: l.reset_after.map(u64::from),
            retry_after_min_ms: ra_min,
            retry_after_max_ms: ra_max,
        };
        let policy = Some(PolicySpec {
            kind: kind.unwrap_or(KindSpec::Exponential {
                initial_ms: None,
                multiplier_permille: None,
                max_ms: None,
                jitter: None,
                first_immediate: None,
            }),
            limits,
            throttled,
        });
        let capacity = self.capacity.map(|c| u32::from(c).max(1));
        let cap = capacity.unwrap_or(64);
        let queue = Some(QueueSpec {
            capacity,
            max_in_flight: self.window.map(|w| u32::from(w).clamp(1, cap)),
            operation_timeout_ms: self.op_timeout.map(|t| u64::from(t).max(1)),
            reject: self.reject,
            max_payload_bytes: self.max_payload.map(|p| u32::from(p).max(1)),
            max_refusals: None,
            refusal_backoff_ms: None,
        });
        Spec {
            seed: self.seed,
            takeover_retries: None,
            hub,
            device_id: None,
            provisioning,
            credential,
            policy,
            queue,
        }
    }
}

/// Run one case. `Err` is a finding: a broken invariant, a trap, or a difference
/// between the component and the native core.
pub fn run(case: &Case) -> Result<(), String> {
    let runtime = Runtime::shared().map_err(|e| format!("{e:#}"))?;
    let spec = case.config.spec();
    let mut h = Harness::new(runtime, &spec, 0).map_err(|v| v.to_string())?;
    let config = tether_core::config::parse(&spec.to_json())
        .map_err(|e| format!("the native core refused the configuration: {e}"))?;
    let mut native = NConnection::new(config, spec.seed);
    for op in case.ops.iter().take(400) {
        let input = match op {
            Op::Advance(ms) => {
                h.advance_to(h.now_ms().saturating_add(u64::from(*ms)));
                continue;
            }
            Op::AdvanceLong(ms) => {
                h.advance_to(h.now_ms().saturating_add(u64::from(*ms).saturating_mul(64)));
                continue;
            }
            Op::ToDeadline => {
                if let Some(t) = h.next_deadline_ms() {
                    h.advance_to(t);
                }
                Input::Wake
            }
            Op::JustBeforeDeadline => {
                if let Some(t) = h.next_deadline_ms() {
                    h.advance_to(t.saturating_sub(1));
                }
                Input::Wake
            }
            Op::Wake => Input::Wake,
            Op::Start => Input::Start,
            Op::Stop => Input::Stop,
            Op::Publish { empty_topic, len } => Input::Publish {
                topic: if *empty_topic {
                    String::new()
                } else {
                    "t".into()
                },
                payload: vec![7; usize::from(*len)],
            },
            Op::Opened(sel) => Input::Opened {
                link: link(&h, *sel),
            },
            Op::Failed(sel, f) => Input::Failed {
                link: link(&h, *sel),
                failure: f.failure(),
            },
            Op::Closed(sel, f) => Input::Closed {
                link: link(&h, *sel),
                failure: f.failure(),
            },
            Op::Acked(sel) => Input::Acked {
                message: message(&h, *sel),
            },
            Op::Provisioned(p) => Input::Provisioned(match p {
                ProvOp::Assigned { hub, credential } => {
                    ProvisioningResult::Assigned(Assignment {
                        // An empty hub is valid in the WIT: the transport will fail on it.
                        hub: if hub % 5 == 4 {
                            String::new()
                        } else {
                            format!("hub-{}", hub % 4)
                        },
                        device_id: "dev".into(),
                        credential: credential.map(|lifetime| Credential {
                            secret: "dps".into(),
                            lifetime_ms: lifetime.map(|l| u64::from(l).max(1)),
                        }),
                    })
                }
                ProvOp::Pending { retry_after } => ProvisioningResult::Pending(Pending {
                    operation_id: "op".into(),
                    retry_after_ms: retry_after.map(HintOp::ms),
                }),
                ProvOp::Failed(f) => ProvisioningResult::Failed(f.failure()),
            }),
            Op::CredentialOk { lifetime } => Input::Credential(Ok(Credential {
                secret: "tok".into(),
                lifetime_ms: lifetime.map(|l| u64::from(l).max(1)),
            })),
            Op::CredentialErr(f) => Input::Credential(Err(f.failure())),
        };
        let now = n::Instant::from_ms(h.now_ms());
        let (native_answer, native_commands) = native_step(&mut native, now, &input);
        let applied = h.apply(input.clone()).map_err(|v| v.to_string())?;
        if applied.answer != native_answer {
            return Err(format!(
                "component and native core disagree on {}: {:?} vs {:?}",
                input.label(),
                applied.answer,
                native_answer
            ));
        }
        if applied.commands != native_commands {
            return Err(format!(
                "component and native core disagree on {}:\ncomponent: {:?}\nnative:    {:?}",
                input.label(),
                applied.commands,
                native_commands
            ));
        }
    }
    h.finish().map_err(|v| v.to_string())
}

fn link(h: &Harness, sel: LinkSel) -> u64 {
    match sel {
        LinkSel::Current => h.current_link().unwrap_or_else(|| h.last_link()),
        LinkSel::Last => h.last_link(),
        LinkSel::Other(v) => u64::from(v),
    }
}

fn message(h: &Harness, sel: MsgSel) -> u64 {
    match sel {
        MsgSel::InFlight(i) => {
            let f = h.in_flight();
            f.get(usize::from(i).checked_rem(f.len()).unwrap_or(0))
                .copied()
                .unwrap_or_else(|| h.last_message())
        }
        MsgSel::Last => h.last_message(),
        MsgSel::Other(v) => u64::from(v),
    }
}

// ---- the native core, and the mapping of its types onto the host's ----

fn native_step(c: &mut NConnection, now: n::Instant, input: &Input) -> (Answer, Vec<Command>) {
    let mut out = Vec::new();
    let unit = |r: Result<(), n::InputError>| Answer::Input(r.map_err(input_error));
    let answer = match input {
        Input::Start => unit(c.start(now, &mut out)),
        Input::Stop => {
            c.stop(now, &mut out);
            Answer::Done
        }
        Input::Wake => {
            c.on_wake(now, &mut out);
            Answer::Done
        }
        Input::Publish { topic, payload } => Answer::Publish(
            c.publish(now, topic, payload, &mut out)
                .map_err(publish_error),
        ),
        Input::Opened { link } => unit(c.on_opened(now, *link, &mut out)),
        Input::Failed { link, failure } => {
            unit(c.on_failed(now, *link, &failure_in(failure), &mut out))
        }
        Input::Closed { link, failure } => {
            unit(c.on_closed(now, *link, &failure_in(failure), &mut out))
        }
        Input::Acked { message } => unit(c.on_acked(now, *message, &mut out)),
        Input::Refused { message, failure } => {
            unit(c.on_refused(now, *message, &failure_in(failure), &mut out))
        }
        Input::Provisioned(r) => unit(c.on_provisioned(now, &provisioning_in(r), &mut out)),
        Input::Credential(r) => {
            let r = match r {
                Ok(cred) => Ok(credential_in(cred)),
                Err(f) => Err(failure_in(f)),
            };
            unit(c.on_credential(now, r.as_ref(), &mut out))
        }
    };
    (answer, out.into_iter().map(command_out).collect())
}

fn failure_in(f: &Failure) -> n::Failure {
    let kind = match &f.kind {
        FailureKind::Network(e) => n::FailureKind::Network(match e {
            NetworkError::Dns => n::NetworkError::Dns,
            NetworkError::Refused => n::NetworkError::Refused,
            NetworkError::Reset => n::NetworkError::Reset,
            NetworkError::Unreachable => n::NetworkError::Unreachable,
            NetworkError::Timeout => n::NetworkError::Timeout,
            NetworkError::Tls => n::NetworkError::Tls,
            NetworkError::Closed => n::NetworkError::Closed,
        }),
        FailureKind::Protocol(p) => n::FailureKind::Protocol(match p {
            ProtocolError::MqttConnack(c) => n::ProtocolError::MqttConnack(*c),
            ProtocolError::MqttReason(c) => n::ProtocolError::MqttReason(*c),
            ProtocolError::Amqp(s) => n::ProtocolError::Amqp(s.clone()),
            ProtocolError::Http(h) => n::ProtocolError::Http(n::HttpFailure {
                status: h.status,
                hub_code: h.hub_code,
            }),
            ProtocolError::KeepAliveLost => n::ProtocolError::KeepAliveLost,
            ProtocolError::SessionExpired => n::ProtocolError::SessionExpired,
            ProtocolError::LinkDetached => n::ProtocolError::LinkDetached,
        }),
        FailureKind::Application(e) => n::FailureKind::Application(match e {
            ApplicationError::Unauthorized => n::ApplicationError::Unauthorized,
            ApplicationError::CredentialExpired => n::ApplicationError::CredentialExpired,
            ApplicationError::Forbidden => n::ApplicationError::Forbidden,
            ApplicationError::DeviceNotFound => n::ApplicationError::DeviceNotFound,
            ApplicationError::DeviceDisabled => n::ApplicationError::DeviceDisabled,
            ApplicationError::QuotaExceeded => n::ApplicationError::QuotaExceeded,
            ApplicationError::Throttled => n::ApplicationError::Throttled,
            ApplicationError::BadEndpoint => n::ApplicationError::BadEndpoint,
        }),
    };
    n::Failure {
        kind,
        retry_after_ms: f.retry_after_ms.map(n::Millis::from_ms),
        server_reference: f.server_reference.clone(),
    }
}

fn credential_in(c: &Credential) -> n::Credential {
    n::Credential {
        secret: c.secret.clone(),
        lifetime_ms: c.lifetime_ms.map(n::Millis::from_ms),
    }
}

fn provisioning_in(r: &ProvisioningResult) -> n::ProvisioningResult {
    match r {
        ProvisioningResult::Assigned(a) => n::ProvisioningResult::Assigned(n::Assignment {
            hub: a.hub.clone(),
            device_id: a.device_id.clone(),
            credential: a.credential.as_ref().map(credential_in),
        }),
        ProvisioningResult::Pending(p) => n::ProvisioningResult::Pending(n::Pending {
            operation_id: p.operation_id.clone(),
            retry_after_ms: p.retry_after_ms.map(n::Millis::from_ms),
        }),
        ProvisioningResult::Failed(f) => n::ProvisioningResult::Failed(failure_in(f)),
    }
}

fn input_error(e: n::InputError) -> InputError {
    match e {
        n::InputError::StaleLink => InputError::StaleLink,
        n::InputError::Unexpected => InputError::Unexpected,
        n::InputError::UnknownMessage => InputError::UnknownMessage,
        n::InputError::Stopped => InputError::Stopped,
    }
}

fn publish_error(e: n::PublishError) -> PublishError {
    match e {
        n::PublishError::QueueFull => PublishError::QueueFull,
        n::PublishError::PayloadTooLarge => PublishError::PayloadTooLarge,
        n::PublishError::EmptyTopic => PublishError::EmptyTopic,
        n::PublishError::Stopped => PublishError::Stopped,
    }
}

fn ns(t: n::Instant) -> u64 {
    t.as_nanos()
}

fn status(s: n::Status) -> Status {
    match s {
        n::Status::Connected => Status::Connected,
        n::Status::DisconnectedRetrying => Status::DisconnectedRetrying,
        n::Status::Disconnected => Status::Disconnected,
        n::Status::Disabled => Status::Disabled,
    }
}

fn reason(r: n::Reason) -> Reason {
    use n::Reason as R;
    match r {
        R::ConnectionOk => Reason::ConnectionOk,
        R::CredentialRenewal => Reason::CredentialRenewal,
        R::ExpiredCredential => Reason::ExpiredCredential,
        R::BadCredential => Reason::BadCredential,
        R::DeviceDisabled => Reason::DeviceDisabled,
        R::DeviceNotFound => Reason::DeviceNotFound,
        R::RetryExpired => Reason::RetryExpired,
        R::NoNetwork => Reason::NoNetwork,
        R::CommunicationError => Reason::CommunicationError,
        R::NoPingResponse => Reason::NoPingResponse,
        R::QuotaExceeded => Reason::QuotaExceeded,
        R::Throttled => Reason::Throttled,
        R::ServerBusy => Reason::ServerBusy,
        R::ServerMoved => Reason::ServerMoved,
        R::Provisioning => Reason::Provisioning,
        R::ProtocolError => Reason::ProtocolError,
        R::BadEndpoint => Reason::BadEndpoint,
        R::SessionTakenOver => Reason::SessionTakenOver,
        R::ClientClose => Reason::ClientClose,
    }
}

fn give_up(g: n::GiveUpReason) -> GiveUpReason {
    match g {
        n::GiveUpReason::NoRetry => GiveUpReason::NoRetry,
        n::GiveUpReason::MaxAttempts => GiveUpReason::MaxAttempts,
        n::GiveUpReason::RetryTimeout => GiveUpReason::RetryTimeout,
        n::GiveUpReason::Unrecoverable => GiveUpReason::Unrecoverable,
        n::GiveUpReason::Plugin => GiveUpReason::Plugin,
    }
}

fn classification(c: &n::Classification) -> Classification {
    Classification {
        level: match c.level {
            n::Level::Network => Level::Network,
            n::Level::Protocol => Level::Protocol,
            n::Level::Application => Level::Application,
        },
        verdict: match c.verdict {
            n::Verdict::Retry => Verdict::Retry,
            n::Verdict::RetryThrottled => Verdict::RetryThrottled,
            n::Verdict::RenewCredential => Verdict::RenewCredential,
            n::Verdict::Reprovision => Verdict::Reprovision,
            n::Verdict::Fatal => Verdict::Fatal,
        },
        reason: reason(c.reason),
        rule: c.rule.to_string(),
    }
}

fn action(a: &n::Action) -> Action {
    match a {
        n::Action::Connect(p) => Action::Connect(ConnectPlan {
            link: p.link,
            hub: p.hub.clone(),
            attempt: p.attempt,
        }),
        n::Action::Backoff(p) => Action::Backoff(BackoffPlan {
            delay_ms: p.delay_ms.as_ms(),
            attempt: p.attempt,
            curve: match p.curve {
                n::Curve::Normal => Curve::Normal,
                n::Curve::Throttled => Curve::Throttled,
                n::Curve::ServerHint => Curve::ServerHint,
                n::Curve::Plugin => Curve::Plugin,
            },
            then_provision: p.then_provision,
        }),
        n::Action::RenewCredential { routine } => Action::RenewCredential(*routine),
        n::Action::Provision => Action::Provision,
        n::Action::PollProvisioning(ms) => Action::PollProvisioning(ms.as_ms()),
        n::Action::GiveUp(g) => Action::GiveUp(give_up(*g)),
    }
}

fn outcome(o: n::Outcome) -> Outcome {
    match o {
        n::Outcome::Delivered => Outcome::Delivered,
        n::Outcome::Failed(f) => Outcome::Failed(match f {
            n::MessageFailure::OperationTimeout => MessageFailure::OperationTimeout,
            n::MessageFailure::NoRetry => MessageFailure::NoRetry,
            n::MessageFailure::QueueFull => MessageFailure::QueueFull,
            n::MessageFailure::Unrecoverable => MessageFailure::Unrecoverable,
            n::MessageFailure::RetryExpired => MessageFailure::RetryExpired,
            n::MessageFailure::ClientClose => MessageFailure::ClientClose,
            n::MessageFailure::NotAuthorized => MessageFailure::NotAuthorized,
            n::MessageFailure::TopicInvalid => MessageFailure::TopicInvalid,
            n::MessageFailure::PayloadInvalid => MessageFailure::PayloadInvalid,
            n::MessageFailure::QuotaExceeded => MessageFailure::QuotaExceeded,
            n::MessageFailure::Refused => MessageFailure::Refused,
        }),
    }
}

fn command_out(c: NCommand) -> Command {
    match c {
        NCommand::Open {
            link,
            hub,
            device_id,
            credential,
        } => Command::Open {
            link,
            hub,
            device_id,
            credential,
        },
        NCommand::Send {
            link,
            message,
            topic,
            payload,
        } => Command::Send {
            link,
            message,
            topic,
            payload,
        },
        NCommand::Subscribe { link, filters } => Command::Subscribe { link, filters },
        NCommand::Close { link } => Command::Close { link },
        NCommand::Register => Command::Register,
        NCommand::Poll { operation_id } => Command::Poll { operation_id },
        NCommand::Renew => Command::Renew,
        NCommand::Status(s) => Command::Status(StatusChange {
            at: ns(s.at),
            status: status(s.status),
            reason: reason(s.reason),
        }),
        NCommand::Decided(d) => Command::Decided(DecisionEvent {
            at: ns(d.at),
            cause: d.cause.as_ref().map(classification),
            action: action(&d.action),
        }),
        NCommand::Outcome {
            message,
            outcome: o,
        } => Command::Outcome {
            message,
            outcome: outcome(o),
        },
        NCommand::WakeAt(t) => Command::WakeAt(ns(t)),
        // The fuzzed configurations name no plugin, so neither side reports one.
        NCommand::PluginFault(f) => Command::PluginFault(PluginFaultReport {
            at: ns(f.at),
            plugin: f.plugin,
            reason: match f.reason {
                n::PluginFaultReason::Trap => PluginFaultReason::Trap,
                n::PluginFaultReason::OutOfFuel => PluginFaultReason::OutOfFuel,
                n::PluginFaultReason::Deadline => PluginFaultReason::Deadline,
                n::PluginFaultReason::MemoryLimit => PluginFaultReason::MemoryLimit,
                n::PluginFaultReason::Unavailable => PluginFaultReason::Unavailable,
                n::PluginFaultReason::InvalidAnswer => PluginFaultReason::InvalidAnswer,
            },
            detail: f.detail,
            used: match f.used {
                n::Decision::RetryAfter(ms) => Decision::RetryAfter(ms.as_ms()),
                n::Decision::GiveUp(g) => Decision::GiveUp(give_up(g)),
            },
            consecutive: f.consecutive,
            quarantined: f.quarantined,
        }),
    }
}
