//! Shared support for the integration tests: everything here drives the real tether
//! component through `tether_host`, never the guest code directly.
//!
//! - [`component_path`] / [`workspace_root`]: where the build leaves things.
//! - [`runtime`]: one compiled component per test process.
//! - [`golden`]: golden transcripts in `tests/golden/`, compared byte for byte and
//!   rewritten with `TETHER_BLESS=1`.
//! - [`facts`]: the facts every flow test asserts explicitly next to its golden:
//!   statuses in order, no status repeated, one outcome per accepted message, opens.
//! - [`conformance`]: conformance vectors (`tests/conformance/`): parsing, replaying
//!   through the component, rendering the canonical lines.
//! - [`broker`]: a real mosquitto on a loopback port: password file and SIGHUP
//!   reload, TLS, MQTT 3.1.1 and 5, pause (SIGSTOP), graceful stop, kill, restart.
//! - [`tls`]: a generated CA and server certificate for the TLS broker.
//! - [`proxy`]: a fault proxy in front of the broker: latency, blackhole, reset, heal.
//! - [`front`]: a rate-limiting front for the broker, as the fleet simulator's hub:
//!   C new connections a second, CONNACK 3 for the rest, every attempt recorded.
//! - [`recorder`]: a subscriber that counts each number of a numbered stream, for
//!   the lost / duplicated / unexpected accounting.
//! - [`hosts`]: the Python and Node host libraries, made ready with the current
//!   component.
//! - [`iothub_lab`]: the enforcing IoT Hub emulator's lab for the fault rows.
//! - [`c_host`]: the C host (`bindings/c`), built with cmake into `target/c/`.
//! - [`child`]: a device program as a child process, its stdout lines as they come
//!   (wait, send a line, SIGKILL, exit status).

use std::path::{Path, PathBuf};

use tether_host::Runtime;

pub mod broker;
pub mod c_host;
pub mod child;
pub mod conformance;
pub mod front;
pub mod hosts;
pub mod iothub_lab;
pub mod proxy;
pub mod recorder;
pub mod tls;

/// The `tether` binary (`cargo build -p tether-cli`), built once per test process.
///
/// # Panics
/// When the build fails: nothing a CLI test checks can run without it.
#[allow(clippy::panic)]
pub fn tether_binary() -> &'static Path {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let out = std::process::Command::new(&cargo)
            .current_dir(workspace_root())
            .args(["build", "-p", "tether-cli", "--bin", "tether"])
            .output()
            .unwrap_or_else(|e| panic!("could not run {cargo}: {e}"));
        assert!(
            out.status.success(),
            "cargo build of the tether binary failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = workspace_root().join("target").join("debug").join("tether");
        assert!(
            path.is_file(),
            "{} is missing after the build",
            path.display()
        );
        path
    })
}

/// The compiler-free `tether-device` binary, built once per test process with
/// `cargo build -p tether-device-app` alone, so tether-host's `compiler` feature
/// stays off (a build together with tether-cli would turn it on).
///
/// # Panics
/// When the build fails.
#[allow(clippy::panic)]
pub fn device_binary() -> &'static Path {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let out = std::process::Command::new(&cargo)
            .current_dir(workspace_root())
            .args(["build", "-p", "tether-device-app", "--bin", "tether-device"])
            .output()
            .unwrap_or_else(|e| panic!("could not run {cargo}: {e}"));
        assert!(
            out.status.success(),
            "cargo build of the tether-device binary failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = workspace_root()
            .join("target")
            .join("debug")
            .join("tether-device");
        assert!(
            path.is_file(),
            "{} is missing after the build",
            path.display()
        );
        path
    })
}

/// The workspace root (the folder holding `Cargo.toml`, `wit/` and `target/`).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map_or(manifest.clone(), PathBuf::from)
}

/// The tether component as the build of `tether-host` leaves it:
/// `target/wasm/wasm32-wasip2/release/tether_component.wasm`. This crate depends on
/// `tether-host`, whose build script rebuilds the component, so it is current
/// whenever a test runs.
pub fn component_path() -> PathBuf {
    workspace_root()
        .join("target")
        .join("wasm")
        .join("wasm32-wasip2")
        .join("release")
        .join("tether_component.wasm")
}

/// The process-wide runtime for the embedded component (compiled once).
///
/// # Panics
/// If the component does not compile or link: every test needs it.
pub fn runtime() -> &'static Runtime {
    match Runtime::shared() {
        Ok(r) => r,
        Err(e) => fail(&format!("the tether component does not load: {e:#}")),
    }
}

/// Fail the current test with `message`.
#[allow(clippy::panic)] // test support: failing the test is the point
#[track_caller]
pub fn fail(message: &str) -> ! {
    panic!("{message}")
}

pub mod golden {
    //! Golden transcripts: `tests/golden/<name>.txt`, compared byte for byte.
    //!
    //! `TETHER_BLESS=1 cargo test -p tether-tests --test transcripts` rewrites them
    //! from the current run instead of comparing.

    use std::path::PathBuf;

    use super::{fail, workspace_root};

    /// The environment variable that rewrites golden files.
    pub const BLESS: &str = "TETHER_BLESS";

    /// The path of golden file `name` (without `.txt`).
    pub fn path(name: &str) -> PathBuf {
        workspace_root()
            .join("tests")
            .join("golden")
            .join(format!("{name}.txt"))
    }

    /// Whether this run rewrites golden files.
    pub fn blessing() -> bool {
        std::env::var(BLESS).is_ok_and(|v| !v.is_empty() && v != "0")
    }

    /// Where `expected` and `actual` first differ, as a diff-style message; `None`
    /// when they are identical.
    pub fn first_difference(expected: &str, actual: &str) -> Option<String> {
        if expected == actual {
            return None;
        }
        let exp: Vec<&str> = expected.split_inclusive('\n').collect();
        let act: Vec<&str> = actual.split_inclusive('\n').collect();
        let mut line = 0usize;
        loop {
            let e = exp.get(line).copied();
            let a = act.get(line).copied();
            if e != a {
                let show = |l: Option<&str>| match l {
                    Some(text) => format!("{text:?}"),
                    None => "(end of file)".to_string(),
                };
                let context = line
                    .checked_sub(1)
                    .and_then(|before| exp.get(before))
                    .map(|l| format!("  {:>4} | {}", line, l.trim_end_matches('\n')))
                    .unwrap_or_default();
                return Some(format!(
                    "first difference at line {n}:\n{context}\n- {n:>4} | expected: {}\n+ {n:>4} | actual:   {}\n\
                     (expected {} lines, actual {} lines)",
                    show(e),
                    show(a),
                    exp.len(),
                    act.len(),
                    n = line.saturating_add(1),
                ));
            }
            line = line.saturating_add(1);
        }
    }

    /// Compare `actual` with golden file `name`, or rewrite the file when blessing.
    ///
    /// # Panics
    /// On a mismatch or a missing file, with the first differing line and how to
    /// accept the new transcript.
    #[track_caller]
    pub fn check(name: &str, actual: &str) {
        let path = path(name);
        if blessing() {
            if let Some(dir) = path.parent()
                && let Err(e) = std::fs::create_dir_all(dir)
            {
                fail(&format!("cannot create {}: {e}", dir.display()));
            }
            if let Err(e) = std::fs::write(&path, actual) {
                fail(&format!("cannot write {}: {e}", path.display()));
            }
            eprintln!("blessed {}", path.display());
            return;
        }
        let expected = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => fail(&format!(
                "golden transcript {} cannot be read ({e}); run `{BLESS}=1 cargo test -p \
                 tether-tests --test transcripts` to create it. The transcript was:\n{actual}",
                path.display()
            )),
        };
        if let Some(diff) = first_difference(&expected, actual) {
            fail(&format!(
                "golden transcript {} does not match.\n{diff}\nIf the change is intended, run \
                 `{BLESS}=1 cargo test -p tether-tests --test transcripts` and review the diff.\n\
                 --- actual transcript ---\n{actual}",
                path.display()
            ));
        }
    }
}

pub mod facts {
    //! The facts every flow asserts explicitly, read from a finished [`Sim`].

    use tether_host::{Action, BackoffPlan, DecisionEvent, GiveUpReason, Reason, Status};
    use tether_sim::{LineKind, MessageSummary, Sim};

    use super::fail;

    /// The statuses reported, in order, without their times.
    pub fn statuses(sim: &Sim) -> Vec<(Status, Reason)> {
        sim.statuses()
            .iter()
            .map(|s| (s.status, s.reason))
            .collect()
    }

    /// Fail if two consecutive status reports are identical (the contract says
    /// `status-changed` is never called twice in a row with the same pair).
    #[track_caller]
    pub fn assert_no_repeated_status(sim: &Sim) {
        let list = statuses(sim);
        for pair in list.windows(2) {
            if let [a, b] = pair
                && a == b
            {
                fail(&format!(
                    "status {a:?} reported twice in a row; all statuses: {list:?}"
                ));
            }
        }
    }

    /// Fail unless every accepted message has exactly one outcome (no extra
    /// outcome, none pending, none for a message never accepted), and return the
    /// ledger's summary for further checks.
    #[track_caller]
    pub fn assert_one_outcome_each(sim: &Sim) -> MessageSummary {
        let summary = sim.messages().summary();
        for (id, record) in sim.messages().records() {
            if record.accepted_at_ms.is_none() {
                fail(&format!(
                    "message {id} has an outcome but was never accepted: {record:?}"
                ));
            }
            if record.outcomes.len() != 1 {
                fail(&format!(
                    "message {id} has {} outcomes, not exactly one: {record:?}\n{}",
                    record.outcomes.len(),
                    sim.transcript()
                ));
            }
        }
        if summary.pending != 0 || summary.extra_outcomes != 0 {
            fail(&format!("message ledger out of balance: {summary:?}"));
        }
        let ended = summary.delivered.saturating_add(summary.failed);
        if ended != summary.accepted {
            fail(&format!(
                "accepted {} messages but {ended} ended: {summary:?}",
                summary.accepted
            ));
        }
        summary
    }

    /// The hubs of the `open` calls the component made, in order.
    pub fn opened_hubs(sim: &Sim) -> Vec<String> {
        sim.transcript()
            .only(&[LineKind::Call])
            .iter()
            .filter_map(|l| l.text.strip_prefix("open "))
            .filter_map(|rest| {
                rest.split(' ')
                    .find_map(|w| w.strip_prefix("hub="))
                    .map(str::to_string)
            })
            .collect()
    }

    /// The backoff plans decided, in order.
    pub fn backoffs(sim: &Sim) -> Vec<BackoffPlan> {
        sim.decisions()
            .iter()
            .filter_map(|d| match &d.action {
                Action::Backoff(plan) => Some(*plan),
                _ => None,
            })
            .collect()
    }

    /// The give-up decisions, in order.
    pub fn give_ups(sim: &Sim) -> Vec<GiveUpReason> {
        sim.decisions()
            .iter()
            .filter_map(|d| match &d.action {
                Action::GiveUp(why) => Some(*why),
                _ => None,
            })
            .collect()
    }

    /// How many decisions match `pred`.
    pub fn count_decisions(sim: &Sim, pred: impl Fn(&DecisionEvent) -> bool) -> usize {
        sim.decisions().iter().filter(|d| pred(d)).count()
    }

    /// How many transcript lines (of any kind) are exactly `text`, ignoring time.
    pub fn count_lines(sim: &Sim, text: &str) -> usize {
        sim.transcript()
            .lines()
            .iter()
            .filter(|l| l.text == text)
            .count()
    }
}

pub mod rig {
    //! One device on a virtual clock, driven input by input: for tests that need
    //! to place each input at an exact millisecond (boundary pairs, hostile input).

    use tether_host::{
        Action, Command, DecisionEvent, Device, Entropy, NS_PER_MS, Outcome, StatusChange,
        VirtualClock,
    };

    use super::{fail, runtime};

    /// A device running `config` on its own virtual clock (starting at 0).
    #[derive(Debug)]
    pub struct Rig {
        /// The device (the real component).
        pub device: Device,
        /// Its clock: move it with [`Rig::at`] before each input.
        pub clock: VirtualClock,
    }

    impl Rig {
        /// A device for `config`, with entropy fixed at 1.
        ///
        /// # Panics
        /// If the component refuses the configuration.
        #[track_caller]
        pub fn new(config: &str) -> Self {
            let clock = VirtualClock::new();
            let device = match Device::new(runtime(), config, clock.clone(), Entropy::fixed(1)) {
                Ok(d) => d,
                Err(tether_host::Error::Config(e)) => fail(&format!(
                    "configuration refused: {}: {}\n{config}",
                    e.field, e.message
                )),
                Err(e) => fail(&format!("host error: {e:#}")),
            };
            Self { device, clock }
        }

        /// Move the clock to `ms` (it never goes back) and return the device.
        pub fn at(&mut self, ms: u64) -> &mut Device {
            self.clock.set_ms(ms);
            &mut self.device
        }

        /// The next deadline the connection wants, in whole milliseconds.
        ///
        /// # Panics
        /// On a host error.
        #[track_caller]
        pub fn next_wake_ms(&mut self) -> Option<u64> {
            match self.device.next_wake() {
                Ok(w) => w.map(|ns| ns / NS_PER_MS),
                Err(e) => fail(&format!("host error: {e:#}")),
            }
        }
    }

    /// The links opened, with their hubs.
    pub fn opens(commands: &[Command]) -> Vec<(u64, String)> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::Open { link, hub, .. } => Some((*link, hub.clone())),
                _ => None,
            })
            .collect()
    }

    /// The `wake-at` deadlines asked for, in whole milliseconds.
    pub fn wakes_ms(commands: &[Command]) -> Vec<u64> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::WakeAt(ns) => Some(ns / NS_PER_MS),
                _ => None,
            })
            .collect()
    }

    /// The message outcomes reported.
    pub fn outcomes(commands: &[Command]) -> Vec<(u64, Outcome)> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::Outcome { message, outcome } => Some((*message, *outcome)),
                _ => None,
            })
            .collect()
    }

    /// The status changes reported.
    pub fn statuses(commands: &[Command]) -> Vec<StatusChange> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::Status(s) => Some(*s),
                _ => None,
            })
            .collect()
    }

    /// The actions decided.
    pub fn actions(commands: &[Command]) -> Vec<Action> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::Decided(DecisionEvent { action, .. }) => Some(action.clone()),
                _ => None,
            })
            .collect()
    }
}

pub use tether_conformance::config_verdict;

/// [`config_verdict`] for tests: a host failure fails the test (it is a bug, not a
/// verdict).
#[track_caller]
pub fn verdict<T>(result: tether_host::Result<T>) -> Result<T, tether_host::ConfigError> {
    config_verdict(result).unwrap_or_else(|e| fail(&format!("host error: {e:#}")))
}
