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

use crate::book::{Engine, EngineConfig, Fnv};
use crate::pipeline::{self, Latencies, PipelineConfig};
use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tickforge_feed::{normalize, source::Messages, Capture};
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::{itch, Record};

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
    fn of(h: &Histogram<u64>) -> Percentiles {
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
    fn of(l: &Latencies) -> StageLatencies {
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
    /// Its framing.
    pub format: &'static str,
    /// ITCH messages read.
    pub messages: u64,
    /// Records that went through the engine (the book-related messages).
    pub records: u64,
    /// Messages that could not be decoded.
    pub malformed: u64,
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
}

/// The capture `tickforge replay` uses when given none: the one bundled in `captures/`.
pub fn default_capture() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("captures").join("tickforge-sample.itch");
    p.canonicalize().unwrap_or(p)
}

/// Replays `path` through the pipeline.
pub fn replay(
    path: &Path,
    config: &PipelineConfig,
    mut journal: Option<&mut tickforge_replay::journal::Journal>,
) -> Result<ReplaySummary> {
    let capture = Capture::open(path).with_context(|| format!("opening capture {}", path.display()))?;
    let mut messages = Messages::new(capture.format, capture.bytes());
    let (mut read, mut malformed, mut fed) = (0u64, 0u64, 0u64);
    let mut instruments = std::collections::BTreeSet::new();
    let mut output_hash = Fnv::new();
    let started = Instant::now();
    let report = pipeline::run(
        config,
        Engine::new(EngineConfig { book_changes: true, ..EngineConfig::default() }),
        |buf: &mut [Record]| {
            let mut n = 0;
            while n < buf.len() {
                let Some(bytes) = messages.next() else { break };
                read += 1;
                match itch::decode(bytes) {
                    Ok(m) => {
                        if let Some(r) = normalize::record(&m) {
                            instruments.insert(r.instrument);
                            buf[n] = r;
                            n += 1;
                        }
                    }
                    Err(_) => malformed += 1,
                }
            }
            fed += n as u64;
            n
        },
        |r: &Record| {
            if let Some(j) = journal.as_deref_mut() {
                j.append(r).expect("journal append failed");
            }
        },
        |r: &Record| {
            if r.kind >= tickforge_wire::Kind::Accepted as u8 {
                output_hash.write(r.without_stamps().as_bytes());
            }
        },
    );
    let run_seconds = started.elapsed().as_secs_f64();
    let stats = report.engine.stats();
    Ok(ReplaySummary {
        capture: path.display().to_string(),
        format: capture.format.name(),
        messages: read,
        records: fed,
        malformed: malformed + messages.errors,
        instruments: instruments.len(),
        books: report.engine.book_count(),
        resting_orders: report.engine.order_count(),
        fills: stats.fills,
        unknown_refs: stats.unknown_refs,
        run_seconds,
        records_per_second: fed as f64 / run_seconds.max(1e-9),
        latency_mode: match config.rate {
            Some(r) => format!("paced at {r:.0} records/s: open-loop latency from each record's planned release time"),
            None => "max speed: per-stage service times, queueing included (not open-loop latency)".to_string(),
        },
        latency_ns: StageLatencies::of(&report.latencies),
        output_hash: format!("{:016x}", output_hash.finish()),
        state_hash: format!("{:016x}", report.engine.state_hash()),
        topology: config.topology.describe(),
    })
}

impl ReplaySummary {
    /// The terminal summary.
    pub fn to_text(&self) -> String {
        let row = |name: &str, p: &Percentiles| {
            format!("  {name:<11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11}\n", p.p50, p.p90, p.p99, p.p999, p.p9999, p.max)
        };
        let l = &self.latency_ns;
        format!(
            "capture      {} ({})\nmessages     {} read, {} book records, {} malformed\ninstruments  {} ({} books with orders, {} orders resting)\nfills        {}\nunknown refs {}\nrun time     {:.3} s, {:.0} records/s\ntopology     {}\n\nlatency (ns) {}\n  stage             p50       p90       p99     p99.9    p99.99         max\n{}{}{}{}\noutput hash  {}\nstate hash   {}\n",
            self.capture,
            self.format,
            self.messages,
            self.records,
            self.malformed,
            self.instruments,
            self.books,
            self.resting_orders,
            self.fills,
            self.unknown_refs,
            self.run_seconds,
            self.records_per_second,
            self.topology,
            self.latency_mode,
            row("feed", &l.feed),
            row("matching", &l.matching),
            row("gateway", &l.gateway),
            row("end to end", &l.end_to_end),
            self.output_hash,
            self.state_hash
        )
    }
}
