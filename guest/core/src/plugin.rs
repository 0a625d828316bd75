//! Custom retry policies: what the connection tells a plugin, what comes back,
//! and the plugin's standing with the connection.
//!
//! The connection asks the plugin through a [`PluginHost`] (in the component, the
//! `policy-plugins.decide` import; in native tests, a fake). Judging the answer,
//! falling back and quarantining stay in the connection, so every host behaves
//! the same: a host only runs the plugin and says what happened.
#![forbid(unsafe_code)]

use alloc::string::String;

use crate::policy::PluginSpec;
use crate::rng::Rng;
use crate::types::{
    Classification, Decision, Instant, Millis, PLUGIN_DETAIL_MAX, PluginFaultReason,
};

/// A policy's answer as a plugin gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginDecision {
    /// Try again after this many milliseconds.
    RetryAfter(Millis),
    /// Stop retrying.
    GiveUp,
}

impl From<Decision> for PluginDecision {
    fn from(d: Decision) -> Self {
        match d {
            Decision::RetryAfter(ms) => Self::RetryAfter(ms),
            Decision::GiveUp(_) => Self::GiveUp,
        }
    }
}

/// Everything one plugin decision may depend on (`policy.decision-input`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginInput<'a> {
    /// The retry this decision is for (1 after the first failure).
    pub attempt: u32,
    /// Failed connection attempts in a row.
    pub consecutive_failures: u32,
    /// Time since the first failure of the outage.
    pub elapsed_ms: Millis,
    /// How long the dropped link had held; `None` for a failed attempt.
    pub connected_ms: Option<Millis>,
    /// The failure, classified.
    pub failure: Classification,
    /// The server's retry-after, clamped by the policy.
    pub retry_after_ms: Option<Millis>,
    /// The server named another server.
    pub server_reference: bool,
    /// The next value of the plugin's own seeded generator.
    pub random: u64,
    /// The engine's clock. A reading, not a duration, though the WIT record
    /// gives it as milliseconds.
    pub now_ms: Instant,
    /// The largest delay accepted.
    pub max_delay_ms: Millis,
    /// The fallback's decision.
    pub fallback: PluginDecision,
    /// The configuration's `params`, as JSON text.
    pub params: &'a str,
}

/// What running the plugin once gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PluginAnswer {
    /// The plugin answered (still to be checked).
    Decided(PluginDecision),
    /// It did not, for this reason, with a short description.
    Failed(PluginFaultReason, String),
}

/// Runs plugins for a connection.
pub trait PluginHost: core::fmt::Debug {
    /// Run `plugin` on `input`. Must answer at once and never re-enter the
    /// connection.
    fn decide(&mut self, plugin: &str, input: &PluginInput<'_>) -> PluginAnswer;
}

/// A plugin's standing with one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginState {
    /// The configuration's plugin section.
    pub spec: PluginSpec,
    /// Faults in a row.
    pub faults_in_row: u32,
    /// Quarantined: never asked again by this connection.
    pub quarantined: bool,
    /// The plugin's random values, a stream of their own so that a plugin does
    /// not shift the fallback's jitter.
    pub rng: Rng,
}

/// Mixed into the connection's seed for the plugin's stream ("plugin" in ASCII).
const PLUGIN_STREAM: u64 = 0x0070_6c75_6769_6e00;

impl PluginState {
    /// A plugin in good standing.
    pub fn new(spec: PluginSpec, seed: u64) -> Self {
        Self {
            spec,
            faults_in_row: 0,
            quarantined: false,
            rng: Rng::new(seed ^ PLUGIN_STREAM),
        }
    }
}

/// `detail` cut to [`PLUGIN_DETAIL_MAX`] bytes at a character boundary: a host's
/// description may quote the plugin, and the plugin's data stays bounded.
pub fn bounded_detail(mut detail: String) -> String {
    if detail.len() > PLUGIN_DETAIL_MAX {
        let mut end = PLUGIN_DETAIL_MAX;
        while !detail.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        detail.truncate(end);
    }
    detail
}
