//! OUCH 4.2 to engine records and back (sans-I/O).
//!
//! # Inbound
//!
//! | OUCH | record | rules |
//! |---|---|---|
//! | `O` enter | `NewOrder` | the token must be day-unique for the account: a repeated token is ignored (OUCH 4.2's rule), never a second order; the gateway assigns the engine's order id |
//! | `X` cancel | `CancelOrder` | `shares` is the size to leave (0: cancel all); an unknown token is ignored |
//! | `U` replace | `ReplaceOrder` | existing token of this account, replacement token day-unique (else ignored) |
//! | `M` modify | `CancelOrder` (reduce to `shares`) | existing token of this account; the side may change only between the sell variants `S`/`T`/`E`; answered with `M` order modified (the shares still open) instead of `C`, once the command is done ([`Translator::finish_command`]) |
//! | `N` trade now | – | not supported: reported to the caller, who logs it |
//!
//! After [`Translator::close`] (the end of the day) entries and replaces get `J` with `C`
//! (exchange closed); cancels still work. A day holds at most 4,294,967,295 orders (entries
//! and replacements; the token table's limit, see `gateway/tokens.rs`): past that, entries and
//! replaces get `J` with `Z`, as an engine whose order pool is full rejects them.
//!
//! Field checks before the engine sees anything: the stock must be one the account may trade
//! (else `J` with `S` invalid stock), the side `B`/`S`/`T`/`E`, display `Y`/`N`/`P`/`A`
//! (else `J` `D`). Price 0x7FFFFFFF is a market order. Time in force 0 is IOC, anything else
//! lives for the day (no timer per order).
//!
//! # Outbound
//!
//! | record | OUCH | |
//! |---|---|---|
//! | `Accepted` | `A` | with the entry's own fields and the engine's order reference |
//! | `Rejected` | `J` | reason per the table in [`reject_code`]; none for a cancel or replace of an order no longer live (OUCH ignores those) |
//! | `Fill` | `E` | liquidity `A` (resting, added) or `R` (taker, removed), the engine's match number |
//! | `Canceled` | `C` | decrement shares, reason per [`cancel_code`] |
//! | `Replaced` | `U` | replacement token, previous token, new reference |
//!
//! Every outbound message goes to the account that owns the order (the record's `session`).

use super::tokens::{token_key, TokenTable, MAX_IDS};
use hashbrown::HashMap;
use tickforge_wire::ouch42::{inbound, outbound};
use tickforge_wire::record::{FLAG_HIDDEN, FLAG_MAKER, FLAG_MARKET, FLAG_POST_ONLY};
use tickforge_wire::zerocopy::byteorder::big_endian::{U32, U64};
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::{CancelReason, Kind, Record, RejectReason, Side, TimeInForce};

/// OUCH 4.2's market-order price.
pub const MARKET_PRICE: u32 = 0x7FFF_FFFF;

/// OUCH 4.2 `J` reason for an engine reject reason.
///
/// | engine | OUCH | meaning |
/// |---|---|---|
/// | unknown instrument | `S` | invalid stock |
/// | quantity, notional, capacity | `Z` | shares exceed the configured safety threshold |
/// | price, price band, post-only would cross | `X` | invalid price |
/// | halted | `H` | halted |
/// | cannot fill (FOK, minimum quantity) | `N` | invalid minimum quantity |
/// | no liquidity for a market order | `O` | outside of permitted conditions |
/// | self-trade | `Q` | self-match prevention |
/// | anything else | `Y` | no shares found / other |
pub fn reject_code(reason: u64) -> u8 {
    match RejectReason::try_from(reason as u8) {
        Ok(RejectReason::UnknownInstrument) => b'S',
        Ok(RejectReason::InvalidQuantity | RejectReason::Notional | RejectReason::CapacityExceeded) => b'Z',
        Ok(RejectReason::InvalidPrice | RejectReason::PriceBand | RejectReason::PostOnlyWouldCross) => b'X',
        Ok(RejectReason::Halted) => b'H',
        Ok(RejectReason::CannotFill) => b'N',
        Ok(RejectReason::NoLiquidity) => b'O',
        Ok(RejectReason::SelfTrade) => b'Q',
        _ => b'Y',
    }
}

/// OUCH 4.2 `C` reason for an engine cancel reason: `U` user requested (also a mass cancel),
/// `I` immediate or cancel, `Q` self-match prevention, `T` time in force expired (end of day).
pub fn cancel_code(reason: u64) -> u8 {
    match CancelReason::try_from(reason as u8) {
        Ok(CancelReason::Immediate) => b'I',
        Ok(CancelReason::SelfTrade) => b'Q',
        Ok(CancelReason::EndOfDay) => b'T',
        _ => b'U',
    }
}

/// What an inbound message became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A record for the engine.
    Engine(Record),
    /// A message to send straight back to the account (a reject decided here).
    Reply(Vec<u8>),
    /// Ignored, as OUCH says (e.g. a duplicate token): why, for the log.
    Ignored(&'static str),
}

/// A message that is not OUCH 4.2 inbound: what and where (offset in the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("OUCH 4.2: {0}")]
pub struct OuchError(pub String);

/// What the gateway remembers of an order it entered.
#[derive(Debug, Clone, Copy)]
struct OrderInfo {
    account: u16,
    token: [u8; 14],
    stock: [u8; 8],
    side: u8,
    tif: u32,
    firm: [u8; 4],
    display: u8,
    capacity: u8,
    iso: u8,
    min_qty: u32,
    cross_type: u8,
}

/// Tokens, orders and instruments of one trading day.
#[derive(Debug, Default)]
pub struct Translator {
    symbols: Vec<[u8; 8]>,
    by_symbol: HashMap<[u8; 8], u16>,
    /// Per account: which instruments it may trade (empty: all).
    allowed: HashMap<u16, Vec<u16>>,
    /// (account, token) → engine order id; never forgotten during the day (day-unique tokens).
    /// The table holds a 32-bit hash and the id of each token; the tokens themselves are in
    /// `orders` (see [`super::tokens`]).
    tokens: TokenTable,
    /// Every order of the day, at index `id - 1`: the translator numbers the orders it enters
    /// 1, 2, 3, ... (`next_id`), so a vector does what a map would, without hashing and
    /// without a rehash of the whole day's orders each time the map would have doubled.
    orders: Vec<OrderInfo>,
    /// Replace in flight: existing id → replacement id (to route a reject to the right token).
    replacing: HashMap<u64, u64>,
    next_id: u64,
    /// The day has ended: entries and replaces are rejected (`C`, exchange closed).
    closed: bool,
    /// A modify being applied: (order id, new side, time); answered by `finish_command`.
    modifying: Option<(u64, u8, u64)>,
}

impl Translator {
    /// A translator for instruments `symbols[i]` = engine instrument `i`.
    pub fn new<S: AsRef<str>>(symbols: &[S]) -> Translator {
        Translator::with_capacity(symbols, 0)
    }

    /// The same, with room for `orders` orders (entries and replacements) in the day before
    /// any table grows. The token table is a hash table: growing it rehashes every token of the
    /// day on the event-loop thread, a pause that grows with the day (97-109 ms at 3,670,017
    /// tokens on the development machine; BENCHMARKS.md, issue 7), so a venue sizes it up front.
    pub fn with_capacity<S: AsRef<str>>(symbols: &[S], orders: usize) -> Translator {
        let symbols: Vec<[u8; 8]> = symbols.iter().map(|s| tickforge_wire::Alpha::pad(s.as_ref())).collect();
        let by_symbol = symbols.iter().enumerate().map(|(i, s)| (*s, i as u16)).collect();
        Translator {
            symbols,
            by_symbol,
            tokens: TokenTable::with_capacity(orders),
            orders: Vec::with_capacity(orders),
            next_id: 1,
            ..Translator::default()
        }
    }

    /// The order the translator numbered `id`.
    fn order(&self, id: u64) -> Option<&OrderInfo> {
        self.orders.get(usize::try_from(id.checked_sub(1)?).ok()?)
    }

    fn order_mut(&mut self, id: u64) -> Option<&mut OrderInfo> {
        self.orders.get_mut(usize::try_from(id.checked_sub(1)?).ok()?)
    }

    /// The key of an order the translator numbered (its account and token).
    fn key_of(orders: &[OrderInfo], id: u64) -> u128 {
        let o = &orders[id as usize - 1];
        token_key(o.account, &o.token)
    }

    /// The order `account` entered under `token`, if any.
    fn token(&self, account: u16, token: &[u8; 14]) -> Option<u64> {
        self.tokens.get(token_key(account, token), |id| Self::key_of(&self.orders, id))
    }

    /// Whether the day has room for one more order (ids up to [`MAX_IDS`]; the records of that
    /// many orders would fill any machine's memory first).
    fn day_is_full(&self) -> bool {
        self.next_id > MAX_IDS
    }

    /// Numbers a new order (the next id) and remembers it under its token, which
    /// [`Translator::token`] did not find; [`Translator::day_is_full`] must be false.
    fn remember(&mut self, info: OrderInfo) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        debug_assert_eq!(self.orders.len() as u64, id - 1, "orders are numbered in order");
        debug_assert!(self.token(info.account, &info.token).is_none(), "a token remembered twice");
        self.tokens.insert_new(token_key(info.account, &info.token), id);
        self.orders.push(info);
        id
    }

    /// Ends the day: from now on entries and replaces are rejected with `C` (exchange closed).
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Limits `account` to these instruments.
    pub fn allow(&mut self, account: u16, instruments: Vec<u16>) {
        self.allowed.insert(account, instruments);
    }

    fn reject(&self, ts: u64, token: [u8; 14], reason: u8) -> Command {
        let m = outbound::Rejected {
            message_type: b'J',
            timestamp: U64::new(ts),
            order_token: token,
            rejected_order_reason: reason,
        };
        Command::Reply(m.as_bytes().to_vec())
    }

    /// Turns one inbound message from `account` into a command; `ts` is the time of day (ns).
    pub fn inbound(&mut self, account: u16, msg: &[u8], ts: u64) -> Result<Command, OuchError> {
        let m = inbound::decode(msg).map_err(|e| OuchError(e.to_string()))?;
        match m {
            inbound::Message::EnterOrder(o) => {
                if self.token(account, &o.order_token).is_some() {
                    return Ok(Command::Ignored("duplicate order token"));
                }
                if self.closed {
                    return Ok(self.reject(ts, o.order_token, b'C'));
                }
                if self.day_is_full() {
                    return Ok(self.reject(ts, o.order_token, b'Z'));
                }
                let Some(&instrument) = self.by_symbol.get(&o.stock) else {
                    return Ok(self.reject(ts, o.order_token, b'S'));
                };
                if self.allowed.get(&account).is_some_and(|a| !a.contains(&instrument)) {
                    return Ok(self.reject(ts, o.order_token, b'S'));
                }
                let side = match Side::from_ascii(o.buy_sell_indicator) {
                    Some(s) => s,
                    None => {
                        return Err(OuchError(format!(
                            "enter order: side {:?} (offset 15)",
                            o.buy_sell_indicator as char
                        )))
                    }
                };
                let flags = match o.display {
                    b'Y' | b'A' => 0,
                    b'N' => FLAG_HIDDEN,
                    b'P' => FLAG_POST_ONLY,
                    _ => return Ok(self.reject(ts, o.order_token, b'D')),
                };
                let id = self.remember(OrderInfo {
                    account,
                    token: o.order_token,
                    stock: o.stock,
                    side: o.buy_sell_indicator,
                    tif: o.time_in_force.get(),
                    firm: o.firm,
                    display: o.display,
                    capacity: o.capacity,
                    iso: o.intermarket_sweep_eligibility,
                    min_qty: o.minimum_quantity.get(),
                    cross_type: o.cross_type,
                });
                let mut r = Record::new(Kind::NewOrder);
                (r.order_id, r.instrument, r.session, r.side, r.qty, r.ts_event) =
                    (id, instrument, account, side as u8, o.shares.get(), ts);
                r.flags = flags;
                r.tif = if o.time_in_force.get() == tickforge_wire::ouch42::TIF_IOC {
                    TimeInForce::Ioc as u8
                } else {
                    TimeInForce::Day as u8
                };
                if o.price.get() == MARKET_PRICE {
                    r.flags |= FLAG_MARKET;
                } else {
                    r.price = i64::from(o.price.get());
                }
                r.aux = u64::from(o.minimum_quantity.get()) << 32;
                Ok(Command::Engine(r))
            }
            inbound::Message::CancelOrder(c) => {
                let Some(id) = self.token(account, &c.order_token) else {
                    return Ok(Command::Ignored("cancel of an unknown token"));
                };
                let mut r = Record::new(Kind::CancelOrder);
                (r.order_id, r.session, r.aux, r.ts_event) = (id, account, u64::from(c.shares.get()), ts);
                Ok(Command::Engine(r))
            }
            inbound::Message::ReplaceOrder(u) => {
                let Some(id) = self.token(account, &u.existing_order_token) else {
                    return Ok(Command::Ignored("replace of an unknown token"));
                };
                if self.token(account, &u.replacement_order_token_token_14).is_some() {
                    return Ok(Command::Ignored("duplicate replacement token"));
                }
                if self.closed {
                    return Ok(self.reject(ts, u.replacement_order_token_token_14, b'C'));
                }
                if self.day_is_full() {
                    return Ok(self.reject(ts, u.replacement_order_token_token_14, b'Z'));
                }
                let Some(old) = self.order(id).copied() else {
                    return Ok(Command::Ignored("replace of an order no longer known"));
                };
                let new_id = self.remember(OrderInfo {
                    token: u.replacement_order_token_token_14,
                    tif: u.time_in_force.get(),
                    display: u.display,
                    iso: u.intermarket_sweep_eligibility,
                    min_qty: u.minimum_quantity.get(),
                    ..old
                });
                self.replacing.insert(id, new_id);
                let mut r = Record::new(Kind::ReplaceOrder);
                (r.order_id, r.session, r.aux, r.qty, r.price, r.ts_event) =
                    (id, account, new_id, u.shares.get(), i64::from(u.price.get()), ts);
                Ok(Command::Engine(r))
            }
            inbound::Message::ModifyOrder(m) => {
                let Some(id) = self.token(account, &m.order_token) else {
                    return Ok(Command::Ignored("modify of an unknown token"));
                };
                let Some(info) = self.order_mut(id) else {
                    return Ok(Command::Ignored("modify of an order no longer known"));
                };
                let is_sell = |b: u8| matches!(b, b'S' | b'T' | b'E');
                let allowed =
                    if info.side == b'B' { m.buy_sell_indicator == b'B' } else { is_sell(m.buy_sell_indicator) };
                if !allowed {
                    return Ok(Command::Ignored("modify may change the side only between S, T and E"));
                }
                info.side = m.buy_sell_indicator;
                self.modifying = Some((id, m.buy_sell_indicator, ts));
                let mut r = Record::new(Kind::CancelOrder);
                (r.order_id, r.session, r.aux, r.ts_event) = (id, account, u64::from(m.shares.get()), ts);
                Ok(Command::Engine(r))
            }
            inbound::Message::TradeNow(_) => Ok(Command::Ignored("trade now (N) is not supported")),
        }
    }

    /// The OUCH message for one engine output, appended to `out`; returns the account it goes
    /// to, or `None` for records no account hears about (echoes, book changes).
    pub fn outbound(&mut self, r: &Record, out: &mut Vec<u8>) -> Option<u16> {
        let ts = U64::new(r.ts_event);
        let kind = r.kind().ok()?;
        match kind {
            Kind::Accepted => {
                let o = *self.order(r.order_id)?;
                let m = outbound::Accepted {
                    message_type: b'A',
                    timestamp: ts,
                    order_token: o.token,
                    buy_sell_indicator: o.side,
                    shares: U32::new(r.qty),
                    stock: o.stock,
                    price: U32::new(if r.flags & FLAG_MARKET != 0 { MARKET_PRICE } else { r.price as u32 }),
                    time_in_force: U32::new(o.tif),
                    firm: o.firm,
                    display: o.display,
                    order_reference_number: U64::new(r.aux),
                    capacity: o.capacity,
                    intermarket_sweep_eligibility: o.iso,
                    minimum_quantity: U32::new(o.min_qty),
                    cross_type: o.cross_type,
                    order_state: b'L',
                    bbo_weight_indicator: b' ',
                };
                out.extend_from_slice(m.as_bytes());
                Some(o.account)
            }
            Kind::Rejected => {
                // A rejected replace is reported on its replacement token.
                let id = self.replacing.remove(&r.order_id).unwrap_or(r.order_id);
                if r.aux == RejectReason::UnknownOrder as u64 {
                    // A cancel or replace of an order that is no longer live: OUCH 4.2 ignores
                    // it (the order's final state was already reported).
                    return None;
                }
                let o = *self.order(id)?;
                let m = outbound::Rejected {
                    message_type: b'J',
                    timestamp: ts,
                    order_token: o.token,
                    rejected_order_reason: reject_code(r.aux),
                };
                out.extend_from_slice(m.as_bytes());
                Some(o.account)
            }
            Kind::Fill => {
                let o = *self.order(r.order_id)?;
                let m = outbound::Executed {
                    message_type: b'E',
                    timestamp: ts,
                    order_token: o.token,
                    executed_shares: U32::new(r.qty),
                    execution_price: U32::new(r.price as u32),
                    liquidity_flag: if r.flags & FLAG_MAKER != 0 { b'A' } else { b'R' },
                    match_number: U64::new(r.aux),
                };
                out.extend_from_slice(m.as_bytes());
                Some(o.account)
            }
            Kind::Canceled => {
                if self.modifying.is_some_and(|(id, _, _)| id == r.order_id) {
                    return None; // reported as `M` by `finish_command`
                }
                let o = *self.order(r.order_id)?;
                let m = outbound::Canceled {
                    message_type: b'C',
                    timestamp: ts,
                    order_token: o.token,
                    decrement_shares: U32::new(r.qty),
                    cancel_order_reason: cancel_code(r.aux >> 32),
                };
                out.extend_from_slice(m.as_bytes());
                Some(o.account)
            }
            Kind::Replaced => {
                self.replacing.remove(&r.order_id);
                let old = *self.order(r.order_id)?;
                let new = *self.order(r.aux)?;
                let m = outbound::Replaced {
                    message_type: b'U',
                    timestamp: ts,
                    replacement_order_token_alphanumeric_14: new.token,
                    buy_sell_indicator: new.side,
                    shares: U32::new(r.qty),
                    stock: new.stock,
                    price: U32::new(r.price as u32),
                    time_in_force: U32::new(new.tif),
                    firm: new.firm,
                    display: new.display,
                    order_reference_number: U64::new(r.aux),
                    capacity: new.capacity,
                    intermarket_sweep_eligibility: new.iso,
                    minimum_quantity: U32::new(new.min_qty),
                    cross_type: new.cross_type,
                    order_state: b'L',
                    previous_order_token: old.token,
                    bbo_weight_indicator: b' ',
                };
                out.extend_from_slice(m.as_bytes());
                Some(new.account)
            }
            _ => None,
        }
    }

    /// After the engine has applied a command and its outputs went through
    /// [`Translator::outbound`]: the `M` order modified message a modify asked for, appended to
    /// `out`, with the shares `leaves` says are still open (0 if the order is gone). Returns the
    /// account it goes to, or `None` if the command was not a modify.
    pub fn finish_command(&mut self, leaves: impl FnOnce(u64) -> Option<u32>, out: &mut Vec<u8>) -> Option<u16> {
        let (id, side, ts) = self.modifying.take()?;
        let o = self.order(id)?;
        let m = outbound::OrderModified {
            message_type: b'M',
            timestamp: U64::new(ts),
            order_token: o.token,
            buy_sell_indicator: side,
            shares: U32::new(leaves(id).unwrap_or(0)),
        };
        out.extend_from_slice(m.as_bytes());
        Some(o.account)
    }

    /// The symbol of an engine instrument.
    pub fn symbol(&self, instrument: u16) -> Option<&[u8; 8]> {
        self.symbols.get(usize::from(instrument))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickforge_wire::Alpha;

    fn token(i: usize) -> [u8; 14] {
        Alpha::pad(&format!("T{i}"))
    }

    /// A replace of `existing` by `replacement`: 50 shares at $100.01, for the day.
    fn replace(existing: [u8; 14], replacement: [u8; 14]) -> inbound::ReplaceOrder {
        inbound::ReplaceOrder {
            message_type: b'U',
            existing_order_token: existing,
            replacement_order_token_token_14: replacement,
            shares: U32::new(50),
            price: U32::new(1_000_100),
            time_in_force: U32::new(99_999),
            display: b'Y',
            intermarket_sweep_eligibility: b'N',
            minimum_quantity: U32::new(0),
        }
    }

    /// Sized for the day, the tables take the day's orders (entries and replacements) without
    /// growing: no rehash of the token table, a pause that grows with the day, and no move of
    /// the order records; each order is found again by the id it was given.
    #[test]
    fn a_translator_sized_for_the_day_takes_its_orders_without_growing() {
        let n = 10_000;
        let mut t = Translator::with_capacity(&["AAPL"], n);
        let room = (t.tokens.capacity(), t.orders.capacity());
        assert!(room.0 >= n && room.1 >= n, "{room:?}");
        for i in 0..n / 2 {
            let o = inbound::EnterOrder::day(token(i), b'B', 100, Alpha::pad("AAPL"), 1_000_000, *b"DEMO");
            let c = t.inbound(1, o.as_bytes(), 0).unwrap();
            assert!(matches!(c, Command::Engine(r) if r.order_id == i as u64 + 1), "{c:?}");
        }
        for i in 0..n / 2 {
            let u = replace(token(i), token(n / 2 + i));
            let c = t.inbound(1, u.as_bytes(), 0).unwrap();
            assert!(matches!(c, Command::Engine(r) if r.aux == (n / 2 + i) as u64 + 1), "{c:?}");
        }
        assert_eq!((t.tokens.len(), t.orders.len()), (n, n));
        assert_eq!((t.tokens.capacity(), t.orders.capacity()), room, "no table grew");
        for i in [0, n / 2 - 1, n / 2, n - 1] {
            let id = t.token(1, &token(i)).expect("remembered");
            assert_eq!(id, i as u64 + 1);
            assert_eq!(t.order(id).map(|o| o.token), Some(token(i)));
        }
        assert!(t.order(0).is_none() && t.order(n as u64 + 1).is_none() && t.order(u64::MAX).is_none());
    }

    /// Past the token table's last id, entries and replaces are rejected with `Z` (the
    /// engine's capacity reject), nothing is numbered, and the day's orders can still be
    /// cancelled. (The day is made full by moving the next id, not by entering 2^32 orders.)
    #[test]
    fn a_full_day_rejects_entries_and_replaces_and_still_cancels() {
        let mut t = Translator::with_capacity(&["AAPL"], 4);
        let o = inbound::EnterOrder::day(token(1), b'B', 100, Alpha::pad("AAPL"), 1_000_000, *b"DEMO");
        assert!(matches!(t.inbound(1, o.as_bytes(), 0), Ok(Command::Engine(r)) if r.order_id == 1));
        t.next_id = MAX_IDS + 1;
        let rejected_with = |c: Result<Command, OuchError>| match c {
            Ok(Command::Reply(bytes)) => match outbound::decode(&bytes) {
                Ok(outbound::Message::Rejected(j)) => Some((j.order_token, j.rejected_order_reason)),
                _ => None,
            },
            _ => None,
        };
        let o2 = inbound::EnterOrder::day(token(2), b'B', 100, Alpha::pad("AAPL"), 1_000_000, *b"DEMO");
        assert_eq!(rejected_with(t.inbound(1, o2.as_bytes(), 0)), Some((token(2), b'Z')));
        let u = replace(token(1), token(3));
        assert_eq!(rejected_with(t.inbound(1, u.as_bytes(), 0)), Some((token(3), b'Z')));
        assert_eq!((t.orders.len(), t.next_id), (1, MAX_IDS + 1), "nothing numbered");
        let x = inbound::CancelOrder { message_type: b'X', order_token: token(1), shares: U32::new(0) };
        assert!(matches!(t.inbound(1, x.as_bytes(), 0), Ok(Command::Engine(r)) if r.order_id == 1));
    }
}
