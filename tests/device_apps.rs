//! The device apps (`examples/python/device.py` on paho-mqtt, `examples/node/device.mjs`
//! on mqtt.js) against a real mosquitto that is killed and restarted under them.
//!
//! Each app publishes numbered QoS 1 messages with tether deciding every reconnect.
//! The test waits until the app is connected and some messages are delivered, kills
//! the broker, waits 2 s, starts it again on the same port, and asserts that the app
//! reported `disconnected-retrying`, then `connected` again, and finished with every
//! message delivered. What the apps need is installed by `scripts/setup`; when
//! something is missing the test fails and says so. It never skips.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use tether_tests::broker::Broker;
use tether_tests::hosts::{node_package, python_package, require};
use tether_tests::workspace_root;

/// A failure whose message is printed as is (a test returning `Err` shows `Debug`).
struct Failure(String);

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure(s)
    }
}

type Result<T> = std::result::Result<T, Failure>;

/// Messages each app publishes, and the gap between them: about 4.5 s of publishing,
/// with the broker down for 2 s of it.
const COUNT: u32 = 30;
const INTERVAL_MS: u32 = 150;
/// Deliveries to see before the broker is killed.
const DELIVERED_BEFORE_KILL: usize = 3;
const OUTAGE: Duration = Duration::from_secs(2);
/// Limits on the phases (the app's own `--timeout` is below the last).
const CONNECT_LIMIT: Duration = Duration::from_secs(30);
const FINISH_LIMIT: Duration = Duration::from_secs(60);
const APP_TIMEOUT_S: &str = "50";

/// A running app whose stdout lines arrive on a channel.
struct App {
    name: &'static str,
    child: Child,
    lines: Receiver<String>,
    transcript: Vec<String>,
    stderr: Option<thread::JoinHandle<String>>,
}

impl App {
    fn spawn(name: &'static str, mut cmd: Command) -> Result<App> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Failure(format!("{name}: cannot run {cmd:?}: {e}")))?;
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take();
        thread::spawn(move || {
            if let Some(out) = stdout {
                for line in BufReader::new(out).lines().map_while(std::io::Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        });
        let err_pipe = child.stderr.take();
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut e) = err_pipe {
                let _ = e.read_to_string(&mut text);
            }
            text
        });
        Ok(App {
            name,
            child,
            lines,
            transcript: Vec::new(),
            stderr: Some(stderr),
        })
    }

    /// Read lines until `done(transcript)` holds; `Err` with the transcript when the
    /// app ends first or `limit` passes.
    fn wait_for(
        &mut self,
        what: &str,
        limit: Duration,
        done: impl Fn(&[String]) -> bool,
    ) -> Result<()> {
        let until = Instant::now().checked_add(limit);
        while !done(&self.transcript) {
            let left = until
                .map(|u| u.saturating_duration_since(Instant::now()))
                .unwrap_or_default();
            match self.lines.recv_timeout(left) {
                Ok(line) => self.transcript.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(self.failure(&format!("no {what} within {limit:?}")));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.failure(&format!("the app ended before {what}")));
                }
            }
        }
        Ok(())
    }

    /// Read the rest of the output and wait for the exit status; also what the app
    /// wrote to stderr.
    fn finish(&mut self, limit: Duration) -> Result<(ExitStatus, String)> {
        let until = Instant::now().checked_add(limit);
        loop {
            let left = until
                .map(|u| u.saturating_duration_since(Instant::now()))
                .unwrap_or_default();
            match self.lines.recv_timeout(left) {
                Ok(line) => self.transcript.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    return Err(self.failure(&format!("the app did not finish within {limit:?}")));
                }
            }
        }
        let status = self
            .child
            .wait()
            .map_err(|e| Failure(format!("{}: wait: {e}", self.name)))?;
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        Ok((status, stderr))
    }

    fn failure(&self, message: &str) -> Failure {
        Failure(format!(
            "{}: {message}\n--- app output ---\n{}",
            self.name,
            self.transcript.join("\n")
        ))
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn count(lines: &[String], needle: &str) -> usize {
    lines.iter().filter(|l| l.contains(needle)).count()
}

/// The `key=value` fields of the app's summary line (`summary ...`, after a
/// `[  1.234s] ` time stamp when the app prints one).
fn summary(lines: &[String]) -> Option<Vec<(String, u64)>> {
    let fields = lines.iter().rev().find_map(|l| {
        let text = l.split_once("] ").map_or(l.as_str(), |(_, rest)| rest);
        text.strip_prefix("summary ")
    })?;
    fields
        .split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

/// The index of the first line at or after `from` that contains `needle`.
fn position(lines: &[String], from: usize, needle: &str) -> Option<usize> {
    lines
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i)
}

/// Run one app through a broker restart and check what it reported.
fn through_a_restart(name: &'static str, cmd: impl FnOnce(&str) -> Command) -> Result<()> {
    let mut broker = Broker::start().map_err(|e| Failure(format!("{name}: {e}")))?;
    let mut app = App::spawn(name, cmd(&broker.address()))?;

    app.wait_for("connected status and deliveries", CONNECT_LIMIT, |t| {
        count(t, "status connected connection-ok") >= 1
            && count(t, " delivered") >= DELIVERED_BEFORE_KILL
    })?;
    broker
        .kill()
        .map_err(|e| Failure(format!("{name}: kill the broker: {e}")))?;
    let killed_at = app.transcript.len();
    thread::sleep(OUTAGE);
    broker
        .restart()
        .map_err(|e| Failure(format!("{name}: restart the broker: {e}")))?;
    let (status, stderr) = app.finish(FINISH_LIMIT)?;
    let lines = &app.transcript;
    let context = || {
        format!(
            "\n--- app output ---\n{}\n--- app stderr ---\n{stderr}\n--- broker log ---\n{}",
            lines.join("\n"),
            broker.log()
        )
    };

    let retrying = position(lines, killed_at, "status disconnected-retrying ");
    let Some(retrying) = retrying else {
        return Err(Failure(format!(
            "{name}: no `disconnected-retrying` status after the broker was killed{}",
            context()
        )));
    };
    if position(lines, retrying, "status connected connection-ok").is_none() {
        return Err(Failure(format!(
            "{name}: not `connected` again after the broker came back{}",
            context()
        )));
    }
    let Some(fields) = summary(lines) else {
        return Err(Failure(format!("{name}: no summary line{}", context())));
    };
    let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
    let expected = [
        ("published", u64::from(COUNT)),
        ("accepted", u64::from(COUNT)),
        ("delivered", u64::from(COUNT)),
        ("failed", 0),
        ("refused", 0),
    ];
    for (key, want) in expected {
        if field(key) != Some(want) {
            return Err(Failure(format!(
                "{name}: summary {key}={:?}, expected {want}{}",
                field(key),
                context()
            )));
        }
    }
    if !status.success() {
        return Err(Failure(format!(
            "{name}: exited with {status}{}",
            context()
        )));
    }
    eprintln!(
        "{name}: {} lines, reconnected after the restart, {COUNT} of {COUNT} delivered",
        lines.len()
    );
    Ok(())
}

fn app_args(cmd: &mut Command, address: &str) {
    cmd.arg(address)
        .arg(COUNT.to_string())
        .arg(INTERVAL_MS.to_string())
        .args(["--timeout", APP_TIMEOUT_S]);
}

#[test]
fn python_device_survives_a_broker_restart() -> Result<()> {
    let root = workspace_root();
    let package = python_package()?;
    let check = Command::new("python3")
        .args(["-c", "import paho.mqtt"])
        .output()
        .map_err(|e| Failure(format!("cannot run python3: {e}")))?;
    if !check.status.success() {
        return Err(Failure(
            "the Python package paho-mqtt is missing (examples/python/requirements.txt): \
             run scripts/setup"
                .into(),
        ));
    }
    through_a_restart("python device", |address| {
        let mut cmd = Command::new("python3");
        cmd.arg(root.join("examples/python/device.py"))
            .env("PYTHONPATH", &package)
            .env("PYTHONUNBUFFERED", "1")
            .current_dir(&root);
        app_args(&mut cmd, address);
        cmd
    })
}

#[test]
fn node_device_survives_a_broker_restart() -> Result<()> {
    let root = workspace_root();
    let package = node_package()?;
    let example = root.join("examples/node");
    require(
        &package.join("node_modules/mqtt/package.json"),
        "bindings/node has no node_modules",
    )?;
    require(
        &example.join("node_modules/tether-device"),
        "examples/node has no node_modules",
    )?;
    through_a_restart("node device", |address| {
        let mut cmd = Command::new("node");
        cmd.arg(example.join("device.mjs")).current_dir(&root);
        app_args(&mut cmd, address);
        cmd
    })
}
