//! Metered-cellular policy: a daily budget of connection attempts, never exceeded.
//!
//! On a metered link every attempt costs data (a TLS handshake and an MQTT
//! CONNECT are a few kilobytes), so a device gets `budget-per-day` reconnect
//! attempts in any 24 hours, counted over a sliding window, not per calendar day.
//!
//! How the budget is kept without trusting memory: the day is cut into
//! `budget-per-day` slots of `86,400,000 / budget-per-day` ms on the engine's
//! clock (shifted by `phase-ms`, which a fleet sets per device to spread out), and
//! every retry is placed exactly on a slot start strictly after the decision. Any
//! 24-hour interval holds exactly `budget-per-day` slot starts, and a retry is
//! decided only after the previous attempt failed (so after its slot started):
//! no two retries share a slot, and the budget holds whatever the plugin
//! remembers. A fresh instance after a fault keeps the guarantee.
//!
//! Spent carefully: a long outage must not burn the day's budget. The wait grows
//! with the outage: the fallback's backoff (or the server's retry-after) is the
//! least wait, and after `patient-after` failures in a row the plugin skips
//! slots, doubling the gap up to `max-skip` slots.
//!
//! Params (integers): `budget-per-day` (default 96: one attempt per 15 min at
//! most), `phase-ms` (0), `patient-after` (4), `max-skip` (8).
#![cfg_attr(target_arch = "wasm32", no_std)]
// No `forbid(unsafe_code)`: the export glue `plugin!` expands here needs it; the
// workspace still denies unsafe code in everything written by hand.

use tether_plugin_sdk::{Decision, Input, Policy, param_u64};

/// 24 hours, in ms.
pub const DAY_MS: u64 = 86_400_000;

/// The budget's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Attempts allowed in any 24 hours.
    pub per_day: u64,
    /// Where this device's slots start within a slot length.
    pub phase_ms: u64,
    /// Failures in a row before slots are skipped.
    pub patient_after: u64,
    /// The most slots skipped between two attempts.
    pub max_skip: u64,
}

impl Budget {
    /// Read from `params`; out-of-range values take the defaults.
    pub fn from_params(params: &str) -> Self {
        let per_day = param_u64(params, "budget-per-day")
            .filter(|b| (1..=DAY_MS).contains(b))
            .unwrap_or(96);
        Self {
            per_day,
            phase_ms: param_u64(params, "phase-ms").unwrap_or(0),
            patient_after: param_u64(params, "patient-after").unwrap_or(4),
            max_skip: param_u64(params, "max-skip")
                .filter(|s| (1..=1_000).contains(s))
                .unwrap_or(8),
        }
    }

    /// The length of one slot.
    pub fn slot_ms(&self) -> u64 {
        DAY_MS.checked_div(self.per_day).unwrap_or(DAY_MS)
    }

    /// The first slot start strictly after `t`.
    pub fn next_slot_after(&self, t: u64) -> u64 {
        let slot = self.slot_ms();
        let phase = self.phase_ms.checked_rem(slot).unwrap_or(0);
        if t < phase {
            return phase;
        }
        let k = (t.saturating_sub(phase)).checked_div(slot).unwrap_or(0);
        phase.saturating_add(k.saturating_add(1).saturating_mul(slot))
    }
}

/// The policy.
pub struct MeteredCellular;

impl Policy for MeteredCellular {
    fn decide(input: &Input) -> Decision {
        let b = Budget::from_params(&input.params);
        let Some(pace) = input.pace_ms() else {
            return Decision::GiveUp;
        };
        // After `patient-after` failures in a row, skip 1, 2, 4... slots.
        let beyond = u64::from(input.consecutive_failures).saturating_sub(b.patient_after);
        let skip = if beyond == 0 {
            0
        } else {
            1u64.checked_shl(
                u32::try_from(beyond.saturating_sub(1))
                    .unwrap_or(63)
                    .min(63),
            )
            .unwrap_or(u64::MAX)
            .min(b.max_skip)
        };
        let earliest = input
            .now_ms
            .saturating_add(pace)
            .saturating_add(skip.saturating_mul(b.slot_ms()));
        // The slot start at or after `earliest`, but strictly after now.
        let at = b.next_slot_after(earliest.saturating_sub(1).max(input.now_ms));
        Decision::RetryAfter(at.saturating_sub(input.now_ms))
    }
}

tether_plugin_sdk::plugin!(MeteredCellular);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::arithmetic_side_effects, clippy::panic)]
    use super::*;

    fn input(now_ms: u64, failures: u32) -> Input {
        Input {
            attempt: failures,
            consecutive_failures: failures,
            now_ms,
            ..Input::example(r#"{"budget-per-day":24,"phase-ms":120000}"#)
        }
    }

    #[test]
    fn retries_land_on_distinct_slot_starts() {
        let b = Budget::from_params(&input(0, 1).params);
        assert_eq!(b.slot_ms(), 3_600_000);
        let mut now = 0;
        let mut last = None;
        for failures in 1..200 {
            let Decision::RetryAfter(d) = MeteredCellular::decide(&input(now, failures)) else {
                panic!("gave up")
            };
            let at = now + d;
            assert_eq!((at - 120_000) % 3_600_000, 0, "on a slot start");
            assert!(last.is_none_or(|l| at > l), "a new slot each time");
            last = Some(at);
            now = at + 30_000; // the attempt takes 30 s, then fails
        }
    }
}
