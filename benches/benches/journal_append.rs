//! Journal append cost for 64-byte records: throughput and per-append latency (HdrHistogram,
//! TSC clock), with and without pre-faulting segments, beside a plain copy of the same records
//! into preallocated memory in the same run. Durability `None` (page cache), 64 MiB segments,
//! in a fresh directory under the system temp dir.
//!
//! `cargo bench -p tickforge-benches --bench journal_append` (`QUICK=1` for a short run).
//! Latency figures include one clock read (~20 ns on this machine) per append.

use hdrhistogram::Histogram;
use quanta::Clock;
use std::hint::black_box;
use std::time::Instant;
use tickforge_replay::journal::{Durability, Journal, JournalConfig};
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::{Kind, Record};

fn records(n: usize) -> Vec<Record> {
    (0..n as u64)
        .map(|i| {
            let mut r = Record::new(Kind::NewOrder);
            r.order_id = i;
            r.price = i as i64;
            r.qty = 100;
            r
        })
        .collect()
}

fn fresh(prefault: bool, segment_size: u64) -> (Journal, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("tf-bench-journal-{}-{prefault}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (j, _) = Journal::open(&dir, JournalConfig { segment_size, prefault, durability: Durability::None }).unwrap();
    (j, dir)
}

fn pct(h: &Histogram<u64>) -> String {
    format!(
        "{} | {} | {} | {}",
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max()
    )
}

fn main() {
    let quick = std::env::var_os("QUICK").is_some() || !std::env::args().any(|a| a == "--bench");
    let n = if quick { 200_000 } else { 2_000_000 };
    let recs = records(n);
    let clock = Clock::new();
    println!("{n} appends of 64-byte records (entries of 80 bytes); durability None\n");
    println!("| what | throughput (M records/s) | p50 ns | p99 ns | p99.9 ns | max ns |\n|---|---|---|---|---|---|");

    // Plain copy into preallocated, pre-touched memory: the floor.
    let mut mem = vec![1u8; n * 80]; // written once, so every page is resident
    let t = Instant::now();
    for (i, r) in recs.iter().enumerate() {
        mem[i * 80 + 16..i * 80 + 80].copy_from_slice(black_box(r).as_bytes());
    }
    black_box(&mem);
    let memcpy_rate = n as f64 / t.elapsed().as_secs_f64() / 1e6;
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    for (i, r) in recs.iter().enumerate() {
        let t0 = clock.raw();
        mem[i * 80 + 16..i * 80 + 80].copy_from_slice(black_box(r).as_bytes());
        h.record(clock.delta_as_nanos(t0, clock.raw()).max(1)).unwrap();
    }
    println!("| memcpy into memory | {memcpy_rate:.1} | {} |", pct(&h));

    // One segment big enough for the whole run (prepared before the timer starts), then the
    // default 64 MiB segments, where a helper thread prepares the next segment while the
    // writer fills the current one and the run includes every roll.
    let whole = (n as u64 * 80 + (1 << 20)).next_power_of_two();
    let cases = [
        ("pre-faulted, one segment", true, whole),
        ("not pre-faulted, one segment", false, whole),
        ("pre-faulted, 64 MiB segments (default), rolls included", true, 64 << 20),
    ];
    for (name, prefault, size) in cases {
        let (mut j, dir) = fresh(prefault, size);
        let t = Instant::now();
        for r in &recs {
            j.append(black_box(r)).unwrap();
        }
        let rate = n as f64 / t.elapsed().as_secs_f64() / 1e6;
        drop(j);
        let _ = std::fs::remove_dir_all(&dir);
        let (mut j, dir) = fresh(prefault, size);
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for r in &recs {
            let t0 = clock.raw();
            j.append(black_box(r)).unwrap();
            h.record(clock.delta_as_nanos(t0, clock.raw()).max(1)).unwrap();
        }
        drop(j);
        let _ = std::fs::remove_dir_all(&dir);
        println!(
            "| journal append, {name} | {rate:.1} ({:.0} % of memcpy) | {} |",
            100.0 * rate / memcpy_rate,
            pct(&h)
        );
    }
}
