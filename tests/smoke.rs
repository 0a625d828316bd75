//! Portability smoke test: the same component, loaded from Python (PyPI `wasmtime`)
//! and from Node (`jco transpile`), runs the same scripted reconnection flow, and the
//! two canonical transcripts are byte-identical.
//!
//! What it needs is installed by `scripts/setup`; when something is missing this test
//! fails and says so. It never skips.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tether_tests::{component_path, workspace_root};

/// A failure whose message is printed as is (a test returning `Err` shows `Debug`).
struct Failure(String);

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, Failure>;

fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(Failure(message.into()))
}

const SETUP: &str = "run scripts/setup (from the repository root) to install it";

fn run(what: &str, cmd: &mut Command) -> Result<Output> {
    match cmd.output() {
        Ok(out) => Ok(out),
        Err(e) => fail(format!("{what}: could not run {cmd:?}: {e}; {SETUP}")),
    }
}

fn describe(what: &str, out: &Output) -> String {
    format!(
        "{what} exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The pinned `wasmtime==X` from the Python requirements.
fn pinned_python_wasmtime(root: &Path) -> Result<String> {
    let path = root.join("tests/smoke/python/requirements.txt");
    let text = fs::read_to_string(&path)
        .map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("wasmtime=="))
        .map(|v| v.trim().to_owned())
        .next()
        .ok_or_else(|| Failure(format!("{} pins no wasmtime==VERSION", path.display())))
}

/// Python's `wasmtime` is installed at the pinned version.
fn check_python(root: &Path) -> Result<()> {
    let pinned = pinned_python_wasmtime(root)?;
    let out = run(
        "python3",
        Command::new("python3").args([
            "-c",
            "from importlib.metadata import version; import wasmtime.component; print(version('wasmtime'))",
        ]),
    )?;
    if !out.status.success() {
        return fail(format!(
            "the Python package wasmtime is missing: {SETUP}\n{}",
            describe("python3 -c 'import wasmtime.component'", &out)
        ));
    }
    let found = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if found != pinned {
        return fail(format!(
            "Python wasmtime {found} is installed, tests/smoke/python/requirements.txt pins {pinned}: {SETUP}"
        ));
    }
    Ok(())
}

/// The Node packages are installed (`npm ci` in tests/smoke/node).
fn jco_cli(root: &Path) -> Result<PathBuf> {
    let node_dir = root.join("tests/smoke/node");
    let cli = node_dir.join("node_modules/.bin/jco");
    if !cli.is_file() {
        return fail(format!(
            "{} is missing (no node_modules in tests/smoke/node): {SETUP}",
            cli.display()
        ));
    }
    Ok(cli)
}

/// The transcript lines of one host, checked to end with its ok line.
fn transcript(what: &str, out: &Output, ok_line: &str) -> Result<String> {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return fail(describe(what, out));
    }
    let Some(body) = stdout.strip_suffix(&format!("{ok_line}\n")) else {
        return fail(format!(
            "{what} exited 0 but its output does not end with `{ok_line}`\n{}",
            describe(what, out)
        ));
    };
    if body.trim().is_empty() {
        return fail(format!(
            "{what} printed no transcript\n{}",
            describe(what, out)
        ));
    }
    Ok(body.to_owned())
}

fn first_difference(a: &str, b: &str) -> String {
    let (mut la, mut lb) = (a.lines(), b.lines());
    for n in 1.. {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => {}
            (None, None) => break,
            (x, y) => {
                return format!(
                    "first difference at line {n}:\n  python: {}\n  node:   {}",
                    x.unwrap_or("<end>"),
                    y.unwrap_or("<end>")
                );
            }
        }
    }
    "no line differs (line endings do)".to_owned()
}

fn run_python(root: &Path, wasm: &Path) -> Result<String> {
    check_python(root)?;
    let script = root.join("tests/smoke/python/smoke.py");
    let out = run(
        "python smoke",
        Command::new("python3")
            .arg(&script)
            .arg(wasm)
            .current_dir(root),
    )?;
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    transcript(
        "python3 tests/smoke/python/smoke.py",
        &out,
        "python smoke: ok",
    )
}

fn run_node(root: &Path, wasm: &Path) -> Result<String> {
    let cli = jco_cli(root)?;
    let out_dir = root.join("target/smoke-node");
    if out_dir.exists() {
        fs::remove_dir_all(&out_dir)
            .map_err(|e| Failure(format!("cannot clear {}: {e}", out_dir.display())))?;
    }
    let out = run(
        "jco transpile",
        Command::new("node")
            .arg(&cli)
            .arg("transpile")
            .arg(wasm)
            .arg("-o")
            .arg(&out_dir)
            .args([
                "--name",
                "tether",
                "--instantiation",
                "sync",
                "--no-wasi-shim",
                "--quiet",
            ])
            .current_dir(root.join("tests/smoke/node")),
    )?;
    if !out.status.success() {
        return fail(describe("jco transpile", &out));
    }
    let script = root.join("tests/smoke/node/smoke.mjs");
    let out = run(
        "node smoke",
        Command::new("node")
            .arg(&script)
            .arg(&out_dir)
            .current_dir(root),
    )?;
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    transcript("node tests/smoke/node/smoke.mjs", &out, "node smoke: ok")
}

#[test]
fn python_and_node_run_the_same_flow() -> Result<()> {
    let root = workspace_root();
    let wasm = component_path();
    if !wasm.is_file() {
        return fail(format!(
            "the component {} is missing; `cargo build -p tether-host` builds it",
            wasm.display()
        ));
    }
    // Check both environments first, so one run reports everything that is missing.
    let missing: Vec<String> = [check_python(&root).err(), jco_cli(&root).err()]
        .into_iter()
        .flatten()
        .map(|f| f.0)
        .collect();
    if !missing.is_empty() {
        return fail(missing.join("\n"));
    }
    let python = run_python(&root, &wasm)?;
    let node = run_node(&root, &wasm)?;
    if python != node {
        return fail(format!(
            "the Python and Node transcripts differ; {}\n--- python ---\n{python}--- node ---\n{node}",
            first_difference(&python, &node)
        ));
    }
    eprint!("{python}");
    Ok(())
}
