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
//! The vectors themselves live in `generate/decisions.rs` (classify, validate,
//! schedule) and `generate/flows.rs` (flow scripts); this file is the machinery.
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

mod decisions;
mod flows;
mod identity;

use decisions::{classify_specs, schedule_specs, validate_specs};
use flows::flow_specs;
use identity::identity_specs;

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
    specs.extend(identity_specs());

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
/// `5xx`-`6xx` flow, `7xx` identity.
fn number_range(kind: Kind) -> (u32, u32) {
    match kind {
        Kind::Classify => (100, 300),
        Kind::Validate => (300, 400),
        Kind::Schedule => (400, 500),
        Kind::Flow => (500, 700),
        Kind::Identity => (700, 800),
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
    Identity {
        call: &'static str,
        args: Value,
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
            call: None,
            args: None,
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
            Body::Identity { call, args } => {
                ensure!(
                    super::identity::CALLS.contains(&call),
                    "unknown identity call `{call}`"
                );
                v.call = Some(call.to_string());
                v.args = Some(args);
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
    Refused(u64, Value),
    Provisioned(Value),
    Credential(Value),
    Wake,
    Publish(&'static str, &'static str),
    Subscribe(&'static str),
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
fn refused_msg(after: u64, message: u64, code: u8) -> Step {
    (
        When::After(after),
        Do::Refused(message, json!({ "mqtt-reason": code })),
    )
}
fn publish(after: u64, topic: &'static str, payload: &'static str) -> Step {
    (When::After(after), Do::Publish(topic, payload))
}
fn subscribe(after: u64, filter: &'static str) -> Step {
    (When::After(after), Do::Subscribe(filter))
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
            Do::Refused(m, f) => json!({ "input": "refused", "message": m, "failure": f }),
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
            Do::Subscribe(filter) => json!({ "input": "subscribe", "topic": filter }),
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
