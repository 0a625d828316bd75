//! Rendering storm results: a Markdown table, a JSON document and an SVG chart of
//! attempts per second over time, one line per policy.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use super::{DEFAULT_POLICY_NAME, PolicyResult, Scenario};

/// A scenario and what each policy did in it.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The scenario run.
    pub scenario: Scenario,
    /// `outage + N / C`, in seconds.
    pub floor_s: f64,
    /// One result per policy, in the scenario's order.
    pub results: Vec<PolicyResult>,
}

impl Report {
    /// An empty report for `scenario`.
    pub fn new(scenario: Scenario) -> Self {
        let floor_s = scenario.floor_s();
        Self {
            scenario,
            floor_s,
            results: Vec::new(),
        }
    }

    /// The JSON document of `--json`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// A one-paragraph description of the scenario.
    pub fn summary(&self) -> String {
        let s = &self.scenario;
        let capacity = match s.hub.capacity_per_s {
            Some(c) => format!("admits {c} connections per second"),
            None => "admits every connection".into(),
        };
        let hint = match s.hub.retry_after {
            super::RetryAfter::None => String::from("no retry-after"),
            super::RetryAfter::Queue => String::from("a retry-after from its queue"),
            super::RetryAfter::Fixed => format!("a retry-after of {} ms", s.hub.retry_after_ms),
        };
        let mut text = format!(
            "{} devices lose their links at t = 0; the hub is gone for {} s, then {capacity} \
             and refuses the rest with `{}` and {hint}. Floor (outage + N / C): {:.1} s.",
            s.devices,
            fmt_s(s.outage.duration_ms as f64 / 1000.0),
            s.hub.refusal,
            self.floor_s
        );
        if let Some(p) = &s.provisioning {
            let rate = p
                .capacity_per_s
                .map_or_else(|| "no limit".into(), |c| format!("{c}/s"));
            let _ = write!(
                text,
                " Devices reprovision through a service admitting {rate} at {} per registration.",
                p.cost_per_registration
            );
        }
        text
    }

    /// The comparison as a Markdown table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let with_cost = self.scenario.provisioning.is_some();
        let _ = write!(
            out,
            "| policy | peak attempts/s after return (x capacity) | attempts per device \
             (during outage) | t50 s (x floor) | t99 s (x floor) | t100 s (x floor) |"
        );
        let _ = write!(
            out,
            "{}",
            if with_cost {
                " reprovisions (cost) |\n"
            } else {
                "\n"
            }
        );
        let _ = write!(out, "| --- | ---: | ---: | ---: | ---: | ---: |");
        let _ = write!(out, "{}", if with_cost { " ---: |\n" } else { "\n" });
        for r in &self.results {
            let peak = match r.peak_ratio {
                Some(x) => format!("{} ({x:.2}x)", r.peak_attempts_per_s),
                None => format!("{}", r.peak_attempts_per_s),
            };
            let outage_share = r.attempts_during_outage as f64 / f64::from(r.devices.max(1));
            let name = if r.policy == DEFAULT_POLICY_NAME {
                format!("**{}**", r.policy)
            } else {
                r.policy.clone()
            };
            let _ = write!(
                out,
                "| {name} | {peak} | {:.1} ({outage_share:.1}) | {} | {} | {} |",
                r.attempts_per_device,
                time_cell(r.t50_s, r.t50_ratio),
                time_cell(r.t99_s, r.t99_ratio),
                time_cell(r.t100_s, r.t100_ratio),
            );
            if with_cost {
                let _ = write!(out, " {} ({:.2}) |", r.reprovisions, r.reprovision_cost);
            }
            out.push('\n');
        }
        out
    }

    /// Per-run figures that are not about the policy: memory and speed.
    pub fn footer(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            let _ = writeln!(
                out,
                "{}: {} inputs in {:.2} s ({:.2} us each); component memory {:.0} bytes per connection{}",
                r.policy,
                r.inputs,
                r.wall_s,
                if r.inputs > 0 {
                    r.wall_s * 1e6 / r.inputs as f64
                } else {
                    0.0
                },
                r.memory_per_connection_bytes,
                if r.gave_up > 0 {
                    format!("; {} devices gave up", r.gave_up)
                } else {
                    String::new()
                }
            );
        }
        out
    }

    /// An SVG chart: attempts per second (log scale) over time, one line per policy,
    /// the outage shaded and the hub's capacity dashed.
    pub fn svg(&self) -> String {
        chart(self)
    }
}

fn fmt_s(s: f64) -> String {
    if (s - s.round()).abs() < 1e-9 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}

fn time_cell(t: Option<f64>, ratio: Option<f64>) -> String {
    match (t, ratio) {
        (Some(t), Some(r)) => format!("{t:.1} ({r:.2}x)"),
        (Some(t), None) => format!("{t:.1}"),
        _ => "not all back".into(),
    }
}

const PALETTE: [&str; 12] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
    "#17becf", "#aec7e8", "#98df8a", "#c5b0d5",
];
const DEFAULT_COLOUR: &str = "#d62728";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn chart(report: &Report) -> String {
    let (w, h) = (960.0_f64, 520.0_f64);
    let (left, right, top, bottom) = (70.0_f64, 250.0_f64, 40.0_f64, 50.0_f64);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let outage_s = report.scenario.outage.duration_ms as f64 / 1000.0;
    // Show three floors' worth of time: enough to see the good policies finish and
    // the bad ones keep going.
    let x_max = (report.floor_s * 3.0).max(outage_s + 10.0).ceil();
    let peak = report
        .results
        .iter()
        .flat_map(|r| r.attempts_per_s.iter().copied())
        .max()
        .unwrap_or(1)
        .max(report.scenario.hub.capacity_per_s.unwrap_or(1));
    let decades = f64::from(peak.max(10)).log10().ceil().max(1.0);
    let x = |s: f64| left + pw * (s / x_max).clamp(0.0, 1.0);
    let y = |v: f64| {
        let l = if v >= 1.0 { v.log10() } else { 0.0 };
        top + ph * (1.0 - (l / decades).clamp(0.0, 1.0))
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="22" font-size="15" font-weight="bold">{}</text>"#,
        escape(&format!(
            "Connection attempts per second: {} devices, {} s outage, hub admits {}/s",
            report.scenario.devices,
            fmt_s(outage_s),
            report
                .scenario
                .hub
                .capacity_per_s
                .map_or_else(|| "all".into(), |c| c.to_string())
        ))
    );
    // The outage.
    let _ = writeln!(
        s,
        r##"<rect x="{left}" y="{top}" width="{:.1}" height="{ph}" fill="#eeeeee"/>"##,
        x(outage_s) - left
    );
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" fill="#777777">hub down</text>"##,
        left + 6.0,
        top + 16.0
    );
    // Axes and grid.
    let mut d = 0.0;
    while d <= decades {
        let v = 10f64.powf(d);
        let yy = y(v);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#dddddd"/>"##,
            left + pw
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            yy + 4.0,
            human(v)
        );
        d += 1.0;
    }
    let step = nice_step(x_max / 8.0);
    let mut t = 0.0;
    while t <= x_max + 1e-9 {
        let xx = x(t);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{top}" x2="{xx:.1}" y2="{:.1}" stroke="#eeeeee"/>"##,
            top + ph
        );
        let _ = writeln!(
            s,
            r#"<text x="{xx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            top + ph + 18.0,
            fmt_s(t)
        );
        t += step;
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">seconds since every link dropped</text>"#,
        left + pw / 2.0,
        h - 10.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">attempts per second (log)</text>"#,
        top + ph / 2.0
    );
    let _ = writeln!(
        s,
        r##"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333333"/>"##
    );
    if let Some(c) = report.scenario.hub.capacity_per_s {
        let yy = y(f64::from(c));
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#000000" stroke-dasharray="6 4"/>"##,
            left + pw
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">capacity {c}/s</text>"#,
            left + pw - 4.0,
            yy - 4.0
        );
    }
    // The default last, so it is drawn on top.
    let mut order: Vec<(usize, &PolicyResult)> = report.results.iter().enumerate().collect();
    order.sort_by_key(|(_, r)| r.policy == DEFAULT_POLICY_NAME);
    for (i, r) in &order {
        let (colour, width) = colour_of(*i, r);
        let mut points = String::new();
        // Up to the last second with attempts, and one more to show the drop.
        let last = r.attempts_per_s.iter().rposition(|&a| a > 0).unwrap_or(0);
        let shown = r
            .attempts_per_s
            .get(..=last.saturating_add(1))
            .unwrap_or(&r.attempts_per_s);
        for (sec, &a) in shown.iter().enumerate() {
            let t = sec as f64 + 0.5;
            if t > x_max {
                break;
            }
            let _ = write!(points, "{:.1},{:.1} ", x(t), y(f64::from(a)));
        }
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="{width}" stroke-opacity="{}" stroke-linejoin="round" points="{}"/>"#,
            if r.policy == DEFAULT_POLICY_NAME {
                1.0
            } else {
                0.7
            },
            points.trim_end()
        );
    }
    // Legend, in the scenario's order.
    for (i, r) in report.results.iter().enumerate() {
        let (colour, width) = colour_of(i, r);
        let yy = top + 10.0 + 20.0 * i as f64;
        let lx = left + pw + 16.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="{colour}" stroke-width="{width}"/>"#,
            lx + 22.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 28.0,
            yy + 4.0,
            escape(&r.policy)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn colour_of(i: usize, r: &PolicyResult) -> (&'static str, f64) {
    if r.policy == DEFAULT_POLICY_NAME {
        (DEFAULT_COLOUR, 3.0)
    } else {
        let colour = i.checked_rem(PALETTE.len()).and_then(|j| PALETTE.get(j));
        (colour.copied().unwrap_or("#000000"), 1.4)
    }
}

fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", fmt_s(v / 1e6))
    } else if v >= 1e3 {
        format!("{}k", fmt_s(v / 1e3))
    } else {
        fmt_s(v)
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let p = 10f64.powf(raw.max(1e-9).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}
