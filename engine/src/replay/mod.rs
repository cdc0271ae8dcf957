//! `tickforge replay`: a capture through the pinned pipeline, as fast as it goes, with a summary
//! a person can read and hashes a machine can compare.
//!
//! The feed stage decodes the capture (BinaryFILE or pcap/pcapng with MoldUDP64) and normalises
//! each ITCH message into a record; the matching stage sequences the records, optionally
//! journals them, and builds the books; the gateway stage measures and hashes the outputs.
//! At maximum speed there is no planned send time, so the latencies reported are each stage's
//! *service times* (time from a record entering a stage to leaving it, queueing included), not
//! the latency a paced feed would see; the report says so. With a rate, records are released on
//! a fixed schedule and latency is measured from each one's planned release time (open loop).
//!
//! Determinism: the output hash covers every record the engine produced, with the wall-clock
//! stage stamps cleared; the state hash covers every book. Both are the same on every run of the
//! same capture.

pub mod input;
mod plot;
mod progress;
pub mod report;

use crate::book::Fnv;
use crate::pipeline::{self, Latencies, PipelineConfig};
use anyhow::{Context, Result};
use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;
pub use input::{Input, InputFormat};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::Record;

/// Percentiles of one histogram, in nanoseconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th.
    pub p99: u64,
    /// 99.9th.
    pub p999: u64,
    /// 99.99th.
    pub p9999: u64,
    /// Largest.
    pub max: u64,
}

impl Percentiles {
    /// The percentiles of `h`.
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        Percentiles {
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            p9999: h.value_at_quantile(0.9999),
            max: h.max(),
        }
    }
}

/// Latencies per stage.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageLatencies {
    /// Decode and hand-off in the feed stage.
    pub feed: Percentiles,
    /// Sequencing, journaling and book building.
    pub matching: Percentiles,
    /// Hand-off to the gateway.
    pub gateway: Percentiles,
    /// All three.
    pub end_to_end: Percentiles,
}

impl StageLatencies {
    /// The percentiles of each stage.
    pub fn of(l: &Latencies) -> StageLatencies {
        StageLatencies {
            feed: Percentiles::of(&l.feed),
            matching: Percentiles::of(&l.matching),
            gateway: Percentiles::of(&l.gateway),
            end_to_end: Percentiles::of(&l.end_to_end),
        }
    }
}

/// The outcome of a replay.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplaySummary {
    /// The capture replayed.
    pub capture: String,
    /// Its format.
    pub format: String,
    /// Notes on how the input was read.
    pub notes: Vec<String>,
    /// ITCH messages read.
    pub messages: u64,
    /// Records that went through the engine (the book-related messages).
    pub records: u64,
    /// Messages that could not be decoded, and framing errors.
    pub malformed: u64,
    /// What was wrong with the input, where: the first message that could not be decoded, the
    /// first framing error, and a packet capture with no MoldUDP64 packet (empty when nothing was).
    pub problems: Vec<String>,
    /// Instruments seen.
    pub instruments: usize,
    /// Books with orders at the end.
    pub books: usize,
    /// Orders resting at the end.
    pub resting_orders: usize,
    /// Executions applied.
    pub fills: u64,
    /// References to orders the book did not hold.
    pub unknown_refs: u64,
    /// Wall time of the pipeline run, seconds.
    pub run_seconds: f64,
    /// Records per second through the pipeline.
    pub records_per_second: f64,
    /// How records were released.
    pub pacing: String,
    /// What the latencies measure.
    pub latency_mode: String,
    /// Per-stage latencies, ns.
    pub latency_ns: StageLatencies,
    /// Hash of every engine output (stamps cleared).
    pub output_hash: String,
    /// Hash of every book at the end.
    pub state_hash: String,
    /// Where each stage ran.
    pub topology: String,
    /// Back-pressure per stage.
    pub back_pressure: Vec<BackPressure>,
}

/// The capture `tickforge replay` uses when given none: the one bundled in `captures/`.
pub fn default_capture() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("captures").join("tickforge-sample.itch");
    p.canonicalize().unwrap_or(p)
}

/// Settings of a replay beyond the pipeline's own.
#[derive(Debug, Default)]
pub struct ReplayOptions<'a> {
    /// Show a progress bar on standard error.
    pub progress: bool,
    /// Publish the sequenced market data as ITCH 5.0 over MoldUDP64 (from the gateway stage).
    pub publisher: Option<&'a mut tickforge_feed::mold::udp::UdpPublisher>,
    /// Symbols of the instruments, for the published ITCH (captures' own `R` messages are not
    /// records; without names, instrument N is `TF<N>`).
    pub symbols: Vec<String>,
}

/// Everything a replay measured: the summary and the latency timeline behind the report.
#[derive(Debug)]
pub struct ReplayRun {
    /// The summary.
    pub summary: ReplaySummary,
    /// Latency per interval, and the HdrHistogram interval logs.
    pub timeline: report::Timeline,
}

/// Replays the capture at `path` (format detected) through the pipeline.
pub fn replay(
    path: &Path,
    config: &PipelineConfig,
    journal: Option<&mut tickforge_replay::journal::Journal>,
) -> Result<ReplaySummary> {
    let input = Input::open(path, InputFormat::Auto)?;
    Ok(replay_input(&input, config, journal, &mut ReplayOptions::default())?.summary)
}

/// Replays `input` through the pipeline.
pub fn replay_input(
    input: &Input,
    config: &PipelineConfig,
    journal: Option<&mut tickforge_replay::journal::Journal>,
    options: &mut ReplayOptions<'_>,
) -> Result<ReplayRun> {
    let encoder = tickforge_feed::itch_out::Encoder::new(&options.symbols);
    // Each stage's closure works on state of its own, on cache lines of its own. These locals
    // live in this thread's stack frame; the feed writes its reader on every record and the
    // gateway its hash, and the matching stage checks for a journal on every record: sharing a
    // line, each write cost the matching core a miss (false sharing; `perf annotate` put about
    // two thirds of the matching loop's own samples on reading `journal`).
    let mut feed_side = CachePadded::new((input.reader()?, 0u64));
    let mut matching_side = CachePadded::new((journal, None));
    let mut gateway_side = CachePadded::new((Fnv::new(), options.publisher.as_deref_mut(), Vec::with_capacity(64)));
    let mut timeline = report::Timeline::new();
    let position = std::sync::Arc::new(progress::Position::default());
    let progress =
        options.progress.then(|| progress::Progress::start(input.len(), input.is_capture(), position.clone()));
    let started = Instant::now();
    let report = pipeline::run_with_intervals(
        config,
        input::replay_engine(),
        |buf: &mut [Record]| {
            let (reader, fed) = &mut *feed_side;
            let n = reader.fill(buf);
            *fed += n as u64;
            // Relaxed stores, once per batch: the progress thread only reads them.
            position.at.store(reader.position(), std::sync::atomic::Ordering::Relaxed);
            position.records.store(*fed, std::sync::atomic::Ordering::Relaxed);
            n
        },
        |r: &Record| {
            let (journal, journal_error) = &mut *matching_side;
            if let Some(j) = journal.as_deref_mut() {
                if journal_error.is_none() {
                    if let Err(e) = j.append(r) {
                        *journal_error = Some(e);
                    }
                }
            }
        },
        |r: &Record| {
            let (output_hash, publisher, itch_buf) = &mut *gateway_side;
            if r.kind >= tickforge_wire::Kind::Accepted as u8 {
                output_hash.words(r.without_stamps().as_bytes());
            } else if let Some(p) = publisher.as_deref_mut() {
                // The sequenced market data, as ITCH; kinds ITCH cannot carry are not published.
                itch_buf.clear();
                if encoder.encode(r, |b| itch_buf.extend_from_slice(b)).is_ok() {
                    p.publish(itch_buf);
                }
            }
        },
        |interval| timeline.add(interval),
    );
    let (mut reader, fed) = CachePadded::into_inner(feed_side);
    let (journal, journal_error) = CachePadded::into_inner(matching_side);
    let (output_hash, _, _) = CachePadded::into_inner(gateway_side);
    let run_seconds = started.elapsed().as_secs_f64();
    if let Some(p) = progress {
        p.finish();
    }
    if let Some(e) = reader.error.take() {
        return Err(anyhow::Error::new(e).context(format!("reading {} after {fed} records", input.path.display())));
    }
    let problems = reader.problems();
    if reader.messages == 0 && !problems.is_empty() {
        anyhow::bail!("nothing in {} could be read as {}: {}", input.path.display(), input.format, problems.join("; "));
    }
    if let Some(e) = journal_error {
        return Err(anyhow::Error::new(e).context("journaling the replay"));
    }
    if let Some(j) = journal {
        j.flush().context("flushing the journal")?;
    }
    if let Some(p) = options.publisher.as_deref_mut() {
        p.end_session();
    }
    let stats = report.engine.stats();
    let summary = ReplaySummary {
        capture: input.path.display().to_string(),
        format: input.format.clone(),
        notes: input.notes.clone(),
        messages: reader.messages,
        records: fed,
        malformed: reader.malformed + reader.framing_errors(),
        problems,
        instruments: reader.instruments(),
        books: report.engine.book_count(),
        resting_orders: report.engine.order_count(),
        fills: stats.fills,
        unknown_refs: stats.unknown_refs,
        run_seconds,
        records_per_second: fed as f64 / run_seconds.max(1e-9),
        pacing: config.pacing.describe(),
        latency_mode: if config.pacing.is_paced() {
            format!("{}: open-loop latency from each record's planned release time", config.pacing.describe())
        } else {
            "max speed: per-stage service times, queueing included (not open-loop latency)".to_string()
        },
        latency_ns: StageLatencies::of(&report.latencies),
        output_hash: format!("{:016x}", output_hash.finish()),
        state_hash: format!("{:016x}", report.engine.state_hash()),
        topology: config.topology.describe(),
        back_pressure: report
            .stages
            .iter()
            .zip(["feed", "matching", "gateway"])
            .map(|(s, name)| BackPressure { stage: name, blocked: s.blocked, blocked_ns: s.blocked_ns })
            .collect(),
    };
    timeline.finish(&report.latencies);
    Ok(ReplayRun { summary, timeline })
}

/// Time a stage spent blocked on a full output ring.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackPressure {
    /// The stage.
    pub stage: &'static str,
    /// Times its output ring was full.
    pub blocked: u64,
    /// Nanoseconds spent waiting.
    pub blocked_ns: u64,
}

impl ReplaySummary {
    /// The terminal summary.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut t = String::new();
        let rate = |n: u64| n as f64 / self.run_seconds.max(1e-9);
        let _ = writeln!(t, "capture      {} ({})", self.capture, self.format);
        for note in &self.notes {
            let _ = writeln!(t, "             {note}");
        }
        let _ = writeln!(
            t,
            "messages     {} read, {} book records, {} malformed",
            self.messages, self.records, self.malformed
        );
        for p in &self.problems {
            let _ = writeln!(t, "problem      {p}");
        }
        let _ = writeln!(
            t,
            "instruments  {} ({} books with orders, {} orders resting)",
            self.instruments, self.books, self.resting_orders
        );
        let _ = writeln!(t, "fills        {}", self.fills);
        let _ = writeln!(t, "unknown refs {}", self.unknown_refs);
        let _ = writeln!(
            t,
            "run time     {:.3} s, {:.0} messages/s, {:.0} records/s ({})",
            self.run_seconds,
            rate(self.messages),
            self.records_per_second,
            self.pacing
        );
        let _ = writeln!(t, "topology     {}", self.topology);
        for b in self.back_pressure.iter().filter(|b| b.blocked > 0) {
            let _ = writeln!(
                t,
                "back-pressure {}: output ring full {} times, {:.3} ms waiting",
                b.stage,
                b.blocked,
                b.blocked_ns as f64 / 1e6
            );
        }
        let _ = writeln!(t, "\nlatency (ns) {}", self.latency_mode);
        let _ = writeln!(t, "  stage             p50       p90       p99     p99.9    p99.99         max");
        let l = &self.latency_ns;
        for (name, p) in
            [("feed", &l.feed), ("matching", &l.matching), ("gateway", &l.gateway), ("end to end", &l.end_to_end)]
        {
            let _ = writeln!(
                t,
                "  {name:<11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11}",
                p.p50, p.p90, p.p99, p.p999, p.p9999, p.max
            );
        }
        let _ = writeln!(t, "\noutput hash  {}", self.output_hash);
        let _ = writeln!(t, "state hash   {}", self.state_hash);
        t
    }
}
