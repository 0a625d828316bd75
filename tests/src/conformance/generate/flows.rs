//! The flow vectors: scripts of inputs whose times and links may be symbolic,
//! resolved by replaying them through the component.

use super::*;

pub(super) fn flow_specs() -> anyhow::Result<Vec<Spec>> {
    let refused = || json!({ "network": "refused" });
    let reset = || json!({ "network": "reset" });
    let mut specs = vec![flow(
        "hub-only-outage-reconnect",
        "hub only, default policy: connect, deliver, lose the link, back off twice, reconnect and resend",
        r#"{"hub": "hub-a.example:8883", "device-id": "sensor-17", "seed": 17}"#,
        vec![
            start(),
            opened(120),
            publish(5000, "telemetry", r#"{"t":21.5}"#),
            acked(40, 1),
            closed(10_000, reset()),
            publish(500, "telemetry", r#"{"t":21.7}"#),
            wake_early(),
            wake(),
            failed(80, refused()),
            wake(),
            opened(150),
            acked(30, 2),
        ],
    )];

    // A scripted outage of `n` refused reconnects: fail, wait, retry.
    let refusals = |n: usize| -> Vec<Step> {
        let mut steps = Vec::new();
        for _ in 0..n {
            steps.push(failed(100, refused()));
            steps.push(wake());
        }
        steps
    };

    specs.push(flow(
        "fatal-banned-stops",
        "MQTT 5 0x8A banned is fatal: stop, fail the queue with unrecoverable, report device-disabled",
        r#"{"hub": "hub-a", "device-id": "d1", "seed": 2}"#,
        vec![
            start(),
            publish(10, "telemetry", "queued-before-connect"),
            failed(90, json!({ "mqtt-reason": 0x8A })),
        ],
    ));
    specs.push(flow(
        "fatal-protocol-version",
        "MQTT 3.1.1 CONNACK 1 while connected: close, stop, report protocol-error",
        r#"{"hub": "hub-a", "seed": 3}"#,
        vec![
            start(),
            opened(50),
            publish(100, "telemetry", "in-flight"),
            closed(200, json!({ "mqtt-connack": 1 })),
        ],
    ));
    let mut steps = vec![start(), publish(5, "telemetry", "never-delivered")];
    steps.extend(refusals(2));
    steps.push(failed(100, refused()));
    specs.push(flow(
        "retry-expired-max-attempts",
        "max-attempts 2: the third failure gives up, reports retry-expired once, fails the queue",
        r#"{"hub": "hub-a", "seed": 4, "policy": {"kind": "fixed", "interval-ms": 2000, "max-attempts": 2}}"#,
        steps,
    ));
    specs.push(flow(
        "retry-expired-timeout",
        "retry-timeout-ms 5000 counted from the first failure of the outage",
        r#"{"hub": "hub-a", "seed": 5, "policy": {"kind": "exponential", "jitter": "none", "initial-ms": 1000, "retry-timeout-ms": 5000}}"#,
        vec![
            start(),
            failed(100, json!({ "network": "timeout" })),
            wake(),
            failed(100, json!({ "network": "timeout" })),
            wake(),
            failed(100, json!({ "network": "timeout" })),
        ],
    ));
    let mut steps = vec![start()];
    steps.extend(refusals(10));
    steps.push(assigned(
        400,
        json!({ "hub": "hub-b.example:8883", "device-id": "dev-1" }),
    ));
    steps.push(opened(100));
    specs.push(flow(
        "reprovision-after-10-failures",
        "hub plus provisioning: after 10 failed reconnects to the cached hub, register again",
        r#"{"hub": "hub-a.example:8883", "device-id": "dev-1", "seed": 6, "provisioning": {}, "policy": {"kind": "fixed", "interval-ms": 1000}}"#,
        steps,
    ));
    for (slug, about, failure, via_close) in [
        (
            "reprovision-on-401",
            "an HTTP 401 from the hub sends the device back to provisioning",
            json!({ "http": { "status": 401 } }),
            false,
        ),
        (
            "reprovision-on-403",
            "an HTTP 403 (not quota) on a live link sends the device back to provisioning",
            json!({ "http": { "status": 403 } }),
            true,
        ),
        (
            "reprovision-on-404",
            "an HTTP 404 (404001 device not found) sends the device back to provisioning",
            json!({ "http": { "status": 404, "hub-code": 404_001 } }),
            false,
        ),
    ] {
        let mut steps = vec![start()];
        if via_close {
            steps.push(opened(100));
            steps.push(closed(60_000, failure));
        } else {
            steps.push(failed(100, failure));
        }
        steps.extend([
            wake(),
            assigned(
                300,
                json!({ "hub": "hub-b.example:8883", "device-id": "dev-2",
                        "credential": { "secret": "sas-b", "lifetime-ms": 3_600_000 } }),
            ),
            opened(100),
        ]);
        specs.push(flow(
            slug,
            about,
            r#"{"hub": "hub-a.example:8883", "device-id": "dev-1", "seed": 7, "provisioning": {}, "policy": {"kind": "exponential", "jitter": "none"}}"#,
            steps,
        ));
    }
    specs.push(flow(
        "quota-403002-no-reprovision",
        "403002 quota exceeded is throttled, not a reason to reprovision: reconnect to the same hub",
        r#"{"hub": "hub-a.example:8883", "device-id": "dev-1", "seed": 8, "provisioning": {}}"#,
        vec![
            start(),
            failed(100, json!({ "http": { "status": 403, "hub-code": 403_002 } })),
            wake(),
            failed(100, json!({ "http": { "status": 403, "hub-code": 403_002 } })),
            wake(),
            opened(100),
        ],
    ));
    specs.push(flow(
        "provisioning-202-polling",
        "first registration: 202s are polled after their retry-after, clamped to [2000, 300000], default 2000",
        r#"{"provisioning": {}, "seed": 9}"#,
        vec![
            start(),
            pending(300, json!({ "operation-id": "op-1", "retry-after-ms": 3000 })),
            wake_early(),
            wake(),
            pending(200, json!({ "operation-id": "op-1", "retry-after-ms": 500 })),
            wake(),
            pending(200, json!({ "operation-id": "op-1" })),
            wake(),
            pending(200, json!({ "operation-id": "op-2", "retry-after-ms": 900_000 })),
            wake(),
            assigned(
                200,
                json!({ "hub": "hub-b.example:8883", "device-id": "dev-9",
                        "credential": { "secret": "sas-9" } }),
            ),
            opened(100),
        ],
    ));
    specs.push(flow(
        "provisioning-429-clamped",
        "a provisioning 429's retry-after is honoured within the clamp; a 500 backs off on the policy",
        r#"{"provisioning": {"retry-after-min-ms": 2000, "retry-after-max-ms": 300000}, "seed": 10}"#,
        vec![
            start(),
            provisioning_failed(
                200,
                json!({ "http": { "status": 429 }, "retry-after-ms": 900_000 }),
            ),
            wake(),
            provisioning_failed(200, json!({ "http": { "status": 429 }, "retry-after-ms": 100 })),
            wake(),
            provisioning_failed(200, json!({ "http": { "status": 500 } })),
            wake(),
            assigned(200, json!({ "hub": "hub-b", "device-id": "dev-10" })),
            opened(100),
        ],
    ));
    specs.push(flow(
        "provisioning-refused-stops",
        "a 401 from the provisioning service itself cannot be fixed by registering again: stop",
        r#"{"provisioning": {}, "seed": 11}"#,
        vec![
            start(),
            provisioning_failed(200, json!({ "http": { "status": 401 } })),
        ],
    ));
    specs.push(flow(
        "credential-renewal-at-80-percent",
        "a renewable credential with a 10 s lifetime is renewed at 8 s and the link reopened, reported as credential-renewal",
        r#"{"hub": "hub-a", "device-id": "dev-1", "seed": 12, "credential": {"renewable": true}}"#,
        vec![
            start(),
            credential_ok(50, json!({ "secret": "token-1", "lifetime-ms": 10_000 })),
            opened(100),
            publish(1000, "telemetry", "m1"),
            wake_early(),
            wake(),
            credential_ok(40, json!({ "secret": "token-2", "lifetime-ms": 10_000 })),
            opened(100),
            acked(20, 1),
        ],
    ));
    specs.push(flow(
        "credential-renewal-failure-keeps-link",
        "a routine renewal that fails keeps the link on the old credential and tries again later",
        r#"{"hub": "hub-a", "device-id": "dev-1", "seed": 13, "credential": {"renewable": true, "secret": "token-0", "lifetime-ms": 20000, "renew-at-percent": 50}}"#,
        vec![
            start(),
            opened(100),
            wake(),
            credential_error(50, json!({ "network": "timeout" })),
            wake(),
            credential_ok(50, json!({ "secret": "token-1", "lifetime-ms": 20_000 })),
            opened(100),
        ],
    ));
    specs.push(flow(
        "credential-refused-escalates-to-reprovision",
        "CONNACK 5: renew once; refused again with the new credential: register again",
        r#"{"hub": "hub-a", "device-id": "dev-1", "seed": 14, "provisioning": {}, "credential": {"renewable": true, "secret": "token-0"}, "policy": {"kind": "fixed", "interval-ms": 1000}}"#,
        vec![
            start(),
            failed(100, json!({ "mqtt-connack": 5 })),
            credential_ok(50, json!({ "secret": "token-1" })),
            failed(100, json!({ "mqtt-connack": 5 })),
            wake(),
            assigned(
                300,
                json!({ "hub": "hub-c", "device-id": "dev-1b",
                        "credential": { "secret": "token-9" } }),
            ),
            opened(100),
        ],
    ));
    specs.push(flow(
        "credential-refused-stops-without-provisioning",
        "MQTT 5 0x87 refused twice and no provisioning service: stop with bad-credential",
        r#"{"hub": "hub-a", "device-id": "dev-1", "seed": 15, "credential": {"renewable": true, "secret": "token-0"}}"#,
        vec![
            start(),
            publish(10, "telemetry", "waiting"),
            failed(100, json!({ "mqtt-reason": 0x87 })),
            credential_ok(50, json!({ "secret": "token-1" })),
            failed(100, json!({ "mqtt-reason": 0x87 })),
        ],
    ));
    specs.push(flow(
        "credential-renewal-fails-then-retries",
        "the credential source fails with a timeout: back off on the policy, then ask again",
        r#"{"hub": "hub-a", "seed": 16, "credential": {"renewable": true}, "policy": {"kind": "fixed", "interval-ms": 3000}}"#,
        vec![
            start(),
            credential_error(100, json!({ "network": "timeout" })),
            wake(),
            credential_ok(100, json!({ "secret": "token-1" })),
            opened(100),
        ],
    ));
    specs.push(flow(
        "server-moved",
        "MQTT 5 0x9D with a server reference: the next attempt goes to the new hub",
        r#"{"hub": "hub-a.example:8883", "device-id": "dev-1", "seed": 17}"#,
        vec![
            start(),
            opened(100),
            closed(
                40_000,
                json!({ "mqtt-reason": 0x9D, "server-reference": "hub-z.example:8883" }),
            ),
            wake(),
            opened(100),
        ],
    ));
    specs.push(flow(
        "no-retry",
        "kind no-retry: the first lost link gives up; the unacknowledged message fails with no-retry",
        r#"{"hub": "hub-a", "seed": 18, "policy": {"kind": "no-retry"}}"#,
        vec![
            start(),
            opened(100),
            publish(100, "telemetry", "unacked"),
            closed(100, reset()),
            publish(100, "telemetry", "too-late"),
        ],
    ));
    specs.push(flow(
        "queue-full-drop-oldest",
        "capacity 2, drop-oldest: the third publish fails the oldest queued message with queue-full",
        r#"{"hub": "hub-a", "seed": 19, "queue": {"capacity": 2, "when-full": "drop-oldest"}}"#,
        vec![
            start(),
            publish(10, "telemetry", "one"),
            publish(10, "telemetry", "two"),
            publish(10, "telemetry", "three"),
            opened(100),
            acked(20, 2),
            acked(5, 3),
        ],
    ));
    specs.push(flow(
        "queue-full-reject",
        "capacity 2, reject: the third publish is refused; payload-too-large and empty-topic are refused too",
        r#"{"hub": "hub-a", "seed": 20, "queue": {"capacity": 2, "max-in-flight": 1, "when-full": "reject", "max-payload-bytes": 8}}"#,
        vec![
            start(),
            publish(10, "telemetry", "one"),
            publish(10, "telemetry", "two"),
            publish(10, "telemetry", "three"),
            publish(10, "telemetry", "nine-bytes"),
            publish(10, "", "x"),
            opened(100),
            acked(20, 1),
            acked(20, 2),
        ],
    ));
    specs.push(flow(
        "operation-timeout",
        "operation-timeout-ms 5000: a message not acknowledged in time fails, exactly at its deadline",
        r#"{"hub": "hub-a", "seed": 21, "queue": {"operation-timeout-ms": 5000}, "policy": {"kind": "fixed", "interval-ms": 60000}}"#,
        vec![
            start(),
            failed(100, refused()),
            publish(1000, "telemetry", "stale-soon"),
            publish(2000, "telemetry", "later"),
            wake_early(),
            wake(),
            wake(),
            wake(),
        ],
    ));
    specs.push(flow(
        "stop-client-close",
        "stop: close the link, fail queued and in-flight messages with client-close, report disabled; start again",
        r#"{"hub": "hub-a", "seed": 22, "queue": {"max-in-flight": 1}}"#,
        vec![
            start(),
            opened(100),
            publish(100, "telemetry", "in-flight"),
            publish(10, "telemetry", "queued"),
            stop(100),
            publish(10, "telemetry", "after-stop"),
            stop(10),
            (When::After(1000), Do::Start),
            opened(100),
        ],
    ));
    specs.push(flow_with_input_errors(
        "stale-inputs",
        "late, unknown and unexpected inputs are refused and change nothing",
        r#"{"hub": "hub-a", "seed": 23, "policy": {"kind": "fixed", "interval-ms": 2000}}"#,
        vec![
            start(),
            failed(100, json!({ "network": "timeout" })),
            (When::After(10), Do::Opened(Link::N(1))),
            (When::After(10), Do::Opened(Link::N(7))),
            acked(10, 99),
            assigned(10, json!({ "hub": "hub-x", "device-id": "x" })),
            credential_ok(10, json!({ "secret": "unasked" })),
            (When::After(10), Do::Start),
            wake_after(10),
            wake(),
            (When::After(10), Do::Failed(Link::N(1), refused())),
            opened(100),
            (When::After(10), Do::Closed(Link::N(1), reset())),
            stop(10),
            (When::After(10), Do::Opened(Link::N(2))),
            acked(10, 1),
            wake_after(10),
            (
                When::After(10),
                Do::Provisioned(json!({ "pending": { "operation-id": "op" } })),
            ),
        ],
    ));
    specs.push(flow(
        "backoff-reset-after-hold",
        "a link that flaps keeps backing off; one that held 30 s starts the backoff over",
        r#"{"hub": "hub-a", "seed": 24, "policy": {"kind": "exponential", "jitter": "none", "initial-ms": 1000}}"#,
        vec![
            start(),
            opened(100),
            closed(5000, reset()),
            wake(),
            opened(100),
            closed(5000, reset()),
            wake(),
            opened(100),
            closed(29_999, reset()),
            wake(),
            opened(100),
            closed(30_000, reset()),
            wake(),
            opened(100),
        ],
    ));
    specs.push(flow(
        "throttled-and-server-hint",
        "0x89 backs off on the throttled curve; a 429 with retry-after uses the server's hint",
        r#"{"hub": "hub-a", "seed": 25}"#,
        vec![
            start(),
            opened(100),
            closed(60_000, json!({ "mqtt-reason": 0x89 })),
            wake(),
            failed(
                100,
                json!({ "http": { "status": 429 }, "retry-after-ms": 7000 }),
            ),
            wake(),
            opened(100),
        ],
    ));
    specs.push(flow(
        "keep-alive-lost",
        "a lost keep-alive is reported as no-ping-response and retried",
        r#"{"hub": "hub-a", "seed": 26, "policy": {"kind": "azure-c"}}"#,
        vec![
            start(),
            opened(100),
            closed(45_000, json!({ "protocol": "keep-alive-lost" })),
            wake(),
            failed(100, json!({ "network": "dns" })),
            wake(),
            opened(100),
        ],
    ));
    specs.push(flow(
        "config-error",
        "an invalid configuration: the line is the create error",
        r#"{"hub": "hub-a", "seed": 27, "queue": {"capacity": 0}}"#,
        vec![start(), (When::After(100), Do::Opened(Link::N(1)))],
    ));
    specs.push(flow(
        "sas-connection-string-mints-locally",
        "a connection string with a key: tokens are minted in the component (no credentials.renew), the expiry from the wall clock, renewed at 80% of a 10 s lifetime",
        r#"{"connection-string": "HostName=my.host.name;DeviceId=my-device;SharedAccessKey=cGFzc3dvcmQ=", "seed": 28, "credential": {"token-lifetime-s": 10}}"#,
        vec![
            start(),
            opened(100),
            publish(1000, "telemetry", "m1"),
            acked(20, 1),
            wake(),
            opened(100),
        ],
    ));
    specs.push(flow(
        "sas-reassigned-hub-gets-its-own-token",
        "DPS with a device key: the token names the assigned hub; after a 404 the device registers again and the new hub gets a token for its own name",
        r#"{"provisioning": {}, "seed": 29, "credential": {"sas": {"key": "cGFzc3dvcmQ="}}}"#,
        vec![
            start(),
            assigned(200, json!({ "hub": "hub-a.example", "device-id": "dev-1" })),
            failed(100, json!({ "http": { "status": 404, "hub-code": 404001 } })),
            wake(),
            assigned(200, json!({ "hub": "hub-b.example", "device-id": "dev-1" })),
            opened(100),
        ],
    ));
    specs.push(flow(
        "sas-refused-fresh-token-stops",
        "a link refused with CONNACK 5: a fresh token is minted at once; refused again, the key itself is refused: stop",
        r#"{"connection-string": "HostName=h.example;DeviceId=d1;SharedAccessKey=cGFzc3dvcmQ=", "seed": 30}"#,
        vec![
            start(),
            opened(100),
            closed(5000, json!({ "mqtt-connack": 5 })),
            failed(100, json!({ "mqtt-connack": 5 })),
        ],
    ));
    specs.push(flow(
        "subscriptions-restored-on-reconnect",
        "subscriptions given before and during a link are kept by the component and sent again, all of them, on every new link",
        r#"{"hub": "hub-a", "device-id": "d1", "seed": 31}"#,
        vec![
            subscribe(0, "devices/d1/messages/devicebound/#"),
            start(),
            opened(100),
            subscribe(50, "app/commands"),
            subscribe(10, "app/commands"),
            subscribe(10, ""),
            closed(5000, json!({ "network": "reset" })),
            wake(),
            opened(100),
            stop(100),
            subscribe(10, "late"),
        ],
    ));
    specs.push(flow_with_input_errors(
        "refusals-resend-or-fail",
        "PUBACK refusals: 0x97 is resent after 500 ms then 1000 ms and ends quota-exceeded at its third refusal; 0x87 and 0x99 end at once; 0x80 is resent and delivered; the link and the status stay; a refusal of a message not in flight is unknown-message",
        r#"{"hub": "hub-a", "seed": 32, "queue": {"max-refusals": 3, "refusal-backoff-ms": 500}}"#,
        vec![
            start(),
            opened(100),
            publish(10, "telemetry", "quota"),
            publish(0, "telemetry", "forbidden"),
            publish(0, "telemetry", "bad-payload"),
            publish(0, "telemetry", "unspecified"),
            refused_msg(20, 1, 0x97),
            refused_msg(0, 2, 0x87),
            refused_msg(0, 3, 0x99),
            refused_msg(0, 4, 0x80),
            refused_msg(0, 2, 0x87),
            wake(),
            refused_msg(20, 1, 0x97),
            acked(0, 4),
            wake_early(),
            wake(),
            refused_msg(20, 1, 0x97),
        ],
    ));
    specs.push(flow(
        "session-taken-over-bounded",
        "MQTT 5 0x8E: retried on the throttled curve takeover-retries (2) times in one outage, then disconnected / session-taken-over and the queue failed unrecoverable",
        r#"{"hub": "hub-a", "seed": 33, "takeover-retries": 2}"#,
        vec![
            start(),
            opened(100),
            publish(10, "telemetry", "waiting"),
            closed(100, json!({ "mqtt-reason": 0x8E })),
            wake(),
            opened(100),
            closed(100, json!({ "mqtt-reason": 0x8E })),
            wake(),
            opened(100),
            closed(100, json!({ "mqtt-reason": 0x8E })),
        ],
    ));
    Ok(specs)
}
