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
//!   followed by the engine's outputs, all carrying the input's stamps and `tsc_match`, the
//!   time the batch they belong to was finished (read once per batch: no record of a batch
//!   leaves the stage before the whole batch is published).
//! - **gateway** records the per-stage latencies of every echo and passes every record to the
//!   sink closure. Echoes of one batch mostly share their stamps, so equal consecutive samples
//!   go into the histograms as one counted sample (the same histogram, less work).
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
//! Stage stamps are the low 32 bits of the TSC (quanta's raw clock), read once per batch per
//! stage (a clock read costs tens of nanoseconds on this class of machine, more than the
//! book work of a record); latencies are wrapping differences converted to nanoseconds with quanta's calibration
//! (see `wire::record`).

mod stages;
pub mod topology;

use crate::book::Engine;
use crate::ring::{ring, Consumer, Producer};
use crate::wait::Waiter;
use hdrhistogram::Histogram;
use quanta::Clock;
use stages::{stamp, Feed, Gateway, Poll};
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

    /// Histogram `k` of [`Latencies::named`]'s order.
    #[inline]
    pub(crate) fn by_index(&mut self, k: usize) -> &mut Histogram<u64> {
        match k {
            0 => &mut self.feed,
            1 => &mut self.matching,
            2 => &mut self.gateway,
            _ => &mut self.end_to_end,
        }
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

/// Pushes all of `batch`, waiting while the ring is full; counts the time blocked.
fn push_all(
    p: &mut Producer<Record>,
    batch: &[Record],
    tsc_match: u32,
    waiter: &mut Waiter,
    clock: &Clock,
    stats: &mut StageStats,
) {
    // Each record is stamped as it is copied into its slot: one pass over the batch, not two.
    let stamped = |r: &Record| Record { tsc_match, ..*r };
    let mut sent = p.push_with(batch.len(), |k| stamped(&batch[k]));
    if sent < batch.len() {
        stats.blocked += 1;
        let start = clock.raw();
        while sent < batch.len() {
            waiter.wait();
            let rest = &batch[sent..];
            sent += p.push_with(rest.len(), |k| stamped(&rest[k]));
        }
        stats.blocked_ns += clock.delta_as_nanos(start, clock.raw());
        waiter.reset();
    }
    stats.records += batch.len() as u64;
}

/// How the feed and gateway stages run.
enum Io<'scope, B, F, G> {
    /// One thread, both stages.
    Combined(std::thread::ScopedJoinHandle<'scope, B>),
    /// A thread each.
    Separate(std::thread::ScopedJoinHandle<'scope, F>, std::thread::ScopedJoinHandle<'scope, G>),
}

/// Spawns a thread that pins itself and polls `stage` until it is done, waiting per `place`.
fn spawn_polling<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    place: topology::Placement,
    mut stage: T,
    mut poll: impl FnMut(&mut T) -> Poll + Send + 'scope,
    stats: impl FnOnce(T) -> StageStats + Send + 'scope,
) -> std::thread::ScopedJoinHandle<'scope, StageStats> {
    scope.spawn(move || {
        let pinned = pin(place.core);
        let mut waiter = Waiter::new(place.wait);
        loop {
            match poll(&mut stage) {
                Poll::Busy => waiter.reset(),
                Poll::Idle => waiter.wait(),
                Poll::Done => break,
            }
        }
        StageStats { pinned, ..stats(stage) }
    })
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
    source: impl FnMut(&mut [Record]) -> usize + Send,
    mut journal: impl FnMut(&Record) + Send,
    sink: impl FnMut(&Record) + Send,
    mut on_interval: impl FnMut(&Interval),
) -> PipelineReport {
    let clock = Clock::new();
    let run_start = clock.raw();
    let batch = config.batch.max(1);
    let (in_p, mut in_c): (Producer<Record>, Consumer<Record>) = ring(config.ring_capacity);
    let (mut out_p, out_c): (Producer<Record>, Consumer<Record>) = ring(config.ring_capacity);
    let topo = config.topology;

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
        let feed = Feed::new(source, in_p, clock.clone(), pacing, ticks_per_second, batch);
        let gateway = Gateway::new(sink, out_c, clock.clone(), batch * 8, run_start, interval_ticks, full_tx, spare_rx);
        // Feed and gateway run as one I/O thread when they share a core (see `stages`).
        let io = if topo.combined_io {
            let place = topo.of(Stage::Feed);
            let both = scope.spawn(move || {
                let pinned = pin(place.core);
                let (mut feed, mut gateway) = (feed, gateway);
                let mut waiter = Waiter::new(place.wait);
                loop {
                    let f = feed.poll();
                    let g = gateway.poll();
                    match (f, g) {
                        (Poll::Done, Poll::Done) => break,
                        (Poll::Busy, _) | (_, Poll::Busy) => waiter.reset(),
                        _ => waiter.wait(),
                    }
                }
                let (mut f, mut g) = (feed.stats, gateway.stats);
                (f.pinned, g.pinned) = (pinned, pinned);
                (f, g)
            });
            Io::Combined(both)
        } else {
            let feed = spawn_polling(scope, topo.of(Stage::Feed), feed, |f| f.poll(), |f| f.stats);
            let gateway = spawn_polling(scope, topo.of(Stage::Gateway), gateway, |g| g.poll(), |g| g.stats);
            Io::Separate(feed, gateway)
        };

        let match_clock = clock.clone();
        let matching = scope.spawn(move || {
            let mut stats = StageStats { pinned: pin(topo.of(Stage::Matching).core), ..StageStats::default() };
            let mut waiter = Waiter::new(topo.of(Stage::Matching).wait);
            let mut push_waiter = Waiter::new(topo.of(Stage::Matching).wait);
            let mut outputs: Vec<Record> = Vec::with_capacity(batch * 8);
            let mut seq = config.first_seq.saturating_sub(1);
            let mut output_count = 0u64;
            loop {
                outputs.clear();
                // Each input is read straight out of its ring slot (no copy into a batch
                // buffer first); the slots are released together after the batch.
                let n = in_c.pop_with(batch, |input| {
                    seq += 1;
                    // The echo goes first, copied from the slot as it is; then its sequence
                    // number. The engine reads the input itself (it never looks at `seq`), so
                    // no sequenced copy is made: building one on the stack (`seq` stored alone,
                    // the rest in 16-byte pieces offset by 8) and reading it back 16 bytes at
                    // a time stalled store forwarding on every record (`perf annotate`).
                    let echo = outputs.len();
                    outputs.push(input);
                    outputs[echo].seq = seq;
                    journal(&outputs[echo]);
                    engine.apply(&input, &mut outputs);
                    output_count += (outputs.len() - echo - 1) as u64;
                    for o in &mut outputs[echo + 1..] {
                        o.seq = seq;
                        o.tsc_recv = input.tsc_recv;
                        o.tsc_feed = input.tsc_feed;
                    }
                });
                if n == 0 {
                    if in_c.is_finished() {
                        break;
                    }
                    waiter.wait();
                    continue;
                }
                waiter.reset();
                // One clock read per batch: nothing of the batch leaves before the whole batch
                // is published, so its end is each record's true time of leaving this stage.
                let done = stamp(&match_clock);
                push_all(&mut out_p, &outputs, done, &mut push_waiter, &match_clock, &mut stats);
            }
            drop(out_p);
            (stats, engine, output_count, seq)
        });

        // This thread collects the intervals until the gateway finishes.
        let mut latencies = Latencies::new();
        for mut interval in full_rx {
            on_interval(&interval);
            latencies.add(&interval.latencies);
            interval.latencies.reset();
            let _ = spare_tx.send(interval.latencies);
        }

        let (match_stats, engine, outputs, last_seq) = matching.join().expect("matching stage panicked");
        let (feed_stats, gw_stats) = match io {
            Io::Combined(both) => both.join().expect("feed/gateway thread panicked"),
            Io::Separate(feed, gateway) => {
                (feed.join().expect("feed stage panicked"), gateway.join().expect("gateway stage panicked"))
            }
        };
        PipelineReport { engine, stages: [feed_stats, match_stats, gw_stats], latencies, outputs, last_seq }
    })
}
