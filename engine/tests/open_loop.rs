//! The open-loop method is real, not a label: a paced run whose matching stage stalls for 50 ms
//! must report the stall in its tail (every record due during the stall waits for it), while
//! the same run without the stall does not.

use std::sync::Mutex;
use std::time::Duration;
use tickforge_engine::pipeline::{self, PipelineConfig};
use tickforge_engine::{Engine, EngineConfig};
use tickforge_wire::{Kind, Record, Side};

/// The tests in this file each run a three-thread pipeline; on a 2-core machine two of them at
/// once would share cores and add their own stalls to each other's tails, so they take turns.
static ONE_PIPELINE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn stream(n: u64) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let mut r = Record::new(if i % 2 == 0 { Kind::MdAdd } else { Kind::MdDelete });
            r.order_id = i / 2 + 1;
            r.side = Side::Buy as u8;
            r.price = 10_000 + (i % 20) as i64;
            r.qty = 100;
            r
        })
        .collect()
}

/// p50 and p99.9 of end-to-end latency (ns) at 100,000 records/s, stalling `stall` at record 10,000.
fn paced(records: &[Record], stall: Duration) -> (u64, u64) {
    let mut config =
        PipelineConfig { pacing: pipeline::Pacing::Rate(100_000.0), batch: 64, ..PipelineConfig::default() };
    if let Ok(spec) = std::env::var("TF_PIN") {
        config.topology = tickforge_engine::pipeline::Topology::parse(&spec, 2).unwrap();
    }
    if std::env::var_os("TF_UNPINNED").is_some() {
        config.topology = tickforge_engine::pipeline::Topology::from_cores([None, None, None]);
    }
    let mut next = 0;
    let report = pipeline::run(
        &config,
        Engine::new(EngineConfig::default()),
        |buf: &mut [Record]| {
            let n = buf.len().min(records.len() - next);
            buf[..n].copy_from_slice(&records[next..next + n]);
            next += n;
            n
        },
        |r: &Record| {
            if r.seq == 10_000 && !stall.is_zero() {
                std::thread::sleep(stall); // the matching stage stops for a while
            }
        },
        |_r: &Record| {},
    );
    let l = &report.latencies;
    eprintln!(
        "feed p50 {} matching p50 {} gateway p50 {} e2e p50 {}",
        l.feed.value_at_quantile(0.5),
        l.matching.value_at_quantile(0.5),
        l.gateway.value_at_quantile(0.5),
        l.end_to_end.value_at_quantile(0.5)
    );
    let h = &report.latencies.end_to_end;
    assert_eq!(h.len(), records.len() as u64);
    (h.value_at_quantile(0.5), h.value_at_quantile(0.999))
}

#[test]
fn a_stall_in_the_matching_stage_shows_in_the_paced_tail() {
    let _turn = ONE_PIPELINE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let records = stream(30_000);
    // A shared machine can deschedule a stage for tens of milliseconds on its own (CI saw a
    // 43 ms p99.9 without the stall once). That only ever adds latency, so the run without the
    // stall gets three tries and keeps its best tail; the stalled run needs one.
    let mut base = paced(&records, Duration::ZERO);
    for _ in 1..3 {
        if base.1 < 25_000_000 {
            break;
        }
        let again = paced(&records, Duration::ZERO);
        if again.1 < base.1 {
            base = again;
        }
    }
    let (base_p50, base_tail) = base;
    let (stall_p50, stall_tail) = paced(&records, Duration::from_millis(50));
    eprintln!(
        "no stall: p50 {base_p50} ns, p99.9 {base_tail} ns; 50 ms stall: p50 {stall_p50} ns, p99.9 {stall_tail} ns"
    );
    assert!(stall_tail >= 25_000_000, "a 50 ms stall at 100k/s delays ~5,000 records; p99.9 was {stall_tail} ns");
    assert!(base_tail < 25_000_000, "without the stall p99.9 was {base_tail} ns");
    assert!(stall_p50 < 5_000_000, "most records are not behind the stall: p50 {stall_p50} ns");
}

/// `--speed realtime|Nx`: records are planned at their own event times, scaled; the planned
/// release stamps (not measured times) must follow the capture's clock exactly, and the run
/// cannot finish before the last record is due.
#[test]
fn event_time_pacing_follows_the_capture_clock() {
    let _turn = ONE_PIPELINE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut records = stream(101);
    for (i, r) in records.iter_mut().enumerate() {
        // 1 ms apart, with one step backwards (released with the record before it).
        r.ts_event = 34_200_000_000_000 + i as u64 * 1_000_000 - if i == 50 { 1_500_000 } else { 0 };
    }
    let config = PipelineConfig { pacing: pipeline::Pacing::EventTime { speed: 4.0 }, batch: 16, ..Default::default() };
    let mut next = 0;
    let mut planned = Vec::new();
    let started = std::time::Instant::now();
    pipeline::run(
        &config,
        Engine::new(EngineConfig::default()),
        |buf: &mut [Record]| {
            let n = buf.len().min(records.len() - next);
            buf[..n].copy_from_slice(&records[next..next + n]);
            next += n;
            n
        },
        |_r: &Record| {},
        |r: &Record| {
            if r.kind < Kind::Accepted as u8 {
                planned.push(r.tsc_recv);
            }
        },
    );
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(25), "100 ms of events at 4x cannot finish in {elapsed:?}");
    let clock = quanta::Clock::new();
    let ns = |a: u32, b: u32| clock.delta_as_nanos(0, u64::from(b.wrapping_sub(a))) as f64;
    let span = ns(planned[0], planned[100]);
    assert!((span - 25e6).abs() < 25e6 * 0.02, "planned span {span} ns, expected 25 ms");
    let step = ns(planned[10], planned[11]);
    assert!((step - 250e3).abs() < 250e3 * 0.05, "planned step {step} ns, expected 250 µs");
    assert_eq!(planned[50], planned[49], "an event time that steps back is released with the record before it");
}
