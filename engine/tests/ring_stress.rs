//! Two threads move 100 million records through the ring with a sequence check: no loss, no
//! duplication, order kept. Runs in the test profile (debug assertions on) and, in `.ci/run`,
//! again with `--release`. Mixes single pushes and batches on both sides; the consumer's reads
//! of one record (`pop_with(1)`) learn of it from its lap flag, its batches from the
//! producer's position (`ring.rs`, "Lap flags"), so both paths meet under real concurrency.
//! A second test does the same with `u64`s, whose batches take the small-record paths (slots
//! handed back a line at a time, write hints for whole lines of a batch and the lines after
//! it).

use tickforge_engine::ring::{ring, Consumer, RingItem};
use tickforge_wire::Record;

const N: u64 = 100_000_000;

#[test]
fn a_hundred_million_records_in_order() {
    let (mut p, mut c) = ring::<Record>(1024);
    let producer = std::thread::spawn(move || {
        let mut next = 0u64;
        let mut batch = [Record::default(); 64];
        while next < N {
            if next % 3 == 0 {
                if p.push(Record { seq: next, ..Record::default() }).is_ok() {
                    next += 1;
                } else {
                    std::thread::yield_now();
                }
            } else {
                let k = (N - next).min(batch.len() as u64) as usize;
                for (i, b) in batch[..k].iter_mut().enumerate() {
                    b.seq = next + i as u64;
                }
                let n = p.push_slice(&batch[..k]);
                if n == 0 {
                    std::thread::yield_now();
                }
                next += n as u64;
            }
        }
    });
    let received = drain_in_order(&mut c, |c, expected| {
        c.pop_with(if *expected % 2 == 0 { 1 } else { 256 }, |r| {
            assert_eq!(r.seq, *expected, "lost, duplicated or reordered");
            *expected += 1;
        })
    });
    producer.join().unwrap();
    assert_eq!(received, N);
}

/// Calls `take` (which reads what it can, checks each value against the count so far and
/// advances it, and returns how many it read) until the producer has closed and everything
/// is read, yielding now and then while the ring is empty; returns the count.
fn drain_in_order<T: RingItem>(c: &mut Consumer<T>, mut take: impl FnMut(&mut Consumer<T>, &mut u64) -> usize) -> u64 {
    let mut expected = 0u64;
    let mut spins = 0u64;
    loop {
        if take(c, &mut expected) == 0 {
            if c.is_finished() {
                return expected;
            }
            spins += 1;
            if spins % 64 == 0 {
                std::thread::yield_now();
            }
        }
    }
}

#[test]
fn small_records_in_batches_of_every_size_stay_in_order() {
    const SMALL: u64 = 20_000_000;
    let (mut p, mut c) = ring::<u64>(512);
    let producer = std::thread::spawn(move || {
        let mut next = 0u64;
        let mut size = 1usize;
        while next < SMALL {
            let n = if next % 5 == 0 {
                usize::from(p.push(next).is_ok())
            } else {
                // Batch sizes cycle through 1..=97, so batches start and end anywhere in a line.
                size = size % 97 + 1;
                let k = (SMALL - next).min(size as u64) as usize;
                let start = next;
                p.push_with(k, |i| start + i as u64)
            };
            if n == 0 {
                std::thread::yield_now();
            }
            next += n as u64;
        }
    });
    let received = drain_in_order(&mut c, |c, expected| {
        if *expected % 3 == 0 {
            c.pop().map_or(0, |v| {
                assert_eq!(v, *expected, "lost, duplicated or reordered");
                *expected += 1;
                1
            })
        } else {
            c.pop_with((*expected % 89 + 1) as usize, |v| {
                assert_eq!(v, *expected, "lost, duplicated or reordered");
                *expected += 1;
            })
        }
    });
    producer.join().unwrap();
    assert_eq!(received, SMALL);
}
