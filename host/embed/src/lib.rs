//! The Rust host of tether: it loads the tether component with wasmtime, supplies
//! its imports, and drives it.
//!
//! tether's behaviour (classifying failures, retry policies, the reconnection
//! flow) lives in one WebAssembly component built from `guest/`, behind the WIT
//! contract in `wit/`. This crate holds none of that logic: every decision comes
//! from the component, and the host only feeds it inputs and carries out what it
//! asks for.
//!
//! - [`Runtime`] compiles the component once and pre-instantiates it
//!   (`InstancePre`); [`Runtime::instantiate`] is then cheap.
//! - [`Instance`] is one instance with its own store. It hosts any number of
//!   `connection` resources ([`Conn`]) and `retry-schedule` resources
//!   ([`RetrySchedule`]), and offers the stateless decisions
//!   ([`Instance::classify`]). [`Device`] is an instance with one connection.
//! - The imports never block and never call back in. `now` reads a [`Clock`]
//!   ([`SystemClock`], or a [`VirtualClock`] in tests), the entropy import reads an
//!   [`Entropy`]; every other import becomes a [`Command`] that the input returns in
//!   its [`Step`], in order.
//! - The host carries the commands out through the [`Transport`], [`Provisioner`],
//!   [`CredentialSource`] and [`Observer`] traits, routed by a [`Driver`], and later
//!   reports the results back through the connection's `on_*` inputs.
//! - [`identity`]: IoT Hub connection strings, SAS tokens, DPS keys and MQTT
//!   settings, from the component's `identity` interface.
//! - [`syntax`] reads and writes failures as words like `mqtt5:0x87`; [`names`]
//!   spells the contract's values in kebab-case.
//! - [`plugin`] is the sandbox of custom retry policies: each plugin component runs
//!   in a store of its own with fuel, a memory cap and a stack cap.
//!
//! This crate is the embedding library only. The device runtime (`tether-device`),
//! the emulators (`tether-emulators`), the simulators (`tether-sim`) and the
//! `tether` command (`tether-cli`) are crates of their own, so an application that
//! only drives the component compiles wasmtime and nothing else of note.
//!
//! ```
//! use tether_host::{Runtime, VirtualClock, Entropy, Device, Command};
//!
//! # fn main() -> anyhow::Result<()> {
//! let runtime = Runtime::new()?;
//! let clock = VirtualClock::new();
//! let mut device = Device::new(&runtime, r#"{"hub": "hub-a", "seed": 1}"#, clock.clone(), Entropy::fixed(1))?;
//! let step = device.start()?;
//! assert!(matches!(step.commands.last(), Some(Command::Open { link: 1, .. })));
//! clock.advance_ms(120);
//! let step = device.on_opened(1)?;
//! # let _ = step;
//! # Ok(()) }
//! ```

// rustfmt keeps these sorted by name. The layers, bottom to top (each module imports
// only modules before it): bindings, clock, error, command, names, syntax, plugin,
// state, driver, runtime, instance, identity, device.
mod bindings;
mod clock;
mod command;
mod device;
mod driver;
mod error;
pub mod identity;
mod instance;
pub mod names;
pub mod plugin;
mod runtime;
mod state;
pub mod syntax;

pub use clock::{
    Clock, Entropy, NS_PER_MS, SystemClock, VIRTUAL_EPOCH_S, VirtualClock, system_wall_ns,
};
pub use command::Command;
pub use device::Device;
pub use driver::{
    CredentialSource, Driver, NoCredentials, NoProvisioning, Observer, Provisioner, Transport,
};
pub use error::{BoxError, Error, Result};
pub use instance::{Conn, Instance, RetrySchedule, Step};
pub use runtime::{
    CLOCK_IMPORT, COMPONENT, RANDOM_IMPORT, Runtime, WALL_CLOCK_IMPORT, pulley_target,
};
pub use state::HostState;

pub use bindings::types::{
    Action, ApplicationError, Assignment, BackoffPlan, Classification, ConfigError, ConnectPlan,
    Credential, Curve, Decision, DecisionEvent, Failure, FailureKind, GiveUpReason, HttpFailure,
    InputError, Level, MessageFailure, NetworkError, Outcome, Pending, PluginFaultReason,
    PluginFaultReport, ProtocolError, ProvisioningResult, PublishError, Reason, Status,
    StatusChange, SubscribeError, Verdict,
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn handles_move_across_threads() {
        fn send<T: Send>() {}
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Runtime>();
        send::<Instance>();
        send::<Device>();
        send::<VirtualClock>();
    }

    #[test]
    fn a_precompiled_component_decides_as_the_compiled_one() {
        let failure = syntax::parse_failure("mqtt5:0x87").unwrap();
        let jit = Runtime::new().unwrap();
        let aot = Runtime::from_precompiled(&Runtime::precompile(COMPONENT).unwrap()).unwrap();
        let mut a = jit
            .instantiate(VirtualClock::new(), Entropy::fixed(1))
            .unwrap();
        let mut b = aot
            .instantiate(VirtualClock::new(), Entropy::fixed(1))
            .unwrap();
        assert_eq!(a.classify(&failure).unwrap(), b.classify(&failure).unwrap());
        assert_eq!(a.table_version().unwrap(), b.table_version().unwrap());
    }

    #[test]
    fn bytes_that_are_not_a_precompiled_component_are_refused() {
        for bytes in [&b""[..], b"\x7fELF not really", COMPONENT] {
            let e = Runtime::from_precompiled(bytes).unwrap_err();
            assert!(matches!(e, Error::Refused(_)), "{e:#}");
            assert!(
                e.to_string()
                    .contains("precompiled tether component: this is not a precompiled"),
                "{e:#}"
            );
        }
        let aot = Runtime::precompile(COMPONENT).unwrap();
        let half = aot.get(..aot.len() / 2).unwrap();
        let e = Runtime::from_precompiled(half).unwrap_err();
        assert!(
            e.to_string().contains("precompiled tether component"),
            "{e:#}"
        );
    }

    #[test]
    fn a_component_precompiled_for_another_engine_configuration_is_refused() {
        // Fuel metering changes the machine code: the header says so.
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true).consume_fuel(true);
        let other = wasmtime::Engine::new(&config)
            .unwrap()
            .precompile_component(COMPONENT)
            .unwrap();
        let e = Runtime::from_precompiled(&other).unwrap_err();
        let text = format!("{e:#}");
        assert!(matches!(e, Error::Wasm { .. }), "{text}");
        assert!(
            text.contains("compatibility header does not match"),
            "{text}"
        );
        assert!(text.contains("fuel"), "{text}");
    }

    #[test]
    fn a_precompiled_file_is_loaded_and_errors_name_it() {
        let dir = std::env::temp_dir().join(format!("tether-aot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tether.cwasm");
        std::fs::write(&path, Runtime::precompile(COMPONENT).unwrap()).unwrap();
        let runtime = Runtime::from_precompiled_file(&path).unwrap();
        assert!(!runtime.component_exports().is_empty());
        std::fs::write(&path, COMPONENT).unwrap();
        let e = Runtime::from_precompiled_file(&path).unwrap_err();
        assert!(format!("{e:#}").contains("tether.cwasm"), "{e:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_print_their_causes_with_the_alternate_flag() {
        let e = Runtime::from_file("/nonexistent/tether.wasm").unwrap_err();
        assert_eq!(e.to_string(), "reading /nonexistent/tether.wasm");
        let chain = format!("{e:#}");
        assert!(
            chain.starts_with("reading /nonexistent/tether.wasm: "),
            "{chain}"
        );
        assert!(
            chain.len() > "reading /nonexistent/tether.wasm: ".len(),
            "{chain}"
        );
    }
}
