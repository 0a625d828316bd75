//! The unit checks of the Python and Node host libraries (`bindings/python/tests`, run
//! with unittest; `bindings/node/test`, run with `node --test`), through the component
//! this build produced. What they need is installed by `scripts/setup`; when
//! something is missing the test fails and says so. It never skips.

use std::process::{Command, Output};

use tether_tests::hosts::{node_package, python_package};

fn check(what: &str, out: std::io::Result<Output>) -> Result<(), String> {
    let out = out.map_err(|e| format!("{what}: cannot run: {e}"))?;
    let text = format!(
        "{what} exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        eprintln!("{text}");
        Ok(())
    } else {
        Err(text)
    }
}

#[test]
fn python_library_unit_checks() -> Result<(), String> {
    let package = python_package()?;
    check(
        "python3 -m unittest discover -s bindings/python/tests",
        Command::new("python3")
            .args(["-m", "unittest", "discover", "-s"])
            .arg(package.join("tests"))
            .env("PYTHONPATH", &package)
            .output(),
    )
}

#[test]
fn node_library_unit_checks() -> Result<(), String> {
    let package = node_package()?;
    check(
        "node --test bindings/node/test/",
        Command::new("node")
            .arg("--test")
            .arg(package.join("test"))
            .current_dir(&package)
            .output(),
    )
}
