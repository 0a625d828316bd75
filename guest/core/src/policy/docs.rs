//! The Markdown table of every kind, preset and limit, built from the same
//! constants the code uses (README.md embeds it; a test keeps the two equal).

use alloc::format;
use alloc::string::String;
use core::fmt::Write as _;

use super::formula::{
    DECORRELATED_BASE_MS, DECORRELATED_MAX_MS, DEFAULT_JITTER_PERCENT, Exponential,
    FIXED_INTERVAL_MS, Jitter, LINEAR_INITIAL_MS, LINEAR_MAX_MS, LINEAR_STEP_MS, RANDOM_MAX_MS,
    RANDOM_MIN_MS,
};
use super::presets::{
    AWS_CRT_INITIAL_MS, AWS_CRT_MAX_MS, AZURE_C_INITIAL_MS, AZURE_C_JITTER_PERCENT, AZURE_C_MAX_MS,
    AZURE_DOTNET_MAX_MS, AZURE_DOTNET_MIN_INTERVAL_MS, AZURE_DOTNET_MIN_MS, AZURE_DOTNET_R_MS,
    AZURE_JAVA_MAX_MS, AZURE_JAVA_MIN_MS, AZURE_JAVA_R_MS, AZURE_PYTHON_FIRST_MS,
    AZURE_PYTHON_INTERVAL_MS, GRPC_INITIAL_MS, GRPC_MAX_DELAY_MS, GRPC_MAX_MS,
    GRPC_MULTIPLIER_PERMILLE, NodeCurve,
};
use super::{DEFAULT_RESET_AFTER_MS, Limits, MAX_MS};

/// A Markdown description of every kind and preset, their formulas and defaults,
/// and the limits. Built from the same constants the code uses.
pub fn describe_formulas_markdown() -> String {
    let e = Exponential::DEFAULT;
    let t = Exponential::THROTTLED_DEFAULT;
    let l = Limits::DEFAULT;
    let mut s = String::new();
    let rows: [(&str, String, String); 14] = [
        (
            "exponential",
            "`d = min(initial-ms * multiplier^(k-1), max-ms)`, then `jitter`: `full` uniform \
             `[0, d]`, `equal` `[d/2, d]`, `none` `d`, `symmetric` uniform `[d - p%, d + p%]`, \
             `upward` uniform `[d, d + p%]` with p = `jitter-percent` (jitter comes after the \
             cap, so these two can pass max-ms); `phase`: the device draws u uniform in \
             `[0, 1)` once per outage and retries at `T(k - 1 + u)` after the first failure, \
             `T(x) = initial-ms * (1 + (multiplier^x - 1) / (multiplier - 1))` until its slope \
             reaches max-ms, then one retry every max-ms: retry 1 in `[initial-ms, 2 * \
             initial-ms]`, then the curve's steps scaled by `multiplier^u` (a fleet's retries \
             spread evenly, at most one per device per max-ms). With `first-immediate`, retry \
             1 waits 0 and retry k waits what retry k-1 would have"
                .into(),
            format!(
                "the default kind; initial-ms {}, multiplier {} (1 to 10, rounded to 0.001), max-ms {}, \
                 jitter `{}`, jitter-percent {DEFAULT_JITTER_PERCENT}, first-immediate false",
                e.initial_ms,
                permille_text(e.multiplier_permille),
                e.max_ms,
                jitter_name(e.jitter)
            ),
        ),
        (
            "fixed",
            "`first-ms` for retry 1 if set, otherwise `interval-ms`".into(),
            format!("interval-ms {FIXED_INTERVAL_MS}, first-ms unset"),
        ),
        (
            "linear",
            "`min(initial-ms + step-ms * (k-1), max-ms)`".into(),
            format!(
                "initial-ms {LINEAR_INITIAL_MS}, step-ms {LINEAR_STEP_MS}, max-ms {LINEAR_MAX_MS}"
            ),
        ),
        ("immediate", "0".into(), "none".into()),
        (
            "random",
            "uniform `[min-ms, max-ms]`".into(),
            format!("min-ms {RANDOM_MIN_MS}, max-ms {RANDOM_MAX_MS}"),
        ),
        (
            "decorrelated-jitter",
            "`d = min(max-ms, uniform[base-ms, 3 * previous d])`, previous d starting at \
             `base-ms`; each curve keeps its own previous d"
                .into(),
            format!("base-ms {DECORRELATED_BASE_MS}, max-ms {DECORRELATED_MAX_MS}"),
        ),
        (
            "no-retry",
            "gives up at the first failure".into(),
            "limits accepted, unused".into(),
        ),
        (
            "azure-c",
            format!(
                "n = k-1; n = 0: 0; else `b = min({AZURE_C_INITIAL_MS} * 2^(n-1), {AZURE_C_MAX_MS})`, \
                 `b + uniform[0, b * {AZURE_C_JITTER_PERCENT} / 100]` (the C SDK truncates to whole \
                 seconds; tether keeps milliseconds)"
            ),
            "limits as plain kinds".into(),
        ),
        (
            "azure-dotnet",
            format!(
                "n = k-1; `min({AZURE_DOTNET_MIN_MS} + (2^n - 1) * uniform[{}, {}], {AZURE_DOTNET_MAX_MS})`, \
                 at least {AZURE_DOTNET_MIN_INTERVAL_MS} ms between attempt starts: about \
                 1, 1, 1, 1, 1.6, 3.2, 6.4, then 10 s",
                AZURE_DOTNET_R_MS.0, AZURE_DOTNET_R_MS.1
            ),
            format!("min-interval-ms {AZURE_DOTNET_MIN_INTERVAL_MS}"),
        ),
        (
            "azure-java",
            format!(
                "n = k-1; n = 0: 0; else `min({AZURE_JAVA_MIN_MS} + (2^n - 1) * uniform[{}, {}], {AZURE_JAVA_MAX_MS})`",
                AZURE_JAVA_R_MS.0, AZURE_JAVA_R_MS.1
            ),
            "limits as plain kinds".into(),
        ),
        (
            "azure-node",
            format!(
                "{}; throttled: {} (the documented formula; the shipped SDK code drops the \
                 `c * (1 - jd)` term)",
                node_text(NodeCurve::NORMAL),
                node_text(NodeCurve::THROTTLED)
            ),
            "throttled curve: the Node SDK's throttled parameters".into(),
        ),
        (
            "azure-python",
            format!("retry 1: {AZURE_PYTHON_FIRST_MS}; then {AZURE_PYTHON_INTERVAL_MS}"),
            "limits as plain kinds".into(),
        ),
        (
            "grpc",
            format!(
                "`d = min({GRPC_INITIAL_MS} * {}^(k-1), {GRPC_MAX_MS})`, then uniform \
                 `[d - d/5, d + d/5]` (jitter after the cap)",
                permille_text(GRPC_MULTIPLIER_PERMILLE)
            ),
            format!("max-delay-ms {GRPC_MAX_DELAY_MS}"),
        ),
        (
            "aws-crt",
            format!("uniform `[0, min({AWS_CRT_INITIAL_MS} * 2^(k-1), {AWS_CRT_MAX_MS})]`"),
            format!("max-delay-ms {AWS_CRT_MAX_MS}, reset-after-ms {DEFAULT_RESET_AFTER_MS}"),
        ),
    ];
    let _ = writeln!(
        s,
        "| kind | delay before retry k, in ms (k = 1 after the first failure) | defaults |"
    );
    let _ = writeln!(s, "| --- | --- | --- |");
    for (name, formula, defaults) in &rows {
        let _ = writeln!(s, "| `{name}` | {formula} | {defaults} |");
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Presets have fixed formulas: setting one of their formula fields is an error. \
         Every kind takes the limits below. The throttled curve (`throttled`, a plain kind \
         without limits) defaults to exponential, initial-ms {}, multiplier {}, max-ms {}, \
         jitter `{}` (azure-node: its own throttled curve); an exponential `throttled` \
         object takes these as its defaults. Both curves share the attempt counter k (and \
         the phase u).",
        t.initial_ms,
        permille_text(t.multiplier_permille),
        t.max_ms,
        jitter_name(t.jitter)
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "| limit | meaning | default |");
    let _ = writeln!(s, "| --- | --- | --- |");
    let limit_rows: [(&str, &str, String); 7] = [
        (
            "max-attempts",
            "give up after this many retries",
            "unlimited".into(),
        ),
        (
            "retry-timeout-ms",
            "give up rather than retry later than this after the first failure (a retry exactly \
             at the deadline is allowed)",
            "unlimited".into(),
        ),
        (
            "max-delay-ms",
            "hard cap on every delay, whatever its source; wins over every floor",
            format!(
                "{} (grpc {GRPC_MAX_DELAY_MS}, aws-crt {AWS_CRT_MAX_MS})",
                l.max_delay_ms
            ),
        ),
        (
            "min-interval-ms",
            "at least this long between attempt starts, counting the failed attempt's own time",
            format!(
                "{} (azure-dotnet {AZURE_DOTNET_MIN_INTERVAL_MS})",
                l.min_interval_ms
            ),
        ),
        (
            "reset-after-ms",
            "a link must hold this long before a drop starts the backoff over",
            format!("{}", l.reset_after_ms),
        ),
        (
            "retry-after-min-ms",
            "a server's retry-after is raised to at least this",
            format!("{}", l.retry_after_min_ms),
        ),
        (
            "retry-after-max-ms",
            "a server's retry-after is lowered to at most this",
            format!("{}", l.retry_after_max_ms),
        ),
    ];
    for (name, meaning, default) in &limit_rows {
        let _ = writeln!(s, "| `{name}` | {meaning} | {default} |");
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Order: `no-retry` and max-attempts give up first; a server retry-after (clamped) \
         replaces the curve; the delay is raised to what is left of min-interval-ms, then \
         capped at max-delay-ms; a retry that would start after retry-timeout-ms gives up. \
         Every duration is an integer number of milliseconds, at most {MAX_MS}."
    );
    s
}

/// The `jitter` value that selects `j`.
fn jitter_name(j: Jitter) -> &'static str {
    match j {
        Jitter::Full => "full",
        Jitter::Equal => "equal",
        Jitter::None => "none",
        Jitter::Symmetric { .. } => "symmetric",
        Jitter::Upward { .. } => "upward",
        Jitter::Phase => "phase",
    }
}

fn node_text(c: NodeCurve) -> String {
    let (lo, hi) = c.range();
    format!(
        "`min({} + (2^(k-1) - 1) * uniform[{lo}, {hi}], {})` (c = {})",
        c.c_min_ms, c.c_max_ms, c.c_ms
    )
}

/// `2000` as `2`, `1600` as `1.6`.
pub(super) fn permille_text(p: u32) -> String {
    let whole = p.checked_div(1000).unwrap_or(0);
    let frac = p.checked_rem(1000).unwrap_or(0);
    if frac == 0 {
        format!("{whole}")
    } else {
        let digits = format!("{frac:03}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }
}
