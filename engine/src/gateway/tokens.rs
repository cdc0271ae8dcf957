//! The day's order tokens: which order an account's OUCH token names.
//!
//! # Design
//!
//! A venue looks a token up for nearly every inbound message (an entry's duplicate check, the
//! order a cancel, replace or modify names) and keeps every token for the whole day, so the
//! table is large (a day of 2^20 orders) and its lookups land anywhere in it. A map holding the
//! keys, `(account, token) -> id`, has 24-byte slots: sized for that day, 48 MiB of slots and
//! 2 MiB of control bytes, and each lookup missed the caches twice, on the control bytes and on
//! the slot (`perf` of `tickforge serve` under load: 43 % of the event-loop thread's time in
//! the translator, nearly all of it on those two loads; BENCHMARKS.md, issue 7).
//!
//! # Layout
//!
//! A `hashbrown::HashTable` of 8-byte slots, each a 32-bit hash of the key and the order's
//! 32-bit id (so a day holds at most [`MAX_IDS`] orders, far beyond what the translator's
//! records of them would leave memory for); the key of each id (its account and token) lives
//! in the caller's record of the order, which the equality test reads through a closure once
//! the stored hash matches. A lookup of a token not seen yet (every entry's duplicate check)
//! reads only control bytes, 2 MiB for the day, unless a 7-bit tag matches by chance (1 in 128
//! per probed slot, and then the slot's hash settles it); a lookup that finds its order reads
//! one slot and the order's record, which the caller reads next anyway. Growing rehashes from
//! the stored hashes, in slot order. (Tried: ids alone in the slots, whose rehash read every
//! order's record in hash order, a cache miss each: the doubling at 3,670,017 tokens paused
//! 2.1x longer than the keyed map's; and 16-byte slots of a 64-bit hash and id, 12-36 % slower
//! per message than ids alone. BENCHMARKS.md.)
//!
//! The table's 64-bit hash is the 32-bit one twice over: hashbrown takes the slot position
//! from the low bits and the 7-bit tag from the top ones, which are independent up to 2^25
//! slots.
//!
//! # Hashing
//!
//! Tokens are chosen by the clients, so the hash is keyed per process (foldhash, hashbrown's
//! default): no client can precompute tokens that collide. Account and token are packed into
//! one `u128` and hashed as such (one call, no length prefix).

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// An account's token, packed: the account in the low two bytes, then the 14 token bytes.
pub(crate) fn token_key(account: u16, token: &[u8; 14]) -> u128 {
    let mut bytes = [0u8; 16];
    bytes[..2].copy_from_slice(&account.to_le_bytes());
    bytes[2..].copy_from_slice(token);
    u128::from_le_bytes(bytes)
}

/// The largest order id the table holds.
pub(crate) const MAX_IDS: u64 = u32::MAX as u64;

/// One remembered token: its key's hash and its order's id.
#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: u32,
    id: u32,
}

/// The table's 64-bit hash of a slot's 32-bit one (see the module docs).
#[inline]
fn spread(hash: u32) -> u64 {
    u64::from(hash) << 32 | u64::from(hash)
}

/// Order ids by token key; see the module docs.
#[derive(Default)]
pub(crate) struct TokenTable {
    ids: HashTable<Slot>,
    hasher: DefaultHashBuilder,
}

impl std::fmt::Debug for TokenTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenTable").field("len", &self.ids.len()).field("capacity", &self.ids.capacity()).finish()
    }
}

impl TokenTable {
    /// A table that holds `n` tokens before it grows.
    pub(crate) fn with_capacity(n: usize) -> TokenTable {
        TokenTable { ids: HashTable::with_capacity(n), hasher: DefaultHashBuilder::default() }
    }

    #[inline]
    fn hash(&self, key: u128) -> u32 {
        self.hasher.hash_one(key) as u32
    }

    /// The id remembered under `key`; `key_of(id)` is the key of an id already in the table.
    #[inline]
    pub(crate) fn get(&self, key: u128, key_of: impl Fn(u64) -> u128) -> Option<u64> {
        let hash = self.hash(key);
        let found = self.ids.find(spread(hash), |s| s.hash == hash && key_of(u64::from(s.id)) == key);
        found.map(|s| u64::from(s.id))
    }

    /// Remembers `id` (1 to [`MAX_IDS`]) under `key`, which [`TokenTable::get`] did not find.
    #[inline]
    pub(crate) fn insert_new(&mut self, key: u128, id: u64) {
        let hash = self.hash(key);
        let id = u32::try_from(id).expect("the caller keeps ids within MAX_IDS");
        self.ids.insert_unique(spread(hash), Slot { hash, id }, |s| spread(s.hash));
    }

    /// Tokens remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// Tokens the table holds before it grows.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.ids.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys differ by account and by every token byte; ids come back for exactly their keys,
    /// through growth from an empty table (every id rehashed through `key_of`).
    #[test]
    fn ids_come_back_for_their_own_token_and_account_only() {
        let mut keys: Vec<u128> = Vec::new();
        let mut t = TokenTable::default();
        for i in 0..5_000u64 {
            let mut token = *b"TF000O00000000";
            token[(i % 14) as usize] = b'a' + (i / 14 % 26) as u8;
            token[13 - (i % 7) as usize] ^= (i % 3) as u8;
            let key = token_key((i % 3) as u16 + 1, &token);
            if keys.contains(&key) {
                continue;
            }
            assert_eq!(t.get(key, |id| keys[id as usize - 1]), None);
            keys.push(key);
            let id = keys.len() as u64;
            t.insert_new(key, id);
        }
        assert_eq!(t.len(), keys.len());
        for (i, &key) in keys.iter().enumerate() {
            assert_eq!(t.get(key, |id| keys[id as usize - 1]), Some(i as u64 + 1));
            // The top bit of the last token byte: never set in an ASCII token, so never a key here.
            assert_eq!(t.get(key ^ (1 << 127), |id| keys[id as usize - 1]), None);
        }
        assert_ne!(token_key(1, b"ABCDEFGHIJKLMN"), token_key(2, b"ABCDEFGHIJKLMN"));
        assert_ne!(token_key(1, b"ABCDEFGHIJKLMN"), token_key(1, b"ABCDEFGHIJKLMO"));
    }
}
