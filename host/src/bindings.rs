//! The generated bindings for the `device` world of `wit/`.
//!
//! Generated code: it is documented by the WIT `///` comments it carries, and it is
//! not ours to lint.
#![allow(
    missing_docs,
    clippy::all,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

wasmtime::component::bindgen!({
    world: "device",
    path: "../wit",
    additional_derives: [PartialEq, Eq, Hash],
});
