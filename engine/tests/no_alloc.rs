//! Proof that the matching core does not allocate in steady state: a counting global allocator
//! wraps the system one, and a long mixed flow (limit orders that rest and cross, cancels,
//! replaces, reserve orders, market orders, book building) runs with zero allocations once the
//! engine and the output vector are sized, one record at a time and through `apply_all`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tickforge_engine::{Engine, EngineConfig, InstrumentConfig};
use tickforge_wire::record::FLAG_MARKET;
use tickforge_wire::{Kind, Record, Side, TimeInForce};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// GlobalAlloc contract; we only count.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same layout the caller gave us, as the contract requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout (all allocations go through us).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged; `ptr` and `layout` come from a previous allocation here.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A deterministic mixed flow (xorshift), generated before counting starts.
fn flow(n: usize) -> Vec<Record> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::with_capacity(n);
    let mut next_id = 1u64;
    for _ in 0..n {
        let r = rnd();
        let mut rec = Record::new(Kind::NewOrder);
        rec.instrument = (r % 3) as u16;
        rec.session = 1 + (r >> 8) as u16 % 8;
        match r >> 16 & 15 {
            0..=8 => {
                rec.order_id = next_id;
                next_id += 1;
                rec.side = if r >> 20 & 1 == 0 { Side::Buy as u8 } else { Side::Sell as u8 };
                rec.price = 9_950 + ((r >> 24) % 100) as i64;
                rec.qty = 1 + ((r >> 32) % 500) as u32;
                rec.tif = if r >> 40 & 7 == 0 { TimeInForce::Ioc as u8 } else { TimeInForce::Gtc as u8 };
                if r >> 44 & 15 == 0 {
                    rec.aux = 50; // reserve order showing 50
                }
                if r >> 48 & 31 == 0 {
                    rec.flags = FLAG_MARKET;
                }
            }
            9..=12 => {
                rec.kind = Kind::CancelOrder as u8;
                rec.order_id = next_id.saturating_sub(1 + (r >> 24) % 200);
                rec.session = 1 + (rec.order_id % 8) as u16; // sometimes the owner, sometimes not
            }
            _ => {
                rec.kind = Kind::ReplaceOrder as u8;
                rec.order_id = next_id.saturating_sub(1 + (r >> 24) % 200);
                rec.session = 1 + (rec.order_id % 8) as u16;
                rec.price = 9_950 + ((r >> 32) % 100) as i64;
                rec.qty = 1 + ((r >> 40) % 500) as u32;
            }
        }
        out.push(rec);
    }
    out
}

#[test]
fn matching_and_book_building_do_not_allocate_in_steady_state() {
    let mut e = Engine::new(EngineConfig {
        max_orders: 1 << 16,
        max_levels: 4096,
        grow: false,
        book_changes: true,
        ..EngineConfig::default()
    });
    for i in 0..3 {
        e.add_instrument(i, InstrumentConfig::default());
    }
    let records = flow(400_000);
    let mut out = Vec::with_capacity(1 << 16);
    // Warm up: the first pass touches every code path and fills the books.
    for r in &records[..100_000] {
        out.clear();
        e.apply(r, &mut out);
    }
    // Book building on another instrument, interleaved.
    let mut md = Vec::with_capacity(300_000);
    for (k, r) in records[100_000..].iter().enumerate() {
        // Cycles of five: add A, add B, execute part of A, delete A, cancel all of B.
        let (g, step) = (k as u64 / 5, k % 5);
        let kind = [Kind::MdAdd, Kind::MdAdd, Kind::MdExecute, Kind::MdDelete, Kind::MdCancel][step];
        let mut m = Record::new(kind);
        m.instrument = 7;
        m.order_id = 1_000_000 + 2 * g + u64::from(step == 1 || step == 4);
        m.side = if g % 2 == 0 { Side::Buy as u8 } else { Side::Sell as u8 };
        m.price = r.price + if g % 2 == 0 { -1_000 } else { 1_000 };
        m.qty = if step == 2 { 40 } else { 100 };
        md.push(m);
    }
    out.clear();
    e.apply(&md[0], &mut out); // creates instrument 7's book before counting

    COUNTING.store(true, Ordering::SeqCst);
    for (r, m) in records[100_000..250_000].iter().zip(&md) {
        out.clear();
        e.apply(r, &mut out);
        e.apply(m, &mut out);
    }
    // The rest through `apply_all` (look-ahead), matching and book building in turn.
    for chunk in 0..10 {
        let (from, to) = (250_000 + chunk * 15_000, 265_000 + chunk * 15_000);
        e.apply_all(&records[from..to], &mut out, |_, out| out.clear());
        e.apply_all(&md[from - 100_000..to - 100_000], &mut out, |_, out| out.clear());
    }
    COUNTING.store(false, Ordering::SeqCst);
    let allocations = ALLOCATIONS.load(Ordering::SeqCst);
    let stats = e.stats();
    assert!(stats.fills > 10_000 && stats.canceled > 1_000, "the flow must trade and cancel: {stats:?}");
    assert_eq!(stats.grows, 0, "nothing may grow: {stats:?}");
    assert_eq!(stats.unknown_refs, 0, "the book-building flow is consistent: {stats:?}");
    assert_eq!(e.check_invariants(), Ok(()));
    assert_eq!(allocations, 0, "allocations in steady state ({stats:?})");
}
