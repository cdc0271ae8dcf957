//! The pinned feed → matching → gateway pipeline.
//!
//! # Design
//!
//! Three threads, each pinned to a core per the [`Topology`], joined by two SPSC
//! [`ring`](crate::ring)s of 64-byte [`Record`]s:
//!
//! ```text
//!  source ─► [feed] ──inbound──► [matching: sequence, apply] ──outbound──► [gateway] ─► sink
//! ```
//!
//! - **feed** pulls batches from the source closure, stamps `tsc_recv` (unless the source set it:
//!   a paced replay puts the planned release time there) and `tsc_feed`, and publishes them.
//! - **matching** is the sequencer: it stamps each inbound record with the next sequence number,
//!   hands it to the optional journal hook, applies it to the [`Engine`], and publishes the
//!   stamped input itself (the *echo*: proof it was processed, and what latency is measured on)
//!   followed by the engine's outputs, all carrying the input's stamps and `tsc_match`.
//! - **gateway** records the per-stage latencies of every echo and passes every record to the
//!   sink closure.
//!
//! Back-pressure: a full ring blocks its producer (nothing is dropped or overwritten); the time a
//! stage spends blocked is counted (one clock read when a block starts and one when it ends, none
//! per record otherwise). Shutdown: when the source is exhausted the feed closes its ring; each
//! stage drains its input completely before closing its own output, so every record published
//! before shutdown is processed.
//!
//! # Pacing
//!
//! With `rate` set, the feed releases record *i* at `start + i / rate` (planned in TSC ticks)
//! and stamps that planned time as the record's receive time, whatever happened to the records
//! before it: a stall anywhere downstream makes every record due during it late, and its
//! latency counts from when it was due (the open-loop method; no coordinated omission).
//!
//! # Stamps
//!
//! Stage stamps are the low 32 bits of the TSC (quanta's raw clock), set once per record per
//! stage; latencies are wrapping differences converted to nanoseconds with quanta's calibration
//! (see `wire::record`).

pub mod topology;

use crate::book::Engine;
use crate::ring::{ring, Consumer, Producer};
use crate::wait::Waiter;
use hdrhistogram::Histogram;
use quanta::Clock;
use tickforge_wire::Record;
pub use topology::{Stage, Topology};

/// Settings of a pipeline run.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Where each stage runs and how it waits.
    pub topology: Topology,
    /// Slots in each ring (rounded up to a power of two).
    pub ring_capacity: usize,
    /// Most records a stage moves per batch.
    pub batch: usize,
    /// Sequence number of the first input (a restart continues from the journal's next).
    pub first_seq: u64,
    /// Release inputs at this many records per second (open loop: each record's latency is
    /// measured from its planned release time); `None` releases them as fast as they come.
    pub rate: Option<f64>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            topology: Topology::default_here(),
            ring_capacity: 1 << 14,
            batch: 256,
            first_seq: 1,
            rate: None,
        }
    }
}

/// What one stage did.
#[derive(Debug, Clone, Default)]
pub struct StageStats {
    /// Records it published.
    pub records: u64,
    /// Times its output ring was full.
    pub blocked: u64,
    /// Nanoseconds it spent waiting on a full output ring.
    pub blocked_ns: u64,
    /// Whether pinning to its core succeeded (false also when not pinned).
    pub pinned: bool,
}

/// Latency histograms in nanoseconds, one per stage hop and end to end.
#[derive(Debug, Clone)]
pub struct Latencies {
    /// Receive (or planned release) to leaving the feed.
    pub feed: Histogram<u64>,
    /// Leaving the feed to the matching stage finishing the record.
    pub matching: Histogram<u64>,
    /// Matching finished to the gateway taking the record.
    pub gateway: Histogram<u64>,
    /// Receive (or planned release) to the gateway.
    pub end_to_end: Histogram<u64>,
}

impl Latencies {
    fn new() -> Latencies {
        // 1 ns to 60 s with 3 significant digits: fixed size, no allocation when recording.
        let h = || Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds");
        Latencies { feed: h(), matching: h(), gateway: h(), end_to_end: h() }
    }
}

/// The outcome of a run.
#[derive(Debug)]
pub struct PipelineReport {
    /// The engine, with the state the run left it in.
    pub engine: Engine,
    /// Per-stage counters, indexed by `Stage as usize`.
    pub stages: [StageStats; 3],
    /// Latencies measured at the gateway on every echo.
    pub latencies: Latencies,
    /// Records the engine produced (not counting echoes).
    pub outputs: u64,
    /// Last sequence number stamped.
    pub last_seq: u64,
}

fn pin(core: Option<usize>) -> bool {
    match core {
        Some(id) => core_affinity::set_for_current(core_affinity::CoreId { id }),
        None => false,
    }
}

/// Low 32 bits of the raw TSC.
#[inline]
fn stamp(clock: &Clock) -> u32 {
    clock.raw() as u32
}

/// Pushes all of `batch`, waiting while the ring is full; counts the time blocked.
fn push_all(p: &mut Producer<Record>, batch: &[Record], waiter: &mut Waiter, clock: &Clock, stats: &mut StageStats) {
    let mut sent = p.push_slice(batch);
    if sent < batch.len() {
        stats.blocked += 1;
        let start = clock.raw();
        while sent < batch.len() {
            waiter.wait();
            sent += p.push_slice(&batch[sent..]);
        }
        stats.blocked_ns += clock.delta_as_nanos(start, clock.raw());
        waiter.reset();
    }
    stats.records += batch.len() as u64;
}

/// Runs `source` through the engine and delivers every echo and output to `sink`.
///
/// `source` fills the slice it is given with records and returns how many (0 when exhausted).
/// `journal` sees every input after sequencing, before it is applied. `sink` sees every record
/// the gateway takes, echoes (input kinds) and outputs alike, in order.
pub fn run(
    config: &PipelineConfig,
    mut engine: Engine,
    mut source: impl FnMut(&mut [Record]) -> usize + Send,
    mut journal: impl FnMut(&Record) + Send,
    mut sink: impl FnMut(&Record) + Send,
) -> PipelineReport {
    let clock = Clock::new();
    let batch = config.batch.max(1);
    let (mut in_p, mut in_c): (Producer<Record>, Consumer<Record>) = ring(config.ring_capacity);
    let (mut out_p, mut out_c): (Producer<Record>, Consumer<Record>) = ring(config.ring_capacity);
    let topo = config.topology;
    let tick_ns = {
        // ns per tick, for converting the 32-bit stamp differences.
        let c = clock.clone();
        move |ticks: u32| c.delta_as_nanos(0, u64::from(ticks))
    };

    // Paced runs plan release times in TSC ticks: calibrate ticks per second once.
    let ticks_per_record = config.rate.filter(|r| *r > 0.0).map(|rate| {
        let (r0, t0) = (clock.raw(), std::time::Instant::now());
        std::thread::sleep(std::time::Duration::from_millis(20));
        let (r1, t1) = (clock.raw(), t0.elapsed());
        (r1.wrapping_sub(r0)) as f64 / t1.as_secs_f64() / rate
    });

    std::thread::scope(|scope| {
        let feed_clock = clock.clone();
        let feed = scope.spawn(move || {
            let mut stats = StageStats { pinned: pin(topo.of(Stage::Feed).core), ..StageStats::default() };
            let mut waiter = Waiter::new(topo.of(Stage::Feed).wait);
            let mut buf = vec![Record::default(); batch];
            let mut pace = Waiter::new(topo.of(Stage::Feed).wait);
            let (mut start, mut released) = (0u64, 0u64);
            loop {
                let n = source(&mut buf);
                if n == 0 {
                    break;
                }
                if let Some(tpr) = ticks_per_record {
                    // Open loop: record i is due at start + i * period whatever happened to the
                    // records before it; a stall downstream makes the next ones late, and their
                    // latency counts from when they were due.
                    if start == 0 {
                        start = feed_clock.raw();
                    }
                    let mut k = 0;
                    while k < n {
                        let now = feed_clock.raw();
                        let due = (now.wrapping_sub(start) as f64 / tpr) as u64 + 1;
                        if due <= released {
                            pace.wait();
                            continue;
                        }
                        pace.reset();
                        let m = ((due - released) as usize).min(n - k);
                        for (j, r) in buf[k..k + m].iter_mut().enumerate() {
                            r.tsc_recv = (start + ((released + j as u64) as f64 * tpr) as u64) as u32;
                        }
                        let left = stamp(&feed_clock);
                        for r in &mut buf[k..k + m] {
                            r.tsc_feed = left;
                        }
                        push_all(&mut in_p, &buf[k..k + m], &mut waiter, &feed_clock, &mut stats);
                        released += m as u64;
                        k += m;
                    }
                    continue;
                }
                let recv = stamp(&feed_clock);
                for r in &mut buf[..n] {
                    if r.tsc_recv == 0 {
                        r.tsc_recv = recv;
                    }
                }
                let left = stamp(&feed_clock);
                for r in &mut buf[..n] {
                    r.tsc_feed = left;
                }
                push_all(&mut in_p, &buf[..n], &mut waiter, &feed_clock, &mut stats);
            }
            drop(in_p); // closes the inbound ring
            stats
        });

        let match_clock = clock.clone();
        let matching = scope.spawn(move || {
            let mut stats = StageStats { pinned: pin(topo.of(Stage::Matching).core), ..StageStats::default() };
            let mut waiter = Waiter::new(topo.of(Stage::Matching).wait);
            let mut push_waiter = Waiter::new(topo.of(Stage::Matching).wait);
            let mut inbox = vec![Record::default(); batch];
            let mut outputs: Vec<Record> = Vec::with_capacity(batch * 8);
            let mut seq = config.first_seq.saturating_sub(1);
            let mut output_count = 0u64;
            loop {
                let n = in_c.pop_slice(&mut inbox);
                if n == 0 {
                    if in_c.is_finished() {
                        break;
                    }
                    waiter.wait();
                    continue;
                }
                waiter.reset();
                outputs.clear();
                for r in &mut inbox[..n] {
                    seq += 1;
                    r.seq = seq;
                    journal(r);
                    // The echo goes first; the engine appends its outputs right after it, and
                    // all of them get the input's stamps (no intermediate copy).
                    let echo = outputs.len();
                    outputs.push(*r);
                    engine.apply(r, &mut outputs);
                    let done = stamp(&match_clock);
                    output_count += (outputs.len() - echo - 1) as u64;
                    for o in &mut outputs[echo..] {
                        o.seq = seq;
                        o.tsc_recv = r.tsc_recv;
                        o.tsc_feed = r.tsc_feed;
                        o.tsc_match = done;
                    }
                }
                push_all(&mut out_p, &outputs, &mut push_waiter, &match_clock, &mut stats);
            }
            drop(out_p);
            (stats, engine, output_count, seq)
        });

        let gw_clock = clock.clone();
        let gateway = scope.spawn(move || {
            let mut stats = StageStats { pinned: pin(topo.of(Stage::Gateway).core), ..StageStats::default() };
            let mut waiter = Waiter::new(topo.of(Stage::Gateway).wait);
            let mut lat = Latencies::new();
            let mut inbox = vec![Record::default(); batch * 8];
            loop {
                let n = out_c.pop_slice(&mut inbox);
                if n == 0 {
                    if out_c.is_finished() {
                        break;
                    }
                    waiter.wait();
                    continue;
                }
                waiter.reset();
                // One clock read per batch, after taking it, so `now` is later than every stamp
                // in it.
                let now = stamp(&gw_clock);
                for r in &inbox[..n] {
                    if r.kind < tickforge_wire::Kind::Accepted as u8 {
                        // An echo: one per input record.
                        let _ = lat.feed.record(tick_ns(r.tsc_feed.wrapping_sub(r.tsc_recv)).max(1));
                        let _ = lat.matching.record(tick_ns(r.tsc_match.wrapping_sub(r.tsc_feed)).max(1));
                        let _ = lat.gateway.record(tick_ns(now.wrapping_sub(r.tsc_match)).max(1));
                        let _ = lat.end_to_end.record(tick_ns(now.wrapping_sub(r.tsc_recv)).max(1));
                    }
                    sink(r);
                }
                stats.records += n as u64;
            }
            (stats, lat)
        });

        let feed_stats = feed.join().expect("feed stage panicked");
        let (match_stats, engine, outputs, last_seq) = matching.join().expect("matching stage panicked");
        let (gw_stats, latencies) = gateway.join().expect("gateway stage panicked");
        PipelineReport { engine, stages: [feed_stats, match_stats, gw_stats], latencies, outputs, last_seq }
    })
}
