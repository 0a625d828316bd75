//! `tether run`: a real device (MQTT broker, provisioning service when configured)
//! until Ctrl-C or SIGTERM. `tether demo --broker` runs one through the same loop.

use std::path::Path;
use std::time::{Duration, Instant};

use tether_device::config::DeviceFile;
use tether_device::device::{DeviceEvent, RunningDevice, Tally, event_text};
use tether_host::names::command_text;
use tether_host::{Command, Entropy, Outcome, Runtime};

use crate::input::bad_input;

pub(crate) fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn interrupted() {
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

/// Whether a line is printed: status changes and plugin faults (the custom policy
/// fell back) always; everything with `verbose`.
fn shown(event: &DeviceEvent, verbose: bool) -> bool {
    verbose
        || matches!(
            event,
            DeviceEvent::Command(Command::Status(_) | Command::PluginFault(_))
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

fn print_summary(tally: &Tally) {
    let failed: Vec<String> = tally
        .outcomes
        .iter()
        .filter_map(|(id, o)| match o {
            Outcome::Delivered => None,
            Outcome::Failed(_) => Some(command_text(&Command::Outcome {
                message: *id,
                outcome: *o,
            })),
        })
        .collect();
    println!(
        "messages: accepted {} delivered {} failed {} refused {} pending {}",
        tally.accepted.len(),
        tally.delivered(),
        tally.failed(),
        tally.refused,
        tally.pending()
    );
    for line in failed.iter().take(10) {
        println!("  {line}");
    }
}

/// Run `file` until Ctrl-C / SIGTERM (or `limit`), printing events as they come.
pub(crate) fn run_device(
    file: &DeviceFile,
    verbose: bool,
    limit: Option<Duration>,
) -> anyhow::Result<()> {
    let runtime = Runtime::new()?;
    tokio_runtime()?.block_on(async {
        let mut device = match RunningDevice::spawn(&runtime, file, Entropy::os())? {
            Ok(d) => d,
            Err(e) => {
                return Err(bad_input(format!(
                    "invalid configuration: {}: {}",
                    e.field, e.message
                )));
            }
        };
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
        Ok(())
    })
}

/// `tether run --config FILE`.
pub fn run(config: &Path, verbose: bool, limit: Option<Duration>) -> anyhow::Result<()> {
    // Relative paths inside (the CA file, a plugin) are resolved against its folder.
    let file = DeviceFile::read(config).map_err(|e| bad_input(format!("{e:#}")))?;
    run_device(&file, verbose, limit)
}

/// The numbered telemetry of `tether run --connection-string`.
#[derive(Clone, Copy, Debug)]
pub struct Telemetry {
    /// Between messages.
    pub interval_ms: u64,
    /// How many; none means until stopped.
    pub count: Option<u64>,
}

/// The device file `tether run --connection-string` stands for: the IoT Hub
/// profile, the connection string as the connection, telemetry on the device's
/// own topic.
pub fn connection_string_file(
    text: &str,
    ca_file: Option<&Path>,
    port: Option<u16>,
    telemetry: Telemetry,
) -> anyhow::Result<DeviceFile> {
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
    publish.insert("interval-ms".into(), telemetry.interval_ms.into());
    if let Some(n) = telemetry.count {
        publish.insert("count".into(), n.into());
    }
    let doc = serde_json::json!({
        "profile": "azure-iot-hub",
        "connection": { "connection-string": text },
        "mqtt": mqtt,
        "publish": publish,
    });
    // Never echo the document: it holds the key.
    DeviceFile::parse(&doc.to_string())
        .map_err(|e| bad_input(format!("{}: {}", e.field, e.message)))
}

/// `tether run --connection-string TEXT`.
pub fn run_connection_string(
    text: &str,
    ca_file: Option<&Path>,
    port: Option<u16>,
    telemetry: Telemetry,
    verbose: bool,
    limit: Option<Duration>,
) -> anyhow::Result<()> {
    let file = connection_string_file(text, ca_file, port, telemetry)?;
    run_device(&file, verbose, limit)
}
