//! The logic of tether's fuzz targets, kept out of the cargo-fuzz crate (`fuzz/`,
//! its own workspace, which needs libFuzzer) so that the main workspace's
//! `cargo test` can replay every saved input through the same code:
//!
//! - [`flow`]: the reconnection flow through the component, checked by the DST
//!   reference model and against the native core;
//! - [`identity`]: connection strings, SAS and DPS tokens, device keys, MQTT
//!   settings and topics, component against native core, every token checked
//!   independently;
//! - [`device_file`]: the device file parser of `tether run`.
//!
//! Each target's input is an [`arbitrary::Arbitrary`] case, decoded from the fuzz
//! bytes by [`decode`] exactly as `libfuzzer_sys::fuzz_target!` decodes it, so a
//! file under `fuzz/corpus/<target>/` or `fuzz/crashes/<target>/` means the same
//! case here as in `cargo fuzz run`.

pub mod device_file;
pub mod flow;
pub mod identity;

use arbitrary::{Arbitrary, Unstructured};

pub use flow::{Case, run};

/// The case `bytes` stand for, as `fuzz_target!(|case: T| ..)` decodes them
/// (libfuzzer-sys 0.4): `None` for input too short for the type's size hint or
/// that does not decode, which the fuzz target skips too.
pub fn decode<'a, T: Arbitrary<'a>>(bytes: &'a [u8]) -> Option<T> {
    if bytes.len() < T::size_hint(0).0 {
        return None;
    }
    T::arbitrary_take_rest(Unstructured::new(bytes)).ok()
}

/// The fuzz targets, by the name `cargo fuzz run` knows them by.
pub const TARGETS: [&str; 3] = ["flow", "identity", "device_file"];

/// Whether `bytes` decode to a case of the named target (the fuzz target skips
/// the others).
pub fn decodes(target: &str, bytes: &[u8]) -> bool {
    match target {
        "flow" => decode::<Case>(bytes).is_some(),
        "identity" => decode::<identity::IdentityCase>(bytes).is_some(),
        "device_file" => decode::<device_file::FileCase>(bytes).is_some(),
        _ => false,
    }
}

/// Run the named target's check on raw fuzz bytes. `Ok` also for bytes that do not
/// decode (the fuzz target skips them); `Err` is a finding.
///
/// # Errors
/// What the target found, with the decoded case.
pub fn run_bytes(target: &str, bytes: &[u8]) -> Result<(), String> {
    match target {
        "flow" => decode::<Case>(bytes).map_or(Ok(()), |c| {
            run(&c).map_err(|e| format!("{e}\ncase: {c:#?}"))
        }),
        "identity" => decode::<identity::IdentityCase>(bytes).map_or(Ok(()), |c| {
            identity::run(&c).map_err(|e| format!("{e}\ncase: {c:#?}"))
        }),
        "device_file" => decode::<device_file::FileCase>(bytes).map_or(Ok(()), |c| {
            device_file::run(&c).map_err(|e| format!("{e}\ncase: {c:#?}"))
        }),
        other => Err(format!("no fuzz target named {other}")),
    }
}
