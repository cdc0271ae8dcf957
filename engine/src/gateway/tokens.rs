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
//! # Hashing: neighbours for consecutive tokens
//!
//! Clients number their orders: a token is nearly always a fixed part and a counter, and
//! consecutive orders' tokens differ in the last character or two. So a token's slot position
//! is the hash of the token *without its last byte*, plus that byte: the tokens `...0` to `...9`
//! (or `...z`) of one prefix sit in consecutive slots, and after the first of them, the control
//! bytes and slots the next entry's duplicate check and insert touch are already in the cache,
//! as are those of a cancel of a recent order. The 7-bit tag hashbrown filters with comes from
//! a hash of the whole key, so neighbours of one prefix do not share a tag. The 32-bit hash is
//! the tag in its top 7 bits and the position in its low 25; the table's 64-bit hash is the
//! 32-bit one twice over (hashbrown takes the position from the low bits and the tag from the
//! top ones), so position and tag are independent up to 2^25 slots, beyond which the top
//! position bits are the tag's, still random. `cargo run --release -p tickforge-benches
//! --example translator`: 125-146 ns per message with `tickforge client`'s tokens against
//! 298-318 with a plain hash of the whole key; no different with random tokens (BENCHMARKS.md).
//!
//! Both hashes are keyed per process (foldhash, hashbrown's default): tokens are chosen by
//! the clients, and no client can precompute prefixes that collide. What a client does choose
//! is the last byte, so it can fill at most 256 consecutive positions per prefix (62 with
//! letters and digits); hashbrown probes in groups of 16 at triangular distances (16, 48, 96,
//! ... slots on), so a lookup that lands in such a run leaves it within a few groups. A day
//! of runs of 62 (`TOKENS=dense` in the example) is as fast as the client's tokens, at the
//! table's full load too. Tokens shorter than 14 characters end in padding spaces, so their
//! counter is not in the last byte: they get no neighbours, and cost what a plain hash of the
//! whole key would. Account and token are packed into one `u128` and hashed as such (one
//! call, no length prefix).

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// An account's token, packed: the account in the low two bytes, then the 14 token bytes.
pub(crate) fn token_key(account: u16, token: &[u8; 14]) -> u128 {
    let mut bytes = [0u8; 16];
    bytes[..2].copy_from_slice(&account.to_le_bytes());
    bytes[2..].copy_from_slice(token);
    u128::from_le_bytes(bytes)
}

/// The token's last byte in a key (see [`token_key`]).
const LAST_BYTE: u128 = 0xff << 120;
/// The position bits of a 32-bit hash; the top 7 are the tag.
const POSITION: u32 = (1 << 25) - 1;

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

    /// The key's 32-bit hash: the tag (from the whole key) in the top 7 bits, the position
    /// (the key without the token's last byte, plus that byte) in the low 25; see the module
    /// docs.
    #[inline]
    fn hash(&self, key: u128) -> u32 {
        let whole = self.hasher.hash_one(key);
        let prefix = self.hasher.hash_one(key & !LAST_BYTE) as u32;
        let last = (key >> 120) as u32;
        ((whole >> 57) as u32) << 25 | (prefix.wrapping_add(last) & POSITION)
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
    use proptest::prelude::*;

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

    /// Tokens that differ only in their last byte get consecutive positions, in the order of
    /// that byte; their tags come from the whole key, so they do not all share one.
    #[test]
    fn tokens_that_differ_in_the_last_byte_are_neighbours_with_their_own_tags() {
        let t = TokenTable::with_capacity(16);
        let key = |last: u8| {
            let mut token = *b"TF001O0000000 ";
            token[13] = last;
            token_key(1, &token)
        };
        let first = t.hash(key(b'0')) & POSITION;
        for last in b'0'..=b'z' {
            assert_eq!(t.hash(key(last)) & POSITION, first.wrapping_add(u32::from(last - b'0')) & POSITION);
        }
        let tags: std::collections::HashSet<u32> = (b'0'..=b'z').map(|c| t.hash(key(c)) >> 25).collect();
        assert!(tags.len() > 20, "75 keys, {} tags", tags.len());
        // Another prefix (or account) starts somewhere else.
        let other = token_key(2, b"TF001O00000000");
        assert_ne!(t.hash(other) & POSITION, first);
    }

    fn token_strategy() -> impl Strategy<Value = (u16, [u8; 14])> {
        let prefixes = prop::collection::vec(any::<[u8; 13]>(), 1..4);
        (1u16..4, prefixes, any::<u8>(), any::<[u8; 14]>(), any::<bool>()).prop_map(
            |(account, prefixes, last, random, dense)| {
                let token = if dense {
                    // Runs that share a prefix: the neighbourhoods the position hash packs.
                    let mut t = [0u8; 14];
                    t[..13].copy_from_slice(&prefixes[usize::from(last) % prefixes.len()]);
                    t[13] = last;
                    t
                } else {
                    random
                };
                (account, token)
            },
        )
    }

    proptest! {
        /// Against a map: any mix of tokens, dense runs of one prefix and random ones, repeated
        /// or not, through growth from an empty table: every token is found with its own id,
        /// and a token not entered is not found.
        #[test]
        fn the_table_agrees_with_a_map(tokens in prop::collection::vec(token_strategy(), 1..600)) {
            let mut t = TokenTable::default();
            let mut keys: Vec<u128> = Vec::new();
            let mut model = std::collections::HashMap::new();
            for (account, token) in tokens {
                let key = token_key(account, &token);
                let found = t.get(key, |id| keys[id as usize - 1]);
                prop_assert_eq!(found, model.get(&key).copied());
                if found.is_none() {
                    keys.push(key);
                    let id = keys.len() as u64;
                    t.insert_new(key, id);
                    model.insert(key, id);
                }
            }
            for (&key, &id) in &model {
                prop_assert_eq!(t.get(key, |id| keys[id as usize - 1]), Some(id));
                prop_assert_eq!(t.get(key ^ (1 << 127), |id| keys[id as usize - 1]), model.get(&(key ^ (1 << 127))).copied());
            }
        }
    }
}
