//! The persistent outbox (`"outbox": {"path": ...}` in the device file) against
//! real parts: the `tether` binary as a child process, mosquitto, the fault proxy
//! and the stream recorder.
//!
//! - Power loss: the device publishes a numbered QoS 1 stream through the proxy;
//!   the proxy blackholes the link, so messages are in flight (sent, no PUBACK)
//!   and queued; the device is killed with SIGKILL; it is started again with the
//!   same outbox while the outage lasts, and the proxy heals. Every message the
//!   first run printed as accepted (a `publish` line is printed only after the
//!   outbox has committed it) is delivered at the recorder or reported failed,
//!   duplicates counted, lost = 0; no message has an outcome reported by both
//!   runs; the second run's stream goes on after the first run's numbers.
//! - A cut store file: the device does not start; exit code 1 and an error naming
//!   the file and the damage, never a panic; the file is left as it was. An empty
//!   file at the path is damage too. The intact file starts, resends its records,
//!   and keeps them at the stop (no broker: they cannot be delivered).
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
use tether_device::outbox::Outbox;
use tether_tests::broker::Broker;
use tether_tests::child::Lines;
use tether_tests::proxy::Proxy;
use tether_tests::recorder::Recorder;

/// Bound on waits for things that must happen (not speed limits).
const WAIT: Duration = Duration::from_secs(60);

/// The `tether` binary with `args`, its stdout lines read as they come.
fn spawn_tether(args: &[&str]) -> Lines {
    Lines::spawn(Command::new(tether_tests::tether_binary()).args(args)).unwrap()
}

/// Read lines until `done` holds; a panic with the output after [`WAIT`].
fn wait_until(run: &mut Lines, what: &str, done: impl Fn(&[String]) -> bool) {
    run.wait_until(what, WAIT, done)
        .unwrap_or_else(|e| panic!("{e}"));
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

fn number(text: &str, key: &str) -> Option<u64> {
    field(text, key).and_then(|n| n.parse().ok())
}

/// What one run's verbose output says about the stream: sequence number by this
/// run's message id (new and resent), the resent ones, and each outcome.
#[derive(Debug, Default)]
struct Stream {
    seq: BTreeMap<u64, u64>,
    resent: BTreeSet<u64>,
    outcome: BTreeMap<u64, bool>,
    kept: BTreeSet<u64>,
}

impl Stream {
    fn read(lines: &[String]) -> Stream {
        let mut s = Stream::default();
        for text in lines.iter().map(|l| event(l)) {
            let msg = number(text, "msg");
            if let (true, Some(seq), Some(msg)) =
                (text.starts_with("publish "), number(text, "seq"), msg)
            {
                s.seq.insert(msg, seq);
                if number(text, "key").is_some() {
                    s.resent.insert(seq);
                }
            }
            if let (Some(msg), Some(rest)) = (msg, text.strip_prefix("outcome ")) {
                let delivered = rest.split_whitespace().nth(1) == Some("delivered");
                s.outcome.insert(msg, delivered);
            }
            if let (Some(msg), true) = (msg, text.starts_with("kept ")) {
                s.kept.insert(msg);
            }
        }
        s
    }

    fn accepted(&self) -> BTreeSet<u64> {
        self.seq.values().copied().collect()
    }

    /// Sequence numbers whose outcome is `delivered` (true) or failed (false).
    fn with_outcome(&self, delivered: bool) -> BTreeSet<u64> {
        self.outcome
            .iter()
            .filter(|(_, d)| **d == delivered)
            .filter_map(|(msg, _)| self.seq.get(msg).copied())
            .collect()
    }

    fn ended(&self) -> BTreeSet<u64> {
        &self.with_outcome(true) | &self.with_outcome(false)
    }
}

/// The numbers of a summary line (`messages: accepted A delivered D ...` or
/// `outbox: resent R kept K`).
fn summary(lines: &[String], prefix: &str) -> BTreeMap<String, u64> {
    let line = lines
        .iter()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{}", lines.join("\n")));
    let words: Vec<&str> = line[prefix.len()..].split_whitespace().collect();
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
fn a_device_killed_in_an_outage_resends_what_it_accepted_and_loses_nothing() {
    let broker = Broker::start().unwrap();
    let proxy = Proxy::start(&broker.address()).unwrap();
    let topic = "tether/outbox/kill";
    let recorder = Recorder::start(&broker.address(), topic).unwrap();
    let store = broker.dir().join("outbox.redb");
    let device = |count: Option<u64>| {
        let mut publish = json!({ "topic": topic, "interval-ms": 100 });
        if let Some(n) = count {
            publish["count"] = n.into();
        }
        json!({
            "connection": {
                "hub": proxy.address(), "device-id": "outbox-kill", "seed": 5,
                "policy": { "kind": "exponential", "initial-ms": 100, "max-ms": 500 },
                "queue": { "capacity": 1000, "max-in-flight": 16 }
            },
            // MQTT 3.1.1: a stale CONNECT the blackhole held, delivered after the heal,
            // takes the session over with a plain close, not MQTT 5's fatal 0x8E.
            "mqtt": { "version": 3, "keep-alive-s": 5, "connect-timeout-s": 2 },
            "publish": publish,
            "outbox": { "path": "outbox.redb" }
        })
    };
    // Run 1: connected and delivering, then the outage, then SIGKILL.
    let first = write_file(broker.dir(), "device-1.json", &device(None));
    let mut run = spawn_tether(&["run", "--config", first.to_str().unwrap(), "--verbose"]);
    wait_until(&mut run, "the connected status", |seen| {
        seen.iter()
            .any(|l| event(l).starts_with("status connected"))
    });
    recorder
        .wait_until(WAIT, |r| r.counts.len() >= 5)
        .unwrap_or_else(|e| panic!("{e}; output:\n{}", run.seen().join("\n")));
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
    wait_until(&mut run, "publishes during the outage", |seen| {
        Stream::read(seen)
            .accepted()
            .iter()
            .any(|&n| n >= last + 20)
    });
    run.signal("KILL").unwrap();
    let (status, lines_1, _) = run.finish(WAIT).unwrap();
    assert!(!status.success(), "killed: {status}");
    let run_1 = Stream::read(&lines_1);
    let accepted_1 = run_1.accepted();
    let ended_1 = run_1.ended();
    let pending_1: BTreeSet<u64> = accepted_1.difference(&ended_1).copied().collect();
    assert!(
        pending_1.len() >= 16,
        "messages in flight and queued at the kill: {pending_1:?}"
    );

    // Run 2, the same outbox, still in the outage; 20 new messages, then heal.
    let second = write_file(broker.dir(), "device-2.json", &device(Some(20)));
    let mut run = spawn_tether(&["run", "--config", second.to_str().unwrap(), "--verbose"]);
    wait_until(&mut run, "the resent messages and new ones", |seen| {
        let s = Stream::read(seen);
        !s.resent.is_empty() && s.seq.len() > s.resent.len() + 1
    });
    proxy.heal();
    wait_until(
        &mut run,
        "every message of run 2 to have an outcome",
        |seen| {
            let s = Stream::read(seen);
            s.seq.len() - s.resent.len() == 20 && s.outcome.len() == s.seq.len()
        },
    );
    run.signal("TERM").unwrap();
    let (status, lines_2, stderr) = run.finish(WAIT).unwrap();
    let output = lines_2.join("\n");
    assert!(status.success(), "exit {status}\n{output}\n{stderr}");
    let run_2 = Stream::read(&lines_2);
    let counts = summary(&lines_2, "messages: ");
    let outbox = summary(&lines_2, "outbox: ");
    assert_eq!(counts["pending"], 0, "{output}");
    assert_eq!(outbox["kept"], 0, "{output}");
    assert_eq!(outbox["resent"], run_2.resent.len() as u64, "{output}");

    // What run 2 resent is what run 1 left: nothing that run 1 had reported an
    // outcome for (one outcome per message, over both runs), and everything it had
    // not, but for a message whose record was removed by an outcome the kill
    // stopped from being printed (then the recorder has it).
    let resent = run_2.resent.clone();
    assert!(
        resent.is_disjoint(&ended_1),
        "reported by run 1 and resent: {:?}",
        resent.intersection(&ended_1).collect::<Vec<_>>()
    );
    assert!(resent.is_subset(&accepted_1), "{resent:?} / {accepted_1:?}");
    let record = recorder.snapshot();
    for seq in &pending_1 {
        assert!(
            resent.contains(seq) || record.counts.contains_key(seq),
            "seq {seq} was pending at the kill, not resent and not delivered"
        );
    }
    // The stream went on after run 1's numbers.
    let new_2: BTreeSet<u64> = &run_2.accepted() - &resent;
    let max_1 = accepted_1.iter().max().copied().unwrap_or(0);
    assert!(new_2.iter().all(|&n| n > max_1), "{new_2:?} after {max_1}");

    // The accounting over both runs.
    let accepted = &accepted_1 | &run_2.accepted();
    let failed = &run_1.with_outcome(false) | &run_2.with_outcome(false);
    let delivered = &run_1.with_outcome(true) | &run_2.with_outcome(true);
    let record = recorder
        .wait_until(Duration::from_secs(10), |r| {
            delivered.iter().all(|s| r.counts.contains_key(s))
        })
        .unwrap_or_else(|_| recorder.snapshot());
    let account = record.account(&accepted, &failed);
    println!(
        "outbox kill test: run 1 accepted {} ({} pending at the kill), run 2 resent {} and \
         published {} new; {account}",
        accepted_1.len(),
        pending_1.len(),
        resent.len(),
        new_2.len()
    );
    assert!(account.lost.is_empty(), "{account}");
    assert_eq!(account.unexpected, 0, "{account}");
    assert!(
        delivered.iter().all(|s| record.counts.contains_key(s)),
        "{account}"
    );
    // Nothing is left in the store.
    let (outbox, left) = Outbox::open(&store).unwrap();
    assert!(left.is_empty(), "{left:?}");
    assert!(outbox.is_empty().unwrap());
}

/// A store with three records (stream numbers 1 to 3) at `path`.
fn three_records(path: &Path) {
    let (mut outbox, records) = Outbox::open(path).unwrap();
    assert!(records.is_empty());
    for seq in 1..=3u64 {
        outbox
            .store(
                "tether/outbox/damaged",
                seq.to_string().as_bytes(),
                Some(seq),
            )
            .unwrap();
    }
}

#[test]
fn a_damaged_outbox_stops_the_start_with_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("tether-outbox-cut-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("outbox.redb");
    three_records(&store);
    let intact = std::fs::read(&store).unwrap();
    let config = write_file(
        &dir,
        "device.json",
        &json!({
            // Nobody listens there: the device cannot deliver, only start and stop.
            "connection": { "hub": "127.0.0.1:9", "device-id": "outbox-damaged", "seed": 1 },
            "publish": { "topic": "tether/outbox/damaged", "interval-ms": 100000 },
            "outbox": { "path": "outbox.redb" }
        }),
    );
    let run = |seconds: &str| {
        Command::new(tether_tests::tether_binary())
            .args(["run", "--config", config.to_str().unwrap(), "--verbose"])
            .args(["--seconds", seconds])
            .output()
            .unwrap()
    };
    for (case, bytes) in [
        ("cut in half", &intact[..intact.len() / 2]),
        ("cut by one byte", &intact[..intact.len() - 1]),
        ("empty", &intact[..0]),
    ] {
        std::fs::write(&store, bytes).unwrap();
        let out = run("1");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
        assert!(stderr.contains("the store is damaged"), "{case}: {stderr}");
        assert!(
            stderr.contains(&store.display().to_string()),
            "{case}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{case}: {stderr}");
        assert_eq!(
            std::fs::read(&store).unwrap(),
            bytes,
            "{case}: left as it was"
        );
        println!("{case}: {}", stderr.trim());
    }
    // The intact store starts: its three records are resent (before the stream's
    // next number, 4), and kept at the stop since nothing could deliver them.
    std::fs::write(&store, &intact).unwrap();
    let out = run("2");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = stdout.lines().map(str::to_string).collect();
    let s = Stream::read(&lines);
    assert_eq!(s.resent, BTreeSet::from([1, 2, 3]), "{stdout}");
    assert!(
        s.accepted().contains(&4),
        "the stream goes on at 4: {stdout}"
    );
    assert_eq!(s.kept.len(), s.seq.len(), "every message kept: {stdout}");
    assert!(s.outcome.is_empty(), "no outcome at the stop: {stdout}");
    assert_eq!(summary(&lines, "messages: ")["pending"], 0, "{stdout}");
    assert_eq!(summary(&lines, "outbox: ")["kept"], s.seq.len() as u64);
    let (_, left) = Outbox::open(&store).unwrap();
    let seqs: Vec<Option<u64>> = left.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [Some(1), Some(2), Some(3), Some(4)], "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
