//! `tether dst`: deterministic simulation testing over a range of seeds.

use std::io::Write as _;

use tether_host::Runtime;
use tether_sim::dst::{replay_command, run_seed, run_seeds};

/// `tether dst`: run `seeds` seeds from `start`, print seeds per second, and on a
/// violation the seed and the command that replays it. `verbose` prints each
/// seed's configuration and transcript. An `Err` means a violation was found.
pub fn run(
    runtime: &Runtime,
    seeds: u64,
    start: u64,
    verbose: bool,
    jobs: Option<usize>,
) -> anyhow::Result<()> {
    let jobs = jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let mut out = std::io::stdout().lock();
    if verbose {
        for i in 0..seeds {
            let seed = start.wrapping_add(i);
            match run_seed(runtime, seed) {
                Ok(run) => {
                    writeln!(
                        out,
                        "== seed {seed}: {} steps, config {}",
                        run.steps, run.config
                    )?;
                    write!(out, "{}", run.transcript)?;
                }
                Err(v) => {
                    writeln!(out, "== seed {seed}")?;
                    write!(out, "{}", v.transcript)?;
                    writeln!(out, "{v}")?;
                    anyhow::bail!(
                        "seed {seed} broke an invariant; replay: {}",
                        replay_command(seed)
                    );
                }
            }
        }
    }
    let batch = run_seeds(runtime, start, seeds, jobs);
    writeln!(
        out,
        "dst: {} seeds ({}..{}), {} inputs, {} messages, {:.2} s on {jobs} threads: {:.0} seeds/s",
        batch.seeds,
        start,
        start.wrapping_add(seeds),
        batch.steps,
        batch.messages,
        batch.seconds,
        batch.seeds_per_second()
    )?;
    if let Some(first) = batch.violations.first() {
        for v in &batch.violations {
            writeln!(out, "{v}")?;
            writeln!(out, "replay: {}", replay_command(v.seed))?;
        }
        anyhow::bail!(
            "{} seed(s) broke an invariant; first: seed {} (replay: {})",
            batch.violations.len(),
            first.seed,
            replay_command(first.seed)
        );
    }
    let paths: Vec<String> = batch
        .coverage
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    writeln!(out, "dst: paths taken: {}", paths.join(" "))?;
    writeln!(out, "dst: no invariant violated")?;
    Ok(())
}
