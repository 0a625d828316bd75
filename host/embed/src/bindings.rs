//! The generated bindings for the `engine` world of `wit/` (tether's own imports
//! and exports) and, in [`plugin`], for the `retry-policy` world (what a policy
//! plugin exports). The two WASI functions the `device` world adds (`now` and
//! `get-random-u64`) are linked by hand in [`crate::runtime`], so the host needs
//! no WASI implementation and none of the rest of those interfaces.
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
    world: "engine",
    path: "../../wit",
    additional_derives: [PartialEq, Eq, Hash],
});

pub(crate) mod plugin {
    //! The `retry-policy` world, for the plugin sandbox ([`crate::plugin`]).
    wasmtime::component::bindgen!({
        world: "retry-policy",
        path: "../../wit",
    });
}

/// The contract's value types, re-exported at the crate root.
pub use self::tether::reconnect::types;
