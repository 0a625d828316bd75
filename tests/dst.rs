//! Deterministic simulation: thousands of seeded random worlds through the real
//! component, every step checked against the documented flow (`tether_sim::dst`).
//!
//! A failure prints the seed, the step, the virtual time, what broke and the last
//! transcript lines; `cargo run -- dst --seeds 1 --start SEED --verbose` replays it
//! with the whole transcript. `cargo run -- dst --seeds N` runs any number of seeds
//! and prints seeds per second.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use tether_host::{
    Action, Command, InputError, MessageFailure, NS_PER_MS, Outcome, Pending, ProvisioningResult,
    Runtime,
};
use tether_sim::dst::{
    Answer, Harness, Input, KindSpec, LimitsSpec, PolicySpec, ProvisioningSpec, QueueSpec, Spec,
    replay_command, run_seed, run_seeds,
};

/// Seeds the test command runs: at least a thousand. `cargo run -- dst` runs more.
const SEEDS: u64 = 5_000;

fn runtime() -> &'static Runtime {
    Runtime::shared().unwrap()
}

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

#[test]
fn thousands_of_seeds_keep_every_invariant() {
    let batch = run_seeds(runtime(), 0, SEEDS, jobs());
    if let Some(v) = batch.violations.first() {
        panic!(
            "{} of {SEEDS} seeds broke an invariant. First:\n{v}\nreplay: {}",
            batch.violations.len(),
            replay_command(v.seed)
        );
    }
    assert_eq!(batch.seeds, SEEDS);
    // The worlds must actually reach the paths the invariants are about; a world
    // that stopped exercising them would pass vacuously.
    for path in [
        "backoff",
        "backoff-throttled",
        "backoff-server-hint",
        "backoff-then-provision",
        "give-up-unrecoverable",
        "give-up-max-attempts",
        "give-up-retry-timeout",
        "give-up-no-retry",
        "register",
        "poll",
        "renew",
        "renew-routine",
        "rollover",
        "redirect",
        "delivered",
        "operation-timeout",
        "queue-full-dropped",
        "queue-full-rejected",
        "dup-ack-refused",
        "stale-link-refused",
        "start-refused",
        "restart",
        "clock-jump",
        "half-open",
        "blackhole",
    ] {
        let n = batch.coverage.get(path).copied().unwrap_or(0);
        assert!(n >= 10, "path {path} taken only {n} times in {SEEDS} seeds");
    }
    eprintln!(
        "{SEEDS} seeds, {} inputs, {} messages, {:.1} s, {:.0} seeds/s",
        batch.steps,
        batch.messages,
        batch.seconds,
        batch.seeds_per_second()
    );
}

#[test]
fn a_seed_replays_to_the_same_transcript() {
    for seed in [0, 1, 7, 11, 519, 4_242, u64::MAX] {
        let a = run_seed(runtime(), seed).unwrap_or_else(|v| panic!("{v}"));
        let b = run_seed(runtime(), seed).unwrap_or_else(|v| panic!("{v}"));
        assert_eq!(a.config, b.config);
        assert_eq!(
            a.transcript.render_all(),
            b.transcript.render_all(),
            "seed {seed}"
        );
        assert_eq!(a.transcript, b.transcript);
        assert_eq!(a.messages, b.messages);
        assert!(a.steps > 0);
    }
    // A freshly compiled runtime gives the same transcript: nothing leaks between
    // instances or runs.
    let fresh = Runtime::new().unwrap();
    let a = run_seed(&fresh, 4_242).unwrap_or_else(|v| panic!("{v}"));
    let b = run_seed(runtime(), 4_242).unwrap_or_else(|v| panic!("{v}"));
    assert_eq!(a.transcript, b.transcript);
    let (a, b) = (
        run_seed(runtime(), 3).unwrap(),
        run_seed(runtime(), 4).unwrap(),
    );
    assert_ne!(
        a.transcript, b.transcript,
        "different seeds, different worlds"
    );
}

/// A connection from `spec`, checked at every step.
fn harness(spec: &Spec) -> Harness {
    Harness::new(runtime(), spec, 0).unwrap_or_else(|v| panic!("{v}"))
}

fn apply(h: &mut Harness, input: Input) -> (Answer, Vec<Command>) {
    let a = h.apply(input).unwrap_or_else(|v| panic!("{v}"));
    (a.answer, a.commands)
}

/// Seed 11 found it: a provisioning 202 was polled after the service's clamped
/// retry-after (2 s) although the policy's `max-delay-ms` (77) is documented as the
/// hard cap on every delay, whatever its source.
#[test]
fn seed_11_poll_delay_is_capped_by_max_delay_ms() {
    run_seed(runtime(), 11).unwrap_or_else(|v| panic!("{v}"));
    let spec = Spec {
        hub: None,
        provisioning: Some(ProvisioningSpec::default()),
        policy: Some(PolicySpec {
            kind: KindSpec::Immediate,
            limits: LimitsSpec {
                max_delay_ms: Some(77),
                ..LimitsSpec::default()
            },
            throttled: None,
        }),
        ..Spec::minimal(11)
    };
    let mut h = harness(&spec);
    let (_, commands) = apply(&mut h, Input::Start);
    assert!(commands.contains(&Command::Register));
    let pending = ProvisioningResult::Pending(Pending {
        operation_id: "op-1".into(),
        retry_after_ms: Some(0),
    });
    h.advance_to(100);
    let (_, commands) = apply(&mut h, Input::Provisioned(pending));
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, Command::Decided(d) if d.action == Action::PollProvisioning(77))),
        "{commands:?}"
    );
    assert!(commands.contains(&Command::WakeAt(177 * NS_PER_MS)));
    h.advance_to(177);
    let (_, commands) = apply(&mut h, Input::Wake);
    assert_eq!(
        commands,
        [Command::Poll {
            operation_id: "op-1".into()
        }]
    );
}

/// Seed 519 found it: while connected, a message in flight timed out and freed the
/// window, but the queued messages behind it were not sent until the next publish
/// or ack (with neither, they would have timed out unsent on a working link).
#[test]
fn seed_519_an_expired_message_frees_the_window_at_once() {
    run_seed(runtime(), 519).unwrap_or_else(|v| panic!("{v}"));
    let spec = Spec {
        queue: Some(QueueSpec {
            capacity: Some(8),
            max_in_flight: Some(1),
            operation_timeout_ms: Some(1_000),
            ..QueueSpec::default()
        }),
        ..Spec::minimal(519)
    };
    let mut h = harness(&spec);
    let (_, commands) = apply(&mut h, Input::Start);
    assert!(matches!(
        commands.last(),
        Some(Command::Open { link: 1, .. })
    ));
    apply(&mut h, Input::Opened { link: 1 });
    let publish = || Input::Publish {
        topic: "t".into(),
        payload: b"x".to_vec(),
    };
    let (answer, _) = apply(&mut h, publish());
    assert_eq!(answer, Answer::Publish(Ok(1)));
    h.advance_to(500);
    let (answer, commands) = apply(&mut h, publish());
    assert_eq!(answer, Answer::Publish(Ok(2)));
    assert!(
        !commands.iter().any(|c| matches!(c, Command::Send { .. })),
        "the window holds one message"
    );
    // Message 1's ack never comes; at its deadline it fails and message 2 goes out.
    h.advance_to(1_000);
    let (_, commands) = apply(&mut h, Input::Wake);
    assert_eq!(
        commands.first(),
        Some(&Command::Outcome {
            message: 1,
            outcome: Outcome::Failed(MessageFailure::OperationTimeout)
        })
    );
    assert!(
        commands.iter().any(|c| matches!(
            c,
            Command::Send {
                link: 1,
                message: 2,
                ..
            }
        )),
        "{commands:?}"
    );
    assert_eq!(h.in_flight(), [2]);
    let (_, commands) = apply(&mut h, Input::Acked { message: 2 });
    assert!(commands.contains(&Command::Outcome {
        message: 2,
        outcome: Outcome::Delivered
    }));
    // A duplicate of that ack is refused and makes no second outcome.
    let (answer, commands) = apply(&mut h, Input::Acked { message: 2 });
    assert_eq!(answer, Answer::Input(Err(InputError::UnknownMessage)));
    assert!(commands.is_empty());
    h.finish().unwrap_or_else(|v| panic!("{v}"));
    let summary = h.ledger().summary();
    assert_eq!(
        (summary.accepted, summary.pending, summary.extra_outcomes),
        (2, 0, 0)
    );
}

/// Seed 58 found it: a routine renewal that failed was retried every second until
/// the credential expired (720 calls for a one-hour token against a credential
/// source that is down), where the flow means to retry half way to the expiry, at
/// least a second later.
#[test]
fn seed_58_a_failed_routine_renewal_retries_half_way_to_expiry() {
    run_seed(runtime(), 58).unwrap_or_else(|v| panic!("{v}"));
    let spec = Spec {
        credential: Some(tether_sim::dst::CredentialSpec {
            renewable: Some(true),
            ..Default::default()
        }),
        ..Spec::minimal(58)
    };
    let mut h = harness(&spec);
    let (_, commands) = apply(&mut h, Input::Start);
    assert_eq!(commands.last(), Some(&Command::Renew));
    let token = |secret: &str| tether_host::Credential {
        secret: secret.into(),
        lifetime_ms: Some(100_000),
    };
    apply(&mut h, Input::Credential(Ok(token("token-1"))));
    let (_, commands) = apply(&mut h, Input::Opened { link: 1 });
    assert!(commands.contains(&Command::WakeAt(80_000 * NS_PER_MS)));
    h.advance_to(80_000);
    let (_, commands) = apply(&mut h, Input::Wake);
    assert_eq!(commands.last(), Some(&Command::Renew));
    h.advance_to(80_100);
    let down = tether_host::Failure {
        kind: tether_host::FailureKind::Network(tether_host::NetworkError::Reset),
        retry_after_ms: None,
        server_reference: None,
    };
    let (_, commands) = apply(&mut h, Input::Credential(Err(down.clone())));
    // Half way from 80.1 s to the expiry at 100 s, not 81.1 s.
    assert_eq!(commands, [Command::WakeAt(90_050 * NS_PER_MS)]);
    let mut renewals = 0;
    while let Some(t) = h.next_deadline_ms() {
        if t >= 100_000 {
            break;
        }
        h.advance_to(t);
        let (_, commands) = apply(&mut h, Input::Wake);
        if commands.contains(&Command::Renew) {
            renewals += 1;
            h.advance_to(t + 10);
            apply(&mut h, Input::Credential(Err(down.clone())));
        }
    }
    assert!(
        (3..=8).contains(&renewals),
        "{renewals} renewals in the last 20 s of the token"
    );
}

/// The fuzzer found it (input `crash-19bc82910fcd7951d068afef852c9f0646f54ce5`): with
/// the host clock near the end of its range (u64 nanoseconds, about 584 years), a
/// backoff deadline past the last instant a WIT `instant` can express was announced
/// as the saturated `u64::MAX` ns, which the connection read back as a millisecond
/// before its deadline: it never came due and the connection never reconnected.
/// Deadlines are now clamped to that last instant.
#[test]
fn fuzz_19bc8291_a_deadline_past_the_clock_range_still_comes_due() {
    const LAST_MS: u64 = u64::MAX / NS_PER_MS;
    let mut h = harness(&Spec::minimal(19));
    h.advance_to(LAST_MS - 500);
    apply(&mut h, Input::Start);
    apply(&mut h, Input::Opened { link: 1 });
    let reset = tether_host::Failure {
        kind: tether_host::FailureKind::Network(tether_host::NetworkError::Reset),
        retry_after_ms: Some(1_000),
        server_reference: None,
    };
    let (_, commands) = apply(
        &mut h,
        Input::Closed {
            link: 1,
            failure: reset,
        },
    );
    assert!(
        commands.contains(&Command::WakeAt(LAST_MS * NS_PER_MS)),
        "{commands:?}"
    );
    h.advance_to(LAST_MS);
    let (_, commands) = apply(&mut h, Input::Wake);
    assert!(
        matches!(commands.last(), Some(Command::Open { link: 2, .. })),
        "{commands:?}"
    );
}
