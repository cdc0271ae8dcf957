//! The pinned three-stage pipeline on this machine: it finishes promptly with the default
//! topology (never two busy-spinners on one core), delivers every record in sequence, ends in
//! the same state as applying the records directly, and blocks (never drops) on a full ring.

use std::time::{Duration, Instant};
use tickforge_engine::pipeline::{self, PipelineConfig, Topology};
use tickforge_engine::{Engine, EngineConfig};
use tickforge_wire::{Kind, Record, Side};

/// A consistent market-data stream: adds, partial executions and deletes over 5 instruments.
fn stream(n: u64) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let g = i / 3;
            let mut r = Record::new([Kind::MdAdd, Kind::MdExecute, Kind::MdDelete][(i % 3) as usize]);
            r.order_id = g + 1;
            r.instrument = (g % 5) as u16;
            r.side = if g % 2 == 0 { Side::Buy as u8 } else { Side::Sell as u8 };
            r.price = 10_000 + (g % 50) as i64 * if g % 2 == 0 { -1 } else { 1 };
            r.qty = if i % 3 == 1 { 10 } else { 100 };
            r.ts_event = 34_200_000_000_000 + i;
            r
        })
        .collect()
}

fn run(records: &[Record], config: &PipelineConfig, slow_sink: bool) -> (pipeline::PipelineReport, u64, Duration) {
    let mut next = 0;
    let mut delivered_echoes = 0u64;
    let mut last_seq = 0u64;
    let start = Instant::now();
    let report = pipeline::run(
        config,
        Engine::new(EngineConfig::default()),
        |buf: &mut [Record]| {
            let n = buf.len().min(records.len() - next);
            buf[..n].copy_from_slice(&records[next..next + n]);
            next += n;
            n
        },
        |_r: &Record| {},
        |r: &Record| {
            assert!(r.seq >= last_seq, "out of order");
            last_seq = r.seq;
            if r.kind < Kind::Accepted as u8 {
                delivered_echoes += 1;
                assert_eq!(r.seq, delivered_echoes, "every input once, in order");
            }
            if slow_sink && r.seq % 1000 == 0 {
                std::thread::sleep(Duration::from_micros(50));
            }
        },
    );
    (report, delivered_echoes, start.elapsed())
}

fn direct_hash(records: &[Record]) -> u64 {
    let mut e = Engine::new(EngineConfig::default());
    let mut out = Vec::new();
    for r in records {
        out.clear();
        e.apply(r, &mut out);
    }
    e.state_hash()
}

#[test]
fn three_stages_finish_promptly_with_the_default_topology() {
    let records = stream(50_000);
    // Two-slot rings and batches of one: a handoff every record or two, so two busy-spinners
    // sharing a core would each wait out the other's time slice (see the ignored test below).
    let config = PipelineConfig {
        topology: Topology::default_here(),
        ring_capacity: 2,
        batch: 1,
        first_seq: 1,
        ..PipelineConfig::default()
    };
    let (report, echoes, took) = run(&records, &config, false);
    eprintln!("{} in {took:?}, topology {}", records.len(), config.topology.describe());
    assert!(took < Duration::from_secs(60), "took {took:?} with {}", config.topology.describe());
    assert_eq!(echoes, records.len() as u64);
    assert_eq!(report.last_seq, records.len() as u64);
    assert_eq!(report.stages[0].records, records.len() as u64);
    assert_eq!(report.engine.state_hash(), direct_hash(&records));
    assert_eq!(report.engine.stats().unknown_refs, 0);
    assert_eq!(report.latencies.end_to_end.len(), records.len() as u64);
}

#[test]
fn a_full_ring_blocks_its_producer_and_loses_nothing() {
    let records = stream(60_000);
    let config = PipelineConfig {
        topology: Topology::default_here(),
        ring_capacity: 4,
        batch: 64,
        first_seq: 1,
        ..PipelineConfig::default()
    };
    let (report, echoes, _) = run(&records, &config, true);
    assert_eq!(echoes, records.len() as u64);
    assert!(report.stages[0].blocked + report.stages[1].blocked > 0, "a 4-slot ring with a slow sink must fill");
    assert_eq!(report.engine.state_hash(), direct_hash(&records));
}

/// Feed and gateway as one I/O thread, or as two threads: same records, same order, same state,
/// with tiny rings (constant back-pressure) and with intervals handed over mid-run.
#[test]
fn one_io_thread_or_two_deliver_the_same() {
    let records = stream(30_000);
    for spec in ["feed=0,matching=1,gateway=0", "feed=0,matching=1,gateway=0,separate", "feed=0,matching=0,gateway=0"] {
        let topology = Topology::parse(spec, 2.min(tickforge_engine::pipeline::topology::available_cores())).unwrap();
        for (ring_capacity, batch) in [(2, 1), (64, 16), (1 << 12, 256)] {
            let config = PipelineConfig {
                topology,
                ring_capacity,
                batch,
                interval: Some(Duration::from_micros(200)),
                ..PipelineConfig::default()
            };
            let (report, echoes, _) = run(&records, &config, false);
            assert_eq!(echoes, records.len() as u64, "{spec} ring {ring_capacity}");
            assert_eq!(report.engine.state_hash(), direct_hash(&records), "{spec} ring {ring_capacity}");
            assert_eq!(report.latencies.end_to_end.len(), records.len() as u64, "{spec}: intervals add up");
            assert_eq!(report.stages[0].records, records.len() as u64);
        }
    }
}

/// The counter-example the default topology avoids: feed and gateway busy-spinning on one core.
/// Not run by default (it is slow by design); `cargo test --test pipeline -- --ignored` shows
/// the cost.
#[test]
#[ignore = "demonstrates the slow case on purpose"]
fn two_busy_spinners_on_one_core_are_slow() {
    use tickforge_engine::pipeline::topology::Placement;
    use tickforge_engine::wait::WaitStrategy;
    let spin0 = Placement { core: Some(0), wait: WaitStrategy::BusySpin };
    let bad = Topology {
        stages: [spin0, Placement { core: Some(1), wait: WaitStrategy::BusySpin }, spin0],
        combined_io: false,
    };
    let records = stream(50_000);
    let config =
        PipelineConfig { topology: bad, ring_capacity: 2, batch: 1, first_seq: 1, ..PipelineConfig::default() };
    let (_, echoes, took) = run(&records, &config, false);
    eprintln!("50,000 records with two busy-spinners on core 0: {took:?}");
    assert_eq!(echoes, records.len() as u64);
}
