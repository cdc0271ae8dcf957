//! Reading the books: top of book, depth snapshots, the resting orders, and the state hash.

use super::{side_index, Engine, NIL};
use tickforge_wire::Side;

/// One price level as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LevelView {
    /// Price in 1/10,000 units.
    pub price: i64,
    /// Shown quantity at the level.
    pub qty: u64,
    /// Orders at the level.
    pub orders: u32,
}

/// Best bid and best ask of an instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct TopOfBook {
    /// Best bid, if any.
    pub bid: Option<LevelView>,
    /// Best ask, if any.
    pub ask: Option<LevelView>,
}

/// A resting order as seen from outside (for snapshots and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderView {
    /// Order id.
    pub id: u64,
    /// Owning session (0 for market data).
    pub session: u16,
    /// Price.
    pub price: i64,
    /// Shown quantity.
    pub visible: u32,
    /// Reserve quantity.
    pub hidden: u32,
}

/// FNV-1a, 64-bit: small, stable across platforms and releases, and enough to tell two books
/// apart in a determinism check (this is not a cryptographic commitment).
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv::new()
    }
}

impl Fnv {
    /// The FNV-1a offset basis.
    pub const fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    /// Hashes `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    /// Hashes a u64 (little-endian).
    pub fn u64(&mut self, v: u64) {
        self.write(&v.to_le_bytes());
    }
    /// Hashes `bytes` a 64-bit little-endian word at a time (a trailing partial word is
    /// zero-padded): FNV-1a's xor-then-multiply on words, with a rotation so high bits feed
    /// back into low ones. Eight multiplies per 64-byte record instead of 64: cheap enough for
    /// the gateway to hash every output at full speed.
    pub fn words(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0 ^ w).wrapping_mul(0x0100_0000_01b3).rotate_left(29);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.0 = (self.0 ^ u64::from_le_bytes(w)).wrapping_mul(0x0100_0000_01b3).rotate_left(29);
        }
    }
    /// The hash.
    pub fn finish(self) -> u64 {
        self.0
    }
}

impl Engine {
    /// The top `n` levels of one side of an instrument, best first.
    pub fn depth(&self, instrument: u16, side: Side, n: usize) -> Vec<LevelView> {
        let Some(b) = self.books.get(usize::from(instrument)) else { return Vec::new() };
        b.sides[side_index(side as u8)]
            .iter()
            .rev()
            .take(n)
            .map(|e| {
                let l = &self.levels[e.level as usize];
                LevelView { price: l.price, qty: l.qty, orders: l.count }
            })
            .collect()
    }

    /// The levels of one side, best first, without allocating.
    pub fn levels_best_first(&self, instrument: u16, side: Side) -> impl Iterator<Item = LevelView> + '_ {
        let ladder: &[super::LadderEntry] =
            self.books.get(usize::from(instrument)).map_or(&[], |b| &b.sides[side_index(side as u8)]);
        ladder.iter().rev().map(|e| {
            let l = &self.levels[e.level as usize];
            LevelView { price: l.price, qty: l.qty, orders: l.count }
        })
    }

    /// Best bid and ask of an instrument.
    pub fn top_of_book(&self, instrument: u16) -> TopOfBook {
        let view = |side: usize| {
            let b = self.books.get(usize::from(instrument))?;
            let e = b.sides[side].last()?;
            let l = &self.levels[e.level as usize];
            Some(LevelView { price: l.price, qty: l.qty, orders: l.count })
        };
        TopOfBook { bid: view(0), ask: view(1) }
    }

    /// Shown quantity at `price` on `side` (0 if no level).
    pub fn level_qty(&self, instrument: u16, side: Side, price: i64) -> u64 {
        let Some(b) = self.books.get(usize::from(instrument)) else { return 0 };
        let ladder = &b.sides[side_index(side as u8)];
        match Self::ladder_find(ladder, super::key_of(side as u8, price)) {
            Ok(pos) => self.levels[ladder[pos].level as usize].qty,
            Err(_) => 0,
        }
    }

    /// The resting orders of one side, in priority order (best price first, then time).
    pub fn orders(&self, instrument: u16, side: Side) -> Vec<OrderView> {
        let mut v = Vec::new();
        let Some(b) = self.books.get(usize::from(instrument)) else { return v };
        for e in b.sides[side_index(side as u8)].iter().rev() {
            let mut oi = self.levels[e.level as usize].head;
            while oi != NIL {
                let o = &self.orders[oi as usize];
                v.push(OrderView {
                    id: o.id,
                    session: o.session,
                    price: o.price,
                    visible: o.visible,
                    hidden: o.hidden,
                });
                oi = o.next;
            }
        }
        v
    }

    /// Ids of the orders at one price level, in time priority.
    pub fn level_order_ids(&self, instrument: u16, side: Side, price: i64) -> Vec<u64> {
        let mut v = Vec::new();
        let Some(b) = self.books.get(usize::from(instrument)) else { return v };
        let ladder = &b.sides[side_index(side as u8)];
        if let Ok(pos) = Self::ladder_find(ladder, super::key_of(side as u8, price)) {
            let mut oi = self.levels[ladder[pos].level as usize].head;
            while oi != NIL {
                v.push(self.orders[oi as usize].id);
                oi = self.orders[oi as usize].next;
            }
        }
        v
    }

    /// A live order by id.
    pub fn order(&self, id: u64) -> Option<OrderView> {
        let oi = self.ids.get(id)?;
        let o = &self.orders[oi as usize];
        Some(OrderView { id: o.id, session: o.session, price: o.price, visible: o.visible, hidden: o.hidden })
    }

    /// Whether an order with this id is live.
    pub fn orders_contains(&self, id: u64) -> bool {
        self.ids.get(id).is_some()
    }

    /// Instruments with a book (configured or seen in market data).
    pub fn instruments(&self) -> impl Iterator<Item = u16> + '_ {
        self.books
            .iter()
            .enumerate()
            .filter(|(_, b)| b.configured || !b.sides[0].is_empty() || !b.sides[1].is_empty())
            .map(|(i, _)| i as u16)
    }

    /// Number of non-empty books.
    pub fn book_count(&self) -> usize {
        self.books.iter().filter(|b| !b.sides[0].is_empty() || !b.sides[1].is_empty()).count()
    }

    /// A deterministic hash of every book: for each instrument in order, each side, each level
    /// best first, each order in priority order (id, session, price, shown and reserve
    /// quantities), plus each book's reference price and status, and the last match number.
    /// Pool indices and allocation history do not enter it, so two engines that reached the
    /// same books by different routes hash the same.
    pub fn state_hash(&self) -> u64 {
        let mut h = Fnv::new();
        for (i, b) in self.books.iter().enumerate() {
            if b.sides[0].is_empty() && b.sides[1].is_empty() && !b.configured {
                continue;
            }
            h.u64(i as u64);
            h.u64(b.reference_price as u64);
            h.u64(b.status as u64);
            for side in &b.sides {
                h.u64(side.len() as u64);
                for e in side.iter().rev() {
                    let mut oi = self.levels[e.level as usize].head;
                    while oi != NIL {
                        let o = &self.orders[oi as usize];
                        h.u64(o.id);
                        h.u64(u64::from(o.session));
                        h.u64(o.price as u64);
                        h.u64(u64::from(o.visible) << 32 | u64::from(o.hidden));
                        oi = o.next;
                    }
                }
            }
        }
        h.u64(self.match_number);
        h.finish()
    }
}

impl Engine {
    /// Checks the internal structure (every ladder sorted and pointing at live levels whose
    /// count, quantity and links agree with their orders; the index agrees with the orders).
    /// For tests and debugging; O(orders).
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut seen = 0usize;
        for (bi, b) in self.books.iter().enumerate() {
            for (si, ladder) in b.sides.iter().enumerate() {
                for w in ladder.windows(2) {
                    if w[0].key >= w[1].key {
                        return Err(format!("book {bi} side {si}: ladder not sorted"));
                    }
                }
                for e in ladder {
                    let l = &self.levels[e.level as usize];
                    let key = if si == 0 { l.price } else { -l.price };
                    if key != e.key {
                        return Err(format!("book {bi} side {si}: entry key {} but level price {}", e.key, l.price));
                    }
                    let (mut count, mut qty, mut prev, mut oi) = (0u32, 0u64, NIL, l.head);
                    while oi != NIL {
                        let o = &self.orders[oi as usize];
                        if !o.live || o.level != e.level || o.prev != prev || o.price != l.price || o.visible == 0 {
                            return Err(format!("book {bi} side {si} price {}: bad order {o:?}", l.price));
                        }
                        if self.ids.get(o.id) != Some(oi) {
                            return Err(format!("order {} not indexed", o.id));
                        }
                        count += 1;
                        qty += u64::from(o.visible);
                        prev = oi;
                        oi = o.next;
                    }
                    if count == 0 || count != l.count || qty != l.qty || prev != l.tail {
                        return Err(format!(
                            "book {bi} side {si} price {}: level {l:?} but {count} orders, qty {qty}",
                            l.price
                        ));
                    }
                    seen += count as usize;
                }
            }
        }
        if seen != self.ids.len() {
            return Err(format!("{seen} orders in books, {} indexed", self.ids.len()));
        }
        Ok(())
    }
}
