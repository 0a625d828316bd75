//! Golden transcripts: one per reconnection flow, run by the virtual-time [`Sim`]
//! against the real component with fixed seeds and jitter-free (or seeded)
//! policies, and compared byte for byte with `tests/golden/<flow>.txt`.
//!
//! `TETHER_BLESS=1 cargo test -p tether-tests --test transcripts` rewrites the
//! golden files; review the diff before committing it.
//!
//! A golden pins everything, so each test also asserts the facts that matter
//! explicitly (statuses in order, no status repeated, one outcome per accepted
//! message, the number of opens, the decisions): a blessed regression would still
//! fail there.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use tether_host::syntax::failure;
use tether_host::{
    Action, ApplicationError, Curve, GiveUpReason, MessageFailure, NetworkError, PublishError,
    Reason, Status,
};
use tether_sim::{
    Event, OpenAnswer, ProvisioningAnswer, ScriptedCredentials, ScriptedHub, ScriptedProvisioning,
    Sim, SimBuilder,
};
use tether_tests::facts::{
    assert_no_repeated_status, assert_one_outcome_each, backoffs, count_decisions, count_lines,
    give_ups, opened_hubs, statuses,
};
use tether_tests::{golden, runtime};

use Reason as R;
use Status as S;

const HOUR_MS: u64 = 3_600_000;

/// Build a sim for `config`, let `script` schedule events on it, run it to
/// `end_ms`, check the golden `name`, and assert the invariants every flow keeps.
#[track_caller]
fn run_flow(
    name: &str,
    config: &str,
    build: impl FnOnce(SimBuilder) -> SimBuilder,
    script: impl FnOnce(&mut Sim),
    end_ms: u64,
) -> Sim {
    let mut sim = build(Sim::builder(config)).build(runtime()).unwrap();
    script(&mut sim);
    sim.run_until(end_ms).unwrap();
    finish(name, config, &sim);
    sim
}

/// Check the golden and the invariants of a finished sim.
#[track_caller]
fn finish(name: &str, config: &str, sim: &Sim) {
    let text = format!(
        "# flow: {name}\n# config: {config}\n{}",
        sim.transcript().render_all()
    );
    golden::check(name, &text);
    assert_no_repeated_status(sim);
    assert_one_outcome_each(sim);
}

// ---------------------------------------------------------------------------
// Hub only
// ---------------------------------------------------------------------------

#[test]
fn hub_only_recoverable_outage_then_reconnect() {
    let config = r#"{"hub": "hub-a", "device-id": "sensor-17", "seed": 7, "policy": {"kind": "exponential", "initial-ms": 1000, "multiplier": 2, "max-ms": 8000, "jitter": "none"}}"#;
    let hub = ScriptedHub::new()
        .drop_at(10_000, failure::net(NetworkError::Reset))
        .refuse_between(
            10_000,
            16_000,
            vec![
                failure::net(NetworkError::Refused),
                failure::net(NetworkError::Dns),
            ],
        );
    let sim = run_flow(
        "hub-only-recoverable-outage",
        config,
        |b| b.hub(hub),
        |sim| {
            sim.publish_every(1_000, 2_000, 25_000, "telemetry");
        },
        30_000,
    );
    assert_eq!(
        statuses(&sim),
        [
            (S::Connected, R::ConnectionOk),
            (S::DisconnectedRetrying, R::CommunicationError),
            (S::DisconnectedRetrying, R::NoNetwork),
            (S::Connected, R::ConnectionOk),
        ]
    );
    // The first link, two refused reopens, the one that holds.
    assert_eq!(sim.hub().opens(), 4);
    assert_eq!(opened_hubs(&sim), ["hub-a"; 4]);
    let delays: Vec<u64> = backoffs(&sim).iter().map(|b| b.delay_ms).collect();
    assert_eq!(delays, [1_000, 2_000, 4_000], "doubling, no jitter");
    assert!(give_ups(&sim).is_empty());
    let summary = sim.messages().summary();
    assert_eq!((summary.accepted, summary.delivered), (13, 13));
}

/// An unrecoverable failure stops the connection: reported once, queued messages
/// failed, and the hub sees no further open however long the world runs.
fn unrecoverable(name: &str, hub: ScriptedHub, expect_reason: Reason, publish_at: &[u64]) -> Sim {
    let config = r#"{"hub": "hub-a", "seed": 2, "policy": {"kind": "fixed", "interval-ms": 1000}}"#;
    let publish_at = publish_at.to_vec();
    let sim = run_flow(
        name,
        config,
        |b| b.hub(hub.no_acks()),
        |sim| {
            for t in publish_at {
                sim.publish_at(t, "telemetry", b"reading");
            }
            // After the stop: refused, and no outcome.
            sim.publish_at(HOUR_MS / 2, "telemetry", b"late");
        },
        HOUR_MS,
    );
    let st = statuses(&sim);
    assert_eq!(st.last(), Some(&(S::Disconnected, expect_reason)));
    assert_eq!(
        st.iter().filter(|s| s.0 == S::Disconnected).count(),
        1,
        "reported once: {st:?}"
    );
    assert_eq!(give_ups(&sim), [GiveUpReason::Unrecoverable]);
    assert!(
        backoffs(&sim).is_empty(),
        "no retry after an unrecoverable failure"
    );
    let summary = sim.messages().summary();
    assert_eq!(summary.failed_by_reason.get("unrecoverable"), Some(&1));
    assert_eq!(
        sim.messages().rejected(),
        [(HOUR_MS / 2, PublishError::Stopped)]
    );
    sim
}

#[test]
fn unrecoverable_connack_1_stops_without_further_attempts() {
    let hub = ScriptedHub::new().answers([OpenAnswer::refuse(50, failure::mqtt311(1))]);
    let mut sim = unrecoverable("unrecoverable-connack-1", hub, R::ProtocolError, &[10]);
    assert_eq!(sim.hub().opens(), 1, "no open after CONNACK 1");
    assert_eq!(statuses(&sim), [(S::Disconnected, R::ProtocolError)]);
    assert_eq!(sim.device().next_wake().unwrap(), None);
    assert_eq!(sim.pending_events(), 0);
}

#[test]
fn unrecoverable_bad_endpoint_stops_without_further_attempts() {
    let hub = ScriptedHub::new().answers([OpenAnswer::refuse(
        2_000,
        failure::app(ApplicationError::BadEndpoint),
    )]);
    let sim = unrecoverable("unrecoverable-bad-endpoint", hub, R::BadEndpoint, &[10]);
    assert_eq!(sim.hub().opens(), 1, "no open after a bad endpoint");
    assert_eq!(statuses(&sim), [(S::Disconnected, R::BadEndpoint)]);
}

#[test]
fn session_taken_over_is_retried_a_bounded_number_of_times() {
    // MQTT 5 0x8E arrives as a DISCONNECT on a link that is up. Usually it is the
    // device's own earlier link, so it is retried on the throttled curve; the
    // fourth takeover of one outage (`takeover-retries` 3) stops the device, and
    // the message still in flight fails as unrecoverable.
    let config = r#"{"hub": "hub-a", "seed": 2, "policy": {"kind": "fixed", "interval-ms": 1000}}"#;
    let hub = [5_000, 30_000, 60_000, 110_000]
        .into_iter()
        .fold(ScriptedHub::new().no_acks(), |hub, at| {
            hub.drop_at(at, failure::mqtt5(0x8E))
        });
    let sim = run_flow(
        "session-taken-over-bounded",
        config,
        |b| b.hub(hub),
        |sim| {
            sim.publish_at(1_000, "telemetry", b"reading");
            sim.publish_at(HOUR_MS / 2, "telemetry", b"late");
        },
        HOUR_MS,
    );
    assert_eq!(sim.hub().opens(), 4, "and none after the fourth takeover");
    let mut expected = vec![(S::Connected, R::ConnectionOk)];
    for _ in 0..3 {
        expected.push((S::DisconnectedRetrying, R::SessionTakenOver));
        expected.push((S::Connected, R::ConnectionOk));
    }
    expected.push((S::Disconnected, R::SessionTakenOver));
    assert_eq!(statuses(&sim), expected);
    assert_eq!(backoffs(&sim).len(), 3);
    assert_eq!(give_ups(&sim), [GiveUpReason::Unrecoverable]);
}

/// A hub that refuses every open with `net:timeout`.
fn refusing_hub() -> ScriptedHub {
    ScriptedHub::new().refuse_between(0, u64::MAX, vec![failure::net(NetworkError::Timeout)])
}

#[test]
fn retry_timeout_spent_reports_retry_expired_exactly_once() {
    let config = r#"{"hub": "hub-a", "seed": 3, "policy": {"kind": "fixed", "interval-ms": 1000, "retry-timeout-ms": 5000}}"#;
    let sim = run_flow(
        "retry-timeout-expired",
        config,
        |b| b.hub(refusing_hub()),
        |sim| sim.publish_at(500, "telemetry", b"reading"),
        HOUR_MS,
    );
    // Opens at 0, 1030, 2060, 3090, 4120, each refused 30 ms later. The outage
    // began at 30; the retry after the failure at 4150 would start at 5150, 5120 ms
    // into the outage: past the 5000 ms budget.
    assert_eq!(sim.hub().opens(), 5, "and none after giving up");
    assert_eq!(
        statuses(&sim),
        [
            (S::DisconnectedRetrying, R::CommunicationError),
            (S::Disconnected, R::RetryExpired),
        ]
    );
    assert_eq!(
        count_lines(&sim, "status disconnected reason=retry-expired"),
        1
    );
    assert_eq!(give_ups(&sim), [GiveUpReason::RetryTimeout]);
    assert_eq!(backoffs(&sim).len(), 4);
    let summary = sim.messages().summary();
    assert_eq!(summary.failed_by_reason.get("retry-expired"), Some(&1));
    assert_eq!(
        sim.statuses().last().unwrap().at,
        4_150 * tether_host::NS_PER_MS
    );
}

#[test]
fn max_attempts_spent_reports_retry_expired_exactly_once() {
    let config = r#"{"hub": "hub-a", "seed": 4, "policy": {"kind": "fixed", "interval-ms": 1000, "max-attempts": 3}}"#;
    let sim = run_flow(
        "max-attempts-expired",
        config,
        |b| b.hub(refusing_hub()),
        |sim| sim.publish_at(500, "telemetry", b"reading"),
        HOUR_MS,
    );
    assert_eq!(sim.hub().opens(), 4, "the first attempt and 3 retries");
    assert_eq!(
        statuses(&sim),
        [
            (S::DisconnectedRetrying, R::CommunicationError),
            (S::Disconnected, R::RetryExpired),
        ]
    );
    assert_eq!(
        count_lines(&sim, "status disconnected reason=retry-expired"),
        1
    );
    assert_eq!(give_ups(&sim), [GiveUpReason::MaxAttempts]);
    let attempts: Vec<u32> = backoffs(&sim).iter().map(|b| b.attempt).collect();
    assert_eq!(attempts, [1, 2, 3]);
    let summary = sim.messages().summary();
    assert_eq!(summary.failed_by_reason.get("retry-expired"), Some(&1));
}

// ---------------------------------------------------------------------------
// Hub plus provisioning
// ---------------------------------------------------------------------------

#[test]
fn first_provisioning_polls_then_ten_failed_reconnects_reprovision_to_a_new_hub() {
    let config =
        r#"{"provisioning": {}, "seed": 5, "policy": {"kind": "fixed", "interval-ms": 2000}}"#;
    let provisioning = ScriptedProvisioning::new([
        ProvisioningAnswer::pending(100, "op-1", Some(3_000)),
        ProvisioningAnswer::pending(100, "op-1", None),
        ProvisioningAnswer::assigned(100, "hub-a", "dev-1"),
        ProvisioningAnswer::assigned(100, "hub-b", "dev-1"),
    ]);
    // hub-a takes the first link, then refuses everything; hub-b accepts.
    let hub = ScriptedHub::new()
        .rule(|r| {
            if r.hub == "hub-a" && r.nth > 1 {
                OpenAnswer::refuse(30, failure::net(NetworkError::Unreachable))
            } else {
                OpenAnswer::accept(100)
            }
        })
        .drop_at(20_000, failure::net(NetworkError::Reset));
    let sim = run_flow(
        "provisioning-pending-then-reprovision",
        config,
        |b| b.hub(hub).provisioning(provisioning),
        |sim| {
            sim.publish_every(1_000, 5_000, 60_000, "telemetry");
        },
        90_000,
    );
    // Register, poll after the 3 s retry-after, poll after the 2 s default, then
    // the second registration.
    assert_eq!(sim.provisioning().requests(), 4);
    let poll_lines: Vec<String> = sim
        .transcript()
        .lines()
        .iter()
        .filter(|l| l.text.starts_with("poll ") || l.text == "register")
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        poll_lines[..3],
        [
            "t=0ms register",
            "t=3100ms poll op=op-1",
            "t=5200ms poll op=op-1"
        ]
    );
    let hubs = opened_hubs(&sim);
    let to_a = hubs.iter().filter(|h| *h == "hub-a").count();
    // The link that held, then ten failed reconnects to the cached hub.
    assert_eq!(
        to_a, 11,
        "the link, then 10 failed reconnects to hub-a: {hubs:?}"
    );
    assert_eq!(hubs.last().map(String::as_str), Some("hub-b"));
    assert_eq!(hubs.iter().filter(|h| *h == "hub-b").count(), 1);
    assert_eq!(
        statuses(&sim),
        [
            (S::DisconnectedRetrying, R::Provisioning),
            (S::Connected, R::ConnectionOk),
            (S::DisconnectedRetrying, R::CommunicationError),
            (S::DisconnectedRetrying, R::NoNetwork),
            (S::DisconnectedRetrying, R::Provisioning),
            (S::Connected, R::ConnectionOk),
        ]
    );
    assert_eq!(
        backoffs(&sim).iter().filter(|b| b.then_provision).count(),
        1
    );
    let summary = sim.messages().summary();
    assert_eq!(summary.delivered, summary.accepted);
}

/// An HTTP refusal of the cached hub that calls for reprovisioning.
fn reprovision_on(code: u16) -> Sim {
    let config = r#"{"hub": "hub-a", "device-id": "dev-1", "provisioning": {}, "seed": 6, "policy": {"kind": "fixed", "interval-ms": 1000}}"#;
    let hub = ScriptedHub::new().answers([OpenAnswer::refuse(40, failure::http(code, None))]);
    let sim = run_flow(
        &format!("reprovision-on-http-{code}"),
        config,
        |b| {
            b.hub(hub)
                .provisioning(ScriptedProvisioning::assigning("hub-b", "dev-2"))
        },
        |sim| sim.publish_at(10, "telemetry", b"reading"),
        10_000,
    );
    assert_eq!(sim.provisioning().requests(), 1, "registered once");
    assert_eq!(opened_hubs(&sim), ["hub-a", "hub-b"]);
    assert_eq!(
        statuses(&sim),
        [
            (S::DisconnectedRetrying, R::Provisioning),
            (S::Connected, R::ConnectionOk),
        ]
    );
    let plans = backoffs(&sim);
    assert_eq!(plans.len(), 1);
    assert!(plans[0].then_provision);
    assert_eq!(
        count_decisions(&sim, |d| d
            .cause
            .as_ref()
            .is_some_and(|c| c.rule == format!("http/{code}"))),
        1
    );
    assert!(
        sim.transcript()
            .contains("open link=2 hub=hub-b device=dev-2")
    );
    assert_eq!(sim.messages().summary().delivered, 1);
    sim
}

#[test]
fn http_401_reprovisions() {
    reprovision_on(401);
}

#[test]
fn http_403_not_quota_reprovisions() {
    reprovision_on(403);
}

#[test]
fn http_404_reprovisions() {
    reprovision_on(404);
}

#[test]
fn quota_403002_backs_off_on_the_throttled_curve_without_reprovisioning() {
    let config = r#"{"hub": "hub-a", "provisioning": {}, "seed": 7, "policy": {"kind": "exponential", "initial-ms": 1000, "multiplier": 2, "max-ms": 60000, "jitter": "none", "throttled": {"kind": "exponential", "initial-ms": 5000, "multiplier": 2, "max-ms": 120000, "jitter": "none"}}}"#;
    let quota = failure::http(403, Some(403_002));
    let hub = ScriptedHub::new().answers([
        OpenAnswer::refuse(40, quota.clone()),
        OpenAnswer::refuse(40, quota),
    ]);
    let sim = run_flow(
        "quota-403002-throttled",
        config,
        |b| {
            b.hub(hub)
                .provisioning(ScriptedProvisioning::assigning("hub-b", "dev-2"))
        },
        |_| {},
        30_000,
    );
    assert_eq!(
        sim.provisioning().requests(),
        0,
        "quota is no reason to reprovision"
    );
    assert_eq!(opened_hubs(&sim), ["hub-a"; 3]);
    let plans = backoffs(&sim);
    let got: Vec<(u64, Curve, bool)> = plans
        .iter()
        .map(|b| (b.delay_ms, b.curve, b.then_provision))
        .collect();
    assert_eq!(
        got,
        [
            (5_000, Curve::Throttled, false),
            (10_000, Curve::Throttled, false)
        ]
    );
    assert_eq!(
        statuses(&sim),
        [
            (S::DisconnectedRetrying, R::QuotaExceeded),
            (S::Connected, R::ConnectionOk),
        ]
    );
}

#[test]
fn provisioning_429_retry_after_is_honoured_and_clamped_both_ways() {
    let config = r#"{"provisioning": {"retry-after-min-ms": 2000, "retry-after-max-ms": 300000}, "seed": 8}"#;
    let too_small = failure::with_retry_after(failure::http(429, None), 1);
    let too_large = failure::with_retry_after(failure::http(429, None), 10_000_000);
    let within = failure::with_retry_after(failure::http(429, None), 4_321);
    let provisioning = ScriptedProvisioning::new([
        ProvisioningAnswer::failed(100, too_small),
        ProvisioningAnswer::failed(100, too_large),
        ProvisioningAnswer::failed(100, within),
        ProvisioningAnswer::assigned(100, "hub-a", "dev-1"),
    ]);
    let sim = run_flow(
        "provisioning-429-clamped",
        config,
        |b| b.provisioning(provisioning),
        |_| {},
        HOUR_MS,
    );
    let got: Vec<(u64, Curve, bool)> = backoffs(&sim)
        .iter()
        .map(|b| (b.delay_ms, b.curve, b.then_provision))
        .collect();
    assert_eq!(
        got,
        [
            (2_000, Curve::ServerHint, true),
            (300_000, Curve::ServerHint, true),
            (4_321, Curve::ServerHint, true),
        ],
        "1 ms raised to 2 s, 10^7 ms lowered to 300 s, 4321 ms kept"
    );
    let registers: Vec<u64> = sim
        .transcript()
        .lines()
        .iter()
        .filter(|l| l.text == "register")
        .map(|l| l.at_ms)
        .collect();
    assert_eq!(registers, [0, 2_100, 302_200, 306_621]);
    assert_eq!(
        statuses(&sim),
        [
            (S::DisconnectedRetrying, R::Provisioning),
            (S::Connected, R::ConnectionOk),
        ]
    );
    assert_eq!(sim.hub().opens(), 1);
}

#[test]
fn provisioning_500_backs_off_on_the_normal_curve() {
    let config = r#"{"provisioning": {}, "seed": 9, "policy": {"kind": "exponential", "initial-ms": 1000, "multiplier": 2, "max-ms": 60000, "jitter": "none"}}"#;
    let provisioning = ScriptedProvisioning::new([
        ProvisioningAnswer::failed(100, failure::http(500, None)),
        ProvisioningAnswer::failed(100, failure::http(500, None)),
        ProvisioningAnswer::assigned(100, "hub-a", "dev-1"),
    ]);
    let sim = run_flow(
        "provisioning-500-backoff",
        config,
        |b| b.provisioning(provisioning),
        |_| {},
        30_000,
    );
    let got: Vec<(u64, Curve, bool)> = backoffs(&sim)
        .iter()
        .map(|b| (b.delay_ms, b.curve, b.then_provision))
        .collect();
    assert_eq!(
        got,
        [(1_000, Curve::Normal, true), (2_000, Curve::Normal, true)]
    );
    assert_eq!(sim.provisioning().requests(), 3);
    assert_eq!(opened_hubs(&sim), ["hub-a"]);
    assert_eq!(
        statuses(&sim),
        [
            (S::DisconnectedRetrying, R::Provisioning),
            (S::Connected, R::ConnectionOk),
        ]
    );
}

#[test]
fn the_cached_hub_is_tried_first_after_a_restart() {
    let config = r#"{"provisioning": {}, "seed": 10}"#;
    let sim = run_flow(
        "cached-hub-after-restart",
        config,
        |b| b.provisioning(ScriptedProvisioning::assigning("hub-b", "dev-1")),
        |sim| {
            sim.stop_at(5_000);
            sim.at(6_000, Event::Start);
            sim.publish_at(7_000, "telemetry", b"reading");
        },
        10_000,
    );
    assert_eq!(sim.provisioning().requests(), 1, "no second registration");
    assert_eq!(opened_hubs(&sim), ["hub-b", "hub-b"]);
    assert_eq!(
        statuses(&sim),
        [
            (S::DisconnectedRetrying, R::Provisioning),
            (S::Connected, R::ConnectionOk),
            (S::Disabled, R::ClientClose),
            (S::Connected, R::ConnectionOk),
        ]
    );
    assert_eq!(sim.messages().summary().delivered, 1);

    // A configuration that carries the cached assignment opens it before asking
    // the provisioning service anything.
    let cached = r#"{"hub": "hub-cached", "device-id": "dev-1", "provisioning": {}, "seed": 10}"#;
    let mut sim = Sim::builder(cached)
        .provisioning(ScriptedProvisioning::assigning("hub-b", "dev-1"))
        .build(runtime())
        .unwrap();
    sim.run_until(1_000).unwrap();
    assert_eq!(sim.provisioning().requests(), 0);
    assert_eq!(opened_hubs(&sim), ["hub-cached"]);
    assert_eq!(statuses(&sim), [(S::Connected, R::ConnectionOk)]);
}

// ---------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------

#[test]
fn routine_credential_renewal_at_80_percent_is_never_a_fault() {
    let config =
        r#"{"hub": "hub-a", "device-id": "dev-1", "seed": 11, "credential": {"renewable": true}}"#;
    let sim = run_flow(
        "credential-renewal-long-run",
        config,
        |b| b.credentials(ScriptedCredentials::new().lifetime_ms(HOUR_MS)),
        |sim| {
            sim.publish_every(30_000, 60_000, 3 * HOUR_MS - 60_000, "telemetry");
        },
        3 * HOUR_MS,
    );
    // Minted at 50 ms (then every renewal 50 ms after it is asked for); renewed at
    // 80% of each hour: 50 + 2_880_000, then 2_880_100 + 2_880_000, ...
    let renews: Vec<u64> = sim
        .transcript()
        .lines()
        .iter()
        .filter(|l| l.text == "renew")
        .map(|l| l.at_ms)
        .collect();
    assert_eq!(renews, [0, 2_880_050, 5_760_100, 8_640_150]);
    assert_eq!(sim.credentials().requests(), 4);
    assert_eq!(
        count_decisions(&sim, |d| matches!(d.action, Action::RenewCredential(true))),
        3
    );
    let mut expected = vec![(S::Connected, R::ConnectionOk)];
    for _ in 0..3 {
        expected.push((S::DisconnectedRetrying, R::CredentialRenewal));
        expected.push((S::Connected, R::ConnectionOk));
    }
    assert_eq!(statuses(&sim), expected);
    assert!(backoffs(&sim).is_empty(), "a renewal is not a failure");
    assert_eq!(
        count_decisions(&sim, |d| d.cause.is_some()),
        0,
        "no decision has a failure behind it"
    );
    assert_eq!(sim.hub().opens(), 4);
    let summary = sim.messages().summary();
    assert_eq!(summary.delivered, summary.accepted);
    assert_eq!(
        summary.accepted, 179,
        "every minute from 30 s to 2 h 59 min"
    );
}

#[test]
fn a_failed_reconnect_after_a_routine_renewal_starts_a_new_outage() {
    // One refused open at boot, then the link holds for 48 min (far past
    // reset-after-ms) until the routine renewal reopens it, and that reopen is
    // refused once. The boot failure belongs to an outage that ended long ago: the
    // renewal's failed reopen starts a new one, with a fresh 60 s retry budget and
    // the backoff counting from attempt 1.
    let config = r#"{"hub": "hub-a", "seed": 21, "credential": {"renewable": true}, "policy": {"kind": "fixed", "interval-ms": 1000, "retry-timeout-ms": 60000}}"#;
    let hub = ScriptedHub::new().rule(|r| {
        if r.nth == 1 || r.nth == 3 {
            OpenAnswer::refuse(30, failure::net(NetworkError::Refused))
        } else {
            OpenAnswer::accept(100)
        }
    });
    let sim = run_flow(
        "credential-renewal-reconnect-fails",
        config,
        |b| {
            b.hub(hub)
                .credentials(ScriptedCredentials::new().lifetime_ms(HOUR_MS))
        },
        |sim| sim.publish_at(3_000_000, "telemetry", b"reading"),
        2 * HOUR_MS,
    );
    assert_eq!(
        statuses(&sim),
        [
            (S::DisconnectedRetrying, R::CommunicationError),
            (S::Connected, R::ConnectionOk),
            (S::DisconnectedRetrying, R::CredentialRenewal),
            (S::DisconnectedRetrying, R::CommunicationError),
            (S::Connected, R::ConnectionOk),
            // The next routine renewal, 80% into the renewed credential's hour.
            (S::DisconnectedRetrying, R::CredentialRenewal),
            (S::Connected, R::ConnectionOk),
        ]
    );
    assert!(
        give_ups(&sim).is_empty(),
        "a new outage, not a spent budget"
    );
    let plans: Vec<(u64, u32)> = backoffs(&sim)
        .iter()
        .map(|b| (b.delay_ms, b.attempt))
        .collect();
    assert_eq!(plans, [(1_000, 1), (1_000, 1)]);
    assert_eq!(
        sim.hub().opens(),
        5,
        "boot refused, boot retry, renewal refused, its retry, next renewal"
    );
    assert_eq!(sim.messages().summary().delivered, 1);
}

#[test]
fn refused_credential_is_renewed_once_then_stops_without_provisioning() {
    let config =
        r#"{"hub": "hub-a", "seed": 12, "credential": {"renewable": true, "secret": "old"}}"#;
    let hub = ScriptedHub::new().rule(|_| OpenAnswer::refuse(40, failure::mqtt5(0x87)));
    let sim = run_flow(
        "refused-credential-no-provisioning",
        config,
        |b| b.hub(hub),
        |sim| sim.publish_at(10, "telemetry", b"reading"),
        HOUR_MS,
    );
    assert_eq!(sim.credentials().requests(), 1, "renewed once");
    assert_eq!(sim.hub().opens(), 2);
    assert!(
        sim.transcript()
            .contains("open link=1 hub=hub-a credential=old")
    );
    assert!(
        sim.transcript()
            .contains("open link=2 hub=hub-a credential=token-1")
    );
    assert_eq!(
        statuses(&sim),
        [
            (S::DisconnectedRetrying, R::BadCredential),
            (S::Disconnected, R::BadCredential),
        ]
    );
    assert_eq!(give_ups(&sim), [GiveUpReason::Unrecoverable]);
    assert_eq!(
        sim.messages()
            .summary()
            .failed_by_reason
            .get("unrecoverable"),
        Some(&1)
    );
}

#[test]
fn refused_credential_is_renewed_once_then_reprovisions() {
    let config = r#"{"hub": "hub-a", "device-id": "dev-1", "provisioning": {}, "seed": 13, "credential": {"renewable": true, "secret": "old"}, "policy": {"kind": "fixed", "interval-ms": 1000}}"#;
    let hub = ScriptedHub::new().rule(|r| {
        if r.hub == "hub-a" {
            OpenAnswer::refuse(40, failure::mqtt5(0x87))
        } else {
            OpenAnswer::accept(100)
        }
    });
    let sim = run_flow(
        "refused-credential-reprovision",
        config,
        |b| {
            b.hub(hub)
                .provisioning(ScriptedProvisioning::assigning("hub-b", "dev-1"))
        },
        |sim| sim.publish_at(10, "telemetry", b"reading"),
        30_000,
    );
    assert_eq!(sim.credentials().requests(), 1, "renewed once, not twice");
    assert_eq!(sim.provisioning().requests(), 1);
    assert_eq!(opened_hubs(&sim), ["hub-a", "hub-a", "hub-b"]);
    assert_eq!(
        statuses(&sim),
        [
            (S::DisconnectedRetrying, R::BadCredential),
            (S::DisconnectedRetrying, R::Provisioning),
            (S::Connected, R::ConnectionOk),
        ]
    );
    assert!(give_ups(&sim).is_empty());
    assert_eq!(sim.messages().summary().delivered, 1);
}

// ---------------------------------------------------------------------------
// Server hints
// ---------------------------------------------------------------------------

#[test]
fn mqtt5_server_moved_sends_the_next_attempt_to_the_referenced_hub() {
    let config =
        r#"{"hub": "hub-a", "seed": 14, "policy": {"kind": "fixed", "interval-ms": 1000}}"#;
    let moved = failure::with_server_reference(failure::mqtt5(0x9D), "hub-b");
    let hub = ScriptedHub::new().drop_at(5_000, moved);
    let sim = run_flow(
        "server-moved-0x9d",
        config,
        |b| b.hub(hub),
        |sim| {
            sim.publish_every(1_000, 2_000, 9_000, "telemetry");
        },
        10_000,
    );
    assert_eq!(opened_hubs(&sim), ["hub-a", "hub-b"]);
    assert_eq!(
        statuses(&sim),
        [
            (S::Connected, R::ConnectionOk),
            (S::DisconnectedRetrying, R::ServerMoved),
            (S::Connected, R::ConnectionOk),
        ]
    );
    let summary = sim.messages().summary();
    assert_eq!(summary.delivered, summary.accepted);
}

#[test]
fn throttled_failures_use_the_throttled_curve_and_the_server_hint() {
    let config = r#"{"hub": "hub-a", "seed": 15, "policy": {"kind": "exponential", "initial-ms": 1000, "multiplier": 2, "max-ms": 60000, "jitter": "none", "throttled": {"kind": "exponential", "initial-ms": 5000, "multiplier": 2, "max-ms": 120000, "jitter": "none"}}}"#;
    let hub = ScriptedHub::new().answers([
        OpenAnswer::refuse(40, failure::mqtt5(0x89)),
        OpenAnswer::refuse(
            40,
            failure::with_retry_after(failure::http(429, None), 7_000),
        ),
        OpenAnswer::refuse(40, failure::with_retry_after(failure::http(429, None), 20)),
        OpenAnswer::refuse(40, failure::mqtt5(0x89)),
    ]);
    let sim = run_flow(
        "throttled-curve-and-hint",
        config,
        |b| b.hub(hub),
        |_| {},
        HOUR_MS,
    );
    let got: Vec<(u64, u32, Curve)> = backoffs(&sim)
        .iter()
        .map(|b| (b.delay_ms, b.attempt, b.curve))
        .collect();
    assert_eq!(
        got,
        [
            (5_000, 1, Curve::Throttled),
            (7_000, 2, Curve::ServerHint),
            (1_000, 3, Curve::ServerHint),
            (40_000, 4, Curve::Throttled),
        ],
        "0x89: 5 s; 429 + 7 s hint: 7 s; 20 ms hint raised to 1 s; 0x89 again: 5 s * 2^3"
    );
    assert_eq!(sim.hub().opens(), 5);
    assert_eq!(
        statuses(&sim),
        [
            (S::DisconnectedRetrying, R::ServerBusy),
            (S::DisconnectedRetrying, R::Throttled),
            (S::DisconnectedRetrying, R::ServerBusy),
            (S::Connected, R::ConnectionOk),
        ]
    );
}

// ---------------------------------------------------------------------------
// Messages and the application
// ---------------------------------------------------------------------------

#[test]
fn no_retry_policy_makes_one_attempt_and_fails_in_flight_messages_with_no_retry() {
    let config = r#"{"hub": "hub-a", "seed": 16, "policy": {"kind": "no-retry"}}"#;
    let hub = ScriptedHub::new()
        .no_acks()
        .drop_at(2_000, failure::net(NetworkError::Reset));
    let sim = run_flow(
        "no-retry",
        config,
        |b| b.hub(hub),
        |sim| sim.publish_at(1_000, "telemetry", b"reading"),
        HOUR_MS,
    );
    assert_eq!(sim.hub().opens(), 1);
    assert_eq!(sim.hub().sends(), 1);
    assert_eq!(give_ups(&sim), [GiveUpReason::NoRetry]);
    assert!(backoffs(&sim).is_empty());
    assert_eq!(
        statuses(&sim),
        [
            (S::Connected, R::ConnectionOk),
            (S::Disconnected, R::CommunicationError),
        ]
    );
    let summary = sim.messages().summary();
    assert_eq!(summary.failed_by_reason.get("no-retry"), Some(&1));
    let record = &sim.messages().records()[&1];
    assert_eq!(
        record.outcomes,
        [(2_000, tether_host::Outcome::Failed(MessageFailure::NoRetry))]
    );
}

fn queue_full(mode: &str) -> Sim {
    let config = format!(
        r#"{{"hub": "hub-a", "seed": 17, "queue": {{"capacity": 3, "max-in-flight": 1, "when-full": "{mode}"}}}}"#
    );
    // The hub answers the first open after 5 s: five publishes meet a full queue.
    let hub = ScriptedHub::new().latency_ms(5_000);
    run_flow(
        &format!("queue-full-{mode}"),
        &config,
        |b| b.hub(hub),
        |sim| {
            for i in 1..=5u64 {
                sim.publish_at(i * 100, "telemetry", format!("reading {i}").as_bytes());
            }
        },
        10_000,
    )
}

#[test]
fn queue_full_drop_oldest_fails_the_oldest_queued_messages() {
    let sim = queue_full("drop-oldest");
    let summary = sim.messages().summary();
    assert_eq!(summary.accepted, 5);
    assert_eq!(summary.delivered, 3);
    assert_eq!(summary.failed_by_reason.get("queue-full"), Some(&2));
    assert!(sim.messages().rejected().is_empty());
    let records = sim.messages().records();
    for (id, expected) in [
        (1, MessageFailure::QueueFull),
        (2, MessageFailure::QueueFull),
    ] {
        assert_eq!(
            records[&id].outcomes[0].1,
            tether_host::Outcome::Failed(expected),
            "message {id}, the oldest"
        );
    }
    assert_eq!(
        records[&1].outcomes[0].0, 400,
        "dropped when message 4 came"
    );
    assert_eq!(sim.hub().sends(), 3);
    assert_eq!(sim.hub().opens(), 1);
    assert_eq!(statuses(&sim), [(S::Connected, R::ConnectionOk)]);
}

#[test]
fn queue_full_reject_refuses_new_messages() {
    let sim = queue_full("reject");
    let summary = sim.messages().summary();
    assert_eq!(summary.accepted, 3);
    assert_eq!(summary.delivered, 3);
    assert_eq!(summary.failed, 0);
    assert_eq!(
        sim.messages().rejected(),
        [
            (400, PublishError::QueueFull),
            (500, PublishError::QueueFull)
        ]
    );
    assert_eq!(sim.hub().sends(), 3);
    assert_eq!(statuses(&sim), [(S::Connected, R::ConnectionOk)]);
}

#[test]
fn operation_timeout_fails_messages_not_acknowledged_in_time() {
    let config = r#"{"hub": "hub-a", "seed": 18, "policy": {"kind": "fixed", "interval-ms": 1000}, "queue": {"operation-timeout-ms": 5000}}"#;
    let hub = ScriptedHub::new().refuse_between(0, 20_000, vec![]);
    let sim = run_flow(
        "operation-timeout",
        config,
        |b| b.hub(hub),
        |sim| {
            sim.publish_at(1_000, "telemetry", b"early");
            sim.publish_at(15_000, "telemetry", b"late");
            sim.publish_at(25_000, "telemetry", b"connected");
        },
        30_000,
    );
    let records = sim.messages().records();
    let timeout = tether_host::Outcome::Failed(MessageFailure::OperationTimeout);
    assert_eq!(records[&1].outcomes, [(6_000, timeout)]);
    assert_eq!(records[&2].outcomes, [(20_000, timeout)]);
    assert_eq!(records[&3].outcomes[0].1, tether_host::Outcome::Delivered);
    assert_eq!(sim.hub().sends(), 1, "expired messages are never sent");
    // Refused every 1030 ms from 0 to 19 570, then the open at 20 600 holds.
    assert_eq!(sim.hub().opens(), 21);
    assert_eq!(
        statuses(&sim),
        [
            (S::DisconnectedRetrying, R::CommunicationError),
            (S::Connected, R::ConnectionOk),
        ]
    );
}

#[test]
fn stop_disables_and_fails_queued_messages_with_client_close() {
    let config = r#"{"hub": "hub-a", "seed": 19}"#;
    let sim = run_flow(
        "stop-client-close",
        config,
        |b| b.hub(ScriptedHub::new().no_acks()),
        |sim| {
            sim.publish_every(1_000, 100, 1_200, "telemetry");
            sim.stop_at(5_000);
            sim.publish_at(6_000, "telemetry", b"after stop");
        },
        HOUR_MS,
    );
    assert_eq!(
        statuses(&sim),
        [
            (S::Connected, R::ConnectionOk),
            (S::Disabled, R::ClientClose)
        ]
    );
    let summary = sim.messages().summary();
    assert_eq!(summary.accepted, 3);
    assert_eq!(summary.failed_by_reason.get("client-close"), Some(&3));
    assert_eq!(sim.messages().rejected(), [(6_000, PublishError::Stopped)]);
    assert!(sim.transcript().contains("close link=1"));
    assert_eq!(sim.hub().opens(), 1);
    assert!(give_ups(&sim).is_empty(), "a stop is not a give-up");
}

// ---------------------------------------------------------------------------
// Backoff reset
// ---------------------------------------------------------------------------

/// The first open fails, the second holds for `held_ms`, then drops: the attempt
/// the next backoff counts says whether the backoff started over.
fn backoff_reset(held_ms: u64) -> (Sim, Vec<(u64, u32)>) {
    let config = r#"{"hub": "hub-a", "seed": 20, "policy": {"kind": "exponential", "initial-ms": 1000, "multiplier": 2, "max-ms": 60000, "jitter": "none", "reset-after-ms": 10000}}"#;
    let name = format!("backoff-reset-held-{held_ms}");
    let hub =
        ScriptedHub::new().answers([OpenAnswer::refuse(30, failure::net(NetworkError::Refused))]);
    let mut sim = Sim::builder(config).hub(hub).build(runtime()).unwrap();
    sim.run_until(2_000).unwrap();
    let up = sim.statuses().last().unwrap();
    assert_eq!(up.status, S::Connected);
    let up_ms = up.at / tether_host::NS_PER_MS;
    assert_eq!(
        up_ms, 1_130,
        "failed at 30, retried at 1030, up 100 ms later"
    );
    sim.at(
        up_ms + held_ms,
        Event::HubDrop {
            failure: failure::net(NetworkError::Reset),
        },
    );
    sim.run_until(up_ms + held_ms + 10_000).unwrap();
    finish(&name, config, &sim);
    assert_eq!(
        statuses(&sim),
        [
            (S::DisconnectedRetrying, R::CommunicationError),
            (S::Connected, R::ConnectionOk),
            (S::DisconnectedRetrying, R::CommunicationError),
            (S::Connected, R::ConnectionOk),
        ]
    );
    assert_eq!(sim.hub().opens(), 3);
    let plans = backoffs(&sim)
        .iter()
        .map(|b| (b.delay_ms, b.attempt))
        .collect();
    (sim, plans)
}

#[test]
fn backoff_keeps_counting_when_the_link_held_one_ms_less_than_reset_after() {
    let (_, plans) = backoff_reset(9_999);
    assert_eq!(plans, [(1_000, 1), (2_000, 2)]);
}

#[test]
fn backoff_starts_over_when_the_link_held_reset_after() {
    let (_, plans) = backoff_reset(10_000);
    assert_eq!(plans, [(1_000, 1), (1_000, 1)]);
}

#[test]
fn golden_mismatch_names_the_first_differing_line() {
    let diff = golden::first_difference("a\nb\nc\n", "a\nx\nc\n").unwrap();
    assert!(diff.contains("line 2"), "{diff}");
    assert!(diff.contains("\"b\\n\""), "{diff}");
    assert!(diff.contains("\"x\\n\""), "{diff}");
    let diff = golden::first_difference("a\n", "a\nb\n").unwrap();
    assert!(
        diff.contains("line 2") && diff.contains("(end of file)"),
        "{diff}"
    );
    assert_eq!(golden::first_difference("same\n", "same\n"), None);
}
