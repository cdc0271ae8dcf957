//! Records back to ITCH 5.0: the inverse of [`normalize`](crate::normalize), for converting
//! other formats to BinaryFILE and for publishing the engine's market data.
//!
//! | record | ITCH |
//! |---|---|
//! | `MdAdd` | `A`, or `F` when `aux` holds an MPID |
//! | `MdExecute` | `E`, or `C` with `FLAG_WITH_PRICE` (printable unless `FLAG_NON_PRINTABLE`) |
//! | `MdCancel` / `MdDelete` / `MdReplace` | `X` / `D` / `U` |
//! | `MdTrade` | `P`, or `Q` with `FLAG_CROSS` |
//! | `MdTradingStatus` | `H` |
//!
//! `MdModify` and `MdClear` have no ITCH message of their own and need the book's state:
//! [`Encoder::encode`] reports them as [`Unrepresentable`] and callers that hold a book turn
//! them into the messages above first. The stock locate is the record's instrument; the
//! symbol comes from the encoder's directory (`R` messages written by [`Encoder::directory`]).

use tickforge_wire::itch;
use tickforge_wire::record::{FLAG_CROSS, FLAG_NON_PRINTABLE, FLAG_WITH_PRICE};
use tickforge_wire::zerocopy::byteorder::big_endian::{U16, U32, U64};
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::{Alpha, Kind, Record, Timestamp48};

/// A record ITCH cannot carry as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record seq {seq} ({kind}) has no ITCH 5.0 message: {why}")]
pub struct Unrepresentable {
    /// The record's sequence number.
    pub seq: u64,
    /// Its kind, as text.
    pub kind: String,
    /// Why.
    pub why: &'static str,
}

/// Symbols by stock locate, and the encoding itself.
#[derive(Debug, Clone, Default)]
pub struct Encoder {
    symbols: Vec<[u8; 8]>,
}

fn price32(r: &Record) -> Result<U32, Unrepresentable> {
    u32::try_from(r.price).map(U32::new).map_err(|_| Unrepresentable {
        seq: r.seq,
        kind: format!("{:?}", r.kind()),
        why: "price outside ITCH's Price(4) u32 range",
    })
}

fn side_byte(r: &Record) -> u8 {
    if r.side == tickforge_wire::Side::Sell as u8 {
        b'S'
    } else {
        b'B'
    }
}

impl Encoder {
    /// An encoder knowing `symbols[i]` as the symbol of stock locate `i + 1`.
    pub fn new<S: AsRef<str>>(symbols: &[S]) -> Encoder {
        Encoder { symbols: symbols.iter().map(|s| Alpha::pad(s.as_ref())).collect() }
    }

    /// The symbol of a stock locate (`TF<locate>` when not in the directory).
    pub fn symbol(&self, locate: u16) -> [u8; 8] {
        usize::from(locate)
            .checked_sub(1)
            .and_then(|i| self.symbols.get(i).copied())
            .unwrap_or_else(|| Alpha::pad(&format!("TF{locate}")))
    }

    /// Start-of-day messages: system event `O` and `S`, then a stock directory (`R`) and a
    /// trading action (`H`, trading) per symbol, all at time `ts` (ns since midnight).
    pub fn directory(&self, ts: u64, mut emit: impl FnMut(&[u8])) {
        let t = Timestamp48::new(ts);
        for code in [b'O', b'S'] {
            emit(
                itch::SystemEvent {
                    message_type: b'S',
                    stock_locate: U16::ZERO,
                    tracking_number: U16::ZERO,
                    timestamp: t,
                    event_code: code,
                }
                .as_bytes(),
            );
        }
        for (i, stock) in self.symbols.iter().enumerate() {
            let locate = U16::new(i as u16 + 1);
            emit(
                itch::StockDirectory {
                    message_type: b'R',
                    stock_locate: locate,
                    tracking_number: U16::ZERO,
                    timestamp: t,
                    stock: *stock,
                    market_category: b'Q',
                    financial_status_indicator: b'N',
                    round_lot_size: U32::new(100),
                    round_lots_only: b'N',
                    issue_classification: b'C',
                    issue_sub_type: *b"Z ",
                    authenticity: b'P',
                    short_sale_threshold_indicator: b'N',
                    ipo_flag: b'N',
                    luld_reference_price_tier: b'1',
                    etp_flag: b'N',
                    etp_leverage_factor: U32::ZERO,
                    inverse_indicator: b'N',
                }
                .as_bytes(),
            );
            emit(
                itch::StockTradingAction {
                    message_type: b'H',
                    stock_locate: locate,
                    tracking_number: U16::ZERO,
                    timestamp: t,
                    stock: *stock,
                    trading_state: b'T',
                    reserved: b' ',
                    reason_code: Alpha::pad(""),
                }
                .as_bytes(),
            );
        }
    }

    /// End-of-day system events (`M` end of market hours, `E` end of system hours, `C` end of
    /// messages).
    pub fn end_of_day(&self, ts: u64, mut emit: impl FnMut(&[u8])) {
        for code in [b'M', b'E', b'C'] {
            emit(
                itch::SystemEvent {
                    message_type: b'S',
                    stock_locate: U16::ZERO,
                    tracking_number: U16::ZERO,
                    timestamp: Timestamp48::new(ts),
                    event_code: code,
                }
                .as_bytes(),
            );
        }
    }

    /// Encodes one market-data record, handing the message's bytes to `emit`. `ts_event` is
    /// taken modulo a day (ITCH timestamps are nanoseconds since midnight).
    pub fn encode(&self, r: &Record, emit: impl FnOnce(&[u8])) -> Result<(), Unrepresentable> {
        let (locate, tracking) = (U16::new(r.instrument), U16::ZERO);
        let timestamp = Timestamp48::new(r.ts_event % 86_400_000_000_000);
        let id = U64::new(r.order_id);
        let kind =
            r.kind().map_err(|raw| Unrepresentable { seq: r.seq, kind: format!("kind {raw}"), why: "unknown kind" })?;
        let none = |why| Unrepresentable { seq: r.seq, kind: format!("{kind:?}"), why };
        match kind {
            Kind::MdAdd if r.aux != 0 => emit(
                itch::AddOrderMpid {
                    message_type: b'F',
                    stock_locate: locate,
                    tracking_number: tracking,
                    timestamp,
                    order_reference_number: id,
                    buy_sell_indicator: side_byte(r),
                    shares: U32::new(r.qty),
                    stock: self.symbol(r.instrument),
                    price: price32(r)?,
                    attribution: u32::try_from(r.aux).unwrap_or(0).to_be_bytes(),
                }
                .as_bytes(),
            ),
            Kind::MdAdd => emit(
                itch::AddOrder {
                    message_type: b'A',
                    stock_locate: locate,
                    tracking_number: tracking,
                    timestamp,
                    order_reference_number: id,
                    buy_sell_indicator: side_byte(r),
                    shares: U32::new(r.qty),
                    stock: self.symbol(r.instrument),
                    price: price32(r)?,
                }
                .as_bytes(),
            ),
            Kind::MdExecute if r.flags & FLAG_WITH_PRICE != 0 => emit(
                itch::OrderExecutedWithPrice {
                    message_type: b'C',
                    stock_locate: locate,
                    tracking_number: tracking,
                    timestamp,
                    order_reference_number: id,
                    executed_shares: U32::new(r.qty),
                    match_number: U64::new(r.aux),
                    printable: if r.flags & FLAG_NON_PRINTABLE != 0 { b'N' } else { b'Y' },
                    execution_price: price32(r)?,
                }
                .as_bytes(),
            ),
            Kind::MdExecute => emit(
                itch::OrderExecuted {
                    message_type: b'E',
                    stock_locate: locate,
                    tracking_number: tracking,
                    timestamp,
                    order_reference_number: id,
                    executed_shares: U32::new(r.qty),
                    match_number: U64::new(r.aux),
                }
                .as_bytes(),
            ),
            Kind::MdCancel => emit(
                itch::OrderCancel {
                    message_type: b'X',
                    stock_locate: locate,
                    tracking_number: tracking,
                    timestamp,
                    order_reference_number: id,
                    canceled_shares: U32::new(r.qty),
                }
                .as_bytes(),
            ),
            Kind::MdDelete => emit(
                itch::OrderDelete {
                    message_type: b'D',
                    stock_locate: locate,
                    tracking_number: tracking,
                    timestamp,
                    order_reference_number: id,
                }
                .as_bytes(),
            ),
            Kind::MdReplace => emit(
                itch::OrderReplace {
                    message_type: b'U',
                    stock_locate: locate,
                    tracking_number: tracking,
                    timestamp,
                    original_order_reference_number: id,
                    new_order_reference_number: U64::new(r.aux),
                    shares: U32::new(r.qty),
                    price: price32(r)?,
                }
                .as_bytes(),
            ),
            Kind::MdTrade if r.flags & FLAG_CROSS != 0 => emit(
                itch::CrossTrade {
                    message_type: b'Q',
                    stock_locate: locate,
                    tracking_number: tracking,
                    timestamp,
                    cross_shares: U64::new(u64::from(r.qty)),
                    stock: self.symbol(r.instrument),
                    cross_price: price32(r)?,
                    match_number: U64::new(r.aux),
                    cross_type: b'O',
                }
                .as_bytes(),
            ),
            Kind::MdTrade => emit(
                itch::NonCrossTrade {
                    message_type: b'P',
                    stock_locate: locate,
                    tracking_number: tracking,
                    timestamp,
                    order_reference_number: id,
                    buy_sell_indicator: side_byte(r),
                    shares: U32::new(r.qty),
                    stock: self.symbol(r.instrument),
                    price: price32(r)?,
                    match_number: U64::new(r.aux),
                }
                .as_bytes(),
            ),
            Kind::MdTradingStatus => emit(
                itch::StockTradingAction {
                    message_type: b'H',
                    stock_locate: locate,
                    tracking_number: tracking,
                    timestamp,
                    stock: self.symbol(r.instrument),
                    trading_state: u8::try_from(r.aux).unwrap_or(b'T'),
                    reserved: b' ',
                    reason_code: Alpha::pad(""),
                }
                .as_bytes(),
            ),
            Kind::MdModify => return Err(none("a modify needs the order's state (use a book to split it)")),
            Kind::MdClear => return Err(none("a book clear needs the book's orders (use a book to split it)")),
            _ => return Err(none("not a market-data record")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickforge_wire::Side;

    /// Every representable kind survives record → ITCH → record unchanged (what the
    /// normaliser reads back is what was written).
    #[test]
    fn records_round_trip_through_itch() {
        let enc = Encoder::new(&["AAPL"]);
        let mut cases = Vec::new();
        for (kind, flags, aux) in [
            (Kind::MdAdd, 0, 0),
            (Kind::MdAdd, 0, u64::from(u32::from_be_bytes(*b"GSCO"))),
            (Kind::MdExecute, 0, 77),
            (Kind::MdExecute, FLAG_WITH_PRICE, 78),
            (Kind::MdExecute, FLAG_WITH_PRICE | FLAG_NON_PRINTABLE, 79),
            (Kind::MdCancel, 0, 0),
            (Kind::MdDelete, 0, 0),
            (Kind::MdReplace, 0, 999),
            (Kind::MdTrade, 0, 5),
            (Kind::MdTrade, FLAG_CROSS, 6),
            (Kind::MdTradingStatus, 0, u64::from(b'H')),
        ] {
            let mut r = Record::new(kind);
            (r.instrument, r.order_id, r.qty, r.price, r.ts_event, r.flags, r.aux) =
                (1, 42, 300, 1_234_500, 34_200_123_456_789, flags, aux);
            r.side = Side::Sell as u8;
            cases.push(r);
        }
        for r in cases {
            let mut bytes = Vec::new();
            enc.encode(&r, |b| bytes.extend_from_slice(b)).unwrap();
            let m = itch::decode(&bytes).unwrap();
            let back = crate::normalize::record(&m).unwrap();
            let kind = r.kind().unwrap();
            // Fields a message type does not carry come back as the normaliser's defaults.
            assert_eq!(
                (back.kind, back.instrument, back.ts_event, back.aux),
                (r.kind, 1, r.ts_event, r.aux),
                "{kind:?}"
            );
            if matches!(kind, Kind::MdAdd | Kind::MdReplace) || r.flags & FLAG_WITH_PRICE != 0 {
                assert_eq!(back.price, r.price, "{kind:?}");
            }
            assert_eq!(back.flags, r.flags, "{kind:?}");
        }
        let mut modify = Record::new(Kind::MdModify);
        modify.seq = 9;
        assert_eq!(enc.encode(&modify, |_| {}).unwrap_err().seq, 9);
    }
}
