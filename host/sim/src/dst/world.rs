//! The simulated device world: a hub, a provisioning service, a credential source,
//! a network and an application, all drawing their behaviour from the seed.
//!
//! Everything the world does is an event in the kernel's queue, ordered by (time,
//! insertion). The kernel's loop pops the next event; the world moves the virtual
//! clock and either delivers an input to the component through the [`Harness`]
//! (which checks the step) or acts on its own (a clock jump). The commands an input produced are answered by scheduling
//! later events. The same seed always gives the same world, the same component
//! decisions, and so the same transcript.

use std::collections::{BTreeMap, BTreeSet};

use super::failures::{any_failure, app, http, net, proto};
use super::harness::{Applied, Harness, Violation};
use super::input::Input;
use super::profile::{Family, Profile};
use super::rng::SimRng;
use super::spec::Spec;
use crate::kernel::{self, EventQueue, Until};
use crate::{MessageSummary, Transcript};
use tether_host::Command;
use tether_host::NS_PER_MS;
use tether_host::Runtime;
use tether_host::names::{APPLICATION_ERRORS, NETWORK_ERRORS};
use tether_host::syntax::failure_text;
use tether_host::{
    ApplicationError, Assignment, Credential, Failure, HttpFailure, NetworkError, Pending,
    ProtocolError, ProvisioningResult,
};

/// What one seed did.
#[derive(Clone, Debug)]
pub struct SeedRun {
    /// The seed.
    pub seed: u64,
    /// The configuration document the seed drew.
    pub config: String,
    /// Inputs delivered to the component.
    pub steps: u64,
    /// Virtual time at the end, in milliseconds.
    pub end_ms: u64,
    /// Everything that happened.
    pub transcript: Transcript,
    /// The message counts.
    pub messages: MessageSummary,
}

/// Something that happens at a moment of virtual time.
#[derive(Clone, Debug)]
enum Ev {
    Start,
    Stop,
    Publish {
        topic: String,
        payload: Vec<u8>,
    },
    /// A deadline the component asked for.
    Wake,
    /// A wake-up nobody asked for: must do nothing.
    ExtraWake,
    Opened {
        link: u64,
    },
    Failed {
        link: u64,
        failure: Failure,
    },
    Closed {
        link: u64,
        failure: Failure,
    },
    HalfOpen {
        link: u64,
    },
    Acked {
        link: u64,
        message: u64,
    },
    DupAck {
        message: u64,
    },
    /// The hub refuses the message (a PUBACK reason from 0x80).
    Refused {
        link: u64,
        message: u64,
        failure: Failure,
    },
    Provisioned(ProvisioningResult),
    Credential(Result<Credential, Failure>),
    Jump {
        ms: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LinkState {
    Opening,
    Open,
    Closed,
}

/// The world of one seed.
struct World {
    rng: SimRng,
    profile: Profile,
    h: Harness,
    queue: EventQueue<Ev>,
    wakes: BTreeSet<u64>,
    links: BTreeMap<u64, LinkState>,
    /// When each credential stops being accepted by the hub.
    expiry: BTreeMap<String, u64>,
    minted: u64,
    assigned: u64,
    ops: u64,
    started_once: bool,
}

/// Run one seed: draw a configuration and a world, run until the horizon, stop,
/// and check every step and the end state.
pub fn run_seed(runtime: &Runtime, seed: u64) -> Result<SeedRun, Violation> {
    let mut rng = SimRng::new(seed);
    let spec = Spec::generate(&mut rng);
    let profile = Profile::draw(&mut rng);
    let h = Harness::new(runtime, &spec, seed)?;
    let mut world = World {
        rng,
        profile,
        h,
        queue: EventQueue::new(),
        wakes: BTreeSet::new(),
        links: BTreeMap::new(),
        expiry: BTreeMap::new(),
        minted: 0,
        assigned: 0,
        ops: 0,
        started_once: false,
    };
    world.plan();
    world.run()?;
    Ok(SeedRun {
        seed,
        config: spec.to_json(),
        steps: world.h.steps(),
        end_ms: world.h.now_ms(),
        transcript: world.h.transcript().clone(),
        messages: world.h.ledger().summary(),
    })
}

impl kernel::World for World {
    type Event = Ev;
    type Error = Violation;

    fn queue(&mut self) -> &mut EventQueue<Ev> {
        &mut self.queue
    }

    /// The seed's input budget.
    fn proceed(&mut self) -> Result<bool, Violation> {
        Ok(self.h.steps() < self.profile.max_inputs)
    }

    fn handle(&mut self, at_ms: u64, ev: Ev) -> Result<(), Violation> {
        // After a clock jump, overdue events happen late, at the current time.
        let at = at_ms.max(self.h.now_ms());
        self.h.advance_to(at);
        self.deliver(ev)
    }
}

impl World {
    fn at(&mut self, t: u64, ev: Ev) {
        self.queue.push(t, ev);
    }

    /// At `t` after the world's origin.
    fn at_planned(&mut self, t: u64, ev: Ev) {
        let t = self.profile.origin_ms.saturating_add(t);
        self.at(t, ev);
    }

    fn after(&mut self, delay: u64, ev: Ev) {
        let t = self.h.now_ms().saturating_add(delay);
        self.at(t, ev);
    }

    /// The application's side: starts, stops, publishes, clock jumps, spurious
    /// wake-ups, all drawn up front.
    fn plan(&mut self) {
        let horizon = self.profile.horizon_ms;
        let start = if self.rng.chance(900) {
            0
        } else {
            self.rng.below(horizon.min(60_000))
        };
        self.at_planned(start, Ev::Start);
        for (from, until, family) in self.profile.outages.clone() {
            self.h.note(format!(
                "note outage {from}ms..{until}ms {family:?} planned"
            ));
        }
        let publishes = self.rng.below(60);
        for _ in 0..publishes {
            let t = self.rng.below(horizon);
            let topic = if self.rng.chance(30) {
                String::new()
            } else {
                "telemetry".to_string()
            };
            let len = match self.rng.below(10) {
                0 => self.rng.range(0, 100),
                _ => self.rng.range(0, 16),
            };
            let payload = vec![0x5a; usize::try_from(len).unwrap_or(0)];
            self.at_planned(t, Ev::Publish { topic, payload });
        }
        for _ in 0..self.rng.below(4) {
            let t = self.rng.below(horizon);
            self.at_planned(t, Ev::Stop);
            if self.rng.chance(800) {
                let back = self.rng.duration_ms(60_000, horizon);
                self.at_planned(t.saturating_add(back), Ev::Start);
            }
        }
        for _ in 0..self.rng.below(3) {
            // A start while running must be refused.
            let t = self.rng.below(horizon);
            self.at_planned(t, Ev::Start);
        }
        for _ in 0..self.rng.below(4) {
            let t = self.rng.below(horizon);
            let ms = match self.rng.below(4) {
                0 => self.rng.range(1_000, 60_000),
                1 => self.rng.range(60_000, 3_600_000),
                2 => self.rng.range(3_600_000, 3 * 86_400_000),
                _ => self.rng.range(1, 1_000),
            };
            self.at_planned(t, Ev::Jump { ms });
        }
        for _ in 0..self.rng.below(8) {
            let t = self.rng.below(horizon);
            self.at_planned(t, Ev::ExtraWake);
        }
    }

    fn run(&mut self) -> Result<(), Violation> {
        let horizon = self
            .profile
            .origin_ms
            .saturating_add(self.profile.horizon_ms);
        kernel::run(self, Until::Through(horizon))?;
        // Noted however the run ended (the budget may be spent just as the queue
        // runs dry or passes the horizon).
        if self.h.steps() >= self.profile.max_inputs {
            self.h.note("note input budget spent");
        }
        self.h.finish()?;
        // Reports still on their way after the final stop must all be refused.
        let late: Vec<Ev> = std::iter::from_fn(|| self.queue.pop())
            .take(8)
            .map(|(_, ev)| ev)
            .collect();
        for ev in late {
            let input = match ev {
                Ev::Opened { link } => Input::Opened { link },
                Ev::Failed { link, failure } => Input::Failed { link, failure },
                Ev::Closed { link, failure } => Input::Closed { link, failure },
                Ev::Acked { message, .. } | Ev::DupAck { message } => Input::Acked { message },
                Ev::Refused {
                    message, failure, ..
                } => Input::Refused { message, failure },
                Ev::Provisioned(r) => Input::Provisioned(r),
                Ev::Credential(r) => Input::Credential(r),
                Ev::Publish { topic, payload } => Input::Publish { topic, payload },
                Ev::Wake | Ev::ExtraWake => Input::Wake,
                _ => continue,
            };
            self.h.note("note late report after the final stop");
            self.h.apply(input)?;
        }
        Ok(())
    }

    fn apply(&mut self, input: Input) -> Result<Applied, Violation> {
        let was_stopped = self.h.stopped();
        let by_app = input == Input::Stop;
        let applied = self.h.apply(input)?;
        self.dispatch(&applied.commands);
        if !was_stopped && self.h.stopped() && !by_app && self.rng.chance(600) {
            // The application notices tether gave up and starts it again later.
            let later = self.rng.duration_ms(60_000, self.profile.horizon_ms);
            self.after(later, Ev::Start);
        }
        Ok(applied)
    }

    fn deliver(&mut self, ev: Ev) -> Result<(), Violation> {
        match ev {
            Ev::Start => {
                if !self.started_once {
                    self.started_once = true;
                    // The configured credential's lifetime runs from the first start.
                    let eff = self.h.effective().clone();
                    if let (Some(secret), Some(life)) = (eff.secret, eff.lifetime_ms) {
                        let now = self.h.now_ms();
                        self.expiry.insert(secret, now.saturating_add(life));
                    }
                }
                self.apply(Input::Start)?;
            }
            Ev::Stop => {
                self.apply(Input::Stop)?;
            }
            Ev::Publish { topic, payload } => {
                self.apply(Input::Publish { topic, payload })?;
            }
            Ev::Wake => {
                let now = self.h.now_ms();
                self.wakes.remove(&now);
                self.apply(Input::Wake)?;
            }
            Ev::ExtraWake => {
                self.h.note("note spurious wake-up");
                self.apply(Input::Wake)?;
            }
            Ev::Jump { ms } => {
                let to = self.h.now_ms().saturating_add(ms);
                self.h.note(format!("note clock jumps {ms}ms forward"));
                self.h.advance_to(to);
                // Timers that passed meanwhile fire now, late.
            }
            Ev::Opened { link } => {
                if self.admit(link, LinkState::Opening, LinkState::Open) {
                    let applied = self.apply(Input::Opened { link })?;
                    if applied.answer == super::input::Answer::Input(Ok(())) {
                        self.link_fate(link);
                    }
                } else {
                    self.stale(Input::Opened { link })?;
                }
            }
            Ev::Failed { link, failure } => {
                if self.admit(link, LinkState::Opening, LinkState::Closed) {
                    self.apply(Input::Failed { link, failure })?;
                } else {
                    self.stale(Input::Failed { link, failure })?;
                }
            }
            Ev::Closed { link, failure } => {
                if self.admit(link, LinkState::Open, LinkState::Closed) {
                    self.h.note(format!(
                        "note hub drops link={link} {}",
                        failure_text(&failure)
                    ));
                    self.apply(Input::Closed { link, failure })?;
                } else {
                    self.stale(Input::Closed { link, failure })?;
                }
            }
            Ev::HalfOpen { link } => {
                if self.links.get(&link) == Some(&LinkState::Open) {
                    self.h.note(format!(
                        "note link={link} goes half open; keep-alive lost in {}ms",
                        self.profile.keep_alive_ms
                    ));
                    let failure = if self.rng.coin() {
                        proto(ProtocolError::KeepAliveLost)
                    } else {
                        proto(ProtocolError::MqttReason(0x8D))
                    };
                    self.after(self.profile.keep_alive_ms, Ev::Closed { link, failure });
                }
            }
            Ev::Acked { link, message } => {
                if self.links.get(&link) == Some(&LinkState::Open) {
                    self.apply(Input::Acked { message })?;
                } else {
                    self.h.note(format!(
                        "note ack msg={message} lost: link={link} is closed"
                    ));
                }
            }
            Ev::DupAck { message } => {
                self.h.note(format!("note duplicate ack msg={message}"));
                self.apply(Input::Acked { message })?;
            }
            Ev::Refused {
                link,
                message,
                failure,
            } => {
                if self.links.get(&link) == Some(&LinkState::Open) {
                    self.apply(Input::Refused { message, failure })?;
                } else {
                    self.h.note(format!(
                        "note refusal of msg={message} lost: link={link} is closed"
                    ));
                }
            }
            Ev::Provisioned(result) => {
                if let ProvisioningResult::Assigned(Assignment {
                    credential: Some(c),
                    ..
                }) = &result
                    && let Some(life) = c.lifetime_ms
                {
                    let now = self.h.now_ms();
                    self.expiry
                        .insert(c.secret.clone(), now.saturating_add(life));
                }
                self.apply(Input::Provisioned(result))?;
            }
            Ev::Credential(result) => {
                if let Ok(c) = &result
                    && let Some(life) = c.lifetime_ms
                {
                    let now = self.h.now_ms();
                    self.expiry
                        .insert(c.secret.clone(), now.saturating_add(life));
                }
                self.apply(Input::Credential(result))?;
            }
        }
        Ok(())
    }

    /// A hub report for a link the hub no longer has in that state is normally
    /// dropped; now and then the world delivers it anyway, late, to check the
    /// component refuses it.
    fn stale(&mut self, input: Input) -> Result<(), Violation> {
        if self.rng.chance(self.profile.stale) {
            self.h.note("note stale report delivered anyway");
            self.apply(input)?;
        }
        Ok(())
    }

    fn admit(&mut self, link: u64, from: LinkState, to: LinkState) -> bool {
        if self.links.get(&link) == Some(&from) {
            self.links.insert(link, to);
            true
        } else {
            false
        }
    }

    /// What becomes of a link the hub accepted.
    fn link_fate(&mut self, link: u64) {
        let p = self.profile.clone();
        if self.rng.chance(p.drop) {
            // Now and then exactly at the reset-after boundary (or one short of it),
            // where a drop starts the backoff over or continues it.
            let reset = self.h.effective().reset_after_ms;
            let life = match self.rng.below(10) {
                0 => reset,
                1 => reset.saturating_sub(1),
                _ => self.rng.range(0, p.link_life_ms),
            };
            let family = if self.rng.chance(700) {
                Family::Transient
            } else {
                p.family
            };
            let failure = self.failure(family);
            self.after(life, Ev::Closed { link, failure });
        } else if self.rng.chance(p.half_open) {
            let life = self.rng.range(0, p.link_life_ms);
            self.after(life, Ev::HalfOpen { link });
        }
        for (from, until, family) in p.outages {
            let now = self.h.now_ms();
            if from > now && family != Family::Blackhole {
                let failure = self.failure(family);
                self.at(from, Ev::Closed { link, failure });
                let _ = until;
                break;
            }
        }
    }

    /// Answer the component's commands.
    fn dispatch(&mut self, commands: &[Command]) {
        for command in commands {
            match command {
                Command::Open {
                    link, credential, ..
                } => self.open(*link, credential.as_deref()),
                Command::Send { link, message, .. } => self.send(*link, *message),
                Command::Close { link } => {
                    self.links.insert(*link, LinkState::Closed);
                }
                Command::Register | Command::Poll { .. } => self.provisioning(),
                Command::Renew => self.renew(),
                Command::WakeAt(ns) => {
                    let at = ns.div_ceil(NS_PER_MS).max(self.h.now_ms());
                    if self.wakes.insert(at) {
                        self.at(at, Ev::Wake);
                    }
                    // A wake-up one millisecond early must do nothing.
                    if self.rng.chance(50) && at > self.h.now_ms() {
                        self.at(at.saturating_sub(1), Ev::ExtraWake);
                    }
                }
                // The simulated devices keep no subscriptions.
                Command::Subscribe { .. }
                | Command::Status(_)
                | Command::Decided(_)
                | Command::Outcome { .. }
                | Command::PluginFault(_) => {}
            }
        }
    }

    fn open(&mut self, link: u64, credential: Option<&str>) {
        self.links.insert(link, LinkState::Opening);
        let now = self.h.now_ms();
        let p = self.profile.clone();
        let latency = self.rng.range(0, p.open_latency_ms);
        let expired = credential
            .and_then(|c| self.expiry.get(c))
            .is_some_and(|t| now >= *t);
        if expired {
            let failure = match self.rng.below(4) {
                0 => proto(ProtocolError::Http(HttpFailure {
                    status: 401,
                    hub_code: Some(401_003),
                })),
                1 => proto(ProtocolError::MqttConnack(5)),
                2 => proto(ProtocolError::MqttReason(0x87)),
                _ => app(ApplicationError::CredentialExpired),
            };
            self.h.note(format!(
                "note hub refuses an expired credential on link={link}"
            ));
            self.after(latency, Ev::Failed { link, failure });
            return;
        }
        let trouble = match p.outage_at(now) {
            Some(family) => Some(family),
            None if self.rng.chance(p.accept) => None,
            None if self.rng.chance(p.blackhole) => Some(Family::Blackhole),
            None => Some(p.family),
        };
        match trouble {
            None => self.after(latency, Ev::Opened { link }),
            Some(Family::Blackhole) => {
                self.h.note(format!(
                    "note open of link={link} unanswered; the transport times out in {}ms",
                    p.connect_timeout_ms
                ));
                self.after(
                    p.connect_timeout_ms,
                    Ev::Failed {
                        link,
                        failure: net(NetworkError::Timeout),
                    },
                );
            }
            Some(family) => {
                let failure = self.failure(family);
                self.after(latency, Ev::Failed { link, failure });
            }
        }
        // Once the link is open, a credential that expires ends the session.
        if let Some(t) = credential.and_then(|c| self.expiry.get(c)).copied() {
            let failure = if self.rng.coin() {
                proto(ProtocolError::SessionExpired)
            } else {
                proto(ProtocolError::Http(HttpFailure {
                    status: 401,
                    hub_code: Some(401_003),
                }))
            };
            self.at(t, Ev::Closed { link, failure });
        }
    }

    fn send(&mut self, link: u64, message: u64) {
        if self.links.get(&link) != Some(&LinkState::Open) {
            return;
        }
        let p = self.profile.clone();
        // Now and then the ack lands exactly at the message's operation timeout.
        let latency = match self.h.effective().operation_timeout_ms {
            Some(t) if self.rng.chance(50) => t,
            _ => self.rng.range(0, p.ack_latency_ms),
        };
        if self.rng.chance(p.ack_loss) {
            self.h
                .note(format!("note ack of msg={message} will be lost"));
        } else if self.rng.chance(60) {
            // The hub refuses it: a code of every kind the refusal table has, and
            // some it does not name.
            let code = *self
                .rng
                .pick(&[
                    0x80, 0x83, 0x87, 0x89, 0x90, 0x91, 0x96, 0x97, 0x97, 0x99, 0x8E, 0x00, 0xFF,
                ])
                .unwrap_or(&0x97);
            let failure = proto(ProtocolError::MqttReason(code));
            self.after(
                latency,
                Ev::Refused {
                    link,
                    message,
                    failure,
                },
            );
        } else {
            self.after(latency, Ev::Acked { link, message });
        }
        if self.rng.chance(p.ack_dup) {
            let extra = self.rng.range(0, p.ack_latency_ms.saturating_mul(3));
            self.after(latency.saturating_add(extra), Ev::DupAck { message });
        }
    }

    fn provisioning(&mut self) {
        let p = self.profile.clone();
        let latency = self.rng.range(0, p.prov_latency_ms);
        if self.rng.chance(p.prov_blackhole) {
            self.h
                .note("note provisioning request unanswered; the client times out");
            self.after(
                p.connect_timeout_ms,
                Ev::Provisioned(ProvisioningResult::Failed(net(NetworkError::Timeout))),
            );
            return;
        }
        let result = if self.rng.chance(p.prov_assign) {
            self.assigned = self.assigned.saturating_add(1);
            let hub = *self
                .rng
                .pick(&["hub-a", "hub-b", "hub-c"])
                .unwrap_or(&"hub-a");
            let credential = self.rng.chance(400).then(|| Credential {
                secret: format!("dps-{}", self.assigned),
                lifetime_ms: self
                    .rng
                    .chance(500)
                    .then(|| self.rng.duration_ms(600_000, 86_400_000).max(1)),
            });
            ProvisioningResult::Assigned(Assignment {
                hub: hub.to_string(),
                device_id: format!("dev-{}", self.assigned),
                credential,
            })
        } else if self.rng.chance(p.prov_pending) {
            self.ops = self.ops.saturating_add(1);
            ProvisioningResult::Pending(Pending {
                operation_id: format!("op-{}", self.ops),
                retry_after_ms: self.retry_after(),
            })
        } else {
            let failure = match self.rng.below(8) {
                0 => http(429, None),
                1 => http(500, None),
                2 => http(503, None),
                3 => http(401, None),
                4 => http(403, None),
                5 => http(404, None),
                6 => self.failure(Family::Any),
                _ => self.failure(Family::Transient),
            };
            let mut failure = failure;
            if self.rng.chance(500) {
                failure.retry_after_ms = self.retry_after();
            }
            ProvisioningResult::Failed(failure)
        };
        self.after(latency, Ev::Provisioned(result));
    }

    fn renew(&mut self) {
        let p = self.profile.clone();
        let latency = self.rng.range(0, p.cred_latency_ms);
        let result = if self.rng.chance(p.cred_fail) {
            let family = *self
                .rng
                .pick(&[Family::Transient, Family::Server, Family::Auth, Family::Any])
                .unwrap_or(&Family::Transient);
            Err(self.failure(family))
        } else {
            self.minted = self.minted.saturating_add(1);
            Ok(Credential {
                secret: format!("token-{}", self.minted),
                lifetime_ms: p.cred_lifetime_ms,
            })
        };
        self.after(latency, Ev::Credential(result));
    }

    /// A server retry-after: often none, sometimes tiny, sometimes absurd.
    fn retry_after(&mut self) -> Option<u64> {
        match self.rng.below(8) {
            0..=2 => None,
            3 => Some(0),
            4 => Some(self.rng.range(1, 10_000)),
            5 => Some(self.rng.range(10_000, 1_000_000)),
            6 => Some(u64::MAX),
            _ => Some(self.rng.range(1_000_000, 1_000_000_000_000_000)),
        }
    }

    fn failure(&mut self, family: Family) -> Failure {
        let rng = &mut self.rng;
        let mut f = match family {
            Family::Transient | Family::Blackhole => match rng.below(12) {
                0..=6 => net(rng
                    .pick(&NETWORK_ERRORS)
                    .map_or(NetworkError::Reset, |&(_, e)| e)),
                7 => proto(ProtocolError::KeepAliveLost),
                8 => proto(ProtocolError::SessionExpired),
                9 => proto(ProtocolError::LinkDetached),
                10 => proto(ProtocolError::Amqp("amqp:connection:forced".into())),
                _ => proto(ProtocolError::MqttReason(
                    *rng.pick(&[0x80, 0x83, 0x88, 0x8B]).unwrap_or(&0x80),
                )),
            },
            Family::Throttle => match rng.below(10) {
                0 => http(429, None),
                1 => http(429, Some(429_001)),
                2 => http(403, Some(403_002)),
                3 => proto(ProtocolError::MqttReason(
                    *rng.pick(&[0x96, 0x97, 0x9F, 0x89]).unwrap_or(&0x96),
                )),
                4 => proto(ProtocolError::Amqp(
                    (*rng
                        .pick(&[
                            "com.microsoft:device-container-throttled",
                            "com.microsoft:server-busy",
                            "amqp:resource-limit-exceeded",
                        ])
                        .unwrap_or(&"com.microsoft:server-busy"))
                    .into(),
                )),
                5 => app(ApplicationError::Throttled),
                6 => app(ApplicationError::QuotaExceeded),
                7 => net(NetworkError::Tls),
                _ => http(503, None),
            },
            Family::Auth => match rng.below(12) {
                0 => proto(ProtocolError::MqttConnack(
                    *rng.pick(&[2, 4, 5]).unwrap_or(&5),
                )),
                1 => proto(ProtocolError::MqttReason(
                    *rng.pick(&[0x85, 0x86, 0x87, 0x8C, 0x8A]).unwrap_or(&0x87),
                )),
                2 => http(401, None),
                3 => http(401, Some(401_003)),
                4 => http(403, None),
                5 => http(404, None),
                6 => http(404, Some(404_001)),
                7 => proto(ProtocolError::Amqp("amqp:unauthorized-access".into())),
                8 => proto(ProtocolError::Amqp("amqp:not-found".into())),
                9 => proto(ProtocolError::Amqp(
                    "com.microsoft:iot-hub-suspended".into(),
                )),
                _ => app(rng
                    .pick(&APPLICATION_ERRORS)
                    .map_or(ApplicationError::Unauthorized, |&(_, e)| e)),
            },
            Family::Server => match rng.below(6) {
                0 => http(
                    *rng.pick(&[500, 502, 503, 504, 507, 599]).unwrap_or(&500),
                    None,
                ),
                1 => http(503, Some(503_003)),
                2 => proto(ProtocolError::MqttConnack(3)),
                3 => proto(ProtocolError::MqttReason(
                    *rng.pick(&[0x88, 0x89, 0x8B]).unwrap_or(&0x88),
                )),
                4 => proto(ProtocolError::Amqp("amqp:internal-error".into())),
                _ => http(408, None),
            },
            Family::Redirect => {
                let code = *rng.pick(&[0x9C, 0x9D]).unwrap_or(&0x9C);
                let mut f = proto(ProtocolError::MqttReason(code));
                f.server_reference = match rng.below(4) {
                    0 => None,
                    1 => Some(String::new()),
                    _ => Some(
                        (*rng
                            .pick(&["hub-z", "hub-y.example:8883"])
                            .unwrap_or(&"hub-z"))
                        .into(),
                    ),
                };
                f
            }
            Family::Any => any_failure(rng),
        };
        if f.retry_after_ms.is_none() && (family == Family::Throttle || self.rng.chance(100)) {
            f.retry_after_ms = self.retry_after();
        }
        if f.server_reference.is_none() && self.rng.chance(20) {
            f.server_reference = Some("hub-r".into());
        }
        f
    }
}
