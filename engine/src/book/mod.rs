//! The order book and matching core: a sans-I/O state machine.
//!
//! # Design
//!
//! One [`Engine`] holds the books of many instruments. Commands and market-data events arrive as
//! 64-byte [`Record`]s; [`Engine::apply`] changes the books and appends its outputs (accepted,
//! rejected, fills, cancels, replaces, book changes) to a caller-owned `Vec<Record>`. Time is
//! whatever the record's `ts_event` says: nothing here reads a clock, does I/O or uses
//! randomness, so the same records give the same outputs and the same [`Engine::state_hash`].
//!
//! # Layout
//!
//! - **Order pool**: a `Pool<Order>` (48 bytes each) preallocated to `max_orders`, with an
//!   intrusive free list. Orders are linked into their price level by `prev`/`next` indices.
//! - **Levels**: a pool of `Level`s (price, displayed quantity, order count, FIFO head/tail),
//!   also with a free list. Both pools only grow, so the indices stored in orders and levels
//!   are always in bounds and the pools index without bounds checks (`book/pool.rs`).
//! - **Ladders**: per instrument and side, a `Vec` of `(key, level)` sorted by key, where the key
//!   is the price for bids and the negated price for asks, so the best level of either side is
//!   the *last* entry. The best price is a load; adding or removing a level at the top (the
//!   common case) moves nothing; a level deeper in the book moves the entries above it.
//!   Finding a level scans a few entries from the top, then binary-searches.
//! - **Id index**: order id to pool index: a direct array for dense ids, with a bitmap of the
//!   live ones that answers a lookup of a gone order from cache, and an open-addressing hash
//!   map for the rest (`book/ids.rs`).
//!
//! Nothing allocates in steady state: the pools, the index, the ladders and the output vector
//! are sized up front (`engine/tests/no_alloc.rs` proves it with a counting allocator). In
//! book-building mode the pools grow when a capture needs more (counted in [`Stats`]); in
//! matching mode a full pool rejects with `CapacityExceeded`.
//!
//! # Matching rules
//!
//! Price-time priority. A limit order trades with the best contra levels while they cross its
//! limit, at the resting order's price; a market order trades at any price and never rests.
//! `Ioc` and market remainders are cancelled (`CancelReason::Immediate`); `Fok` and
//! minimum-quantity orders are rejected (`CannotFill`) unless enough is executable at once;
//! post-only orders that would cross are rejected. Reserve (iceberg) orders show at most their
//! display quantity; when the shown part is used up it is refreshed from the reserve and the
//! order goes to the back of its level. A replace that changes the price or raises the quantity
//! loses priority (and may trade); one that only lowers the quantity keeps it.
//! Self-trade prevention applies when both sides belong to the same session/account
//! (`session` field) and that account has a mode other than `Off`; see [`StpMode`].
//!
//! # Hot paths
//!
//! A plain limit order (day or GTC, no flags, display or minimum quantity) on an instrument with no
//! instrument-level checks (tick 1, no band or notional limit, trading; cached per book)
//! that passes the per-order checks cannot be rejected, so `new_order` takes it straight to
//! accept, match and rest; a plain market order (no other flag, not fill-or-kill, with
//! something to trade against) likewise goes straight to accept, match and cancel the rest;
//! everything else goes through the full validation order (`book/matching.rs`). A sweep frees
//! the orders it takes whole as it goes and updates their level (head, count, quantity) once,
//! not order by order; the best level it empties is popped inline. Without self-trade prevention the matching loop runs in a function of its own.
//! Whether an order crosses is decided from the best contra ladder entry's key, without
//! loading its level. Output records are built in 16-byte chunks and written with four stores
//! each (`book/emit.rs`).
//!
//! # Known limitations
//!
//! Mass cancel and end-of-day expiry walk every level of the affected books (they are rare);
//! everything else is O(1) or O(levels crossed).
// The matching core is deterministic: no clock, no environment, no randomly keyed map (clippy.toml).
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

mod config;
mod emit;
mod idmap;
mod ids;
mod look_ahead;
mod marketdata;
mod matching;
mod paging;
mod pool;
pub mod settings;
mod state;

pub use config::{EngineConfig, InstrumentConfig, PriceBand, Stats, StpMode, TradingStatus};
pub(crate) use idmap::IdMap;
use ids::IdIndex;
pub use look_ahead::{LookAhead, LOOK_AHEAD};
use pool::Pool;
pub use state::{Fnv, LevelView, OrderView, TopOfBook};

use tickforge_wire::record::{FLAG_HIDDEN, FLAG_POST_ONLY, FLAG_TOP};
use tickforge_wire::{Kind, Record, RejectReason, Side};

/// Index value meaning "none" in the intrusive lists.
pub(crate) const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Order {
    pub(crate) id: u64,
    pub(crate) price: i64,
    /// Shown quantity remaining.
    pub(crate) visible: u32,
    /// Reserve quantity remaining (not shown).
    pub(crate) hidden: u32,
    /// Display size of a reserve order (0 = not a reserve order).
    pub(crate) display: u32,
    pub(crate) prev: u32,
    pub(crate) next: u32,
    pub(crate) level: u32,
    pub(crate) instrument: u16,
    pub(crate) session: u16,
    pub(crate) side: u8,
    pub(crate) tif: u8,
    pub(crate) flags: u8,
    pub(crate) live: bool,
}

const _: () = assert!(core::mem::size_of::<Order>() == 48);

impl Order {
    pub(crate) fn leaves(&self) -> u32 {
        self.visible + self.hidden
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Level {
    pub(crate) price: i64,
    /// Sum of the shown quantity of its orders.
    pub(crate) qty: u64,
    pub(crate) count: u32,
    pub(crate) head: u32,
    pub(crate) tail: u32,
    /// Free-list link when unused.
    pub(crate) next_free: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LadderEntry {
    /// Price for bids, negated price for asks: larger is better.
    pub(crate) key: i64,
    pub(crate) level: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Book {
    /// `[bids, asks]`, each sorted by key ascending (best last).
    pub(crate) sides: [Vec<LadderEntry>; 2],
    pub(crate) status: TradingStatus,
    pub(crate) reference_price: i64,
    pub(crate) config: InstrumentConfig,
    pub(crate) configured: bool,
    /// Cached [`Book::plain_now`]: a plain limit order needs only the per-order checks
    /// (`Engine::new_order`'s fast path). Whatever changes `status`, `config` or `configured`
    /// calls [`Book::refresh`].
    pub(crate) plain: bool,
}

impl Book {
    fn new(config: InstrumentConfig, configured: bool) -> Book {
        let mut b = Book {
            sides: [Vec::with_capacity(256), Vec::with_capacity(256)],
            status: TradingStatus::Trading,
            reference_price: config.reference_price,
            config,
            configured,
            plain: false,
        };
        b.refresh();
        b
    }

    /// Whether orders on this book skip the instrument-level checks: configured for matching,
    /// trading, a tick of 1 and no price band or notional limit.
    pub(crate) fn plain_now(&self) -> bool {
        self.configured
            && self.status == TradingStatus::Trading
            && self.config.tick == 1
            && self.config.band.is_none()
            && self.config.max_notional.is_none()
    }

    /// Recomputes the cached [`Book::plain`] after a change of status or configuration.
    pub(crate) fn refresh(&mut self) {
        self.plain = self.plain_now();
    }
}

/// Index of a side in `Book::sides`: 0 bids, 1 asks.
#[inline]
pub(crate) fn side_index(side: u8) -> usize {
    usize::from(side == Side::Sell as u8)
}

/// Ladder key of a price on a side: larger is better.
#[inline]
pub(crate) fn key_of(side: u8, price: i64) -> i64 {
    if side == Side::Sell as u8 {
        -price
    } else {
        price
    }
}

/// The matching core and book builder for many instruments. See the module docs.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) orders: Pool<Order>,
    pub(crate) free_order: u32,
    pub(crate) levels: Pool<Level>,
    pub(crate) free_level: u32,
    pub(crate) ids: IdIndex,
    pub(crate) books: Vec<Book>,
    pub(crate) stp: Vec<StpMode>,
    pub(crate) config: EngineConfig,
    pub(crate) match_number: u64,
    pub(crate) stats: Stats,
    pub(crate) scratch: Vec<u32>,
}

impl Engine {
    /// An engine with no instruments configured. Book building creates books on first use;
    /// matching needs [`Engine::add_instrument`].
    pub fn new(config: EngineConfig) -> Engine {
        let mut orders = Pool::with_capacity(config.max_orders);
        paging::advise(orders.vec());
        let mut levels = Pool::with_capacity(config.max_levels);
        if config.prefault {
            orders.prefault();
            levels.prefault();
        }
        Engine {
            orders,
            free_order: NIL,
            levels,
            free_level: NIL,
            ids: IdIndex::new(config.dense_ids, config.max_orders, config.prefault),
            books: Vec::new(),
            stp: vec![StpMode::Off; usize::from(u16::MAX) + 1],
            config,
            match_number: 0,
            stats: Stats::default(),
            scratch: Vec::with_capacity(1024),
        }
    }

    /// Configures instrument `instrument` for matching (and resets its status and reference price).
    pub fn add_instrument(&mut self, instrument: u16, config: InstrumentConfig) {
        self.ensure_book(instrument);
        let b = &mut self.books[usize::from(instrument)];
        b.config = config;
        b.configured = true;
        b.reference_price = config.reference_price;
        b.status = TradingStatus::Trading;
        b.refresh();
    }

    /// Sets the self-trade prevention mode of an account (`session` field of commands).
    pub fn set_stp(&mut self, session: u16, mode: StpMode) {
        self.stp[usize::from(session)] = mode;
    }

    /// Halts or resumes an instrument.
    pub fn set_status(&mut self, instrument: u16, status: TradingStatus) {
        self.ensure_book(instrument);
        let b = &mut self.books[usize::from(instrument)];
        b.status = status;
        b.refresh();
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats;
        s.grows += self.ids.grows();
        s
    }

    /// Live orders in all books.
    pub fn order_count(&self) -> usize {
        self.ids.len()
    }

    /// The last match number issued.
    pub fn match_number(&self) -> u64 {
        self.match_number
    }

    /// Applies one record and appends the outputs to `out`.
    #[inline]
    pub fn apply(&mut self, rec: &Record, out: &mut Vec<Record>) {
        self.apply_inline::<false>(rec, out);
    }

    /// [`Engine::apply`], inlined where the caller builds records of known kinds (see
    /// [`Engine::apply_itch`]) so the dispatch on the kind folds away. `INLINE_MD` inlines the
    /// market-data handlers too (see `book/marketdata.rs` for where that pays and where not).
    #[inline(always)]
    fn apply_inline<const INLINE_MD: bool>(&mut self, rec: &Record, out: &mut Vec<Record>) {
        const NEW: u8 = Kind::NewOrder as u8;
        const CANCEL: u8 = Kind::CancelOrder as u8;
        const REPLACE: u8 = Kind::ReplaceOrder as u8;
        const MASS: u8 = Kind::MassCancel as u8;
        const CONFIGURE: u8 = Kind::Configure as u8;
        const END_OF_DAY: u8 = Kind::EndOfDay as u8;
        const ADD: u8 = Kind::MdAdd as u8;
        const EXEC: u8 = Kind::MdExecute as u8;
        const MD_CANCEL: u8 = Kind::MdCancel as u8;
        const DELETE: u8 = Kind::MdDelete as u8;
        const MD_REPLACE: u8 = Kind::MdReplace as u8;
        const TRADE: u8 = Kind::MdTrade as u8;
        const STATUS: u8 = Kind::MdTradingStatus as u8;
        const CLEAR: u8 = Kind::MdClear as u8;
        const MODIFY: u8 = Kind::MdModify as u8;
        self.stats.records += 1;
        // The commands of a matching flow by compare and branch, before the jump table of
        // the rest: see `opaque.rs` for why, and why through `opaque`. (Book building's inlined
        // path knows its kinds, and there the tests fold away.)
        let kind = if INLINE_MD { rec.kind } else { crate::opaque::opaque(rec.kind) };
        if kind == NEW {
            return self.new_order(rec, out);
        }
        if kind == CANCEL {
            return self.cancel(rec, out);
        }
        match rec.kind {
            REPLACE => self.replace(rec, out),
            MASS => self.mass_cancel(rec, out),
            CONFIGURE => self.configure(rec),
            END_OF_DAY => self.end_of_day(rec.ts_event, out),
            ADD if INLINE_MD => self.md_add_inline(rec, out),
            ADD => self.md_add(rec, out),
            EXEC if INLINE_MD => self.md_reduce_inline(rec, true, out),
            EXEC => self.md_execute(rec, out),
            MD_CANCEL if INLINE_MD => self.md_reduce_inline(rec, false, out),
            MD_CANCEL => self.md_cancel(rec, out),
            DELETE if INLINE_MD => self.md_delete_inline(rec, out),
            DELETE => self.md_delete(rec, out),
            MD_REPLACE if INLINE_MD => self.md_replace_inline(rec, out),
            MD_REPLACE => self.md_replace(rec, out),
            TRADE => {}
            STATUS => self.md_status(rec),
            CLEAR => self.md_clear(rec, out),
            MODIFY => self.md_modify(rec, out),
            _ => self.stats.ignored += 1,
        }
    }

    #[inline]
    pub(crate) fn ensure_book(&mut self, instrument: u16) {
        if self.books.len() <= usize::from(instrument) {
            self.add_books(instrument);
        }
    }

    #[cold]
    fn add_books(&mut self, instrument: u16) {
        self.books.resize_with(usize::from(instrument) + 1, || Book::new(InstrumentConfig::default(), false));
    }

    // ---- pools ----

    /// A free order slot, or `None` when full and not allowed to grow.
    #[inline(always)]
    pub(crate) fn alloc_order(&mut self) -> Option<u32> {
        if self.free_order != NIL {
            let i = self.free_order;
            self.free_order = self.orders[i as usize].next;
            return Some(i);
        }
        self.alloc_fresh_order()
    }

    /// A never-used order slot (the free list is empty): only while the pool fills up.
    #[cold]
    #[inline(never)]
    fn alloc_fresh_order(&mut self) -> Option<u32> {
        if self.orders.len() == self.orders.capacity() {
            if !self.config.grow {
                return None;
            }
            self.stats.grows += 1;
            self.orders.reserve(self.orders.len());
            paging::advise(self.orders.vec());
            if self.config.prefault {
                self.orders.prefault();
            }
        }
        let i = u32::try_from(self.orders.len()).ok().filter(|&i| i != NIL)?;
        self.orders.push(Order {
            id: 0,
            price: 0,
            visible: 0,
            hidden: 0,
            display: 0,
            prev: NIL,
            next: NIL,
            level: NIL,
            instrument: 0,
            session: 0,
            side: 0,
            tif: 0,
            flags: 0,
            live: false,
        });
        Some(i)
    }

    #[inline]
    fn free_order_slot(&mut self, i: u32) {
        let o = &mut self.orders[i as usize];
        o.live = false;
        o.next = self.free_order;
        self.free_order = i;
    }

    #[inline]
    fn alloc_level(&mut self, price: i64) -> u32 {
        let level = Level { price, qty: 0, count: 0, head: NIL, tail: NIL, next_free: NIL };
        if self.free_level != NIL {
            let i = self.free_level;
            self.free_level = self.levels[i as usize].next_free;
            self.levels[i as usize] = level;
            return i;
        }
        if self.levels.len() == self.levels.capacity() {
            self.stats.grows += 1;
        }
        self.levels.push(level);
        (self.levels.len() - 1) as u32
    }

    // ---- ladders ----

    /// Position of `key` in a ladder: `Ok(pos)` if present, `Err(insert_pos)` if not.
    ///
    /// Most activity is at the top few levels, so the last four entries are compared first,
    /// without branches: which of them matches is as random as the order flow, and a scan that
    /// branched on each comparison mispredicted on almost every add (cachegrind's branch
    /// simulation of a 2-million-message generated day). Deeper keys fall back to a binary
    /// search.
    #[inline(always)]
    pub(crate) fn ladder_find(ladder: &[LadderEntry], key: i64) -> Result<usize, usize> {
        // Keys are strictly ascending: the entries above `key` are a suffix.
        let n = ladder.len();
        let above = if let [.., a, b, c, d] = ladder {
            let above = usize::from(a.key > key)
                + usize::from(b.key > key)
                + usize::from(c.key > key)
                + usize::from(d.key > key);
            if above == 4 {
                return Self::ladder_search_deep(&ladder[..n - 4], key);
            }
            above
        } else {
            ladder.iter().filter(|e| e.key > key).count()
        };
        let pos = n - above;
        if pos > 0 && ladder[pos - 1].key == key {
            Ok(pos - 1)
        } else {
            Err(pos)
        }
    }

    /// [`Engine::ladder_find`] below the top four entries, out of line so the common case
    /// stays small where it is inlined.
    ///
    /// Keys are distinct integers in ascending order, so the entry `d` places below the last
    /// has a key of at most `last - d`: `key` cannot sit below position `n - 1 - (last - key)`.
    /// Where every tick has a level (near the top of a busy book) that position is exact, and
    /// one comparison finds it; otherwise a binary search covers only the entries above it.
    #[inline(never)]
    fn ladder_search_deep(ladder: &[LadderEntry], key: i64) -> Result<usize, usize> {
        let Some(last) = ladder.last() else { return Err(0) };
        let n = ladder.len();
        if key >= last.key {
            return if key == last.key { Ok(n - 1) } else { Err(n) };
        }
        let gap = usize::try_from(last.key.abs_diff(key)).unwrap_or(usize::MAX);
        let lo = (n - 1).saturating_sub(gap);
        if ladder[lo].key == key {
            return Ok(lo);
        }
        match ladder[lo..].binary_search_by(|e| e.key.cmp(&key)) {
            Ok(p) => Ok(lo + p),
            Err(p) => Err(lo + p),
        }
    }

    /// The level for `price` on `side` of `instrument`, created (empty) if absent.
    ///
    /// Inlined into the add paths; a new level (a few in a thousand adds on a generated day)
    /// is made out of line, so the common path saves no registers it does not use.
    #[inline(always)]
    pub(crate) fn level_for(&mut self, instrument: u16, side: u8, price: i64) -> u32 {
        let key = key_of(side, price);
        let si = side_index(side);
        let ladder = &self.books[usize::from(instrument)].sides[si];
        match Self::ladder_find(ladder, key) {
            Ok(pos) => ladder[pos].level,
            Err(pos) => self.new_level(instrument, si, pos, key, price),
        }
    }

    /// Makes an empty level for `price` and puts it at `pos` of ladder `si` of `instrument`.
    #[cold]
    #[inline(never)]
    fn new_level(&mut self, instrument: u16, si: usize, pos: usize, key: i64, price: i64) -> u32 {
        let level = self.alloc_level(price);
        let ladder = &mut self.books[usize::from(instrument)].sides[si];
        if ladder.len() == ladder.capacity() {
            self.stats.grows += 1;
        }
        ladder.insert(pos, LadderEntry { key, level });
        level
    }

    /// Removes the emptied best level `level` of ladder `si` and frees it: what a sweep does
    /// to every level it empties, so inline and without a search.
    #[inline(always)]
    pub(crate) fn drop_best_level(&mut self, instrument: u16, si: usize, level: u32) {
        let ladder = &mut self.books[usize::from(instrument)].sides[si];
        debug_assert_eq!(ladder.last().map(|e| e.level), Some(level), "not the best level");
        ladder.pop();
        self.levels[level as usize].next_free = self.free_level;
        self.free_level = level;
    }

    /// Removes an empty level from its ladder and frees it. Out of line: most removals leave
    /// other orders at the level.
    #[cold]
    #[inline(never)]
    fn drop_level(&mut self, instrument: u16, side: u8, level: u32) {
        let price = self.levels[level as usize].price;
        let ladder = &mut self.books[usize::from(instrument)].sides[side_index(side)];
        if ladder.last().is_some_and(|e| e.level == level) {
            // The best level (every level a sweep empties): nothing to search or move.
            ladder.pop();
        } else if let Ok(pos) = Self::ladder_find(ladder, key_of(side, price)) {
            ladder.remove(pos);
        }
        self.levels[level as usize].next_free = self.free_level;
        self.free_level = level;
    }

    // ---- orders in levels ----

    /// Links a live order at the tail of its level (the level must exist: `order.level`).
    #[inline(always)]
    pub(crate) fn link_tail(&mut self, oi: u32) {
        let li = self.orders[oi as usize].level;
        let visible = self.orders[oi as usize].visible;
        let old_tail = self.append_to_level(li, oi, visible);
        let o = &mut self.orders[oi as usize];
        o.prev = old_tail;
        o.next = NIL;
    }

    /// The level's side of linking order `oi` (showing `visible`) at the tail of level `li`:
    /// the level's links, count and quantity, and the old tail's `next`. Returns the old tail
    /// (`NIL` if the level was empty), which becomes the order's `prev`.
    #[inline(always)]
    fn append_to_level(&mut self, li: u32, oi: u32, visible: u32) -> u32 {
        let l = &mut self.levels[li as usize];
        let old_tail = l.tail;
        l.tail = oi;
        if old_tail == NIL {
            l.head = oi;
        }
        l.count += 1;
        l.qty += u64::from(visible);
        if old_tail != NIL {
            self.orders[old_tail as usize].next = oi;
        }
        old_tail
    }

    /// Unlinks an order from its level (the level's quantity loses the order's shown part).
    #[inline(always)]
    pub(crate) fn unlink(&mut self, oi: u32) {
        let o = self.orders[oi as usize];
        self.unlink_read(oi, &o);
    }

    /// [`Engine::unlink`] of order `oi` whose fields the caller has already read into `o`.
    #[inline(always)]
    fn unlink_read(&mut self, oi: u32, o: &Order) {
        let Order { prev, next, level, visible, .. } = *o;
        if prev != NIL {
            self.orders[prev as usize].next = next;
        }
        if next != NIL {
            self.orders[next as usize].prev = prev;
        }
        let l = &mut self.levels[level as usize];
        if l.head == oi {
            l.head = next;
        }
        if l.tail == oi {
            l.tail = prev;
        }
        l.count -= 1;
        l.qty -= u64::from(visible);
    }

    /// Adds a new resting order at the tail of its price level. Returns the level, or `None` if
    /// the pool is full.
    ///
    /// The order is written once, already linked (`link_tail` would read back the level and
    /// quantity just written, and write the links twice).
    #[allow(clippy::too_many_arguments, reason = "the fields of one order, passed once, on the hot path")]
    #[inline(always)]
    pub(crate) fn rest(
        &mut self,
        id: u64,
        instrument: u16,
        session: u16,
        side: u8,
        price: i64,
        visible: u32,
        hidden: u32,
        display: u32,
        tif: u8,
        flags: u8,
    ) -> Option<u32> {
        let oi = self.alloc_order()?;
        let level = self.level_for(instrument, side, price);
        let old_tail = self.append_to_level(level, oi, visible);
        self.orders[oi as usize] = Order {
            id,
            price,
            visible,
            hidden,
            display,
            prev: old_tail,
            next: NIL,
            level,
            instrument,
            session,
            side,
            tif,
            flags: flags & (FLAG_HIDDEN | FLAG_POST_ONLY),
            live: true,
        };
        self.ids.insert(id, oi);
        Some(level)
    }

    /// Removes a resting order completely (unlink, drop an emptied level, free, unindex).
    /// Returns the level if it still exists.
    #[inline(always)]
    pub(crate) fn remove_order(&mut self, oi: u32) -> Option<u32> {
        // Read once: after unlinking's stores the compiler could not assume the order unchanged.
        let o = self.orders[oi as usize];
        self.unlink_read(oi, &o);
        self.ids.forget(o.id);
        self.free_and_drop_empty_level(oi, &o)
    }

    /// [`Engine::remove_order`] of order `oi` (whose fields are `o`) after its id has already
    /// left the index (a delete takes the id and its pool index in one step).
    #[inline(always)]
    pub(crate) fn remove_unindexed(&mut self, oi: u32, o: &Order) -> Option<u32> {
        self.unlink_read(oi, o);
        self.free_and_drop_empty_level(oi, o)
    }

    /// The end of a removal: frees the unlinked order's slot and drops its level if that is
    /// now empty (returning the level if it still exists).
    #[inline(always)]
    fn free_and_drop_empty_level(&mut self, oi: u32, o: &Order) -> Option<u32> {
        self.free_order_slot(oi);
        if self.levels[o.level as usize].count == 0 {
            self.drop_level(o.instrument, o.side, o.level);
            None
        } else {
            Some(o.level)
        }
    }

    /// Emits a `BookChange` for a level whose index is known (`None`: the level at `price` is
    /// gone), without searching the ladder.
    #[inline(always)]
    pub(crate) fn book_change_at(
        &self,
        instrument: u16,
        side: u8,
        level: Option<u32>,
        price: i64,
        ts: u64,
        out: &mut Vec<Record>,
    ) {
        if !self.config.book_changes {
            return;
        }
        let mut change = emit::BookChange { instrument, side, price, ts, qty: 0, count: 0, flags: 0 };
        if let Some(li) = level {
            let l = &self.levels[li as usize];
            change.qty = u32::try_from(l.qty).unwrap_or(u32::MAX);
            change.count = u64::from(l.count);
            let ladder = &self.books[usize::from(instrument)].sides[side_index(side)];
            if ladder.last().is_some_and(|e| e.level == li) {
                change.flags = FLAG_TOP;
            }
        }
        emit::push_book_change(out, change);
    }

    /// Emits a `BookChange` for the level at `price` on `side` (quantity 0 if it is gone),
    /// finding the level first; [`Engine::book_change_at`] when the caller knows it.
    #[inline]
    pub(crate) fn book_change(&self, instrument: u16, side: u8, price: i64, ts: u64, out: &mut Vec<Record>) {
        if !self.config.book_changes {
            return;
        }
        let ladder = &self.books[usize::from(instrument)].sides[side_index(side)];
        let level = Self::ladder_find(ladder, key_of(side, price)).ok().map(|pos| ladder[pos].level);
        self.book_change_at(instrument, side, level, price, ts, out);
    }

    #[inline]
    pub(crate) fn reject(&mut self, cmd: &Record, reason: RejectReason, out: &mut Vec<Record>) {
        self.stats.rejected += 1;
        emit::push_reply(out, cmd, Kind::Rejected, reason as u64);
    }
}

#[cfg(test)]
mod ladder_tests {
    use super::{Engine, LadderEntry};
    use proptest::prelude::*;

    proptest! {
        /// The branch-free top-of-ladder search agrees with a plain binary search everywhere:
        /// keys present and absent, above, below and between, ladders of every small length.
        #[test]
        fn ladder_find_is_a_binary_search(keys in proptest::collection::btree_set(-50i64..50, 0..40), probe in -60i64..60) {
            let ladder: Vec<LadderEntry> = keys.iter().map(|&key| LadderEntry { key, level: 0 }).collect();
            prop_assert_eq!(Engine::ladder_find(&ladder, probe), ladder.binary_search_by(|e| e.key.cmp(&probe)));
        }

        /// The same for ladders with a level at almost every tick, where the deep search's
        /// position guess is exact or close (a busy book's top), and with gaps of every size.
        #[test]
        fn ladder_find_on_nearly_dense_ladders(
            start in -60i64..0,
            len in 0usize..64,
            holes in proptest::collection::vec(0u8..8, 64),
            probe in -70i64..70,
        ) {
            let ladder: Vec<LadderEntry> = (0..len)
                .filter(|&k| holes[k] != 0)
                .map(|k| LadderEntry { key: start + k as i64, level: 0 })
                .collect();
            prop_assert_eq!(Engine::ladder_find(&ladder, probe), ladder.binary_search_by(|e| e.key.cmp(&probe)));
        }
    }
}
