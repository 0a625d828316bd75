//! `tether schedule`: the delays a retry policy gives, attempt by attempt; a custom
//! policy runs its plugin in a virtual-time connection.

use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;
use tether_host::names::{give_up_name, plugin_fault_reason_name};
use tether_host::plugin;
use tether_host::syntax::failure_text;
use tether_host::{Decision, Failure, Runtime};
use tether_sim::preview::{self, PreviewStep, Source};

use crate::input::{bad_input, config_error, parse_failure_arg, read_json};

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
pub(crate) fn step_line(step: &PreviewStep) -> String {
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

pub fn schedule(
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
            match instance.validate_config(&text) {
                Ok(()) => {}
                Err(tether_host::Error::Config(e)) => return Err(config_error(path, &e)),
                Err(e) => return Err(e.into()),
            }
            policy.clone()
        }
        None => doc,
    };
    if is_custom(&policy) {
        return schedule_custom(&runtime, path, &mut policy, attempts, seed, failure, json);
    }
    let schedule = match instance.create_schedule(&policy.to_string(), seed) {
        Ok(schedule) => schedule,
        Err(tether_host::Error::Config(e)) => {
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
        Err(e) => return Err(e.into()),
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
    let preview = preview::preview(runtime, &config.to_string(), seed, &[failure], attempts)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::input::BadInput;
    use std::path::Path;

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
}
