//! tether host
mod bindings;
pub fn conv(e: wasmtime::Error) -> anyhow::Error { e.into() }
