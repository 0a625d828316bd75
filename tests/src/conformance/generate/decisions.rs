//! The classify, validate and schedule vectors, as data: each is written to its
//! file as it stands here.

use super::*;

// ---------------------------------------------------------------------------------
// Classify: every row group of the table, and its defaults
// ---------------------------------------------------------------------------------

pub(super) fn classify_specs() -> anyhow::Result<Vec<Spec>> {
    let mut specs = Vec::new();
    for name in [
        "dns",
        "refused",
        "reset",
        "unreachable",
        "timeout",
        "tls",
        "closed",
    ] {
        specs.push(classify(format!("net-{name}"), json!({ "network": name })));
    }
    for (slug, code) in [
        ("mqtt311-1-protocol-version", 1),
        ("mqtt311-2-identifier-rejected", 2),
        ("mqtt311-3-server-unavailable", 3),
        ("mqtt311-4-bad-user-or-password", 4),
        ("mqtt311-5-not-authorized", 5),
        ("mqtt311-0-unknown", 0),
        ("mqtt311-6-unknown", 6),
    ] {
        specs.push(classify(slug, json!({ "mqtt-connack": code })));
    }
    for (slug, code) in [
        ("mqtt5-0x80-unspecified", 0x80),
        ("mqtt5-0x81-malformed", 0x81),
        ("mqtt5-0x82-protocol-error", 0x82),
        ("mqtt5-0x84-unsupported-version", 0x84),
        ("mqtt5-0x85-client-id-invalid", 0x85),
        ("mqtt5-0x86-bad-user-or-password", 0x86),
        ("mqtt5-0x87-not-authorized", 0x87),
        ("mqtt5-0x88-server-unavailable", 0x88),
        ("mqtt5-0x89-server-busy", 0x89),
        ("mqtt5-0x8a-banned", 0x8A),
        ("mqtt5-0x8b-shutting-down", 0x8B),
        ("mqtt5-0x8c-bad-auth-method", 0x8C),
        ("mqtt5-0x8d-keep-alive-timeout", 0x8D),
        ("mqtt5-0x8e-session-taken-over", 0x8E),
        ("mqtt5-0x95-packet-too-large", 0x95),
        ("mqtt5-0x96-message-rate", 0x96),
        ("mqtt5-0x97-quota", 0x97),
        ("mqtt5-0x98-administrative", 0x98),
        ("mqtt5-0x9f-connection-rate", 0x9F),
        ("mqtt5-0xa0-max-connect-time", 0xA0),
        ("mqtt5-0xa2-wildcards", 0xA2),
        ("mqtt5-0x00-below-0x80", 0x00),
        ("mqtt5-0x04-below-0x80", 0x04),
        ("mqtt5-0x91-unknown", 0x91),
        ("mqtt5-0xa3-unknown", 0xA3),
        ("mqtt5-0xff-unknown", 0xFF),
    ] {
        specs.push(classify(slug, json!({ "mqtt-reason": code })));
    }
    specs.push(classify(
        "mqtt5-0x9c-use-another-server",
        json!({ "mqtt-reason": 0x9C, "server-reference": "hub-b.example:8883" }),
    ));
    specs.push(classify(
        "mqtt5-0x9d-server-moved-with-hints",
        json!({ "mqtt-reason": 0x9D, "server-reference": "hub-c.example:8883", "retry-after-ms": 5000 }),
    ));
    for (slug, condition) in [
        ("amqp-connection-forced", "amqp:connection:forced"),
        ("amqp-connection-redirect", "amqp:connection:redirect"),
        ("amqp-link-detach-forced", "amqp:link:detach-forced"),
        ("amqp-link-stolen", "amqp:link:stolen"),
        (
            "amqp-link-transfer-limit",
            "amqp:link:transfer-limit-exceeded",
        ),
        ("amqp-internal-error", "amqp:internal-error"),
        (
            "amqp-device-container-throttled",
            "com.microsoft:device-container-throttled",
        ),
        ("amqp-server-busy", "com.microsoft:server-busy"),
        ("amqp-ms-timeout", "com.microsoft:timeout"),
        ("amqp-decode-error", "amqp:decode-error"),
        ("amqp-not-found", "amqp:not-found"),
        ("amqp-resource-deleted", "amqp:resource-deleted"),
        ("amqp-resource-limit", "amqp:resource-limit-exceeded"),
        ("amqp-unauthorized-access", "amqp:unauthorized-access"),
        ("amqp-iot-hub-suspended", "com.microsoft:iot-hub-suspended"),
        ("amqp-unknown-condition", "amqp:frobnicated"),
        ("amqp-empty-condition", ""),
    ] {
        specs.push(classify(slug, json!({ "amqp": condition })));
    }
    for (slug, status) in [
        ("http-400", 400),
        ("http-401", 401),
        ("http-403", 403),
        ("http-404", 404),
        ("http-408", 408),
        ("http-412", 412),
        ("http-413", 413),
        ("http-429", 429),
        ("http-500", 500),
        ("http-502", 502),
        ("http-503", 503),
        ("http-504", 504),
        ("http-507-other-5xx", 507),
        ("http-418-other-4xx", 418),
        ("http-302-other", 302),
        ("http-999-out-of-range", 999),
    ] {
        specs.push(classify(slug, json!({ "http": { "status": status } })));
    }
    for (slug, status, code) in [
        ("hub-401003-expired", 401, 401_003),
        ("hub-403002-quota", 403, 403_002),
        ("hub-403004-queue-depth", 403, 403_004),
        ("hub-404104-closed-remotely", 404, 404_104),
        ("hub-404001-not-found", 404, 404_001),
        ("hub-429001-throttled", 429, 429_001),
        ("hub-503003-partition", 503, 503_003),
        ("hub-code-wins-over-status", 500, 403_002),
        ("hub-unknown-code-uses-status", 403, 403_999),
    ] {
        specs.push(classify(
            slug,
            json!({ "http": { "status": status, "hub-code": code } }),
        ));
    }
    specs.push(classify(
        "hub-429001-with-retry-after",
        json!({ "http": { "status": 429, "hub-code": 429_001 }, "retry-after-ms": 30000 }),
    ));
    for name in ["keep-alive-lost", "session-expired", "link-detached"] {
        specs.push(classify(
            format!("proto-{name}"),
            json!({ "protocol": name }),
        ));
    }
    for name in [
        "unauthorized",
        "credential-expired",
        "forbidden",
        "device-not-found",
        "device-disabled",
        "quota-exceeded",
        "throttled",
        "bad-endpoint",
    ] {
        specs.push(classify(
            format!("app-{name}"),
            json!({ "application": name }),
        ));
    }
    for spec in &specs {
        if let Body::Classify(v) = &spec.body {
            failure_json(v.clone())?;
        }
    }
    Ok(specs)
}

// ---------------------------------------------------------------------------------
// Validate: good and bad documents; errors name the field
// ---------------------------------------------------------------------------------

pub(super) fn validate_specs() -> Vec<Spec> {
    vec![
        validate(
            "ok-minimal",
            "a hub and a seed are enough",
            r#"{"hub": "hub-a.example:8883", "seed": 1}"#,
        ),
        validate(
            "ok-readme-document",
            "the configuration document shown in the README",
            r#"{
  "hub": "hub-a.example:8883",
  "device-id": "sensor-17",
  "seed": 17,
  "provisioning": { "reprovision-after": 10, "retry-after-min-ms": 2000, "retry-after-max-ms": 300000 },
  "credential": { "renewable": true, "renew-at-percent": 80 },
  "policy": { "kind": "exponential", "initial-ms": 1000, "max-ms": 60000, "jitter": "full",
              "retry-timeout-ms": 3600000, "reset-after-ms": 30000 },
  "queue": { "capacity": 64, "max-in-flight": 16, "operation-timeout-ms": 240000, "when-full": "drop-oldest" }
}"#,
        ),
        validate(
            "ok-provisioning-only",
            "no hub: the provisioning service assigns one",
            r#"{"provisioning": {}, "seed": 2}"#,
        ),
        validate(
            "ok-preset-with-limits",
            "a preset takes the limits",
            r#"{"hub": "h", "seed": 3, "policy": {"kind": "azure-dotnet", "max-attempts": 5, "retry-timeout-ms": 60000}}"#,
        ),
        validate(
            "err-no-hub",
            "neither a hub nor provisioning",
            r#"{"seed": 4}"#,
        ),
        validate("err-not-json", "a document that is not JSON", r#"{"hub": "#),
        validate(
            "err-not-an-object",
            "the document must be an object",
            r#"["hub-a"]"#,
        ),
        validate(
            "err-unknown-field",
            "unknown fields are refused, never ignored",
            r#"{"hub": "h", "seed": 5, "hubb": "h"}"#,
        ),
        validate("err-empty-hub", "an empty hub", r#"{"hub": "", "seed": 6}"#),
        validate(
            "err-negative-seed",
            "the seed is a u64",
            r#"{"hub": "h", "seed": -1}"#,
        ),
        validate(
            "err-initial-ms-string",
            "the README's example of a field error",
            r#"{"hub": "h", "seed": 7, "policy": {"initial-ms": "fast"}}"#,
        ),
        validate(
            "err-unknown-kind",
            "an unknown policy kind",
            r#"{"hub": "h", "seed": 8, "policy": {"kind": "fibonacci"}}"#,
        ),
        validate(
            "err-preset-formula-field",
            "a preset's formula is fixed",
            r#"{"hub": "h", "seed": 9, "policy": {"kind": "azure-c", "initial-ms": 500}}"#,
        ),
        validate(
            "err-multiplier-range",
            "multiplier is 1 to 10",
            r#"{"hub": "h", "seed": 10, "policy": {"kind": "exponential", "multiplier": 11}}"#,
        ),
        validate(
            "err-jitter-percent-without-spread",
            "jitter-percent applies to symmetric and upward only",
            r#"{"hub": "h", "seed": 11, "policy": {"jitter": "full", "jitter-percent": 10}}"#,
        ),
        validate(
            "err-duration-too-large",
            "durations are at most 1000000000000 ms",
            r#"{"hub": "h", "seed": 12, "policy": {"max-delay-ms": 1000000000001}}"#,
        ),
        validate(
            "err-throttled-preset",
            "the throttled curve must be a plain kind",
            r#"{"hub": "h", "seed": 13, "policy": {"throttled": {"kind": "grpc"}}}"#,
        ),
        validate(
            "err-throttled-limit",
            "limits belong next to throttled, not inside it",
            r#"{"hub": "h", "seed": 14, "policy": {"throttled": {"kind": "fixed", "max-attempts": 3}}}"#,
        ),
        validate(
            "err-queue-in-flight-over-capacity",
            "max-in-flight cannot exceed capacity",
            r#"{"hub": "h", "seed": 15, "queue": {"capacity": 4, "max-in-flight": 5}}"#,
        ),
        validate(
            "err-queue-when-full",
            "when-full is drop-oldest or reject",
            r#"{"hub": "h", "seed": 16, "queue": {"when-full": "block"}}"#,
        ),
        validate(
            "err-renew-at-percent",
            "renew-at-percent is 1 to 99",
            r#"{"hub": "h", "seed": 17, "credential": {"renew-at-percent": 100}}"#,
        ),
        validate(
            "err-lifetime-without-secret",
            "a lifetime needs its secret",
            r#"{"hub": "h", "seed": 18, "credential": {"lifetime-ms": 60000}}"#,
        ),
        validate(
            "err-provisioning-clamp-order",
            "the retry-after clamp must be in order",
            r#"{"provisioning": {"retry-after-min-ms": 5000, "retry-after-max-ms": 4000}, "seed": 19}"#,
        ),
        validate(
            "err-reprovision-after-zero",
            "reprovision-after is at least 1",
            r#"{"provisioning": {"reprovision-after": 0}, "seed": 20}"#,
        ),
    ]
}

// ---------------------------------------------------------------------------------
// Schedule: every kind and preset, both curves, hints and limits
// ---------------------------------------------------------------------------------

pub(super) fn schedule_specs() -> anyhow::Result<Vec<Spec>> {
    let throttled_429 = json!({ "http": { "status": 429 } });
    let busy_0x89 = json!({ "mqtt-reason": 0x89 });
    Ok(vec![
        schedule(
            "exponential-default",
            "the default kind: exponential, full jitter, initial 1000, max 60000",
            r#"{}"#,
            17,
            plain(10),
        ),
        schedule(
            "exponential-full-other-seed",
            "the same policy with another seed gives other delays",
            r#"{"kind": "exponential"}"#,
            18,
            plain(10),
        ),
        schedule(
            "exponential-equal",
            "equal jitter: uniform [d/2, d]",
            r#"{"kind": "exponential", "jitter": "equal", "initial-ms": 500, "max-ms": 16000}"#,
            3,
            plain(8),
        ),
        schedule(
            "exponential-none-multiplier",
            "no jitter, multiplier 1.5, capped at max-ms",
            r#"{"kind": "exponential", "jitter": "none", "initial-ms": 400, "multiplier": 1.5, "max-ms": 5000}"#,
            1,
            plain(10),
        ),
        schedule(
            "exponential-symmetric",
            "symmetric jitter of 25% around d, after the cap",
            r#"{"kind": "exponential", "jitter": "symmetric", "jitter-percent": 25, "max-ms": 8000}"#,
            4,
            plain(8),
        ),
        schedule(
            "exponential-upward",
            "upward jitter of 50% above d, after the cap",
            r#"{"kind": "exponential", "jitter": "upward", "jitter-percent": 50, "max-ms": 4000}"#,
            5,
            plain(6),
        ),
        schedule(
            "exponential-first-immediate",
            "first-immediate: retry 1 waits 0",
            r#"{"kind": "exponential", "jitter": "none", "first-immediate": true}"#,
            6,
            plain(5),
        ),
        schedule(
            "fixed",
            "fixed interval",
            r#"{"kind": "fixed", "interval-ms": 2500}"#,
            7,
            plain(4),
        ),
        schedule(
            "fixed-first-ms",
            "fixed with a different first delay",
            r#"{"kind": "fixed", "interval-ms": 5000, "first-ms": 100}"#,
            8,
            plain(4),
        ),
        schedule(
            "linear",
            "linear up to max-ms",
            r#"{"kind": "linear", "initial-ms": 500, "step-ms": 1500, "max-ms": 5000}"#,
            9,
            plain(6),
        ),
        schedule(
            "immediate",
            "immediate: always 0",
            r#"{"kind": "immediate"}"#,
            10,
            plain(3),
        ),
        schedule(
            "random",
            "uniform [min-ms, max-ms]",
            r#"{"kind": "random", "min-ms": 1000, "max-ms": 3000}"#,
            11,
            plain(8),
        ),
        schedule(
            "decorrelated-jitter",
            "decorrelated jitter; the throttled steps keep their own previous d",
            r#"{"kind": "decorrelated-jitter", "base-ms": 500, "max-ms": 20000, "throttled": {"kind": "decorrelated-jitter", "base-ms": 2000, "max-ms": 60000}}"#,
            12,
            vec![
                Value::Null,
                Value::Null,
                throttled_429.clone(),
                Value::Null,
                throttled_429.clone(),
                Value::Null,
            ],
        ),
        schedule(
            "no-retry",
            "no-retry gives up at the first failure",
            r#"{"kind": "no-retry"}"#,
            13,
            plain(2),
        ),
        schedule(
            "azure-c",
            "the Azure C SDK's formula, in milliseconds",
            r#"{"kind": "azure-c"}"#,
            14,
            plain(8),
        ),
        schedule(
            "azure-dotnet",
            "the Azure .NET SDK's formula with its 1000 ms minimum interval",
            r#"{"kind": "azure-dotnet"}"#,
            15,
            plain(9),
        ),
        schedule(
            "azure-java",
            "the Azure Java SDK's formula",
            r#"{"kind": "azure-java"}"#,
            16,
            plain(8),
        ),
        schedule(
            "azure-node",
            "the Azure Node SDK's formula, with its own throttled curve",
            r#"{"kind": "azure-node"}"#,
            17,
            vec![
                Value::Null,
                Value::Null,
                Value::Null,
                busy_0x89.clone(),
                busy_0x89.clone(),
                Value::Null,
            ],
        ),
        schedule(
            "azure-python",
            "the Azure Python SDK: 10 ms, then 10 s",
            r#"{"kind": "azure-python"}"#,
            18,
            plain(3),
        ),
        schedule(
            "grpc",
            "gRPC's connection backoff",
            r#"{"kind": "grpc"}"#,
            19,
            plain(12),
        ),
        schedule(
            "aws-crt",
            "AWS CRT: full jitter up to 120 s",
            r#"{"kind": "aws-crt"}"#,
            20,
            plain(9),
        ),
        schedule(
            "throttled-curve-429-and-0x89",
            "an HTTP 429 and an MQTT 5 0x89 take the throttled curve; the attempt count is shared",
            r#"{"kind": "exponential", "jitter": "none"}"#,
            21,
            vec![
                Value::Null,
                throttled_429.clone(),
                busy_0x89.clone(),
                Value::Null,
                json!({ "application": "throttled" }),
            ],
        ),
        schedule(
            "throttled-curve-custom",
            "a linear throttled curve next to a fixed normal one",
            r#"{"kind": "fixed", "interval-ms": 1000, "throttled": {"kind": "linear", "initial-ms": 3000, "step-ms": 3000}}"#,
            22,
            vec![
                throttled_429.clone(),
                Value::Null,
                throttled_429.clone(),
                throttled_429,
            ],
        ),
        schedule(
            "server-hint-retry-after",
            "a retry-after replaces the curve, clamped to [retry-after-min-ms, retry-after-max-ms]",
            r#"{"kind": "fixed", "interval-ms": 1000, "retry-after-min-ms": 2000, "retry-after-max-ms": 30000}"#,
            23,
            vec![
                json!({ "http": { "status": 503 }, "retry-after-ms": 5000 }),
                json!({ "http": { "status": 429 }, "retry-after-ms": 10 }),
                json!({ "mqtt-reason": 0x89, "retry-after-ms": 9_999_999 }),
                Value::Null,
            ],
        ),
        schedule(
            "max-delay-caps-hint",
            "max-delay-ms caps every delay, a server hint included",
            r#"{"kind": "exponential", "jitter": "none", "initial-ms": 1000, "multiplier": 10, "max-ms": 100000000, "max-delay-ms": 50000}"#,
            24,
            vec![
                Value::Null,
                Value::Null,
                Value::Null,
                json!({ "network": "refused", "retry-after-ms": 500000 }),
            ],
        ),
        schedule(
            "max-attempts",
            "three retries, then give-up:max-attempts",
            r#"{"kind": "fixed", "interval-ms": 1000, "max-attempts": 3}"#,
            25,
            plain(5),
        ),
        with_elapsed(
            schedule(
                "retry-timeout-elapsed",
                "a retry exactly at retry-timeout-ms is allowed; one ms later gives up",
                r#"{"kind": "fixed", "interval-ms": 1000, "retry-timeout-ms": 5000}"#,
                26,
                plain(4),
            ),
            vec![Some(0), Some(2000), Some(4000), Some(4001)],
        ),
        schedule(
            "retry-timeout-summed",
            "without elapsed-ms the schedule adds up its own delays",
            r#"{"kind": "exponential", "jitter": "none", "retry-timeout-ms": 10000}"#,
            27,
            plain(6),
        ),
        with_elapsed(
            schedule(
                "retry-timeout-mixed-elapsed",
                "elapsed-ms given for some steps only",
                r#"{"kind": "linear", "initial-ms": 1000, "step-ms": 1000, "retry-timeout-ms": 8000}"#,
                28,
                plain(5),
            ),
            vec![None, Some(1500), None, Some(6000), None],
        ),
        schedule(
            "unrecoverable-failure",
            "a fatal or reprovision failure gives give-up:unrecoverable",
            r#"{"kind": "fixed", "interval-ms": 1000}"#,
            29,
            vec![
                Value::Null,
                json!({ "network": "timeout" }),
                json!({ "mqtt-reason": 0x8A }),
            ],
        ),
        schedule(
            "renew-verdict-uses-normal-curve",
            "a refused credential retries on the normal curve; 404 is unrecoverable here",
            r#"{"kind": "exponential", "jitter": "none"}"#,
            30,
            vec![
                json!({ "mqtt-connack": 5 }),
                json!({ "application": "credential-expired" }),
                json!({ "http": { "status": 404 } }),
            ],
        ),
        schedule(
            "min-interval-floor",
            "min-interval-ms raises short delays",
            r#"{"kind": "immediate", "min-interval-ms": 750}"#,
            31,
            plain(3),
        ),
        schedule(
            "error-preset-formula-field",
            "a create error names the field",
            r#"{"kind": "grpc", "initial-ms": 5}"#,
            32,
            plain(1),
        ),
        schedule(
            "error-not-json",
            "a policy that is not JSON",
            r#"{"kind": "#,
            33,
            plain(1),
        ),
    ])
}
