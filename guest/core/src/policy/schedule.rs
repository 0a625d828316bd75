//! The stateful side of a policy: a [`Schedule`] counts the attempts of one
//! outage and turns each failure into a decision.

use alloc::boxed::Box;
use alloc::rc::Rc;

use crate::fleet::Slots;
use crate::phase::PhaseState;
use crate::rng::Rng;
use crate::types::{Curve, Decision, GiveUpReason, Millis};

use super::{Kind, PolicyConfig};

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
    /// Shared by every schedule of the same policy (a fleet in one instance runs
    /// one policy): the policy is a third of a connection's size.
    cfg: Rc<PolicyConfig>,
    rng: Rng,
    attempts: u32,
    prev_normal: Option<Millis>,
    prev_throttled: Option<Millis>,
    /// The outage's phase, for `phase` jitter (drawn at its first delay).
    phase: PhaseState,
    waited_ms: Millis,
    /// The fleet's slots, when the configuration has a `fleet` section (boxed:
    /// most devices have none, and a connection's size counts).
    slots: Option<Box<Slots>>,
    /// Whether this outage began as a failure of the device's own network: its
    /// slots keep that drop's period even when the hub then refuses it.
    outage_local: Option<bool>,
}

impl Schedule {
    /// A schedule at the start of an outage; `seed` fixes its jitter.
    pub fn new(cfg: impl Into<Rc<PolicyConfig>>, seed: u64) -> Self {
        Self {
            cfg: cfg.into(),
            rng: Rng::new(seed),
            attempts: 0,
            prev_normal: None,
            prev_throttled: None,
            phase: PhaseState::default(),
            waited_ms: Millis::ZERO,
            slots: None,
            outage_local: None,
        }
    }

    /// Retry in the fleet's slots rather than on the curves (a server's
    /// retry-after still wins).
    pub fn with_slots(mut self, slots: Option<Slots>) -> Self {
        self.slots = slots.map(Box::new);
        self
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
        self.next_after(curve, hint, elapsed_ms, since_attempt_start_ms, false)
    }

    /// [`next`](Self::next) for a failure of the device's own network (`local`:
    /// a keep-alive timeout, an unreachable network, a failed lookup) or any
    /// other. Only the fleet's slots tell the two apart, by the outage's first
    /// failure.
    pub fn next_after(
        &mut self,
        curve: CurveSel,
        hint: Option<Millis>,
        elapsed_ms: Millis,
        since_attempt_start_ms: Millis,
        local: bool,
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
        let raw = match (hint, curve, self.slots.as_deref()) {
            // Not `clamp`: it panics when min > max, and a panic is never an answer.
            (Some(h), _, _) => h
                .max(limits.retry_after_min_ms)
                .min(limits.retry_after_max_ms),
            // The fleet's slots replace both curves: a refused device was outside
            // its slot or found it taken, and waits for its next one.
            (None, _, Some(slots)) => {
                let local = *self.outage_local.get_or_insert(local);
                let rng = &mut self.rng;
                let u = *self.phase.u.get_or_insert_with(|| {
                    slots
                        .fixed_phase()
                        .unwrap_or_else(|| (rng.next_u64() >> 32) as u32)
                });
                slots.delay(local, elapsed_ms, u)
            }
            (None, CurveSel::Normal, None) => formula.delay(
                k,
                &mut self.rng,
                &mut self.prev_normal,
                &mut self.phase,
                self.cfg.curve_cache(CurveSel::Normal),
            ),
            (None, CurveSel::Throttled, None) => self.cfg.throttled.delay(
                k,
                &mut self.rng,
                &mut self.prev_throttled,
                &mut self.phase,
                self.cfg.curve_cache(CurveSel::Throttled),
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
        self.outage_local = None;
        self.waited_ms = Millis::ZERO;
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
