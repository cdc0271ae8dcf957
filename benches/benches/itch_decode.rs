//! ITCH 5.0 decode throughput: the whole shared RITCH test file (12,012 messages, BinaryFILE with
//! zero length prefixes), decoded by tickforge-wire and by the `itchy` crate in the same run.
//!
//! Both sides read from memory and fold the same checksum over the same fields (type, locate,
//! timestamp, order reference / price / shares / match number for A, D, E, P); the bench
//! asserts that both give the same message count and checksum before it times anything.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use tickforge_benches::{decode_all, itchy_fold};

fn itchy_all(bytes: &[u8]) -> (u64, u64) {
    let (mut n, mut sum) = (0, 0);
    for m in itchy::MessageStream::from_reader(bytes) {
        let Ok(m) = m else { break };
        let field = match &m.body {
            itchy::Body::AddOrder(a) if a.mpid.is_none() => a.reference ^ u64::from(a.price.raw()),
            itchy::Body::DeleteOrder { reference } => *reference,
            itchy::Body::OrderExecuted { reference, executed, .. } => reference ^ u64::from(*executed),
            itchy::Body::NonCrossTrade(p) => p.match_number,
            _ => 0,
        };
        itchy_fold(&mut n, &mut sum, m.tag, m.stock_locate, m.timestamp, field);
    }
    (n, sum)
}

fn bench(c: &mut Criterion) {
    let Some(path) = tickforge_feed::shared::require("captures/itch/ex20101224.TEST_ITCH_50", "ITCH decode bench")
    else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let ours = decode_all(&bytes);
    let theirs = itchy_all(&bytes);
    assert_eq!(ours, theirs, "both decoders must see the same messages and fields");
    assert_eq!(ours.0, 12_012);

    let mut g = c.benchmark_group("itch_decode_test_file");
    g.throughput(Throughput::Elements(ours.0));
    g.bench_function("tickforge", |b| b.iter(|| decode_all(black_box(&bytes))));
    g.bench_function("itchy", |b| b.iter(|| itchy_all(black_box(&bytes))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
