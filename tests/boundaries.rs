//! Boundary pairs through the component: nothing happens at `deadline - 1 ms` (nor
//! one nanosecond before the deadline), the action happens at the deadline. Every
//! timer the connection keeps is covered: the backoff wake, the provisioning poll,
//! the routine credential renewal at 80%, the operation timeout, the retry timeout
//! and the backoff reset. Early and extra `on-wake` calls make no import calls.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use tether_host::syntax::failure;
use tether_host::{
    Action, Command, Credential, GiveUpReason, MessageFailure, NS_PER_MS, NetworkError, Outcome,
    Pending, ProvisioningResult, Reason, Status,
};
use tether_tests::rig::{Rig, actions, opens, outcomes, statuses, wakes_ms};

fn refused() -> tether_host::Failure {
    failure::net(NetworkError::Refused)
}

/// `on-wake` at `ms` produces no import call at all.
#[track_caller]
fn quiet_wake(rig: &mut Rig, ms: u64) {
    let step = rig.at(ms).on_wake().unwrap();
    assert!(
        step.commands.is_empty(),
        "on-wake at {ms} ms should do nothing: {:?}",
        step.commands
    );
}

/// `on-wake` one nanosecond before `ms`: the component reads whole milliseconds, so
/// this is still `ms - 1` to it and must do nothing.
#[track_caller]
fn quiet_wake_one_ns_before(rig: &mut Rig, ms: u64) {
    rig.clock.set_ns(ms * NS_PER_MS - 1);
    let step = rig.device.on_wake().unwrap();
    assert!(
        step.commands.is_empty(),
        "on-wake 1 ns before {ms} ms should do nothing: {:?}",
        step.commands
    );
}

/// `on-wake` at `ms`: its commands.
fn wake(rig: &mut Rig, ms: u64) -> Vec<Command> {
    rig.at(ms).on_wake().unwrap().commands
}

#[test]
fn backoff_wake_fires_at_the_deadline_not_before() {
    let mut rig = Rig::new(
        r#"{"hub": "hub-a", "seed": 1, "policy": {"kind": "fixed", "interval-ms": 1000}}"#,
    );
    let step = rig.at(0).start().unwrap();
    assert_eq!(opens(&step.commands), [(1, "hub-a".to_string())]);
    let step = rig.at(10).on_failed(1, &refused()).unwrap();
    assert_eq!(step.result, Ok(()));
    assert_eq!(wakes_ms(&step.commands), [1_010]);
    assert_eq!(rig.next_wake_ms(), Some(1_010));

    quiet_wake(&mut rig, 1_009);
    quiet_wake_one_ns_before(&mut rig, 1_010);
    let at = wake(&mut rig, 1_010);
    assert_eq!(opens(&at), [(2, "hub-a".to_string())]);
    // The same deadline again: already handled.
    quiet_wake(&mut rig, 1_010);
    assert_eq!(rig.next_wake_ms(), None, "opening: no timer");
}

#[test]
fn provisioning_poll_fires_at_the_deadline_not_before() {
    let mut rig = Rig::new(r#"{"provisioning": {}, "seed": 2}"#);
    let step = rig.at(0).start().unwrap();
    assert!(step.commands.contains(&Command::Register));
    let pending = ProvisioningResult::Pending(Pending {
        operation_id: "op-1".into(),
        retry_after_ms: Some(3_000),
    });
    let step = rig.at(100).on_provisioned(&pending).unwrap();
    assert_eq!(step.result, Ok(()));
    assert_eq!(wakes_ms(&step.commands), [3_100]);
    assert_eq!(actions(&step.commands), [Action::PollProvisioning(3_000)]);

    quiet_wake(&mut rig, 3_099);
    quiet_wake_one_ns_before(&mut rig, 3_100);
    let at = wake(&mut rig, 3_100);
    assert_eq!(
        at,
        [Command::Poll {
            operation_id: "op-1".into()
        }]
    );
    quiet_wake(&mut rig, 3_100);
}

#[test]
fn provisioning_poll_without_retry_after_uses_the_default_interval() {
    let mut rig = Rig::new(r#"{"provisioning": {"poll-default-ms": 2500}, "seed": 2}"#);
    let _ = rig.at(0).start().unwrap();
    let pending = ProvisioningResult::Pending(Pending {
        operation_id: "op-2".into(),
        retry_after_ms: None,
    });
    let step = rig.at(40).on_provisioned(&pending).unwrap();
    assert_eq!(wakes_ms(&step.commands), [2_540]);
    quiet_wake(&mut rig, 2_539);
    assert_eq!(
        wake(&mut rig, 2_540),
        [Command::Poll {
            operation_id: "op-2".into()
        }]
    );
}

#[test]
fn routine_credential_renewal_fires_at_exactly_80_percent() {
    let mut rig = Rig::new(r#"{"hub": "hub-a", "seed": 3, "credential": {"renewable": true}}"#);
    let step = rig.at(0).start().unwrap();
    assert_eq!(step.commands.last(), Some(&Command::Renew));
    let credential = Credential {
        secret: "token-1".into(),
        lifetime_ms: Some(12_345),
    };
    let step = rig.at(1_000).on_credential(Ok(&credential)).unwrap();
    assert_eq!(opens(&step.commands), [(1, "hub-a".to_string())]);
    let step = rig.at(1_100).on_opened(1).unwrap();
    // 80% of 12 345 ms is 9 876 ms, counted from when the credential arrived.
    assert_eq!(wakes_ms(&step.commands), [10_876]);

    quiet_wake(&mut rig, 10_875);
    quiet_wake_one_ns_before(&mut rig, 10_876);
    let at = wake(&mut rig, 10_876);
    assert_eq!(actions(&at), [Action::RenewCredential(true)]);
    assert_eq!(at.last(), Some(&Command::Renew));
    assert!(statuses(&at).is_empty(), "asking is not a status change");
    quiet_wake(&mut rig, 10_876);
    quiet_wake(&mut rig, 20_000);
}

#[test]
fn configured_credential_is_renewed_at_80_percent_of_its_lifetime_from_start() {
    let mut rig = Rig::new(
        r#"{"hub": "hub-a", "seed": 3, "credential": {"renewable": true, "secret": "s", "lifetime-ms": 10000}}"#,
    );
    let step = rig.at(500).start().unwrap();
    assert_eq!(opens(&step.commands), [(1, "hub-a".to_string())]);
    let _ = rig.at(600).on_opened(1).unwrap();
    assert_eq!(rig.next_wake_ms(), Some(8_500));
    quiet_wake(&mut rig, 8_499);
    let at = wake(&mut rig, 8_500);
    assert_eq!(at.last(), Some(&Command::Renew));
}

#[test]
fn operation_timeout_fails_a_queued_message_at_the_deadline_not_before() {
    let mut rig =
        Rig::new(r#"{"hub": "hub-a", "seed": 4, "queue": {"operation-timeout-ms": 5000}}"#);
    let _ = rig.at(0).start().unwrap();
    // Link 1 never answers: the message waits in the queue.
    let step = rig.at(1_000).publish("t", b"x").unwrap();
    let id = step.result.unwrap();
    assert_eq!(wakes_ms(&step.commands), [6_000]);

    quiet_wake(&mut rig, 5_999);
    quiet_wake_one_ns_before(&mut rig, 6_000);
    let at = wake(&mut rig, 6_000);
    assert_eq!(
        outcomes(&at),
        [(id, Outcome::Failed(MessageFailure::OperationTimeout))]
    );
    assert_eq!(rig.device.pending_messages().unwrap(), 0);
    quiet_wake(&mut rig, 6_000);
}

#[test]
fn operation_timeout_fails_an_unacknowledged_message_in_flight() {
    let mut rig =
        Rig::new(r#"{"hub": "hub-a", "seed": 4, "queue": {"operation-timeout-ms": 5000}}"#);
    let _ = rig.at(0).start().unwrap();
    let _ = rig.at(100).on_opened(1).unwrap();
    let step = rig.at(200).publish("t", b"x").unwrap();
    let id = step.result.unwrap();
    assert!(matches!(step.commands[0], Command::Send { link: 1, .. }));
    quiet_wake(&mut rig, 5_199);
    let at = wake(&mut rig, 5_200);
    assert_eq!(
        outcomes(&at),
        [(id, Outcome::Failed(MessageFailure::OperationTimeout))]
    );
    // The late acknowledgement names a message that is no longer in flight.
    let late = rig.at(5_300).on_acked(id).unwrap();
    assert_eq!(late.result, Err(tether_host::InputError::UnknownMessage));
    assert!(late.commands.is_empty());
}

/// Fail the first attempt at 0 and the second at `second_fail_ms`, with a fixed
/// 1 s interval and a 5 s retry timeout.
fn retry_timeout_rig(second_fail_ms: u64) -> (Rig, Vec<Command>) {
    let mut rig = Rig::new(
        r#"{"hub": "hub-a", "seed": 5, "policy": {"kind": "fixed", "interval-ms": 1000, "retry-timeout-ms": 5000}}"#,
    );
    let _ = rig.at(0).start().unwrap();
    let _ = rig.at(0).on_failed(1, &refused()).unwrap();
    assert_eq!(opens(&wake(&mut rig, 1_000)), [(2, "hub-a".to_string())]);
    let step = rig.at(second_fail_ms).on_failed(2, &refused()).unwrap();
    assert_eq!(step.result, Ok(()));
    (rig, step.commands)
}

#[test]
fn retry_timeout_allows_a_retry_starting_exactly_at_the_deadline() {
    // The outage began at 0; the retry would start at 4000 + 1000 = 5000.
    let (mut rig, commands) = retry_timeout_rig(4_000);
    let plans: Vec<_> = actions(&commands)
        .into_iter()
        .filter_map(|a| match a {
            Action::Backoff(p) => Some(p.delay_ms),
            _ => None,
        })
        .collect();
    assert_eq!(plans, [1_000]);
    assert!(
        statuses(&commands).is_empty(),
        "still disconnected-retrying"
    );
    quiet_wake(&mut rig, 4_999);
    assert_eq!(opens(&wake(&mut rig, 5_000)), [(3, "hub-a".to_string())]);
}

#[test]
fn retry_timeout_gives_up_when_the_retry_would_start_1_ms_late() {
    let (mut rig, commands) = retry_timeout_rig(4_001);
    assert_eq!(
        actions(&commands),
        [Action::GiveUp(GiveUpReason::RetryTimeout)]
    );
    let st = statuses(&commands);
    assert_eq!(st.len(), 1);
    assert_eq!(
        (st[0].status, st[0].reason),
        (Status::Disconnected, Reason::RetryExpired)
    );
    assert_eq!(rig.next_wake_ms(), None);
    quiet_wake(&mut rig, 5_001);
    quiet_wake(&mut rig, 1_000_000);
}

/// Fail the first open at 0, connect the second at 1000, drop it after `held_ms`:
/// the backoff plan that follows.
fn reset_after_rig(held_ms: u64) -> (u64, u32) {
    let mut rig = Rig::new(
        r#"{"hub": "hub-a", "seed": 6, "policy": {"kind": "exponential", "initial-ms": 1000, "multiplier": 2, "max-ms": 60000, "jitter": "none"}}"#,
    );
    let _ = rig.at(0).start().unwrap();
    let _ = rig.at(0).on_failed(1, &refused()).unwrap();
    let _ = wake(&mut rig, 1_000);
    let _ = rig.at(1_000).on_opened(2).unwrap();
    let step = rig
        .at(1_000 + held_ms)
        .on_closed(2, &failure::net(NetworkError::Reset))
        .unwrap();
    assert_eq!(step.result, Ok(()));
    let plans: Vec<_> = actions(&step.commands)
        .into_iter()
        .filter_map(|a| match a {
            Action::Backoff(p) => Some((p.delay_ms, p.attempt)),
            _ => None,
        })
        .collect();
    assert_eq!(plans.len(), 1, "{:?}", step.commands);
    plans[0]
}

#[test]
fn backoff_keeps_counting_when_the_link_held_reset_after_minus_1_ms() {
    // Default reset-after-ms: 30 000.
    assert_eq!(reset_after_rig(29_999), (2_000, 2));
}

#[test]
fn backoff_starts_over_when_the_link_held_reset_after() {
    assert_eq!(reset_after_rig(30_000), (1_000, 1));
}

#[test]
fn early_and_extra_wakes_make_no_import_calls() {
    let mut rig = Rig::new(
        r#"{"hub": "hub-a", "seed": 7, "policy": {"kind": "fixed", "interval-ms": 1000}, "credential": {"renewable": true}}"#,
    );
    // Before start.
    quiet_wake(&mut rig, 0);
    quiet_wake(&mut rig, 0);
    let _ = rig.at(0).start().unwrap();
    // Renewing, then opening: no timer at all.
    quiet_wake(&mut rig, 10);
    let credential = Credential {
        secret: "s".into(),
        lifetime_ms: Some(1_000_000),
    };
    let _ = rig.at(20).on_credential(Ok(&credential)).unwrap();
    quiet_wake(&mut rig, 30);
    // Connected, renewal due at 20 + 800 000.
    let _ = rig.at(40).on_opened(1).unwrap();
    for t in [41, 1_000, 50_000, 80_019] {
        quiet_wake(&mut rig, t);
    }
    // Backoff: many early wakes, then the deadline, then extra ones.
    let _ = rig.at(80_019).on_closed(1, &refused()).unwrap();
    assert_eq!(rig.next_wake_ms(), Some(81_019));
    for t in [80_019, 80_500, 81_018, 81_018] {
        quiet_wake(&mut rig, t);
    }
    assert_eq!(opens(&wake(&mut rig, 81_019)), [(2, "hub-a".to_string())]);
    quiet_wake(&mut rig, 81_019);
    quiet_wake(&mut rig, 90_000);
    // Stopped: nothing ever again.
    let _ = rig.at(90_000).stop().unwrap();
    for t in [90_000, 100_000, 10_000_000] {
        quiet_wake(&mut rig, t);
    }
    assert_eq!(rig.next_wake_ms(), None);
}
