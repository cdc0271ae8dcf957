//! The ring's unit tests (the cross-thread model checks are `engine/tests/loom_ring.rs`; the
//! long cross-core run is `engine/tests/ring_stress.rs`).

use super::*;

#[test]
fn the_ends_can_move_to_other_threads() {
    fn send<S: Send>(_: &S) {}
    let (p, c) = ring::<tickforge_wire::Record>(8);
    send(&p);
    send(&c);
}

#[test]
fn fifo_full_empty_and_wrap_around() {
    let (mut p, mut c) = ring::<u64>(4);
    assert_eq!(c.pop(), None);
    for round in 0..10u64 {
        for i in 0..4 {
            p.push(round * 10 + i).unwrap();
        }
        assert_eq!(p.push(99), Err(99), "full");
        for i in 0..4 {
            assert_eq!(c.pop(), Some(round * 10 + i));
        }
        assert_eq!(c.pop(), None);
    }
}

#[test]
fn push_keeps_order_over_many_laps_with_its_write_hint() {
    // 256 u64 slots: the hint runs 32 slots ahead of the one written, wrapping with it.
    let (mut p, mut c) = ring::<u64>(256);
    let hint = crate::prefetch::write_hint_supported();
    assert_eq!(p.own_ahead, if hint { 32 } else { 0 });
    let (mut next_in, mut next_out) = (0u64, 0u64);
    for lap in 0..40u64 {
        // Fill to a different depth each lap, then drain most of it.
        while p.push(next_in).is_ok() {
            next_in += 1;
            if next_in % 256 == lap * 7 % 256 {
                break;
            }
        }
        while next_out + lap % 5 < next_in {
            assert_eq!(c.pop(), Some(next_out));
            next_out += 1;
        }
    }
    while let Some(v) = c.pop() {
        assert_eq!(v, next_out);
        next_out += 1;
    }
    assert_eq!(next_out, next_in);
}

#[test]
fn write_hints_only_ask_for_lines_the_consumer_has_released() {
    let (mut p, mut c) = ring::<u64>(256);
    // Empty: the line starting 32 slots ahead (slots 32..40) is free, and so is one 240 ahead.
    assert!(p.may_own_ahead(32));
    assert!(p.may_own_ahead(240));
    assert!(!p.may_own_ahead(248), "slots 248..256 are free but the hint could reach past them");
    for i in 0..220 {
        p.push(i).unwrap();
    }
    // 36 slots free: a line 20 ahead (20..28) is released, one 32 ahead (32..40) is not.
    assert!(p.may_own_ahead(20));
    assert!(!p.may_own_ahead(32));
    assert_eq!(c.pop(), Some(0));
    assert!(!p.may_own_ahead(32), "by the cached position, until the producer re-reads it");
}

#[test]
fn batches_keep_order_over_many_laps_with_their_write_hint() {
    use tickforge_wire::Record;
    let hint = crate::prefetch::write_hint_supported();
    assert_eq!(ring::<u64>(512).0.batch_ahead, 0, "no batch hint for records smaller than a line");
    let (mut p, mut c) = ring::<Record>(512);
    assert_eq!(p.batch_ahead, if hint { 8 } else { 0 });
    let (mut next_in, mut next_out) = (0u64, 0u64);
    for lap in 0..200u64 {
        let want = (lap * 37 % 97) as usize + 1;
        let start = next_in;
        next_in += p.push_with(want, |k| Record { seq: start + k as u64, ..Record::default() }) as u64;
        c.pop_with((lap * 53 % 89) as usize, |r| {
            assert_eq!(r.seq, next_out);
            next_out += 1;
        });
    }
    while c.pop_with(64, |r| {
        assert_eq!(r.seq, next_out);
        next_out += 1;
    }) > 0
    {}
    assert_eq!(next_out, next_in);
    assert!(next_in > 5_000, "the ring wrapped many times ({next_in} records)");
}

#[test]
fn batch_hints_ask_only_for_lines_wholly_inside_the_batch() {
    let lines = |start, end| whole_lines(start, end).collect::<Vec<_>>();
    assert_eq!(lines(0, 512), (0..8).map(|l| l * 64).collect::<Vec<_>>(), "eight whole lines");
    assert_eq!(lines(8, 512), (1..8).map(|l| l * 64).collect::<Vec<_>>(), "the first line begins before");
    assert_eq!(lines(0, 500), (0..7).map(|l| l * 64).collect::<Vec<_>>(), "the last line ends after");
    assert_eq!(lines(64, 128), vec![64]);
    assert_eq!(lines(100, 120), Vec::<usize>::new(), "inside one line, but not all of it");
    assert_eq!(lines(0, 40), Vec::<usize>::new());
    let hint = crate::prefetch::write_hint_supported();
    assert_eq!(ring::<u64>(64).0.own_batch_lines, hint, "any ring size: the lines are the batch's own");
    assert!(!ring::<tickforge_wire::Record>(512).0.own_batch_lines, "records of a line use batch_ahead");
    assert!(!ring::<()>(8).0.own_batch_lines);
    // Batches of every size from every start keep order (a hint changes no data).
    let (mut p, mut c) = ring::<u32>(64);
    let (mut next_in, mut next_out) = (0u32, 0u32);
    for lap in 0..500u32 {
        let start = next_in;
        next_in += p.push_with((lap % 67) as usize, |k| start + k as u32) as u32;
        c.pop_with((lap * 7 % 61) as usize, |v| {
            assert_eq!(v, next_out);
            next_out += 1;
        });
    }
    while c.pop_with(64, |v| {
        assert_eq!(v, next_out);
        next_out += 1;
    }) > 0
    {}
    assert_eq!(next_out, next_in);
    assert!(next_in > 5_000, "the ring wrapped many times ({next_in} records)");
}

#[test]
fn small_rings_and_zero_sized_records_skip_the_write_hint() {
    let (p, _c) = ring::<u64>(64);
    assert_eq!(p.own_ahead, 0, "32 slots ahead would reach the consumer's in a 64-slot ring");
    let (mut p, mut c) = ring::<()>(8);
    assert_eq!(p.own_ahead, 0);
    for _ in 0..20 {
        p.push(()).unwrap();
        assert_eq!(c.pop(), Some(()));
    }
    let (p, _c) = ring::<tickforge_wire::Record>(64);
    let hint = crate::prefetch::write_hint_supported();
    assert_eq!(p.own_ahead, if hint { 4 } else { 0 }, "one 64-byte record per line");
}

#[test]
fn batches_publish_what_fits() {
    let (mut p, mut c) = ring::<u32>(8);
    assert_eq!(p.push_slice(&[1, 2, 3, 4, 5, 6]), 6);
    assert_eq!(p.push_slice(&[7, 8, 9]), 2);
    let mut out = [0; 5];
    assert_eq!(c.pop_slice(&mut out), 5);
    assert_eq!(out, [1, 2, 3, 4, 5]);
    assert_eq!(c.ready(), 3);
    assert_eq!(p.push_with(10, |k| 100 + k as u32), 5);
    assert_eq!(c.ready(), 3, "the cached count is enough while it is not zero");
    let mut got = Vec::new();
    c.pop_with(usize::MAX, |v| got.push(v));
    assert_eq!(got, vec![6, 7, 8, 100, 101, 102, 103, 104]);
}

#[test]
fn pop_hands_slots_back_a_line_at_a_time() {
    let (mut p, mut c) = ring::<u64>(64);
    assert_eq!(c.release_every, 8, "eight u64s to a cache line");
    for i in 0..64 {
        p.push(i).unwrap();
    }
    assert_eq!(c.pop(), Some(0));
    assert_eq!(p.push(64), Err(64), "one slot read, none handed back yet");
    for i in 1..8 {
        assert_eq!(c.pop(), Some(i));
    }
    for i in 64..72 {
        p.push(i).unwrap();
    }
    assert_eq!(p.push(72), Err(72), "exactly the line read was handed back");
    for i in 8..72 {
        assert_eq!(c.pop(), Some(i));
    }
    assert_eq!(c.pop(), None);
    assert_eq!(p.push_slice(&[0; 100]), 64, "finding the ring empty hands back the rest");
    // 64-byte records go back one by one; small rings release at least every quarter.
    let (mut p, mut c) = ring::<tickforge_wire::Record>(8);
    assert_eq!(c.release_every, 1);
    while p.push(tickforge_wire::Record::default()).is_ok() {}
    assert!(c.pop().is_some());
    assert!(p.push(tickforge_wire::Record::default()).is_ok());
    assert_eq!(ring::<u64>(8).1.release_every, 2);
    assert_eq!(ring::<u8>(4096).1.release_every, 64);
}

#[test]
fn records_come_through_by_their_lap_flags_over_many_laps() {
    use tickforge_wire::Record;
    // Eight slots: positions 0-7 carry the flag bit set, 8-15 clear, and so on.
    assert_eq!((lap_flag(0, 7), lap_flag(7, 7), lap_flag(8, 7), lap_flag(16, 7)), (LAP_BIT, LAP_BIT, 0, LAP_BIT));
    let record = |i: u64| Record {
        seq: i,
        order_id: i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        price: -(i as i64),
        kind: (i % 128) as u8,
        flags: (i % 256) as u8,
        ..Record::default()
    };
    let (mut p, mut c) = ring::<Record>(8);
    assert_eq!(c.pop(), None, "zeroed slots read as not written");
    let (mut next_in, mut next_out) = (0u64, 0u64);
    for lap in 0..500u64 {
        // Fill to a different depth each lap, one at a time or in a batch.
        let want = (lap * 5 % 9) as usize;
        if lap % 3 == 0 {
            let start = next_in;
            next_in += p.push_with(want, |k| record(start + k as u64)) as u64;
        } else {
            for _ in 0..want {
                if p.push(record(next_in)).is_ok() {
                    next_in += 1;
                }
            }
        }
        // Drain some: by the flags (`pop`), by the position (`pop_with`), or both.
        match lap % 4 {
            0 => {
                while let Some(r) = c.pop() {
                    assert_eq!(r, record(next_out));
                    next_out += 1;
                }
            }
            1 => {
                c.pop_with(3, |r| {
                    assert_eq!(r, record(next_out));
                    next_out += 1;
                });
            }
            2 => {
                if let Some(r) = c.pop() {
                    assert_eq!(r, record(next_out));
                    next_out += 1;
                }
                let ready = c.ready();
                let published = next_in - next_out;
                assert!(ready as u64 <= published && (ready > 0) == (published > 0), "{ready} of {published}");
                c.pop_with(ready, |r| {
                    assert_eq!(r, record(next_out));
                    next_out += 1;
                });
            }
            _ => {}
        }
    }
    while let Some(r) = c.pop() {
        assert_eq!(r, record(next_out));
        next_out += 1;
    }
    assert_eq!(next_out, next_in);
    assert!(next_in > 1_000, "the ring wrapped many times ({next_in} records)");
    drop(p);
    assert!(c.is_finished());
}

#[test]
fn the_top_bit_of_a_records_kind_is_the_rings() {
    use tickforge_wire::{Kind, Record};
    let (mut p, mut c) = ring::<Record>(4);
    for kind in [0, Kind::NewOrder as u8, 0x7f, 0x80, 0xc1, 0xff] {
        let r = Record { kind, seq: u64::from(kind), ..Record::default() };
        p.push(r).unwrap();
        assert_eq!(c.pop(), Some(Record { kind: kind & 0x7f, ..r }));
    }
}

#[test]
fn close_is_seen_after_the_last_record() {
    let (mut p, mut c) = ring::<u8>(2);
    p.push(1).unwrap();
    drop(p);
    assert!(!c.is_finished());
    assert_eq!(c.pop(), Some(1));
    assert!(c.is_finished());
}
