//! Conformance vectors: the Rust runner (the `tether-conformance` crate,
//! `tests/runner/`, re-exported here as it was written for the tests) and the
//! generator that writes the vectors down ([`generate`]).

pub use tether_conformance::*;

pub mod generate;
