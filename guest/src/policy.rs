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

use crate::json::{Obj, describe};
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

const DEFAULT_MULTIPLIER_PERMILLE: u32 = 2_000;
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
    /// Uniform in `[0, d]` ("full jitter"): the best spread for a crowd of devices.
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
    /// Retry once at once, then follow the curve from its start.
    pub first_immediate: bool,
}

impl Exponential {
    /// tether's normal curve: 1 s doubling to 60 s, full jitter.
    pub const DEFAULT: Self = Self {
        initial_ms: 1_000,
        multiplier_permille: DEFAULT_MULTIPLIER_PERMILLE,
        max_ms: 60_000,
        jitter: Jitter::Full,
        first_immediate: false,
    };

    /// tether's throttled curve: 5 s doubling to 120 s, equal jitter, so a throttled
    /// device never comes back sooner than half the curve.
    pub const THROTTLED_DEFAULT: Self = Self {
        initial_ms: 5_000,
        multiplier_permille: DEFAULT_MULTIPLIER_PERMILLE,
        max_ms: 120_000,
        jitter: Jitter::Equal,
        first_immediate: false,
    };

    /// The curve before jitter at index `n` (`n = 0` for the first delay):
    /// `min(initial * multiplier^n, max)`, rounded to the nearest millisecond.
    pub fn base(&self, n: u32) -> Millis {
        exponential_base(self.initial_ms, self.multiplier_permille, self.max_ms, n)
    }

    fn delay(&self, k: u32, rng: &mut Rng) -> Millis {
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
    fn delay(&self, k: u32, rng: &mut Rng, prev: &mut Option<Millis>) -> Millis {
        let n = k.saturating_sub(1);
        match *self {
            Formula::Exponential(e) => e.delay(k, rng),
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

/// A validated retry policy: a kind, a throttled curve and limits.
///
/// Built by [`parse_policy`] or [`PolicyConfig::default`]; there is no other way to
/// make one, so every `PolicyConfig` has passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyConfig {
    kind: Kind,
    throttled: Formula,
    limits: Limits,
}

impl Default for PolicyConfig {
    /// tether's default policy, the same as an empty `policy` object.
    ///
    /// # Defaults
    ///
    /// - normal curve: exponential, 1 s doubling to 60 s, full jitter;
    /// - throttled curve: exponential, 5 s doubling to 120 s, equal jitter;
    /// - no attempt or time limit; delays capped at 1 h; no minimum interval;
    /// - backoff starts over after a link held 30 s;
    /// - server retry-after honoured within [1 s, 10 min].
    fn default() -> Self {
        Self {
            kind: Kind::Retry(Formula::Exponential(Exponential::DEFAULT)),
            throttled: Formula::Exponential(Exponential::THROTTLED_DEFAULT),
            limits: Limits::DEFAULT,
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

    /// The configured `kind` value.
    pub fn name(&self) -> &'static str {
        self.kind.name()
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
#[derive(Clone, Debug)]
pub struct Schedule {
    cfg: PolicyConfig,
    rng: Rng,
    attempts: u32,
    prev_normal: Option<Millis>,
    prev_throttled: Option<Millis>,
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
            (None, CurveSel::Normal) => formula.delay(k, &mut self.rng, &mut self.prev_normal),
            (None, CurveSel::Throttled) => {
                self.cfg
                    .throttled
                    .delay(k, &mut self.rng, &mut self.prev_throttled)
            }
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
        _ => return None,
    })
}

/// Read a `policy` object (found at `path`, for example `"policy"`) into a
/// validated [`PolicyConfig`]. Every error names the offending field's path; unknown
/// fields are refused.
pub fn parse_policy(v: &Value, path: &str) -> Result<PolicyConfig, ConfigError> {
    let mut o = Obj::new(v, path)?;
    let kind = match read_kind(&mut o)? {
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
                "unknown kind {}; expected one of: {}",
                describe(&Value::String(name.into())),
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
    match FORMULA_FIELDS
        .iter()
        .find(|f| map.get(**f).is_some_and(|x| !x.is_null()))
    {
        Some(field) => Err(o.error(field, message)),
        None => Ok(()),
    }
}

fn read_throttled(v: &Value, path: &str) -> Result<Formula, ConfigError> {
    let mut t = Obj::new(v, path)?;
    if let Some(map) = v.as_object()
        && let Some(field) = LIMIT_FIELDS
            .iter()
            .find(|f| map.get(**f).is_some_and(|x| !x.is_null()))
    {
        return Err(t.error(
            field,
            "limits apply to the whole policy: set them next to \"throttled\", not inside it",
        ));
    }
    let formula = match read_kind(&mut t)? {
        Sel::Plain(plain) => read_formula(&mut t, plain, Ctx::Throttled)?,
        Sel::Preset(..) | Sel::NoRetry => {
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
            let (min_ms, max_ms) =
                ordered(o, ("min-ms", min, RANDOM_MIN_MS), ("max-ms", max, RANDOM_MAX_MS))?;
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
        Some(other) => {
            return Err(o.error(
                "jitter",
                format!(
                    "unknown jitter {}; expected one of: full, equal, none, symmetric, upward",
                    describe(&Value::String(other.into()))
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
    let first_immediate = o.bool("first-immediate")?.unwrap_or(defaults.first_immediate);
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
    Ok(Some(permille.clamp(MIN_MULTIPLIER_PERMILLE, MAX_MULTIPLIER_PERMILLE)))
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
             `[0, d]`, `equal` `[d/2, d]`, `none` `d`, `symmetric` `d` +- `jitter-percent`%, \
             `upward` `[d, d + jitter-percent%]`. With `first-immediate`, retry 1 waits 0 \
             and retry k waits what k-1 would have"
                .into(),
            format!(
                "the default kind; initial-ms {}, multiplier {} (1 to 10, to 0.001), max-ms {}, \
                 jitter `full`, jitter-percent {DEFAULT_JITTER_PERCENT}, first-immediate false",
                e.initial_ms,
                permille_text(e.multiplier_permille),
                e.max_ms
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
         jitter `equal` (azure-node: its own throttled curve).",
        t.initial_ms,
        permille_text(t.multiplier_permille),
        t.max_ms
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
        "Order: a server retry-after (clamped) replaces the curve; the delay is raised to what \
         is left of min-interval-ms, then capped at max-delay-ms; then the attempt and time \
         limits apply. Every duration is an integer number of milliseconds, at most {MAX_MS}."
    );
    s
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
