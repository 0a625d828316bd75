//! The conformance vectors as they are written down, and the generator that turns
//! them into the files in `tests/conformance/vectors/`.
//!
//! The vectors are plain data (FORMAT.md): explicit inputs at explicit virtual
//! times. This module is where they are written down. Classify, validate and
//! schedule vectors are copied from the tables below as they are; a flow vector is a
//! script whose times and link numbers may be symbolic ("at the deadline the last
//! `wake-at` announced", "the link of the last `open`"), and [`generate`] resolves
//! them by replaying the script through the component, then fills in every
//! vector's `expected` (the same as `conformance --bless`).
//!
//! When a policy default changes, generating again re-times the flow scripts and
//! re-blesses everything in one step. A flow whose scripted input the component
//! refuses is an error unless the vector is about refused inputs, so a script that
//! no longer fits the flow fails here instead of becoming a meaningless vector.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail, ensure};
use serde_json::{Value, json};
use tether_host::{Command, NS_PER_MS, Runtime};

use super::{
    Event, FailureJson, Flow, Kind, Vector, read_vector, render_file, run_vector, vector_paths,
    write_vector,
};

/// One generated vector and its file name.
#[derive(Clone, Debug)]
pub struct Generated {
    /// `NNN-<kind>-<slug>.json`.
    pub file: String,
    /// The vector, `expected` filled in.
    pub vector: Vector,
}

/// Every vector written down here, resolved and blessed against `runtime`, in
/// file-name order.
pub fn generate(runtime: &Runtime) -> anyhow::Result<Vec<Generated>> {
    let mut specs = Vec::new();
    specs.extend(classify_specs()?);
    specs.extend(validate_specs());
    specs.extend(schedule_specs()?);
    specs.extend(flow_specs()?);

    let mut next_number: BTreeMap<Kind, u32> = BTreeMap::new();
    let mut out = Vec::new();
    for spec in specs {
        let (base, limit) = number_range(spec.kind);
        let number = *next_number.entry(spec.kind).or_insert(base);
        ensure!(number < limit, "too many {} vectors", spec.kind.name());
        next_number.insert(spec.kind, number.saturating_add(1));
        let name = format!("{}/{}", spec.kind.name(), spec.slug);
        let file = format!("{number:03}-{}-{}.json", spec.kind.name(), spec.slug);
        let mut vector = spec
            .build(runtime, &name)
            .with_context(|| format!("vector {name}"))?;
        let line = run_vector(runtime, &vector).with_context(|| name.clone())?;
        // Runners print strings as they are (FORMAT.md): nothing may break the line.
        ensure!(
            !line.chars().any(char::is_control),
            "vector {name}: its line has a control character: {line:?}"
        );
        vector.expected = Some(line);
        out.push(Generated { file, vector });
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(out)
}

/// What [`write_all`] did.
#[derive(Clone, Debug, Default)]
pub struct Written {
    /// Vectors generated, per kind.
    pub counts: BTreeMap<Kind, usize>,
    /// Files whose text changed.
    pub changed: Vec<PathBuf>,
    /// `*.json` files in the directory not generated here (removed when pruning).
    pub foreign: Vec<PathBuf>,
}

/// Generate every vector and write the files that changed into `dir`. With
/// `prune`, remove the `*.json` files that were not generated.
pub fn write_all(runtime: &Runtime, dir: &Path, prune: bool) -> anyhow::Result<Written> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Written::default();
    let mut files = BTreeSet::new();
    for g in generate(runtime)? {
        let count = written.counts.entry(g.vector.kind).or_default();
        *count = count.saturating_add(1);
        let path = dir.join(&g.file);
        if write_vector(&path, &g.vector)? {
            written.changed.push(path);
        }
        files.insert(g.file);
    }
    for path in vector_paths(dir)? {
        let name = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !files.contains(&name) {
            if prune {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
            }
            written.foreign.push(path);
        }
    }
    Ok(written)
}

/// The generated files whose text in `dir` differs from what [`generate`] gives
/// now (or that are missing), with the reason. Empty when the directory is current.
pub fn stale_files(runtime: &Runtime, dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut stale = Vec::new();
    for g in generate(runtime)? {
        let path = dir.join(&g.file);
        let want = render_file(&g.vector)?;
        match std::fs::read_to_string(&path) {
            Err(_) => stale.push(format!("{}: missing", path.display())),
            Ok(have) if have == want => {}
            Ok(_) => {
                let what = match read_vector(&path) {
                    Ok(v) if v.events != g.vector.events => {
                        "its flow events differ from the script's"
                    }
                    Ok(v) if v.expected != g.vector.expected => "its expected line differs",
                    Ok(_) => "its inputs or layout differ",
                    Err(_) => "it does not parse",
                };
                stale.push(format!("{}: {what}", path.display()));
            }
        }
    }
    Ok(stale)
}

/// File numbers per kind: `1xx`-`2xx` classify, `3xx` validate, `4xx` schedule,
/// `5xx`-`6xx` flow.
fn number_range(kind: Kind) -> (u32, u32) {
    match kind {
        Kind::Classify => (100, 300),
        Kind::Validate => (300, 400),
        Kind::Schedule => (400, 500),
        Kind::Flow => (500, 700),
    }
}

// ---------------------------------------------------------------------------------
// Specs
// ---------------------------------------------------------------------------------

struct Spec {
    kind: Kind,
    slug: String,
    about: Option<&'static str>,
    body: Body,
}

enum Body {
    Classify(Value),
    Validate(String),
    Schedule {
        policy: &'static str,
        seed: u64,
        steps: Vec<Value>,
        elapsed: Option<Vec<Option<u64>>>,
    },
    Flow {
        config: &'static str,
        script: Vec<Step>,
        input_errors_expected: bool,
    },
}

impl Spec {
    fn build(self, runtime: &Runtime, name: &str) -> anyhow::Result<Vector> {
        let mut v = Vector {
            name: name.to_string(),
            kind: self.kind,
            about: self.about.map(str::to_string),
            failure: None,
            config: None,
            policy: None,
            seed: None,
            steps: None,
            elapsed_ms: None,
            events: None,
            expected: None,
        };
        match self.body {
            Body::Classify(failure) => v.failure = Some(failure_json(failure)?),
            Body::Validate(config) => v.config = Some(config),
            Body::Schedule {
                policy,
                seed,
                steps,
                elapsed,
            } => {
                v.policy = Some(policy.to_string());
                v.seed = Some(seed);
                v.steps = Some(
                    steps
                        .into_iter()
                        .map(|s| match s {
                            Value::Null => Ok(None),
                            other => failure_json(other).map(Some),
                        })
                        .collect::<anyhow::Result<_>>()?,
                );
                v.elapsed_ms = elapsed;
            }
            Body::Flow {
                config,
                script,
                input_errors_expected,
            } => {
                let doc: Value = serde_json::from_str(config).context("flow config")?;
                ensure!(
                    doc.get("seed").is_some_and(Value::is_u64),
                    "every flow config gives a seed"
                );
                v.config = Some(config.to_string());
                v.events = Some(resolve(runtime, config, &script, input_errors_expected)?);
            }
        }
        Ok(v)
    }
}

fn failure_json(v: Value) -> anyhow::Result<FailureJson> {
    let f: FailureJson = serde_json::from_value(v.clone()).with_context(|| v.to_string())?;
    f.to_failure().with_context(|| v.to_string())?;
    Ok(f)
}

fn classify(slug: impl Into<String>, failure: Value) -> Spec {
    Spec {
        kind: Kind::Classify,
        slug: slug.into(),
        about: None,
        body: Body::Classify(failure),
    }
}

fn validate(slug: &str, about: &'static str, config: &str) -> Spec {
    Spec {
        kind: Kind::Validate,
        slug: slug.into(),
        about: Some(about),
        body: Body::Validate(config.to_string()),
    }
}

fn schedule(
    slug: &str,
    about: &'static str,
    policy: &'static str,
    seed: u64,
    steps: Vec<Value>,
) -> Spec {
    Spec {
        kind: Kind::Schedule,
        slug: slug.into(),
        about: Some(about),
        body: Body::Schedule {
            policy,
            seed,
            steps,
            elapsed: None,
        },
    }
}

fn with_elapsed(mut spec: Spec, list: Vec<Option<u64>>) -> Spec {
    if let Body::Schedule { elapsed, .. } = &mut spec.body {
        *elapsed = Some(list);
    }
    spec
}

fn flow(slug: &str, about: &'static str, config: &'static str, script: Vec<Step>) -> Spec {
    Spec {
        kind: Kind::Flow,
        slug: slug.into(),
        about: Some(about),
        body: Body::Flow {
            config,
            script,
            input_errors_expected: false,
        },
    }
}

fn flow_with_input_errors(
    slug: &str,
    about: &'static str,
    config: &'static str,
    script: Vec<Step>,
) -> Spec {
    let mut spec = flow(slug, about, config, script);
    if let Body::Flow {
        input_errors_expected,
        ..
    } = &mut spec.body
    {
        *input_errors_expected = true;
    }
    spec
}

/// `n` plain failures.
fn plain(n: usize) -> Vec<Value> {
    vec![Value::Null; n]
}

// ---------------------------------------------------------------------------------
// Classify: every row group of the table, and its defaults
// ---------------------------------------------------------------------------------

fn classify_specs() -> anyhow::Result<Vec<Spec>> {
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

fn validate_specs() -> Vec<Spec> {
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

fn schedule_specs() -> anyhow::Result<Vec<Spec>> {
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

// ---------------------------------------------------------------------------------
// Flow scripts
// ---------------------------------------------------------------------------------

/// When a scripted input happens.
#[derive(Clone, Copy, Debug)]
enum When {
    /// At this virtual time.
    At(u64),
    /// This long after the previous input.
    After(u64),
    /// At the deadline of the last `wake-at`.
    Wake,
    /// This long before the deadline of the last `wake-at` (a boundary check).
    WakeLess(u64),
}

/// Which link an input names.
#[derive(Clone, Copy, Debug)]
enum Link {
    /// The link of the last `open`.
    Last,
    /// This one.
    N(u64),
}

#[derive(Clone, Debug)]
enum Do {
    Start,
    Opened(Link),
    Failed(Link, Value),
    Closed(Link, Value),
    Acked(u64),
    Provisioned(Value),
    Credential(Value),
    Wake,
    Publish(&'static str, &'static str),
    Stop,
}

type Step = (When, Do);

fn start() -> Step {
    (When::At(0), Do::Start)
}
fn opened(after: u64) -> Step {
    (When::After(after), Do::Opened(Link::Last))
}
fn failed(after: u64, failure: Value) -> Step {
    (When::After(after), Do::Failed(Link::Last, failure))
}
fn closed(after: u64, failure: Value) -> Step {
    (When::After(after), Do::Closed(Link::Last, failure))
}
fn acked(after: u64, message: u64) -> Step {
    (When::After(after), Do::Acked(message))
}
fn publish(after: u64, topic: &'static str, payload: &'static str) -> Step {
    (When::After(after), Do::Publish(topic, payload))
}
fn assigned(after: u64, assignment: Value) -> Step {
    (
        When::After(after),
        Do::Provisioned(json!({ "assigned": assignment })),
    )
}
fn pending(after: u64, pending: Value) -> Step {
    (
        When::After(after),
        Do::Provisioned(json!({ "pending": pending })),
    )
}
fn provisioning_failed(after: u64, failure: Value) -> Step {
    (
        When::After(after),
        Do::Provisioned(json!({ "failed": failure })),
    )
}
fn credential_ok(after: u64, credential: Value) -> Step {
    (
        When::After(after),
        Do::Credential(json!({ "ok": credential })),
    )
}
fn credential_error(after: u64, failure: Value) -> Step {
    (
        When::After(after),
        Do::Credential(json!({ "error": failure })),
    )
}
fn wake() -> Step {
    (When::Wake, Do::Wake)
}
fn wake_early() -> Step {
    (When::WakeLess(1), Do::Wake)
}
fn wake_after(after: u64) -> Step {
    (When::After(after), Do::Wake)
}
fn stop(after: u64) -> Step {
    (When::After(after), Do::Stop)
}

/// Replay `script` through the component, turning its symbolic times and links into
/// numbers.
fn resolve(
    runtime: &Runtime,
    config: &str,
    script: &[Step],
    input_errors_expected: bool,
) -> anyhow::Result<Vec<Event>> {
    // An invalid config has no connection to replay through: its script may only
    // use fixed times and link numbers.
    let mut flow = Flow::create(runtime, config)?.ok();
    let mut events = Vec::new();
    let mut now = 0u64;
    let mut last_link: Option<u64> = None;
    let mut last_wake: Option<u64> = None;
    for (n, (when, what)) in script.iter().enumerate() {
        let wake_deadline = || last_wake.ok_or_else(|| anyhow!("step {n}: no wake-at yet"));
        let at = match *when {
            When::At(t) => t,
            When::After(ms) => now.saturating_add(ms),
            When::Wake => wake_deadline()?,
            When::WakeLess(ms) => wake_deadline()?.saturating_sub(ms),
        };
        ensure!(
            at >= now,
            "step {n} at {at} ms comes before the previous at {now} ms"
        );
        let link = |l: Link| -> anyhow::Result<u64> {
            match l {
                Link::N(n) => Ok(n),
                Link::Last => last_link.ok_or_else(|| anyhow!("step {n}: no open yet")),
            }
        };
        let mut event = json!({ "at": at });
        let fields = match what {
            Do::Start => json!({ "input": "start" }),
            Do::Wake => json!({ "input": "wake" }),
            Do::Stop => json!({ "input": "stop" }),
            Do::Opened(l) => json!({ "input": "opened", "link": link(*l)? }),
            Do::Failed(l, f) => json!({ "input": "failed", "link": link(*l)?, "failure": f }),
            Do::Closed(l, f) => json!({ "input": "closed", "link": link(*l)?, "failure": f }),
            Do::Acked(m) => json!({ "input": "acked", "message": m }),
            Do::Provisioned(answer) => {
                let mut v = json!({ "input": "provisioned" });
                merge(&mut v, answer);
                v
            }
            Do::Credential(answer) => {
                let mut v = json!({ "input": "credential" });
                merge(&mut v, answer);
                v
            }
            Do::Publish(topic, payload) => {
                json!({ "input": "publish", "topic": topic, "payload": payload })
            }
        };
        merge(&mut event, &fields);
        let event: Event =
            serde_json::from_value(event.clone()).with_context(|| format!("step {n}: {event}"))?;
        let input = event.to_input()?;
        let Some(flow) = flow.as_mut() else {
            now = at;
            events.push(event);
            continue;
        };
        let applied = flow.apply(at, &input)?;
        if let Some(result) = &applied.result
            && result.starts_with("input-error")
            && !input_errors_expected
        {
            bail!(
                "step {n} ({what:?} at {at} ms) was refused: {result}; the script no longer fits the flow\nso far: {}",
                applied.items(at).join(" ; ")
            );
        }
        for command in &applied.commands {
            match command {
                Command::Open { link, .. } => last_link = Some(*link),
                Command::WakeAt(ns) => last_wake = Some(ns.div_ceil(NS_PER_MS)),
                _ => {}
            }
        }
        now = at;
        events.push(event);
    }
    Ok(events)
}

fn merge(into: &mut Value, from: &Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, from) {
        for (k, v) in b {
            a.insert(k.clone(), v.clone());
        }
    }
}

fn flow_specs() -> anyhow::Result<Vec<Spec>> {
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
    Ok(specs)
}
