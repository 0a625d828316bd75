//! `tether classify`: how the component classifies failures.

use tether_host::names::{level_name, reason_name, verdict_name};
use tether_host::syntax::failure_text;
use tether_host::{Failure, Instance, Runtime, Verdict};

use crate::input::parse_failure_arg;

fn instance() -> anyhow::Result<Instance> {
    Ok(Runtime::new()?.instantiate_real()?)
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

pub fn classify(
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
