//! Every saved fuzz input replays through its target's code: the minimized corpus
//! under `fuzz/seeds/<target>/` and every crash input found so far under
//! `fuzz/crashes/<target>/`, decoded as `cargo fuzz run` decodes them, without
//! libFuzzer. So each `cargo test` covers what the long fuzz runs found.
#![allow(clippy::unwrap_used, clippy::panic, clippy::arithmetic_side_effects)]

use std::path::{Path, PathBuf};

use tether_fuzz_cases::{TARGETS, decodes, run_bytes};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn replay(target: &str) -> usize {
    let mut inputs = files(&fuzz_dir().join("seeds").join(target));
    let seeds = inputs.len();
    assert!(
        seeds > 0,
        "fuzz/seeds/{target}/ holds no saved input: the corpus replay would test nothing"
    );
    inputs.extend(files(&fuzz_dir().join("crashes").join(target)));
    let mut failures = Vec::new();
    let mut decoded = 0usize;
    for path in &inputs {
        let bytes = std::fs::read(path).unwrap();
        decoded += usize::from(decodes(target, &bytes));
        if let Err(e) = run_bytes(target, &bytes) {
            failures.push(format!("{}: {e}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} saved inputs of {target} fail:\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n\n")
    );
    // Inputs too short for a case are skipped by the fuzz target too; a corpus of
    // nothing else would replay nothing.
    assert!(decoded > 0, "no saved input of {target} decodes to a case");
    decoded
}

#[test]
fn flow_corpus_replays() {
    println!("flow: {} cases replayed", replay("flow"));
}

#[test]
fn identity_corpus_replays() {
    println!("identity: {} cases replayed", replay("identity"));
}

#[test]
fn device_file_corpus_replays() {
    println!("device_file: {} cases replayed", replay("device_file"));
}

#[test]
fn every_target_has_a_replay() {
    assert_eq!(TARGETS, ["flow", "identity", "device_file"]);
}

#[test]
fn a_finding_is_reported_not_swallowed() {
    // An unknown target is an error, and bytes too short for a case are skipped.
    assert!(run_bytes("nonesuch", b"").is_err());
    assert!(run_bytes("identity", b"").is_ok());
}
