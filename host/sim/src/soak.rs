//! A long life in virtual time: one device (the real component) through weeks or
//! months of a hub that fails every few minutes, credentials that expire every
//! hour, and a steady stream of messages, with nothing kept that grows with time.
//!
//! [`Sim`](crate::Sim) keeps a transcript and a record of every message, which a
//! 90-day run would fill with millions of lines; a [`Soak`] keeps counters, the
//! messages still waiting for their outcome, and the events still scheduled. So
//! whatever grows while it runs grows in the component (its linear memory, its
//! queue) or in the host's parts it drives (the [`ScriptedHub`], the
//! [`ScriptedCredentials`], the kernel's queue, `tether_host`'s instance), which
//! is what a soak is for. [`Soak::figures`] reads those sizes.
//!
//! The world, drawn from the plan's seed and repeated the same way for the same
//! seed: a message every `message_every_ms`; every `fault_every_ms` (give or take
//! a third) one fault, in turn: the hub resets the link; the link goes quiet (keep-
//! alive lost) and opens time out for 20 to 90 s; the hub is down (the link closed,
//! opens refused) for 30 s to 3 min; the hub sheds load (MQTT 5 0x89, server busy,
//! with a retry-after of 5 to 30 s) for up to a minute. Tokens last
//! `token_lifetime_ms`; the component renews them at its `renew-at-percent`.
//! Every accepted message must end as exactly one outcome: an outcome for a
//! message that had one already, or was never accepted, is counted as extra.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tether_host::names::message_failure_name;
use tether_host::syntax::failure;
use tether_host::{
    DecisionEvent, Device, Driver, Entropy, NS_PER_MS, NetworkError, NoProvisioning, Observer,
    Outcome, PluginFaultReport, ProtocolError, Runtime, StatusChange, VirtualClock,
};

use crate::dst::SimRng;
use crate::kernel::{self, EventQueue, Until, World};
use crate::{Event, OpenAnswer, ScriptedCredentials, ScriptedHub};

/// What a soak runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoakPlan {
    /// The seed of the world and of the component's jitter.
    pub seed: u64,
    /// Between messages.
    pub message_every_ms: u64,
    /// Between faults, on average.
    pub fault_every_ms: u64,
    /// How long each token lasts.
    pub token_lifetime_ms: u64,
}

impl Default for SoakPlan {
    /// A message a minute, a fault every five minutes, 75-minute tokens (renewed
    /// after an hour, at the default 80 %).
    fn default() -> Self {
        Self {
            seed: 1,
            message_every_ms: 60_000,
            fault_every_ms: 300_000,
            token_lifetime_ms: 75 * 60_000,
        }
    }
}

/// What a soak measures at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// Virtual time, in milliseconds.
    pub at_ms: u64,
    /// The component's linear memory, in bytes.
    pub linear_memory_bytes: usize,
    /// Messages in the component's queue (queued and in flight).
    pub queued: u32,
    /// Accepted messages without an outcome, as the soak counts them.
    pub waiting: usize,
    /// Events scheduled in the kernel's queue.
    pub scheduled: usize,
    /// Links the hub remembers.
    pub hub_links: usize,
    /// Messages accepted so far.
    pub accepted: u64,
    /// Outcomes `delivered`.
    pub delivered: u64,
    /// Outcomes `failed`, by reason (kebab-case names).
    pub failed: BTreeMap<&'static str, u64>,
    /// Publishes the component refused.
    pub refused: u64,
    /// Outcomes for a message that had one already or was never accepted.
    pub extra_outcomes: u64,
    /// Faults injected.
    pub faults: u64,
    /// Opens the hub saw.
    pub opens: u32,
    /// Tokens minted (credential renewals answered).
    pub renewals: u32,
    /// Status changes reported.
    pub status_changes: u64,
    /// Give-ups reported (status `disconnected`).
    pub disconnected: u64,
}

impl Figures {
    /// Every outcome `failed`.
    pub fn failed_total(&self) -> u64 {
        self.failed.values().copied().fold(0, u64::saturating_add)
    }
}

/// The soak's own events: the world's, and the two that schedule the next of
/// their kind (so the queue holds one of each, not 90 days of them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SoakEvent {
    /// A world event, as the single-device sim has them.
    World(Event),
    /// Publish the next message, and schedule the one after.
    NextMessage,
    /// Inject the next fault, and schedule the one after.
    NextFault,
}

/// The hub's state the open rule reads: until when opens time out, are refused,
/// or are shed with a retry-after (virtual ms; 0: not).
#[derive(Debug, Default)]
struct HubState {
    quiet_until: AtomicU64,
    down_until: AtomicU64,
    busy_until: AtomicU64,
    busy_retry_after: AtomicU64,
}

/// One device's long life; see the [module docs](self).
#[derive(Debug)]
pub struct Soak {
    plan: SoakPlan,
    device: Device,
    clock: VirtualClock,
    queue: EventQueue<SoakEvent>,
    wakes: BTreeSet<u64>,
    hub: ScriptedHub,
    hub_state: Arc<HubState>,
    credentials: ScriptedCredentials,
    provisioning: NoProvisioning,
    rng: SimRng,
    /// Accepted messages without an outcome: id to the time accepted.
    waiting: BTreeMap<u64, u64>,
    figures: Figures,
    next_payload: u64,
    fault_turn: u64,
}

struct Counting<'a> {
    now_ms: u64,
    queue: &'a mut EventQueue<SoakEvent>,
    wakes: &'a mut BTreeSet<u64>,
    waiting: &'a mut BTreeMap<u64, u64>,
    figures: &'a mut Figures,
}

impl Observer for Counting<'_> {
    fn status_changed(&mut self, change: &StatusChange) {
        self.figures.status_changes = self.figures.status_changes.saturating_add(1);
        if change.status == tether_host::Status::Disconnected {
            self.figures.disconnected = self.figures.disconnected.saturating_add(1);
        }
    }

    fn decided(&mut self, _decision: &DecisionEvent) {}

    fn message_outcome(&mut self, message: u64, outcome: &Outcome) {
        if self.waiting.remove(&message).is_none() {
            self.figures.extra_outcomes = self.figures.extra_outcomes.saturating_add(1);
            return;
        }
        match outcome {
            Outcome::Delivered => {
                self.figures.delivered = self.figures.delivered.saturating_add(1);
            }
            Outcome::Failed(why) => {
                let n = self
                    .figures
                    .failed
                    .entry(message_failure_name(*why))
                    .or_default();
                *n = n.saturating_add(1);
            }
        }
    }

    fn wake_at(&mut self, deadline_ns: u64) {
        let at_ms = deadline_ns.div_ceil(NS_PER_MS).max(self.now_ms);
        if self.wakes.insert(at_ms) {
            self.queue.push(at_ms, SoakEvent::World(Event::Wake));
        }
    }

    fn plugin_fault(&mut self, _fault: &PluginFaultReport) {}
}

impl Soak {
    /// A device with renewable credentials on a hub that accepts after 100 ms and
    /// acknowledges after 20 ms but for the faults, started at t = 0.
    ///
    /// # Errors
    /// When the component cannot be instantiated or refuses the configuration.
    pub fn new(runtime: &Runtime, plan: SoakPlan) -> anyhow::Result<Soak> {
        let config = serde_json::json!({
            "hub": "hub-a", "device-id": "soak-1", "seed": plan.seed,
            "credential": { "renewable": true },
        });
        let clock = VirtualClock::new();
        let device = Device::new(
            runtime,
            &config.to_string(),
            clock.clone(),
            Entropy::fixed(plan.seed),
        )?;
        let hub_state = Arc::new(HubState::default());
        let state = hub_state.clone();
        let hub = ScriptedHub::new().rule(move |request| {
            let at = request.at_ms;
            if at < state.down_until.load(Ordering::Relaxed) {
                OpenAnswer::refuse(30, failure::net(NetworkError::Refused))
            } else if at < state.quiet_until.load(Ordering::Relaxed) {
                OpenAnswer::refuse(10_000, failure::net(NetworkError::Timeout))
            } else if at < state.busy_until.load(Ordering::Relaxed) {
                let ms = state.busy_retry_after.load(Ordering::Relaxed);
                OpenAnswer::refuse(50, failure::with_retry_after(failure::mqtt5(0x89), ms))
            } else {
                OpenAnswer::accept(100)
            }
        });
        let mut queue = EventQueue::new();
        queue.push(0, SoakEvent::World(Event::Start));
        queue.push(plan.message_every_ms, SoakEvent::NextMessage);
        queue.push(plan.fault_every_ms, SoakEvent::NextFault);
        Ok(Soak {
            credentials: ScriptedCredentials::new().lifetime_ms(plan.token_lifetime_ms),
            rng: SimRng::new(plan.seed),
            plan,
            device,
            clock,
            queue,
            wakes: BTreeSet::new(),
            hub,
            hub_state,
            provisioning: NoProvisioning::default(),
            waiting: BTreeMap::new(),
            figures: Figures::default(),
            next_payload: 1,
            fault_turn: 0,
        })
    }

    /// Run every event due up to and including `end_ms`.
    ///
    /// # Errors
    /// A host error (a trap in the component).
    pub fn run_until(&mut self, end_ms: u64) -> anyhow::Result<()> {
        kernel::run(self, Until::Through(end_ms))?;
        self.clock.set_ms(end_ms.max(self.clock.now_ms()));
        Ok(())
    }

    /// Stop the connection now (the queue's messages fail with `client-close`) and
    /// deliver what is still scheduled for the links it closed.
    ///
    /// # Errors
    /// A host error.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let step = self.device.stop()?;
        self.settle(step.into_parts().1);
        Ok(())
    }

    /// The sizes and counts now.
    ///
    /// # Errors
    /// A host error reading the component's queue.
    pub fn figures(&mut self) -> anyhow::Result<Figures> {
        let mut f = self.figures.clone();
        f.at_ms = self.clock.now_ms();
        f.linear_memory_bytes = self.device.instance().linear_memory_bytes();
        f.queued = self.device.pending_messages()?;
        f.waiting = self.waiting.len();
        f.scheduled = self.queue.len();
        f.hub_links = self.hub.links_remembered();
        f.opens = self.hub.opens();
        f.renewals = self.credentials.minted();
        Ok(f)
    }

    fn publish(&mut self, now: u64) -> anyhow::Result<()> {
        let payload = self.next_payload.to_string();
        self.next_payload = self.next_payload.saturating_add(1);
        let step = self.device.publish("telemetry", payload.as_bytes())?;
        let (result, commands) = step.into_parts();
        match result {
            Ok(id) => {
                self.figures.accepted = self.figures.accepted.saturating_add(1);
                if self.waiting.insert(id, now).is_some() {
                    // An id given twice: the one it replaces never ends.
                    self.figures.extra_outcomes = self.figures.extra_outcomes.saturating_add(1);
                }
            }
            Err(_) => self.figures.refused = self.figures.refused.saturating_add(1),
        }
        self.settle(commands);
        Ok(())
    }

    fn fault(&mut self, now: u64) {
        self.figures.faults = self.figures.faults.saturating_add(1);
        let turn = self.fault_turn;
        self.fault_turn = self.fault_turn.wrapping_add(1);
        let state = &self.hub_state;
        let drop = match turn % 4 {
            0 => failure::net(NetworkError::Reset),
            1 => {
                let until = now.saturating_add(self.rng.range(20_000, 90_000));
                state.quiet_until.store(until, Ordering::Relaxed);
                failure::protocol(ProtocolError::KeepAliveLost)
            }
            2 => {
                let until = now.saturating_add(self.rng.range(30_000, 180_000));
                state.down_until.store(until, Ordering::Relaxed);
                failure::net(NetworkError::Closed)
            }
            _ => {
                let until = now.saturating_add(self.rng.range(10_000, 60_000));
                state.busy_until.store(until, Ordering::Relaxed);
                state
                    .busy_retry_after
                    .store(self.rng.range(5_000, 30_000), Ordering::Relaxed);
                // MQTT 5 server busy, as a DISCONNECT.
                failure::mqtt5(0x89)
            }
        };
        self.queue
            .push(now, SoakEvent::World(Event::HubDrop { failure: drop }));
    }

    fn deliver(&mut self, event: Event) -> anyhow::Result<()> {
        let commands = match event {
            Event::Start => self.device.start()?.into_parts().1,
            Event::Stop => self.device.stop()?.into_parts().1,
            Event::Wake => {
                self.wakes.remove(&self.clock.now_ms());
                self.device.on_wake()?.into_parts().1
            }
            Event::HubDrop { failure } => match self.hub.open_link() {
                Some(link) => {
                    let closed = Event::Closed { link, failure };
                    return self.deliver(closed);
                }
                None => return Ok(()),
            },
            Event::Credential(result) => self.device.on_credential(result.as_ref())?.into_parts().1,
            other => {
                if !self.hub.admit(&other) {
                    return Ok(());
                }
                match other {
                    Event::Opened { link } => self.device.on_opened(link)?.into_parts().1,
                    Event::Failed { link, failure } => {
                        self.device.on_failed(link, &failure)?.into_parts().1
                    }
                    Event::Closed { link, failure } => {
                        self.device.on_closed(link, &failure)?.into_parts().1
                    }
                    Event::Acked { message, .. } => self.device.on_acked(message)?.into_parts().1,
                    _ => return Ok(()),
                }
            }
        };
        self.settle(commands);
        Ok(())
    }

    fn settle(&mut self, commands: Vec<tether_host::Command>) {
        let now = self.clock.now_ms();
        self.hub.now_ms = now;
        self.credentials.now_ms = now;
        let mut observer = Counting {
            now_ms: now,
            queue: &mut self.queue,
            wakes: &mut self.wakes,
            waiting: &mut self.waiting,
            figures: &mut self.figures,
        };
        let mut driver = Driver {
            transport: &mut self.hub,
            provisioner: &mut self.provisioning,
            credentials: &mut self.credentials,
            observer: &mut observer,
        };
        for command in &commands {
            driver.dispatch_one(command);
        }
        // The command list goes back to the instance to be reused.
        self.device.instance().recycle(commands);
        for (at, event) in self
            .hub
            .scheduled
            .drain(..)
            .chain(self.credentials.scheduled.drain(..))
        {
            self.queue.push(at, SoakEvent::World(event));
        }
    }
}

impl World for Soak {
    type Event = SoakEvent;
    type Error = anyhow::Error;

    fn queue(&mut self) -> &mut EventQueue<SoakEvent> {
        &mut self.queue
    }

    fn handle(&mut self, at_ms: u64, event: SoakEvent) -> anyhow::Result<()> {
        self.clock.set_ms(at_ms);
        match event {
            SoakEvent::World(e) => self.deliver(e),
            SoakEvent::NextMessage => {
                self.queue.push(
                    at_ms.saturating_add(self.plan.message_every_ms.max(1)),
                    SoakEvent::NextMessage,
                );
                self.publish(at_ms)
            }
            SoakEvent::NextFault => {
                let every = self.plan.fault_every_ms.max(3);
                let third = every / 3;
                let next = self
                    .rng
                    .range(every.saturating_sub(third), every.saturating_add(third));
                self.queue
                    .push(at_ms.saturating_add(next), SoakEvent::NextFault);
                self.fault(at_ms);
                Ok(())
            }
        }
    }
}
