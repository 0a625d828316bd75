//! Fault rows on the enforcing IoT Hub emulator: tether's real device runtime
//! (rumqttc, MQTT 3.1.1 over TLS, tokens minted by the component from the
//! connection string's key) against `tether_emulators::iothub`, which checks every
//! CONNECT, signature and expiry itself and relays to a real mosquitto. The
//! messages are counted at the far end (a recorder on mosquitto): lost = 0 in every
//! row. The `tether run --connection-string` row runs the binary and searches all
//! it printed for the key and for any token signature.
//!
//! Rules, as documented by Azure ("Communicate with an IoT hub using the MQTT
//! protocol", "Control access to IoT Hub with shared access signatures"): SAS
//! tokens carry their expiry and the hub closes a link whose token expired; one
//! connection per device, a new one drops the older; 3.1.1 refusals are CONNACK 5;
//! throttled connections are closed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use tether_device::config::DeviceFile;
use tether_device::device::RunningDevice;
use tether_emulators::iothub::{Credential, Identity, IdentityId, RateLimit};
use tether_host::{Reason, Status};
use tether_tests::iothub_lab::{
    FORGED, HUB, KEY, Lab, WAIT, connected, finish, key_bytes, row, statuses, wait_for,
};
use tether_tests::recorder::Recorder;
use tether_tests::tls::Certificates;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_string_device_delivers_through_the_enforcing_hub() {
    let lab = Lab::start("plain", &["dev-plain"], None).await;
    let recorder = lab.recorder("dev-plain");
    let device = lab.spawn(&lab.device_file("dev-plain", KEY, 3600));
    wait_for(&device, "5 messages delivered", |t| t.delivered() >= 5).await;
    let (tally, account) = finish(device, &recorder).await;
    let c = lab.hub.counters();
    assert!(c.accepted >= 1, "{c:?}");
    assert_eq!(c.refused_total(), 0, "{c:?}");
    assert_eq!(tally.renewals, 0, "a key never asks the host for a token");
    row("connection string, 1 h token", &tally, &account, &lab.hub);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_signature_is_refused_and_the_device_stops() {
    let lab = Lab::start("forged", &["dev-forged"], None).await;
    let device = lab.spawn(&lab.device_file("dev-forged", FORGED, 3600));
    let tally = wait_for(&device, "the device to give up", |t| {
        t.statuses
            .iter()
            .any(|(_, s)| s.status == Status::Disconnected)
    })
    .await;
    let last = tally.statuses.last().unwrap().1;
    assert_eq!(last.reason, Reason::BadCredential, "{:?}", statuses(&tally));
    // The refused token was minted a moment before: minting another cannot help,
    // so the device stops after one refusal instead of hammering the hub.
    assert_eq!(
        lab.hub.counters().refused("bad-signature"),
        1,
        "{:?}",
        lab.hub.counters()
    );
    assert_eq!(lab.hub.counters().accepted, 0);
    assert_eq!(tally.delivered(), 0);
    device.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_second_tokens_over_twenty_seconds_renew_without_a_fault() {
    let lab = Lab::start("renew", &["dev-renew"], None).await;
    let recorder = lab.recorder("dev-renew");
    let device = lab.spawn(&lab.device_file("dev-renew", KEY, 5));
    tokio::time::sleep(Duration::from_secs(20)).await;
    let (tally, account) = finish(device, &recorder).await;
    let c = lab.hub.counters();
    // Renewed at 80% (4 s): the hub never had to close a link for an expired token.
    assert_eq!(c.closed("token-expired"), 0, "{c:?}");
    assert_eq!(c.refused_total(), 0, "{c:?}");
    assert!(c.accepted >= 4, "a new link per renewal: {c:?}");
    let allowed = [
        Reason::ConnectionOk,
        Reason::CredentialRenewal,
        Reason::ClientClose,
    ];
    assert!(
        tally
            .statuses
            .iter()
            .all(|(_, s)| allowed.contains(&s.reason)),
        "only renewals, no fault reason: {:?}",
        statuses(&tally)
    );
    row("5 s tokens over 20 s", &tally, &account, &lab.hub);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_device_connecting_again_drops_the_older_link_and_it_comes_back() {
    let lab = Lab::start("duplicate", &["dev-dup"], None).await;
    let recorder = lab.recorder("dev-dup");
    let device = lab.spawn(&lab.device_file("dev-dup", KEY, 3600));
    wait_for(&device, "connected and delivering", |t| {
        connected(t) && t.delivered() >= 3
    })
    .await;
    // A second client with the same identity (a cloned device, say) connects once.
    let mut other_file = lab.device_file("dev-dup", KEY, 3600);
    other_file.publish = None;
    let other = lab.spawn(&other_file);
    wait_for(&other, "the second client connected", connected).await;
    other.stop().await.unwrap();
    let t = wait_for(&device, "the first device back after the drop", |t| {
        t.statuses
            .iter()
            .filter(|(_, s)| s.status == Status::Connected)
            .count()
            >= 2
            && connected(t)
    })
    .await;
    let _ = t;
    assert!(
        lab.hub.counters().closed("duplicate") >= 1,
        "{:?}",
        lab.hub.counters()
    );
    let (tally, account) = finish(device, &recorder).await;
    row("same device twice", &tally, &account, &lab.hub);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_rate_limit_delays_but_loses_nothing() {
    let names = ["rate-1", "rate-2", "rate-3", "rate-4"];
    let lab = Lab::start(
        "rate",
        &names,
        Some(RateLimit {
            connections: 1,
            per: Duration::from_secs(1),
        }),
    )
    .await;
    let recorders: Vec<Recorder> = names.iter().map(|n| lab.recorder(n)).collect();
    let devices: Vec<RunningDevice> = names
        .iter()
        .map(|n| lab.spawn(&lab.device_file(n, KEY, 3600)))
        .collect();
    for d in &devices {
        wait_for(d, "connected through the throttle", |t| {
            connected(t) && t.delivered() >= 2
        })
        .await;
    }
    let throttled = lab.hub.counters().refused("throttled");
    assert!(throttled >= 1, "{:?}", lab.hub.counters());
    for (d, r) in devices.into_iter().zip(&recorders) {
        let (tally, account) = finish(d, r).await;
        row(
            "connection rate limit 1/s, 4 devices",
            &tally,
            &account,
            &lab.hub,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_to_device_message_sent_during_an_outage_arrives_after_the_reconnect() {
    let lab = Lab::start("c2d", &["dev-c2d"], None).await;
    let recorder = lab.recorder("dev-c2d");
    let device = lab.spawn(&lab.device_file("dev-c2d", KEY, 3600));
    device
        .subscribe("devices/dev-c2d/messages/devicebound/#")
        .await
        .unwrap()
        .unwrap();
    wait_for(&device, "connected", |t| connected(t) && t.delivered() >= 2).await;
    // The outage: the device is disabled (its link closed, reconnects refused).
    let id = IdentityId::device("dev-c2d");
    assert!(lab.hub.set_enabled(&id, false));
    wait_for(&device, "the link lost", |t| !connected(t)).await;
    lab.hub
        .send_c2d(
            "dev-c2d",
            b"open the valve",
            &[("cmd".into(), "valve".into())],
        )
        .await
        .unwrap();
    assert!(lab.hub.set_enabled(&id, true));
    let t = wait_for(&device, "the message after the reconnect", |t| {
        !t.received.is_empty()
    })
    .await;
    let (_, topic, payload) = &t.received[0];
    assert_eq!(payload, b"open the valve");
    assert!(
        topic.starts_with("devices/dev-c2d/messages/devicebound/") && topic.contains("cmd=valve"),
        "{topic}"
    );
    let (tally, account) = finish(device, &recorder).await;
    row(
        "cloud-to-device during an outage",
        &tally,
        &account,
        &lab.hub,
    );
}

fn tether() -> &'static Path {
    tether_tests::tether_binary()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tether_run_connection_string_delivers_and_never_prints_the_key() {
    let lab = Lab::start("cli", &["dev-cli"], None).await;
    let recorder = lab.recorder("dev-cli");
    let cs = Lab::connection_string("dev-cli", KEY);
    let port = lab.hub.mqtt_address().port().to_string();
    let ca = lab.ca_file.display().to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(tether())
            .args([
                "run",
                "--connection-string",
                &cs,
                "--ca-file",
                &ca,
                "--port",
                &port,
                "--interval-ms",
                "100",
                "--count",
                "10",
                "--seconds",
                "6",
                "--verbose",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("messages: accepted 10 delivered 10 failed 0"),
        "{stdout}"
    );
    let record = recorder
        .wait_until(WAIT, |r| (1..=10).all(|n| r.counts.contains_key(&n)))
        .unwrap();
    assert_eq!(record.counts.len(), 10);
    // Nothing secret in anything it printed: not the key, not a signature.
    let everything = format!("{stdout}{stderr}");
    assert!(!everything.contains(KEY), "the key was printed");
    assert!(
        !everything.contains("sig="),
        "a token signature was printed"
    );
    assert!(everything.contains("credential=sas(se="), "{stdout}");
    // A bad connection string is bad input: exit code 2, the key named, not shown.
    let bad = Command::new(tether())
        .args([
            "run",
            "--connection-string",
            "HostName=h;DeviceId=d;SharedAccessKey=not base64 s3cr3t",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("SharedAccessKey"), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
    let _ = &lab.dir;
}

/// base64("tether-dps-group-key"): an enrollment group's key.
const GROUP_KEY: &str = "dGV0aGVyLWRwcy1ncm91cC1rZXk=";

/// A lab whose hub knows `registration` by the key DPS derives from the group's,
/// and a DPS emulator with that group enrollment assigning to [`HUB`].
struct DpsLab {
    lab: Lab,
    dps: tether_emulators::dps::DpsEmulator,
    dps_ca: PathBuf,
    derived: String,
}

impl DpsLab {
    async fn start(row: &str, registration: &str) -> DpsLab {
        use hmac::{Hmac, Mac as _};
        use tether_emulators::dps::{DpsConfig, DpsEmulator, GroupEnrollment};
        // The service's side: DPS registers the device in the hub with the key
        // derived from the group's (the DPS docs, "symmetric keys with enrollment
        // groups").
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key_bytes(GROUP_KEY)).unwrap();
        mac.update(registration.as_bytes());
        let derived = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let lab = Lab::start_keyed(row, &[(registration, &derived)], None).await;
        let dps_certs = Certificates::generate().unwrap();
        let dps_dir = lab.dir.path().join("dps");
        std::fs::create_dir_all(&dps_dir).unwrap();
        let dps_files = dps_certs.write_to(&dps_dir).unwrap();
        let mut config = DpsConfig::new(dps_certs.server_cert_pem(), dps_certs.server_key_pem());
        config.id_scope = "0ne00ROW".into();
        config.hubs = vec![HUB.to_string()];
        config.groups = vec![GroupEnrollment::new("line-4", GROUP_KEY)];
        let dps = DpsEmulator::start(config, 0, None).await.unwrap();
        DpsLab {
            lab,
            dps,
            dps_ca: dps_files.ca,
            derived,
        }
    }

    /// A device file that provisions `registration` with the group key, holding
    /// at most `capacity` messages.
    fn device_file(&self, registration: &str, capacity: u32) -> DeviceFile {
        let doc = json!({
            "profile": "azure-iot-hub",
            "connection": {
                "provisioning": {},
                "policy": { "kind": "exponential", "initial-ms": 200, "max-ms": 2000 },
                "queue": { "capacity": capacity },
            },
            "mqtt": {
                "port": self.lab.hub.mqtt_address().port(),
                "tls": { "ca-file": self.lab.ca_file.display().to_string() },
            },
            "provisioning": {
                "endpoint": self.dps.endpoint(),
                "id-scope": "0ne00ROW",
                "registration-id": registration,
                "group-key": GROUP_KEY,
                "ca-file": self.dps_ca.display().to_string(),
            },
            "publish": { "interval-ms": 100 },
        });
        DeviceFile::parse(&doc.to_string()).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dps_group_enrollment_connects_to_the_assigned_hub_and_never_shows_a_key() {
    let registration = "line4-dev-1";
    let d = DpsLab::start("dps", registration).await;
    // The default queue capacity.
    let file = d.device_file(registration, 64);
    let DpsLab {
        lab, dps, derived, ..
    } = d;
    let recorder = lab.recorder(registration);
    assert!(
        !format!("{file:?}").contains(GROUP_KEY),
        "Debug shows the group key"
    );
    let mut device = lab.spawn(&file);
    let mut events = device.events().unwrap();
    wait_for(
        &device,
        "5 messages delivered through the assigned hub",
        |t| t.delivered() >= 5,
    )
    .await;
    assert_eq!(dps.assigned_hub(registration).as_deref(), Some(HUB));
    let (tally, account) = finish(device, &recorder).await;
    assert!(tally.registrations >= 1);
    let c = lab.hub.counters();
    assert!(c.accepted >= 1, "{c:?}");
    assert_eq!(
        c.refused_total(),
        0,
        "the derived key signs the hub token: {c:?}"
    );
    // Everything the device said: no group key, no derived key, no signature.
    let mut said = format!("{tally:?}");
    while let Ok((_, e)) = events.try_recv() {
        said.push_str(&tether_device::device::event_text(&e));
        said.push('\n');
    }
    for secret in [GROUP_KEY, derived.as_str()] {
        assert!(!said.contains(secret), "a key reached the output");
    }
    assert!(
        !said.contains("sig="),
        "a token signature reached the output"
    );
    row(
        "DPS group enrollment, derived key",
        &tally,
        &account,
        &lab.hub,
    );
}

/// A self-signed device certificate for `cn` in `dir` (file names carry the pid).
fn device_certificate(dir: &Path, cn: &str) -> (PathBuf, PathBuf, [u8; 32]) {
    tether_tests::tls::self_signed_device(dir, cn, &format!("{cn}-{}", std::process::id())).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x509_device_connects_with_its_certificate_and_a_wrong_one_is_refused() {
    let lab = Lab::start("x509", &[], None).await;
    let (cert, key, thumbprint) = device_certificate(lab.dir.path(), "cam-1");
    let (wrong_cert, wrong_key, _) = device_certificate(lab.dir.path(), "cam-1-forged");
    lab.hub.add_identity(
        IdentityId::device("cam-1"),
        Identity {
            credential: Credential::Thumbprint(thumbprint),
            enabled: true,
        },
    );
    let file = |cert: &Path, key: &Path| {
        let doc = json!({
            "profile": "azure-iot-hub",
            "connection": {
                "connection-string": format!("HostName={HUB};DeviceId=cam-1;x509=true"),
                "policy": { "kind": "exponential", "initial-ms": 200, "max-ms": 2000 },
            },
            "mqtt": {
                "port": lab.hub.mqtt_address().port(),
                "tls": {
                    "ca-file": lab.ca_file.display().to_string(),
                    "cert-file": cert.display().to_string(),
                    "key-file": key.display().to_string(),
                },
            },
            "publish": { "interval-ms": 100 },
        });
        DeviceFile::parse(&doc.to_string()).unwrap()
    };
    let recorder = lab.recorder("cam-1");
    let device = lab.spawn(&file(&cert, &key));
    wait_for(&device, "5 messages delivered", |t| t.delivered() >= 5).await;
    let (tally, account) = finish(device, &recorder).await;
    assert_eq!(
        lab.hub.counters().refused_total(),
        0,
        "{:?}",
        lab.hub.counters()
    );
    row("X.509 device, its certificate", &tally, &account, &lab.hub);
    // The same identity with another certificate: refused, and nothing to renew.
    let device = lab.spawn(&file(&wrong_cert, &wrong_key));
    let tally = wait_for(&device, "the device to give up", |t| {
        t.statuses
            .iter()
            .any(|(_, s)| s.status == Status::Disconnected)
    })
    .await;
    assert_eq!(tally.delivered(), 0);
    assert_eq!(
        lab.hub.counters().refused("bad-certificate"),
        1,
        "{:?}",
        lab.hub.counters()
    );
    row(
        "X.509 device, a wrong certificate",
        &tally,
        "refused",
        &lab.hub,
    );
    device.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_websockets_a_broker_restart_behind_the_hub_loses_nothing() {
    let mut lab = Lab::start("wss", &["dev-wss"], None).await;
    let recorder = lab.recorder("dev-wss");
    let mut file = lab.device_file("dev-wss", KEY, 3600);
    file.mqtt.websockets = true;
    file.mqtt.port = Some(lab.hub.websocket_address().port());
    assert_eq!(file.mqtt.websocket_path, "/$iothub/websocket");
    // The device file says it the same way.
    let doc = json!({
        "profile": "azure-iot-hub",
        "connection": { "connection-string": Lab::connection_string("dev-wss", KEY) },
        "mqtt": { "transport": "websockets", "tls": {} },
    });
    let parsed = DeviceFile::parse(&doc.to_string()).unwrap();
    assert!(parsed.mqtt.websockets);
    assert_eq!(
        parsed.mqtt.port,
        Some(443),
        "IoT Hub serves WebSockets on 443"
    );
    let device = lab.spawn(&file);
    wait_for(&device, "connected over WebSockets", |t| {
        connected(t) && t.delivered() >= 3
    })
    .await;
    let accepted_before = lab.hub.counters().accepted;
    tokio::task::block_in_place(|| lab.broker.restart()).unwrap();
    tokio::task::block_in_place(|| recorder.wait_subscribed(0, WAIT)).unwrap();
    let t = wait_for(&device, "back after the restart with more delivered", |t| {
        t.statuses
            .iter()
            .filter(|(_, s)| s.status == Status::Connected)
            .count()
            >= 2
            && connected(t)
    })
    .await;
    let delivered = t.delivered();
    wait_for(&device, "more delivered after the restart", |t| {
        t.delivered() >= delivered + 3
    })
    .await;
    assert!(
        lab.hub.counters().accepted > accepted_before,
        "{:?}",
        lab.hub.counters()
    );
    let (tally, account) = finish(device, &recorder).await;
    row("WebSockets, broker restart", &tally, &account, &lab.hub);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused_then_a_fresh_one_is_minted() {
    let lab = Lab::start("expired", &["dev-expired"], None).await;
    let recorder = lab.recorder("dev-expired");
    // 20 s tokens, renewed at 16 s: the one held stays in use for a while.
    let device = lab.spawn(&lab.device_file("dev-expired", KEY, 20));
    wait_for(&device, "connected and delivering", |t| {
        connected(t) && t.delivered() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The hub's clock jumps 15 s ahead (the device's lags): the held token, minted
    // over 3 s ago, is expired for the hub now, but a fresh one is not. The hub
    // closes the link, the device comes back with the token it holds (not yet due
    // for renewal by its own clock), is refused, mints a fresh one and is in.
    lab.hub.set_clock_ahead(15);
    let opens_before = device.tally().opens.len();
    wait_for(&device, "back with a fresh token", |t| {
        connected(t) && t.opens.len() > opens_before && lab.hub.counters().refused("expired") >= 1
    })
    .await;
    let delivered = device.tally().delivered();
    wait_for(&device, "more delivered after the refusal", |t| {
        t.delivered() >= delivered + 3
    })
    .await;
    let (tally, account) = finish(device, &recorder).await;
    let c = lab.hub.counters();
    assert!(c.closed("token-expired") >= 1, "{c:?}");
    assert_eq!(
        c.refused("expired"),
        1,
        "one refusal, then the minted token: {c:?}"
    );
    assert_eq!(c.refused_total(), 1, "{c:?}");
    assert!(
        tally
            .decisions
            .iter()
            .any(|(_, d)| d.cause.as_ref().is_some_and(|c| c.rule == "mqtt311/5")),
        "the refusal renewed the token by the CONNACK 5 rule"
    );
    assert!(
        !tally
            .statuses
            .iter()
            .any(|(_, s)| s.status == Status::Disconnected),
        "{:?}",
        statuses(&tally)
    );
    row(
        "expired token refused, fresh one minted",
        &tally,
        &account,
        &lab.hub,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_refused_for_good_by_hub_a_is_reassigned_by_dps_to_hub_b() {
    const HUB_B: &str = "127.0.0.2";
    let registration = "line4-dev-2";
    let d = DpsLab::start("reassign", registration).await;
    // Room for the seconds away from any hub at 10 messages/s (the default 64
    // fails the oldest with queue-full, as documented).
    let file = d.device_file(registration, 256);
    let DpsLab {
        lab, dps, derived, ..
    } = d;
    // Hub B: another host name (127.0.0.2), the same port, the device registered
    // there too (as DPS does when it assigns a device to a hub).
    let hub_b = lab.second_hub(HUB_B, &[(registration, &derived)]).await;
    let recorder = lab.recorder(registration);
    let device = lab.spawn(&file);
    wait_for(&device, "delivering through hub A", |t| t.delivered() >= 5).await;
    assert_eq!(dps.assigned_hub(registration).as_deref(), Some(HUB));
    assert_eq!(hub_b.counters().accepted, 0);
    // The operator moves the device: DPS now allocates it to hub B, and hub A
    // deletes it (its link closed, every later CONNECT refused with 5).
    dps.move_registration(registration, HUB_B);
    assert!(lab.hub.remove_identity(&IdentityId::device(registration)));
    let delivered = device.tally().delivered();
    wait_for(&device, "delivering through hub B", |t| {
        connected(t) && t.delivered() >= delivered + 5 && hub_b.counters().accepted >= 1
    })
    .await;
    assert_eq!(dps.assigned_hub(registration).as_deref(), Some(HUB_B));
    let (tally, account) = finish(device, &recorder).await;
    let a = lab.hub.counters();
    let b = hub_b.counters();
    // Hub A: the link closed for the removal, then the held token refused and the
    // freshly minted one refused again, which sends the device back to DPS.
    assert_eq!(a.closed("device-removed"), 1, "{a:?}");
    assert_eq!(a.refused("unknown-device"), 2, "{a:?}");
    // Hub B checked the user name and token for its own host name: nothing refused.
    assert_eq!(b.refused_total(), 0, "{b:?}");
    assert!(tally.registrations >= 2, "{tally:?}");
    assert!(
        !tally
            .outcomes
            .values()
            .any(|o| matches!(o, tether_host::Outcome::Failed(_))),
        "every message delivered: {account}"
    );
    // The component opened links by the assigned host name: hub A's, then hub B's.
    let hubs: Vec<&str> = tally.opens.iter().map(|(_, h)| h.as_str()).collect();
    assert_eq!(hubs.first(), Some(&HUB), "{hubs:?}");
    assert_eq!(hubs.last(), Some(&HUB_B), "{hubs:?}");
    assert!(
        !tally
            .statuses
            .iter()
            .any(|(_, s)| s.status == Status::Disconnected),
        "{:?}",
        statuses(&tally)
    );
    row("DPS reassignment, hub A to hub B", &tally, &account, &hub_b);
}
