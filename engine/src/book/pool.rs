//! `Pool<T>`: the order and level pools, indexed without bounds checks.
//!
//! # Why
//!
//! Every step of the book (linking an order, walking a FIFO, updating a level) indexes a pool
//! with an index read from another record. With `Vec`'s checked indexing each of those is a
//! compare and a branch to a panic that never happens, and the panic paths keep registers
//! busy. Without them the matching workloads run 4-5 % fewer instructions and book building
//! 8 % fewer (callgrind; `BENCHMARKS.md`, issues 3 and 6).
//!
//! # Invariant (what makes the unchecked access sound)
//!
//! A pool only grows: [`Pool::push`] appends, nothing removes or truncates (freed slots stay
//! in place and go on the engine's free lists). Every index the engine stores (an order's
//! `prev`, `next` and `level`, a level's `head` and `tail`, the id index, the free lists, the
//! ladders) was returned by the engine's allocators as the position of a pushed element, or
//! is `NIL`, which the engine compares against before it indexes. So every index used is
//! below `len`. Debug builds (every test) still check it, and panic where a bug breaks it.
#![allow(unsafe_code, reason = "unchecked indexing; the invariant is in the module docs")]

use core::ops::{Deref, Index, IndexMut};

/// A growable array of `T` indexed without bounds checks in release builds.
#[derive(Debug, Clone)]
pub(crate) struct Pool<T>(Vec<T>);

impl<T> Pool<T> {
    /// An empty pool with room for `capacity` elements.
    pub(crate) fn with_capacity(capacity: usize) -> Pool<T> {
        Pool(Vec::with_capacity(capacity))
    }

    /// Appends `value`; its index is the old length.
    #[inline]
    pub(crate) fn push(&mut self, value: T) {
        self.0.push(value);
    }

    /// Makes room for at least `additional` more elements.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.0.reserve(additional);
    }

    /// Elements the pool holds without reallocating.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.0.capacity()
    }

    /// The backing vector, for [`super::paging::advise`].
    pub(crate) fn vec(&self) -> &Vec<T> {
        &self.0
    }

    /// Faults in every page of the pool's capacity ([`super::paging::populate`]).
    pub(crate) fn prefault(&mut self) {
        super::paging::populate(&mut self.0);
    }
}

impl<T> Deref for Pool<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T> Index<usize> for Pool<T> {
    type Output = T;

    #[inline(always)]
    fn index(&self, i: usize) -> &T {
        debug_assert!(i < self.0.len(), "pool index {i} out of {} (module invariant broken)", self.0.len());
        // SAFETY: `i < len` by the module invariant (indices come from pushes; the pool never
        // shrinks); debug builds check it above.
        unsafe { self.0.get_unchecked(i) }
    }
}

impl<T> IndexMut<usize> for Pool<T> {
    #[inline(always)]
    fn index_mut(&mut self, i: usize) -> &mut T {
        debug_assert!(i < self.0.len(), "pool index {i} out of {} (module invariant broken)", self.0.len());
        // SAFETY: as in `index`.
        unsafe { self.0.get_unchecked_mut(i) }
    }
}

#[cfg(test)]
mod tests {
    use super::Pool;

    #[test]
    fn indexes_what_was_pushed() {
        let mut p = Pool::with_capacity(2);
        for v in 0..10u32 {
            p.push(v * 3);
        }
        p[4] = 7;
        assert_eq!((p[0], p[4], p[9], p.len()), (0, 7, 27, 10));
        assert!(p.capacity() >= 10);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "module invariant broken")]
    fn debug_builds_catch_an_index_past_the_end() {
        let mut p = Pool::with_capacity(1);
        p.push(1u8);
        let _ = p[1];
    }
}
