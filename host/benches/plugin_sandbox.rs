//! Figures of the plugin sandbox that a criterion loop does not give: what the
//! example plugins' decisions cost in fuel, how long an endless loop runs before
//! it is cut off, and what 1,000 trapping decisions do to the host.
//!
//! `cargo bench -p tether-benches --bench plugin_sandbox --profile dev --config
//! 'profile.dev.package.tether-host.opt-level=3'`
//!
//! Prints figures; asserts only that the host survives (no wall-clock limit).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]

use std::time::Instant as StdInstant;

use tether_host::plugin::{PluginLimits, examples};
use tether_host::syntax::failure;
use tether_host::{Command, NetworkError, Runtime};
use tether_sim::{OpenAnswer, ScriptedHub, Sim};

mod common;
use common::FailingDevice;

fn main() {
    let runtime = Runtime::shared().unwrap();
    let limits = runtime.plugin_limits();
    println!("limits: {limits:?}");
    fuel_of_examples(runtime);
    endless_loop_cutoff(runtime, &limits);
    thousand_traps(runtime);
}

/// The most fuel any decision of each example plugin used, over long runs with
/// many kinds of failure.
fn fuel_of_examples(runtime: &Runtime) {
    let runs = [
        (
            "satellite-window",
            examples::SATELLITE_WINDOW,
            r#"{"period-ms": 5400000, "open-ms": 600000, "offset-ms": 1234567}"#,
            // A pass can be 90 minutes away: the cap must allow the wait.
            r#", "max-delay-ms": 5400000"#,
        ),
        (
            "metered-cellular",
            examples::METERED_CELLULAR,
            r#"{"budget-per-day": 96, "phase-ms": 777}"#,
            "",
        ),
        (
            "circuit-breaker",
            examples::CIRCUIT_BREAKER,
            r#"{"failure-threshold": 3, "open-ms": 60000, "max-open-ms": 3600000}"#,
            "",
        ),
    ];
    for (name, path, params, extra) in runs {
        let config = format!(
            r#"{{"hub": "hub-a", "seed": 11, "policy": {{"kind": "custom", "plugin": {path:?}, "params": {params}{extra}}}}}"#
        );
        // A hub that is mostly down, refusing in every way that reaches a policy.
        let failures = [
            failure::net(NetworkError::Refused),
            failure::mqtt5(0x89),
            failure::with_retry_after(failure::http(429, None), 30_000),
            failure::net(NetworkError::Timeout),
            failure::with_server_reference(failure::mqtt5(0x9C), "hub-a"),
        ];
        let mut nth = 0usize;
        let hub = ScriptedHub::new().rule(move |_req| {
            nth += 1;
            if nth.is_multiple_of(7) {
                OpenAnswer::accept(100)
            } else {
                OpenAnswer::refuse(50, failures[nth % failures.len()].clone())
            }
        });
        let mut hub = hub;
        for k in 1..200 {
            hub = hub.drop_at(k * 3_600_000, failure::net(NetworkError::Reset));
        }
        let mut sim = Sim::builder(&config).hub(hub).build(runtime).unwrap();
        sim.run_until(7 * 86_400_000).unwrap();
        if std::env::var_os("TETHER_BENCH_VERBOSE").is_some() {
            println!("{}", sim.transcript());
        }
        let stats = sim.device().instance().plugin_stats(path).unwrap();
        println!(
            "fuel {name}: {} decisions, max {} fuel per decision (last {}), peak memory {} bytes, faults {} (reported by the engine: {})",
            stats.decisions,
            stats.max_fuel,
            stats.last_fuel,
            stats.peak_memory_bytes,
            stats.faults,
            sim.plugin_faults().len()
        );
    }
}

/// Time from the input to its answer when the plugin loops forever: the whole
/// `on_failed` call, which includes running the loop until fuel runs out and
/// making a fresh instance is left for the next decision.
fn endless_loop_cutoff(runtime: &Runtime, limits: &PluginLimits) {
    let mut device = FailingDevice::new(runtime, &hostile("loop"));
    let mut times = Vec::new();
    let refused = failure::net(NetworkError::Refused);
    for _ in 0..21 {
        let (commands, took) = device.fail(&refused).unwrap();
        times.push(took);
        let fault = commands.iter().find_map(|c| match c {
            Command::PluginFault(f) => Some(f.reason),
            _ => None,
        });
        assert_eq!(fault, Some(tether_host::PluginFaultReason::OutOfFuel));
    }
    times.sort();
    println!(
        "endless loop cut off (fuel {}): median {:?}, min {:?}, max {:?} over {} decisions (wall-clock deadline {:?})",
        limits.fuel_per_decision,
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        times.len(),
        limits.tick * u32::try_from(limits.deadline_ticks).unwrap()
    );
}

/// 1,000 decisions in a row that trap: each is reported, falls back, and the
/// plugin is instantiated afresh for the next.
fn thousand_traps(runtime: &Runtime) {
    let mut device = FailingDevice::new(runtime, &hostile("trap"));
    let refused = failure::net(NetworkError::Refused);
    let rss_start = rss_kib();
    let started = StdInstant::now();
    let (mut faults, mut host_errors) = (0u32, 0u32);
    for _ in 0..1_000 {
        match device.fail(&refused) {
            Ok((commands, _)) => {
                faults += u32::from(
                    commands
                        .iter()
                        .any(|c| matches!(c, Command::PluginFault(_))),
                );
            }
            Err(_) => host_errors += 1,
        }
    }
    let elapsed = started.elapsed();
    let rss_end = rss_kib();
    let stats = device
        .device
        .instance()
        .plugin_stats(examples::HOSTILE)
        .unwrap();
    println!(
        "1,000 trapping decisions: {faults} faults reported, {host_errors} host errors, {} instantiations, {:?} in all ({:?} each), RSS {rss_start} -> {rss_end} KiB ({:+} KiB)",
        stats.instantiations,
        elapsed,
        elapsed / 1_000,
        i64::try_from(rss_end).unwrap() - i64::try_from(rss_start).unwrap()
    );
    assert_eq!((faults, host_errors), (1_000, 0));
}

/// A device whose policy is the hostile plugin in `mode`, never quarantined.
fn hostile(mode: &str) -> String {
    format!(
        r#"{{"hub": "hub-a", "seed": 3, "policy": {{"kind": "custom", "plugin": {:?}, "params": {{"mode": "{mode}"}}, "quarantine-after": 1000}}}}"#,
        examples::HOSTILE
    )
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
