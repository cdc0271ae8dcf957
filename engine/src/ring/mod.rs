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

use crate::sync::{Arc, AtomicBool, AtomicUsize, Ordering};
use core::mem::ManuallyDrop;
use crossbeam_utils::CachePadded;

mod item;
#[cfg(all(test, not(loom)))]
mod tests;

pub use item::RingItem;
use item::{lap_flag, Slot, LAP_BIT};

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

/// An end's way to the slot array: its first slot and `capacity - 1`, copied out of `shared`
/// so the hot path does not chase the pointer. Read through `shared`, the slots' address is
/// loaded again after every slot store (the store might have changed the `Box` that holds
/// it): one more load per record, about a tenth of the u64 batch rate.
struct SlotArray<T> {
    base: *const Slot<T>,
    mask: usize,
}

impl<T> SlotArray<T> {
    /// Slots in the ring.
    #[inline(always)]
    fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// The slot that position `pos` maps to.
    #[cfg_attr(loom, allow(dead_code, reason = "only the hints use it, and loom leaves them out"))]
    #[inline(always)]
    fn slot(&self, pos: usize) -> &Slot<T> {
        self.at(pos & self.mask)
    }

    /// Slot `index` of the array (`index` < capacity).
    #[inline(always)]
    fn at(&self, index: usize) -> &Slot<T> {
        debug_assert!(index <= self.mask);
        // SAFETY: `base` is the first of `slots.len()` == capacity slots, which the end's `Arc`
        // keeps alive (an end owns both), and every caller passes `index` < capacity (a
        // position masked, or an index inside one run of `push_with` / `pop_with`).
        unsafe { &*self.base.add(index) }
    }
}

/// The writing end.
pub struct Producer<T> {
    shared: ManuallyDrop<Arc<Shared<T>>>,
    /// The slots, as this end reaches them.
    slots: SlotArray<T>,
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
}

// SAFETY: `slots.base` points into the slots that the end's own `Arc` keeps alive, and only
// this end uses it, within the ordering invariant of the module docs; everything else in an
// end is owned (`Arc<Shared<T>>` is `Send` for `T: Copy + Send`).
unsafe impl<T: Copy + Send> Send for Producer<T> {}
// SAFETY: as for `Producer`.
unsafe impl<T: Copy + Send> Send for Consumer<T> {}

/// The reading end.
pub struct Consumer<T> {
    shared: ManuallyDrop<Arc<Shared<T>>>,
    /// The slots, as this end reaches them.
    slots: SlotArray<T>,
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
}

impl<T> core::fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Producer").field("tail", &self.tail).field("capacity", &self.slots.capacity()).finish()
    }
}

impl<T> core::fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Consumer").field("head", &self.head).field("capacity", &self.slots.capacity()).finish()
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
            slots: SlotArray { base, mask: capacity - 1 },
            tail: 0,
            head_seen: 0,
            own_ahead,
            batch_ahead,
            own_batch_lines,
        },
        Consumer {
            shared: ManuallyDrop::new(shared),
            slots: SlotArray { base, mask: capacity - 1 },
            head: 0,
            tail_seen: 0,
            released: 0,
            release_every: (64 / size_of::<T>().max(1)).clamp(1, (capacity / 4).max(1)),
        },
    )
}

impl<T: RingItem> Producer<T> {
    /// Slots in the ring.
    pub fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Free slots by the cached consumer position (no shared load).
    #[inline(always)]
    fn cached_free(&self) -> usize {
        self.slots.mask + 1 - self.tail.wrapping_sub(self.head_seen)
    }

    /// Free slots, re-reading the consumer's position only if the cached one shows fewer than `want`.
    #[inline(always)]
    fn free(&mut self, want: usize) -> usize {
        let free = self.cached_free();
        if free >= want {
            return free;
        }
        self.head_seen = self.shared.head.load(Ordering::Acquire);
        debug_assert!(self.tail.wrapping_sub(self.head_seen) <= self.slots.mask + 1, "consumer ahead of producer");
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
        let slot = self.slots.at(index);
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
            let slot = self.slots.slot(pos);
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
            let slot = self.slots.slot(pos);
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
            let start = self.slots.base as usize + run.start * slot_size;
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
        self.write(self.tail & self.slots.mask, value, lap_flag(self.tail, self.slots.mask));
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
            for run in runs(self.tail, reach, self.slots.mask) {
                self.own_lines(&run);
            }
        }
        let mut k = 0;
        for run in runs(self.tail, n, self.slots.mask) {
            // A run ends at the end of the array, so its positions share one lap.
            let lap = lap_flag(self.tail.wrapping_add(k), self.slots.mask);
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
        self.slots.capacity()
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
        let flag = self.slots.slot(pos).flag(at).load(Ordering::Acquire);
        let written = flag & LAP_BIT == lap_flag(pos, self.slots.mask);
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
        if tail.wrapping_sub(self.tail_seen) <= self.slots.mask + 1 {
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
            let slot = self.slots.slot(pos);
            crate::prefetch::prefetch(slot.value.with(|p| p));
        }
        #[cfg(loom)]
        let _ = pos;
    }

    #[inline(always)]
    fn read(&self, index: usize) -> T {
        let slot = self.slots.at(index);
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
        let v = self.read(self.head & self.slots.mask);
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
        for run in runs(self.head, n, self.slots.mask) {
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
