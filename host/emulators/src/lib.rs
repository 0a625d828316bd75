//! Service emulators for tether's tests and demos.
//!
//! - [`dps`]: Azure IoT Hub Device Provisioning Service, enforcing its rules: the
//!   REST routes over HTTPS and the `$dps` topics over MQTT/TLS, SAS tokens
//!   verified here (individual and group enrollments), X.509 client certificates,
//!   api-version checks, the registration rate limit, several hubs to assign.
//! - [`tokens`]: the stand-in provisioning and token service of the generic MQTT
//!   profile: plain HTTP, hands out `user:password` tokens and keeps a mosquitto
//!   password file in step (re-exported here under its old names).
//! - [`iothub`]: an IoT Hub emulator that enforces the hub's connection rules (SAS
//!   and X.509 checks, topics, token expiry, one link per device, a connection
//!   throttle) over MQTT/TLS and secure WebSockets, in front of mosquitto.

#![forbid(unsafe_code)]

pub mod dps;
pub mod iothub;
pub mod tokens;

pub use tokens::{
    API_VERSION, Emulator, EmulatorConfig, Fault, Reload, SIGHUP_SETTLE, Served, sighup,
};
