//! Stage latencies are real nanoseconds: paced 50 ms apart, records whose matching takes 20 ms
//! each must show about 20 ms of matching latency (no queueing), whatever the TSC frequency.

use std::time::{Duration, Instant};
use tickforge_engine::pipeline::{self, Pacing, PipelineConfig};
use tickforge_engine::{Engine, EngineConfig};
use tickforge_wire::{Kind, Record};

#[test]
fn stage_latencies_are_in_nanoseconds() {
    let records = vec![Record::new(Kind::MdTrade); 5];
    let mut next = 0;
    let mut slept = Vec::new();
    let config = PipelineConfig { batch: 1, pacing: Pacing::Rate(20.0), ..PipelineConfig::default() };
    let report = pipeline::run(
        &config,
        Engine::new(EngineConfig::default()),
        |buf: &mut [Record]| {
            let n = buf.len().min(records.len() - next);
            buf[..n].copy_from_slice(&records[next..next + n]);
            next += n;
            n
        },
        |_r: &Record| {
            let started = Instant::now();
            std::thread::sleep(Duration::from_millis(20));
            slept.push(started.elapsed().as_nanos() as u64);
        },
        |_r: &Record| {},
    );
    // A loaded machine can oversleep, so the reference is how long the sleeps really took
    // (measured with the OS clock); the TSC-based figure must agree with it. Ticks, or a wrong
    // tick rate, would be off by the clock's GHz factor.
    slept.sort_unstable();
    let actual = slept[slept.len() / 2];
    let m = report.latencies.matching.value_at_quantile(0.5);
    assert!(actual >= 20_000_000);
    assert!(
        m >= actual * 9 / 10 && m <= actual * 5 / 4 + 1_000_000,
        "matching p50 {m} ns; the sleeps took {actual} ns (median)"
    );
}
