//! Retry policies: how long to wait after each failed attempt, and when to stop.
//!
//! A [`PolicyConfig`] is the validated `policy` object of the configuration
//! ([`parse_policy`] reads it, naming the field in every error). A [`Schedule`] is
//! one policy with its state: the attempt counter of the current outage, the jitter
//! generator and the memory of the decorrelated-jitter curve.
//!
//! Every delay is computed in saturating integer milliseconds. Floating point
//! appears only while parsing a `multiplier`, which is stored as an integer
//! permille; exponentiation is fixed-point by squaring, so attempt `u32::MAX` costs
//! 32 multiplications and can neither overflow nor exceed a cap.
//!
//! Call order: [`Schedule::next`] after every failed attempt;
//! [`Schedule::connected`] when an attempt succeeds; [`Schedule::dropped`] when that
//! link is lost (the counters start over only if it held for `reset-after-ms`);
//! [`Schedule::reset`] to start over unconditionally.
#![forbid(unsafe_code)]

// One file per concern; the public items are re-exported here, so their paths
// stay `tether_core::policy::...`.
mod docs;
mod formula;
mod maths;
mod parse;
mod presets;
mod schedule;
#[cfg(test)]
mod tests;

pub use docs::describe_formulas_markdown;
pub use formula::{Exponential, Formula, Jitter};
pub use parse::{kind_names, parse_policy};
pub use presets::{NodeCurve, preset_names};
pub use schedule::{CurveSel, Schedule};

use alloc::string::String;

use crate::phase::CurveCache;
use crate::types::Millis;
use presets::{AWS_CRT_MAX_MS, AZURE_DOTNET_MIN_INTERVAL_MS, GRPC_MAX_DELAY_MS};

/// The largest duration any field accepts: 10^12 ms, about 31.7 years. Keeping
/// every configured value this small leaves the saturating arithmetic plenty of room.
pub const MAX_MS: Millis = Millis::from_ms(1_000_000_000_000);

// The limits' defaults for the plain kinds; `Limits::default_for` lists the
// presets that differ.
const DEFAULT_MAX_DELAY_MS: Millis = Millis::from_ms(3_600_000);
const DEFAULT_MIN_INTERVAL_MS: Millis = Millis::from_ms(0);
const DEFAULT_RESET_AFTER_MS: Millis = Millis::from_ms(30_000);
const DEFAULT_RETRY_AFTER_MIN_MS: Millis = Millis::from_ms(1_000);
const DEFAULT_RETRY_AFTER_MAX_MS: Millis = Millis::from_ms(600_000);

/// What a policy does after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Never retry.
    NoRetry,
    /// Retry after the delays of this curve.
    Retry(Formula),
}

impl Kind {
    /// The `kind` value that configures it.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::NoRetry => "no-retry",
            Kind::Retry(f) => f.name(),
        }
    }
}

/// The limits that apply on top of any curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Give up once this many retries have been made (`None`: never).
    pub max_attempts: Option<u32>,
    /// Give up rather than wait past this much time since the first failure of the
    /// outage (`None`: never).
    pub retry_timeout_ms: Option<Millis>,
    /// No delay is ever longer, whatever its source.
    pub max_delay_ms: Millis,
    /// At least this long between the starts of two attempts, counting the time
    /// the failed attempt itself took.
    pub min_interval_ms: Millis,
    /// A link must hold this long before a drop starts the backoff over.
    pub reset_after_ms: Millis,
    /// A server's retry-after is raised to at least this.
    pub retry_after_min_ms: Millis,
    /// A server's retry-after is lowered to at most this.
    pub retry_after_max_ms: Millis,
}

impl Limits {
    /// The defaults for a plain kind.
    pub const DEFAULT: Self = Self {
        max_attempts: None,
        retry_timeout_ms: None,
        max_delay_ms: DEFAULT_MAX_DELAY_MS,
        min_interval_ms: DEFAULT_MIN_INTERVAL_MS,
        reset_after_ms: DEFAULT_RESET_AFTER_MS,
        retry_after_min_ms: DEFAULT_RETRY_AFTER_MIN_MS,
        retry_after_max_ms: DEFAULT_RETRY_AFTER_MAX_MS,
    };

    /// The defaults for `kind`: those of a plain kind, except where a preset's
    /// original has its own.
    fn default_for(kind: &Kind) -> Self {
        match kind {
            // The .NET retry loop waits at least 1 s between attempt starts.
            Kind::Retry(Formula::AzureDotnet) => Self {
                min_interval_ms: AZURE_DOTNET_MIN_INTERVAL_MS,
                ..Self::DEFAULT
            },
            // gRPC and AWS CRT cap every reconnect delay, not just their curve. The
            // Azure SDKs cap their formulas only (Node's throttled curve goes past
            // its normal cap), so their presets keep the plain hard cap and the
            // formulas bound themselves.
            Kind::Retry(Formula::Grpc) => Self {
                max_delay_ms: GRPC_MAX_DELAY_MS,
                ..Self::DEFAULT
            },
            Kind::Retry(Formula::AwsCrt) => Self {
                max_delay_ms: AWS_CRT_MAX_MS,
                ..Self::DEFAULT
            },
            _ => Self::DEFAULT,
        }
    }
}

/// A validated retry policy: a kind, a throttled curve and limits, and for kind
/// `custom` the plugin that decides first (the kind and curves are then those of
/// its built-in fallback).
///
/// Built by [`parse_policy`] or [`PolicyConfig::default`]; there is no other way to
/// make one, so every `PolicyConfig` has passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyConfig {
    kind: Kind,
    throttled: Formula,
    limits: Limits,
    plugin: Option<PluginSpec>,
    /// The phase constants of the normal and the throttled curve.
    curves: [CurveCache; 2],
}

/// The plugin of a `custom` policy.
///
/// # Defaults
/// `params` `{}`; `quarantine-after` 3 faults in a row; `fallback` the default
/// policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginSpec {
    /// The plugin as the configuration names it (a path the host resolves).
    pub plugin: String,
    /// The `params` object as compact JSON text, handed to every decision.
    pub params: String,
    /// Faults in a row after which the plugin is quarantined for the connection.
    pub quarantine_after: u32,
}

/// The longest `plugin` name accepted, in bytes.
pub const PLUGIN_NAME_MAX: usize = 1_024;
/// The longest `params` accepted, as compact JSON text, in bytes: the text is
/// copied into the plugin on every decision, so it stays small.
pub const PLUGIN_PARAMS_MAX: usize = 4_096;

impl Default for PolicyConfig {
    /// tether's default policy, the same as an empty `policy` object.
    ///
    /// # Defaults
    ///
    /// - normal curve: exponential from 1 s, x3, flat at one retry per 55 s, phase
    ///   jitter ([`Exponential::DEFAULT`]);
    /// - throttled curve: the same from 5 s ([`Exponential::THROTTLED_DEFAULT`]);
    /// - no attempt or time limit; delays capped at 1 h; no minimum interval;
    /// - backoff starts over after a link held 30 s;
    /// - server retry-after honoured within [1 s, 10 min].
    fn default() -> Self {
        Self {
            kind: Kind::Retry(Formula::Exponential(Exponential::DEFAULT)),
            throttled: Formula::Exponential(Exponential::THROTTLED_DEFAULT),
            limits: Limits::DEFAULT,
            plugin: None,
            curves: Default::default(),
        }
    }
}

impl PolicyConfig {
    /// What the policy does after a failure.
    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// The curve for throttling failures.
    pub fn throttled(&self) -> &Formula {
        &self.throttled
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The configured `kind` value (`custom` for a plugin policy).
    pub fn name(&self) -> &'static str {
        match self.plugin {
            Some(_) => "custom",
            None => self.kind.name(),
        }
    }

    /// The cache of the phase constants of `curve`.
    fn curve_cache(&self, curve: CurveSel) -> &CurveCache {
        let [normal, throttled] = &self.curves;
        match curve {
            CurveSel::Normal => normal,
            CurveSel::Throttled => throttled,
        }
    }

    /// The plugin of a `custom` policy; the rest of the configuration is then its
    /// fallback.
    pub fn plugin(&self) -> Option<&PluginSpec> {
        self.plugin.as_ref()
    }
}
