//! ITCH 5.0 to the engine's 64-byte [`Record`]: the normalisation every replay goes through.
//!
//! | ITCH | record | notes |
//! |---|---|---|
//! | `A` add, `F` add with MPID | `MdAdd` | `aux` = MPID (4 ASCII bytes) for `F` |
//! | `E` executed | `MdExecute` | `aux` = match number |
//! | `C` executed with price | `MdExecute` + `FLAG_WITH_PRICE` | `price` = execution price; `FLAG_NON_PRINTABLE` when not printable |
//! | `X` cancel | `MdCancel` | `qty` = shares cancelled |
//! | `D` delete | `MdDelete` | |
//! | `U` replace | `MdReplace` | `order_id` = original, `aux` = new reference |
//! | `P` non-cross trade | `MdTrade` | does not touch the book |
//! | `Q` cross trade | `MdTrade` + `FLAG_CROSS` | does not touch the book |
//! | `H` trading action | `MdTradingStatus` | `aux` = trading state byte |
//!
//! Other types (system events, directory, imbalance, ...) produce no record. The instrument is
//! the message's stock locate; `ts_event` its timestamp. Prices stay Price(4).

use tickforge_wire::itch::{self, Message};
use tickforge_wire::record::{FLAG_CROSS, FLAG_NON_PRINTABLE, FLAG_WITH_PRICE};
use tickforge_wire::DecodeError;
use tickforge_wire::Timestamp48;
use tickforge_wire::{Kind, Record, Side};
use zerocopy::byteorder::big_endian::U16;
use zerocopy::FromBytes;

/// `Side::from_ascii` as a byte, without branches: buy and sell arrive in random order, and a
/// mispredicted branch here cost about one message in five (measured with cachegrind).
#[inline]
fn side(b: u8) -> u8 {
    let buy = u8::from(b == b'B');
    let sell = u8::from(b == b'S') | u8::from(b == b'T') | u8::from(b == b'E');
    buy * Side::Buy as u8 + sell * Side::Sell as u8
}

#[inline(always)]
fn base(kind: Kind, stock_locate: U16, timestamp: &Timestamp48) -> Record {
    let mut r = Record::new(kind);
    r.instrument = stock_locate.get();
    r.ts_event = timestamp.get();
    r
}

/// `A`.
#[inline(always)]
pub fn add(a: &itch::AddOrder) -> Record {
    let mut r = base(Kind::MdAdd, a.stock_locate, &a.timestamp);
    r.order_id = a.order_reference_number.get();
    r.side = side(a.buy_sell_indicator);
    r.qty = a.shares.get();
    r.price = i64::from(a.price.get());
    r
}

/// `F`.
#[inline(always)]
pub fn add_mpid(a: &itch::AddOrderMpid) -> Record {
    let mut r = base(Kind::MdAdd, a.stock_locate, &a.timestamp);
    r.order_id = a.order_reference_number.get();
    r.side = side(a.buy_sell_indicator);
    r.qty = a.shares.get();
    r.price = i64::from(a.price.get());
    r.aux = u64::from(u32::from_be_bytes(a.attribution));
    r
}

/// `E`.
#[inline(always)]
pub fn executed(e: &itch::OrderExecuted) -> Record {
    let mut r = base(Kind::MdExecute, e.stock_locate, &e.timestamp);
    r.order_id = e.order_reference_number.get();
    r.qty = e.executed_shares.get();
    r.aux = e.match_number.get();
    r
}

/// `C`.
#[inline(always)]
pub fn executed_with_price(e: &itch::OrderExecutedWithPrice) -> Record {
    let mut r = base(Kind::MdExecute, e.stock_locate, &e.timestamp);
    r.order_id = e.order_reference_number.get();
    r.qty = e.executed_shares.get();
    r.aux = e.match_number.get();
    r.price = i64::from(e.execution_price.get());
    r.flags = FLAG_WITH_PRICE | if e.printable == b'N' { FLAG_NON_PRINTABLE } else { 0 };
    r
}

/// `X`.
#[inline(always)]
pub fn cancel(x: &itch::OrderCancel) -> Record {
    let mut r = base(Kind::MdCancel, x.stock_locate, &x.timestamp);
    r.order_id = x.order_reference_number.get();
    r.qty = x.canceled_shares.get();
    r
}

/// `D`.
#[inline(always)]
pub fn delete(d: &itch::OrderDelete) -> Record {
    let mut r = base(Kind::MdDelete, d.stock_locate, &d.timestamp);
    r.order_id = d.order_reference_number.get();
    r
}

/// `U`.
#[inline(always)]
pub fn replace(u: &itch::OrderReplace) -> Record {
    let mut r = base(Kind::MdReplace, u.stock_locate, &u.timestamp);
    r.order_id = u.original_order_reference_number.get();
    r.aux = u.new_order_reference_number.get();
    r.qty = u.shares.get();
    r.price = i64::from(u.price.get());
    r
}

/// `P`.
#[inline(always)]
pub fn non_cross_trade(p: &itch::NonCrossTrade) -> Record {
    let mut r = base(Kind::MdTrade, p.stock_locate, &p.timestamp);
    r.order_id = p.order_reference_number.get();
    r.side = side(p.buy_sell_indicator);
    r.qty = p.shares.get();
    r.price = i64::from(p.price.get());
    r.aux = p.match_number.get();
    r
}

/// `Q`.
#[inline(always)]
pub fn cross_trade(q: &itch::CrossTrade) -> Record {
    let mut r = base(Kind::MdTrade, q.stock_locate, &q.timestamp);
    r.qty = u32::try_from(q.cross_shares.get()).unwrap_or(u32::MAX);
    r.price = i64::from(q.cross_price.get());
    r.aux = q.match_number.get();
    r.flags = FLAG_CROSS;
    r
}

/// `H`.
#[inline(always)]
pub fn trading_action(h: &itch::StockTradingAction) -> Record {
    let mut r = base(Kind::MdTradingStatus, h.stock_locate, &h.timestamp);
    r.aux = u64::from(h.trading_state);
    r
}

/// The record for a message, or `None` for types that do not concern the book.
#[inline]
pub fn record(m: &Message<'_>) -> Option<Record> {
    Some(match *m {
        Message::AddOrder(a) => add(a),
        Message::AddOrderMpid(a) => add_mpid(a),
        Message::OrderExecuted(e) => executed(e),
        Message::OrderExecutedWithPrice(e) => executed_with_price(e),
        Message::OrderCancel(x) => cancel(x),
        Message::OrderDelete(d) => delete(d),
        Message::OrderReplace(u) => replace(u),
        Message::NonCrossTrade(p) => non_cross_trade(p),
        Message::CrossTrade(q) => cross_trade(q),
        Message::StockTradingAction(h) => trading_action(h),
        _ => return None,
    })
}

/// What [`dispatch`] hands each record to. A closure works; an implementation whose `record`
/// is `#[inline(always)]` guarantees the second dispatch folds away.
pub trait RecordSink {
    /// Receives one record.
    fn record(&mut self, r: &Record);
}

impl<F: FnMut(&Record)> RecordSink for F {
    #[inline(always)]
    fn record(&mut self, r: &Record) {
        self(r);
    }
}

/// Decodes one message's bytes and, if it concerns the book, calls `sink` with its record:
/// the same as `itch::decode(bytes)` then [`record`], with one dispatch on the type byte
/// instead of two.
///
/// # Why
///
/// Message types arrive in random order, so a jump on the type mispredicts on most messages
/// (about 0.75 per message under cachegrind's branch simulation on a generated day). Decoding
/// to a [`Message`] and then applying its record matches the type twice: once in the decoder
/// and once on the record's kind in the engine. Here the record is built and handed to `sink`
/// inside each arm, so when `sink` is inlined the second match folds away (the kind is a
/// constant in each arm). `feed/tests/normalize_dispatch.rs` checks it against the two-step path
/// on every message of a capture and on random bytes.
///
/// # Errors
///
/// What `itch::decode` returns for the same bytes.
#[inline(always)]
pub fn dispatch(bytes: &[u8], sink: &mut impl RecordSink) -> Result<(), DecodeError> {
    let &message_type = bytes.first().ok_or(DecodeError::Empty)?;
    // Each arm's view checks the exact length (`ref_from_bytes` wants `size_of` bytes), so the
    // table of lengths is only read for an error or a type that builds no record: one lookup
    // and compare fewer per message (~6 instructions of ~170 in book building).
    let bad = |expected: usize| DecodeError::Length { message_type, expected, got: bytes.len() };
    macro_rules! view {
        ($ty:ty) => {
            <$ty as FromBytes>::ref_from_bytes(bytes).map_err(|_| bad(<$ty>::LEN))?
        };
    }
    match message_type {
        itch::AddOrder::TYPE => sink.record(&add(view!(itch::AddOrder))),
        itch::AddOrderMpid::TYPE => sink.record(&add_mpid(view!(itch::AddOrderMpid))),
        itch::OrderExecuted::TYPE => sink.record(&executed(view!(itch::OrderExecuted))),
        itch::OrderExecutedWithPrice::TYPE => sink.record(&executed_with_price(view!(itch::OrderExecutedWithPrice))),
        itch::OrderCancel::TYPE => sink.record(&cancel(view!(itch::OrderCancel))),
        itch::OrderDelete::TYPE => sink.record(&delete(view!(itch::OrderDelete))),
        itch::OrderReplace::TYPE => sink.record(&replace(view!(itch::OrderReplace))),
        itch::NonCrossTrade::TYPE => sink.record(&non_cross_trade(view!(itch::NonCrossTrade))),
        itch::CrossTrade::TYPE => sink.record(&cross_trade(view!(itch::CrossTrade))),
        itch::StockTradingAction::TYPE => sink.record(&trading_action(view!(itch::StockTradingAction))),
        _ => match itch::message_len(message_type) {
            None => return Err(DecodeError::UnknownType(message_type)),
            Some(expected) if expected != bytes.len() => return Err(bad(expected)),
            Some(_) => {}
        },
    }
    Ok(())
}

#[cfg(test)]
mod side_tests {
    use super::*;

    #[test]
    fn side_byte_matches_from_ascii_for_every_byte() {
        for b in 0..=u8::MAX {
            assert_eq!(side(b), Side::from_ascii(b).unwrap_or(Side::None) as u8, "byte {b}");
        }
    }
}
