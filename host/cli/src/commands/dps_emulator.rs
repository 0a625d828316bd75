//! `tether dps-emulator`: the provisioning service emulator and its token
//! service, optionally keeping a mosquitto password file in step.

use std::time::Duration;

use tether_emulators::{Emulator, EmulatorConfig, sighup};

use super::run::{interrupted, tokio_runtime};

/// `tether dps-emulator`.
pub fn run(args: &EmulatorArgs) -> anyhow::Result<()> {
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
