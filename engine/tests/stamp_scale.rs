//! Stage latencies are real nanoseconds: paced 50 ms apart, records whose matching takes 20 ms
//! each must show about 20 ms of matching latency (no queueing), whatever the TSC frequency.

use std::time::Duration;
use tickforge_engine::pipeline::{self, Pacing, PipelineConfig};
use tickforge_engine::{Engine, EngineConfig};
use tickforge_wire::{Kind, Record};

#[test]
fn stage_latencies_are_in_nanoseconds() {
    let records = vec![Record::new(Kind::MdTrade); 5];
    let mut next = 0;
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
        |_r: &Record| std::thread::sleep(Duration::from_millis(20)),
        |_r: &Record| {},
    );
    let m = report.latencies.matching.value_at_quantile(0.5);
    assert!((19_000_000..40_000_000).contains(&m), "matching p50 {m} ns for a 20 ms sleep");
}
