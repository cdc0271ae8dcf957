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
//! With [`Pacing::Rate`], the feed releases record *i* at `start + i / rate`; with
//! [`Pacing::EventTime`], at `start + (ts_event - first ts_event) / speed` (the capture's own
//! rhythm, sped up or slowed down). Release times are planned in TSC ticks and stamped as the
//! record's receive time, whatever happened to the records before it: a stall anywhere
//! downstream makes every record due during it late, and its latency counts from when it was
//! due (the open-loop method; no coordinated omission).
//!
//! # Intervals
//!
//! The gateway records latencies into one set of histograms per interval
//! ([`PipelineConfig::interval`]). At an interval's end (checked with the clock read it already
//! makes once per batch) it swaps in a spare set and sends the full one to the thread that
//! called [`run_with_intervals`], which hands it to the caller (an HdrHistogram interval log,
//! latency over time), adds it to the run's totals, resets it and sends it back for reuse:
//! the recorder swap of HdrHistogram's own `Recorder`, with no allocation in steady state and no
//! histogram work on the gateway beyond one `record` per stage per record.
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
    /// When inputs are released (open loop when paced).
    pub pacing: Pacing,
    /// Length of one latency interval (see the module docs); `None`: one interval for the run.
    pub interval: Option<std::time::Duration>,
}

/// When the feed releases records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// As fast as they come; latencies are service times, queueing included.
    Max,
    /// This many records per second, evenly spaced.
    Rate(f64),
    /// At the records' own event times (`ts_event`, nanoseconds), `speed` times faster than
    /// recorded (1.0: real time).
    EventTime {
        /// Speed-up over the recorded pace.
        speed: f64,
    },
}

impl Pacing {
    /// Whether records are released on a schedule (and latency is open loop).
    pub fn is_paced(&self) -> bool {
        !matches!(self, Pacing::Max)
    }

    /// How the CLI and reports describe it.
    pub fn describe(&self) -> String {
        match self {
            Pacing::Max => "max speed".to_string(),
            Pacing::Rate(r) => format!("paced at {r:.0} records/s"),
            Pacing::EventTime { speed } if *speed == 1.0 => "realtime (the capture's own timestamps)".to_string(),
            Pacing::EventTime { speed } => format!("{speed}x the capture's own timestamps"),
        }
    }
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            topology: Topology::default_here(),
            ring_capacity: 1 << 14,
            batch: 256,
            first_seq: 1,
            pacing: Pacing::Max,
            interval: None,
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
    /// Empty histograms, 1 ns to 60 s with 3 significant digits: fixed size, no allocation when
    /// recording.
    pub fn new() -> Latencies {
        let h = || Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds");
        Latencies { feed: h(), matching: h(), gateway: h(), end_to_end: h() }
    }

    /// The four histograms with their stage names, in pipeline order.
    pub fn named(&self) -> [(&'static str, &Histogram<u64>); 4] {
        [
            ("feed", &self.feed),
            ("matching", &self.matching),
            ("gateway", &self.gateway),
            ("end_to_end", &self.end_to_end),
        ]
    }

    fn add(&mut self, other: &Latencies) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.feed.add(&other.feed);
        let _ = self.matching.add(&other.matching);
        let _ = self.gateway.add(&other.gateway);
        let _ = self.end_to_end.add(&other.end_to_end);
    }

    fn reset(&mut self) {
        self.feed.reset();
        self.matching.reset();
        self.gateway.reset();
        self.end_to_end.reset();
    }
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies::new()
    }
}

/// The latencies of one interval of a run.
#[derive(Debug)]
pub struct Interval {
    /// Start, nanoseconds since the run started.
    pub start_ns: u64,
    /// End, nanoseconds since the run started.
    pub end_ns: u64,
    /// What the gateway recorded during it.
    pub latencies: Latencies,
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
    engine: Engine,
    source: impl FnMut(&mut [Record]) -> usize + Send,
    journal: impl FnMut(&Record) + Send,
    sink: impl FnMut(&Record) + Send,
) -> PipelineReport {
    run_with_intervals(config, engine, source, journal, sink, |_| {})
}

/// [`run`], also handing each finished latency [`Interval`] to `on_interval`, on the calling
/// thread, in order.
pub fn run_with_intervals(
    config: &PipelineConfig,
    mut engine: Engine,
    mut source: impl FnMut(&mut [Record]) -> usize + Send,
    mut journal: impl FnMut(&Record) + Send,
    mut sink: impl FnMut(&Record) + Send,
    mut on_interval: impl FnMut(&Interval),
) -> PipelineReport {
    let clock = Clock::new();
    let run_start = clock.raw();
    let batch = config.batch.max(1);
    let (mut in_p, mut in_c): (Producer<Record>, Consumer<Record>) = ring(config.ring_capacity);
    let (mut out_p, mut out_c): (Producer<Record>, Consumer<Record>) = ring(config.ring_capacity);
    let topo = config.topology;
    let tick_ns = {
        // ns per tick, for converting the 32-bit stamp differences.
        let c = clock.clone();
        move |ticks: u32| c.delta_as_nanos(0, u64::from(ticks))
    };

    // Paced runs and intervals are planned in TSC ticks: calibrate ticks per second once.
    let ticks_per_second = {
        let (r0, t0) = (clock.raw(), std::time::Instant::now());
        std::thread::sleep(std::time::Duration::from_millis(20));
        let (r1, t1) = (clock.raw(), t0.elapsed());
        (r1.wrapping_sub(r0)) as f64 / t1.as_secs_f64()
    };
    let pacing = config.pacing;
    let interval_ticks = config.interval.map_or(u64::MAX, |d| (d.as_secs_f64() * ticks_per_second).max(1.0) as u64);
    let (full_tx, full_rx) = std::sync::mpsc::channel::<Interval>();
    let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Latencies>();

    std::thread::scope(|scope| {
        let feed_clock = clock.clone();
        let feed = scope.spawn(move || {
            let mut stats = StageStats { pinned: pin(topo.of(Stage::Feed).core), ..StageStats::default() };
            let mut waiter = Waiter::new(topo.of(Stage::Feed).wait);
            let mut buf = vec![Record::default(); batch];
            let mut pace = Waiter::new(topo.of(Stage::Feed).wait);
            // Planned release of each record of the batch, in ticks after `start`.
            let mut due = vec![0u64; batch];
            let (mut start, mut released, mut first_event) = (0u64, 0u64, None::<u64>);
            let mut last_due = 0u64;
            loop {
                let n = source(&mut buf);
                if n == 0 {
                    break;
                }
                if pacing.is_paced() {
                    if start == 0 {
                        start = feed_clock.raw();
                    }
                    for (i, r) in buf[..n].iter().enumerate() {
                        let planned = match pacing {
                            Pacing::Rate(rate) => ((released + i as u64) as f64 * ticks_per_second / rate) as u64,
                            Pacing::EventTime { speed } => {
                                let first = *first_event.get_or_insert(r.ts_event);
                                let ns = r.ts_event.saturating_sub(first) as f64;
                                (ns / 1e9 * ticks_per_second / speed) as u64
                            }
                            Pacing::Max => 0,
                        };
                        // Never earlier than the record before (event times may step back).
                        last_due = last_due.max(planned);
                        due[i] = last_due;
                    }
                    // Open loop: each record goes at its planned time whatever happened to the
                    // records before it; a stall downstream makes the next ones late, and their
                    // latency counts from when they were due.
                    let mut k = 0;
                    while k < n {
                        let elapsed = feed_clock.raw().wrapping_sub(start);
                        let m = due[k..n].iter().take_while(|d| **d <= elapsed).count();
                        if m == 0 {
                            pace.wait();
                            continue;
                        }
                        pace.reset();
                        for (r, d) in buf[k..k + m].iter_mut().zip(&due[k..k + m]) {
                            r.tsc_recv = start.wrapping_add(*d) as u32;
                        }
                        let left = stamp(&feed_clock);
                        for r in &mut buf[k..k + m] {
                            r.tsc_feed = left;
                        }
                        push_all(&mut in_p, &buf[k..k + m], &mut waiter, &feed_clock, &mut stats);
                        k += m;
                    }
                    released += n as u64;
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
            let mut interval_start = run_start;
            let mut inbox = vec![Record::default(); batch * 8];
            let send = |lat: Latencies, start: u64, end: u64| {
                let ns = |t: u64| gw_clock.delta_as_nanos(run_start, t);
                // The receiver lives until this thread is joined.
                let _ = full_tx.send(Interval { start_ns: ns(start), end_ns: ns(end), latencies: lat });
            };
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
                let now_raw = gw_clock.raw();
                if now_raw.wrapping_sub(interval_start) >= interval_ticks {
                    let spare = spare_rx.try_recv().unwrap_or_default();
                    send(std::mem::replace(&mut lat, spare), interval_start, now_raw);
                    interval_start = now_raw;
                }
                let now = now_raw as u32;
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
            send(lat, interval_start, gw_clock.raw());
            drop(full_tx);
            stats
        });

        // This thread collects the intervals until the gateway finishes.
        let mut latencies = Latencies::new();
        for mut interval in full_rx {
            on_interval(&interval);
            latencies.add(&interval.latencies);
            interval.latencies.reset();
            let _ = spare_tx.send(interval.latencies);
        }

        let feed_stats = feed.join().expect("feed stage panicked");
        let (match_stats, engine, outputs, last_seq) = matching.join().expect("matching stage panicked");
        let gw_stats = gateway.join().expect("gateway stage panicked");
        PipelineReport { engine, stages: [feed_stats, match_stats, gw_stats], latencies, outputs, last_seq }
    })
}
