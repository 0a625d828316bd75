//! The presets: fixed formulas reproducing the Azure IoT SDKs', gRPC's and AWS
//! CRT's reconnect backoff, with the constants the documentation table prints.

use crate::rng::Rng;
use crate::types::Millis;

use super::maths::{exponential_base, percent_of, pow2};

pub(super) const AZURE_C_INITIAL_MS: Millis = Millis::from_ms(1_000);
pub(super) const AZURE_C_MAX_MS: Millis = Millis::from_ms(30_000);
pub(super) const AZURE_C_JITTER_PERCENT: u64 = 5;
pub(super) const AZURE_DOTNET_MIN_MS: Millis = Millis::from_ms(100);
pub(super) const AZURE_DOTNET_MAX_MS: Millis = Millis::from_ms(10_000);
pub(super) const AZURE_DOTNET_R_MS: (Millis, Millis) = (Millis::from_ms(80), Millis::from_ms(120));
pub(super) const AZURE_DOTNET_MIN_INTERVAL_MS: Millis = Millis::from_ms(1_000);
pub(super) const AZURE_JAVA_MIN_MS: Millis = Millis::from_ms(100);
pub(super) const AZURE_JAVA_MAX_MS: Millis = Millis::from_ms(10_000);
pub(super) const AZURE_JAVA_R_MS: (Millis, Millis) = (Millis::from_ms(80), Millis::from_ms(119));
pub(super) const AZURE_PYTHON_FIRST_MS: Millis = Millis::from_ms(10);
pub(super) const AZURE_PYTHON_INTERVAL_MS: Millis = Millis::from_ms(10_000);
pub(super) const GRPC_INITIAL_MS: Millis = Millis::from_ms(1_000);
pub(super) const GRPC_MULTIPLIER_PERMILLE: u32 = 1_600;
pub(super) const GRPC_MAX_MS: Millis = Millis::from_ms(120_000);
pub(super) const GRPC_JITTER_PERCENT: u64 = 20;
pub(super) const GRPC_MAX_DELAY_MS: Millis = Millis::from_ms(144_000);
pub(super) const AWS_CRT_INITIAL_MS: Millis = Millis::from_ms(1_000);
pub(super) const AWS_CRT_MAX_MS: Millis = Millis::from_ms(120_000);

pub(super) const PRESET_NAMES: [&str; 7] = [
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
        c_ms: Millis::from_ms(100),
        c_min_ms: Millis::from_ms(100),
        c_max_ms: Millis::from_ms(10_000),
    };

    /// The Node SDK's throttled curve.
    pub const THROTTLED: Self = Self {
        c_ms: Millis::from_ms(5_000),
        c_min_ms: Millis::from_ms(10_000),
        c_max_ms: Millis::from_ms(60_000),
    };

    /// The jitter range `[c * (1 - jd), c * (1 - ju)]` with `jd = 0.5`, `ju = 0.25`.
    pub(super) fn range(&self) -> (Millis, Millis) {
        (
            self.c_ms.checked_div(2).unwrap_or(Millis::ZERO),
            self.c_ms
                .saturating_mul(3)
                .checked_div(4)
                .unwrap_or(Millis::ZERO),
        )
    }
}

// The preset formulas, each with `n = k - 1`.

/// The C SDK computes in whole seconds (its timer has a 1 s grain); tether keeps
/// the milliseconds, so the jitter is not lost to truncation.
pub(super) fn azure_c(n: u32, rng: &mut Rng) -> Millis {
    if n == 0 {
        return Millis::ZERO;
    }
    let base = AZURE_C_INITIAL_MS
        .saturating_mul(pow2(n.saturating_sub(1)))
        .min(AZURE_C_MAX_MS);
    base.saturating_add(rng.millis_up_to(percent_of(base, AZURE_C_JITTER_PERCENT)))
}

/// .NET draws r with `Random.Next(80, 120)`, whose upper bound is exclusive;
/// tether includes 120 as the SDK documents `rand(0.8d, 1.2d)`.
pub(super) fn azure_dotnet(n: u32, rng: &mut Rng) -> Millis {
    let r = rng.millis_between(AZURE_DOTNET_R_MS.0, AZURE_DOTNET_R_MS.1);
    r.saturating_mul(pow2(n).saturating_sub(1))
        .saturating_add(AZURE_DOTNET_MIN_MS)
        .min(AZURE_DOTNET_MAX_MS)
}

pub(super) fn azure_java(n: u32, rng: &mut Rng) -> Millis {
    if n == 0 {
        return Millis::ZERO;
    }
    let r = rng.millis_between(AZURE_JAVA_R_MS.0, AZURE_JAVA_R_MS.1);
    r.saturating_mul(pow2(n).saturating_sub(1))
        .saturating_add(AZURE_JAVA_MIN_MS)
        .min(AZURE_JAVA_MAX_MS)
}

/// The shipped Node code drops the `c * (1 - jd)` term, leaving a jitter of only
/// [0, c/4); tether reproduces the documented formula.
pub(super) fn azure_node(curve: NodeCurve, n: u32, rng: &mut Rng) -> Millis {
    let (lo, hi) = curve.range();
    let r = rng.millis_between(lo, hi);
    r.saturating_mul(pow2(n).saturating_sub(1))
        .saturating_add(curve.c_min_ms)
        .min(curve.c_max_ms)
}

pub(super) fn azure_python(k: u32) -> Millis {
    if k <= 1 {
        AZURE_PYTHON_FIRST_MS
    } else {
        AZURE_PYTHON_INTERVAL_MS
    }
}

/// gRPC jitters after the cap, so a delay reaches 120 s * 1.2 = 144 s.
pub(super) fn grpc(n: u32, rng: &mut Rng) -> Millis {
    let d = exponential_base(GRPC_INITIAL_MS, GRPC_MULTIPLIER_PERMILLE, GRPC_MAX_MS, n);
    let spread = percent_of(d, GRPC_JITTER_PERCENT);
    rng.millis_between(d.saturating_sub(spread), d.saturating_add(spread))
}

pub(super) fn aws_crt(n: u32, rng: &mut Rng) -> Millis {
    rng.millis_up_to(
        AWS_CRT_INITIAL_MS
            .saturating_mul(pow2(n))
            .min(AWS_CRT_MAX_MS),
    )
}
