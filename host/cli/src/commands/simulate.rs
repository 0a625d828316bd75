//! The `tether simulate` subcommand: read a scenario, run each policy, print the
//! table (or JSON), write the chart.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant as WallClock};

use anyhow::Context as _;

use tether_host::Runtime;
use tether_sim::fleet::charts::write_grid_charts;
use tether_sim::fleet::grid::{Grid, GridReport};
use tether_sim::fleet::report::Report;
use tether_sim::fleet::{
    DEFAULT_POLICY_NAME, DEFAULT_SCENARIO, Hints as SimHints, PolicySpec, Progress, Scenario,
    default_shards, run_policy,
};

/// Which hint the hub gives with a refusal (overrides the scenario's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Hints {
    /// MQTT 3.1.1 CONNACK 3 (server unavailable), nothing else.
    None,
    /// MQTT 5 0x9F (connection rate exceeded) with a retry-after from the hub's queue.
    RetryAfter,
    /// MQTT 5 0x9F (connection rate exceeded), no retry-after.
    ReasonCode,
}

/// `tether simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The scenario (JSON, see examples/scenarios/); the built-in default storm
    /// (examples/scenarios/storm.json) if not given.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Override the number of devices.
    #[arg(long, value_name = "N")]
    pub devices: Option<u32>,
    /// Override the hub's admissions per second.
    #[arg(long, value_name = "C")]
    pub capacity: Option<u32>,
    /// Override the outage's duration.
    #[arg(long, value_name = "MS")]
    pub outage_ms: Option<u64>,
    /// Override the hub's refusals: `none`, `retry-after` or `reason-code`.
    #[arg(long, value_enum, value_name = "HINTS")]
    pub hints: Option<Hints>,
    /// Run only these policies: a name from the scenario (`default` for tether's),
    /// or a `policy` object as JSON. Repeat for several.
    #[arg(long = "policy", value_name = "NAME|JSON")]
    pub policies: Vec<String>,
    /// Override the scenario's seed.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Component instances (one thread each); default: one per core.
    #[arg(long, value_name = "K")]
    pub shards: Option<usize>,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write a chart of attempts per second over time (SVG).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Show progress on stderr even when it is not a terminal.
    #[arg(long)]
    pub progress: bool,
    /// Run a grid of storms instead (JSON, see examples/scenarios/grid.json):
    /// every combination of its outages, fleets, capacities, hints and drops.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["scenario", "devices", "capacity", "outage_ms", "hints", "plot"])]
    pub grid: Option<PathBuf>,
    /// With --grid: multiply every fleet size (0.1: a tenth of the scale).
    #[arg(long, value_name = "F", requires = "grid")]
    pub scale: Option<f64>,
    /// With --grid: write charts into this folder (SVG): the peak and the t99 of
    /// every policy at every point, and attempts per second at the default's
    /// worst point.
    #[arg(long, value_name = "DIR", requires = "grid")]
    pub charts: Option<PathBuf>,
}

/// Apply the command line's overrides to `scenario`.
pub fn apply(args: &SimulateArgs, mut scenario: Scenario) -> anyhow::Result<Scenario> {
    if let Some(n) = args.devices {
        scenario.devices = n;
    }
    if let Some(c) = args.capacity {
        scenario.hub.capacity_per_s = Some(c);
    }
    if let Some(ms) = args.outage_ms {
        scenario.outage.duration_ms = ms;
    }
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if let Some(h) = args.hints {
        let hints = match h {
            Hints::None => SimHints::None,
            Hints::RetryAfter => SimHints::RetryAfter,
            Hints::ReasonCode => SimHints::ReasonCode,
        };
        hints.apply(&mut scenario.hub);
    }
    if !args.policies.is_empty() {
        let known = scenario.policy_specs();
        let mut chosen = Vec::new();
        for p in &args.policies {
            chosen.push(select(&known, p)?);
        }
        scenario.policies = Some(chosen);
    }
    scenario.validate()?;
    Ok(scenario)
}

fn select(known: &[PolicySpec], wanted: &str) -> anyhow::Result<PolicySpec> {
    let wanted = wanted.trim();
    if wanted.starts_with('{') {
        let policy: serde_json::Value =
            serde_json::from_str(wanted).context("--policy: not a JSON object")?;
        return Ok(PolicySpec::new(wanted, policy));
    }
    let name = if wanted == "default" {
        DEFAULT_POLICY_NAME
    } else {
        wanted
    };
    known
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
        .cloned()
        .ok_or_else(|| {
            let names: Vec<&str> = known.iter().map(|s| s.name.as_str()).collect();
            anyhow::anyhow!(
                "--policy: no policy named {wanted:?}; the scenario has: {}",
                names.join(", ")
            )
        })
}

/// Read the scenario named on the command line (or the built-in one), with the
/// overrides applied.
pub fn load(args: &SimulateArgs) -> anyhow::Result<Scenario> {
    let scenario = match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Scenario::from_json(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => Scenario::from_json(DEFAULT_SCENARIO).context("the built-in scenario")?,
    };
    apply(args, scenario)
}

/// Read the grid named on the command line, with the overrides applied.
pub fn load_grid(args: &SimulateArgs, path: &std::path::Path) -> anyhow::Result<Grid> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut grid = Grid::from_json(&text).with_context(|| format!("in {}", path.display()))?;
    if let Some(scale) = args.scale {
        grid.scale = scale;
    }
    if let Some(seed) = args.seed {
        grid.base.seed = seed;
    }
    if !args.policies.is_empty() {
        let known = grid.policy_specs();
        let mut chosen = Vec::new();
        for p in &args.policies {
            chosen.push(select(&known, p)?);
        }
        grid.policies = Some(chosen);
    }
    grid.validate()
        .with_context(|| format!("in {}", path.display()))?;
    Ok(grid)
}

/// Run every point of the grid with every policy; print the results and the
/// default's standing against the best preset at each point.
fn simulate_grid(args: &SimulateArgs, path: &std::path::Path) -> anyhow::Result<()> {
    let grid = load_grid(args, path)?;
    let runtime = Runtime::new()?;
    let shards = args.shards.unwrap_or_else(default_shards);
    let show = args.progress || std::io::stderr().is_terminal();
    let mut report = GridReport::default();
    let points = grid.points();
    let total = points.len();
    for (i, point) in points.into_iter().enumerate() {
        let mut results = Vec::new();
        for spec in point.scenario.policy_specs() {
            let name = format!(
                "{}/{total} {} {}",
                i.saturating_add(1),
                point.label,
                spec.name
            );
            let mut bar = Bar::new(&name, show);
            let result = run_policy(&runtime, &point.scenario, &spec, shards, &mut |p| {
                bar.update(p)
            })
            .with_context(|| format!("point {}, policy {:?}", point.label, spec.name))?;
            bar.done();
            results.push(result);
        }
        report.push(point, results);
    }
    if let Some(dir) = &args.charts {
        for path in write_grid_charts(&report, dir)? {
            eprintln!("wrote {}", path.display());
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
        println!();
        print!("{}", report.verdict_table());
        let fleet = report.fleet_table();
        if !fleet.is_empty() {
            println!();
            print!("{fleet}");
        }
    }
    Ok(())
}

/// Run `tether simulate`.
pub fn simulate(args: &SimulateArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.grid {
        return simulate_grid(args, path);
    }
    let scenario = load(args)?;
    let runtime = Runtime::new()?;
    let shards = args.shards.unwrap_or_else(default_shards);
    let show = args.progress || std::io::stderr().is_terminal();
    let mut report = Report::new(scenario.clone());
    for spec in scenario.policy_specs() {
        let mut bar = Bar::new(&spec.name, show);
        let result = run_policy(&runtime, &scenario, &spec, shards, &mut |p| bar.update(p))
            .with_context(|| format!("policy {:?}", spec.name))?;
        bar.done();
        report.results.push(result);
    }
    if let Some(path) = &args.plot {
        std::fs::write(path, report.svg())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        println!("{}\n", report.summary());
        print!("{}", report.table());
        println!();
        print!("{}", report.footer());
    }
    Ok(())
}

/// A one-line progress bar on stderr, redrawn at most ten times a second.
struct Bar {
    name: String,
    show: bool,
    started: WallClock,
    drawn: Option<WallClock>,
}

impl Bar {
    fn new(name: &str, show: bool) -> Self {
        Self {
            name: name.to_string(),
            show,
            started: WallClock::now(),
            drawn: None,
        }
    }

    fn update(&mut self, p: Progress) {
        if !self.show {
            return;
        }
        let now = WallClock::now();
        if self
            .drawn
            .is_some_and(|d| now.duration_since(d) < Duration::from_millis(100))
        {
            return;
        }
        self.drawn = Some(now);
        let share = f64::from(p.connected) / f64::from(p.devices.max(1));
        let width = 30_usize;
        let filled = ((share * width as f64) as usize).min(width);
        let bar: String = "#".repeat(filled) + &"-".repeat(width.saturating_sub(filled));
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{:<28} [{bar}] {:>5.1}% back  t={:>7.1}s virtual  {:>5.1}s wall ",
            self.name.chars().take(28).collect::<String>(),
            share * 100.0,
            p.virtual_ms as f64 / 1000.0,
            self.started.elapsed().as_secs_f64()
        );
        let _ = err.flush();
    }

    fn done(&self) {
        if self.show {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "\r{:<28} done in {:.1}s{:<60}",
                self.name.chars().take(28).collect::<String>(),
                self.started.elapsed().as_secs_f64(),
                ""
            );
        }
    }
}
