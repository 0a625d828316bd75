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
#![forbid(unsafe_code)]

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use crate::classify::classify;
use crate::config::{Config, WhenFull};
use crate::plugin::{PluginAnswer, PluginDecision, PluginHost, PluginInput, PluginState};
use crate::policy::{CurveSel, Schedule};
use crate::types::{
    Action, BackoffPlan, Classification, ConnectPlan, Credential, Curve, Decision, DecisionEvent,
    Failure, GiveUpReason, InputError, Instant, MessageFailure, Millis, Outcome, PluginFault,
    PluginFaultReason, ProvisioningResult, PublishError, Reason, Status, StatusChange, Verdict,
};

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

/// A held credential and its timers.
#[derive(Clone, Debug, PartialEq, Eq)]
struct HeldCredential {
    secret: String,
    /// When a routine renewal is due, if the lifetime is known.
    renew_at: Option<Instant>,
    /// When it expires, if the lifetime is known.
    expires_at: Option<Instant>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Message {
    id: u64,
    topic: String,
    payload: Vec<u8>,
    deadline: Option<Instant>,
}

/// One device link's reconnection flow.
#[derive(Debug)]
pub struct Connection {
    config: Config,
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
    next_link: u64,
    next_message: u64,
    queue: VecDeque<Message>,
    in_flight: VecDeque<Message>,
    status: StatusChange,
    announced_wake: Option<Instant>,
    /// How long the link that just dropped had held, while its failure is handled.
    held_before_drop: Option<Millis>,
    /// The failure being handled named another server.
    server_reference_seen: bool,
    /// The custom policy's plugin, when the policy is `custom`.
    plugin: Option<PluginState>,
    /// Who runs the plugin (the `policy-plugins` import in the component).
    plugin_host: Option<alloc::boxed::Box<dyn PluginHost>>,
}

impl Connection {
    /// A connection for `config`, with `seed` for the jitter.
    pub fn new(config: Config, seed: u64) -> Self {
        let schedule = Schedule::new(config.policy.clone(), seed);
        let plugin = config
            .policy
            .plugin()
            .map(|spec| PluginState::new(spec.clone(), seed));
        Self {
            held_before_drop: None,
            server_reference_seen: false,
            plugin,
            plugin_host: None,
            hub: config.hub.clone(),
            device_id: config.device_id.clone(),
            schedule,
            state: State::Idle,
            credential: None,
            renewed_since_connect: false,
            renew_outstanding: false,
            consecutive_failures: 0,
            outage_start: None,
            next_link: 1,
            next_message: 1,
            queue: VecDeque::new(),
            in_flight: VecDeque::new(),
            status: StatusChange {
                at: 0,
                status: Status::Disconnected,
                reason: Reason::ClientClose,
            },
            announced_wake: None,
            config,
        }
    }

    /// Run the custom policy's plugin through `host`. Without one, every plugin
    /// decision fails as `unavailable` and the fallback decides.
    pub fn with_plugin_host(mut self, host: alloc::boxed::Box<dyn PluginHost>) -> Self {
        self.plugin_host = Some(host);
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

    /// Messages accepted and still without an outcome.
    pub fn pending_messages(&self) -> usize {
        self.queue.len().saturating_add(self.in_flight.len())
    }

    /// Begin (or begin again after a stop): provision, renew or connect.
    pub fn start(&mut self, now: Instant, out: &mut Vec<Command>) -> Result<(), InputError> {
        match self.state {
            State::Idle | State::Stopped => {}
            _ => return Err(InputError::Unexpected),
        }
        self.schedule.reset();
        self.outage_start = None;
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
        self.expire_messages(now, out);
        self.flush(out);
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
        self.handle_failure(now, failure, Some(now.saturating_sub(started_at)), out);
        self.server_reference_seen = false;
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
        self.held_before_drop = Some(now.saturating_sub(since));
        self.handle_failure(now, failure, None, out);
        self.held_before_drop = None;
        self.server_reference_seen = false;
        self.finish(now, out);
        Ok(())
    }

    /// The hub acknowledged `message`.
    pub fn on_acked(
        &mut self,
        now: Instant,
        message: u64,
        out: &mut Vec<Command>,
    ) -> Result<(), InputError> {
        if self.state == State::Stopped {
            return Err(InputError::Stopped);
        }
        let pos = self
            .in_flight
            .iter()
            .position(|m| m.id == message)
            .ok_or(InputError::UnknownMessage)?;
        if let Some(m) = self.in_flight.remove(pos) {
            out.push(Command::Outcome {
                message: m.id,
                outcome: Outcome::Delivered,
            });
        }
        self.expire_messages(now, out);
        self.flush(out);
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
                        self.backoff(now, &c, CurveSel::Normal, hint, 0, Next::Provision, out)
                    }
                    Verdict::RetryThrottled => {
                        self.backoff(now, &c, CurveSel::Throttled, hint, 0, Next::Provision, out);
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

    /// The credential source answered.
    pub fn on_credential(
        &mut self,
        now: Instant,
        result: Result<&Credential, &Failure>,
        out: &mut Vec<Command>,
    ) -> Result<(), InputError> {
        if self.state == State::Stopped {
            return Err(InputError::Stopped);
        }
        if !self.renew_outstanding {
            return Err(InputError::Unexpected);
        }
        self.renew_outstanding = false;
        match (&self.state, result) {
            (State::Renewing, Ok(c)) => {
                self.credential = Some(self.hold(c.secret.clone(), c.lifetime_ms, now));
                self.proceed(now, out);
            }
            (State::Renewing, Err(f)) => {
                let c = classify(f);
                self.outage_start.get_or_insert(now);
                match c.verdict {
                    Verdict::Retry => self.backoff(
                        now,
                        &c,
                        CurveSel::Normal,
                        f.retry_after_ms,
                        0,
                        Next::Renew,
                        out,
                    ),
                    Verdict::RetryThrottled => {
                        self.backoff(
                            now,
                            &c,
                            CurveSel::Throttled,
                            f.retry_after_ms,
                            0,
                            Next::Renew,
                            out,
                        );
                    }
                    Verdict::RenewCredential | Verdict::Reprovision
                        if self.config.provisioning.is_some() =>
                    {
                        self.reprovision(now, &c, out);
                    }
                    Verdict::RenewCredential | Verdict::Reprovision | Verdict::Fatal => {
                        self.give_up(now, &c, GiveUpReason::Unrecoverable, out);
                    }
                }
            }
            (
                State::Connected {
                    link,
                    since,
                    renewing: true,
                },
                Ok(c),
            ) => {
                // Routine rollover: on MQTT a new credential means a new link.
                let (link, since) = (*link, *since);
                self.credential = Some(self.hold(c.secret.clone(), c.lifetime_ms, now));
                out.push(Command::Close { link });
                self.link_lost(now, since);
                self.set_status(
                    now,
                    Status::DisconnectedRetrying,
                    Reason::CredentialRenewal,
                    out,
                );
                self.open(now, out);
            }
            (
                State::Connected {
                    link,
                    since,
                    renewing: true,
                },
                Err(_),
            ) => {
                // The link still works on the old credential. Try again half way
                // to its expiry, at least a second from now.
                let (link, since) = (*link, *since);
                if let Some(held) = &mut self.credential {
                    let half_way = held.expires_at.map_or(now, |e| {
                        now.saturating_add(e.saturating_sub(now).checked_div(2).unwrap_or(0))
                    });
                    held.renew_at = Some(half_way.max(deadline(now, 1_000)));
                }
                self.state = State::Connected {
                    link,
                    since,
                    renewing: false,
                };
            }
            // A late answer: the link dropped while a routine renewal was out.
            // Keep a good credential for the next attempt; a failure changes
            // nothing (the flow renews again when it needs to).
            (_, Ok(c)) => {
                self.credential = Some(self.hold(c.secret.clone(), c.lifetime_ms, now));
            }
            (_, Err(_)) => {}
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
        self.flush(out);
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
                self.state = State::Connected {
                    link: *link,
                    since: *since,
                    renewing: true,
                };
                self.decide(now, None, Action::RenewCredential { routine: true }, out);
                self.renew_outstanding = true;
                out.push(Command::Renew);
            }
            _ => {}
        }
        self.finish(now, out);
    }

    /// Queue a message. Once accepted it ends as exactly one outcome.
    pub fn publish(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        out: &mut Vec<Command>,
    ) -> Result<u64, PublishError> {
        if self.state == State::Stopped {
            return Err(PublishError::Stopped);
        }
        if topic.is_empty() {
            return Err(PublishError::EmptyTopic);
        }
        let max = usize::try_from(self.config.queue.max_payload_bytes).unwrap_or(usize::MAX);
        if payload.len() > max {
            return Err(PublishError::PayloadTooLarge);
        }
        let capacity = usize::try_from(self.config.queue.capacity).unwrap_or(usize::MAX);
        if self.pending_messages() >= capacity {
            match self.config.queue.when_full {
                WhenFull::Reject => return Err(PublishError::QueueFull),
                WhenFull::DropOldest => match self.queue.pop_front() {
                    Some(old) => out.push(Command::Outcome {
                        message: old.id,
                        outcome: Outcome::Failed(MessageFailure::QueueFull),
                    }),
                    // Everything is in flight: nothing may be dropped safely.
                    None => return Err(PublishError::QueueFull),
                },
            }
        }
        let id = self.next_message;
        self.next_message = self.next_message.saturating_add(1);
        self.queue.push_back(Message {
            id,
            topic: topic.into(),
            payload: payload.to_vec(),
            deadline: self
                .config
                .queue
                .operation_timeout_ms
                .map(|t| deadline(now, t)),
        });
        self.flush(out);
        self.finish(now, out);
        Ok(id)
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
        let messages = self
            .queue
            .iter()
            .chain(self.in_flight.iter())
            .filter_map(|m| m.deadline)
            .min();
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

    fn renew(&mut self, now: Instant, cause: Option<Classification>, out: &mut Vec<Command>) {
        self.state = State::Renewing;
        self.renewed_since_connect = true;
        if let Some(c) = &cause {
            self.set_status(now, Status::DisconnectedRetrying, c.reason, out);
        }
        self.decide(now, cause, Action::RenewCredential { routine: false }, out);
        self.renew_outstanding = true;
        out.push(Command::Renew);
    }

    fn reprovision(&mut self, now: Instant, c: &Classification, out: &mut Vec<Command>) {
        self.consecutive_failures = 0;
        self.backoff(now, c, CurveSel::Normal, None, 0, Next::Provision, out);
    }

    /// A link that was up is gone (dropped, or closed for a renewal): the backoff
    /// starts over only if it held for `reset-after-ms`, and its unacknowledged
    /// messages go back to the queue.
    fn link_lost(&mut self, now: Instant, since: Instant) {
        self.schedule.dropped(now.saturating_sub(since));
        if self.schedule.attempts() == 0 {
            // The link held long enough: the next failure starts a new outage.
            self.outage_start = None;
        }
        self.requeue_in_flight();
    }

    /// A failed attempt (`attempt_took` is how long the open took) or a lost link
    /// (`None`): classify and decide. Only failed attempts count towards
    /// `reprovision-after`: a link that came up was a successful reconnect.
    fn handle_failure(
        &mut self,
        now: Instant,
        failure: &Failure,
        attempt_took: Option<Millis>,
        out: &mut Vec<Command>,
    ) {
        let c = classify(failure);
        self.outage_start.get_or_insert(now);
        if let Some(server) = &failure.server_reference
            && !server.is_empty()
        {
            self.hub = Some(server.clone());
        }
        let provisioning = self.config.provisioning.is_some();
        self.server_reference_seen = failure
            .server_reference
            .as_ref()
            .is_some_and(|s| !s.is_empty());
        match c.verdict {
            Verdict::Fatal => self.give_up(now, &c, GiveUpReason::Unrecoverable, out),
            Verdict::Reprovision if provisioning => self.reprovision(now, &c, out),
            Verdict::RenewCredential if self.can_renew() => self.renew(now, Some(c), out),
            // A refused credential that renewing will not fix.
            Verdict::RenewCredential if provisioning => self.reprovision(now, &c, out),
            Verdict::Reprovision | Verdict::RenewCredential => {
                self.give_up(now, &c, GiveUpReason::Unrecoverable, out);
            }
            Verdict::Retry | Verdict::RetryThrottled => {
                if attempt_took.is_some() {
                    self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                }
                let threshold = self
                    .config
                    .provisioning
                    .as_ref()
                    .map(|p| p.reprovision_after);
                let next = match threshold {
                    Some(t) if self.consecutive_failures >= t => {
                        self.consecutive_failures = 0;
                        Next::Provision
                    }
                    _ => Next::Open,
                };
                let curve = if c.verdict == Verdict::RetryThrottled {
                    CurveSel::Throttled
                } else {
                    CurveSel::Normal
                };
                self.backoff(
                    now,
                    &c,
                    curve,
                    failure.retry_after_ms,
                    attempt_took.unwrap_or(0),
                    next,
                    out,
                );
            }
        }
    }

    /// Ask the policy for the wait, or give up.
    #[allow(clippy::too_many_arguments)]
    fn backoff(
        &mut self,
        now: Instant,
        c: &Classification,
        curve: CurveSel,
        hint: Option<Millis>,
        attempt_took: Millis,
        next: Next,
        out: &mut Vec<Command>,
    ) {
        let elapsed = now.saturating_sub(self.outage_start.unwrap_or(now));
        let (fallback, source) = self.schedule.next(curve, hint, elapsed, attempt_took);
        let (decision, used) =
            self.consult_plugin(now, c, hint, elapsed, attempt_took, (fallback, source), out);
        match decision {
            Decision::RetryAfter(delay) => {
                self.state = State::Backoff {
                    until: deadline(now, delay),
                    next,
                };
                let reason = if next == Next::Provision {
                    Reason::Provisioning
                } else {
                    c.reason
                };
                self.set_status(now, Status::DisconnectedRetrying, reason, out);
                let plan = BackoffPlan {
                    delay_ms: delay,
                    attempt: self.schedule.attempts(),
                    curve: used,
                    then_provision: next == Next::Provision,
                };
                self.decide(now, Some(*c), Action::Backoff(plan), out);
            }
            Decision::GiveUp(reason) => self.give_up(now, c, reason, out),
        }
    }

    /// With a custom policy, ask its plugin; keep its answer only if it is in
    /// bounds, otherwise report the fault and keep the fallback's `proposal`.
    ///
    /// Limits bind whoever decides: past `max-attempts` the plugin is not asked; a
    /// delay over `max-delay-ms` is refused (not cut: an answer that far out is a
    /// bug, and the fallback knows better); `min-interval-ms` raises the delay and
    /// `retry-timeout-ms` gives up, exactly as for a built-in policy.
    #[allow(clippy::too_many_arguments)]
    fn consult_plugin(
        &mut self,
        now: Instant,
        c: &Classification,
        hint: Option<Millis>,
        elapsed: Millis,
        attempt_took: Millis,
        proposal: (Decision, Curve),
        out: &mut Vec<Command>,
    ) -> (Decision, Curve) {
        let Some(plugin) = self.plugin.as_mut() else {
            return proposal;
        };
        if plugin.quarantined {
            return proposal;
        }
        let limits = *self.schedule.config().limits();
        let attempt = self.schedule.attempts();
        if limits.max_attempts.is_some_and(|max| attempt > max) {
            return (Decision::GiveUp(GiveUpReason::MaxAttempts), proposal.1);
        }
        let input = PluginInput {
            attempt,
            consecutive_failures: self.consecutive_failures,
            elapsed_ms: elapsed,
            connected_ms: self.held_before_drop,
            failure: *c,
            retry_after_ms: hint.map(|h| {
                h.max(limits.retry_after_min_ms)
                    .min(limits.retry_after_max_ms)
            }),
            server_reference: self.server_reference_seen,
            random: plugin.rng.next_u64(),
            now_ms: now,
            max_delay_ms: limits.max_delay_ms,
            fallback: PluginDecision::from(proposal.0),
            params: &plugin.spec.params,
        };
        let answer = match self.plugin_host.as_mut() {
            Some(host) => host.decide(&plugin.spec.plugin, &input),
            None => PluginAnswer::Failed(
                PluginFaultReason::Unavailable,
                "this host does not run plugins".into(),
            ),
        };
        let (reason, detail) = match answer {
            PluginAnswer::Decided(PluginDecision::GiveUp) => {
                plugin.faults_in_row = 0;
                return (Decision::GiveUp(GiveUpReason::Plugin), Curve::Plugin);
            }
            PluginAnswer::Decided(PluginDecision::RetryAfter(d)) if d <= limits.max_delay_ms => {
                plugin.faults_in_row = 0;
                let floor = limits.min_interval_ms.saturating_sub(attempt_took);
                let delay = d.max(floor).min(limits.max_delay_ms);
                if limits
                    .retry_timeout_ms
                    .is_some_and(|timeout| elapsed.saturating_add(delay) > timeout)
                {
                    return (Decision::GiveUp(GiveUpReason::RetryTimeout), Curve::Plugin);
                }
                return (Decision::RetryAfter(delay), Curve::Plugin);
            }
            PluginAnswer::Decided(PluginDecision::RetryAfter(d)) => (
                PluginFaultReason::InvalidAnswer,
                alloc::format!("delay {d} ms is over max-delay-ms {}", limits.max_delay_ms),
            ),
            PluginAnswer::Failed(reason, detail) => (reason, detail),
        };
        plugin.faults_in_row = plugin.faults_in_row.saturating_add(1);
        plugin.quarantined = plugin.faults_in_row >= plugin.spec.quarantine_after;
        out.push(Command::PluginFault(PluginFault {
            at: now,
            plugin: plugin.spec.plugin.clone(),
            reason,
            detail: crate::plugin::bounded_detail(detail),
            used: proposal.0,
            consecutive: plugin.faults_in_row,
            quarantined: plugin.quarantined,
        }));
        proposal
    }

    /// Stop for good and say so, once.
    fn give_up(
        &mut self,
        now: Instant,
        c: &Classification,
        why: GiveUpReason,
        out: &mut Vec<Command>,
    ) {
        if let Some(link) = self.open_link() {
            out.push(Command::Close { link });
        }
        self.state = State::Stopped;
        self.decide(now, Some(*c), Action::GiveUp(why), out);
        let (reason, failure) = match why {
            GiveUpReason::MaxAttempts | GiveUpReason::RetryTimeout | GiveUpReason::Plugin => {
                (Reason::RetryExpired, MessageFailure::RetryExpired)
            }
            GiveUpReason::NoRetry => (c.reason, MessageFailure::NoRetry),
            GiveUpReason::Unrecoverable => (c.reason, MessageFailure::Unrecoverable),
        };
        self.fail_all(failure, out);
        self.set_status(now, Status::Disconnected, reason, out);
    }

    // ---- helpers ----

    fn can_renew(&self) -> bool {
        self.config.credential.renewable && !self.renewed_since_connect
    }

    fn hold(&self, secret: String, lifetime: Option<Millis>, now: Instant) -> HeldCredential {
        let percent = u64::from(self.config.credential.renew_at_percent);
        HeldCredential {
            secret,
            renew_at: lifetime.map(|l| {
                let share = u128::from(l).saturating_mul(u128::from(percent)) / 100;
                deadline(now, u64::try_from(share).unwrap_or(u64::MAX))
            }),
            expires_at: lifetime.map(|l| deadline(now, l)),
        }
    }

    fn renew_deadline(&self) -> Option<Instant> {
        if !self.config.credential.renewable {
            return None;
        }
        self.credential.as_ref().and_then(|c| c.renew_at)
    }

    fn renewal_due(&self, now: Instant) -> bool {
        self.renew_deadline().is_some_and(|t| now >= t)
    }

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

    /// Send queued messages while the link is up and the window has room.
    fn flush(&mut self, out: &mut Vec<Command>) {
        let State::Connected { link, .. } = self.state else {
            return;
        };
        let window = usize::try_from(self.config.queue.max_in_flight).unwrap_or(usize::MAX);
        while self.in_flight.len() < window {
            let Some(m) = self.queue.pop_front() else {
                break;
            };
            out.push(Command::Send {
                link,
                message: m.id,
                topic: m.topic.clone(),
                payload: m.payload.clone(),
            });
            self.in_flight.push_back(m);
        }
    }

    /// Unacknowledged messages go back to the front of the queue, in order, to be
    /// sent again on the next link (at least once: the hub may see duplicates).
    fn requeue_in_flight(&mut self) {
        while let Some(m) = self.in_flight.pop_back() {
            self.queue.push_front(m);
        }
    }

    fn expire_messages(&mut self, now: Instant, out: &mut Vec<Command>) {
        for list in [&mut self.in_flight, &mut self.queue] {
            list.retain(|m| {
                let expired = m.deadline.is_some_and(|d| now >= d);
                if expired {
                    out.push(Command::Outcome {
                        message: m.id,
                        outcome: Outcome::Failed(MessageFailure::OperationTimeout),
                    });
                }
                !expired
            });
        }
    }

    fn fail_all(&mut self, why: MessageFailure, out: &mut Vec<Command>) {
        self.requeue_in_flight();
        for m in self.queue.drain(..) {
            out.push(Command::Outcome {
                message: m.id,
                outcome: Outcome::Failed(why),
            });
        }
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
pub const LAST_INSTANT: Instant = u64::MAX / 1_000_000;

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::config;
    use crate::types::{
        ApplicationError, Assignment, HttpFailure, NetworkError, Pending, ProtocolError,
    };

    /// A connection with a jitter-free policy so delays are exact.
    fn conn(extra: &str) -> Connection {
        let doc = alloc::format!(
            r#"{{"hub": "hub-a", "seed": 1,
                "policy": {{"kind": "exponential", "initial-ms": 1000, "max-ms": 8000, "jitter": "none"}}
                {extra}}}"#
        );
        Connection::new(config::parse(&doc).unwrap(), 1)
    }

    fn statuses(out: &[Command]) -> Vec<(Status, Reason)> {
        out.iter()
            .filter_map(|c| match c {
                Command::Status(s) => Some((s.status, s.reason)),
                _ => None,
            })
            .collect()
    }

    fn opens(out: &[Command]) -> Vec<u64> {
        out.iter()
            .filter_map(|c| match c {
                Command::Open { link, .. } => Some(*link),
                _ => None,
            })
            .collect()
    }

    fn backoffs(out: &[Command]) -> Vec<u64> {
        out.iter()
            .filter_map(|c| match c {
                Command::Decided(DecisionEvent {
                    action: Action::Backoff(p),
                    ..
                }) => Some(p.delay_ms),
                _ => None,
            })
            .collect()
    }

    fn refused() -> Failure {
        Failure::network(NetworkError::Refused)
    }

    #[test]
    fn hub_only_retry_waits_exactly_the_delay() {
        let mut c = conn("");
        let mut out = Vec::new();
        c.start(0, &mut out).unwrap();
        assert_eq!(opens(&out), [1]);
        out.clear();
        c.on_failed(10, 1, &refused(), &mut out).unwrap();
        assert_eq!(
            statuses(&out),
            [(Status::DisconnectedRetrying, Reason::CommunicationError)]
        );
        assert_eq!(backoffs(&out), [1000]);
        assert!(out.contains(&Command::WakeAt(1010)));
        out.clear();
        c.on_wake(1009, &mut out);
        assert!(out.is_empty(), "nothing at deadline - 1: {out:?}");
        c.on_wake(1010, &mut out);
        assert_eq!(opens(&out), [2]);
        out.clear();
        assert_eq!(c.on_opened(1020, 1, &mut out), Err(InputError::StaleLink));
        c.on_opened(1020, 2, &mut out).unwrap();
        assert_eq!(statuses(&out), [(Status::Connected, Reason::ConnectionOk)]);
    }

    #[test]
    fn fatal_stops_once_and_fails_messages() {
        let mut c = conn("");
        let mut out = Vec::new();
        c.start(0, &mut out).unwrap();
        let id = c.publish(0, "t", b"x", &mut out).unwrap();
        out.clear();
        let bad = Failure::protocol(ProtocolError::MqttConnack(1));
        c.on_failed(5, 1, &bad, &mut out).unwrap();
        assert_eq!(
            statuses(&out),
            [(Status::Disconnected, Reason::ProtocolError)]
        );
        assert!(out.contains(&Command::Outcome {
            message: id,
            outcome: Outcome::Failed(MessageFailure::Unrecoverable)
        }));
        out.clear();
        c.on_wake(100_000, &mut out);
        assert!(out.is_empty());
        assert_eq!(c.on_failed(6, 1, &bad, &mut out), Err(InputError::Stopped));
        assert_eq!(
            c.publish(7, "t", b"x", &mut out),
            Err(PublishError::Stopped)
        );
        assert_eq!(c.pending_messages(), 0);
    }

    #[test]
    fn max_attempts_reports_retry_expired_once() {
        let mut c = conn(r#", "policy": {"kind": "fixed", "interval-ms": 100, "max-attempts": 2}"#);
        let mut out = Vec::new();
        c.start(0, &mut out).unwrap();
        let mut t = 0;
        for link in 1..=3 {
            t += 1;
            c.on_failed(t, link, &refused(), &mut out).unwrap();
            t += 100;
            c.on_wake(t, &mut out);
        }
        let st = statuses(&out);
        assert_eq!(
            st,
            [
                (Status::DisconnectedRetrying, Reason::CommunicationError),
                (Status::Disconnected, Reason::RetryExpired)
            ]
        );
        assert_eq!(opens(&out), [1, 2, 3]);
    }

    #[test]
    fn ten_failed_reconnects_reprovision_and_the_new_hub_is_used() {
        let mut c = conn(r#", "provisioning": {}"#);
        let mut out = Vec::new();
        c.start(0, &mut out).unwrap();
        let mut t = 0;
        for link in 1..=10 {
            assert_eq!(c.on_failed(t, link, &refused(), &mut out), Ok(()));
            t = c.next_wake().unwrap();
            out.clear();
            c.on_wake(t, &mut out);
            if link < 10 {
                assert_eq!(opens(&out), [link + 1], "link {link}");
            }
        }
        assert!(out.contains(&Command::Register), "{out:?}");
        out.clear();
        let a = ProvisioningResult::Assigned(Assignment {
            hub: "hub-b".into(),
            device_id: "d".into(),
            credential: None,
        });
        c.on_provisioned(t, &a, &mut out).unwrap();
        assert!(
            matches!(&out[..], [Command::Decided(_), Command::Open { hub, .. }] if hub == "hub-b")
        );
    }

    #[test]
    fn unauthorized_reprovisions_but_quota_does_not() {
        let mut c = conn(r#", "provisioning": {}"#);
        let mut out = Vec::new();
        c.start(0, &mut out).unwrap();
        let quota = Failure::protocol(ProtocolError::Http(HttpFailure {
            status: 403,
            hub_code: Some(403_002),
        }));
        c.on_failed(1, 1, &quota, &mut out).unwrap();
        assert_eq!(
            statuses(&out).last(),
            Some(&(Status::DisconnectedRetrying, Reason::QuotaExceeded))
        );
        let t = c.next_wake().unwrap();
        out.clear();
        c.on_wake(t, &mut out);
        assert_eq!(opens(&out), [2]);
        let forbidden = Failure::protocol(ProtocolError::Http(HttpFailure {
            status: 403,
            hub_code: None,
        }));
        c.on_failed(t + 1, 2, &forbidden, &mut out).unwrap();
        let t = c.next_wake().unwrap();
        out.clear();
        c.on_wake(t, &mut out);
        assert_eq!(out.iter().filter(|c| **c == Command::Register).count(), 1);
    }

    #[test]
    fn provisioning_pending_is_polled_after_the_clamped_retry_after() {
        let mut c = Connection::new(
            config::parse(r#"{"provisioning": {}, "seed": 3}"#).unwrap(),
            3,
        );
        let mut out = Vec::new();
        c.start(0, &mut out).unwrap();
        assert!(out.contains(&Command::Register));
        out.clear();
        let p = ProvisioningResult::Pending(Pending {
            operation_id: "op".into(),
            retry_after_ms: Some(1),
        });
        c.on_provisioned(10, &p, &mut out).unwrap();
        assert_eq!(c.next_wake(), Some(2010), "clamped up to 2 s");
        c.on_wake(2009, &mut out);
        assert!(!out.iter().any(|c| matches!(c, Command::Poll { .. })));
        c.on_wake(2010, &mut out);
        assert!(out.contains(&Command::Poll {
            operation_id: "op".into()
        }));
    }

    #[test]
    fn routine_renewal_at_80_percent_is_not_a_fault() {
        let mut c = conn(r#", "credential": {"renewable": true}"#);
        let mut out = Vec::new();
        c.start(0, &mut out).unwrap();
        assert_eq!(out.last(), Some(&Command::Renew));
        let cred = Credential {
            secret: "s1".into(),
            lifetime_ms: Some(10_000),
        };
        c.on_credential(0, Ok(&cred), &mut out).unwrap();
        c.on_opened(5, 1, &mut out).unwrap();
        assert_eq!(c.next_wake(), Some(8000));
        out.clear();
        c.on_wake(7999, &mut out);
        assert!(out.is_empty());
        c.on_wake(8000, &mut out);
        assert_eq!(out.last(), Some(&Command::Renew));
        out.clear();
        let cred2 = Credential {
            secret: "s2".into(),
            lifetime_ms: Some(10_000),
        };
        c.on_credential(8001, Ok(&cred2), &mut out).unwrap();
        assert_eq!(
            statuses(&out),
            [(Status::DisconnectedRetrying, Reason::CredentialRenewal)]
        );
        assert!(out.contains(&Command::Close { link: 1 }));
        assert!(
            out.iter().any(
                |c| matches!(c, Command::Open { link: 2, credential: Some(s), .. } if s == "s2")
            )
        );
        assert!(backoffs(&out).is_empty(), "a renewal is no failure");
    }

    #[test]
    fn refused_fresh_credential_escalates() {
        let mut c = conn(r#", "credential": {"renewable": true, "secret": "old"}"#);
        let mut out = Vec::new();
        c.start(0, &mut out).unwrap();
        let denied = Failure::protocol(ProtocolError::MqttReason(0x87));
        c.on_failed(1, 1, &denied, &mut out).unwrap();
        assert_eq!(out.last(), Some(&Command::Renew));
        let cred = Credential {
            secret: "new".into(),
            lifetime_ms: None,
        };
        c.on_credential(2, Ok(&cred), &mut out).unwrap();
        out.clear();
        c.on_failed(3, 2, &denied, &mut out).unwrap();
        assert_eq!(
            statuses(&out),
            [(Status::Disconnected, Reason::BadCredential)]
        );
    }

    #[test]
    fn every_accepted_message_gets_exactly_one_outcome() {
        let mut c =
            conn(r#", "queue": {"capacity": 3, "max-in-flight": 2, "operation-timeout-ms": 5000}"#);
        let mut out = Vec::new();
        c.start(0, &mut out).unwrap();
        c.on_opened(1, 1, &mut out).unwrap();
        let ids: Vec<u64> = (0..4)
            .map(|_| c.publish(2, "t", b"p", &mut out).unwrap())
            .collect();
        // Two in flight, one queued; the fourth pushed out the oldest queued one.
        assert!(out.contains(&Command::Outcome {
            message: ids[2],
            outcome: Outcome::Failed(MessageFailure::QueueFull)
        }));
        c.on_acked(3, ids[0], &mut out).unwrap();
        assert_eq!(
            c.on_acked(3, ids[0], &mut out),
            Err(InputError::UnknownMessage)
        );
        c.on_closed(4, 1, &refused(), &mut out).unwrap();
        c.on_wake(5002, &mut out);
        let mut seen: Vec<(u64, Outcome)> = out
            .iter()
            .filter_map(|c| match c {
                Command::Outcome { message, outcome } => Some((*message, *outcome)),
                _ => None,
            })
            .collect();
        seen.sort_by_key(|(id, _)| *id);
        assert_eq!(
            seen,
            [
                (ids[0], Outcome::Delivered),
                (ids[1], Outcome::Failed(MessageFailure::OperationTimeout)),
                (ids[2], Outcome::Failed(MessageFailure::QueueFull)),
                (ids[3], Outcome::Failed(MessageFailure::OperationTimeout)),
            ]
        );
        assert_eq!(c.pending_messages(), 0);
    }

    #[test]
    fn no_retry_fails_in_flight_messages_with_no_retry() {
        let mut c = conn(r#", "policy": {"kind": "no-retry"}"#);
        let mut out = Vec::new();
        c.start(0, &mut out).unwrap();
        c.on_opened(1, 1, &mut out).unwrap();
        let id = c.publish(2, "t", b"p", &mut out).unwrap();
        out.clear();
        c.on_closed(3, 1, &Failure::network(NetworkError::Reset), &mut out)
            .unwrap();
        assert!(out.contains(&Command::Outcome {
            message: id,
            outcome: Outcome::Failed(MessageFailure::NoRetry)
        }));
        assert_eq!(
            statuses(&out),
            [(Status::Disconnected, Reason::CommunicationError)]
        );
    }

    #[test]
    fn server_reference_moves_the_hub() {
        let mut c = conn("");
        let mut out = Vec::new();
        c.start(0, &mut out).unwrap();
        let moved =
            Failure::protocol(ProtocolError::MqttReason(0x9D)).with_server_reference("hub-z");
        c.on_failed(1, 1, &moved, &mut out).unwrap();
        let t = c.next_wake().unwrap();
        out.clear();
        c.on_wake(t, &mut out);
        assert!(
            out.iter()
                .any(|c| matches!(c, Command::Open { hub, .. } if hub == "hub-z"))
        );
    }

    #[test]
    fn stop_fails_queued_messages_with_client_close() {
        let mut c = conn("");
        let mut out = Vec::new();
        c.start(0, &mut out).unwrap();
        let id = c.publish(0, "t", b"p", &mut out).unwrap();
        out.clear();
        c.stop(1, &mut out);
        assert_eq!(
            out,
            [
                Command::Close { link: 1 },
                Command::Outcome {
                    message: id,
                    outcome: Outcome::Failed(MessageFailure::ClientClose)
                },
                Command::Status(StatusChange {
                    at: 1,
                    status: Status::Disabled,
                    reason: Reason::ClientClose
                }),
            ]
        );
        let _ = ApplicationError::Throttled;
    }

    /// What a scripted plugin host was asked: attempt, fallback, params.
    type Asked = alloc::rc::Rc<core::cell::RefCell<Vec<(u32, PluginDecision, String)>>>;

    /// A plugin host that answers from a script, recording what it was asked.
    #[derive(Debug)]
    struct Scripted {
        answers: alloc::collections::VecDeque<PluginAnswer>,
        asked: Asked,
    }

    impl PluginHost for Scripted {
        fn decide(&mut self, plugin: &str, input: &PluginInput<'_>) -> PluginAnswer {
            assert_eq!(plugin, "p.wasm");
            self.asked
                .borrow_mut()
                .push((input.attempt, input.fallback, input.params.into()));
            self.answers
                .pop_front()
                .unwrap_or(PluginAnswer::Decided(PluginDecision::RetryAfter(7)))
        }
    }

    fn plugin_conn(answers: Vec<PluginAnswer>) -> (Connection, Asked) {
        let doc = r#"{"hub": "hub-a", "seed": 1, "policy": {"kind": "custom", "plugin": "p.wasm",
            "params": {"a": 1}, "max-delay-ms": 60000,
            "fallback": {"kind": "fixed", "interval-ms": 1000}}}"#;
        let asked = alloc::rc::Rc::new(core::cell::RefCell::new(Vec::new()));
        let host = Scripted {
            answers: answers.into(),
            asked: asked.clone(),
        };
        let c = Connection::new(config::parse(doc).unwrap(), 1)
            .with_plugin_host(alloc::boxed::Box::new(host));
        (c, asked)
    }

    fn faults(out: &[Command]) -> Vec<PluginFault> {
        out.iter()
            .filter_map(|c| match c {
                Command::PluginFault(f) => Some(f.clone()),
                _ => None,
            })
            .collect()
    }

    /// Start, then fail `n` opens in a row, 1 s apart; everything that came out.
    fn fail_opens(c: &mut Connection, n: u64) -> Vec<Command> {
        let mut out = Vec::new();
        c.start(0, &mut out).unwrap();
        let mut now = 0;
        for link in 1..=n {
            c.on_failed(now, link, &refused(), &mut out).unwrap();
            now = now.saturating_add(1_000);
            c.on_wake(now, &mut out);
        }
        out
    }

    #[test]
    fn a_valid_plugin_answer_is_used_and_an_invalid_one_falls_back() {
        let (mut c, asked) = plugin_conn(alloc::vec![
            PluginAnswer::Decided(PluginDecision::RetryAfter(500)),
            PluginAnswer::Decided(PluginDecision::RetryAfter(u64::MAX)),
        ]);
        let out = fail_opens(&mut c, 2);
        assert_eq!(backoffs(&out), [500, 1_000]);
        let f = faults(&out);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].reason, PluginFaultReason::InvalidAnswer);
        assert_eq!(f[0].used, Decision::RetryAfter(1_000));
        assert!(
            f[0].detail.contains("over max-delay-ms 60000"),
            "{}",
            f[0].detail
        );
        let asked = asked.borrow();
        assert_eq!(
            asked[0],
            (1, PluginDecision::RetryAfter(1_000), r#"{"a":1}"#.into())
        );
    }

    #[test]
    fn failures_fall_back_and_quarantine_after_three_in_a_row() {
        let trap = || PluginAnswer::Failed(PluginFaultReason::Trap, "x".repeat(1_000));
        let (mut c, asked) = plugin_conn(alloc::vec![trap(), trap(), trap(), trap()]);
        let out = fail_opens(&mut c, 5);
        let f = faults(&out);
        assert_eq!(f.len(), 3);
        assert!(
            f.iter()
                .all(|f| f.detail.len() == crate::types::PLUGIN_DETAIL_MAX)
        );
        assert_eq!(
            f.iter().map(|f| f.quarantined).collect::<Vec<_>>(),
            [false, false, true]
        );
        assert_eq!(backoffs(&out), [1_000; 5]);
        assert_eq!(asked.borrow().len(), 3, "not asked once quarantined");
        assert_eq!(c.plugin_quarantined(), Some(true));
    }

    #[test]
    fn without_a_plugin_host_the_fallback_decides_as_unavailable() {
        let doc =
            r#"{"hub": "hub-a", "seed": 1, "policy": {"kind": "custom", "plugin": "p.wasm"}}"#;
        let mut c = Connection::new(config::parse(doc).unwrap(), 1);
        let out = fail_opens(&mut c, 1);
        let f = faults(&out);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].reason, PluginFaultReason::Unavailable);
        assert_eq!(backoffs(&out).len(), 1);
    }

    #[test]
    fn a_plugin_that_gives_up_stops_the_connection() {
        let (mut c, _) = plugin_conn(alloc::vec![PluginAnswer::Decided(PluginDecision::GiveUp)]);
        let out = fail_opens(&mut c, 1);
        assert!(out.contains(&Command::Decided(DecisionEvent {
            at: 0,
            cause: Some(classify(&refused())),
            action: Action::GiveUp(GiveUpReason::Plugin),
        })));
        assert_eq!(c.status().reason, Reason::RetryExpired);
    }
}
