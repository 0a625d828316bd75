//! The C device client (`tether_device.h`: the libmosquitto transport and the loop
//! in libtether) against mosquitto, through the fault proxy, one test per fault;
//! the short device of `examples/c/device.c` built against the installed library;
//! and the client under hostile use, also under valgrind.
//!
//! Every fault row: mosquitto with TLS and password authentication, the proxy in
//! front, a recorder on the device's numbered QoS 1 stream (`target/c/tether_device
//! --messages 0`, one message every 200 ms, its own poll loop over
//! `tether_device_fd`). Each row asserts the statuses from the fault on, in order;
//! that the device is connected again within the fault plus 10 s; and the
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
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rumqttc::{TlsConfiguration, Transport};
use tether_tests::broker::Broker;
use tether_tests::c_host;
use tether_tests::proxy::Proxy;
use tether_tests::recorder::Recorder;
use tether_tests::tls::Certificates;

const RECORDER: (&str, &str) = ("recorder", "recorder-secret");
const DEVICE_USER: &str = "c-device";
const RECONNECT_ALLOWANCE: Duration = Duration::from_secs(10);
/// Bounds on waits for things that must happen (not speed limits).
const WAIT: Duration = Duration::from_secs(60);

fn built() -> PathBuf {
    c_host::build().unwrap_or_else(|e| panic!("{e}"))
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn set_arg(args: &mut [String], flag: &str, value: &str) {
    let i = args.iter().position(|a| a == flag).unwrap();
    args[i + 1] = value.to_string();
}

/// The device process and what it printed, each line with the time it arrived.
struct CDevice {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl CDevice {
    fn spawn(args: &[String]) -> CDevice {
        let mut child = Command::new(built().join("tether_device"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let sink = lines.clone();
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                // Drop the device's own time stamp: the test's clock is the one.
                let text = line.split_once("] ").map_or(line.as_str(), |(_, t)| t);
                sink.lock()
                    .unwrap()
                    .push((Instant::now(), text.to_string()));
            }
        });
        CDevice {
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
                assert!(
                    status.success(),
                    "the device exited with {status}:\n{}",
                    self.transcript()
                );
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

impl Drop for CDevice {
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

    fn args(&self, version: u8) -> Vec<String> {
        let mut a: Vec<String> = [
            "--hub",
            &self.proxy.address(),
            "--device-id",
            &format!("c-{}", self.row),
            "--topic",
            &topic(self.row),
            "--version",
            &version.to_string(),
            "--user",
            DEVICE_USER,
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
        a.extend(["--password-file".into(), path(&self.password_file)]);
        a.extend(["--ca-file".into(), path(&self.ca_file)]);
        a.extend(
            [
                "--log", "--messages", "0", "--interval-ms", "200", "--keep-alive-s", "5",
                "--connect-timeout-ms", "3000", "--timeout-s", "600", "--policy",
                r#"{"kind": "exponential", "initial-ms": 100, "multiplier": 2, "max-ms": 500, "reset-after-ms": 5000}"#,
                "--queue", r#"{"capacity": 1000, "max-in-flight": 16}"#,
            ]
            .iter()
            .map(|s| (*s).to_string()),
        );
        a
    }

    /// A device streaming steadily: connected, a few messages delivered.
    fn steady(&self, args: &[String]) -> CDevice {
        let device = CDevice::spawn(args);
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
    format!("tether/c-matrix/{row}")
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
    mut device: CDevice,
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
        "| c {} | {} | {} | {} / {} / {} / {} / {} | failed: {reasons:?}",
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
    // Longer than the client's worst keep-alive detection (a ping after 4 s
    // unheard, then 4 s more, counted in whole seconds: up to 10 s), so the drop
    // is seen as a lost ping before the heal, not as the close the heal delivers.
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
    set_arg(&mut args, "--ca-file", &path(&ca_file));
    let fault_at = Instant::now();
    let device = CDevice::spawn(&args);
    device.wait_for("two refused handshakes", |l| {
        l.iter()
            .filter(|(_, t)| t.starts_with("decide backoff") && t.ends_with("cause=net/tls"))
            .count()
            >= 2
    });
    // A certificate problem is retried on the throttled curve.
    let lines = device.snapshot();
    assert!(
        lines
            .iter()
            .filter(|(_, t)| t.ends_with("cause=net/tls"))
            .all(|(_, t)| !t.starts_with("decide backoff") || t.contains("(throttled)")),
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
    set_arg(&mut args, "--hub", "127.0.0.1");
    args.extend(["--default-port".to_string(), lab.proxy.port().to_string()]);
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

/// `tether_device_new_from_connection_string` against the IoT Hub emulator, which checks each
/// SAS token the component minted and the user name it made: a device with its
/// key delivers its stream; one with another key is refused and stops.
#[test]
fn iot_hub_from_a_connection_string() {
    built();
    const KEY: &str = "dGV0aGVyLWMta2V5LTE=";
    const WRONG: &str = "bm90LXRoZS1yaWdodC1rZXk=";
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
        r#"{{"devices": [{{"deviceId": "c-dev", "primaryKey": "{KEY}"}}]}}"#
    ))
    .unwrap();
    let hub = rt
        .block_on(tether_emulators::iothub::IotHub::start(config))
        .unwrap();
    let ca_file = broker.dir().join("hub-ca.pem");
    std::fs::write(&ca_file, certs.ca_pem()).unwrap();
    let recorder = Recorder::start(&broker.address(), "devices/c-dev/messages/events/#").unwrap();
    let args = |key: &str| -> Vec<String> {
        vec![
            "--connection-string".into(),
            format!("HostName=127.0.0.1;DeviceId=c-dev;SharedAccessKey={key}"),
            "--default-port".into(),
            hub.mqtt_address().port().to_string(),
            "--ca-file".into(),
            path(&ca_file),
            "--messages".into(),
            "0".into(),
            "--interval-ms".into(),
            "100".into(),
            "--timeout-s".into(),
            "600".into(),
        ]
    };
    let mut device = CDevice::spawn(&args(KEY));
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

    let forged = CDevice::spawn(&args(WRONG));
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
        "| c iot-hub | {} delivered through the emulator; a wrong key: {} |",
        delivered.len(),
        statuses
            .iter()
            .map(|(_, s)| s.as_str())
            .collect::<Vec<_>>()
            .join(" -> ")
    );
}

/// The short device of `examples/c/device.c` (the README's), built outside the
/// tree against the installed library with pkg-config and with find_package, each
/// run against mosquitto: 20 messages delivered.
#[test]
fn the_short_device_builds_against_the_installed_library_and_delivers() {
    built();
    let root = tether_tests::workspace_root();
    let dir = c_host::out_dir()
        .join("scratch")
        .join(format!("c-client-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let prefix = dir.join("prefix");
    c_host::install(&prefix).unwrap_or_else(|e| panic!("{e}"));
    for file in [
        "include/tether_device.h",
        "lib/libtether.a",
        "lib/pkgconfig/tether.pc",
    ] {
        assert!(prefix.join(file).is_file(), "{file} is not installed");
    }
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    let source = root.join("examples/c/device.c");
    std::fs::copy(&source, app.join("device.c")).unwrap();
    let text = std::fs::read_to_string(&source).unwrap();
    let logic = device_logic_lines(&text);
    println!("examples/c/device.c: {logic} lines of device logic");
    assert!(logic <= 20, "{logic} lines of device logic");
    // pkg-config, with the flags of the installed .pc only.
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "--static", "tether"])
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .output()
        .unwrap();
    assert!(
        flags.status.success(),
        "{}",
        String::from_utf8_lossy(&flags.stderr)
    );
    let flags = String::from_utf8_lossy(&flags.stdout).into_owned();
    assert!(flags.contains("-lmosquitto"), "{flags}");
    let exe = app.join("device-pc");
    let mut cc = Command::new("cc");
    cc.arg(app.join("device.c"))
        .arg("-o")
        .arg(&exe)
        .args(flags.split_whitespace());
    c_host::run(&mut cc, "cc examples/c/device.c $(pkg-config tether)")
        .unwrap_or_else(|e| panic!("{e}"));
    // find_package(tether), from the installed config only.
    std::fs::write(
        app.join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.18)\nproject(device C)\n\
         find_package(tether 0.1 REQUIRED)\nadd_executable(device device.c)\n\
         target_link_libraries(device PRIVATE tether::tether)\n",
    )
    .unwrap();
    let build = app.join("build");
    let mut configure = Command::new("cmake");
    configure
        .arg("-S")
        .arg(&app)
        .arg("-B")
        .arg(&build)
        .arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()));
    c_host::run(&mut configure, "configuring the device with find_package")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut compile = Command::new("cmake");
    compile.arg("--build").arg(&build);
    c_host::run(&mut compile, "building the device with find_package")
        .unwrap_or_else(|e| panic!("{e}"));
    let broker = Broker::start().unwrap();
    let recorder = Recorder::start(&broker.address(), "sensors/1").unwrap();
    for exe in [exe, build.join("device")] {
        let before = recorder.snapshot().received();
        let out = Command::new(&exe).arg(broker.address()).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {}\n{stdout}\n{}",
            exe.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let delivered = stdout.lines().filter(|l| l.ends_with(" delivered")).count();
        assert_eq!(delivered, 20, "{stdout}");
        assert_eq!(
            stdout.lines().next(),
            Some("status connected connection-ok"),
            "{stdout}"
        );
        assert!(
            stdout.lines().any(|l| l == "status disabled client-close"),
            "{stdout}"
        );
        let record = recorder
            .wait_until(WAIT, |r| r.received() >= before + 20)
            .unwrap_or_else(|_| recorder.snapshot());
        assert!(
            record.received() >= before + 20,
            "the recorder saw {} messages",
            record.received() - before
        );
        let size = std::fs::metadata(&exe).unwrap().len();
        println!("{}: {size} bytes, 20 delivered", exe.display());
    }
    for lib in ["libtether.a", "libtether_capi.a"] {
        println!(
            "{lib}: {} bytes",
            std::fs::metadata(prefix.join("lib").join(lib))
                .unwrap()
                .len()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Lines of device logic: not blank, not a comment, not an #include.
fn device_logic_lines(text: &str) -> usize {
    let mut in_comment = false;
    text.lines()
        .filter(|l| {
            let t = l.trim();
            if in_comment {
                in_comment = !t.contains("*/");
                return false;
            }
            if t.starts_with("/*") {
                in_comment = !t.contains("*/");
                return false;
            }
            !(t.is_empty() || t.starts_with("//") || t.starts_with("#include"))
        })
        .count()
}

fn hostile(valgrind: bool) -> Output {
    let dir = built();
    let broker = Broker::start().unwrap();
    let test = dir.join("tether_device_test");
    let port = broker.port().to_string();
    let out = if valgrind {
        Command::new("valgrind")
            .args([
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
                "--error-exitcode=99",
            ])
            .arg(format!(
                "--suppressions={}",
                c_host::valgrind_suppressions().display()
            ))
            .arg(&test)
            .arg(&port)
            .output()
            .unwrap()
    } else {
        Command::new(&test).arg(&port).output().unwrap()
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(", 0 failed"),
        "tether_device_test{} exited with {}:\n{stdout}\n{}",
        if valgrind { " under valgrind" } else { "" },
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let passed = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    assert!(passed >= 60, "only {passed} checks ran:\n{stdout}");
    out
}

/// NULL, stale and foreign pointers, payloads over the limit, calls after stop
/// and free, from other threads and from callbacks, the mapping table: a clear
/// code and message each, every accepted message one outcome.
#[test]
fn hostile_use_gets_clear_errors_and_every_outcome() {
    hostile(false);
}

#[test]
fn hostile_use_has_no_definite_leaks_under_valgrind() {
    assert!(
        c_host::has_program("valgrind"),
        "valgrind is not installed: run scripts/setup"
    );
    let out = hostile(true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("definitely lost: 0 bytes") || stderr.contains("no leaks are possible"),
        "valgrind found a definite leak:\n{stderr}"
    );
}
