//! `tether`: the command line of the tether host.
//!
//! Every answer it prints comes from the tether component; this program only
//! parses the request, asks the component, and formats the answer.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use serde::Serialize;
use serde_json::Value;
use tether_host::names::{
    give_up_name, level_name, plugin_fault_reason_name, reason_name, verdict_name,
};
use tether_host::plugin::{self, PreviewStep, Source};
use tether_host::syntax::{failure_text, parse_failure};
use tether_host::{ConfigError, Decision, Failure, Instance, Runtime, Verdict, demo};

mod run;

#[derive(Debug, Parser)]
#[command(
    name = "tether",
    version,
    about = "Connection resilience for IoT devices: tether's decisions, from the command line.",
    long_about = "Connection resilience for IoT devices: tether's decisions, from the command line.\n\n\
                  Every answer comes from the tether WebAssembly component, the same one \
                  that device apps in Rust, C, Python and Node load."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Watch one device ride out an outage, in virtual time (instant and
    /// deterministic).
    Demo {
        /// Seed for the jitter: the same seed gives the same run.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Show every step (messages, acknowledgements, timers), not just the
        /// failures, decisions and status changes.
        #[arg(long)]
        verbose: bool,
        /// Run a real device against the MQTT broker at HOST:PORT (anonymous,
        /// plain MQTT 5) instead of the scripted outage, in real time.
        #[arg(long, value_name = "HOST:PORT")]
        broker: Option<String>,
        /// With --broker: how long to run, in seconds.
        #[arg(long, value_name = "S", default_value_t = 60, requires = "broker")]
        seconds: u64,
    },
    /// Run a real device (MQTT broker, and provisioning service when configured)
    /// until Ctrl-C or SIGTERM, printing status changes as they happen.
    Run {
        /// The device file: `connection` (the component's configuration), `mqtt`,
        /// `provisioning`, `credentials`, `publish`.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Print every input, command and publish, not just status changes.
        #[arg(long)]
        verbose: bool,
    },
    /// A provisioning service emulator shaped like Azure DPS (register, 202 and
    /// polling, assignment with a credential), and a token service; optionally
    /// keeps a mosquitto password file in step with the tokens it hands out.
    DpsEmulator(run::EmulatorArgs),
    /// Explain how tether classifies a failure: level, verdict, reason and rule.
    #[command(after_help = FAILURE_SYNTAX)]
    Classify {
        /// The failure, for example `mqtt5:0x87`, `http:403:403002` or `net:dns`.
        #[arg(required = true)]
        failures: Vec<String>,
        /// The server's retry-after hint, in milliseconds.
        #[arg(long, value_name = "N")]
        retry_after_ms: Option<u64>,
        /// The server's redirect hint (MQTT 5 server reference).
        #[arg(long, value_name = "S")]
        server_reference: Option<String>,
    },
    /// Print the delays a retry policy gives, attempt by attempt. A `custom`
    /// policy runs its plugin in a virtual-time connection, and each line says
    /// whether the plugin or the fallback decided (and why).
    Schedule {
        /// A connection configuration (its `policy` object is used) or a bare
        /// policy object, as JSON. A relative `plugin` path is taken relative to
        /// this file's folder.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// How many failed attempts to schedule.
        #[arg(long, value_name = "N", default_value_t = 10)]
        attempts: u32,
        /// Seed for the jitter.
        #[arg(long, value_name = "S", default_value_t = 0)]
        seed: u64,
        /// The failure behind every attempt (selects the normal, throttled or
        /// server-hint curve); a plain recoverable failure if not given
        /// (`net:refused` for a custom policy).
        #[arg(long, value_name = "FAILURE")]
        failure: Option<String>,
        /// Print a JSON object instead of one line per attempt.
        #[arg(long)]
        json: bool,
    },
    /// Deterministic simulation: run seeded random worlds (faults, configurations,
    /// clock jumps) through the component and check the flow's invariants at every
    /// step. Prints seeds per second, and on a violation the seed and how to replay it.
    Dst {
        /// How many seeds to run.
        #[arg(long, value_name = "N", default_value_t = 1000)]
        seeds: u64,
        /// The first seed.
        #[arg(long, value_name = "S", default_value_t = 0)]
        start: u64,
        /// Print each seed's configuration and full transcript.
        #[arg(long)]
        verbose: bool,
        /// Worker threads (default: one per core).
        #[arg(long, value_name = "J")]
        jobs: Option<usize>,
    },
    /// A fleet storm in virtual time: N devices lose their links at once and a
    /// rate-limited hub comes back; compare retry policies (peak attempts per
    /// second, time until 50/99/100% are back, reprovisions).
    Simulate(tether_host::fleet::cli::SimulateArgs),
    /// Retry-policy plugins.
    #[command(subcommand)]
    Plugin(PluginCmd),
}

#[derive(Debug, Subcommand)]
enum PluginCmd {
    /// Load a plugin in the sandbox, list its imports (any import is refused)
    /// and exports, and run sample decisions through the engine: each answer,
    /// the fuel it used, and the peak memory against the limits. Exits 1 when
    /// the plugin is refused or a sample decision fell back.
    Check {
        /// The plugin component (`.wasm`).
        file: PathBuf,
        /// The policy's `params` object, as JSON.
        #[arg(long, value_name = "JSON", default_value = "{}")]
        params: String,
        /// Seed for the connection's generator (the plugin's `random`).
        #[arg(long, value_name = "S", default_value_t = 0)]
        seed: u64,
    },
}

const FAILURE_SYNTAX: &str = "\
Failure syntax:
  net:dns net:refused net:reset net:unreachable net:timeout net:tls net:closed
  mqtt311:5                 MQTT 3.1.1 CONNACK return code
  mqtt5:0x87                MQTT 5 reason code (hex or decimal)
  amqp:amqp:unauthorized-access
                            AMQP condition
  http:403  http:403:403002 HTTP status, optionally with the IoT-hub error code
  hub:401003                IoT-hub six-digit error code
  keep-alive-lost  session-expired  link-detached
  app:unauthorized app:credential-expired app:forbidden app:device-not-found
  app:device-disabled app:quota-exceeded app:throttled app:bad-endpoint";

/// Bad input from the user: exit code 2, like a usage error.
#[derive(Debug)]
struct BadInput(String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

fn bad_input(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(message.into()))
}

fn config_error(path: &Path, e: &ConfigError) -> anyhow::Error {
    bad_input(format!(
        "invalid configuration in {}: {}: {}",
        path.display(),
        e.field,
        e.message
    ))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Demo {
            seed,
            verbose: _,
            broker: Some(broker),
            seconds,
        } => run::demo_broker(&broker, seconds, seed),
        Cmd::Demo {
            seed,
            verbose,
            broker: None,
            ..
        } => run_demo(seed, verbose),
        Cmd::Run { config, verbose } => run::run(&config, verbose),
        Cmd::DpsEmulator(args) => run::dps_emulator(&args),
        Cmd::Classify {
            failures,
            retry_after_ms,
            server_reference,
        } => classify(&failures, retry_after_ms, server_reference.as_deref()),
        Cmd::Schedule {
            config,
            attempts,
            seed,
            failure,
            json,
        } => schedule(&config, attempts, seed, failure.as_deref(), json),
        Cmd::Dst {
            seeds,
            start,
            verbose,
            jobs,
        } => Runtime::new().and_then(|r| tether_host::dst::cli(&r, seeds, start, verbose, jobs)),
        Cmd::Simulate(args) => tether_host::fleet::cli::simulate(&args),
        Cmd::Plugin(PluginCmd::Check { file, params, seed }) => plugin_check(&file, &params, seed),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.chain().any(|cause| cause.is::<BadInput>()) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn instance() -> anyhow::Result<Instance> {
    Runtime::new()?.instantiate_real()
}

fn run_demo(seed: u64, verbose: bool) -> anyhow::Result<()> {
    let runtime = Runtime::new()?;
    let mut sim = demo::build(&runtime, seed)?;
    sim.run_until(demo::STOP_MS)?;
    print!("{}", demo::report(&sim, seed, verbose));
    Ok(())
}

fn parse_failure_arg(
    text: &str,
    retry_after_ms: Option<u64>,
    server_reference: Option<&str>,
) -> anyhow::Result<Failure> {
    let mut failure = parse_failure(text).map_err(|e| bad_input(e.to_string()))?;
    failure.retry_after_ms = retry_after_ms;
    failure.server_reference = server_reference.map(str::to_string);
    Ok(failure)
}

/// What a verdict makes tether do, from the WIT documentation of `verdict`.
fn verdict_meaning(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Retry => "wait per the policy and reconnect",
        Verdict::RetryThrottled => "wait on the policy's slower throttled curve, then reconnect",
        Verdict::RenewCredential => "get a fresh credential, then reconnect",
        Verdict::Reprovision => "go back to the provisioning service (without one: give up)",
        Verdict::Fatal => "stop and tell the application",
    }
}

fn classify(
    failures: &[String],
    retry_after_ms: Option<u64>,
    server_reference: Option<&str>,
) -> anyhow::Result<()> {
    // Parse everything first, so bad input is reported before any work is done.
    let parsed: Vec<Failure> = failures
        .iter()
        .map(|text| parse_failure_arg(text, retry_after_ms, server_reference))
        .collect::<anyhow::Result<_>>()?;
    let mut instance = instance()?;
    let version = instance.table_version()?;
    for (i, failure) in parsed.iter().enumerate() {
        let c = instance.classify(failure)?;
        if i > 0 {
            println!();
        }
        println!("failure  {}", failure_text(failure));
        println!("level    {}", level_name(c.level));
        println!(
            "verdict  {} ({})",
            verdict_name(c.verdict),
            verdict_meaning(c.verdict)
        );
        println!("reason   {}", reason_name(c.reason));
        println!("rule     {} (table v{version})", c.rule);
    }
    Ok(())
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| bad_input(format!("{} is not valid JSON: {e}", path.display())))
}

/// `tether schedule --json`, fields in this order.
#[derive(Debug, Serialize)]
struct ScheduleReport<'a> {
    policy: &'a Value,
    seed: u64,
    delays_ms: &'a [u64],
    gave_up: Option<&'static str>,
    /// Custom policies: who made each decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    steps: Option<Vec<StepReport>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    left_loop: Option<String>,
}

/// One decision of a custom policy's schedule, in `--json`.
#[derive(Debug, Serialize)]
struct StepReport {
    attempt: u32,
    failure: String,
    delay_ms: Option<u64>,
    give_up: Option<&'static str>,
    /// `plugin`, `fallback` (the plugin failed), `quarantined` or `built-in`.
    source: &'static str,
    fault: Option<FaultReport>,
    fuel: Option<u64>,
}

#[derive(Debug, Serialize)]
struct FaultReport {
    reason: &'static str,
    detail: String,
    consecutive: u32,
    quarantined: bool,
}

fn step_report(step: &PreviewStep) -> StepReport {
    let (delay_ms, give_up) = match step.decision {
        Decision::RetryAfter(ms) => (Some(ms), None),
        Decision::GiveUp(why) => (None, Some(give_up_name(why))),
    };
    let (source, fault) = match &step.source {
        Source::Plugin => ("plugin", None),
        Source::Fault(f) => (
            "fallback",
            Some(FaultReport {
                reason: plugin_fault_reason_name(f.reason),
                detail: f.detail.clone(),
                consecutive: f.consecutive,
                quarantined: f.quarantined,
            }),
        ),
        Source::Quarantined => ("quarantined", None),
        Source::BuiltIn => ("built-in", None),
    };
    StepReport {
        attempt: step.attempt,
        failure: failure_text(&step.failure),
        delay_ms,
        give_up,
        source,
        fault,
        fuel: step.fuel,
    }
}

/// One line of a custom policy's schedule.
fn step_line(step: &PreviewStep) -> String {
    let decided = match step.decision {
        Decision::RetryAfter(ms) => format!("{ms} ms"),
        Decision::GiveUp(why) => format!("give up ({})", give_up_name(why)),
    };
    let source = match &step.source {
        Source::Plugin => "plugin".to_string(),
        Source::Fault(f) => format!(
            "fallback: plugin {}{}: {}",
            plugin_fault_reason_name(f.reason),
            if f.quarantined {
                ", now quarantined"
            } else {
                ""
            },
            f.detail
        ),
        Source::Quarantined => "fallback: plugin quarantined".into(),
        Source::BuiltIn => "built-in (limits)".into(),
    };
    let fuel = step
        .fuel
        .map(|f| format!(" [fuel {f}]"))
        .unwrap_or_default();
    format!("attempt {}: {decided}  {source}{fuel}", step.attempt)
}

fn is_custom(policy: &Value) -> bool {
    policy.get("kind").and_then(Value::as_str) == Some("custom")
}

fn schedule(
    path: &Path,
    attempts: u32,
    seed: u64,
    failure: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let failure = failure
        .map(|text| parse_failure_arg(text, None, None))
        .transpose()?;
    let doc = read_json(path)?;
    let runtime = Runtime::new()?;
    let mut instance = runtime.instantiate_real()?;
    // A whole configuration is validated as such (its errors name the field's full
    // path); its policy object is what the schedule takes.
    let mut policy = match doc.get("policy") {
        Some(policy) => {
            let text = doc.to_string();
            if let Err(e) = instance.validate_config(&text)? {
                return Err(config_error(path, &e));
            }
            policy.clone()
        }
        None => doc,
    };
    if is_custom(&policy) {
        return schedule_custom(&runtime, path, &mut policy, attempts, seed, failure, json);
    }
    let schedule = match instance.create_schedule(&policy.to_string(), seed)? {
        Ok(schedule) => schedule,
        Err(e) => {
            let looks_like_config = ["hub", "provisioning", "device-id"]
                .iter()
                .any(|key| policy.get(key).is_some());
            let mut err = format!(
                "invalid policy in {}: {}: {}",
                path.display(),
                e.field,
                e.message
            );
            if looks_like_config {
                err.push_str(
                    "\n(the file has no \"policy\" object, so it was read as a bare policy)",
                );
            }
            return Err(bad_input(err));
        }
    };
    let mut delays = Vec::new();
    let mut gave_up = None;
    for _ in 0..attempts {
        match instance.schedule_next(&schedule, failure.as_ref(), None)? {
            Decision::RetryAfter(ms) => delays.push(ms),
            Decision::GiveUp(why) => {
                gave_up = Some(give_up_name(why));
                break;
            }
        }
    }
    instance.drop_schedule(schedule)?;
    if json {
        let report = ScheduleReport {
            policy: &policy,
            seed,
            delays_ms: &delays,
            gave_up,
            steps: None,
            left_loop: None,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for (i, ms) in delays.iter().enumerate() {
            println!("attempt {}: {ms} ms", i.saturating_add(1));
        }
        if let Some(why) = gave_up {
            println!(
                "attempt {}: give up ({why})",
                delays.len().saturating_add(1)
            );
        }
    }
    Ok(())
}

/// `tether schedule` for a `custom` policy: the engine decides in a
/// virtual-time connection (the bare `retry-schedule` refuses plugins), and
/// every line says who decided.
fn schedule_custom(
    runtime: &Runtime,
    path: &Path,
    policy: &mut Value,
    attempts: u32,
    seed: u64,
    failure: Option<Failure>,
    json: bool,
) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        plugin::resolve_in_policy(policy, dir);
    }
    let failure = match failure {
        Some(f) => f,
        None => parse_failure_arg("net:refused", None, None)?,
    };
    let config = serde_json::json!({"hub": "preview.invalid", "seed": seed, "policy": policy});
    let preview = plugin::preview(runtime, &config.to_string(), seed, &[failure], attempts)
        .with_context(|| format!("the policy in {}", path.display()))?
        .map_err(|e| config_error(path, &e))?;
    if json {
        let delays: Vec<u64> = preview
            .steps
            .iter()
            .filter_map(|s| match s.decision {
                Decision::RetryAfter(ms) => Some(ms),
                Decision::GiveUp(_) => None,
            })
            .collect();
        let gave_up = preview.steps.iter().find_map(|s| match s.decision {
            Decision::GiveUp(why) => Some(give_up_name(why)),
            Decision::RetryAfter(_) => None,
        });
        let report = ScheduleReport {
            policy,
            seed,
            delays_ms: &delays,
            gave_up,
            steps: Some(preview.steps.iter().map(step_report).collect()),
            left_loop: preview.left_loop,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for step in &preview.steps {
            println!("{}", step_line(step));
        }
        if let Some(why) = &preview.left_loop {
            println!("({why})");
        }
    }
    Ok(())
}

/// The failures of `tether plugin check`'s sample decisions, in order: plain
/// failures, throttling with a retry-after, a server that names another one.
const CHECK_SAMPLES: [(&str, Option<u64>, Option<&str>); 8] = [
    ("net:refused", None, None),
    ("net:timeout", None, None),
    ("net:refused", None, None),
    ("http:429", Some(30_000), None),
    ("mqtt5:0x89", None, None),
    ("mqtt5:0x9C", None, Some("hub-b.example")),
    ("net:unreachable", None, None),
    ("net:refused", None, None),
];

/// `tether plugin check FILE`.
fn plugin_check(file: &Path, params: &str, seed: u64) -> anyhow::Result<()> {
    let params: Value = serde_json::from_str(params)
        .map_err(|e| bad_input(format!("--params is not valid JSON: {e}")))?;
    if !params.is_object() {
        return Err(bad_input("--params must be a JSON object"));
    }
    if !file.is_file() {
        return Err(bad_input(format!("{} is not a file", file.display())));
    }
    let runtime = Runtime::new()?;
    let limits = runtime.plugin_limits();
    let seen = plugin::inspect(file, &limits)?;
    println!("plugin   {} ({} bytes)", file.display(), seen.bytes);
    println!(
        "imports  {}",
        if seen.imports.is_empty() {
            "none".to_string()
        } else {
            seen.imports.join(", ")
        }
    );
    println!("exports  {}", seen.exports.join(", "));
    println!(
        "limits   fuel {} a decision, memory {} bytes, tables {} elements, wasm stack {} bytes, deadline {} ms",
        limits.fuel_per_decision,
        limits.memory_bytes,
        limits.table_elements,
        limits.wasm_stack_bytes,
        limits
            .tick
            .as_millis()
            .saturating_mul(u128::from(limits.deadline_ticks))
    );
    anyhow::ensure!(
        seen.imports.is_empty(),
        "refused: the plugin imports {}; a retry-policy plugin must import nothing",
        seen.imports.join(", ")
    );
    let failures = CHECK_SAMPLES
        .iter()
        .map(|(text, retry_after, server)| parse_failure_arg(text, *retry_after, *server))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let path = std::path::absolute(file)?;
    // Quarantine as late as the engine allows, so every sample asks the plugin.
    let config = serde_json::json!({
        "hub": "check.invalid",
        "seed": seed,
        "policy": {"kind": "custom", "plugin": path, "params": params, "quarantine-after": 1000},
    });
    let preview = plugin::preview(
        &runtime,
        &config.to_string(),
        seed,
        &failures,
        u32::try_from(failures.len()).unwrap_or(u32::MAX),
    )?
    .map_err(|e| bad_input(format!("--params: {}: {}", e.field, e.message)))?;
    println!();
    for step in &preview.steps {
        println!("{}  after {}", step_line(step), failure_text(&step.failure));
    }
    if let Some(why) = &preview.left_loop {
        println!("({why})");
    }
    let stats = preview.stats.unwrap_or_default();
    println!();
    println!(
        "fuel     at most {} of {} a decision (answered decisions)",
        stats.max_fuel, limits.fuel_per_decision
    );
    println!(
        "memory   peak {} of {} bytes",
        stats.peak_memory_bytes, limits.memory_bytes
    );
    let fell_back = preview
        .steps
        .iter()
        .filter(|s| matches!(s.source, Source::Fault(_)))
        .count();
    anyhow::ensure!(
        fell_back == 0,
        "{fell_back} of {} sample decisions fell back to the built-in policy",
        preview.steps.len()
    );
    println!(
        "ok       {} sample decisions answered by the plugin",
        preview.steps.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }

    #[test]
    fn bad_failures_are_bad_input_with_a_clear_message() {
        let e = parse_failure_arg("mqtt5:0x1FF", None, None).unwrap_err();
        assert!(e.is::<BadInput>());
        assert!(
            e.to_string().contains("MQTT 5 reason code \"0x1FF\""),
            "{e}"
        );
        let e = parse_failure_arg("wifi:down", None, None).unwrap_err();
        assert!(
            e.to_string().contains("unknown failure family \"wifi\""),
            "{e}"
        );
    }

    #[test]
    fn plugin_check_refuses_imports_and_fallbacks_and_passes_a_good_plugin() {
        use tether_host::plugin::examples;
        let e = plugin_check(Path::new(examples::HOSTILE_WASI), "{}", 0).unwrap_err();
        assert!(
            format!("{e:#}").contains("imports wasi:random/random@0.2.12"),
            "{e:#}"
        );
        let e = plugin_check(Path::new(examples::HOSTILE), r#"{"mode": "loop"}"#, 0).unwrap_err();
        assert!(
            format!("{e:#}").contains("8 of 8 sample decisions fell back"),
            "{e:#}"
        );
        plugin_check(Path::new(examples::CIRCUIT_BREAKER), "{}", 0).unwrap();
        let e = plugin_check(Path::new(examples::CIRCUIT_BREAKER), "[1]", 0).unwrap_err();
        assert!(e.is::<BadInput>(), "{e:#}");
        let e = plugin_check(Path::new("/nonexistent/p.wasm"), "{}", 0).unwrap_err();
        assert!(e.is::<BadInput>(), "{e:#}");
    }

    #[test]
    fn schedule_previews_a_custom_policy_with_a_path_relative_to_the_file() {
        use tether_host::plugin::examples;
        let plugin = Path::new(examples::SATELLITE_WINDOW);
        let dir = plugin.parent().unwrap();
        let file = dir.join("tether-cli-test-policy.json");
        let name = plugin.file_name().unwrap().to_str().unwrap();
        std::fs::write(
            &file,
            format!(r#"{{"kind": "custom", "plugin": "{name}", "params": {{"period-ms": 600000, "open-ms": 120000}}}}"#),
        )
        .unwrap();
        let result = schedule(&file, 5, 0, None, false);
        let bad = schedule(&file, 5, 0, Some("wifi:down"), false);
        std::fs::remove_file(&file).unwrap();
        result.unwrap();
        assert!(bad.unwrap_err().is::<BadInput>());
    }

    #[test]
    fn hints_are_attached() {
        let f = parse_failure_arg("http:429", Some(5000), Some("hub-b")).unwrap();
        assert_eq!(f.retry_after_ms, Some(5000));
        assert_eq!(f.server_reference.as_deref(), Some("hub-b"));
    }
}
