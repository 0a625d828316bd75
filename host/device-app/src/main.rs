//! `tether-device`: one device, run by the tether component precompiled with
//! `tether compile`, with no compiler in the binary.
//!
//! The precompiled file is machine code that this process runs: wasmtime checks
//! that it was made by the same wasmtime version for this target and engine
//! configuration, not what the code does. Only whoever builds the device's
//! software may produce it; keep it where only they can write.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tether_device::config::DeviceFile;
use tether_device::console;
use tether_device::device::RunningDevice;
use tether_host::names::command_text;
use tether_host::{Device, Entropy, Error, SystemClock};

mod runtime;

#[derive(Debug, Parser)]
#[command(
    name = "tether-device",
    version,
    about = "Run one tether device from a precompiled component (`tether compile`), without a compiler."
)]
struct Cli {
    /// The precompiled component (`tether compile -o FILE`).
    #[arg(long, global = true, value_name = "FILE", env = "TETHER_PRECOMPILED")]
    precompiled: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run a device (MQTT broker, and provisioning service when configured) until
    /// Ctrl-C or SIGTERM, printing status changes, as `tether run` does.
    Run {
        /// The device file (see `tether run --help`).
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "connection_string",
            conflicts_with = "connection_string"
        )]
        config: Option<PathBuf>,
        /// An Azure IoT Hub device from its connection string, with no file.
        #[arg(long, value_name = "TEXT")]
        connection_string: Option<String>,
        /// With --connection-string: the PEM file of the CA to trust instead of
        /// the system's roots.
        #[arg(long, value_name = "FILE", requires = "connection_string")]
        ca_file: Option<PathBuf>,
        /// With --connection-string: the hub's port (default 8883).
        #[arg(long, value_name = "N", requires = "connection_string")]
        port: Option<u16>,
        /// With --connection-string: send a numbered telemetry message this often.
        #[arg(
            long,
            value_name = "MS",
            default_value_t = 1000,
            requires = "connection_string"
        )]
        interval_ms: u64,
        /// With --connection-string: how many telemetry messages (default: until stopped).
        #[arg(long, value_name = "N", requires = "connection_string")]
        count: Option<u64>,
        /// Stop after this many seconds (default: at Ctrl-C or SIGTERM).
        #[arg(long, value_name = "S")]
        seconds: Option<u64>,
        /// Print every input, command and publish, not just status changes.
        #[arg(long)]
        verbose: bool,
    },
    /// Load the component, start one connection and print its first decision (the
    /// commands of `start`), then exit: what start-up benchmarks time.
    FirstDecision {
        /// The connection's configuration, as JSON.
        #[arg(long, value_name = "JSON", default_value = r#"{"hub": "hub-a"}"#)]
        config: String,
    },
}

/// Bad input from the user: exit code 2, like a usage error.
#[derive(Debug)]
struct BadInput(String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

fn bad_input(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(message.into()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::FirstDecision { config } => first_decision(cli.precompiled.as_deref(), &config),
        Cmd::Run {
            config,
            connection_string,
            ca_file,
            port,
            interval_ms,
            count,
            seconds,
            verbose,
        } => {
            let limit = seconds.map(Duration::from_secs);
            let file = match (config, connection_string) {
                (Some(path), _) => DeviceFile::read(&path).map_err(|e| bad_input(format!("{e:#}"))),
                (None, Some(text)) => console::connection_string_file(
                    &text,
                    ca_file.as_deref(),
                    port,
                    interval_ms,
                    count,
                )
                .map_err(|e| bad_input(format!("{}: {}", e.field, e.message))),
                (None, None) => Err(bad_input("give --config FILE or --connection-string TEXT")),
            };
            file.and_then(|file| run(cli.precompiled.as_deref(), &file, verbose, limit))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.chain().any(|cause| cause.is::<BadInput>()) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// `first-decision`: load, instantiate, start, print.
fn first_decision(precompiled: Option<&Path>, config: &str) -> anyhow::Result<()> {
    let runtime = runtime::load(precompiled)?;
    let mut device = match Device::new(&runtime, config, SystemClock::new(), Entropy::os()) {
        Ok(d) => d,
        Err(Error::Config(e)) => {
            return Err(bad_input(format!(
                "invalid configuration: {}: {}",
                e.field, e.message
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let step = device.start()?;
    for command in &step.commands {
        println!("{}", command_text(command));
    }
    Ok(())
}

/// `run`: the device until Ctrl-C / SIGTERM (or `limit`).
fn run(
    precompiled: Option<&Path>,
    file: &DeviceFile,
    verbose: bool,
    limit: Option<Duration>,
) -> anyhow::Result<()> {
    let runtime = runtime::load(precompiled)?;
    // One worker: a device has one connection and little to do in parallel.
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    tokio.block_on(async {
        let device = match RunningDevice::spawn(&runtime, file, Entropy::os())? {
            Ok(d) => d,
            Err(e) => {
                return Err(bad_input(format!(
                    "invalid configuration: {}: {}",
                    e.field, e.message
                )));
            }
        };
        console::run_until_stopped(device, verbose, limit).await?;
        Ok(())
    })
}
