//! The journal's behaviour: read back, roll, reopen, seek, follow, corruption and torn tails.

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use tickforge_replay::journal::{
    self, Durability, Journal, JournalConfig, JournalError, JournalReader, RECORD_ENTRY_LEN,
};
use tickforge_wire::{Kind, Record};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tf-journal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn rec(i: u64) -> Record {
    let mut r = Record::new(Kind::NewOrder);
    r.order_id = i * 7 + 1;
    r.price = i as i64 * 3;
    r.qty = (i % 1000) as u32 + 1;
    r
}

fn small() -> JournalConfig {
    // Room for 10 records per segment: rolls often.
    JournalConfig {
        segment_size: (64 + 10 * RECORD_ENTRY_LEN + 16) as u64,
        prefault: false,
        durability: Durability::None,
    }
}

fn read_all(d: &Path) -> Vec<(u64, Record)> {
    JournalReader::open(d).unwrap().map(|e| e.map(|e| (e.seq, e.record)).unwrap()).collect()
}

#[test]
fn appends_roll_reopen_and_read_back() {
    let d = dir("basic");
    let (mut j, r) = Journal::open(&d, small()).unwrap();
    assert_eq!((r.records, r.next_seq), (0, 1));
    for i in 1..=25 {
        assert_eq!(j.append(&rec(i)).unwrap(), i);
    }
    drop(j);
    let (mut j, r) = Journal::open(&d, small()).unwrap();
    assert_eq!((r.segments, r.records, r.next_seq, r.dropped_bytes), (3, 25, 26, 0));
    j.append_batch(&(26..=31).map(rec).collect::<Vec<_>>()).unwrap();
    drop(j);
    let all = read_all(&d);
    assert_eq!(all.len(), 31);
    for (k, (seq, r)) in all.iter().enumerate() {
        assert_eq!(*seq, k as u64 + 1);
        assert_eq!(r.order_id, rec(*seq).order_id);
        assert_eq!(r.seq, *seq);
    }
    let v = journal::verify(&d).unwrap();
    assert_eq!((v.segments, v.records, v.first_seq, v.last_seq, v.torn_tail_bytes), (4, 31, 1, 31, 0));
    // Seek through the sparse index, across segments.
    let mut rd = JournalReader::open(&d).unwrap();
    assert!(rd.seek(17).unwrap());
    assert_eq!(rd.next_entry().unwrap().unwrap().seq, 17);
    assert!(!rd.seek(99).unwrap());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn out_of_sequence_appends_are_refused() {
    let d = dir("seq");
    let (mut j, _) = Journal::open(&d, small()).unwrap();
    let mut r = rec(1);
    r.seq = 5;
    assert!(matches!(j.append(&r), Err(JournalError::OutOfSequence { expected: 1, got: 5 })));
    r.seq = 1;
    assert_eq!(j.append(&r).unwrap(), 1);
    let _ = std::fs::remove_dir_all(&d);
}

fn flip(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_flipped_bit_in_the_middle_is_an_error_naming_segment_offset_and_sequence() {
    let d = dir("corrupt");
    let (mut j, _) = Journal::open(&d, small()).unwrap();
    for i in 1..=25 {
        j.append(&rec(i)).unwrap();
    }
    drop(j);
    let seg1 = d.join(journal::segment_name(1));
    let entry_off = 64 + 3 * RECORD_ENTRY_LEN as u64; // 4th record of segment 1: sequence 14
    flip(&seg1, entry_off + 30);
    let err = Journal::open(&d, small()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, JournalError::Corrupt { offset, seq: 14, .. } if offset == entry_off), "{msg}");
    assert!(msg.contains("000000000001.tfj") && msg.contains("checksum"), "{msg}");
    assert!(journal::verify(&d).is_err());
    // Also in the last segment, with valid entries after it.
    let d2 = dir("corrupt-last");
    let (mut j, _) = Journal::open(&d2, small()).unwrap();
    for i in 1..=5 {
        j.append(&rec(i)).unwrap();
    }
    drop(j);
    flip(&d2.join(journal::segment_name(0)), 64 + RECORD_ENTRY_LEN as u64 + 20);
    assert!(matches!(Journal::open(&d2, small()), Err(JournalError::Corrupt { seq: 2, .. })));
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::remove_dir_all(&d2);
}

#[test]
fn a_torn_tail_is_dropped_reported_and_the_sequence_continues() {
    let d = dir("torn");
    let (mut j, _) = Journal::open(&d, small()).unwrap();
    for i in 1..=4 {
        j.append(&rec(i)).unwrap();
    }
    drop(j);
    let seg = d.join(journal::segment_name(0));
    // Half an entry: payload bytes written, the length word never stored.
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = 64 + 4 * RECORD_ENTRY_LEN;
    bytes[at + 8..at + 40].fill(0xAB);
    std::fs::write(&seg, &bytes).unwrap();
    let v = journal::verify(&d).unwrap();
    assert_eq!((v.records, v.torn_tail_bytes), (4, 40), "from the entry start to the last written byte");
    let (mut j, r) = Journal::open(&d, small()).unwrap();
    assert_eq!((r.records, r.next_seq, r.dropped_bytes, r.dropped_entries), (4, 5, 40, 1));
    assert!(r.torn.unwrap().contains("partial entry"));
    assert_eq!(j.append(&rec(5)).unwrap(), 5);
    drop(j);
    // The last entry's payload damaged (its length word made it): also a torn tail.
    flip(&seg, (64 + 4 * RECORD_ENTRY_LEN + 40) as u64);
    let (j, r) = Journal::open(&d, small()).unwrap();
    assert_eq!((r.records, r.next_seq, r.dropped_entries), (4, 5, 1));
    assert!(r.torn.unwrap().contains("checksum"));
    drop(j);
    assert_eq!(read_all(&d).len(), 4);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_reader_follows_a_journal_being_written() {
    let d = dir("follow");
    let (mut j, _) = Journal::open(&d, small()).unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d2 = d.clone();
    let done2 = done.clone();
    let reader = std::thread::spawn(move || {
        let mut f =
            journal::Follow { reader: JournalReader::open(&d2).unwrap(), poll: std::time::Duration::from_micros(100) };
        let mut seqs = Vec::new();
        while let Some(e) = f.next_entry(|| done2.load(std::sync::atomic::Ordering::Acquire)).unwrap() {
            assert_eq!(e.record.order_id, rec(e.seq).order_id);
            seqs.push(e.seq);
        }
        seqs
    });
    for i in 1..=500 {
        j.append(&rec(i)).unwrap();
        if i % 50 == 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(20));
    done.store(true, std::sync::atomic::Ordering::Release);
    let seqs = reader.join().unwrap();
    assert_eq!(seqs, (1..=500).collect::<Vec<_>>());
    let _ = std::fs::remove_dir_all(&d);
}

#[derive(Debug, Clone)]
enum Op {
    Append(u8),
    Reopen,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_appends_rolls_and_reopens_read_back_exactly(ops in proptest::collection::vec(prop_oneof![8 => (1u8..30).prop_map(Op::Append), 1 => Just(Op::Reopen)], 1..25)) {
        let d = dir(&format!("prop-{:x}", ops.len() * 7919 + ops.iter().map(|o| match o { Op::Append(n) => *n as usize, Op::Reopen => 1000 }).sum::<usize>()));
        let (mut j, _) = Journal::open(&d, small()).unwrap();
        let mut expected = Vec::new();
        for op in ops {
            match op {
                Op::Append(n) => {
                    let batch: Vec<Record> = (0..n as u64).map(|k| rec(expected.len() as u64 + 1 + k)).collect();
                    if n % 2 == 0 { j.append_batch(&batch).unwrap(); } else { for r in &batch { j.append(r).unwrap(); } }
                    expected.extend(batch.iter().map(|r| r.order_id));
                }
                Op::Reopen => {
                    drop(j);
                    let (j2, r) = Journal::open(&d, small()).unwrap();
                    prop_assert_eq!(r.records, expected.len() as u64);
                    prop_assert_eq!(r.dropped_bytes, 0);
                    j = j2;
                }
            }
        }
        drop(j);
        let got: Vec<u64> = read_all(&d).iter().map(|(_, r)| r.order_id).collect();
        prop_assert_eq!(got, expected);
        let _ = std::fs::remove_dir_all(&d);
    }
}

#[test]
fn messages_share_the_sequence_with_records_and_survive_roll_reopen_seek_and_torn_tails() {
    use journal::Item;
    let d = dir("messages");
    let (mut j, _) = Journal::open(&d, small()).unwrap();
    // Alternate: a message (of varying length) explaining each record, then the record.
    let msg = |i: u64| -> Vec<u8> { (0..(i % 70 + 1)).map(|k| (i as u8).wrapping_add(k as u8)).collect() };
    for i in 1..=30 {
        assert_eq!(j.append_message(&msg(i)).unwrap(), 2 * i - 1);
        assert_eq!(j.append(&rec(i)).unwrap(), 2 * i);
    }
    assert!(matches!(j.append_message(&[]), Err(JournalError::MessageSize { len: 0 })));
    assert!(matches!(j.append_message(&[0; 5000]), Err(JournalError::MessageSize { len: 5000 })));
    drop(j);
    // Reopen continues the shared sequence.
    let (mut j, r) = Journal::open(&d, small()).unwrap();
    assert_eq!((r.records, r.next_seq, r.dropped_bytes), (60, 61, 0));
    assert_eq!(j.append_message(b"last").unwrap(), 61);
    drop(j);
    // Record readers see only the records, in order, with their own sequences.
    let records = read_all(&d);
    assert_eq!(records.len(), 30);
    assert!(records.iter().enumerate().all(|(k, (seq, r))| *seq == 2 * k as u64 + 2
        && *r == {
            let mut x = rec(k as u64 + 1);
            x.seq = *seq;
            x
        }));
    // `next_item` sees both, bytes exact.
    let mut rd = JournalReader::open(&d).unwrap();
    let mut n = 0;
    while let Some(item) = rd.next_item().unwrap() {
        n += 1;
        match item {
            Item::Message { seq: 61, bytes, .. } => assert_eq!(bytes, b"last"),
            Item::Message { seq, bytes, .. } => assert_eq!(bytes, msg(seq.div_ceil(2)), "message {seq}"),
            Item::Record(e) => assert_eq!(e.record.order_id, rec(e.seq / 2).order_id),
        }
    }
    assert_eq!(n, 61);
    assert_eq!(journal::verify(&d).unwrap().records, 61);
    // Seek to a message and to a record (the arithmetic guess misses; the scan finds them).
    for target in [1, 17, 40, 61] {
        let mut rd = JournalReader::open(&d).unwrap();
        assert!(rd.seek(target).unwrap(), "seek {target}");
        let seq = match rd.next_item().unwrap().unwrap() {
            Item::Message { seq, .. } => seq,
            Item::Record(e) => e.seq,
        };
        assert_eq!(seq, target);
    }
    // A torn message at the tail is dropped and the sequence continues from it.
    let (last_seg, path) = journal::list_segments(&d).unwrap().pop().unwrap();
    let (mut j, _) = Journal::open(&d, small()).unwrap();
    j.append_message(&[7; 40]).unwrap();
    drop(j);
    let mut rd = JournalReader::open(&d).unwrap();
    let mut off = None;
    while let Some(item) = rd.next_item().unwrap() {
        if let Item::Message { seq: 62, offset, segment, .. } = item {
            off = Some((segment, offset));
        }
    }
    let (segment, offset) = off.unwrap();
    let path = if segment == last_seg { path } else { journal::list_segments(&d).unwrap().pop().unwrap().1 };
    flip(&path, offset + 16 + 20);
    let (_, r) = Journal::open(&d, small()).unwrap();
    assert_eq!((r.next_seq, r.records), (62, 61));
    assert!(r.dropped_bytes > 0);
}
