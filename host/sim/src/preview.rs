//! Plugin previews: what a connection with a custom policy decides after each
//! failure, run in virtual time through the same engine and sandbox a device uses,
//! with each decision marked as the plugin's or the fallback's (`tether schedule`,
//! `tether plugin check`).

use tether_host::plugin::{PluginStats, plugin_of};
use tether_host::{
    Action, Command, ConfigError, Curve, Decision, Entropy, Failure, GiveUpReason, Instance,
    PluginFaultReport, Runtime, VirtualClock,
};

/// Who made one decision of a [`preview`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The plugin answered and the engine kept the answer (raised to
    /// `min-interval-ms`, or turned into a give-up past `retry-timeout-ms`).
    Plugin,
    /// The plugin failed this decision; the fallback decided (the report says
    /// why, and whether the plugin is now quarantined).
    Fault(PluginFaultReport),
    /// The plugin is quarantined; the fallback decided without asking it.
    Quarantined,
    /// The configured built-in policy or the policy's limits decided without a
    /// plugin (no plugin configured, or `max-attempts` reached first).
    BuiltIn,
}

/// One decision of a [`preview`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewStep {
    /// The retry this decision is for (1 after the first failure).
    pub attempt: u32,
    /// The failure reported for the attempt before it.
    pub failure: Failure,
    /// What the engine decided.
    pub decision: Decision,
    /// The curve of a backoff (`plugin` when the plugin's answer was kept).
    pub curve: Option<Curve>,
    /// Who decided.
    pub source: Source,
    /// The fuel the plugin used for this decision, when it was asked.
    pub fuel: Option<u64>,
}

/// A previewed schedule: what a connection with this configuration decides
/// after each failure, and why the preview ended early, if it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    /// One step per failed attempt, in order.
    pub steps: Vec<PreviewStep>,
    /// Set when the connection left the backoff loop other than by giving up
    /// (it renews its credential or goes back to provisioning).
    pub left_loop: Option<String>,
    /// The plugin's costs over the preview (`None` without a plugin).
    pub stats: Option<PluginStats>,
}

/// Preview the schedule of a connection configured by `config` (JSON): the
/// connection runs in virtual time on a fresh instance of `runtime` (entropy
/// `seed`), every attempt fails at once with the next of `failures` (cycled),
/// and each decision is recorded with who made it, until `attempts` decisions or
/// a give-up.
///
/// Every decision, fallback and fault is the engine's, through the same code a
/// device runs (the `retry-schedule` resource refuses `custom` policies: a bare
/// schedule has no channel for plugin faults). A plugin is loaded and sandboxed
/// under the runtime's [`PluginLimits`](tether_host::plugin::PluginLimits) as for any connection.
///
/// # Errors
/// The outer error: the plugin could not be loaded, or the host failed. The
/// inner one: the engine refused the configuration (naming the field).
pub fn preview(
    runtime: &Runtime,
    config: &str,
    seed: u64,
    failures: &[Failure],
    attempts: u32,
) -> anyhow::Result<Result<Preview, ConfigError>> {
    anyhow::ensure!(!failures.is_empty(), "a preview needs at least one failure");
    let clock = VirtualClock::new();
    let mut instance = runtime.instantiate(clock.clone(), Entropy::fixed(seed))?;
    let conn = match instance.create_connection(config) {
        Ok(conn) => conn,
        Err(tether_host::Error::Config(e)) => return Ok(Err(e)),
        Err(e) => return Err(e.into()),
    };
    let plugin = plugin_of(config);
    let stats = |instance: &Instance| {
        plugin
            .as_deref()
            .and_then(|name| instance.plugin_stats(name))
    };
    let mut steps = Vec::new();
    let mut left_loop = None;
    let mut quarantined = false;
    let mut commands = instance.start(&conn)?.commands;
    for failure in failures.iter().cycle() {
        if steps.len() >= usize::try_from(attempts).unwrap_or(usize::MAX) {
            break;
        }
        let link = commands.iter().find_map(|c| match c {
            Command::Open { link, .. } => Some(*link),
            _ => None,
        });
        let Some(link) = link else {
            left_loop = Some(left_loop_text(&commands));
            break;
        };
        let before = stats(&instance).map_or(0, |s| s.decisions);
        let step = instance.on_failed(&conn, link, failure)?;
        let after = stats(&instance);
        let asked = after.is_some_and(|s| s.decisions > before);
        let mut fault = None;
        let mut decided = None;
        let mut wake = None;
        for command in &step.commands {
            match command {
                Command::PluginFault(f) => fault = Some(f.clone()),
                Command::Decided(event) => decided = Some(event.action.clone()),
                Command::WakeAt(at) => wake = Some(*at),
                _ => {}
            }
        }
        let attempt = u32::try_from(steps.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let (decision, curve) = match decided {
            Some(Action::Backoff(plan)) => (Decision::RetryAfter(plan.delay_ms), Some(plan.curve)),
            Some(Action::GiveUp(why)) => (Decision::GiveUp(why), None),
            _ => {
                left_loop = Some(left_loop_text(&step.commands));
                break;
            }
        };
        let source = match &fault {
            Some(f) => Source::Fault(f.clone()),
            None if curve == Some(Curve::Plugin)
                || decision == Decision::GiveUp(GiveUpReason::Plugin) =>
            {
                Source::Plugin
            }
            // A plugin's delay that passes retry-timeout-ms ends as a give-up.
            None if asked => Source::Plugin,
            None if quarantined => Source::Quarantined,
            None => Source::BuiltIn,
        };
        quarantined |= fault.as_ref().is_some_and(|f| f.quarantined);
        steps.push(PreviewStep {
            attempt,
            failure: failure.clone(),
            decision,
            curve,
            source,
            fuel: asked.then(|| after.map_or(0, |s| s.last_fuel)),
        });
        let Some(at) = wake.filter(|_| matches!(decision, Decision::RetryAfter(_))) else {
            break;
        };
        clock.set_ns(at);
        commands = instance.on_wake(&conn)?.commands;
    }
    let stats = stats(&instance);
    instance.drop_connection(conn)?;
    Ok(Ok(Preview {
        steps,
        left_loop,
        stats,
    }))
}

/// What the connection did instead of another attempt.
fn left_loop_text(commands: &[Command]) -> String {
    let done: Vec<String> = commands
        .iter()
        .filter(|c| !matches!(c, Command::Status(_) | Command::WakeAt(_)))
        .map(tether_host::names::command_text)
        .collect();
    if done.is_empty() {
        "the connection made no further attempt".into()
    } else {
        format!("the connection left the backoff loop: {}", done.join("; "))
    }
}
