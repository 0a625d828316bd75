//! The world outside the devices: a hub with a connection rate limit and a
//! provisioning service with its own. Neither decides anything for a device: they
//! only answer its requests, as a real service would, after a latency.
//!
//! Requests are answered in (time, device) order, so the answers do not depend on
//! how the devices are spread over component instances or threads.

use super::scenario::{Failures, RetryAfter, Scenario};
use tether_host::Failure;

/// A request a device made through one of its imports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Request {
    /// When it was made.
    pub(crate) at: u64,
    /// The device (global index).
    pub(crate) device: u32,
    /// What it asked for.
    pub(crate) kind: RequestKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RequestKind {
    /// `transport.open` of this link.
    Open(u64),
    /// `provisioning.register` (or `poll`).
    Register,
}

/// What the world answers, to be delivered to the device as an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// `on-opened(link)`.
    Opened(u64),
    /// `on-failed(link, failure)` with an optional retry-after.
    Failed(u64, Why, Option<u64>),
    /// `on-provisioned(assigned)`.
    Assigned,
    /// `on-provisioned(failed)` with an optional retry-after.
    ProvisioningFailed(Option<u64>),
}

/// Which of the scenario's failures an answer carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Why {
    /// The hub is down.
    Outage,
    /// The hub is over its rate.
    Refused,
}

impl Failures {
    /// The failure for `why`, with the retry-after hint if any.
    pub(crate) fn hub(&self, why: Why, retry_after: Option<u64>) -> Failure {
        let mut f = match why {
            Why::Outage => self.outage.clone(),
            Why::Refused => self.refusal.clone(),
        };
        if retry_after.is_some() {
            f.retry_after_ms = retry_after;
        }
        f
    }

    /// A provisioning refusal with the retry-after hint if any.
    pub(crate) fn provisioning(&self, retry_after: Option<u64>) -> Failure {
        let mut f = self.provisioning_refusal.clone();
        if retry_after.is_some() {
            f.retry_after_ms = retry_after;
        }
        f
    }
}

/// A rate limit counted in whole seconds from `origin`: each second admits at most
/// `capacity` requests; the rest are refused. A refusal can cost the hub too (a
/// TLS handshake is done before the CONNECT is refused): each one takes
/// `refusal_cost` of an admission's work, and work beyond a second's budget is
/// carried into the next seconds, which then admit less. It also keeps the
/// queue of refused requests, so that it can tell each one when its turn comes.
#[derive(Clone, Debug)]
pub(crate) struct Gate {
    capacity: Option<u32>,
    /// Thousandths of an admission a refusal uses up.
    refusal_cost_milli: u64,
    origin: u64,
    window: u64,
    /// Work taken in the current second, carried-over work included, in
    /// thousandths of an admission.
    used_milli: u64,
    /// The next free turn for a refused request, in microseconds.
    next_turn_us: u64,
}

impl Gate {
    pub(crate) fn new(capacity: Option<u32>, origin: u64) -> Self {
        Self {
            capacity,
            refusal_cost_milli: 0,
            origin,
            window: 0,
            used_milli: 0,
            next_turn_us: 0,
        }
    }

    /// The same gate, with each refusal using up `cost` of an admission.
    pub(crate) fn with_refusal_cost(mut self, cost: f64) -> Self {
        self.refusal_cost_milli = (cost.clamp(0.0, 1_000.0) * 1000.0).round() as u64;
        self
    }

    /// Take a place in the second containing `at`, if one is left. Calls come in
    /// time order.
    fn admit(&mut self, at: u64) -> bool {
        let Some(capacity) = self.capacity else {
            return true;
        };
        let budget = u64::from(capacity).saturating_mul(1000);
        let window = at.saturating_sub(self.origin) / 1000;
        if window != self.window {
            // Each second that passed did a budget's worth of the work.
            let passed = window.saturating_sub(self.window);
            self.used_milli = self
                .used_milli
                .saturating_sub(budget.saturating_mul(passed));
            // Without a refusal cost nothing carries: a full second leaves no work.
            if self.refusal_cost_milli == 0 {
                self.used_milli = 0;
            }
            self.window = window;
        }
        if self.used_milli.saturating_add(1000) <= budget {
            self.used_milli = self.used_milli.saturating_add(1000);
            true
        } else {
            self.used_milli = self.used_milli.saturating_add(self.refusal_cost_milli);
            false
        }
    }

    /// The hint for a request refused at `at`.
    fn retry_after(&mut self, at: u64, mode: RetryAfter, fixed: u64, grain: u64) -> Option<u64> {
        match mode {
            RetryAfter::None => None,
            RetryAfter::Fixed => Some(fixed),
            RetryAfter::Queue => {
                let capacity = u64::from(self.capacity.unwrap_or(u32::MAX).max(1));
                let next_second = self
                    .origin
                    .saturating_add(self.window.saturating_add(1).saturating_mul(1000));
                let turn = self.next_turn_us.max(next_second.saturating_mul(1000));
                self.next_turn_us =
                    turn.saturating_add(1_000_000_u64.checked_div(capacity).unwrap_or(1));
                let wait = turn.div_ceil(1000).saturating_sub(at);
                Some(wait.div_ceil(grain.max(1)).saturating_mul(grain))
            }
        }
    }
}

/// What the world counted, for the report.
#[derive(Clone, Debug, Default)]
pub(crate) struct WorldCounts {
    /// Connection attempts per second of virtual time (second 0 starts at the drop).
    pub(crate) attempts_per_s: Vec<u32>,
    /// Connection attempts per second counted from the hub's return.
    pub(crate) attempts_after_return: Vec<u32>,
    /// Attempts made while the hub was down.
    pub(crate) attempts_during_outage: u64,
    /// Attempts refused by the rate limit.
    pub(crate) refused: u64,
    /// Registrations asked for.
    pub(crate) registrations_requested: u64,
    /// Registrations accepted.
    pub(crate) registrations_admitted: u64,
}

fn bump(series: &mut Vec<u32>, index: u64) {
    let i = usize::try_from(index).unwrap_or(usize::MAX);
    if series.len() <= i {
        series.resize(i.saturating_add(1), 0);
    }
    if let Some(v) = series.get_mut(i) {
        *v = v.saturating_add(1);
    }
}

/// The hub and the provisioning service.
pub(crate) struct World {
    outage_end: u64,
    outage_latency: u64,
    latency: u64,
    jitter: u64,
    hub: Gate,
    hub_hint: (RetryAfter, u64, u64),
    dps: Gate,
    dps_hint: (RetryAfter, u64),
    dps_latency: u64,
    rng: u64,
    pub(crate) counts: WorldCounts,
}

impl World {
    pub(crate) fn new(s: &Scenario) -> Self {
        let outage_end = s.outage.duration_ms;
        let (dps, dps_hint, dps_latency) = match &s.provisioning {
            Some(p) => (
                Gate::new(p.capacity_per_s, 0),
                (p.retry_after, p.retry_after_ms),
                p.latency_ms,
            ),
            None => (Gate::new(None, 0), (RetryAfter::None, 0), 1),
        };
        Self {
            outage_end,
            outage_latency: s.outage.latency_ms,
            latency: s.hub.latency_ms,
            jitter: s.hub.latency_jitter_ms,
            hub: Gate::new(s.hub.capacity_per_s, outage_end).with_refusal_cost(s.hub.refusal_cost),
            hub_hint: (
                s.hub.retry_after,
                s.hub.retry_after_ms,
                s.hub.retry_after_granularity_ms,
            ),
            dps,
            dps_hint,
            dps_latency,
            rng: s.seed ^ 0x5EED_0F7E,
            counts: WorldCounts::default(),
        }
    }

    /// The shortest time in which an answer can come back: requests made within
    /// this much of each other cannot affect one another.
    pub(crate) fn lookahead(s: &Scenario) -> u64 {
        let mut l = s.hub.latency_ms.min(s.outage.latency_ms);
        if let Some(p) = &s.provisioning {
            l = l.min(p.latency_ms);
        }
        l.max(1)
    }

    fn network_jitter(&mut self) -> u64 {
        if self.jitter == 0 {
            return 0;
        }
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        z.checked_rem(self.jitter.saturating_add(1)).unwrap_or(0)
    }

    /// Answer one request: when, and what.
    pub(crate) fn answer(&mut self, r: &Request) -> (u64, Answer) {
        match r.kind {
            RequestKind::Open(link) => {
                bump(&mut self.counts.attempts_per_s, r.at / 1000);
                if r.at < self.outage_end {
                    self.counts.attempts_during_outage =
                        self.counts.attempts_during_outage.saturating_add(1);
                    let at = r.at.saturating_add(self.outage_latency);
                    return (at, Answer::Failed(link, Why::Outage, None));
                }
                bump(
                    &mut self.counts.attempts_after_return,
                    r.at.saturating_sub(self.outage_end) / 1000,
                );
                let at =
                    r.at.saturating_add(self.latency)
                        .saturating_add(self.network_jitter());
                if self.hub.admit(r.at) {
                    (at, Answer::Opened(link))
                } else {
                    self.counts.refused = self.counts.refused.saturating_add(1);
                    let (mode, fixed, grain) = self.hub_hint;
                    let hint = self.hub.retry_after(r.at, mode, fixed, grain);
                    (at, Answer::Failed(link, Why::Refused, hint))
                }
            }
            RequestKind::Register => {
                self.counts.registrations_requested =
                    self.counts.registrations_requested.saturating_add(1);
                let at = r.at.saturating_add(self.dps_latency);
                if self.dps.admit(r.at) {
                    self.counts.registrations_admitted =
                        self.counts.registrations_admitted.saturating_add(1);
                    (at, Answer::Assigned)
                } else {
                    let (mode, fixed) = self.dps_hint;
                    let hint = self.dps.retry_after(r.at, mode, fixed, 1000);
                    (at, Answer::ProvisioningFailed(hint))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]
    use super::*;

    #[test]
    fn a_gate_admits_capacity_per_second_counted_from_its_origin() {
        let mut g = Gate::new(Some(3), 500);
        let admitted: Vec<bool> = [500, 600, 700, 1499, 1500, 1500, 2400, 2499]
            .iter()
            .map(|&t| g.admit(t))
            .collect();
        assert_eq!(admitted, [true, true, true, false, true, true, true, false]);
        let mut open = Gate::new(None, 0);
        assert!((0..10_000).all(|t| open.admit(t)));
    }

    #[test]
    fn costly_refusals_carry_their_work_into_the_next_seconds() {
        // 10 per second, a refusal costs a tenth of an admission. Second 0: 10
        // admitted, then 200 refused = 20 admissions' worth of work carried over.
        let mut g = Gate::new(Some(10), 0).with_refusal_cost(0.1);
        let admitted = (0..210).filter(|_| g.admit(0)).count();
        assert_eq!(admitted, 10);
        // Seconds 1 and 2 do that work and admit nobody; second 3 admits again.
        assert!(!g.admit(1000));
        assert!(!g.admit(2000));
        let third = (0..20).filter(|_| g.admit(3000)).count();
        assert!(third > 0 && third <= 10, "{third}");
        // Without a cost, the same flood takes nothing from the next second.
        let mut free = Gate::new(Some(10), 0);
        assert_eq!((0..210).filter(|_| free.admit(0)).count(), 10);
        assert_eq!((0..20).filter(|_| free.admit(1000)).count(), 10);
    }

    #[test]
    fn queue_hints_hand_out_turns_at_the_capacity_in_whole_seconds() {
        // 2 per second: turns every 500 ms from the next second on.
        let mut g = Gate::new(Some(2), 0);
        assert!(g.admit(100) && g.admit(200) && !g.admit(300));
        let hints: Vec<u64> = (0..5)
            .map(|_| g.retry_after(300, RetryAfter::Queue, 0, 1000).unwrap())
            .collect();
        // Turns at 1000, 1500, 2000, 2500, 3000 ms; waits 700, 1200, ... rounded up.
        assert_eq!(hints, [1000, 2000, 2000, 3000, 3000]);
        assert_eq!(g.retry_after(300, RetryAfter::None, 0, 1000), None);
        assert_eq!(g.retry_after(300, RetryAfter::Fixed, 7, 1000), Some(7));
    }
}
