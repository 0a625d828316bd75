//! `tether simulate`: a fleet storm in virtual time, to compare retry policies.
//!
//! N devices are connected to one hub. At t = 0 every link drops and the hub is
//! gone for the outage; when it comes back it admits at most C connections per
//! second and refuses the rest, with or without a hint (a retry-after, an MQTT 5
//! reason code). Optionally the devices use a provisioning service with its own
//! rate limit and a cost per registration. Every device is a `connection` resource
//! of the real tether component, so every decision (classifying the refusal, the
//! wait, when to reprovision) is the component's; the host only models the hub and
//! the network and delivers the inputs.
//!
//! - [`Scenario`] is the JSON document (`examples/scenarios/`); [`comparison`] the
//!   policies compared by default.
//! - The devices are split into shards, one component instance each, on their own
//!   threads. Time advances in slices no longer than the shortest answer latency:
//!   within a slice the shards run independently, then the world answers every
//!   request of the slice in (time, device) order. Answers land in a later slice, so
//!   the result is exact and does not depend on the number of shards.
//! - Each shard is a world of the virtual-time [`kernel`](crate::kernel): its
//!   events wait in the kernel's calendar queue (a bucket per millisecond).
//! - [`run_policy`] gives a [`PolicyResult`]: the peak attempts per second after
//!   the hub's return, attempts per device, the times until 50%, 99% and 100% of the
//!   devices are back, against the floor `outage + N / C`, and reprovisions.
//!   [`report`] renders results as a table, JSON and an SVG chart.

pub mod charts;
pub mod grid;
pub mod report;
mod scenario;
mod shard;
mod world;

use std::sync::mpsc;
use std::time::Instant as WallClock;

use serde::Serialize;
use serde_json::Value;

pub use scenario::{
    DEFAULT_POLICY_NAME, FleetSpec, Hints, HubModel, Outage, PolicySpec, Provisioning, RetryAfter,
    Scenario, comparison,
};

/// The jitter seed of device `index` in a scenario seeded `seed`: a real fleet
/// seeded the same way makes the simulated fleet's decisions (`tests/real_storm.rs`).
pub use shard::device_seed;
use shard::{Due, NEVER, Shard, ShardTotals, SliceOut, What};
use tether_host::Runtime;
use world::World;

/// The presets compared by default (the `kind` values of the presets).
pub const PRESETS: [&str; 7] = [
    "azure-c",
    "azure-dotnet",
    "azure-java",
    "azure-node",
    "azure-python",
    "grpc",
    "aws-crt",
];

/// The default scenario (`examples/scenarios/storm.json`), built in.
pub const DEFAULT_SCENARIO: &str = include_str!("../../../examples/scenarios/storm.json");

/// How far a run has got, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Virtual time, ms since the drop.
    pub virtual_ms: u64,
    /// Devices connected again.
    pub connected: u32,
    /// Devices that stopped trying.
    pub gave_up: u32,
    /// Devices in all.
    pub devices: u32,
}

/// One policy's storm, measured.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyResult {
    /// The policy's name.
    pub policy: String,
    /// The `policy` object the devices ran.
    pub policy_config: Value,
    /// Devices in the fleet.
    pub devices: u32,
    /// The hub's admissions per second (`null`: no limit).
    pub capacity_per_s: Option<u32>,
    /// The most connection attempts the hub saw in one second after its return.
    pub peak_attempts_per_s: u32,
    /// That peak over the capacity.
    pub peak_ratio: Option<f64>,
    /// The most connection attempts in one second of the whole run, the outage
    /// included (attempts a down hub, or its load balancer, still receives).
    pub peak_overall_attempts_per_s: u32,
    /// That peak over the capacity.
    pub peak_overall_ratio: Option<f64>,
    /// Connection attempts per device, outage included.
    pub attempts_per_device: f64,
    /// Connection attempts made while the hub was down.
    pub attempts_during_outage: u64,
    /// Attempts the hub refused for its rate.
    pub refused: u64,
    /// Seconds from the drop until half the devices were connected again.
    pub t50_s: Option<f64>,
    /// ... until 99% were.
    pub t99_s: Option<f64>,
    /// ... until every device was (`null`: not within the horizon).
    pub t100_s: Option<f64>,
    /// The best possible: `outage + N / C`, in seconds.
    pub floor_s: f64,
    /// `t50_s / floor_s`.
    pub t50_ratio: Option<f64>,
    /// `t99_s / floor_s`.
    pub t99_ratio: Option<f64>,
    /// `t100_s / floor_s`.
    pub t100_ratio: Option<f64>,
    /// Devices connected at the end.
    pub connected: u32,
    /// Devices that stopped trying (retry budget spent or unrecoverable).
    pub gave_up: u32,
    /// Registrations with the provisioning service (each one billed).
    pub reprovisions: u64,
    /// What they cost, at the scenario's price per registration.
    pub reprovision_cost: f64,
    /// Growth of the component's linear memory per connection created, in bytes.
    pub memory_per_connection_bytes: f64,
    /// Inputs delivered to the component (calls into it).
    pub inputs: u64,
    /// Wall-clock time of the run, in seconds.
    pub wall_s: f64,
    /// Connection attempts in each second from the drop (the chart's data).
    pub attempts_per_s: Vec<u32>,
}

enum ToShard {
    Slice(Vec<(u64, Due)>, u64),
    Finish,
}

/// The number of shards worth running on this machine: one per core.
pub fn default_shards() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Run the storm of `scenario` with one policy, on `shards` component instances
/// (and threads). `progress` is called after every slice of virtual time.
pub fn run_policy(
    runtime: &Runtime,
    scenario: &Scenario,
    spec: &PolicySpec,
    shards: usize,
    progress: &mut dyn FnMut(Progress),
) -> anyhow::Result<PolicyResult> {
    scenario.validate()?;
    let wall = WallClock::now();
    let n = scenario.devices;
    let shards = u32::try_from(shards.max(1)).unwrap_or(1).min(n.max(1));
    let per_shard = n.div_ceil(shards);
    let ranges: Vec<(u32, u32)> = (0..shards)
        .map(|s| {
            let first = s.saturating_mul(per_shard).min(n);
            let count = per_shard.min(n.saturating_sub(first));
            (first, count)
        })
        .filter(|&(_, count)| count > 0)
        .collect();
    let (totals, world) = std::thread::scope(|scope| -> anyhow::Result<_> {
        let mut links = Vec::new();
        let mut handles = Vec::new();
        for &(first, count) in &ranges {
            let (to_tx, to_rx) = mpsc::channel::<ToShard>();
            let (from_tx, from_rx) = mpsc::channel::<anyhow::Result<SliceOut>>();
            let policy = spec;
            handles.push(scope.spawn(move || -> anyhow::Result<ShardTotals> {
                let mut shard = match Shard::new(runtime, scenario, policy, first, count) {
                    Ok(s) => s,
                    Err(e) => {
                        let message = format!("{e:#}");
                        let _ = from_tx.send(Err(e));
                        anyhow::bail!("{message}");
                    }
                };
                let _ = from_tx.send(Ok(shard.take_out()));
                while let Ok(ToShard::Slice(answers, until)) = to_rx.recv() {
                    let result = shard.run_slice(answers, until).map(|()| shard.take_out());
                    let failed = result.is_err();
                    let _ = from_tx.send(result);
                    if failed {
                        break;
                    }
                }
                Ok(shard.finish())
            }));
            links.push((to_tx, from_rx));
        }
        let outcome = coordinate(scenario, &ranges, per_shard, &links, progress);
        for (to, _) in &links {
            let _ = to.send(ToShard::Finish);
        }
        let mut totals = Vec::new();
        for h in handles {
            match h.join() {
                Ok(t) => totals.push(t?),
                Err(_) => anyhow::bail!("a shard thread panicked"),
            }
        }
        Ok((totals, outcome?))
    })?;
    Ok(measure(
        scenario,
        spec,
        &totals,
        world,
        wall.elapsed().as_secs_f64(),
    ))
}

type Link = (
    mpsc::Sender<ToShard>,
    mpsc::Receiver<anyhow::Result<SliceOut>>,
);

/// The world's side of the run: slice by slice, answer what the shards asked.
fn coordinate(
    scenario: &Scenario,
    ranges: &[(u32, u32)],
    per_shard: u32,
    links: &[Link],
    progress: &mut dyn FnMut(Progress),
) -> anyhow::Result<World> {
    let mut world = World::new(scenario);
    let lookahead = World::lookahead(scenario);
    let mut answers: Vec<Vec<(u64, Due)>> = vec![Vec::new(); ranges.len()];
    let mut next: Vec<Option<u64>> = vec![None; ranges.len()];
    let mut requests = Vec::new();
    let mut status = vec![(0_u32, 0_u32); ranges.len()];
    // The shards' set-up ends with their first slice report.
    for (s, (_, from)) in links.iter().enumerate() {
        let out = receive(from)?;
        absorb(out, s, &mut requests, &mut next, &mut status);
    }
    loop {
        route(&mut world, &mut requests, ranges, per_shard, &mut answers);
        let earliest_answer = answers.iter().flatten().map(|(at, _)| *at).min();
        let start = next.iter().flatten().copied().chain(earliest_answer).min();
        let Some(start) = start else { break };
        if start > scenario.horizon_ms {
            break;
        }
        let until = start.saturating_add(lookahead);
        for ((to, _), a) in links.iter().zip(answers.iter_mut()) {
            to.send(ToShard::Slice(std::mem::take(a), until))
                .map_err(|_| anyhow::anyhow!("a shard stopped"))?;
        }
        for (s, (_, from)) in links.iter().enumerate() {
            let out = receive(from)?;
            absorb(out, s, &mut requests, &mut next, &mut status);
        }
        let (connected, gave_up) = status.iter().fold((0_u32, 0_u32), |(c, g), &(a, b)| {
            (c.saturating_add(a), g.saturating_add(b))
        });
        progress(Progress {
            virtual_ms: until,
            connected,
            gave_up,
            devices: scenario.devices,
        });
    }
    Ok(world)
}

fn receive(from: &mpsc::Receiver<anyhow::Result<SliceOut>>) -> anyhow::Result<SliceOut> {
    from.recv()
        .map_err(|_| anyhow::anyhow!("a shard stopped"))?
}

fn absorb(
    out: SliceOut,
    s: usize,
    requests: &mut Vec<world::Request>,
    next: &mut [Option<u64>],
    status: &mut [(u32, u32)],
) {
    requests.extend(out.requests);
    if let Some(n) = next.get_mut(s) {
        *n = out.next;
    }
    if let Some(st) = status.get_mut(s) {
        *st = (out.connected, out.gave_up);
    }
}

/// Answer the slice's requests in (time, device) order and hand each answer to the
/// shard of its device.
fn route(
    world: &mut World,
    requests: &mut Vec<world::Request>,
    ranges: &[(u32, u32)],
    per_shard: u32,
    answers: &mut [Vec<(u64, Due)>],
) {
    requests.sort_unstable();
    for r in requests.drain(..) {
        let (at, answer) = world.answer(&r);
        let s = r.device.checked_div(per_shard).unwrap_or(0);
        let first = ranges.get(s as usize).map_or(0, |&(f, _)| f);
        if let Some(a) = answers.get_mut(s as usize) {
            a.push((
                at,
                Due {
                    device: r.device.saturating_sub(first),
                    what: What::Answer(answer),
                },
            ));
        }
    }
}

/// The time (s) by which `share` of `n` devices had connected, if they did.
fn quantile_s(sorted: &[u64], n: u32, share: f64) -> Option<f64> {
    let need = (f64::from(n) * share).ceil().max(1.0) as usize;
    sorted
        .get(need.saturating_sub(1))
        .map(|&ms| ms as f64 / 1000.0)
}

fn ratio(a: Option<f64>, b: f64) -> Option<f64> {
    a.map(|a| if b > 0.0 { a / b } else { f64::INFINITY })
}

fn measure(
    scenario: &Scenario,
    spec: &PolicySpec,
    totals: &[ShardTotals],
    world: World,
    wall_s: f64,
) -> PolicyResult {
    let n = scenario.devices;
    let mut times: Vec<u64> = totals
        .iter()
        .flat_map(|t| t.connected_at.iter().copied())
        .filter(|&t| t != NEVER)
        .collect();
    times.sort_unstable();
    let connected = u32::try_from(times.len()).unwrap_or(u32::MAX);
    let floor_s = scenario.floor_s();
    let t50_s = quantile_s(&times, n, 0.5);
    let t99_s = quantile_s(&times, n, 0.99);
    let t100_s = quantile_s(&times, n, 1.0);
    let c = world.counts;
    let peak = c.attempts_after_return.iter().copied().max().unwrap_or(0);
    let peak_overall = c.attempts_per_s.iter().copied().max().unwrap_or(0);
    let attempts: u64 = c.attempts_per_s.iter().map(|&a| u64::from(a)).sum();
    let memory: usize = totals
        .iter()
        .map(|t| t.memory_loaded.saturating_sub(t.memory_empty))
        .sum();
    let reprovisions = c.registrations_requested;
    let price = scenario
        .provisioning
        .as_ref()
        .map_or(0.0, |p| p.cost_per_registration);
    let gave_up = totals
        .iter()
        .fold(0_u32, |sum, t| sum.saturating_add(t.gave_up));
    PolicyResult {
        policy: spec.name.clone(),
        policy_config: spec.policy.clone(),
        devices: n,
        capacity_per_s: scenario.hub.capacity_per_s,
        peak_attempts_per_s: peak,
        peak_ratio: scenario
            .hub
            .capacity_per_s
            .map(|cap| f64::from(peak) / f64::from(cap)),
        peak_overall_attempts_per_s: peak_overall,
        peak_overall_ratio: scenario
            .hub
            .capacity_per_s
            .map(|cap| f64::from(peak_overall) / f64::from(cap)),
        attempts_per_device: attempts as f64 / f64::from(n.max(1)),
        attempts_during_outage: c.attempts_during_outage,
        refused: c.refused,
        t50_s,
        t99_s,
        t100_s,
        floor_s,
        t50_ratio: ratio(t50_s, floor_s),
        t99_ratio: ratio(t99_s, floor_s),
        t100_ratio: ratio(t100_s, floor_s),
        connected,
        gave_up,
        reprovisions,
        reprovision_cost: reprovisions as f64 * price,
        memory_per_connection_bytes: memory as f64 / f64::from(n.max(1)),
        inputs: totals.iter().map(|t| t.inputs).sum(),
        wall_s,
        attempts_per_s: c.attempts_per_s,
    }
}
