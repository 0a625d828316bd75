//! The Python package as a user gets it: `mypy --strict` on its source, a wheel built
//! from a copy of `bindings/python` with the component inside, installed with pip
//! into a fresh virtual environment (its dependencies, wasmtime and paho-mqtt, from
//! the package registry), and devices run with that environment's Python from a
//! folder outside the source tree against a real mosquitto: the example device
//! (threads) and `tests/python/async_device.py` (asyncio).
//!
//! What it needs is installed by `scripts/setup` (mypy, setuptools, wheel; python3
//! with venv); when something is missing the test fails and says so. It never skips.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tether_tests::broker::Broker;
use tether_tests::{component_path, hosts::python_package, workspace_root};

fn run(what: &str, cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tether-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copy the package's sources (no build products, no caches) to `to`.
fn copy_sources(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if path.is_dir() {
            if name == "tether" {
                copy_sources(&path, &to.join("tether"));
            }
        } else if name != "tether.wasm" && !name.ends_with(".pyc") {
            fs::copy(&path, to.join(&*name)).unwrap();
        }
    }
}

#[test]
fn mypy_strict_is_clean() {
    let package = python_package().unwrap();
    let out = run(
        "python3 -m mypy (strict, bindings/python/pyproject.toml)",
        Command::new("python3")
            .args(["-m", "mypy", "--strict"])
            .current_dir(&package),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Success: no issues found"), "{text}");
    eprintln!("{}", text.trim());
}

#[test]
fn wheel_installs_into_a_fresh_venv_and_runs_a_device() {
    let root = workspace_root();
    let work = scratch("wheel");
    // The wheel: built from a copy, so nothing lands in the source tree, with the
    // component the build produced.
    let src = work.join("src");
    copy_sources(&root.join("bindings/python"), &src);
    let dist = work.join("dist");
    run(
        "pip wheel",
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "--quiet",
            ])
            .arg("--disable-pip-version-check")
            .arg("-w")
            .arg(&dist)
            .arg(&src)
            .env("TETHER_WASM", component_path()),
    );
    let version = env!("CARGO_PKG_VERSION");
    let wheel = dist.join(format!("tether-{version}-py3-none-any.whl"));
    assert!(
        wheel.is_file(),
        "no {} (the package's version is the workspace's): {:?}",
        wheel.display(),
        fs::read_dir(&dist).unwrap().collect::<Vec<_>>()
    );
    let size = fs::metadata(&wheel).unwrap().len();
    // The component is inside, byte for byte.
    let check = "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); \
         sys.exit(0 if z.read('tether/tether.wasm')==open(sys.argv[2],'rb').read() else 1)";
    run(
        "the wheel holds the component",
        Command::new("python3")
            .args(["-c", check])
            .arg(&wheel)
            .arg(component_path()),
    );

    // A fresh environment, and the wheel with its dependencies.
    let venv = work.join("venv");
    run(
        "python3 -m venv",
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
    );
    let python = venv.join("bin").join("python");
    run(
        "pip install the wheel",
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(&wheel)
            .env_remove("PYTHONPATH"),
    );

    // Outside the source tree.
    let run_dir = work.join("run");
    fs::create_dir_all(&run_dir).unwrap();
    fs::copy(
        root.join("examples/python/device.py"),
        run_dir.join("device.py"),
    )
    .unwrap();
    fs::copy(
        root.join("tests/python/async_device.py"),
        run_dir.join("async_device.py"),
    )
    .unwrap();
    let out = run(
        "import tether from the environment",
        Command::new(&python)
            .args([
                "-c",
                "import tether; print(tether.__file__, tether.__version__)",
            ])
            .current_dir(&run_dir)
            .env_remove("PYTHONPATH"),
    );
    let where_from = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        where_from.starts_with(&venv.display().to_string()) && where_from.ends_with(version),
        "tether came from {where_from}, not the environment {}",
        venv.display()
    );

    let broker = Broker::start().unwrap();
    let out = run(
        "the example device from the installed package",
        Command::new(&python)
            .arg("device.py")
            .arg(broker.address())
            .args(["10", "50"])
            .current_dir(&run_dir)
            .env_remove("PYTHONPATH"),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("summary published=10 accepted=10 delivered=10 failed=0"),
        "{text}"
    );
    let out = run(
        "the asyncio device from the installed package",
        Command::new(&python)
            .arg("async_device.py")
            .arg(broker.address())
            .current_dir(&run_dir)
            .env_remove("PYTHONPATH"),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("delivered 5 of 5"), "{text}");
    let statuses = text
        .lines()
        .find(|l| l.starts_with("statuses "))
        .unwrap_or("");
    assert!(statuses.ends_with(" connected/connection-ok"), "{text}");
    eprintln!(
        "wheel {} ({size} bytes, component inside), installed in a fresh venv, devices ran from {}",
        wheel.display(),
        run_dir.display()
    );
    let _ = fs::remove_dir_all(&work);
}
