//! Writes the conformance vectors into `tests/conformance/vectors/`.
//!
//! ```text
//! conformance-gen [--wasm <path>] [--dir <vectors-dir>] [--prune]
//! ```
//!
//! The vectors are written down in `tether_tests::conformance::generate`; this
//! program resolves the flow scripts through the component, fills in every
//! `expected`, and writes the files whose text changed. Files in the directory that
//! it did not write are reported and, with `--prune`, removed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use tether_host::Runtime;
use tether_tests::conformance::generate::write_all;
use tether_tests::{component_path, workspace_root};

const USAGE: &str = "usage: conformance-gen [--wasm <path>] [--dir <vectors-dir>] [--prune]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conformance-gen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let mut wasm = component_path();
    let mut dir = workspace_root()
        .join("tests")
        .join("conformance")
        .join("vectors");
    let mut prune = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--wasm" => wasm = PathBuf::from(args.next().ok_or_else(|| anyhow!(USAGE))?),
            "--dir" => dir = PathBuf::from(args.next().ok_or_else(|| anyhow!(USAGE))?),
            "--prune" => prune = true,
            _ => bail!("unknown argument {arg:?}\n{USAGE}"),
        }
    }
    let runtime = Runtime::from_file(&wasm)?;
    let written = write_all(&runtime, &dir, prune)?;
    for path in &written.changed {
        eprintln!("conformance-gen: wrote {}", path.display());
    }
    for path in &written.foreign {
        if prune {
            eprintln!("conformance-gen: removed {}", path.display());
        } else {
            eprintln!(
                "conformance-gen: {} was not generated (kept; --prune removes it)",
                path.display()
            );
        }
    }
    let total: usize = written.counts.values().sum();
    let summary: Vec<String> = written
        .counts
        .iter()
        .map(|(k, n)| format!("{n} {}", k.name()))
        .collect();
    eprintln!(
        "conformance-gen: {total} vectors ({}), {} file(s) changed, in {}",
        summary.join(", "),
        written.changed.len(),
        dir.display()
    );
    Ok(())
}
