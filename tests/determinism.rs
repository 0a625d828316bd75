//! Determinism and the presets' formulas, through the component.
//!
//! - The same configuration, seed and script give the same transcript, byte for
//!   byte; another seed gives other jitter.
//! - Each preset's `retry-schedule` stays within the range its published formula
//!   allows (README policy table, `/work/shared/reference/azure-sdk-retry-facts.md`)
//!   for k = 1..=10 over many seeds, and actually spreads over that range. The
//!   ranges are written out below, computed by hand from the formulas.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use tether_host::syntax::failure;
use tether_host::{Decision, Failure, Instance, NetworkError};
use tether_sim::{ScriptedHub, ScriptedProvisioning, Sim};
use tether_tests::facts::backoffs;
use tether_tests::runtime;

const SEEDS: u64 = 300;

/// A jittered world: the default policy (exponential, full jitter) through an
/// outage of refusals and drops, with provisioning and telemetry.
fn jittered_sim(config: &str, entropy_seed: u64) -> Sim {
    let hub = ScriptedHub::new()
        .drop_at(20_000, failure::net(NetworkError::Reset))
        .refuse_between(
            20_000,
            90_000,
            vec![
                failure::net(NetworkError::Refused),
                failure::mqtt5(0x89),
                failure::net(NetworkError::Timeout),
            ],
        )
        .drop_at(200_000, failure::net(NetworkError::Closed))
        .refuse_between(200_000, 260_000, vec![]);
    let mut sim = Sim::builder(config)
        .hub(hub)
        .provisioning(ScriptedProvisioning::assigning("hub-a", "dev-1"))
        .entropy_seed(entropy_seed)
        .build(runtime())
        .unwrap();
    sim.publish_every(1_000, 7_000, 400_000, "telemetry");
    sim.run_until(600_000).unwrap();
    sim
}

fn delays(sim: &Sim) -> Vec<u64> {
    backoffs(sim).iter().map(|b| b.delay_ms).collect()
}

#[test]
fn same_config_seed_and_script_give_the_same_transcript() {
    let config = r#"{"provisioning": {}, "seed": 42}"#;
    let a = jittered_sim(config, 0);
    let b = jittered_sim(config, 0);
    assert!(
        delays(&a).len() >= 8,
        "the script should exercise the jitter: {}",
        a.transcript()
    );
    assert_eq!(a.transcript().render_all(), b.transcript().render_all());
    assert_eq!(a.statuses(), b.statuses());
    assert_eq!(a.decisions(), b.decisions());
    assert_eq!(a.messages(), b.messages());
    // The configured seed wins over the host's entropy.
    let c = jittered_sim(config, 999);
    assert_eq!(a.transcript().render_all(), c.transcript().render_all());
}

#[test]
fn a_different_seed_gives_different_jitter() {
    let one = jittered_sim(r#"{"provisioning": {}, "seed": 1}"#, 0);
    let two = jittered_sim(r#"{"provisioning": {}, "seed": 2}"#, 0);
    assert_ne!(delays(&one), delays(&two));
    // The default's phase jitter: retry 1 within [1 s, 2 s], retry k within
    // [3^(k-2) s, 3^(k-1) s], never past the 55 s period.
    for b in backoffs(&one).iter().chain(backoffs(&two).iter()) {
        if b.curve == tether_host::Curve::Normal {
            let (lo, hi) = match b.attempt {
                1 => (1_000, 2_000),
                k => (
                    3u64.pow((k - 2).min(10)) * 1_000,
                    3u64.pow((k - 1).min(10)) * 1_000,
                ),
            };
            assert!(
                b.delay_ms >= lo.min(27_000) && b.delay_ms <= hi.min(55_000),
                "{b:?}"
            );
        }
    }
}

#[test]
fn without_a_seed_the_jitter_comes_from_the_hosts_entropy() {
    let config = r#"{"provisioning": {}}"#;
    let a = jittered_sim(config, 7);
    let b = jittered_sim(config, 7);
    let c = jittered_sim(config, 8);
    assert_eq!(a.transcript().render_all(), b.transcript().render_all());
    assert_ne!(delays(&a), delays(&c), "another entropy seed, other delays");
}

// ---------------------------------------------------------------------------
// Presets against their published formulas
// ---------------------------------------------------------------------------

/// The inclusive range of the delay before retry k = 1..=10.
type Ranges = [(u64, u64); 10];

/// azure-c: n = k-1; n = 0: 0; else b = min(1000 * 2^(n-1), 30000), b + [0, b * 5%].
const AZURE_C: Ranges = [
    (0, 0),
    (1_000, 1_050),
    (2_000, 2_100),
    (4_000, 4_200),
    (8_000, 8_400),
    (16_000, 16_800),
    (30_000, 31_500),
    (30_000, 31_500),
    (30_000, 31_500),
    (30_000, 31_500),
];

/// azure-dotnet: n = k-1; min(100 + (2^n - 1) * [80, 120], 10000), raised to the
/// 1000 ms minimum interval (the schedule resource's attempts take no time).
const AZURE_DOTNET: Ranges = [
    (1_000, 1_000), // 100
    (1_000, 1_000), // 180..220
    (1_000, 1_000), // 340..460
    (1_000, 1_000), // 660..940
    (1_300, 1_900),
    (2_580, 3_820),
    (5_140, 7_660),
    (10_000, 10_000), // 10 260.. capped
    (10_000, 10_000),
    (10_000, 10_000),
];

/// azure-java: n = k-1; n = 0: 0; else min(100 + (2^n - 1) * [80, 119], 10000).
const AZURE_JAVA: Ranges = [
    (0, 0),
    (180, 219),
    (340, 457),
    (660, 933),
    (1_300, 1_885),
    (2_580, 3_789),
    (5_140, 7_597),
    (10_000, 10_000),
    (10_000, 10_000),
    (10_000, 10_000),
];

/// azure-node: min(100 + (2^(k-1) - 1) * [50, 75], 10000).
const AZURE_NODE: Ranges = [
    (100, 100),
    (150, 175),
    (250, 325),
    (450, 625),
    (850, 1_225),
    (1_650, 2_425),
    (3_250, 4_825),
    (6_450, 9_625),
    (10_000, 10_000), // 12 850.. capped
    (10_000, 10_000),
];

/// azure-node throttled: min(10000 + (2^(k-1) - 1) * [2500, 3750], 60000).
const AZURE_NODE_THROTTLED: Ranges = [
    (10_000, 10_000),
    (12_500, 13_750),
    (17_500, 21_250),
    (27_500, 36_250),
    (47_500, 60_000), // 47 500..66 250, capped
    (60_000, 60_000),
    (60_000, 60_000),
    (60_000, 60_000),
    (60_000, 60_000),
    (60_000, 60_000),
];

/// azure-python: 10 ms, then 10 s.
const AZURE_PYTHON: Ranges = [
    (10, 10),
    (10_000, 10_000),
    (10_000, 10_000),
    (10_000, 10_000),
    (10_000, 10_000),
    (10_000, 10_000),
    (10_000, 10_000),
    (10_000, 10_000),
    (10_000, 10_000),
    (10_000, 10_000),
];

/// grpc: d = min(1000 * 1.6^(k-1), 120000), then [d - d/5, d + d/5]. The bounds of
/// the real-valued formula, rounded outward to whole milliseconds.
const GRPC: Ranges = [
    (800, 1_200),     // d = 1000
    (1_280, 1_920),   // 1600
    (2_048, 3_072),   // 2560
    (3_276, 4_916),   // 4096
    (5_242, 7_865),   // 6553.6
    (8_388, 12_583),  // 10485.76
    (13_421, 20_133), // 16777.216
    (21_474, 32_213), // 26843.5456
    (34_359, 51_540), // 42949.67296
    (54_975, 82_464), // 68719.476736
];

/// aws-crt: uniform [0, min(1000 * 2^(k-1), 120000)].
const AWS_CRT: Ranges = [
    (0, 1_000),
    (0, 2_000),
    (0, 4_000),
    (0, 8_000),
    (0, 16_000),
    (0, 32_000),
    (0, 64_000),
    (0, 120_000),
    (0, 120_000),
    (0, 120_000),
];

/// The ten delays of one schedule of `policy` seeded with `seed`; `failure`
/// selects the curve (`None`: a plain recoverable failure).
fn ten_delays(
    instance: &mut Instance,
    policy: &str,
    seed: u64,
    failure: Option<&Failure>,
) -> Vec<u64> {
    let schedule = tether_tests::verdict(instance.create_schedule(policy, seed)).unwrap();
    let delays = (1..=10)
        .map(
            |k| match instance.schedule_next(&schedule, failure, None).unwrap() {
                Decision::RetryAfter(ms) => ms,
                other => panic!("{policy}: retry {k} gave {other:?}"),
            },
        )
        .collect();
    assert_eq!(instance.schedule_attempts(&schedule).unwrap(), 10);
    instance.drop_schedule(schedule).unwrap();
    delays
}

/// Every delay of `policy` lies in its range for every seed, the jittered ranges
/// are actually spread over (both ends reached within a quarter of the width), and
/// a seed always gives the same sequence.
fn check_preset(policy: &str, failure: Option<&Failure>, ranges: &Ranges) -> Vec<Vec<u64>> {
    let mut instance = runtime()
        .instantiate(
            tether_host::VirtualClock::new(),
            tether_host::Entropy::fixed(0),
        )
        .unwrap();
    let runs: Vec<Vec<u64>> = (0..SEEDS)
        .map(|seed| ten_delays(&mut instance, policy, seed, failure))
        .collect();
    for (seed, run) in runs.iter().enumerate() {
        for (i, (&d, &(lo, hi))) in run.iter().zip(ranges.iter()).enumerate() {
            assert!(
                (lo..=hi).contains(&d),
                "{policy}: seed {seed}, retry {}: {d} ms outside [{lo}, {hi}]; run {run:?}",
                i + 1
            );
        }
    }
    for (i, &(lo, hi)) in ranges.iter().enumerate() {
        let seen: Vec<u64> = runs.iter().map(|r| r[i]).collect();
        let (min, max) = (*seen.iter().min().unwrap(), *seen.iter().max().unwrap());
        let quarter = (hi - lo) / 4;
        assert!(
            min <= lo + quarter && max >= hi - quarter,
            "{policy}: retry {} spans only [{min}, {max}] of [{lo}, {hi}] over {SEEDS} seeds",
            i + 1
        );
    }
    assert_eq!(
        ten_delays(&mut instance, policy, 17, failure),
        runs[17],
        "{policy}: the same seed gives the same delays"
    );
    runs
}

/// Delays of the form `base + m * r`, with m = 2^n - 1 for retry k (n from
/// `n_of_k`), must have `r` whole and in `[r_lo, r_hi]` wherever neither the cap
/// nor the `floor` (a minimum interval) applies: the formula's structure, not only
/// its range.
fn check_multiplier_form(
    runs: &[Vec<u64>],
    base: u64,
    r: (u64, u64),
    (floor, cap): (u64, u64),
    n_of_k: impl Fn(u32) -> u32,
) {
    for run in runs {
        for (i, &d) in run.iter().enumerate() {
            let k = u32::try_from(i + 1).unwrap();
            let m = (1u64 << n_of_k(k)) - 1;
            if m == 0 || d >= cap || d <= floor || d < base {
                continue;
            }
            let excess = d - base;
            assert_eq!(excess % m, 0, "retry {k}: {d} is not {base} + {m} * r");
            let factor = excess / m;
            assert!(
                (r.0..=r.1).contains(&factor),
                "retry {k}: r = {factor} outside {r:?}"
            );
        }
    }
}

#[test]
fn azure_c_preset_follows_its_formula() {
    check_preset(r#"{"kind": "azure-c"}"#, None, &AZURE_C);
}

#[test]
fn azure_dotnet_preset_follows_its_formula() {
    let runs = check_preset(r#"{"kind": "azure-dotnet"}"#, None, &AZURE_DOTNET);
    check_multiplier_form(&runs, 100, (80, 120), (1_000, 10_000), |k| k - 1);
}

#[test]
fn azure_java_preset_follows_its_formula() {
    let runs = check_preset(r#"{"kind": "azure-java"}"#, None, &AZURE_JAVA);
    check_multiplier_form(&runs, 100, (80, 119), (0, 10_000), |k| k - 1);
}

#[test]
fn azure_node_preset_follows_its_formula() {
    let runs = check_preset(r#"{"kind": "azure-node"}"#, None, &AZURE_NODE);
    check_multiplier_form(&runs, 100, (50, 75), (0, 10_000), |k| k - 1);
}

#[test]
fn azure_node_preset_throttled_curve_follows_its_formula() {
    // MQTT 5 0x89 server busy: retry-throttled, no server hint.
    let busy = failure::mqtt5(0x89);
    let runs = check_preset(
        r#"{"kind": "azure-node"}"#,
        Some(&busy),
        &AZURE_NODE_THROTTLED,
    );
    check_multiplier_form(&runs, 10_000, (2_500, 3_750), (0, 60_000), |k| k - 1);
}

#[test]
fn azure_python_preset_follows_its_formula() {
    check_preset(r#"{"kind": "azure-python"}"#, None, &AZURE_PYTHON);
}

#[test]
fn grpc_preset_follows_its_formula() {
    check_preset(r#"{"kind": "grpc"}"#, None, &GRPC);
}

#[test]
fn aws_crt_preset_follows_its_formula() {
    check_preset(r#"{"kind": "aws-crt"}"#, None, &AWS_CRT);
}
