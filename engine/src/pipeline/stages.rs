//! The feed and gateway stages as non-blocking state machines.
//!
//! Each `poll` does whatever work is ready and returns at once, never waiting: the caller
//! decides how to wait. That lets one thread run a stage alone (poll, wait when idle), or run
//! the feed and the gateway together on one core (poll one, poll the other): on a two-core
//! machine that single I/O thread busy-spins on core 0 while matching busy-spins on core 1,
//! instead of two threads handing core 0 to each other with `sched_yield` (which costs
//! microseconds per handoff and, under load, milliseconds of queueing).
//!
//! Because a poll never blocks, the feed keeps a partly pushed batch and finishes it on later
//! polls; the time its output ring stays full is counted as back-pressure (one clock read when
//! a block starts and one when it ends).

use super::{Interval, Latencies, Pacing, StageStats};
use crate::ring::{Consumer, Producer};
use quanta::Clock;
use std::sync::mpsc::{Receiver, Sender};
use tickforge_wire::Record;

/// What a poll did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Poll {
    /// Moved at least one record.
    Busy,
    /// Nothing ready.
    Idle,
    /// Finished for good.
    Done,
}

/// Low 32 bits of the raw TSC.
#[inline]
pub(crate) fn stamp(clock: &Clock) -> u32 {
    clock.raw() as u32
}

/// Counts one spell of a full output ring.
#[derive(Debug, Default)]
pub(crate) struct Blocked {
    since: Option<u64>,
}

impl Blocked {
    #[inline]
    pub(crate) fn full(&mut self, clock: &Clock, stats: &mut StageStats) {
        if self.since.is_none() {
            stats.blocked += 1;
            self.since = Some(clock.raw());
        }
    }

    #[inline]
    pub(crate) fn moving(&mut self, clock: &Clock, stats: &mut StageStats) {
        if let Some(start) = self.since.take() {
            stats.blocked_ns += clock.delta_as_nanos(start, clock.raw());
        }
    }
}

/// The feed: pulls batches from the source, plans (when paced) and stamps them, publishes them.
pub(crate) struct Feed<S> {
    source: S,
    out: Option<Producer<Record>>,
    clock: Clock,
    pacing: Pacing,
    ticks_per_second: f64,
    buf: Vec<Record>,
    /// Planned release of each buffered record, ticks after `start` (paced runs).
    due: Vec<u64>,
    len: usize,
    next: usize,
    start: u64,
    planned: u64,
    first_event: Option<u64>,
    last_due: u64,
    exhausted: bool,
    blocked: Blocked,
    pub(crate) stats: StageStats,
}

impl<S: FnMut(&mut [Record]) -> usize> Feed<S> {
    pub(crate) fn new(
        source: S,
        out: Producer<Record>,
        clock: Clock,
        pacing: Pacing,
        ticks_per_second: f64,
        batch: usize,
    ) -> Self {
        Feed {
            source,
            out: Some(out),
            clock,
            pacing,
            ticks_per_second,
            buf: vec![Record::default(); batch],
            due: vec![0; batch],
            len: 0,
            next: 0,
            start: 0,
            planned: 0,
            first_event: None,
            last_due: 0,
            exhausted: false,
            blocked: Blocked::default(),
            stats: StageStats::default(),
        }
    }

    /// Takes the next batch from the source and plans it.
    fn refill(&mut self) {
        let n = (self.source)(&mut self.buf);
        self.len = n;
        self.next = 0;
        if n == 0 {
            self.exhausted = true;
            return;
        }
        if !self.pacing.is_paced() {
            let recv = stamp(&self.clock);
            for r in &mut self.buf[..n] {
                if r.tsc_recv == 0 {
                    r.tsc_recv = recv;
                }
            }
            return;
        }
        if self.start == 0 {
            self.start = self.clock.raw();
        }
        let tps = self.ticks_per_second;
        for (i, r) in self.buf[..n].iter().enumerate() {
            let planned = match self.pacing {
                Pacing::Rate(rate) => ((self.planned + i as u64) as f64 * tps / rate) as u64,
                Pacing::EventTime { speed } => {
                    let first = *self.first_event.get_or_insert(r.ts_event);
                    (r.ts_event.saturating_sub(first) as f64 / 1e9 * tps / speed) as u64
                }
                Pacing::Max => 0,
            };
            // Never earlier than the record before (event times may step back).
            self.last_due = self.last_due.max(planned);
            self.due[i] = self.last_due;
        }
        self.planned += n as u64;
    }

    /// Publishes what is due; never waits.
    #[inline]
    pub(crate) fn poll(&mut self) -> Poll {
        if self.next == self.len {
            if self.exhausted {
                if self.out.take().is_some() {
                    // Dropping the producer closes the inbound ring.
                    self.blocked.moving(&self.clock, &mut self.stats);
                }
                return Poll::Done;
            }
            self.refill();
            if self.len == 0 {
                return Poll::Busy; // the next poll closes the ring
            }
        }
        let (from, to) = (self.next, self.len);
        let m = if self.pacing.is_paced() {
            // Open loop: each record goes at its planned time whatever happened to the records
            // before it; a stall downstream makes the next ones late, and their latency counts
            // from when they were due.
            let elapsed = self.clock.raw().wrapping_sub(self.start);
            let m = self.due[from..to].iter().take_while(|d| **d <= elapsed).count();
            for (r, d) in self.buf[from..from + m].iter_mut().zip(&self.due[from..from + m]) {
                r.tsc_recv = self.start.wrapping_add(*d) as u32;
            }
            m
        } else {
            to - from
        };
        if m == 0 {
            return Poll::Idle;
        }
        let left = stamp(&self.clock);
        let out = self.out.as_mut().expect("the ring is open until the source is exhausted");
        // Stamped as they are copied into their slots: one pass, and only over the records
        // that fit (a full ring used to have the same records stamped again on every poll).
        let waiting = &self.buf[from..from + m];
        let sent = out.push_with(m, |k| Record { tsc_feed: left, ..waiting[k] });
        if sent < m {
            self.blocked.full(&self.clock, &mut self.stats);
        } else {
            self.blocked.moving(&self.clock, &mut self.stats);
        }
        self.next += sent;
        self.stats.records += sent as u64;
        if sent == 0 {
            Poll::Idle
        } else {
            Poll::Busy
        }
    }
}

/// The gateway: takes every record the matching stage publishes, measures the echoes, passes
/// everything to the sink, and hands full latency intervals to the collecting thread.
pub(crate) struct Gateway<K> {
    sink: K,
    input: Consumer<Record>,
    clock: Clock,
    /// Most records taken per poll.
    batch: usize,
    lat: Latencies,
    run_start: u64,
    interval_start: u64,
    interval_ticks: u64,
    full: Sender<Interval>,
    spare: Receiver<Latencies>,
    done: bool,
    pub(crate) stats: StageStats,
}

impl<K: FnMut(&Record)> Gateway<K> {
    #[allow(clippy::too_many_arguments, reason = "internal constructor, one call site")]
    pub(crate) fn new(
        sink: K,
        input: Consumer<Record>,
        clock: Clock,
        batch: usize,
        run_start: u64,
        interval_ticks: u64,
        full: Sender<Interval>,
        spare: Receiver<Latencies>,
    ) -> Self {
        Gateway {
            sink,
            input,
            clock,
            batch,
            lat: Latencies::new(),
            run_start,
            interval_start: run_start,
            interval_ticks,
            full,
            spare,
            done: false,
            stats: StageStats::default(),
        }
    }

    fn send(&mut self, lat: Latencies, end: u64) {
        let ns = |t: u64| self.clock.delta_as_nanos(self.run_start, t);
        let interval = Interval { start_ns: ns(self.interval_start), end_ns: ns(end), latencies: lat };
        // The receiver lives until the pipeline's threads are joined.
        let _ = self.full.send(interval);
        self.interval_start = end;
    }

    /// Takes what is there; never waits.
    #[inline]
    pub(crate) fn poll(&mut self) -> Poll {
        if self.done {
            return Poll::Done;
        }
        let n = self.input.ready().min(self.batch);
        if n == 0 {
            if self.input.is_finished() {
                let lat = std::mem::take(&mut self.lat);
                self.send(lat, self.clock.raw());
                self.done = true;
                return Poll::Done;
            }
            return Poll::Idle;
        }
        // One clock read per batch, after seeing it published, so `now` is later than every
        // stamp in it.
        let now_raw = self.clock.raw();
        if now_raw.wrapping_sub(self.interval_start) >= self.interval_ticks {
            let spare = self.spare.try_recv().unwrap_or_default();
            let full = std::mem::replace(&mut self.lat, spare);
            self.send(full, now_raw);
        }
        let now = now_raw as u32;
        let clock = &self.clock;
        // Stamps from different cores may be a few ticks out of step (TSC skew): a "negative"
        // difference is a zero-length hop, not a 2^32-tick (two-second) one.
        let ns = |ticks: u32| {
            if ticks > i32::MAX as u32 {
                1
            } else {
                clock.delta_as_nanos(0, u64::from(ticks)).max(1)
            }
        };
        let lat = &mut self.lat;
        let sink = &mut self.sink;
        let mut runs = [Run::default(); 4];
        // Straight out of the ring slots (no copy into a buffer first).
        let taken = self.input.pop_with(n, |r| {
            if r.kind < tickforge_wire::Kind::Accepted as u8 {
                // An echo: one per input record.
                let hops = [(r.tsc_feed, r.tsc_recv), (r.tsc_match, r.tsc_feed), (now, r.tsc_match), (now, r.tsc_recv)];
                for (k, (run, (later, earlier))) in runs.iter_mut().zip(hops).enumerate() {
                    run.add(later.wrapping_sub(earlier), |ticks, count| {
                        let _ = lat.by_index(k).record_n(ns(ticks), count);
                    });
                }
            }
            sink(&r);
        });
        for (k, run) in runs.iter_mut().enumerate() {
            run.flush(|ticks, count| {
                let _ = lat.by_index(k).record_n(ns(ticks), count);
            });
        }
        debug_assert_eq!(taken, n, "records counted ready are there to take");
        self.stats.records += taken as u64;
        Poll::Busy
    }
}

/// Equal consecutive samples of one histogram, recorded as one `record_n`.
///
/// Stamps are taken once per batch (the matching stage's `tsc_match`, the gateway's `now`,
/// and at full speed the feed's too), so consecutive echoes mostly carry the same tick
/// differences: counting them and recording each run once gives the same histogram as one
/// `record` per echo, for a fraction of the work (the histogram was a quarter of the I/O
/// thread's time at full speed).
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    ticks: u32,
    count: u64,
}

impl Run {
    #[inline(always)]
    fn add(&mut self, ticks: u32, mut record: impl FnMut(u32, u64)) {
        if self.count > 0 && ticks == self.ticks {
            self.count += 1;
        } else {
            self.flush(&mut record);
            *self = Run { ticks, count: 1 };
        }
    }

    #[inline]
    fn flush(&mut self, mut record: impl FnMut(u32, u64)) {
        if self.count > 0 {
            record(self.ticks, self.count);
            self.count = 0;
        }
    }
}

#[cfg(test)]
mod run_tests {
    use super::Run;
    use proptest::prelude::*;

    proptest! {
        /// Recording runs gives the same counts per value as recording every sample.
        #[test]
        fn runs_count_every_sample(samples in proptest::collection::vec(0u32..4, 0..200)) {
            let mut by_run = std::collections::BTreeMap::new();
            let mut run = Run::default();
            let mut record = |ticks: u32, count: u64| *by_run.entry(ticks).or_insert(0u64) += count;
            for &s in &samples {
                run.add(s, &mut record);
            }
            run.flush(&mut record);
            let mut each = std::collections::BTreeMap::new();
            for &s in &samples {
                *each.entry(s).or_insert(0u64) += 1;
            }
            prop_assert_eq!(by_run, each);
        }
    }
}
