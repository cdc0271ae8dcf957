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
//! Entries store `index + 1`, so 0 means absent.

use super::IdMap;

#[derive(Debug, Clone)]
pub(crate) struct IdIndex {
    dense: Vec<u32>,
    sparse: IdMap,
    dense_len: usize,
}

impl IdIndex {
    /// Ids below `dense` live in the array; `capacity` sizes the hash map for the others.
    pub(crate) fn new(dense: usize, capacity: usize) -> IdIndex {
        let dense = vec![0; dense];
        super::hugepages::advise(&dense);
        IdIndex { dense, sparse: IdMap::with_capacity(capacity.min(1 << 16)), dense_len: 0 }
    }

    #[inline(always)]
    pub(crate) fn get(&self, id: u64) -> Option<u32> {
        match self.dense.get(id as usize) {
            Some(&v) if id < self.dense.len() as u64 => v.checked_sub(1),
            _ => self.sparse.get(id),
        }
    }

    /// The array's first entry and its length, for look-ahead hints (`book/look_ahead.rs`).
    pub(crate) fn dense_array(&self) -> (*const u32, usize) {
        (self.dense.as_ptr(), self.dense.len())
    }

    #[inline(always)]
    pub(crate) fn insert(&mut self, id: u64, value: u32) {
        if id < self.dense.len() as u64 {
            debug_assert_eq!(self.dense[id as usize], 0, "duplicate id {id}");
            self.dense[id as usize] = value + 1;
            self.dense_len += 1;
        } else {
            self.sparse.insert(id, value);
        }
    }

    /// Removes `id`; returns the index it mapped to. Also the lookup of callers that remove the
    /// order whenever it exists (a delete): one bounds test and load instead of two.
    #[inline(always)]
    pub(crate) fn remove(&mut self, id: u64) -> Option<u32> {
        if id < self.dense.len() as u64 {
            let v = std::mem::take(&mut self.dense[id as usize]).checked_sub(1);
            self.dense_len -= usize::from(v.is_some());
            v
        } else {
            self.sparse.remove(id)
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
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #[test]
        fn behaves_like_a_hashmap(ops in proptest::collection::vec((0u8..3, prop_oneof![0u64..40, 1u64 << 40..(1u64 << 40) + 20, Just(u64::MAX)], any::<u32>()), 0..300)) {
            let mut ours = IdIndex::new(32, 4);
            let mut model: HashMap<u64, u32> = HashMap::new();
            for (op, id, value) in ops {
                let value = value % (u32::MAX - 1);
                match op {
                    0 => if let std::collections::hash_map::Entry::Vacant(e) = model.entry(id) {
                        e.insert(value);
                        ours.insert(id, value);
                    },
                    1 => prop_assert_eq!(ours.remove(id), model.remove(&id)),
                    _ => prop_assert_eq!(ours.get(id), model.get(&id).copied()),
                }
                prop_assert_eq!(ours.len(), model.len());
            }
        }
    }
}
