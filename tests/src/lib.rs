//! test support

use std::path::PathBuf;

/// The workspace root (the folder holding `Cargo.toml`, `wit/` and `target/`).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map_or(manifest.clone(), PathBuf::from)
}

/// The tether component as the build of `tether-host` leaves it:
/// `target/wasm/wasm32-wasip2/release/tether_guest.wasm`. This crate depends on
/// `tether-host`, whose build script rebuilds the component, so it is current
/// whenever a test runs.
pub fn component_path() -> PathBuf {
    workspace_root()
        .join("target")
        .join("wasm")
        .join("wasm32-wasip2")
        .join("release")
        .join("tether_guest.wasm")
}
