//! The fault matrix: a real device (the tether component driven by the Rust
//! runtime in `tether_device`) against real parts, one test per fault.
//!
//! Every row runs its own lab: mosquitto with password authentication and TLS
//! (a generated CA; MQTT 3.1.1 and 5 on the one listener), the fault proxy in front
//! of it, the DPS-shaped provisioning emulator (which also hands out the device's
//! tokens and keeps the broker's password file in step, reloading it with SIGHUP),
//! and a recorder subscribed to the device's numbered QoS 1 stream. The device is
//! provisioned, connects through the proxy, publishes a message every 200 ms, and
//! then meets the row's fault. Each row asserts:
//! - the statuses the application sees from the fault on, in order;
//! - the device is connected again within the fault's duration plus 10 s, and the
//!   first message accepted after that is delivered;
//! - the accounting: every accepted message is delivered or reported failed
//!   (accepted = delivered + failed on the device's side), lost = 0 and
//!   unexpected = 0 at the recorder; duplicates are counted and reported.
//!
//! Each row prints a table line and writes it as JSON to
//! `target/fault-matrix/<row>.json`. The retry policy is the test's configuration
//! (100 ms doubling to 500 ms): small delays, not a special case. The 60 s outage
//! runs in real time.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{TlsConfiguration, Transport};
use serde_json::json;
use tether_device::config::DeviceFile;
use tether_device::device::{RunningDevice, Tally};
use tether_emulators::{Emulator, EmulatorConfig, Fault, Reload};
use tether_host::names::{reason_name, status_name};
use tether_host::{Entropy, Outcome, PublishError, Status};
use tether_tests::broker::Broker;
use tether_tests::proxy::Proxy;
use tether_tests::recorder::Recorder;
use tether_tests::tls::Certificates;
use tether_tests::{runtime, workspace_root};

const RECORDER_USER: &str = "recorder";
const RECORDER_PASSWORD: &str = "recorder-secret";
/// The allowance on top of a fault's duration for being connected again.
const RECONNECT_ALLOWANCE: Duration = Duration::from_secs(10);
/// Bounds on waits for things that must happen (not speed limits).
const WAIT: Duration = Duration::from_secs(60);

fn block<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// One row's lab.
struct Lab {
    row: &'static str,
    broker: Arc<Mutex<Broker>>,
    proxy: Option<Proxy>,
    emulator: Emulator,
    recorder: Recorder,
    /// The CA the device trusts; `None` for a plain (MQTT-reading) lab.
    ca_file: Option<PathBuf>,
}

impl Lab {
    async fn start(row: &'static str, token_lifetime: Duration) -> Lab {
        Self::start_with(row, token_lifetime, true).await
    }

    /// A lab without TLS, whose proxy reads the MQTT 5 packets it carries (to
    /// replay a CONNECT or refuse PUBLISHes): the rows that need that.
    async fn start_plain(row: &'static str) -> Lab {
        Self::start_with(row, Duration::from_secs(600), false).await
    }

    async fn start_with(row: &'static str, token_lifetime: Duration, tls: bool) -> Lab {
        let certs = Certificates::generate().unwrap();
        let broker = block(|| {
            // Durable like a hub: what the broker acknowledged survives a kill.
            let options = Broker::options().with_user(RECORDER_USER, RECORDER_PASSWORD);
            let options = if tls {
                options.with_tls(&certs)
            } else {
                options
            };
            options.durable().start().unwrap()
        });
        let ca_file = tls.then(|| {
            let ca_file = broker.dir().join("device-ca.pem");
            std::fs::write(&ca_file, certs.ca_pem()).unwrap();
            ca_file
        });
        let proxy = if tls {
            Proxy::start(&broker.address()).unwrap()
        } else {
            Proxy::start_mqtt5(&broker.address()).unwrap()
        };
        let address = broker.address();
        let password_file = broker.dir().join("passwords");
        let broker = Arc::new(Mutex::new(broker));
        // The emulator answers a token only once the broker has reloaded the file.
        let reload: Reload = {
            let broker = broker.clone();
            Arc::new(move || broker.lock().unwrap().reload())
        };
        let mut config = EmulatorConfig::new(proxy.address());
        config.token_lifetime = token_lifetime;
        config.password_file = Some(password_file);
        config.reload = Some(reload);
        config.extra_users = vec![(RECORDER_USER.into(), RECORDER_PASSWORD.into())];
        let emulator = Emulator::start(config, 0).await.unwrap();
        let tls = tls.then(|| certs.client_config().unwrap());
        let recorder = block(|| {
            Recorder::start_with(&address, &topic(row), |o| {
                o.set_credentials(RECORDER_USER, RECORDER_PASSWORD);
                if let Some(tls) = tls {
                    o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
                }
            })
            .unwrap()
        });
        Lab {
            row,
            broker,
            proxy: Some(proxy),
            emulator,
            recorder,
            ca_file,
        }
    }

    fn proxy(&self) -> &Proxy {
        self.proxy.as_ref().unwrap()
    }

    /// The device file: provisioned through the emulator, renewable credentials from
    /// its token service, TLS, the numbered stream. `connection` overrides the
    /// component's configuration when given.
    fn device_file(&self, version: u8, connection: Option<serde_json::Value>) -> DeviceFile {
        let connection = connection.unwrap_or_else(|| {
            json!({
                "seed": 7,
                "provisioning": { "reprovision-after": 10, "retry-after-min-ms": 500, "retry-after-max-ms": 10000 },
                "credential": { "renewable": true },
                "policy": { "kind": "exponential", "initial-ms": 100, "multiplier": 2, "max-ms": 500, "reset-after-ms": 5000 },
                "queue": { "capacity": 1000, "max-in-flight": 16 }
            })
        });
        let mut mqtt = json!({
            "version": version, "keep-alive-s": 5, "connect-timeout-s": 3,
            "credential-format": "user:password"
        });
        if let Some(ca_file) = &self.ca_file {
            mqtt["tls"] = json!({ "ca-file": ca_file.display().to_string() });
        }
        let doc = json!({
            "connection": connection,
            "mqtt": mqtt,
            "provisioning": {
                "endpoint": self.emulator.endpoint(),
                "id-scope": self.emulator.id_scope(),
                "registration-id": device_id(self.row)
            },
            "credentials": { "endpoint": self.emulator.endpoint() },
            "publish": { "topic": topic(self.row), "interval-ms": 200 }
        });
        DeviceFile::parse(&doc.to_string()).unwrap()
    }

    fn spawn(&self, file: &DeviceFile) -> RunningDevice {
        RunningDevice::spawn(runtime(), file, Entropy::fixed(1))
            .unwrap()
            .unwrap()
    }

    /// Restart the broker on its port and wait for the recorder to subscribe again.
    fn restart_broker(&self) {
        let before = self.recorder.snapshot().subscriptions;
        block(|| self.broker.lock().unwrap().restart().unwrap());
        block(|| self.recorder.wait_subscribed(before, WAIT).unwrap());
    }
}

fn topic(row: &str) -> String {
    format!("tether/matrix/{row}")
}

fn device_id(row: &str) -> String {
    format!("dev-{row}")
}

fn status_text(status: Status, reason: tether_host::Reason) -> String {
    format!("{}/{}", status_name(status), reason_name(reason))
}

/// Statuses seen at or after `from` (and before `until`, when the test stopped the
/// device then).
fn statuses_since(tally: &Tally, from: Instant, until: Option<Instant>) -> Vec<String> {
    tally
        .statuses
        .iter()
        .filter(|(at, _)| *at >= from && until.is_none_or(|u| *at < u))
        .map(|(_, s)| status_text(s.status, s.reason))
        .collect()
}

/// The classifier rows behind the device's decisions, in order.
fn rules(tally: &Tally) -> Vec<String> {
    tally
        .decisions
        .iter()
        .filter_map(|(_, d)| d.cause.as_ref().map(|c| c.rule.clone()))
        .collect()
}

/// Poll the device's tally until `done` holds.
async fn wait_for(device: &RunningDevice, what: &str, done: impl Fn(&Tally) -> bool) -> Tally {
    let started = Instant::now();
    loop {
        let tally = device.tally();
        if done(&tally) {
            return tally;
        }
        assert!(
            started.elapsed() < WAIT,
            "waited {WAIT:?} for {what}; statuses: {:?}",
            statuses_since(&tally, started.checked_sub(WAIT).unwrap_or(started), None)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The first `connected` status at or after `from`.
fn connected_since(tally: &Tally, from: Instant) -> Option<Instant> {
    tally
        .statuses
        .iter()
        .find(|(at, s)| *at >= from && s.status == Status::Connected)
        .map(|(at, _)| *at)
}

/// Connected, and a few messages delivered: the steady state a fault interrupts.
async fn steady(device: &RunningDevice) -> Tally {
    wait_for(device, "connected with 3 messages delivered", |t| {
        t.statuses
            .last()
            .is_some_and(|(_, s)| s.status == Status::Connected)
            && t.delivered() >= 3
    })
    .await
}

/// A lab for `row` (tokens that outlive the row) and its device on MQTT `version`,
/// in the steady state.
async fn steady_lab(row: &'static str, version: u8) -> (Lab, RunningDevice) {
    let lab = Lab::start(row, Duration::from_secs(600)).await;
    let device = lab.spawn(&lab.device_file(version, None));
    steady(&device).await;
    (lab, device)
}

/// Wait until the device has given up (status `disconnected`).
async fn given_up(device: &RunningDevice) -> Tally {
    wait_for(device, "the device to give up", |t| {
        t.statuses
            .iter()
            .any(|(_, s)| s.status == Status::Disconnected)
    })
    .await
}

/// Statuses joined with arrows, a pair repeated in a row written once with its
/// count: `a -> (b -> c) x4 -> d`.
fn compact(statuses: &[String]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < statuses.len() {
        let pair = statuses.get(i..i + 2);
        let mut repeats = 1;
        while let Some(p) = pair {
            if statuses.get(i + 2 * repeats..i + 2 * repeats + 2) == Some(p) {
                repeats += 1;
            } else {
                break;
            }
        }
        if repeats > 1 {
            parts.push(format!(
                "({} -> {}) x{repeats}",
                statuses[i],
                statuses[i + 1]
            ));
            i += 2 * repeats;
        } else {
            parts.push(statuses[i].clone());
            i += 1;
        }
    }
    if parts.is_empty() {
        return "(no change)".into();
    }
    parts.join(" -> ")
}

#[test]
fn compact_writes_repeated_pairs_once() {
    let s: Vec<String> = ["a", "b", "c", "b", "c", "b", "c", "d"]
        .map(String::from)
        .to_vec();
    assert_eq!(compact(&s), "a -> (b -> c) x3 -> d");
    assert_eq!(compact(&s[..2]), "a -> b");
    assert_eq!(compact(&[]), "(no change)");
}

/// What a row measured.
#[derive(Debug)]
struct Row {
    fault: &'static str,
    mqtt: u8,
    statuses: Vec<String>,
    reconnect: Option<Duration>,
    fault_duration: Duration,
    accepted: usize,
    delivered: usize,
    duplicated: u64,
    failed: usize,
    lost: usize,
    unexpected: usize,
    failed_reasons: Vec<String>,
}

impl Row {
    fn print(&self) {
        let reconnect = self
            .reconnect
            .map_or("-".to_string(), |d| format!("{:.1}s", d.as_secs_f64()));
        println!(
            "| {} | MQTT {} | {} | {} | {} / {} / {} / {} / {} |",
            self.fault,
            if self.mqtt == 3 { "3.1.1" } else { "5" },
            compact(&self.statuses),
            reconnect,
            self.accepted,
            self.delivered,
            self.duplicated,
            self.failed,
            self.lost
        );
    }

    fn write_json(&self) {
        let dir = workspace_root().join("target").join("fault-matrix");
        std::fs::create_dir_all(&dir).unwrap();
        let doc = json!({
            "fault": self.fault,
            "mqtt": if self.mqtt == 3 { "3.1.1" } else { "5" },
            "statuses": self.statuses,
            "reconnect_ms": self.reconnect.map(|d| d.as_millis() as u64),
            "fault_duration_ms": self.fault_duration.as_millis() as u64,
            "accepted": self.accepted,
            "delivered": self.delivered,
            "duplicated": self.duplicated,
            "failed": self.failed,
            "lost": self.lost,
            "unexpected": self.unexpected,
            "failed_reasons": self.failed_reasons,
        });
        std::fs::write(
            dir.join(format!("{}.json", self.fault)),
            serde_json::to_string_pretty(&doc).unwrap(),
        )
        .unwrap();
    }
}

/// End a row: stop the stream, let every accepted message get its outcome (a
/// device still retrying has its queue failed by the stop), stop the device,
/// account for the stream at the recorder, check the common facts, and report. `fault_at` is when the fault began (the reconnect time counts from
/// it); `expect_reconnect` is false for rows that end disconnected.
async fn finish(
    lab: &Lab,
    device: RunningDevice,
    mqtt: u8,
    fault_at: Instant,
    fault_duration: Duration,
    expect_reconnect: bool,
) -> (Row, Tally) {
    let before = if expect_reconnect {
        wait_for(&device, "the device to be connected again", |t| {
            connected_since(t, fault_at).is_some()
        })
        .await
    } else {
        device.tally()
    };
    let reconnected = connected_since(&before, fault_at);
    if expect_reconnect {
        let at = reconnected.unwrap_or_else(|| {
            panic!(
                "{}: never connected again; statuses {:?}",
                lab.row,
                statuses_since(&before, fault_at, None)
            )
        });
        let took = at.duration_since(fault_at);
        assert!(
            took <= fault_duration + RECONNECT_ALLOWANCE,
            "{}: connected again {took:?} after the fault began (fault {fault_duration:?} + {RECONNECT_ALLOWANCE:?} allowed)",
            lab.row
        );
        // The next operation succeeds: the first message accepted after the
        // reconnect is delivered.
        let next = wait_for(&device, "a message accepted after the reconnect", |t| {
            t.accepted_at.values().any(|a| *a >= at)
        })
        .await;
        let (&first, _) = next.accepted_at.iter().find(|(_, a)| **a >= at).unwrap();
        let t = wait_for(
            &device,
            "the first message after the reconnect to end",
            |t| t.outcomes.contains_key(&first),
        )
        .await;
        assert_eq!(
            t.outcomes.get(&first),
            Some(&Outcome::Delivered),
            "{}: the first message after the reconnect (msg {first}) was not delivered",
            lab.row
        );
    }
    device.set_stream(false);
    // A connected device gets every accepted message through first; one that is
    // still retrying has the stop fail its queue (client-close).
    if device
        .tally()
        .statuses
        .last()
        .is_some_and(|(_, s)| s.status == Status::Connected)
    {
        wait_for(&device, "every accepted message to end", |t| {
            t.pending() == 0
        })
        .await;
    }
    let stop_at = Instant::now();
    let tally = device.stop().await.unwrap();
    let accepted: BTreeSet<u64> = tally.accepted.values().flatten().copied().collect();
    let failed: BTreeSet<u64> = tally
        .accepted
        .iter()
        .filter(|(id, _)| matches!(tally.outcomes.get(id), Some(Outcome::Failed(_))))
        .filter_map(|(_, seq)| *seq)
        .collect();
    let delivered_on_device: BTreeSet<u64> = tally
        .accepted
        .iter()
        .filter(|(id, _)| tally.outcomes.get(id) == Some(&Outcome::Delivered))
        .filter_map(|(_, seq)| *seq)
        .collect();
    // Everything the device calls delivered must reach the recorder.
    let record = block(|| {
        lab.recorder
            .wait_until(Duration::from_secs(10), |r| {
                delivered_on_device.iter().all(|s| r.counts.contains_key(s))
            })
            .unwrap_or_else(|_| lab.recorder.snapshot())
    });
    let account = record.account(&accepted, &failed);
    let row = Row {
        fault: lab.row,
        mqtt,
        statuses: statuses_since(&tally, fault_at, Some(stop_at)),
        // Rows that are not a drop (routine renewals, give-ups) have no reconnect.
        reconnect: reconnected
            .filter(|_| expect_reconnect)
            .map(|at| at.duration_since(fault_at)),
        fault_duration,
        accepted: tally.accepted.len(),
        delivered: tally.delivered(),
        duplicated: account.duplicated,
        failed: tally.failed(),
        lost: account.lost.len(),
        unexpected: account.unexpected,
        failed_reasons: tally
            .outcomes
            .values()
            .filter_map(|o| match o {
                Outcome::Failed(why) => {
                    Some(tether_host::names::message_failure_name(*why).to_string())
                }
                Outcome::Delivered => None,
            })
            .collect(),
    };
    row.print();
    row.write_json();
    assert_eq!(
        tally.accepted.len(),
        tally.delivered() + tally.failed(),
        "{}: every accepted message has one outcome",
        lab.row
    );
    assert!(account.lost.is_empty(), "{}: {account}", lab.row);
    assert_eq!(account.unexpected, 0, "{}: {account}", lab.row);
    assert_eq!(
        account.accepted,
        tally.accepted.len(),
        "{}: the stream's numbers are the accepted messages",
        lab.row
    );
    (row, tally)
}

/// The statuses of a row that drops and comes back: the first is the drop with
/// `first_reason`, every one in between is `disconnected-retrying` with a reason
/// from `also`, and the last is `connected`.
fn assert_drop_and_back(row: &Row, first_reason: &str, also: &[&str]) {
    let s = &row.statuses;
    assert!(s.len() >= 2, "{}: statuses {s:?}", row.fault);
    assert_eq!(
        s[0],
        format!("disconnected-retrying/{first_reason}"),
        "{}: statuses {s:?}",
        row.fault
    );
    assert_eq!(
        s.last().unwrap(),
        "connected/connection-ok",
        "{}: statuses {s:?}",
        row.fault
    );
    for middle in &s[1..s.len() - 1] {
        let reason = middle
            .strip_prefix("disconnected-retrying/")
            .unwrap_or_else(|| panic!("{}: unexpected status {middle} in {s:?}", row.fault));
        assert!(
            reason == first_reason || also.contains(&reason),
            "{}: unexpected reason {reason} in {s:?}",
            row.fault
        );
    }
    assert_eq!(
        s.iter().filter(|x| x.starts_with("connected/")).count(),
        1,
        "{}: connected once after the fault: {s:?}",
        row.fault
    );
}

// ---- the rows -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_reset() {
    let (lab, device) = steady_lab("tcp-reset", 3).await;
    let fault_at = Instant::now();
    let reset = lab.proxy().reset().unwrap();
    assert!(reset >= 1, "the device's connection was reset");
    let (row, _) = finish(&lab, device, 3, fault_at, Duration::ZERO, true).await;
    assert_eq!(
        row.statuses,
        [
            "disconnected-retrying/communication-error",
            "connected/connection-ok"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_graceful_shutdown() {
    let (lab, device) = steady_lab("broker-graceful-shutdown", 5).await;
    let fault_at = Instant::now();
    let status = block(|| lab.broker.lock().unwrap().stop().unwrap());
    assert!(
        status.is_some_and(|s| s.success()),
        "mosquitto exits 0 on SIGTERM"
    );
    let down = Duration::from_secs(3);
    tokio::time::sleep(down).await;
    lab.restart_broker();
    let (row, _) = finish(&lab, device, 5, fault_at, down, true).await;
    // mosquitto closes the links as it goes; while it is down the proxy resets.
    assert_drop_and_back(&row, "communication-error", &[]);
}

async fn broker_killed(row: &'static str, down: Duration) {
    let (lab, device) = steady_lab(row, 5).await;
    let fault_at = Instant::now();
    block(|| lab.broker.lock().unwrap().kill().unwrap());
    tokio::time::sleep(down).await;
    lab.restart_broker();
    let (row, tally) = finish(&lab, device, 5, fault_at, down, true).await;
    // Ten failed reconnects in a row send the device back to provisioning, which
    // assigns the same hub again.
    assert_drop_and_back(&row, "communication-error", &["provisioning"]);
    let registrations = tally.registrations;
    if down >= Duration::from_secs(30) {
        assert!(
            registrations >= 2,
            "{row:?}: reprovisioned during a long outage ({registrations} registrations)"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_killed_for_5s() {
    broker_killed("broker-killed-5s", Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_killed_for_60s() {
    broker_killed("broker-killed-60s", Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_blackhole() {
    let (lab, device) = steady_lab("network-blackhole", 5).await;
    let fault_at = Instant::now();
    lab.proxy().blackhole();
    let blackhole = Duration::from_secs(10);
    tokio::time::sleep(blackhole).await;
    lab.proxy().heal();
    let (row, tally) = finish(&lab, device, 5, fault_at, blackhole, true).await;
    // Nothing passes either way: the ping goes unanswered (keep-alive 5 s), and
    // attempts during the blackhole time out in the TLS handshake (connect timeout
    // 3 s).
    assert_drop_and_back(
        &row,
        "no-ping-response",
        &["communication-error", "provisioning"],
    );
    let rules = rules(&tally);
    assert!(
        rules.iter().any(|r| r == "proto/keep-alive-lost"),
        "{rules:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_latency_keeps_the_link() {
    let (lab, device) = steady_lab("latency-300ms", 3).await;
    let fault_at = Instant::now();
    let latency = Duration::from_millis(300);
    lab.proxy().set_latency(latency);
    let window = Duration::from_secs(10);
    tokio::time::sleep(window).await;
    let healed_at = Instant::now();
    lab.proxy().heal();
    // The next message after the latency is delivered.
    let after = wait_for(
        &device,
        "a message accepted after the heal delivered",
        |t| {
            t.accepted_at
                .iter()
                .any(|(id, at)| *at >= healed_at && t.outcomes.get(id) == Some(&Outcome::Delivered))
        },
    )
    .await;
    let (row, tally) = finish(&lab, device, 3, fault_at, window, false).await;
    // A slow path is not a broken one: no status change, nothing failed.
    assert_eq!(row.statuses, Vec::<String>::new());
    assert_eq!(
        after
            .statuses
            .last()
            .map(|(_, s)| status_text(s.status, s.reason)),
        Some("connected/connection-ok".to_string())
    );
    assert_eq!(
        tally.opens.len(),
        1,
        "one link throughout: {:?}",
        tally.opens
    );
    assert_eq!(row.failed, 0);
    // The latency was real: a message accepted well inside the window waited at
    // least a round trip (300 ms each way) for its PUBACK.
    let inside = |at: Instant| {
        at >= fault_at + Duration::from_secs(1) && at + Duration::from_secs(1) <= healed_at
    };
    let waits: Vec<Duration> = tally
        .accepted_at
        .iter()
        .filter(|(_, at)| inside(**at))
        .filter_map(|(id, at)| tally.outcome_at.get(id).map(|o| o.duration_since(*at)))
        .collect();
    assert!(waits.len() >= 10, "{waits:?}");
    assert!(
        waits.iter().all(|w| *w >= latency * 2),
        "acknowledged sooner than a round trip: {waits:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_wrong_ca_retries_throttled() {
    let lab = Lab::start("tls-wrong-ca", Duration::from_secs(600)).await;
    // The device trusts another CA than the one that signed the broker's
    // certificate: every handshake fails with an unknown issuer.
    let stranger = Certificates::generate().unwrap();
    let ca_file = lab
        .ca_file
        .as_ref()
        .unwrap()
        .with_file_name("stranger-ca.pem");
    std::fs::write(&ca_file, stranger.ca_pem()).unwrap();
    let mut file = lab.device_file(5, None);
    file.mqtt.tls = true;
    file.mqtt.tls_ca_file = Some(ca_file);
    let fault_at = Instant::now();
    let device = lab.spawn(&file);
    let refused = wait_for(&device, "two refused handshakes", |t| {
        rules(t).iter().filter(|r| *r == "net/tls").count() >= 2
    })
    .await;
    // The component's verdict on a TLS failure: retry, on the throttled curve
    // (a certificate problem is not fixed by hammering the hub).
    let tls_backoffs: Vec<_> = refused
        .decisions
        .iter()
        .filter(|(_, d)| d.cause.as_ref().is_some_and(|c| c.rule == "net/tls"))
        .map(|(_, d)| d.action.clone())
        .collect();
    assert!(
        tls_backoffs.iter().all(|a| matches!(
            a,
            tether_host::Action::Backoff(b) if b.curve == tether_host::Curve::Throttled
        )),
        "{tls_backoffs:?}"
    );
    let (row, tally) = finish(&lab, device, 5, fault_at, Duration::ZERO, false).await;
    // The application is told: provisioning, then a communication error, never
    // connected; the queued messages fail at the stop.
    assert_eq!(
        row.statuses.first().map(String::as_str),
        Some("disconnected-retrying/provisioning"),
        "{:?}",
        row.statuses
    );
    assert!(
        row.statuses
            .contains(&"disconnected-retrying/communication-error".to_string()),
        "{:?}",
        row.statuses
    );
    assert!(
        !row.statuses.iter().any(|s| s.starts_with("connected/")),
        "{:?}",
        row.statuses
    );
    assert_eq!(row.delivered, 0);
    assert_eq!(row.failed, tally.accepted.len());
    assert!(
        row.failed_reasons.iter().all(|r| r == "client-close"),
        "{:?}",
        row.failed_reasons
    );
    let log = lab.broker.lock().unwrap().log();
    assert!(
        log.contains("OpenSSL Error") || log.contains("alert"),
        "the broker saw the failed handshakes:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_broker() {
    let (lab, device) = steady_lab("half-open-broker", 5).await;
    let fault_at = Instant::now();
    block(|| lab.broker.lock().unwrap().pause().unwrap());
    let paused = Duration::from_secs(15);
    tokio::time::sleep(paused).await;
    block(|| lab.broker.lock().unwrap().resume().unwrap());
    let (row, _) = finish(&lab, device, 5, fault_at, paused, true).await;
    // The ping goes unanswered; attempts while paused time out waiting for CONNACK.
    assert_drop_and_back(
        &row,
        "no-ping-response",
        &["communication-error", "provisioning"],
    );
}

/// Revoke the device's tokens: dropped at the reload, refused with the old token
/// (`refusal`: CONNACK 5 on 3.1.1, reason 0x87 on 5), the token service refuses to
/// renew (401), so the device registers again and gets a new token.
async fn credentials_revoked(row: &'static str, version: u8, refusal: &str) {
    let (lab, device) = steady_lab(row, version).await;
    let issued = lab.emulator.tokens_issued(&device_id(lab.row));
    let fault_at = Instant::now();
    block(|| lab.emulator.revoke(&device_id(lab.row)).unwrap());
    let (row, tally) = finish(&lab, device, version, fault_at, Duration::ZERO, true).await;
    assert_eq!(
        row.statuses,
        [
            "disconnected-retrying/communication-error",
            "disconnected-retrying/bad-credential",
            "disconnected-retrying/provisioning",
            "connected/connection-ok"
        ]
    );
    let rules = rules(&tally);
    assert!(
        rules.iter().any(|r| r == refusal),
        "refused as not authorized ({refusal}): {rules:?}"
    );
    assert!(lab.emulator.tokens_issued(&device_id(lab.row)) > issued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_revoked_mqtt_5() {
    credentials_revoked("credentials-revoked", 5, "mqtt5/0x87").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_revoked_mqtt_3_1_1() {
    credentials_revoked("credentials-revoked-311", 3, "mqtt311/5").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_unreachable_reprovisions_to_a_new_hub() {
    let (mut lab, device) = steady_lab("hub-unreachable", 5).await;
    let hub_b = Proxy::start(&lab.broker.lock().unwrap().address()).unwrap();
    lab.emulator.set_hub(hub_b.address());
    let fault_at = Instant::now();
    // Hub A goes away for good: its address refuses connections.
    drop(lab.proxy.take());
    let (row, tally) = finish(&lab, device, 5, fault_at, Duration::ZERO, true).await;
    assert_drop_and_back(&row, "communication-error", &["provisioning"]);
    let after: Vec<&String> = tally
        .opens
        .iter()
        .filter(|(at, _)| *at >= fault_at)
        .map(|(_, hub)| hub)
        .collect();
    let to_b = after.iter().position(|h| **h == hub_b.address()).unwrap();
    assert!(
        to_b >= 10,
        "more than 10 attempts on hub A before reprovisioning: {after:?}"
    );
    assert_eq!(tally.registrations, 2, "registered once more");
    assert_eq!(after.last().unwrap().as_str(), hub_b.address());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_throttled_429_honours_retry_after() {
    let lab = Lab::start("provisioning-429", Duration::from_secs(600)).await;
    lab.emulator.inject(Fault::throttled(3), 1);
    let fault_at = Instant::now();
    let device = lab.spawn(&lab.device_file(5, None));
    let (row, tally) = finish(&lab, device, 5, fault_at, Duration::from_secs(3), true).await;
    assert_eq!(
        row.statuses.first().unwrap(),
        "disconnected-retrying/provisioning"
    );
    assert_eq!(row.statuses.last().unwrap(), "connected/connection-ok");
    let served = lab.emulator.served();
    let registers: Vec<_> = served.iter().filter(|s| s.kind == "register").collect();
    assert_eq!(
        registers.iter().map(|s| s.status).collect::<Vec<_>>(),
        [429, 202]
    );
    let waited = registers[1].at.duration_since(registers[0].at);
    assert!(
        waited >= Duration::from_secs(3),
        "the 429's retry-after (3 s) was honoured: {waited:?}"
    );
    assert!(rules(&tally).iter().any(|r| r == "http/429001"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_500_backs_off() {
    let lab = Lab::start("provisioning-500", Duration::from_secs(600)).await;
    lab.emulator.inject(Fault::status(500), 2);
    let fault_at = Instant::now();
    let device = lab.spawn(&lab.device_file(5, None));
    let (row, tally) = finish(&lab, device, 5, fault_at, Duration::ZERO, true).await;
    assert_eq!(row.statuses.last().unwrap(), "connected/connection-ok");
    let served = lab.emulator.served();
    let registers: Vec<u16> = served
        .iter()
        .filter(|s| s.kind == "register")
        .map(|s| s.status)
        .collect();
    assert_eq!(registers, [500, 500, 202]);
    let backoffs = tally
        .decisions
        .iter()
        .filter(|(_, d)| {
            d.cause.as_ref().is_some_and(|c| c.rule.starts_with("http/500"))
                && matches!(d.action, tether_host::Action::Backoff(ref b) if b.then_provision && b.curve == tether_host::Curve::Normal)
        })
        .count();
    assert_eq!(
        backoffs, 2,
        "each 500 backed off on the normal curve before registering again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_expiry_is_routine() {
    // Tokens last 5 s: renewed at 80%, about every 4 s, over a 15 s run.
    let lab = Lab::start("credential-expiry", Duration::from_secs(5)).await;
    let device = lab.spawn(&lab.device_file(5, None));
    steady(&device).await;
    let from = Instant::now();
    tokio::time::sleep(Duration::from_secs(15)).await;
    let (row, tally) = finish(&lab, device, 5, from, Duration::ZERO, false).await;
    let renewals = tally.renewals;
    assert!(
        renewals >= 3,
        "renewed ahead of expiry ({renewals} renewals)"
    );
    // Only routine rollovers: never a fault reason.
    for pair in row.statuses.chunks(2) {
        assert_eq!(
            pair,
            [
                "disconnected-retrying/credential-renewal",
                "connected/connection-ok"
            ],
            "{:?}",
            row.statuses
        );
    }
    assert!(row.statuses.len() >= 6, "{:?}", row.statuses);
    assert_eq!(row.failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unrecoverable_auth_without_provisioning_stops() {
    let lab = Lab::start("unrecoverable-auth", Duration::from_secs(600)).await;
    let connection = json!({
        "hub": lab.proxy().address(),
        "device-id": "intruder",
        "seed": 7,
        "credential": { "secret": "intruder:wrong-password" },
        "policy": { "kind": "exponential", "initial-ms": 100, "multiplier": 2, "max-ms": 500 }
    });
    let fault_at = Instant::now();
    let device = lab.spawn(&lab.device_file(5, Some(connection)));
    let stopped = given_up(&device).await;
    // No further attempts, and nothing more is accepted.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = device.tally();
    assert_eq!(
        later.opens.len(),
        1,
        "one attempt, then none: {:?}",
        later.opens
    );
    assert_eq!(later.opens.len(), stopped.opens.len());
    assert_eq!(
        device.publish("tether/other", b"x").await.unwrap(),
        Err(PublishError::Stopped)
    );
    let (row, tally) = finish(&lab, device, 5, fault_at, Duration::ZERO, false).await;
    assert_eq!(row.statuses, ["disconnected/bad-credential"]);
    assert!(
        tally
            .outcomes
            .values()
            .all(|o| *o == Outcome::Failed(tether_host::MessageFailure::Unrecoverable))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unrecoverable_bad_endpoint_stops() {
    let lab = Lab::start("unrecoverable-bad-endpoint", Duration::from_secs(600)).await;
    let connection = json!({
        "hub": "hub.invalid:not-a-port",
        "device-id": "lost",
        "seed": 7
    });
    let fault_at = Instant::now();
    let device = lab.spawn(&lab.device_file(5, Some(connection)));
    given_up(&device).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(device.tally().opens.len(), 1);
    let (row, _) = finish(&lab, device, 5, fault_at, Duration::ZERO, false).await;
    assert_eq!(row.statuses, ["disconnected/bad-endpoint"]);
}

// ---- stale sessions and per-message refusals (plain MQTT 5 labs) ----------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_connect_takes_the_session_over() {
    let lab = Lab::start_plain("stale-connect").await;
    let device = lab.spawn(&lab.device_file(5, None));
    steady(&device).await;
    // The CONNECT of the device's first link, as the proxy carried it.
    let stale = lab.proxy().connect_packet().unwrap();
    // The device moves to a second link, as after an outage...
    let reset_at = Instant::now();
    assert!(lab.proxy().reset().unwrap() >= 1);
    wait_for(&device, "connected on a second link", |t| {
        connected_since(t, reset_at).is_some() && t.delivered() >= 5
    })
    .await;
    // ...and the first link's CONNECT arrives late, from a client of its own: the
    // broker gives it the session and drops the device's live link.
    let fault_at = Instant::now();
    let stale_client = block(|| lab.proxy().replay(&stale)).unwrap();
    let (row, tally) = finish(&lab, device, 5, fault_at, Duration::ZERO, true).await;
    drop(stale_client);
    // mosquitto sends the DISCONNECT 0x8E that MQTT 5 asks for only from 2.0.15;
    // before, it closes the taken-over link plainly (`net/closed`). Either way the
    // device comes back, at once, and never stops.
    let rules = rules(&tally);
    let takeover = rules.last().cloned().unwrap_or_default();
    let reason = match takeover.as_str() {
        "mqtt5/0x8E" => "session-taken-over",
        "net/closed" => "communication-error",
        other => panic!("the takeover was classified {other}: {rules:?}"),
    };
    assert_eq!(
        row.statuses,
        [
            format!("disconnected-retrying/{reason}"),
            "connected/connection-ok".to_string()
        ],
        "rules {rules:?}"
    );
    assert!(
        !tally
            .statuses
            .iter()
            .any(|(_, s)| s.status == Status::Disconnected),
        "the device never stops for its own earlier link"
    );
    assert_eq!(row.failed, 0);
}

/// A lab whose proxy refuses one QoS 1 PUBLISH in ten with `code` for 12 s: the
/// row, the device's tally, and the stream numbers refused.
async fn refusal_row(row: &'static str, code: u8) -> (Row, Tally, Vec<u64>, Lab) {
    let lab = Lab::start_plain(row).await;
    let device = lab.spawn(&lab.device_file(5, None));
    steady(&device).await;
    let fault_at = Instant::now();
    lab.proxy().refuse_publishes(10, code).unwrap();
    let window = Duration::from_secs(12);
    tokio::time::sleep(window).await;
    lab.proxy().refuse_publishes(0, code).unwrap();
    let (row, tally) = finish(&lab, device, 5, fault_at, window, false).await;
    let refused: Vec<u64> = lab
        .proxy()
        .refused_payloads()
        .unwrap()
        .iter()
        .map(|p| std::str::from_utf8(p).unwrap().parse().unwrap())
        .collect();
    // 12 s of a message every 200 ms: about six refusals.
    assert!(
        refused.len() >= 3,
        "{row}: refused {refused:?}",
        row = lab.row
    );
    (row, tally, refused, lab)
}

/// The outcome of the stream's message `seq`.
fn outcome_of(tally: &Tally, seq: u64) -> Option<Outcome> {
    let (id, _) = tally.accepted.iter().find(|(_, s)| **s == Some(seq))?;
    tally.outcomes.get(id).copied()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn puback_quota_one_in_ten() {
    let (row, tally, refused, lab) = refusal_row("puback-quota-1in10", 0x97).await;
    let record = lab.recorder.snapshot();
    for seq in &refused {
        // Resent after the refusal backoff and delivered: the recorder behind the
        // broker has it (the refused send never reached the broker).
        assert_eq!(
            outcome_of(&tally, *seq),
            Some(Outcome::Delivered),
            "msg {seq}"
        );
        assert!(record.counts.contains_key(seq), "msg {seq} never arrived");
    }
    assert_eq!(row.failed, 0, "{:?}", row.failed_reasons);
    assert_eq!(
        row.statuses,
        Vec::<String>::new(),
        "a refusal keeps the link"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn puback_not_authorized_one_in_ten() {
    let (row, tally, refused, lab) = refusal_row("puback-not-authorized-1in10", 0x87).await;
    let record = lab.recorder.snapshot();
    for seq in &refused {
        // Ended at once with its reason, never sent again: the broker never saw it.
        assert_eq!(
            outcome_of(&tally, *seq),
            Some(Outcome::Failed(tether_host::MessageFailure::NotAuthorized)),
            "msg {seq}"
        );
        assert!(!record.counts.contains_key(seq), "msg {seq} arrived");
    }
    assert_eq!(row.failed, refused.len(), "{:?}", row.failed_reasons);
    assert_eq!(
        row.statuses,
        Vec::<String>::new(),
        "a refusal keeps the link"
    );
}
