//! The component's contract, as the host sees it: exactly the imports and exports
//! the WIT names, bad configurations refused with the field named (never a trap),
//! and hostile inputs answered with the documented error while the instance stays
//! usable.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use tether_host::syntax::failure;
use tether_host::{
    ApplicationError, Assignment, CLOCK_IMPORT, Credential, Decision, Entropy, Failure,
    FailureKind, InputError, Instance, NetworkError, Pending, ProtocolError, ProvisioningResult,
    PublishError, RANDOM_IMPORT, Reason, Status, Verdict, VirtualClock,
};
use tether_tests::rig::{Rig, opens};
use tether_tests::{component_path, runtime};

// ---------------------------------------------------------------------------
// Imports and exports
// ---------------------------------------------------------------------------

#[test]
fn the_component_imports_exactly_the_contract() {
    let size = std::fs::metadata(component_path())
        .unwrap_or_else(|e| panic!("{}: {e}", component_path().display()))
        .len();
    eprintln!(
        "tether component: {size} bytes ({})",
        component_path().display()
    );
    assert_eq!(
        usize::try_from(size).unwrap(),
        tether_host::COMPONENT.len(),
        "the embedded component is the one on disk"
    );

    let rt = runtime();
    let mut imports = rt.component_imports();
    imports.sort();
    assert_eq!(
        imports,
        [
            "tether:reconnect/credentials@0.1.0",
            "tether:reconnect/events@0.1.0",
            "tether:reconnect/policy-plugins@0.1.0",
            "tether:reconnect/provisioning@0.1.0",
            "tether:reconnect/transport@0.1.0",
            // Types only: records, variants and enums, no function.
            "tether:reconnect/types@0.1.0",
            "wasi:clocks/monotonic-clock@0.2.12",
            // Read only to set the expiry of a token minted from a key.
            "wasi:clocks/wall-clock@0.2.12",
            "wasi:random/random@0.2.12",
        ]
    );
    assert_eq!(
        rt.component_import_functions(),
        [
            "tether:reconnect/credentials@0.1.0#renew",
            "tether:reconnect/events@0.1.0#decided",
            "tether:reconnect/events@0.1.0#message-outcome",
            "tether:reconnect/events@0.1.0#plugin-fault",
            "tether:reconnect/events@0.1.0#status-changed",
            "tether:reconnect/events@0.1.0#wake-at",
            "tether:reconnect/policy-plugins@0.1.0#decide",
            "tether:reconnect/provisioning@0.1.0#poll",
            "tether:reconnect/provisioning@0.1.0#register",
            "tether:reconnect/transport@0.1.0#close",
            "tether:reconnect/transport@0.1.0#open",
            "tether:reconnect/transport@0.1.0#send",
            "tether:reconnect/transport@0.1.0#subscribe",
            "wasi:clocks/monotonic-clock@0.2.12#now",
            "wasi:clocks/wall-clock@0.2.12#now",
            "wasi:random/random@0.2.12#get-random-u64",
        ]
    );
    assert_eq!(CLOCK_IMPORT, ("wasi:clocks/monotonic-clock@0.2.12", "now"));
    assert_eq!(
        RANDOM_IMPORT,
        ("wasi:random/random@0.2.12", "get-random-u64")
    );
}

#[test]
fn the_component_exports_decisions_connection_and_identity() {
    let mut exports = runtime().component_exports();
    exports.sort();
    // `types` is re-exported only because the exported interfaces use its types.
    let functional: Vec<&String> = exports
        .iter()
        .filter(|e| !e.starts_with("tether:reconnect/types@"))
        .collect();
    assert_eq!(
        functional,
        [
            "tether:reconnect/connection@0.1.0",
            "tether:reconnect/decisions@0.1.0",
            "tether:reconnect/identity@0.1.0"
        ],
        "all exports: {exports:?}"
    );
}

// ---------------------------------------------------------------------------
// Bad configurations
// ---------------------------------------------------------------------------

fn instance() -> Instance {
    runtime()
        .instantiate(VirtualClock::new(), Entropy::fixed(1))
        .unwrap()
}

/// Nest `depth` arrays: `[[[...]]]`.
fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// Nest `depth` objects: `{"a":{"a":...{}}}`.
fn nested_objects(depth: usize) -> String {
    format!("{}{{}}{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

/// A bad document and the field its error must name.
fn bad_configs() -> Vec<(String, &'static str, &'static str)> {
    let mb = "x".repeat(1 << 20);
    let s = |t: &str| t.to_string();
    vec![
        (
            s(r#"{"hub": "h", "hubb": "h"}"#),
            "hubb",
            "unknown top-level field",
        ),
        (
            s(r#"{"hub": "h", "queue": {"capacity": 4, "colour": "red"}}"#),
            "queue.colour",
            "unknown nested field",
        ),
        (s(r#"{"hub": 5}"#), "hub", "number for a string"),
        (
            s(r#"{"hub": "h", "queue": {"capacity": "big"}}"#),
            "queue.capacity",
            "string for an integer",
        ),
        (
            s(r#"{"hub": "h", "credential": {"renewable": "yes"}}"#),
            "credential.renewable",
            "string for a boolean",
        ),
        (
            s(r#"{"hub": "h", "provisioning": []}"#),
            "provisioning",
            "array for an object",
        ),
        (
            s(r#"{"hub": "h", "policy": 3}"#),
            "policy",
            "number for the policy object",
        ),
        (s(r#"{"hub": "h", "seed": -1}"#), "seed", "negative seed"),
        (
            s(r#"{"hub": "h", "policy": {"initial-ms": -5}}"#),
            "policy.initial-ms",
            "negative duration",
        ),
        (
            s(r#"{"hub": "h", "seed": 18446744073709551616}"#),
            "seed",
            "seed past u64",
        ),
        (
            s(r#"{"hub": "h", "policy": {"kind": "fixed", "max-attempts": 2.5}}"#),
            "policy.max-attempts",
            "fraction for attempts",
        ),
        (
            s(r#"{"hub": "h", "queue": {"capacity": 1.5}}"#),
            "queue.capacity",
            "fraction for capacity",
        ),
        (
            s(r#"{"hub": "h", "policy": {"kind": "random", "min-ms": 5000, "max-ms": 1000}}"#),
            "policy.max-ms",
            "min > max",
        ),
        (
            s(r#"{"provisioning": {"retry-after-min-ms": 5000, "retry-after-max-ms": 4000}}"#),
            "provisioning.retry-after-max-ms",
            "clamp min > max",
        ),
        (
            s(r#"{"hub": "h", "policy": {"kind": "fibonacci"}}"#),
            "policy.kind",
            "unknown policy kind",
        ),
        (
            s(r#"{"hub": "h", "policy": {"kind": "azure-c", "initial-ms": 5}}"#),
            "policy.initial-ms",
            "preset with a formula parameter",
        ),
        (
            s(r#"{"hub": "h", "policy": {"kind": "grpc", "jitter": "none"}}"#),
            "policy.jitter",
            "preset with jitter",
        ),
        (
            s(r#"{"hub": "h", "policy": {"throttled": {"max-attempts": 3}}}"#),
            "policy.throttled.max-attempts",
            "limit inside throttled",
        ),
        (
            s(r#"{"hub": "h", "policy": {"retry-timeout-ms": 1000000000001}}"#),
            "policy.retry-timeout-ms",
            "duration past 10^12 ms",
        ),
        (
            s(r#"{"hub": "h", "policy": {"multiplier": 0.5}}"#),
            "policy.multiplier",
            "multiplier below 1",
        ),
        (s(r#"{"hub": ""}"#), "hub", "empty hub"),
        (s("{}"), "hub", "neither hub nor provisioning"),
        (
            s(r#"{"device-id": "d", "seed": 3}"#),
            "hub",
            "neither hub nor provisioning, other fields set",
        ),
        (
            s(r#"{"hub": "h", "queue": {"capacity": 0}}"#),
            "queue.capacity",
            "capacity 0",
        ),
        (
            s(r#"{"hub": "h", "queue": {"capacity": 4, "max-in-flight": 5}}"#),
            "queue.max-in-flight",
            "max-in-flight > capacity",
        ),
        (
            s(r#"{"hub": "h", "queue": {"when-full": "panic"}}"#),
            "queue.when-full",
            "unknown when-full",
        ),
        (
            s(r#"{"hub": "h", "credential": {"renew-at-percent": 100}}"#),
            "credential.renew-at-percent",
            "renew at 100%",
        ),
        (
            s(r#"{"hub": "h", "credential": {"renew-at-percent": 0}}"#),
            "credential.renew-at-percent",
            "renew at 0%",
        ),
        (
            s(r#"{"hub": "h", "credential": {"lifetime-ms": 1000}}"#),
            "credential.lifetime-ms",
            "lifetime without a secret",
        ),
        (
            s(r#"{"provisioning": {"reprovision-after": 0}}"#),
            "provisioning.reprovision-after",
            "reprovision after 0",
        ),
        (s("[]"), "(document)", "array document"),
        (s("\"hub\""), "(document)", "string document"),
        (s("42"), "(document)", "number document"),
        (s("null"), "(document)", "null document"),
        (s(r#"{"hub": "#), "(document)", "truncated JSON"),
        (s(r#"{"hub": "h",}"#), "(document)", "trailing comma"),
        (s(""), "(document)", "empty text"),
        (
            s("\u{feff}{\"hub\": \"h\"} trailing"),
            "(document)",
            "trailing garbage",
        ),
        (
            format!(r#"{{"hub": "h", "policy": {}}}"#, nested_arrays(10_000)),
            "(document)",
            "10000 nested arrays",
        ),
        (nested_objects(10_000), "(document)", "10000 nested objects"),
        (
            format!(r#"{{"hub": "h", "policy": {{"kind": "{mb}"}}}}"#),
            "policy.kind",
            "1 MB kind",
        ),
        (
            format!(r#"{{"hub": "h", "queue": {{"when-full": "{mb}"}}}}"#),
            "queue.when-full",
            "1 MB when-full",
        ),
        (
            format!(r#"{{"hub": "h", "seed": "{mb}"}}"#),
            "seed",
            "1 MB string for the seed",
        ),
    ]
}

#[test]
fn bad_configurations_are_refused_naming_the_field_without_trapping() {
    let cases = bad_configs();
    assert!(cases.len() >= 15);
    let mut inst = instance();
    let mut wrong = Vec::new();
    for (doc, field, what) in &cases {
        let validated = tether_tests::verdict(inst.validate_config(doc));
        let created = tether_tests::verdict(inst.create_connection(doc));
        let created = created.map(|c| inst.drop_connection(c).unwrap());
        for (call, answer) in [("validate-config", validated), ("create", created)] {
            match answer {
                Err(e) if e.field == *field && !e.message.is_empty() && e.message.len() < 4_096 => {
                }
                Err(e) => wrong.push(format!(
                    "{what} ({call}): expected field {field:?} and a message under 4 KB, \
                     got field {:?} and a message of {} bytes: {}...",
                    e.field,
                    e.message.len(),
                    e.message.chars().take(80).collect::<String>()
                )),
                Ok(()) => wrong.push(format!("{what} ({call}): accepted")),
            }
        }
    }
    // The instance still answers.
    assert_eq!(
        inst.classify(&failure::mqtt5(0x87)).unwrap().verdict,
        Verdict::RenewCredential
    );
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn bad_policies_are_refused_by_the_retry_schedule_too() {
    let mut inst = instance();
    for (policy, field) in [
        (r#"{"kind": "fibonacci"}"#, "policy.kind"),
        (r#"{"kind": "azure-node", "max-ms": 5}"#, "policy.max-ms"),
        (r#"{"kind": "linear", "step-ms": -1}"#, "policy.step-ms"),
        (r#"{"max-attempts": 1.5}"#, "policy.max-attempts"),
        ("[]", "(document)"),
        ("{", "(document)"),
    ] {
        match tether_tests::verdict(inst.create_schedule(policy, 1)) {
            Err(e) => assert_eq!(e.field, field, "{policy}: {}", e.message),
            Ok(_) => panic!("{policy}: accepted"),
        }
    }
    assert!(inst.table_version().unwrap() >= 1);
}

#[test]
fn good_configurations_are_accepted() {
    let mut inst = instance();
    for doc in [
        r#"{"hub": "h"}"#,
        r#"{"provisioning": {}}"#,
        r#"{"hub": "h", "policy": null, "queue": null}"#,
        r#"{"hub": "hub-a.example:8883", "device-id": "sensor-17", "seed": 17,
            "provisioning": {"reprovision-after": 10, "retry-after-min-ms": 2000, "retry-after-max-ms": 300000},
            "credential": {"renewable": true, "renew-at-percent": 80},
            "policy": {"kind": "exponential", "initial-ms": 1000, "max-ms": 60000, "jitter": "full",
                       "retry-timeout-ms": 3600000, "reset-after-ms": 30000},
            "queue": {"capacity": 64, "max-in-flight": 16, "operation-timeout-ms": 240000, "when-full": "drop-oldest"}}"#,
        r#"{"hub": "h", "policy": {"kind": "azure-dotnet", "max-attempts": 5, "retry-timeout-ms": 240000}}"#,
    ] {
        assert_eq!(
            tether_tests::verdict(inst.validate_config(doc)),
            Ok(()),
            "{doc}"
        );
        let conn = tether_tests::verdict(inst.create_connection(doc)).unwrap();
        inst.drop_connection(conn).unwrap();
    }
}

// ---------------------------------------------------------------------------
// Hostile inputs
// ---------------------------------------------------------------------------

/// The instance still answers a stateless call after whatever happened.
#[track_caller]
fn still_usable(rig: &mut Rig) {
    let c = rig
        .device
        .instance()
        .classify(&failure::net(NetworkError::Dns))
        .unwrap();
    assert_eq!((c.verdict, c.reason), (Verdict::Retry, Reason::NoNetwork));
    let _ = rig.device.current_status().unwrap();
    let _ = rig.device.pending_messages().unwrap();
}

/// An input the component refused: the documented error and no import call.
#[track_caller]
fn refused(step: tether_host::Step<Result<(), InputError>>, expected: InputError) {
    assert_eq!(step.result, Err(expected));
    assert!(
        step.commands.is_empty(),
        "a refused input changes nothing: {:?}",
        step.commands
    );
}

fn amqp(condition: String) -> Failure {
    failure::protocol(ProtocolError::Amqp(condition))
}

#[test]
fn hostile_link_and_message_ids_are_refused_and_change_nothing() {
    let mut rig = Rig::new(
        r#"{"hub": "hub-a", "seed": 1, "policy": {"kind": "fixed", "interval-ms": 1000}}"#,
    );
    let _ = rig.at(0).start().unwrap();
    // Never issued.
    refused(
        rig.at(1).on_opened(u64::MAX).unwrap(),
        InputError::Unexpected,
    );
    refused(
        rig.at(1)
            .on_failed(u64::MAX, &failure::net(NetworkError::Reset))
            .unwrap(),
        InputError::Unexpected,
    );
    refused(
        rig.at(1)
            .on_closed(u64::MAX, &failure::net(NetworkError::Reset))
            .unwrap(),
        InputError::Unexpected,
    );
    let zero = rig.at(1).on_opened(0).unwrap();
    assert!(
        matches!(
            zero.result,
            Err(InputError::StaleLink | InputError::Unexpected)
        ),
        "{zero:?}"
    );
    assert!(zero.commands.is_empty());
    still_usable(&mut rig);
    // Link 1 fails; late reports about it are stale.
    let _ = rig
        .at(10)
        .on_failed(1, &failure::net(NetworkError::Refused))
        .unwrap();
    refused(rig.at(20).on_opened(1).unwrap(), InputError::StaleLink);
    refused(
        rig.at(20)
            .on_failed(1, &failure::net(NetworkError::Refused))
            .unwrap(),
        InputError::StaleLink,
    );
    refused(
        rig.at(20)
            .on_closed(1, &failure::net(NetworkError::Reset))
            .unwrap(),
        InputError::StaleLink,
    );
    // Unknown message ids.
    for id in [0, 1, 42, u64::MAX] {
        refused(rig.at(30).on_acked(id).unwrap(), InputError::UnknownMessage);
        for code in [0x00, 0x87, 0x97, 0xFF] {
            let f = failure::mqtt5(code);
            refused(
                rig.at(30).on_refused(id, &f).unwrap(),
                InputError::UnknownMessage,
            );
        }
    }
    // Answers to requests never made.
    let assigned = ProvisioningResult::Assigned(Assignment {
        hub: "evil".into(),
        device_id: "d".into(),
        credential: None,
    });
    refused(
        rig.at(40).on_provisioned(&assigned).unwrap(),
        InputError::Unexpected,
    );
    let cred = Credential {
        secret: "s".into(),
        lifetime_ms: Some(u64::MAX),
    };
    refused(
        rig.at(40).on_credential(Ok(&cred)).unwrap(),
        InputError::Unexpected,
    );
    refused(rig.at(40).start().unwrap(), InputError::Unexpected);
    still_usable(&mut rig);
    // The flow goes on as if nothing happened: link 2 at the backoff deadline.
    let step = rig.at(1_010).on_wake().unwrap();
    assert_eq!(opens(&step.commands), [(2, "hub-a".to_string())]);
    assert_eq!(rig.at(1_100).on_opened(2).unwrap().result, Ok(()));
    assert_eq!(
        rig.device.current_status().unwrap().status,
        Status::Connected
    );
}

#[test]
fn huge_retry_after_hints_are_clamped_not_trapped() {
    let mut rig = Rig::new(r#"{"hub": "hub-a", "provisioning": {}, "seed": 2}"#);
    let _ = rig.at(0).start().unwrap();
    let hint = failure::with_retry_after(failure::http(429, None), u64::MAX);
    let step = rig.at(10).on_failed(1, &hint).unwrap();
    assert_eq!(step.result, Ok(()));
    // The policy's retry-after-max-ms (600 s).
    assert_eq!(rig.next_wake_ms(), Some(600_010));
    still_usable(&mut rig);

    // The same through the schedule resource, and at the provisioning service.
    let inst = rig.device.instance();
    let s = inst.create_schedule("{}", 1).unwrap();
    assert_eq!(
        inst.schedule_next(&s, Some(&hint), Some(u64::MAX)).unwrap(),
        Decision::RetryAfter(600_000),
        "no retry timeout: only the clamp applies"
    );
    inst.drop_schedule(s).unwrap();
    let s = inst
        .create_schedule(r#"{"retry-timeout-ms": 1000000000000}"#, 1)
        .unwrap();
    assert_eq!(
        inst.schedule_next(&s, Some(&hint), Some(u64::MAX)).unwrap(),
        Decision::GiveUp(tether_host::GiveUpReason::RetryTimeout),
        "u64::MAX elapsed saturates past any timeout"
    );
    inst.drop_schedule(s).unwrap();

    let mut rig = Rig::new(r#"{"provisioning": {}, "seed": 3}"#);
    let _ = rig.at(0).start().unwrap();
    let pending = ProvisioningResult::Pending(Pending {
        operation_id: "op".into(),
        retry_after_ms: Some(u64::MAX),
    });
    assert_eq!(rig.at(5).on_provisioned(&pending).unwrap().result, Ok(()));
    assert_eq!(rig.next_wake_ms(), Some(300_005), "the provisioning clamp");
    let _ = rig.at(300_005).on_wake().unwrap();
    let failed = ProvisioningResult::Failed(hint);
    assert_eq!(
        rig.at(300_010).on_provisioned(&failed).unwrap().result,
        Ok(())
    );
    assert_eq!(rig.next_wake_ms(), Some(600_010));
    still_usable(&mut rig);
}

#[test]
fn huge_credential_lifetime_and_server_reference_do_not_trap() {
    let mut rig = Rig::new(r#"{"hub": "hub-a", "seed": 4, "credential": {"renewable": true}}"#);
    let _ = rig.at(0).start().unwrap();
    let cred = Credential {
        secret: "s".repeat(100_000),
        lifetime_ms: Some(u64::MAX),
    };
    assert_eq!(rig.at(1).on_credential(Ok(&cred)).unwrap().result, Ok(()));
    assert_eq!(rig.at(2).on_opened(1).unwrap().result, Ok(()));
    let wake = rig.next_wake_ms().unwrap();
    assert!(wake > 1_000_000_000_000, "renewal far away: {wake}");
    let far = failure::with_server_reference(failure::mqtt5(0x9D), "h".repeat(1 << 20));
    assert_eq!(rig.at(3).on_closed(1, &far).unwrap().result, Ok(()));
    still_usable(&mut rig);
    // An empty reference keeps the hub.
    let step = rig.at(1_000_000).on_wake().unwrap();
    let hubs = opens(&step.commands);
    assert_eq!(hubs.len(), 1);
    assert_eq!(hubs[0].1.len(), 1 << 20);
    let empty = failure::with_server_reference(failure::mqtt5(0x9C), "");
    assert_eq!(
        rig.at(1_000_001).on_failed(2, &empty).unwrap().result,
        Ok(())
    );
    let step = rig.at(10_000_000).on_wake().unwrap();
    assert_eq!(opens(&step.commands).len(), 1);
    assert_eq!(
        opens(&step.commands)[0].1.len(),
        1 << 20,
        "empty reference ignored"
    );
    still_usable(&mut rig);
}

#[test]
fn hostile_publishes_are_refused_with_the_documented_error() {
    let mut rig = Rig::new(r#"{"hub": "hub-a", "seed": 5, "queue": {"max-payload-bytes": 1024}}"#);
    let _ = rig.at(0).start().unwrap();
    let step = rig.at(1).publish("", b"x").unwrap();
    assert_eq!(step.result, Err(PublishError::EmptyTopic));
    assert!(step.commands.is_empty());
    let step = rig.at(1).publish("t", &[0u8; 1025]).unwrap();
    assert_eq!(step.result, Err(PublishError::PayloadTooLarge));
    assert!(step.commands.is_empty());
    // The limit itself is fine.
    assert!(rig.at(1).publish("t", &[0u8; 1024]).unwrap().result.is_ok());
    // Far past any limit: 4 MB, refused without a trap.
    let step = rig.at(1).publish("t", &vec![7u8; 4 << 20]).unwrap();
    assert_eq!(step.result, Err(PublishError::PayloadTooLarge));
    // A 1 MB topic is the host's business; it is accepted and kept.
    assert!(
        rig.at(1)
            .publish(&"t".repeat(1 << 20), b"x")
            .unwrap()
            .result
            .is_ok()
    );
    assert_eq!(rig.device.pending_messages().unwrap(), 2);
    still_usable(&mut rig);

    // After stop: every input is refused as stopped, and nothing is emitted.
    let step = rig.at(2).stop().unwrap();
    assert_eq!(
        step.commands
            .iter()
            .filter(|c| matches!(c, tether_host::Command::Outcome { .. }))
            .count(),
        2
    );
    let step = rig.at(3).publish("t", b"late").unwrap();
    assert_eq!(step.result, Err(PublishError::Stopped));
    assert!(step.commands.is_empty());
    refused(rig.at(3).on_acked(1).unwrap(), InputError::Stopped);
    refused(
        rig.at(3).on_refused(1, &failure::mqtt5(0x97)).unwrap(),
        InputError::Stopped,
    );
    refused(rig.at(3).on_opened(1).unwrap(), InputError::Stopped);
    refused(
        rig.at(3)
            .on_closed(1, &failure::net(NetworkError::Reset))
            .unwrap(),
        InputError::Stopped,
    );
    let cred = Credential {
        secret: "s".into(),
        lifetime_ms: None,
    };
    refused(
        rig.at(3).on_credential(Ok(&cred)).unwrap(),
        InputError::Stopped,
    );
    let step = rig.at(3).stop().unwrap();
    assert!(step.commands.is_empty(), "a second stop is a no-op");
    assert_eq!(rig.device.pending_messages().unwrap(), 0);
    still_usable(&mut rig);
}

#[test]
fn a_100_kb_amqp_condition_is_classified_and_handled() {
    let condition = format!("amqp:{}", "z".repeat(100 * 1024));
    let mut rig = Rig::new(r#"{"hub": "hub-a", "seed": 6}"#);
    let c = rig
        .device
        .instance()
        .classify(&amqp(condition.clone()))
        .unwrap();
    assert_eq!(c.rule, "amqp/unknown");
    assert_eq!(c.verdict, Verdict::RetryThrottled);
    let _ = rig.at(0).start().unwrap();
    let step = rig.at(5).on_failed(1, &amqp(condition)).unwrap();
    assert_eq!(step.result, Ok(()));
    assert!(rig.next_wake_ms().is_some(), "backing off");
    still_usable(&mut rig);
}

#[test]
fn classify_is_total_over_odd_inputs() {
    let mut inst = instance();
    let odd = [
        failure::http(0, None),
        failure::http(u16::MAX, None),
        failure::http(403, Some(u32::MAX)),
        failure::http(200, Some(0)),
        failure::mqtt311(u8::MAX),
        failure::mqtt5(0),
        failure::mqtt5(u8::MAX),
        amqp(String::new()),
        amqp("\u{0}\u{ffff}".to_string()),
        failure::of(FailureKind::Application(ApplicationError::BadEndpoint)),
    ];
    for f in &odd {
        let c = inst.classify(f).unwrap();
        assert!(!c.rule.is_empty(), "{f:?}");
    }
    let s = inst.create_schedule("{}", 0).unwrap();
    for f in &odd {
        let _ = inst.schedule_next(&s, Some(f), Some(u64::MAX)).unwrap();
    }
    inst.schedule_dropped(&s, u64::MAX).unwrap();
    inst.schedule_reset(&s).unwrap();
    inst.schedule_connected(&s).unwrap();
    assert_eq!(inst.schedule_attempts(&s).unwrap(), 0);
}
