//! The conformance vectors (`tests/conformance/vectors/`, format in
//! `tests/conformance/FORMAT.md`) through all four hosts.
//!
//! - `conformance_rust`: the Rust runner's line for every vector equals the
//!   vector's `expected`, and the `conformance` binary prints exactly what the
//!   in-process run computed.
//! - `conformance_vectors_are_generated`: the files are what
//!   `tests/src/conformance/generate.rs` (where the vectors are written down) gives.
//! - `conformance_python`, `conformance_node`, `conformance_c`: each other runner,
//!   given the same component file and directory, prints the Rust output byte for
//!   byte. A runner that is not there fails its test (never skips) and says what to
//!   build or install.
//!
//! Re-blessing after an intended change of behaviour: `TETHER_BLESS=1 cargo test -p
//! tether-tests --test conformance` (or `cargo run -p tether-tests --bin
//! conformance-gen`) regenerates the vectors, re-timing the flow scripts, and
//! rewrites every `expected`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use tether_host::Runtime;
use tether_tests::conformance::generate::{stale_files, write_all};
use tether_tests::conformance::{
    Kind, first_difference, load_dir, output_line, run_vector, write_vector,
};
use tether_tests::golden::blessing;
use tether_tests::{component_path, workspace_root};

/// A failure whose message is printed as is (a test returning `Err` shows `Debug`).
struct Failure(String);

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T = ()> = std::result::Result<T, Failure>;

fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(Failure(message.into()))
}

const BLESS_HOW: &str = "If the change is intended, re-bless with `TETHER_BLESS=1 cargo test -p \
     tether-tests --test conformance` (or `cargo run -p tether-tests --bin conformance-gen`): it \
     regenerates the vectors from tests/src/conformance/generate.rs, re-timing the flow scripts, \
     and rewrites every expected line; then review the diff of tests/conformance/vectors.";

fn vectors_dir() -> PathBuf {
    workspace_root()
        .join("tests")
        .join("conformance")
        .join("vectors")
}

/// One vector's result in the Rust runner.
struct Row {
    file: PathBuf,
    name: String,
    kind: Kind,
    expected: Option<String>,
    actual: String,
}

/// The Rust runner's results, computed once per test process.
struct RustRun {
    rows: Vec<Row>,
    /// What a runner prints: `<name>: <line>\n` per vector.
    output: String,
}

/// The component file the other runners load (not the copy embedded in
/// tether-host), compiled once per test process.
fn runtime() -> Result<&'static Runtime> {
    static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| Runtime::from_file(component_path()).map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| Failure(format!("the component does not load: {e}")))
}

/// The Rust runner's results, computed once per test process. When blessing, the
/// vectors are regenerated and re-blessed first, so every test of this run sees the
/// new files.
fn rust_run() -> Result<&'static RustRun> {
    static RUN: OnceLock<std::result::Result<RustRun, String>> = OnceLock::new();
    let runtime = runtime()?;
    RUN.get_or_init(|| compute_rust_run(runtime).map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| Failure(format!("the Rust conformance runner failed: {e}")))
}

fn compute_rust_run(runtime: &Runtime) -> anyhow::Result<RustRun> {
    let dir = vectors_dir();
    if blessing() {
        let written = write_all(runtime, &dir, false)?;
        for path in &written.changed {
            eprintln!("blessed {}", path.display());
        }
    }
    let mut rows = Vec::new();
    let mut output = String::new();
    for mut file in load_dir(&dir)? {
        let actual = run_vector(runtime, &file.vector)
            .map_err(|e| e.context(format!("vector {}", file.path.display())))?;
        if blessing() && file.vector.expected.as_deref() != Some(actual.as_str()) {
            // A vector not written by the generator: bless it as it is.
            file.vector.expected = Some(actual.clone());
            write_vector(&file.path, &file.vector)?;
            eprintln!("blessed {}", file.path.display());
        }
        output.push_str(&output_line(&file.vector.name, &actual));
        rows.push(Row {
            file: file.path,
            name: file.vector.name,
            kind: file.vector.kind,
            expected: file.vector.expected,
            actual,
        });
    }
    Ok(RustRun { rows, output })
}

#[test]
fn conformance_rust() -> Result {
    let run = rust_run()?;
    let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
    for row in &run.rows {
        let count = counts.entry(row.kind).or_default();
        *count = count.saturating_add(1);
    }
    let summary: Vec<String> = Kind::ALL
        .iter()
        .map(|k| format!("{} {}", counts.get(k).copied().unwrap_or(0), k.name()))
        .collect();
    eprintln!(
        "conformance: {} vectors: {}",
        run.rows.len(),
        summary.join(", ")
    );
    if let Some(kind) = Kind::ALL.iter().find(|k| !counts.contains_key(k)) {
        return fail(format!(
            "no {} vectors in {}: the vectors are missing; run `cargo run -p tether-tests --bin conformance-gen`",
            kind.name(),
            vectors_dir().display()
        ));
    }

    let mismatches: Vec<String> = run
        .rows
        .iter()
        .filter(|r| r.expected.as_deref() != Some(r.actual.as_str()))
        .map(|r| {
            format!(
                "{} ({}):\n  expected: {}\n  actual:   {}",
                r.name,
                r.file.display(),
                r.expected
                    .as_deref()
                    .unwrap_or("(none: the vector was never blessed)"),
                r.actual
            )
        })
        .collect();
    if !mismatches.is_empty() {
        return fail(format!(
            "{} of {} conformance vectors do not give their expected line:\n\n{}\n\n{BLESS_HOW}",
            mismatches.len(),
            run.rows.len(),
            mismatches.join("\n\n")
        ));
    }

    // The binary is what the other engineers and CI call: it must print exactly
    // what the in-process run computed.
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_conformance"));
    compare_runner(
        "Rust (conformance binary)",
        Command::new(&binary)
            .arg(component_path())
            .arg(vectors_dir()),
        &run.output,
    )
}

/// The files match what `tether_tests::conformance::generate` gives now: nobody
/// edited a generated vector by hand, and no flow was re-blessed without being
/// re-timed (an `expected` blessed over stale event times would pin nonsense).
#[test]
fn conformance_vectors_are_generated() -> Result {
    // Blessing rewrites the files (in `rust_run`); wait for it.
    rust_run()?;
    let stale = stale_files(runtime()?, &vectors_dir()).map_err(|e| Failure(format!("{e:#}")))?;
    if stale.is_empty() {
        return Ok(());
    }
    fail(format!(
        "{} conformance vector file(s) differ from what tests/src/conformance/generate.rs \
         gives:\n  {}\nThe vectors are written down in generate.rs: change them there. {BLESS_HOW}",
        stale.len(),
        stale.join("\n  ")
    ))
}

/// Run a runner and compare its output with the Rust output.
fn compare_runner(what: &str, cmd: &mut Command, rust: &str) -> Result {
    cmd.current_dir(workspace_root());
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => {
            return fail(format!(
                "runner missing: {what}: could not run {cmd:?}: {e}"
            ));
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return fail(format!(
            "the {what} conformance runner exited with {}: {cmd:?}\n--- stderr ---\n{stderr}\n--- stdout ---\n{stdout}",
            out.status
        ));
    }
    if let Some(diff) = first_difference(rust, &stdout) {
        return fail(format!(
            "the {what} conformance runner's output differs from the Rust runner's \
             ({cmd:?}).\n{diff}\n(\"rust\" is the Rust runner's line, \"other\" the {what} \
             runner's)\n--- stderr ---\n{stderr}"
        ));
    }
    eprintln!(
        "conformance: {what} runner matches the Rust runner on {} lines",
        rust.lines().count()
    );
    Ok(())
}

/// `program` can be started (`program --version` runs).
fn has_program(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn require_file(path: &Path, what: &str) -> Result {
    if path.is_file() {
        Ok(())
    } else {
        fail(format!(
            "runner missing: {} does not exist; {what}",
            path.display()
        ))
    }
}

#[test]
fn conformance_python() -> Result {
    let root = workspace_root();
    let python_root = root.join("bindings").join("python");
    if !has_program("python3") {
        return fail("runner missing: python3 is not installed (Debian package python3)");
    }
    let module = python_root.join("tether").join("conformance.py");
    let package_main = python_root
        .join("tether")
        .join("conformance")
        .join("__main__.py");
    if !module.is_file() && !package_main.is_file() {
        return fail(format!(
            "runner missing: the Python runner {} (run as `python3 -m tether.conformance <wasm> \
             <dir>` with PYTHONPATH={}) is not written yet; it also needs the Python package \
             wasmtime (scripts/setup)",
            module.display(),
            python_root.display()
        ));
    }
    let rust = rust_run()?;
    compare_runner(
        "Python",
        Command::new("python3")
            .env("PYTHONPATH", &python_root)
            .args(["-m", "tether.conformance"])
            .arg(component_path())
            .arg(vectors_dir()),
        &rust.output,
    )
}

#[test]
fn conformance_node() -> Result {
    let root = workspace_root();
    if !has_program("node") {
        return fail("runner missing: node is not installed (Node.js 18 or later)");
    }
    let script = root.join("bindings").join("node").join("conformance.mjs");
    require_file(
        &script,
        "the Node runner (`node bindings/node/conformance.mjs <wasm> <dir>`) is not written yet; it \
         also needs its npm packages (scripts/setup)",
    )?;
    let rust = rust_run()?;
    compare_runner(
        "Node",
        Command::new("node")
            .arg(&script)
            .arg(component_path())
            .arg(vectors_dir()),
        &rust.output,
    )
}

#[test]
fn conformance_c() -> Result {
    // Builds bindings/c (and the wasmtime C API) when needed, so this test also runs
    // on its own on a fresh machine.
    let out = match tether_tests::c_host::build() {
        Ok(out) => out,
        Err(e) => return fail(format!("building the C host failed: {e}")),
    };
    let binary = out.join("tether_conformance");
    require_file(
        &binary,
        "build the C runner (the C host in bindings/c, linked against the wasmtime C API static \
         library built from bindings/c/capi) so that it lands at target/c/tether_conformance",
    )?;
    let rust = rust_run()?;
    compare_runner(
        "C",
        Command::new(&binary)
            .arg(component_path())
            .arg(vectors_dir()),
        &rust.output,
    )
}
