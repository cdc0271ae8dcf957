//! Order entry: new orders, cancels, replaces, mass cancels and day expiry.
//!
//! # Validation order
//!
//! A new order is checked in this order, and the first failure is the reject reason:
//! unknown instrument; side, time in force, id 0 or a market post-only order (`Malformed`);
//! id already live (`DuplicateOrderId`); quantity zero, above the instrument's maximum, or a
//! minimum quantity above the quantity (`InvalidQuantity`); price not positive or off the tick
//! grid, for limit orders (`InvalidPrice`); halted (`Halted`); outside the price band
//! (`PriceBand`); notional above the limit (`Notional`); post-only that would cross
//! (`PostOnlyWouldCross`); market order with no contra liquidity (`NoLiquidity`); fill-or-kill
//! or minimum quantity not executable at once (`CannotFill`); no room to rest
//! (`CapacityExceeded`). The reference model in `engine/tests/` follows the same order.

use super::emit::{self, Fill, FillPair, OrderEvent};
use super::{key_of, side_index, Engine, StpMode, TradingStatus, NIL};
use tickforge_wire::record::{FLAG_HIDDEN, FLAG_MARKET, FLAG_POST_ONLY};
use tickforge_wire::{CancelReason, Kind, Record, RejectReason, Side, TimeInForce};

/// The incoming side of a match.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Taker {
    pub(crate) id: u64,
    pub(crate) instrument: u16,
    pub(crate) session: u16,
    pub(crate) side: u8,
    /// `None` for a market order.
    pub(crate) limit: Option<i64>,
    /// The lowest contra-side ladder key the taker trades with ([`cross_key`]).
    pub(crate) cross_key: i64,
}

impl Taker {
    pub(crate) fn new(id: u64, instrument: u16, session: u16, side: u8, limit: Option<i64>) -> Taker {
        Taker { id, instrument, session, side, limit, cross_key: cross_key(side, limit) }
    }
}

/// What a sweep has taken from the head of a level and not yet settled (see `settle_head`).
#[derive(Debug, Default, Clone, Copy)]
struct Taken {
    /// Orders taken whole (already out of the index and freed).
    orders: u32,
    /// Shown shares taken.
    qty: u64,
}

/// The lowest ladder key (`key_of`) on the contra side that an order on `side` with `limit`
/// trades with: a contra level crosses exactly when its key is at least this. The ladder's own
/// key answers whether the best contra level crosses, without first loading the level's price
/// (the test is the unpredictable branch of every new order: the sooner its inputs arrive,
/// the less a misprediction costs). A market order trades with any key.
#[inline(always)]
fn cross_key(side: u8, limit: Option<i64>) -> i64 {
    let contra = if side == Side::Buy as u8 { Side::Sell as u8 } else { Side::Buy as u8 };
    limit.map_or(i64::MIN, |l| key_of(contra, l))
}

impl Engine {
    /// Whether an order on `side` with `limit` (`None`: market) would trade with the best level
    /// of the other side of `instrument`'s book, decided from the ladder's key ([`cross_key`]).
    #[inline(always)]
    fn best_contra_crosses(&self, instrument: u16, side: u8, limit: Option<i64>) -> bool {
        let contra = &self.books[usize::from(instrument)].sides[side_index(side) ^ 1];
        contra.last().is_some_and(|e| e.key >= cross_key(side, limit))
    }

    /// Emits a `Canceled` output.
    #[allow(clippy::too_many_arguments, reason = "one output record's fields")]
    #[inline]
    pub(crate) fn emit_canceled(
        &mut self,
        cause: &Record,
        id: u64,
        session: u16,
        side: u8,
        price: i64,
        removed: u32,
        leaves: u32,
        reason: CancelReason,
        out: &mut Vec<Record>,
    ) {
        self.stats.canceled += 1;
        let aux = (reason as u64) << 32 | u64::from(leaves);
        let event = OrderEvent { kind: Kind::Canceled, id, session, side, price, qty: removed, aux, flags: 0 };
        emit::push_order_event(out, cause, event);
    }

    /// The price grid, trading status and risk checks of a new order or a replace. The checks
    /// most instruments have switched off (band, notional) cost one test here and run out of line.
    #[inline(always)]
    fn price_checks(&self, instrument: u16, price: Option<i64>, qty: u32) -> Result<(), RejectReason> {
        let book = &self.books[usize::from(instrument)];
        let cfg = &book.config;
        if let Some(p) = price {
            // A tick of 1 (the common case) needs no division.
            if p <= 0 || cfg.tick <= 0 || (cfg.tick != 1 && p % cfg.tick != 0) {
                return Err(RejectReason::InvalidPrice);
            }
        }
        if book.status == TradingStatus::Halted {
            return Err(RejectReason::Halted);
        }
        if cfg.band.is_some() || cfg.max_notional.is_some() {
            return Self::risk_checks(book, price, qty);
        }
        Ok(())
    }

    /// The price band and notional limit of [`Engine::price_checks`].
    #[cold]
    #[inline(never)]
    fn risk_checks(book: &super::Book, price: Option<i64>, qty: u32) -> Result<(), RejectReason> {
        let cfg = &book.config;
        let reference = book.reference_price;
        if let (Some(p), Some(band), true) = (price, cfg.band, reference > 0) {
            let width = match band {
                super::PriceBand::Absolute(w) => i128::from(w),
                super::PriceBand::Bps(bps) => i128::from(reference) * i128::from(bps) / 10_000,
            };
            if (i128::from(p) - i128::from(reference)).abs() > width {
                return Err(RejectReason::PriceBand);
            }
        }
        if let Some(max) = cfg.max_notional {
            let p = price.unwrap_or(reference);
            if p > 0 && (p as u128) * u128::from(qty) > max {
                return Err(RejectReason::Notional);
            }
        }
        Ok(())
    }

    /// Shares executable at once for an order of `session` on `side` up to `limit`, stopping
    /// as soon as `needed` is reached. Follows self-trade prevention: an own order that would be
    /// cancelled (`CancelOldest`) contributes nothing; one that would stop or shrink the incoming
    /// order (the other modes) ends the count.
    fn executable(&self, instrument: u16, side: u8, limit: Option<i64>, session: u16, needed: u64) -> u64 {
        let stp = if session != 0 { self.stp[usize::from(session)] } else { StpMode::Off };
        let contra = &self.books[usize::from(instrument)].sides[side_index(side) ^ 1];
        let lowest = cross_key(side, limit);
        let mut total = 0u64;
        for entry in contra.iter().rev() {
            if entry.key < lowest {
                break;
            }
            let level = &self.levels[entry.level as usize];
            let mut oi = level.head;
            while oi != NIL {
                let o = &self.orders[oi as usize];
                if stp != StpMode::Off && o.session == session {
                    if stp != StpMode::CancelOldest {
                        return total;
                    }
                } else {
                    total += u64::from(o.leaves());
                    if total >= needed {
                        return total;
                    }
                }
                oi = o.next;
            }
        }
        total
    }

    /// A new order. Plain limit orders (the bulk of any flow) take [`Engine::new_plain_order`],
    /// which needs a handful of checks; everything else, and every order that would be
    /// rejected, takes [`Engine::new_order_checked`], which applies the full validation order
    /// in the module docs.
    #[inline(always)]
    pub(crate) fn new_order(&mut self, cmd: &Record, out: &mut Vec<Record>) {
        if self.is_plain(cmd) {
            self.new_plain_order(cmd, out);
        } else {
            self.new_order_other(cmd, out);
        }
    }

    /// A new order that is not a plain limit order: a plain market order takes
    /// [`Engine::new_plain_market_order`], everything else [`Engine::new_order_checked`].
    /// Out of line, so neither test weighs on the plain limit orders' path.
    #[inline(never)]
    fn new_order_other(&mut self, cmd: &Record, out: &mut Vec<Record>) {
        if self.is_plain_market(cmd) {
            self.new_plain_market_order(cmd, out);
        } else {
            self.new_order_checked(cmd, out);
        }
    }

    /// Whether `cmd` is a plain market order that passes every check: no flags but
    /// `FLAG_MARKET`, no display or minimum quantity, not fill-or-kill, a quantity from 1 to
    /// the maximum and a new id, on a [`super::Book::plain`] instrument with something on the
    /// contra side. (The price is ignored, and a market order never rests, so the pool's
    /// room does not matter.)
    #[inline(always)]
    fn is_plain_market(&self, cmd: &Record) -> bool {
        let Some(book) = self.books.get(usize::from(cmd.instrument)) else { return false };
        let side_ok = cmd.side.wrapping_sub(Side::Buy as u8) < 2;
        let tif_ok = cmd.tif <= TimeInForce::Ioc as u8; // Day, Gtc or Ioc: all immediate
        let qty_ok = cmd.qty.wrapping_sub(1) < book.config.max_qty;
        let plain =
            book.plain & (cmd.flags == FLAG_MARKET) & (cmd.aux == 0) & side_ok & tif_ok & qty_ok & (cmd.order_id != 0);
        plain && !book.sides[side_index(cmd.side) ^ 1].is_empty() && self.ids.get(cmd.order_id).is_none()
    }

    /// A market order that [`Engine::is_plain_market`] accepted: accept it, match it, cancel
    /// what is left. Same outputs as [`Engine::new_order_checked`] for such an order.
    #[inline(always)]
    fn new_plain_market_order(&mut self, cmd: &Record, out: &mut Vec<Record>) {
        let (inst, side) = (cmd.instrument, cmd.side);
        self.stats.accepted += 1;
        emit::push_reply(out, cmd, Kind::Accepted, cmd.order_id);
        let taker = Taker::new(cmd.order_id, inst, cmd.session, side, None);
        let remaining = self.match_incoming(cmd, &taker, cmd.qty, out);
        if remaining > 0 {
            self.cancel_remainder(cmd, side, remaining, out);
        }
    }

    /// Whether `cmd` is a plain limit order that passes every check: a day or GTC limit order
    /// with no flags, display or minimum quantity, a positive price, a quantity from 1 to the
    /// maximum and a new id, on a [`super::Book::plain`] instrument, with room to rest.
    /// Evaluated without branching on each condition: which of them fails is rare, and all
    /// of them are cheap.
    #[inline(always)]
    fn is_plain(&self, cmd: &Record) -> bool {
        let Some(book) = self.books.get(usize::from(cmd.instrument)) else { return false };
        debug_assert_eq!(book.plain, book.plain_now(), "Book::plain not refreshed after a change");
        let side_ok = cmd.side.wrapping_sub(Side::Buy as u8) < 2; // Buy or Sell
        let tif_ok = cmd.tif <= TimeInForce::Gtc as u8; // Day or Gtc
        let qty_ok = cmd.qty.wrapping_sub(1) < book.config.max_qty; // 1..=max_qty
        let plain = book.plain
            & (cmd.flags == 0)
            & (cmd.aux == 0)
            & side_ok
            & tif_ok
            & qty_ok
            & (cmd.price > 0)
            & (cmd.order_id != 0);
        plain && self.has_room() && self.ids.get(cmd.order_id).is_none()
    }

    /// Whether a new order can rest: the pools may grow, or a slot is free.
    #[inline(always)]
    fn has_room(&self) -> bool {
        self.config.grow || self.free_order != NIL || self.orders.len() < self.orders.capacity()
    }

    /// A new order that [`Engine::is_plain`] accepted: accept it, match what crosses, rest
    /// the remainder. Same outputs as [`Engine::new_order_checked`] for such an order.
    #[inline(always)]
    fn new_plain_order(&mut self, cmd: &Record, out: &mut Vec<Record>) {
        let inst = cmd.instrument;
        let side = cmd.side;
        let limit = Some(cmd.price);
        self.stats.accepted += 1;
        emit::push_reply(out, cmd, Kind::Accepted, cmd.order_id);
        let remaining = if self.best_contra_crosses(inst, side, limit) {
            let taker = Taker::new(cmd.order_id, inst, cmd.session, side, limit);
            self.match_incoming(cmd, &taker, cmd.qty, out)
        } else {
            cmd.qty
        };
        if remaining == 0 {
            return;
        }
        self.rest_new(cmd, side, remaining, remaining, 0, 0, out);
    }

    /// Rests the `remaining` shares of new order `cmd` (`visible` of them shown) and emits the
    /// level's change, or cancels them if the pool is full and may not grow.
    #[allow(clippy::too_many_arguments, reason = "an order's remainder, passed once, inlined")]
    #[inline(always)]
    fn rest_new(
        &mut self,
        cmd: &Record,
        side: u8,
        remaining: u32,
        visible: u32,
        display: u32,
        flags: u8,
        out: &mut Vec<Record>,
    ) {
        let inst = cmd.instrument;
        let hidden = remaining - visible;
        match self.rest(cmd.order_id, inst, cmd.session, side, cmd.price, visible, hidden, display, cmd.tif, flags) {
            Some(level) => self.book_change_at(inst, side, Some(level), cmd.price, cmd.ts_event, out),
            None => self.cancel_remainder(cmd, side, remaining, out),
        }
    }

    /// Cancels the `remaining` shares of new order `cmd` that may not rest (`Immediate`).
    #[inline(always)]
    fn cancel_remainder(&mut self, cmd: &Record, side: u8, remaining: u32, out: &mut Vec<Record>) {
        self.emit_canceled(cmd, cmd.order_id, cmd.session, side, cmd.price, remaining, 0, CancelReason::Immediate, out);
    }

    /// A new order with every check of the module docs' validation order.
    #[inline(always)]
    pub(crate) fn new_order_checked(&mut self, cmd: &Record, out: &mut Vec<Record>) {
        let inst = cmd.instrument;
        if usize::from(inst) >= self.books.len() || !self.books[usize::from(inst)].configured {
            return self.reject(cmd, RejectReason::UnknownInstrument, out);
        }
        let market = cmd.flags & FLAG_MARKET != 0;
        let post_only = cmd.flags & FLAG_POST_ONLY != 0;
        let (Ok(side), Ok(tif)) = (cmd.side(), cmd.tif()) else {
            return self.reject(cmd, RejectReason::Malformed, out);
        };
        if side == Side::None || cmd.order_id == 0 || (market && post_only) {
            return self.reject(cmd, RejectReason::Malformed, out);
        }
        if self.ids.get(cmd.order_id).is_some() {
            return self.reject(cmd, RejectReason::DuplicateOrderId, out);
        }
        let qty = cmd.qty;
        let display = (cmd.aux & 0xffff_ffff) as u32;
        let min_qty = (cmd.aux >> 32) as u32;
        if qty == 0 || qty > self.books[usize::from(inst)].config.max_qty || min_qty > qty {
            return self.reject(cmd, RejectReason::InvalidQuantity, out);
        }
        let limit = if market { None } else { Some(cmd.price) };
        if let Err(reason) = self.price_checks(inst, limit, qty) {
            return self.reject(cmd, reason, out);
        }
        let side = side as u8;
        let crossing = self.best_contra_crosses(inst, side, limit);
        if post_only && crossing {
            return self.reject(cmd, RejectReason::PostOnlyWouldCross, out);
        }
        if market && self.books[usize::from(inst)].sides[side_index(side) ^ 1].is_empty() {
            return self.reject(cmd, RejectReason::NoLiquidity, out);
        }
        let needed = if tif == TimeInForce::Fok { qty } else { min_qty };
        if needed > 0 && self.executable(inst, side, limit, cmd.session, u64::from(needed)) < u64::from(needed) {
            return self.reject(cmd, RejectReason::CannotFill, out);
        }
        let may_rest = !market && matches!(tif, TimeInForce::Day | TimeInForce::Gtc);
        if may_rest && !self.has_room() {
            return self.reject(cmd, RejectReason::CapacityExceeded, out);
        }

        self.stats.accepted += 1;
        emit::push_reply(out, cmd, Kind::Accepted, cmd.order_id);

        // Most limit orders do not cross: skip the matching loop entirely for them.
        let remaining = if crossing {
            let taker = Taker::new(cmd.order_id, inst, cmd.session, side, limit);
            self.match_incoming(cmd, &taker, qty, out)
        } else {
            qty
        };
        if remaining == 0 {
            return;
        }
        if may_rest {
            let display = if display > 0 && display < remaining { display } else { 0 };
            let visible = if display > 0 { display } else { remaining };
            let flags = cmd.flags & (FLAG_HIDDEN | FLAG_POST_ONLY);
            self.rest_new(cmd, side, remaining, visible, display, flags, out);
        } else {
            self.cancel_remainder(cmd, side, remaining, out);
        }
    }

    /// Matches an incoming order against the contra side; returns the unfilled quantity, or 0
    /// if self-trade prevention cancelled the rest (the `Canceled` output is then emitted here).
    #[inline(always)]
    pub(crate) fn match_incoming(&mut self, cause: &Record, t: &Taker, remaining: u32, out: &mut Vec<Record>) -> u32 {
        let stp = if t.session != 0 { self.stp[usize::from(t.session)] } else { StpMode::Off };
        if stp == StpMode::Off {
            self.match_without_stp(cause, t, remaining, out)
        } else {
            self.match_with_stp(cause, t, stp, remaining, out)
        }
    }

    /// [`Engine::match_loop`] for a taker without self-trade prevention, in a function of its
    /// own: sharing one with the prevention loop, it paid for that loop's registers.
    #[inline(never)]
    fn match_without_stp(&mut self, cause: &Record, t: &Taker, remaining: u32, out: &mut Vec<Record>) -> u32 {
        self.match_loop::<false>(cause, t, StpMode::Off, remaining, out)
    }

    /// [`Engine::match_loop`] for a taker whose account has self-trade prevention on.
    #[inline(never)]
    fn match_with_stp(
        &mut self,
        cause: &Record,
        t: &Taker,
        stp: StpMode,
        remaining: u32,
        out: &mut Vec<Record>,
    ) -> u32 {
        self.match_loop::<true>(cause, t, stp, remaining, out)
    }

    /// The matching loop. `STP = false` (the taker's account has self-trade prevention off,
    /// the common case) compiles the loop without the prevention branch, whose cancel paths
    /// otherwise keep registers busy across every fill.
    #[inline(always)]
    fn match_loop<const STP: bool>(
        &mut self,
        cause: &Record,
        t: &Taker,
        stp: StpMode,
        mut remaining: u32,
        out: &mut Vec<Record>,
    ) -> u32 {
        let contra_side = if t.side == Side::Buy as u8 { Side::Sell as u8 } else { Side::Buy as u8 };
        let csi = side_index(contra_side);
        let inst = usize::from(t.instrument);
        // Few values live across the loop (the fill path is register-starved): the time is
        // read from `cause` where needed, fills are counted by match numbers, a level's life
        // is its order count, and (without self-trade prevention, where every level visited
        // trades) the reference price is set per level.
        let first_match = self.match_number;
        let mut last_price = None;
        // The taker's half of every fill: only price, quantity and match number differ.
        let fills = FillPair::new(cause, t.id, t.session, t.side);
        'levels: while remaining > 0 {
            let Some(&top) = self.books[inst].sides[csi].last() else { break };
            if top.key < t.cross_key {
                break;
            }
            let li = top.level;
            let lprice = self.levels[li as usize].price;
            let mut oi = self.levels[li as usize].head;
            // Orders taken whole from the head of the level are freed as they go, but the
            // level (head, count, quantity) is brought up to date once, by `settle_head`: a
            // sweep does not unlink them one by one. Anything that needs the level exact
            // (self-trade prevention, a reserve refresh) settles first.
            let mut taken = Taken::default();
            debug_assert!(oi != NIL, "an empty level in the ladder");
            while remaining > 0 && oi != NIL {
                let o = self.orders[oi as usize];
                if o.next != NIL {
                    crate::prefetch::prefetch(&self.orders[o.next as usize]);
                }
                if STP && stp != StpMode::Off && o.session == t.session {
                    self.settle_head(li, oi, &mut taken);
                    match stp {
                        StpMode::CancelNewest | StpMode::CancelBoth => {
                            if stp == StpMode::CancelBoth {
                                self.remove_order(oi);
                                self.emit_canceled(
                                    cause,
                                    o.id,
                                    o.session,
                                    o.side,
                                    o.price,
                                    o.leaves(),
                                    0,
                                    CancelReason::SelfTrade,
                                    out,
                                );
                            }
                            self.emit_canceled(
                                cause,
                                t.id,
                                t.session,
                                t.side,
                                t.limit.unwrap_or(0),
                                remaining,
                                0,
                                CancelReason::SelfTrade,
                                out,
                            );
                            remaining = 0;
                            self.book_change(t.instrument, contra_side, lprice, cause.ts_event, out);
                            break 'levels;
                        }
                        StpMode::CancelOldest => {
                            self.remove_order(oi);
                            self.emit_canceled(
                                cause,
                                o.id,
                                o.session,
                                o.side,
                                o.price,
                                o.leaves(),
                                0,
                                CancelReason::SelfTrade,
                                out,
                            );
                        }
                        StpMode::Decrement => {
                            let d = remaining.min(o.leaves());
                            let left = o.leaves() - d;
                            if left == 0 {
                                self.remove_order(oi);
                            } else {
                                self.reduce_to(oi, left);
                            }
                            self.emit_canceled(
                                cause,
                                o.id,
                                o.session,
                                o.side,
                                o.price,
                                d,
                                left,
                                CancelReason::SelfTrade,
                                out,
                            );
                            remaining -= d;
                            self.emit_canceled(
                                cause,
                                t.id,
                                t.session,
                                t.side,
                                t.limit.unwrap_or(0),
                                d,
                                remaining,
                                CancelReason::SelfTrade,
                                out,
                            );
                        }
                        StpMode::Off => unreachable!("checked above"),
                    }
                    oi = o.next;
                    continue;
                }
                let fill = remaining.min(o.visible);
                self.match_number += 1;
                let (maker_id, maker_session, maker_side) = (o.id, o.session, o.side);
                fills.push(
                    out,
                    Fill { price: lprice, qty: fill, number: self.match_number, maker_id, maker_session, maker_side },
                );
                if STP {
                    last_price = Some(lprice);
                }
                remaining -= fill;
                taken.qty += u64::from(fill);
                if fill < o.visible {
                    self.orders[oi as usize].visible = o.visible - fill;
                    break; // the incoming order is done
                }
                if o.hidden > 0 {
                    // Refresh the shown part from the reserve; it goes to the back of the level.
                    self.settle_head(li, oi, &mut taken);
                    self.orders[oi as usize].visible = 0;
                    let show = o.display.min(o.hidden);
                    let next = o.next;
                    if next != NIL {
                        self.unlink(oi); // visible is 0: the level's quantity is unchanged
                        self.orders[oi as usize].visible = show;
                        self.orders[oi as usize].hidden = o.hidden - show;
                        self.link_tail(oi);
                        oi = next;
                    } else {
                        self.orders[oi as usize].visible = show;
                        self.orders[oi as usize].hidden = o.hidden - show;
                        self.levels[li as usize].qty += u64::from(show);
                    }
                } else {
                    // Taken whole: out of the index and back to the free list now; the level
                    // forgets it at `settle_head`.
                    self.ids.forget(o.id);
                    self.free_order_slot(oi);
                    taken.orders += 1;
                    oi = o.next;
                }
            }
            if !STP {
                self.books[inst].reference_price = lprice;
            }
            if taken.orders > 0 || taken.qty > 0 {
                self.settle_head(li, oi, &mut taken);
                if self.levels[li as usize].count == 0 {
                    // Only the best level is ever swept.
                    self.drop_best_level(t.instrument, csi, li);
                }
            }
            // A dropped level keeps its count of 0 until it is reused (not during a match).
            let level_alive = self.levels[li as usize].count > 0;
            self.book_change_at(t.instrument, contra_side, level_alive.then_some(li), lprice, cause.ts_event, out);
            if level_alive && remaining > 0 {
                break; // only possible if the level could not be consumed
            }
        }
        self.stats.fills += self.match_number - first_match;
        if let Some(p) = last_price {
            self.books[inst].reference_price = p;
        }
        remaining
    }

    /// Makes `head` the first order of level `li` and takes what a sweep consumed before it
    /// (`taken`: whole orders already freed, and shares) off the level; resets `taken`.
    #[inline(always)]
    fn settle_head(&mut self, li: u32, head: u32, taken: &mut Taken) {
        let l = &mut self.levels[li as usize];
        l.head = head;
        l.count -= taken.orders;
        l.qty -= taken.qty;
        if head == NIL {
            l.tail = NIL;
        } else {
            self.orders[head as usize].prev = NIL;
        }
        *taken = Taken::default();
    }

    /// Lowers an order's leaves to `target` (< leaves) keeping its priority: the reserve goes first.
    pub(crate) fn reduce_to(&mut self, oi: u32, target: u32) {
        let o = self.orders[oi as usize];
        if target >= o.visible {
            self.orders[oi as usize].hidden = target - o.visible;
        } else {
            self.orders[oi as usize].visible = target;
            self.orders[oi as usize].hidden = 0;
            self.levels[o.level as usize].qty -= u64::from(o.visible - target);
        }
    }

    /// The live order `id` if it belongs to `session`.
    fn owned(&self, id: u64, session: u16) -> Option<u32> {
        self.ids.get(id).filter(|&oi| self.orders[oi as usize].session == session)
    }

    /// A cancel. Inline up to the lookup: many cancels name orders already gone (filled,
    /// cancelled), and their reject is cheaper than the call.
    #[inline(always)]
    pub(crate) fn cancel(&mut self, cmd: &Record, out: &mut Vec<Record>) {
        match self.owned(cmd.order_id, cmd.session) {
            Some(oi) => self.cancel_live(oi, cmd, out),
            None => self.reject(cmd, RejectReason::UnknownOrder, out),
        }
    }

    /// A cancel of live order `oi`, owned by the command's session.
    #[inline(never)]
    fn cancel_live(&mut self, oi: u32, cmd: &Record, out: &mut Vec<Record>) {
        let Ok(target) = u32::try_from(cmd.aux) else {
            return self.reject(cmd, RejectReason::Malformed, out);
        };
        let o = self.orders[oi as usize];
        if target >= o.leaves() {
            return; // OUCH: a size at or above the open size leaves the order unaffected
        }
        let level = if target == 0 {
            self.remove_order(oi)
        } else {
            self.reduce_to(oi, target);
            Some(o.level)
        };
        let mut cause = *cmd;
        cause.instrument = o.instrument;
        self.emit_canceled(
            &cause,
            o.id,
            o.session,
            o.side,
            o.price,
            o.leaves() - target,
            target,
            CancelReason::Requested,
            out,
        );
        self.book_change_at(o.instrument, o.side, level, o.price, cmd.ts_event, out);
    }

    pub(crate) fn replace(&mut self, cmd: &Record, out: &mut Vec<Record>) {
        let Some(oi) = self.owned(cmd.order_id, cmd.session) else {
            return self.reject(cmd, RejectReason::UnknownOrder, out);
        };
        let o = self.orders[oi as usize];
        let new_id = if cmd.aux == 0 { o.id } else { cmd.aux };
        if new_id != o.id && self.ids.get(new_id).is_some() {
            return self.reject(cmd, RejectReason::DuplicateOrderId, out);
        }
        let inst = o.instrument;
        let qty = cmd.qty;
        if qty == 0 || qty > self.books[usize::from(inst)].config.max_qty {
            return self.reject(cmd, RejectReason::InvalidQuantity, out);
        }
        if let Err(reason) = self.price_checks(inst, Some(cmd.price), qty) {
            return self.reject(cmd, reason, out);
        }
        if o.flags & FLAG_POST_ONLY != 0 && self.best_contra_crosses(inst, o.side, Some(cmd.price)) {
            return self.reject(cmd, RejectReason::PostOnlyWouldCross, out);
        }
        let mut rep = *cmd;
        rep.kind = Kind::Replaced as u8;
        rep.order_id = o.id;
        rep.aux = new_id;
        rep.instrument = inst;
        rep.side = o.side;
        rep.tif = o.tif;
        if cmd.price == o.price && qty <= o.leaves() {
            // Keeps its place in the queue.
            if qty < o.leaves() {
                self.reduce_to(oi, qty);
            }
            if new_id != o.id {
                self.ids.forget(o.id);
                self.ids.insert(new_id, oi);
                self.orders[oi as usize].id = new_id;
            }
            out.push(rep);
            if qty < o.leaves() {
                self.book_change(inst, o.side, o.price, cmd.ts_event, out);
            }
            return;
        }
        self.remove_order(oi);
        out.push(rep);
        self.book_change(inst, o.side, o.price, cmd.ts_event, out);
        let taker = Taker::new(new_id, inst, o.session, o.side, Some(cmd.price));
        let mut cause = *cmd;
        cause.instrument = inst;
        let remaining = self.match_incoming(&cause, &taker, qty, out);
        if remaining > 0 {
            let display = if o.display > 0 && o.display < remaining { o.display } else { 0 };
            let visible = if display > 0 { display } else { remaining };
            // The slot freed above guarantees room.
            if let Some(level) = self.rest(
                new_id,
                inst,
                o.session,
                o.side,
                cmd.price,
                visible,
                remaining - visible,
                o.display,
                o.tif,
                o.flags,
            ) {
                self.book_change_at(inst, o.side, Some(level), cmd.price, cmd.ts_event, out);
            }
        }
    }

    /// Collects the orders of `instrument` (or all instruments) matching `pick`, in book order.
    fn collect_orders(&mut self, instrument: Option<u16>, pick: impl Fn(&super::Order) -> bool) {
        self.scratch.clear();
        let range = match instrument {
            Some(i) if usize::from(i) < self.books.len() => usize::from(i)..usize::from(i) + 1,
            Some(_) => 0..0,
            None => 0..self.books.len(),
        };
        for b in range {
            for side in 0..2 {
                for e in self.books[b].sides[side].iter().rev() {
                    let mut oi = self.levels[e.level as usize].head;
                    while oi != NIL {
                        if pick(&self.orders[oi as usize]) {
                            self.scratch.push(oi);
                        }
                        oi = self.orders[oi as usize].next;
                    }
                }
            }
        }
    }

    fn cancel_collected(&mut self, cause: &Record, reason: CancelReason, out: &mut Vec<Record>) {
        for k in 0..self.scratch.len() {
            let oi = self.scratch[k];
            let o = self.orders[oi as usize];
            self.remove_order(oi);
            let mut c = *cause;
            c.instrument = o.instrument;
            self.emit_canceled(&c, o.id, o.session, o.side, o.price, o.leaves(), 0, reason, out);
            self.book_change(o.instrument, o.side, o.price, cause.ts_event, out);
        }
    }

    /// `aux` 0: every order of `session`; 1: every order of `instrument`; 2: `session`'s orders on `instrument`.
    pub(crate) fn mass_cancel(&mut self, cmd: &Record, out: &mut Vec<Record>) {
        let session = cmd.session;
        match cmd.aux {
            0 => self.collect_orders(None, |o| o.session == session),
            1 => self.collect_orders(Some(cmd.instrument), |_| true),
            2 => self.collect_orders(Some(cmd.instrument), |o| o.session == session),
            _ => return self.reject(cmd, RejectReason::Malformed, out),
        }
        let mut cause = *cmd;
        cause.kind = Kind::Canceled as u8;
        self.cancel_collected(&cause, CancelReason::MassCancel, out);
    }

    /// Expires every day order (end of the trading day), at time `ts`.
    pub fn end_of_day(&mut self, ts: u64, out: &mut Vec<Record>) {
        self.collect_orders(None, |o| o.tif == TimeInForce::Day as u8);
        let mut cause = Record::new(Kind::Canceled);
        cause.ts_event = ts;
        self.cancel_collected(&cause, CancelReason::EndOfDay, out);
    }
}
