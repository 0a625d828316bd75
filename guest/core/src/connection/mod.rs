//! The reconnection flow for one device link, as a state machine that owns no I/O.
//!
//! Inputs are the `on_*` methods plus `start`, `publish` and `stop`; each takes the
//! current time and appends what the host must do to `out` as [`Command`]s (open a
//! link, send, register, renew, report a status, wake me at). Nothing here blocks,
//! reads a clock or calls the host: the wasm glue turns the commands into import
//! calls after the input returns, so imports never re-enter the component.
//!
//! Call order: [`Connection::new`], [`Connection::start`], then inputs as they
//! happen, [`Connection::on_wake`] at or after every deadline announced with
//! [`Command::WakeAt`] (early or extra calls do nothing), [`Connection::stop`].
//!
//! The flow follows the hub-only and hub-plus-provisioning flows of Azure IoT's
//! reconnection guidance: recoverable failures back off per the policy and reopen;
//! after `reprovision-after` consecutive failed reconnects, or on a reprovision
//! verdict (401, 403 other than quota, 404), the device registers again; a refused
//! credential is renewed once, then escalated; unrecoverable failures and a spent
//! retry budget stop the connection and report it exactly once.
//!
//! The inputs and the flow between states are here; the rest is split by concern:
//! `failures` (what a failure leads to: a backoff chosen by the policy or its
//! plugin, or giving up), `credentials` (the held credential, its renewal timers
//! and the credential source's answers) and `messages` (the publish queue and its
//! one-outcome-per-message bookkeeping).
#![forbid(unsafe_code)]

mod credentials;
mod failures;
mod messages;
#[cfg(test)]
mod mint_tests;
#[cfg(test)]
mod tests;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;

use crate::classify::classify;
use crate::config::Config;
use crate::fleet::Slots;
use crate::plugin::{PluginHost, PluginState};
use crate::policy::{CurveSel, Schedule};
use crate::types::{
    Action, Classification, ConnectPlan, DecisionEvent, Failure, GiveUpReason, InputError, Instant,
    MessageFailure, Millis, Outcome, PluginFault, ProvisioningResult, Reason, Status, StatusChange,
    SubscribeError, Verdict,
};

use credentials::HeldCredential;
pub use credentials::WallClock;
use failures::{Lost, Retry};
use messages::Message;

/// What the host must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `transport.open`.
    Open {
        /// Link number to report back with.
        link: u64,
        /// Hub address.
        hub: String,
        /// Device identity, when known.
        device_id: Option<String>,
        /// The credential's secret, when there is one.
        credential: Option<String>,
    },
    /// `transport.send`.
    Send {
        /// The open link.
        link: u64,
        /// Message id to acknowledge.
        message: u64,
        /// Topic.
        topic: String,
        /// Payload.
        payload: Vec<u8>,
    },
    /// `transport.subscribe`.
    Subscribe {
        /// The open link.
        link: u64,
        /// Topic filters, QoS 1.
        filters: Vec<String>,
    },
    /// `transport.close`.
    Close {
        /// The link to close.
        link: u64,
    },
    /// `provisioning.register`.
    Register,
    /// `provisioning.poll`.
    Poll {
        /// The pending operation.
        operation_id: String,
    },
    /// `credentials.renew`.
    Renew,
    /// `events.status-changed`.
    Status(StatusChange),
    /// `events.decided`.
    Decided(DecisionEvent),
    /// `events.message-outcome`.
    Outcome {
        /// The message.
        message: u64,
        /// Its one outcome.
        outcome: Outcome,
    },
    /// `events.wake-at` (milliseconds here; the glue converts).
    WakeAt(Instant),
    /// `events.plugin-fault`.
    PluginFault(PluginFault),
}

/// What follows a backoff wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    Open,
    Provision,
    Renew,
}

/// Where the flow is. Each state owns the data only it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Created, not started.
    Idle,
    /// Waiting for `on_provisioned`.
    Provisioning,
    /// Waiting to poll a pending registration.
    PollWait {
        until: Instant,
        operation_id: String,
    },
    /// Waiting for `on_credential` before connecting.
    Renewing,
    /// Waiting for `on_opened` / `on_failed`.
    Opening { link: u64, started_at: Instant },
    /// The link is up. `renewing` is set while a routine renewal is outstanding.
    Connected {
        link: u64,
        since: Instant,
        renewing: bool,
    },
    /// Waiting before the next step.
    Backoff { until: Instant, next: Next },
    /// Stopped; only `start` leaves this state.
    Stopped,
}

/// One device link's reconnection flow.
#[derive(Debug)]
pub struct Connection {
    /// Shared by the connections of one configuration (see [`Connection::new`]).
    config: Rc<Config>,
    schedule: Schedule,
    state: State,
    hub: Option<String>,
    device_id: Option<String>,
    credential: Option<HeldCredential>,
    /// A credential was renewed since the last successful connect: a refusal now
    /// means renewing again will not help.
    renewed_since_connect: bool,
    /// `credentials.renew` was asked and has not been answered yet.
    renew_outstanding: bool,
    /// Failed reconnects in a row, for the reprovision-after rule.
    consecutive_failures: u32,
    /// When the current outage began (for the retry timeout).
    outage_start: Option<Instant>,
    /// Sessions taken over (MQTT 5 0x8E) in the current outage.
    takeovers: u32,
    next_link: u64,
    next_message: u64,
    queue: VecDeque<Message>,
    in_flight: VecDeque<Message>,
    status: StatusChange,
    announced_wake: Option<Instant>,
    /// The custom policy's plugin, when the policy is `custom` (boxed: rare).
    plugin: Option<Box<PluginState>>,
    /// Who runs the plugin (the `policy-plugins` import in the component).
    plugin_host: Option<alloc::boxed::Box<dyn PluginHost>>,
    /// The time of day, for minted tokens' expiry.
    wall: Option<alloc::boxed::Box<dyn WallClock>>,
    /// `hub` came from the provisioning service (not the configuration).
    assigned: bool,
    /// The filters every new link subscribes to, in the order first given.
    subscriptions: Vec<String>,
}

/// The most subscriptions a connection keeps.
pub const MAX_SUBSCRIPTIONS: usize = 32;

impl Connection {
    /// A connection for `config`, with `seed` for the jitter. `config.seed` is not
    /// read: a host running many connections of one configuration (a fleet) can
    /// pass one shared `Rc<Config>` for them all, each with its own `seed`.
    pub fn new(config: impl Into<Rc<Config>>, seed: u64) -> Self {
        let config: Rc<Config> = config.into();
        let schedule = Schedule::new(Rc::clone(&config.policy), seed)
            .with_slots(config.fleet.as_ref().map(Slots::new));
        let plugin = config
            .policy
            .plugin()
            .map(|spec| Box::new(PluginState::new(spec.clone(), seed)));
        Self {
            plugin,
            plugin_host: None,
            wall: None,
            assigned: false,
            subscriptions: Vec::new(),
            hub: config.hub.clone(),
            device_id: config.device_id.clone(),
            schedule,
            state: State::Idle,
            credential: None,
            renewed_since_connect: false,
            renew_outstanding: false,
            consecutive_failures: 0,
            outage_start: None,
            takeovers: 0,
            next_link: 1,
            next_message: 1,
            queue: VecDeque::new(),
            in_flight: VecDeque::new(),
            status: StatusChange {
                at: Instant::ZERO,
                status: Status::Disconnected,
                reason: Reason::ClientClose,
            },
            announced_wake: None,
            config,
        }
    }

    /// This device's number in its fleet, for a host that shares one
    /// configuration among a fleet's connections (as with the seed, the
    /// configuration's own `fleet.index` is then not read).
    pub fn with_fleet_index(mut self, index: Option<u32>) -> Self {
        if let Some(mut fleet) = self.config.fleet {
            fleet.index = index;
            self.schedule = self.schedule.with_slots(Some(Slots::new(&fleet)));
        }
        self
    }

    /// Run the custom policy's plugin through `host`. Without one, every plugin
    /// decision fails as `unavailable` and the fallback decides.
    pub fn with_plugin_host(mut self, host: alloc::boxed::Box<dyn PluginHost>) -> Self {
        self.plugin_host = Some(host);
        self
    }

    /// Read the time of day from `wall` when minting tokens. Without one, minted
    /// tokens count their expiry from the epoch (useful only in tests).
    pub fn with_wall_clock(mut self, wall: alloc::boxed::Box<dyn WallClock>) -> Self {
        self.wall = Some(wall);
        self
    }

    /// The current status.
    pub fn status(&self) -> StatusChange {
        self.status
    }

    /// The plugin is quarantined: the fallback decides for the rest of this
    /// connection's life. `None` without a plugin.
    pub fn plugin_quarantined(&self) -> Option<bool> {
        self.plugin.as_ref().map(|p| p.quarantined)
    }

    /// Begin (or begin again after a stop): provision, renew or connect.
    pub fn start(&mut self, now: Instant, out: &mut Vec<Command>) -> Result<(), InputError> {
        match self.state {
            State::Idle | State::Stopped => {}
            _ => return Err(InputError::Unexpected),
        }
        self.schedule.reset();
        self.outage_start = None;
        self.takeovers = 0;
        self.consecutive_failures = 0;
        self.renewed_since_connect = false;
        if self.credential.is_none()
            && let Some(secret) = &self.config.credential.secret
        {
            let lifetime = self.config.credential.lifetime_ms;
            self.credential = Some(self.hold(secret.clone(), lifetime, now));
        }
        self.proceed(now, out);
        self.finish(now, out);
        Ok(())
    }

    /// Link `link` is open.
    pub fn on_opened(
        &mut self,
        now: Instant,
        link: u64,
        out: &mut Vec<Command>,
    ) -> Result<(), InputError> {
        self.check_link(link)?;
        self.state = State::Connected {
            link,
            since: now,
            renewing: false,
        };
        self.consecutive_failures = 0;
        self.renewed_since_connect = false;
        self.schedule.connected();
        self.set_status(now, Status::Connected, Reason::ConnectionOk, out);
        if !self.subscriptions.is_empty() {
            // Every link starts with every subscription: the server may have
            // forgotten them, and a reconnect must not lose one.
            out.push(Command::Subscribe {
                link,
                filters: self.subscriptions.clone(),
            });
        }
        self.expire_messages(now, out);
        self.flush(now, out);
        self.finish(now, out);
        Ok(())
    }

    /// Opening link `link` failed.
    pub fn on_failed(
        &mut self,
        now: Instant,
        link: u64,
        failure: &Failure,
        out: &mut Vec<Command>,
    ) -> Result<(), InputError> {
        let started_at = match self.state {
            State::Opening {
                link: current,
                started_at,
            } if current == link => started_at,
            // A transport may report a fresh link as failed rather than closed.
            State::Connected { link: current, .. } if current == link => {
                return self.on_closed(now, link, failure, out);
            }
            _ => return Err(self.link_error(link)),
        };
        // The failed link is gone; handle_failure picks the next state.
        self.state = State::Idle;
        let took = now.saturating_since(started_at);
        self.handle_failure(now, failure, Lost::Attempt { took }, out);
        self.finish(now, out);
        Ok(())
    }

    /// Open link `link` was lost.
    pub fn on_closed(
        &mut self,
        now: Instant,
        link: u64,
        failure: &Failure,
        out: &mut Vec<Command>,
    ) -> Result<(), InputError> {
        let since = match self.state {
            State::Connected {
                link: current,
                since,
                ..
            } if current == link => since,
            State::Opening { link: current, .. } if current == link => {
                return self.on_failed(now, link, failure, out);
            }
            _ => return Err(self.link_error(link)),
        };
        self.link_lost(now, since);
        self.state = State::Idle;
        let held = now.saturating_since(since);
        self.handle_failure(now, failure, Lost::Link { held }, out);
        self.finish(now, out);
        Ok(())
    }

    /// The provisioning service answered.
    pub fn on_provisioned(
        &mut self,
        now: Instant,
        result: &ProvisioningResult,
        out: &mut Vec<Command>,
    ) -> Result<(), InputError> {
        match self.state {
            State::Provisioning => {}
            State::Stopped => return Err(InputError::Stopped),
            _ => return Err(InputError::Unexpected),
        }
        let prov = self.config.provisioning.clone().unwrap_or_default();
        match result {
            ProvisioningResult::Assigned(a) => {
                self.hub = Some(a.hub.clone());
                self.device_id = Some(a.device_id.clone());
                self.assigned = true;
                if self.config.credential.sas.is_some() {
                    // A token names its hub: the next one is minted for this one.
                    self.credential = None;
                    self.renewed_since_connect = false;
                }
                if let Some(c) = &a.credential {
                    self.credential = Some(self.hold(c.secret.clone(), c.lifetime_ms, now));
                    self.renewed_since_connect = false;
                }
                // A new assignment gets the full count of reconnects again.
                self.consecutive_failures = 0;
                self.proceed(now, out);
            }
            ProvisioningResult::Pending(p) => {
                // The service's window first, then the policy's hard cap, which
                // wins over every floor whatever the delay's source.
                let delay = p
                    .retry_after_ms
                    .unwrap_or(prov.poll_default_ms)
                    .clamp(prov.retry_after_min_ms, prov.retry_after_max_ms)
                    .min(self.schedule.config().limits().max_delay_ms);
                self.state = State::PollWait {
                    until: deadline(now, delay),
                    operation_id: p.operation_id.clone(),
                };
                self.decide(now, None, Action::PollProvisioning(delay), out);
            }
            ProvisioningResult::Failed(f) => {
                let c = classify(f);
                // The service's retry-after is clamped to its own window first.
                let hint = f
                    .retry_after_ms
                    .map(|h| h.clamp(prov.retry_after_min_ms, prov.retry_after_max_ms));
                self.outage_start.get_or_insert(now);
                match c.verdict {
                    Verdict::Retry => {
                        let retry = Retry::fresh(c, CurveSel::Normal, hint, Next::Provision);
                        self.backoff(now, retry, out);
                    }
                    Verdict::RetryThrottled => {
                        let retry = Retry::fresh(c, CurveSel::Throttled, hint, Next::Provision);
                        self.backoff(now, retry, out);
                    }
                    Verdict::RenewCredential if self.can_renew() => self.renew(now, Some(c), out),
                    // Refused by the provisioning service itself: going back to it
                    // cannot help.
                    Verdict::RenewCredential | Verdict::Reprovision | Verdict::Fatal => {
                        self.give_up(now, &c, GiveUpReason::Unrecoverable, out);
                    }
                }
            }
        }
        self.finish(now, out);
        Ok(())
    }

    /// A deadline may have passed.
    pub fn on_wake(&mut self, now: Instant, out: &mut Vec<Command>) {
        if self.state == State::Stopped {
            return;
        }
        self.expire_messages(now, out);
        // An expired message may have freed room in the window: queued messages
        // must not wait for the next publish or ack to be sent.
        self.flush(now, out);
        match &self.state {
            State::Backoff { until, next } if now >= *until => match *next {
                Next::Open => self.proceed(now, out),
                Next::Provision => self.provision(now, out),
                Next::Renew => self.renew(now, None, out),
            },
            State::PollWait {
                until,
                operation_id,
            } if now >= *until => {
                out.push(Command::Poll {
                    operation_id: operation_id.clone(),
                });
                self.state = State::Provisioning;
            }
            State::Connected {
                link,
                since,
                renewing: false,
            } if self.renewal_due(now) => {
                let (link, since) = (*link, *since);
                self.renew_routinely(now, link, since, out);
            }
            _ => {}
        }
        self.finish(now, out);
    }

    /// Keep `filter` subscribed on every link, starting with the current one.
    pub fn subscribe(
        &mut self,
        filter: &str,
        out: &mut Vec<Command>,
    ) -> Result<(), SubscribeError> {
        if self.state == State::Stopped {
            return Err(SubscribeError::Stopped);
        }
        if filter.is_empty() {
            return Err(SubscribeError::EmptyFilter);
        }
        if self.subscriptions.iter().any(|f| f == filter) {
            return Ok(());
        }
        if self.subscriptions.len() >= MAX_SUBSCRIPTIONS {
            return Err(SubscribeError::TooMany);
        }
        self.subscriptions.push(filter.into());
        if let State::Connected { link, .. } = self.state {
            out.push(Command::Subscribe {
                link,
                filters: alloc::vec![filter.into()],
            });
        }
        Ok(())
    }

    /// The filters kept, in the order first subscribed.
    pub fn subscriptions(&self) -> &[String] {
        &self.subscriptions
    }

    /// Close the link and stop. Queued messages fail with `client-close`.
    pub fn stop(&mut self, now: Instant, out: &mut Vec<Command>) {
        if self.state == State::Stopped {
            // Already given up: the application closing it is still news.
            self.set_status(now, Status::Disabled, Reason::ClientClose, out);
            return;
        }
        if let Some(link) = self.open_link() {
            out.push(Command::Close { link });
        }
        self.state = State::Stopped;
        self.fail_all(MessageFailure::ClientClose, out);
        self.set_status(now, Status::Disabled, Reason::ClientClose, out);
        self.finish(now, out);
    }

    /// The next deadline, if any.
    pub fn next_wake(&self) -> Option<Instant> {
        let state = match &self.state {
            State::Backoff { until, .. } | State::PollWait { until, .. } => Some(*until),
            State::Connected {
                renewing: false, ..
            } => self.renew_deadline(),
            _ => None,
        };
        let messages = self.next_message_deadline();
        match (state, messages) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ---- the flow ----

    /// The next step towards a link: provision if no hub is known, renew if the
    /// credential is due, otherwise connect.
    fn proceed(&mut self, now: Instant, out: &mut Vec<Command>) {
        if self.hub.is_none() {
            self.provision(now, out);
        } else if self.config.credential.renewable
            && (self.credential.is_none() || self.renewal_due(now))
        {
            self.renew(now, None, out);
        } else {
            self.open(now, out);
        }
    }

    fn open(&mut self, now: Instant, out: &mut Vec<Command>) {
        let Some(hub) = self.hub.clone() else {
            self.provision(now, out);
            return;
        };
        let link = self.next_link;
        self.next_link = self.next_link.saturating_add(1);
        self.state = State::Opening {
            link,
            started_at: now,
        };
        let plan = ConnectPlan {
            link,
            hub: hub.clone(),
            attempt: self.schedule.attempts(),
        };
        self.decide(now, None, Action::Connect(plan), out);
        out.push(Command::Open {
            link,
            hub,
            device_id: self.device_id.clone(),
            credential: self.credential.as_ref().map(|c| c.secret.clone()),
        });
    }

    fn provision(&mut self, now: Instant, out: &mut Vec<Command>) {
        if self.config.provisioning.is_none() {
            // Unreachable by construction (a config without a hub needs
            // provisioning); stay safe rather than panic.
            let c = fallback_classification();
            self.give_up(now, &c, GiveUpReason::Unrecoverable, out);
            return;
        }
        self.state = State::Provisioning;
        self.set_status(now, Status::DisconnectedRetrying, Reason::Provisioning, out);
        self.decide(now, None, Action::Provision, out);
        out.push(Command::Register);
    }

    /// A link that was up is gone (dropped, or closed for a renewal): the backoff
    /// starts over only if it held for `reset-after-ms`, and its unacknowledged
    /// messages go back to the queue.
    fn link_lost(&mut self, now: Instant, since: Instant) {
        self.schedule.dropped(now.saturating_since(since));
        if self.schedule.attempts() == 0 {
            // The link held long enough: the next failure starts a new outage.
            self.outage_start = None;
            self.takeovers = 0;
        }
        self.requeue_in_flight();
    }

    // ---- helpers ----

    fn open_link(&self) -> Option<u64> {
        match self.state {
            State::Opening { link, .. } | State::Connected { link, .. } => Some(link),
            _ => None,
        }
    }

    fn check_link(&self, link: u64) -> Result<(), InputError> {
        match self.state {
            State::Opening { link: current, .. } if current == link => Ok(()),
            _ => Err(self.link_error(link)),
        }
    }

    fn link_error(&self, link: u64) -> InputError {
        if self.state == State::Stopped {
            InputError::Stopped
        } else if link < self.next_link {
            InputError::StaleLink
        } else {
            InputError::Unexpected
        }
    }

    fn set_status(&mut self, now: Instant, status: Status, reason: Reason, out: &mut Vec<Command>) {
        if self.status.status == status && self.status.reason == reason {
            return;
        }
        self.status = StatusChange {
            at: now,
            status,
            reason,
        };
        out.push(Command::Status(self.status));
    }

    fn decide(
        &mut self,
        now: Instant,
        cause: Option<Classification>,
        action: Action,
        out: &mut Vec<Command>,
    ) {
        out.push(Command::Decided(DecisionEvent {
            at: now,
            cause,
            action,
        }));
    }

    /// Announce the next deadline if it changed.
    fn finish(&mut self, _now: Instant, out: &mut Vec<Command>) {
        let wake = self.next_wake();
        if wake != self.announced_wake {
            self.announced_wake = wake;
            if let Some(t) = wake {
                out.push(Command::WakeAt(t));
            }
        }
    }
}

/// The last millisecond a WIT `instant` (nanoseconds in a `u64`) can express.
pub const LAST_INSTANT: Instant = Instant::from_nanos(u64::MAX);

/// `delay` after `now`, clamped to [`LAST_INSTANT`]: a deadline past it could not
/// be announced with `wake-at` (the nanoseconds would saturate early) and would
/// never come due, leaving a host whose clock reached the end of its range with a
/// connection that never wakes.
fn deadline(now: Instant, delay: Millis) -> Instant {
    now.saturating_add(delay).min(LAST_INSTANT)
}

fn fallback_classification() -> Classification {
    Classification {
        level: crate::types::Level::Application,
        verdict: Verdict::Fatal,
        reason: Reason::BadEndpoint,
        rule: "config/no-hub",
    }
}
