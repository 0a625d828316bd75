//! The fault matrix of the Python client: `tether.Device` (bindings/python, on
//! paho-mqtt) against the real lab of `tests/fault_matrix.rs`, one test per fault.
//!
//! Each row runs its own lab: mosquitto with password authentication and TLS (a
//! generated CA), durable like a hub, the fault proxy in front of it, and a
//! recorder subscribed to the device's numbered QoS 1 stream. The device
//! (`tests/python/fault_device.py`) connects through the proxy, publishes a message
//! every 100 ms and prints every status, decision and outcome; the test meets it
//! with the row's fault. Each row asserts:
//! - the statuses from the fault on, in order;
//! - connected again within the fault's duration plus 10 s (rows that recover);
//! - every accepted message has one outcome, and at the recorder lost = 0 and
//!   unexpected = 0 (duplicates are counted and reported).
//!
//! The IoT Hub and DPS rows of the Python client are in `tests/python_iothub.rs`.
//!
//! Each row prints a table line (`cargo test -p tether-tests --test python_faults --
//! --nocapture`). What the rows need is installed by `scripts/setup`; when something
//! is missing the test fails and says so. It never skips.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

#[path = "python/common.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use common::{Device, WAIT, all_statuses, last_status, rules};
use rumqttc::{TlsConfiguration, Transport};
use serde_json::{Value, json};
use tether_tests::broker::Broker;
use tether_tests::proxy::Proxy;
use tether_tests::recorder::Recorder;
use tether_tests::tls::Certificates;

const RECORDER_USER: &str = "recorder";
const RECORDER_PASSWORD: &str = "recorder-secret";
const DEVICE_PASSWORD: &str = "device-secret";
/// The allowance on top of a fault's duration for being connected again.
const RECONNECT_ALLOWANCE: Duration = Duration::from_secs(10);

struct Lab {
    row: &'static str,
    broker: Broker,
    proxy: Proxy,
    recorder: Recorder,
    ca_file: PathBuf,
}

impl Lab {
    fn start(row: &'static str) -> Lab {
        let certs = Certificates::generate().unwrap();
        let broker = Broker::options()
            .with_user(RECORDER_USER, RECORDER_PASSWORD)
            .with_user(&device_id(row), DEVICE_PASSWORD)
            .with_tls(&certs)
            .durable()
            .start()
            .unwrap();
        let ca_file = broker.dir().join("device-ca.pem");
        std::fs::write(&ca_file, certs.ca_pem()).unwrap();
        let proxy = Proxy::start(&broker.address()).unwrap();
        let tls = certs.client_config().unwrap();
        let recorder = Recorder::start_with(&broker.address(), &topic(row), |o| {
            o.set_credentials(RECORDER_USER, RECORDER_PASSWORD);
            o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
        })
        .unwrap();
        Lab {
            row,
            broker,
            proxy,
            recorder,
            ca_file,
        }
    }

    /// What the device script is given: the component's configuration (a fast
    /// policy: 100 ms doubling to 500 ms) and the MQTT options.
    fn spec(&self, version: u8) -> Value {
        json!({
            "config": {
                "hub": self.proxy.address(),
                "device-id": device_id(self.row),
                "seed": 7,
                "credential": { "secret": DEVICE_PASSWORD },
                "policy": { "kind": "exponential", "initial-ms": 100, "multiplier": 2,
                            "max-ms": 500, "reset-after-ms": 5000 },
                "queue": { "capacity": 1000, "max-in-flight": 16 }
            },
            "mqtt": { "version": if version == 3 { 311 } else { 5 }, "keep_alive_s": 2,
                      "connect_timeout_s": 3, "ca_file": self.ca_file.display().to_string() },
            "topic": topic(self.row),
            "interval_ms": 100
        })
    }

    fn restart_broker(&mut self) {
        let before = self.recorder.snapshot().subscriptions;
        self.broker.restart().unwrap();
        self.recorder.wait_subscribed(before, WAIT).unwrap();
    }
}

fn topic(row: &str) -> String {
    format!("tether/python-matrix/{row}")
}

fn device_id(row: &str) -> String {
    format!("py-{row}")
}

fn statuses_between(t: &[(Instant, String)], from: Instant, until: Instant) -> Vec<String> {
    t.iter()
        .filter(|(at, _)| *at >= from && *at < until)
        .filter_map(|(_, l)| l.strip_prefix("status ").map(str::to_string))
        .collect()
}
fn connected_since(t: &[(Instant, String)], from: Instant) -> Option<Instant> {
    t.iter()
        .find(|(at, l)| *at >= from && l == "status connected/connection-ok")
        .map(|(at, _)| *at)
}
/// One row's figures.
struct Row {
    statuses: Vec<String>,
    reconnect: Option<Duration>,
    failed_reasons: Vec<String>,
    delivered: usize,
    failed: usize,
}

/// End a row: wait for the reconnect (when expected), stop, account for the stream
/// at the recorder, check the common facts, print the row.
fn finish(
    lab: &Lab,
    device: &mut Device,
    fault_at: Instant,
    fault: Duration,
    expect_reconnect: bool,
) -> Row {
    let mut reconnect = None;
    if expect_reconnect {
        device.wait_for("connected again", |t| {
            connected_since(t, fault_at).is_some()
        });
        let at = connected_since(&device.transcript, fault_at).unwrap();
        let took = at.duration_since(fault_at);
        assert!(
            took <= fault + RECONNECT_ALLOWANCE,
            "{}: connected again {took:?} after the fault began (fault {fault:?} + {RECONNECT_ALLOWANCE:?} allowed)",
            lab.row
        );
        reconnect = Some(took);
        // A few deliveries on the new link.
        let count_before = device
            .transcript
            .iter()
            .filter(|(_, l)| l.ends_with(" delivered"))
            .count();
        device.wait_for("deliveries after the reconnect", |t| {
            t.iter().filter(|(_, l)| l.ends_with(" delivered")).count() >= count_before + 3
        });
    }
    let stop_at = device.stop();
    let t = &device.transcript;
    let accepted: BTreeSet<u64> = t
        .iter()
        .filter_map(|(_, l)| l.strip_prefix("accepted ")?.parse().ok())
        .collect();
    let mut outcomes: BTreeMap<u64, String> = BTreeMap::new();
    for (_, l) in t {
        if let Some(rest) = l.strip_prefix("outcome ") {
            let (seq, what) = rest.split_once(' ').unwrap();
            let previous = outcomes.insert(seq.parse().unwrap(), what.to_string());
            assert!(previous.is_none(), "{}: two outcomes for {seq}", lab.row);
        }
    }
    let refused = t.iter().filter(|(_, l)| l.starts_with("refused ")).count();
    assert_eq!(
        refused,
        0,
        "{}: publishes refused:\n{}",
        lab.row,
        device.text()
    );
    assert_eq!(
        outcomes.keys().copied().collect::<BTreeSet<_>>(),
        accepted,
        "{}: every accepted message has one outcome",
        lab.row
    );
    let failed: BTreeSet<u64> = outcomes
        .iter()
        .filter(|(_, o)| o.starts_with("failed"))
        .map(|(s, _)| *s)
        .collect();
    let delivered: BTreeSet<u64> = accepted.difference(&failed).copied().collect();
    let record = lab
        .recorder
        .wait_until(Duration::from_secs(10), |r| {
            delivered.iter().all(|s| r.counts.contains_key(s))
        })
        .unwrap_or_else(|_| lab.recorder.snapshot());
    let account = record.account(&accepted, &failed);
    let row = Row {
        statuses: statuses_between(t, fault_at, stop_at),
        reconnect,
        failed_reasons: failed
            .iter()
            .map(|s| outcomes[s].trim_start_matches("failed:").to_string())
            .collect(),
        delivered: delivered.len(),
        failed: failed.len(),
    };
    eprintln!(
        "| python {} | {} | {} | accepted {} / delivered {} / failed {} / duplicated {} / lost {} / unexpected {} |",
        lab.row,
        row.statuses.join(" → "),
        row.reconnect.map_or("-".to_string(), |d| format!(
            "{:.2} s after the fault began (fault {:.1} s)",
            d.as_secs_f64(),
            fault.as_secs_f64()
        )),
        accepted.len(),
        row.delivered,
        row.failed,
        account.duplicated,
        account.lost.len(),
        account.unexpected
    );
    assert!(account.lost.is_empty(), "{}: {account}", lab.row);
    assert_eq!(account.unexpected, 0, "{}: {account}", lab.row);
    row
}

/// Dropped with `first`, retrying with reasons from `also`, connected once.
fn assert_drop_and_back(lab: &Lab, row: &Row, first: &str, also: &[&str]) {
    let s = &row.statuses;
    assert!(s.len() >= 2, "{}: statuses {s:?}", lab.row);
    assert_eq!(
        s[0],
        format!("disconnected-retrying/{first}"),
        "{}: {s:?}",
        lab.row
    );
    assert_eq!(
        s.last().unwrap(),
        "connected/connection-ok",
        "{}: {s:?}",
        lab.row
    );
    for middle in &s[1..s.len() - 1] {
        let reason = middle
            .strip_prefix("disconnected-retrying/")
            .unwrap_or_else(|| panic!("{}: unexpected status {middle} in {s:?}", lab.row));
        assert!(
            reason == first || also.contains(&reason),
            "{}: unexpected reason {reason} in {s:?}",
            lab.row
        );
    }
}

fn steady_lab(row: &'static str, version: u8) -> (Lab, Device) {
    let lab = Lab::start(row);
    let mut device = Device::spawn(row, &lab.spec(version));
    device.steady();
    (lab, device)
}

// ---- the rows -------------------------------------------------------------------

#[test]
fn tcp_reset() {
    let (lab, mut device) = steady_lab("tcp-reset", 5);
    let fault_at = Instant::now();
    assert!(lab.proxy.reset().unwrap() >= 1);
    let row = finish(&lab, &mut device, fault_at, Duration::ZERO, true);
    assert_eq!(
        row.statuses,
        [
            "disconnected-retrying/communication-error",
            "connected/connection-ok"
        ]
    );
    let rules = rules(&device.transcript);
    assert!(rules.iter().any(|r| r == "net/reset"), "{rules:?}");
}

#[test]
fn broker_killed_for_5s() {
    let (mut lab, mut device) = steady_lab("broker-killed-5s", 5);
    let fault_at = Instant::now();
    lab.broker.kill().unwrap();
    let down = Duration::from_secs(5);
    thread::sleep(down);
    lab.restart_broker();
    let row = finish(&lab, &mut device, fault_at, down, true);
    assert_drop_and_back(&lab, &row, "communication-error", &[]);
}

#[test]
fn half_open_broker() {
    let (lab, mut device) = steady_lab("half-open-broker", 5);
    let fault_at = Instant::now();
    lab.broker.pause().unwrap();
    let paused = Duration::from_secs(8);
    thread::sleep(paused);
    lab.broker.resume().unwrap();
    let row = finish(&lab, &mut device, fault_at, paused, true);
    // The ping goes unanswered; attempts while paused time out waiting for CONNACK.
    assert_drop_and_back(&lab, &row, "no-ping-response", &["communication-error"]);
    let rules = rules(&device.transcript);
    assert!(
        rules.iter().any(|r| r == "proto/keep-alive-lost"),
        "{rules:?}"
    );
}

#[test]
fn blackhole_then_heal() {
    let (lab, mut device) = steady_lab("blackhole", 3);
    let fault_at = Instant::now();
    lab.proxy.blackhole();
    let dark = Duration::from_secs(8);
    thread::sleep(dark);
    lab.proxy.heal();
    let row = finish(&lab, &mut device, fault_at, dark, true);
    assert_drop_and_back(&lab, &row, "no-ping-response", &["communication-error"]);
}

#[test]
fn broker_graceful_shutdown() {
    let (mut lab, mut device) = steady_lab("graceful-shutdown", 5);
    let fault_at = Instant::now();
    assert!(lab.broker.stop().unwrap().is_some_and(|s| s.success()));
    let down = Duration::from_secs(3);
    thread::sleep(down);
    lab.restart_broker();
    let row = finish(&lab, &mut device, fault_at, down, true);
    assert_drop_and_back(&lab, &row, "communication-error", &[]);
}

#[test]
fn hub_address_without_a_port() {
    // DPS assigns bare host names: the port comes from the transport (8883 with
    // TLS; here the proxy's port given as that default), the name from the
    // certificate's subject (localhost).
    let lab = Lab::start("hub-without-port");
    let mut spec = lab.spec(3);
    spec["config"]["hub"] = json!("localhost");
    spec["mqtt"]["port"] = json!(lab.proxy.port());
    let mut device = Device::spawn(lab.row, &spec);
    device.steady();
    let fault_at = Instant::now();
    assert!(lab.proxy.reset().unwrap() >= 1);
    let row = finish(&lab, &mut device, fault_at, Duration::ZERO, true);
    assert_eq!(
        row.statuses,
        [
            "disconnected-retrying/communication-error",
            "connected/connection-ok"
        ]
    );
}

#[test]
fn credentials_revoked() {
    let (mut lab, mut device) = steady_lab("credentials-revoked", 5);
    let fault_at = Instant::now();
    // The device's password changes: mosquitto drops it at the reload and refuses
    // the old password after (0x87). A fixed credential cannot be renewed, so the
    // component stops with bad-credential.
    lab.broker
        .set_users(&[
            (RECORDER_USER, RECORDER_PASSWORD),
            (&device_id(lab.row), "rotated"),
        ])
        .unwrap();
    device.wait_for("the device to give up", |t| {
        last_status(t).is_some_and(|s| s.starts_with("disconnected/"))
    });
    let row = finish(&lab, &mut device, fault_at, Duration::ZERO, false);
    assert_eq!(
        row.statuses,
        [
            "disconnected-retrying/communication-error",
            "disconnected/bad-credential"
        ]
    );
    let rules = rules(&device.transcript);
    assert!(rules.iter().any(|r| r == "mqtt5/0x87"), "{rules:?}");
    assert!(
        row.failed_reasons
            .iter()
            .all(|r| r == "unrecoverable" || r == "client-close"),
        "{:?}",
        row.failed_reasons
    );
}

#[test]
fn tls_with_the_wrong_ca() {
    let lab = Lab::start("tls-wrong-ca");
    let stranger = Certificates::generate().unwrap();
    let ca_file = lab.ca_file.with_file_name("stranger-ca.pem");
    std::fs::write(&ca_file, stranger.ca_pem()).unwrap();
    let mut spec = lab.spec(5);
    spec["mqtt"]["ca_file"] = json!(ca_file.display().to_string());
    let fault_at = Instant::now();
    let mut device = Device::spawn(lab.row, &spec);
    device.wait_for("two refused handshakes", |t| {
        rules(t).iter().filter(|r| *r == "net/tls").count() >= 2
    });
    // The component's verdict: retry on the throttled curve.
    assert!(
        device
            .transcript
            .iter()
            .filter_map(|(_, l)| l.strip_prefix("decision net/tls "))
            .all(|a| a.starts_with("backoff") && a.contains(" throttled ")),
        "{}",
        device.text()
    );
    let row = finish(&lab, &mut device, fault_at, Duration::ZERO, false);
    // Never connected, from the first status to the stop.
    let all = all_statuses(&device.transcript);
    assert!(!all.iter().any(|s| s.starts_with("connected/")), "{all:?}");
    assert!(
        row.statuses
            .contains(&"disconnected-retrying/communication-error".to_string())
    );
    assert_eq!(row.delivered, 0);
    assert!(
        row.failed_reasons.iter().all(|r| r == "client-close"),
        "{:?}",
        row.failed_reasons
    );
}
