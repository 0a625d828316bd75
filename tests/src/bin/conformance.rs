//! The Rust conformance runner.
//!
//! ```text
//! conformance <path-to-wasm> <vectors-dir> [--bless]
//! ```
//!
//! Loads the component from `<path-to-wasm>`, runs every `*.json` vector in
//! `<vectors-dir>` in file-name order, and prints `<name>: <line>` for each
//! (tests/conformance/FORMAT.md). With `--bless` it also writes each line into its
//! vector's `expected`. Exit status 0 when every vector ran (whether or not its line
//! matches `expected`: the comparison is the test's job), 1 on a malformed vector or
//! a broken host, 2 on bad usage.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use tether_host::Runtime;
use tether_tests::conformance::{load_dir, output_line, run_vector, write_vector};

const USAGE: &str = "usage: conformance <path-to-wasm> <vectors-dir> [--bless]";

fn main() -> ExitCode {
    let mut positional = Vec::new();
    let mut bless = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--bless" => bless = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => positional.push(PathBuf::from(arg)),
        }
    }
    let [wasm, dir] = positional.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match run(wasm, dir, bless) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conformance: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(wasm: &Path, dir: &Path, bless: bool) -> anyhow::Result<()> {
    let runtime = Runtime::from_file(wasm)?;
    let files = load_dir(dir)?;
    let mut out = std::io::stdout().lock();
    let mut blessed = 0usize;
    for file in files {
        let line = run_vector(&runtime, &file.vector)
            .with_context(|| format!("vector {}", file.path.display()))?;
        out.write_all(output_line(&file.vector.name, &line).as_bytes())?;
        if bless && file.vector.expected.as_deref() != Some(line.as_str()) {
            let mut vector = file.vector;
            vector.expected = Some(line);
            if write_vector(&file.path, &vector)? {
                blessed = blessed.saturating_add(1);
            }
        }
    }
    out.flush()?;
    if bless {
        eprintln!(
            "conformance: blessed {blessed} vector(s) in {}",
            dir.display()
        );
    }
    Ok(())
}
