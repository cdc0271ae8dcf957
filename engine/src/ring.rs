//! A bounded single-producer single-consumer ring of `Copy` records.
//!
//! # Layout
//!
//! A power-of-two array of slots and two positions, each on its own cache line
//! (`crossbeam_utils::CachePadded`): `tail`, written only by the producer (the next slot to
//! fill), and `head`, written only by the consumer (the next slot to read). Positions count up
//! without wrapping the index (slot = position & mask); `tail - head` is the number of records
//! in the ring, from 0 to capacity. Each side keeps a private copy of the other side's position
//! and re-reads the shared one only when the ring *looks* full (producer) or empty (consumer), so
//! in steady state a side touches the other's cache line once per batch, not once per record.
//! Records read one at a time do without `tail` altogether: the slot itself says whether it is
//! written (see "Lap flags").
//!
//! # Ordering invariant
//!
//! - The producer writes slot `t & mask`, then stores `tail = t + 1` with `Release`. The
//!   consumer loads `tail` (or, one record at a time, the slot's lap flag: see "Lap flags")
//!   with `Acquire` before reading any slot below it, so it sees the slot's contents
//!   (release/acquire on `tail`, or on the flag, orders the slot write before the read).
//! - The consumer reads slot `h & mask`, then (at once, or a few reads later: `pop` hands slots
//!   back a cache line's worth at a time) stores some `head > h` with `Release`. The producer
//!   loads `head` with `Acquire` before overwriting any slot below `head + capacity`, so the
//!   consumer's read of a slot happens-before the producer's next write to it. A late store
//!   only makes the producer see fewer free slots than there are.
//! - A position is only ever written by its owner, so the owner may read its own position with
//!   `Relaxed` (it keeps it in a field anyway).
//! - Batches write (or read) several slots and publish them with one `Release` store.
//! - Each side stores the shared position before its private copy. Either order is correct;
//!   this one is faster (see `Producer::publish`).
//! - `closed` is stored `Release` by the producer after its last `tail` store; a consumer that
//!   finds the ring empty loads `closed` with `Acquire` and then re-reads `tail`, so it cannot
//!   miss records published before the close.
//!
//! `loom` checks these arguments (`engine/tests/loom_ring.rs`).
//!
//! # Lap flags
//!
//! An item type may name a byte whose top bit is always clear in its values ([`RingItem`]; for
//! the 64-byte [`Record`](tickforge_wire::Record), its kind byte). The producer then also
//! stores a *lap flag* there: the top bit set for positions in even laps of the array, clear
//! in odd ones (the slots start zeroed, so before the first lap every slot reads "not
//! written"). It writes the value's other bytes, then the flag byte with a `Release` store,
//! then publishes `tail` as before. `pop` (one record at a time) loads the flag of the slot
//! after the records it knows of with `Acquire`; if it shows the slot's current lap, the
//! record is there and everything the producer wrote into it is visible, without reading
//! `tail`. A slot can only hold its current lap's record or the previous lap's (the consumer
//! read the previous one before releasing the slot), and those two carry different flags. The
//! consumer hands the record out with the bit cleared. The batch paths and
//! `ready`/`is_finished` still go by `tail`; what a flag showed stays known, since `tail` may
//! trail the flags. Every access to the flag byte while both ends run is atomic: the producer
//! copies the other bytes around it, and the consumer reads the whole record only after its
//! acquire, which orders it before the producer's next store to the slot (the producer
//! acquires the consumer's `head` first). Under loom the flag is an atomic beside the slot, so
//! that the model sees it; the protocol is the same.
//!
//! # Performance
//!
//! No locks, no allocation after construction, no compare-and-swap: one `Release` store per
//! published batch and one `Acquire` load of the other side's position when the cached one runs
//! out. The batch paths walk at most two runs of consecutive slots (before and after the end of
//! the array), with no index arithmetic per record. For records of a line or more, `pop_with`
//! asks for the cache line of the slot four records ahead of the one it hands out (a prefetch
//! hint), so a consumer that works on each record (the pipeline's matching stage and gateway)
//! does not wait for every line to come over from the producer's core.
//! `push` asks for ownership of the line four lines ahead of the slot it writes (a
//! write-prefetch hint), and the batch paths eight lines ahead (for records of a line or more;
//! for smaller records, every line a batch fills and the eight after them, just before
//! writing), so the stores do not each wait for the consumer's core to give up a line it read
//! on the previous lap. A line is asked for only once the consumer has released every slot in
//! it (by the producer's cached copy of `head`), so a hint never takes a line the consumer is
//! still reading. `pop` hands slots back a cache line's worth at a time (see `Consumer::pop`),
//! `pop_with` a batch at a time. Each end keeps its `Arc` in a `ManuallyDrop` so that push and
//! pop loops can keep the positions in registers (see the note above `impl Drop for Producer`).
//! With lap flags, a consumer that has caught up with the producer waits on the line of the
//! next slot, which it has to read anyway, instead of on `tail`'s line, which the producer
//! takes back at every push: one cross-core transfer per record instead of two.
//! See `BENCHMARKS.md` for the comparison with `rtrb`, `crossbeam_queue::ArrayQueue` and
//! `disruptor` in the same run.
#![allow(unsafe_code, reason = "slot access through UnsafeCell; each block states its invariant")]

use crate::sync::{Arc, AtomicBool, AtomicU8, AtomicUsize, Cell, Ordering};
use core::mem::{ManuallyDrop, MaybeUninit};
use crossbeam_utils::CachePadded;

/// How many records ahead of the one being handed out `pop_with` requests slots.
const PREFETCH_AHEAD: usize = 4;
/// How many cache lines ahead of the slot being written `push` asks for ownership.
const OWN_LINES_AHEAD: usize = 4;
/// The same for `push_with` and `push_slice`, which write a batch in one go and so can ask
/// further ahead (`benches/examples/tput.rs`, BENCHMARKS.md: 64-byte batches 1.0x rtrb
/// without it, 1.2-1.5x with it). Records of a line or more ask slot by slot, this many lines
/// ahead of the one written; smaller records ask for a batch's lines and this many more in
/// one go before writing (see `Producer::own_lines`).
const BATCH_LINES_AHEAD: usize = 8;

/// The slot indices of the `n` positions from `pos` as at most two runs of consecutive slots
/// (up to the end of the array, then from its start), so that a batch is a plain walk over
/// the slots with no index wrapping per record. `n` <= capacity.
#[inline(always)]
fn runs(pos: usize, n: usize, mask: usize) -> [core::ops::Range<usize>; 2] {
    let start = pos & mask;
    let first = n.min(mask + 1 - start);
    [start..start + first, 0..n - first]
}

/// The cache lines wholly inside the bytes `start..end` (addresses), as the address of each
/// line's first byte: a line that begins before `start` or ends after `end` is left out.
#[cfg_attr(loom, allow(dead_code, reason = "the ring's loom build leaves the hints out"))]
#[inline(always)]
fn whole_lines(start: usize, end: usize) -> impl Iterator<Item = usize> {
    (start.next_multiple_of(64)..end.saturating_sub(63)).step_by(64)
}

/// What a ring can carry: a `Copy + Send` value and, where it has one, a byte whose top bit the
/// ring may use as the slot's *lap flag* (see "Lap flags" in the module docs).
///
/// # Safety
///
/// If `LAP_FLAG_BYTE` is `Some(at)`: `at < size_of::<Self>()`; byte `at` is initialized in
/// every value (not padding); and a value with the top bit of byte `at` cleared is still a
/// valid value of the type (the consumer hands values out with that bit cleared).
pub unsafe trait RingItem: Copy + Send {
    /// The byte whose top bit carries the lap flag, or `None` (the consumer then learns what
    /// is published from the producer's position alone).
    const LAP_FLAG_BYTE: Option<usize> = None;
}

macro_rules! plain_ring_items {
    ($($t:ty),*) => { $(
        // SAFETY: no lap flag byte, so nothing to uphold.
        unsafe impl RingItem for $t {}
    )* };
}
plain_ring_items!((), u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

// SAFETY: `kind` is a plain byte of the record (the record has no padding: it derives
// `IntoBytes`), and no `Kind` has its top bit set; a record with any kind byte is a valid
// record. A record pushed with that bit set comes out with it cleared (documented on `push`).
unsafe impl RingItem for tickforge_wire::Record {
    const LAP_FLAG_BYTE: Option<usize> = Some(core::mem::offset_of!(tickforge_wire::Record, kind));
}

/// The top bit of a lap flag byte.
const LAP_BIT: u8 = 0x80;

/// The lap flag that the record at position `pos` carries: the top bit set in even laps (lap
/// 0 included, so the zeroed slots of a new ring read as not yet written) and clear in odd
/// ones. The lap's parity is the position's bit worth `mask + 1` (the capacity).
#[inline(always)]
fn lap_flag(pos: usize, mask: usize) -> u8 {
    if pos & (mask + 1) == 0 {
        LAP_BIT
    } else {
        0
    }
}

/// One slot: the value, and under loom the lap flag beside it (loom tracks only its own
/// atomics, so the model checks the same protocol with the flag stored apart; in a real build
/// the flag is a bit of the value's own byte, and a slot is exactly a value).
#[cfg_attr(not(loom), repr(transparent))]
struct Slot<T> {
    value: Cell<MaybeUninit<T>>,
    #[cfg(loom)]
    flag: AtomicU8,
}

impl<T: RingItem> Slot<T> {
    fn new() -> Slot<T> {
        // Zeroed, so that a lap flag byte reads "not yet written" before the first lap.
        Slot {
            value: Cell::new(MaybeUninit::zeroed()),
            #[cfg(loom)]
            flag: AtomicU8::new(0),
        }
    }

    /// The lap flag byte `at` of the slot's value, as an atomic.
    #[cfg(not(loom))]
    #[inline(always)]
    fn flag(&self, at: usize) -> &AtomicU8 {
        // SAFETY: byte `at` lies inside the value (`RingItem`'s contract) in an `UnsafeCell`
        // that lives as long as `self`, and a byte is always aligned. Every access to that
        // byte while both ends run is atomic: the producer writes the value's other bytes
        // non-atomically and this one with an atomic store; the consumer reads the whole value
        // non-atomically only after an acquire load of this byte showed the current lap, and
        // the producer stores to it again only after acquiring the consumer's release of the
        // slot (module docs, "Lap flags").
        unsafe { AtomicU8::from_ptr(self.value.with_mut(|p| p.cast::<u8>().add(at))) }
    }

    #[cfg(loom)]
    fn flag(&self, _at: usize) -> &AtomicU8 {
        &self.flag
    }
}

struct Shared<T> {
    /// Next position the consumer reads. Written only by the consumer.
    head: CachePadded<AtomicUsize>,
    /// Next position the producer writes. Written only by the producer.
    tail: CachePadded<AtomicUsize>,
    /// Set by the producer when it will publish no more.
    closed: AtomicBool,
    slots: Box<[Slot<T>]>,
}

// SAFETY: the ring hands each slot to exactly one side at a time (see the ordering invariant in
// the module docs): the producer only writes slots in [tail, head + capacity), the consumer only
// reads slots in [head, tail), and T: Copy + Send moves between threads by value.
unsafe impl<T: Copy + Send> Sync for Shared<T> {}
// SAFETY: as above; the shared state owns only `T: Send` values and atomics.
unsafe impl<T: Copy + Send> Send for Shared<T> {}

/// The writing end.
pub struct Producer<T> {
    shared: ManuallyDrop<Arc<Shared<T>>>,
    /// `capacity - 1`, copied out of `shared` so the hot path does not chase the pointer.
    mask: usize,
    /// Our position (equals `shared.tail` after every publish).
    tail: usize,
    /// The consumer's position as last seen; `tail - head_seen <= capacity` always.
    head_seen: usize,
    /// How many slots ahead of the one it writes `push` asks for a line to be owned
    /// (`OWN_LINES_AHEAD` lines' worth), or 0 in a ring too small for that to stay clear of
    /// the slots the consumer is reading, for zero-sized records, and on a CPU without
    /// PREFETCHW.
    own_ahead: usize,
    /// The same for the batch paths (`BATCH_LINES_AHEAD` lines' worth), or 0 where
    /// `own_ahead` is and for records smaller than a cache line.
    batch_ahead: usize,
    /// Whether the batch paths ask for the lines a batch of records smaller than a cache line
    /// will fill before writing them (see [`Producer::own_lines`]); false for records of a line
    /// or more (they use `batch_ahead`), zero-sized records, and on a CPU without PREFETCHW.
    own_batch_lines: bool,
    /// The first slot, copied out of `shared` like `mask`. Read through `shared`, the slots'
    /// address is loaded again after every slot store (the store might have changed the
    /// `Box` that holds it): one more load per record, about a tenth of the u64 batch rate.
    base: *const Slot<T>,
}

// SAFETY: `base` points into the slots that the end's own `Arc` keeps alive, and only this
// end uses it, within the ordering invariant of the module docs; everything else in an end is
// owned (`Arc<Shared<T>>` is `Send` for `T: Copy + Send`).
unsafe impl<T: Copy + Send> Send for Producer<T> {}
// SAFETY: as for `Producer`.
unsafe impl<T: Copy + Send> Send for Consumer<T> {}

/// The reading end.
pub struct Consumer<T> {
    shared: ManuallyDrop<Arc<Shared<T>>>,
    /// `capacity - 1`, copied out of `shared`.
    mask: usize,
    /// Our position (equals `shared.head` after every release).
    head: usize,
    /// How far the producer is known to have published (from its `tail`, or for items with
    /// a lap flag from the slots' flags); `head <= tail_seen`.
    tail_seen: usize,
    /// The position last stored into `shared.head`; `released <= head`.
    released: usize,
    /// How many slots `pop` reads before it hands them back: a cache line's worth (8 `u64`s,
    /// one 64-byte record), at most a quarter of the ring.
    release_every: usize,
    /// The first slot (see `Producer::base`).
    base: *const Slot<T>,
}

impl<T> core::fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Producer").field("tail", &self.tail).field("capacity", &(self.mask + 1)).finish()
    }
}

impl<T> core::fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Consumer").field("head", &self.head).field("capacity", &(self.mask + 1)).finish()
    }
}

/// A ring of at least `capacity` slots (rounded up to a power of two, minimum 2).
pub fn ring<T: RingItem>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    let capacity = capacity.max(2).next_power_of_two();
    let slots: Box<[Slot<T>]> = (0..capacity).map(|_| Slot::new()).collect();
    let shared = Arc::new(Shared {
        head: CachePadded::new(AtomicUsize::new(0)),
        tail: CachePadded::new(AtomicUsize::new(0)),
        closed: AtomicBool::new(false),
        slots,
    });
    let base = shared.slots.as_ptr();
    let own_ahead = (OWN_LINES_AHEAD * 64).div_ceil(size_of::<T>().max(1));
    let usable = size_of::<T>() > 0 && own_ahead <= capacity / 4 && crate::prefetch::write_hint_supported();
    let own_ahead = if usable { own_ahead } else { 0 };
    let batch_ahead = if usable && size_of::<T>() >= 64 { BATCH_LINES_AHEAD.div_ceil(size_of::<T>() / 64) } else { 0 };
    let own_batch_lines = (1..64).contains(&size_of::<T>()) && crate::prefetch::write_hint_supported();
    (
        Producer {
            shared: ManuallyDrop::new(shared.clone()),
            mask: capacity - 1,
            tail: 0,
            head_seen: 0,
            own_ahead,
            batch_ahead,
            own_batch_lines,
            base,
        },
        Consumer {
            shared: ManuallyDrop::new(shared),
            mask: capacity - 1,
            head: 0,
            tail_seen: 0,
            released: 0,
            release_every: (64 / size_of::<T>().max(1)).clamp(1, (capacity / 4).max(1)),
            base,
        },
    )
}

impl<T: RingItem> Producer<T> {
    /// Slots in the ring.
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// The slot that position `pos` maps to.
    #[cfg_attr(loom, allow(dead_code, reason = "only the hints use it, and loom leaves them out"))]
    #[inline(always)]
    fn slot(&self, pos: usize) -> &Slot<T> {
        self.slot_at(pos & self.mask)
    }

    /// Slot `index` of the array (`index` < capacity).
    #[inline(always)]
    fn slot_at(&self, index: usize) -> &Slot<T> {
        debug_assert!(index <= self.mask);
        // SAFETY: `base` is the first of `slots.len()` == capacity slots, which our `Arc` keeps
        // alive, and every caller passes `index` < capacity (a position masked, or an index
        // inside one run of `push_with` / `pop_with`).
        unsafe { &*self.base.add(index) }
    }

    /// Free slots by the cached consumer position (no shared load).
    #[inline(always)]
    fn cached_free(&self) -> usize {
        self.mask + 1 - self.tail.wrapping_sub(self.head_seen)
    }

    /// Free slots, re-reading the consumer's position only if the cached one shows fewer than `want`.
    #[inline(always)]
    fn free(&mut self, want: usize) -> usize {
        let free = self.cached_free();
        if free >= want {
            return free;
        }
        self.head_seen = self.shared.head.load(Ordering::Acquire);
        debug_assert!(self.tail.wrapping_sub(self.head_seen) <= self.mask + 1, "consumer ahead of producer");
        self.cached_free()
    }

    /// True if the whole cache line that a write hint for slot `tail + ahead` asks for holds
    /// only slots the consumer has released, by the cached position (no shared load). A hint
    /// for a line the consumer is still reading would take the line away from it mid-read.
    #[inline(always)]
    fn may_own_ahead(&self, ahead: usize) -> bool {
        self.cached_free() > ahead + 64usize.div_ceil(size_of::<T>().max(1))
    }

    /// Writes `value` into slot `index`; `lap` is the lap flag of the position (see
    /// [`lap_flag`]), used only by items with a lap flag byte.
    #[inline(always)]
    fn write(&self, index: usize, value: T, lap: u8) {
        let slot = self.slot_at(index);
        match T::LAP_FLAG_BYTE {
            None => {
                // SAFETY: `index` is the slot of a position in [tail, head_seen + capacity):
                // the consumer has released this slot (its `head` store was acquired in
                // `free`) and will not read it until we publish a `tail` beyond it, so we have
                // exclusive access.
                slot.value.with_mut(|p| unsafe { (*p).write(value) });
            }
            Some(at) => {
                let src = (&raw const value).cast::<u8>();
                // SAFETY: `at < size_of::<T>()` (`RingItem`), so `src + at` is in `value`.
                let flag = (unsafe { *src.add(at) } & !LAP_BIT) | lap;
                #[cfg(not(loom))]
                // SAFETY: as above, the consumer has released the slot; it may be loading the
                // flag byte (atomically) to see whether the slot is written yet, so every byte
                // but that one is copied here and the flag is stored atomically below, after
                // them: the consumer's acquire load that sees it sees the rest of the value.
                slot.value.with_mut(|p| unsafe {
                    let dst = p.cast::<u8>();
                    core::ptr::copy_nonoverlapping(src, dst, at);
                    core::ptr::copy_nonoverlapping(src.add(at + 1), dst.add(at + 1), size_of::<T>() - at - 1);
                });
                #[cfg(loom)]
                // SAFETY: as in the `None` arm (the flag lives beside the value under loom).
                slot.value.with_mut(|p| unsafe { (*p).write(value) });
                slot.flag(at).store(flag, Ordering::Release);
            }
        }
    }

    /// Asks for ownership of the cache line that slot `pos` ends in, if that line begins inside
    /// the slot (so each line is asked for once per lap, by the first slot reaching into it).
    /// Without it, every line the producer writes is still in the consumer's cache from the
    /// previous lap, and the producer's stores queue up behind one cross-core ownership
    /// transfer per line; asked for `OWN_LINES_AHEAD` lines early, the transfers overlap
    /// (`benches/examples/tput.rs`, alternating builds: u64 one at a time from 25-86 to
    /// 292-351 M/s, 64-byte records from 101-136 to 135-180 in most runs; BENCHMARKS.md).
    /// `push` only; the batch paths use [`Producer::own_slot`].
    #[inline(always)]
    fn own_line_ahead(&self, pos: usize) {
        #[cfg(not(loom))]
        {
            let slot = self.slot(pos);
            let last_byte = slot.value.with(|p| p as usize) + size_of::<T>() - 1;
            if size_of::<T>() >= 64 || last_byte % 64 < size_of::<T>() {
                // SAFETY: `own_ahead` is non-zero only where `ring` found the CPU has PREFETCHW.
                unsafe { crate::prefetch::prefetch_write(last_byte as *const u8) };
            }
        }
        #[cfg(loom)]
        let _ = pos;
    }

    /// Asks for ownership of the cache line where slot `pos` begins: the batch paths' hint,
    /// given only for records of a line or more, once per slot (every line, for the 64-byte
    /// record; the first line of each slot, for larger ones). On the Intel machine of the
    /// seventh session a batch hint did little; on the AMD EPYC of the tenth, 64-byte batches
    /// went from 1.0x rtrb to 1.3-1.5x with it, and the replay pipeline did not move.
    #[inline(always)]
    fn own_slot(&self, pos: usize) {
        #[cfg(not(loom))]
        {
            let slot = self.slot(pos);
            // SAFETY: `batch_ahead` is non-zero only where `ring` found the CPU has PREFETCHW.
            unsafe { crate::prefetch::prefetch_write(slot.value.with(|p| p)) };
        }
        #[cfg(loom)]
        let _ = pos;
    }

    /// Asks for ownership of every cache line that lies wholly inside the slots `run` of the
    /// array: the batch paths' hint for records smaller than a line (eight `u64`s to a line),
    /// given for the lines a batch is about to fill and the next `BATCH_LINES_AHEAD` lines, as
    /// far as the consumer has released them. A line that also holds slots outside the run is
    /// left alone, since the consumer may still be reading those. Asked for all at once, the
    /// lines' transfers from the consumer's core overlap with each other and with the writes
    /// of the batch before, instead of each store waiting for its own line (BENCHMARKS.md,
    /// issue 4, fifteenth session: u64 batches of 64 from 0.79-1.04x rtrb's rate to 1.06-1.29x
    /// in the 2-core machine's slowest placement of its cores). An earlier form that asked,
    /// record by record, for the line eight ahead cost u64 batches a third of their rate.
    #[inline(always)]
    fn own_lines(&self, run: &core::ops::Range<usize>) {
        #[cfg(not(loom))]
        {
            let slot_size = size_of::<Slot<T>>();
            let start = self.base as usize + run.start * slot_size;
            let end = start + run.len() * slot_size;
            for line in whole_lines(start, end) {
                // SAFETY: `own_batch_lines` is true only where `ring` found the CPU has
                // PREFETCHW; the hint never dereferences the address.
                unsafe { crate::prefetch::prefetch_write(line as *const u8) };
            }
        }
        #[cfg(loom)]
        let _ = run;
    }

    /// Makes every slot below `tail` visible to the consumer.
    ///
    /// The shared store comes first and our own copy after it. The order is not needed for
    /// correctness, but it is faster: in a ping-pong between two cores, storing our own copy
    /// first made every hand-off about 70 ns slower (p50 round trip ~720 ns against ~550 ns;
    /// `benches/examples/rtt.rs`).
    #[inline(always)]
    fn publish(&mut self, tail: usize) {
        self.shared.tail.store(tail, Ordering::Release);
        self.tail = tail;
    }

    /// Publishes one record; gives it back if the ring is full. For items with a lap flag byte
    /// ([`RingItem`]), that byte's top bit is the ring's: the record comes out with it clear.
    #[inline(always)]
    pub fn push(&mut self, value: T) -> Result<(), T> {
        if self.free(1) == 0 {
            return Err(value);
        }
        self.write(self.tail & self.mask, value, lap_flag(self.tail, self.mask));
        if self.own_ahead != 0 && self.may_own_ahead(self.own_ahead) {
            self.own_line_ahead(self.tail.wrapping_add(self.own_ahead));
        }
        self.publish(self.tail.wrapping_add(1));
        Ok(())
    }

    /// Publishes as many records from `values` as fit, with one release store; returns how many.
    #[inline]
    pub fn push_slice(&mut self, values: &[T]) -> usize {
        self.push_with(values.len(), |k| values[k])
    }

    /// Claims up to `max` free slots and lets `fill` write them in order (it returns the value
    /// for slot `k`), then publishes them with one release store. Returns how many were written.
    #[inline]
    pub fn push_with(&mut self, max: usize, mut fill: impl FnMut(usize) -> T) -> usize {
        let free = self.free(max);
        let n = free.min(max);
        if n == 0 {
            return 0;
        }
        if size_of::<T>() < 64 && self.own_batch_lines {
            // The batch's lines and the next `BATCH_LINES_AHEAD` lines' worth, as far as the
            // consumer has released them.
            let reach = free.min(n + BATCH_LINES_AHEAD * 64 / size_of::<T>());
            for run in runs(self.tail, reach, self.mask) {
                self.own_lines(&run);
            }
        }
        let mut k = 0;
        for run in runs(self.tail, n, self.mask) {
            // A run ends at the end of the array, so its positions share one lap.
            let lap = lap_flag(self.tail.wrapping_add(k), self.mask);
            for index in run {
                if size_of::<T>() >= 64 && self.batch_ahead != 0 && self.may_own_ahead(k + self.batch_ahead) {
                    self.own_slot(self.tail.wrapping_add(k + self.batch_ahead));
                }
                self.write(index, fill(k), lap);
                k += 1;
            }
        }
        self.publish(self.tail.wrapping_add(n));
        n
    }

    /// Tells the consumer no more records will come. Records already published stay readable.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
    }
}

// Both ends hold their `Arc` in a `ManuallyDrop` and move it out to drop it. Dropped in
// place, the `Arc` would hand its own address (a field of the end) to its out-of-line
// `drop_slow`; the compiler then has to assume that the slot stores of a push or pop loop may
// write to the end itself, and keeps the end's positions in memory instead of registers: one
// more store per record, enough for `rtrb` to run 1.3-2x faster one 64-byte record at a
// time on the AMD EPYC of the tenth session (BENCHMARKS.md).
impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        // SAFETY: `shared` is taken once, here, and the end is not used after `drop`.
        let shared = unsafe { ManuallyDrop::take(&mut self.shared) };
        shared.closed.store(true, Ordering::Release);
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        // SAFETY: `shared` is taken once, here, and the end is not used after `drop`.
        drop(unsafe { ManuallyDrop::take(&mut self.shared) });
    }
}

impl<T: RingItem> Consumer<T> {
    /// Slots in the ring.
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// The slot that position `pos` maps to.
    #[cfg_attr(loom, allow(dead_code, reason = "only the hints use it, and loom leaves them out"))]
    #[inline(always)]
    fn slot(&self, pos: usize) -> &Slot<T> {
        self.slot_at(pos & self.mask)
    }

    /// Slot `index` of the array (`index` < capacity).
    #[inline(always)]
    fn slot_at(&self, index: usize) -> &Slot<T> {
        debug_assert!(index <= self.mask);
        // SAFETY: `base` is the first of `slots.len()` == capacity slots, which our `Arc` keeps
        // alive, and every caller passes `index` < capacity (a position masked, or an index
        // inside one run of `push_with` / `pop_with`).
        unsafe { &*self.base.add(index) }
    }

    /// Records available, looking for more only if the cached count is below `want`. One
    /// record at a time (`want` 1), items with a lap flag look at the flag of the slot after
    /// the known ones instead of the producer's position: the consumer then waits on the line
    /// the producer writes next, which it has to read anyway, rather than on the position's
    /// line, which every push takes back (64-byte records one at a time, alternating builds:
    /// 0.9-2.3x rtrb's rate, 1.9x or more in four sets of five, against 0.9-1.1x by the
    /// position; BENCHMARKS.md, issue 4). Batches read the position:
    /// looking at the flags there let the consumer follow the producer into a batch still
    /// being written, taking each line away from it once more (64-byte batches 0.8-1.2x rtrb
    /// against 1.2-1.4x).
    #[inline(always)]
    fn available(&mut self, want: usize) -> usize {
        let n = self.tail_seen.wrapping_sub(self.head);
        if n >= want {
            return n;
        }
        match T::LAP_FLAG_BYTE {
            Some(at) if want == 1 => usize::from(self.flag_shows_next(at)),
            _ => self.load_tail(),
        }
    }

    /// Whether the slot after the known records holds the current lap's record (its lap
    /// flag); if so, it becomes known.
    #[inline(always)]
    fn flag_shows_next(&mut self, at: usize) -> bool {
        let pos = self.tail_seen;
        // Acquire: the producer stored the flag (release) after the value's other bytes.
        let flag = self.slot(pos).flag(at).load(Ordering::Acquire);
        let written = flag & LAP_BIT == lap_flag(pos, self.mask);
        if written {
            self.tail_seen = pos.wrapping_add(1);
        }
        written
    }

    /// Re-reads the producer's position; returns how many records are available. What the
    /// lap flags showed stays known: the producer stores a slot's flag before its `tail`, so a
    /// `tail` read now may be behind them.
    #[inline(always)]
    fn load_tail(&mut self) -> usize {
        let tail = self.shared.tail.load(Ordering::Acquire);
        if tail.wrapping_sub(self.tail_seen) <= self.mask + 1 {
            self.tail_seen = tail; // at or past what was known
        }
        self.tail_seen.wrapping_sub(self.head)
    }

    /// Asks for the cache line of slot `pos` (a hint; never reads it). The producer wrote it on
    /// another core, so reading it costs a cross-core transfer; `pop_with` requests the slots a
    /// few records ahead of the one it hands out, while the caller works on that one.
    #[inline(always)]
    fn prefetch(&self, pos: usize) {
        #[cfg(not(loom))]
        {
            let slot = self.slot(pos);
            crate::prefetch::prefetch(slot.value.with(|p| p));
        }
        #[cfg(loom)]
        let _ = pos;
    }

    #[inline(always)]
    fn read(&self, index: usize) -> T {
        let slot = self.slot_at(index);
        // SAFETY: `index` is the slot of a position in [head, tail_seen): the producer wrote it
        // before its `tail` store or (items with a lap flag) before the flag store that we
        // acquired in `available`, and will not overwrite it until we release `head` past it.
        // `T: Copy`, so reading leaves the slot valid.
        let mut value = slot.value.with(|p| unsafe { p.read() });
        if let Some(at) = T::LAP_FLAG_BYTE {
            // SAFETY: `at < size_of::<T>()` (`RingItem`), inside our own copy.
            unsafe { *value.as_mut_ptr().cast::<u8>().add(at) &= !LAP_BIT };
        }
        // SAFETY: the producer wrote a whole `T` here (read above); with the lap flag bit
        // cleared it is still a valid `T` (`RingItem`'s contract).
        unsafe { value.assume_init() }
    }

    /// Hands every slot below `head` back to the producer: the shared store first, our own
    /// copy after it (see `Producer::publish` for why).
    #[inline(always)]
    fn release(&mut self, head: usize) {
        self.shared.head.store(head, Ordering::Release);
        self.head = head;
        self.released = head;
    }

    /// Takes one record, if any.
    ///
    /// Slots go back to the producer a cache line's worth at a time (`release_every`), and all
    /// of them whenever `pop` finds the ring empty, so a producer that finds the ring full may
    /// see up to a line's worth of slots fewer than are free; records of 64 bytes or more are
    /// handed back one by one. Storing `head` after every read, a `u64` consumer on a 16-core
    /// Intel Xeon found the ring empty a median 0.3 times per record (it ran right behind the
    /// producer, in the line being written), a line at a time 0.02 times; u64s one at a time
    /// went from a median 0.56x rtrb's rate to 1.39x there (12 alternating rounds) and from
    /// 0.83x to 1.42x on the 2-core AMD EPYC (BENCHMARKS.md, issue 4, fourteenth session).
    #[inline(always)]
    pub fn pop(&mut self) -> Option<T> {
        if self.available(1) == 0 {
            if self.released != self.head {
                self.release(self.head);
            }
            return None;
        }
        let v = self.read(self.head & self.mask);
        let next = self.head.wrapping_add(1);
        if next.wrapping_sub(self.released) >= self.release_every {
            self.release(next);
        } else {
            self.head = next;
        }
        Some(v)
    }

    /// Hands up to `max` records to `f` in order, then releases their slots with one store.
    /// Returns how many.
    #[inline]
    pub fn pop_with(&mut self, max: usize, mut f: impl FnMut(T)) -> usize {
        let n = self.available(max).min(max);
        if n == 0 {
            return 0;
        }
        let mut k = 0;
        for run in runs(self.head, n, self.mask) {
            for index in run {
                // Records smaller than a line: the hardware's own prefetcher follows the walk.
                if size_of::<T>() >= 64 && k + PREFETCH_AHEAD < n {
                    self.prefetch(self.head.wrapping_add(k + PREFETCH_AHEAD));
                }
                f(self.read(index));
                k += 1;
            }
        }
        self.release(self.head.wrapping_add(n));
        n
    }

    /// Copies up to `out.len()` records into `out`; returns how many.
    #[inline]
    pub fn pop_slice(&mut self, out: &mut [T]) -> usize {
        let mut k = 0;
        self.pop_with(out.len(), |v| {
            out[k] = v;
            k += 1;
        })
    }

    /// Records that can be read now (at least this many: the producer may have published
    /// more since). Re-reads the producer's position only when the cached one shows none.
    /// A following `pop_with(ready, ..)` reads them without loading the position again.
    #[inline]
    pub fn ready(&mut self) -> usize {
        match self.tail_seen.wrapping_sub(self.head) {
            0 => self.load_tail(),
            n => n,
        }
    }

    /// True once the producer has closed (or dropped) its end and every record it published
    /// has been read.
    pub fn is_finished(&mut self) -> bool {
        if self.available(1) > 0 {
            return false;
        }
        if !self.shared.closed.load(Ordering::Acquire) {
            return false;
        }
        // Records published before the close are visible after acquiring `closed`.
        self.load_tail() == 0
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
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
}
