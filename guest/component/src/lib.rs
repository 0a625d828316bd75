//! The wasm glue: wit-bindgen exports mapped onto the core, and the core's
//! commands turned into import calls. The `no_std` runtime is `tether-wasm-rt`.
//!
//! Every export reads the clock once, runs the core with that time, and only then
//! performs the imports the core asked for, in order. So imports never re-enter
//! the component, and the core stays free of I/O.
//!
//! Only a `wasm32` build has content: natively this crate is empty, so a workspace
//! build on the host does not need wit-bindgen's wasm-only glue.
#![cfg(target_arch = "wasm32")]
#![no_std]
#![allow(missing_docs, unsafe_code)] // generated code

extern crate alloc;

use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use tether_core::types as core_t;
use tether_core::{classify, config, connection, plugin, policy};

wit_bindgen::generate!({
    world: "device",
    path: "../../wit",
    with: {
        "wasi:clocks/monotonic-clock@0.2.12": wasi::clocks::monotonic_clock,
        "wasi:clocks/wall-clock@0.2.12": wasi::clocks::wall_clock,
        "wasi:random/random@0.2.12": wasi::random::random,
        "wasi:io/poll@0.2.12": wasi::io::poll,
    },
});

use exports::tether::reconnect::connection as conn_x;
use exports::tether::reconnect::decisions as dec_x;
use tether::reconnect::types as w;
use tether::reconnect::{credentials, events, policy_plugins, provisioning, transport};

// The allocator, panic handler and `cabi_realloc` of a `no_std` component.
use tether_wasm_rt as _;

mod identity;

struct Component;
export!(Component);

/// The monotonic clock, in the core's milliseconds.
fn now() -> core_t::Instant {
    core_t::Instant::from_nanos(wasi::clocks::monotonic_clock::now())
}

/// The time of day, read only when a connection mints a token.
#[derive(Debug)]
struct WasiWallClock;

impl connection::WallClock for WasiWallClock {
    fn unix_seconds(&self) -> u64 {
        wasi::clocks::wall_clock::now().seconds
    }
}

/// A core instant as a WIT `instant` (nanoseconds).
fn to_ns(t: core_t::Instant) -> w::Instant {
    t.as_nanos()
}

// ---- exports ----

impl dec_x::Guest for Component {
    type RetrySchedule = RetrySchedule;

    fn classify(failure: w::Failure) -> w::Classification {
        classification_out(classify::classify(&failure_in(failure)))
    }

    fn table_version() -> u32 {
        classify::TABLE_VERSION
    }

    fn validate_config(config: String) -> Result<(), w::ConfigError> {
        config::parse(&config).map(|_| ()).map_err(config_error_out)
    }
}

struct RetrySchedule {
    inner: RefCell<policy::Schedule>,
}

impl dec_x::GuestRetrySchedule for RetrySchedule {
    fn create(policy: String, seed: u64) -> Result<dec_x::RetrySchedule, w::ConfigError> {
        let value = tether_core::json::parse_root(&policy).map_err(config_error_out)?;
        let cfg = policy::parse_policy(&value, "policy").map_err(config_error_out)?;
        if cfg.plugin().is_some() {
            // Plugin faults are reported through a connection's events; a bare
            // schedule has nowhere to report them.
            return Err(w::ConfigError {
                field: "policy.kind".into(),
                message: "kind \"custom\" runs only inside a connection".into(),
            });
        }
        Ok(dec_x::RetrySchedule::new(RetrySchedule {
            inner: RefCell::new(policy::Schedule::new(cfg, seed)),
        }))
    }

    fn next(&self, failure: Option<w::Failure>, elapsed_ms: Option<u64>) -> w::Decision {
        let mut st = self.inner.borrow_mut();
        let failure = failure.map(failure_in);
        let (curve, hint) = match &failure {
            None => (Some(policy::CurveSel::Normal), None),
            Some(f) => {
                let c = classify::classify(f);
                let curve = match c.verdict {
                    core_t::Verdict::Retry | core_t::Verdict::RenewCredential => {
                        Some(policy::CurveSel::Normal)
                    }
                    core_t::Verdict::RetryThrottled => Some(policy::CurveSel::Throttled),
                    core_t::Verdict::Reprovision | core_t::Verdict::Fatal => None,
                };
                (curve, f.retry_after_ms)
            }
        };
        let Some(curve) = curve else {
            return decision_out(core_t::Decision::GiveUp(
                core_t::GiveUpReason::Unrecoverable,
            ));
        };
        // Without a measured elapsed time, the delays handed out so far stand in.
        let elapsed = elapsed_ms
            .map(core_t::Millis::from_ms)
            .unwrap_or(st.waited_ms());
        decision_out(st.next(curve, hint, elapsed, core_t::Millis::ZERO).0)
    }

    fn attempts(&self) -> u32 {
        self.inner.borrow().attempts()
    }

    fn connected(&self) {
        self.inner.borrow_mut().connected();
    }

    fn dropped(&self, held_ms: u64) {
        self.inner
            .borrow_mut()
            .dropped(core_t::Millis::from_ms(held_ms));
    }

    fn reset(&self) {
        self.inner.borrow_mut().reset();
    }
}

/// The configuration of the connection created last. A host running a fleet in
/// one instance creates its connections from one configuration, each with its own
/// seed; sharing it (the seed is kept per connection) saves a third of each
/// connection's memory and changes nothing a connection decides.
struct LastConfig(RefCell<Option<Weak<config::Config>>>);

// SAFETY: a wasm32-wasip2 component has no threads: the cell is never shared
// between them.
unsafe impl Sync for LastConfig {}

static LAST_CONFIG: LastConfig = LastConfig(RefCell::new(None));

/// `cfg`, or the configuration of the last connection if that is the same apart
/// from the seed and the fleet index (both read before this is called).
fn shared_config(mut cfg: config::Config) -> Rc<config::Config> {
    cfg.seed = None;
    if let Some(fleet) = &mut cfg.fleet {
        fleet.index = None;
    }
    let mut last = LAST_CONFIG.0.borrow_mut();
    if let Some(prev) = last.as_ref().and_then(Weak::upgrade)
        && *prev == cfg
    {
        return prev;
    }
    let cfg = Rc::new(cfg);
    *last = Some(Rc::downgrade(&cfg));
    cfg
}

impl conn_x::Guest for Component {
    type Connection = Connection;
}

struct Connection {
    inner: RefCell<connection::Connection>,
}

impl Connection {
    /// Run one input against the core, then perform what it asked for.
    fn run<R>(
        &self,
        f: impl FnOnce(&mut connection::Connection, core_t::Instant, &mut Vec<connection::Command>) -> R,
    ) -> R {
        let now = now();
        let mut out = Vec::new();
        let result = {
            let mut inner = self.inner.borrow_mut();
            f(&mut inner, now, &mut out)
        };
        for cmd in out {
            perform(cmd);
        }
        result
    }
}

impl conn_x::GuestConnection for Connection {
    fn create(config: String) -> Result<conn_x::Connection, w::ConfigError> {
        let cfg = config::parse(&config).map_err(config_error_out)?;
        let seed = cfg
            .seed
            .unwrap_or_else(wasi::random::random::get_random_u64);
        let index = cfg.fleet.and_then(|f| f.index);
        let inner = connection::Connection::new(shared_config(cfg), seed)
            .with_fleet_index(index)
            .with_plugin_host(alloc::boxed::Box::new(ImportedPlugins))
            .with_wall_clock(alloc::boxed::Box::new(WasiWallClock));
        Ok(conn_x::Connection::new(Connection {
            inner: RefCell::new(inner),
        }))
    }

    fn start(&self) -> Result<(), w::InputError> {
        self.run(|c, now, out| c.start(now, out))
            .map_err(input_error_out)
    }

    fn on_opened(&self, link: u64) -> Result<(), w::InputError> {
        self.run(|c, now, out| c.on_opened(now, link, out))
            .map_err(input_error_out)
    }

    fn on_failed(&self, link: u64, failure: w::Failure) -> Result<(), w::InputError> {
        let f = failure_in(failure);
        self.run(|c, now, out| c.on_failed(now, link, &f, out))
            .map_err(input_error_out)
    }

    fn on_closed(&self, link: u64, failure: w::Failure) -> Result<(), w::InputError> {
        let f = failure_in(failure);
        self.run(|c, now, out| c.on_closed(now, link, &f, out))
            .map_err(input_error_out)
    }

    fn on_acked(&self, message: u64) -> Result<(), w::InputError> {
        self.run(|c, now, out| c.on_acked(now, message, out))
            .map_err(input_error_out)
    }

    fn on_refused(&self, message: u64, failure: w::Failure) -> Result<(), w::InputError> {
        let f = failure_in(failure);
        self.run(|c, now, out| c.on_refused(now, message, &f, out))
            .map_err(input_error_out)
    }

    fn on_provisioned(&self, result: w::ProvisioningResult) -> Result<(), w::InputError> {
        let r = provisioning_in(result);
        self.run(|c, now, out| c.on_provisioned(now, &r, out))
            .map_err(input_error_out)
    }

    fn on_credential(
        &self,
        result: Result<w::Credential, w::Failure>,
    ) -> Result<(), w::InputError> {
        let r = result.map(credential_in).map_err(failure_in);
        self.run(|c, now, out| c.on_credential(now, r.as_ref(), out))
            .map_err(input_error_out)
    }

    fn on_wake(&self) {
        self.run(|c, now, out| c.on_wake(now, out));
    }

    fn publish(&self, topic: String, payload: Vec<u8>) -> Result<u64, w::PublishError> {
        self.run(|c, now, out| c.publish(now, &topic, &payload, out))
            .map_err(publish_error_out)
    }

    fn subscribe(&self, filter: String) -> Result<(), w::SubscribeError> {
        self.run(|c, _now, out| c.subscribe(&filter, out))
            .map_err(|e| match e {
                core_t::SubscribeError::EmptyFilter => w::SubscribeError::EmptyFilter,
                core_t::SubscribeError::TooMany => w::SubscribeError::TooMany,
                core_t::SubscribeError::Stopped => w::SubscribeError::Stopped,
            })
    }

    fn subscriptions(&self) -> Vec<String> {
        self.inner.borrow().subscriptions().to_vec()
    }

    fn stop(&self) {
        self.run(|c, now, out| c.stop(now, out));
    }

    fn current_status(&self) -> w::StatusChange {
        status_out(self.inner.borrow().status())
    }

    fn next_wake(&self) -> Option<w::Instant> {
        self.inner.borrow().next_wake().map(to_ns)
    }

    fn pending_messages(&self) -> u32 {
        u32::try_from(self.inner.borrow().pending_messages()).unwrap_or(u32::MAX)
    }
}

/// Plugins run by the host, through the `policy-plugins` import.
#[derive(Debug)]
struct ImportedPlugins;

impl plugin::PluginHost for ImportedPlugins {
    fn decide(&mut self, name: &str, input: &plugin::PluginInput<'_>) -> plugin::PluginAnswer {
        let input = policy_plugins::PluginInput {
            attempt: input.attempt,
            consecutive_failures: input.consecutive_failures,
            elapsed_ms: input.elapsed_ms.as_ms(),
            connected_ms: input.connected_ms.map(core_t::Millis::as_ms),
            failure: classification_out(input.failure),
            retry_after_ms: input.retry_after_ms.map(core_t::Millis::as_ms),
            server_reference: input.server_reference,
            random: input.random,
            // The WIT record gives the clock in milliseconds, not as an `instant`.
            now_ms: input.now_ms.as_ms(),
            max_delay_ms: input.max_delay_ms.as_ms(),
            fallback: plugin_decision_out(input.fallback),
            params: input.params.into(),
        };
        match policy_plugins::decide(name, &input) {
            policy_plugins::PluginAnswer::RetryAfter(ms) => plugin::PluginAnswer::Decided(
                plugin::PluginDecision::RetryAfter(core_t::Millis::from_ms(ms)),
            ),
            policy_plugins::PluginAnswer::GiveUp => {
                plugin::PluginAnswer::Decided(plugin::PluginDecision::GiveUp)
            }
            policy_plugins::PluginAnswer::Failed(e) => {
                plugin::PluginAnswer::Failed(plugin_fault_reason_in(e.reason), e.detail)
            }
        }
    }
}

fn plugin_decision_out(d: plugin::PluginDecision) -> policy_plugins::PluginDecision {
    match d {
        plugin::PluginDecision::RetryAfter(ms) => {
            policy_plugins::PluginDecision::RetryAfter(ms.as_ms())
        }
        plugin::PluginDecision::GiveUp => policy_plugins::PluginDecision::GiveUp,
    }
}

fn plugin_fault_reason_in(r: w::PluginFaultReason) -> core_t::PluginFaultReason {
    match r {
        w::PluginFaultReason::Trap => core_t::PluginFaultReason::Trap,
        w::PluginFaultReason::OutOfFuel => core_t::PluginFaultReason::OutOfFuel,
        w::PluginFaultReason::Deadline => core_t::PluginFaultReason::Deadline,
        w::PluginFaultReason::MemoryLimit => core_t::PluginFaultReason::MemoryLimit,
        w::PluginFaultReason::Unavailable => core_t::PluginFaultReason::Unavailable,
        w::PluginFaultReason::InvalidAnswer => core_t::PluginFaultReason::InvalidAnswer,
    }
}

fn plugin_fault_reason_out(r: core_t::PluginFaultReason) -> w::PluginFaultReason {
    match r {
        core_t::PluginFaultReason::Trap => w::PluginFaultReason::Trap,
        core_t::PluginFaultReason::OutOfFuel => w::PluginFaultReason::OutOfFuel,
        core_t::PluginFaultReason::Deadline => w::PluginFaultReason::Deadline,
        core_t::PluginFaultReason::MemoryLimit => w::PluginFaultReason::MemoryLimit,
        core_t::PluginFaultReason::Unavailable => w::PluginFaultReason::Unavailable,
        core_t::PluginFaultReason::InvalidAnswer => w::PluginFaultReason::InvalidAnswer,
    }
}

fn plugin_fault_out(f: core_t::PluginFault) -> w::PluginFaultReport {
    w::PluginFaultReport {
        at: to_ns(f.at),
        plugin: f.plugin,
        reason: plugin_fault_reason_out(f.reason),
        detail: f.detail,
        used: decision_out(f.used),
        consecutive: f.consecutive,
        quarantined: f.quarantined,
    }
}

fn perform(cmd: connection::Command) {
    use connection::Command as C;
    match cmd {
        C::Open {
            link,
            hub,
            device_id,
            credential,
        } => transport::open(link, &hub, device_id.as_deref(), credential.as_deref()),
        C::Send {
            link,
            message,
            topic,
            payload,
        } => transport::send(link, message, &topic, &payload),
        C::Subscribe { link, filters } => transport::subscribe(link, &filters),
        C::Close { link } => transport::close(link),
        C::Register => provisioning::register(),
        C::Poll { operation_id } => provisioning::poll(&operation_id),
        C::Renew => credentials::renew(),
        C::Status(s) => events::status_changed(status_out(s)),
        C::Decided(d) => events::decided(&decision_event_out(d)),
        C::Outcome { message, outcome } => events::message_outcome(message, outcome_out(outcome)),
        C::WakeAt(t) => events::wake_at(to_ns(t)),
        C::PluginFault(f) => events::plugin_fault(&plugin_fault_out(f)),
    }
}

// ---- conversions in ----

fn failure_in(f: w::Failure) -> core_t::Failure {
    use core_t::FailureKind as K;
    let kind = match f.kind {
        w::FailureKind::Network(n) => K::Network(match n {
            w::NetworkError::Dns => core_t::NetworkError::Dns,
            w::NetworkError::Refused => core_t::NetworkError::Refused,
            w::NetworkError::Reset => core_t::NetworkError::Reset,
            w::NetworkError::Unreachable => core_t::NetworkError::Unreachable,
            w::NetworkError::Timeout => core_t::NetworkError::Timeout,
            w::NetworkError::Tls => core_t::NetworkError::Tls,
            w::NetworkError::Closed => core_t::NetworkError::Closed,
        }),
        w::FailureKind::Protocol(p) => K::Protocol(match p {
            w::ProtocolError::MqttConnack(c) => core_t::ProtocolError::MqttConnack(c),
            w::ProtocolError::MqttReason(c) => core_t::ProtocolError::MqttReason(c),
            w::ProtocolError::Amqp(s) => core_t::ProtocolError::Amqp(s),
            w::ProtocolError::Http(h) => core_t::ProtocolError::Http(core_t::HttpFailure {
                status: h.status,
                hub_code: h.hub_code,
            }),
            w::ProtocolError::KeepAliveLost => core_t::ProtocolError::KeepAliveLost,
            w::ProtocolError::SessionExpired => core_t::ProtocolError::SessionExpired,
            w::ProtocolError::LinkDetached => core_t::ProtocolError::LinkDetached,
        }),
        w::FailureKind::Application(a) => K::Application(match a {
            w::ApplicationError::Unauthorized => core_t::ApplicationError::Unauthorized,
            w::ApplicationError::CredentialExpired => core_t::ApplicationError::CredentialExpired,
            w::ApplicationError::Forbidden => core_t::ApplicationError::Forbidden,
            w::ApplicationError::DeviceNotFound => core_t::ApplicationError::DeviceNotFound,
            w::ApplicationError::DeviceDisabled => core_t::ApplicationError::DeviceDisabled,
            w::ApplicationError::QuotaExceeded => core_t::ApplicationError::QuotaExceeded,
            w::ApplicationError::Throttled => core_t::ApplicationError::Throttled,
            w::ApplicationError::BadEndpoint => core_t::ApplicationError::BadEndpoint,
        }),
    };
    core_t::Failure {
        kind,
        retry_after_ms: f.retry_after_ms.map(core_t::Millis::from_ms),
        server_reference: f.server_reference,
    }
}

fn credential_in(c: w::Credential) -> core_t::Credential {
    core_t::Credential {
        secret: c.secret,
        lifetime_ms: c.lifetime_ms.map(core_t::Millis::from_ms),
    }
}

fn provisioning_in(r: w::ProvisioningResult) -> core_t::ProvisioningResult {
    match r {
        w::ProvisioningResult::Assigned(a) => {
            core_t::ProvisioningResult::Assigned(core_t::Assignment {
                hub: a.hub,
                device_id: a.device_id,
                credential: a.credential.map(credential_in),
            })
        }
        w::ProvisioningResult::Pending(p) => core_t::ProvisioningResult::Pending(core_t::Pending {
            operation_id: p.operation_id,
            retry_after_ms: p.retry_after_ms.map(core_t::Millis::from_ms),
        }),
        w::ProvisioningResult::Failed(f) => core_t::ProvisioningResult::Failed(failure_in(f)),
    }
}

// ---- conversions out ----

fn classification_out(c: core_t::Classification) -> w::Classification {
    w::Classification {
        level: match c.level {
            core_t::Level::Network => w::Level::Network,
            core_t::Level::Protocol => w::Level::Protocol,
            core_t::Level::Application => w::Level::Application,
        },
        verdict: match c.verdict {
            core_t::Verdict::Retry => w::Verdict::Retry,
            core_t::Verdict::RetryThrottled => w::Verdict::RetryThrottled,
            core_t::Verdict::RenewCredential => w::Verdict::RenewCredential,
            core_t::Verdict::Reprovision => w::Verdict::Reprovision,
            core_t::Verdict::Fatal => w::Verdict::Fatal,
        },
        reason: reason_out(c.reason),
        rule: c.rule.into(),
    }
}

fn reason_out(r: core_t::Reason) -> w::Reason {
    use core_t::Reason as R;
    match r {
        R::ConnectionOk => w::Reason::ConnectionOk,
        R::CredentialRenewal => w::Reason::CredentialRenewal,
        R::ExpiredCredential => w::Reason::ExpiredCredential,
        R::BadCredential => w::Reason::BadCredential,
        R::DeviceDisabled => w::Reason::DeviceDisabled,
        R::DeviceNotFound => w::Reason::DeviceNotFound,
        R::RetryExpired => w::Reason::RetryExpired,
        R::NoNetwork => w::Reason::NoNetwork,
        R::CommunicationError => w::Reason::CommunicationError,
        R::NoPingResponse => w::Reason::NoPingResponse,
        R::QuotaExceeded => w::Reason::QuotaExceeded,
        R::Throttled => w::Reason::Throttled,
        R::ServerBusy => w::Reason::ServerBusy,
        R::ServerMoved => w::Reason::ServerMoved,
        R::Provisioning => w::Reason::Provisioning,
        R::ProtocolError => w::Reason::ProtocolError,
        R::BadEndpoint => w::Reason::BadEndpoint,
        R::SessionTakenOver => w::Reason::SessionTakenOver,
        R::ClientClose => w::Reason::ClientClose,
    }
}

fn status_out(s: core_t::StatusChange) -> w::StatusChange {
    w::StatusChange {
        at: to_ns(s.at),
        status: match s.status {
            core_t::Status::Connected => w::Status::Connected,
            core_t::Status::DisconnectedRetrying => w::Status::DisconnectedRetrying,
            core_t::Status::Disconnected => w::Status::Disconnected,
            core_t::Status::Disabled => w::Status::Disabled,
        },
        reason: reason_out(s.reason),
    }
}

fn give_up_out(g: core_t::GiveUpReason) -> w::GiveUpReason {
    match g {
        core_t::GiveUpReason::NoRetry => w::GiveUpReason::NoRetry,
        core_t::GiveUpReason::MaxAttempts => w::GiveUpReason::MaxAttempts,
        core_t::GiveUpReason::RetryTimeout => w::GiveUpReason::RetryTimeout,
        core_t::GiveUpReason::Unrecoverable => w::GiveUpReason::Unrecoverable,
        core_t::GiveUpReason::Plugin => w::GiveUpReason::Plugin,
    }
}

fn decision_out(d: core_t::Decision) -> w::Decision {
    match d {
        core_t::Decision::RetryAfter(ms) => w::Decision::RetryAfter(ms.as_ms()),
        core_t::Decision::GiveUp(g) => w::Decision::GiveUp(give_up_out(g)),
    }
}

fn decision_event_out(d: core_t::DecisionEvent) -> w::DecisionEvent {
    let action = match d.action {
        core_t::Action::Connect(p) => w::Action::Connect(w::ConnectPlan {
            link: p.link,
            hub: p.hub,
            attempt: p.attempt,
        }),
        core_t::Action::Backoff(p) => w::Action::Backoff(w::BackoffPlan {
            delay_ms: p.delay_ms.as_ms(),
            attempt: p.attempt,
            curve: match p.curve {
                core_t::Curve::Normal => w::Curve::Normal,
                core_t::Curve::Throttled => w::Curve::Throttled,
                core_t::Curve::ServerHint => w::Curve::ServerHint,
                core_t::Curve::Plugin => w::Curve::Plugin,
            },
            then_provision: p.then_provision,
        }),
        core_t::Action::RenewCredential { routine } => w::Action::RenewCredential(routine),
        core_t::Action::Provision => w::Action::Provision,
        core_t::Action::PollProvisioning(ms) => w::Action::PollProvisioning(ms.as_ms()),
        core_t::Action::GiveUp(g) => w::Action::GiveUp(give_up_out(g)),
    };
    w::DecisionEvent {
        at: to_ns(d.at),
        cause: d.cause.map(classification_out),
        action,
    }
}

fn outcome_out(o: core_t::Outcome) -> w::Outcome {
    match o {
        core_t::Outcome::Delivered => w::Outcome::Delivered,
        core_t::Outcome::Failed(f) => w::Outcome::Failed(match f {
            core_t::MessageFailure::OperationTimeout => w::MessageFailure::OperationTimeout,
            core_t::MessageFailure::NoRetry => w::MessageFailure::NoRetry,
            core_t::MessageFailure::QueueFull => w::MessageFailure::QueueFull,
            core_t::MessageFailure::Unrecoverable => w::MessageFailure::Unrecoverable,
            core_t::MessageFailure::RetryExpired => w::MessageFailure::RetryExpired,
            core_t::MessageFailure::ClientClose => w::MessageFailure::ClientClose,
            core_t::MessageFailure::NotAuthorized => w::MessageFailure::NotAuthorized,
            core_t::MessageFailure::TopicInvalid => w::MessageFailure::TopicInvalid,
            core_t::MessageFailure::PayloadInvalid => w::MessageFailure::PayloadInvalid,
            core_t::MessageFailure::QuotaExceeded => w::MessageFailure::QuotaExceeded,
            core_t::MessageFailure::Refused => w::MessageFailure::Refused,
        }),
    }
}

fn config_error_out(e: core_t::ConfigError) -> w::ConfigError {
    w::ConfigError {
        field: e.field,
        message: e.message,
    }
}

fn input_error_out(e: core_t::InputError) -> w::InputError {
    match e {
        core_t::InputError::StaleLink => w::InputError::StaleLink,
        core_t::InputError::Unexpected => w::InputError::Unexpected,
        core_t::InputError::UnknownMessage => w::InputError::UnknownMessage,
        core_t::InputError::Stopped => w::InputError::Stopped,
    }
}

fn publish_error_out(e: core_t::PublishError) -> w::PublishError {
    match e {
        core_t::PublishError::QueueFull => w::PublishError::QueueFull,
        core_t::PublishError::PayloadTooLarge => w::PublishError::PayloadTooLarge,
        core_t::PublishError::EmptyTopic => w::PublishError::EmptyTopic,
        core_t::PublishError::Stopped => w::PublishError::Stopped,
    }
}
