//! What a slot holds: the [`RingItem`] contract, the lap flag a record carries, and the slot
//! itself (see "Lap flags" in the ring's module docs).
#![allow(unsafe_code, reason = "the lap flag byte viewed as an atomic; the block states its invariant")]

use crate::sync::{AtomicU8, Cell};
use core::mem::MaybeUninit;

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
pub(super) const LAP_BIT: u8 = 0x80;

/// The lap flag that the record at position `pos` carries: the top bit set in even laps (lap
/// 0 included, so the zeroed slots of a new ring read as not yet written) and clear in odd
/// ones. The lap's parity is the position's bit worth `mask + 1` (the capacity).
#[inline(always)]
pub(super) fn lap_flag(pos: usize, mask: usize) -> u8 {
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
pub(super) struct Slot<T> {
    pub(super) value: Cell<MaybeUninit<T>>,
    #[cfg(loom)]
    flag: AtomicU8,
}

impl<T: RingItem> Slot<T> {
    pub(super) fn new() -> Slot<T> {
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
    pub(super) fn flag(&self, at: usize) -> &AtomicU8 {
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
    pub(super) fn flag(&self, _at: usize) -> &AtomicU8 {
        &self.flag
    }
}
