//! Unit tests of the connection flow, through its public inputs and commands.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::config;
use crate::plugin::{PluginAnswer, PluginDecision, PluginInput};
use crate::types::{
    ApplicationError, Assignment, Credential, Decision, HttpFailure, NetworkError, Pending,
    PluginFaultReason, ProtocolError, PublishError, SubscribeError,
};

/// A connection with a jitter-free policy so delays are exact.
fn conn(extra: &str) -> Connection {
    let doc = alloc::format!(
        r#"{{"hub": "hub-a", "seed": 1,
            "policy": {{"kind": "exponential", "initial-ms": 1000, "max-ms": 8000, "jitter": "none"}}
            {extra}}}"#
    );
    Connection::new(config::parse(&doc).unwrap(), 1)
}

/// The reading `t` ms after the clock's origin.
fn at(t: u64) -> Instant {
    Instant::from_ms(t)
}

/// `n` milliseconds.
fn ms(n: u64) -> Millis {
    Millis::from_ms(n)
}

fn statuses(out: &[Command]) -> Vec<(Status, Reason)> {
    out.iter()
        .filter_map(|c| match c {
            Command::Status(s) => Some((s.status, s.reason)),
            _ => None,
        })
        .collect()
}

fn opens(out: &[Command]) -> Vec<u64> {
    out.iter()
        .filter_map(|c| match c {
            Command::Open { link, .. } => Some(*link),
            _ => None,
        })
        .collect()
}

fn backoffs(out: &[Command]) -> Vec<u64> {
    out.iter()
        .filter_map(|c| match c {
            Command::Decided(DecisionEvent {
                action: Action::Backoff(p),
                ..
            }) => Some(p.delay_ms.as_ms()),
            _ => None,
        })
        .collect()
}

fn refused() -> Failure {
    Failure::network(NetworkError::Refused)
}

#[test]
fn hub_only_retry_waits_exactly_the_delay() {
    let mut c = conn("");
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    assert_eq!(opens(&out), [1]);
    out.clear();
    c.on_failed(at(10), 1, &refused(), &mut out).unwrap();
    assert_eq!(
        statuses(&out),
        [(Status::DisconnectedRetrying, Reason::CommunicationError)]
    );
    assert_eq!(backoffs(&out), [1000]);
    assert!(out.contains(&Command::WakeAt(at(1010))));
    out.clear();
    c.on_wake(at(1009), &mut out);
    assert!(out.is_empty(), "nothing at deadline - 1: {out:?}");
    c.on_wake(at(1010), &mut out);
    assert_eq!(opens(&out), [2]);
    out.clear();
    assert_eq!(
        c.on_opened(at(1020), 1, &mut out),
        Err(InputError::StaleLink)
    );
    c.on_opened(at(1020), 2, &mut out).unwrap();
    assert_eq!(statuses(&out), [(Status::Connected, Reason::ConnectionOk)]);
}

#[test]
fn fatal_stops_once_and_fails_messages() {
    let mut c = conn("");
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    let id = c.publish(at(0), "t", b"x", &mut out).unwrap();
    out.clear();
    let bad = Failure::protocol(ProtocolError::MqttConnack(1));
    c.on_failed(at(5), 1, &bad, &mut out).unwrap();
    assert_eq!(
        statuses(&out),
        [(Status::Disconnected, Reason::ProtocolError)]
    );
    assert!(out.contains(&Command::Outcome {
        message: id,
        outcome: Outcome::Failed(MessageFailure::Unrecoverable)
    }));
    out.clear();
    c.on_wake(at(100_000), &mut out);
    assert!(out.is_empty());
    assert_eq!(
        c.on_failed(at(6), 1, &bad, &mut out),
        Err(InputError::Stopped)
    );
    assert_eq!(
        c.publish(at(7), "t", b"x", &mut out),
        Err(PublishError::Stopped)
    );
    assert_eq!(c.pending_messages(), 0);
}

#[test]
fn max_attempts_reports_retry_expired_once() {
    let mut c = conn(r#", "policy": {"kind": "fixed", "interval-ms": 100, "max-attempts": 2}"#);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    let mut t = at(0);
    for link in 1..=3 {
        t = t.saturating_add(ms(1));
        c.on_failed(t, link, &refused(), &mut out).unwrap();
        t = t.saturating_add(ms(100));
        c.on_wake(t, &mut out);
    }
    let st = statuses(&out);
    assert_eq!(
        st,
        [
            (Status::DisconnectedRetrying, Reason::CommunicationError),
            (Status::Disconnected, Reason::RetryExpired)
        ]
    );
    assert_eq!(opens(&out), [1, 2, 3]);
}

#[test]
fn ten_failed_reconnects_reprovision_and_the_new_hub_is_used() {
    let mut c = conn(r#", "provisioning": {}"#);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    let mut t = at(0);
    for link in 1..=10 {
        assert_eq!(c.on_failed(t, link, &refused(), &mut out), Ok(()));
        t = c.next_wake().unwrap();
        out.clear();
        c.on_wake(t, &mut out);
        if link < 10 {
            assert_eq!(opens(&out), [link + 1], "link {link}");
        }
    }
    assert!(out.contains(&Command::Register), "{out:?}");
    out.clear();
    let a = ProvisioningResult::Assigned(Assignment {
        hub: "hub-b".into(),
        device_id: "d".into(),
        credential: None,
    });
    c.on_provisioned(t, &a, &mut out).unwrap();
    assert!(matches!(&out[..], [Command::Decided(_), Command::Open { hub, .. }] if hub == "hub-b"));
}

#[test]
fn unauthorized_reprovisions_but_quota_does_not() {
    let mut c = conn(r#", "provisioning": {}"#);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    let quota = Failure::protocol(ProtocolError::Http(HttpFailure {
        status: 403,
        hub_code: Some(403_002),
    }));
    c.on_failed(at(1), 1, &quota, &mut out).unwrap();
    assert_eq!(
        statuses(&out).last(),
        Some(&(Status::DisconnectedRetrying, Reason::QuotaExceeded))
    );
    let t = c.next_wake().unwrap();
    out.clear();
    c.on_wake(t, &mut out);
    assert_eq!(opens(&out), [2]);
    let forbidden = Failure::protocol(ProtocolError::Http(HttpFailure {
        status: 403,
        hub_code: None,
    }));
    c.on_failed(t.saturating_add(ms(1)), 2, &forbidden, &mut out)
        .unwrap();
    let t = c.next_wake().unwrap();
    out.clear();
    c.on_wake(t, &mut out);
    assert_eq!(out.iter().filter(|c| **c == Command::Register).count(), 1);
}

#[test]
fn provisioning_pending_is_polled_after_the_clamped_retry_after() {
    let mut c = Connection::new(
        config::parse(r#"{"provisioning": {}, "seed": 3}"#).unwrap(),
        3,
    );
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    assert!(out.contains(&Command::Register));
    out.clear();
    let p = ProvisioningResult::Pending(Pending {
        operation_id: "op".into(),
        retry_after_ms: Some(ms(1)),
    });
    c.on_provisioned(at(10), &p, &mut out).unwrap();
    assert_eq!(c.next_wake(), Some(at(2010)), "clamped up to 2 s");
    c.on_wake(at(2009), &mut out);
    assert!(!out.iter().any(|c| matches!(c, Command::Poll { .. })));
    c.on_wake(at(2010), &mut out);
    assert!(out.contains(&Command::Poll {
        operation_id: "op".into()
    }));
}

#[test]
fn routine_renewal_at_80_percent_is_not_a_fault() {
    let mut c = conn(r#", "credential": {"renewable": true}"#);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    assert_eq!(out.last(), Some(&Command::Renew));
    let cred = Credential {
        secret: "s1".into(),
        lifetime_ms: Some(ms(10_000)),
    };
    c.on_credential(at(0), Ok(&cred), &mut out).unwrap();
    c.on_opened(at(5), 1, &mut out).unwrap();
    assert_eq!(c.next_wake(), Some(at(8000)));
    out.clear();
    c.on_wake(at(7999), &mut out);
    assert!(out.is_empty());
    c.on_wake(at(8000), &mut out);
    assert_eq!(out.last(), Some(&Command::Renew));
    out.clear();
    let cred2 = Credential {
        secret: "s2".into(),
        lifetime_ms: Some(ms(10_000)),
    };
    c.on_credential(at(8001), Ok(&cred2), &mut out).unwrap();
    assert_eq!(
        statuses(&out),
        [(Status::DisconnectedRetrying, Reason::CredentialRenewal)]
    );
    assert!(out.contains(&Command::Close { link: 1 }));
    assert!(
        out.iter()
            .any(|c| matches!(c, Command::Open { link: 2, credential: Some(s), .. } if s == "s2"))
    );
    assert!(backoffs(&out).is_empty(), "a renewal is no failure");
}

#[test]
fn refused_fresh_credential_escalates() {
    let mut c = conn(r#", "credential": {"renewable": true, "secret": "old"}"#);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    let denied = Failure::protocol(ProtocolError::MqttReason(0x87));
    c.on_failed(at(1), 1, &denied, &mut out).unwrap();
    assert_eq!(out.last(), Some(&Command::Renew));
    let cred = Credential {
        secret: "new".into(),
        lifetime_ms: None,
    };
    c.on_credential(at(2), Ok(&cred), &mut out).unwrap();
    out.clear();
    c.on_failed(at(3), 2, &denied, &mut out).unwrap();
    assert_eq!(
        statuses(&out),
        [(Status::Disconnected, Reason::BadCredential)]
    );
}

#[test]
fn every_accepted_message_gets_exactly_one_outcome() {
    let mut c =
        conn(r#", "queue": {"capacity": 3, "max-in-flight": 2, "operation-timeout-ms": 5000}"#);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    c.on_opened(at(1), 1, &mut out).unwrap();
    let ids: Vec<u64> = (0..4)
        .map(|_| c.publish(at(2), "t", b"p", &mut out).unwrap())
        .collect();
    // Two in flight, one queued; the fourth pushed out the oldest queued one.
    assert!(out.contains(&Command::Outcome {
        message: ids[2],
        outcome: Outcome::Failed(MessageFailure::QueueFull)
    }));
    c.on_acked(at(3), ids[0], &mut out).unwrap();
    assert_eq!(
        c.on_acked(at(3), ids[0], &mut out),
        Err(InputError::UnknownMessage)
    );
    c.on_closed(at(4), 1, &refused(), &mut out).unwrap();
    c.on_wake(at(5002), &mut out);
    let mut seen: Vec<(u64, Outcome)> = out
        .iter()
        .filter_map(|c| match c {
            Command::Outcome { message, outcome } => Some((*message, *outcome)),
            _ => None,
        })
        .collect();
    seen.sort_by_key(|(id, _)| *id);
    assert_eq!(
        seen,
        [
            (ids[0], Outcome::Delivered),
            (ids[1], Outcome::Failed(MessageFailure::OperationTimeout)),
            (ids[2], Outcome::Failed(MessageFailure::QueueFull)),
            (ids[3], Outcome::Failed(MessageFailure::OperationTimeout)),
        ]
    );
    assert_eq!(c.pending_messages(), 0);
}

#[test]
fn no_retry_fails_in_flight_messages_with_no_retry() {
    let mut c = conn(r#", "policy": {"kind": "no-retry"}"#);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    c.on_opened(at(1), 1, &mut out).unwrap();
    let id = c.publish(at(2), "t", b"p", &mut out).unwrap();
    out.clear();
    c.on_closed(at(3), 1, &Failure::network(NetworkError::Reset), &mut out)
        .unwrap();
    assert!(out.contains(&Command::Outcome {
        message: id,
        outcome: Outcome::Failed(MessageFailure::NoRetry)
    }));
    assert_eq!(
        statuses(&out),
        [(Status::Disconnected, Reason::CommunicationError)]
    );
}

#[test]
fn server_reference_moves_the_hub() {
    let mut c = conn("");
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    let moved = Failure::protocol(ProtocolError::MqttReason(0x9D)).with_server_reference("hub-z");
    c.on_failed(at(1), 1, &moved, &mut out).unwrap();
    let t = c.next_wake().unwrap();
    out.clear();
    c.on_wake(t, &mut out);
    assert!(
        out.iter()
            .any(|c| matches!(c, Command::Open { hub, .. } if hub == "hub-z"))
    );
}

#[test]
fn stop_fails_queued_messages_with_client_close() {
    let mut c = conn("");
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    let id = c.publish(at(0), "t", b"p", &mut out).unwrap();
    out.clear();
    c.stop(at(1), &mut out);
    assert_eq!(
        out,
        [
            Command::Close { link: 1 },
            Command::Outcome {
                message: id,
                outcome: Outcome::Failed(MessageFailure::ClientClose)
            },
            Command::Status(StatusChange {
                at: at(1),
                status: Status::Disabled,
                reason: Reason::ClientClose
            }),
        ]
    );
    let _ = ApplicationError::Throttled;
}

/// What a scripted plugin host was asked: attempt, fallback, params.
type Asked = alloc::rc::Rc<core::cell::RefCell<Vec<(u32, PluginDecision, String)>>>;

/// A plugin host that answers from a script, recording what it was asked.
#[derive(Debug)]
struct Scripted {
    answers: alloc::collections::VecDeque<PluginAnswer>,
    asked: Asked,
}

impl PluginHost for Scripted {
    fn decide(&mut self, plugin: &str, input: &PluginInput<'_>) -> PluginAnswer {
        assert_eq!(plugin, "p.wasm");
        self.asked
            .borrow_mut()
            .push((input.attempt, input.fallback, input.params.into()));
        self.answers
            .pop_front()
            .unwrap_or(PluginAnswer::Decided(PluginDecision::RetryAfter(ms(7))))
    }
}

fn plugin_conn(answers: Vec<PluginAnswer>) -> (Connection, Asked) {
    let doc = r#"{"hub": "hub-a", "seed": 1, "policy": {"kind": "custom", "plugin": "p.wasm",
        "params": {"a": 1}, "max-delay-ms": 60000,
        "fallback": {"kind": "fixed", "interval-ms": 1000}}}"#;
    let asked = alloc::rc::Rc::new(core::cell::RefCell::new(Vec::new()));
    let host = Scripted {
        answers: answers.into(),
        asked: asked.clone(),
    };
    let c = Connection::new(config::parse(doc).unwrap(), 1)
        .with_plugin_host(alloc::boxed::Box::new(host));
    (c, asked)
}

fn faults(out: &[Command]) -> Vec<PluginFault> {
    out.iter()
        .filter_map(|c| match c {
            Command::PluginFault(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

/// Start, then fail `n` opens in a row, 1 s apart; everything that came out.
fn fail_opens(c: &mut Connection, n: u64) -> Vec<Command> {
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    let mut now = at(0);
    for link in 1..=n {
        c.on_failed(now, link, &refused(), &mut out).unwrap();
        now = now.saturating_add(ms(1_000));
        c.on_wake(now, &mut out);
    }
    out
}

#[test]
fn a_valid_plugin_answer_is_used_and_an_invalid_one_falls_back() {
    let (mut c, asked) = plugin_conn(alloc::vec![
        PluginAnswer::Decided(PluginDecision::RetryAfter(ms(500))),
        PluginAnswer::Decided(PluginDecision::RetryAfter(ms(u64::MAX))),
    ]);
    let out = fail_opens(&mut c, 2);
    assert_eq!(backoffs(&out), [500, 1_000]);
    let f = faults(&out);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].reason, PluginFaultReason::InvalidAnswer);
    assert_eq!(f[0].used, Decision::RetryAfter(ms(1_000)));
    assert!(
        f[0].detail.contains("over max-delay-ms 60000"),
        "{}",
        f[0].detail
    );
    let asked = asked.borrow();
    assert_eq!(
        asked[0],
        (
            1,
            PluginDecision::RetryAfter(ms(1_000)),
            r#"{"a":1}"#.into()
        )
    );
}

#[test]
fn failures_fall_back_and_quarantine_after_three_in_a_row() {
    let trap = || PluginAnswer::Failed(PluginFaultReason::Trap, "x".repeat(1_000));
    let (mut c, asked) = plugin_conn(alloc::vec![trap(), trap(), trap(), trap()]);
    let out = fail_opens(&mut c, 5);
    let f = faults(&out);
    assert_eq!(f.len(), 3);
    assert!(
        f.iter()
            .all(|f| f.detail.len() == crate::types::PLUGIN_DETAIL_MAX)
    );
    assert_eq!(
        f.iter().map(|f| f.quarantined).collect::<Vec<_>>(),
        [false, false, true]
    );
    assert_eq!(backoffs(&out), [1_000; 5]);
    assert_eq!(asked.borrow().len(), 3, "not asked once quarantined");
    assert_eq!(c.plugin_quarantined(), Some(true));
}

#[test]
fn without_a_plugin_host_the_fallback_decides_as_unavailable() {
    let doc = r#"{"hub": "hub-a", "seed": 1, "policy": {"kind": "custom", "plugin": "p.wasm"}}"#;
    let mut c = Connection::new(config::parse(doc).unwrap(), 1);
    let out = fail_opens(&mut c, 1);
    let f = faults(&out);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].reason, PluginFaultReason::Unavailable);
    assert_eq!(backoffs(&out).len(), 1);
}

#[test]
fn a_plugin_that_gives_up_stops_the_connection() {
    let (mut c, _) = plugin_conn(alloc::vec![PluginAnswer::Decided(PluginDecision::GiveUp)]);
    let out = fail_opens(&mut c, 1);
    assert!(out.contains(&Command::Decided(DecisionEvent {
        at: at(0),
        cause: Some(classify(&refused())),
        action: Action::GiveUp(GiveUpReason::Plugin),
    })));
    assert_eq!(c.status().reason, Reason::RetryExpired);
}

fn subscribes(out: &[Command]) -> Vec<(u64, Vec<String>)> {
    out.iter()
        .filter_map(|c| match c {
            Command::Subscribe { link, filters } => Some((*link, filters.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn subscriptions_are_restored_on_every_new_link() {
    let mut c = conn("");
    let mut out = Vec::new();
    c.subscribe("devices/d/messages/devicebound/#", &mut out)
        .unwrap();
    assert!(subscribes(&out).is_empty(), "no link yet");
    c.start(at(0), &mut out).unwrap();
    c.on_opened(at(10), 1, &mut out).unwrap();
    assert_eq!(
        subscribes(&out),
        [(1, vec!["devices/d/messages/devicebound/#".to_string()])]
    );
    out.clear();
    c.subscribe("app/cmd", &mut out).unwrap();
    c.subscribe("app/cmd", &mut out).unwrap();
    assert_eq!(subscribes(&out), [(1, vec!["app/cmd".to_string()])], "once");
    out.clear();
    c.on_closed(at(20), 1, &refused(), &mut out).unwrap();
    c.on_wake(at(2000), &mut out);
    c.on_opened(at(2010), 2, &mut out).unwrap();
    assert_eq!(
        subscribes(&out),
        [(
            2,
            vec![
                "devices/d/messages/devicebound/#".to_string(),
                "app/cmd".to_string()
            ]
        )]
    );
    assert_eq!(c.subscribe("", &mut out), Err(SubscribeError::EmptyFilter));
    for n in 2..MAX_SUBSCRIPTIONS {
        c.subscribe(&alloc::format!("t/{n}"), &mut out).unwrap();
    }
    assert_eq!(
        c.subscribe("one-more", &mut out),
        Err(SubscribeError::TooMany)
    );
    c.stop(at(3000), &mut out);
    assert_eq!(c.subscribe("late", &mut out), Err(SubscribeError::Stopped));
}

fn sends(out: &[Command]) -> Vec<u64> {
    out.iter()
        .filter_map(|c| match c {
            Command::Send { message, .. } => Some(*message),
            _ => None,
        })
        .collect()
}

fn outcomes(out: &[Command]) -> Vec<(u64, Outcome)> {
    out.iter()
        .filter_map(|c| match c {
            Command::Outcome { message, outcome } => Some((*message, *outcome)),
            _ => None,
        })
        .collect()
}

fn puback(code: u8) -> Failure {
    Failure::protocol(ProtocolError::MqttReason(code))
}

#[test]
fn a_quota_refusal_resends_the_message_after_the_backoff() {
    let mut c = conn("");
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    c.on_opened(at(1), 1, &mut out).unwrap();
    let a = c.publish(at(2), "t", b"a", &mut out).unwrap();
    let b = c.publish(at(2), "t", b"b", &mut out).unwrap();
    out.clear();
    c.on_refused(at(10), a, &puback(0x97), &mut out).unwrap();
    // Not resent yet, no outcome, the link untouched; a wake-up at the end of the wait.
    assert_eq!(sends(&out), Vec::<u64>::new());
    assert_eq!(outcomes(&out), []);
    assert_eq!(statuses(&out), []);
    assert!(out.contains(&Command::WakeAt(at(1010))), "{out:?}");
    assert_eq!(c.pending_messages(), 2);
    c.on_acked(at(20), b, &mut out).unwrap();
    assert_eq!(
        sends(&out),
        Vec::<u64>::new(),
        "the wait holds after an ack"
    );
    out.clear();
    c.on_wake(at(1009), &mut out);
    assert_eq!(sends(&out), Vec::<u64>::new());
    c.on_wake(at(1010), &mut out);
    assert_eq!(sends(&out), [a]);
    c.on_acked(at(1020), a, &mut out).unwrap();
    assert_eq!(outcomes(&out), [(a, Outcome::Delivered)]);
    assert_eq!(c.pending_messages(), 0);
}

#[test]
fn a_refusal_resending_cannot_fix_ends_the_message_at_once() {
    let mut c = conn("");
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    c.on_opened(at(1), 1, &mut out).unwrap();
    let ids: Vec<u64> = (0..5)
        .map(|_| c.publish(at(2), "t", b"p", &mut out).unwrap())
        .collect();
    out.clear();
    for (id, code) in ids.iter().zip([0x87, 0x90, 0x99, 0x83]) {
        c.on_refused(at(3), *id, &puback(code), &mut out).unwrap();
    }
    c.on_acked(at(4), ids[4], &mut out).unwrap();
    assert_eq!(
        outcomes(&out),
        [
            (ids[0], Outcome::Failed(MessageFailure::NotAuthorized)),
            (ids[1], Outcome::Failed(MessageFailure::TopicInvalid)),
            (ids[2], Outcome::Failed(MessageFailure::PayloadInvalid)),
            (ids[3], Outcome::Failed(MessageFailure::Refused)),
            (ids[4], Outcome::Delivered),
        ]
    );
    assert_eq!(statuses(&out), [], "a refusal is not a connection failure");
    assert_eq!(sends(&out), Vec::<u64>::new(), "nothing is resent");
    assert_eq!(c.pending_messages(), 0);
    assert_eq!(
        c.on_refused(at(5), ids[0], &puback(0x87), &mut out),
        Err(InputError::UnknownMessage)
    );
}

#[test]
fn refusals_are_bounded_and_the_wait_doubles() {
    let mut c = conn(r#", "queue": {"max-refusals": 3, "refusal-backoff-ms": 100}"#);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    c.on_opened(at(1), 1, &mut out).unwrap();
    let id = c.publish(at(2), "t", b"p", &mut out).unwrap();
    out.clear();
    c.on_refused(at(10), id, &puback(0x97), &mut out).unwrap();
    c.on_wake(at(110), &mut out);
    assert_eq!(sends(&out), [id]);
    out.clear();
    c.on_refused(at(120), id, &puback(0x97), &mut out).unwrap();
    c.on_wake(at(319), &mut out);
    assert_eq!(sends(&out), Vec::<u64>::new(), "the second wait is 200 ms");
    c.on_wake(at(320), &mut out);
    assert_eq!(sends(&out), [id]);
    out.clear();
    c.on_refused(at(330), id, &puback(0x97), &mut out).unwrap();
    assert_eq!(
        outcomes(&out),
        [(id, Outcome::Failed(MessageFailure::QuotaExceeded))]
    );
    assert_eq!(c.pending_messages(), 0);
    assert_eq!(c.next_wake(), None);
}

#[test]
fn a_refused_message_waits_across_a_reconnect_and_a_stop_fails_it_once() {
    let mut c = conn("");
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    c.on_opened(at(1), 1, &mut out).unwrap();
    let id = c.publish(at(2), "t", b"p", &mut out).unwrap();
    c.on_refused(at(3), id, &puback(0x80), &mut out).unwrap();
    c.on_closed(at(4), 1, &refused(), &mut out).unwrap();
    c.on_wake(at(1004), &mut out);
    out.clear();
    c.on_opened(at(1005), 2, &mut out).unwrap();
    assert_eq!(sends(&out), [id], "its wait is over by the new link");
    out.clear();
    c.stop(at(1006), &mut out);
    assert_eq!(
        outcomes(&out),
        [(id, Outcome::Failed(MessageFailure::ClientClose))]
    );
    assert_eq!(
        c.on_refused(at(1007), id, &puback(0x97), &mut out),
        Err(InputError::Stopped)
    );
}

fn takeover() -> Failure {
    puback(0x8E)
}

#[test]
fn a_taken_over_session_is_retried_a_bounded_number_of_times_per_outage() {
    let mut c = conn(r#", "takeover-retries": 2"#);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    let id = c.publish(at(0), "t", b"p", &mut out).unwrap();
    let mut t = 1;
    for link in 1..=2 {
        c.on_opened(at(t), link, &mut out).unwrap();
        out.clear();
        c.on_closed(at(t + 1), link, &takeover(), &mut out).unwrap();
        assert_eq!(
            statuses(&out),
            [(Status::DisconnectedRetrying, Reason::SessionTakenOver)]
        );
        let wait = backoffs(&out)[0];
        t += 1 + wait;
        c.on_wake(at(t), &mut out);
        assert_eq!(opens(&out), [link + 1]);
    }
    c.on_opened(at(t), 3, &mut out).unwrap();
    out.clear();
    c.on_closed(at(t + 1), 3, &takeover(), &mut out).unwrap();
    assert_eq!(
        statuses(&out),
        [(Status::Disconnected, Reason::SessionTakenOver)]
    );
    assert_eq!(
        outcomes(&out),
        [(id, Outcome::Failed(MessageFailure::Unrecoverable))]
    );
}

#[test]
fn a_link_that_held_starts_the_takeover_count_over() {
    let mut c = conn(r#", "takeover-retries": 1"#);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    c.on_opened(at(1), 1, &mut out).unwrap();
    c.on_closed(at(2), 1, &takeover(), &mut out).unwrap();
    let wait = backoffs(&out)[0];
    c.on_wake(at(2 + wait), &mut out);
    c.on_opened(at(3 + wait), 2, &mut out).unwrap();
    out.clear();
    // Held past reset-after-ms (30 s by default): a new outage, a new count.
    c.on_closed(at(40_000), 2, &takeover(), &mut out).unwrap();
    assert_eq!(
        statuses(&out),
        [(Status::DisconnectedRetrying, Reason::SessionTakenOver)]
    );
}

#[test]
fn no_takeover_retries_stops_at_the_first_takeover() {
    let mut c = conn(r#", "takeover-retries": 0"#);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    c.on_opened(at(1), 1, &mut out).unwrap();
    out.clear();
    c.on_closed(at(2), 1, &takeover(), &mut out).unwrap();
    assert_eq!(
        statuses(&out),
        [(Status::Disconnected, Reason::SessionTakenOver)]
    );
}

#[test]
fn refused_messages_keep_the_order_of_acceptance() {
    let mut c = conn(r#", "queue": {"max-in-flight": 2}"#);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    c.on_opened(at(1), 1, &mut out).unwrap();
    let ids: Vec<u64> = (0..4)
        .map(|_| c.publish(at(2), "t", b"p", &mut out).unwrap())
        .collect();
    out.clear();
    c.on_refused(at(10), ids[0], &puback(0x97), &mut out)
        .unwrap();
    assert_eq!(
        sends(&out),
        [ids[2]],
        "the window fills past the waiting one"
    );
    // The window is full: its wait's end is no reason to wake.
    assert_eq!(c.next_wake(), None);
    out.clear();
    c.on_acked(at(2000), ids[1], &mut out).unwrap();
    assert_eq!(sends(&out), [ids[0]], "the oldest ready message goes first");
    c.on_closed(at(2001), 1, &refused(), &mut out).unwrap();
    let wait = backoffs(&out)[0];
    c.on_wake(at(2001 + wait), &mut out);
    out.clear();
    c.on_opened(at(2002 + wait), 2, &mut out).unwrap();
    assert_eq!(sends(&out), [ids[0], ids[2]]);
    out.clear();
    c.stop(at(2003 + wait), &mut out);
    assert_eq!(
        outcomes(&out),
        [ids[0], ids[2], ids[3]].map(|id| (id, Outcome::Failed(MessageFailure::ClientClose)))
    );
}

#[test]
fn a_fleet_section_puts_retries_in_the_device_slots() {
    // 1,000 devices at 100/s, device 250 of them: period 10.2 s, slot at a quarter
    // of it (2,550 ms after the outage's first failure) and every 10.2 s after.
    let mut c = conn(
        r#", "fleet": {"devices": 1000, "admissions-per-s": 100, "index": 250,
                        "local-share": 0.5}"#,
    );
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    c.on_failed(at(100), 1, &refused(), &mut out).unwrap();
    assert_eq!(backoffs(&out), [2_550], "the first slot, from the failure");
    out.clear();
    c.on_wake(at(2_650), &mut out);
    assert_eq!(opens(&out), [2]);
    out.clear();
    // Refused again 50 ms into its slot: the next slot, one period on.
    c.on_failed(at(2_700), 2, &refused(), &mut out).unwrap();
    assert_eq!(backoffs(&out), [10_200 - 50]);
    out.clear();
    c.on_wake(at(12_850), &mut out);
    assert_eq!(opens(&out), [3]);
    out.clear();
    // The outage began at the hub: a later failure of the device's own network
    // keeps the hub's period.
    let local = Failure::network(NetworkError::Unreachable);
    c.on_failed(at(12_900), 3, &local, &mut out).unwrap();
    assert_eq!(backoffs(&out), [23_050 - 12_900]);
    // An outage that begins with the device's own network: half the period, with
    // the random phases' headroom (1.334 at 100/s: 6,670 ms), the same phase.
    let mut c = conn(
        r#", "fleet": {"devices": 1000, "admissions-per-s": 100, "index": 250,
                        "local-share": 0.5}"#,
    );
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    c.on_failed(at(100), 1, &local, &mut out).unwrap();
    assert_eq!(backoffs(&out), [1_667]);
    out.clear();
    c.on_wake(at(1_767), &mut out);
    // The hub refuses it when its network is back: still the local period.
    c.on_failed(at(1_800), 2, &refused(), &mut out).unwrap();
    assert_eq!(backoffs(&out), [1_667 + 6_670 - 1_700]);
}

#[test]
fn without_an_index_the_phase_is_drawn_once_per_outage() {
    let fleet = r#", "fleet": {"devices": 1000, "admissions-per-s": 100}"#;
    let mut c = conn(fleet);
    let mut out = Vec::new();
    c.start(at(0), &mut out).unwrap();
    c.on_failed(at(0), 1, &refused(), &mut out).unwrap();
    let first = backoffs(&out)[0];
    // Random phases: headroom 1.334 at 100/s, a period of 13,340 ms.
    assert!(first < 13_340, "{first}");
    out.clear();
    c.on_wake(at(first), &mut out);
    c.on_failed(at(first), 2, &refused(), &mut out).unwrap();
    assert_eq!(backoffs(&out), [13_340], "the same phase, one period on");
    // Another seed, another phase.
    let doc = alloc::format!(
        r#"{{"hub": "hub-a", "policy": {{"kind": "exponential", "jitter": "none"}} {fleet}}}"#
    );
    let firsts: alloc::collections::BTreeSet<u64> = (0..20)
        .map(|seed| {
            let mut c = Connection::new(config::parse(&doc).unwrap(), seed);
            let mut out = Vec::new();
            c.start(at(0), &mut out).unwrap();
            c.on_failed(at(0), 1, &refused(), &mut out).unwrap();
            backoffs(&out)[0]
        })
        .collect();
    assert!(firsts.len() > 15, "{firsts:?}");
}
