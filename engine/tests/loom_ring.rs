//! Model checking of the SPSC ring with loom: every interleaving (within loom's bounds) of a
//! producer and a consumer, for single pushes, wrap-around on a tiny ring, full and empty, slots
//! handed back a line at a time, batches, and records found by their lap flags. Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p tickforge-engine --test loom_ring --release` (`.ci/run`
//! does); without `--cfg loom` this file is empty.
#![cfg(loom)]

use loom::thread;
use tickforge_engine::ring::ring;

#[test]
fn push_pop_in_order_across_threads() {
    loom::model(|| {
        let (mut p, mut c) = ring::<u32>(2);
        let t = thread::spawn(move || {
            for i in 0..3 {
                while p.push(i).is_err() {
                    thread::yield_now();
                }
            }
        });
        let mut next = 0;
        while next < 3 {
            match c.pop() {
                Some(v) => {
                    assert_eq!(v, next);
                    next += 1;
                }
                None => thread::yield_now(),
            }
        }
        t.join().unwrap();
        assert_eq!(c.pop(), None);
    });
}

#[test]
fn batches_wrap_around_and_close() {
    loom::model(|| {
        let (mut p, mut c) = ring::<u32>(2);
        let t = thread::spawn(move || {
            let items = [10, 11, 12];
            let mut sent = 0;
            while sent < items.len() {
                let n = p.push_slice(&items[sent..]);
                if n == 0 {
                    thread::yield_now();
                }
                sent += n;
            }
            // p dropped here: closes the ring after the last publish.
        });
        let mut got = Vec::new();
        loop {
            let n = c.pop_with(2, |v| got.push(v));
            if n == 0 {
                if c.is_finished() {
                    break;
                }
                thread::yield_now();
            }
        }
        t.join().unwrap();
        assert_eq!(got, vec![10, 11, 12]);
    });
}

#[test]
fn full_ring_rejects_then_accepts_after_a_pop() {
    loom::model(|| {
        let (mut p, mut c) = ring::<u8>(2);
        p.push(1).unwrap();
        p.push(2).unwrap();
        assert_eq!(p.push(3), Err(3));
        let t = thread::spawn(move || {
            let v = c.pop();
            (v, c)
        });
        let (v, mut c) = t.join().unwrap();
        assert_eq!(v, Some(1));
        p.push(3).unwrap();
        assert_eq!(c.pop(), Some(2));
        assert_eq!(c.pop(), Some(3));
    });
}

/// `pop` hands slots back two at a time in a ring of eight `u32`s (a line's worth, capped at a
/// quarter of the ring): the producer may overwrite exactly the slots handed back, and must see
/// what the consumer read there as read before it overwrites them.
#[test]
fn slots_handed_back_late_are_reused_safely() {
    loom::model(|| {
        let (mut p, mut c) = ring::<u32>(8);
        for i in 0..8 {
            p.push(i).unwrap();
        }
        let t = thread::spawn(move || {
            let got = [c.pop(), c.pop(), c.pop()];
            (got, c)
        });
        let mut pushed = 0;
        for _ in 0..2 {
            if p.push(8 + pushed).is_ok() {
                pushed += 1;
            }
        }
        let (got, mut c) = t.join().unwrap();
        assert_eq!(got, [Some(0), Some(1), Some(2)]);
        while p.push(8 + pushed).is_ok() {
            pushed += 1;
        }
        assert_eq!(pushed, 2, "two slots handed back; the third read is not yet");
        for i in 3..10 {
            assert_eq!(c.pop(), Some(i));
        }
        assert_eq!(c.pop(), None);
        for i in 0..8 {
            p.push(i).unwrap(); // finding the ring empty handed back the rest
        }
    });
}

/// Records carry a lap flag in their kind byte (under loom, a flag beside the slot): `pop`
/// learns from it that a slot is written, without the producer's position, across a lap of a
/// two-slot ring (the second lap's flag differs from the first's).
#[test]
fn records_are_seen_by_their_lap_flags_across_laps() {
    use tickforge_wire::Record;
    loom::model(|| {
        let (mut p, mut c) = ring::<Record>(2);
        let t = thread::spawn(move || {
            for i in 0..3u64 {
                while p.push(Record { seq: i, kind: i as u8 + 1, ..Record::default() }).is_err() {
                    thread::yield_now();
                }
            }
        });
        let mut next = 0u64;
        while next < 3 {
            match c.pop() {
                Some(r) => {
                    assert_eq!((r.seq, r.kind), (next, next as u8 + 1), "lost, duplicated or torn");
                    next += 1;
                }
                None => thread::yield_now(),
            }
        }
        t.join().unwrap();
        assert_eq!(c.pop(), None);
    });
}

/// A record found by its lap flag before the producer's position covers it stays found: a
/// `pop_with` (which goes by the position) after a `pop` (by the flag) neither repeats nor
/// skips a record, and `is_finished` waits for the last one.
#[test]
fn flags_and_positions_agree_on_what_is_read() {
    use tickforge_wire::Record;
    loom::model(|| {
        let (mut p, mut c) = ring::<Record>(2);
        let t = thread::spawn(move || {
            for i in 0..3u64 {
                while p.push(Record { seq: i, ..Record::default() }).is_err() {
                    thread::yield_now();
                }
            }
            // p dropped: closes the ring after the last publish.
        });
        let mut got = Vec::new();
        while got.is_empty() {
            match c.pop() {
                Some(r) => got.push(r.seq),
                None => thread::yield_now(),
            }
        }
        loop {
            if c.pop_with(2, |r| got.push(r.seq)) == 0 {
                if c.is_finished() {
                    break;
                }
                thread::yield_now();
            }
        }
        t.join().unwrap();
        assert_eq!(got, vec![0, 1, 2]);
    });
}
