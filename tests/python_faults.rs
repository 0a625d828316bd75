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
//! Three more rows run on the enforcing IoT Hub emulator (`tether_emulators::iothub`,
//! which checks every CONNECT and signature itself) in front of its own mosquitto:
//! a device from its connection string (delivers; its debug log never shows the key
//! or a signature), one with a wrong key (refused, stops with bad-credential), and
//! one provisioned by the DPS emulator from a group enrollment's key (registers,
//! connects to the assigned hub with the key the component derived).
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

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rumqttc::{TlsConfiguration, Transport};
use serde_json::{Value, json};
use std::net::SocketAddr;
use tether_emulators::iothub::{Credential, HubConfig, Identity, IdentityId, IotHub};
use tether_tests::broker::Broker;
use tether_tests::hosts::python_package;
use tether_tests::proxy::Proxy;
use tether_tests::recorder::Recorder;
use tether_tests::tls::Certificates;
use tether_tests::workspace_root;

const RECORDER_USER: &str = "recorder";
const RECORDER_PASSWORD: &str = "recorder-secret";
const DEVICE_PASSWORD: &str = "device-secret";
/// The allowance on top of a fault's duration for being connected again.
const RECONNECT_ALLOWANCE: Duration = Duration::from_secs(10);
/// Bounds on waits for things that must happen (not speed limits).
const WAIT: Duration = Duration::from_secs(60);

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

/// The device script, its lines stamped as they arrive.
struct Device {
    row: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<(Instant, String)>,
    transcript: Vec<(Instant, String)>,
    stderr: Option<thread::JoinHandle<String>>,
    /// What the device wrote to stderr (its debug log with `log`), after `stop`.
    stderr_text: String,
}

impl Device {
    fn spawn(row: &'static str, spec: &Value) -> Device {
        Self::spawn_logging(row, spec, false)
    }

    /// With `log`, the device logs at DEBUG to stderr (`TETHER_LOG=debug`).
    fn spawn_logging(row: &'static str, spec: &Value, log: bool) -> Device {
        let package = python_package().unwrap();
        let mut cmd = Command::new("python3");
        if log || std::env::var_os("TETHER_LOG").is_some() {
            cmd.env("TETHER_LOG", "debug");
        }
        let mut child = cmd
            .arg(workspace_root().join("tests/python/fault_device.py"))
            .arg(spec.to_string())
            .env("PYTHONPATH", &package)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{row}: cannot run python3: {e}"));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        Device {
            row,
            stdin: child.stdin.take(),
            child,
            lines,
            transcript: Vec::new(),
            stderr: Some(stderr),
            stderr_text: String::new(),
        }
    }

    fn text(&self) -> String {
        self.transcript
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Read lines until `done` holds.
    fn wait_for(&mut self, what: &str, done: impl Fn(&[(Instant, String)]) -> bool) {
        let until = Instant::now() + WAIT;
        while !done(&self.transcript) {
            match self
                .lines
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok(line) => self.transcript.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "{}: no {what} within {WAIT:?}:\n{}\n--- stderr ---\n{}",
                        self.row,
                        self.text(),
                        self.stderr
                            .take()
                            .and_then(|h| h.join().ok())
                            .unwrap_or_default()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{}: the device ended before {what}:\n{}\n--- stderr ---\n{}",
                    self.row,
                    self.text(),
                    self.stderr
                        .take()
                        .and_then(|h| h.join().ok())
                        .unwrap_or_default()
                ),
            }
        }
    }

    /// Connected, and three messages delivered.
    fn steady(&mut self) {
        self.wait_for("connected with 3 messages delivered", |t| {
            last_status(t).is_some_and(|s| s == "connected/connection-ok")
                && t.iter().filter(|(_, l)| l.ends_with(" delivered")).count() >= 3
        });
    }

    /// Stop the stream and the device; read everything it printed.
    fn stop(&mut self) -> Instant {
        let stop_at = Instant::now();
        if let Some(mut stdin) = self.stdin.take() {
            let _ = writeln!(stdin, "stop");
        }
        self.wait_for("the device to stop", |t| {
            t.last().is_some_and(|(_, l)| l == "stopped")
        });
        let status = self.child.wait().unwrap();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if std::env::var_os("TETHER_LOG").is_some() {
            eprintln!("--- {} stderr ---\n{stderr}", self.row);
        }
        assert!(
            status.success(),
            "{}: exited with {status}:\n{stderr}",
            self.row
        );
        assert!(
            !stderr.contains("Traceback"),
            "{}: the device printed a traceback:\n{stderr}",
            self.row
        );
        self.stderr_text = stderr;
        stop_at
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn last_status(t: &[(Instant, String)]) -> Option<&str> {
    t.iter().rev().find_map(|(_, l)| l.strip_prefix("status "))
}

fn statuses_between(t: &[(Instant, String)], from: Instant, until: Instant) -> Vec<String> {
    t.iter()
        .filter(|(at, _)| *at >= from && *at < until)
        .filter_map(|(_, l)| l.strip_prefix("status ").map(str::to_string))
        .collect()
}

/// Every status the device printed.
fn all_statuses(t: &[(Instant, String)]) -> Vec<String> {
    t.iter()
        .filter_map(|(_, l)| l.strip_prefix("status ").map(str::to_string))
        .collect()
}

fn connected_since(t: &[(Instant, String)], from: Instant) -> Option<Instant> {
    t.iter()
        .find(|(at, l)| *at >= from && l == "status connected/connection-ok")
        .map(|(at, _)| *at)
}

fn rules(t: &[(Instant, String)]) -> Vec<String> {
    t.iter()
        .filter_map(|(_, l)| l.strip_prefix("decision "))
        .filter_map(|d| d.split_whitespace().next())
        .filter(|r| *r != "-")
        .map(str::to_string)
        .collect()
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
    assert!(
        !row.statuses.iter().any(|s| s.starts_with("connected/")),
        "{:?}",
        row.statuses
    );
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

// ---- IoT Hub: the connection string's identity, enforced by the emulator -----------

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
