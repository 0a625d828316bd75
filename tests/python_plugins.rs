//! Custom-policy plugins in the Python host (`bindings/python`) against the Rust host.
//!
//! Each scenario is a scripted hub (which opens it accepts or refuses, and when an
//! open link drops) played in virtual time through the Rust host, which turns it
//! into a flow vector of explicit inputs (`tests/conformance/FORMAT.md`). The Python
//! conformance runner replays the same vectors through its `tether.Connection`,
//! whose plugins now run in its own sandbox; every line, backoff delays, plugin
//! faults with their reason and detail, and the statuses after them, must be the
//! same bytes in both hosts. Nothing here reads the wall clock: the deadline case
//! uses a fuel budget no loop can spend, so only the deadline can stop it.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::{BTreeSet, HashMap};
use std::process::Command as Process;

use serde_json::{Value, json};
use tether_host::plugin::{PluginLimits, examples};
use tether_host::{Command, NS_PER_MS, Runtime};
use tether_tests::conformance::{Event, Flow, Vector, run_vector, write_vector};
use tether_tests::hosts::python_package;
use tether_tests::{component_path, runtime};

/// What the hub does with an open made at a virtual time.
enum Answer {
    Accept(u64),
    Refuse(u64, Value),
}

/// A hub in virtual time: `answer(at_ms, n)` for the `n`th open (0-based), and
/// drops of whatever link is up at the given times.
struct Hub {
    answer: Box<dyn Fn(u64, usize) -> Answer>,
    drops: Vec<(u64, Value)>,
}

/// A custom-policy configuration naming the plugin at `path`.
fn custom(path: &str, params: &str) -> String {
    format!(
        r#"{{"hub": "hub-a", "seed": 7, "policy": {{"kind": "custom", "plugin": {path:?}, "params": {params}}}}}"#
    )
}

/// Play `hub` through the Rust host until `until_ms` and return the flow vector of
/// the inputs it made (its `expected` is the Rust host's line).
fn scripted(rt: &Runtime, name: &str, config: &str, hub: &Hub, until_ms: u64) -> Vector {
    let mut flow = Flow::create(rt, config).unwrap().unwrap();
    // (at, sequence, event): a sequence keeps events of one time in order.
    let mut queue: BTreeSet<(u64, u64, String)> = BTreeSet::new();
    let mut seq = 0u64;
    let mut push = |queue: &mut BTreeSet<(u64, u64, String)>, at: u64, event: Value| {
        seq += 1;
        queue.insert((at, seq, event.to_string()));
    };
    push(&mut queue, 0, json!({"at": 0, "input": "start"}));
    for (at, failure) in &hub.drops {
        push(
            &mut queue,
            *at,
            json!({"at": at, "input": "closed", "failure": failure}),
        );
    }
    let mut events: Vec<Value> = Vec::new();
    let mut opens = 0usize;
    let mut up: Option<u64> = None;
    let mut wakes: BTreeSet<u64> = BTreeSet::new();
    while let Some((at, _, text)) = queue.pop_first() {
        if at > until_ms {
            break;
        }
        let mut event: Value = serde_json::from_str(&text).unwrap();
        match event["input"].as_str().unwrap() {
            // A drop applies to the link that is up then, if any.
            "closed" => match up.take() {
                Some(link) => event["link"] = json!(link),
                None => continue,
            },
            "opened" => up = event["link"].as_u64(),
            "wake" => {
                wakes.remove(&at);
            }
            _ => {}
        }
        let parsed: Event = serde_json::from_value(event.clone()).unwrap();
        let applied = flow.apply(at, &parsed.to_input().unwrap()).unwrap();
        assert_eq!(
            applied.result, None,
            "{name}: the scripted input {event} was refused"
        );
        events.push(event);
        for command in &applied.commands {
            match command {
                Command::Open { link, .. } => {
                    let (after, next) = match (hub.answer)(at, opens) {
                        Answer::Accept(after) => (after, json!({"input": "opened", "link": link})),
                        Answer::Refuse(after, failure) => (
                            after,
                            json!({"input": "failed", "link": link, "failure": failure}),
                        ),
                    };
                    opens += 1;
                    let mut next = next;
                    next["at"] = json!(at + after);
                    push(&mut queue, at + after, next);
                }
                Command::Close { link } if up == Some(*link) => up = None,
                Command::WakeAt(ns) => {
                    let deadline = ns.div_ceil(NS_PER_MS);
                    if wakes.insert(deadline) {
                        push(
                            &mut queue,
                            deadline,
                            json!({"at": deadline, "input": "wake"}),
                        );
                    }
                }
                _ => {}
            }
        }
    }
    let mut vector: Vector = serde_json::from_value(json!({
        "name": format!("flow/{name}"),
        "kind": "flow",
        "config": config,
        "events": events,
    }))
    .unwrap();
    vector.expected = Some(run_vector(rt, &vector).unwrap());
    vector
}

/// Write `vectors` to a fresh folder, run the Python runner on it with `args`, and
/// return its lines by vector name.
fn python_lines(dir_name: &str, vectors: &[Vector], args: &[&str]) -> HashMap<String, String> {
    let package = python_package().unwrap();
    let dir = std::env::temp_dir().join(format!("tether-{dir_name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (n, v) in vectors.iter().enumerate() {
        let slug = v.name.trim_start_matches("flow/");
        write_vector(&dir.join(format!("{:03}-flow-{slug}.json", 500 + n)), v).unwrap();
    }
    let out = Process::new("python3")
        .args(["-m", "tether.conformance"])
        .arg(component_path())
        .arg(&dir)
        .args(args)
        .env("PYTHONPATH", &package)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "the Python runner failed ({}):\n{stderr}",
        out.status
    );
    stdout
        .lines()
        .map(|l| {
            let (name, line) = l.split_once(": ").unwrap();
            (name.to_string(), line.to_string())
        })
        .collect()
}

/// Every vector's line is the same bytes in Python as in Rust.
fn assert_same(vectors: &[Vector], python: &HashMap<String, String>) {
    assert_eq!(python.len(), vectors.len(), "{python:?}");
    for v in vectors {
        let rust = v.expected.as_deref().unwrap();
        let py = python
            .get(&v.name)
            .unwrap_or_else(|| panic!("{}: no line", v.name));
        if py != rust {
            let (r, p): (Vec<_>, Vec<_>) = (rust.split(" ; ").collect(), py.split(" ; ").collect());
            let at = r
                .iter()
                .zip(&p)
                .position(|(a, b)| a != b)
                .unwrap_or(r.len().min(p.len()));
            panic!(
                "{}: Python differs from Rust at item {at}:\n  rust:   {:?}\n  python: {:?}",
                v.name,
                r.get(at),
                p.get(at)
            );
        }
    }
}

fn items<'a>(v: &'a Vector, prefix: &str) -> Vec<&'a str> {
    v.expected
        .as_deref()
        .unwrap()
        .split(" ; ")
        .filter(|i| i.starts_with(prefix))
        .collect()
}

fn net(kind: &str) -> Value {
    json!({"network": kind})
}

// ---------------------------------------------------------------------------
// The example plugins
// ---------------------------------------------------------------------------

const PERIOD: u64 = 600_000;
const OPEN: u64 = 120_000;
const OFFSET: u64 = 300_000;

fn example_vectors(rt: &Runtime) -> Vec<Vector> {
    let in_window = |t: u64| t >= OFFSET && (t - OFFSET) % PERIOD < OPEN;
    let satellite = Hub {
        answer: Box::new(move |at, _| {
            if in_window(at) {
                Answer::Accept(100)
            } else {
                Answer::Refuse(2_000, net("unreachable"))
            }
        }),
        drops: (0..7)
            .map(|k| (OFFSET + k * PERIOD + OPEN, net("unreachable")))
            .collect(),
    };
    let metered = Hub {
        answer: Box::new(|at, _| {
            if at % 6_000_000 < 1_800_000 {
                Answer::Accept(500)
            } else {
                Answer::Refuse(10_000, net("timeout"))
            }
        }),
        drops: (0..16)
            .map(|k| (k * 6_000_000 + 1_500_000, net("reset")))
            .collect(),
    };
    let outage = 2 * 3_600_000;
    let breaker = Hub {
        answer: Box::new(move |at, n| {
            if n > 0 && at < 1_000 + outage {
                Answer::Refuse(30, json!({"mqtt-connack": 3}))
            } else {
                Answer::Accept(80)
            }
        }),
        drops: vec![(1_000, net("reset"))],
    };
    vec![
        scripted(
            rt,
            "satellite-window",
            &custom(
                examples::SATELLITE_WINDOW,
                r#"{"period-ms": 600000, "open-ms": 120000, "offset-ms": 300000, "guard-ms": 5000}"#,
            ),
            &satellite,
            OFFSET + 6 * PERIOD,
        ),
        scripted(
            rt,
            "metered-cellular",
            &custom(
                examples::METERED_CELLULAR,
                r#"{"budget-per-day": 24, "phase-ms": 90000}"#,
            ),
            &metered,
            86_400_000,
        ),
        scripted(
            rt,
            "circuit-breaker",
            &custom(
                examples::CIRCUIT_BREAKER,
                r#"{"failure-threshold": 5, "open-ms": 60000, "max-open-ms": 480000}"#,
            ),
            &breaker,
            3 * 3_600_000,
        ),
    ]
}

#[test]
fn example_plugins_give_the_same_schedule_in_python_as_in_rust() {
    let vectors = example_vectors(runtime());
    for v in &vectors {
        let backoffs = items(v, "decide backoff");
        let plugin = backoffs.iter().filter(|b| b.contains(" plugin ")).count();
        println!(
            "{}: {} inputs, {} backoffs ({plugin} the plugin's), {} connects",
            v.name,
            v.events.as_ref().unwrap().len(),
            backoffs.len(),
            items(v, "status connected").len()
        );
        // The scenario exercises the plugin: its delays, no faults, reconnections.
        assert!(plugin >= 5, "{}: {backoffs:?}", v.name);
        assert_eq!(plugin, backoffs.len(), "{}: {backoffs:?}", v.name);
        assert!(items(v, "plugin-fault").is_empty(), "{}", v.name);
        assert!(items(v, "status connected").len() >= 2, "{}", v.name);
    }
    let python = python_lines("python-plugin-examples", &vectors, &["--check"]);
    assert_same(&vectors, &python);
}

// ---------------------------------------------------------------------------
// Hostile plugins
// ---------------------------------------------------------------------------

/// The link drops at 1 s; the next 4 opens are refused, then the hub accepts.
fn hostile_hub() -> Hub {
    Hub {
        answer: Box::new(|_, n| {
            if (1..=4).contains(&n) {
                Answer::Refuse(30, net("refused"))
            } else {
                Answer::Accept(100)
            }
        }),
        drops: vec![(1_000, net("reset"))],
    }
}

fn hostile(rt: &Runtime, mode: &str, extra: &str) -> Vector {
    scripted(
        rt,
        &format!("hostile-{mode}"),
        &custom(
            examples::HOSTILE,
            &format!(r#"{{"mode": "{mode}"{extra}}}"#),
        ),
        &hostile_hub(),
        600_000,
    )
}

/// Three faults with `reason`, the third quarantining, every backoff the fallback's,
/// and the device connected again at the end.
fn assert_contained(v: &Vector, reason: &str) {
    let faults = items(v, "plugin-fault");
    assert_eq!(faults.len(), 3, "{}: {faults:?}", v.name);
    for (i, f) in faults.iter().enumerate() {
        assert!(f.contains(&format!(" reason={reason} ")), "{}: {f}", v.name);
        assert!(f.contains(&format!(" consecutive={} ", i + 1)), "{f}");
        assert_eq!(f.contains(" quarantined"), i == 2, "{f}");
    }
    let backoffs = items(v, "decide backoff");
    assert_eq!(backoffs.len(), 5, "{}: {backoffs:?}", v.name);
    assert!(
        backoffs.iter().all(|b| b.contains(" normal ")),
        "{backoffs:?}"
    );
    let last_status = items(v, "status ").pop().unwrap();
    assert!(
        last_status.starts_with("status connected"),
        "{}: {last_status}",
        v.name
    );
}

#[test]
fn hostile_plugins_are_contained_in_python_as_in_rust() {
    let rt = runtime();
    let cases = [
        ("loop", "out-of-fuel"),
        ("memory-bomb", "memory-limit"),
        ("recursion", "trap"),
        ("trap", "trap"),
        ("max-delay", "invalid-answer"),
    ];
    let mut vectors: Vec<Vector> = cases
        .iter()
        .map(|(mode, _)| hostile(rt, mode, ""))
        .collect();
    for (v, (_, reason)) in vectors.iter().zip(cases) {
        assert_contained(v, reason);
        println!("{}: {}", v.name, items(v, "plugin-fault")[0]);
    }
    // A plugin that traps twice and then answers: two faults, no quarantine, and
    // the plugin's own delays after.
    let mut recovers = hostile(rt, "trap", r#", "fail-first": 2"#);
    recovers.name = "flow/hostile-trap-then-recovers".to_string();
    let faults = items(&recovers, "plugin-fault");
    assert_eq!(faults.len(), 2, "{faults:?}");
    assert!(faults.iter().all(|f| !f.contains("quarantined")));
    assert!(
        items(&recovers, "decide backoff")
            .iter()
            .any(|b| b.contains(" plugin "))
    );
    vectors.push(recovers);
    let python = python_lines("python-plugin-hostile", &vectors, &["--check"]);
    assert_same(&vectors, &python);
}

#[test]
fn a_plugin_past_its_wall_clock_deadline_is_cut_off_in_python_as_in_rust() {
    // Fuel no loop spends before the deadline: only the deadline stops it.
    let fuel = u64::MAX / 4;
    let limits = PluginLimits {
        fuel_per_decision: fuel,
        deadline_ticks: 2,
        ..PluginLimits::DEFAULT
    };
    let rt = Runtime::new().unwrap().with_plugin_limits(limits);
    let v = hostile(&rt, "loop", "");
    assert_contained(&v, "deadline");
    let python = python_lines(
        "python-plugin-deadline",
        std::slice::from_ref(&v),
        &[
            "--check",
            "--plugin-fuel",
            &fuel.to_string(),
            "--plugin-deadline-ticks",
            "2",
        ],
    );
    assert_same(std::slice::from_ref(&v), &python);
}

#[test]
fn python_refuses_a_plugin_that_imports_anything_naming_the_import() {
    let package = python_package().unwrap();
    let script = format!(
        r#"
import tether
class T:
    def open(self, *a): pass
    def send(self, *a): pass
    def close(self, *a): pass
for path in ({wasi:?}, {engine:?}, "/nonexistent/policy.wasm"):
    try:
        tether.Connection({{"hub": "h", "seed": 1, "policy": {{"kind": "custom", "plugin": path}}}}, transport=T())
        print("loaded", path)
    except tether.PluginLoadError as err:
        print("refused", err)
"#,
        wasi = examples::HOSTILE_WASI,
        engine = component_path().display().to_string(),
    );
    let out = Process::new("python3")
        .args(["-c", &script])
        .env("PYTHONPATH", &package)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success());
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("refused"), "{stdout}");
    assert!(lines[0].contains("wasi:random/random@0.2.12"), "{stdout}");
    assert!(lines[0].contains("must import nothing"), "{stdout}");
    assert!(lines[0].contains(examples::HOSTILE_WASI), "{stdout}");
    assert!(lines[1].contains("must import nothing"), "{stdout}");
    assert!(lines[2].contains("/nonexistent/policy.wasm"), "{stdout}");
}
