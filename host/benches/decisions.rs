//! What one decision costs through the component, from the Rust host: the call,
//! the lifting and lowering of its arguments, and the import callbacks it makes.
//!
//! Run with `cargo bench -p tether-benches --bench decisions`. Samples are kept small
//! so the whole run takes seconds.
//!
//! The `plugin` group compares one backoff decision made by the built-in policy
//! with the same decision made through a custom policy's plugin (a pass-through
//! plugin that returns the fallback's answer, and the satellite-window example):
//! the difference is the sandbox's cost per decision.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tether_host::plugin::examples;
use tether_host::syntax::failure;
use tether_host::{Command, Entropy, NetworkError, Runtime, VirtualClock};

mod common;
use common::FailingDevice;

fn decisions(c: &mut Criterion) {
    let runtime = Runtime::shared().unwrap();
    let mut instance = runtime
        .instantiate(VirtualClock::new(), Entropy::fixed(1))
        .unwrap();
    let mut group = c.benchmark_group("decisions");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));

    let not_authorized = failure::mqtt5(0x87);
    group.bench_function("classify", |b| {
        b.iter(|| instance.classify(black_box(&not_authorized)).unwrap());
    });

    let schedule = instance.create_schedule("{}", 7).unwrap();
    group.bench_function("retry-schedule.next", |b| {
        b.iter(|| instance.schedule_next(&schedule, None, None).unwrap());
    });

    // A connection whose link keeps failing: each measured call is one
    // on-failed -> classify -> backoff decision, with its import callbacks
    // (status-changed, decided, wake-at). The wake-up that opens the next link is
    // set-up, outside the timing.
    let mut device = FailingDevice::new(runtime, r#"{"hub": "hub-a", "seed": 3}"#);
    let refused = failure::net(NetworkError::Refused);
    group.bench_function("connection.on-failed (backoff decision)", |b| {
        b.iter_custom(|iters| {
            (0..iters).fold(Duration::ZERO, |total, _| {
                total.saturating_add(device.fail(black_box(&refused)).unwrap().1)
            })
        });
    });

    group.bench_function("instantiate (from InstancePre)", |b| {
        b.iter(|| {
            runtime
                .instantiate(VirtualClock::new(), Entropy::fixed(1))
                .unwrap()
        });
    });
    group.finish();

    let mut group = c.benchmark_group("plugin");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    let policies = [
        (
            "built-in (exponential)",
            r#"{"kind": "exponential"}"#.to_string(),
        ),
        (
            "plugin: pass-through",
            format!(
                r#"{{"kind": "custom", "plugin": {:?}, "params": {{"mode": "pass"}}}}"#,
                examples::HOSTILE
            ),
        ),
        (
            "plugin: satellite-window",
            format!(
                r#"{{"kind": "custom", "plugin": {:?}, "params": {{"period-ms": 60000, "open-ms": 59000, "guard-ms": 1}}}}"#,
                examples::SATELLITE_WINDOW
            ),
        ),
    ];
    for (name, policy) in policies {
        let config = format!(r#"{{"hub": "hub-a", "seed": 3, "policy": {policy}}}"#);
        let mut device = FailingDevice::new(runtime, &config);
        group.bench_function(format!("on-failed backoff decision, {name}"), |b| {
            b.iter_custom(|iters| {
                (0..iters).fold(Duration::ZERO, |total, _| {
                    let (commands, took) = device.fail(black_box(&refused)).unwrap();
                    assert!(
                        !commands
                            .iter()
                            .any(|c| matches!(c, Command::PluginFault(_))),
                        "{name}: {commands:?}"
                    );
                    total.saturating_add(took)
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);
