//! Property tests over the classifier and the retry policies, through the
//! component, plus seeded simulation worlds drawn by proptest.
//!
//! Each property quantifies over the whole input domain the WIT allows (any MQTT
//! code, any AMQP string, any HTTP status and hub code, any retry-after up to
//! `u64::MAX`, any valid policy) and asserts what the README promises for all of it.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use proptest::prelude::*;
use serde_json::Value;
use tether_host::{
    ApplicationError, Decision, Entropy, Failure, FailureKind, GiveUpReason, HttpFailure, Instance,
    Level, NetworkError, ProtocolError, Runtime, Verdict, VirtualClock,
};
use tether_sim::dst::{JitterSpec, KindSpec, LimitsSpec, PRESETS, PolicySpec, Spec, run_seed};

fn instance() -> Instance {
    Runtime::shared()
        .unwrap()
        .instantiate(VirtualClock::new(), Entropy::fixed(0))
        .unwrap()
}

// ---- strategies ----

fn arb_network() -> impl Strategy<Value = NetworkError> {
    prop_oneof![
        Just(NetworkError::Dns),
        Just(NetworkError::Refused),
        Just(NetworkError::Reset),
        Just(NetworkError::Unreachable),
        Just(NetworkError::Timeout),
        Just(NetworkError::Tls),
        Just(NetworkError::Closed),
    ]
}

fn arb_application() -> impl Strategy<Value = ApplicationError> {
    prop_oneof![
        Just(ApplicationError::Unauthorized),
        Just(ApplicationError::CredentialExpired),
        Just(ApplicationError::Forbidden),
        Just(ApplicationError::DeviceNotFound),
        Just(ApplicationError::DeviceDisabled),
        Just(ApplicationError::QuotaExceeded),
        Just(ApplicationError::Throttled),
        Just(ApplicationError::BadEndpoint),
    ]
}

const HUB_CODES: [u32; 7] = [
    401_003, 403_002, 403_004, 404_104, 404_001, 429_001, 503_003,
];

fn arb_protocol() -> impl Strategy<Value = ProtocolError> {
    prop_oneof![
        any::<u8>().prop_map(ProtocolError::MqttConnack),
        any::<u8>().prop_map(ProtocolError::MqttReason),
        prop_oneof![
            Just("amqp:unauthorized-access".to_string()),
            Just("amqp:not-found".to_string()),
            Just("com.microsoft:device-container-throttled".to_string()),
            ".{0,40}",
        ]
        .prop_map(ProtocolError::Amqp),
        (
            prop_oneof![any::<u16>(), 400u16..600],
            prop_oneof![
                Just(None),
                proptest::sample::select(HUB_CODES.to_vec()).prop_map(Some),
                any::<u32>().prop_map(Some),
            ]
        )
            .prop_map(|(status, hub_code)| ProtocolError::Http(HttpFailure { status, hub_code })),
        Just(ProtocolError::KeepAliveLost),
        Just(ProtocolError::SessionExpired),
        Just(ProtocolError::LinkDetached),
    ]
}

fn arb_kind() -> impl Strategy<Value = FailureKind> {
    prop_oneof![
        arb_network().prop_map(FailureKind::Network),
        arb_protocol().prop_map(FailureKind::Protocol),
        arb_application().prop_map(FailureKind::Application),
    ]
}

fn arb_hint() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        2 => Just(None),
        1 => any::<u64>().prop_map(Some),
        1 => (0u64..700_000).prop_map(Some),
    ]
}

fn arb_failure() -> impl Strategy<Value = Failure> {
    (
        arb_kind(),
        arb_hint(),
        proptest::option::of(prop_oneof![Just(String::new()), "[a-z]{1,8}"]),
    )
        .prop_map(|(kind, retry_after_ms, server_reference)| Failure {
            kind,
            retry_after_ms,
            server_reference,
        })
}

fn arb_ms() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 0u64..100_000,
        1 => Just(0u64),
        1 => Just(1_000_000_000_000u64),
        1 => 0u64..=1_000_000_000_000,
    ]
}

fn arb_policy() -> impl Strategy<Value = PolicySpec> {
    let kind = prop_oneof![
        (
            proptest::option::of(1u64..100_000),
            proptest::option::of(1_000u32..=10_000),
            proptest::option::of(0u8..=100),
            0u8..6,
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(initial, multiplier, percent, jitter, first)| {
                KindSpec::Exponential {
                    initial_ms: initial,
                    multiplier_permille: multiplier,
                    // The curve's cap at least its first delay.
                    max_ms: initial.map(|i| i.saturating_mul(40)),
                    jitter: Some(match jitter {
                        0 => JitterSpec::Full,
                        1 => JitterSpec::Equal,
                        2 => JitterSpec::None,
                        3 => JitterSpec::Symmetric(percent),
                        4 => JitterSpec::Upward(percent),
                        _ => JitterSpec::Phase,
                    }),
                    first_immediate: first,
                }
            }),
        (
            proptest::option::of(arb_ms()),
            proptest::option::of(arb_ms())
        )
            .prop_map(|(interval_ms, first_ms)| KindSpec::Fixed {
                interval_ms,
                first_ms
            }),
        (0u64..50_000, proptest::option::of(arb_ms())).prop_map(|(initial, step)| {
            KindSpec::Linear {
                initial_ms: Some(initial),
                step_ms: step,
                max_ms: Some(initial.saturating_mul(10)),
            }
        }),
        Just(KindSpec::Immediate),
        (0u64..50_000, 0u64..50_000).prop_map(|(a, b)| KindSpec::Random {
            min_ms: Some(a.min(b)),
            max_ms: Some(a.max(b)),
        }),
        (1u64..50_000).prop_map(|base| KindSpec::DecorrelatedJitter {
            base_ms: Some(base),
            max_ms: Some(base.saturating_mul(60)),
        }),
        Just(KindSpec::NoRetry),
        proptest::sample::select(PRESETS.to_vec()).prop_map(KindSpec::Preset),
    ];
    let limits = (
        proptest::option::of(1u32..30),
        proptest::option::of(1u64..=1_000_000_000_000),
        proptest::option::of(arb_ms()),
        proptest::option::of(arb_ms()),
        proptest::option::of(arb_ms()),
        proptest::option::of((arb_ms(), arb_ms())),
    )
        .prop_map(
            |(
                max_attempts,
                retry_timeout_ms,
                max_delay_ms,
                min_interval_ms,
                reset_after_ms,
                ra,
            )| {
                let (retry_after_min_ms, retry_after_max_ms) = match ra {
                    Some((a, b)) => (Some(a.min(b)), Some(a.max(b))),
                    None => (None, None),
                };
                LimitsSpec {
                    max_attempts,
                    retry_timeout_ms,
                    max_delay_ms,
                    min_interval_ms,
                    reset_after_ms,
                    retry_after_min_ms,
                    retry_after_max_ms,
                }
            },
        );
    (kind, limits).prop_map(|(kind, limits)| PolicySpec {
        kind,
        limits,
        throttled: None,
    })
}

/// The `policy` object of a configuration with this policy, as JSON.
fn policy_json(policy: &PolicySpec) -> String {
    let spec = Spec {
        policy: Some(policy.clone()),
        ..Spec::minimal(0)
    };
    let doc: Value = serde_json::from_str(&spec.to_json()).unwrap();
    doc["policy"].to_string()
}

// ---- the classifier ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every failure has an answer, the same every time and in every instance;
    /// hints never change it; its level is the failure's own.
    #[test]
    fn classify_is_total_deterministic_and_ignores_hints(f in arb_failure(), hint in arb_hint()) {
        let (mut a, mut b) = (instance(), instance());
        let c = a.classify(&f).unwrap();
        prop_assert_eq!(&c, &b.classify(&f).unwrap());
        prop_assert!(!c.rule.is_empty() && c.rule != "unmatched", "{:?}", c);
        let bare = Failure { retry_after_ms: hint, server_reference: None, ..f.clone() };
        prop_assert_eq!(&c, &a.classify(&bare).unwrap());
        let level = match &f.kind {
            FailureKind::Network(_) => Level::Network,
            FailureKind::Protocol(_) => Level::Protocol,
            FailureKind::Application(_) => Level::Application,
        };
        prop_assert_eq!(c.level, level);
    }

    /// A known six-digit IoT-hub code wins over whatever HTTP status came with it.
    #[test]
    fn a_known_hub_code_wins_over_its_status(
        status in any::<u16>(),
        code in proptest::sample::select(HUB_CODES.to_vec()),
    ) {
        let f = Failure {
            kind: FailureKind::Protocol(ProtocolError::Http(HttpFailure {
                status,
                hub_code: Some(code),
            })),
            retry_after_ms: None,
            server_reference: None,
        };
        let c = instance().classify(&f).unwrap();
        prop_assert_eq!(c.rule, format!("http/{code}"));
    }

    /// Unknown MQTT 5 reasons (0x91, 0x92, above 0xA2) are retried, throttled, never
    /// fatal: a newer broker's code must not strand a device.
    #[test]
    fn unknown_mqtt5_reasons_are_retried(code in prop_oneof![Just(0x91u8), Just(0x92u8), 0xA3u8..=0xFF]) {
        let f = Failure {
            kind: FailureKind::Protocol(ProtocolError::MqttReason(code)),
            retry_after_ms: None,
            server_reference: None,
        };
        let c = instance().classify(&f).unwrap();
        prop_assert_eq!(c.verdict, Verdict::RetryThrottled);
    }
}

// ---- the policies ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// For any valid policy and any run of failures: every delay is within the
    /// cap, a server hint gives exactly its clamped value, no-retry and
    /// max-attempts give up exactly when documented, the summed delays stay within
    /// retry-timeout-ms, unrecoverable failures never count an attempt, and the
    /// same seed gives the same decisions.
    #[test]
    fn schedules_keep_their_limits(
        policy in arb_policy(),
        seed in any::<u64>(),
        failures in proptest::collection::vec(proptest::option::of(arb_failure()), 1..40),
    ) {
        let json = policy_json(&policy);
        let spec = Spec { policy: Some(policy.clone()), ..Spec::minimal(0) };
        let eff = spec.effective();
        let mut inst = instance();
        let a = tether_tests::verdict(inst.create_schedule(&json, seed))
            .unwrap_or_else(|e| panic!("valid policy refused: {}: {} ({json})", e.field, e.message));
        let b = tether_tests::verdict(inst.create_schedule(&json, seed)).unwrap();
        let mut summed = 0u64;
        let mut attempts = 0u32;
        let mut gave_up = None;
        for f in &failures {
            let d = inst.schedule_next(&a, f.as_ref(), None).unwrap();
            prop_assert_eq!(&d, &inst.schedule_next(&b, f.as_ref(), None).unwrap(), "same seed, same decision");
            let verdict = f.as_ref().map(|f| inst.classify(f).unwrap().verdict);
            let unrecoverable = matches!(verdict, Some(Verdict::Fatal | Verdict::Reprovision));
            if unrecoverable {
                prop_assert_eq!(d, Decision::GiveUp(GiveUpReason::Unrecoverable));
                prop_assert_eq!(inst.schedule_attempts(&a).unwrap(), attempts, "unrecoverable counts no attempt");
                continue;
            }
            attempts = attempts.saturating_add(1);
            prop_assert_eq!(inst.schedule_attempts(&a).unwrap(), attempts);
            if eff.no_retry {
                prop_assert_eq!(d, Decision::GiveUp(GiveUpReason::NoRetry));
                continue;
            }
            if let Some(max) = eff.max_attempts && attempts > max {
                prop_assert_eq!(d, Decision::GiveUp(GiveUpReason::MaxAttempts), "retry {} of max {}", attempts, max);
                continue;
            }
            match d {
                Decision::RetryAfter(delay) => {
                    prop_assert!(gave_up.is_none() || gave_up == Some(GiveUpReason::RetryTimeout));
                    prop_assert!(delay <= eff.max_delay_ms, "{} above max-delay-ms {}", delay, eff.max_delay_ms);
                    if let Some(h) = f.as_ref().and_then(|f| f.retry_after_ms) {
                        let want = h.max(eff.retry_after_min_ms).min(eff.retry_after_max_ms)
                            .max(eff.min_interval_ms).min(eff.max_delay_ms);
                        prop_assert_eq!(delay, want, "server hint {}", h);
                    }
                    summed = summed.saturating_add(delay);
                    if let Some(t) = eff.retry_timeout_ms {
                        prop_assert!(summed <= t, "retries {} ms in, past retry-timeout-ms {}", summed, t);
                    }
                }
                Decision::GiveUp(GiveUpReason::RetryTimeout) => {
                    let t = eff.retry_timeout_ms;
                    prop_assert!(t.is_some_and(|t| summed.saturating_add(eff.max_delay_ms) > t));
                    gave_up = Some(GiveUpReason::RetryTimeout);
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        // A link that held reset-after-ms starts the backoff over; one short does not.
        inst.schedule_dropped(&a, eff.reset_after_ms.saturating_sub(1)).unwrap();
        let kept = inst.schedule_attempts(&a).unwrap();
        if eff.reset_after_ms > 0 {
            prop_assert_eq!(kept, attempts);
        }
        inst.schedule_dropped(&a, eff.reset_after_ms).unwrap();
        prop_assert_eq!(inst.schedule_attempts(&a).unwrap(), 0);
    }

    /// Any value in any policy field is either accepted or refused with an error
    /// naming a field of the policy: never a trap, never a silent default.
    #[test]
    fn any_policy_field_value_is_accepted_or_named(
        policy in arb_policy(),
        field in proptest::sample::select(vec![
            "kind", "initial-ms", "max-ms", "multiplier", "jitter", "jitter-percent",
            "first-immediate", "interval-ms", "first-ms", "step-ms", "min-ms", "base-ms",
            "max-attempts", "retry-timeout-ms", "max-delay-ms", "min-interval-ms",
            "reset-after-ms", "retry-after-min-ms", "retry-after-max-ms", "throttled", "bogus",
        ]),
        value in prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            ".{0,12}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            Just(Value::Null),
            Just(serde_json::json!({})),
            Just(serde_json::json!([1, 2])),
        ],
    ) {
        let mut doc: Value = serde_json::from_str(&policy_json(&policy)).unwrap();
        doc[field] = value;
        let config = serde_json::json!({"hub": "h", "policy": doc}).to_string();
        let mut inst = instance();
        if let Err(e) = tether_tests::verdict(inst.validate_config(&config)) {
            prop_assert!(e.field.starts_with("policy"), "{}: {}", e.field, e.message);
            prop_assert!(!e.message.is_empty());
        }
        // The schedule resource validates the same way.
        let direct = tether_tests::verdict(inst.create_schedule(&doc.to_string(), 1));
        prop_assert_eq!(direct.is_ok(), tether_tests::verdict(inst.validate_config(&config)).is_ok());
    }
}

// ---- whole worlds ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any seed's world keeps every invariant of the reconnection flow (the same
    /// checks as `tests/dst.rs`, on seeds proptest draws from the whole u64 range).
    #[test]
    fn any_seeded_world_keeps_the_invariants(seed in any::<u64>()) {
        if let Err(v) = run_seed(Runtime::shared().unwrap(), seed) {
            prop_assert!(false, "{}", v);
        }
    }
}
