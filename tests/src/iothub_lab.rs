//! The IoT Hub lab of the fault rows (`tests/iothub_device.rs`): a real mosquitto,
//! the enforcing IoT Hub emulator in front of it with one certificate authority,
//! the real device runtime on a device file, a recorder at the broker, and the
//! lost / unexpected accounting each row ends with.
//!
//! Test support: a setup failure panics with its cause, as a test would.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::json;
use tether_device::config::DeviceFile;
use tether_device::device::{RunningDevice, Tally};
use tether_emulators::iothub::{Credential, HubConfig, Identity, IdentityId, IotHub, RateLimit};
use tether_host::{Entropy, Outcome, Status};

use crate::broker::Broker;
use crate::recorder::Recorder;
use crate::tls::Certificates;

/// base64("tether-iothub-row-key"): the device's key in the emulator's registry.
pub const KEY: &str = "dGV0aGVyLWlvdGh1Yi1yb3cta2V5";
/// A key the registry does not have: its tokens carry a forged signature.
pub const FORGED: &str = "Zm9yZ2VkLWtleQ==";
/// Bound on waits for things that must happen (not speed limits).
pub const WAIT: Duration = Duration::from_secs(60);
/// The hub's name: the emulator's certificate is for 127.0.0.1.
pub const HUB: &str = "127.0.0.1";

/// A mosquitto, an enforcing IoT Hub in front of it, their certificates, and a
/// folder for the files a row writes.
pub struct Lab {
    pub broker: Broker,
    pub hub: IotHub,
    pub dir: tempdir::Dir,
    pub ca_file: PathBuf,
    certs: Certificates,
}

pub mod tempdir {
    use std::path::{Path, PathBuf};

    /// A folder removed when dropped.
    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(name: &str) -> Dir {
            let path = std::env::temp_dir().join(format!(
                "tether-iothub-{name}-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            ));
            std::fs::create_dir_all(&path).unwrap();
            Dir(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The bytes of a base64 key.
pub fn key_bytes(key: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .unwrap()
}

impl Lab {
    /// A lab whose registry holds each device with [`KEY`].
    pub async fn start(row: &str, devices: &[&str], rate_limit: Option<RateLimit>) -> Lab {
        let keyed: Vec<(&str, &str)> = devices.iter().map(|d| (*d, KEY)).collect();
        Self::start_keyed(row, &keyed, rate_limit).await
    }

    /// A lab whose registry holds each device with its own key.
    pub async fn start_keyed(
        row: &str,
        devices: &[(&str, &str)],
        rate_limit: Option<RateLimit>,
    ) -> Lab {
        let broker = Broker::options().durable().start().unwrap();
        let certs = Certificates::generate().unwrap();
        let dir = tempdir::Dir::new(row);
        let files = certs.write_to(dir.path()).unwrap();
        let mut config = HubConfig::new(
            HUB,
            certs.server_cert_pem(),
            certs.server_key_pem(),
            broker.address().parse::<SocketAddr>().unwrap(),
        );
        if let Some(limit) = rate_limit {
            config.rate_limit = limit;
        }
        insert_devices(&mut config, devices);
        let hub = IotHub::start(config).await.unwrap();
        Lab {
            broker,
            hub,
            ca_file: files.ca,
            dir,
            certs,
        }
    }

    /// A second hub named `ip` (another loopback address, such as 127.0.0.2) on
    /// the first hub's MQTT port, with the same certificate authority and the same
    /// broker behind it: a device file's `mqtt.port` reaches either by host name.
    pub async fn second_hub(&self, ip: &str, devices: &[(&str, &str)]) -> IotHub {
        let mut config = HubConfig::new(
            ip,
            self.certs.server_cert_pem(),
            self.certs.server_key_pem(),
            self.broker.address().parse::<SocketAddr>().unwrap(),
        );
        config.bind = ip.parse().unwrap();
        config.mqtt_port = self.hub.mqtt_address().port();
        insert_devices(&mut config, devices);
        IotHub::start(config).await.unwrap()
    }

    /// An IoT Hub connection string for `device` on [`HUB`].
    pub fn connection_string(device: &str, key: &str) -> String {
        format!("HostName={HUB};DeviceId={device};SharedAccessKey={key}")
    }

    /// A device file for `device` with `key`, its tokens living `lifetime_s`.
    pub fn device_file(&self, device: &str, key: &str, lifetime_s: u64) -> DeviceFile {
        let doc = json!({
            "profile": "azure-iot-hub",
            "connection": {
                "connection-string": Self::connection_string(device, key),
                "credential": { "token-lifetime-s": lifetime_s },
                "policy": { "kind": "exponential", "initial-ms": 200, "max-ms": 2000 },
            },
            "mqtt": {
                "port": self.hub.mqtt_address().port(),
                "tls": { "ca-file": self.ca_file.display().to_string() },
                "keep-alive-s": 30,
            },
            "publish": { "interval-ms": 100 },
        });
        DeviceFile::parse(&doc.to_string()).unwrap()
    }

    /// Start the real device runtime on `file`.
    pub fn spawn(&self, file: &DeviceFile) -> RunningDevice {
        RunningDevice::spawn(crate::runtime(), file, Entropy::os())
            .unwrap()
            .unwrap()
    }

    /// A recorder of `device`'s telemetry at the broker.
    pub fn recorder(&self, device: &str) -> Recorder {
        Recorder::start(
            &self.broker.address(),
            &format!("devices/{device}/messages/events/#"),
        )
        .unwrap()
    }
}

/// Wait (at most [`WAIT`]) until `done` holds for the device's tally.
pub async fn wait_for(device: &RunningDevice, what: &str, done: impl Fn(&Tally) -> bool) -> Tally {
    let started = Instant::now();
    loop {
        let tally = device.tally();
        if done(&tally) {
            return tally;
        }
        assert!(
            started.elapsed() < WAIT,
            "waited {WAIT:?} for {what}; statuses: {:?}; rules: {:?}",
            statuses(&tally),
            tally
                .decisions
                .iter()
                .filter_map(|(_, d)| d.cause.as_ref().map(|c| c.rule.clone()))
                .take(5)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The statuses so far, as `status/reason` names.
pub fn statuses(t: &Tally) -> Vec<String> {
    t.statuses
        .iter()
        .map(|(_, s)| {
            format!(
                "{}/{}",
                tether_host::names::status_name(s.status),
                tether_host::names::reason_name(s.reason)
            )
        })
        .collect()
}

/// Whether the last status is connected.
pub fn connected(t: &Tally) -> bool {
    t.statuses
        .last()
        .is_some_and(|(_, s)| s.status == Status::Connected)
}

/// Stop the stream, let every accepted message end, stop the device, and check at
/// the recorder that nothing accepted was lost. Returns the accounting line.
pub async fn finish(device: RunningDevice, recorder: &Recorder) -> (Tally, String) {
    device.set_stream(false);
    wait_for(&device, "every accepted message to end", |t| {
        t.pending() == 0
    })
    .await;
    let tally = device.stop().await.unwrap();
    let accepted: BTreeSet<u64> = tally.accepted.values().flatten().copied().collect();
    let failed: BTreeSet<u64> = tally
        .outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
        .filter_map(|(id, _)| tally.accepted.get(id).copied().flatten())
        .collect();
    let record = recorder
        .wait_until(WAIT, |r| {
            accepted
                .iter()
                .all(|n| failed.contains(n) || r.counts.contains_key(n))
        })
        .unwrap_or_else(|_| recorder.snapshot());
    let account = record.account(&accepted, &failed);
    assert!(account.lost.is_empty(), "lost messages: {account}");
    assert_eq!(account.unexpected, 0, "{account}");
    assert!(account.delivered > 0, "nothing delivered: {account}");
    // Why messages failed, for the row's line.
    let mut why: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for o in tally.outcomes.values() {
        if let Outcome::Failed(f) = o {
            *why.entry(format!("{f:?}")).or_insert(0) += 1;
        }
    }
    let mut line = account.to_string();
    if !why.is_empty() {
        line.push_str(&format!(" (failed: {why:?})"));
    }
    (tally, line)
}

/// Print the row's line for the README table.
pub fn row(name: &str, tally: &Tally, account: &str, hub: &IotHub) {
    println!(
        "| {name} | {} | {account} | hub: {:?} |",
        compact(&statuses(tally)),
        hub.counters()
    );
}

fn compact(s: &[String]) -> String {
    let mut out: Vec<String> = Vec::new();
    for x in s {
        if out.last() != Some(x) {
            out.push(x.clone());
        }
    }
    out.join(" -> ")
}

/// Register each `(device, base64 key)` in `config`'s registry.
fn insert_devices(config: &mut HubConfig, devices: &[(&str, &str)]) {
    for (d, key) in devices {
        config.registry.insert(
            IdentityId::device(*d),
            Identity {
                credential: Credential::Keys {
                    primary: key_bytes(key),
                    secondary: None,
                },
                enabled: true,
            },
        );
    }
}
