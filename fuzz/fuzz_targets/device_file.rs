//! Fuzzing the device file parser of `tether run`: every document gets an answer
//! without a panic, errors name a field, no error shows a key. The logic is in
//! `tether_fuzz_cases::device_file`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_fuzz_cases::device_file::{FileCase, run};

fuzz_target!(|case: FileCase| {
    if let Err(e) = run(&case) {
        panic!("{e}\ncase: {case:#?}");
    }
});
