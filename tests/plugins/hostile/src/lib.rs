//! A plugin that misbehaves on purpose, for the sandbox tests. `params.mode`
//! picks how:
//!
//! | mode | what it does | the host should see |
//! | --- | --- | --- |
//! | `loop` | spins forever | out of fuel (or the deadline) |
//! | `memory-bomb` | allocates until the allocator fails | the memory cap |
//! | `recursion` | recurses without end | a stack overflow trap |
//! | `trap` | panics | a trap |
//! | `max-delay` | answers `retry-after(u64::MAX)` | an invalid answer (the engine) |
//! | `give-up` | answers `give-up` | a valid answer |
//! | anything else | answers the fallback's decision | a valid answer |
//!
//! `fail-first` (an integer) misbehaves only while `attempt` is at most that
//! number, then behaves: a plugin that recovers.
#![cfg_attr(target_arch = "wasm32", no_std)]
// No `forbid(unsafe_code)`: the export glue `plugin!` expands here needs it; the
// workspace still denies unsafe code in everything written by hand.

extern crate alloc;

use alloc::vec::Vec;
use core::hint::black_box;
use tether_plugin_sdk::{Decision, Input, Policy, param_str, param_u64};

/// The policy.
pub struct Hostile;

/// Recurse `n` levels, keeping every frame alive.
#[allow(clippy::arithmetic_side_effects)]
fn deep(n: u64, trail: &mut [u64; 16]) -> u64 {
    let mut local = [n; 16];
    black_box(&mut local);
    if n == u64::MAX {
        return local[0] ^ trail[0];
    }
    deep(black_box(n + 1), &mut local) ^ local[1]
}

impl Policy for Hostile {
    fn decide(input: &Input) -> Decision {
        let fail_first = param_u64(&input.params, "fail-first").unwrap_or(u64::MAX);
        if u64::from(input.attempt) > fail_first {
            return input.fallback;
        }
        match param_str(&input.params, "mode").unwrap_or("") {
            "loop" => {
                let mut x = input.random;
                loop {
                    x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
                }
            }
            "memory-bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    let mut chunk = Vec::with_capacity(64 * 1024);
                    chunk.resize(64 * 1024, 0xA5);
                    hoard.push(black_box(chunk));
                }
            }
            "recursion" => Decision::RetryAfter(deep(0, &mut [0; 16])),
            // Panicking is the point: the host must see the trap.
            #[allow(clippy::panic)]
            "trap" => panic!("a policy bug"),
            "max-delay" => Decision::RetryAfter(u64::MAX),
            "give-up" => Decision::GiveUp,
            _ => input.fallback,
        }
    }
}

tether_plugin_sdk::plugin!(Hostile);
