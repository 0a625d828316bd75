//! The C host (`bindings/c`), built on demand: `libtether.a`, the conformance runner,
//! the decision benchmark and the libmosquitto device app, all in `target/c/`.
//!
//! [`build`] runs `cmake -S bindings/c -B target/c/build` and `cmake --build`, which in
//! turn runs `cargo build --release` on `bindings/c/capi` (the wasmtime C API as a static
//! library, in its own target folder `target/c/cargo`). The first build on a machine
//! compiles wasmtime (minutes); later ones are no-ops that take a second. It needs
//! what `scripts/setup` installs: cmake, a C compiler, pkg-config, libjson-c-dev and
//! libmosquitto-dev.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::workspace_root;

/// `target/c`: where the C build leaves its programs and libraries.
pub fn out_dir() -> PathBuf {
    workspace_root().join("target").join("c")
}

/// The conformance runner, `target/c/tether_conformance <wasm> <vectors-dir>`.
pub fn conformance_runner() -> PathBuf {
    out_dir().join("tether_conformance")
}

/// The device app built from `examples/c/device.c`.
pub fn device_app() -> PathBuf {
    out_dir().join("tether_device")
}

/// The decision benchmark, `target/c/tether_bench <wasm> [iterations]`.
pub fn bench() -> PathBuf {
    out_dir().join("tether_bench")
}

/// The valgrind suppressions for wasmtime's own false positives.
pub fn valgrind_suppressions() -> PathBuf {
    workspace_root()
        .join("bindings")
        .join("c")
        .join("valgrind.supp")
}

/// Build (or bring up to date) everything in `bindings/c`, once per test process, and
/// return `target/c`. Concurrent test processes take turns through a lock file.
///
/// # Errors
/// When cmake or the compiler fails, with the tail of their output and what to install.
pub fn build() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(|| build_now(false)).clone()
}

/// `target/c-precompiled`: the build with `-DTETHER_PRECOMPILED_ONLY=ON` (the
/// wasmtime C API without Cranelift; libtether loads precompiled components only).
pub fn precompiled_only_dir() -> PathBuf {
    workspace_root().join("target").join("c-precompiled")
}

/// [`build`] with `-DTETHER_PRECOMPILED_ONLY=ON`, into [`precompiled_only_dir`]:
/// a second wasmtime C API, compiled once (minutes).
///
/// # Errors
/// As [`build`].
pub fn build_precompiled_only() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(|| build_now(true)).clone()
}

fn build_now(precompiled_only: bool) -> Result<PathBuf, String> {
    let root = workspace_root();
    let out = if precompiled_only {
        precompiled_only_dir()
    } else {
        out_dir()
    };
    fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let lock_path = out.join(".build-lock");
    let lock = File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;

    let build_dir = out.join("build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut configure = Command::new("cmake");
    configure
        .arg("-S")
        .arg(root.join("bindings").join("c"))
        .arg("-B")
        .arg(&build_dir)
        .arg("-DCMAKE_BUILD_TYPE=Release")
        .arg(format!("-DCARGO={cargo}"))
        .arg(format!(
            "-DTETHER_COMPONENT={}",
            super::component_path().display()
        ))
        .arg(format!(
            "-DTETHER_PRECOMPILED_ONLY={}",
            if precompiled_only { "ON" } else { "OFF" }
        ));
    run(&mut configure, "configuring bindings/c with cmake")?;
    let mut compile = Command::new("cmake");
    compile
        .arg("--build")
        .arg(&build_dir)
        .arg("--parallel")
        .arg("2");
    run(&mut compile, "building bindings/c")?;
    for name in ["tether_conformance", "tether_device", "tether_bench"] {
        let program = out.join(name);
        if !program.is_file() {
            return Err(format!(
                "the C build finished without producing {}",
                program.display()
            ));
        }
    }
    drop(lock);
    Ok(out)
}

/// `cmake --install` the C build (after [`build`]) into `prefix`.
///
/// # Errors
/// When the build or the install fails, with the tail of their output.
pub fn install(prefix: &Path) -> Result<(), String> {
    build()?;
    let mut cmd = Command::new("cmake");
    cmd.arg("--install")
        .arg(out_dir().join("build"))
        .arg("--prefix")
        .arg(prefix);
    run(&mut cmd, "installing bindings/c")
}

/// `target/c-precompiled-<triple>`: the compiler-free C build for an ARM device.
pub fn cross_dir(triple: &str) -> PathBuf {
    workspace_root()
        .join("target")
        .join(format!("c-precompiled-{triple}"))
}

/// Cross-build `bindings/c` without a compiler for `triple` with the CMake
/// toolchain file `bindings/c/cmake/<toolchain>.cmake` (Debian's cross compiler,
/// the target's json-c and libmosquitto) and the wasmtime C API in the light
/// `arm-test` profile; returns [`cross_dir`]. Once per build folder at a time, as
/// [`build`].
///
/// # Errors
/// As [`build`].
pub fn build_cross(triple: &str, toolchain: &str) -> Result<PathBuf, String> {
    let root = workspace_root();
    let out = cross_dir(triple);
    fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let lock_path = out.join(".build-lock");
    let lock = File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let toolchain = root
        .join("bindings")
        .join("c")
        .join("cmake")
        .join(format!("{toolchain}.cmake"));
    let mut configure = Command::new("cmake");
    configure
        .arg("-S")
        .arg(root.join("bindings").join("c"))
        .arg("-B")
        .arg(out.join("build"))
        .arg("-DCMAKE_BUILD_TYPE=Release")
        .arg(format!("-DCMAKE_TOOLCHAIN_FILE={}", toolchain.display()))
        .arg(format!("-DCARGO={cargo}"))
        .arg(format!(
            "-DTETHER_COMPONENT={}",
            super::component_path().display()
        ))
        .arg("-DTETHER_PRECOMPILED_ONLY=ON")
        .arg("-DTETHER_CAPI_PROFILE=arm-test");
    run(
        &mut configure,
        &format!("configuring bindings/c for {triple}"),
    )?;
    let mut compile = Command::new("cmake");
    compile
        .arg("--build")
        .arg(out.join("build"))
        .arg("--parallel")
        .arg("2");
    run(&mut compile, &format!("building bindings/c for {triple}"))?;
    for name in ["tether_conformance", "tether_device"] {
        if !out.join(name).is_file() {
            return Err(format!(
                "the C build for {triple} finished without producing {name}"
            ));
        }
    }
    drop(lock);
    Ok(out)
}

/// Run a build step, without the outer cargo's flags leaking into the nested one.
pub fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let output = cmd.output().map_err(|e| {
        format!(
            "{what}: cannot run {:?} ({e}); run scripts/setup to install cmake and the C \
             libraries",
            cmd.get_program()
        )
    })?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let tail: Vec<&str> = text.lines().rev().take(60).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(format!(
        "{what} failed ({}); if a tool or library is missing, run scripts/setup.\n{}",
        output.status,
        tail.join("\n")
    ))
}

/// Whether `program` can be found on `PATH` (or is a path to a file).
pub fn has_program(program: &str) -> bool {
    let path = Path::new(program);
    if path.components().count() > 1 {
        return path.is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
}
