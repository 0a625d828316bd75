//! Benchmarks only: see `decisions.rs` and `plugin_sandbox.rs`.
