//! `tether run`: a real device (MQTT broker, provisioning service when configured)
//! until Ctrl-C or SIGTERM. `tether demo --broker` runs one through the same loop.

use std::path::Path;
use std::time::Duration;

use tether_device::config::DeviceFile;
use tether_device::console;
use tether_device::device::RunningDevice;
use tether_host::{Entropy, Runtime};

use crate::input::bad_input;

pub(crate) fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

pub(crate) use tether_device::console::interrupted;

/// Run `file` until Ctrl-C / SIGTERM (or `limit`), printing events as they come.
pub(crate) fn run_device(
    file: &DeviceFile,
    verbose: bool,
    limit: Option<Duration>,
) -> anyhow::Result<()> {
    let runtime = Runtime::new()?;
    tokio_runtime()?.block_on(async {
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

/// The device file `tether run --connection-string` stands for.
pub fn connection_string_file(
    text: &str,
    ca_file: Option<&Path>,
    port: Option<u16>,
    telemetry: Telemetry,
) -> anyhow::Result<DeviceFile> {
    // The error names the field; the document (it holds the key) is never echoed.
    console::connection_string_file(text, ca_file, port, telemetry.interval_ms, telemetry.count)
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
