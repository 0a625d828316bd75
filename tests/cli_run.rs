//! The `tether` command against real parts: the built binary, spawned as a user
//! would run it, against a real mosquitto (the lab [`Broker`]) with a
//! [`Recorder`] subscribed to the device's numbered stream.
//!
//! - `tether run --config FILE --verbose`: prints the connected status, the stream
//!   reaches the recorder, and SIGTERM (sent while the broker is paused, so
//!   messages are waiting for their PUBACKs) stops it with every accepted message
//!   given an outcome, the summary printed and exit code 0.
//! - A bad device file: exit code 2 and the field named on stderr.
//! - `tether demo --broker ADDR --seconds N`: exit code 0 and its summary.
//! - `tether run` with a custom policy: the plugin path resolves against the device
//!   file's folder, and each plugin fault is printed (the third quarantines it).
//!
//! The binary is built with `cargo build -p tether-cli --bin tether` (a no-op when
//! current; `cargo test` does not build another package's binaries) and found in
//! `target/debug/`.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::json;
use tether_tests::broker::Broker;
use tether_tests::recorder::Recorder;

/// Bound on waits for things that must happen (not speed limits).
const WAIT: Duration = Duration::from_secs(60);

fn tether() -> &'static Path {
    tether_tests::tether_binary()
}

/// A running `tether` whose stdout lines arrive on a channel as they are printed.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    reader: JoinHandle<()>,
}

impl Running {
    fn spawn(args: &[&str]) -> Running {
        let mut child = Command::new(tether())
            .args(args)
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

    /// Read lines until one satisfies `done`; every line read is kept in `seen`.
    fn wait_line(&mut self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if done(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "waited {WAIT:?} for {what}; output:\n{}",
                        self.seen.join("\n")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "tether ended before {what}; output:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Wait for the exit: the status, every stdout line, and stderr.
    fn finish(mut self) -> (ExitStatus, Vec<String>, String) {
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "tether did not exit within {WAIT:?}; output:\n{}",
                    self.seen.join("\n")
                );
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

/// The text after the time column (`   1.234s  status connected ...`).
fn event(line: &str) -> &str {
    line.trim_start()
        .split_once("s  ")
        .map_or(line, |(_, text)| text)
}

/// The value of `key=` in an event's text.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// What the verbose output says about the numbered stream: sequence number by
/// message id, and each message's outcome (`delivered` or `failed`).
#[derive(Debug, Default)]
struct Stream {
    seq: BTreeMap<u64, u64>,
    outcome: BTreeMap<u64, String>,
}

impl Stream {
    fn read(lines: &[String]) -> Stream {
        let mut s = Stream::default();
        for text in lines.iter().map(|l| event(l)) {
            let msg = field(text, "msg").and_then(|m| m.parse::<u64>().ok());
            if let (Some(seq), Some(msg), true) = (
                field(text, "seq").and_then(|n| n.parse::<u64>().ok()),
                msg,
                text.starts_with("publish "),
            ) {
                s.seq.insert(msg, seq);
            }
            if let (Some(msg), Some(rest)) = (msg, text.strip_prefix("outcome ")) {
                let outcome = rest.split_whitespace().nth(1).unwrap_or_default();
                let kind = if outcome == "delivered" {
                    "delivered"
                } else {
                    "failed"
                };
                s.outcome.insert(msg, kind.to_string());
            }
        }
        s
    }

    fn seqs(&self, kind: &str) -> BTreeSet<u64> {
        self.outcome
            .iter()
            .filter(|(_, k)| *k == kind)
            .filter_map(|(msg, _)| self.seq.get(msg).copied())
            .collect()
    }
}

/// The numbers of the summary line
/// `messages: accepted A delivered D failed F refused R pending P`.
fn summary(lines: &[String]) -> BTreeMap<String, u64> {
    let line = lines
        .iter()
        .find(|l| l.starts_with("messages: "))
        .unwrap_or_else(|| panic!("no summary line in:\n{}", lines.join("\n")));
    let words: Vec<&str> = line["messages: ".len()..].split_whitespace().collect();
    words
        .chunks(2)
        .map(|kv| (kv[0].to_string(), kv[1].parse().unwrap()))
        .collect()
}

fn write_file(dir: &Path, name: &str, doc: &serde_json::Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(doc).unwrap()).unwrap();
    path
}

#[test]
fn run_delivers_and_stops_on_sigterm_with_every_message_given_an_outcome() {
    let broker = Broker::start().unwrap();
    let topic = "tether/cli/run";
    let recorder = Recorder::start(&broker.address(), topic).unwrap();
    let config = write_file(
        broker.dir(),
        "device.json",
        &json!({
            "connection": {
                "hub": broker.address(), "device-id": "cli-run", "seed": 3,
                "policy": { "kind": "exponential", "initial-ms": 100, "max-ms": 500 }
            },
            "mqtt": { "version": 5, "keep-alive-s": 30 },
            "publish": { "topic": topic, "interval-ms": 100 }
        }),
    );
    let mut run = Running::spawn(&["run", "--config", config.to_str().unwrap(), "--verbose"]);
    run.wait_line("the connected status", |l| {
        event(l) == "status connected reason=connection-ok"
    });
    // The stream arrives: five numbers delivered at the recorder.
    recorder
        .wait_until(WAIT, |r| r.counts.len() >= 5)
        .unwrap_or_else(|e| panic!("{e}; output:\n{}", run.seen.join("\n")));
    // Pause the broker so messages wait for their PUBACKs, then SIGTERM.
    broker.pause().unwrap();
    // Lines printed before the pause may still be unread: wait for a number well
    // past the last one the recorder had, so several wait for their PUBACKs.
    let last = recorder
        .snapshot()
        .counts
        .keys()
        .max()
        .copied()
        .unwrap_or(0);
    run.wait_line("publishes while the broker is paused", |l| {
        let text = event(l);
        text.starts_with("publish ")
            && field(text, "seq")
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n >= last + 5)
    });
    run.signal("TERM");
    let (status, lines, stderr) = run.finish();
    broker.resume().unwrap();
    let output = lines.join("\n");
    assert!(
        status.success(),
        "exit {status} after SIGTERM\n{output}\n{stderr}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| event(l).starts_with("status connected"))
            .count(),
        1,
        "{output}"
    );
    let counts = summary(&lines);
    assert_eq!(counts["pending"], 0, "{output}");
    assert_eq!(counts["refused"], 0, "{output}");
    assert_eq!(
        counts["accepted"],
        counts["delivered"] + counts["failed"],
        "{output}"
    );
    assert!(
        counts["failed"] >= 1,
        "messages queued at the stop get outcomes: {output}"
    );
    // The stop's own lines: the last status, and client-close for the queued ones.
    assert_eq!(
        lines
            .iter()
            .rev()
            .map(|l| event(l))
            .find(|e| e.starts_with("status ")),
        Some("status disabled reason=client-close"),
        "{output}"
    );
    let stream = Stream::read(&lines);
    assert_eq!(stream.seq.len() as u64, counts["accepted"], "{output}");
    assert_eq!(stream.outcome.len() as u64, counts["accepted"], "{output}");
    assert!(
        lines
            .iter()
            .any(|l| event(l).ends_with("failed reason=client-close")),
        "{output}"
    );
    // Every message the device called delivered reached the recorder; nothing
    // arrived that it never accepted.
    let accepted: BTreeSet<u64> = stream.seq.values().copied().collect();
    let delivered = stream.seqs("delivered");
    let record = recorder
        .wait_until(Duration::from_secs(10), |r| {
            delivered.iter().all(|s| r.counts.contains_key(s))
        })
        .unwrap_or_else(|_| recorder.snapshot());
    let account = record.account(&accepted, &stream.seqs("failed"));
    assert!(account.lost.is_empty(), "{account}");
    assert_eq!(account.unexpected, 0, "{account}");
    assert_eq!(account.accepted as u64, counts["accepted"]);
}

/// `tether run --config FILE` to its end: the output and stderr.
fn run_config(config: &Path) -> (std::process::Output, String) {
    let out = Command::new(tether())
        .args(["run", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

#[test]
fn a_bad_device_file_exits_2_naming_the_field() {
    let dir = std::env::temp_dir().join(format!("tether-cli-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            json!({ "connection": { "hub": "127.0.0.1:1883" }, "mqtt": { "keep-alive-s": 2 } }),
            "mqtt.keep-alive-s",
        ),
        (
            json!({ "connection": { "hub": "127.0.0.1:1883", "policy": { "initial-ms": "fast" } } }),
            "connection.policy.initial-ms",
        ),
        (json!({ "mqtt": { "version": 5 } }), "connection"),
        (
            json!({ "connection": { "hub": "127.0.0.1:1883" }, "publish": { "topic": "t", "interval-ms": "often" } }),
            "publish.interval-ms",
        ),
    ];
    for (i, (doc, field)) in cases.iter().enumerate() {
        let (out, stderr) = run_config(&write_file(&dir, &format!("bad-{i}.json"), doc));
        assert_eq!(out.status.code(), Some(2), "{doc}: {stderr}");
        assert!(
            stderr.contains(&format!("{field}:")),
            "{doc}: stderr names {field}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // A file that is not there is named too.
    let (out, stderr) = run_config(&dir.join("missing.json"));
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("missing.json"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn demo_against_a_broker_exits_0_with_its_summary() {
    let broker = Broker::start().unwrap();
    let recorder = Recorder::start(&broker.address(), "tether/demo/telemetry").unwrap();
    let address = broker.address();
    let run = Running::spawn(&["demo", "--broker", &address, "--seconds", "3"]);
    let (status, lines, stderr) = run.finish();
    let output = lines.join("\n");
    assert!(status.success(), "exit {status}\n{output}\n{stderr}");
    assert!(
        lines[0].starts_with(&format!("device tether-demo -> {address}:")),
        "{output}"
    );
    assert!(
        lines
            .iter()
            .any(|l| event(l) == "status connected reason=connection-ok"),
        "{output}"
    );
    let counts = summary(&lines);
    assert!(counts["accepted"] >= 1, "{output}");
    assert!(counts["delivered"] >= 1, "{output}");
    assert_eq!(counts["pending"], 0, "{output}");
    assert_eq!(
        counts["accepted"],
        counts["delivered"] + counts["failed"],
        "{output}"
    );
    // Its readings reached the broker: every one it called delivered.
    let stream = Stream::read(&lines);
    let delivered = stream.seqs("delivered");
    assert_eq!(delivered.len() as u64, counts["delivered"], "{output}");
    let record = recorder
        .wait_until(Duration::from_secs(10), |r| {
            delivered.iter().all(|s| r.counts.contains_key(s))
        })
        .unwrap_or_else(|_| recorder.snapshot());
    let accepted: BTreeSet<u64> = stream.seq.values().copied().collect();
    let account = record.account(&accepted, &stream.seqs("failed"));
    assert!(account.lost.is_empty(), "{account}");
    assert_eq!(account.unexpected, 0, "{account}");
}

#[test]
fn run_finds_a_relative_plugin_and_prints_its_faults_and_quarantine() {
    // The hub refuses every connection (nothing listens), so every backoff asks
    // the plugin; the hostile plugin traps each time.
    let hub = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let dir = std::env::temp_dir().join(format!("tether-cli-plugin-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::copy(
        tether_host::plugin::examples::HOSTILE,
        dir.join("plugins").join("hostile.wasm"),
    )
    .unwrap();
    let config = write_file(
        &dir,
        "device.json",
        &json!({
            "connection": {
                "hub": hub, "device-id": "cli-plugin", "seed": 5,
                "policy": {
                    "kind": "custom",
                    "plugin": "plugins/hostile.wasm",
                    "params": { "mode": "trap" },
                    "fallback": { "kind": "exponential", "initial-ms": 50, "max-ms": 200 },
                    "quarantine-after": 3
                }
            }
        }),
    );
    // Run from another folder: the plugin path is relative to the device file.
    let mut run = Running::spawn(&["run", "--config", config.to_str().unwrap()]);
    let third = run.wait_line("the third plugin fault", |l| {
        event(l).starts_with("plugin-fault") && l.contains("consecutive=3")
    });
    assert!(third.contains("reason=trap"), "{third}");
    assert!(third.contains("quarantined"), "{third}");
    run.signal("TERM");
    let (status, lines, stderr) = run.finish();
    let output = lines.join("\n");
    assert!(status.success(), "exit {status}\n{output}\n{stderr}");
    let faults: Vec<&String> = lines
        .iter()
        .filter(|l| event(l).starts_with("plugin-fault"))
        .collect();
    // Quarantined after three: the plugin is not asked again, so no fourth fault.
    assert_eq!(faults.len(), 3, "{output}");
    assert!(faults.iter().all(|l| l.contains("reason=trap")), "{output}");
    assert!(
        lines
            .iter()
            .any(|l| event(l) == "status disconnected-retrying reason=communication-error"),
        "{output}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
