//! The curves: the plain kinds' formulas with their defaults, the dispatch to the
//! presets, and the saturating integer maths they share.

use crate::phase::{CurveCache, PhaseState};
use crate::rng::Rng;
use crate::types::Millis;

use super::maths::{exponential_base, percent_of};
use super::presets::{self, NodeCurve};

// The plain kinds' defaults; the parser and the documentation table read them.
const DEFAULT_MULTIPLIER_PERMILLE: u32 = 3_000;
pub(super) const DEFAULT_JITTER_PERCENT: u8 = 20;
pub(super) const FIXED_INTERVAL_MS: Millis = Millis::from_ms(10_000);
pub(super) const LINEAR_INITIAL_MS: Millis = Millis::from_ms(1_000);
pub(super) const LINEAR_STEP_MS: Millis = Millis::from_ms(1_000);
pub(super) const LINEAR_MAX_MS: Millis = Millis::from_ms(60_000);
pub(super) const RANDOM_MIN_MS: Millis = Millis::from_ms(0);
pub(super) const RANDOM_MAX_MS: Millis = Millis::from_ms(10_000);
pub(super) const DECORRELATED_BASE_MS: Millis = Millis::from_ms(1_000);
pub(super) const DECORRELATED_MAX_MS: Millis = Millis::from_ms(60_000);

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
        initial_ms: Millis::from_secs(1),
        multiplier_permille: DEFAULT_MULTIPLIER_PERMILLE,
        max_ms: Millis::from_secs(55),
        jitter: Jitter::Phase,
        first_immediate: false,
    };

    /// tether's throttled curve: the normal curve started at 5 s (a throttled
    /// device waits at least 5 s), growing x3, flat at one retry every 55 s. After
    /// a long outage both curves are flat, so a hub's refusals never push a device
    /// further out than its normal period.
    pub const THROTTLED_DEFAULT: Self = Self {
        initial_ms: Millis::from_secs(5),
        multiplier_permille: DEFAULT_MULTIPLIER_PERMILLE,
        max_ms: Millis::from_secs(55),
        jitter: Jitter::Phase,
        first_immediate: false,
    };

    /// The curve before jitter at index `n` (`n = 0` for the first delay):
    /// `min(initial * multiplier^n, max)`, rounded to the nearest millisecond.
    pub fn base(&self, n: u32) -> Millis {
        exponential_base(self.initial_ms, self.multiplier_permille, self.max_ms, n)
    }

    fn delay(&self, k: u32, rng: &mut Rng, phase: &mut PhaseState, cache: &CurveCache) -> Millis {
        if self.jitter == Jitter::Phase {
            let k = if self.first_immediate {
                if k <= 1 {
                    return Millis::ZERO;
                }
                k.saturating_sub(1)
            } else {
                k
            };
            // The phase is drawn once per outage, shared by both curves.
            return phase.delay(
                cache,
                (self.initial_ms, self.multiplier_permille, self.max_ms),
                k,
                || (rng.next_u64() >> 32) as u32,
            );
        }
        let n = if self.first_immediate {
            if k <= 1 {
                return Millis::ZERO;
            }
            k.saturating_sub(2)
        } else {
            k.saturating_sub(1)
        };
        let d = self.base(n);
        match self.jitter {
            Jitter::Full => rng.millis_up_to(d),
            Jitter::Equal => {
                let half = d.checked_div(2).unwrap_or(Millis::ZERO);
                half.saturating_add(rng.millis_up_to(d.saturating_sub(half)))
            }
            Jitter::None => d,
            Jitter::Symmetric { percent } => {
                let spread = percent_of(d, u64::from(percent));
                rng.millis_between(d.saturating_sub(spread), d.saturating_add(spread))
            }
            Jitter::Upward { percent } => {
                d.saturating_add(rng.millis_up_to(percent_of(d, u64::from(percent))))
            }
            // Handled above.
            Jitter::Phase => d,
        }
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
    /// only by decorrelated jitter; `cache` the phase curve's constants.
    pub(super) fn delay(
        &self,
        k: u32,
        rng: &mut Rng,
        prev: &mut Option<Millis>,
        phase: &mut PhaseState,
        cache: &CurveCache,
    ) -> Millis {
        let n = k.saturating_sub(1);
        match *self {
            Formula::Exponential(e) => e.delay(k, rng, phase, cache),
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
            Formula::Immediate => Millis::ZERO,
            Formula::Random { min_ms, max_ms } => rng.millis_between(min_ms, max_ms),
            Formula::DecorrelatedJitter { base_ms, max_ms } => {
                let upper = prev.unwrap_or(base_ms).saturating_mul(3);
                let d = rng.millis_between(base_ms, upper).min(max_ms);
                *prev = Some(d);
                d
            }
            Formula::AzureC => presets::azure_c(n, rng),
            Formula::AzureDotnet => presets::azure_dotnet(n, rng),
            Formula::AzureJava => presets::azure_java(n, rng),
            Formula::AzureNode(curve) => presets::azure_node(curve, n, rng),
            Formula::AzurePython => presets::azure_python(k),
            Formula::Grpc => presets::grpc(n, rng),
            Formula::AwsCrt => presets::aws_crt(n, rng),
        }
    }
}
