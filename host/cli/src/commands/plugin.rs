//! `tether plugin check`: load a plugin in the sandbox and run sample decisions.

use std::path::Path;

use serde_json::Value;
use tether_host::Runtime;
use tether_host::plugin;
use tether_host::syntax::failure_text;
use tether_sim::preview::{self, Source};

use super::schedule::step_line;
use crate::input::{bad_input, parse_failure_arg};

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
pub fn check(file: &Path, params: &str, seed: u64) -> anyhow::Result<()> {
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
    let preview = preview::preview(
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
    use crate::input::BadInput;
    use std::path::Path;

    #[test]
    fn plugin_check_refuses_imports_and_fallbacks_and_passes_a_good_plugin() {
        use tether_host::plugin::examples;
        let e = check(Path::new(examples::HOSTILE_WASI), "{}", 0).unwrap_err();
        assert!(
            format!("{e:#}").contains("imports wasi:random/random@0.2.12"),
            "{e:#}"
        );
        let e = check(Path::new(examples::HOSTILE), r#"{"mode": "loop"}"#, 0).unwrap_err();
        assert!(
            format!("{e:#}").contains("8 of 8 sample decisions fell back"),
            "{e:#}"
        );
        check(Path::new(examples::CIRCUIT_BREAKER), "{}", 0).unwrap();
        let e = check(Path::new(examples::CIRCUIT_BREAKER), "[1]", 0).unwrap_err();
        assert!(e.is::<BadInput>(), "{e:#}");
        let e = check(Path::new("/nonexistent/p.wasm"), "{}", 0).unwrap_err();
        assert!(e.is::<BadInput>(), "{e:#}");
    }
}
