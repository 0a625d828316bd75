//! Fuzzing the identity functions (connection strings, SAS and DPS tokens, device
//! keys, IoT Hub MQTT settings, telemetry topics): the component and the native
//! core must agree, every token must verify independently, no error may show a
//! key. The logic is in `tether_fuzz_cases::identity`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_fuzz_cases::identity::{IdentityCase, run};

fuzz_target!(|case: IdentityCase| {
    if let Err(e) = run(&case) {
        panic!("{e}\ncase: {case:#?}");
    }
});
