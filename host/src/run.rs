//! `tether run`, `tether demo --broker` and `tether dps-emulator`: the real
//! runtime from the command line.

use std::path::Path;
use std::time::{Duration, Instant};

use tether_host::emulator::{Emulator, EmulatorConfig, sighup};
use tether_host::names::command_text;
use tether_host::net::config::DeviceFile;
use tether_host::net::device::{DeviceEvent, RunningDevice, Tally, event_text};
use tether_host::{Command, Entropy, Outcome, Runtime};

use crate::bad_input;

fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Ctrl-C or SIGTERM.
async fn interrupted() {
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
fn run_device(file: &DeviceFile, verbose: bool, limit: Option<Duration>) -> anyhow::Result<()> {
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
pub fn run(config: &Path, verbose: bool) -> anyhow::Result<()> {
    // Relative paths inside (the CA file, a plugin) are resolved against its folder.
    let file = DeviceFile::read(config).map_err(|e| bad_input(format!("{e:#}")))?;
    run_device(&file, verbose, None)
}

/// `tether demo --broker HOST:PORT`: one device publishing a reading a second to
/// a real broker (anonymous, plain MQTT 5) until Ctrl-C or `seconds`.
pub fn demo_broker(broker: &str, seconds: u64, seed: u64) -> anyhow::Result<()> {
    let file = DeviceFile::parse(&format!(
        r#"{{
  "connection": {{ "hub": {broker}, "device-id": "tether-demo", "seed": {seed},
                   "policy": {{ "kind": "exponential", "initial-ms": 1000, "max-ms": 10000 }} }},
  "mqtt": {{ "version": 5, "keep-alive-s": 5, "connect-timeout-s": 5 }},
  "publish": {{ "topic": "tether/demo/telemetry", "interval-ms": 1000 }}
}}"#,
        broker = serde_json::Value::String(broker.to_string())
    ))
    .map_err(|e| bad_input(format!("--broker: {e}")))?;
    println!(
        "device tether-demo -> {broker}: a QoS 1 message a second on tether/demo/telemetry for {seconds} s \
         (stop or restart the broker meanwhile to watch tether reconnect; Ctrl-C ends it)"
    );
    run_device(&file, true, Some(Duration::from_secs(seconds)))
}

/// `tether dps-emulator`.
pub fn dps_emulator(args: &EmulatorArgs) -> anyhow::Result<()> {
    let mut config = EmulatorConfig::new(args.hub.clone());
    config.id_scope.clone_from(&args.id_scope);
    config.pending_polls = args.pending_polls;
    config.retry_after_s = args.retry_after_s;
    config.token_lifetime = Duration::from_secs(args.token_lifetime_s);
    config.password_file.clone_from(&args.password_file);
    config.reload = args.broker_pid.map(sighup);
    tokio_runtime()?.block_on(async {
        let emulator = Emulator::start(config, args.port).await?;
        println!(
            "provisioning emulator on {} (id scope {}), assigning {}; Ctrl-C ends it",
            emulator.endpoint(),
            emulator.id_scope(),
            args.hub
        );
        interrupted().await;
        Ok(())
    })
}

/// The options of `tether dps-emulator`.
#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {
    /// The loopback port to listen on (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The hub address to assign, HOST:PORT.
    #[arg(long)]
    pub hub: String,
    /// The id scope devices must name.
    #[arg(long, default_value = "0ne00000001")]
    pub id_scope: String,
    /// 202 answers to polls before the assignment.
    #[arg(long, default_value_t = 1)]
    pub pending_polls: u32,
    /// `Retry-After` of the 202 answers, in seconds.
    #[arg(long, default_value_t = 1)]
    pub retry_after_s: u64,
    /// Lifetime of the tokens handed out, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub token_lifetime_s: u64,
    /// A mosquitto password file to keep in step with the tokens handed out.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<std::path::PathBuf>,
    /// The broker's process id: sent SIGHUP after the password file changes.
    #[arg(long, value_name = "PID")]
    pub broker_pid: Option<u32>,
}
