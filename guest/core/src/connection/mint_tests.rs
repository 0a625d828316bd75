//! Unit tests of tokens minted inside the connection from a key (`connection-string`
//! or `credential.sas`): no `credentials.renew`, the expiry from the wall clock,
//! renewal at 80% of the lifetime, and a reassigned hub's own token.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use alloc::rc::Rc;
use core::cell::Cell;

use super::*;
use crate::config;
use crate::identity::sas_token;
use crate::types::{Assignment, FailureKind, HttpFailure, ProtocolError};

/// base64("password"): the key of the Azure IoT Node SDK's SAS test.
const KEY: &str = "cGFzc3dvcmQ=";

#[derive(Debug, Clone)]
struct Wall(Rc<Cell<u64>>);

impl WallClock for Wall {
    fn unix_seconds(&self) -> u64 {
        self.0.get()
    }
}

fn conn(doc: &str, wall: &Rc<Cell<u64>>) -> Connection {
    Connection::new(config::parse(doc).unwrap(), 1)
        .with_wall_clock(alloc::boxed::Box::new(Wall(wall.clone())))
}

fn at(s: u64) -> Instant {
    Instant::from_ms(s.saturating_mul(1000))
}

/// The credentials of every `transport.open`, in order.
fn opened_with(out: &[Command]) -> Vec<String> {
    out.iter()
        .filter_map(|c| match c {
            Command::Open { credential, .. } => credential.clone(),
            _ => None,
        })
        .collect()
}

fn asked_host(out: &[Command]) -> bool {
    out.contains(&Command::Renew)
}

fn unauthorized() -> Failure {
    Failure {
        kind: FailureKind::Protocol(ProtocolError::MqttConnack(5)),
        retry_after_ms: None,
        server_reference: None,
    }
}

#[test]
fn a_connection_string_mints_its_first_token_without_asking_the_host() {
    let wall = Rc::new(Cell::new(1_700_000_000));
    let doc = alloc::format!(
        r#"{{"seed": 1, "connection-string": "HostName=my.host.name;DeviceId=my-device;SharedAccessKey={KEY}"}}"#
    );
    let mut c = conn(&doc, &wall);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    assert!(!asked_host(&out), "a key never calls credentials.renew");
    let expected = sas_token("my.host.name/devices/my-device", KEY, None, 1_700_003_600).unwrap();
    assert_eq!(opened_with(&out), core::slice::from_ref(&expected));
    assert!(
        expected.starts_with("SharedAccessSignature sr=my.host.name%2Fdevices%2Fmy-device&sig=")
    );
    assert!(expected.ends_with("&se=1700003600"));
    let hubs: Vec<_> = out
        .iter()
        .filter_map(|c| match c {
            Command::Open { hub, device_id, .. } => Some((hub.clone(), device_id.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(hubs, [("my.host.name".into(), Some("my-device".into()))]);
}

#[test]
fn a_minted_token_is_renewed_at_80_percent_with_a_fresh_expiry() {
    let wall = Rc::new(Cell::new(1_000_000));
    let doc = alloc::format!(
        r#"{{"hub": "hub-a:8883", "device-id": "d1", "seed": 1,
            "credential": {{"token-lifetime-s": 100, "sas": {{"key": "{KEY}"}}}}}}"#
    );
    let mut c = conn(&doc, &wall);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    let first = opened_with(&out);
    assert_eq!(first.len(), 1);
    assert!(
        first[0].contains("sr=hub-a%2Fdevices%2Fd1&"),
        "{}",
        first[0]
    );
    assert!(first[0].ends_with("&se=1000100"));
    out.clear();
    c.on_opened(at(1), 1, &mut out).unwrap();
    assert!(
        out.contains(&Command::WakeAt(at(80))),
        "renewal due at 80 s: {out:?}"
    );
    out.clear();
    wall.set(1_000_080);
    c.on_wake(at(80), &mut out);
    assert!(!asked_host(&out));
    assert!(out.contains(&Command::Close { link: 1 }));
    let second = opened_with(&out);
    assert_eq!(second.len(), 1);
    assert!(second[0].ends_with("&se=1000180"), "{}", second[0]);
    assert_ne!(first[0], second[0]);
    // The routine rollover is not a fault.
    assert!(out.iter().any(|c| matches!(
        c,
        Command::Status(s) if s.reason == Reason::CredentialRenewal
    )));
}

#[test]
fn a_reassigned_hub_gets_a_token_for_its_own_name() {
    let wall = Rc::new(Cell::new(5_000));
    let doc = alloc::format!(
        r#"{{"seed": 1, "provisioning": {{}}, "credential": {{"sas": {{"key": "{KEY}"}}}}}}"#
    );
    let mut c = conn(&doc, &wall);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    assert!(out.contains(&Command::Register));
    out.clear();
    let assigned = |hub: &str| {
        ProvisioningResult::Assigned(Assignment {
            hub: hub.into(),
            device_id: "dev-7".into(),
            credential: None,
        })
    };
    c.on_provisioned(at(1), &assigned("hub-a.localhost"), &mut out)
        .unwrap();
    let a = opened_with(&out);
    assert!(
        a[0].contains("sr=hub-a.localhost%2Fdevices%2Fdev-7&"),
        "{}",
        a[0]
    );
    out.clear();
    // Hub A refuses for good (404 device not found: reprovision).
    let gone = Failure {
        kind: FailureKind::Protocol(ProtocolError::Http(HttpFailure {
            status: 404,
            hub_code: Some(404_001),
        })),
        retry_after_ms: None,
        server_reference: None,
    };
    c.on_failed(at(2), 1, &gone, &mut out).unwrap();
    out.clear();
    c.on_wake(at(60), &mut out);
    assert!(out.contains(&Command::Register), "{out:?}");
    out.clear();
    c.on_provisioned(at(61), &assigned("hub-b.localhost"), &mut out)
        .unwrap();
    let b = opened_with(&out);
    assert_eq!(b.len(), 1, "{out:?}");
    assert!(
        b[0].contains("sr=hub-b.localhost%2Fdevices%2Fdev-7&"),
        "{}",
        b[0]
    );
}

#[test]
fn a_token_refused_on_a_working_key_is_minted_again_then_escalated() {
    let wall = Rc::new(Cell::new(10));
    let doc = alloc::format!(
        r#"{{"seed": 1, "connection-string": "HostName=h;DeviceId=d;SharedAccessKey={KEY}",
            "policy": {{"kind": "exponential", "jitter": "none"}}}}"#
    );
    let mut c = conn(&doc, &wall);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    c.on_opened(at(1), 1, &mut out).unwrap();
    out.clear();
    // The hub stops accepting the token (its clock ran ahead, say).
    wall.set(20);
    c.on_closed(at(2), 1, &unauthorized(), &mut out).unwrap();
    assert!(!asked_host(&out));
    let again = opened_with(&out);
    assert_eq!(again.len(), 1, "minted at once and reconnected: {out:?}");
    assert!(again[0].ends_with("&se=3620"));
    out.clear();
    // A token minted just now and refused: the key itself is refused.
    c.on_failed(at(3), 2, &unauthorized(), &mut out).unwrap();
    assert!(
        opened_with(&out).is_empty(),
        "a refused fresh token is not minted again"
    );
    assert!(out.iter().any(|c| matches!(
        c,
        Command::Decided(DecisionEvent {
            action: Action::GiveUp(_),
            ..
        })
    )));
}

#[test]
fn the_key_is_never_in_debug_output() {
    let doc = alloc::format!(
        r#"{{"seed": 1, "connection-string": "HostName=h;DeviceId=d;SharedAccessKey={KEY}"}}"#
    );
    let cfg = config::parse(&doc).unwrap();
    let shown = alloc::format!("{cfg:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("<redacted>"));
    let wall = Rc::new(Cell::new(0));
    let shown = alloc::format!("{:?}", conn(&doc, &wall));
    assert!(!shown.contains(KEY));
}

#[test]
fn key_configurations_refuse_what_contradicts_them() {
    let field = |doc: &str| config::parse(doc).unwrap_err().field;
    let cs = alloc::format!("HostName=h;DeviceId=d;SharedAccessKey={KEY}");
    assert_eq!(
        field(&alloc::format!(
            r#"{{"hub": "h", "connection-string": "{cs}"}}"#
        )),
        "hub"
    );
    assert_eq!(
        field(&alloc::format!(
            r#"{{"device-id": "d", "connection-string": "{cs}"}}"#
        )),
        "device-id"
    );
    assert_eq!(
        field(r#"{"connection-string": "DeviceId=d;SharedAccessKey=Zm9v"}"#),
        "connection-string.HostName"
    );
    assert_eq!(
        field(r#"{"hub": "h", "device-id": "d", "credential": {"sas": {"key": "not base64!"}}}"#),
        "credential.sas.key"
    );
    assert_eq!(
        field(r#"{"hub": "h", "credential": {"sas": {"key": "Zm9v"}}}"#),
        "device-id"
    );
    assert_eq!(
        field(
            r#"{"hub": "h", "device-id": "d", "credential": {"renewable": false, "sas": {"key": "Zm9v"}}}"#
        ),
        "credential.renewable"
    );
    assert_eq!(
        field(
            r#"{"hub": "h", "device-id": "d", "credential": {"secret": "s", "sas": {"key": "Zm9v"}}}"#
        ),
        "credential.secret"
    );
    assert_eq!(
        field(
            r#"{"hub": "h", "device-id": "d", "credential": {"token-lifetime-s": 0, "sas": {"key": "Zm9v"}}}"#
        ),
        "credential.token-lifetime-s"
    );
    // The error of a bad key never shows it.
    let e = config::parse(
        r#"{"hub": "h", "device-id": "d", "credential": {"sas": {"key": "s3cr3t!"}}}"#,
    )
    .unwrap_err();
    assert!(!e.message.contains("s3cr3t"), "{}", e.message);
}

#[test]
fn a_shared_access_signature_is_used_as_given_and_not_renewed() {
    let wall = Rc::new(Cell::new(0));
    let doc = r#"{"seed": 1, "connection-string": "HostName=h;DeviceId=d;SharedAccessSignature=SharedAccessSignature sr=h%2Fdevices%2Fd&sig=abc&se=99"}"#;
    let mut c = conn(doc, &wall);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    assert!(!asked_host(&out));
    assert_eq!(
        opened_with(&out),
        ["SharedAccessSignature sr=h%2Fdevices%2Fd&sig=abc&se=99"]
    );
}
