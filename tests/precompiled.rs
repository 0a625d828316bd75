//! Precompiled components: `tether compile` and the compiler-free `tether-device`.
//!
//! - `tether compile -o FILE` writes a file that `tether-device --precompiled FILE
//!   first-decision` loads, and its first decision is the one the compiled
//!   component makes in process.
//! - Files that must not load are refused with exit code 2 and a message that says
//!   what is wrong, never a panic: a plain `.wasm`, a truncated file, garbage, a
//!   file made for another target (its compatibility header names the OS), a
//!   missing file, and no file at all.
//! - `tether compile` for a target whose backend is not in the build says so.
//! - A real device: `tether-device run` against a real mosquitto reaches the
//!   connected status and stops at SIGTERM with its summary.
//! - `cargo tree` of `tether-device-app` holds no Cranelift.
//!
//! Both binaries are built by `cargo build -p ...` (the device binary alone, so
//! its compiler stays out) and found in `target/debug/`.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use tether_host::names::command_text;
use tether_host::{Device, Entropy, VirtualClock};
use tether_tests::broker::Broker;
use tether_tests::{device_binary, tether_binary, workspace_root};

/// Bound on waits for things that must happen (not speed limits).
const WAIT: Duration = Duration::from_secs(60);

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tether-precompiled-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(program: &Path, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `tether compile -o DIR/tether.cwasm`, checked.
fn compile(dir: &Path, extra: &[&str]) -> PathBuf {
    let path = dir.join("tether.cwasm");
    let mut args = vec!["compile", "-o", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = run(tether_binary(), &args);
    assert!(
        out.status.success(),
        "tether compile failed: {}",
        stderr(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("precompiled for"),
        "{out:?}"
    );
    path
}

fn first_decision(file: &Path) -> Output {
    run(
        device_binary(),
        &["--precompiled", file.to_str().unwrap(), "first-decision"],
    )
}

#[test]
fn a_compiled_file_loads_without_a_compiler_and_decides_as_the_compiled_component() {
    let dir = scratch("same");
    let file = compile(
        &dir,
        &[
            "--component",
            tether_tests::component_path().to_str().unwrap(),
        ],
    );
    let out = first_decision(&file);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    // The same configuration in process, on the compiled component.
    let mut device = Device::new(
        tether_tests::runtime(),
        r#"{"hub": "hub-a"}"#,
        VirtualClock::new(),
        Entropy::fixed(1),
    )
    .unwrap();
    let expected: Vec<String> = device
        .start()
        .unwrap()
        .commands
        .iter()
        .map(command_text)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(lines, expected);
    // The environment variable does the same as the flag.
    let out = Command::new(device_binary())
        .env("TETHER_PRECOMPILED", &file)
        .arg("first-decision")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn files_that_are_not_this_engines_precompiled_component_are_refused_with_the_reason() {
    let dir = scratch("bad");
    let good = std::fs::read(compile(&dir, &[])).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "plain.wasm",
            std::fs::read(tether_tests::component_path()).unwrap(),
            "not a precompiled wasmtime file",
        ),
        (
            "garbage.cwasm",
            b"\x7fELF and then nothing".to_vec(),
            "precompiled tether component",
        ),
        ("empty.cwasm", Vec::new(), "not a precompiled wasmtime file"),
        (
            "truncated.cwasm",
            good.get(..good.len() / 3).unwrap().to_vec(),
            "precompiled tether component",
        ),
    ];
    for (name, bytes, reason) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = first_decision(&path);
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {text}");
        assert!(
            text.contains(name),
            "{name}: the message names the file: {text}"
        );
        assert!(text.contains(reason), "{name}: {text}");
        assert!(!text.contains("panicked"), "{name}: {text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_made_for_another_target_is_refused_and_its_header_says_which() {
    let dir = scratch("target");
    // Same architecture (its backend is in every build), another OS.
    let file = compile(&dir, &["--target", "x86_64-apple-darwin"]);
    let out = first_decision(&file);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("compatibility header does not match"),
        "{text}"
    );
    assert!(text.contains("darwin"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compiling_for_a_target_without_a_backend_or_without_an_output_says_so() {
    let dir = scratch("nobackend");
    let out_path = dir.join("x.cwasm");
    let out = run(
        tether_binary(),
        &[
            "compile",
            "-o",
            out_path.to_str().unwrap(),
            "--target",
            "riscv32imac-unknown-none-elf",
        ],
    );
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("riscv32imac-unknown-none-elf"), "{text}");
    assert!(!out_path.exists());
    let out = run(
        tether_binary(),
        &[
            "compile",
            "-o",
            out_path.to_str().unwrap(),
            "--target",
            "no-such",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no-such"), "{}", stderr(&out));
    let out = run(device_binary(), &["first-decision"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--precompiled FILE"),
        "{}",
        stderr(&out)
    );
    let missing = dir.join("missing.cwasm");
    let out = first_decision(&missing);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.cwasm"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_device_binary_runs_a_device_on_a_real_broker_and_stops_at_sigterm() {
    let dir = scratch("run");
    let file = compile(&dir, &[]);
    let broker = Broker::start().unwrap();
    let device_file = dir.join("device.json");
    let doc = json!({
        "connection": { "hub": broker.address(), "device-id": "fp-device", "seed": 3 },
        "mqtt": { "version": 5, "keep-alive-s": 30 },
        "publish": { "topic": "tether/fp", "interval-ms": 50 },
    });
    std::fs::write(&device_file, doc.to_string()).unwrap();
    let mut child = Command::new(device_binary())
        .args(["--precompiled", file.to_str().unwrap(), "run", "--config"])
        .arg(&device_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "no connected status: {seen:?}");
        let Some(line) = lines.next() else {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            panic!("tether-device ended before connecting: {seen:?} {err}");
        };
        let line = line.unwrap();
        let connected = line.contains("status connected");
        seen.push(line);
        if connected {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "{seen:?} {rest:?}");
    assert!(
        rest.iter().any(|l| l.starts_with("messages: accepted")),
        "{rest:?}"
    );
    drop(broker);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_device_binary_has_no_compiler_in_its_dependency_graph() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "tree",
            "-p",
            "tether-device-app",
            "-e",
            "features,normal",
            "--prefix",
            "none",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let tree = String::from_utf8(out.stdout).unwrap();
    assert!(tree.contains("wasmtime feature \"runtime\""), "{tree}");
    // cranelift-entity and cranelift-bitset are data structures wasmtime's runtime
    // shares with the compiler; the compiler is cranelift-codegen behind
    // wasmtime-internal-cranelift.
    for needle in [
        "cranelift-codegen",
        "wasmtime-internal-cranelift",
        "wasmtime feature \"cranelift\"",
        "wasmtime feature \"parallel-compilation\"",
        "wasmtime feature \"wat\"",
        "rayon",
    ] {
        assert!(
            !tree.contains(needle),
            "{needle} is in the device binary's tree:\n{tree}"
        );
    }
}

/// The C device app built with `-DTETHER_PRECOMPILED_ONLY=ON` (target/c-precompiled).
fn c_device_without_compiler() -> PathBuf {
    match tether_tests::c_host::build_precompiled_only() {
        Ok(dir) => dir.join("tether_device"),
        Err(e) => panic!("building bindings/c without a compiler: {e}"),
    }
}

#[test]
fn the_c_device_app_without_a_compiler_delivers_from_a_precompiled_component() {
    let app = c_device_without_compiler();
    let dir = scratch("c");
    let file = compile(&dir, &[]);
    let broker = Broker::start().unwrap();
    let port = broker.port().to_string();
    let out = Command::new(&app)
        .args(["--precompiled", file.to_str().unwrap(), "--port", &port])
        .args([
            "--messages",
            "5",
            "--interval-ms",
            "20",
            "--timeout-s",
            "60",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(
        text.contains("summary accepted=5 delivered=5 failed=0"),
        "{text}"
    );
    // No compiler: a plain component is refused, and so is a file for another target.
    let wasm = tether_tests::component_path();
    let out = Command::new(&app)
        .args(["--wasm", wasm.to_str().unwrap(), "--port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("has no compiler"), "{}", stderr(&out));
    let out = Command::new(&app)
        .args(["--precompiled", wasm.to_str().unwrap(), "--port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("plain .wasm component"),
        "{}",
        stderr(&out)
    );
    let other_dir = scratch("c-darwin");
    let other = compile(&other_dir, &["--target", "x86_64-apple-darwin"]);
    let out = Command::new(&app)
        .args(["--precompiled", other.to_str().unwrap(), "--port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("compatibility header does not match"),
        "{}",
        stderr(&out)
    );
    drop(broker);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&other_dir).unwrap();
}
