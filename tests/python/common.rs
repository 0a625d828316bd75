//! The Python device of the fault rows (`tests/python/fault_device.py`) as a child
//! process whose stdout lines are stamped as they arrive; shared by
//! `tests/python_faults.rs` and `tests/python_iothub.rs` (`#[path]` module).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tether_tests::hosts::python_package;
use tether_tests::workspace_root;

/// Bounds on waits for things that must happen (not speed limits).
pub const WAIT: Duration = Duration::from_secs(60);

/// The device script, its lines stamped as they arrive.
pub struct Device {
    row: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<(Instant, String)>,
    pub transcript: Vec<(Instant, String)>,
    stderr: Option<thread::JoinHandle<String>>,
    /// What the device wrote to stderr (its debug log with `log`), after `stop`.
    pub stderr_text: String,
}

impl Device {
    pub fn spawn(row: &'static str, spec: &Value) -> Device {
        Self::spawn_logging(row, spec, false)
    }

    /// With `log`, the device logs at DEBUG to stderr (`TETHER_LOG=debug`).
    pub fn spawn_logging(row: &'static str, spec: &Value, log: bool) -> Device {
        let package = python_package().unwrap();
        let mut cmd = Command::new("python3");
        if log || std::env::var_os("TETHER_LOG").is_some() {
            cmd.env("TETHER_LOG", "debug");
        }
        let mut child = cmd
            .arg(workspace_root().join("tests/python/fault_device.py"))
            .arg(spec.to_string())
            .env("PYTHONPATH", &package)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{row}: cannot run python3: {e}"));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        Device {
            row,
            stdin: child.stdin.take(),
            child,
            lines,
            transcript: Vec::new(),
            stderr: Some(stderr),
            stderr_text: String::new(),
        }
    }

    pub fn text(&self) -> String {
        self.transcript
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Read lines until `done` holds.
    pub fn wait_for(&mut self, what: &str, done: impl Fn(&[(Instant, String)]) -> bool) {
        let until = Instant::now() + WAIT;
        while !done(&self.transcript) {
            match self
                .lines
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok(line) => self.transcript.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "{}: no {what} within {WAIT:?}:\n{}\n--- stderr ---\n{}",
                        self.row,
                        self.text(),
                        self.stderr
                            .take()
                            .and_then(|h| h.join().ok())
                            .unwrap_or_default()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{}: the device ended before {what}:\n{}\n--- stderr ---\n{}",
                    self.row,
                    self.text(),
                    self.stderr
                        .take()
                        .and_then(|h| h.join().ok())
                        .unwrap_or_default()
                ),
            }
        }
    }

    /// Connected, and three messages delivered.
    pub fn steady(&mut self) {
        self.wait_for("connected with 3 messages delivered", |t| {
            last_status(t).is_some_and(|s| s == "connected/connection-ok")
                && t.iter().filter(|(_, l)| l.ends_with(" delivered")).count() >= 3
        });
    }

    /// Stop the stream and the device; read everything it printed.
    pub fn stop(&mut self) -> Instant {
        let stop_at = Instant::now();
        if let Some(mut stdin) = self.stdin.take() {
            let _ = writeln!(stdin, "stop");
        }
        self.wait_for("the device to stop", |t| {
            t.last().is_some_and(|(_, l)| l == "stopped")
        });
        let status = self.child.wait().unwrap();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if std::env::var_os("TETHER_LOG").is_some() {
            eprintln!("--- {} stderr ---\n{stderr}", self.row);
        }
        assert!(
            status.success(),
            "{}: exited with {status}:\n{stderr}",
            self.row
        );
        assert!(
            !stderr.contains("Traceback"),
            "{}: the device printed a traceback:\n{stderr}",
            self.row
        );
        self.stderr_text = stderr;
        stop_at
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn last_status(t: &[(Instant, String)]) -> Option<&str> {
    t.iter().rev().find_map(|(_, l)| l.strip_prefix("status "))
}

/// Every status the device printed.
pub fn all_statuses(t: &[(Instant, String)]) -> Vec<String> {
    t.iter()
        .filter_map(|(_, l)| l.strip_prefix("status ").map(str::to_string))
        .collect()
}

pub fn rules(t: &[(Instant, String)]) -> Vec<String> {
    t.iter()
        .filter_map(|(_, l)| l.strip_prefix("decision "))
        .filter_map(|d| d.split_whitespace().next())
        .filter(|r| *r != "-")
        .map(str::to_string)
        .collect()
}
