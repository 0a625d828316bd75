//! The fleet storm simulator (`tether simulate`): its metrics on storms small
//! enough to work out by hand, its JSON, its determinism, and tether's default
//! policy against the storm targets at a tenth of the reference scale (the same
//! ratios: a 60 s outage, N / C = 50 s).
//!
//! Every assertion is on virtual-time figures; none depends on wall-clock time.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use serde_json::{Value, json};
use tether_host::Runtime;
use tether_sim::fleet::charts::{CHART_FILES, write_grid_charts};
use tether_sim::fleet::grid::{DropKind, Grid, GridReport};
use tether_sim::fleet::report::Report;
use tether_sim::fleet::{
    DEFAULT_POLICY_NAME, DEFAULT_SCENARIO, PolicyResult, PolicySpec, RetryAfter, Scenario,
    comparison, run_policy,
};

fn runtime() -> &'static Runtime {
    Runtime::shared().unwrap()
}

fn run(scenario: &Scenario, policy: Value, shards: usize) -> PolicyResult {
    let spec = PolicySpec::new("under test", policy);
    run_policy(runtime(), scenario, &spec, shards, &mut |_| {}).unwrap()
}

/// Every policy of a grid point's scenario, on two shards.
fn run_point(scenario: &Scenario) -> Vec<PolicyResult> {
    scenario
        .policy_specs()
        .iter()
        .map(|spec| run_policy(runtime(), scenario, spec, 2, &mut |_| {}).unwrap())
        .collect()
}

fn scenario(doc: Value) -> Scenario {
    Scenario::from_json(&doc.to_string()).unwrap()
}

/// 2,000 devices on a fixed 1 s policy, all in lockstep (no network jitter): the
/// hub answers after exactly 100 ms, so every device attempts at 1000 + 1100 j ms.
/// The outage ends at 10 s; the first attempt after it is at 10 900 ms, then one
/// burst every 1.1 s, each in its own second of the hub's, each admitting 100.
fn lockstep() -> Scenario {
    scenario(json!({
        "devices": 2000,
        "outage": {"duration-ms": 10_000, "latency-ms": 100},
        "hub": {"capacity-per-s": 100, "latency-ms": 100, "latency-jitter-ms": 0},
    }))
}

#[test]
fn a_fixed_second_in_lockstep_gives_the_figures_worked_out_by_hand() {
    let r = run(
        &lockstep(),
        json!({"kind": "fixed", "interval-ms": 1000}),
        2,
    );
    // Every device attempts in the first burst after the return.
    assert_eq!(r.peak_attempts_per_s, 2000);
    assert_eq!(r.capacity_per_s, Some(100));
    assert_eq!(r.peak_ratio, Some(20.0));
    // The whole run's peak: the outage's seconds saw 2000 too.
    assert_eq!(r.peak_overall_attempts_per_s, 2000);
    // 9 attempts each during the outage (1000 .. 9800 ms).
    assert_eq!(r.attempts_during_outage, 9 * 2000);
    // Bursts of 2000, 1900, ..., 100: 21 000 attempts, 19 000 refused.
    assert_eq!(r.refused, 19_000);
    assert_eq!(r.attempts_per_device, (18_000.0 + 21_000.0) / 2000.0);
    // Burst j (from 0) at 10 900 + 1100 j ms admits 100, connected 100 ms later.
    assert_eq!(r.t50_s, Some(20.9)); // the 10th burst
    assert_eq!(r.t99_s, Some(31.9)); // the 20th: 1980 > 99% needs it
    assert_eq!(r.t100_s, Some(31.9));
    assert_eq!(r.floor_s, 30.0); // 10 s + 2000 / 100
    assert_eq!(r.connected, 2000);
    assert_eq!(r.gave_up, 0);
    assert_eq!(r.reprovisions, 0);
    // The series: attempts per second of virtual time.
    assert_eq!(r.attempts_per_s[1], 2000); // the attempt at 1000 ms
    assert_eq!(r.attempts_per_s[10], 2000); // the burst at 10 900 ms
    assert_eq!(r.attempts_per_s[12], 1900); // at 12 000 ms
    assert_eq!(
        r.attempts_per_s.iter().map(|&a| u64::from(a)).sum::<u64>(),
        39_000
    );
    assert!(r.memory_per_connection_bytes > 0.0 && r.memory_per_connection_bytes < 4096.0);
}

#[test]
fn the_result_is_the_same_for_any_number_of_shards_and_changes_with_the_seed() {
    let s = scenario(json!({
        "devices": 3000, "seed": 5,
        "outage": {"duration-ms": 20_000},
        "hub": {"capacity-per-s": 100},
    }));
    let policy = json!({});
    let one = run(&s, policy.clone(), 1);
    let three = run(&s, policy.clone(), 3);
    let again = run(&s, policy.clone(), 3);
    for r in [&three, &again] {
        assert_eq!(r.attempts_per_s, one.attempts_per_s);
        assert_eq!(
            (r.t50_s, r.t99_s, r.t100_s),
            (one.t50_s, one.t99_s, one.t100_s)
        );
        assert_eq!(
            (r.refused, r.peak_attempts_per_s),
            (one.refused, one.peak_attempts_per_s)
        );
    }
    let mut other = s.clone();
    other.seed = 6;
    let other = run(&other, policy, 2);
    assert_ne!(other.attempts_per_s, one.attempts_per_s);
}

#[test]
fn the_json_report_has_the_documented_keys() {
    let s = lockstep();
    let mut report = Report::new(s.clone());
    report
        .results
        .push(run(&s, json!({"kind": "fixed", "interval-ms": 1000}), 1));
    let doc = report.to_json();
    let r = &doc["results"][0];
    for key in [
        "policy",
        "peak_attempts_per_s",
        "capacity_per_s",
        "t50_s",
        "t99_s",
        "t100_s",
        "floor_s",
        "attempts_per_device",
        "reprovisions",
    ] {
        assert!(r.get(key).is_some(), "{key} missing from {r}");
    }
    assert_eq!(r["policy"], "under test");
    assert_eq!(r["capacity_per_s"], 100);
    assert_eq!(r["floor_s"], 30.0);
    assert_eq!(doc["floor_s"], 30.0);
    assert_eq!(doc["scenario"]["devices"], 2000);
    // The table and the chart name the policy too.
    assert!(report.table().contains("| under test | 2000 (20.00x) |"));
    let svg = report.svg();
    assert!(svg.starts_with("<svg") && svg.contains("under test") && svg.contains("<polyline"));
}

#[test]
fn every_scenario_in_examples_parses_and_unknown_fields_are_refused() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/scenarios");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("grid"))
        {
            Grid::from_json(&text).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            continue;
        }
        Scenario::from_json(&text).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} scenarios in {}", dir.display());
    let built_in = Scenario::from_json(DEFAULT_SCENARIO).unwrap();
    assert_eq!(
        (built_in.devices, built_in.hub.capacity_per_s),
        (100_000, Some(2000))
    );
    assert_eq!(built_in.floor_s(), 110.0);
    assert!(Scenario::from_json(r#"{"devcies": 10}"#).is_err());
    let e = Scenario::from_json(r#"{"hub": {"refusal": "mqtt9:1"}}"#).unwrap_err();
    assert!(format!("{e:#}").contains("hub.refusal"), "{e:#}");
    // The comparison: the default first, every preset, Paho and mqtt.js.
    let names: Vec<String> = comparison().into_iter().map(|s| s.name).collect();
    assert_eq!(names[0], DEFAULT_POLICY_NAME);
    for preset in tether_sim::fleet::PRESETS {
        assert!(names.iter().any(|n| n == preset), "{preset}");
    }
    assert_eq!(names.len(), 2 + 7 + 2);
}

#[test]
fn reprovisioning_is_counted_and_billed() {
    // A fixed second through a 20 s outage: 10 failed reconnects and the device
    // goes back to the provisioning service, twice.
    let s = scenario(json!({
        "devices": 200,
        "outage": {"duration-ms": 20_000},
        "hub": {"capacity-per-s": null},
        "provisioning": {"capacity-per-s": null, "cost-per-registration": 0.5},
    }));
    let r = run(&s, json!({"kind": "fixed", "interval-ms": 1000}), 2);
    assert_eq!(r.connected, 200);
    assert!(r.reprovisions >= 200, "{}", r.reprovisions);
    assert_eq!(r.reprovision_cost, r.reprovisions as f64 * 0.5);
    // tether's default makes a handful of attempts in the same outage: none.
    let r = run(&s, json!({}), 2);
    assert_eq!((r.connected, r.reprovisions), (200, 0));
}

/// The reference storm at a tenth of its size, same ratios: 10 000 devices, a
/// 60 s outage, a hub admitting 200 per second (floor 110 s).
fn tenth(hints: RetryAfter, refusal: &str) -> Scenario {
    let mut s = scenario(json!({"devices": 10_000, "hub": {"capacity-per-s": 200}}));
    s.hub.retry_after = hints;
    s.hub.refusal = refusal.into();
    s
}

#[test]
fn the_default_meets_the_storm_targets_without_hints() {
    let r = run(&tenth(RetryAfter::None, "mqtt311:3"), json!({}), 2);
    assert_eq!(r.connected, 10_000);
    // Peak attempts after the hub's return at most 1.2 x its capacity.
    assert!(r.peak_ratio.unwrap() <= 1.2, "peak {:?}", r.peak_ratio);
    // 99% back within 1.4 x the floor.
    assert!(r.t99_ratio.unwrap() <= 1.4, "t99 {:?}", r.t99_ratio);
    // And better on both counts than tether 0.1's default (full jitter to 60 s).
    let old = comparison()
        .into_iter()
        .find(|s| s.name == "tether 0.1 default")
        .unwrap();
    let o = run(&tenth(RetryAfter::None, "mqtt311:3"), old.policy, 2);
    assert!(r.peak_attempts_per_s < o.peak_attempts_per_s);
    assert!(r.t99_s < o.t99_s && r.attempts_per_device < o.attempts_per_device);
}

#[test]
fn the_default_meets_the_storm_target_with_hints() {
    for (hint, refusal) in [
        (RetryAfter::Queue, "mqtt5:0x9F"),
        (RetryAfter::None, "mqtt5:0x9F"),
    ] {
        let r = run(&tenth(hint, refusal), json!({}), 2);
        assert!(
            r.t99_ratio.unwrap() <= 1.1,
            "{hint:?} {refusal}: t99 {:?}",
            r.t99_ratio
        );
    }
}

#[test]
fn a_lone_device_that_loses_its_link_for_a_second_is_back_within_two_at_the_median() {
    // Many devices that do not compete (no rate limit), each its own seed: the
    // median of their times back is the median over seeds.
    let s = scenario(json!({
        "devices": 2000,
        "outage": {"duration-ms": 1000, "failure": "net:unreachable"},
        "hub": {"capacity-per-s": null},
    }));
    let r = run(&s, json!({}), 2);
    assert!(r.t50_s.unwrap() <= 2.0, "median {:?}", r.t50_s);
}

/// The lockstep storm with refused attempts costing the hub a whole admission's
/// work each, for two minutes. A fixed 1 s fleet sends 1,900 refused attempts
/// per burst against 100 admissions a second: the work it leaves grows with every
/// burst, so after the first 100 the hub admits nobody (a collapse). tether's
/// default spreads the fleet over its 55 s period, about 36 attempts a second,
/// under the capacity: the work is done and everyone gets in.
#[test]
fn costly_refusals_collapse_a_fixed_retry_and_not_the_default() {
    let mut costly = lockstep();
    costly.hub.refusal_cost = 1.0;
    costly.horizon_ms = 120_000;
    let fixed = run(&costly, json!({"kind": "fixed", "interval-ms": 1000}), 2);
    assert_eq!(fixed.connected, 100, "{fixed:?}");
    let free = run(
        &lockstep(),
        json!({"kind": "fixed", "interval-ms": 1000}),
        2,
    );
    assert_eq!(free.connected, 2000);
    let default = run(&costly, json!({}), 2);
    assert_eq!(default.connected, 2000, "{default:?}");
}

#[test]
fn a_small_grid_runs_every_point_and_compares_the_default_with_the_presets() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/scenarios/grid-small.json"),
    )
    .unwrap();
    let mut grid = Grid::from_json(&text).unwrap();
    grid.scale = 0.1;
    let points = grid.points();
    assert_eq!(points.len(), 3 * 2 * 2 * 2);
    let mut report = GridReport::default();
    for point in points {
        let results = run_point(&point.scenario);
        for r in &results {
            // The whole run's peak includes the seconds after the return.
            assert!(
                r.peak_overall_attempts_per_s >= r.peak_attempts_per_s,
                "{}",
                point.label
            );
            assert_eq!(r.devices, point.scenario.devices);
            assert!(r.attempts_per_s.iter().any(|&a| a > 0));
        }
        if point.drop == DropKind::Local {
            assert_eq!(point.scenario.devices, 100, "10% of 1,000");
        }
        report.push(point, results);
    }
    let verdicts = report.verdicts();
    assert_eq!(verdicts.len(), 24);
    for v in &verdicts {
        assert!(v.best_peak.1 == "aws-crt" || v.best_peak.1 == "azure-node");
        assert!(v.default_peak.is_finite() && v.default_peak > 0.0, "{v:?}");
    }
    let table = report.verdict_table();
    assert!(table.contains("| hub 0s 1k@100/s none |"), "{table}");
    assert!(table.contains("points."), "{table}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["points"].as_array().unwrap().len(), 24);
    // The per-second series stay out of the grid's document.
    assert_eq!(json["points"][0]["results"][0]["attempts_per_s"], json!([]));
    charts_are_drawn(&report);
}

/// `--charts`: three SVG files, each with a series per policy, written from the
/// small grid's report.
fn charts_are_drawn(report: &GridReport) {
    let worst = report
        .worst
        .as_ref()
        .expect("the worst point's series are kept");
    let highest = report
        .verdicts()
        .iter()
        .map(|v| v.default_peak)
        .fold(0.0_f64, f64::max);
    assert_eq!(
        worst.default_peak, highest,
        "the worst point is the default's highest peak"
    );
    assert_eq!(worst.series.len(), 3);
    assert!(worst.series.iter().all(|(_, s)| s.iter().any(|&a| a > 0)));
    let dir = std::env::temp_dir().join(format!("tether-charts-{}", std::process::id()));
    let written = write_grid_charts(report, &dir).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, CHART_FILES);
    for path in &written {
        let svg = std::fs::read_to_string(path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", path.display());
        for policy in [DEFAULT_POLICY_NAME, "aws-crt", "azure-node"] {
            assert!(svg.contains(policy), "{} has no {policy:?}", path.display());
        }
        // One line per policy (plotters draws a series as a polyline), plus the
        // line at 1x capacity or floor.
        let lines = svg.matches("<polyline").count();
        assert!(lines >= 4, "{}: {lines} lines", path.display());
    }
    let peak = std::fs::read_to_string(&written[0]).unwrap();
    assert!(
        peak.contains("hub 0s 1k@100/s none"),
        "the points are labelled"
    );
    let worst_svg = std::fs::read_to_string(&written[2]).unwrap();
    assert!(worst_svg.contains(&worst.label), "the worst point is named");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Fleet-aware spreading on a reduced grid (a tenth of the fleets: 1,000 and
/// 10,000 devices; 100/s and 2,000/s; 0 s and 60 s outages; no hint and
/// retry-after; hub-side and local drops): the goals of the numbered variant and
/// what random phases cost, as the README's "Fleet-aware spreading" states.
#[test]
fn fleet_aware_spreading_holds_its_goals_on_a_reduced_grid() {
    use tether_sim::fleet::grid::{
        FLEET_AWARE_NAME, FLEET_NUMBERED_NAME, FLEET_PEAK_GOAL, fleet_aware_specs,
    };
    let mut specs = vec![PolicySpec::new(DEFAULT_POLICY_NAME, json!({}))];
    specs.extend(fleet_aware_specs());
    let grid = Grid {
        outages_ms: vec![0, 60_000],
        devices: vec![10_000, 100_000],
        capacities_per_s: vec![100, 2_000],
        hints: vec![
            tether_sim::fleet::Hints::None,
            tether_sim::fleet::Hints::RetryAfter,
        ],
        scale: 0.1,
        policies: Some(specs),
        ..Grid::default()
    };
    grid.validate().unwrap();
    let mut report = GridReport::default();
    for point in grid.points() {
        let results = run_point(&point.scenario);
        report.push(point, results);
    }
    // With random phases a 100/s hub needs a headroom of 1.334 (and a local
    // drop's scattered devices always do): t99 is bounded by it, not by 1.2.
    let random_headroom = 1.334 + 0.05;
    let verdicts = report.fleet_verdicts();
    assert_eq!(verdicts.len(), 32 * 2);
    for v in &verdicts {
        let point = report
            .points
            .iter()
            .find(|p| p.point.label == v.label)
            .unwrap();
        let p = &point.point;
        let floor = p.scenario.floor_s();
        assert!(v.peak <= FLEET_PEAK_GOAL, "{v:?}");
        assert!(v.t99.is_finite(), "{v:?}");
        let bound = match (v.policy.as_str(), p.drop, p.capacity_per_s) {
            (FLEET_NUMBERED_NAME, DropKind::Hub, _) => v.t99_goal,
            (FLEET_NUMBERED_NAME, DropKind::Local, 100) => v.t99_goal.max(random_headroom),
            (FLEET_NUMBERED_NAME, DropKind::Local, _) => v.t99_goal,
            (FLEET_AWARE_NAME, DropKind::Hub, 100) => random_headroom,
            (FLEET_AWARE_NAME, DropKind::Hub, _) => v.t99_goal,
            // Without a local share a local drop waits for the whole fleet's
            // period: t99 is bounded by the outage plus that period.
            (FLEET_AWARE_NAME, DropKind::Local, _) => {
                let c = f64::from(p.capacity_per_s);
                let headroom = if c <= 100.0 { 1.334 } else { 1.02 };
                (p.outage_ms as f64 / 1000.0 + headroom * f64::from(p.fleet) / c) / floor + 0.05
            }
            (other, ..) => panic!("unexpected fleet-aware policy {other}"),
        };
        // The floor leaves out the network: a 100-120 ms round trip after the
        // slot, which a floor of a second or less feels.
        let bound = bound + 0.15 / floor;
        assert!(
            v.t99 <= bound,
            "{v:?}: t99 above {bound:.2}x (floor {floor:.2} s)"
        );
    }
    // Numbered devices meet both goals at every hub-side point whose floor is
    // not within the network's round trip (1,000 devices at 2,000/s after no
    // outage: a floor of 0.5 s, t99 0.6 s).
    for v in verdicts
        .iter()
        .filter(|v| v.policy == FLEET_NUMBERED_NAME && v.label.starts_with("hub"))
    {
        let p = report
            .points
            .iter()
            .find(|p| p.point.label == v.label)
            .unwrap();
        if p.point.scenario.floor_s() >= 1.0 {
            assert!(v.holds(), "{v:?}\n{}", report.fleet_table());
        }
    }
    // Where the default sends the whole fleet in its first seconds, spreading
    // keeps the hub under its capacity.
    for p in &report.points {
        let default = p.results.iter().find(|r| r.policy == DEFAULT_POLICY_NAME);
        let numbered = p.results.iter().find(|r| r.policy == FLEET_NUMBERED_NAME);
        let (Some(d), Some(n)) = (default, numbered) else {
            panic!("{}: a policy is missing", p.point.label);
        };
        if d.peak_overall_ratio.unwrap() > FLEET_PEAK_GOAL {
            assert!(
                n.peak_overall_attempts_per_s < d.peak_overall_attempts_per_s,
                "{}",
                p.point.label
            );
        }
    }
    assert!(report.fleet_table().contains("both goals met at"));
}
