//! The real-time soak: 50 devices of the Rust runtime in one process
//! (`soak-fleet`, `tests/src/bin/soak-fleet.rs`) against mosquitto through the
//! fault proxy for 5 minutes, a fault every 4 seconds in turn: the proxy resets
//! every link; the proxy blackholes for 3 s; mosquitto stops (SIGTERM; durable, so
//! what it acknowledged is kept) and starts again; 300 ms of latency each way for
//! 3 s. Each device publishes a numbered QoS 1 message a second.
//!
//! Asserts: the fleet process's resident memory (VmRSS, sampled every 5 s) after
//! the first minute grows by no more than [`RSS_SLACK`]; every accepted message
//! is delivered at the recorder or reported failed, lost = 0, unexpected = 0;
//! duplicates are counted. `TETHER_SOAK_SECONDS` changes the length (at least 90).
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use tether_tests::broker::Broker;
use tether_tests::proxy::Proxy;
use tether_tests::recorder::Recorder;

const DEVICES: u64 = 50;
const FAULT_EVERY: Duration = Duration::from_secs(4);
const WARM_UP: Duration = Duration::from_secs(60);
/// Growth of the fleet's resident memory allowed after the warm-up. The devices'
/// tallies keep a record of every message by design (about 200 bytes each: 15,000
/// messages, 3 MB in 5 minutes); a leak per reconnect or per message of the sizes
/// that matter (a link's buffers, a message's copy) passes this within minutes.
const RSS_SLACK: u64 = 8 * 1024 * 1024;
/// Bound on waits for things that must happen.
const WAIT: Duration = Duration::from_secs(120);

/// Resident memory of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    kb * 1024
}

fn wait_line(lines: &Receiver<String>, seen: &mut Vec<String>, what: &str) {
    loop {
        match lines.recv_timeout(WAIT) {
            Ok(line) => {
                let done = line == what;
                seen.push(line);
                if done {
                    return;
                }
            }
            Err(e) => panic!("waiting for {what:?}: {e}; output:\n{}", seen.join("\n")),
        }
    }
}

/// `a-b,c` (or `-`) back into numbers.
fn parse_ranges(text: &str) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    if text == "-" {
        return out;
    }
    for part in text.split(',') {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<u64>().unwrap()..=b.parse::<u64>().unwrap()),
            None => {
                out.insert(part.parse().unwrap());
            }
        }
    }
    out
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[test]
fn fifty_devices_through_five_minutes_of_faults_keep_memory_flat_and_lose_nothing() {
    let length = std::env::var("TETHER_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(300), |s: u64| {
            Duration::from_secs(s.max(90))
        });
    let mut broker = Broker::options().durable().start().unwrap();
    let proxy = Proxy::start(&broker.address()).unwrap();
    let recorder = Recorder::start(&broker.address(), "tether/soak/#").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_soak-fleet"))
        .args([
            &proxy.address(),
            &DEVICES.to_string(),
            "tether/soak",
            "1000",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    wait_line(&lines, &mut seen, "ready");
    // Every device delivering before the first fault.
    recorder
        .wait_until(WAIT, |r| {
            (1..=DEVICES).all(|n| r.counts.contains_key(&(n * 1_000_000 + 1)))
        })
        .unwrap();

    let started = Instant::now();
    let mut samples: Vec<(Duration, u64)> = vec![(Duration::ZERO, rss(pid))];
    let mut next_sample = Duration::from_secs(5);
    let mut faults = [0u32; 4];
    let mut turn = 0usize;
    while started.elapsed() < length {
        let kind = turn % 4;
        turn += 1;
        match kind {
            0 => {
                proxy.reset().unwrap();
            }
            1 => {
                proxy.blackhole();
                std::thread::sleep(Duration::from_secs(3));
                proxy.heal();
            }
            2 => {
                let before = recorder.snapshot().subscriptions;
                // Graceful: mosquitto saves what it acknowledged on the way out.
                broker.stop().unwrap();
                broker.restart().unwrap();
                recorder.wait_subscribed(before, WAIT).unwrap();
            }
            _ => {
                proxy.set_latency(Duration::from_millis(300));
                std::thread::sleep(Duration::from_secs(3));
                proxy.heal();
            }
        }
        faults[kind] += 1;
        let until = started.elapsed() + FAULT_EVERY;
        while started.elapsed() < until.min(length) {
            if started.elapsed() >= next_sample {
                samples.push((started.elapsed(), rss(pid)));
                next_sample += Duration::from_secs(5);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    proxy.heal();
    samples.push((started.elapsed(), rss(pid)));

    // Drain: the streams pause, every message gets its outcome, the devices stop.
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "drain").unwrap();
    wait_line(&lines, &mut seen, "done");
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "soak-fleet: {status}\n{}",
        seen.join("\n")
    );

    let mut accepted = BTreeSet::new();
    let mut failed = BTreeSet::new();
    let mut pending = 0u64;
    let mut refused = 0u64;
    for line in seen.iter().filter(|l| l.starts_with("device ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        accepted.extend(parse_ranges(words[3]));
        failed.extend(parse_ranges(words[5]));
        pending += words[7].parse::<u64>().unwrap();
        refused += words[9].parse::<u64>().unwrap();
    }
    assert_eq!(
        seen.iter().filter(|l| l.starts_with("device ")).count() as u64,
        DEVICES
    );
    let record = recorder
        .wait_until(Duration::from_secs(20), |r| {
            accepted
                .iter()
                .all(|s| r.counts.contains_key(s) || failed.contains(s))
        })
        .unwrap_or_else(|_| recorder.snapshot());
    let account = record.account(&accepted, &failed);

    // Memory: after the warm-up, the largest sample against the first one.
    let warm = samples
        .iter()
        .find(|(t, _)| *t >= WARM_UP)
        .copied()
        .unwrap();
    let middle = samples[samples.len() / 2];
    let end = *samples.last().unwrap();
    let peak_after_warm = samples
        .iter()
        .filter(|(t, _)| *t >= warm.0)
        .map(|(_, r)| *r)
        .max()
        .unwrap();
    println!(
        "real-time soak: {DEVICES} devices, {:.0} s, faults: {} resets, {} blackholes, {} broker \
         restarts, {} latency; RSS start {:.1} MiB, warm ({:.0} s) {:.1} MiB, middle ({:.0} s) \
         {:.1} MiB, end ({:.0} s) {:.1} MiB, peak after warm-up {:.1} MiB; {account}; pending {pending} \
         refused {refused}",
        length.as_secs_f64(),
        faults[0],
        faults[1],
        faults[2],
        faults[3],
        mib(samples[0].1),
        warm.0.as_secs_f64(),
        mib(warm.1),
        middle.0.as_secs_f64(),
        mib(middle.1),
        end.0.as_secs_f64(),
        mib(end.1),
        mib(peak_after_warm),
    );
    assert!(account.lost.is_empty(), "{account}");
    assert_eq!(account.unexpected, 0, "{account}");
    assert_eq!(pending, 0, "every message has its outcome after the drain");
    assert!(
        account.accepted as u64 >= DEVICES * length.as_secs() / 2,
        "the streams kept going: {account}"
    );
    assert!(
        peak_after_warm <= warm.1 + RSS_SLACK,
        "resident memory grew from {:.1} MiB (at {:.0} s) to {:.1} MiB: more than {:.0} MiB",
        mib(warm.1),
        warm.0.as_secs_f64(),
        mib(peak_after_warm),
        mib(RSS_SLACK)
    );
}
