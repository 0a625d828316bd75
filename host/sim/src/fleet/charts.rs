//! The grid as pictures (`tether simulate --grid FILE --charts DIR`), drawn with
//! `plotters` into SVG: the peak and the t99 of every policy at every point, and
//! attempts per second over time at the point where tether's default peaks
//! highest.
//!
//! Both per-point charts use a log scale: across a grid the figures span four
//! decades, and a ratio of 1 (the hub's capacity, the floor) is the line that
//! matters.

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::FontTransform;

use super::DEFAULT_POLICY_NAME;
use super::grid::GridReport;

/// The files `--charts` writes, in order.
pub const CHART_FILES: [&str; 3] = ["grid-peak.svg", "grid-t99.svg", "grid-worst.svg"];

/// The palette of the presets; tether's default is drawn thicker, in red.
const PALETTE: [RGBColor; 9] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];
const DEFAULT_COLOUR: RGBColor = RGBColor(0xd6, 0x27, 0x28);

fn style_of(i: usize, policy: &str) -> ShapeStyle {
    if policy == DEFAULT_POLICY_NAME {
        DEFAULT_COLOUR.stroke_width(3)
    } else {
        let colour = i
            .checked_rem(PALETTE.len())
            .and_then(|j| PALETTE.get(j))
            .copied()
            .unwrap_or(BLACK);
        colour.stroke_width(1)
    }
}

fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    anyhow::anyhow!("drawing a chart: {e}")
}

/// The three charts of `report` as SVG documents, named as in [`CHART_FILES`].
pub fn grid_charts(report: &GridReport) -> anyhow::Result<Vec<(&'static str, String)>> {
    anyhow::ensure!(!report.points.is_empty(), "the grid has no points to draw");
    let peak = per_point(
        report,
        "Peak connection attempts per second over the whole run, x the hub's capacity",
        "peak attempts/s x capacity (log)",
        |r| r.peak_overall_ratio,
    )?;
    let t99 = per_point(
        report,
        "Time until 99% of the devices are back, x the floor (outage + N / C)",
        "t99 x floor (log)",
        |r| r.t99_ratio,
    )?;
    let worst = worst_point(report)?;
    let [a, b, c] = CHART_FILES;
    Ok(vec![(a, peak), (b, t99), (c, worst)])
}

/// Write the charts of `report` into `dir` (created if missing).
pub fn write_grid_charts(report: &GridReport, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for (name, svg) in grid_charts(report)? {
        let path = dir.join(name);
        std::fs::write(&path, svg)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// One line per policy across the grid's points; `value` of a result, `None` or
/// not finite when the policy did not get there (drawn at the top).
fn per_point(
    report: &GridReport,
    title: &str,
    y_desc: &str,
    value: fn(&super::PolicyResult) -> Option<f64>,
) -> anyhow::Result<String> {
    let labels: Vec<&str> = report
        .points
        .iter()
        .map(|p| p.point.label.as_str())
        .collect();
    let policies: Vec<&str> = report
        .points
        .first()
        .map(|p| p.results.iter().map(|r| r.policy.as_str()).collect())
        .unwrap_or_default();
    let finite: Vec<f64> = report
        .points
        .iter()
        .flat_map(|p| p.results.iter().filter_map(value))
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let lo = finite.iter().copied().fold(1.0_f64, f64::min);
    let hi = finite.iter().copied().fold(1.0_f64, f64::max);
    let (y_lo, y_hi) = (decade_below(lo), decade_above(hi));
    let n = i32::try_from(labels.len()).unwrap_or(i32::MAX);
    let width = u32::try_from(labels.len())
        .unwrap_or(u32::MAX)
        .saturating_mul(16)
        .saturating_add(360)
        .max(960);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 640)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(200)
            .y_label_area_size(70)
            .build_cartesian_2d(-1..n, (y_lo..y_hi).log_scale())
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_labels(labels.len().saturating_add(2))
            .x_label_formatter(&|i| {
                usize::try_from(*i)
                    .ok()
                    .and_then(|i| labels.get(i))
                    .map_or_else(String::new, |l| (*l).to_string())
            })
            .x_label_style(
                ("sans-serif", 11)
                    .into_font()
                    .transform(FontTransform::Rotate90),
            )
            .y_desc(y_desc)
            .y_label_formatter(&|v| format!("{v}x"))
            .draw()
            .map_err(draw_err)?;
        // The line a good policy stays under: the capacity, the floor.
        chart
            .draw_series(LineSeries::new(
                [(-1, 1.0), (n, 1.0)],
                BLACK.stroke_width(1),
            ))
            .map_err(draw_err)?;
        // The default last, so it is drawn on top.
        let mut order: Vec<(usize, &str)> = policies.iter().copied().enumerate().collect();
        order.sort_by_key(|(_, p)| *p == DEFAULT_POLICY_NAME);
        for (i, policy) in order {
            let style = style_of(i, policy);
            let series: Vec<(i32, f64)> = report
                .points
                .iter()
                .enumerate()
                .filter_map(|(x, p)| {
                    let r = p.results.iter().find(|r| r.policy == policy)?;
                    let v = value(r)
                        .filter(|v| v.is_finite() && *v > 0.0)
                        .unwrap_or(y_hi);
                    Some((i32::try_from(x).ok()?, v.clamp(y_lo, y_hi)))
                })
                .collect();
            chart
                .draw_series(LineSeries::new(series.iter().copied(), style))
                .map_err(draw_err)?
                .label(policy)
                .legend(move |(x, y)| PathElement::new([(x, y), (x.saturating_add(20), y)], style));
            chart
                .draw_series(
                    series
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), 3, style.filled())),
                )
                .map_err(draw_err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// Attempts per second over time at the grid's worst point for the default.
fn worst_point(report: &GridReport) -> anyhow::Result<String> {
    let Some(worst) = &report.worst else {
        anyhow::bail!("the grid kept no per-second series (no point ran tether's default)");
    };
    let outage_s = worst.outage_ms as f64 / 1000.0;
    let x_max = (worst.floor_s * 3.0).max(outage_s + 10.0).ceil();
    let top = worst
        .series
        .iter()
        .flat_map(|(_, s)| s.iter().copied())
        .max()
        .unwrap_or(1)
        .max(worst.capacity_per_s);
    let y_hi = decade_above(f64::from(top.max(1)));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let title = format!(
            "Connection attempts per second at the default's worst point: {}",
            worst.label
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x_max, (1.0..y_hi).log_scale())
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("seconds since the links dropped")
            .y_desc("attempts per second (log)")
            .draw()
            .map_err(draw_err)?;
        if outage_s > 0.0 {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, 1.0), (outage_s, y_hi)],
                    RGBColor(0xee, 0xee, 0xee).filled(),
                )))
                .map_err(draw_err)?
                .label("hub down")
                .legend(|(x, y)| {
                    Rectangle::new(
                        [
                            (x, y.saturating_sub(5)),
                            (x.saturating_add(20), y.saturating_add(5)),
                        ],
                        RGBColor(0xee, 0xee, 0xee).filled(),
                    )
                });
        }
        let capacity = f64::from(worst.capacity_per_s.max(1));
        chart
            .draw_series(LineSeries::new(
                [(0.0, capacity), (x_max, capacity)],
                BLACK.stroke_width(1),
            ))
            .map_err(draw_err)?
            .label(format!("capacity {}/s", worst.capacity_per_s))
            .legend(|(x, y)| PathElement::new([(x, y), (x.saturating_add(20), y)], BLACK));
        let mut order: Vec<(usize, &(String, Vec<u32>))> =
            worst.series.iter().enumerate().collect();
        order.sort_by_key(|(_, (p, _))| p == DEFAULT_POLICY_NAME);
        for (i, (policy, per_s)) in order {
            let style = style_of(i, policy);
            // Up to the last second with attempts, and one more to show the drop;
            // a second without attempts is drawn at the axis.
            let last = per_s.iter().rposition(|&a| a > 0).unwrap_or(0);
            let points: Vec<(f64, f64)> = per_s
                .iter()
                .take(last.saturating_add(2))
                .enumerate()
                .map(|(sec, &a)| (sec as f64 + 0.5, f64::from(a.max(1))))
                .take_while(|(t, _)| *t <= x_max)
                .collect();
            chart
                .draw_series(LineSeries::new(points, style))
                .map_err(draw_err)?
                .label(policy.as_str())
                .legend(move |(x, y)| PathElement::new([(x, y), (x.saturating_add(20), y)], style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

fn decade_below(v: f64) -> f64 {
    10f64.powf(v.max(1e-6).log10().floor())
}

fn decade_above(v: f64) -> f64 {
    let d = v.max(1e-6).log10();
    10f64.powf(if d == d.ceil() { d + 1.0 } else { d.ceil() })
}
