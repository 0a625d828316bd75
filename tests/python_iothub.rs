//! The Python client on the enforcing IoT Hub emulator (`tether_emulators::iothub`,
//! which checks every CONNECT and signature itself) in front of its own mosquitto:
//! a device from its connection string (delivers; its debug log never shows the key
//! or a signature), one with a wrong key (refused, stops with bad-credential), and
//! one provisioned by the DPS emulator from a group enrollment's key (registers,
//! connects to the assigned hub with the key the component derived). Messages are
//! counted at the far end: lost = 0 and unexpected = 0.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

#[path = "python/common.rs"]
mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use common::{Device, all_statuses, last_status, rules};
use serde_json::{Value, json};
use tether_emulators::iothub::{Credential, HubConfig, Identity, IdentityId, IotHub};
use tether_tests::broker::Broker;
use tether_tests::recorder::Recorder;
use tether_tests::tls::Certificates;

/// base64("tether-python-hub-key"): the device's key in the emulator's registry.
const HUB_KEY: &str = "dGV0aGVyLXB5dGhvbi1odWIta2V5";

struct HubLab {
    runtime: tokio::runtime::Runtime,
    broker: Broker,
    hub: IotHub,
    ca_file: PathBuf,
    dir: PathBuf,
}

impl Drop for HubLab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl HubLab {
    fn start(row: &str, device: &str) -> HubLab {
        Self::start_keyed(row, device, HUB_KEY)
    }

    /// A hub whose registry holds `device` with `key` (base64).
    fn start_keyed(row: &str, device: &str, key: &str) -> HubLab {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let broker = Broker::options().durable().start().unwrap();
        let certs = Certificates::generate().unwrap();
        let dir = std::env::temp_dir().join(format!("tether-py-hub-{row}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = certs.write_to(&dir).unwrap();
        let mut config = HubConfig::new(
            "127.0.0.1",
            certs.server_cert_pem(),
            certs.server_key_pem(),
            broker.address().parse::<SocketAddr>().unwrap(),
        );
        let key = base64::engine::general_purpose::STANDARD
            .decode(key)
            .unwrap();
        config.registry.insert(
            IdentityId::device(device),
            Identity {
                credential: Credential::Keys {
                    primary: key,
                    secondary: None,
                },
                enabled: true,
            },
        );
        let hub = runtime.block_on(IotHub::start(config)).unwrap();
        HubLab {
            runtime,
            broker,
            hub,
            ca_file: files.ca,
            dir,
        }
    }

    fn spec(&self, device: &str, key: &str) -> Value {
        json!({
            "connection_string": format!("HostName=127.0.0.1;DeviceId={device};SharedAccessKey={key}"),
            "config": { "policy": { "kind": "exponential", "initial-ms": 100, "max-ms": 500 } },
            "mqtt": { "port": self.hub.mqtt_address().port(),
                      "ca_file": self.ca_file.display().to_string() },
            "interval_ms": 100
        })
    }
}

#[test]
fn iothub_connection_string_device_delivers_and_never_logs_the_key() {
    let device_name = "py-hub-dev";
    let lab = HubLab::start("plain", device_name);
    let recorder = Recorder::start(
        &lab.broker.address(),
        &format!("devices/{device_name}/messages/events/#"),
    )
    .unwrap();
    let mut device = Device::spawn_logging(
        "iothub-connection-string",
        &lab.spec(device_name, HUB_KEY),
        true,
    );
    device.steady();
    device.stop();
    let t = &device.transcript;
    let accepted: BTreeSet<u64> = t
        .iter()
        .filter_map(|(_, l)| l.strip_prefix("accepted ")?.parse().ok())
        .collect();
    let failed: BTreeSet<u64> = t
        .iter()
        .filter_map(|(_, l)| {
            let rest = l.strip_prefix("outcome ")?;
            let (seq, what) = rest.split_once(' ')?;
            what.starts_with("failed")
                .then(|| seq.parse().ok())
                .flatten()
        })
        .collect();
    let record = recorder
        .wait_until(Duration::from_secs(10), |r| {
            accepted
                .iter()
                .all(|n| failed.contains(n) || r.counts.contains_key(n))
        })
        .unwrap_or_else(|_| recorder.snapshot());
    let account = record.account(&accepted, &failed);
    let counters = lab.hub.counters();
    eprintln!(
        "| python iothub connection string | {} | {account} | hub: {counters:?} |",
        all_statuses(t).join(" → ")
    );
    assert!(account.lost.is_empty(), "{account}");
    assert_eq!(account.unexpected, 0, "{account}");
    assert!(account.delivered >= 3, "{account}");
    assert!(counters.accepted >= 1, "{counters:?}");
    assert_eq!(counters.refused_total(), 0, "{counters:?}");
    // The debug log names the links and decisions, never the key or a signature.
    let everything = format!("{}\n{}", device.text(), device.stderr_text);
    assert!(
        everything.contains("link 1: connecting to 127.0.0.1:"),
        "{everything}"
    );
    assert!(!everything.contains(HUB_KEY), "the key was printed");
    assert!(
        !everything.contains("sig="),
        "a token was printed:\n{everything}"
    );
}

#[test]
fn iothub_a_wrong_key_is_refused_and_the_device_stops() {
    let device_name = "py-hub-forged";
    let lab = HubLab::start("forged", device_name);
    // Another key: the emulator checks the signature itself and refuses it.
    let forged = base64::engine::general_purpose::STANDARD.encode("not-the-device-key");
    let mut device = Device::spawn("iothub-forged", &lab.spec(device_name, &forged));
    device.wait_for("the device to give up", |t| {
        last_status(t).is_some_and(|s| s.starts_with("disconnected/"))
    });
    device.stop();
    let t = &device.transcript;
    // Refused, given up at once (a token minted a moment ago and refused means the
    // key is refused), then the stop.
    assert_eq!(
        all_statuses(t),
        ["disconnected/bad-credential", "disabled/client-close"],
        "{}",
        device.text()
    );
    let rules = rules(t);
    assert!(rules.iter().any(|r| r == "mqtt311/5"), "{rules:?}");
    assert!(!t.iter().any(|(_, l)| l == "status connected/connection-ok"));
    assert!(lab.hub.counters().refused_total() >= 1);
}

#[test]
fn dps_group_enrollment_provisions_and_delivers_through_the_assigned_hub() {
    use hmac::{Hmac, Mac as _};
    use tether_emulators::dps::{DpsConfig, DpsEmulator, GroupEnrollment};
    // base64("tether-python-group-key"): the enrollment group's key.
    const GROUP_KEY: &str = "dGV0aGVyLXB5dGhvbi1ncm91cC1rZXk=";
    let registration = "py-line4-dev-1";
    // The service's side, computed here independently: DPS registers the device in
    // the hub with the key derived from the group's.
    let group = base64::engine::general_purpose::STANDARD
        .decode(GROUP_KEY)
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&group).unwrap();
    mac.update(registration.as_bytes());
    let derived = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let lab = HubLab::start_keyed("dps", registration, &derived);
    let dps_certs = Certificates::generate().unwrap();
    let dps_dir = lab.dir.join("dps");
    std::fs::create_dir_all(&dps_dir).unwrap();
    let dps_files = dps_certs.write_to(&dps_dir).unwrap();
    let mut config = DpsConfig::new(dps_certs.server_cert_pem(), dps_certs.server_key_pem());
    config.id_scope = "0ne00PY1".into();
    config.hubs = vec!["127.0.0.1".to_string()];
    config.groups = vec![GroupEnrollment::new("line-4", GROUP_KEY)];
    let dps = lab
        .runtime
        .block_on(DpsEmulator::start(config, 0, None))
        .unwrap();
    let recorder = Recorder::start(
        &lab.broker.address(),
        &format!("devices/{registration}/messages/events/#"),
    )
    .unwrap();
    let mut spec = lab.spec(registration, HUB_KEY);
    spec.as_object_mut().unwrap().remove("connection_string");
    spec["dps"] = json!({
        "endpoint": dps.endpoint(), "id_scope": "0ne00PY1", "registration_id": registration,
        "group_key": GROUP_KEY, "ca_file": dps_files.ca.display().to_string()
    });
    let mut device = Device::spawn_logging("dps-group", &spec, true);
    device.steady();
    device.stop();
    let t = &device.transcript;
    assert_eq!(dps.assigned_hub(registration).as_deref(), Some("127.0.0.1"));
    let statuses = all_statuses(t);
    assert!(
        statuses.starts_with(&["disconnected-retrying/provisioning".to_string()])
            || statuses
                .first()
                .is_some_and(|s| s == "connected/connection-ok"),
        "{statuses:?}"
    );
    let accepted: BTreeSet<u64> = t
        .iter()
        .filter_map(|(_, l)| l.strip_prefix("accepted ")?.parse().ok())
        .collect();
    let record = recorder
        .wait_until(Duration::from_secs(10), |r| {
            accepted.iter().all(|n| r.counts.contains_key(n))
        })
        .unwrap_or_else(|_| recorder.snapshot());
    let account = record.account(&accepted, &BTreeSet::new());
    let counters = lab.hub.counters();
    eprintln!(
        "| python DPS group enrollment | {} | {account} | hub: {counters:?} |",
        statuses.join(" → ")
    );
    assert!(account.lost.is_empty(), "{account}");
    assert_eq!(account.unexpected, 0, "{account}");
    assert_eq!(
        counters.refused_total(),
        0,
        "the derived key signs the hub token: {counters:?}"
    );
    let everything = format!("{}\n{}", device.text(), device.stderr_text);
    assert!(everything.contains("dps PUT"), "{everything}");
    for secret in [GROUP_KEY, derived.as_str()] {
        assert!(!everything.contains(secret), "a key reached the output");
    }
    assert!(!everything.contains("sig="), "a token reached the output");
}

/// An X.509 device from Python: `x509=true` in the connection string, its
/// certificate in TLS and no password; the emulator checks the certificate's
/// thumbprint. Delivered, lost = 0; another certificate for the same identity is
/// refused (`bad-certificate`) and the device stops.
#[test]
fn iothub_x509_device_with_its_certificate_and_a_wrong_one() {
    let device_name = "py-hub-cam";
    let lab = HubLab::start("x509", "py-hub-unused");
    let (cert, key, thumbprint) =
        tether_tests::tls::self_signed_device(&lab.dir, device_name, "cam").unwrap();
    let (forged_cert, forged_key, _) =
        tether_tests::tls::self_signed_device(&lab.dir, device_name, "cam-forged").unwrap();
    lab.hub.add_identity(
        IdentityId::device(device_name),
        Identity {
            credential: Credential::Thumbprint(thumbprint),
            enabled: true,
        },
    );
    let spec = |cert: &std::path::Path, key: &std::path::Path| {
        let mut spec = lab.spec(device_name, HUB_KEY);
        spec["connection_string"] = json!(format!(
            "HostName=127.0.0.1;DeviceId={device_name};x509=true"
        ));
        spec["mqtt"]["cert_file"] = json!(cert.display().to_string());
        spec["mqtt"]["key_file"] = json!(key.display().to_string());
        spec
    };
    let recorder = Recorder::start(
        &lab.broker.address(),
        &format!("devices/{device_name}/messages/events/#"),
    )
    .unwrap();
    let mut device = Device::spawn("iothub-x509", &spec(&cert, &key));
    device.steady();
    device.stop();
    let t = &device.transcript;
    let accepted: BTreeSet<u64> = t
        .iter()
        .filter_map(|(_, l)| l.strip_prefix("accepted ")?.parse().ok())
        .collect();
    let record = recorder
        .wait_until(Duration::from_secs(10), |r| {
            accepted.iter().all(|n| r.counts.contains_key(n))
        })
        .unwrap_or_else(|_| recorder.snapshot());
    let account = record.account(&accepted, &BTreeSet::new());
    assert!(account.lost.is_empty(), "{account}");
    assert_eq!(account.unexpected, 0, "{account}");
    assert!(account.delivered >= 3, "{account}");
    assert_eq!(
        lab.hub.counters().refused_total(),
        0,
        "{:?}",
        lab.hub.counters()
    );

    let mut forged = Device::spawn("iothub-x509-forged", &spec(&forged_cert, &forged_key));
    forged.wait_for("the device to give up", |t| {
        last_status(t).is_some_and(|s| s.starts_with("disconnected/"))
    });
    forged.stop();
    assert_eq!(
        lab.hub.counters().refused("bad-certificate"),
        1,
        "{:?}",
        lab.hub.counters()
    );
    eprintln!(
        "| python X.509 | {account} | another certificate: {} |",
        all_statuses(&forged.transcript).join(" → ")
    );
}
