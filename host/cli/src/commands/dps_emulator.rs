//! `tether dps-emulator`: either the Azure DPS emulator that enforces the
//! service's rules (`--enrollments FILE --cert FILE --key FILE`: HTTPS, and MQTT
//! with `--mqtt-port`), or the stand-in provisioning and token service of the
//! generic MQTT profile (`--hub HOST:PORT`), optionally keeping a mosquitto
//! password file in step.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tether_emulators::dps::{DpsConfig, DpsEmulator};
use tether_emulators::{Emulator, EmulatorConfig, sighup};

use super::run::{interrupted, tokio_runtime};

/// `tether dps-emulator`.
pub fn run(args: &EmulatorArgs) -> anyhow::Result<()> {
    match (&args.enrollments, &args.hub) {
        (Some(file), _) => run_dps(args, file),
        (None, Some(hub)) => run_stand_in(args, hub),
        (None, None) => anyhow::bail!(
            "give --enrollments FILE (with --cert and --key) for the DPS emulator, or --hub HOST:PORT for the stand-in service"
        ),
    }
}

fn read(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{what}: cannot read {}: {e}", path.display()))
}

fn run_dps(args: &EmulatorArgs, file: &Path) -> anyhow::Result<()> {
    let (Some(cert), Some(key)) = (&args.cert, &args.key) else {
        anyhow::bail!("--enrollments needs --cert FILE and --key FILE (the server's PEM)");
    };
    let mut config = DpsConfig::new(read(cert, "--cert")?, read(key, "--key")?);
    config.pending_polls = args.pending_polls;
    config.retry_after_s = args.retry_after_s;
    if !args.hubs.is_empty() {
        config.hubs.clone_from(&args.hubs);
    }
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    config
        .apply_enrollments(&read(file, "--enrollments")?, |p| {
            std::fs::read_to_string(dir.join(p)).map_err(|e| format!("cannot read {p}: {e}"))
        })
        .map_err(|e| anyhow::anyhow!("invalid enrollments file {}: {e}", file.display()))?;
    if args.id_scope_given() {
        config.id_scope.clone_from(&args.id_scope);
    }
    tokio_runtime()?.block_on(async {
        let emulator = DpsEmulator::start(config, args.port, args.mqtt_port).await?;
        println!(
            "DPS emulator on {} (id scope {}){}; Ctrl-C ends it",
            emulator.endpoint(),
            emulator.id_scope(),
            emulator
                .mqtt_endpoint()
                .map(|m| format!(" and {m}"))
                .unwrap_or_default()
        );
        interrupted().await;
        Ok(())
    })
}

fn run_stand_in(args: &EmulatorArgs, hub: &str) -> anyhow::Result<()> {
    let mut config = EmulatorConfig::new(hub.to_string());
    config.id_scope.clone_from(&args.id_scope);
    config.pending_polls = args.pending_polls;
    config.retry_after_s = args.retry_after_s;
    config.token_lifetime = Duration::from_secs(args.token_lifetime_s);
    config.password_file.clone_from(&args.password_file);
    config.reload = args.broker_pid.map(sighup);
    tokio_runtime()?.block_on(async {
        let emulator = Emulator::start(config, args.port).await?;
        println!(
            "provisioning emulator on {} (id scope {}), assigning {hub}; Ctrl-C ends it",
            emulator.endpoint(),
            emulator.id_scope(),
        );
        interrupted().await;
        Ok(())
    })
}

const DEFAULT_SCOPE: &str = "0ne00000001";

/// The options of `tether dps-emulator`.
#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {
    /// The loopback port to listen on (0: any free port); HTTPS for the DPS
    /// emulator, plain HTTP for the stand-in.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The DPS emulator: an enrollments file (JSON: id-scope, hubs, individual,
    /// groups, x509-ca-file...; see the README).
    #[arg(long, value_name = "FILE")]
    pub enrollments: Option<PathBuf>,
    /// The DPS emulator's server certificate chain (PEM).
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The DPS emulator's server private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The DPS emulator's hubs, comma-separated host names (overrides the file's).
    #[arg(long, value_delimiter = ',', value_name = "HOST,...")]
    pub hubs: Vec<String>,
    /// Also serve DPS over MQTT/TLS on this loopback port (0: any free port).
    #[arg(long, value_name = "PORT")]
    pub mqtt_port: Option<u16>,
    /// The stand-in service: the hub address to assign, HOST:PORT.
    #[arg(long)]
    pub hub: Option<String>,
    /// The id scope devices must name (for the DPS emulator, overrides the file's).
    #[arg(long, default_value = DEFAULT_SCOPE)]
    pub id_scope: String,
    /// 202 answers to polls before the outcome.
    #[arg(long, default_value_t = 1)]
    pub pending_polls: u32,
    /// `Retry-After` of the 202 answers, in seconds.
    #[arg(long, default_value_t = 1)]
    pub retry_after_s: u64,
    /// The stand-in service: lifetime of the tokens handed out, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub token_lifetime_s: u64,
    /// The stand-in service: a mosquitto password file to keep in step with the
    /// tokens handed out.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<std::path::PathBuf>,
    /// The stand-in service: the broker's process id, sent SIGHUP after the
    /// password file changes.
    #[arg(long, value_name = "PID")]
    pub broker_pid: Option<u32>,
}

impl EmulatorArgs {
    fn id_scope_given(&self) -> bool {
        self.id_scope != DEFAULT_SCOPE
    }
}
