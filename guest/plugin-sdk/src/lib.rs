//! Write a tether retry-policy plugin in plain Rust.
//!
//! A plugin implements [`Policy`] and names it with [`plugin!`]. Built for
//! `wasm32-wasip2`, the crate becomes a component of the `retry-policy` world
//! (`wit/policy.wit`) that imports nothing: this crate supplies the wit-bindgen
//! glue and links the `no_std` runtime the engine uses too (`tether-wasm-rt`:
//! dlmalloc, a panic handler that traps, `cabi_realloc`). Built natively, only
//! the plain types remain, so a policy is unit-tested like any Rust code.
//!
//! A plugin has no clock, no randomness and no I/O of its own: everything it may
//! depend on arrives in [`Input`]. Its memory may be wiped between decisions (the
//! host makes a fresh instance after any fault), so state that matters should be
//! derived from the input.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::string::String;

/// The level a failure belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Socket, name resolution, TLS.
    Network,
    /// MQTT, AMQP or HTTP.
    Protocol,
    /// Credentials, quotas, throttling, device state.
    Application,
}

/// What the classifier made of the failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A plain recoverable failure.
    Retry,
    /// The server is overloaded or throttling.
    RetryThrottled,
    /// A refused credential: the wait before going back to provisioning.
    RenewCredential,
    /// The wait before registering again.
    Reprovision,
    /// Never sent.
    Fatal,
}

/// A policy's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Try again after this many milliseconds.
    RetryAfter(u64),
    /// Stop retrying.
    GiveUp,
}

/// Everything one decision may depend on (`policy.decision-input`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The retry this decision is for: 1 after the first failure of an outage.
    pub attempt: u32,
    /// Failed connection attempts in a row.
    pub consecutive_failures: u32,
    /// Time since the first failure of this outage, in ms.
    pub elapsed_ms: u64,
    /// How long the dropped link had held; `None` for a failed attempt.
    pub connected_ms: Option<u64>,
    /// The failure's level.
    pub level: Level,
    /// The failure's verdict.
    pub verdict: Verdict,
    /// The status reason reported for it.
    pub reason: String,
    /// The classification table row.
    pub rule: String,
    /// The server's retry-after, clamped by the policy.
    pub retry_after_ms: Option<u64>,
    /// The server named another server.
    pub server_reference: bool,
    /// A random value from the connection's seeded generator.
    pub random: u64,
    /// The engine's clock, in ms.
    pub now_ms: u64,
    /// The largest delay the engine accepts.
    pub max_delay_ms: u64,
    /// The built-in fallback's decision.
    pub fallback: Decision,
    /// The configuration's `params`, as compact JSON text.
    pub params: String,
}

impl Input {
    /// The least wait the fallback and the server ask for: the fallback's
    /// delay, or the server's retry-after when that is longer. `None` when the
    /// fallback gives up.
    pub fn pace_ms(&self) -> Option<u64> {
        match self.fallback {
            Decision::RetryAfter(ms) => Some(ms.max(self.retry_after_ms.unwrap_or(0))),
            Decision::GiveUp => None,
        }
    }

    /// An input for a policy's unit tests: the first retry after a refused
    /// connection at time 0, the fallback asking for 1 s, no server hints, a
    /// one-hour `max-delay-ms`, and `params`. Change fields with struct update
    /// syntax (`Input { now_ms: 5_000, ..Input::example(params) }`).
    pub fn example(params: &str) -> Self {
        Self {
            attempt: 1,
            consecutive_failures: 1,
            elapsed_ms: 0,
            connected_ms: None,
            level: Level::Network,
            verdict: Verdict::Retry,
            reason: "communication-error".into(),
            rule: "net/refused".into(),
            retry_after_ms: None,
            server_reference: false,
            random: 0,
            now_ms: 0,
            max_delay_ms: 3_600_000,
            fallback: Decision::RetryAfter(1_000),
            params: params.into(),
        }
    }
}

/// A retry policy.
pub trait Policy {
    /// Decide after one failure.
    fn decide(input: &Input) -> Decision;
}

/// The value of `"key":<integer>` in the compact JSON text `params` (as the
/// engine passes it: no spaces). `None` when absent or not a non-negative integer.
pub fn param_u64(params: &str, key: &str) -> Option<u64> {
    let rest = find_value(params, key)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest.get(..digits)?.parse().ok()
}

/// The value of `"key":"text"` in `params` (a string without escapes).
pub fn param_str<'a>(params: &'a str, key: &str) -> Option<&'a str> {
    let rest = find_value(params, key)?.strip_prefix('"')?;
    rest.get(..rest.find('"')?)
}

/// The value of `"key":true|false` in `params`.
pub fn param_bool(params: &str, key: &str) -> Option<bool> {
    let rest = find_value(params, key)?;
    if rest.starts_with("true") {
        Some(true)
    } else if rest.starts_with("false") {
        Some(false)
    } else {
        None
    }
}

/// The text right after `"key":` at the top level of a flat object.
fn find_value<'a>(params: &'a str, key: &str) -> Option<&'a str> {
    let mut rest = params;
    loop {
        let at = rest.find('"')?;
        rest = rest.get(at.checked_add(1)?..)?;
        let end = rest.find('"')?;
        let name = rest.get(..end)?;
        rest = rest.get(end.checked_add(1)?..)?;
        if let Some(value) = rest.strip_prefix(':')
            && name == key
        {
            return Some(value);
        }
    }
}

/// The uniform value in `[0, n)` that `random` maps to (`n` > 0), by
/// multiply-shift: integer only, and the same in every host.
pub fn uniform_below(random: u64, n: u64) -> u64 {
    let wide = u128::from(random).saturating_mul(u128::from(n));
    u64::try_from(wide >> 64).unwrap_or(0)
}

/// Name the type that implements [`Policy`]; on wasm this exports it as the
/// plugin's `decide`.
#[macro_export]
macro_rules! plugin {
    ($policy:ident) => {
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code, missing_docs)]
        mod __tether_plugin_export {
            use $crate::wasm::bindings::exports::tether::reconnect::policy as wit;

            struct Exported;

            impl wit::Guest for Exported {
                fn decide(input: wit::DecisionInput) -> wit::Decision {
                    let input = $crate::wasm::input_in(input);
                    $crate::wasm::decision_out(<super::$policy as $crate::Policy>::decide(&input))
                }
            }

            $crate::wasm::bindings::export_retry_policy!(Exported with_types_in $crate::wasm::bindings);
        }
    };
}

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
#[allow(unsafe_code, missing_docs)]
pub mod wasm {
    //! The component glue.
    use super::{Decision, Input, Level, Verdict};

    pub mod bindings {
        wit_bindgen::generate!({
            world: "retry-policy",
            path: "../../wit",
            pub_export_macro: true,
            export_macro_name: "export_retry_policy",
            default_bindings_module: "tether_plugin_sdk::wasm::bindings",
        });
    }

    use bindings::exports::tether::reconnect::policy as wit;

    // The allocator, panic handler and `cabi_realloc` of a `no_std` component.
    use tether_wasm_rt as _;

    pub fn input_in(i: wit::DecisionInput) -> Input {
        Input {
            attempt: i.attempt,
            consecutive_failures: i.consecutive_failures,
            elapsed_ms: i.elapsed_ms,
            connected_ms: i.connected_ms,
            level: match i.failure.level {
                wit::Level::Network => Level::Network,
                wit::Level::Protocol => Level::Protocol,
                wit::Level::Application => Level::Application,
            },
            verdict: match i.failure.verdict {
                wit::Verdict::Retry => Verdict::Retry,
                wit::Verdict::RetryThrottled => Verdict::RetryThrottled,
                wit::Verdict::RenewCredential => Verdict::RenewCredential,
                wit::Verdict::Reprovision => Verdict::Reprovision,
                wit::Verdict::Fatal => Verdict::Fatal,
            },
            reason: i.failure.reason,
            rule: i.failure.rule,
            retry_after_ms: i.retry_after_ms,
            server_reference: i.server_reference,
            random: i.random,
            now_ms: i.now_ms,
            max_delay_ms: i.max_delay_ms,
            fallback: decision_in(i.fallback),
            params: i.params,
        }
    }

    fn decision_in(d: wit::Decision) -> Decision {
        match d {
            wit::Decision::RetryAfter(ms) => Decision::RetryAfter(ms),
            wit::Decision::GiveUp => Decision::GiveUp,
        }
    }

    pub fn decision_out(d: Decision) -> wit::Decision {
        match d {
            Decision::RetryAfter(ms) => wit::Decision::RetryAfter(ms),
            Decision::GiveUp => wit::Decision::GiveUp,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn params_are_read_from_compact_json() {
        let p = r#"{"open-ms":600000,"period-ms":5400000,"name":"x:1","strict":true}"#;
        assert_eq!(param_u64(p, "period-ms"), Some(5_400_000));
        assert_eq!(param_u64(p, "open-ms"), Some(600_000));
        assert_eq!(param_u64(p, "missing"), None);
        assert_eq!(param_u64(p, "name"), None);
        assert_eq!(param_bool(p, "strict"), Some(true));
        assert_eq!(param_str(p, "name"), Some("x:1"));
        assert_eq!(param_str(p, "open-ms"), None);
        assert_eq!(param_u64("{}", "a"), None);
    }

    #[test]
    fn the_pace_is_the_longer_of_the_fallback_and_the_retry_after() {
        let input = Input::example("{}");
        assert_eq!(input.pace_ms(), Some(1_000));
        let hinted = Input {
            retry_after_ms: Some(30_000),
            ..Input::example("{}")
        };
        assert_eq!(hinted.pace_ms(), Some(30_000));
        let short = Input {
            retry_after_ms: Some(10),
            ..Input::example("{}")
        };
        assert_eq!(short.pace_ms(), Some(1_000));
        let done = Input {
            fallback: Decision::GiveUp,
            ..hinted
        };
        assert_eq!(done.pace_ms(), None);
    }

    #[test]
    fn uniform_below_stays_in_range() {
        assert_eq!(uniform_below(0, 10), 0);
        assert_eq!(uniform_below(u64::MAX, 10), 9);
        assert_eq!(uniform_below(u64::MAX / 2, 10), 4);
    }
}
