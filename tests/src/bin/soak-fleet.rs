//! Many real devices in one process, for the real-time soak (`tests/soak.rs`),
//! whose resident memory the soak samples from outside.
//!
//! `soak-fleet HUB DEVICES TOPIC INTERVAL_MS` runs DEVICES devices of the Rust
//! runtime (`tether_device`), each publishing a numbered QoS 1 stream on
//! `TOPIC/<n>` every INTERVAL_MS, numbered from `n * 1_000_000 + 1` so one
//! recorder tells them apart. It prints `ready` once all are spawned, then reads
//! standard input: at `drain` (or end of input) it pauses the streams, waits up to
//! 60 s for every accepted message to have an outcome, stops the devices and
//! prints, per device,
//! `device N accepted RANGES failed RANGES pending P refused R`
//! (`RANGES`: `a-b,c` or `-`), then `done`.
#![allow(clippy::arithmetic_side_effects)]

use std::collections::BTreeSet;
use std::io::BufRead;
use std::time::{Duration, Instant};

use tether_device::config::DeviceFile;
use tether_device::device::RunningDevice;
use tether_host::{Entropy, Outcome, Runtime};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [hub, devices, topic, interval] = args.as_slice() else {
        anyhow::bail!("usage: soak-fleet HUB DEVICES TOPIC INTERVAL_MS");
    };
    let devices: u64 = devices.parse()?;
    let interval: u64 = interval.parse()?;
    let runtime = Runtime::shared()?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    tokio.block_on(async {
        let mut fleet = Vec::new();
        for n in 1..=devices {
            let doc = serde_json::json!({
                "connection": {
                    "hub": hub, "device-id": format!("soak-{n}"), "seed": n,
                    "policy": { "kind": "exponential", "initial-ms": 200, "multiplier": 2,
                                "max-ms": 2000, "reset-after-ms": 5000 },
                    "queue": { "capacity": 1000, "max-in-flight": 16 }
                },
                // MQTT 3.1.1: a stale CONNECT held by a blackhole takes the session
                // over with a plain close, not MQTT 5's 0x8E (fatal today).
                "mqtt": { "version": 3, "keep-alive-s": 5, "connect-timeout-s": 3 },
                "publish": { "topic": format!("{topic}/{n}"), "interval-ms": interval,
                             "first": n * 1_000_000 + 1 }
            });
            let file = DeviceFile::parse(&doc.to_string())
                .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
            let mut device = RunningDevice::spawn(runtime, &file, Entropy::fixed(n))?
                .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
            // Read the events, or they pile up in memory.
            if let Some(mut events) = device.events() {
                tokio::spawn(async move { while events.recv().await.is_some() {} });
            }
            fleet.push(device);
        }
        println!("ready");
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                match line {
                    Ok(l) if l.trim() == "drain" => break,
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(());
        });
        let _ = rx.await;
        for device in &fleet {
            device.set_stream(false);
        }
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60)
            && fleet.iter().any(|d| d.tally().pending() > 0)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for (n, device) in (1..).zip(fleet) {
            let tally = device.stop().await?;
            let accepted: BTreeSet<u64> = tally.accepted.values().filter_map(|s| *s).collect();
            let failed: BTreeSet<u64> = tally
                .outcomes
                .iter()
                .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
                .filter_map(|(id, _)| tally.accepted.get(id).copied().flatten())
                .collect();
            println!(
                "device {n} accepted {} failed {} pending {} refused {}",
                ranges(&accepted),
                ranges(&failed),
                tally.pending(),
                tally.refused
            );
        }
        println!("done");
        Ok(())
    })
}

/// Numbers as ranges: `1-40,42`, or `-` for none.
fn ranges(numbers: &BTreeSet<u64>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut run: Option<(u64, u64)> = None;
    let flush = |run: Option<(u64, u64)>, out: &mut Vec<String>| {
        if let Some((a, b)) = run {
            out.push(if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            });
        }
    };
    for &n in numbers {
        run = match run {
            Some((a, b)) if b + 1 == n => Some((a, n)),
            other => {
                flush(other, &mut out);
                Some((n, n))
            }
        };
    }
    flush(run, &mut out);
    if out.is_empty() {
        "-".to_string()
    } else {
        out.join(",")
    }
}
