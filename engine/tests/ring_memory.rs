//! The ring's memory contract, checked with a counting global allocator: moving records
//! allocates nothing once the ring exists, and dropping both ends, in either order and from
//! either thread, frees the ring (each end owns its share of it through a `ManuallyDrop` that
//! its `Drop` releases by hand, so a forgotten release would leak and show up here).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use tickforge_engine::ring::ring;
use tickforge_wire::Record;

struct Counting;

/// Allocations made by threads that set `COUNT_HERE` (the test harness's own threads allocate
/// at any time, so a global count would not say who did).
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// Bytes held in allocations aligned to 64 or more: the ring's slots (64-byte records) and its
/// shared positions (128-byte aligned), and nothing of the test harness's, which allocates on
/// its own threads at any time.
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
thread_local! {
    static COUNT_HERE: Cell<bool> = const { Cell::new(false) };
}
/// The tests share the counters, so they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// GlobalAlloc contract; we only count.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNT_HERE.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        if layout.align() >= 64 {
            LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: same layout the caller gave us, as the contract requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.align() >= 64 {
            LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: `ptr` came from `System.alloc` with this layout (all allocations go through us).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNT_HERE.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        if layout.align() >= 64 {
            LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged; `ptr` and `layout` come from a previous allocation here.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn record(seq: u64) -> Record {
    Record { seq, ..Record::default() }
}

#[test]
fn moving_records_allocates_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (mut p, mut c) = ring::<Record>(1024);
    let batch: Vec<Record> = (0..48).map(record).collect();
    let mut out = vec![Record::default(); 64];
    COUNT_HERE.with(|c| c.set(true));
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let mut next = 0u64;
    for lap in 0..2_000u64 {
        p.push(record(lap)).unwrap();
        assert_eq!(c.pop().map(|r| r.seq), Some(lap));
        let n = p.push_with(40, |k| record(lap + k as u64));
        assert_eq!(n, 40);
        assert_eq!(c.pop_with(64, |r| next += r.seq), 40);
        assert_eq!(p.push_slice(&batch), 48);
        assert_eq!(c.pop_slice(&mut out), 48);
    }
    let allocations = ALLOCATIONS.load(Ordering::SeqCst) - before;
    COUNT_HERE.with(|c| c.set(false));
    assert_eq!(allocations, 0, "push or pop allocated");
    assert!(next > 0);
}

#[test]
fn dropping_both_ends_frees_the_ring() {
    let _serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let start = LIVE_BYTES.load(Ordering::SeqCst);
    for round in 0..100u64 {
        let (mut p, mut c) = ring::<Record>(256);
        p.push(record(round)).unwrap();
        assert!(LIVE_BYTES.load(Ordering::SeqCst) >= start + 256 * 64, "the slots are allocated");
        match round % 3 {
            0 => {
                drop(p);
                assert_eq!(c.pop().map(|r| r.seq), Some(round));
                assert!(c.is_finished());
                drop(c);
            }
            1 => {
                drop(c);
                drop(p);
            }
            _ => {
                // Each end dropped on its own thread.
                std::thread::scope(|s| {
                    s.spawn(move || drop(p));
                    s.spawn(move || drop(c));
                });
            }
        }
    }
    let leaked = LIVE_BYTES.load(Ordering::SeqCst) - start;
    assert_eq!(leaked, 0, "{leaked} bytes still allocated after 100 rings were dropped");
}
