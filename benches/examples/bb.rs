//! Scratch driver for profiling book building (not a benchmark: see `benches/book_build.rs`):
//! `bb FILE [runs]` applies an ITCH BinaryFILE to fresh books and prints ns/message.
//! `TWO_STEP=1` decodes, normalises and applies (`Engine::apply`) instead of `Engine::apply_itch`;
//! `BOOK_CHANGES=1` turns on the engine's `BookChange` outputs (as replays have them);
//! `DECODE_ONLY=1` only decodes and normalises; `RECORDS=1` decodes the day into records in
//! memory first, then alternates one `Engine::apply` per record with `Engine::apply_all`
//! (look-ahead) and prints the median of each and their ratio.
use tickforge_engine::{Engine, EngineConfig};
use tickforge_feed::{normalize, source::Messages, Format};
use tickforge_wire::{itch, Record};
fn main() {
    let p = std::env::args().nth(1).expect("usage: bb FILE [runs]");
    let runs: usize = std::env::args().nth(2).and_then(|r| r.parse().ok()).unwrap_or(1);
    let bytes = std::fs::read(p).expect("read the capture");
    let two_step = std::env::var_os("TWO_STEP").is_some();
    if std::env::var_os("DECODE_ONLY").is_some() {
        for _ in 0..runs {
            let t = std::time::Instant::now();
            let (mut n, mut sum) = (0u64, 0u64);
            for m in Messages::new(Format::BinaryFile, &bytes) {
                n += 1;
                let _ = normalize::dispatch(m, &mut |r: &Record| sum = sum.wrapping_add(r.order_id ^ u64::from(r.qty)));
            }
            println!("{n} {:.1} ns/msg decode only ({sum})", t.elapsed().as_nanos() as f64 / n as f64);
        }
        return;
    }
    if std::env::var_os("RECORDS").is_some() {
        // Scratch: the day as records in memory, one at a time against `apply_all`, alternating.
        let mut records = Vec::new();
        for m in Messages::new(Format::BinaryFile, &bytes) {
            let _ = normalize::dispatch(m, &mut |r: &Record| records.push(*r));
        }
        let (mut one, mut all) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let mut e = Engine::new(EngineConfig { book_changes: false, ..EngineConfig::default() });
            let mut out: Vec<Record> = Vec::with_capacity(16);
            let t = std::time::Instant::now();
            for r in &records {
                out.clear();
                e.apply(r, &mut out);
            }
            one.push(t.elapsed().as_nanos() as f64 / records.len() as f64);
            let h1 = e.state_hash();
            let mut e = Engine::new(EngineConfig { book_changes: false, ..EngineConfig::default() });
            let t = std::time::Instant::now();
            e.apply_all(&records, &mut out, |_, out| out.clear());
            all.push(t.elapsed().as_nanos() as f64 / records.len() as f64);
            assert_eq!(h1, e.state_hash());
        }
        let (one, all) = (tickforge_benches::median(one), tickforge_benches::median(all));
        println!("{} records: one {one:.1}, all {all:.1} ns/record, ratio {:.3}", records.len(), all / one);
        return;
    }
    for _ in 0..runs {
        let t = std::time::Instant::now();
        let book_changes = std::env::var_os("BOOK_CHANGES").is_some();
        let mut engine = Engine::new(EngineConfig { book_changes, ..EngineConfig::default() });
        let mut out: Vec<Record> = Vec::with_capacity(16);
        let mut n = 0u64;
        for m in Messages::new(Format::BinaryFile, &bytes) {
            n += 1;
            out.clear();
            if !two_step {
                let _ = engine.apply_itch(m, &mut out);
            } else if let Ok(msg) = itch::decode(m) {
                if let Some(r) = normalize::record(&msg) {
                    engine.apply(&r, &mut out);
                }
            }
        }
        println!("{n} {:.1} ns/msg hash {:016x}", t.elapsed().as_nanos() as f64 / n as f64, engine.state_hash());
    }
}
