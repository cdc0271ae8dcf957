//! Book building: applying market-by-order events (ITCH 5.0, LOBSTER, Databento MBO, all
//! normalised to `Md*` records by the feed) to mirror an exchange's book exactly.
//!
//! Events about an order the book does not hold are counted in `Stats::unknown_refs` and
//! otherwise ignored; adds of an id that is already live are counted in `duplicate_adds`;
//! executions or cancels of more shares than an order has are counted in `overfills` and
//! remove the order. None of these is a panic: captures are often sampled or start mid-day.

use super::{Engine, Order, TradingStatus};
use tickforge_wire::{Record, Side};

// Each `md_*` handler is a function of its own (`#[inline(never)]`): the helpers it uses
// (`level_for`, `remove_order`, ...) are inlined into it, and it is not inlined in turn into
// a caller's loop (the replay pipeline's matching stage), whose own state would then compete
// for registers with every handler's. Replays of the 20M-message day, 6 alternating runs:
// median 8.93 M records/s this way, 8.60 with the handlers inlined.
//
// `apply_itch` is the exception: there each handler's body (`md_*_inline`) is inlined into
// its message type's arm of the decoder, so the record the arm builds never goes to memory
// (its fields stay in registers) and the loop has nothing else to keep. On the generated 2M
// day that is 16 % fewer instructions (callgrind of `benches/examples/bb.rs`: 405.7M -> 339.6M).
impl Engine {
    /// Decodes one ITCH 5.0 message and applies it: the same books, outputs and counters as
    /// `apply(&normalize::record(&itch::decode(bytes)?))`, with a single dispatch on the message
    /// type (see [`tickforge_feed::normalize::dispatch`]). For book building on one thread
    /// (the book-building benchmark); `tickforge book` keeps the general path because it also
    /// reads every message's timestamp and the stock directory.
    ///
    /// # Errors
    ///
    /// What `itch::decode` returns for the same bytes; the books are then unchanged.
    #[inline]
    pub fn apply_itch(&mut self, bytes: &[u8], out: &mut Vec<Record>) -> Result<(), tickforge_wire::DecodeError> {
        struct Apply<'a> {
            engine: &'a mut Engine,
            out: &'a mut Vec<Record>,
        }
        impl tickforge_feed::normalize::RecordSink for Apply<'_> {
            #[inline(always)]
            fn record(&mut self, r: &Record) {
                self.engine.apply_inline::<true>(r, self.out);
            }
        }
        tickforge_feed::normalize::dispatch(bytes, &mut Apply { engine: self, out })
    }

    #[inline(never)]
    pub(crate) fn md_add(&mut self, rec: &Record, out: &mut Vec<Record>) {
        self.md_add_inline(rec, out);
    }

    #[inline(always)]
    pub(super) fn md_add_inline(&mut self, rec: &Record, out: &mut Vec<Record>) {
        if self.ids.get(rec.order_id).is_some() {
            self.stats.duplicate_adds += 1;
            return;
        }
        let side = match rec.side() {
            Ok(s @ (Side::Buy | Side::Sell)) => s as u8,
            _ => {
                self.stats.ignored += 1;
                return;
            }
        };
        self.ensure_book(rec.instrument);
        self.md_rest(rec.order_id, rec.instrument, side, rec.tif, rec.flags, rec, out);
    }

    /// Rests market-data order `id` at the back of its level, at `rec`'s price and size, and
    /// emits the level's change, or counts it dropped when the pool is full and may not grow.
    #[allow(clippy::too_many_arguments, reason = "an order's identity, passed once, inlined")]
    #[inline(always)]
    fn md_rest(&mut self, id: u64, instrument: u16, side: u8, tif: u8, flags: u8, rec: &Record, out: &mut Vec<Record>) {
        match self.rest(id, instrument, 0, side, rec.price, rec.qty, 0, 0, tif, flags) {
            Some(level) => self.book_change_at(instrument, side, Some(level), rec.price, rec.ts_event, out),
            None => self.stats.dropped += 1,
        }
    }

    /// Takes `qty` shares off order `id` (execution or cancel); an unknown id is counted in
    /// `unknown_refs`.
    #[inline(never)]
    fn md_reduce(&mut self, rec: &Record, execution: bool, out: &mut Vec<Record>) {
        self.md_reduce_inline(rec, execution, out);
    }

    #[inline(always)]
    pub(super) fn md_reduce_inline(&mut self, rec: &Record, execution: bool, out: &mut Vec<Record>) {
        let Some(oi) = self.ids.get(rec.order_id) else {
            self.stats.unknown_refs += 1;
            return;
        };
        let o = self.orders[oi as usize];
        if execution {
            self.stats.fills += 1;
            let price = if rec.flags & tickforge_wire::record::FLAG_WITH_PRICE != 0 { rec.price } else { o.price };
            self.books[usize::from(o.instrument)].reference_price = price;
        }
        let level = if rec.qty >= o.visible {
            if rec.qty > o.visible {
                self.stats.overfills += 1;
            }
            self.remove_order(oi)
        } else {
            self.orders[oi as usize].visible -= rec.qty;
            self.levels[o.level as usize].qty -= u64::from(rec.qty);
            Some(o.level)
        };
        self.book_change_at(o.instrument, o.side, level, o.price, rec.ts_event, out);
    }

    pub(crate) fn md_execute(&mut self, rec: &Record, out: &mut Vec<Record>) {
        self.md_reduce(rec, true, out);
    }

    pub(crate) fn md_cancel(&mut self, rec: &Record, out: &mut Vec<Record>) {
        self.md_reduce(rec, false, out);
    }

    #[inline(never)]
    pub(crate) fn md_delete(&mut self, rec: &Record, out: &mut Vec<Record>) {
        self.md_delete_inline(rec, out);
    }

    #[inline(always)]
    pub(super) fn md_delete_inline(&mut self, rec: &Record, out: &mut Vec<Record>) {
        self.md_take_out(rec, out);
    }

    /// Removes order `rec.order_id` from the book (index, level, pool) and emits its level's
    /// change; returns the order as it was, or `None` (counted in `unknown_refs`) if unknown.
    /// The first half of both a delete and a replace.
    #[inline(always)]
    fn md_take_out(&mut self, rec: &Record, out: &mut Vec<Record>) -> Option<Order> {
        let Some(oi) = self.ids.remove(rec.order_id) else {
            self.stats.unknown_refs += 1;
            return None;
        };
        let o = self.orders[oi as usize];
        let level = self.remove_unindexed(oi, &o);
        self.book_change_at(o.instrument, o.side, level, o.price, rec.ts_event, out);
        Some(o)
    }

    /// ITCH `U`: the old order leaves the book; a new one with the same side and instrument,
    /// the new reference (`aux`), price and size joins the back of its level.
    #[inline(never)]
    pub(crate) fn md_replace(&mut self, rec: &Record, out: &mut Vec<Record>) {
        self.md_replace_inline(rec, out);
    }

    #[inline(always)]
    pub(super) fn md_replace_inline(&mut self, rec: &Record, out: &mut Vec<Record>) {
        let Some(o) = self.md_take_out(rec, out) else { return };
        if self.ids.get(rec.aux).is_some() {
            self.stats.duplicate_adds += 1;
            return;
        }
        self.md_rest(rec.aux, o.instrument, o.side, o.tif, o.flags, rec, out);
    }

    /// Databento `M`: new price and size for a live order. Same price and a size that did not
    /// grow keeps the order's place; anything else sends it to the back of its (new) level.
    #[inline(never)]
    pub(crate) fn md_modify(&mut self, rec: &Record, out: &mut Vec<Record>) {
        let Some(oi) = self.ids.get(rec.order_id) else {
            self.stats.unknown_refs += 1;
            return;
        };
        let o = self.orders[oi as usize];
        if rec.price == o.price && rec.qty <= o.visible && rec.qty > 0 {
            self.orders[oi as usize].visible = rec.qty;
            self.levels[o.level as usize].qty -= u64::from(o.visible - rec.qty);
            self.book_change_at(o.instrument, o.side, Some(o.level), o.price, rec.ts_event, out);
            return;
        }
        let level = self.remove_order(oi);
        self.book_change_at(o.instrument, o.side, level, o.price, rec.ts_event, out);
        if rec.qty == 0 {
            return;
        }
        self.md_rest(o.id, o.instrument, o.side, o.tif, o.flags, rec, out);
    }

    /// Trading status: `aux` holds the ITCH trading state (`H` halted, `P` paused, `Q` quotation
    /// only, `T` trading). Anything but `T` stops new orders in matching mode.
    pub(crate) fn md_status(&mut self, rec: &Record) {
        self.ensure_book(rec.instrument);
        let b = &mut self.books[usize::from(rec.instrument)];
        b.status = if rec.aux == u64::from(b'T') { TradingStatus::Trading } else { TradingStatus::Halted };
        b.refresh();
    }

    /// Clears an instrument's book (Databento `R`).
    pub(crate) fn md_clear(&mut self, rec: &Record, out: &mut Vec<Record>) {
        if usize::from(rec.instrument) >= self.books.len() {
            return;
        }
        for side in 0..2 {
            while let Some(&top) = self.books[usize::from(rec.instrument)].sides[side].last() {
                let oi = self.levels[top.level as usize].head;
                let o = self.orders[oi as usize];
                if self.remove_order(oi).is_none() {
                    self.book_change_at(rec.instrument, o.side, None, o.price, rec.ts_event, out);
                }
            }
        }
    }
}
