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

use alloc::format;
use alloc::string::String;
use core::fmt::Write as _;
use serde_json::Value;

use crate::json::Obj;
use crate::phase::PhaseState;
use crate::rng::Rng;
use crate::types::{ConfigError, Curve, Decision, GiveUpReason, Millis};

/// The largest duration any field accepts: 10^12 ms, about 31.7 years. Keeping
/// every configured value this small leaves the saturating arithmetic plenty of room.
pub const MAX_MS: Millis = 1_000_000_000_000;

const DEFAULT_MAX_DELAY_MS: Millis = 3_600_000;
const DEFAULT_MIN_INTERVAL_MS: Millis = 0;
const DEFAULT_RESET_AFTER_MS: Millis = 30_000;
const DEFAULT_RETRY_AFTER_MIN_MS: Millis = 1_000;
const DEFAULT_RETRY_AFTER_MAX_MS: Millis = 600_000;

const DEFAULT_MULTIPLIER_PERMILLE: u32 = 3_000;
const MIN_MULTIPLIER_PERMILLE: u32 = 1_000;
const MAX_MULTIPLIER_PERMILLE: u32 = 10_000;
const DEFAULT_JITTER_PERCENT: u8 = 20;
const FIXED_INTERVAL_MS: Millis = 10_000;
const LINEAR_INITIAL_MS: Millis = 1_000;
const LINEAR_STEP_MS: Millis = 1_000;
const LINEAR_MAX_MS: Millis = 60_000;
const RANDOM_MIN_MS: Millis = 0;
const RANDOM_MAX_MS: Millis = 10_000;
const DECORRELATED_BASE_MS: Millis = 1_000;
const DECORRELATED_MAX_MS: Millis = 60_000;

const AZURE_C_INITIAL_MS: Millis = 1_000;
const AZURE_C_MAX_MS: Millis = 30_000;
const AZURE_C_JITTER_PERCENT: u64 = 5;
const AZURE_DOTNET_MIN_MS: Millis = 100;
const AZURE_DOTNET_MAX_MS: Millis = 10_000;
const AZURE_DOTNET_R_MS: (Millis, Millis) = (80, 120);
const AZURE_DOTNET_MIN_INTERVAL_MS: Millis = 1_000;
const AZURE_JAVA_MIN_MS: Millis = 100;
const AZURE_JAVA_MAX_MS: Millis = 10_000;
const AZURE_JAVA_R_MS: (Millis, Millis) = (80, 119);
const AZURE_PYTHON_FIRST_MS: Millis = 10;
const AZURE_PYTHON_INTERVAL_MS: Millis = 10_000;
const GRPC_INITIAL_MS: Millis = 1_000;
const GRPC_MULTIPLIER_PERMILLE: u32 = 1_600;
const GRPC_MAX_MS: Millis = 120_000;
const GRPC_JITTER_PERCENT: u64 = 20;
const GRPC_MAX_DELAY_MS: Millis = 144_000;
const AWS_CRT_INITIAL_MS: Millis = 1_000;
const AWS_CRT_MAX_MS: Millis = 120_000;

/// Every field that parameterises a formula (as opposed to a limit). Presets and
/// `no-retry` refuse them all.
const FORMULA_FIELDS: [&str; 11] = [
    "initial-ms",
    "multiplier",
    "max-ms",
    "jitter",
    "jitter-percent",
    "first-immediate",
    "interval-ms",
    "first-ms",
    "step-ms",
    "min-ms",
    "base-ms",
];

/// Every limit field. The nested `throttled` curve refuses them all.
const LIMIT_FIELDS: [&str; 8] = [
    "max-attempts",
    "retry-timeout-ms",
    "max-delay-ms",
    "min-interval-ms",
    "reset-after-ms",
    "retry-after-min-ms",
    "retry-after-max-ms",
    "throttled",
];

const PLAIN_NAMES: [&str; 6] = [
    "exponential",
    "fixed",
    "linear",
    "immediate",
    "random",
    "decorrelated-jitter",
];

const PRESET_NAMES: [&str; 7] = [
    "azure-c",
    "azure-dotnet",
    "azure-java",
    "azure-node",
    "azure-python",
    "grpc",
    "aws-crt",
];

const KIND_NAMES: [&str; 14] = [
    "exponential",
    "fixed",
    "linear",
    "immediate",
    "random",
    "decorrelated-jitter",
    "no-retry",
    "azure-c",
    "azure-dotnet",
    "azure-java",
    "azure-node",
    "azure-python",
    "grpc",
    "aws-crt",
];

/// The presets: fixed formulas reproducing other clients' backoff.
pub fn preset_names() -> &'static [&'static str] {
    &PRESET_NAMES
}

/// Every value the `kind` field accepts: the plain kinds, `no-retry`, then the
/// presets (the same names as [`preset_names`]).
pub fn kind_names() -> &'static [&'static str] {
    &KIND_NAMES
}

/// How an exponential delay is spread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// Uniform in `[0, d]` ("full jitter"): a wide spread, but a fleet on it
    /// settles at twice the load of its mean delay's.
    Full,
    /// Uniform in `[d/2, d]`: never shorter than half the curve.
    Equal,
    /// Exactly `d`.
    None,
    /// Uniform in `[d - p%, d + p%]`, which may exceed the curve's `max-ms`.
    Symmetric {
        /// The spread `p`, 0 to 100.
        percent: u8,
    },
    /// Uniform in `[d, d + p%]`.
    Upward {
        /// The spread `p`, 0 to 100.
        percent: u8,
    },
    /// Each device walks the curve at its own phase, drawn once per outage: retry
    /// k at `T(k - 1 + u)` after the first failure, where `T` runs through the
    /// curve's values continuously and turns into one retry every `max-ms` where
    /// its slope reaches `max-ms` (see the `phase` module). A fleet's retries are
    /// spread evenly, settling at one per device per `max-ms`.
    Phase,
}

/// The parameters of an exponential curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exponential {
    /// The first delay, before jitter.
    pub initial_ms: Millis,
    /// The growth per attempt in thousandths (2000 is x2).
    pub multiplier_permille: u32,
    /// The curve's cap, before jitter.
    pub max_ms: Millis,
    /// How the delay is spread.
    pub jitter: Jitter,
    /// Make the first retry immediate, then follow the curve from its start.
    pub first_immediate: bool,
}

impl Exponential {
    /// tether's normal curve: from 1 s, growing x3, flat at one retry every 55 s,
    /// phase jitter. The first retry comes within 1-2 s (a short blip costs
    /// little); a fleet that dropped at once settles at N / 55 s attempts per second
    /// with no bursts, and every device tries within 55 s of a hub's return.
    /// `tether simulate` (examples/scenarios/) shows why against other choices.
    pub const DEFAULT: Self = Self {
        initial_ms: 1_000,
        multiplier_permille: DEFAULT_MULTIPLIER_PERMILLE,
        max_ms: 55_000,
        jitter: Jitter::Phase,
        first_immediate: false,
    };

    /// tether's throttled curve: the normal curve started at 5 s (a throttled
    /// device waits at least 5 s), growing x3, flat at one retry every 55 s. After
    /// a long outage both curves are flat, so a hub's refusals never push a device
    /// further out than its normal period.
    pub const THROTTLED_DEFAULT: Self = Self {
        initial_ms: 5_000,
        multiplier_permille: DEFAULT_MULTIPLIER_PERMILLE,
        max_ms: 55_000,
        jitter: Jitter::Phase,
        first_immediate: false,
    };

    /// The curve before jitter at index `n` (`n = 0` for the first delay):
    /// `min(initial * multiplier^n, max)`, rounded to the nearest millisecond.
    pub fn base(&self, n: u32) -> Millis {
        exponential_base(self.initial_ms, self.multiplier_permille, self.max_ms, n)
    }

    fn delay(&self, k: u32, rng: &mut Rng, phase: &mut PhaseState) -> Millis {
        if self.jitter == Jitter::Phase {
            let k = if self.first_immediate {
                if k <= 1 {
                    return 0;
                }
                k.saturating_sub(1)
            } else {
                k
            };
            // The phase is drawn once per outage, shared by both curves.
            return phase.delay(
                self.initial_ms,
                self.multiplier_permille,
                self.max_ms,
                k,
                || (rng.next_u64() >> 32) as u32,
            );
        }
        let n = if self.first_immediate {
            if k <= 1 {
                return 0;
            }
            k.saturating_sub(2)
        } else {
            k.saturating_sub(1)
        };
        let d = self.base(n);
        match self.jitter {
            Jitter::Full => rng.below_inclusive(d),
            Jitter::Equal => {
                let half = d.checked_div(2).unwrap_or(0);
                half.saturating_add(rng.below_inclusive(d.saturating_sub(half)))
            }
            Jitter::None => d,
            Jitter::Symmetric { percent } => {
                let spread = percent_of(d, u64::from(percent));
                rng.between(d.saturating_sub(spread), d.saturating_add(spread))
            }
            Jitter::Upward { percent } => {
                d.saturating_add(rng.below_inclusive(percent_of(d, u64::from(percent))))
            }
            // Handled above.
            Jitter::Phase => d,
        }
    }
}

/// The two curves of the `azure-node` preset share one formula:
/// `min(c_min + (2^(k-1) - 1) * uniform[c/2, 3c/4], c_max)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeCurve {
    /// `c`, the jitter scale.
    pub c_ms: Millis,
    /// `cMin`, the first delay.
    pub c_min_ms: Millis,
    /// `cMax`, the cap.
    pub c_max_ms: Millis,
}

impl NodeCurve {
    /// The Node SDK's normal curve.
    pub const NORMAL: Self = Self {
        c_ms: 100,
        c_min_ms: 100,
        c_max_ms: 10_000,
    };

    /// The Node SDK's throttled curve.
    pub const THROTTLED: Self = Self {
        c_ms: 5_000,
        c_min_ms: 10_000,
        c_max_ms: 60_000,
    };

    /// The jitter range `[c * (1 - jd), c * (1 - ju)]` with `jd = 0.5`, `ju = 0.25`.
    fn range(&self) -> (Millis, Millis) {
        (
            self.c_ms.checked_div(2).unwrap_or(0),
            self.c_ms.saturating_mul(3).checked_div(4).unwrap_or(0),
        )
    }
}

/// One delay curve. `k` is the attempt counter (1 for the first retry) and
/// `n = k - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Formula {
    /// `min(initial * multiplier^(k-1), max)`, then jitter.
    Exponential(Exponential),
    /// The same wait every time, optionally a different first one.
    Fixed {
        /// The wait.
        interval_ms: Millis,
        /// The wait before the first retry, if different.
        first_ms: Option<Millis>,
    },
    /// `min(initial + step * (k-1), max)`.
    Linear {
        /// The first wait.
        initial_ms: Millis,
        /// Added per attempt.
        step_ms: Millis,
        /// The cap.
        max_ms: Millis,
    },
    /// No wait.
    Immediate,
    /// Uniform in `[min, max]`.
    Random {
        /// Lower bound.
        min_ms: Millis,
        /// Upper bound.
        max_ms: Millis,
    },
    /// AWS's "decorrelated jitter": `min(max, uniform[base, 3 * previous])`, the
    /// previous delay starting at `base`.
    DecorrelatedJitter {
        /// The floor and the starting point.
        base_ms: Millis,
        /// The cap.
        max_ms: Millis,
    },
    /// The Azure IoT C SDK's exponential backoff with 5% jitter.
    AzureC,
    /// The Azure IoT .NET SDK's (v1) exponential backoff.
    AzureDotnet,
    /// The Azure IoT Java SDK's exponential backoff with jitter and a fast first retry.
    AzureJava,
    /// The Azure IoT Node SDK's exponential backoff, normal or throttled.
    AzureNode(NodeCurve),
    /// The Azure IoT Python SDK's (v2) reconnect: 10 ms, then every 10 s.
    AzurePython,
    /// gRPC's connection backoff: x1.6 to 120 s, +-20%.
    Grpc,
    /// AWS CRT's MQTT 5 reconnect: doubling from 1 s to 120 s, full jitter.
    AwsCrt,
}

impl Formula {
    /// The name this curve has in a configuration (`azure-node` for both of its
    /// curves).
    pub fn name(&self) -> &'static str {
        match self {
            Formula::Exponential(_) => "exponential",
            Formula::Fixed { .. } => "fixed",
            Formula::Linear { .. } => "linear",
            Formula::Immediate => "immediate",
            Formula::Random { .. } => "random",
            Formula::DecorrelatedJitter { .. } => "decorrelated-jitter",
            Formula::AzureC => "azure-c",
            Formula::AzureDotnet => "azure-dotnet",
            Formula::AzureJava => "azure-java",
            Formula::AzureNode(_) => "azure-node",
            Formula::AzurePython => "azure-python",
            Formula::Grpc => "grpc",
            Formula::AwsCrt => "aws-crt",
        }
    }

    /// The delay for attempt `k`. `prev` is this curve's previous delay, kept
    /// only by decorrelated jitter.
    fn delay(
        &self,
        k: u32,
        rng: &mut Rng,
        prev: &mut Option<Millis>,
        phase: &mut PhaseState,
    ) -> Millis {
        let n = k.saturating_sub(1);
        match *self {
            Formula::Exponential(e) => e.delay(k, rng, phase),
            Formula::Fixed {
                interval_ms,
                first_ms,
            } => match first_ms {
                Some(first) if k <= 1 => first,
                _ => interval_ms,
            },
            Formula::Linear {
                initial_ms,
                step_ms,
                max_ms,
            } => initial_ms
                .saturating_add(step_ms.saturating_mul(u64::from(n)))
                .min(max_ms),
            Formula::Immediate => 0,
            Formula::Random { min_ms, max_ms } => rng.between(min_ms, max_ms),
            Formula::DecorrelatedJitter { base_ms, max_ms } => {
                let upper = prev.unwrap_or(base_ms).saturating_mul(3);
                let d = rng.between(base_ms, upper).min(max_ms);
                *prev = Some(d);
                d
            }
            // The C SDK computes in whole seconds (its timer has a 1 s grain);
            // tether keeps the milliseconds, so the jitter is not lost to truncation.
            Formula::AzureC => {
                if n == 0 {
                    return 0;
                }
                let base = pow2(n.saturating_sub(1))
                    .saturating_mul(AZURE_C_INITIAL_MS)
                    .min(AZURE_C_MAX_MS);
                base.saturating_add(rng.below_inclusive(percent_of(base, AZURE_C_JITTER_PERCENT)))
            }
            // .NET draws r with `Random.Next(80, 120)`, whose upper bound is
            // exclusive; tether includes 120 as the SDK documents `rand(0.8d, 1.2d)`.
            Formula::AzureDotnet => {
                let r = rng.between(AZURE_DOTNET_R_MS.0, AZURE_DOTNET_R_MS.1);
                pow2(n)
                    .saturating_sub(1)
                    .saturating_mul(r)
                    .saturating_add(AZURE_DOTNET_MIN_MS)
                    .min(AZURE_DOTNET_MAX_MS)
            }
            Formula::AzureJava => {
                if n == 0 {
                    return 0;
                }
                let r = rng.between(AZURE_JAVA_R_MS.0, AZURE_JAVA_R_MS.1);
                pow2(n)
                    .saturating_sub(1)
                    .saturating_mul(r)
                    .saturating_add(AZURE_JAVA_MIN_MS)
                    .min(AZURE_JAVA_MAX_MS)
            }
            // The shipped Node code drops the `c * (1 - jd)` term, leaving a jitter
            // of only [0, c/4); tether reproduces the documented formula.
            Formula::AzureNode(curve) => {
                let (lo, hi) = curve.range();
                let r = rng.between(lo, hi);
                pow2(n)
                    .saturating_sub(1)
                    .saturating_mul(r)
                    .saturating_add(curve.c_min_ms)
                    .min(curve.c_max_ms)
            }
            Formula::AzurePython => {
                if k <= 1 {
                    AZURE_PYTHON_FIRST_MS
                } else {
                    AZURE_PYTHON_INTERVAL_MS
                }
            }
            // gRPC jitters after the cap, so a delay reaches 120 s * 1.2 = 144 s.
            Formula::Grpc => {
                let d = exponential_base(GRPC_INITIAL_MS, GRPC_MULTIPLIER_PERMILLE, GRPC_MAX_MS, n);
                let spread = percent_of(d, GRPC_JITTER_PERCENT);
                rng.between(d.saturating_sub(spread), d.saturating_add(spread))
            }
            Formula::AwsCrt => rng.below_inclusive(
                pow2(n)
                    .saturating_mul(AWS_CRT_INITIAL_MS)
                    .min(AWS_CRT_MAX_MS),
            ),
        }
    }
}

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
const DEFAULT_QUARANTINE_AFTER: u32 = 3;
const MAX_QUARANTINE_AFTER: u32 = 1_000;

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

    /// The plugin of a `custom` policy; the rest of the configuration is then its
    /// fallback.
    pub fn plugin(&self) -> Option<&PluginSpec> {
        self.plugin.as_ref()
    }
}

/// Which curve a failure calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CurveSel {
    /// A plain recoverable failure.
    Normal,
    /// The server is throttling: the slower curve.
    Throttled,
}

/// A policy with its state for one link.
///
/// Call order: [`next`](Self::next) after every failed attempt;
/// [`connected`](Self::connected) when an attempt succeeds;
/// [`dropped`](Self::dropped) when that link is lost; [`reset`](Self::reset) to start
/// over. The same configuration, seed and calls give the same decisions everywhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    cfg: PolicyConfig,
    rng: Rng,
    attempts: u32,
    prev_normal: Option<Millis>,
    prev_throttled: Option<Millis>,
    /// The outage's phase, for `phase` jitter (drawn at its first delay), and the
    /// constants of the phase curve last used.
    phase: PhaseState,
    waited_ms: Millis,
}

impl Schedule {
    /// A schedule at the start of an outage; `seed` fixes its jitter.
    pub fn new(cfg: PolicyConfig, seed: u64) -> Self {
        Self {
            cfg,
            rng: Rng::new(seed),
            attempts: 0,
            prev_normal: None,
            prev_throttled: None,
            phase: PhaseState::default(),
            waited_ms: 0,
        }
    }

    /// The decision after one more failed attempt.
    ///
    /// `hint` is the server's retry-after, `elapsed_ms` the time since the first
    /// failure of this outage, and `since_attempt_start_ms` how long the failed
    /// attempt itself took (it counts toward `min-interval-ms`).
    ///
    /// In order: count the attempt (`k`, 1 for the first retry); `no-retry` gives up;
    /// past `max-attempts` gives up; the delay is the clamped hint if there is one,
    /// else the selected curve at `k`; it is raised to what is left of
    /// `min-interval-ms`, then capped at `max-delay-ms`; a retry that would start
    /// after `retry-timeout-ms` gives up (one exactly at the deadline is allowed).
    /// The [`Curve`] says where the delay came from (or would have).
    pub fn next(
        &mut self,
        curve: CurveSel,
        hint: Option<Millis>,
        elapsed_ms: Millis,
        since_attempt_start_ms: Millis,
    ) -> (Decision, Curve) {
        self.attempts = self.attempts.saturating_add(1);
        let k = self.attempts;
        let source = match (hint, curve) {
            (Some(_), _) => Curve::ServerHint,
            (None, CurveSel::Normal) => Curve::Normal,
            (None, CurveSel::Throttled) => Curve::Throttled,
        };
        let limits = self.cfg.limits;
        let formula = match &self.cfg.kind {
            Kind::NoRetry => return (Decision::GiveUp(GiveUpReason::NoRetry), source),
            Kind::Retry(f) => f,
        };
        if limits.max_attempts.is_some_and(|max| k > max) {
            return (Decision::GiveUp(GiveUpReason::MaxAttempts), source);
        }
        let raw = match (hint, curve) {
            // Not `clamp`: it panics when min > max, and a panic is never an answer.
            (Some(h), _) => h
                .max(limits.retry_after_min_ms)
                .min(limits.retry_after_max_ms),
            (None, CurveSel::Normal) => {
                formula.delay(k, &mut self.rng, &mut self.prev_normal, &mut self.phase)
            }
            (None, CurveSel::Throttled) => self.cfg.throttled.delay(
                k,
                &mut self.rng,
                &mut self.prev_throttled,
                &mut self.phase,
            ),
        };
        let floor = limits
            .min_interval_ms
            .saturating_sub(since_attempt_start_ms);
        let delay = raw.max(floor).min(limits.max_delay_ms);
        if limits
            .retry_timeout_ms
            .is_some_and(|timeout| elapsed_ms.saturating_add(delay) > timeout)
        {
            return (Decision::GiveUp(GiveUpReason::RetryTimeout), source);
        }
        self.waited_ms = self.waited_ms.saturating_add(delay);
        (Decision::RetryAfter(delay), source)
    }

    /// Failed attempts counted this outage.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The sum of the delays handed out this outage, for callers that do not
    /// measure `elapsed_ms` themselves.
    pub fn waited_ms(&self) -> Millis {
        self.waited_ms
    }

    /// An attempt succeeded. The counters are kept: a link that drops again soon
    /// must continue the backoff, not restart it (see [`dropped`](Self::dropped)).
    pub fn connected(&mut self) {}

    /// The link made by the last successful attempt was lost after holding for
    /// `held_ms`. The backoff starts over only if it held for at least
    /// `reset-after-ms`, so a connect/drop loop cannot retry at full speed forever.
    pub fn dropped(&mut self, held_ms: Millis) {
        if held_ms >= self.cfg.limits.reset_after_ms {
            self.reset();
        }
    }

    /// Start over: no failures counted, no decorrelated-jitter memory. The jitter
    /// generator continues its stream.
    pub fn reset(&mut self) {
        self.attempts = 0;
        self.prev_normal = None;
        self.prev_throttled = None;
        self.phase.u = None;
        self.waited_ms = 0;
    }

    /// The policy.
    pub fn config(&self) -> &PolicyConfig {
        &self.cfg
    }

    /// The policy never retries.
    pub fn is_no_retry(&self) -> bool {
        self.cfg.kind == Kind::NoRetry
    }

    /// Jump the attempt counter, so tests can ask for attempt `u32::MAX` directly.
    #[doc(hidden)]
    pub fn set_attempts(&mut self, k: u32) {
        self.attempts = k;
    }
}

/// `2^e`, saturating at `u64::MAX`.
fn pow2(e: u32) -> u64 {
    1_u64.checked_shl(e).unwrap_or(u64::MAX)
}

/// `d * percent / 100`, saturating.
fn percent_of(d: Millis, percent: u64) -> Millis {
    d.saturating_mul(percent).checked_div(100).unwrap_or(0)
}

/// Fraction bits of the fixed-point factor.
const FRAC_BITS: u32 = 40;
const FIXED_ONE: u128 = 1 << FRAC_BITS;
const FIXED_HALF: u128 = 1 << (FRAC_BITS - 1);
/// The factor saturates at 2^41. Every `initial` is at least 1 and every `max` at
/// most [`MAX_MS`] < 2^40, so a factor at the ceiling is always capped by `max`.
/// With 40 fraction bits, operands at most 2^81 overflow a u128 product only when
/// the true product is at least 2^48, past the ceiling: overflow means saturate.
const FACTOR_CAP: u128 = 1 << (41 + FRAC_BITS);

/// A rounded fixed-point product, saturating at [`FACTOR_CAP`].
fn fixed_mul(a: u128, b: u128) -> u128 {
    match a.checked_mul(b) {
        Some(p) => p
            .saturating_add(FIXED_HALF)
            .checked_shr(FRAC_BITS)
            .unwrap_or(FACTOR_CAP)
            .min(FACTOR_CAP),
        None => FACTOR_CAP,
    }
}

/// `min(initial * (permille / 1000)^n, max)` by fixed-point exponentiation by
/// squaring: at most 64 multiplications for any `n`. Rounding errors stay near
/// 2^-34 relative, far below the 0.1% a multiplier grows by at least per step, so
/// the curve is non-decreasing in `n`; multipliers that are powers of two are exact.
fn exponential_base(initial: Millis, permille: u32, max: Millis, n: u32) -> Millis {
    let m = u128::from(permille)
        .saturating_mul(FIXED_ONE)
        .saturating_add(500)
        .checked_div(1000)
        .unwrap_or(FIXED_ONE);
    let mut factor = FIXED_ONE;
    let mut square = m;
    let mut e = n;
    while e > 0 {
        if e & 1 == 1 {
            factor = fixed_mul(factor, square);
        }
        e >>= 1;
        if e > 0 {
            square = fixed_mul(square, square);
        }
    }
    let d = u128::from(initial)
        .saturating_mul(factor)
        .saturating_add(FIXED_HALF)
        .checked_shr(FRAC_BITS)
        .unwrap_or(u128::MAX);
    u64::try_from(d).unwrap_or(u64::MAX).min(max)
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// What the `kind` field selected.
#[derive(Clone, Copy)]
enum Sel {
    Plain(Plain),
    Preset(&'static str, Formula),
    NoRetry,
    Custom,
}

#[derive(Clone, Copy)]
enum Plain {
    Exponential,
    Fixed,
    Linear,
    Immediate,
    Random,
    DecorrelatedJitter,
}

/// Which curve is being parsed: the throttled curve has its own exponential
/// defaults.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Normal,
    Throttled,
}

fn select(name: &str) -> Option<Sel> {
    Some(match name {
        "exponential" => Sel::Plain(Plain::Exponential),
        "fixed" => Sel::Plain(Plain::Fixed),
        "linear" => Sel::Plain(Plain::Linear),
        "immediate" => Sel::Plain(Plain::Immediate),
        "random" => Sel::Plain(Plain::Random),
        "decorrelated-jitter" => Sel::Plain(Plain::DecorrelatedJitter),
        "no-retry" => Sel::NoRetry,
        "azure-c" => Sel::Preset("azure-c", Formula::AzureC),
        "azure-dotnet" => Sel::Preset("azure-dotnet", Formula::AzureDotnet),
        "azure-java" => Sel::Preset("azure-java", Formula::AzureJava),
        "azure-node" => Sel::Preset("azure-node", Formula::AzureNode(NodeCurve::NORMAL)),
        "azure-python" => Sel::Preset("azure-python", Formula::AzurePython),
        "grpc" => Sel::Preset("grpc", Formula::Grpc),
        "aws-crt" => Sel::Preset("aws-crt", Formula::AwsCrt),
        "custom" => Sel::Custom,
        _ => return None,
    })
}

/// Read a `policy` object (found at `path`, for example `"policy"`) into a
/// validated [`PolicyConfig`]. Every error names the offending field's path; unknown
/// fields are refused.
pub fn parse_policy(v: &Value, path: &str) -> Result<PolicyConfig, ConfigError> {
    let mut o = Obj::new(v, path)?;
    let kind = match read_kind(&mut o)? {
        Sel::Custom => return parse_custom(o),
        Sel::NoRetry => {
            refuse_formula_fields(v, &o, "kind \"no-retry\" has no formula parameters")?;
            Kind::NoRetry
        }
        Sel::Preset(name, formula) => {
            refuse_formula_fields(
                v,
                &o,
                &format!(
                    "preset \"{name}\" has a fixed formula; only limits ({}) may be set",
                    LIMIT_FIELDS.join(", ")
                ),
            )?;
            Kind::Retry(formula)
        }
        Sel::Plain(plain) => Kind::Retry(read_formula(&mut o, plain, Ctx::Normal)?),
    };
    let limits = read_limits(&mut o, &kind)?;
    let throttled_path = o.field_path("throttled");
    let throttled = match o.get("throttled") {
        Some(t) => read_throttled(t, &throttled_path)?,
        None => match kind {
            Kind::Retry(Formula::AzureNode(_)) => Formula::AzureNode(NodeCurve::THROTTLED),
            _ => Formula::Exponential(Exponential::THROTTLED_DEFAULT),
        },
    };
    o.finish()?;
    Ok(PolicyConfig {
        kind,
        throttled,
        limits,
        plugin: None,
    })
}

/// Kind `custom`: a plugin, its `params`, a built-in `fallback` without limits,
/// and the limits of the whole policy next to them.
fn parse_custom(mut o: Obj) -> Result<PolicyConfig, ConfigError> {
    let plugin = match o.str("plugin")? {
        None => {
            return Err(o.error(
                "plugin",
                "kind \"custom\" needs the plugin component to run (a path to a .wasm file)",
            ));
        }
        Some("") => return Err(o.error("plugin", "must not be empty")),
        Some(p) if p.len() > PLUGIN_NAME_MAX => {
            return Err(o.error(
                "plugin",
                format!("must be at most {PLUGIN_NAME_MAX} bytes, got {}", p.len()),
            ));
        }
        Some(p) => String::from(p),
    };
    let params = match o.get("params") {
        None => String::from("{}"),
        Some(v @ Value::Object(_)) => serde_json::to_string(v)
            .map_err(|_| o.error("params", "could not be written back as JSON"))?,
        Some(other) => {
            return Err(o.error(
                "params",
                format!("expected an object, got {}", crate::json::describe(other)),
            ));
        }
    };
    if params.len() > PLUGIN_PARAMS_MAX {
        return Err(o.error(
            "params",
            format!(
                "must be at most {PLUGIN_PARAMS_MAX} bytes as compact JSON, got {}",
                params.len()
            ),
        ));
    }
    let quarantine_after = o
        .u32_in("quarantine-after", 1, MAX_QUARANTINE_AFTER)?
        .unwrap_or(DEFAULT_QUARANTINE_AFTER);
    let fallback_path = o.field_path("fallback");
    let fallback = match o.get("fallback") {
        None => PolicyConfig::default(),
        Some(f) => {
            if let Some(map) = f.as_object() {
                let limits = LIMIT_FIELDS.iter().filter(|l| **l != "throttled");
                if let Some(field) = limits.clone().find(|l| map.contains_key(**l)) {
                    return Err(ConfigError::new(
                        crate::json::join(&fallback_path, field),
                        "limits apply to the whole custom policy: set them next to \"plugin\", not inside the fallback",
                    ));
                }
                if map.get("kind").and_then(Value::as_str) == Some("custom") {
                    return Err(ConfigError::new(
                        crate::json::join(&fallback_path, "kind"),
                        "the fallback must be a built-in policy, not another plugin",
                    ));
                }
            }
            parse_policy(f, &fallback_path)?
        }
    };
    let limits = read_limits(&mut o, &fallback.kind)?;
    o.finish()?;
    Ok(PolicyConfig {
        kind: fallback.kind,
        throttled: fallback.throttled,
        limits,
        plugin: Some(PluginSpec {
            plugin,
            params,
            quarantine_after,
        }),
    })
}

fn read_kind(o: &mut Obj) -> Result<Sel, ConfigError> {
    let Some(name) = o.str("kind")? else {
        return Ok(Sel::Plain(Plain::Exponential));
    };
    select(name).ok_or_else(|| {
        o.error(
            "kind",
            format!(
                "unknown kind {}; expected one of: {}, custom",
                crate::json::quoted(name),
                KIND_NAMES.join(", ")
            ),
        )
    })
}

/// Refuse formula parameters where the formula is fixed, naming the first one.
fn refuse_formula_fields(v: &Value, o: &Obj, message: &str) -> Result<(), ConfigError> {
    let Some(map) = v.as_object() else {
        return Ok(());
    };
    // Even a null is refused here: the field cannot mean anything for this kind.
    match FORMULA_FIELDS.iter().find(|f| map.contains_key(**f)) {
        Some(field) => Err(o.error(field, message)),
        None => Ok(()),
    }
}

fn read_throttled(v: &Value, path: &str) -> Result<Formula, ConfigError> {
    let mut t = Obj::new(v, path)?;
    if let Some(map) = v.as_object()
        && let Some(field) = LIMIT_FIELDS.iter().find(|f| map.contains_key(**f))
    {
        return Err(t.error(
            field,
            "limits apply to the whole policy: set them next to \"throttled\", not inside it",
        ));
    }
    let formula = match read_kind(&mut t)? {
        Sel::Plain(plain) => read_formula(&mut t, plain, Ctx::Throttled)?,
        Sel::Preset(..) | Sel::NoRetry | Sel::Custom => {
            return Err(t.error(
                "kind",
                format!(
                    "the throttled curve must be one of: {}; presets and no-retry are not allowed",
                    PLAIN_NAMES.join(", ")
                ),
            ));
        }
    };
    t.finish()?;
    Ok(formula)
}

/// An optional duration, at most [`MAX_MS`].
fn ms(o: &mut Obj, field: &'static str) -> Result<Option<Millis>, ConfigError> {
    match o.u64(field)? {
        Some(v) if v > MAX_MS => Err(o.error(
            field,
            format!("must be at most {MAX_MS} ms (about 31 years), got {v}"),
        )),
        other => Ok(other),
    }
}

/// An optional duration that must be at least 1 ms when present.
fn positive_ms(o: &mut Obj, field: &'static str, why: &str) -> Result<Option<Millis>, ConfigError> {
    match ms(o, field)? {
        Some(0) => Err(o.error(field, format!("must be at least 1 ms; {why}"))),
        other => Ok(other),
    }
}

/// A lower and an upper bound that must be in order, each with its default. The
/// error names the field the user wrote: the upper one, unless only the lower one
/// was set.
fn ordered(
    o: &Obj,
    lo: (&str, Option<Millis>, Millis),
    hi: (&str, Option<Millis>, Millis),
) -> Result<(Millis, Millis), ConfigError> {
    let (lo_name, lo_set, lo_default) = lo;
    let (hi_name, hi_set, hi_default) = hi;
    let lo_value = lo_set.unwrap_or(lo_default);
    let hi_value = hi_set.unwrap_or(hi_default);
    if lo_value <= hi_value {
        return Ok((lo_value, hi_value));
    }
    let note = |set: Option<Millis>| if set.is_some() { "" } else { ", the default" };
    let message = format!(
        "{hi_name} ({hi_value}{}) must not be less than {lo_name} ({lo_value}{})",
        note(hi_set),
        note(lo_set)
    );
    let field = if hi_set.is_some() || lo_set.is_none() {
        hi_name
    } else {
        lo_name
    };
    Err(o.error(field, message))
}

fn read_formula(o: &mut Obj, plain: Plain, ctx: Ctx) -> Result<Formula, ConfigError> {
    Ok(match plain {
        Plain::Exponential => Formula::Exponential(read_exponential(o, ctx)?),
        Plain::Fixed => Formula::Fixed {
            interval_ms: ms(o, "interval-ms")?.unwrap_or(FIXED_INTERVAL_MS),
            first_ms: ms(o, "first-ms")?,
        },
        Plain::Linear => {
            let initial = ms(o, "initial-ms")?;
            let step_ms = ms(o, "step-ms")?.unwrap_or(LINEAR_STEP_MS);
            let max = ms(o, "max-ms")?;
            let (initial_ms, max_ms) = ordered(
                o,
                ("initial-ms", initial, LINEAR_INITIAL_MS),
                ("max-ms", max, LINEAR_MAX_MS),
            )?;
            Formula::Linear {
                initial_ms,
                step_ms,
                max_ms,
            }
        }
        Plain::Immediate => Formula::Immediate,
        Plain::Random => {
            let min = ms(o, "min-ms")?;
            let max = ms(o, "max-ms")?;
            let (min_ms, max_ms) = ordered(
                o,
                ("min-ms", min, RANDOM_MIN_MS),
                ("max-ms", max, RANDOM_MAX_MS),
            )?;
            Formula::Random { min_ms, max_ms }
        }
        Plain::DecorrelatedJitter => {
            let base = positive_ms(o, "base-ms", "use kind \"immediate\" for no wait")?;
            let max = ms(o, "max-ms")?;
            let (base_ms, max_ms) = ordered(
                o,
                ("base-ms", base, DECORRELATED_BASE_MS),
                ("max-ms", max, DECORRELATED_MAX_MS),
            )?;
            Formula::DecorrelatedJitter { base_ms, max_ms }
        }
    })
}

fn read_exponential(o: &mut Obj, ctx: Ctx) -> Result<Exponential, ConfigError> {
    let defaults = match ctx {
        Ctx::Normal => Exponential::DEFAULT,
        Ctx::Throttled => Exponential::THROTTLED_DEFAULT,
    };
    let initial = positive_ms(o, "initial-ms", "use kind \"immediate\" for no wait")?;
    let multiplier_permille = read_multiplier(o)?.unwrap_or(defaults.multiplier_permille);
    let max = ms(o, "max-ms")?;
    let (initial_ms, max_ms) = ordered(
        o,
        ("initial-ms", initial, defaults.initial_ms),
        ("max-ms", max, defaults.max_ms),
    )?;
    let jitter_name = o.str("jitter")?;
    let percent = o
        .u64_in("jitter-percent", 0, 100)?
        .map(|p| u8::try_from(p).unwrap_or(100));
    let spread = percent.unwrap_or(DEFAULT_JITTER_PERCENT);
    let jitter = match jitter_name {
        None => defaults.jitter,
        Some("full") => Jitter::Full,
        Some("equal") => Jitter::Equal,
        Some("none") => Jitter::None,
        Some("symmetric") => Jitter::Symmetric { percent: spread },
        Some("upward") => Jitter::Upward { percent: spread },
        Some("phase") => Jitter::Phase,
        Some(other) => {
            return Err(o.error(
                "jitter",
                format!(
                    "unknown jitter {}; expected one of: full, equal, none, symmetric, upward, phase",
                    crate::json::quoted(other)
                ),
            ));
        }
    };
    if percent.is_some() && !matches!(jitter, Jitter::Symmetric { .. } | Jitter::Upward { .. }) {
        return Err(o.error(
            "jitter-percent",
            "applies only to jitter \"symmetric\" or \"upward\"",
        ));
    }
    let first_immediate = o
        .bool("first-immediate")?
        .unwrap_or(defaults.first_immediate);
    Ok(Exponential {
        initial_ms,
        multiplier_permille,
        max_ms,
        jitter,
        first_immediate,
    })
}

/// The multiplier is the one fractional field: read as a JSON number, checked, and
/// stored in thousandths so that no float survives parsing.
fn read_multiplier(o: &mut Obj) -> Result<Option<u32>, ConfigError> {
    let Some(m) = o.number("multiplier")? else {
        return Ok(None);
    };
    let lo = f64::from(MIN_MULTIPLIER_PERMILLE) / 1000.0;
    let hi = f64::from(MAX_MULTIPLIER_PERMILLE) / 1000.0;
    if !(lo..=hi).contains(&m) {
        return Err(o.error(
            "multiplier",
            format!("must be between {lo} and {hi}, got {m}"),
        ));
    }
    // In [1000.5, 10000.5] by the check above, so the cast neither saturates nor
    // loses anything but the sub-permille digits, which are documented as rounded.
    let permille = (m * 1000.0 + 0.5) as u32;
    Ok(Some(
        permille.clamp(MIN_MULTIPLIER_PERMILLE, MAX_MULTIPLIER_PERMILLE),
    ))
}

fn read_limits(o: &mut Obj, kind: &Kind) -> Result<Limits, ConfigError> {
    let defaults = Limits::default_for(kind);
    let max_attempts = match o.u64("max-attempts")? {
        None => None,
        Some(0) => {
            return Err(o.error(
                "max-attempts",
                "must be at least 1; omit it for no limit, or use kind \"no-retry\" never to retry",
            ));
        }
        Some(n) => Some(u32::try_from(n).map_err(|_| {
            o.error(
                "max-attempts",
                format!("must be at most {}, got {n}", u32::MAX),
            )
        })?),
    };
    let retry_timeout_ms = positive_ms(
        o,
        "retry-timeout-ms",
        "omit it for no limit (0 does not mean unlimited here)",
    )?;
    let max_delay_ms = ms(o, "max-delay-ms")?.unwrap_or(defaults.max_delay_ms);
    let min_interval_ms = ms(o, "min-interval-ms")?.unwrap_or(defaults.min_interval_ms);
    let reset_after_ms = ms(o, "reset-after-ms")?.unwrap_or(defaults.reset_after_ms);
    let ra_min = ms(o, "retry-after-min-ms")?;
    let ra_max = ms(o, "retry-after-max-ms")?;
    let (retry_after_min_ms, retry_after_max_ms) = ordered(
        o,
        ("retry-after-min-ms", ra_min, defaults.retry_after_min_ms),
        ("retry-after-max-ms", ra_max, defaults.retry_after_max_ms),
    )?;
    Ok(Limits {
        max_attempts,
        retry_timeout_ms,
        max_delay_ms,
        min_interval_ms,
        reset_after_ms,
        retry_after_min_ms,
        retry_after_max_ms,
    })
}

// ---------------------------------------------------------------------------
// Documentation
// ---------------------------------------------------------------------------

/// A Markdown description of every kind and preset, their formulas and defaults,
/// and the limits. Built from the same constants the code uses.
pub fn describe_formulas_markdown() -> String {
    let e = Exponential::DEFAULT;
    let t = Exponential::THROTTLED_DEFAULT;
    let l = Limits::DEFAULT;
    let mut s = String::new();
    let rows: [(&str, String, String); 14] = [
        (
            "exponential",
            "`d = min(initial-ms * multiplier^(k-1), max-ms)`, then `jitter`: `full` uniform \
             `[0, d]`, `equal` `[d/2, d]`, `none` `d`, `symmetric` uniform `[d - p%, d + p%]`, \
             `upward` uniform `[d, d + p%]` with p = `jitter-percent` (jitter comes after the \
             cap, so these two can pass max-ms); `phase`: the device draws u uniform in \
             `[0, 1)` once per outage and retries at `T(k - 1 + u)` after the first failure, \
             `T(x) = initial-ms * (1 + (multiplier^x - 1) / (multiplier - 1))` until its slope \
             reaches max-ms, then one retry every max-ms: retry 1 in `[initial-ms, 2 * \
             initial-ms]`, then the curve's steps scaled by `multiplier^u` (a fleet's retries \
             spread evenly, at most one per device per max-ms). With `first-immediate`, retry \
             1 waits 0 and retry k waits what retry k-1 would have"
                .into(),
            format!(
                "the default kind; initial-ms {}, multiplier {} (1 to 10, rounded to 0.001), max-ms {}, \
                 jitter `{}`, jitter-percent {DEFAULT_JITTER_PERCENT}, first-immediate false",
                e.initial_ms,
                permille_text(e.multiplier_permille),
                e.max_ms,
                jitter_name(e.jitter)
            ),
        ),
        (
            "fixed",
            "`first-ms` for retry 1 if set, otherwise `interval-ms`".into(),
            format!("interval-ms {FIXED_INTERVAL_MS}, first-ms unset"),
        ),
        (
            "linear",
            "`min(initial-ms + step-ms * (k-1), max-ms)`".into(),
            format!(
                "initial-ms {LINEAR_INITIAL_MS}, step-ms {LINEAR_STEP_MS}, max-ms {LINEAR_MAX_MS}"
            ),
        ),
        ("immediate", "0".into(), "none".into()),
        (
            "random",
            "uniform `[min-ms, max-ms]`".into(),
            format!("min-ms {RANDOM_MIN_MS}, max-ms {RANDOM_MAX_MS}"),
        ),
        (
            "decorrelated-jitter",
            "`d = min(max-ms, uniform[base-ms, 3 * previous d])`, previous d starting at \
             `base-ms`; each curve keeps its own previous d"
                .into(),
            format!("base-ms {DECORRELATED_BASE_MS}, max-ms {DECORRELATED_MAX_MS}"),
        ),
        (
            "no-retry",
            "gives up at the first failure".into(),
            "limits accepted, unused".into(),
        ),
        (
            "azure-c",
            format!(
                "n = k-1; n = 0: 0; else `b = min({AZURE_C_INITIAL_MS} * 2^(n-1), {AZURE_C_MAX_MS})`, \
                 `b + uniform[0, b * {AZURE_C_JITTER_PERCENT} / 100]` (the C SDK truncates to whole \
                 seconds; tether keeps milliseconds)"
            ),
            "limits as plain kinds".into(),
        ),
        (
            "azure-dotnet",
            format!(
                "n = k-1; `min({AZURE_DOTNET_MIN_MS} + (2^n - 1) * uniform[{}, {}], {AZURE_DOTNET_MAX_MS})`, \
                 at least {AZURE_DOTNET_MIN_INTERVAL_MS} ms between attempt starts: about \
                 1, 1, 1, 1, 1.6, 3.2, 6.4, then 10 s",
                AZURE_DOTNET_R_MS.0, AZURE_DOTNET_R_MS.1
            ),
            format!("min-interval-ms {AZURE_DOTNET_MIN_INTERVAL_MS}"),
        ),
        (
            "azure-java",
            format!(
                "n = k-1; n = 0: 0; else `min({AZURE_JAVA_MIN_MS} + (2^n - 1) * uniform[{}, {}], {AZURE_JAVA_MAX_MS})`",
                AZURE_JAVA_R_MS.0, AZURE_JAVA_R_MS.1
            ),
            "limits as plain kinds".into(),
        ),
        (
            "azure-node",
            format!(
                "{}; throttled: {} (the documented formula; the shipped SDK code drops the \
                 `c * (1 - jd)` term)",
                node_text(NodeCurve::NORMAL),
                node_text(NodeCurve::THROTTLED)
            ),
            "throttled curve: the Node SDK's throttled parameters".into(),
        ),
        (
            "azure-python",
            format!("retry 1: {AZURE_PYTHON_FIRST_MS}; then {AZURE_PYTHON_INTERVAL_MS}"),
            "limits as plain kinds".into(),
        ),
        (
            "grpc",
            format!(
                "`d = min({GRPC_INITIAL_MS} * {}^(k-1), {GRPC_MAX_MS})`, then uniform \
                 `[d - d/5, d + d/5]` (jitter after the cap)",
                permille_text(GRPC_MULTIPLIER_PERMILLE)
            ),
            format!("max-delay-ms {GRPC_MAX_DELAY_MS}"),
        ),
        (
            "aws-crt",
            format!("uniform `[0, min({AWS_CRT_INITIAL_MS} * 2^(k-1), {AWS_CRT_MAX_MS})]`"),
            format!("max-delay-ms {AWS_CRT_MAX_MS}, reset-after-ms {DEFAULT_RESET_AFTER_MS}"),
        ),
    ];
    let _ = writeln!(
        s,
        "| kind | delay before retry k, in ms (k = 1 after the first failure) | defaults |"
    );
    let _ = writeln!(s, "| --- | --- | --- |");
    for (name, formula, defaults) in &rows {
        let _ = writeln!(s, "| `{name}` | {formula} | {defaults} |");
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Presets have fixed formulas: setting one of their formula fields is an error. \
         Every kind takes the limits below. The throttled curve (`throttled`, a plain kind \
         without limits) defaults to exponential, initial-ms {}, multiplier {}, max-ms {}, \
         jitter `{}` (azure-node: its own throttled curve); an exponential `throttled` \
         object takes these as its defaults. Both curves share the attempt counter k (and \
         the phase u).",
        t.initial_ms,
        permille_text(t.multiplier_permille),
        t.max_ms,
        jitter_name(t.jitter)
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "| limit | meaning | default |");
    let _ = writeln!(s, "| --- | --- | --- |");
    let limit_rows: [(&str, &str, String); 7] = [
        (
            "max-attempts",
            "give up after this many retries",
            "unlimited".into(),
        ),
        (
            "retry-timeout-ms",
            "give up rather than retry later than this after the first failure (a retry exactly \
             at the deadline is allowed)",
            "unlimited".into(),
        ),
        (
            "max-delay-ms",
            "hard cap on every delay, whatever its source; wins over every floor",
            format!(
                "{} (grpc {GRPC_MAX_DELAY_MS}, aws-crt {AWS_CRT_MAX_MS})",
                l.max_delay_ms
            ),
        ),
        (
            "min-interval-ms",
            "at least this long between attempt starts, counting the failed attempt's own time",
            format!(
                "{} (azure-dotnet {AZURE_DOTNET_MIN_INTERVAL_MS})",
                l.min_interval_ms
            ),
        ),
        (
            "reset-after-ms",
            "a link must hold this long before a drop starts the backoff over",
            format!("{}", l.reset_after_ms),
        ),
        (
            "retry-after-min-ms",
            "a server's retry-after is raised to at least this",
            format!("{}", l.retry_after_min_ms),
        ),
        (
            "retry-after-max-ms",
            "a server's retry-after is lowered to at most this",
            format!("{}", l.retry_after_max_ms),
        ),
    ];
    for (name, meaning, default) in &limit_rows {
        let _ = writeln!(s, "| `{name}` | {meaning} | {default} |");
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Order: `no-retry` and max-attempts give up first; a server retry-after (clamped) \
         replaces the curve; the delay is raised to what is left of min-interval-ms, then \
         capped at max-delay-ms; a retry that would start after retry-timeout-ms gives up. \
         Every duration is an integer number of milliseconds, at most {MAX_MS}."
    );
    s
}

/// The `jitter` value that selects `j`.
fn jitter_name(j: Jitter) -> &'static str {
    match j {
        Jitter::Full => "full",
        Jitter::Equal => "equal",
        Jitter::None => "none",
        Jitter::Symmetric { .. } => "symmetric",
        Jitter::Upward { .. } => "upward",
        Jitter::Phase => "phase",
    }
}

fn node_text(c: NodeCurve) -> String {
    let (lo, hi) = c.range();
    format!(
        "`min({} + (2^(k-1) - 1) * uniform[{lo}, {hi}], {})` (c = {})",
        c.c_min_ms, c.c_max_ms, c.c_ms
    )
}

/// `2000` as `2`, `1600` as `1.6`.
fn permille_text(p: u32) -> String {
    let whole = p.checked_div(1000).unwrap_or(0);
    let frac = p.checked_rem(1000).unwrap_or(0);
    if frac == 0 {
        format!("{whole}")
    } else {
        let digits = format!("{frac:03}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]
    use super::*;
    use alloc::string::ToString;
    use alloc::vec::Vec;
    use proptest::prelude::{BoxedStrategy, Just, Strategy, any, prop, prop_oneof};
    use proptest::{prop_assert, prop_assert_eq, proptest};
    use serde_json::{Map, json};

    const SEEDS: u64 = 2000;

    fn cfg(v: Value) -> PolicyConfig {
        match parse_policy(&v, "policy") {
            Ok(c) => c,
            Err(e) => panic!("{v} was refused: {e}"),
        }
    }

    fn err(v: Value) -> ConfigError {
        match parse_policy(&v, "policy") {
            Ok(c) => panic!("{v} was accepted: {c:?}"),
            Err(e) => e,
        }
    }

    fn retry(d: (Decision, Curve)) -> Millis {
        match d.0 {
            Decision::RetryAfter(ms) => ms,
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    /// The delay of retry `k` (1-based) with no hint, no time spent.
    fn delay_at(c: &PolicyConfig, seed: u64, k: u32, curve: CurveSel) -> Millis {
        let mut s = Schedule::new(c.clone(), seed);
        s.set_attempts(k - 1);
        retry(s.next(curve, None, 0, 0))
    }

    /// Over many seeds, every delay of retry `k` lies in `[lo, hi]`, and the
    /// smallest and largest seen come within 1% of the bounds.
    fn assert_spans(c: &PolicyConfig, curve: CurveSel, k: u32, lo: Millis, hi: Millis) {
        assert!(lo <= hi, "bad expectation for k={k}: [{lo}, {hi}]");
        let delays: Vec<Millis> = (0..SEEDS).map(|seed| delay_at(c, seed, k, curve)).collect();
        let min = *delays.iter().min().unwrap();
        let max = *delays.iter().max().unwrap();
        let name = c.name();
        assert!(
            lo <= min && max <= hi,
            "{name} k={k}: seen [{min}, {max}], expected within [{lo}, {hi}]"
        );
        let tolerance = (hi - lo) / 100;
        assert!(
            min <= lo + tolerance && max + tolerance >= hi,
            "{name} k={k}: seen [{min}, {max}] does not approach [{lo}, {hi}]"
        );
    }

    fn preset(name: &str) -> PolicyConfig {
        cfg(json!({ "kind": name }))
    }

    // ---- defaults ------------------------------------------------------------

    #[test]
    fn an_empty_policy_is_the_default() {
        assert_eq!(cfg(json!({})), PolicyConfig::default());
        assert_eq!(cfg(json!({"kind": "exponential"})), PolicyConfig::default());
        let d = PolicyConfig::default();
        assert_eq!(d.name(), "exponential");
        assert_eq!(
            d.kind(),
            &Kind::Retry(Formula::Exponential(Exponential {
                initial_ms: 1000,
                multiplier_permille: 3000,
                max_ms: 55_000,
                jitter: Jitter::Phase,
                first_immediate: false,
            }))
        );
        assert_eq!(
            d.throttled(),
            &Formula::Exponential(Exponential {
                initial_ms: 5000,
                multiplier_permille: 3000,
                max_ms: 55_000,
                jitter: Jitter::Phase,
                first_immediate: false,
            })
        );
        assert_eq!(
            d.limits(),
            &Limits {
                max_attempts: None,
                retry_timeout_ms: None,
                max_delay_ms: 3_600_000,
                min_interval_ms: 0,
                reset_after_ms: 30_000,
                retry_after_min_ms: 1000,
                retry_after_max_ms: 600_000,
            }
        );
    }

    /// Over many seeds, every delay of retry `k` lies in `[lo, hi]`.
    fn assert_within(c: &PolicyConfig, curve: CurveSel, k: u32, lo: Millis, hi: Millis) {
        for seed in 0..SEEDS {
            let d = delay_at(c, seed, k, curve);
            assert!(
                lo <= d && d <= hi,
                "k={k} seed={seed}: {d} not in [{lo}, {hi}]"
            );
        }
    }

    #[test]
    fn default_policy_grows_threefold_from_a_second_to_a_flat_55_seconds() {
        let c = PolicyConfig::default();
        // Retry 1 in [1 s, 2 s]; retry k the curve's step 3^(k-2) s scaled by 3^u.
        assert_spans(&c, CurveSel::Normal, 1, 1000, 2000);
        assert_spans(&c, CurveSel::Normal, 2, 1000, 3000);
        assert_spans(&c, CurveSel::Normal, 3, 3000, 9000);
        assert_spans(&c, CurveSel::Normal, 4, 9000, 27_000);
        // The slope reaches 55 s near x = 4.19: retries 5 and 6 straddle it.
        assert_within(&c, CurveSel::Normal, 5, 27_000, 55_000);
        assert_within(&c, CurveSel::Normal, 6, 27_000, 55_000);
        for k in [7, 8, 20, 1000, u32::MAX] {
            assert_within(&c, CurveSel::Normal, k, 55_000, 55_000);
        }
    }

    #[test]
    fn the_phase_is_drawn_once_per_outage() {
        let c = PolicyConfig::default();
        let mut s = Schedule::new(c.clone(), 9);
        let first: Vec<Millis> = (0..4)
            .map(|_| retry(s.next(CurveSel::Normal, None, 0, 0)))
            .collect();
        // One phase: each step on the geometric part is three times the last.
        for w in first.windows(2).skip(1) {
            assert!(w[1].abs_diff(w[0] * 3) <= 2, "{first:?}");
        }
        // Both curves share it: the throttled step at k is the normal one's scaled
        // by the initial delays' ratio while both are geometric.
        let mut a = Schedule::new(c.clone(), 4);
        let mut b = Schedule::new(c.clone(), 4);
        let n = retry(a.next(CurveSel::Normal, None, 0, 0));
        let t = retry(b.next(CurveSel::Throttled, None, 0, 0));
        assert!((1000..=2000).contains(&n) && (5000..=10_000).contains(&t));
        assert!(t.abs_diff(5 * n) <= 5, "{n} {t}");
        // A reset starts a new outage with a new phase.
        s.reset();
        let again: Vec<Millis> = (0..4)
            .map(|_| retry(s.next(CurveSel::Normal, None, 0, 0)))
            .collect();
        assert_ne!(first, again);
    }

    #[test]
    fn default_throttled_curve_is_the_normal_one_from_five_seconds() {
        let c = PolicyConfig::default();
        assert_spans(&c, CurveSel::Throttled, 1, 5000, 10_000);
        assert_spans(&c, CurveSel::Throttled, 2, 5000, 15_000);
        assert_within(&c, CurveSel::Throttled, 3, 15_000, 55_000);
        assert_within(&c, CurveSel::Throttled, 4, 15_000, 55_000);
        for k in [5, 6, 100, u32::MAX] {
            assert_within(&c, CurveSel::Throttled, k, 55_000, 55_000);
        }
        let mut s = Schedule::new(c, 1);
        assert_eq!(s.next(CurveSel::Throttled, None, 0, 0).1, Curve::Throttled);
        assert_eq!(s.next(CurveSel::Normal, None, 0, 0).1, Curve::Normal);
    }

    #[test]
    fn every_kind_name_parses_and_reports_its_name() {
        for name in kind_names() {
            let c = preset(name);
            assert_eq!(c.name(), *name);
        }
        for name in preset_names() {
            assert!(kind_names().contains(name));
        }
        assert_eq!(
            kind_names().len(),
            PLAIN_NAMES.len() + 1 + preset_names().len()
        );
    }

    #[test]
    fn presets_set_their_own_limit_defaults() {
        assert_eq!(preset("grpc").limits().max_delay_ms, 144_000);
        assert_eq!(preset("aws-crt").limits().max_delay_ms, 120_000);
        assert_eq!(preset("aws-crt").limits().reset_after_ms, 30_000);
        assert_eq!(preset("azure-dotnet").limits().min_interval_ms, 1000);
        for name in ["azure-c", "azure-java", "azure-node", "azure-python"] {
            assert_eq!(preset(name).limits(), &Limits::DEFAULT, "{name}");
        }
        // Limits may be overridden.
        let c = cfg(json!({"kind": "azure-dotnet", "min-interval-ms": 0, "max-attempts": 3}));
        assert_eq!(c.limits().min_interval_ms, 0);
        assert_eq!(c.limits().max_attempts, Some(3));
    }

    // ---- presets ---------------------------------------------------------------

    #[test]
    fn azure_c_reproduces_the_c_sdk() {
        let c = preset("azure-c");
        for k in 1..=12_u32 {
            let n = k - 1;
            let (lo, hi) = if n == 0 {
                (0, 0)
            } else {
                let base = (1000_u64 * 2_u64.pow(n - 1)).min(30_000);
                (base, base + base * 5 / 100)
            };
            assert_spans(&c, CurveSel::Normal, k, lo, hi);
        }
        // Milliseconds are kept, not truncated to seconds as the C SDK does.
        assert!((0..50).any(|seed| !delay_at(&c, seed, 3, CurveSel::Normal).is_multiple_of(1000)));
    }

    #[test]
    fn azure_dotnet_has_the_one_second_floor_then_doubles() {
        let c = preset("azure-dotnet");
        for k in 1..=12_u32 {
            let n = k - 1;
            let spread = 2_u64.pow(n) - 1;
            let lo = (100 + spread * 80).clamp(1000, 10_000);
            let hi = (100 + spread * 120).clamp(1000, 10_000);
            if n <= 3 {
                // 100 + 7 * 120 = 940 < 1000: the minimum interval decides.
                assert_eq!((lo, hi), (1000, 1000));
            }
            assert_spans(&c, CurveSel::Normal, k, lo, hi);
        }
        // About 1, 1, 1, 1, 1.6, 3.2, 6.4, then 10 s: the mean over seeds.
        let shape = [1000, 1000, 1000, 1000, 1600, 3200, 6400, 10_000, 10_000];
        for (i, &want) in shape.iter().enumerate() {
            let k = i as u32 + 1;
            let mean = (0..SEEDS)
                .map(|seed| delay_at(&c, seed, k, CurveSel::Normal))
                .sum::<u64>()
                / SEEDS;
            assert!(
                mean.abs_diff(want) <= want / 20,
                "k={k}: mean {mean}, expected about {want}"
            );
        }
    }

    #[test]
    fn azure_dotnet_floor_counts_the_time_already_spent() {
        let c = preset("azure-dotnet");
        let mut s = Schedule::new(c, 3);
        // Formula at k=1 is 100 + 0 = 100 ms; the attempt took 400 ms.
        assert_eq!(retry(s.next(CurveSel::Normal, None, 0, 400)), 600);
        // An attempt that took longer than the interval leaves the formula's wait.
        let d = retry(s.next(CurveSel::Normal, None, 0, 5000));
        assert!((180..=220).contains(&d), "{d}");
    }

    #[test]
    fn azure_java_reproduces_the_java_sdk() {
        let c = preset("azure-java");
        for k in 1..=12_u32 {
            let n = k - 1;
            let (lo, hi) = if n == 0 {
                (0, 0)
            } else {
                let spread = 2_u64.pow(n) - 1;
                // 0.8 * delta + rand[0, 0.4 * delta) with delta = 100: 80..=119.
                (
                    (100 + spread * 80).min(10_000),
                    (100 + spread * 119).min(10_000),
                )
            };
            assert_spans(&c, CurveSel::Normal, k, lo, hi);
        }
    }

    #[test]
    fn azure_node_reproduces_the_documented_formula_on_both_curves() {
        let c = preset("azure-node");
        assert_eq!(c.throttled(), &Formula::AzureNode(NodeCurve::THROTTLED));
        for k in 1..=12_u32 {
            let spread = 2_u64.pow(k - 1) - 1;
            // c = 100, ju = 0.25, jd = 0.5: rand(c(1-jd), c(1-ju)) = [50, 75].
            let lo = (100 + spread * 50).min(10_000);
            let hi = (100 + spread * 75).min(10_000);
            assert_spans(&c, CurveSel::Normal, k, lo, hi);
            // c = 5000, cMin = 10 000, cMax = 60 000: [2500, 3750].
            let lo = (10_000 + spread * 2500).min(60_000);
            let hi = (10_000 + spread * 3750).min(60_000);
            assert_spans(&c, CurveSel::Throttled, k, lo, hi);
        }
    }

    #[test]
    fn azure_node_throttled_curve_can_be_replaced() {
        let c =
            cfg(json!({"kind": "azure-node", "throttled": {"kind": "fixed", "interval-ms": 42}}));
        assert_eq!(delay_at(&c, 0, 5, CurveSel::Throttled), 42);
    }

    #[test]
    fn azure_python_waits_ten_ms_then_ten_seconds() {
        let c = preset("azure-python");
        assert_spans(&c, CurveSel::Normal, 1, 10, 10);
        for k in 2..=12 {
            assert_spans(&c, CurveSel::Normal, k, 10_000, 10_000);
        }
    }

    #[test]
    fn grpc_reproduces_connection_backoff() {
        let c = preset("grpc");
        for k in 1..=12_u32 {
            // 1000 * 1.6^(k-1) = 1000 * 8^(k-1) / 5^(k-1), rounded, capped at 120 s.
            let num = 1000_u128 * 8_u128.pow(k - 1);
            let den = 5_u128.pow(k - 1);
            let d = (((num + den / 2) / den) as u64).min(120_000);
            // +-20% after the cap.
            assert_spans(&c, CurveSel::Normal, k, d - d / 5, d + d / 5);
        }
        // The cap does not clip the jitter above 120 s.
        let top = (0..SEEDS)
            .map(|seed| delay_at(&c, seed, 12, CurveSel::Normal))
            .max()
            .unwrap();
        assert!(top > 142_000, "{top}");
    }

    #[test]
    fn aws_crt_is_full_jitter_to_two_minutes() {
        let c = preset("aws-crt");
        for k in 1..=12_u32 {
            let cap = (1000_u64 * 2_u64.pow(k - 1)).min(120_000);
            assert_spans(&c, CurveSel::Normal, k, 0, cap);
        }
    }

    #[test]
    fn presets_refuse_formula_fields_but_take_limits() {
        for name in preset_names() {
            for field in ["initial-ms", "multiplier", "max-ms", "jitter", "base-ms"] {
                let mut doc = Map::new();
                doc.insert("kind".into(), json!(name));
                doc.insert(field.into(), json!(2));
                let e = err(Value::Object(doc));
                assert_eq!(e.field, format!("policy.{field}"), "{name}");
                assert!(e.message.contains("fixed formula"), "{}", e.message);
            }
            let c = cfg(json!({
                "kind": name, "max-attempts": 5, "retry-timeout-ms": 60000,
                "max-delay-ms": 9000, "min-interval-ms": 10, "reset-after-ms": 1,
                "retry-after-min-ms": 2, "retry-after-max-ms": 3,
                "throttled": {"kind": "linear"}
            }));
            assert_eq!(c.name(), *name);
        }
    }

    // ---- plain kinds -----------------------------------------------------------

    #[test]
    fn exponential_without_jitter_doubles_to_its_cap() {
        let c = cfg(json!({"jitter": "none", "multiplier": 2, "max-ms": 60000}));
        let got: Vec<Millis> = (1..=9)
            .map(|k| delay_at(&c, 0, k, CurveSel::Normal))
            .collect();
        assert_eq!(
            got,
            [
                1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000
            ]
        );
        assert_eq!(delay_at(&c, 0, u32::MAX, CurveSel::Normal), 60_000);
    }

    #[test]
    fn exponential_first_immediate_shifts_the_curve() {
        let c = cfg(
            json!({"jitter": "none", "first-immediate": true, "multiplier": 2,
                           "max-ms": 60000}),
        );
        let got: Vec<Millis> = (1..=5)
            .map(|k| delay_at(&c, 0, k, CurveSel::Normal))
            .collect();
        assert_eq!(got, [0, 1000, 2000, 4000, 8000]);
        assert_eq!(delay_at(&c, 0, u32::MAX, CurveSel::Normal), 60_000);
    }

    #[test]
    fn exponential_fractional_multiplier_rounds_to_the_millisecond() {
        let c = cfg(json!({"jitter": "none", "multiplier": 1.5, "max-ms": 100000}));
        let got: Vec<Millis> = (1..=6)
            .map(|k| delay_at(&c, 0, k, CurveSel::Normal))
            .collect();
        // 1000 * 1.5^n: 1000, 1500, 2250, 3375, 5062.5, 7593.75.
        assert_eq!(got, [1000, 1500, 2250, 3375, 5063, 7594]);
        let c = cfg(json!({"jitter": "none", "multiplier": 1}));
        assert_eq!(delay_at(&c, 0, u32::MAX, CurveSel::Normal), 1000);
    }

    #[test]
    fn exponential_jitter_modes_span_their_ranges() {
        let d = 4000; // k = 3
        let cases = [
            (json!({"jitter": "full"}), 0, d),
            (json!({"jitter": "equal"}), d / 2, d),
            (json!({"jitter": "none"}), d, d),
            (json!({"jitter": "symmetric"}), d - d / 5, d + d / 5),
            (
                json!({"jitter": "symmetric", "jitter-percent": 50}),
                d / 2,
                d + d / 2,
            ),
            (
                json!({"jitter": "upward", "jitter-percent": 10}),
                d,
                d + d / 10,
            ),
            (json!({"jitter": "upward"}), d, d + d / 5),
            (json!({"jitter": "symmetric", "jitter-percent": 0}), d, d),
        ];
        for (mut doc, lo, hi) in cases {
            // On the doubling curve, whatever the defaults.
            if let Value::Object(m) = &mut doc {
                m.insert("multiplier".into(), json!(2));
            }
            assert_spans(&cfg(doc), CurveSel::Normal, 3, lo, hi);
        }
        // Phase: retry 3 is the curve's step 2 s scaled by 2^u.
        let c = cfg(json!({"jitter": "phase", "multiplier": 2}));
        assert_spans(&c, CurveSel::Normal, 3, 2000, 4000);
    }

    #[test]
    fn exponential_base_matches_exact_arithmetic() {
        // (numerator, denominator) of the multiplier, initial delay.
        for (a, b, initial) in [
            (8_u128, 5_u128, 1000_u64),
            (3, 2, 7),
            (5, 2, 999),
            (11, 10, 1),
            (3, 1, 123_456),
            (1001, 1000, 1_000_000),
        ] {
            let permille = u32::try_from(a * 1000 / b).unwrap();
            for n in 0..=40_u32 {
                let Some((num, den)) = a
                    .checked_pow(n)
                    .and_then(|p| u128::from(initial).checked_mul(p))
                    .and_then(|num| Some((num.checked_add(b.pow(n) / 2)?, b.pow(n))))
                else {
                    break;
                };
                let exact = (num / den).min(u128::from(MAX_MS)) as u64;
                let ours = exponential_base(initial, permille, MAX_MS, n);
                assert!(
                    ours.abs_diff(exact) <= 1,
                    "{a}/{b} n={n}: ours {ours}, exact {exact}"
                );
            }
        }
    }

    #[test]
    fn exponential_base_is_fast_and_capped_at_the_largest_attempt() {
        for permille in [1000, 1001, 1600, 2000, 10_000] {
            assert_eq!(exponential_base(MAX_MS, permille, MAX_MS, u32::MAX), MAX_MS);
            assert_eq!(
                exponential_base(1, permille, 5, u32::MAX),
                if permille == 1000 { 1 } else { 5 }
            );
        }
    }

    #[test]
    fn fixed_linear_immediate_random() {
        let c = cfg(json!({"kind": "fixed", "interval-ms": 2500, "first-ms": 100}));
        assert_eq!(delay_at(&c, 0, 1, CurveSel::Normal), 100);
        assert_eq!(delay_at(&c, 0, 2, CurveSel::Normal), 2500);
        assert_eq!(delay_at(&c, 0, u32::MAX, CurveSel::Normal), 2500);
        let c = cfg(json!({"kind": "fixed"}));
        assert_eq!(delay_at(&c, 0, 1, CurveSel::Normal), 10_000);

        let c = cfg(json!({"kind": "linear", "initial-ms": 500, "step-ms": 250, "max-ms": 1400}));
        let got: Vec<Millis> = (1..=6)
            .map(|k| delay_at(&c, 0, k, CurveSel::Normal))
            .collect();
        assert_eq!(got, [500, 750, 1000, 1250, 1400, 1400]);
        assert_eq!(delay_at(&c, 0, u32::MAX, CurveSel::Normal), 1400);
        let c = cfg(json!({"kind": "linear"}));
        assert_eq!(delay_at(&c, 0, 3, CurveSel::Normal), 3000);

        let c = cfg(json!({"kind": "immediate"}));
        assert_eq!(delay_at(&c, 0, 1, CurveSel::Normal), 0);
        assert_eq!(delay_at(&c, 0, u32::MAX, CurveSel::Normal), 0);

        let c = cfg(json!({"kind": "random", "min-ms": 200, "max-ms": 700}));
        for k in [1, 2, 1000] {
            assert_spans(&c, CurveSel::Normal, k, 200, 700);
        }
        assert_spans(
            &cfg(json!({"kind": "random"})),
            CurveSel::Normal,
            1,
            0,
            10_000,
        );
    }

    #[test]
    fn decorrelated_jitter_follows_its_previous_delay_per_curve() {
        let c = cfg(json!({
            "kind": "decorrelated-jitter", "base-ms": 100, "max-ms": 5000,
            "throttled": {"kind": "decorrelated-jitter", "base-ms": 1000, "max-ms": 50000}
        }));
        let (base, max, t_base, t_max) = (100, 5000, 1000, 50_000);
        let mut reached_cap = false;
        for seed in 0..200 {
            let mut s = Schedule::new(c.clone(), seed);
            let (mut prev, mut t_prev) = (base, t_base);
            for step in 0..40 {
                if step % 3 == 2 {
                    let d = retry(s.next(CurveSel::Throttled, None, 0, 0));
                    assert!(
                        t_base <= d && d <= (3 * t_prev).min(t_max),
                        "{d} after {t_prev}"
                    );
                    t_prev = d;
                } else {
                    let d = retry(s.next(CurveSel::Normal, None, 0, 0));
                    assert!(base <= d && d <= (3 * prev).min(max), "{d} after {prev}");
                    reached_cap |= d == max;
                    prev = d;
                }
            }
            // After a reset the curve starts again from base.
            s.reset();
            let d = retry(s.next(CurveSel::Normal, None, 0, 0));
            assert!(base <= d && d <= 3 * base);
        }
        assert!(reached_cap);
        // The first delay spans [base, 3 * base].
        assert_spans(
            &cfg(json!({"kind": "decorrelated-jitter"})),
            CurveSel::Normal,
            1,
            1000,
            3000,
        );
    }

    #[test]
    fn no_retry_gives_up_at_once_and_accepts_unused_limits() {
        let c = cfg(
            json!({"kind": "no-retry", "max-attempts": 3, "retry-timeout-ms": 10, "throttled": {"kind": "immediate"}}),
        );
        let mut s = Schedule::new(c, 0);
        assert!(s.is_no_retry());
        assert_eq!(
            s.next(CurveSel::Normal, None, 0, 0),
            (Decision::GiveUp(GiveUpReason::NoRetry), Curve::Normal)
        );
        assert_eq!(
            s.next(CurveSel::Throttled, Some(5), 0, 0),
            (Decision::GiveUp(GiveUpReason::NoRetry), Curve::ServerHint)
        );
        assert_eq!(s.attempts(), 2);
        assert!(!Schedule::new(PolicyConfig::default(), 0).is_no_retry());
        let e = err(json!({"kind": "no-retry", "interval-ms": 5}));
        assert_eq!(e.field, "policy.interval-ms");
    }

    // ---- limits ------------------------------------------------------------------

    #[test]
    fn retry_timeout_allows_the_deadline_and_not_a_millisecond_more() {
        let c = cfg(json!({"kind": "fixed", "interval-ms": 1000, "retry-timeout-ms": 5000}));
        let mut s = Schedule::new(c.clone(), 0);
        assert_eq!(
            s.next(CurveSel::Normal, None, 4000, 0),
            (Decision::RetryAfter(1000), Curve::Normal)
        );
        let mut s = Schedule::new(c.clone(), 0);
        assert_eq!(
            s.next(CurveSel::Normal, None, 4001, 0),
            (Decision::GiveUp(GiveUpReason::RetryTimeout), Curve::Normal)
        );
        let mut s = Schedule::new(c, 0);
        assert_eq!(
            s.next(CurveSel::Normal, Some(1), u64::MAX, 0),
            (
                Decision::GiveUp(GiveUpReason::RetryTimeout),
                Curve::ServerHint
            )
        );
    }

    #[test]
    fn max_attempts_allows_the_last_and_refuses_the_next() {
        let c = cfg(json!({"kind": "immediate", "max-attempts": 3}));
        let mut s = Schedule::new(c, 0);
        for k in 1..=3 {
            assert_eq!(
                s.next(CurveSel::Normal, None, 0, 0).0,
                Decision::RetryAfter(0)
            );
            assert_eq!(s.attempts(), k);
        }
        assert_eq!(
            s.next(CurveSel::Throttled, None, 0, 0),
            (
                Decision::GiveUp(GiveUpReason::MaxAttempts),
                Curve::Throttled
            )
        );
        assert_eq!(s.attempts(), 4);

        let c = cfg(json!({"kind": "immediate", "max-attempts": u32::MAX}));
        let mut s = Schedule::new(c, 0);
        s.set_attempts(u32::MAX - 1);
        assert_eq!(
            s.next(CurveSel::Normal, None, 0, 0).0,
            Decision::RetryAfter(0)
        );
        // The counter saturates rather than wrapping to a fresh outage.
        assert_eq!(
            s.next(CurveSel::Normal, None, 0, 0).0,
            Decision::RetryAfter(0)
        );
        assert_eq!(s.attempts(), u32::MAX);
    }

    #[test]
    fn min_interval_counts_the_time_the_attempt_took() {
        let c = cfg(json!({"kind": "immediate", "min-interval-ms": 1000}));
        let mut s = Schedule::new(c, 0);
        for (took, want) in [
            (0, 1000),
            (300, 700),
            (999, 1),
            (1000, 0),
            (5000, 0),
            (u64::MAX, 0),
        ] {
            assert_eq!(
                retry(s.next(CurveSel::Normal, None, 0, took)),
                want,
                "took {took}"
            );
        }
        // A longer curve delay is kept as it is.
        let c = cfg(json!({"kind": "fixed", "interval-ms": 3000, "min-interval-ms": 1000}));
        assert_eq!(
            retry(Schedule::new(c, 0).next(CurveSel::Normal, None, 0, 0)),
            3000
        );
    }

    #[test]
    fn server_hints_are_clamped_on_both_sides() {
        let mut s = Schedule::new(PolicyConfig::default(), 0);
        for (hint, want) in [
            (0, 1000),
            (999, 1000),
            (1000, 1000),
            (5000, 5000),
            (600_000, 600_000),
            (600_001, 600_000),
            (u64::MAX, 600_000),
        ] {
            assert_eq!(
                s.next(CurveSel::Normal, Some(hint), 0, 0),
                (Decision::RetryAfter(want), Curve::ServerHint),
                "hint {hint}"
            );
        }
        // A hint replaces the throttled curve too.
        assert_eq!(
            s.next(CurveSel::Throttled, Some(2000), 0, 0),
            (Decision::RetryAfter(2000), Curve::ServerHint)
        );
        let c =
            cfg(json!({"retry-after-min-ms": 50, "retry-after-max-ms": 70, "min-interval-ms": 60}));
        let mut s = Schedule::new(c, 0);
        assert_eq!(retry(s.next(CurveSel::Normal, Some(1), 0, 0)), 60);
        assert_eq!(retry(s.next(CurveSel::Normal, Some(1), 0, 20)), 50);
        assert_eq!(retry(s.next(CurveSel::Normal, Some(100), 0, 0)), 70);
    }

    #[test]
    fn max_delay_caps_every_source() {
        let c = cfg(json!({
            "kind": "fixed", "interval-ms": 9000, "max-delay-ms": 2000,
            "min-interval-ms": 5000, "throttled": {"kind": "fixed", "interval-ms": 7000}
        }));
        let mut s = Schedule::new(c, 0);
        assert_eq!(retry(s.next(CurveSel::Normal, None, 0, 0)), 2000);
        assert_eq!(retry(s.next(CurveSel::Throttled, None, 0, 0)), 2000);
        assert_eq!(retry(s.next(CurveSel::Normal, Some(500_000), 0, 0)), 2000);
        assert_eq!(retry(s.next(CurveSel::Normal, Some(1), 0, 0)), 2000);
    }

    #[test]
    fn a_drop_resets_only_after_the_link_held_long_enough() {
        let mut s = Schedule::new(PolicyConfig::default(), 0);
        for _ in 0..3 {
            s.next(CurveSel::Normal, None, 0, 0);
        }
        s.connected();
        assert_eq!(s.attempts(), 3);
        s.dropped(29_999);
        assert_eq!(s.attempts(), 3);
        s.next(CurveSel::Normal, None, 0, 0);
        s.connected();
        s.dropped(30_000);
        assert_eq!(s.attempts(), 0);
        assert_eq!(s.waited_ms(), 0);

        let c = cfg(json!({"reset-after-ms": 0}));
        let mut s = Schedule::new(c, 0);
        s.next(CurveSel::Normal, None, 0, 0);
        s.dropped(0);
        assert_eq!(s.attempts(), 0);
    }

    #[test]
    fn waited_adds_up_the_delays_given() {
        let c = cfg(json!({"kind": "linear"}));
        let mut s = Schedule::new(c, 0);
        for _ in 0..3 {
            s.next(CurveSel::Normal, None, 0, 0);
        }
        assert_eq!(s.waited_ms(), 1000 + 2000 + 3000);
        s.reset();
        assert_eq!((s.attempts(), s.waited_ms()), (0, 0));
        assert_eq!(s.config(), &cfg(json!({"kind": "linear"})));
    }

    #[test]
    fn same_seed_same_decisions_different_seed_different_decisions() {
        for name in kind_names() {
            let c = preset(name);
            let run = |seed: u64| -> Vec<(Decision, Curve)> {
                let mut s = Schedule::new(c.clone(), seed);
                (0..30)
                    .map(|i| {
                        let curve = if i % 4 == 3 {
                            CurveSel::Throttled
                        } else {
                            CurveSel::Normal
                        };
                        s.next(curve, None, 0, 0)
                    })
                    .collect()
            };
            assert_eq!(run(7), run(7), "{name}");
            let jittered = !matches!(
                *name,
                "fixed" | "linear" | "immediate" | "no-retry" | "azure-python"
            );
            // The throttled steps are jittered for every kind, so only no-retry
            // is fully deterministic across seeds.
            if jittered || *name != "no-retry" {
                assert_ne!(run(7), run(8), "{name}");
            }
        }
    }

    // ---- configuration errors ------------------------------------------------------

    #[test]
    fn config_errors_name_the_field() {
        let cases: Vec<(Value, &str, &str)> = alloc::vec![
            (json!({"intial-ms": 5}), "policy.intial-ms", "unknown field"),
            (
                json!({"initial-ms": "fast"}),
                "policy.initial-ms",
                "non-negative integer"
            ),
            (
                json!({"initial-ms": -5}),
                "policy.initial-ms",
                "non-negative integer"
            ),
            (
                json!({"initial-ms": 1.5}),
                "policy.initial-ms",
                "non-negative integer"
            ),
            (json!({"initial-ms": 0}), "policy.initial-ms", "at least 1"),
            (
                json!({"initial-ms": 100_000}),
                "policy.initial-ms",
                "the default"
            ),
            (
                json!({"initial-ms": 100_000, "max-ms": 50_000}),
                "policy.max-ms",
                "initial-ms"
            ),
            (
                json!({"max-ms": 1_000_000_000_001_u64}),
                "policy.max-ms",
                "at most"
            ),
            (
                json!({"multiplier": 0.5}),
                "policy.multiplier",
                "between 1 and 10"
            ),
            (
                json!({"multiplier": 10.5}),
                "policy.multiplier",
                "between 1 and 10"
            ),
            (
                json!({"multiplier": "2"}),
                "policy.multiplier",
                "expected a number"
            ),
            (json!({"jitter": "wild"}), "policy.jitter", "unknown jitter"),
            (json!({"jitter": 1}), "policy.jitter", "expected a string"),
            (
                json!({"jitter-percent": 10}),
                "policy.jitter-percent",
                "symmetric"
            ),
            (
                json!({"jitter": "upward", "jitter-percent": 101}),
                "policy.jitter-percent",
                "between"
            ),
            (
                json!({"first-immediate": "yes"}),
                "policy.first-immediate",
                "true or false"
            ),
            (
                json!({"kind": "fixed", "initial-ms": 5}),
                "policy.initial-ms",
                "unknown field"
            ),
            (json!({"kind": "bogus"}), "policy.kind", "unknown kind"),
            (json!({"kind": 3}), "policy.kind", "expected a string"),
            (
                json!({"kind": "random", "min-ms": 500, "max-ms": 100}),
                "policy.max-ms",
                "min-ms"
            ),
            (
                json!({"kind": "random", "min-ms": 20_000}),
                "policy.min-ms",
                "the default"
            ),
            (
                json!({"kind": "linear", "max-ms": 10}),
                "policy.max-ms",
                "initial-ms"
            ),
            (
                json!({"kind": "decorrelated-jitter", "base-ms": 0}),
                "policy.base-ms",
                "at least 1"
            ),
            (
                json!({"kind": "decorrelated-jitter", "base-ms": 70_000}),
                "policy.base-ms",
                "max-ms"
            ),
            (
                json!({"kind": "azure-c", "initial-ms": 1000}),
                "policy.initial-ms",
                "fixed formula"
            ),
            (
                json!({"kind": "grpc", "multiplier": 1.6}),
                "policy.multiplier",
                "fixed formula"
            ),
            (
                json!({"kind": "azure-node", "jitter": "none"}),
                "policy.jitter",
                "fixed formula"
            ),
            (
                json!({"max-attempts": 0}),
                "policy.max-attempts",
                "at least 1"
            ),
            (
                json!({"max-attempts": 4_294_967_296_u64}),
                "policy.max-attempts",
                "at most"
            ),
            (
                json!({"max-attempts": true}),
                "policy.max-attempts",
                "non-negative integer"
            ),
            (
                json!({"retry-timeout-ms": 0}),
                "policy.retry-timeout-ms",
                "at least 1"
            ),
            (
                json!({"max-delay-ms": -1}),
                "policy.max-delay-ms",
                "non-negative integer"
            ),
            (
                json!({"reset-after-ms": 1e13}),
                "policy.reset-after-ms",
                "non-negative integer"
            ),
            (
                json!({"retry-after-min-ms": 5000, "retry-after-max-ms": 1000}),
                "policy.retry-after-max-ms",
                "retry-after-min-ms"
            ),
            (
                json!({"retry-after-min-ms": 700_000}),
                "policy.retry-after-min-ms",
                "the default"
            ),
            (
                json!({"retry-after-max-ms": 10}),
                "policy.retry-after-max-ms",
                "the default"
            ),
            (
                json!({"throttled": 5}),
                "policy.throttled",
                "expected an object"
            ),
            (
                json!({"throttled": {"kind": "azure-c"}}),
                "policy.throttled.kind",
                "presets"
            ),
            (
                json!({"throttled": {"kind": "no-retry"}}),
                "policy.throttled.kind",
                "no-retry"
            ),
            (
                json!({"throttled": {"max-attempts": 3}}),
                "policy.throttled.max-attempts",
                "whole policy"
            ),
            (
                json!({"throttled": {"throttled": {}}}),
                "policy.throttled.throttled",
                "whole policy"
            ),
            (
                json!({"throttled": {"typo": 1}}),
                "policy.throttled.typo",
                "unknown field"
            ),
            (
                json!({"throttled": {"initial-ms": 200_000}}),
                "policy.throttled.initial-ms",
                "55000, the default"
            ),
            (
                json!({"throttled": {"kind": "random", "min-ms": 9, "max-ms": 8}}),
                "policy.throttled.max-ms",
                "min-ms"
            ),
            (json!(3), "policy", "expected an object"),
            (json!([]), "policy", "expected an object"),
        ];
        for (doc, field, fragment) in cases {
            let e = err(doc.clone());
            assert_eq!(e.field, field, "{doc}: {e}");
            assert!(e.message.contains(fragment), "{doc}: {e}");
        }
    }

    #[test]
    fn errors_follow_the_given_path() {
        let v = json!({"kind": "linear", "max-ms": 10});
        assert_eq!(
            parse_policy(&v, "device.policy").unwrap_err().field,
            "device.policy.max-ms"
        );
        assert_eq!(parse_policy(&json!(1), "").unwrap_err().field, "(document)");
        assert_eq!(parse_policy(&json!({"x": 1}), "").unwrap_err().field, "x");
    }

    #[test]
    fn nulls_count_as_absent() {
        assert_eq!(
            cfg(json!({"kind": null, "initial-ms": null, "throttled": null})),
            PolicyConfig::default()
        );
        // A formula field means nothing for a preset, even as null.
        let e = err(json!({"kind": "azure-c", "initial-ms": null}));
        assert_eq!(e.field, "policy.initial-ms");
    }

    #[test]
    fn throttled_objects_default_to_the_throttled_exponential() {
        let c = cfg(json!({"throttled": {}}));
        assert_eq!(
            c.throttled(),
            &Formula::Exponential(Exponential::THROTTLED_DEFAULT)
        );
        let c = cfg(json!({"throttled": {"kind": "exponential", "initial-ms": 3000}}));
        assert_eq!(
            c.throttled(),
            &Formula::Exponential(Exponential {
                initial_ms: 3000,
                ..Exponential::THROTTLED_DEFAULT
            })
        );
        let c = cfg(json!({"kind": "azure-c", "throttled": {"kind": "linear", "step-ms": 7}}));
        assert_eq!(
            c.throttled(),
            &Formula::Linear {
                initial_ms: 1000,
                step_ms: 7,
                max_ms: 60_000
            }
        );
    }

    #[test]
    fn accepted_edges() {
        let c = cfg(json!({"initial-ms": MAX_MS, "max-ms": MAX_MS, "max-delay-ms": MAX_MS}));
        assert_eq!(c.limits().max_delay_ms, MAX_MS);
        let c = cfg(json!({"multiplier": 1, "jitter": "symmetric", "jitter-percent": 100}));
        assert_eq!(
            c.kind(),
            &Kind::Retry(Formula::Exponential(Exponential {
                multiplier_permille: 1000,
                jitter: Jitter::Symmetric { percent: 100 },
                ..Exponential::DEFAULT
            }))
        );
        let c = cfg(json!({"multiplier": 10.0, "max-attempts": u32::MAX, "max-delay-ms": 0}));
        assert_eq!(c.limits().max_attempts, Some(u32::MAX));
        assert_eq!(
            retry(Schedule::new(c, 0).next(CurveSel::Normal, Some(9), 0, 0)),
            0
        );
        // Multipliers are kept to the thousandth.
        let c = cfg(json!({"multiplier": 1.6180339}));
        match c.kind() {
            Kind::Retry(Formula::Exponential(e)) => assert_eq!(e.multiplier_permille, 1618),
            other => panic!("{other:?}"),
        }
    }

    // ---- documentation -------------------------------------------------------------

    #[test]
    fn the_markdown_table_covers_every_kind_and_limit() {
        let md = describe_formulas_markdown();
        for name in kind_names() {
            assert_eq!(
                md.matches(&format!("| `{name}` |")).count(),
                1,
                "{name} missing from\n{md}"
            );
        }
        for field in LIMIT_FIELDS.iter().filter(|f| **f != "throttled") {
            assert!(md.contains(&format!("| `{field}` |")), "{field}");
        }
        for fact in [
            "144000",
            "uniform[80, 120]",
            "uniform[50, 75]",
            "uniform[2500, 3750]",
            "1.6^(k-1)",
            "30000",
        ] {
            assert!(md.contains(fact), "{fact} missing from\n{md}");
        }
        assert_eq!(permille_text(1600), "1.6");
        assert_eq!(permille_text(2000), "2");
        assert_eq!(permille_text(1005), "1.005");
    }

    // ---- properties ----------------------------------------------------------------

    fn arb_ms() -> BoxedStrategy<u64> {
        prop_oneof![Just(0_u64), 0..=100_000_u64, 0..=MAX_MS, Just(MAX_MS),].boxed()
    }

    fn arb_ordered() -> BoxedStrategy<(u64, u64)> {
        (arb_ms(), arb_ms())
            .prop_map(|(a, b)| (a.min(b), a.max(b)))
            .boxed()
    }

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    /// A valid plain-kind curve, as its JSON fields.
    fn arb_curve() -> BoxedStrategy<Map<String, Value>> {
        const JITTERS: [&str; 6] = ["full", "equal", "none", "symmetric", "upward", "phase"];
        prop_oneof![
            (
                arb_ordered(),
                1000_u32..=10_000,
                0_usize..6,
                0_u64..=100,
                any::<bool>()
            )
                .prop_map(|((lo, hi), permille, j, percent, first)| {
                    let initial = lo.max(1);
                    let mut m = obj(json!({
                        "kind": "exponential", "initial-ms": initial, "max-ms": hi.max(initial),
                        "multiplier": f64::from(permille) / 1000.0, "jitter": JITTERS[j],
                        "first-immediate": first
                    }));
                    if j == 3 || j == 4 {
                        m.insert("jitter-percent".into(), json!(percent));
                    }
                    m
                }),
            (arb_ms(), prop::option::of(arb_ms())).prop_map(|(interval, first)| obj(
                json!({"kind": "fixed", "interval-ms": interval, "first-ms": first})
            )),
            (arb_ordered(), arb_ms()).prop_map(|((lo, hi), step)| obj(
                json!({"kind": "linear", "initial-ms": lo, "max-ms": hi, "step-ms": step})
            )),
            Just(obj(json!({"kind": "immediate"}))),
            arb_ordered()
                .prop_map(|(lo, hi)| obj(json!({"kind": "random", "min-ms": lo, "max-ms": hi}))),
            arb_ordered().prop_map(|(lo, hi)| obj(json!({
                "kind": "decorrelated-jitter", "base-ms": lo.max(1), "max-ms": hi.max(1)
            }))),
        ]
        .boxed()
    }

    /// A valid policy document of any kind with any limits.
    fn arb_policy() -> BoxedStrategy<Value> {
        let kind = prop_oneof![
            arb_curve(),
            (0..PRESET_NAMES.len()).prop_map(|i| obj(json!({"kind": PRESET_NAMES[i]}))),
            Just(obj(json!({"kind": "no-retry"}))),
        ];
        let limits = (
            prop::option::of(1..=u32::MAX),
            prop::option::of(1..=MAX_MS),
            prop::option::of(arb_ms()),
            prop::option::of(arb_ms()),
            prop::option::of(arb_ms()),
            prop::option::of(arb_ordered()),
            prop::option::of(arb_curve()),
        );
        (kind, limits)
            .prop_map(
                |(
                    mut m,
                    (attempts, timeout, max_delay, min_interval, reset, retry_after, throttled),
                )| {
                    let mut put = |k: &str, v: Option<Value>| {
                        if let Some(v) = v {
                            m.insert(k.to_string(), v);
                        }
                    };
                    put("max-attempts", attempts.map(|a| json!(a)));
                    put("retry-timeout-ms", timeout.map(|a| json!(a)));
                    put("max-delay-ms", max_delay.map(|a| json!(a)));
                    put("min-interval-ms", min_interval.map(|a| json!(a)));
                    put("reset-after-ms", reset.map(|a| json!(a)));
                    put("retry-after-min-ms", retry_after.map(|(lo, _)| json!(lo)));
                    put("retry-after-max-ms", retry_after.map(|(_, hi)| json!(hi)));
                    put("throttled", throttled.map(Value::Object));
                    Value::Object(m)
                },
            )
            .boxed()
    }

    fn arb_big() -> BoxedStrategy<u64> {
        prop_oneof![
            0..=1_000_000_u64,
            any::<u64>(),
            (u64::MAX - 1_000_000)..=u64::MAX,
        ]
        .boxed()
    }

    fn arb_step() -> impl Strategy<Value = (bool, Option<u64>, u64, u64)> {
        (
            any::<bool>(),
            prop::option::of(arb_big()),
            arb_big(),
            arb_big(),
        )
    }

    proptest! {
        #[test]
        fn any_valid_policy_obeys_its_limits(
            doc in arb_policy(),
            seed: u64,
            start in prop_oneof![0..=100_u32, any::<u32>(), Just(u32::MAX)],
            steps in prop::collection::vec(arb_step(), 1..8),
        ) {
            let c = parse_policy(&doc, "policy");
            prop_assert!(c.is_ok(), "{doc}: {:?}", c);
            let c = c.unwrap();
            let l = *c.limits();
            let mut s = Schedule::new(c.clone(), seed);
            let mut twin = Schedule::new(c.clone(), seed);
            s.set_attempts(start);
            twin.set_attempts(start);
            for (throttled, hint, elapsed, took) in steps {
                let sel = if throttled { CurveSel::Throttled } else { CurveSel::Normal };
                let (decision, curve) = s.next(sel, hint, elapsed, took);
                prop_assert_eq!((decision, curve), twin.next(sel, hint, elapsed, took));
                let k = s.attempts();
                prop_assert_eq!(k, start.saturating_add(1).max(k));
                let want_curve = match (hint, sel) {
                    (Some(_), _) => Curve::ServerHint,
                    (None, CurveSel::Normal) => Curve::Normal,
                    (None, CurveSel::Throttled) => Curve::Throttled,
                };
                prop_assert_eq!(curve, want_curve);
                match decision {
                    Decision::RetryAfter(d) => {
                        prop_assert!(!s.is_no_retry());
                        prop_assert!(d <= l.max_delay_ms, "{d} > {}", l.max_delay_ms);
                        if let Some(t) = l.retry_timeout_ms {
                            prop_assert!(elapsed.saturating_add(d) <= t);
                        }
                        if let Some(max) = l.max_attempts {
                            prop_assert!(k <= max);
                        }
                        if let Some(h) = hint {
                            let floor = l.min_interval_ms.saturating_sub(took);
                            let want = h.max(l.retry_after_min_ms).min(l.retry_after_max_ms);
                            prop_assert_eq!(d, want.max(floor).min(l.max_delay_ms));
                        } else {
                            prop_assert!(
                                d >= l.min_interval_ms.saturating_sub(took).min(l.max_delay_ms)
                            );
                        }
                    }
                    Decision::GiveUp(GiveUpReason::NoRetry) => prop_assert!(s.is_no_retry()),
                    Decision::GiveUp(GiveUpReason::MaxAttempts) => {
                        prop_assert!(l.max_attempts.is_some_and(|m| k > m));
                    }
                    Decision::GiveUp(GiveUpReason::RetryTimeout) => {
                        prop_assert!(l.retry_timeout_ms.is_some());
                    }
                    Decision::GiveUp(GiveUpReason::Unrecoverable | GiveUpReason::Plugin) => {
                        prop_assert!(false, "a schedule never decides unrecoverable or plugin");
                    }
                }
            }
        }

        #[test]
        fn exponential_base_never_decreases(
            permille in 1000_u32..=10_000,
            initial in 1..=MAX_MS,
            extra in arb_ms(),
            a: u32,
            b: u32,
        ) {
            let max = initial.saturating_add(extra).min(MAX_MS);
            let (lo, hi) = (a.min(b), a.max(b));
            let e = Exponential {
                initial_ms: initial,
                multiplier_permille: permille,
                max_ms: max,
                jitter: Jitter::None,
                first_immediate: false,
            };
            prop_assert_eq!(e.base(0), initial);
            prop_assert!(e.base(lo) <= e.base(hi), "n={lo}: {} > n={hi}: {}", e.base(lo), e.base(hi));
            prop_assert!(e.base(hi) <= max);
            prop_assert!(e.base(lo.saturating_add(1)) >= e.base(lo));
        }

        #[test]
        fn exponential_schedule_without_jitter_never_decreases(
            permille in 1000_u32..=10_000,
            (lo_ms, hi_ms) in arb_ordered(),
            a: u32,
            b: u32,
        ) {
            let initial = lo_ms.max(1);
            let c = cfg(json!({
                "initial-ms": initial, "max-ms": hi_ms.max(initial),
                "multiplier": f64::from(permille) / 1000.0, "jitter": "none",
                "max-delay-ms": MAX_MS
            }));
            let (ka, kb) = (a.min(b).max(1), a.max(b).max(1));
            prop_assert!(delay_at(&c, 0, ka, CurveSel::Normal) <= delay_at(&c, 0, kb, CurveSel::Normal));
        }

        #[test]
        fn exponential_base_agrees_with_floating_point(
            permille in 1000_u32..=10_000,
            initial in 1..=1_000_000_u64,
            n in 0_u32..200,
        ) {
            let ours = exponential_base(initial, permille, MAX_MS, n);
            let float = (initial as f64 * (f64::from(permille) / 1000.0).powi(n as i32))
                .min(MAX_MS as f64);
            let diff = (ours as f64 - float).abs();
            prop_assert!(diff <= 1.0 + float * 1e-9, "ours {ours}, float {float}");
        }
    }
}
