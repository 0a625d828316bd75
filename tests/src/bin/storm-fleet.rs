//! Many real devices in one process for the real-network storm
//! (`tests/real_storm.rs`): the Rust runtime (`tether_device`) against a broker
//! behind the rate-limiting front (`tether_tests::front`).
//!
//! `storm-fleet HUB DEVICES SEED POLICY` runs DEVICES devices, device `i` (from 0)
//! with client id `storm-i`, the `policy` object POLICY (JSON) and the jitter seed
//! the fleet simulator gives its device `i` for scenario seed SEED
//! (`tether_sim::fleet::device_seed`), on an instance seeded with SEED as the
//! simulator's are: so real device `i` makes the decisions simulated device `i`
//! makes, given the same answers at the same times.
//!
//! It prints `ready` once every device is spawned, then `connected K` and `back K`
//! as the number of devices connected once, and connected again after a drop,
//! grows (at most every 100 ms). At `report` on standard input (or its end) it
//! prints, per device `i`,
//! `device i drops T=FAILURE,.. connected T,T..` (`-` for none) and, per connection
//! attempt, `attempt i OPEN ANSWERED ANSWER LATE`, where ANSWER is `opened` or the
//! failure (`net:reset`, `mqtt311:3`) and ANSWERED is `-` if none came, and LATE
//! is how many microseconds after the end of the wait the component decided the
//! attempt was opened (`-` for the first attempt); then
//! `done`. Times are microseconds since the UNIX epoch, read from a monotonic
//! clock anchored to the wall clock once (as the front does), so they compare
//! with the front's.
#![allow(clippy::arithmetic_side_effects)]

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tether_device::config::DeviceFile;
use tether_device::device::{DeviceEvent, RunningDevice};
use tether_host::{Action, Command, Entropy, Runtime, Status};

/// One device's connection attempts, drops and connections.
#[derive(Default)]
struct Log {
    /// When each attempt was opened, and when and how it was answered, and how
    /// late it was opened against the wait the component had decided.
    attempts: Vec<Attempt>,
    /// When the component's latest wait ends.
    due: Option<Instant>,
    /// When each open link dropped, and with what failure.
    drops: Vec<(Instant, String)>,
    connected: Vec<Instant>,
}

struct Attempt {
    open: Instant,
    answer: Option<(Instant, String)>,
    /// Microseconds after the decided wait's end (negative: early); `None` for
    /// an attempt no wait preceded.
    late_us: Option<i64>,
}

/// The fleet's counts, for the progress lines.
#[derive(Default)]
struct Counts {
    /// Devices connected at least once.
    connected: AtomicU32,
    /// Devices connected again after a drop.
    back: AtomicU32,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [hub, devices, seed, policy] = args.as_slice() else {
        anyhow::bail!("usage: storm-fleet HUB DEVICES SEED POLICY_JSON");
    };
    let devices: u32 = devices
        .parse()
        .map_err(|e| anyhow::anyhow!("DEVICES {devices:?}: {e}"))?;
    let seed: u64 = seed
        .parse()
        .map_err(|e| anyhow::anyhow!("SEED {seed:?}: {e}"))?;
    let policy: serde_json::Value =
        serde_json::from_str(policy).map_err(|e| anyhow::anyhow!("POLICY: {e}"))?;
    // A socket per device, and some to spare.
    let needed = u64::from(devices) + 256;
    let limit = rlimit::increase_nofile_limit(needed)?;
    anyhow::ensure!(
        limit >= needed,
        "the open-file limit is {limit}, {devices} devices need {needed}: raise the hard limit (ulimit -Hn)"
    );
    let runtime = Runtime::shared()?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let anchor = (Instant::now(), SystemTime::now());
    let us = move |at: Instant| -> u64 {
        let wall = anchor.1 + at.saturating_duration_since(anchor.0);
        wall.duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    };
    tokio.block_on(async {
        let counts = Arc::new(Counts::default());
        let mut fleet = Vec::new();
        let mut logs = Vec::new();
        for i in 0..devices {
            let doc = serde_json::json!({
                "connection": {
                    "hub": hub, "device-id": format!("storm-{i}"),
                    "seed": tether_sim::fleet::device_seed(seed, i),
                    "policy": policy,
                },
                // No keep-alive ping within a run, and a generous connect timeout
                // (the simulator models neither): a storm's minutes are not their
                // subject.
                "mqtt": { "version": 3, "keep-alive-s": 600, "connect-timeout-s": 30 }
            });
            let file = DeviceFile::parse(&doc.to_string())
                .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
            let mut device = RunningDevice::spawn(runtime, &file, Entropy::fixed(seed))?
                .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
            let log = Arc::new(Mutex::new(Log::default()));
            if let Some(mut events) = device.events() {
                let log = Arc::clone(&log);
                let counts = Arc::clone(&counts);
                tokio::spawn(async move {
                    while let Some((at, event)) = events.recv().await {
                        if let Ok(mut log) = log.lock() {
                            record(&mut log, &counts, at, &event);
                        }
                    }
                });
            }
            fleet.push(device);
            logs.push(log);
        }
        println!("ready");
        let (tx, mut report) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                match line {
                    Ok(l) if l.trim() == "report" => break,
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(());
        });
        let mut said = (u32::MAX, u32::MAX);
        loop {
            tokio::select! {
                _ = &mut report => break,
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            let now = (
                counts.connected.load(Ordering::Relaxed),
                counts.back.load(Ordering::Relaxed),
            );
            if now.0 != said.0 {
                println!("connected {}", now.0);
            }
            if now.1 != said.1 {
                println!("back {}", now.1);
            }
            said = now;
        }
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for (i, log) in logs.iter().enumerate() {
            let log = log
                .lock()
                .map_err(|_| anyhow::anyhow!("a device log is poisoned"))?;
            let list = |items: Vec<String>| {
                if items.is_empty() {
                    "-".to_string()
                } else {
                    items.join(",")
                }
            };
            let drops = log.drops.iter().map(|(t, f)| format!("{}={f}", us(*t)));
            let connected = log.connected.iter().map(|&t| us(t).to_string());
            writeln!(
                out,
                "device {i} drops {} connected {}",
                list(drops.collect()),
                list(connected.collect())
            )?;
            for a in &log.attempts {
                let late = a.late_us.map_or_else(|| "-".to_string(), |l| l.to_string());
                match &a.answer {
                    Some((at, what)) => {
                        writeln!(out, "attempt {i} {} {} {what} {late}", us(a.open), us(*at))?
                    }
                    None => writeln!(out, "attempt {i} {} - - {late}", us(a.open))?,
                }
            }
        }
        writeln!(out, "done")?;
        out.flush()?;
        // The devices are not stopped one by one: the process ends, and with it
        // every link.
        drop(fleet);
        Ok(())
    })
}

/// Keep what the storm's figures need from one device event.
fn record(log: &mut Log, counts: &Counts, at: Instant, event: &DeviceEvent) {
    match event {
        DeviceEvent::Command(Command::Decided(d)) => {
            if let Action::Backoff(plan) = &d.action {
                log.due = Some(at + Duration::from_millis(plan.delay_ms));
            }
        }
        DeviceEvent::Command(Command::Open { .. }) => {
            let late_us = log.due.take().map(|due| {
                if at >= due {
                    i64::try_from((at - due).as_micros()).unwrap_or(i64::MAX)
                } else {
                    -i64::try_from((due - at).as_micros()).unwrap_or(i64::MAX)
                }
            });
            log.attempts.push(Attempt {
                open: at,
                answer: None,
                late_us,
            });
        }
        DeviceEvent::Command(Command::Status(s)) if s.status == Status::Connected => {
            log.connected.push(at);
            match log.connected.len() {
                1 => counts.connected.fetch_add(1, Ordering::Relaxed),
                2 => counts.back.fetch_add(1, Ordering::Relaxed),
                _ => 0,
            };
        }
        // `on-opened link=N`, `on-failed link=N FAILURE`, `on-closed link=N FAILURE`.
        DeviceEvent::Input(text) => {
            let mut words = text.split_whitespace();
            let (input, failure) = (words.next(), words.nth(1));
            match input {
                Some("on-opened") => answer(log, at, "opened"),
                Some("on-failed") => answer(log, at, failure.unwrap_or("?")),
                Some("on-closed") => log.drops.push((at, failure.unwrap_or("?").to_string())),
                _ => {}
            }
        }
        _ => {}
    }
}

/// The latest attempt was answered.
fn answer(log: &mut Log, at: Instant, what: &str) {
    if let Some(a) = log.attempts.last_mut()
        && a.answer.is_none()
    {
        a.answer = Some((at, what.to_string()));
    }
}
