//! Builds the tether component (`guest/component`, for `wasm32-wasip2`, release) so that a
//! plain `cargo build`, `cargo test` or `cargo run` always embeds a current one,
//! and the retry-policy plugins next to it (`examples/plugins/`, the hostile ones
//! of `tests/plugins/`), whose paths the crate exposes.
//!
//! The guest is built by a nested cargo with its own target directory: the outer
//! cargo holds the lock on `target/`, and the guest needs another target and profile.

use std::env;
use std::error::Error;
use std::path::PathBuf;
use std::process::Command;

fn main() -> Result<(), Box<dyn Error>> {
    let host_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let root = host_dir
        .ancestors()
        .nth(2)
        .ok_or("host/embed/ is not two folders below the workspace root")?
        .to_path_buf();
    for watched in [
        "guest",
        "wit",
        "Cargo.lock",
        "examples/plugins",
        "tests/plugins",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let target_dir = root.join("target").join("wasm");
    ensure_wasm_target()?;
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            "tether-component",
        ])
        .args(PLUGINS.iter().flat_map(|(package, _)| ["-p", package]))
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's flags, wrappers (clippy, coverage) and target settings are
    // for the host, not for the guest.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_LLVM_COV",
        "LLVM_PROFILE_FILE",
    ] {
        cmd.env_remove(var);
    }
    let output = cmd.output()?;
    if !output.status.success() {
        return Err(format!(
            "building the tether component failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let wasm = target_dir
        .join("wasm32-wasip2")
        .join("release")
        .join("tether_component.wasm");
    if !wasm.exists() {
        return Err(format!("the component was not produced at {}", wasm.display()).into());
    }
    let out = PathBuf::from(env::var("OUT_DIR")?).join("tether.wasm");
    std::fs::copy(&wasm, &out)?;
    println!("cargo:rustc-env=TETHER_COMPONENT={}", out.display());
    println!("cargo:rustc-env=TETHER_COMPONENT_BUILT={}", wasm.display());
    for (package, var) in PLUGINS {
        let file = target_dir
            .join("wasm32-wasip2")
            .join("release")
            .join(format!("{}.wasm", package.replace('-', "_")));
        if !file.exists() {
            return Err(format!("the plugin was not produced at {}", file.display()).into());
        }
        println!("cargo:rustc-env={var}={}", file.display());
    }
    Ok(())
}

/// The plugin packages built with the component, and the variable naming each
/// one's `.wasm` for `tether_host::plugin::examples`.
const PLUGINS: [(&str, &str); 5] = [
    (
        "tether-plugin-satellite-window",
        "TETHER_PLUGIN_SATELLITE_WINDOW",
    ),
    (
        "tether-plugin-metered-cellular",
        "TETHER_PLUGIN_METERED_CELLULAR",
    ),
    (
        "tether-plugin-circuit-breaker",
        "TETHER_PLUGIN_CIRCUIT_BREAKER",
    ),
    ("tether-plugin-hostile", "TETHER_PLUGIN_HOSTILE"),
    ("tether-plugin-hostile-wasi", "TETHER_PLUGIN_HOSTILE_WASI"),
];

/// `rust-toolchain.toml` lists `wasm32-wasip2`, but rustup adds listed targets only
/// when it installs the toolchain. A machine that already had 1.95.0 lacks it, and
/// `cargo run -- demo` must still work there from a fresh clone.
fn ensure_wasm_target() -> Result<(), Box<dyn Error>> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc).args(["--print", "sysroot"]).output()?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib/rustlib/wasm32-wasip2").exists() {
        return Ok(());
    }
    println!("cargo:warning=installing the wasm32-wasip2 target with rustup");
    let status = Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2"])
        .status()
        .map_err(|e| {
            format!("the wasm32-wasip2 target is missing and rustup could not run: {e}")
        })?;
    if !status.success() {
        return Err(
            "the wasm32-wasip2 target is missing: run `rustup target add wasm32-wasip2`".into(),
        );
    }
    Ok(())
}
