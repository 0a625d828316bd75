//! The Python and Node host libraries (`bindings/python`, `bindings/node`), made ready to run
//! with the component this build produced.
//!
//! `scripts/setup` installs their dependencies but runs before cargo builds the
//! component, so the component is put in place here, lazily and idempotently:
//! [`python_package`] copies it into `bindings/python/tether/tether.wasm`, [`node_package`]
//! transpiles it into `bindings/node/dist` (a no-op when that already holds it).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{component_path, workspace_root};

const SETUP: &str = "run scripts/setup (from the repository root) to install it";

/// `bindings/python`, with the current component copied into the package. Run its code
/// with `PYTHONPATH` set to the returned folder.
///
/// # Errors
/// When the component is missing or cannot be copied, or the Python package
/// `wasmtime` is not installed.
pub fn python_package() -> Result<PathBuf, String> {
    let root = workspace_root();
    let dir = root.join("bindings").join("python");
    let wasm = built_component()?;
    let dest = dir.join("tether").join("tether.wasm");
    let fresh = fs::read(&wasm).map_err(|e| format!("cannot read {}: {e}", wasm.display()))?;
    if fs::read(&dest).ok().as_deref() != Some(fresh.as_slice()) {
        // Write beside, then rename: a concurrent reader never sees half a file.
        let tmp = dest.with_extension(format!("wasm.{}", std::process::id()));
        fs::write(&tmp, &fresh).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        fs::rename(&tmp, &dest).map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
    }
    let out = Command::new("python3")
        .args(["-c", "import wasmtime.component"])
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the Python package wasmtime is missing: {SETUP}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(dir)
}

/// `bindings/node`, with the current component transpiled into `bindings/node/dist`.
///
/// # Errors
/// When the component is missing, `npm ci` has not run in `bindings/node`, or the
/// transpilation fails.
pub fn node_package() -> Result<PathBuf, String> {
    let root = workspace_root();
    let dir = root.join("bindings").join("node");
    let wasm = built_component()?;
    require(
        &dir.join("node_modules/@bytecodealliance/jco-transpile/package.json"),
        "bindings/node has no node_modules",
    )?;
    let out = Command::new("node")
        .arg(dir.join("build.mjs"))
        .arg(&wasm)
        .output()
        .map_err(|e| format!("cannot run node: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "node bindings/node/build.mjs failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(dir)
}

/// Fail with a pointer to `scripts/setup` unless `path` exists.
///
/// # Errors
/// When `path` does not exist.
pub fn require(path: &Path, what: &str) -> Result<(), String> {
    if path.exists() {
        Ok(())
    } else {
        Err(format!("{what} ({} is missing): {SETUP}", path.display()))
    }
}

fn built_component() -> Result<PathBuf, String> {
    let wasm = component_path();
    if wasm.is_file() {
        Ok(wasm)
    } else {
        Err(format!(
            "the component {} is missing; `cargo build -p tether-host` builds it",
            wasm.display()
        ))
    }
}
