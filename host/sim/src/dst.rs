//! Deterministic simulation testing: the whole reconnection flow, through the real
//! component, in a randomized world drawn from one seed.
//!
//! For each seed the simulator draws a configuration ([`Spec`]: policy kind or
//! preset, limits, provisioning on or off, renewable credentials, queue size and
//! mode) and a world: a hub that accepts, refuses (with any classifier input:
//! network errors, MQTT 3.1.1 and 5 codes, AMQP conditions known and unknown, HTTP
//! statuses with and without hub codes, keep-alive lost, expired sessions, detached
//! links, application errors), black-holes (the transport reports `net:timeout`
//! after its timeout), drops and half-opens links, throttles with any retry-after,
//! refuses expired credentials; a provisioning service that assigns, redirects to
//! another hub, keeps a registration pending, or fails with 429/500/401/403/404; a
//! credential source that mints or fails; and an application that publishes,
//! stops and starts at random, while the clock now and then jumps forward. Acks are
//! lost or duplicated; late reports for closed links are delivered now and then.
//!
//! Every input goes through [`Harness::apply`], whose reference model checks the
//! step against the documented flow: the answer, every command in order, the
//! delays against the policy's cap and the clamps of server hints, the give-up
//! rules, reprovisioning exactly when the rules say, one status event per
//! transition and never two identical in a row, one outcome per accepted message,
//! the queue bound, and no trap. A broken invariant is a [`Violation`] with the
//! seed, the step and the virtual time; the same seed replays it exactly, because
//! the world, the component's jitter and the clock are all functions of the seed.
//!
//! ```
//! # fn main() -> anyhow::Result<()> {
//! let runtime = tether_host::Runtime::shared()?;
//! let run = tether_sim::dst::run_seed(runtime, 7).map_err(|v| anyhow::anyhow!("{v}"))?;
//! let again = tether_sim::dst::run_seed(runtime, 7).map_err(|v| anyhow::anyhow!("{v}"))?;
//! assert_eq!(run.transcript, again.transcript);
//! # Ok(()) }
//! ```

mod failures;
mod harness;
mod input;
mod model;
mod profile;
mod rng;
mod spec;
mod world;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

pub use harness::{Applied, Harness, Violation};
pub use input::{Answer, Input, provisioning_text};
pub use rng::SimRng;
pub use spec::{
    CredentialSpec, Effective, EffectiveProvisioning, JitterSpec, KindSpec, LimitsSpec, PRESETS,
    PolicySpec, ProvisioningSpec, QueueSpec, Spec,
};
pub use world::{SeedRun, run_seed};

use tether_host::Runtime;

/// What a batch of seeds did.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// Seeds run.
    pub seeds: u64,
    /// Inputs delivered, over all seeds.
    pub steps: u64,
    /// Messages accepted, over all seeds.
    pub messages: u64,
    /// Violations found (the batch stops early on the first, per worker).
    pub violations: Vec<Violation>,
    /// How often each interesting path was taken, over all seeds.
    pub coverage: BTreeMap<&'static str, u64>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl Batch {
    /// Seeds per second of wall-clock time.
    pub fn seeds_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.seeds as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Run seeds `start..start + count` on `jobs` threads (at least 1). Each worker
/// stops at its first violation; the others finish their seeds.
pub fn run_seeds(runtime: &Runtime, start: u64, count: u64, jobs: usize) -> Batch {
    let began = Instant::now();
    let next = AtomicU64::new(0);
    let batch = Mutex::new(Batch::default());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                let (mut seeds, mut steps, mut messages) = (0u64, 0u64, 0u64);
                let mut found = None;
                let mut coverage = BTreeMap::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= count {
                        break;
                    }
                    let seed = start.wrapping_add(i);
                    seeds = seeds.saturating_add(1);
                    match run_seed(runtime, seed) {
                        Ok(run) => {
                            steps = steps.saturating_add(run.steps);
                            messages = messages.saturating_add(u64::from(run.messages.accepted));
                            tally(&run.transcript, &mut coverage);
                        }
                        Err(v) => {
                            found = Some(v);
                            break;
                        }
                    }
                }
                if let Ok(mut b) = batch.lock() {
                    b.seeds = b.seeds.saturating_add(seeds);
                    b.steps = b.steps.saturating_add(steps);
                    b.messages = b.messages.saturating_add(messages);
                    b.violations.extend(found);
                    for (k, v) in coverage {
                        let n = b.coverage.entry(k).or_default();
                        *n = n.saturating_add(v);
                    }
                }
            });
        }
    });
    let mut batch = batch.into_inner().unwrap_or_default();
    batch.violations.sort_by_key(|v| v.seed);
    batch.seconds = began.elapsed().as_secs_f64();
    batch
}

/// What the coverage tally counts: a name and a piece of transcript text.
const PATHS: [(&str, &str); 26] = [
    ("backoff", "decide backoff"),
    ("backoff-throttled", "curve=throttled"),
    ("backoff-server-hint", "curve=server-hint"),
    ("backoff-then-provision", "then=provision"),
    ("give-up-unrecoverable", "decide give-up unrecoverable"),
    ("give-up-max-attempts", "decide give-up max-attempts"),
    ("give-up-retry-timeout", "decide give-up retry-timeout"),
    ("give-up-no-retry", "decide give-up no-retry"),
    ("register", "register"),
    ("poll", "poll op="),
    ("renew", "renew-credential cause="),
    ("renew-routine", "renew-credential routine"),
    ("rollover", "reason=credential-renewal"),
    ("redirect", "hub=hub-z"),
    ("connected", "status connected"),
    ("delivered", " delivered"),
    ("operation-timeout", "reason=operation-timeout"),
    ("queue-full-dropped", "failed reason=queue-full"),
    ("queue-full-rejected", "rejected=queue-full"),
    ("dup-ack-refused", "-> unknown-message"),
    ("stale-link-refused", "-> stale-link"),
    ("start-refused", "start -> unexpected"),
    ("restart", "start -> ok"),
    ("clock-jump", "note clock jumps"),
    ("half-open", "half open"),
    ("blackhole", "unanswered"),
];

fn tally(transcript: &crate::Transcript, coverage: &mut BTreeMap<&'static str, u64>) {
    for line in transcript.lines() {
        for (name, needle) in PATHS {
            if line.text.contains(needle) {
                let n = coverage.entry(name).or_default();
                *n = n.saturating_add(1);
            }
        }
    }
}

/// The command that replays one seed with its transcript.
pub fn replay_command(seed: u64) -> String {
    format!("cargo run -- dst --seeds 1 --start {seed} --verbose")
}
