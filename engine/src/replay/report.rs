//! The replay report: `report.json`, one HdrHistogram interval log per stage, and `report.html`.
//!
//! - `report.json`: the summary (every figure the terminal shows), the settings, a description
//!   of the machine, latency per interval, and each stage's full percentile distribution.
//! - `feed.hlog`, `matching.hlog`, `gateway.hlog`, `end_to_end.hlog`: interval logs in the
//!   format of HdrHistogram's `HistogramLogWriter` (V2 compressed histograms, base64), one line
//!   per interval, values in nanoseconds: HdrHistogram's own tools (`HistogramLogProcessor`,
//!   HdrHistogramVisualizer) read them, as does the `hdrhistogram` crate.
//! - `report.html`: one self-contained page (no scripts, no network) with the summary table, a
//!   percentile-distribution plot per stage on HdrHistogram's log "nines" axis, and latency
//!   over time; the plots are SVG drawn by `plotters` and inlined.

use super::{Percentiles, ReplaySummary};
use crate::pipeline::{Interval, Latencies};
use anyhow::{Context, Result};
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;
use std::path::Path;
use std::time::Duration;

/// Stage names, in the order of [`Latencies::named`].
pub const STAGES: [&str; 4] = ["feed", "matching", "gateway", "end_to_end"];

/// Latency of one interval.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IntervalPoint {
    /// Start, seconds since the run started.
    pub start_s: f64,
    /// End, seconds since the run started.
    pub end_s: f64,
    /// Records measured in the interval.
    pub records: u64,
    /// End-to-end percentiles, ns.
    pub end_to_end: Percentiles,
    /// p99 of each stage (feed, matching, gateway), ns.
    pub stage_p99: [u64; 3],
}

/// One point of a percentile distribution: the quantile and the latency at it.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct QuantilePoint {
    /// Quantile, 0..=1.
    pub quantile: f64,
    /// Latency, ns.
    pub ns: u64,
}

/// Latency over time and the interval logs, built as the gateway hands over intervals.
///
/// [`Timeline::add`] runs on the collecting thread *during* the run, on a machine whose cores
/// may all be busy with pinned stages, so it does as little as possible: one pass over each
/// histogram's buckets, keeping the recorded values as sparse `(value, count)` pairs, and the
/// percentiles the plot needs. Compressing and encoding the interval logs (about a millisecond
/// per interval, which showed up as a periodic millisecond stall in paced runs) waits for
/// [`Timeline::finish`], after the run.
#[derive(Debug)]
pub struct Timeline {
    /// One per interval.
    pub points: Vec<IntervalPoint>,
    /// The interval log of each stage, as text (filled by `finish`).
    pub logs: [Vec<u8>; 4],
    /// Each stage's percentile distribution over the whole run (filled by `finish`).
    pub distributions: [Vec<QuantilePoint>; 4],
    /// Per interval: start and length (ns), and each stage's recorded values.
    sparse: Vec<SparseInterval>,
    started: std::time::SystemTime,
}

/// An interval's start and length (ns), and each stage's recorded `(value, count)` pairs.
type SparseInterval = (u64, u64, [Vec<(u64, u64)>; 4]);

/// The value at quantile `q` of sparse, ascending `(value, count)` pairs holding `total`.
fn sparse_quantile(values: &[(u64, u64)], total: u64, q: f64) -> u64 {
    let want = ((q * total as f64).ceil() as u64).clamp(1, total.max(1));
    let mut seen = 0;
    for &(v, c) in values {
        seen += c;
        if seen >= want {
            return v;
        }
    }
    values.last().map_or(0, |v| v.0)
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline::new()
    }
}

impl Timeline {
    /// An empty timeline.
    pub fn new() -> Timeline {
        Timeline {
            points: Vec::new(),
            logs: Default::default(),
            distributions: Default::default(),
            sparse: Vec::new(),
            started: std::time::SystemTime::now(),
        }
    }

    /// Adds one interval (an empty one is skipped). Cheap: see the type's docs.
    pub fn add(&mut self, interval: &Interval) {
        let l = &interval.latencies;
        if l.end_to_end.is_empty() {
            return;
        }
        let stages = l.named().map(|(_, h)| {
            h.iter_recorded()
                .map(|v| (h.highest_equivalent(v.value_iterated_to()), v.count_at_value()))
                .collect::<Vec<_>>()
        });
        let q = |k: usize, q: f64| {
            sparse_quantile(&stages[k], [&l.feed, &l.matching, &l.gateway, &l.end_to_end][k].len(), q)
        };
        self.points.push(IntervalPoint {
            start_s: interval.start_ns as f64 / 1e9,
            end_s: interval.end_ns as f64 / 1e9,
            records: l.end_to_end.len(),
            end_to_end: Percentiles {
                p50: q(3, 0.5),
                p90: q(3, 0.9),
                p99: q(3, 0.99),
                p999: q(3, 0.999),
                p9999: q(3, 0.9999),
                max: l.end_to_end.max(),
            },
            stage_p99: [q(0, 0.99), q(1, 0.99), q(2, 0.99)],
        });
        self.sparse.push((interval.start_ns, interval.end_ns.saturating_sub(interval.start_ns), stages));
    }

    /// After the run: the whole run's distributions, and the interval logs.
    pub fn finish(&mut self, total: &Latencies) {
        for (d, (_, h)) in self.distributions.iter_mut().zip(total.named()) {
            *d = distribution(h);
        }
        let mut serializer = V2DeflateSerializer::new();
        for (k, stage) in STAGES.iter().enumerate() {
            let mut log = Vec::new();
            let mut header = IntervalLogWriterBuilder::new();
            header
                .add_comment(&format!("tickforge replay: {stage} latency, values in nanoseconds"))
                .with_start_time(self.started)
                .with_base_time(self.started);
            if header.begin_log_with(&mut log, &mut serializer).is_err() {
                continue;
            }
            log.extend_from_slice(
                b"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
            );
            let mut h = Latencies::new().feed;
            for (start, length, stages) in &self.sparse {
                h.reset();
                for &(v, c) in &stages[k] {
                    let _ = h.record_n(v, c);
                }
                if let Ok(mut w) = IntervalLogWriterBuilder::new().begin_log_with(&mut log, &mut serializer) {
                    let _ = w.write_histogram(
                        &h,
                        Duration::from_nanos(*start),
                        Duration::from_nanos(*length),
                        Tag::new(stage),
                    );
                }
            }
            self.logs[k] = log;
        }
        self.sparse = Vec::new();
    }
}

/// The percentile distribution of `h` at HdrHistogram's usual resolution (5 points per halving
/// of the distance to 100 %), ending at the maximum.
pub fn distribution(h: &Histogram<u64>) -> Vec<QuantilePoint> {
    if h.is_empty() {
        return Vec::new();
    }
    let mut points: Vec<QuantilePoint> = h
        .iter_quantiles(5)
        .map(|v| QuantilePoint { quantile: v.quantile_iterated_to(), ns: h.highest_equivalent(v.value_iterated_to()) })
        .collect();
    points.retain(|p| p.quantile < 1.0);
    points.push(QuantilePoint { quantile: 1.0, ns: h.max() });
    points
}

/// What machine a report came from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Logical CPUs available to this process.
    pub cpus: usize,
    /// Kernel release.
    pub kernel: String,
    /// Host name.
    pub host: String,
    /// tickforge's version.
    pub tickforge: &'static str,
}

impl Machine {
    /// This machine.
    pub fn here() -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpu = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        Machine {
            cpu,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            host: read("/proc/sys/kernel/hostname").trim().to_string(),
            tickforge: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// The settings a report records.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Settings {
    /// Command line that produced it.
    pub command: String,
    /// Pacing, as described to the user.
    pub pacing: String,
    /// Stage placement.
    pub topology: String,
    /// Ring slots.
    pub ring_capacity: usize,
    /// Batch size.
    pub batch: usize,
    /// Interval length, ms.
    pub interval_ms: Option<f64>,
    /// Journal directory, if any.
    pub journal: Option<String>,
}

#[derive(serde::Serialize)]
struct ReportJson<'a> {
    summary: &'a ReplaySummary,
    settings: &'a Settings,
    machine: &'a Machine,
    intervals: &'a [IntervalPoint],
    distributions: std::collections::BTreeMap<&'static str, &'a [QuantilePoint]>,
}

/// Writes `report.json`, the interval logs and `report.html` into `dir` (created if needed).
pub fn write(dir: &Path, summary: &ReplaySummary, timeline: &Timeline, settings: &Settings) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating report directory {}", dir.display()))?;
    let machine = Machine::here();
    let json = ReportJson {
        summary,
        settings,
        machine: &machine,
        intervals: &timeline.points,
        distributions: STAGES.iter().copied().zip(timeline.distributions.iter().map(Vec::as_slice)).collect(),
    };
    let put = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))
    };
    put("report.json", serde_json::to_string_pretty(&json)?.as_bytes())?;
    for (stage, log) in STAGES.iter().zip(&timeline.logs) {
        put(&format!("{stage}.hlog"), log)?;
    }
    put("report.html", super::plot::html(summary, timeline, settings, &machine).as_bytes())?;
    Ok(())
}
