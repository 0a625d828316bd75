//! Structure-aware fuzzing of the whole reconnection flow: an arbitrary
//! configuration and an arbitrary sequence of inputs, delivered to the component
//! through `tether_host`, every step checked by the DST reference model, and the
//! same inputs run through the native build of the core, whose commands must be
//! identical (the native run is what gives libFuzzer coverage of the core's
//! branches; the component runs as JIT-compiled wasm). The logic is in
//! `tether_fuzz_cases::flow`, which `cargo test` also runs on the saved corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_fuzz_cases::{Case, run};

fuzz_target!(|case: Case| {
    if let Err(e) = run(&case) {
        panic!("{e}\ncase: {case:#?}");
    }
});
