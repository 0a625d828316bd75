//! Satellite-window policy: the link exists only while a satellite is overhead.
//!
//! Passes recur every `period-ms` on the engine's clock: window k is open from
//! `offset-ms + k * period-ms` for `open-ms`. A retry outside a window is wasted
//! radio time (and, on many terminals, money), so every retry is placed inside a
//! window:
//!
//! - the earliest moment to retry is now plus the pace: the built-in fallback's
//!   delay (its backoff curve), or the server's retry-after if that is longer;
//! - if that moment falls inside a window (and at least `guard-ms` before it
//!   closes), retry then;
//! - otherwise retry in the next window, at a random point of its first half so a
//!   fleet under the same satellite does not transmit at once.
//!
//! Stateless: every decision is a function of its input, so a fresh instance
//! after a fault decides exactly as the old one would have. A window further away
//! than `max-delay-ms` cannot be reached in one wait; the plugin then answers with
//! the distance anyway and the engine, refusing it, falls back (configure
//! `max-delay-ms` of at least `period-ms`).
//!
//! Params (integers, ms): `period-ms` (default 5,400,000: a 90-minute low orbit),
//! `open-ms` (600,000), `offset-ms` (0), `guard-ms` (5,000).
#![cfg_attr(target_arch = "wasm32", no_std)]
// No `forbid(unsafe_code)`: the export glue `plugin!` expands here needs it; the
// workspace still denies unsafe code in everything written by hand.

use tether_plugin_sdk::{Decision, Input, Policy, param_u64, uniform_below};

/// The pass schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    /// Time between the starts of two passes.
    pub period_ms: u64,
    /// How long each pass lasts.
    pub open_ms: u64,
    /// Start of the first pass on the engine's clock.
    pub offset_ms: u64,
    /// No retry this close to a window's end: the attempt needs time to finish.
    pub guard_ms: u64,
}

impl Windows {
    /// Read from `params`, with the defaults above; nonsense (a window longer
    /// than its period, a zero period) falls back to the defaults.
    pub fn from_params(params: &str) -> Self {
        let w = Self {
            period_ms: param_u64(params, "period-ms").unwrap_or(5_400_000),
            open_ms: param_u64(params, "open-ms").unwrap_or(600_000),
            offset_ms: param_u64(params, "offset-ms").unwrap_or(0),
            guard_ms: param_u64(params, "guard-ms").unwrap_or(5_000),
        };
        if w.period_ms == 0 || w.open_ms == 0 || w.open_ms > w.period_ms || w.guard_ms >= w.open_ms
        {
            return Self::from_params("{}");
        }
        w
    }

    /// The start of the window containing `t`, or of the next one.
    fn window_at_or_after(&self, t: u64) -> (u64, bool) {
        if t < self.offset_ms {
            return (self.offset_ms, false);
        }
        let since = t.saturating_sub(self.offset_ms);
        let k = since.checked_div(self.period_ms).unwrap_or(0);
        let start = self
            .offset_ms
            .saturating_add(k.saturating_mul(self.period_ms));
        let usable_end = start
            .saturating_add(self.open_ms)
            .saturating_sub(self.guard_ms);
        if t < usable_end {
            (start, true)
        } else {
            (start.saturating_add(self.period_ms), false)
        }
    }

    /// Whether `t` is inside a window's usable part.
    pub fn usable(&self, t: u64) -> bool {
        self.window_at_or_after(t).1
    }
}

/// The policy.
pub struct SatelliteWindow;

impl Policy for SatelliteWindow {
    fn decide(input: &Input) -> Decision {
        let w = Windows::from_params(&input.params);
        let Some(pace) = input.pace_ms() else {
            return Decision::GiveUp;
        };
        let earliest = input.now_ms.saturating_add(pace);
        let (start, inside) = w.window_at_or_after(earliest);
        let at = if inside {
            earliest
        } else {
            let half = w.open_ms.saturating_sub(w.guard_ms) / 2;
            start.saturating_add(uniform_below(input.random, half.max(1)))
        };
        Decision::RetryAfter(at.saturating_sub(input.now_ms))
    }
}

tether_plugin_sdk::plugin!(SatelliteWindow);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::arithmetic_side_effects, clippy::panic)]
    use super::*;

    fn input(now_ms: u64, fallback: u64, random: u64) -> Input {
        Input {
            random,
            now_ms,
            fallback: Decision::RetryAfter(fallback),
            ..Input::example(r#"{"period-ms":100000,"open-ms":20000,"offset-ms":50000}"#)
        }
    }

    #[test]
    fn inside_a_window_the_fallback_pace_is_kept() {
        assert_eq!(
            SatelliteWindow::decide(&input(51_000, 2_000, 0)),
            Decision::RetryAfter(2_000)
        );
    }

    #[test]
    fn outside_a_window_the_retry_moves_into_the_next_one() {
        for random in [0, u64::MAX / 3, u64::MAX] {
            for now in [0u64, 49_999, 66_000, 70_000, 140_000] {
                let Decision::RetryAfter(d) = SatelliteWindow::decide(&input(now, 1_000, random))
                else {
                    panic!("gave up")
                };
                let w = Windows::from_params(&input(0, 0, 0).params);
                assert!(w.usable(now + d), "now={now} delay={d}");
            }
        }
    }

    #[test]
    fn nonsense_params_fall_back_to_defaults() {
        let w = Windows::from_params(r#"{"period-ms":10,"open-ms":20}"#);
        assert_eq!(w, Windows::from_params("{}"));
    }
}
