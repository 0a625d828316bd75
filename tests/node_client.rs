//! The Node client as a user gets it: `npm pack` of `bindings/node` (the transpiled
//! component inside), installed into a fresh folder with `npm install <tarball>`,
//! a device typed against the installed `index.d.ts` (`tsc`, strict) and run from
//! there against mosquitto, through the fault proxy, one test per fault.
//!
//! Every row: mosquitto with TLS and password authentication, the proxy in front,
//! a recorder on the device's numbered QoS 1 stream (`tests/node/stream_device.mts`,
//! one message every 200 ms). Each row asserts the statuses from the fault on, in
//! order; that the device is connected again within the fault plus 10 s; and the
//! accounting: lost = 0 and unexpected = 0 at the recorder, accepted = delivered +
//! failed at the device.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use rumqttc::{TlsConfiguration, Transport};
use serde_json::json;
use tether_tests::broker::Broker;
use tether_tests::hosts::node_package;
use tether_tests::proxy::Proxy;
use tether_tests::recorder::Recorder;
use tether_tests::tls::Certificates;
use tether_tests::workspace_root;

const RECORDER: (&str, &str) = ("recorder", "recorder-secret");
const DEVICE_USER: &str = "node-device";
const RECONNECT_ALLOWANCE: Duration = Duration::from_secs(10);
/// Bounds on waits for things that must happen (not speed limits).
const WAIT: Duration = Duration::from_secs(60);

/// The fresh folder with the tarball installed and the device compiled.
struct Installed {
    dir: PathBuf,
    tarball: PathBuf,
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Pack, install into a fresh folder, type-check and compile the device: once per
/// test binary.
fn installed() -> &'static Installed {
    static ONCE: OnceLock<Installed> = OnceLock::new();
    ONCE.get_or_init(|| {
        let package = node_package().unwrap_or_else(|e| panic!("{e}"));
        let root = workspace_root().join("target").join("node-client");
        // Earlier runs' folders, left by processes that have ended.
        for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let pid = entry.file_name().to_string_lossy().into_owned();
            if !Path::new("/proc").join(&pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let base = root.join(std::process::id().to_string());
        let app = base.join("app");
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&app).unwrap();
        let name = run(
            Command::new("npm")
                .args(["pack", "--silent", "--pack-destination"])
                .arg(&base)
                .current_dir(&package),
            "npm pack",
        );
        let tarball = base.join(name.trim().lines().last().unwrap_or_default());
        run(
            Command::new("npm").args(["init", "-y"]).current_dir(&app),
            "npm init",
        );
        run(
            Command::new("npm")
                .args([
                    "install",
                    "--prefer-offline",
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                ])
                .arg(&tarball)
                .current_dir(&app),
            "npm install <tarball>",
        );
        let installed = app.join("node_modules").join("tether-device");
        assert!(
            installed.join("dist").join("tether.js").is_file(),
            "the tarball carries the transpiled component"
        );
        assert!(
            app.join("node_modules/mqtt/package.json").is_file(),
            "mqtt came as a dependency"
        );
        std::fs::copy(
            workspace_root().join("tests/node/stream_device.mts"),
            app.join("stream_device.mts"),
        )
        .unwrap();
        let types = package.join("node_modules").join("@types");
        let tsconfig = json!({
            "compilerOptions": {
                "module": "nodenext", "moduleResolution": "nodenext", "target": "es2022",
                "strict": true, "noEmitOnError": true, "skipLibCheck": false,
                "typeRoots": [types], "types": ["node"], "outDir": "."
            },
            "files": ["stream_device.mts"]
        });
        std::fs::write(app.join("tsconfig.json"), tsconfig.to_string()).unwrap();
        run(
            Command::new("node")
                .arg(package.join("node_modules/typescript/bin/tsc"))
                .args(["-p", "."])
                .current_dir(&app),
            "tsc (the device against the installed index.d.ts)",
        );
        assert!(app.join("stream_device.mjs").is_file());
        Installed { dir: app, tarball }
    })
}

/// The device process and what it printed, each line with the time it arrived.
struct NodeDevice {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl NodeDevice {
    fn spawn(args: &serde_json::Value) -> NodeDevice {
        Self::spawn_with(args, false)
    }

    /// With `debug`, the package's `tether*` debug log is on and its lines (stderr)
    /// join the transcript as `log ...`.
    fn spawn_with(args: &serde_json::Value, debug: bool) -> NodeDevice {
        let app = &installed().dir;
        let mut cmd = Command::new("node");
        cmd.arg(app.join("stream_device.mjs"))
            .arg(args.to_string())
            .current_dir(app)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if debug {
            cmd.env("DEBUG", "tether*").env("DEBUG_COLORS", "0");
            cmd.stderr(Stdio::piped());
        } else {
            cmd.stderr(Stdio::inherit());
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = lines.clone();
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                // Drop the device's own time stamp: the test's clock is the one.
                let text = line.split_once(' ').map_or(line.as_str(), |(_, t)| t);
                sink.lock()
                    .unwrap()
                    .push((Instant::now(), text.to_string()));
            }
        });
        if let Some(err) = child.stderr.take() {
            let sink = lines.clone();
            thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    sink.lock()
                        .unwrap()
                        .push((Instant::now(), format!("log {line}")));
                }
            });
        }
        NodeDevice {
            child,
            stdin,
            lines,
        }
    }

    fn snapshot(&self) -> Vec<(Instant, String)> {
        self.lines.lock().unwrap().clone()
    }

    fn transcript(&self) -> String {
        self.snapshot()
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn wait_for(&self, what: &str, done: impl Fn(&[(Instant, String)]) -> bool) {
        let started = Instant::now();
        while !done(&self.snapshot()) {
            assert!(
                started.elapsed() < WAIT,
                "waited {WAIT:?} for {what}; the device printed:\n{}",
                self.transcript()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop gracefully (`stop` on stdin) and wait for the exit.
    fn stop(&mut self) {
        let mut stdin = self.stdin.take().unwrap();
        stdin.write_all(b"stop\n").unwrap();
        stdin.flush().unwrap();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "the device exited with {status}");
                break;
            }
            assert!(
                started.elapsed() < WAIT,
                "the device did not exit after stop:\n{}",
                self.transcript()
            );
            thread::sleep(Duration::from_millis(20));
        }
        // The reader thread may still hold the last lines.
        thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for NodeDevice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn numbers(lines: &[(Instant, String)], prefix: &str) -> BTreeSet<u64> {
    lines
        .iter()
        .filter_map(|(_, l)| l.strip_prefix(prefix))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

fn statuses_since(lines: &[(Instant, String)], from: Instant) -> Vec<(Instant, String)> {
    lines
        .iter()
        .filter(|(at, _)| *at >= from)
        .filter_map(|(at, l)| {
            let rest = l.strip_prefix("status ")?;
            Some((*at, rest.replacen(' ', "/", 1)))
        })
        .collect()
}

/// One row's lab: a TLS broker with passwords, the proxy, the recorder.
struct Lab {
    row: &'static str,
    broker: Broker,
    proxy: Proxy,
    recorder: Recorder,
    ca_file: PathBuf,
    password_file: PathBuf,
}

impl Lab {
    fn start(row: &'static str) -> Lab {
        let _ = installed();
        let certs = Certificates::generate().unwrap();
        let password = format!("{row}-password");
        let broker = Broker::options()
            .with_user(RECORDER.0, RECORDER.1)
            .with_user(DEVICE_USER, &password)
            .with_tls(&certs)
            .durable()
            .start()
            .unwrap();
        let ca_file = broker.dir().join("device-ca.pem");
        std::fs::write(&ca_file, certs.ca_pem()).unwrap();
        let password_file = broker.dir().join("device-password");
        std::fs::write(&password_file, &password).unwrap();
        let proxy = Proxy::start(&broker.address()).unwrap();
        let tls = certs.client_config().unwrap();
        let recorder = Recorder::start_with(&broker.address(), &topic(row), |o| {
            o.set_credentials(RECORDER.0, RECORDER.1);
            o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
        })
        .unwrap();
        Lab {
            row,
            broker,
            proxy,
            recorder,
            ca_file,
            password_file,
        }
    }

    fn args(&self, version: u8) -> serde_json::Value {
        json!({
            "hub": self.proxy.address(), "deviceId": format!("node-{}", self.row),
            "topic": topic(self.row), "version": version, "user": DEVICE_USER,
            "passwordFile": self.password_file, "caFile": self.ca_file, "intervalMs": 200
        })
    }

    /// A device streaming steadily: connected, a few messages delivered.
    fn steady(&self, args: &serde_json::Value) -> NodeDevice {
        let device = NodeDevice::spawn(args);
        device.wait_for("connected and 5 delivered", |l| {
            l.iter().any(|(_, t)| t == "status connected connection-ok")
                && numbers(l, "outcome ").len() >= 5
        });
        device
    }

    fn restart_broker(&mut self) {
        let before = self.recorder.snapshot().subscriptions;
        self.broker.restart().unwrap();
        self.recorder.wait_subscribed(before, WAIT).unwrap();
    }
}

fn topic(row: &str) -> String {
    format!("tether/node-matrix/{row}")
}

/// What a row measured.
#[derive(Debug)]
struct Row {
    statuses: Vec<String>,
    reconnect: Option<Duration>,
    accepted: usize,
    delivered: usize,
    failed: usize,
    lost: usize,
    unexpected: usize,
}

/// End a row: reconnection, graceful stop, accounting, the table line.
fn finish(
    lab: &Lab,
    mut device: NodeDevice,
    fault_at: Instant,
    fault: Duration,
    expect_reconnect: bool,
) -> Row {
    let reconnected_at = if expect_reconnect {
        device.wait_for("connected again after the fault", |l| {
            statuses_since(l, fault_at)
                .last()
                .is_some_and(|(_, s)| s == "connected/connection-ok")
        });
        let at = statuses_since(&device.snapshot(), fault_at)
            .last()
            .map(|(at, _)| *at);
        // The backlog drains: everything accepted until now gets its outcome, and
        // a message accepted after the reconnect is delivered.
        let after = device.snapshot().len();
        device.wait_for("the backlog's outcomes after the reconnect", |l| {
            let accepted = numbers(&l[..after], "accepted ");
            let settled: BTreeSet<u64> = numbers(l, "outcome ")
                .union(&numbers(l, "refused "))
                .copied()
                .collect();
            accepted.is_subset(&settled)
                && l.iter()
                    .skip(after)
                    .any(|(_, t)| t.starts_with("outcome ") && t.ends_with(" delivered"))
        });
        at
    } else {
        thread::sleep(Duration::from_secs(2));
        None
    };
    device.stop();
    let lines = device.snapshot();
    let statuses: Vec<String> = statuses_since(&lines, fault_at)
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| s != "disabled/client-close") // the graceful stop, not the fault
        .collect();
    let refused = numbers(&lines, "refused ");
    let accepted: BTreeSet<u64> = numbers(&lines, "accepted ")
        .difference(&refused)
        .copied()
        .collect();
    let delivered: BTreeSet<u64> = lines
        .iter()
        .filter(|(_, l)| l.starts_with("outcome ") && l.ends_with(" delivered"))
        .filter_map(|(_, l)| l.split_whitespace().nth(1)?.parse().ok())
        .collect();
    let failed: BTreeSet<u64> = lines
        .iter()
        .filter(|(_, l)| l.starts_with("outcome ") && l.contains(" failed "))
        .filter_map(|(_, l)| l.split_whitespace().nth(1)?.parse().ok())
        .collect();
    let mut reasons = std::collections::BTreeMap::<String, usize>::new();
    for (_, l) in &lines {
        if let Some((_, reason)) = l
            .strip_prefix("outcome ")
            .and_then(|r| r.split_once(" failed "))
        {
            *reasons.entry(reason.to_string()).or_default() += 1;
        }
    }
    let record = lab
        .recorder
        .wait_until(Duration::from_secs(10), |r| {
            delivered.iter().all(|n| r.counts.contains_key(n))
        })
        .unwrap_or_else(|_| lab.recorder.snapshot());
    let account = record.account(&accepted, &failed);
    let row = Row {
        statuses,
        reconnect: reconnected_at.map(|at| at.duration_since(fault_at)),
        accepted: accepted.len(),
        delivered: delivered.len(),
        failed: failed.len(),
        lost: account.lost.len(),
        unexpected: account.unexpected,
    };
    println!(
        "| node {} | {} | {} | {} / {} / {} / {} / {} | failed: {reasons:?}",
        lab.row,
        row.statuses.join(" -> "),
        row.reconnect
            .map_or("-".into(), |d| format!("{:.1}s", d.as_secs_f64())),
        row.accepted,
        row.delivered,
        account.duplicated,
        row.failed,
        row.lost
    );
    let context = || {
        format!(
            "{row:?}\n{account}\n--- device ---\n{}",
            device.transcript()
        )
    };
    assert_eq!(row.lost, 0, "{}", context());
    assert_eq!(row.unexpected, 0, "{}", context());
    assert_eq!(row.accepted, row.delivered + row.failed, "{}", context());
    assert!(!accepted.is_empty(), "{}", context());
    if expect_reconnect {
        let took = row.reconnect.unwrap();
        assert!(
            took <= fault + RECONNECT_ALLOWANCE,
            "connected again after {took:?}, more than {fault:?} + 10 s\n{}",
            context()
        );
    }
    row
}

/// The statuses of a drop and a return: first `first`, last connected, only
/// `also` (or `first`) between.
fn assert_drop_and_back(row: &Row, first: &str, also: &[&str]) {
    let s = &row.statuses;
    assert!(s.len() >= 2, "{s:?}");
    assert_eq!(s[0], format!("disconnected-retrying/{first}"), "{s:?}");
    assert_eq!(s[s.len() - 1], "connected/connection-ok", "{s:?}");
    for mid in &s[1..s.len() - 1] {
        let reason = mid.strip_prefix("disconnected-retrying/").unwrap_or(mid);
        assert!(
            reason == first || also.contains(&reason),
            "unexpected status {mid} in {s:?}"
        );
    }
}

#[test]
fn installs_from_the_tarball() {
    let i = installed();
    let bytes = std::fs::metadata(&i.tarball).unwrap().len();
    let list = run(
        Command::new("tar").arg("tzf").arg(&i.tarball),
        "tar tzf <tarball>",
    );
    for f in [
        "package/index.js",
        "package/index.d.ts",
        "package/transport.js",
        "package/device.js",
        "package/dist/tether.js",
        "package/README.md",
    ] {
        assert!(
            list.lines().any(|l| l == f),
            "{f} not in the tarball:\n{list}"
        );
    }
    println!(
        "tarball {} ({bytes} bytes), installed in {}",
        i.tarball.display(),
        i.dir.display()
    );
    assert!(Path::new(&i.dir.join("node_modules/debug/package.json")).is_file());
}

#[test]
fn tcp_reset() {
    let lab = Lab::start("tcp-reset");
    let device = lab.steady(&lab.args(4));
    let fault_at = Instant::now();
    assert!(lab.proxy.reset().unwrap() >= 1);
    let row = finish(&lab, device, fault_at, Duration::ZERO, true);
    assert_eq!(
        row.statuses,
        [
            "disconnected-retrying/communication-error",
            "connected/connection-ok"
        ]
    );
}

#[test]
fn broker_killed_for_5s() {
    let mut lab = Lab::start("broker-killed-5s");
    let device = lab.steady(&lab.args(5));
    let fault_at = Instant::now();
    lab.broker.kill().unwrap();
    let down = Duration::from_secs(5);
    thread::sleep(down);
    lab.restart_broker();
    let row = finish(&lab, device, fault_at, down, true);
    assert_drop_and_back(&row, "communication-error", &[]);
}

#[test]
fn half_open_broker() {
    let lab = Lab::start("half-open-broker");
    let device = lab.steady(&lab.args(5));
    let fault_at = Instant::now();
    lab.broker.pause().unwrap();
    let paused = Duration::from_secs(15);
    thread::sleep(paused);
    lab.broker.resume().unwrap();
    let row = finish(&lab, device, fault_at, paused, true);
    // The ping goes unanswered (keep-alive 5 s); attempts while paused time out
    // waiting for the CONNACK.
    assert_drop_and_back(&row, "no-ping-response", &["communication-error"]);
}

#[test]
fn network_blackhole_then_heal() {
    let lab = Lab::start("network-blackhole");
    let device = lab.steady(&lab.args(4));
    let fault_at = Instant::now();
    lab.proxy.blackhole();
    // Well past the client's keep-alive detection (a ping after 4 s unheard, then
    // up to 4 s for the answer), so the drop is seen as a lost ping before the
    // heal, never as the close the heal delivers.
    let blackhole = Duration::from_secs(14);
    thread::sleep(blackhole);
    lab.proxy.heal();
    let row = finish(&lab, device, fault_at, blackhole, true);
    assert_drop_and_back(&row, "no-ping-response", &["communication-error"]);
}

#[test]
fn credentials_revoked_then_renewed() {
    let mut lab = Lab::start("credentials-revoked");
    let device = lab.steady(&lab.args(4));
    let fault_at = Instant::now();
    // The broker takes a new password and drops the device at the reload; the old
    // password is refused (CONNACK 5); the device's renew() reads the new one.
    std::fs::write(&lab.password_file, "a-new-password").unwrap();
    lab.broker
        .set_users(&[RECORDER, (DEVICE_USER, "a-new-password")])
        .unwrap();
    let row = finish(&lab, device, fault_at, Duration::ZERO, true);
    assert_eq!(
        row.statuses.first().map(String::as_str),
        Some("disconnected-retrying/communication-error"),
        "{:?}",
        row.statuses
    );
    assert!(
        row.statuses
            .contains(&"disconnected-retrying/bad-credential".to_string()),
        "{:?}",
        row.statuses
    );
    assert_drop_and_back(
        &row,
        "communication-error",
        &["bad-credential", "credential-renewal"],
    );
}

#[test]
fn tls_wrong_ca() {
    let lab = Lab::start("tls-wrong-ca");
    let stranger = Certificates::generate().unwrap();
    let ca_file = lab.ca_file.with_file_name("stranger-ca.pem");
    std::fs::write(&ca_file, stranger.ca_pem()).unwrap();
    let mut args = lab.args(4);
    args["caFile"] = json!(ca_file);
    let fault_at = Instant::now();
    let device = NodeDevice::spawn(&args);
    device.wait_for("two refused handshakes", |l| {
        l.iter()
            .filter(|(_, t)| t.starts_with("decision backoff") && t.ends_with("cause=net/tls"))
            .count()
            >= 2
    });
    // A certificate problem is retried on the throttled curve.
    let lines = device.snapshot();
    assert!(
        lines
            .iter()
            .filter(|(_, t)| t.ends_with("cause=net/tls"))
            .all(|(_, t)| t.contains(" throttled ")),
        "{}",
        device.transcript()
    );
    let row = finish(&lab, device, fault_at, Duration::ZERO, false);
    assert_eq!(row.statuses, ["disconnected-retrying/communication-error"]);
    assert_eq!(row.delivered, 0);
    assert_eq!(row.failed, row.accepted);
}

#[test]
fn hub_address_without_a_port() {
    // A bare host (as DPS assigns) takes the port from the options: the proxy's.
    let lab = Lab::start("hub-without-port");
    let mut args = lab.args(4);
    args["hub"] = json!("127.0.0.1");
    args["port"] = json!(lab.proxy.port());
    let device = lab.steady(&args);
    let fault_at = Instant::now();
    assert!(lab.proxy.reset().unwrap() >= 1);
    let row = finish(&lab, device, fault_at, Duration::ZERO, true);
    assert_eq!(
        row.statuses,
        [
            "disconnected-retrying/communication-error",
            "connected/connection-ok"
        ]
    );
}

#[test]
fn broker_graceful_shutdown() {
    let mut lab = Lab::start("broker-graceful-shutdown");
    let device = lab.steady(&lab.args(5));
    let fault_at = Instant::now();
    let status = lab.broker.stop().unwrap();
    assert!(status.is_some_and(|s| s.success()));
    let down = Duration::from_secs(3);
    thread::sleep(down);
    lab.restart_broker();
    let row = finish(&lab, device, fault_at, down, true);
    assert_drop_and_back(&row, "communication-error", &[]);
}

/// `Device.fromConnectionString` against the IoT Hub emulator, which checks each
/// SAS token the component minted and the user name it made: a device with its
/// key delivers its stream; one with another key is refused and stops.
#[test]
fn iot_hub_from_a_connection_string() {
    const KEY: &str = "dGV0aGVyLW5vZGUta2V5LTE=";
    const WRONG: &str = "bm90LXRoZS1yaWdodC1rZXk=";
    let _ = installed();
    let broker = Broker::start().unwrap();
    let certs = Certificates::generate().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut config = tether_emulators::iothub::HubConfig::new(
        "127.0.0.1",
        certs.server_cert_pem(),
        certs.server_key_pem(),
        broker.address().parse().unwrap(),
    );
    config.registry = tether_emulators::iothub::registry::Registry::from_json(&format!(
        r#"{{"devices": [{{"deviceId": "node-dev", "primaryKey": "{KEY}"}}]}}"#
    ))
    .unwrap();
    let hub = rt
        .block_on(tether_emulators::iothub::IotHub::start(config))
        .unwrap();
    let ca_file = broker.dir().join("hub-ca.pem");
    std::fs::write(&ca_file, certs.ca_pem()).unwrap();
    let recorder =
        Recorder::start(&broker.address(), "devices/node-dev/messages/events/#").unwrap();
    let args = |key: &str| {
        json!({
            "connectionString": format!("HostName=127.0.0.1;DeviceId=node-dev;SharedAccessKey={key}"),
            "topic": "devices/node-dev/messages/events/",
            "port": hub.mqtt_address().port(), "caFile": ca_file, "intervalMs": 100
        })
    };
    let mut device = NodeDevice::spawn(&args(KEY));
    device.wait_for("connected and 5 delivered", |l| {
        l.iter().any(|(_, t)| t == "status connected connection-ok")
            && numbers(l, "outcome ").len() >= 5
    });
    device.stop();
    let lines = device.snapshot();
    let delivered: BTreeSet<u64> = lines
        .iter()
        .filter(|(_, l)| l.starts_with("outcome ") && l.ends_with(" delivered"))
        .filter_map(|(_, l)| l.split_whitespace().nth(1)?.parse().ok())
        .collect();
    let record = recorder
        .wait_until(Duration::from_secs(10), |r| {
            delivered.iter().all(|n| r.counts.contains_key(n))
        })
        .unwrap();
    let accepted = numbers(&lines, "accepted ")
        .difference(&numbers(&lines, "refused "))
        .copied()
        .collect();
    // The stop fails what is still queued (`client-close`): each such message has
    // its one outcome, so it is failed, not lost.
    let account = record.account(&accepted, &tether_tests::child::failed_outcomes(&lines));
    assert!(
        account.lost.is_empty(),
        "{account}\n{}",
        device.transcript()
    );
    assert_eq!(account.unexpected, 0, "{account}");
    assert_eq!(
        hub.counters().accepted,
        1,
        "one link, admitted by the emulator"
    );

    let forged = NodeDevice::spawn(&args(WRONG));
    forged.wait_for("refused, stopped", |l| {
        l.iter().any(|(_, t)| t.starts_with("status disconnected "))
    });
    let statuses = statuses_since(&forged.snapshot(), Instant::now() - WAIT);
    assert_eq!(
        statuses.last().map(|(_, s)| s.as_str()),
        Some("disconnected/bad-credential"),
        "{}",
        forged.transcript()
    );
    assert!(
        hub.counters().refused("bad-signature") >= 1,
        "{:?}",
        hub.counters()
    );
    println!(
        "| node iot-hub | {} delivered through the emulator; a wrong key: {} |",
        delivered.len(),
        statuses
            .iter()
            .map(|(_, s)| s.as_str())
            .collect::<Vec<_>>()
            .join(" -> ")
    );
}

/// `Device.fromDps` with a group enrollment's key: the DPS emulator checks the
/// registration token the component minted, assigns the hub, and the IoT Hub
/// emulator checks the hub token minted with the key the component derived. The
/// stream is delivered (lost = 0, unexpected = 0) and the debug log names the DPS
/// exchange but never a key or a signature.
#[test]
fn dps_group_enrollment_from_node() {
    use base64::Engine as _;
    use hmac::{Hmac, Mac as _};
    use tether_emulators::dps::{DpsConfig, DpsEmulator, GroupEnrollment};
    // base64("tether-node-group-key"): the enrollment group's key.
    const GROUP_KEY: &str = "dGV0aGVyLW5vZGUtZ3JvdXAta2V5";
    let registration = "node-line2-dev-1";
    let _ = installed();
    // The service's side, computed here independently of the component.
    let group = base64::engine::general_purpose::STANDARD
        .decode(GROUP_KEY)
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&group).unwrap();
    mac.update(registration.as_bytes());
    let derived = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());

    let broker = Broker::start().unwrap();
    let hub_certs = Certificates::generate().unwrap();
    let dps_certs = Certificates::generate().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut config = tether_emulators::iothub::HubConfig::new(
        "127.0.0.1",
        hub_certs.server_cert_pem(),
        hub_certs.server_key_pem(),
        broker.address().parse().unwrap(),
    );
    config.registry = tether_emulators::iothub::registry::Registry::from_json(&format!(
        r#"{{"devices": [{{"deviceId": "{registration}", "primaryKey": "{derived}"}}]}}"#
    ))
    .unwrap();
    let hub = rt
        .block_on(tether_emulators::iothub::IotHub::start(config))
        .unwrap();
    let mut dps_config = DpsConfig::new(dps_certs.server_cert_pem(), dps_certs.server_key_pem());
    dps_config.id_scope = "0ne00ND2".into();
    dps_config.hubs = vec!["127.0.0.1".to_string()];
    dps_config.groups = vec![GroupEnrollment::new("line-2", GROUP_KEY)];
    let dps = rt
        .block_on(DpsEmulator::start(dps_config, 0, None))
        .unwrap();
    let hub_ca = broker.dir().join("hub-ca.pem");
    std::fs::write(&hub_ca, hub_certs.ca_pem()).unwrap();
    let dps_ca = broker.dir().join("dps-ca.pem");
    std::fs::write(&dps_ca, dps_certs.ca_pem()).unwrap();
    let recorder = Recorder::start(
        &broker.address(),
        &format!("devices/{registration}/messages/events/#"),
    )
    .unwrap();
    let args = json!({
        "dps": { "idScope": "0ne00ND2", "registrationId": registration,
                 "endpoint": dps.endpoint(), "groupKey": GROUP_KEY,
                 "caFile": dps_ca },
        "topic": format!("devices/{registration}/messages/events/"),
        "port": hub.mqtt_address().port(), "caFile": hub_ca, "intervalMs": 100
    });
    let mut device = NodeDevice::spawn_with(&args, true);
    device.wait_for("provisioned, connected and 5 delivered", |l| {
        l.iter().any(|(_, t)| t == "status connected connection-ok")
            && numbers(l, "outcome ").len() >= 5
    });
    device.stop();
    let lines = device.snapshot();
    assert_eq!(
        dps.assigned_hub(registration).as_deref(),
        Some("127.0.0.1"),
        "DPS assigned the device"
    );
    let delivered: BTreeSet<u64> = lines
        .iter()
        .filter(|(_, l)| l.starts_with("outcome ") && l.ends_with(" delivered"))
        .filter_map(|(_, l)| l.split_whitespace().nth(1)?.parse().ok())
        .collect();
    let record = recorder
        .wait_until(Duration::from_secs(10), |r| {
            delivered.iter().all(|n| r.counts.contains_key(n))
        })
        .unwrap();
    let accepted = numbers(&lines, "accepted ")
        .difference(&numbers(&lines, "refused "))
        .copied()
        .collect();
    // The stop fails what is still queued (`client-close`): each such message has
    // its one outcome, so it is failed, not lost.
    let account = record.account(&accepted, &tether_tests::child::failed_outcomes(&lines));
    assert!(
        account.lost.is_empty(),
        "{account}\n{}",
        device.transcript()
    );
    assert_eq!(account.unexpected, 0, "{account}");
    let counters = hub.counters();
    assert_eq!(
        counters.refused_total(),
        0,
        "the derived key signs the hub token: {counters:?}"
    );
    assert!(counters.accepted >= 1, "{counters:?}");
    let text = device.transcript();
    assert!(text.contains("PUT") && text.contains("register"), "{text}");
    for secret in [GROUP_KEY, derived.as_str()] {
        assert!(!text.contains(secret), "a key reached the output");
    }
    assert!(!text.contains("sig="), "a token reached the output");
    println!(
        "| node DPS group enrollment | {} delivered through the assigned hub | {account} |",
        delivered.len()
    );
}

/// An X.509 device (`x509=true` in its connection string, its certificate in TLS,
/// no password) through the IoT Hub emulator, whose registry holds the
/// certificate's SHA-256 thumbprint: its stream is delivered; the same identity
/// with another certificate is refused (`bad-certificate`) and stops.
#[test]
fn iot_hub_x509_device_from_node() {
    use tether_emulators::iothub::{Credential, Identity, IdentityId};
    let _ = installed();
    let broker = Broker::start().unwrap();
    let certs = Certificates::generate().unwrap();
    let dir = broker.dir().to_path_buf();
    let device_cert =
        |cn: &str, stem: &str| tether_tests::tls::self_signed_device(&dir, cn, stem).unwrap();
    let (cert, key, thumbprint) = device_cert("node-cam", "node-cam");
    let (forged_cert, forged_key, _) = device_cert("node-cam", "node-cam-forged");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut config = tether_emulators::iothub::HubConfig::new(
        "127.0.0.1",
        certs.server_cert_pem(),
        certs.server_key_pem(),
        broker.address().parse().unwrap(),
    );
    config.registry.insert(
        IdentityId::device("node-cam"),
        Identity {
            credential: Credential::Thumbprint(thumbprint),
            enabled: true,
        },
    );
    let hub = rt
        .block_on(tether_emulators::iothub::IotHub::start(config))
        .unwrap();
    let ca_file = dir.join("hub-ca.pem");
    std::fs::write(&ca_file, certs.ca_pem()).unwrap();
    let recorder =
        Recorder::start(&broker.address(), "devices/node-cam/messages/events/#").unwrap();
    let args = |cert: &Path, key: &Path| {
        json!({
            "connectionString": "HostName=127.0.0.1;DeviceId=node-cam;x509=true",
            "topic": "devices/node-cam/messages/events/",
            "port": hub.mqtt_address().port(), "caFile": ca_file,
            "certFile": cert, "keyFile": key, "intervalMs": 100
        })
    };
    let mut device = NodeDevice::spawn(&args(&cert, &key));
    device.wait_for("connected and 5 delivered", |l| {
        l.iter().any(|(_, t)| t == "status connected connection-ok")
            && numbers(l, "outcome ").len() >= 5
    });
    device.stop();
    let lines = device.snapshot();
    let delivered: BTreeSet<u64> = lines
        .iter()
        .filter(|(_, l)| l.starts_with("outcome ") && l.ends_with(" delivered"))
        .filter_map(|(_, l)| l.split_whitespace().nth(1)?.parse().ok())
        .collect();
    let record = recorder
        .wait_until(Duration::from_secs(10), |r| {
            delivered.iter().all(|n| r.counts.contains_key(n))
        })
        .unwrap();
    let accepted = numbers(&lines, "accepted ")
        .difference(&numbers(&lines, "refused "))
        .copied()
        .collect();
    // The stop fails what is still queued (`client-close`): each such message has
    // its one outcome, so it is failed, not lost.
    let account = record.account(&accepted, &tether_tests::child::failed_outcomes(&lines));
    assert!(
        account.lost.is_empty(),
        "{account}\n{}",
        device.transcript()
    );
    assert_eq!(account.unexpected, 0, "{account}");
    assert_eq!(hub.counters().refused_total(), 0, "{:?}", hub.counters());

    let forged = NodeDevice::spawn(&args(&forged_cert, &forged_key));
    forged.wait_for("refused, stopped", |l| {
        l.iter().any(|(_, t)| t.starts_with("status disconnected "))
    });
    let statuses = statuses_since(&forged.snapshot(), Instant::now() - WAIT);
    assert!(
        statuses
            .last()
            .is_some_and(|(_, s)| s.starts_with("disconnected/")),
        "{}",
        forged.transcript()
    );
    assert_eq!(
        hub.counters().refused("bad-certificate"),
        1,
        "{:?}",
        hub.counters()
    );
    println!(
        "| node X.509 | {} delivered with its certificate; another certificate: {} |",
        delivered.len(),
        statuses
            .iter()
            .map(|(_, s)| s.as_str())
            .collect::<Vec<_>>()
            .join(" -> ")
    );
}
