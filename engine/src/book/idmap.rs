//! `IdMap`: order id (u64) to pool index (u32), open addressing with linear probing.
//!
//! # Design
//!
//! Order lookups are on every cancel, execute and replace, so this is the hot map of the engine.
//! A power-of-two table of `(key, value)` pairs, Fibonacci hashing (multiply by 2^64/φ, keep
//! the top bits), linear probing, and backward-shift deletion (no tombstones, so probe lengths
//! do not decay under the churn of a trading day). Key 0 marks an empty slot: order id 0 is
//! not a valid id anywhere in the engine (the matching core rejects it, book building counts it
//! as unknown).
//!
//! The table is sized at construction and grows (doubling, one allocation) only when the load
//! would pass 1/2; [`IdMap::grows`] counts how often that happened so a run can report it.

#[derive(Debug, Clone, Copy)]
struct Slot {
    key: u64,
    value: u32,
}

const EMPTY: Slot = Slot { key: 0, value: 0 };

/// Map from non-zero u64 ids to u32 indices.
#[derive(Debug, Clone)]
pub(crate) struct IdMap {
    slots: Vec<Slot>,
    mask: usize,
    /// log2 of the table size.
    bits: u32,
    len: usize,
    grows: u64,
    /// The value of id 0, which cannot live in the table.
    zero: Option<u32>,
}

impl IdMap {
    /// A map that holds `capacity` ids without growing.
    pub(crate) fn with_capacity(capacity: usize) -> IdMap {
        let size = (capacity.max(8) * 2).next_power_of_two();
        IdMap { slots: vec![EMPTY; size], mask: size - 1, bits: size.trailing_zeros(), len: 0, grows: 0, zero: None }
    }

    #[inline]
    fn home(&self, key: u64) -> usize {
        // Locality-preserving: ids that differ only in their low bits (consecutive ids, as the
        // gateway assigns and exchanges mostly issue) land in consecutive slots, so the slots of
        // recent orders share cache lines; the high bits are mixed in so ids a table-size apart
        // do not collide.
        let high = (key >> self.bits).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((key ^ high) as usize) & self.mask
    }

    /// The value for `key`.
    #[inline]
    pub(crate) fn get(&self, key: u64) -> Option<u32> {
        if key == 0 {
            return self.zero;
        }
        let mut i = self.home(key);
        loop {
            let s = self.slots[i];
            if s.key == key {
                return Some(s.value);
            }
            if s.key == 0 {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Inserts `key` (non-zero, not present) with `value`.
    #[inline]
    pub(crate) fn insert(&mut self, key: u64, value: u32) {
        if key == 0 {
            debug_assert!(self.zero.is_none(), "duplicate id 0");
            self.len += usize::from(self.zero.is_none());
            self.zero = Some(value);
            return;
        }
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mut i = self.home(key);
        while self.slots[i].key != 0 {
            debug_assert!(self.slots[i].key != key, "duplicate id {key}");
            i = (i + 1) & self.mask;
        }
        self.slots[i] = Slot { key, value };
        self.len += 1;
    }

    /// Removes `key`, returning its value.
    #[inline]
    pub(crate) fn remove(&mut self, key: u64) -> Option<u32> {
        if key == 0 {
            let v = self.zero.take();
            self.len -= usize::from(v.is_some());
            return v;
        }
        let mut i = self.home(key);
        loop {
            let s = self.slots[i];
            if s.key == key {
                break;
            }
            if s.key == 0 {
                return None;
            }
            i = (i + 1) & self.mask;
        }
        let value = self.slots[i].value;
        // Backward-shift deletion: pull later members of the probe run into the hole when
        // their home slot is at or before it (cyclically).
        let mut hole = i;
        let mut j = (i + 1) & self.mask;
        loop {
            let s = self.slots[j];
            if s.key == 0 {
                break;
            }
            let home = self.home(s.key);
            // s may move to `hole` iff `home` is not cyclically within (hole, j].
            let dist_home = j.wrapping_sub(home) & self.mask;
            let dist_hole = j.wrapping_sub(hole) & self.mask;
            if dist_home >= dist_hole {
                self.slots[hole] = s;
                hole = j;
            }
            j = (j + 1) & self.mask;
        }
        self.slots[hole] = EMPTY;
        self.len -= 1;
        Some(value)
    }

    /// Number of ids.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// How many times the table had to grow.
    pub(crate) fn grows(&self) -> u64 {
        self.grows
    }

    #[cold]
    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        let size = old.len() * 2;
        self.slots = vec![EMPTY; size];
        self.mask = size - 1;
        self.bits = size.trailing_zeros();
        self.len = usize::from(self.zero.is_some());
        self.grows += 1;
        for s in old {
            if s.key != 0 {
                self.insert(s.key, s.value);
            }
        }
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
        fn behaves_like_a_hashmap(ops in proptest::collection::vec((0u8..3, 1u64..64, any::<u32>()), 0..400)) {
            let mut ours = IdMap::with_capacity(4);
            let mut model: HashMap<u64, u32> = HashMap::new();
            for (op, key, value) in ops {
                match op {
                    0 => if let std::collections::hash_map::Entry::Vacant(e) = model.entry(key) {
                        e.insert(value);
                        ours.insert(key, value);
                    },
                    1 => prop_assert_eq!(ours.remove(key), model.remove(&key)),
                    _ => prop_assert_eq!(ours.get(key), model.get(&key).copied()),
                }
                prop_assert_eq!(ours.len(), model.len());
                for k in 0..64 {
                    prop_assert_eq!(ours.get(k), model.get(&k).copied());
                }
            }
        }
    }
}
