//! A plugin that imports WASI: it reads `wasi:random/random.get-random-u64`
//! instead of using the random value in its input. Nothing else is wrong with it,
//! and the host must still refuse to load it, naming the import.
#![cfg_attr(target_arch = "wasm32", no_std)]
// No `forbid(unsafe_code)`: the export glue `plugin!` expands here needs it; the
// workspace still denies unsafe code in everything written by hand.

use tether_plugin_sdk::{Decision, Input, Policy};

/// The policy.
pub struct HostileWasi;

impl Policy for HostileWasi {
    fn decide(input: &Input) -> Decision {
        #[cfg(target_arch = "wasm32")]
        let random = wasi::random::random::get_random_u64() ^ input.random;
        #[cfg(not(target_arch = "wasm32"))]
        let random = input.random;
        Decision::RetryAfter(random % 1_000)
    }
}

tether_plugin_sdk::plugin!(HostileWasi);
