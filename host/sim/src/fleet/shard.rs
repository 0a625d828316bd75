//! A shard: one component instance hosting a contiguous range of the fleet's
//! devices, each a `connection` resource, with its own queue of events: a world of
//! the virtual-time [`kernel`](crate::kernel).
//!
//! The shard delivers events to the component and turns the commands it gets back
//! into requests for the world (`transport.open`, `provisioning.register`) and
//! wake-ups in its queue. It decides nothing itself.

use anyhow::Context as _;

use super::scenario::{Failures, HUB, PolicySpec, Scenario};
use super::world::{Answer, Request, RequestKind};
use crate::kernel::{self, EventQueue, Until};
use tether_host::Command;
use tether_host::Runtime;
use tether_host::{Assignment, ProvisioningResult, Status};
use tether_host::{Conn, Instance};
use tether_host::{Entropy, NS_PER_MS, VirtualClock};

/// No time: a device with no wake-up announced, or never connected.
pub(crate) const NEVER: u64 = u64::MAX;

/// Something due for one device of the shard (its local index).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Due {
    pub(crate) device: u32,
    pub(crate) what: What,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum What {
    /// A deadline the device announced with `wake-at`.
    Wake,
    /// The world's answer to one of its requests.
    Answer(Answer),
}

/// The seed of device `index`'s jitter: SplitMix64 over the scenario's seed.
pub fn device_seed(seed: u64, index: u32) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(u64::from(index).wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// log2 of the shard's ring: 2^16 ms, about 65 s ahead. A storm puts millions of
/// events within a few minutes, most of them in the next minute.
const RING_BITS: u32 = 16;

/// What a shard hands back after a slice of time.
#[derive(Debug, Default)]
pub(crate) struct SliceOut {
    /// Requests made, in the order they were made.
    pub(crate) requests: Vec<Request>,
    /// The shard's next event, if any.
    pub(crate) next: Option<u64>,
    /// Devices connected so far.
    pub(crate) connected: u32,
    /// Devices stopped for good so far.
    pub(crate) gave_up: u32,
}

/// What a shard counted over the whole run.
#[derive(Debug, Default)]
pub(crate) struct ShardTotals {
    /// When each device connected again (ms), `NEVER` if it did not.
    pub(crate) connected_at: Vec<u64>,
    /// Linear memory of the instance before the connections were created.
    pub(crate) memory_empty: usize,
    /// Linear memory once every connection was created and started.
    pub(crate) memory_loaded: usize,
    /// Linear memory at the end.
    pub(crate) memory_end: usize,
    /// Inputs delivered to the component.
    pub(crate) inputs: u64,
    /// Devices that stopped trying.
    pub(crate) gave_up: u32,
}

pub(crate) struct Shard {
    instance: Instance,
    clock: VirtualClock,
    conns: Vec<Conn>,
    first: u32,
    wake: Vec<u64>,
    queue: EventQueue<Due>,
    failures: Failures,
    out: SliceOut,
    totals: ShardTotals,
}

impl kernel::World for Shard {
    type Event = Due;
    type Error = anyhow::Error;

    fn queue(&mut self) -> &mut EventQueue<Due> {
        &mut self.queue
    }

    fn handle(&mut self, at_ms: u64, due: Due) -> anyhow::Result<()> {
        self.clock.set_ms(at_ms);
        self.deliver(at_ms, due)
    }
}

impl Shard {
    /// Devices `first..first + count` running `policy`: instantiate, create every
    /// connection, connect it (answered at once), then drop every link at t = 0.
    pub(crate) fn new(
        runtime: &Runtime,
        scenario: &Scenario,
        policy: &PolicySpec,
        first: u32,
        count: u32,
    ) -> anyhow::Result<Self> {
        let clock = VirtualClock::new();
        let mut instance = runtime.instantiate(clock.clone(), Entropy::fixed(scenario.seed))?;
        let memory_empty = instance.linear_memory_bytes();
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        instance.set_max_resources(n.saturating_add(1024));
        let mut conns = Vec::with_capacity(n);
        for i in 0..count {
            let index = first.saturating_add(i);
            let config = scenario.device_config(policy, device_seed(scenario.seed, index), index);
            let conn = instance
                .create_connection(&config)
                .context("the component refused the device configuration")?;
            conns.push(conn);
        }
        let mut shard = Self {
            instance,
            clock,
            conns,
            first,
            wake: vec![NEVER; n],
            queue: EventQueue::with_ring_bits(RING_BITS),
            failures: scenario.failures()?,
            out: SliceOut::default(),
            totals: ShardTotals {
                connected_at: vec![NEVER; n],
                memory_empty,
                ..ShardTotals::default()
            },
        };
        shard.connect_all()?;
        shard.totals.memory_loaded = shard.instance.linear_memory_bytes();
        Ok(shard)
    }

    /// Start every device, open its link, and drop it: the storm begins.
    fn connect_all(&mut self) -> anyhow::Result<()> {
        let drop = self.failures.drop.clone();
        for (i, conn) in self.conns.iter().enumerate() {
            let started = self.instance.start(conn)?;
            let link = started
                .commands
                .iter()
                .find_map(|c| match c {
                    Command::Open { link, .. } => Some(*link),
                    _ => None,
                })
                .context("a started device opened no link")?;
            let opened = self.instance.on_opened(conn, link)?;
            anyhow::ensure!(opened.result.is_ok(), "on-opened was refused");
            let mut closed = self.instance.on_closed(conn, link, &drop)?.commands;
            let device = u32::try_from(i).unwrap_or(u32::MAX);
            handle(
                &mut self.out,
                &mut self.totals,
                &mut self.wake,
                &mut self.queue,
                self.first,
                device,
                0,
                &mut closed,
            );
        }
        Ok(())
    }

    /// Take the world's answers, then deliver everything due before `until`.
    pub(crate) fn run_slice(&mut self, answers: Vec<(u64, Due)>, until: u64) -> anyhow::Result<()> {
        for (at, due) in answers {
            self.queue.push(at, due);
        }
        kernel::run(self, Until::Before(until))?;
        Ok(())
    }

    fn deliver(&mut self, now: u64, due: Due) -> anyhow::Result<()> {
        let i = usize::try_from(due.device).unwrap_or(usize::MAX);
        let Some(conn) = self.conns.get(i) else {
            anyhow::bail!("no device {} in this shard", due.device);
        };
        let mut commands = match due.what {
            What::Wake => {
                // Only the deadline the device announced last: an earlier one it
                // replaced would be an extra wake-up (harmless, but a wasted call).
                match self.wake.get_mut(i) {
                    Some(w) if *w == now => *w = NEVER,
                    _ => return Ok(()),
                }
                self.instance.on_wake(conn)?.commands
            }
            What::Answer(answer) => {
                let step = match answer {
                    Answer::Opened(link) => self.instance.on_opened(conn, link)?,
                    Answer::Failed(link, why, hint) => {
                        let failure = self.failures.hub(why, hint);
                        self.instance.on_failed(conn, link, &failure)?
                    }
                    Answer::Assigned => {
                        let result = ProvisioningResult::Assigned(Assignment {
                            hub: HUB.into(),
                            device_id: "device".into(),
                            credential: None,
                        });
                        self.instance.on_provisioned(conn, &result)?
                    }
                    Answer::ProvisioningFailed(hint) => {
                        let result = ProvisioningResult::Failed(self.failures.provisioning(hint));
                        self.instance.on_provisioned(conn, &result)?
                    }
                };
                step.commands
            }
        };
        self.totals.inputs = self.totals.inputs.saturating_add(1);
        handle(
            &mut self.out,
            &mut self.totals,
            &mut self.wake,
            &mut self.queue,
            self.first,
            due.device,
            now,
            &mut commands,
        );
        self.instance.recycle(commands);
        Ok(())
    }

    /// What the slice produced; the shard starts collecting afresh.
    pub(crate) fn take_out(&mut self) -> SliceOut {
        self.out.next = self.queue.peek_time();
        let next = self.out.next;
        let connected = self.out.connected;
        let gave_up = self.out.gave_up;
        let out = std::mem::take(&mut self.out);
        self.out.next = next;
        self.out.connected = connected;
        self.out.gave_up = gave_up;
        out
    }

    /// The run is over: what the shard counted.
    pub(crate) fn finish(mut self) -> ShardTotals {
        self.totals.memory_end = self.instance.linear_memory_bytes();
        self.totals
    }
}

/// Turn one input's commands into requests, wake-ups and counts.
#[allow(clippy::too_many_arguments)]
fn handle(
    out: &mut SliceOut,
    totals: &mut ShardTotals,
    wake: &mut [u64],
    queue: &mut EventQueue<Due>,
    first: u32,
    device: u32,
    now: u64,
    commands: &mut Vec<Command>,
) {
    let i = usize::try_from(device).unwrap_or(usize::MAX);
    let global = first.saturating_add(device);
    for command in commands.drain(..) {
        match command {
            Command::Open { link, .. } => out.requests.push(Request {
                at: now,
                device: global,
                kind: RequestKind::Open(link),
            }),
            Command::Register | Command::Poll { .. } => out.requests.push(Request {
                at: now,
                device: global,
                kind: RequestKind::Register,
            }),
            Command::WakeAt(ns) => {
                let at = ns.div_ceil(NS_PER_MS).max(now);
                if let Some(w) = wake.get_mut(i) {
                    *w = at;
                }
                queue.push(
                    at,
                    Due {
                        device,
                        what: What::Wake,
                    },
                );
            }
            Command::Status(s) => match s.status {
                Status::Connected => {
                    if let Some(t) = totals.connected_at.get_mut(i)
                        && *t == NEVER
                    {
                        *t = now;
                        out.connected = out.connected.saturating_add(1);
                    }
                }
                Status::Disconnected => {
                    out.gave_up = out.gave_up.saturating_add(1);
                    totals.gave_up = totals.gave_up.saturating_add(1);
                }
                Status::DisconnectedRetrying | Status::Disabled => {}
            },
            // The world sees a decision through the request it leads to; giving up
            // shows up as a status.
            Command::Decided(_)
            | Command::Send { .. }
            | Command::Subscribe { .. }
            | Command::Close { .. }
            | Command::Renew
            | Command::Outcome { .. }
            | Command::PluginFault(_) => {}
        }
    }
}
