//! `tether-conformance`: the Rust conformance runner on a precompiled component.
//!
//! ```text
//! tether-conformance <precompiled-file> <vectors-dir>
//! ```
//!
//! Loads the component made by `tether compile` (no compiler in this binary), runs
//! every `*.json` vector of `<vectors-dir>` in file-name order and prints `<name>:
//! <line>` for each (tests/conformance/FORMAT.md), exactly as the `conformance`
//! binary of tether-tests does on the `.wasm`. Built for an ARM target, it is how
//! tests/arm.rs checks that a device computes what x86-64 computes. Exit status 0
//! when every vector ran, 1 on a malformed vector or a broken host, 2 on bad usage
//! or a file that does not load.

#![forbid(unsafe_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use tether_conformance::{load_dir, output_line, run_vector};
use tether_host::Runtime;

const USAGE: &str = "usage: tether-conformance <precompiled-file> <vectors-dir>";

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let [file, dir] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let runtime = match Runtime::from_precompiled_file(file) {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tether-conformance: {e:#}");
            return ExitCode::from(2);
        }
    };
    match run(&runtime, dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tether-conformance: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(runtime: &Runtime, dir: &Path) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for file in load_dir(dir)? {
        let line = run_vector(runtime, &file.vector)
            .with_context(|| format!("vector {}", file.path.display()))?;
        out.write_all(output_line(&file.vector.name, &line).as_bytes())?;
    }
    out.flush()?;
    Ok(())
}
