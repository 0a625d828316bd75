//! Loading the precompiled component, the connection-string device file, signals.

use std::path::Path;

use tether_device::config::DeviceFile;
use tether_host::Runtime;

/// The runtime from the precompiled file: there is no compiler to fall back to.
pub fn load(precompiled: Option<&Path>) -> anyhow::Result<Runtime> {
    let path = precompiled.ok_or_else(|| {
        crate::bad_input(
            "no precompiled component: give --precompiled FILE or set TETHER_PRECOMPILED \
             (make one with `tether compile -o FILE`)",
        )
    })?;
    Runtime::from_precompiled_file(path).map_err(|e| crate::bad_input(format!("{e:#}")))
}

/// The device file `--connection-string` stands for (as `tether run`'s): the IoT
/// Hub profile, the connection string as the connection, numbered telemetry.
pub fn connection_string_file(
    text: &str,
    ca_file: Option<&Path>,
    port: Option<u16>,
    interval_ms: u64,
    count: Option<u64>,
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
    // Never echo the document: it holds the key.
    DeviceFile::parse(&doc.to_string()).map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))
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
