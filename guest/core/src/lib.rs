//! The tether core: what a device does after a connection failure.
//!
//! Everything here is plain, deterministic Rust with no I/O, no clock and no ambient
//! randomness, so it is unit-tested natively and compiled unchanged to the
//! `wasm32-wasip2` component that every host loads:
//!
//! - [`classify`]: the versioned table that turns a failure into a verdict and a
//!   status reason;
//! - [`policy`]: retry schedules (built-in kinds and presets reproducing the Azure
//!   SDKs', gRPC's and AWS CRT's formulas) in saturating integer milliseconds;
//! - [`config`]: the one JSON configuration document, validated field by field;
//! - [`plugin`]: what a custom policy's plugin is told and answers; the
//!   connection validates every answer and falls back on the built-in policy;
//! - [`identity`]: IoT Hub connection strings, SAS tokens, DPS keys and MQTT
//!   settings, one implementation for every host;
//! - [`connection`]: the reconnection flow as an event-driven state machine whose
//!   outputs are data (commands for the host), never side effects;
//!
//! The wit-bindgen glue that exports all this as a component lives in its own crate
//! (`guest/component`), so this one builds and tests natively on any target.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod classify;
pub mod config;
pub mod connection;
pub mod fleet;
pub mod identity;
pub mod json;
mod phase;
pub mod plugin;
pub mod policy;
pub mod rng;
pub mod types;
