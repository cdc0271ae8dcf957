//! `report.html`: the summary and SVG plots (drawn by `plotters`) in one self-contained page.
//!
//! Percentile distributions use HdrHistogram's axis: x is the number of nines,
//! `-log10(1 - quantile)` (0 = p0, 1 = p90, 2 = p99, 3 = p99.9 ...), so the tail gets as much
//! room as the body; latency is on a log scale. The maximum is drawn at the right edge.

use super::report::{QuantilePoint, Settings, Timeline, STAGES};
use super::ReplaySummary;
use plotters::prelude::*;

const COLORS: [RGBColor; 4] =
    [RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44), RGBColor(214, 39, 40)];

fn nines(q: f64) -> f64 {
    -(1.0 - q).max(1e-12).log10()
}

fn y_range(values: impl Iterator<Item = u64>) -> (f64, f64) {
    let (lo, hi) = values.fold((u64::MAX, 0), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi == 0 {
        return (1.0, 10.0);
    }
    ((lo.max(1) as f64 / 1.5).max(1.0), hi as f64 * 1.5)
}

fn percentile_label(x: f64) -> String {
    match x.round() as i32 {
        0 => "0%".into(),
        1 => "90%".into(),
        2 => "99%".into(),
        n => format!("99.{}%", "9".repeat((n - 2).max(0) as usize)),
    }
}

/// One stage's percentile distribution as an SVG document.
fn distribution_svg(stage: &str, points: &[QuantilePoint], color: RGBColor) -> Result<String, String> {
    let mut svg = String::new();
    let finite = points.iter().filter(|p| p.quantile < 1.0).map(|p| nines(p.quantile)).fold(0.0, f64::max);
    let x_max = (finite.ceil()).max(2.0) + 0.5;
    let xy: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (if p.quantile >= 1.0 { x_max } else { nines(p.quantile) }, p.ns.max(1) as f64))
        .collect();
    let (y0, y1) = y_range(points.iter().map(|p| p.ns));
    {
        let root = SVGBackend::with_string(&mut svg, (560, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{stage}: latency by percentile"), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..x_max, (y0..y1).log_scale())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(x_max as usize + 1)
            .x_label_formatter(&|x| percentile_label(*x))
            .y_labels(12)
            .y_label_formatter(&|y| format_ns(*y))
            .x_desc("percentile")
            .y_desc("latency")
            .draw()
            .map_err(|e| e.to_string())?;
        chart.draw_series(LineSeries::new(xy, color.stroke_width(2))).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Picks one percentile.
type Pick = fn(&super::Percentiles) -> u64;

/// End-to-end latency per interval as an SVG document.
fn over_time_svg(timeline: &Timeline) -> Result<String, String> {
    let mut svg = String::new();
    let pts = &timeline.points;
    let x_max = pts.last().map_or(1.0, |p| p.end_s).max(1e-3);
    let (y0, y1) = y_range(pts.iter().flat_map(|p| [p.end_to_end.p50, p.end_to_end.max]));
    {
        let root = SVGBackend::with_string(&mut svg, (1120, 340)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption("end-to-end latency over time (per interval)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..x_max, (y0..y1).log_scale())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("seconds since start")
            .y_desc("latency")
            .y_labels(12)
            .y_label_formatter(&|y| format_ns(*y))
            .draw()
            .map_err(|e| e.to_string())?;
        let series: [(&str, Pick); 4] =
            [("p50", |p| p.p50), ("p99", |p| p.p99), ("p99.9", |p| p.p999), ("max", |p| p.max)];
        for (i, (name, get)) in series.into_iter().enumerate() {
            let color = COLORS[i];
            let line = pts.iter().map(|p| ((p.start_s + p.end_s) / 2.0, get(&p.end_to_end).max(1) as f64));
            // Points as well as lines: a short run may have a single interval.
            chart
                .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)).point_size(if pts.len() > 60 {
                    0
                } else {
                    3
                }))
                .map_err(|e| e.to_string())?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Nanoseconds in the unit a person reads best.
pub(crate) fn format_ns(ns: f64) -> String {
    let (v, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    let text = format!("{v:.2}");
    format!("{} {unit}", text.trim_end_matches('0').trim_end_matches('.'))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The whole page.
pub(crate) fn html(
    summary: &ReplaySummary,
    timeline: &Timeline,
    settings: &Settings,
    machine: &super::report::Machine,
) -> String {
    use std::fmt::Write;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>tickforge replay report</title>\n<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}th{{background:#f4f4f4}}td.l,th.l{{text-align:left}}.plots{{display:flex;flex-wrap:wrap;gap:8px}}code{{background:#f4f4f4}}</style></head><body>\n<h1>tickforge replay report</h1>\n"
    );
    let _ = write!(h, "<h2>Summary</h2>\n<table>\n");
    let rows: Vec<(&str, String)> = vec![
        ("capture", format!("{} ({})", summary.capture, summary.format)),
        (
            "messages",
            format!("{} read, {} book records, {} malformed", summary.messages, summary.records, summary.malformed),
        ),
        ("problems", if summary.problems.is_empty() { "none".to_string() } else { summary.problems.join("; ") }),
        (
            "instruments",
            format!(
                "{} ({} books with orders, {} orders resting)",
                summary.instruments, summary.books, summary.resting_orders
            ),
        ),
        ("fills", summary.fills.to_string()),
        ("unknown references", summary.unknown_refs.to_string()),
        ("run time", format!("{:.3} s, {:.0} records/s", summary.run_seconds, summary.records_per_second)),
        ("pacing", summary.pacing.clone()),
        ("latency measures", summary.latency_mode.clone()),
        ("topology", summary.topology.clone()),
        ("output hash", summary.output_hash.clone()),
        ("state hash", summary.state_hash.clone()),
        ("command", settings.command.clone()),
        (
            "machine",
            format!("{} ({} CPUs), Linux {}, host {}", machine.cpu, machine.cpus, machine.kernel, machine.host),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(h, "<tr><th class=\"l\">{}</th><td class=\"l\">{}</td></tr>", k, escape(&v));
    }
    let _ = write!(h, "</table>\n<h2>Latency (ns)</h2>\n<p>{}</p>\n<table><tr><th class=\"l\">stage</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>p99.99</th><th>max</th></tr>\n", escape(&summary.latency_mode));
    let l = &summary.latency_ns;
    for (name, p) in
        [("feed", &l.feed), ("matching", &l.matching), ("gateway", &l.gateway), ("end to end", &l.end_to_end)]
    {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.p50, p.p90, p.p99, p.p999, p.p9999, p.max
        );
    }
    let _ = write!(h, "</table>\n<h2>Percentile distribution per stage</h2>\n<div class=\"plots\">\n");
    for (i, stage) in STAGES.iter().enumerate() {
        match distribution_svg(stage, &timeline.distributions[i], COLORS[i]) {
            Ok(svg) => h.push_str(&svg),
            Err(e) => {
                let _ = write!(h, "<p>plot of {stage} failed: {}</p>", escape(&e));
            }
        }
    }
    let _ = write!(h, "</div>\n<h2>Latency over time</h2>\n");
    match over_time_svg(timeline) {
        Ok(svg) => h.push_str(&svg),
        Err(e) => {
            let _ = write!(h, "<p>plot failed: {}</p>", escape(&e));
        }
    }
    let _ = write!(
        h,
        "\n<p>Interval logs (HdrHistogram format, ns): <code>feed.hlog</code>, <code>matching.hlog</code>, <code>gateway.hlog</code>, <code>end_to_end.hlog</code>. All figures: <code>report.json</code>.</p>\n</body></html>\n"
    );
    h
}
