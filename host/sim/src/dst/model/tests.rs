//! The checker must catch what it is there to catch: each test feeds the model
//! a hand-made command stream with one thing wrong.
#![allow(clippy::unwrap_used, clippy::panic, clippy::arithmetic_side_effects)]
use super::*;
use crate::dst::spec::{KindSpec, LimitsSpec, PolicySpec, ProvisioningSpec, Spec};
use tether_host::{BackoffPlan, ConnectPlan, FailureKind, Level, NetworkError};

fn refused() -> (Failure, Classification) {
    (
        Failure {
            kind: FailureKind::Network(NetworkError::Refused),
            retry_after_ms: None,
            server_reference: None,
        },
        Classification {
            level: Level::Network,
            verdict: Verdict::Retry,
            reason: Reason::CommunicationError,
            rule: "net/refused".into(),
        },
    )
}

fn spec(provisioning: bool) -> Effective {
    Spec {
        provisioning: provisioning.then(|| ProvisioningSpec {
            reprovision_after: Some(1),
            ..ProvisioningSpec::default()
        }),
        policy: Some(PolicySpec {
            kind: KindSpec::Immediate,
            limits: LimitsSpec {
                max_delay_ms: Some(1_000),
                ..LimitsSpec::default()
            },
            throttled: None,
        }),
        ..Spec::minimal(1)
    }
    .effective()
}

fn decided(at: u64, cause: Option<Classification>, action: Action) -> Command {
    Command::Decided(DecisionEvent {
        at: at * NS_PER_MS,
        cause,
        action,
    })
}

fn started(eff: &Effective) -> Model {
    let mut m = Model::new(eff);
    let open = [
        decided(
            0,
            None,
            Action::Connect(ConnectPlan {
                link: 1,
                hub: "hub-a".into(),
                attempt: 0,
            }),
        ),
        Command::Open {
            link: 1,
            hub: "hub-a".into(),
            device_id: None,
            credential: None,
        },
    ];
    let ok = Answer::Input(Ok(()));
    m.step(eff, 0, &Input::Start, None, &ok, &open).unwrap();
    m
}

fn failed_with(eff: &Effective, delay: u64, then_provision: bool) -> Result<(), String> {
    let mut m = started(eff);
    let (failure, c) = refused();
    let status_reason = if then_provision {
        Reason::Provisioning
    } else {
        Reason::CommunicationError
    };
    let commands = [
        Command::Status(StatusChange {
            at: 10 * NS_PER_MS,
            status: Status::DisconnectedRetrying,
            reason: status_reason,
        }),
        decided(
            10,
            Some(c.clone()),
            Action::Backoff(BackoffPlan {
                delay_ms: delay,
                attempt: 1,
                curve: Curve::Normal,
                then_provision,
            }),
        ),
        Command::WakeAt((10 + delay) * NS_PER_MS),
    ];
    let input = Input::Failed { link: 1, failure };
    m.step(eff, 10, &input, Some(&c), &Answer::Input(Ok(())), &commands)
}

#[test]
fn a_correct_backoff_passes() {
    failed_with(&spec(false), 0, false).unwrap();
    failed_with(&spec(true), 0, true).unwrap();
}

#[test]
fn a_delay_above_the_cap_is_caught() {
    let e = failed_with(&spec(false), 1_001, false).unwrap_err();
    assert!(e.contains("above max-delay-ms 1000"), "{e}");
}

#[test]
fn a_missing_or_extra_reprovision_is_caught() {
    let e = failed_with(&spec(true), 0, false).unwrap_err();
    assert!(
        e.contains("reprovisioning: expected then-provision=true"),
        "{e}"
    );
    let e = failed_with(&spec(false), 0, true).unwrap_err();
    assert!(e.contains("then-provision=false"), "{e}");
}

#[test]
fn an_attempt_after_giving_up_is_caught() {
    let eff = spec(false);
    let mut m = started(&eff);
    m.phase = Phase::Stopped;
    let commands = [Command::Open {
        link: 2,
        hub: "hub-a".into(),
        device_id: None,
        credential: None,
    }];
    let e = m
        .step(&eff, 20, &Input::Wake, None, &Answer::Done, &commands)
        .unwrap_err();
    assert!(e.contains("before any new start"), "{e}");
}

#[test]
fn a_repeated_status_and_a_wrong_answer_are_caught() {
    let eff = spec(false);
    let mut m = started(&eff);
    let ok = Answer::Input(Ok(()));
    let connected = Command::Status(StatusChange {
        at: 5 * NS_PER_MS,
        status: Status::Connected,
        reason: Reason::ConnectionOk,
    });
    m.step(
        &eff,
        5,
        &Input::Opened { link: 1 },
        None,
        &ok,
        std::slice::from_ref(&connected),
    )
    .unwrap();
    // Acknowledging a message that was never sent must be refused.
    let e = m
        .step(&eff, 6, &Input::Acked { message: 9 }, None, &ok, &[])
        .unwrap_err();
    assert!(e.contains("unknown-message"), "{e}");
    let mut again = started(&eff);
    again.status = (Status::Connected, Reason::ConnectionOk);
    let e = again
        .step(&eff, 5, &Input::Opened { link: 1 }, None, &ok, &[connected])
        .unwrap_err();
    assert!(e.contains("twice in a row"), "{e}");
}
