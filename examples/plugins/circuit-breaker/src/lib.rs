//! Circuit-breaker policy: stop hammering a hub that keeps refusing.
//!
//! Closed (fewer than `failure-threshold` failed attempts in a row): the built-in
//! fallback decides, so short blips are handled by the normal backoff. Open (the
//! threshold reached): the hub is treated as down, and the device sends one probe
//! per cool-down instead of following the backoff curve. The cool-down starts at
//! `open-ms` and doubles with every failed probe up to `max-open-ms`, with +-10%
//! jitter so a fleet's probes spread out. A probe that connects closes the
//! breaker (the engine resets the failure count when a link comes up). A server's
//! retry-after longer than the cool-down is honoured.
//!
//! Stateless: the state is read from `consecutive-failures`, so a fresh instance
//! after a fault is in the same state. A real fleet wants this when a hub is
//! decommissioned or a credential is revoked at the service: without it every
//! device retries forever at its backoff cap.
//!
//! Params (integers): `failure-threshold` (default 5), `open-ms` (300,000),
//! `max-open-ms` (3,600,000).
#![cfg_attr(target_arch = "wasm32", no_std)]
// No `forbid(unsafe_code)`: the export glue `plugin!` expands here needs it; the
// workspace still denies unsafe code in everything written by hand.

use tether_plugin_sdk::{Decision, Input, Policy, param_u64, uniform_below};

/// The breaker's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Breaker {
    /// Failures in a row that open the breaker.
    pub threshold: u64,
    /// The first cool-down.
    pub open_ms: u64,
    /// The longest cool-down.
    pub max_open_ms: u64,
}

impl Breaker {
    /// Read from `params`, with the defaults above.
    pub fn from_params(params: &str) -> Self {
        let open_ms = param_u64(params, "open-ms")
            .filter(|o| *o > 0)
            .unwrap_or(300_000);
        Self {
            threshold: param_u64(params, "failure-threshold")
                .filter(|t| *t > 0)
                .unwrap_or(5),
            open_ms,
            max_open_ms: param_u64(params, "max-open-ms")
                .unwrap_or(3_600_000)
                .max(open_ms),
        }
    }

    /// The cool-down after `failures` failures in a row, before jitter, or
    /// `None` while the breaker is closed.
    pub fn cool_down(&self, failures: u64) -> Option<u64> {
        let probes = failures.checked_sub(self.threshold)?;
        let doubled = self.open_ms.saturating_mul(
            1u64.checked_shl(u32::try_from(probes).unwrap_or(63).min(63))
                .unwrap_or(u64::MAX),
        );
        Some(doubled.min(self.max_open_ms))
    }
}

/// The policy.
pub struct CircuitBreaker;

impl Policy for CircuitBreaker {
    fn decide(input: &Input) -> Decision {
        let b = Breaker::from_params(&input.params);
        let Some(cool) = b.cool_down(u64::from(input.consecutive_failures)) else {
            return input.fallback;
        };
        // +-10%: cool * (0.9 + 0.2 * u).
        let spread = cool / 5;
        let base = cool.saturating_sub(cool / 10);
        let delay = base.saturating_add(uniform_below(input.random, spread.saturating_add(1)));
        Decision::RetryAfter(
            delay
                .max(input.retry_after_ms.unwrap_or(0))
                .min(input.max_delay_ms),
        )
    }
}

tether_plugin_sdk::plugin!(CircuitBreaker);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_cool_down_opens_at_the_threshold_and_doubles_to_the_cap() {
        let b =
            Breaker::from_params(r#"{"failure-threshold":3,"open-ms":1000,"max-open-ms":5000}"#);
        assert_eq!(b.cool_down(2), None);
        assert_eq!(b.cool_down(3), Some(1_000));
        assert_eq!(b.cool_down(4), Some(2_000));
        assert_eq!(b.cool_down(5), Some(4_000));
        assert_eq!(b.cool_down(6), Some(5_000));
        assert_eq!(b.cool_down(u64::MAX), Some(5_000));
    }
}
