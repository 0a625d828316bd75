//! The wasmtime C API, with the component model, as one static library
//! (`libtether_capi.a`) that tether's C host (`bindings/c/`) links against.
//! Nothing of tether lives here: the headers are the ones shipped in the
//! `wasmtime-c-api-impl` crate.

pub use wasmtime_c_api::*;
