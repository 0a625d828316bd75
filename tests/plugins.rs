//! Custom retry policies as plugin components, through the real engine and host.
//!
//! Each example plugin's schedule is printed (run with `--nocapture` to see it)
//! and its defining property asserted; each hostile plugin runs in a virtual-time
//! device that must keep reconnecting on the fallback policy while the fault is
//! reported with the right reason. No test asserts a wall-clock limit: the
//! figures are in `host/benches/`.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use tether_host::names::plugin_fault_reason_name;
use tether_host::plugin::{self, PluginLimits, examples};
use tether_host::syntax::failure;
use tether_host::{
    Action, Curve, Decision, Device, Entropy, NetworkError, PluginFaultReason, Runtime, Status,
    VirtualClock,
};
use tether_sim::{LineKind, OpenAnswer, ScriptedHub, Sim};
use tether_tests::runtime;

/// A hub-only configuration whose policy is the plugin at `path`.
fn custom(path: &str, params: &str, extra: &str) -> String {
    format!(
        r#"{{"hub": "hub-a", "seed": 7,
            "policy": {{"kind": "custom", "plugin": {path:?}, "params": {params}{extra}}}}}"#
    )
}

/// Virtual times (ms) at which the device opened a link.
fn open_times(sim: &Sim) -> Vec<u64> {
    sim.transcript()
        .only(&[LineKind::Call])
        .into_iter()
        .filter(|l| l.text.starts_with("open "))
        .map(|l| l.at_ms)
        .collect()
}

/// The backoff delays decided, with their curve.
fn backoffs(sim: &Sim) -> Vec<(u64, u64, Curve)> {
    sim.decisions()
        .iter()
        .filter_map(|d| match &d.action {
            Action::Backoff(p) => Some((d.at / tether_host::NS_PER_MS, p.delay_ms, p.curve)),
            _ => None,
        })
        .collect()
}

fn print_schedule(title: &str, sim: &Sim, limit: usize) {
    println!("== {title}");
    let text = sim
        .transcript()
        .render(&[LineKind::Input, LineKind::Decision]);
    for line in text.lines().take(limit) {
        println!("{line}");
    }
}

fn connected_count(sim: &Sim) -> usize {
    sim.statuses()
        .iter()
        .filter(|s| s.status == Status::Connected)
        .count()
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

#[test]
fn every_example_plugin_imports_nothing() {
    for (name, path) in examples::ALL {
        let imports = plugin::imports_of(path).unwrap();
        println!("{name}: {} bytes, imports {imports:?}", file_size(path));
        if name == "hostile-wasi" {
            assert_eq!(imports, ["wasi:random/random@0.2.12"], "{name}");
        } else {
            assert!(imports.is_empty(), "{name} imports {imports:?}");
        }
    }
}

fn file_size(path: &str) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn a_plugin_that_imports_wasi_is_refused_at_load_naming_the_import() {
    let config = custom(examples::HOSTILE_WASI, "{}", "");
    let err = Device::new(runtime(), &config, VirtualClock::new(), Entropy::fixed(1)).unwrap_err();
    let text = format!("{err:#}");
    println!("{text}");
    assert!(text.contains("wasi:random/random@0.2.12"), "{text}");
    assert!(text.contains("must import nothing"), "{text}");
    assert!(text.contains(examples::HOSTILE_WASI), "{text}");
}

#[test]
fn a_missing_or_invalid_plugin_file_is_an_error_naming_it() {
    let config = custom("/nonexistent/policy.wasm", "{}", "");
    let err = Device::new(runtime(), &config, VirtualClock::new(), Entropy::fixed(1)).unwrap_err();
    assert!(
        format!("{err:#}").contains("/nonexistent/policy.wasm"),
        "{err:#}"
    );

    // The engine component itself is a component, but not a retry-policy plugin.
    let engine = tether_tests::component_path();
    let config = custom(engine.to_str().unwrap(), "{}", "");
    let err = Device::new(runtime(), &config, VirtualClock::new(), Entropy::fixed(1)).unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("must import nothing"), "{text}");
}

#[test]
fn custom_policy_configuration_errors_name_the_field() {
    let mut instance = runtime()
        .instantiate(VirtualClock::new(), Entropy::fixed(1))
        .unwrap();
    let big = format!(r#"{{"blob": "{}"}}"#, "x".repeat(5_000));
    let cases = [
        (r#"{"hub": "h", "policy": {"kind": "custom"}}"#.to_string(), "policy.plugin"),
        (
            r#"{"hub": "h", "policy": {"kind": "custom", "plugin": ""}}"#.to_string(),
            "policy.plugin",
        ),
        (
            r#"{"hub": "h", "policy": {"kind": "custom", "plugin": "p", "params": 3}}"#.to_string(),
            "policy.params",
        ),
        (
            format!(r#"{{"hub": "h", "policy": {{"kind": "custom", "plugin": "p", "params": {big}}}}}"#),
            "policy.params",
        ),
        (
            r#"{"hub": "h", "policy": {"kind": "custom", "plugin": "p", "quarantine-after": 0}}"#
                .to_string(),
            "policy.quarantine-after",
        ),
        (
            r#"{"hub": "h", "policy": {"kind": "custom", "plugin": "p", "fallback": {"max-delay-ms": 5}}}"#
                .to_string(),
            "policy.fallback.max-delay-ms",
        ),
        (
            r#"{"hub": "h", "policy": {"kind": "custom", "plugin": "p", "fallback": {"kind": "custom", "plugin": "q"}}}"#
                .to_string(),
            "policy.fallback.kind",
        ),
        (
            r#"{"hub": "h", "policy": {"kind": "custom", "plugin": "p", "initial-ms": 5}}"#
                .to_string(),
            "policy.initial-ms",
        ),
    ];
    for (config, field) in cases {
        let err = tether_tests::verdict(instance.validate_config(&config)).unwrap_err();
        assert_eq!(err.field, field, "{config}: {}", err.message);
    }
    // A bare retry schedule has no events to report faults with.
    let err =
        tether_tests::verdict(instance.create_schedule(r#"{"kind": "custom", "plugin": "p"}"#, 1))
            .unwrap_err();
    assert_eq!(err.field, "policy.kind");
}

// ---------------------------------------------------------------------------
// The example plugins' schedules
// ---------------------------------------------------------------------------

/// Pass windows every 10 minutes, open for 2, the first at 5 minutes.
const PERIOD: u64 = 600_000;
const OPEN: u64 = 120_000;
const OFFSET: u64 = 300_000;
const GUARD: u64 = 5_000;

fn in_window(t: u64) -> bool {
    t >= OFFSET && (t - OFFSET) % PERIOD < OPEN
}

#[test]
fn satellite_window_retries_fall_inside_the_pass_windows() {
    let params = format!(
        r#"{{"period-ms": {PERIOD}, "open-ms": {OPEN}, "offset-ms": {OFFSET}, "guard-ms": {GUARD}}}"#
    );
    let config = custom(examples::SATELLITE_WINDOW, &params, "");
    // The link exists only during a pass: outside one, nothing answers; at the
    // end of each pass the link drops.
    let mut hub = ScriptedHub::new().rule(|req| {
        if in_window(req.at_ms) {
            OpenAnswer::accept(100)
        } else {
            OpenAnswer::refuse(2_000, failure::net(NetworkError::Unreachable))
        }
    });
    let passes = 18; // three hours
    for k in 0..passes {
        hub = hub.drop_at(
            OFFSET + k * PERIOD + OPEN,
            failure::net(NetworkError::Unreachable),
        );
    }
    let mut sim = Sim::builder(&config).hub(hub).build(runtime()).unwrap();
    sim.run_until(OFFSET + passes * PERIOD).unwrap();
    print_schedule("satellite-window", &sim, 40);

    let opens = open_times(&sim);
    // The first open is the start at t=0 (not a retry); every later one is the
    // plugin's, and must fall inside a pass, before its guard.
    for &t in &opens[1..] {
        assert!(in_window(t), "a retry at {t} ms is outside every pass");
        assert!(
            (t - OFFSET) % PERIOD < OPEN - GUARD,
            "retry at {t} ms is in the guard"
        );
    }
    assert!(sim.plugin_faults().is_empty(), "{:?}", sim.plugin_faults());
    assert!(
        backoffs(&sim).iter().all(|(_, _, c)| *c == Curve::Plugin),
        "every delay is the plugin's"
    );
    // Connected in every pass.
    assert_eq!(connected_count(&sim), usize::try_from(passes).unwrap());
    let stats = sim
        .device()
        .instance()
        .plugin_stats(examples::SATELLITE_WINDOW)
        .unwrap();
    println!("satellite-window: {stats:?}");
    assert_eq!(stats.faults, 0);
    assert_eq!(stats.instantiations, 1);
}

const DAY: u64 = 86_400_000;

#[test]
fn metered_cellular_never_exceeds_its_daily_budget_over_three_days() {
    let budget = 24u64;
    let config = custom(
        examples::METERED_CELLULAR,
        &format!(r#"{{"budget-per-day": {budget}, "phase-ms": 90000}}"#),
        "",
    );
    // A poor link: the hub answers only in the first 30 minutes of every 100,
    // and a link that comes up drops 25 minutes into them.
    let hub = ScriptedHub::new().rule(|req| {
        if req.at_ms % 6_000_000 < 1_800_000 {
            OpenAnswer::accept(500)
        } else {
            OpenAnswer::refuse(10_000, failure::net(NetworkError::Timeout))
        }
    });
    let mut hub = hub;
    for k in 0..(3 * DAY / 6_000_000 + 1) {
        hub = hub.drop_at(k * 6_000_000 + 1_500_000, failure::net(NetworkError::Reset));
    }
    let mut sim = Sim::builder(&config).hub(hub).build(runtime()).unwrap();
    sim.run_until(3 * DAY).unwrap();
    print_schedule("metered-cellular", &sim, 30);

    let opens = open_times(&sim);
    let retries = &opens[1..];
    // The most attempts in any 24 hours (a window starting at each attempt is
    // enough: the count only changes there).
    let worst = retries
        .iter()
        .map(|&t| retries.iter().filter(|&&u| u >= t && u < t + DAY).count())
        .max()
        .unwrap_or(0);
    let per_day: Vec<usize> = (0..3)
        .map(|d| {
            retries
                .iter()
                .filter(|&&t| t >= d * DAY && t < (d + 1) * DAY)
                .count()
        })
        .collect();
    println!(
        "metered-cellular: {} attempts in 3 days, per day {per_day:?}, most in any 24 h: {worst} (budget {budget})",
        retries.len()
    );
    assert!(
        worst <= usize::try_from(budget).unwrap(),
        "{worst} attempts in 24 h"
    );
    // Spent, not hoarded: the device does reconnect every day.
    assert!(per_day.iter().all(|&n| n > 0), "{per_day:?}");
    assert!(connected_count(&sim) >= 3);
    assert!(sim.plugin_faults().is_empty(), "{:?}", sim.plugin_faults());
}

#[test]
fn circuit_breaker_opens_after_the_threshold_and_probes_with_a_growing_cool_down() {
    let config = custom(
        examples::CIRCUIT_BREAKER,
        r#"{"failure-threshold": 5, "open-ms": 60000, "max-open-ms": 480000}"#,
        "",
    );
    // The hub is down for two hours (CONNACK 3, server unavailable), then back.
    let outage = 2 * 3_600_000;
    let hub = ScriptedHub::new()
        .drop_at(1_000, failure::net(NetworkError::Reset))
        .refuse_between(1_000, 1_000 + outage, vec![failure::mqtt311(3)]);
    let mut sim = Sim::builder(&config).hub(hub).build(runtime()).unwrap();
    sim.run_until(4 * 3_600_000).unwrap();
    print_schedule("circuit-breaker", &sim, 40);

    let delays = backoffs(&sim);
    println!(
        "circuit-breaker delays (ms): {:?}",
        delays.iter().map(|d| d.1).collect::<Vec<_>>()
    );
    // Closed: the first retries follow the fallback (the default curve, under
    // 60 s). Open from the 5th failed attempt in a row: 60 s doubling to 480 s,
    // each +-10%.
    let mut expected_cool = 60_000u64;
    for (i, (_, delay, curve)) in delays.iter().enumerate() {
        assert_eq!(*curve, Curve::Plugin);
        // The first backoff follows the drop (no failed attempt yet); the (i)th
        // follows i failed attempts.
        if i < 5 {
            assert!(*delay < 60_000, "closed breaker, delay {i} = {delay}");
        } else {
            let lo = expected_cool - expected_cool / 10;
            let hi = expected_cool + expected_cool / 10;
            assert!(
                (lo..=hi).contains(delay),
                "delay {i} = {delay}, cool {expected_cool}"
            );
            expected_cool = (expected_cool * 2).min(480_000);
        }
    }
    let opens = open_times(&sim);
    let during = opens
        .iter()
        .filter(|&&t| t > 1_000 && t < 1_000 + outage)
        .count();
    println!("circuit-breaker: {during} attempts during the 2 h outage");
    assert!(during < 30, "{during} attempts: the breaker did not hold");
    // Back within one cool-down of the hub's return.
    let last = sim.statuses().last().unwrap();
    assert_eq!(last.status, Status::Connected);
    assert!(last.at / tether_host::NS_PER_MS <= 1_000 + outage + 528_000);
}

// ---------------------------------------------------------------------------
// Hostile plugins
// ---------------------------------------------------------------------------

/// A device whose link drops at 1 s and whose hub refuses the next 4 opens:
/// 5 backoff decisions, then connected. Returns the sim after 10 minutes.
fn hostile_run(runtime: &Runtime, params: &str, extra: &str) -> Sim {
    let config = custom(examples::HOSTILE, params, extra);
    let hub = ScriptedHub::new()
        .drop_at(1_000, failure::net(NetworkError::Reset))
        .answers([
            OpenAnswer::accept(100),
            OpenAnswer::refuse(30, failure::net(NetworkError::Refused)),
            OpenAnswer::refuse(30, failure::net(NetworkError::Refused)),
            OpenAnswer::refuse(30, failure::net(NetworkError::Refused)),
            OpenAnswer::refuse(30, failure::net(NetworkError::Refused)),
        ]);
    let mut sim = Sim::builder(&config).hub(hub).build(runtime).unwrap();
    sim.run_until(600_000).unwrap();
    sim
}

/// The device kept running on the fallback: every delay is the fallback's (its
/// normal curve), it reconnected, and every fault names `reason`; the third
/// fault quarantined the plugin and none came after.
fn assert_contained(sim: &Sim, mode: &str, reason: PluginFaultReason) {
    print_schedule(&format!("hostile {mode}"), sim, 30);
    let faults = sim.plugin_faults();
    assert_eq!(faults.len(), 3, "{mode}: {faults:?}");
    for (i, f) in faults.iter().enumerate() {
        assert_eq!(f.reason, reason, "{mode}: {f:?}");
        assert_eq!(f.plugin, examples::HOSTILE);
        assert_eq!(f.consecutive, u32::try_from(i + 1).unwrap());
        assert_eq!(f.quarantined, i == 2, "{mode}: {f:?}");
        assert!(
            f.detail.len() <= plugin::DETAIL_MAX,
            "{mode}: detail of {} bytes",
            f.detail.len()
        );
        assert!(matches!(f.used, Decision::RetryAfter(_)), "{mode}: {f:?}");
    }
    let delays = backoffs(sim);
    assert_eq!(delays.len(), 5, "{mode}: {delays:?}");
    // Each fault's fallback decision is the backoff that was carried out.
    for (f, (_, delay, curve)) in faults.iter().zip(&delays) {
        assert_eq!(f.used, Decision::RetryAfter(*delay));
        assert_eq!(*curve, Curve::Normal, "{mode}");
    }
    // Quarantined: the fallback decides, with no more faults.
    assert!(delays[3..].iter().all(|d| d.2 == Curve::Normal));
    assert_eq!(
        sim.statuses().last().unwrap().status,
        Status::Connected,
        "{mode}"
    );
    assert_eq!(
        connected_count(sim),
        2,
        "{mode}: connected at start and after the outage"
    );
    println!(
        "{mode}: contained as {} ({})",
        plugin_fault_reason_name(reason),
        faults[0].detail
    );
}

#[test]
fn an_endless_loop_runs_out_of_fuel_and_the_fallback_decides() {
    let sim = hostile_run(runtime(), r#"{"mode": "loop"}"#, "");
    assert_contained(&sim, "loop", PluginFaultReason::OutOfFuel);
}

#[test]
fn a_memory_bomb_hits_the_memory_cap_and_the_fallback_decides() {
    let sim = hostile_run(runtime(), r#"{"mode": "memory-bomb"}"#, "");
    assert_contained(&sim, "memory-bomb", PluginFaultReason::MemoryLimit);
}

#[test]
fn deep_recursion_traps_and_the_fallback_decides() {
    let sim = hostile_run(runtime(), r#"{"mode": "recursion"}"#, "");
    assert_contained(&sim, "recursion", PluginFaultReason::Trap);
    assert!(
        sim.plugin_faults()[0]
            .detail
            .contains("call stack exhausted")
            || sim.plugin_faults()[0].detail.contains("out of bounds"),
        "{:?}",
        sim.plugin_faults()[0]
    );
}

#[test]
fn a_trap_is_reported_and_the_fallback_decides() {
    let mut sim = hostile_run(runtime(), r#"{"mode": "trap"}"#, "");
    assert_contained(&sim, "trap", PluginFaultReason::Trap);
    assert!(
        sim.plugin_faults()[0].detail.contains("unreachable"),
        "{:?}",
        sim.plugin_faults()[0]
    );
    // Instantiated at load, then afresh for the decision after each fault; the
    // third fault quarantined it, so no fourth instance was made.
    let stats = sim
        .device()
        .instance()
        .plugin_stats(examples::HOSTILE)
        .unwrap();
    assert_eq!(
        (stats.decisions, stats.faults, stats.instantiations),
        (3, 3, 3)
    );
}

#[test]
fn a_delay_of_u64_max_is_an_invalid_answer_and_the_fallback_decides() {
    let mut sim = hostile_run(runtime(), r#"{"mode": "max-delay"}"#, "");
    assert_contained(&sim, "max-delay", PluginFaultReason::InvalidAnswer);
    assert!(
        sim.plugin_faults()[0]
            .detail
            .contains("18446744073709551615")
    );
    // The plugin itself did not fail: no re-instantiation.
    let stats = sim
        .device()
        .instance()
        .plugin_stats(examples::HOSTILE)
        .unwrap();
    assert_eq!((stats.faults, stats.instantiations), (0, 1));
}

#[test]
fn a_plugin_past_its_wall_clock_deadline_is_cut_off() {
    // Fuel high enough that only the deadline can stop the loop.
    let limits = PluginLimits {
        fuel_per_decision: u64::MAX / 4,
        deadline_ticks: 2,
        ..PluginLimits::DEFAULT
    };
    let rt = Runtime::new().unwrap().with_plugin_limits(limits);
    let sim = hostile_run(&rt, r#"{"mode": "loop"}"#, "");
    assert_contained(&sim, "loop past its deadline", PluginFaultReason::Deadline);
}

#[test]
fn a_plugin_that_recovers_is_not_quarantined() {
    // Traps on attempts 1 and 2, then answers: two faults, the count starts
    // over, and the plugin decides the rest.
    let sim = hostile_run(runtime(), r#"{"mode": "trap", "fail-first": 2}"#, "");
    let faults = sim.plugin_faults();
    assert_eq!(faults.len(), 2, "{faults:?}");
    assert!(faults.iter().all(|f| !f.quarantined));
    let curves: Vec<Curve> = backoffs(&sim).iter().map(|d| d.2).collect();
    assert_eq!(
        curves,
        [
            Curve::Normal,
            Curve::Normal,
            Curve::Plugin,
            Curve::Plugin,
            Curve::Plugin
        ]
    );
}

#[test]
fn quarantine_after_is_configurable() {
    let sim = hostile_run(
        runtime(),
        r#"{"mode": "trap"}"#,
        r#", "quarantine-after": 1"#,
    );
    let faults = sim.plugin_faults();
    assert_eq!(faults.len(), 1);
    assert!(faults[0].quarantined);
    assert_eq!(sim.statuses().last().unwrap().status, Status::Connected);
}

#[test]
fn a_plugin_may_give_up_and_the_connection_reports_retry_expired() {
    let sim = hostile_run(runtime(), r#"{"mode": "give-up"}"#, "");
    let last = sim.statuses().last().unwrap();
    assert_eq!(last.status, Status::Disconnected);
    assert_eq!(last.reason, tether_host::Reason::RetryExpired);
    assert!(
        sim.decisions()
            .iter()
            .any(|d| matches!(d.action, Action::GiveUp(tether_host::GiveUpReason::Plugin)))
    );
    assert!(sim.plugin_faults().is_empty());
}

#[test]
fn a_thousand_trapping_decisions_leave_the_host_running() {
    // Quarantine never comes: every decision traps, is re-instantiated and falls
    // back. The device must still reconnect, and the host must not crash.
    let config = custom(
        examples::HOSTILE,
        r#"{"mode": "trap"}"#,
        r#", "quarantine-after": 1000, "fallback": {"kind": "fixed", "interval-ms": 1000}"#,
    );
    let hub = ScriptedHub::new()
        .drop_at(1_000, failure::net(NetworkError::Reset))
        .refuse_between(1_000, 1_001_000 + 1_500_000, vec![]);
    let mut sim = Sim::builder(&config).hub(hub).build(runtime()).unwrap();
    let rss_before = rss_kib();
    sim.run_until(3_000_000).unwrap();
    let rss_after = rss_kib();
    let faults = sim.plugin_faults();
    println!(
        "1,000 trapping decisions: {} faults, RSS {rss_before:?} -> {rss_after:?} KiB",
        faults.len()
    );
    assert_eq!(faults.len(), 1_000);
    assert!(faults.iter().all(|f| f.reason == PluginFaultReason::Trap));
    assert!(faults[999].quarantined && !faults[998].quarantined);
    assert_eq!(sim.statuses().last().unwrap().status, Status::Connected);
    let stats = sim
        .device()
        .instance()
        .plugin_stats(examples::HOSTILE)
        .unwrap();
    assert_eq!(stats.instantiations, 1_000);
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------
// Previews (`tether schedule`, `tether plugin check`), inspection, paths
// ---------------------------------------------------------------------------

/// The delays a bare `retry-schedule` of `policy` gives for `n` plain failures.
fn bare_schedule(policy: &str, seed: u64, n: usize) -> Vec<u64> {
    let mut instance = runtime()
        .instantiate(VirtualClock::new(), Entropy::fixed(seed))
        .unwrap();
    let schedule = tether_tests::verdict(instance.create_schedule(policy, seed)).unwrap();
    (0..n)
        .map(
            |_| match instance.schedule_next(&schedule, None, None).unwrap() {
                Decision::RetryAfter(ms) => ms,
                Decision::GiveUp(why) => panic!("gave up: {why:?}"),
            },
        )
        .collect()
}

fn preview_delays(preview: &tether_sim::preview::Preview) -> Vec<u64> {
    preview
        .steps
        .iter()
        .map(|s| match s.decision {
            Decision::RetryAfter(ms) => ms,
            Decision::GiveUp(why) => panic!("gave up: {why:?}"),
        })
        .collect()
}

#[test]
fn a_preview_says_which_decisions_the_plugin_made_and_which_the_fallback() {
    let fallback = r#"{"kind": "exponential", "initial-ms": 1000, "max-ms": 60000}"#;
    // Traps on the first two decisions, then answers with the fallback's delay.
    let config = custom(
        examples::HOSTILE,
        r#"{"mode": "trap", "fail-first": 2}"#,
        &format!(r#", "fallback": {fallback}"#),
    );
    let refused = failure::net(NetworkError::Refused);
    let preview = tether_sim::preview::preview(runtime(), &config, 1, &[refused], 6)
        .unwrap()
        .unwrap();
    for step in &preview.steps {
        println!("{step:?}");
    }
    assert_eq!(preview.steps.len(), 6);
    assert_eq!(preview.left_loop, None);
    for (i, step) in preview.steps.iter().enumerate() {
        assert_eq!(step.attempt, u32::try_from(i + 1).unwrap());
        assert!(step.fuel.is_some_and(|f| f > 0), "{step:?}");
        if i < 2 {
            let tether_sim::preview::Source::Fault(f) = &step.source else {
                panic!("attempt {}: {:?}", step.attempt, step.source)
            };
            assert_eq!(f.reason, PluginFaultReason::Trap);
            assert_eq!(f.used, step.decision);
            assert_eq!(step.curve, Some(Curve::Normal));
        } else {
            assert_eq!(step.source, tether_sim::preview::Source::Plugin, "{step:?}");
            assert_eq!(step.curve, Some(Curve::Plugin));
        }
    }
    // The plugin echoes the fallback, so the whole schedule is the fallback's:
    // the same delays as the bare retry-schedule of that policy and seed (the
    // connection's seed is the configuration's, 7).
    assert_eq!(preview_delays(&preview), bare_schedule(fallback, 7, 6));
    let stats = preview.stats.unwrap();
    assert_eq!(stats.decisions, 6);
    assert_eq!(stats.faults, 2);
    assert!(stats.peak_memory_bytes > 0);
    assert!(stats.peak_memory_bytes <= runtime().plugin_limits().memory_bytes);
}

#[test]
fn a_preview_shows_quarantine_and_the_fuel_of_a_decision_that_ran_out() {
    let config = custom(
        examples::HOSTILE,
        r#"{"mode": "loop"}"#,
        r#", "quarantine-after": 2"#,
    );
    let refused = failure::net(NetworkError::Refused);
    let preview = tether_sim::preview::preview(runtime(), &config, 1, &[refused], 4)
        .unwrap()
        .unwrap();
    let sources: Vec<_> = preview.steps.iter().map(|s| s.source.clone()).collect();
    let tether_sim::preview::Source::Fault(second) = &sources[1] else {
        panic!("{sources:?}")
    };
    assert!(second.quarantined);
    assert!(
        matches!(&sources[0], tether_sim::preview::Source::Fault(f) if f.reason == PluginFaultReason::OutOfFuel && !f.quarantined)
    );
    assert_eq!(
        sources[2..],
        [
            tether_sim::preview::Source::Quarantined,
            tether_sim::preview::Source::Quarantined
        ]
    );
    let fuel = runtime().plugin_limits().fuel_per_decision;
    assert_eq!(preview.steps[0].fuel, Some(fuel), "all of it");
    assert_eq!(preview.steps[2].fuel, None, "not asked");
    assert_eq!(preview_delays(&preview), bare_schedule("{}", 7, 4));

    // The peak memory counts instances that were thrown away after a fault.
    let config = custom(examples::HOSTILE, r#"{"mode": "memory-bomb"}"#, "");
    let preview = tether_sim::preview::preview(
        runtime(),
        &config,
        1,
        &[failure::net(NetworkError::Refused)],
        1,
    )
    .unwrap()
    .unwrap();
    assert!(
        matches!(&preview.steps[0].source, tether_sim::preview::Source::Fault(f) if f.reason == PluginFaultReason::MemoryLimit)
    );
    let limits = runtime().plugin_limits();
    assert_eq!(
        preview.stats.unwrap().peak_memory_bytes,
        limits.memory_bytes
    );
}

#[test]
fn a_preview_of_a_built_in_policy_matches_the_bare_schedule() {
    let policy = r#"{"kind": "linear", "initial-ms": 500, "step-ms": 250}"#;
    let config = format!(r#"{{"hub": "h", "seed": 3, "policy": {policy}}}"#);
    let refused = failure::net(NetworkError::Refused);
    let preview = tether_sim::preview::preview(runtime(), &config, 1, &[refused], 5)
        .unwrap()
        .unwrap();
    assert!(
        preview
            .steps
            .iter()
            .all(|s| s.source == tether_sim::preview::Source::BuiltIn && s.fuel.is_none())
    );
    assert_eq!(preview.stats, None);
    assert_eq!(preview_delays(&preview), bare_schedule(policy, 3, 5));
}

#[test]
fn a_preview_ends_at_a_give_up_or_where_the_flow_leaves_the_backoff_loop() {
    let config = custom(examples::HOSTILE, r#"{"mode": "give-up"}"#, "");
    let refused = failure::net(NetworkError::Refused);
    let preview = tether_sim::preview::preview(runtime(), &config, 1, &[refused], 5)
        .unwrap()
        .unwrap();
    assert_eq!(preview.steps.len(), 1);
    assert_eq!(
        preview.steps[0].decision,
        Decision::GiveUp(tether_host::GiveUpReason::Plugin)
    );
    assert_eq!(preview.steps[0].source, tether_sim::preview::Source::Plugin);

    // A device-disabled failure is unrecoverable: the engine gives up without
    // asking the plugin.
    let config = custom(examples::HOSTILE, "{}", "");
    let disabled = tether_host::syntax::parse_failure("app:device-disabled").unwrap();
    let preview = tether_sim::preview::preview(runtime(), &config, 1, &[disabled], 5)
        .unwrap()
        .unwrap();
    assert_eq!(preview.steps.len(), 1);
    assert_eq!(
        preview.steps[0].source,
        tether_sim::preview::Source::BuiltIn
    );
    assert_eq!(preview.steps[0].fuel, None);
    // With a provisioning service, the 10th failure in a row sends the device
    // back to it: no 10th backoff, and the preview says what happened instead.
    let config = r#"{"hub": "h", "seed": 7, "provisioning": {"reprovision-after": 3},
        "policy": {"kind": "custom", "plugin": "P", "params": {}}}"#
        .replace("P", examples::HOSTILE);
    let preview = tether_sim::preview::preview(
        runtime(),
        &config,
        1,
        &[failure::net(NetworkError::Reset)],
        9,
    )
    .unwrap()
    .unwrap();
    println!("{:?}", preview.left_loop);
    assert!(preview.steps.len() < 9, "{:?}", preview.steps);
    assert!(
        preview
            .left_loop
            .as_deref()
            .is_some_and(|t| t.contains("register")),
        "{:?}",
        preview.left_loop
    );
    // A configuration error is the engine's, naming the field.
    let bad = custom(examples::HOSTILE, "[1]", "");
    let e =
        tether_sim::preview::preview(runtime(), &bad, 1, &[failure::net(NetworkError::Reset)], 1)
            .unwrap()
            .unwrap_err();
    assert_eq!(e.field, "policy.params");
}

#[test]
fn inspection_lists_imports_and_exports_on_the_sandbox_engine() {
    let limits = PluginLimits::DEFAULT;
    let seen = plugin::inspect(examples::CIRCUIT_BREAKER.as_ref(), &limits).unwrap();
    assert!(seen.imports.is_empty(), "{seen:?}");
    assert_eq!(seen.exports, ["tether:reconnect/policy@0.1.0#decide"]);
    assert_eq!(seen.bytes, file_size(examples::CIRCUIT_BREAKER));
    let seen = plugin::inspect(examples::HOSTILE_WASI.as_ref(), &limits).unwrap();
    assert_eq!(seen.imports, ["wasi:random/random@0.2.12"]);
    let e = plugin::inspect("/nonexistent/p.wasm".as_ref(), &limits).unwrap_err();
    assert!(format!("{e:#}").contains("/nonexistent/p.wasm"), "{e:#}");
}

#[test]
fn a_relative_plugin_path_resolves_against_the_configuration_files_folder() {
    let path = std::path::Path::new(examples::SATELLITE_WINDOW);
    let (dir, name) = (path.parent().unwrap(), path.file_name().unwrap());
    let relative = custom(name.to_str().unwrap(), "{}", "");
    let resolved = plugin::resolve_plugin_path(&relative, dir);
    assert_eq!(
        plugin::plugin_of(&resolved).as_deref(),
        Some(examples::SATELLITE_WINDOW)
    );
    // The working directory is not the plugin's folder, yet the device loads it.
    assert_ne!(std::env::current_dir().unwrap(), dir);
    assert!(
        matches!(
            Device::new(runtime(), &relative, VirtualClock::new(), Entropy::fixed(1)),
            Err(tether_host::Error::Plugin { .. })
        ),
        "unresolved, the path is relative to the working directory"
    );
    Device::new(runtime(), &resolved, VirtualClock::new(), Entropy::fixed(1)).unwrap();
    // Absolute paths, built-in policies and malformed documents stay as they are.
    for unchanged in [
        custom(examples::SATELLITE_WINDOW, "{}", ""),
        r#"{"hub": "h", "policy": {"kind": "fixed", "plugin": "x.wasm"}}"#.into(),
        "{not json".into(),
    ] {
        assert_eq!(plugin::resolve_plugin_path(&unchanged, dir), unchanged);
    }
}
