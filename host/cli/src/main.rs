//! `tether`: the command line of the tether host.
//!
//! Every answer it prints comes from the tether component; this program only
//! parses the request, asks the component, and formats the answer.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use input::BadInput;

mod commands;
mod input;

#[derive(Debug, Parser)]
#[command(
    name = "tether",
    version,
    about = "Connection resilience for IoT devices: tether's decisions, from the command line.",
    long_about = "Connection resilience for IoT devices: tether's decisions, from the command line.\n\n\
                  Every answer comes from the tether WebAssembly component, the same one \
                  that device apps in Rust, C, Python and Node load."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Watch one device ride out an outage, in virtual time (instant and
    /// deterministic).
    Demo {
        /// Seed for the jitter: the same seed gives the same run.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Show every step (messages, acknowledgements, timers), not just the
        /// failures, decisions and status changes.
        #[arg(long)]
        verbose: bool,
        /// Run a real device against the MQTT broker at HOST:PORT (anonymous,
        /// plain MQTT 5) instead of the scripted outage, in real time.
        #[arg(long, value_name = "HOST:PORT")]
        broker: Option<String>,
        /// With --broker: how long to run, in seconds.
        #[arg(long, value_name = "S", default_value_t = 60, requires = "broker")]
        seconds: u64,
    },
    /// Run a real device (MQTT broker, and provisioning service when configured)
    /// until Ctrl-C or SIGTERM, printing status changes as they happen.
    Run {
        /// The device file: `profile`, `connection` (the component's
        /// configuration), `mqtt`, `provisioning`, `credentials`, `publish`.
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "connection_string",
            conflicts_with = "connection_string"
        )]
        config: Option<PathBuf>,
        /// Run an Azure IoT Hub device from its connection string, with no file:
        /// `HostName=..;DeviceId=..;SharedAccessKey=..` (tokens are minted from the
        /// key and renewed at 80% of their hour).
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
    /// A provisioning service emulator shaped like Azure DPS (register, 202 and
    /// polling, assignment with a credential), and a token service; optionally
    /// keeps a mosquitto password file in step with the tokens it hands out.
    DpsEmulator(commands::dps_emulator::EmulatorArgs),
    /// An IoT Hub emulator that enforces the hub's rules: MQTT 3.1.1 over TLS and
    /// over secure WebSockets (`/$iothub/websocket`), user name, client id and
    /// api-version checks, SAS tokens verified against a registry (or X.509
    /// client certificates), token expiry, one link per device, a connection
    /// throttle, own-topics-only. It starts a mosquitto behind it for delivery
    /// (cloud-to-device messages included) and prints the addresses.
    IothubEmulator(commands::iothub_emulator::HubArgs),
    /// Explain how tether classifies a failure: level, verdict, reason and rule.
    #[command(after_help = FAILURE_SYNTAX)]
    Classify {
        /// The failure, for example `mqtt5:0x87`, `http:403:403002` or `net:dns`.
        #[arg(required = true)]
        failures: Vec<String>,
        /// The server's retry-after hint, in milliseconds.
        #[arg(long, value_name = "N")]
        retry_after_ms: Option<u64>,
        /// The server's redirect hint (MQTT 5 server reference).
        #[arg(long, value_name = "S")]
        server_reference: Option<String>,
    },
    /// Print the delays a retry policy gives, attempt by attempt. A `custom`
    /// policy runs its plugin in a virtual-time connection, and each line says
    /// whether the plugin or the fallback decided (and why).
    Schedule {
        /// A connection configuration (its `policy` object is used) or a bare
        /// policy object, as JSON. A relative `plugin` path is taken relative to
        /// this file's folder.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// How many failed attempts to schedule.
        #[arg(long, value_name = "N", default_value_t = 10)]
        attempts: u32,
        /// Seed for the jitter.
        #[arg(long, value_name = "S", default_value_t = 0)]
        seed: u64,
        /// The failure behind every attempt (selects the normal, throttled or
        /// server-hint curve); a plain recoverable failure if not given
        /// (`net:refused` for a custom policy).
        #[arg(long, value_name = "FAILURE")]
        failure: Option<String>,
        /// Print a JSON object instead of one line per attempt.
        #[arg(long)]
        json: bool,
    },
    /// Deterministic simulation: run seeded random worlds (faults, configurations,
    /// clock jumps) through the component and check the flow's invariants at every
    /// step. Prints seeds per second, and on a violation the seed and how to replay it.
    Dst {
        /// How many seeds to run.
        #[arg(long, value_name = "N", default_value_t = 1000)]
        seeds: u64,
        /// The first seed.
        #[arg(long, value_name = "S", default_value_t = 0)]
        start: u64,
        /// Print each seed's configuration and full transcript.
        #[arg(long)]
        verbose: bool,
        /// Worker threads (default: one per core).
        #[arg(long, value_name = "J")]
        jobs: Option<usize>,
    },
    /// A fleet storm in virtual time: N devices lose their links at once and a
    /// rate-limited hub comes back; compare retry policies (peak attempts per
    /// second, time until 50/99/100% are back, reprovisions).
    Simulate(commands::simulate::SimulateArgs),
    /// Precompile the tether component for a device: the file `tether-device
    /// --precompiled` and the C and Python hosts load without a compiler. It is
    /// machine code, tied to this wasmtime version, the target and the engine
    /// settings; load only files you made.
    Compile {
        /// The component (`.wasm`, binary or text); default: the one built into
        /// this program.
        #[arg(long, value_name = "FILE")]
        component: Option<PathBuf>,
        /// Where to write the precompiled component (for example `tether.cwasm`).
        #[arg(short, long, value_name = "OUT")]
        out: PathBuf,
        /// The target triple, for example `aarch64-unknown-linux-gnu` (default: this
        /// host): x86-64 and aarch64 get machine code; 32-bit ARM
        /// (`armv7-unknown-linux-gnueabihf`) gets Pulley bytecode, which wasmtime
        /// interprets there (`pulley32` names it directly).
        #[arg(long, value_name = "TRIPLE")]
        target: Option<String>,
    },
    /// Retry-policy plugins.
    #[command(subcommand)]
    Plugin(PluginCmd),
}

#[derive(Debug, Subcommand)]
enum PluginCmd {
    /// Load a plugin in the sandbox, list its imports (any import is refused)
    /// and exports, and run sample decisions through the engine: each answer,
    /// the fuel it used, and the peak memory against the limits. Exits 1 when
    /// the plugin is refused or a sample decision fell back.
    Check {
        /// The plugin component (`.wasm`).
        file: PathBuf,
        /// The policy's `params` object, as JSON.
        #[arg(long, value_name = "JSON", default_value = "{}")]
        params: String,
        /// Seed for the connection's generator (the plugin's `random`).
        #[arg(long, value_name = "S", default_value_t = 0)]
        seed: u64,
    },
}

const FAILURE_SYNTAX: &str = "\
Failure syntax:
  net:dns net:refused net:reset net:unreachable net:timeout net:tls net:closed
  mqtt311:5                 MQTT 3.1.1 CONNACK return code
  mqtt5:0x87                MQTT 5 reason code (hex or decimal)
  amqp:amqp:unauthorized-access
                            AMQP condition
  http:403  http:403:403002 HTTP status, optionally with the IoT-hub error code
  hub:401003                IoT-hub six-digit error code
  keep-alive-lost  session-expired  link-detached
  app:unauthorized app:credential-expired app:forbidden app:device-not-found
  app:device-disabled app:quota-exceeded app:throttled app:bad-endpoint";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Demo {
            seed,
            verbose: _,
            broker: Some(broker),
            seconds,
        } => commands::demo::on_broker(&broker, seconds, seed),
        Cmd::Demo {
            seed,
            verbose,
            broker: None,
            ..
        } => commands::demo::run(seed, verbose),
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
            let limit = seconds.map(std::time::Duration::from_secs);
            match (config, connection_string) {
                (Some(config), _) => commands::run::run(&config, verbose, limit),
                (None, Some(text)) => {
                    let telemetry = commands::run::Telemetry { interval_ms, count };
                    commands::run::run_connection_string(
                        &text,
                        ca_file.as_deref(),
                        port,
                        telemetry,
                        verbose,
                        limit,
                    )
                }
                (None, None) => Err(input::bad_input(
                    "give --config FILE or --connection-string TEXT",
                )),
            }
        }
        Cmd::DpsEmulator(args) => commands::dps_emulator::run(&args),
        Cmd::IothubEmulator(args) => commands::iothub_emulator::run(&args),
        Cmd::Classify {
            failures,
            retry_after_ms,
            server_reference,
        } => commands::classify::classify(&failures, retry_after_ms, server_reference.as_deref()),
        Cmd::Schedule {
            config,
            attempts,
            seed,
            failure,
            json,
        } => commands::schedule::schedule(&config, attempts, seed, failure.as_deref(), json),
        Cmd::Dst {
            seeds,
            start,
            verbose,
            jobs,
        } => tether_host::Runtime::new()
            .map_err(anyhow::Error::new)
            .and_then(|r| commands::dst::run(&r, seeds, start, verbose, jobs)),
        Cmd::Simulate(args) => commands::simulate::simulate(&args),
        Cmd::Compile {
            component,
            out,
            target,
        } => commands::compile::compile(component.as_deref(), &out, target.as_deref()),
        Cmd::Plugin(PluginCmd::Check { file, params, seed }) => {
            commands::plugin::check(&file, &params, seed)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
