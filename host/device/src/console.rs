//! A device run from a terminal, as `tether run` and the compiler-free
//! `tether-device run` both do: the device file a connection string stands for,
//! the loop that prints events until Ctrl-C, SIGTERM or a time limit, and the
//! message accounting at the end.

use std::path::Path;
use std::time::{Duration, Instant};

use tether_host::names::command_text;
use tether_host::{Command, Outcome};

use crate::config::DeviceFile;
use crate::device::{DeviceEvent, RunningDevice, Tally, event_text};
use crate::settings::FileError;

/// The device file `run --connection-string` stands for: the IoT Hub profile, the
/// connection string as the connection, numbered telemetry on the device's own
/// topic every `interval_ms`, `count` messages (none: until stopped).
///
/// # Errors
/// The field that is wrong; the document itself is never echoed (it holds the key).
pub fn connection_string_file(
    text: &str,
    ca_file: Option<&Path>,
    port: Option<u16>,
    interval_ms: u64,
    count: Option<u64>,
) -> Result<DeviceFile, FileError> {
    let mut tls = serde_json::Map::new();
    if let Some(ca) = ca_file {
        tls.insert("ca-file".into(), ca.display().to_string().into());
    }
    let mut mqtt = serde_json::Map::new();
    mqtt.insert("tls".into(), tls.into());
    if let Some(port) = port {
        mqtt.insert("port".into(), port.into());
    }
    let mut publish = serde_json::Map::new();
    publish.insert("interval-ms".into(), interval_ms.into());
    if let Some(n) = count {
        publish.insert("count".into(), n.into());
    }
    let doc = serde_json::json!({
        "profile": "azure-iot-hub",
        "connection": { "connection-string": text },
        "mqtt": mqtt,
        "publish": publish,
    });
    DeviceFile::parse(&doc.to_string())
}

/// Ctrl-C or SIGTERM.
pub async fn interrupted() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// Whether a line is printed: status changes, plugin faults (the custom policy
/// fell back) and what the outbox could not do always; everything with `verbose`.
fn shown(event: &DeviceEvent, verbose: bool) -> bool {
    verbose
        || matches!(
            event,
            DeviceEvent::Command(Command::Status(_) | Command::PluginFault(_))
                | DeviceEvent::Outbox(_)
        )
}

fn print_event(started: Instant, at: Instant, event: &DeviceEvent) {
    let t = at.saturating_duration_since(started);
    println!(
        "{:>4}.{:03}s  {}",
        t.as_secs(),
        t.subsec_millis(),
        event_text(event)
    );
}

/// The accounting line, and the first ten failed messages.
pub fn print_summary(tally: &Tally) {
    println!(
        "messages: accepted {} delivered {} failed {} refused {} pending {}",
        tally.accepted.len(),
        tally.delivered(),
        tally.failed(),
        tally.refused,
        tally.pending()
    );
    if tally.outbox {
        println!(
            "outbox: resent {} kept {}",
            tally.resent.len(),
            tally.kept.len()
        );
    }
    let failed = tally.outcomes.iter().filter_map(|(id, o)| match o {
        Outcome::Delivered => None,
        Outcome::Failed(_) => Some(command_text(&Command::Outcome {
            message: *id,
            outcome: *o,
        })),
    });
    for line in failed.take(10) {
        println!("  {line}");
    }
}

/// Print `device`'s events as they come until Ctrl-C, SIGTERM or `limit`, stop
/// it, print what the stop produced and the accounting, and return the tally.
///
/// # Errors
/// When the device's events were already taken, or stopping it failed.
pub async fn run_until_stopped(
    mut device: RunningDevice,
    verbose: bool,
    limit: Option<Duration>,
) -> anyhow::Result<Tally> {
    let started = Instant::now();
    let mut events = device
        .events()
        .ok_or_else(|| anyhow::anyhow!("the device's events were taken"))?;
    let deadline = async {
        match limit {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let stop_signal = interrupted();
    tokio::pin!(stop_signal);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some((at, event)) => {
                    if shown(&event, verbose) {
                        print_event(started, at, &event);
                    }
                }
                None => break,
            },
            () = &mut stop_signal => break,
            () = &mut deadline => break,
        }
    }
    let tally = device.stop().await?;
    // What the stop itself produced (the last status, failed messages).
    while let Ok((at, event)) = events.try_recv() {
        if shown(&event, verbose) {
            print_event(started, at, &event);
        }
    }
    print_summary(&tally);
    Ok(tally)
}
