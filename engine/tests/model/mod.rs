//! A slow, obviously-correct reference model of the matching core, for differential tests.
//!
//! Orders live in one `Vec` per instrument; priority is computed on every step by sorting
//! (best price first, then arrival number). No pools, no indices, no intrusive lists: what is
//! left is the rules, written as plainly as possible, and the same output records the engine
//! must produce. Validation follows the order documented in `engine/src/book/matching.rs`.

#![allow(dead_code, unreachable_pub, reason = "test support shared by several test files")]

use std::collections::BTreeMap;
use tickforge_engine::{InstrumentConfig, PriceBand, StpMode};
use tickforge_wire::record::{FLAG_MAKER, FLAG_MARKET, FLAG_POST_ONLY};
use tickforge_wire::{CancelReason, Kind, Record, RejectReason, Side, TimeInForce};

#[derive(Debug, Clone, Copy)]
pub struct MOrder {
    pub id: u64,
    pub session: u16,
    pub side: u8,
    pub price: i64,
    pub visible: u32,
    pub hidden: u32,
    pub display: u32,
    pub tif: u8,
    pub post_only: bool,
    pub arrival: u64,
}

#[derive(Debug, Clone)]
pub struct MBook {
    pub orders: Vec<MOrder>,
    pub halted: bool,
    pub reference: i64,
    pub config: InstrumentConfig,
}

#[derive(Debug, Clone, Default)]
pub struct Model {
    pub books: BTreeMap<u16, MBook>,
    pub stp: BTreeMap<u16, StpMode>,
    pub match_number: u64,
    arrival: u64,
}

fn better(side: u8, a: i64, b: i64) -> bool {
    if side == Side::Buy as u8 {
        a > b
    } else {
        a < b
    }
}

fn crosses(side: u8, limit: Option<i64>, resting: i64) -> bool {
    match limit {
        None => true,
        Some(l) => resting == l || better(side, l, resting),
    }
}

fn canceled(
    cause: &Record,
    instrument: u16,
    o: (u64, u16, u8, i64),
    removed: u32,
    leaves: u32,
    reason: CancelReason,
) -> Record {
    let mut r = *cause;
    r.kind = Kind::Canceled as u8;
    r.instrument = instrument;
    r.order_id = o.0;
    r.session = o.1;
    r.side = o.2;
    r.price = o.3;
    r.qty = removed;
    r.aux = (reason as u64) << 32 | u64::from(leaves);
    r.flags = 0;
    r
}

impl Model {
    pub fn add_instrument(&mut self, i: u16, config: InstrumentConfig) {
        self.books.insert(i, MBook { orders: Vec::new(), halted: false, reference: config.reference_price, config });
    }

    fn next_arrival(&mut self) -> u64 {
        self.arrival += 1;
        self.arrival
    }

    /// Contra orders of `side` in priority order (indices into the book's orders).
    fn priority(book: &MBook, side: u8) -> Vec<usize> {
        let mut v: Vec<usize> = (0..book.orders.len()).filter(|&i| book.orders[i].side == side).collect();
        v.sort_by(|&a, &b| {
            let (x, y) = (&book.orders[a], &book.orders[b]);
            if x.price != y.price {
                if better(side, x.price, y.price) {
                    std::cmp::Ordering::Less
                } else {
                    std::cmp::Ordering::Greater
                }
            } else {
                x.arrival.cmp(&y.arrival)
            }
        });
        v
    }

    fn find(&self, id: u64) -> Option<(u16, usize)> {
        self.books.iter().find_map(|(&i, b)| b.orders.iter().position(|o| o.id == id).map(|p| (i, p)))
    }

    fn reject(cmd: &Record, reason: RejectReason, out: &mut Vec<Record>) {
        let mut r = *cmd;
        r.kind = Kind::Rejected as u8;
        r.aux = reason as u64;
        out.push(r);
    }

    fn price_checks(&self, inst: u16, price: Option<i64>, qty: u32) -> Result<(), RejectReason> {
        let b = &self.books[&inst];
        if let Some(p) = price {
            if p <= 0 || p % b.config.tick != 0 {
                return Err(RejectReason::InvalidPrice);
            }
        }
        if b.halted {
            return Err(RejectReason::Halted);
        }
        if let (Some(p), Some(band), true) = (price, b.config.band, b.reference > 0) {
            let width = match band {
                PriceBand::Absolute(w) => i128::from(w),
                PriceBand::Bps(bps) => i128::from(b.reference) * i128::from(bps) / 10_000,
            };
            if (i128::from(p) - i128::from(b.reference)).abs() > width {
                return Err(RejectReason::PriceBand);
            }
        }
        if let Some(max) = b.config.max_notional {
            let p = price.unwrap_or(b.reference);
            if p > 0 && (p as u128) * u128::from(qty) > max {
                return Err(RejectReason::Notional);
            }
        }
        Ok(())
    }

    fn stp_of(&self, session: u16) -> StpMode {
        if session == 0 {
            StpMode::Off
        } else {
            self.stp.get(&session).copied().unwrap_or_default()
        }
    }

    pub fn apply(&mut self, cmd: &Record, out: &mut Vec<Record>) {
        match cmd.kind() {
            Ok(Kind::NewOrder) => self.new_order(cmd, out),
            Ok(Kind::CancelOrder) => self.cancel(cmd, out),
            Ok(Kind::ReplaceOrder) => self.replace(cmd, out),
            Ok(Kind::MassCancel) => self.mass_cancel(cmd, out),
            Ok(Kind::MdTradingStatus) => {
                if let Some(b) = self.books.get_mut(&cmd.instrument) {
                    b.halted = cmd.aux != u64::from(b'T');
                }
            }
            _ => {}
        }
    }

    fn new_order(&mut self, cmd: &Record, out: &mut Vec<Record>) {
        let inst = cmd.instrument;
        if !self.books.contains_key(&inst) {
            return Self::reject(cmd, RejectReason::UnknownInstrument, out);
        }
        let market = cmd.flags & FLAG_MARKET != 0;
        let post_only = cmd.flags & FLAG_POST_ONLY != 0;
        let (Ok(side), Ok(tif)) = (cmd.side(), cmd.tif()) else {
            return Self::reject(cmd, RejectReason::Malformed, out);
        };
        if side == Side::None || cmd.order_id == 0 || (market && post_only) {
            return Self::reject(cmd, RejectReason::Malformed, out);
        }
        if self.find(cmd.order_id).is_some() {
            return Self::reject(cmd, RejectReason::DuplicateOrderId, out);
        }
        let display = (cmd.aux & 0xffff_ffff) as u32;
        let min_qty = (cmd.aux >> 32) as u32;
        if cmd.qty == 0 || cmd.qty > self.books[&inst].config.max_qty || min_qty > cmd.qty {
            return Self::reject(cmd, RejectReason::InvalidQuantity, out);
        }
        let limit = if market { None } else { Some(cmd.price) };
        if let Err(r) = self.price_checks(inst, limit, cmd.qty) {
            return Self::reject(cmd, r, out);
        }
        let side = side as u8;
        let contra_side = if side == Side::Buy as u8 { Side::Sell as u8 } else { Side::Buy as u8 };
        let book = &self.books[&inst];
        let order = Self::priority(book, contra_side);
        let best = order.first().map(|&i| book.orders[i].price);
        if post_only && best.is_some_and(|p| crosses(side, limit, p)) {
            return Self::reject(cmd, RejectReason::PostOnlyWouldCross, out);
        }
        if market && best.is_none() {
            return Self::reject(cmd, RejectReason::NoLiquidity, out);
        }
        let needed = if tif == TimeInForce::Fok { cmd.qty } else { min_qty };
        if needed > 0 {
            let stp = self.stp_of(cmd.session);
            let mut total = 0u64;
            for &i in &order {
                let o = &book.orders[i];
                if !crosses(side, limit, o.price) {
                    break;
                }
                if stp != StpMode::Off && o.session == cmd.session {
                    if stp != StpMode::CancelOldest {
                        break;
                    }
                    continue;
                }
                total += u64::from(o.visible + o.hidden);
            }
            if total < u64::from(needed) {
                return Self::reject(cmd, RejectReason::CannotFill, out);
            }
        }
        let mut acc = *cmd;
        acc.kind = Kind::Accepted as u8;
        acc.aux = cmd.order_id;
        out.push(acc);
        let remaining = self.match_incoming(cmd, inst, cmd.order_id, cmd.session, side, limit, cmd.qty, out);
        if remaining == 0 {
            return;
        }
        let may_rest = !market && matches!(tif, TimeInForce::Day | TimeInForce::Gtc);
        if may_rest {
            let display = if display > 0 && display < remaining { display } else { 0 };
            let visible = if display > 0 { display } else { remaining };
            let arrival = self.next_arrival();
            self.books.get_mut(&inst).unwrap().orders.push(MOrder {
                id: cmd.order_id,
                session: cmd.session,
                side,
                price: cmd.price,
                visible,
                hidden: remaining - visible,
                display,
                tif: cmd.tif,
                post_only,
                arrival,
            });
        } else {
            out.push(canceled(
                cmd,
                inst,
                (cmd.order_id, cmd.session, side, cmd.price),
                remaining,
                0,
                CancelReason::Immediate,
            ));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn match_incoming(
        &mut self,
        cause: &Record,
        inst: u16,
        id: u64,
        session: u16,
        side: u8,
        limit: Option<i64>,
        mut remaining: u32,
        out: &mut Vec<Record>,
    ) -> u32 {
        let contra_side = if side == Side::Buy as u8 { Side::Sell as u8 } else { Side::Buy as u8 };
        let stp = self.stp_of(session);
        let mut last = None;
        while remaining > 0 {
            let book = &self.books[&inst];
            let Some(&bi) = Self::priority(book, contra_side).first() else { break };
            let o = book.orders[bi];
            if !crosses(side, limit, o.price) {
                break;
            }
            let me = (id, session, side, limit.unwrap_or(0));
            let them = (o.id, o.session, o.side, o.price);
            if stp != StpMode::Off && o.session == session {
                let book = self.books.get_mut(&inst).unwrap();
                match stp {
                    StpMode::CancelNewest => {
                        out.push(canceled(cause, inst, me, remaining, 0, CancelReason::SelfTrade));
                        remaining = 0;
                        break;
                    }
                    StpMode::CancelBoth => {
                        book.orders.remove(bi);
                        out.push(canceled(cause, inst, them, o.visible + o.hidden, 0, CancelReason::SelfTrade));
                        out.push(canceled(cause, inst, me, remaining, 0, CancelReason::SelfTrade));
                        remaining = 0;
                        break;
                    }
                    StpMode::CancelOldest => {
                        book.orders.remove(bi);
                        out.push(canceled(cause, inst, them, o.visible + o.hidden, 0, CancelReason::SelfTrade));
                    }
                    StpMode::Decrement => {
                        let leaves = o.visible + o.hidden;
                        let d = remaining.min(leaves);
                        let left = leaves - d;
                        if left == 0 {
                            book.orders.remove(bi);
                        } else if left >= o.visible {
                            book.orders[bi].hidden = left - o.visible;
                        } else {
                            book.orders[bi].visible = left;
                            book.orders[bi].hidden = 0;
                        }
                        out.push(canceled(cause, inst, them, d, left, CancelReason::SelfTrade));
                        remaining -= d;
                        out.push(canceled(cause, inst, me, d, remaining, CancelReason::SelfTrade));
                    }
                    StpMode::Off => unreachable!(),
                }
                continue;
            }
            let fill = remaining.min(o.visible);
            self.match_number += 1;
            let mut f = *cause;
            f.kind = Kind::Fill as u8;
            f.order_id = id;
            f.session = session;
            f.side = side;
            f.price = o.price;
            f.qty = fill;
            f.aux = self.match_number;
            f.flags = 0;
            out.push(f);
            f.order_id = o.id;
            f.session = o.session;
            f.side = o.side;
            f.flags = FLAG_MAKER;
            out.push(f);
            last = Some(o.price);
            remaining -= fill;
            let arrival = self.next_arrival();
            let book = self.books.get_mut(&inst).unwrap();
            let r = &mut book.orders[bi];
            r.visible -= fill;
            if r.visible == 0 {
                if r.hidden > 0 {
                    let show = r.display.min(r.hidden);
                    r.visible = show;
                    r.hidden -= show;
                    r.arrival = arrival; // back of the queue
                } else {
                    book.orders.remove(bi);
                }
            }
        }
        if let Some(p) = last {
            self.books.get_mut(&inst).unwrap().reference = p;
        }
        remaining
    }

    fn owned(&self, id: u64, session: u16) -> Option<(u16, usize)> {
        self.find(id).filter(|&(i, p)| self.books[&i].orders[p].session == session)
    }

    fn reduce(o: &mut MOrder, target: u32) {
        if target >= o.visible {
            o.hidden = target - o.visible;
        } else {
            o.visible = target;
            o.hidden = 0;
        }
    }

    fn cancel(&mut self, cmd: &Record, out: &mut Vec<Record>) {
        let Some((inst, p)) = self.owned(cmd.order_id, cmd.session) else {
            return Self::reject(cmd, RejectReason::UnknownOrder, out);
        };
        let Ok(target) = u32::try_from(cmd.aux) else { return Self::reject(cmd, RejectReason::Malformed, out) };
        let book = self.books.get_mut(&inst).unwrap();
        let o = book.orders[p];
        let leaves = o.visible + o.hidden;
        if target >= leaves {
            return;
        }
        if target == 0 {
            book.orders.remove(p);
        } else {
            Self::reduce(&mut book.orders[p], target);
        }
        out.push(canceled(
            cmd,
            inst,
            (o.id, o.session, o.side, o.price),
            leaves - target,
            target,
            CancelReason::Requested,
        ));
    }

    fn replace(&mut self, cmd: &Record, out: &mut Vec<Record>) {
        let Some((inst, p)) = self.owned(cmd.order_id, cmd.session) else {
            return Self::reject(cmd, RejectReason::UnknownOrder, out);
        };
        let o = self.books[&inst].orders[p];
        let new_id = if cmd.aux == 0 { o.id } else { cmd.aux };
        if new_id != o.id && self.find(new_id).is_some() {
            return Self::reject(cmd, RejectReason::DuplicateOrderId, out);
        }
        if cmd.qty == 0 || cmd.qty > self.books[&inst].config.max_qty {
            return Self::reject(cmd, RejectReason::InvalidQuantity, out);
        }
        if let Err(r) = self.price_checks(inst, Some(cmd.price), cmd.qty) {
            return Self::reject(cmd, r, out);
        }
        let contra_side = if o.side == Side::Buy as u8 { Side::Sell as u8 } else { Side::Buy as u8 };
        let book = &self.books[&inst];
        let best = Self::priority(book, contra_side).first().map(|&i| book.orders[i].price);
        if o.post_only && best.is_some_and(|bp| crosses(o.side, Some(cmd.price), bp)) {
            return Self::reject(cmd, RejectReason::PostOnlyWouldCross, out);
        }
        let mut rep = *cmd;
        rep.kind = Kind::Replaced as u8;
        rep.order_id = o.id;
        rep.aux = new_id;
        rep.instrument = inst;
        rep.side = o.side;
        rep.tif = o.tif;
        let leaves = o.visible + o.hidden;
        if cmd.price == o.price && cmd.qty <= leaves {
            let r = &mut self.books.get_mut(&inst).unwrap().orders[p];
            if cmd.qty < leaves {
                Self::reduce(r, cmd.qty);
            }
            r.id = new_id;
            out.push(rep);
            return;
        }
        self.books.get_mut(&inst).unwrap().orders.remove(p);
        out.push(rep);
        let mut cause = *cmd;
        cause.instrument = inst;
        let remaining = self.match_incoming(&cause, inst, new_id, o.session, o.side, Some(cmd.price), cmd.qty, out);
        if remaining > 0 {
            let display = if o.display > 0 && o.display < remaining { o.display } else { 0 };
            let visible = if display > 0 { display } else { remaining };
            let arrival = self.next_arrival();
            self.books.get_mut(&inst).unwrap().orders.push(MOrder {
                id: new_id,
                price: cmd.price,
                visible,
                hidden: remaining - visible,
                display: o.display,
                arrival,
                ..o
            });
        }
    }

    /// Orders matching `pick` in engine book order: instruments ascending, bids then asks,
    /// each best level first and in time order.
    fn collect(&self, instrument: Option<u16>, pick: impl Fn(&MOrder) -> bool) -> Vec<(u16, u64)> {
        let mut v = Vec::new();
        for (&i, b) in &self.books {
            if instrument.is_some_and(|x| x != i) {
                continue;
            }
            for side in [Side::Buy as u8, Side::Sell as u8] {
                for k in Self::priority(b, side) {
                    if pick(&b.orders[k]) {
                        v.push((i, b.orders[k].id));
                    }
                }
            }
        }
        v
    }

    fn cancel_all(&mut self, victims: Vec<(u16, u64)>, cause: &Record, reason: CancelReason, out: &mut Vec<Record>) {
        for (inst, id) in victims {
            let book = self.books.get_mut(&inst).unwrap();
            let p = book.orders.iter().position(|o| o.id == id).unwrap();
            let o = book.orders.remove(p);
            out.push(canceled(cause, inst, (o.id, o.session, o.side, o.price), o.visible + o.hidden, 0, reason));
        }
    }

    fn mass_cancel(&mut self, cmd: &Record, out: &mut Vec<Record>) {
        let s = cmd.session;
        let victims = match cmd.aux {
            0 => self.collect(None, |o| o.session == s),
            1 => self.collect(Some(cmd.instrument), |_| true),
            2 => self.collect(Some(cmd.instrument), |o| o.session == s),
            _ => return Self::reject(cmd, RejectReason::Malformed, out),
        };
        let mut cause = *cmd;
        cause.kind = Kind::Canceled as u8;
        self.cancel_all(victims, &cause, CancelReason::MassCancel, out);
    }

    pub fn end_of_day(&mut self, ts: u64, out: &mut Vec<Record>) {
        let victims = self.collect(None, |o| o.tif == TimeInForce::Day as u8);
        let mut cause = Record::new(Kind::Canceled);
        cause.ts_event = ts;
        self.cancel_all(victims, &cause, CancelReason::EndOfDay, out);
    }

    /// Resting orders of one side in priority order: (id, session, price, visible, hidden).
    pub fn orders(&self, inst: u16, side: Side) -> Vec<(u64, u16, i64, u32, u32)> {
        let Some(b) = self.books.get(&inst) else { return Vec::new() };
        Self::priority(b, side as u8)
            .into_iter()
            .map(|i| {
                let o = &b.orders[i];
                (o.id, o.session, o.price, o.visible, o.hidden)
            })
            .collect()
    }
}
