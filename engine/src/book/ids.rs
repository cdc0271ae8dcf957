//! `IdIndex`: order id to pool index, a direct-mapped array for small ids and [`IdMap`] for
//! the rest.
//!
//! # Why two tiers
//!
//! Most ids the engine sees are dense: the gateway numbers orders sequentially, exchange feeds
//! and LOBSTER files issue roughly increasing references. For those, an array indexed by the id
//! itself is one load with no hashing or probing, and at 4 bytes an entry sixteen neighbouring
//! ids share a cache line. Ids at or above the array's length (a full ITCH day's references, a
//! client's arbitrary numbers) go to the open-addressing [`IdMap`]. The array is allocated
//! zeroed, so the operating system only backs the pages that ids actually touch.
//!
//! # The live bitmap
//!
//! Beside the array, one bit per id says whether the id is indexed; the array entry is read
//! only when the bit is set, and is left as it was when the id goes (the bit alone says it is
//! gone). The bitmap is 32 times denser than the array, so it stays in cache where the array
//! cannot: a client's cancel of an order that already traded, or of one that never existed,
//! is a common cancel of a venue's day (five in six of W2's, `shared/docs/performance.md`),
//! and without the bitmap each was a load from the array at a random id, a cache miss that
//! was 14 % of W2's run by itself (`perf annotate`, BENCHMARKS.md). Lookups of live ids (an
//! exchange feed's deletes and executes) read both; the branch on the bit predicts them live,
//! so the array's load starts alongside the bitmap's. The bit's upkeep costs 2-5 instructions
//! an insert, lookup or removal (W3 1.8 % more in all, `icount`'s cancel 5 %).
//!
//! # Invariant (what makes the unchecked access sound)
//!
//! The array holds exactly 64 entries per bitmap word (its length is rounded up to whole
//! words), and neither is ever resized. So an id whose word is in the bitmap (the one bounds
//! test of a lookup, which is also the test of the tier) is below the array's length.
#![allow(unsafe_code, reason = "unchecked indexing of the array; the invariant is in the module docs")]

use super::IdMap;

/// Ids per bitmap word.
const WORD: usize = u64::BITS as usize;

#[derive(Debug, Clone)]
pub(crate) struct IdIndex {
    /// Pool index of each id below the array's length; meaningful only where `live` has the
    /// id's bit set. `live.len() * WORD` entries.
    dense: Vec<u32>,
    /// Bit `id % 64` of word `id / 64`: whether array id `id` is indexed.
    live: Vec<u64>,
    sparse: IdMap,
    dense_len: usize,
}

/// The addresses of an [`IdIndex`]'s array and bitmap, copied so that a hint source borrows
/// nothing: only ever handed to a prefetch, which never faults, so a stale copy only asks for
/// the wrong lines.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IndexLines {
    dense: *const u32,
    live: *const u64,
    /// Entries in the array: ids at or above it live in the hash map and get no hint.
    len: u64,
}

impl IndexLines {
    /// Asks for the bitmap word and the array entry of `id`, if the id is in the array.
    #[inline(always)]
    pub(crate) fn prefetch(&self, id: u64) {
        if id < self.len {
            let i = id as usize;
            crate::prefetch::prefetch(self.live.wrapping_add(i / WORD));
            crate::prefetch::prefetch(self.dense.wrapping_add(i));
        }
    }
}

impl IdIndex {
    /// Ids below `dense` (rounded up to a multiple of 64) live in the array; `capacity` sizes
    /// the hash map for the others. `prefault`: make the array and the bitmap resident now
    /// (`book/paging.rs`) instead of page by page as ids first reach them.
    pub(crate) fn new(dense: usize, capacity: usize, prefault: bool) -> IdIndex {
        let words = dense.div_ceil(WORD);
        let mut array = vec![0; words * WORD];
        super::paging::advise(&array);
        let mut live = vec![0; words];
        if prefault {
            super::paging::populate(&mut array);
            super::paging::populate(&mut live);
        }
        IdIndex { dense: array, live, sparse: IdMap::with_capacity(capacity.min(1 << 16)), dense_len: 0 }
    }

    /// The bitmap word of `id` if the id is in the array's range, and the id's bit in it.
    #[inline(always)]
    fn word(&self, id: u64) -> Option<(usize, u64)> {
        let w = usize::try_from(id / WORD as u64).ok().filter(|&w| w < self.live.len())?;
        Some((w, 1 << (id % WORD as u64)))
    }

    /// The array entry of `id`, whose bitmap word exists.
    #[inline(always)]
    fn entry(&self, id: u64) -> u32 {
        debug_assert!(id < self.dense.len() as u64, "id {id} past the array (module invariant broken)");
        // SAFETY: the caller found `id`'s word in the bitmap, and the array has `WORD` entries
        // per word (module invariant), so `id < dense.len()`.
        unsafe { *self.dense.get_unchecked(id as usize) }
    }

    #[inline(always)]
    pub(crate) fn get(&self, id: u64) -> Option<u32> {
        match self.word(id) {
            Some((w, bit)) => (self.live[w] & bit != 0).then(|| self.entry(id)),
            None => self.sparse.get(id),
        }
    }

    /// Where the index keeps each id's lines, for look-ahead hints (`book/look_ahead.rs`).
    pub(crate) fn lines(&self) -> IndexLines {
        IndexLines { dense: self.dense.as_ptr(), live: self.live.as_ptr(), len: self.dense.len() as u64 }
    }

    #[inline(always)]
    pub(crate) fn insert(&mut self, id: u64, value: u32) {
        match self.word(id) {
            Some((w, bit)) => {
                debug_assert_eq!(self.live[w] & bit, 0, "duplicate id {id}");
                self.live[w] |= bit;
                // SAFETY: as in `entry`.
                unsafe { *self.dense.get_unchecked_mut(id as usize) = value };
                self.dense_len += 1;
            }
            None => self.sparse.insert(id, value),
        }
    }

    /// Removes `id`; returns the index it mapped to. Also the lookup of callers that remove the
    /// order whenever it exists (a delete): one bounds test and one lookup instead of two.
    #[inline(always)]
    pub(crate) fn remove(&mut self, id: u64) -> Option<u32> {
        match self.word(id) {
            Some((w, bit)) => {
                let word = self.live[w];
                if word & bit == 0 {
                    return None;
                }
                self.live[w] = word & !bit;
                self.dense_len -= 1;
                Some(self.entry(id))
            }
            None => self.sparse.remove(id),
        }
    }

    /// Removes `id`, which is indexed (an order taken from the book): [`IdIndex::remove`]
    /// without the test and without reading the entry.
    #[inline(always)]
    pub(crate) fn forget(&mut self, id: u64) {
        match self.word(id) {
            Some((w, bit)) => {
                debug_assert_ne!(self.live[w] & bit, 0, "id {id} is not indexed");
                self.live[w] &= !bit;
                self.dense_len -= 1;
            }
            None => {
                self.sparse.remove(id);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.dense_len + self.sparse.len()
    }

    pub(crate) fn grows(&self) -> u64 {
        self.sparse.grows()
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_types, reason = "the test's model map: looked up, never iterated")]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #[test]
        fn behaves_like_a_hashmap(ops in proptest::collection::vec((0u8..4, prop_oneof![0u64..260, 1u64 << 40..(1u64 << 40) + 20, Just(u64::MAX)], any::<u32>()), 0..600)) {
            // 130 ids asked for: the array rounds up to three bitmap words (192 ids); the ids
            // from 192 on go to the hash map.
            let mut ours = IdIndex::new(130, 4, false);
            let mut model: HashMap<u64, u32> = HashMap::new();
            for (op, id, value) in ops {
                match op {
                    0 => if let std::collections::hash_map::Entry::Vacant(e) = model.entry(id) {
                        e.insert(value);
                        ours.insert(id, value);
                    },
                    1 => prop_assert_eq!(ours.remove(id), model.remove(&id)),
                    2 => if model.remove(&id).is_some() {
                        ours.forget(id);
                    },
                    _ => prop_assert_eq!(ours.get(id), model.get(&id).copied()),
                }
                prop_assert_eq!(ours.len(), model.len());
            }
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn prefault_makes_the_array_and_the_bitmap_resident() {
        use crate::book::paging::tests::resident_pages;
        let ours = IdIndex::new(1 << 22, 4, true);
        assert_eq!(resident_pages(&ours.dense).0, resident_pages(&ours.dense).1);
        assert_eq!(resident_pages(&ours.live).0, resident_pages(&ours.live).1);
    }

    #[test]
    fn the_array_is_whole_bitmap_words() {
        let ours = IdIndex::new(130, 4, false);
        let len = ours.lines().len;
        assert_eq!(len, 192);
        assert_eq!(IdIndex::new(128, 4, true).lines().len, 128);
        assert_eq!(IdIndex::new(0, 4, true).lines().len, 0);
    }
}
