//! The persistent outbox of the Python and C clients (`tether.Device(outbox=...)`,
//! `tether_device_options.outbox_path`, both SQLite) against real parts: the
//! client's device program as a child process (`tests/python/fault_device.py`,
//! `target/c/tether_device`), mosquitto, the fault proxy and the stream recorder.
//! The same two tests as the Rust runtime's (`tests/outbox.rs`), for each client:
//!
//! - Power loss: the device publishes a numbered QoS 1 stream through the proxy;
//!   the proxy blackholes the link, so messages are in flight (sent, no PUBACK)
//!   and queued; the device is killed with SIGKILL; it is started again on the
//!   same store while the outage lasts, and the proxy heals. Every message the
//!   first run printed as accepted (printed only after `publish` returned, that is
//!   after the store committed it) is delivered at the recorder or reported
//!   failed, duplicates counted, lost = 0; no message has an outcome reported by
//!   both runs, nor twice in one; the second run's stream goes on after the first
//!   run's numbers; the store is empty at the end (read with Python's own sqlite3,
//!   not with either client's code).
//! - A damaged store: cut in half, cut by one byte, empty, or not SQLite at all:
//!   the device does not start; exit code 1 and an error naming the file and the
//!   damage, never a traceback or a crash; the file is left as it was. The intact
//!   file starts, resends its records and keeps them at the stop (no broker).
//!
//! Each kill test prints its figures (`cargo test --workspace --test client_outbox
//! -- --nocapture`). What they need is installed by `scripts/setup`.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use tether_tests::broker::Broker;
use tether_tests::c_host;
use tether_tests::child::Lines;
use tether_tests::hosts::python_package;
use tether_tests::proxy::Proxy;
use tether_tests::recorder::Recorder;
use tether_tests::workspace_root;

/// Bound on waits for things that must happen (not speed limits).
const WAIT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug)]
enum Client {
    Python,
    C,
}

/// How one run of a device is started.
struct Run<'a> {
    hub: &'a str,
    topic: &'a str,
    store: &'a Path,
    /// The stream's first number (the program starts after a resent one if larger).
    first: u64,
    /// New messages to publish (then the program waits: Python for `stop`, C
    /// exits once every message has its outcome); `None`: until `stop`.
    count: Option<u64>,
    interval_ms: u64,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Python => "python",
            Client::C => "c",
        }
    }

    fn spawn(self, run: &Run<'_>) -> Lines {
        let device_id = format!("{}-outbox", self.name());
        let policy = json!({ "kind": "exponential", "initial-ms": 100, "max-ms": 500 });
        let queue = json!({ "capacity": 1000, "max-in-flight": 16 });
        let mut cmd = match self {
            Client::Python => {
                let package = python_package().unwrap_or_else(|e| panic!("{e}"));
                let mut spec = json!({
                    "config": { "hub": run.hub, "device-id": device_id, "seed": 5,
                                "policy": policy, "queue": queue },
                    // MQTT 3.1.1: a stale CONNECT the blackhole held, delivered after
                    // the heal, takes the session over with a plain close.
                    "mqtt": { "version": 311, "keep_alive_s": 5, "connect_timeout_s": 2 },
                    "topic": run.topic,
                    "interval_ms": run.interval_ms,
                    "outbox": run.store.display().to_string(),
                    "first": run.first
                });
                if let Some(n) = run.count {
                    spec["count"] = n.into();
                }
                let mut cmd = Command::new("python3");
                cmd.arg(workspace_root().join("tests/python/fault_device.py"))
                    .arg(spec.to_string())
                    .env("PYTHONPATH", package)
                    .env("PYTHONUNBUFFERED", "1");
                cmd
            }
            Client::C => {
                let dir = c_host::build().unwrap_or_else(|e| panic!("{e}"));
                let mut cmd = Command::new(dir.join("tether_device"));
                let (policy, queue) = (policy.to_string(), queue.to_string());
                cmd.args(["--hub", run.hub, "--device-id", device_id.as_str()])
                    .args([
                        "--topic",
                        run.topic,
                        "--version",
                        "4",
                        "--keep-alive-s",
                        "5",
                    ])
                    .args(["--connect-timeout-ms", "2000", "--timeout-s", "600"])
                    .args(["--interval-ms", run.interval_ms.to_string().as_str()])
                    .args(["--messages", run.count.unwrap_or(0).to_string().as_str()])
                    .args(["--policy", policy.as_str(), "--queue", queue.as_str()])
                    .arg("--outbox")
                    .arg(run.store)
                    .args(["--first", run.first.to_string().as_str()]);
                cmd
            }
        };
        Lines::spawn(&mut cmd).unwrap_or_else(|e| panic!("{}: cannot start: {e}", self.name()))
    }

    /// Ask a device to stop (`stop` on stdin), then wait for its exit.
    fn stop(self, mut device: Lines) -> (Vec<String>, String) {
        device.send_line("stop").unwrap();
        let (status, lines, stderr) = device.finish(WAIT).unwrap();
        assert!(
            status.success(),
            "{}: exit {status}\n{}\n{stderr}",
            self.name(),
            lines.join("\n")
        );
        (lines, stderr)
    }
}

/// The event text of a line: the C program's `[  1.234 s] ` stamp taken off.
fn event(line: &str) -> &str {
    match line.strip_prefix('[') {
        Some(rest) => rest.split_once("] ").map_or(line, |(_, text)| text),
        None => line,
    }
}

/// What one run printed about the stream, by sequence number.
#[derive(Debug, Default)]
struct Stream {
    accepted: BTreeSet<u64>,
    resent: BTreeSet<u64>,
    /// Delivered (true) or failed (false).
    outcome: BTreeMap<u64, bool>,
    kept: BTreeSet<u64>,
    /// Numbers with more than one outcome line.
    twice: BTreeSet<u64>,
    connected: bool,
}

impl Stream {
    fn read(lines: &[String]) -> Stream {
        let mut s = Stream::default();
        for text in lines.iter().map(|l| event(l)) {
            let mut words = text.split_whitespace();
            let (Some(kind), Some(n)) = (words.next(), words.next()) else {
                continue;
            };
            if kind == "status" && n.starts_with("connected") {
                s.connected = true;
            }
            let Ok(n) = n.parse::<u64>() else { continue };
            match kind {
                "accepted" => {
                    s.accepted.insert(n);
                }
                "resent" => {
                    s.resent.insert(n);
                }
                "kept" => {
                    s.kept.insert(n);
                }
                "outcome" => {
                    let delivered = words.next() == Some("delivered");
                    if s.outcome.insert(n, delivered).is_some() {
                        s.twice.insert(n);
                    }
                }
                _ => {}
            }
        }
        s
    }

    /// Every number this run published: new and resent.
    fn all(&self) -> BTreeSet<u64> {
        &self.accepted | &self.resent
    }

    fn with_outcome(&self, delivered: bool) -> BTreeSet<u64> {
        self.outcome
            .iter()
            .filter(|(_, d)| **d == delivered)
            .map(|(n, _)| *n)
            .collect()
    }

    fn ended(&self) -> BTreeSet<u64> {
        self.outcome.keys().copied().collect()
    }
}

/// The numbers of the `outbox: resent R kept K` line.
fn outbox_line(lines: &[String]) -> (u64, u64) {
    let line = lines
        .iter()
        .map(|l| event(l))
        .find(|l| l.starts_with("outbox: "))
        .unwrap_or_else(|| panic!("no outbox line in:\n{}", lines.join("\n")));
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!((words[1], words[3]), ("resent", "kept"), "{line}");
    (words[2].parse().unwrap(), words[4].parse().unwrap())
}

/// The payloads the store holds, in key order, read with Python's own sqlite3.
fn stored(store: &Path) -> Vec<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\n\
             db = sqlite3.connect(sys.argv[1])\n\
             for (p,) in db.execute('SELECT payload FROM messages ORDER BY key'):\n\
             \x20   print(bytes(p).decode())\n",
        ])
        .arg(store)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn killed_in_an_outage(client: Client) {
    let name = client.name();
    let broker = Broker::start().unwrap();
    let proxy = Proxy::start(&broker.address()).unwrap();
    let topic = format!("tether/outbox/{name}-kill");
    let recorder = Recorder::start(&broker.address(), &topic).unwrap();
    let store = broker.dir().join("outbox.db");
    let address = proxy.address();
    let (hub, topic_ref, store_ref) = (address.as_str(), topic.as_str(), store.as_path());
    let run = |first: u64, count: Option<u64>| Run {
        hub,
        topic: topic_ref,
        store: store_ref,
        first,
        count,
        interval_ms: 100,
    };

    // Run 1: connected and delivering, then the outage, then SIGKILL.
    let mut device = client.spawn(&run(1, None));
    device
        .wait_until("the connected status", WAIT, |seen| {
            Stream::read(seen).connected
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    recorder
        .wait_until(WAIT, |r| r.counts.len() >= 5)
        .unwrap_or_else(|e| panic!("{name}: {e}; output:\n{}", device.seen().join("\n")));
    proxy.blackhole();
    let last = recorder
        .snapshot()
        .counts
        .keys()
        .max()
        .copied()
        .unwrap_or(0);
    // Two seconds of messages past the last one delivered: sent without a PUBACK,
    // and queued behind the in-flight window.
    device
        .wait_until("publishes during the outage", WAIT, |seen| {
            Stream::read(seen).accepted.iter().any(|&n| n >= last + 20)
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    device.signal("KILL").unwrap();
    let (status, lines_1, _) = device.finish(WAIT).unwrap();
    assert!(!status.success(), "{name}: killed: {status}");
    let run_1 = Stream::read(&lines_1);
    assert!(
        run_1.twice.is_empty(),
        "{name}: two outcomes in run 1: {:?}",
        run_1.twice
    );
    let accepted_1 = run_1.accepted.clone();
    let ended_1 = run_1.ended();
    let pending_1: BTreeSet<u64> = accepted_1.difference(&ended_1).copied().collect();
    assert!(
        pending_1.len() >= 16,
        "{name}: messages in flight and queued at the kill: {pending_1:?}"
    );
    let max_1 = accepted_1.iter().max().copied().unwrap_or(0);

    // Run 2, the same store, still in the outage; 20 new messages, then heal.
    let mut device = client.spawn(&run(max_1 + 1, Some(20)));
    device
        .wait_until("the resent messages and new ones", WAIT, |seen| {
            let s = Stream::read(seen);
            !s.resent.is_empty() && s.accepted.len() >= 2
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    proxy.heal();
    device
        .wait_until("every message of run 2 to have an outcome", WAIT, |seen| {
            let s = Stream::read(seen);
            s.accepted.len() == 20 && s.all().iter().all(|n| s.outcome.contains_key(n))
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let (lines_2, stderr) = match client {
        Client::Python => client.stop(device),
        // The C program exits by itself once its 20 have outcomes.
        Client::C => {
            let (status, lines, stderr) = device.finish(WAIT).unwrap();
            assert!(
                status.success(),
                "c: exit {status}\n{}\n{stderr}",
                lines.join("\n")
            );
            (lines, stderr)
        }
    };
    let output = lines_2.join("\n");
    let run_2 = Stream::read(&lines_2);
    assert!(
        run_2.twice.is_empty(),
        "{name}: two outcomes in run 2: {:?}\n{output}",
        run_2.twice
    );
    assert!(run_2.kept.is_empty(), "{name}: {output}\n{stderr}");
    assert_eq!(
        outbox_line(&lines_2),
        (run_2.resent.len() as u64, 0),
        "{name}: {output}"
    );

    // What run 2 resent is what run 1 left: nothing that run 1 had reported an
    // outcome for (one outcome per message over both runs), and everything it had
    // not, but for a message whose record an outcome removed when the kill stopped
    // it being printed (then the recorder has it). A message the store had
    // committed when the kill came before its `accepted` line can only be the
    // next number.
    let resent = run_2.resent.clone();
    assert!(
        resent.is_disjoint(&ended_1),
        "{name}: reported by run 1 and resent: {:?}",
        resent.intersection(&ended_1).collect::<Vec<_>>()
    );
    let unprinted: BTreeSet<u64> = resent.difference(&accepted_1).copied().collect();
    assert!(
        unprinted.iter().all(|&n| n == max_1 + 1),
        "{name}: resent but never accepted: {unprinted:?}"
    );
    let record = recorder.snapshot();
    for seq in &pending_1 {
        assert!(
            resent.contains(seq) || record.counts.contains_key(seq),
            "{name}: seq {seq} was pending at the kill, not resent and not delivered"
        );
    }
    // The stream went on after run 1's numbers.
    let last_resent = resent.iter().max().copied().unwrap_or(0);
    assert!(
        run_2.accepted.iter().all(|&n| n > max_1 && n > last_resent),
        "{name}: {:?} after {max_1}",
        run_2.accepted
    );

    // The accounting over both runs.
    let accepted = &accepted_1 | &run_2.all();
    let failed = &run_1.with_outcome(false) | &run_2.with_outcome(false);
    let delivered = &run_1.with_outcome(true) | &run_2.with_outcome(true);
    let record = recorder
        .wait_until(Duration::from_secs(10), |r| {
            delivered.iter().all(|s| r.counts.contains_key(s))
        })
        .unwrap_or_else(|_| recorder.snapshot());
    let account = record.account(&accepted, &failed);
    println!(
        "| {name} | run 1 accepted {} ({} pending at the kill), run 2 resent {} and published {} new | {account} |",
        accepted_1.len(),
        pending_1.len(),
        resent.len(),
        run_2.accepted.len()
    );
    assert!(account.lost.is_empty(), "{name}: {account}");
    assert_eq!(account.unexpected, 0, "{name}: {account}");
    assert!(
        delivered.iter().all(|s| record.counts.contains_key(s)),
        "{name}: {account}"
    );
    assert_eq!(
        stored(&store),
        Vec::<String>::new(),
        "{name}: the store is empty"
    );
}

#[test]
fn a_python_device_killed_in_an_outage_resends_what_it_accepted_and_loses_nothing() {
    killed_in_an_outage(Client::Python);
}

#[test]
fn a_c_device_killed_in_an_outage_resends_what_it_accepted_and_loses_nothing() {
    killed_in_an_outage(Client::C);
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tether-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn damaged_store_is_refused(client: Client) {
    let name = client.name();
    let dir = scratch(&format!("client-outbox-damaged-{name}"));
    let store = dir.join("outbox.db");
    let topic = format!("tether/outbox/{name}-damaged");
    // Nobody listens there: the device cannot deliver, only start, keep and stop.
    let (topic_ref, store_ref) = (topic.as_str(), store.as_path());
    let run = |count: u64| Run {
        hub: "127.0.0.1:9",
        topic: topic_ref,
        store: store_ref,
        first: 1,
        count: Some(count),
        interval_ms: 10,
    };
    // A store of three records, made by the client itself.
    let mut device = client.spawn(&run(3));
    device
        .wait_until("three accepted", WAIT, |seen| {
            Stream::read(seen).accepted.len() == 3
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let (lines, _) = client.stop(device);
    assert_eq!(
        Stream::read(&lines).kept.len(),
        3,
        "{name}: {}",
        lines.join("\n")
    );
    assert_eq!(stored(&store), ["1", "2", "3"]);
    let intact = std::fs::read(&store).unwrap();

    let garbage = b"this is not an SQLite database, only a text file ".repeat(20);
    for (case, bytes) in [
        ("cut in half", &intact[..intact.len() / 2]),
        ("cut by one byte", &intact[..intact.len() - 1]),
        ("empty", &intact[..0]),
        ("not SQLite", &garbage[..]),
    ] {
        std::fs::write(&store, bytes).unwrap();
        let device = client.spawn(&run(1));
        let (status, lines, stderr) = device.finish(WAIT).unwrap();
        let context = format!("{name}, {case}: {status}\n{}\n{stderr}", lines.join("\n"));
        assert_eq!(status.code(), Some(1), "{context}");
        assert!(stderr.contains("the store is damaged"), "{context}");
        assert!(stderr.contains(&store.display().to_string()), "{context}");
        assert!(!stderr.contains("Traceback"), "{context}");
        assert!(Stream::read(&lines).all().is_empty(), "{context}");
        assert_eq!(
            std::fs::read(&store).unwrap(),
            bytes,
            "{context}: left as it was"
        );
        println!("{name}, {case}: {}", stderr.trim());
    }
    // The intact store starts: its three records are resent (before the stream's
    // next number, 4), and kept at the stop since nothing could deliver them.
    std::fs::write(&store, &intact).unwrap();
    let mut device = client.spawn(&run(1));
    device
        .wait_until("the resent messages and a new one", WAIT, |seen| {
            let s = Stream::read(seen);
            s.resent.len() == 3 && s.accepted.len() == 1
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let (lines, _) = client.stop(device);
    let s = Stream::read(&lines);
    let text = lines.join("\n");
    assert_eq!(s.resent, BTreeSet::from([1, 2, 3]), "{name}: {text}");
    assert_eq!(
        s.accepted,
        BTreeSet::from([4]),
        "{name}: the stream goes on at 4: {text}"
    );
    assert_eq!(
        s.kept,
        BTreeSet::from([1, 2, 3, 4]),
        "{name}: every message kept: {text}"
    );
    assert!(
        s.outcome.is_empty(),
        "{name}: no outcome at the stop: {text}"
    );
    assert_eq!(outbox_line(&lines), (3, 4), "{name}: {text}");
    assert_eq!(stored(&store), ["1", "2", "3", "4"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_python_outbox_stops_the_start_with_a_clear_error() {
    damaged_store_is_refused(Client::Python);
}

#[test]
fn a_damaged_c_outbox_stops_the_start_with_a_clear_error() {
    damaged_store_is_refused(Client::C);
}
