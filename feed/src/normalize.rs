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

use tickforge_wire::itch::Message;
use tickforge_wire::record::{FLAG_CROSS, FLAG_NON_PRINTABLE, FLAG_WITH_PRICE};
use tickforge_wire::{Kind, Record, Side};

fn side(b: u8) -> u8 {
    Side::from_ascii(b).unwrap_or(Side::None) as u8
}

/// The record for a message, or `None` for types that do not concern the book.
#[inline]
pub fn record(m: &Message<'_>) -> Option<Record> {
    let mut r = Record::new(Kind::MdAdd);
    r.instrument = m.stock_locate();
    r.ts_event = m.timestamp();
    match *m {
        Message::AddOrder(a) => {
            r.order_id = a.order_reference_number.get();
            r.side = side(a.buy_sell_indicator);
            r.qty = a.shares.get();
            r.price = i64::from(a.price.get());
        }
        Message::AddOrderMpid(a) => {
            r.order_id = a.order_reference_number.get();
            r.side = side(a.buy_sell_indicator);
            r.qty = a.shares.get();
            r.price = i64::from(a.price.get());
            r.aux = u64::from(u32::from_be_bytes(a.attribution));
        }
        Message::OrderExecuted(e) => {
            r.kind = Kind::MdExecute as u8;
            r.order_id = e.order_reference_number.get();
            r.qty = e.executed_shares.get();
            r.aux = e.match_number.get();
        }
        Message::OrderExecutedWithPrice(e) => {
            r.kind = Kind::MdExecute as u8;
            r.order_id = e.order_reference_number.get();
            r.qty = e.executed_shares.get();
            r.aux = e.match_number.get();
            r.price = i64::from(e.execution_price.get());
            r.flags = FLAG_WITH_PRICE | if e.printable == b'N' { FLAG_NON_PRINTABLE } else { 0 };
        }
        Message::OrderCancel(x) => {
            r.kind = Kind::MdCancel as u8;
            r.order_id = x.order_reference_number.get();
            r.qty = x.canceled_shares.get();
        }
        Message::OrderDelete(d) => {
            r.kind = Kind::MdDelete as u8;
            r.order_id = d.order_reference_number.get();
        }
        Message::OrderReplace(u) => {
            r.kind = Kind::MdReplace as u8;
            r.order_id = u.original_order_reference_number.get();
            r.aux = u.new_order_reference_number.get();
            r.qty = u.shares.get();
            r.price = i64::from(u.price.get());
        }
        Message::NonCrossTrade(p) => {
            r.kind = Kind::MdTrade as u8;
            r.order_id = p.order_reference_number.get();
            r.side = side(p.buy_sell_indicator);
            r.qty = p.shares.get();
            r.price = i64::from(p.price.get());
            r.aux = p.match_number.get();
        }
        Message::CrossTrade(q) => {
            r.kind = Kind::MdTrade as u8;
            r.qty = u32::try_from(q.cross_shares.get()).unwrap_or(u32::MAX);
            r.price = i64::from(q.cross_price.get());
            r.aux = q.match_number.get();
            r.flags = FLAG_CROSS;
        }
        Message::StockTradingAction(h) => {
            r.kind = Kind::MdTradingStatus as u8;
            r.aux = u64::from(h.trading_state);
        }
        _ => return None,
    }
    Some(r)
}
