//! tether on ARM devices, under qemu-user: the compiler-free runtimes cross-built
//! for aarch64 (Cranelift's machine code) and 32-bit ARMv7 (Pulley bytecode, which
//! wasmtime interprets: Cranelift emits no 32-bit ARM code).
//!
//! For each target:
//! - `tether compile --target TRIPLE` on this x86-64 machine makes the file, and
//!   the Rust runner `tether-conformance` and the C runner `tether_conformance
//!   --precompiled`, built for the target, run every conformance vector on it under
//!   qemu: their output is byte for byte what the Rust runner prints on x86-64
//!   (from an x86-64 file), which is every vector's `expected`. A file made for the
//!   other architecture is refused with the header's reason.
//! - The C device app (`examples/c/device.c`), built for the target, keeps a
//!   numbered QoS 1 stream through a broker restart (a real mosquitto on loopback;
//!   qemu-user shares the host's network): it reports the outage and reconnects,
//!   every message is delivered once, and the recorder on the broker has each of
//!   them (lost 0, unexpected 0).
//!
//! Not here: `tether-device run` (the Rust device) under qemu. Debian 12's
//! qemu-user 7.2 hangs (aarch64) or crashes (armv7) at the first thread a guest
//! program starts, any program (a two-line `std::thread::spawn` shows it), and the
//! Rust device runs tokio's worker thread. Its single-threaded parts
//! (`first-decision`, the conformance runner on the same runtime) run here.
//!
//! The cross builds use the `arm-test` profile (release without LTO, for build
//! time), Debian's cross linkers (`.cargo/config.toml`) and `qemu-aarch64` /
//! `qemu-arm` with the cross compilers' sysroots; `scripts/setup` installs them.
//! Nothing is skipped: a missing tool fails the test and names it.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tether_tests::broker::Broker;
use tether_tests::conformance::{load_dir, output_line};
use tether_tests::recorder::Recorder;
use tether_tests::{tether_binary, workspace_root};

/// Bound on waits for things that must happen (not speed limits: qemu is slow).
const WAIT: Duration = Duration::from_secs(120);

/// Messages in the stream through the restart.
const COUNT: u64 = 40;

/// An ARM target: its Rust triple, its qemu-user, the sysroot of its C library and
/// the CMake toolchain file (`bindings/c/cmake/<toolchain>.cmake`) of the C build.
struct Arm {
    triple: &'static str,
    qemu: &'static str,
    sysroot: &'static str,
    toolchain: &'static str,
}

const AARCH64: Arm = Arm {
    triple: "aarch64-unknown-linux-gnu",
    qemu: "qemu-aarch64",
    sysroot: "/usr/aarch64-linux-gnu",
    toolchain: "aarch64-linux-gnu",
};

const ARMV7: Arm = Arm {
    triple: "armv7-unknown-linux-gnueabihf",
    qemu: "qemu-arm",
    sysroot: "/usr/arm-linux-gnueabihf",
    toolchain: "armv7-linux-gnueabihf",
};

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// `cargo build ARGS` in the workspace, checked.
fn cargo_build(args: &[&str]) {
    let out = Command::new(cargo())
        .current_dir(workspace_root())
        .arg("build")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("could not run cargo: {e}"));
    assert!(
        out.status.success(),
        "cargo build {args:?} failed (scripts/setup installs the cross compilers and \
         Rust targets):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The folder holding `tether-device` and `tether-conformance` built for `arm`
/// (once per test process and target). The two are built together and alone, so
/// tether-host's `compiler` feature stays off.
fn arm_binaries(arm: &Arm) -> &'static Path {
    static AARCH64_DIR: OnceLock<PathBuf> = OnceLock::new();
    static ARMV7_DIR: OnceLock<PathBuf> = OnceLock::new();
    let cell = if arm.triple == AARCH64.triple {
        &AARCH64_DIR
    } else {
        &ARMV7_DIR
    };
    cell.get_or_init(|| {
        cargo_build(&[
            "-p",
            "tether-device-app",
            "-p",
            "tether-conformance",
            "--bins",
            "--profile",
            "arm-test",
            "--target",
            arm.triple,
        ]);
        let dir = workspace_root()
            .join("target")
            .join(arm.triple)
            .join("arm-test");
        for bin in ["tether-device", "tether-conformance"] {
            assert!(
                dir.join(bin).is_file(),
                "{bin} missing in {}",
                dir.display()
            );
        }
        dir
    })
}

/// The same two binaries for this machine (debug, without a compiler).
fn host_binaries() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        cargo_build(&[
            "-p",
            "tether-device-app",
            "-p",
            "tether-conformance",
            "--bins",
        ]);
        workspace_root().join("target").join("debug")
    })
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tether-arm-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `tether compile --target TRIPLE` (this host when `None`) into `dir`, checked.
fn precompile(dir: &Path, triple: Option<&str>) -> PathBuf {
    let path = dir.join(format!("{}.cwasm", triple.unwrap_or("host")));
    let mut cmd = Command::new(tether_binary());
    cmd.args(["compile", "-o", path.to_str().unwrap()]);
    if let Some(t) = triple {
        cmd.args(["--target", t]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "tether compile --target {triple:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// A command that runs `bin`, built for `arm`, under qemu-user.
fn under_qemu(arm: &Arm, bin: &Path) -> Command {
    let mut cmd = Command::new(arm.qemu);
    cmd.args(["-L", arm.sysroot]).arg(bin);
    cmd
}

fn vectors_dir() -> PathBuf {
    workspace_root()
        .join("tests")
        .join("conformance")
        .join("vectors")
}

/// What a runner prints when every vector gives its `expected` line.
fn expected_output() -> String {
    load_dir(&vectors_dir())
        .unwrap()
        .iter()
        .map(|f| {
            let line = f.vector.expected.as_deref().unwrap_or_else(|| {
                panic!("{} has no expected line", f.path.display());
            });
            output_line(&f.vector.name, line)
        })
        .collect()
}

fn conformance_output(mut cmd: Command, file: &Path, what: &str) -> String {
    let out = cmd.arg(file).arg(vectors_dir()).output().unwrap();
    assert!(
        out.status.success(),
        "{what}: exit {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The conformance output on x86-64, from a precompiled x86-64 file (once).
fn x86_64_output() -> &'static str {
    static OUTPUT: OnceLock<String> = OnceLock::new();
    OUTPUT.get_or_init(|| {
        let dir = scratch("x86");
        let file = precompile(&dir, None);
        let runner = host_binaries().join("tether-conformance");
        let output = conformance_output(Command::new(runner), &file, "x86-64");
        let expected = expected_output();
        if let Some(diff) = tether_tests::golden::first_difference(&expected, &output) {
            panic!("x86-64 differs from the vectors' expected lines: {diff}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
        output
    })
}

/// The C library, conformance runner and device app built for `arm` without a
/// compiler (once per test process and target): `target/c-precompiled-<triple>/`.
fn c_binaries(arm: &Arm) -> &'static Path {
    static AARCH64_DIR: OnceLock<PathBuf> = OnceLock::new();
    static ARMV7_DIR: OnceLock<PathBuf> = OnceLock::new();
    let cell = if arm.triple == AARCH64.triple {
        &AARCH64_DIR
    } else {
        &ARMV7_DIR
    };
    cell.get_or_init(|| {
        tether_tests::c_host::build_cross(arm.triple, arm.toolchain)
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

/// Which runner of the conformance vectors: the Rust one or the C one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Host {
    Rust,
    C,
}

/// The conformance runner of `host` built for `arm`, under qemu, before its
/// `FILE DIR` arguments.
fn runner(arm: &Arm, host: Host) -> Command {
    match host {
        Host::Rust => under_qemu(arm, &arm_binaries(arm).join("tether-conformance")),
        Host::C => {
            let mut cmd = under_qemu(arm, &c_binaries(arm).join("tether_conformance"));
            cmd.arg("--precompiled");
            cmd
        }
    }
}

fn conformance_on(arm: &Arm, host: Host) {
    let reference = x86_64_output();
    let dir = scratch(&format!("vectors-{}-{}", arm.triple, host == Host::C));
    let file = precompile(&dir, Some(arm.triple));
    let output = conformance_output(runner(arm, host), &file, arm.triple);
    assert_eq!(
        output.lines().count(),
        load_dir(&vectors_dir()).unwrap().len(),
        "one line per vector"
    );
    if let Some(diff) = tether_tests::golden::first_difference(reference, &output) {
        panic!("{} differs from x86-64: {diff}", arm.triple);
    }
    assert_eq!(output, reference);
    // The other architecture's file is refused, with the reason, not run.
    let other = if arm.triple == AARCH64.triple {
        precompile(&dir, Some(ARMV7.triple))
    } else {
        precompile(&dir, Some(AARCH64.triple))
    };
    let out = runner(arm, host)
        .arg(&other)
        .arg(vectors_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("compatibility header does not match"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    if host == Host::Rust {
        // The device binary's first decision, as on x86-64 (one thread: see above).
        let device = arm_binaries(arm).join("tether-device");
        let out = under_qemu(arm, &device)
            .arg("--precompiled")
            .arg(&file)
            .arg("first-decision")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let host_file = precompile(&dir, None);
        let x86 = Command::new(host_binaries().join("tether-device"))
            .arg("--precompiled")
            .arg(&host_file)
            .arg("first-decision")
            .output()
            .unwrap();
        assert!(
            x86.status.success(),
            "{}",
            String::from_utf8_lossy(&x86.stderr)
        );
        assert!(!out.stdout.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&x86.stdout)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn aarch64_runs_the_conformance_vectors_as_x86_64_does() {
    conformance_on(&AARCH64, Host::Rust);
}

#[test]
fn armv7_pulley_runs_the_conformance_vectors_as_x86_64_does() {
    conformance_on(&ARMV7, Host::Rust);
}

#[test]
fn c_on_aarch64_runs_the_conformance_vectors_as_x86_64_does() {
    conformance_on(&AARCH64, Host::C);
}

#[test]
fn c_on_armv7_pulley_runs_the_conformance_vectors_as_x86_64_does() {
    conformance_on(&ARMV7, Host::C);
}

// ---- a device through a broker restart ---------------------------------------------

/// A running device whose stdout lines arrive on a channel as they are printed.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    reader: JoinHandle<()>,
}

impl Running {
    fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
            reader,
        }
    }

    /// Read lines until `done` holds for every line read so far.
    fn wait_until(&mut self, what: &str, done: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "waited {WAIT:?} for {what}; output:\n{}",
                    self.seen.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "the device ended before {what}; output:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Wait for the exit (a process that ends by itself): the exit status, every
    /// stdout line and stderr.
    fn wait_exit(mut self) -> (ExitStatus, Vec<String>, String) {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("no exit after SIGTERM:\n{}", self.seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.reader.join().unwrap();
        self.seen.extend(self.lines.try_iter());
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            std::io::Read::read_to_string(&mut e, &mut stderr).unwrap();
        }
        (status, self.seen, stderr)
    }
}

/// The C device app (`examples/c/device.c`, without a compiler) built for `arm`:
/// the same restart, through its own accounting and the recorder's.
fn c_through_a_restart(arm: &Arm) {
    let app = c_binaries(arm).join("tether_device");
    let dir = scratch(&format!("c-restart-{}", arm.triple));
    let file = precompile(&dir, Some(arm.triple));
    let mut broker = Broker::options().durable().start().unwrap();
    let device_id = format!("c-arm-{}", arm.triple);
    // The app's stream: the numbers 1..=COUNT on tether/<device-id>/telemetry.
    let recorder =
        Recorder::start(&broker.address(), &format!("tether/{device_id}/telemetry")).unwrap();
    let mut cmd = under_qemu(arm, &app);
    cmd.arg("--precompiled")
        .arg(&file)
        .args(["--port", &broker.port().to_string()])
        .args(["--messages", &COUNT.to_string(), "--interval-ms", "100"])
        .args(["--timeout-s", "110", "--device-id", &device_id]);
    let mut run = Running::spawn(cmd);
    run.wait_until("three messages delivered", |l| {
        l.iter().any(|l| l.ends_with("] outcome 3 delivered"))
    });
    let before = recorder.snapshot();
    broker.stop().unwrap();
    run.wait_until("the outage reported", |l| {
        l.iter()
            .any(|l| l.contains("] status disconnected-retrying "))
    });
    std::thread::sleep(Duration::from_secs(1));
    broker.restart().unwrap();
    recorder
        .wait_subscribed(before.subscriptions, WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    run.wait_until("the summary", |l| {
        l.iter().any(|l| l.starts_with("summary "))
    });
    let (status, lines, stderr) = run.wait_exit();
    let output = lines.join("\n");
    assert!(status.success(), "exit {status}\n{output}\n{stderr}");
    assert!(
        lines.iter().any(|l| l
            == &format!("summary accepted={COUNT} delivered={COUNT} failed=0 refused=0")),
        "{output}"
    );
    let connected = lines
        .iter()
        .filter(|l| l.contains("] status connected connection-ok"))
        .count();
    assert_eq!(connected, 2, "before and after the restart:\n{output}");
    for n in 1..=COUNT {
        let line = format!("] outcome {n} delivered");
        let seen = lines.iter().filter(|l| l.ends_with(&line)).count();
        assert_eq!(seen, 1, "{line:?} printed {seen} times:\n{output}");
    }
    // The recorder's side: every number arrived, and nothing else.
    // The command-line device sends the plain number (the recorder's `counts`);
    // `{"n": N}` is the older examples' form, still read.
    let numbers = |r: &tether_tests::recorder::Record| -> (BTreeSet<u64>, usize) {
        let mut got: BTreeSet<u64> = r.counts.keys().copied().collect();
        let mut other = 0;
        for payload in &r.unparsed {
            let text = String::from_utf8_lossy(payload);
            match text
                .strip_prefix("{\"n\": ")
                .and_then(|t| t.strip_suffix('}'))
                .and_then(|n| n.parse::<u64>().ok())
            {
                Some(n) => {
                    got.insert(n);
                }
                None => other += 1,
            }
        }
        (got, other)
    };
    let record = recorder
        .wait_until(WAIT, |r| numbers(r).0.len() as u64 >= COUNT)
        .unwrap_or_else(|_| recorder.snapshot());
    let (got, other) = numbers(&record);
    let lost: Vec<u64> = (1..=COUNT).filter(|n| !got.contains(n)).collect();
    assert!(lost.is_empty(), "lost at the recorder: {lost:?}\n{output}");
    assert_eq!(other, 0, "unexpected payloads: {record:?}");
    assert_eq!(got.len() as u64, COUNT, "{got:?}");
    drop(broker);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn c_on_aarch64_device_keeps_its_stream_through_a_broker_restart() {
    c_through_a_restart(&AARCH64);
}

#[test]
fn c_on_armv7_pulley_device_keeps_its_stream_through_a_broker_restart() {
    c_through_a_restart(&ARMV7);
}
