//! The scenario behind `tether demo`: one device riding out an outage, in virtual
//! time.
//!
//! A sensor connects to its hub and publishes a reading every 5 s. At 20 s the hub
//! goes away for 45 s: the link drops with `net:reset`, and every reconnect is
//! refused (`net:refused`, `net:reset`). When the hub comes back it is overloaded
//! and answers the first attempt with HTTP 429 (IoT Hub 429001) and a retry-after
//! of 5 s. At 135 s the hub ends the session and refuses the device's token
//! (IoT Hub 401003, expired), so the device renews its credential and reconnects.
//! At 160 s the application stops. Every decision on the way is the component's.
//!
//! [`build`] sets the world up; [`report`] runs nothing and renders what happened.

use std::fmt::Write as _;

use std::time::Duration;

use tether_device::config::DeviceFile;
use tether_host::names::{reason_name, status_name};
use tether_host::syntax::failure;
use tether_host::{NetworkError, ProtocolError, Runtime};
use tether_sim::{LineKind, OpenAnswer, ScriptedCredentials, ScriptedHub, Sim};

use crate::input::bad_input;

/// When the application stops the device.
pub const STOP_MS: u64 = 160_000;
/// When the hub goes away.
pub const OUTAGE_FROM_MS: u64 = 20_000;
/// When the hub is back.
pub const OUTAGE_UNTIL_MS: u64 = 65_000;
/// When the hub ends the session and starts refusing the first token. Late enough
/// that, whatever the seed, the link has held for the policy's `reset-after-ms`
/// (30 s) and the backoff starts over.
pub const TOKEN_REFUSED_FROM_MS: u64 = 135_000;

/// The device's configuration document, with `seed` for the jitter.
pub fn config(seed: u64) -> String {
    format!(
        r#"{{
  "hub": "hub-a.example:8883",
  "device-id": "sensor-17",
  "seed": {seed},
  "credential": {{ "renewable": true }},
  "policy": {{ "kind": "exponential", "initial-ms": 1000, "max-ms": 30000 }}
}}"#
    )
}

/// The scripted world of the demo, ready to run until [`STOP_MS`].
pub fn build(runtime: &Runtime, seed: u64) -> anyhow::Result<Sim> {
    let mut throttled_once = false;
    let hub = ScriptedHub::new()
        .latency_ms(80)
        .ack_latency_ms(40)
        .drop_at(OUTAGE_FROM_MS, failure::net(NetworkError::Reset))
        .refuse_between(
            OUTAGE_FROM_MS,
            OUTAGE_UNTIL_MS,
            vec![
                failure::net(NetworkError::Refused),
                failure::net(NetworkError::Reset),
            ],
        )
        .drop_at(
            TOKEN_REFUSED_FROM_MS,
            failure::protocol(ProtocolError::SessionExpired),
        )
        .rule(move |open| {
            if !throttled_once {
                if open.at_ms >= OUTAGE_UNTIL_MS {
                    throttled_once = true;
                    let busy = failure::http(429, Some(429_001));
                    return OpenAnswer::refuse(60, failure::with_retry_after(busy, 5_000));
                }
            } else if open.at_ms >= TOKEN_REFUSED_FROM_MS
                && open.credential.as_deref() == Some("token-1")
            {
                return OpenAnswer::refuse(60, failure::http(401, Some(401_003)));
            }
            OpenAnswer::accept(80)
        });
    let credentials = ScriptedCredentials::new()
        .lifetime_ms(3_600_000)
        .latency_ms(30);
    let mut sim = Sim::builder(&config(seed))
        .hub(hub)
        .credentials(credentials)
        .entropy_seed(seed)
        .build(runtime)?;
    sim.publish_every(5_000, 5_000, STOP_MS.saturating_sub(5_000), "telemetry");
    sim.stop_at(STOP_MS);
    Ok(sim)
}

/// The demo's report: the timeline of what the hub did and what tether decided,
/// then a message summary. `verbose` shows every transcript line instead
/// (messages, acknowledgements, timers).
pub fn report(sim: &Sim, seed: u64, verbose: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "tether demo: one device, one outage, in virtual time (seed {seed})\n\n\
         A sensor publishes a reading every 5 s. At {} s its hub goes away for {} s;\n\
         back, it is overloaded (429, retry after 5 s). At {} s it ends the session\n\
         and refuses the device's token (401003). At {} s the application stops.\n\
         Every decision below was taken by the tether component.\n",
        OUTAGE_FROM_MS / 1000,
        OUTAGE_UNTIL_MS.saturating_sub(OUTAGE_FROM_MS) / 1000,
        TOKEN_REFUSED_FROM_MS / 1000,
        STOP_MS / 1000,
    );
    let _ = writeln!(
        out,
        "How to read it: `on-...` lines are what the world reported to tether;\n\
         `decide` and `status` lines are tether's answers (`cause` names the row of\n\
         the classification table that matched); `note` lines are the script.\n"
    );
    let _ = writeln!(out, "{:>9}  event", "time");
    for line in sim.transcript().lines() {
        if !verbose && !shown(line.kind, &line.text) {
            continue;
        }
        let _ = writeln!(out, "{:>9}  {}", seconds(line.at_ms), line.text);
    }
    let summary = sim.messages().summary();
    let _ = writeln!(out, "\nmessages");
    let _ = writeln!(out, "  accepted   {}", summary.accepted);
    let _ = write!(out, "  delivered  {}", summary.delivered);
    // Messages acknowledged well after they were published waited in the queue
    // while the link was down.
    let waits: Vec<u64> = sim
        .messages()
        .records()
        .values()
        .filter_map(|r| {
            let accepted = r.accepted_at_ms?;
            let (at, _) = r.outcomes.first()?;
            Some(at.saturating_sub(accepted))
        })
        .filter(|wait| *wait > 1_000)
        .collect();
    if let Some(longest) = waits.iter().max() {
        let _ = write!(
            out,
            " ({} waited out a disconnection in the queue, the longest {})",
            waits.len(),
            seconds(*longest)
        );
    }
    let _ = writeln!(out);
    let _ = write!(out, "  failed     {}", summary.failed);
    if !summary.failed_by_reason.is_empty() {
        let reasons: Vec<String> = summary
            .failed_by_reason
            .iter()
            .map(|(why, n)| format!("{why}: {n}"))
            .collect();
        let _ = write!(out, " ({})", reasons.join(", "));
    }
    let _ = writeln!(out);
    if summary.rejected > 0 {
        let _ = writeln!(out, "  rejected   {}", summary.rejected);
    }
    if summary.pending > 0 {
        let _ = writeln!(out, "  pending    {}", summary.pending);
    }
    if let Some(last) = sim.statuses().last() {
        let _ = writeln!(
            out,
            "\nfinal status: {} ({})",
            status_name(last.status),
            reason_name(last.reason)
        );
    }
    let _ = writeln!(
        out,
        "hub: {} connection attempts; credentials: {} minted",
        sim.hub().opens(),
        sim.credentials().minted()
    );
    out
}

/// The lines a newcomer needs: what went wrong, what tether decided, and what
/// changed. Routine traffic (sends, acks, deliveries, timers) is left out.
fn shown(kind: LineKind, text: &str) -> bool {
    match kind {
        LineKind::Status | LineKind::Decision | LineKind::Note => true,
        LineKind::Input => {
            text.starts_with("on-failed")
                || text.starts_with("on-closed")
                || text.starts_with("on-credential")
                || text == "start"
                || text == "stop"
        }
        LineKind::Call => false,
        LineKind::Outcome => !text.ends_with(" delivered"),
        LineKind::Wake => false,
    }
}

/// `20.000s`.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

/// `tether demo`: the scripted outage, printed.
pub fn run(seed: u64, verbose: bool) -> anyhow::Result<()> {
    let runtime = Runtime::new()?;
    let mut sim = build(&runtime, seed)?;
    sim.run_until(STOP_MS)?;
    print!("{}", report(&sim, seed, verbose));
    Ok(())
}

/// `tether demo --broker HOST:PORT`: one device publishing a reading a second to
/// a real broker (anonymous, plain MQTT 5) until Ctrl-C or `seconds`.
pub fn on_broker(broker: &str, seconds: u64, seed: u64) -> anyhow::Result<()> {
    let file = DeviceFile::parse(&format!(
        r#"{{
  "connection": {{ "hub": {broker}, "device-id": "tether-demo", "seed": {seed},
                   "policy": {{ "kind": "exponential", "initial-ms": 1000, "max-ms": 10000 }} }},
  "mqtt": {{ "version": 5, "keep-alive-s": 5, "connect-timeout-s": 5 }},
  "publish": {{ "topic": "tether/demo/telemetry", "interval-ms": 1000 }}
}}"#,
        broker = serde_json::Value::String(broker.to_string())
    ))
    .map_err(|e| bad_input(format!("--broker: {e}")))?;
    println!(
        "device tether-demo -> {broker}: a QoS 1 message a second on tether/demo/telemetry for {seconds} s \
         (stop or restart the broker meanwhile to watch tether reconnect; Ctrl-C ends it)"
    );
    super::run::run_device(&file, true, Some(Duration::from_secs(seconds)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn run(seed: u64) -> Sim {
        let mut sim = build(Runtime::shared().unwrap(), seed).unwrap();
        sim.run_until(STOP_MS).unwrap();
        sim
    }

    #[test]
    fn the_demo_is_deterministic_and_loses_nothing() {
        let (a, b) = (run(7), run(7));
        assert_eq!(a.transcript(), b.transcript());
        let summary = a.messages().summary();
        assert_eq!(summary.accepted, 31);
        assert_eq!(summary.delivered, 31);
        assert_eq!(summary.pending, 0);
        assert_eq!(summary.extra_outcomes, 0);
        // The token refusal was handled by renewing, not by giving up.
        assert!(
            a.transcript()
                .contains("decide renew-credential cause=http/401003")
        );
        assert!(
            a.transcript()
                .contains("status disabled reason=client-close")
        );
        let other = run(8);
        assert_ne!(
            a.transcript(),
            other.transcript(),
            "the seed drives the jitter"
        );
    }
}
