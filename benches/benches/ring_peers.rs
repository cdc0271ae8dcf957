//! SPSC ring comparison in one process: tickforge's `engine::ring` against `rtrb` 0.4,
//! `crossbeam_queue::ArrayQueue` 0.3 and `disruptor` 4.4, moving `u64`s and 64-byte records
//! between two threads pinned to cores 0 and 1, both busy-spinning.
//!
//! - **throughput**: the producer sends N items one at a time (or in batches of 64 where the
//!   ring has a batch API); the consumer checks that every item arrives once and in order (the
//!   sum and the last value), and the clock stops when it has them all. Millions of items/s.
//! - **round trip**: one item at a time from thread A to B and straight back through a second
//!   ring; each round trip is timed with the TSC into an HdrHistogram (p50, p99, p99.9).
//!
//! Each figure is the median of `ROUNDS` (default 5) interleaved rounds. A line after the
//! throughput table gives tickforge's rate over rtrb's round by round (median, range, and in
//! how many rounds ours was ahead): a pair in one round shares the machine's state, which the
//! medians of separate columns do not.
//! `cargo bench -p tickforge-benches --bench ring_peers`; `QUICK=1` for a short run; `ONLY=c` runs
//! throughput column `c` alone (0 to 3, left to right); `SPIN_HINT=1` makes every loop pause
//! (`spin_loop`) after a failed push or pop, as the pipeline's busy-spin wait strategy does,
//! instead of re-polling at once; `SPIN_HINT=n` pauses `n` times (a back-off: fewer polls of
//! the other side's position while the ring is empty or full).

use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tickforge_benches::pingpong::{self, pin};
use tickforge_benches::{median, range};
use tickforge_wire::Record;

const BATCH: usize = 64;

/// Set from `SPIN_HINT`: every failed push or pop (ring full or empty) is followed by this
/// many `spin_loop`s, the pause hint of the pipeline's busy-spin wait strategy; 0, the loops
/// re-poll at once. Applies to every ring alike (the disruptor waits in its own `BusySpin`).
static SPIN_HINT: AtomicUsize = AtomicUsize::new(0);

/// What a harness loop does after a failed push or pop.
#[inline(always)]
fn idle() {
    for _ in 0..SPIN_HINT.load(Ordering::Relaxed) {
        std::hint::spin_loop();
    }
}

/// `r`, after [`idle`] if it is empty.
#[inline(always)]
fn polled<T>(r: Option<T>) -> Option<T> {
    if r.is_none() {
        idle();
    }
    r
}

/// `ok`, after [`idle`] if the push failed.
#[inline(always)]
fn pushed(ok: bool) -> bool {
    if !ok {
        idle();
    }
    ok
}

trait Item: tickforge_engine::ring::RingItem + 'static {
    fn make(i: u64) -> Self;
    fn value(&self) -> u64;
}
impl Item for u64 {
    fn make(i: u64) -> Self {
        i
    }
    fn value(&self) -> u64 {
        *self
    }
}
impl Item for Record {
    fn make(i: u64) -> Self {
        Record { seq: i, ..Record::default() }
    }
    fn value(&self) -> u64 {
        self.seq
    }
}

/// Runs producer and consumer on cores 0 and 1; returns the time until the consumer is done.
fn two_threads(producer: impl FnOnce() + Send, consumer: impl FnOnce() -> (u64, u64) + Send, n: u64) -> Duration {
    std::thread::scope(|s| {
        let start = Instant::now();
        let c = s.spawn(move || {
            pin(1);
            let r = consumer();
            (r, start.elapsed())
        });
        s.spawn(move || {
            pin(0);
            producer();
        });
        let ((count, sum), took) = c.join().unwrap();
        assert_eq!(count, n, "items lost or duplicated");
        assert_eq!(sum, n * (n - 1) / 2, "items corrupted");
        took
    })
}

fn tf_throughput<T: Item>(n: u64, batch: bool) -> Duration {
    let (mut p, mut c) = tickforge_engine::ring::ring::<T>(4096);
    two_threads(
        move || {
            let mut i = 0;
            if batch {
                while i < n {
                    let k = p.push_with((BATCH as u64).min(n - i) as usize, |k| T::make(i + k as u64));
                    if k == 0 {
                        idle();
                    }
                    i += k as u64;
                }
            } else {
                while i < n {
                    if p.push(T::make(i)).is_ok() {
                        i += 1;
                    } else {
                        idle();
                    }
                }
            }
        },
        move || {
            let (mut count, mut sum) = (0u64, 0u64);
            while count < n {
                if batch {
                    let got = c.pop_with(BATCH, |v| {
                        sum += v.value();
                        count += 1;
                    });
                    if got == 0 {
                        idle();
                    }
                } else if let Some(v) = c.pop() {
                    sum += v.value();
                    count += 1;
                } else {
                    idle();
                }
            }
            (count, sum)
        },
        n,
    )
}

fn rtrb_throughput<T: Item>(n: u64, batch: bool) -> Duration {
    let (mut p, mut c) = rtrb::RingBuffer::<T>::new(4096);
    two_threads(
        move || {
            let mut i = 0;
            if batch {
                while i < n {
                    let k = (BATCH as u64).min(n - i).min(p.slots() as u64) as usize;
                    if k > 0 {
                        let chunk = p.write_chunk_uninit(k).unwrap();
                        let start = i;
                        i += chunk.fill_from_iter((0..k as u64).map(|j| T::make(start + j))) as u64;
                    } else {
                        idle();
                    }
                }
            } else {
                while i < n {
                    if p.push(T::make(i)).is_ok() {
                        i += 1;
                    } else {
                        idle();
                    }
                }
            }
        },
        move || {
            let (mut count, mut sum) = (0u64, 0u64);
            while count < n {
                if batch {
                    let k = c.slots().min(BATCH);
                    if k > 0 {
                        for v in c.read_chunk(k).unwrap() {
                            sum += v.value();
                            count += 1;
                        }
                    } else {
                        idle();
                    }
                } else if let Ok(v) = c.pop() {
                    sum += v.value();
                    count += 1;
                } else {
                    idle();
                }
            }
            (count, sum)
        },
        n,
    )
}

fn arrayqueue_throughput<T: Item>(n: u64) -> Duration {
    let q = std::sync::Arc::new(crossbeam_queue::ArrayQueue::<T>::new(4096));
    let qc = q.clone();
    two_threads(
        move || {
            let mut i = 0;
            while i < n {
                if q.push(T::make(i)).is_ok() {
                    i += 1;
                } else {
                    idle();
                }
            }
        },
        move || {
            let (mut count, mut sum) = (0u64, 0u64);
            while count < n {
                if let Some(v) = qc.pop() {
                    sum += v.value();
                    count += 1;
                } else {
                    idle();
                }
            }
            (count, sum)
        },
        n,
    )
}

fn disruptor_throughput<T: Item + Default + Sync>(n: u64, batch: bool) -> Duration {
    use disruptor::{BusySpin, ProcessorSettings, Producer};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let done = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let d2 = done.clone();
    let mut count = 0u64;
    let mut sum = 0u64;
    let processor = move |e: &T, _seq: i64, end_of_batch: bool| {
        sum += e.value();
        count += 1;
        if end_of_batch || count == n {
            d2.0.store(count, Ordering::Release);
            d2.1.store(sum, Ordering::Release);
        }
    };
    std::thread::scope(|sc| {
        sc.spawn(move || {
            // Build (and pin its consumer to core 1) before this thread narrows its own affinity.
            let mut producer = disruptor::build_single_producer(4096, T::default, BusySpin)
                .pin_at_core(1)
                .handle_events_with(processor)
                .build();
            pin(0);
            let start = Instant::now();
            let mut i = 0;
            if batch {
                while i < n {
                    let k = (BATCH as u64).min(n - i) as usize;
                    let base = i;
                    producer.batch_publish(k, |iter| {
                        for (j, e) in iter.enumerate() {
                            *e = T::make(base + j as u64);
                        }
                    });
                    i += k as u64;
                }
            } else {
                while i < n {
                    producer.publish(|e| *e = T::make(i));
                    i += 1;
                }
            }
            while done.0.load(Ordering::Acquire) < n {
                core::hint::spin_loop();
            }
            let took = start.elapsed();
            assert_eq!(done.1.load(Ordering::Acquire), n * (n - 1) / 2);
            drop(producer);
            took
        })
        .join()
        .unwrap()
    })
}

/// Round trips through a pair of queues into an HdrHistogram (see `pingpong::round_trips`).
fn round_trips<AP, AC, BP, BC>(n: usize, a_push: AP, a_pop: AC, b_pop: BC, b_push: BP) -> Histogram<u64>
where
    AP: FnMut(u64) -> bool + Send,
    AC: FnMut() -> Option<u64> + Send,
    BP: FnMut(u64) -> bool + Send,
    BC: FnMut() -> Option<u64> + Send,
{
    let mut h = Histogram::new_with_bounds(1, 10_000_000_000, 3).expect("valid bounds");
    pingpong::round_trips(n, a_push, a_pop, b_pop, b_push, |ns| h.record(ns.max(1)).expect("in bounds"));
    h
}

fn round_trips_tf(n: usize) -> Histogram<u64> {
    let (mut ap, mut bc) = tickforge_engine::ring::ring::<u64>(64);
    let (mut bp, mut ac) = tickforge_engine::ring::ring::<u64>(64);
    round_trips(
        n,
        move |v| pushed(ap.push(v).is_ok()),
        move || polled(ac.pop()),
        move || polled(bc.pop()),
        move |v| pushed(bp.push(v).is_ok()),
    )
}

fn round_trips_rtrb(n: usize) -> Histogram<u64> {
    let (mut ap, mut bc) = rtrb::RingBuffer::<u64>::new(64);
    let (mut bp, mut ac) = rtrb::RingBuffer::<u64>::new(64);
    round_trips(
        n,
        move |v| pushed(ap.push(v).is_ok()),
        move || polled(ac.pop().ok()),
        move || polled(bc.pop().ok()),
        move |v| pushed(bp.push(v).is_ok()),
    )
}

fn round_trips_aq(n: usize) -> Histogram<u64> {
    let a = std::sync::Arc::new(crossbeam_queue::ArrayQueue::<u64>::new(64));
    let b = std::sync::Arc::new(crossbeam_queue::ArrayQueue::<u64>::new(64));
    let (a2, b2) = (a.clone(), b.clone());
    round_trips(
        n,
        move |v| pushed(a.push(v).is_ok()),
        move || polled(b.pop()),
        move || polled(a2.pop()),
        move |v| pushed(b2.push(v).is_ok()),
    )
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let quick = std::env::var_os("QUICK").is_some() || !benching;
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(if quick { 1 } else { 5 });
    let n_u64: u64 = if quick { 2_000_000 } else { 50_000_000 };
    let n_rec: u64 = if quick { 1_000_000 } else { 20_000_000 };
    let n_rt: usize = if quick { 20_000 } else { 200_000 };
    if core_affinity::get_core_ids().map_or(0, |c| c.len()) < 2 {
        eprintln!("ring_peers needs 2 cores; skipped");
        return;
    }
    // `SPIN_HINT` set to anything but a count means one pause, as it did before it took a count.
    let pauses = std::env::var("SPIN_HINT").map_or(0, |v| v.parse().unwrap_or(1));
    SPIN_HINT.store(pauses, Ordering::Relaxed);
    let polling = match pauses {
        0 => "re-poll at once".to_string(),
        1 => "spin_loop after a failed poll".to_string(),
        n => format!("{n} spin_loops after a failed poll"),
    };
    println!(
        "throughput, millions of items per second (median of {rounds}); producer on core 0, consumer on core 1; {polling}\n"
    );
    println!(
        "| ring | u64 one at a time | u64 batches of {BATCH} | 64-byte record one at a time | 64-byte record batches |"
    );
    println!("|---|---|---|---|---|");
    type Row = (&'static str, [Option<fn(u64) -> Duration>; 4]);
    let rows: [Row; 4] = [
        (
            "tickforge ring",
            [
                Some(|n| tf_throughput::<u64>(n, false)),
                Some(|n| tf_throughput::<u64>(n, true)),
                Some(|n| tf_throughput::<Record>(n, false)),
                Some(|n| tf_throughput::<Record>(n, true)),
            ],
        ),
        (
            "rtrb 0.4",
            [
                Some(|n| rtrb_throughput::<u64>(n, false)),
                Some(|n| rtrb_throughput::<u64>(n, true)),
                Some(|n| rtrb_throughput::<Record>(n, false)),
                Some(|n| rtrb_throughput::<Record>(n, true)),
            ],
        ),
        (
            "crossbeam ArrayQueue",
            [Some(arrayqueue_throughput::<u64>), None, Some(arrayqueue_throughput::<Record>), None],
        ),
        (
            "disruptor 4.4",
            [
                Some(|n| disruptor_throughput::<u64>(n, false)),
                Some(|n| disruptor_throughput::<u64>(n, true)),
                Some(|n| disruptor_throughput::<Record>(n, false)),
                Some(|n| disruptor_throughput::<Record>(n, true)),
            ],
        ),
    ];
    let mut results = vec![[f64::NAN; 4]; rows.len()];
    // Per column: tickforge's rate over rtrb's in the same round (rows 0 and 1).
    let mut paired: [Vec<f64>; 4] = Default::default();
    let only: Option<usize> = std::env::var("ONLY").ok().and_then(|c| c.parse().ok());
    for col in 0..4 {
        if only.is_some_and(|o| o != col) {
            continue;
        }
        let n = if col < 2 { n_u64 } else { n_rec };
        let mut samples = vec![Vec::new(); rows.len()];
        for round in 0..rounds {
            // Each round starts with a different ring, so none always runs first (or always
            // right after the disruptor's threads wind down).
            for k in 0..rows.len() {
                let r = (round + k) % rows.len();
                if let Some(f) = rows[r].1[col] {
                    let d = f(n);
                    samples[r].push(n as f64 / d.as_secs_f64() / 1e6);
                }
            }
        }
        paired[col] = samples[0].iter().zip(&samples[1]).map(|(ours, theirs)| ours / theirs).collect();
        for (row, s) in results.iter_mut().zip(samples) {
            row[col] = if s.is_empty() { f64::NAN } else { median(s) };
        }
    }
    for (r, (name, _)) in rows.iter().enumerate() {
        let cell = |v: f64| if v.is_nan() { "–".to_string() } else { format!("{v:.1}") };
        println!(
            "| {name} | {} | {} | {} | {} |",
            cell(results[r][0]),
            cell(results[r][1]),
            cell(results[r][2]),
            cell(results[r][3])
        );
    }
    // Both rings pass through the same spells of the machine within a round, but a run also
    // settles into one of two regimes (a consumer right behind the producer, sharing the line
    // being written, or a consumer that lags), so the medians above can come from different
    // regimes: the round-by-round ratio says how often each ring led.
    let pairs: Vec<String> = paired
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_empty())
        .map(|(col, p)| {
            let ahead = p.iter().filter(|&&x| x >= 1.0).count();
            let (lo, hi) = range(p.iter().copied());
            let name = ["u64 one at a time", "u64 batches", "64-byte one at a time", "64-byte batches"][col];
            format!("{name} {:.2}x (range {lo:.2}-{hi:.2}, ahead in {ahead} of {} rounds)", median(p.clone()), p.len())
        })
        .collect();
    if !pairs.is_empty() {
        println!("\ntickforge / rtrb, round by round (median): {}", pairs.join("; "));
    }
    println!(
        "\nround trip (u64, one at a time), ns: median over rounds of each percentile, {n_rt} round trips per round\n"
    );
    println!("| ring | p50 | p99 | p99.9 |\n|---|---|---|---|");
    type RoundTrip = fn(usize) -> Histogram<u64>;
    let rt: [(&str, RoundTrip); 3] =
        [("tickforge ring", round_trips_tf), ("rtrb 0.4", round_trips_rtrb), ("crossbeam ArrayQueue", round_trips_aq)];
    let mut per = vec![(Vec::new(), Vec::new(), Vec::new()); rt.len()];
    for round in 0..rounds {
        for j in 0..rt.len() {
            let k = (round + j) % rt.len();
            let h = (rt[k].1)(n_rt);
            per[k].0.push(h.value_at_quantile(0.5) as f64);
            per[k].1.push(h.value_at_quantile(0.99) as f64);
            per[k].2.push(h.value_at_quantile(0.999) as f64);
        }
    }
    for (k, (name, _)) in rt.iter().enumerate() {
        let (a, b, c) = per[k].clone();
        println!("| {name} | {:.0} | {:.0} | {:.0} |", median(a), median(b), median(c));
    }
}
