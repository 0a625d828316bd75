//! A grid of storms: every combination of outage, fleet size, hub capacity, hint
//! and kind of drop, each a [`Scenario`] run with the same policies, so that a
//! default can be judged everywhere rather than at one tuned point.
//!
//! A *hub-side* drop resets every link at once and the hub is down for the
//! outage (attempts meanwhile are refused by the network). A *local* drop is a
//! share of the fleet losing its own network for the outage (attempts time out
//! as unreachable) while the hub stays up: only that share reconnects, so it is
//! the same storm with fewer devices and another failure.

use serde::{Deserialize, Serialize};

use super::PolicyResult;
use super::scenario::{FleetSpec, Hints, PolicySpec, Scenario};

/// Where the link was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropKind {
    /// The hub reset every link and is gone for the outage.
    Hub,
    /// A share of the fleet lost its own network for the outage.
    Local,
}

/// The axes of the grid (`examples/scenarios/grid.json`).
///
/// # Defaults
/// Outages of 0 s, 5 s, 60 s and 10 min; fleets of 10,000, 100,000 and 1,000,000;
/// hubs admitting 100/s (one S1 unit), 2,000/s and 6,000/s (one S3 unit); no hint,
/// a retry-after, the bare 0x9F code; hub-side and local drops, a local drop
/// taking 10% of the fleet; refusals free; scale 1; the [`Scenario`] defaults for
/// the rest; the policies: tether's default and every preset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Grid {
    /// Outage durations.
    pub outages_ms: Vec<u64>,
    /// Fleet sizes (before `scale`).
    pub devices: Vec<u32>,
    /// Hub admissions per second.
    pub capacities_per_s: Vec<u32>,
    /// What refusals carry.
    pub hints: Vec<Hints>,
    /// Kinds of drop.
    pub drops: Vec<DropKind>,
    /// The share of the fleet a local drop takes, in (0, 1].
    pub local_share: f64,
    /// The hub's work for a refused attempt (see `hub.refusal-cost`).
    pub refusal_cost: f64,
    /// Multiplies every fleet size (0.1: a tenth of the scale, for tests).
    pub scale: f64,
    /// The scenario every point starts from (seed, latencies, horizon).
    pub base: Scenario,
    /// The policies run at every point; absent: tether's default and the presets.
    pub policies: Option<Vec<PolicySpec>>,
}

impl Default for Grid {
    fn default() -> Self {
        Self {
            outages_ms: vec![0, 5_000, 60_000, 600_000],
            devices: vec![10_000, 100_000, 1_000_000],
            capacities_per_s: vec![100, 2_000, 6_000],
            hints: vec![Hints::None, Hints::RetryAfter, Hints::ReasonCode],
            drops: vec![DropKind::Hub, DropKind::Local],
            local_share: 0.1,
            refusal_cost: 0.0,
            scale: 1.0,
            base: Scenario::default(),
            policies: None,
        }
    }
}

/// One point of the grid, and the scenario it runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    /// A short label: `hub 60s 100k@2000/s none`.
    pub label: String,
    /// The outage.
    pub outage_ms: u64,
    /// The fleet (after scale; for a local drop, the whole fleet, of which
    /// `scenario.devices` drop).
    pub fleet: u32,
    /// Hub admissions per second.
    pub capacity_per_s: u32,
    /// What refusals carry.
    pub hints: Hints,
    /// Where the links were lost.
    pub drop: DropKind,
    /// The storm to run.
    pub scenario: Scenario,
}

impl Grid {
    /// Read a grid document. Unknown fields are refused.
    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        let grid: Self = serde_json::from_str(text)?;
        grid.validate()?;
        Ok(grid)
    }

    /// Check the axes and every point's scenario.
    pub fn validate(&self) -> anyhow::Result<()> {
        for (name, empty) in [
            ("outages-ms", self.outages_ms.is_empty()),
            ("devices", self.devices.is_empty()),
            ("capacities-per-s", self.capacities_per_s.is_empty()),
            ("hints", self.hints.is_empty()),
            ("drops", self.drops.is_empty()),
        ] {
            anyhow::ensure!(!empty, "{name}: must list at least one value");
        }
        anyhow::ensure!(
            self.local_share > 0.0 && self.local_share <= 1.0,
            "local-share: must be in (0, 1]"
        );
        anyhow::ensure!(
            self.scale > 0.0 && self.scale <= 100.0,
            "scale: must be in (0, 100]"
        );
        for p in self.points() {
            p.scenario
                .validate()
                .map_err(|e| anyhow::anyhow!("point {}: {e}", p.label))?;
        }
        Ok(())
    }

    /// The policies run at every point.
    pub fn policy_specs(&self) -> Vec<PolicySpec> {
        self.policies.clone().unwrap_or_else(|| {
            let mut specs = vec![PolicySpec::new(
                super::DEFAULT_POLICY_NAME,
                serde_json::json!({}),
            )];
            for name in super::PRESETS {
                specs.push(PolicySpec::new(name, serde_json::json!({ "kind": name })));
            }
            specs.extend(fleet_aware_specs());
            specs
        })
    }

    /// Every point, drops outermost, then fleets, capacities, outages, hints.
    pub fn points(&self) -> Vec<Point> {
        let mut out = Vec::new();
        for &drop in &self.drops {
            for &n in &self.devices {
                let fleet = scaled(n, self.scale);
                for &capacity in &self.capacities_per_s {
                    for &outage_ms in &self.outages_ms {
                        for &hints in &self.hints {
                            out.push(self.point(drop, fleet, capacity, outage_ms, hints));
                        }
                    }
                }
            }
        }
        out
    }

    fn point(
        &self,
        drop: DropKind,
        fleet: u32,
        capacity: u32,
        outage_ms: u64,
        hints: Hints,
    ) -> Point {
        let mut s = self.base.clone();
        s.outage.duration_ms = outage_ms;
        s.hub.capacity_per_s = Some(capacity);
        s.hub.refusal_cost = self.refusal_cost;
        hints.apply(&mut s.hub);
        match drop {
            DropKind::Hub => {
                s.devices = fleet;
                s.outage.drop = "net:reset".into();
                s.outage.failure = "net:refused".into();
            }
            DropKind::Local => {
                s.devices = scaled(fleet, self.local_share);
                s.fleet = Some(fleet);
                s.outage.drop = "net:timeout".into();
                s.outage.failure = "net:unreachable".into();
            }
        }
        // Long enough to see the slowest policies finish: three floors, at least
        // the base horizon.
        let floor_ms = (s.floor_s() * 1000.0) as u64;
        s.horizon_ms = s.horizon_ms.max(floor_ms.saturating_mul(3));
        s.policies = Some(self.policy_specs());
        let label = format!(
            "{} {} {}@{}/s {}",
            match drop {
                DropKind::Hub => "hub",
                DropKind::Local => "local",
            },
            duration(outage_ms),
            count(s.devices),
            capacity,
            hints.name()
        );
        s.name = label.clone();
        Point {
            label,
            outage_ms,
            fleet,
            capacity_per_s: capacity,
            hints,
            drop,
            scenario: s,
        }
    }
}

/// The fleet-aware policy whose devices draw a random phase.
pub const FLEET_AWARE_NAME: &str = "tether fleet-aware";
/// The fleet-aware policy whose devices know their number and the local share.
pub const FLEET_NUMBERED_NAME: &str = "tether fleet-aware, numbered, local-share 0.1";

/// tether's default policy told the fleet (its size and the hub's rate): once
/// with random phases, once with each device's number and a local share of 0.1.
/// Their periods can be hours (a million devices at 100/s), so `max-delay-ms`
/// is raised to a day.
pub fn fleet_aware_specs() -> Vec<PolicySpec> {
    let policy = serde_json::json!({ "max-delay-ms": 86_400_000 });
    vec![
        PolicySpec::fleet_aware(FLEET_AWARE_NAME, policy.clone(), FleetSpec::default()),
        PolicySpec::fleet_aware(
            FLEET_NUMBERED_NAME,
            policy,
            FleetSpec {
                numbered: true,
                local_share: Some(0.1),
            },
        ),
    ]
}

/// What every policy did at every point of a grid.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GridReport {
    /// The points in order, each with one result per policy.
    pub points: Vec<GridPoint>,
    /// The per-second series of the point where tether's default peaked highest
    /// (for the charts; not in the JSON document).
    #[serde(skip)]
    pub worst: Option<WorstPoint>,
}

/// The point of a grid where tether's default peaked highest over the whole run
/// (the later point on a tie), with every policy's attempts per second there.
#[derive(Clone, Debug)]
pub struct WorstPoint {
    /// The point's label.
    pub label: String,
    /// Its outage.
    pub outage_ms: u64,
    /// Its hub's admissions per second.
    pub capacity_per_s: u32,
    /// Its floor, in seconds.
    pub floor_s: f64,
    /// The default's peak there, x capacity.
    pub default_peak: f64,
    /// Each policy's name and attempts in each second from the drop.
    pub series: Vec<(String, Vec<u32>)>,
}

/// One point's results.
#[derive(Clone, Debug, Serialize)]
pub struct GridPoint {
    /// The point.
    pub point: Point,
    /// One result per policy (without the per-second series, to keep the
    /// document small).
    pub results: Vec<PolicyResult>,
}

/// How tether's default compares with the best preset at one point.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// The point's label.
    pub label: String,
    /// The default's peak over the whole run, x capacity.
    pub default_peak: f64,
    /// The lowest preset peak, and whose.
    pub best_peak: (f64, String),
    /// The default's t99 x floor (infinite: not within the horizon).
    pub default_t99: f64,
    /// The lowest preset t99, and whose.
    pub best_t99: (f64, String),
}

impl Verdict {
    /// Whether the default is at least as good as the best preset on both.
    pub fn holds(&self) -> bool {
        self.default_peak <= self.best_peak.0 && self.default_t99 <= self.best_t99.0
    }
}

fn t99(r: &PolicyResult) -> f64 {
    r.t99_ratio.unwrap_or(f64::INFINITY)
}

fn peak(r: &PolicyResult) -> f64 {
    r.peak_overall_ratio.unwrap_or(f64::INFINITY)
}

fn best(results: &[&PolicyResult], key: fn(&PolicyResult) -> f64) -> (f64, String) {
    results
        .iter()
        .map(|r| (key(r), r.policy.clone()))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or((f64::INFINITY, String::new()))
}

impl GridReport {
    /// Keep `result` for `point`, without its per-second series.
    pub fn push(&mut self, point: Point, mut results: Vec<PolicyResult>) {
        let default_peak = results
            .iter()
            .find(|r| r.policy == super::DEFAULT_POLICY_NAME)
            .map(peak);
        if let Some(p) = default_peak
            && self.worst.as_ref().is_none_or(|w| p >= w.default_peak)
        {
            self.worst = Some(WorstPoint {
                label: point.label.clone(),
                outage_ms: point.outage_ms,
                capacity_per_s: point.capacity_per_s,
                floor_s: point.scenario.floor_s(),
                default_peak: p,
                series: results
                    .iter()
                    .map(|r| (r.policy.clone(), r.attempts_per_s.clone()))
                    .collect(),
            });
        }
        for r in &mut results {
            r.attempts_per_s = Vec::new();
        }
        self.points.push(GridPoint { point, results });
    }

    /// The default against the best preset, per point (points without the
    /// default or without a preset are left out).
    pub fn verdicts(&self) -> Vec<Verdict> {
        let mut out = Vec::new();
        for p in &self.points {
            let Some(default) = p
                .results
                .iter()
                .find(|r| r.policy == super::DEFAULT_POLICY_NAME)
            else {
                continue;
            };
            let fleet_aware: Vec<&str> = p
                .point
                .scenario
                .policies
                .iter()
                .flatten()
                .filter(|s| s.fleet.is_some())
                .map(|s| s.name.as_str())
                .collect();
            let peers: Vec<&PolicyResult> = p
                .results
                .iter()
                .filter(|r| {
                    r.policy != super::DEFAULT_POLICY_NAME
                        && !fleet_aware.contains(&r.policy.as_str())
                })
                .collect();
            if peers.is_empty() {
                continue;
            }
            out.push(Verdict {
                label: p.point.label.clone(),
                default_peak: peak(default),
                best_peak: best(&peers, peak),
                default_t99: t99(default),
                best_t99: best(&peers, t99),
            });
        }
        out
    }

    /// Every result as a Markdown table, a row per point and policy.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| point | policy | peak/s overall (x C) | peak/s hub up (x C) | t50 x floor | \
             t99 x floor | t100 x floor | attempts per device | refused | gave up |\n\
             | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        );
        for p in &self.points {
            for r in &p.results {
                out.push_str(&format!(
                    "| {} | {} | {} ({}) | {} ({}) | {} | {} | {} | {:.1} | {} | {} |\n",
                    p.point.label,
                    r.policy,
                    r.peak_overall_attempts_per_s,
                    times(r.peak_overall_ratio),
                    r.peak_attempts_per_s,
                    times(r.peak_ratio),
                    times(r.t50_ratio),
                    times(r.t99_ratio),
                    times(r.t100_ratio),
                    r.attempts_per_device,
                    r.refused,
                    r.gave_up,
                ));
            }
        }
        out
    }

    /// The verdicts as a Markdown table, and how many points hold.
    pub fn verdict_table(&self) -> String {
        let verdicts = self.verdicts();
        let mut out = String::from(
            "| point | default peak (x C) | best preset peak | default t99 (x floor) | \
             best preset t99 | default at least as good |\n\
             | --- | ---: | --- | ---: | --- | --- |\n",
        );
        for v in &verdicts {
            out.push_str(&format!(
                "| {} | {:.2}x | {:.2}x {} | {} | {} {} | {} |\n",
                v.label,
                v.default_peak,
                v.best_peak.0,
                v.best_peak.1,
                times(Some(v.default_t99)),
                times(Some(v.best_t99.0)),
                v.best_t99.1,
                if v.holds() { "yes" } else { "no" }
            ));
        }
        let held = verdicts.iter().filter(|v| v.holds()).count();
        out.push_str(&format!(
            "\nThe default is at least as good as the best preset on both peak and t99 at {held} of {} points.\n",
            verdicts.len()
        ));
        out
    }
}

/// How a fleet-aware policy did at one point against the fleet-aware goals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FleetVerdict {
    /// The point's label.
    pub label: String,
    /// The policy.
    pub policy: String,
    /// Peak attempts per second over the whole run, x capacity.
    pub peak: f64,
    /// t99 x floor (infinite: not within the horizon).
    pub t99: f64,
    /// The t99 goal here: 1.2x the floor without hints, 1.1x with them.
    pub t99_goal: f64,
}

/// The fleet-aware peak goal: at most this many times the capacity.
pub const FLEET_PEAK_GOAL: f64 = 1.2;

impl FleetVerdict {
    /// Whether both goals are met.
    pub fn holds(&self) -> bool {
        self.peak <= FLEET_PEAK_GOAL && self.t99 <= self.t99_goal
    }
}

impl GridReport {
    /// Every fleet-aware policy at every point against its goals.
    pub fn fleet_verdicts(&self) -> Vec<FleetVerdict> {
        let mut out = Vec::new();
        for p in &self.points {
            let specs = p.point.scenario.policies.iter().flatten();
            for spec in specs.filter(|s| s.fleet.is_some()) {
                let Some(r) = p.results.iter().find(|r| r.policy == spec.name) else {
                    continue;
                };
                out.push(FleetVerdict {
                    label: p.point.label.clone(),
                    policy: spec.name.clone(),
                    peak: peak(r),
                    t99: t99(r),
                    t99_goal: if p.point.hints == Hints::None {
                        1.2
                    } else {
                        1.1
                    },
                });
            }
        }
        out
    }

    /// The fleet-aware verdicts as a Markdown table, and how many hold; empty
    /// when the grid runs no fleet-aware policy.
    pub fn fleet_table(&self) -> String {
        let verdicts = self.fleet_verdicts();
        if verdicts.is_empty() {
            return String::new();
        }
        let mut out = String::from(
            "| point | fleet-aware policy | peak (x C, goal 1.2x) | t99 (x floor) | t99 goal | both met |\n\
             | --- | --- | ---: | ---: | ---: | --- |\n",
        );
        for v in &verdicts {
            out.push_str(&format!(
                "| {} | {} | {:.2}x | {} | {:.1}x | {} |\n",
                v.label,
                v.policy,
                v.peak,
                times(Some(v.t99)),
                v.t99_goal,
                if v.holds() { "yes" } else { "no" }
            ));
        }
        let mut names: Vec<&str> = verdicts.iter().map(|v| v.policy.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let of: Vec<&FleetVerdict> = verdicts.iter().filter(|v| v.policy == name).collect();
            let held = of.iter().filter(|v| v.holds()).count();
            let peak_held = of.iter().filter(|v| v.peak <= FLEET_PEAK_GOAL).count();
            out.push_str(&format!(
                "\n{name}: both goals met at {held} of {} points; the peak goal at {peak_held}.\n",
                of.len()
            ));
        }
        out
    }
}

fn times(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() => format!("{x:.2}x"),
        Some(_) | None => "-".into(),
    }
}

/// `n * share`, at least 1.
fn scaled(n: u32, share: f64) -> u32 {
    ((f64::from(n) * share).round() as u32).max(1)
}

fn duration(ms: u64) -> String {
    if ms >= 60_000 && ms.is_multiple_of(60_000) {
        format!("{}min", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

fn count(n: u32) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1000 && n.is_multiple_of(1000) {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_default_grid_covers_every_combination() {
        let g = Grid::default();
        let points = g.points();
        assert_eq!(points.len(), 4 * 3 * 3 * 3 * 2);
        g.validate().unwrap();
        let first = &points[0];
        assert_eq!(first.label, "hub 0s 10k@100/s none");
        assert_eq!(first.scenario.devices, 10_000);
        let local = points.iter().find(|p| p.drop == DropKind::Local).unwrap();
        assert_eq!(local.scenario.devices, 1_000, "10% of 10k");
        assert_eq!(local.fleet, 10_000);
        assert_eq!(local.scenario.outage.failure, "net:unreachable");
        // 1M devices at 100/s: a floor of 10,000 s, so the horizon is three of them.
        let slow = points
            .iter()
            .find(|p| p.fleet == 1_000_000 && p.capacity_per_s == 100 && p.outage_ms == 0)
            .unwrap();
        assert_eq!(slow.scenario.horizon_ms, 30_000_000);
    }

    #[test]
    fn hints_set_the_refusal_and_the_retry_after() {
        let g = Grid {
            hints: vec![Hints::RetryAfter],
            ..Grid::default()
        };
        let p = &g.points()[0];
        assert_eq!(p.scenario.hub.refusal, "mqtt5:0x9F");
        assert_eq!(p.scenario.hub.retry_after, super::super::RetryAfter::Queue);
    }

    #[test]
    fn bad_axes_are_named() {
        let e = Grid::from_json(r#"{"devices": []}"#).unwrap_err();
        assert!(e.to_string().contains("devices"), "{e}");
        let e = Grid::from_json(r#"{"local-share": 0}"#).unwrap_err();
        assert!(e.to_string().contains("local-share"), "{e}");
        let e = Grid::from_json(r#"{"refusal-cost": -1}"#).unwrap_err();
        assert!(e.to_string().contains("refusal-cost"), "{e}");
        let e = Grid::from_json(r#"{"fleet": 3}"#).unwrap_err();
        assert!(e.to_string().contains("fleet"), "{e}");
    }
}
