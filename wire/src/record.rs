//! The 64-byte record that every stage hands the next.
//!
//! # Layout
//!
//! One `#[repr(C, align(64))]` struct, exactly one cache line, widest fields first and no
//! implicit padding (checked at compile time; zerocopy's `IntoBytes` derive also refuses
//! padding). The same bytes travel through the rings and are what the journal stores.
//!
//! | offset | field | type | meaning |
//! |---|---|---|---|
//! | 0 | `seq` | u64 | engine sequence number, stamped by the matching stage (0 before) |
//! | 8 | `order_id` | u64 | order reference (exchange's for market data, engine's for order entry) |
//! | 16 | `price` | i64 | price in 1/10,000 of the quote currency (ITCH/OUCH `Price(4)`) |
//! | 24 | `aux` | u64 | kind-specific: see [`Kind`] |
//! | 32 | `ts_event` | u64 | event time, ns since midnight of the trading day (the source's clock) |
//! | 40 | `qty` | u32 | shares |
//! | 44 | `tsc_recv` | u32 | low 32 bits of the TSC when the record entered the engine (or its planned release time) |
//! | 48 | `tsc_feed` | u32 | low 32 bits of the TSC when it left the feed/gateway-in stage |
//! | 52 | `tsc_match` | u32 | low 32 bits of the TSC when the matching stage finished it |
//! | 56 | `instrument` | u16 | dense instrument index (ITCH stock locate width) |
//! | 58 | `session` | u16 | owning session / account (0 for market data) |
//! | 60 | `kind` | u8 | [`Kind`] |
//! | 61 | `side` | u8 | [`Side`] |
//! | 62 | `tif` | u8 | [`TimeInForce`] |
//! | 63 | `flags` | u8 | `FLAG_*` bits |
//!
//! # Stage stamps
//!
//! The three TSC stamps hold the *low 32 bits* of raw TSC ticks. Latency is a difference of two
//! stamps computed with wrapping subtraction, which is exact for intervals below 2^32 ticks
//! (about 1.4 s at 3 GHz); longer intervals are a stall the report flags anyway. The last stage's
//! stamp is never stored: it is read once and recorded straight into the histograms. This keeps
//! the record at one cache line with room for a full 64-bit order id, price and match number.
//!
//! # Raw enum bytes
//!
//! `kind`, `side` and `tif` are raw bytes so that any 64 bytes are a valid `Record` (the journal
//! and rings can cast without validation); the accessors return `Result` with the raw byte on
//! an unknown value.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The record. See the module docs for the layout and units.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C, align(64))]
pub struct Record {
    /// Engine sequence number; stamped by the matching stage, 0 before.
    pub seq: u64,
    /// Order reference.
    pub order_id: u64,
    /// Price in 1/10,000 currency units (Price(4)); ignored for market orders.
    pub price: i64,
    /// Kind-specific payload; see [`Kind`].
    pub aux: u64,
    /// Event time, ns since midnight (the source's clock, passed in, never read here).
    pub ts_event: u64,
    /// Quantity in shares.
    pub qty: u32,
    /// Low 32 bits of the TSC at entry (or the planned release time in a paced run).
    pub tsc_recv: u32,
    /// Low 32 bits of the TSC when the record left the input stage.
    pub tsc_feed: u32,
    /// Low 32 bits of the TSC when the matching stage finished with it.
    pub tsc_match: u32,
    /// Dense instrument index.
    pub instrument: u16,
    /// Owning session or account; 0 for market data.
    pub session: u16,
    /// Raw [`Kind`] byte. Every kind is below `0x80`: the top bit is reserved for transport
    /// (the engine's rings carry a lap flag there, and a record comes out of a ring with the
    /// bit clear).
    pub kind: u8,
    /// Raw [`Side`] byte.
    pub side: u8,
    /// Raw [`TimeInForce`] byte.
    pub tif: u8,
    /// `FLAG_*` bits.
    pub flags: u8,
}

const _: () = assert!(core::mem::size_of::<Record>() == 64);
const _: () = assert!(core::mem::align_of::<Record>() == 64);

/// Flag on a `BookChange`: after the change this level is the best of its side.
pub const FLAG_TOP: u8 = 1 << 7;
/// Flag: a post-only order (rejected if it would take liquidity).
pub const FLAG_POST_ONLY: u8 = 1 << 0;
/// Flag: a market order (`price` is ignored).
pub const FLAG_MARKET: u8 = 1 << 1;
/// Flag on a fill: this side was the resting (maker) order.
pub const FLAG_MAKER: u8 = 1 << 2;
/// Flag: the order is (or the event concerns) non-displayed liquidity.
pub const FLAG_HIDDEN: u8 = 1 << 3;
/// Flag on a market-data trade: a cross (ITCH Q) rather than a non-cross trade (ITCH P).
pub const FLAG_CROSS: u8 = 1 << 4;
/// Flag on an execution: the event carried its own price (ITCH C) in `price`.
pub const FLAG_WITH_PRICE: u8 = 1 << 5;
/// Flag on an execution: the print is not to be counted in volume (ITCH C printable = N).
pub const FLAG_NON_PRINTABLE: u8 = 1 << 6;

macro_rules! byte_enum {
    ($(#[$meta:meta])* $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $value:expr ),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $name { $( $(#[$vmeta])* $variant = $value ),* }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
        }

        impl TryFrom<u8> for $name {
            type Error = u8;
            fn try_from(raw: u8) -> Result<Self, u8> {
                match raw { $( $value => Ok($name::$variant), )* other => Err(other) }
            }
        }
    };
}

byte_enum! {
    /// What a record means. `aux` and `flags` depend on the kind:
    ///
    /// | kind | `order_id` | `aux` |
    /// |---|---|---|
    /// | `MdAdd` | order | MPID attribution (4 ASCII bytes, big-endian in the low 32 bits) or 0 |
    /// | `MdExecute` | order | match number (price in `price` when `FLAG_WITH_PRICE`) |
    /// | `MdCancel` | order | 0 (`qty` = shares removed) |
    /// | `MdDelete` | order | 0 |
    /// | `MdReplace` | original order | new order reference (`qty`, `price` = new values) |
    /// | `MdTrade` | order (0 for a cross) | match number |
    /// | `MdTradingStatus` | 0 | trading state byte (`H`, `P`, `Q`, `T`) |
    /// | `MdClear` | 0 | 0: remove every order of the instrument |
    /// | `MdModify` | order | 0 (`price`, `qty` = the order's new values) |
    /// | `EndOfDay` | 0 | 0 |
    /// | `Configure` | 0 | [`Setting`] code (the value in `price`; `instrument` or `session` says what it applies to) |
    /// | `NewOrder` | client order id | display quantity in the low 32 bits (0 = all shown), minimum quantity in the high 32 |
    /// | `CancelOrder` | order | 0 = cancel all, else the quantity to leave (reduce to) |
    /// | `ReplaceOrder` | order | new client order id (`qty`, `price` = new values) |
    /// | `MassCancel` | 0 | 0 = by session (`session`), 1 = by instrument (`instrument`) |
    /// | `Accepted` | order | engine order reference |
    /// | `Rejected` | order | [`RejectReason`] |
    /// | `Fill` | order | match number; `FLAG_MAKER` on the resting side |
    /// | `Canceled` | order | [`CancelReason`] in bits 32..40, shares left in the low 32 bits (`qty` = shares removed) |
    /// | `Replaced` | old order | new order id |
    /// | `BookChange` | 0 | order count at the level (`price`, `qty` = new level total, `side`) |
    Kind {
        /// Market data: an order was added to the book.
        MdAdd = 1,
        /// Market data: a resting order executed (all or part).
        MdExecute = 2,
        /// Market data: shares cancelled from a resting order.
        MdCancel = 3,
        /// Market data: a resting order was deleted.
        MdDelete = 4,
        /// Market data: an order was replaced by a new one (new reference, price, size).
        MdReplace = 5,
        /// Market data: a trade that does not touch the visible book.
        MdTrade = 6,
        /// Market data: trading status changed for an instrument.
        MdTradingStatus = 7,
        /// Market data: clear the instrument's book.
        MdClear = 8,
        /// Market data: an order's price or size changed in place (Databento `M`): it keeps its
        /// place only if the price is unchanged and the size did not grow.
        MdModify = 9,
        /// Venue configuration: one setting of an instrument or an account, journaled like any
        /// command so that a replay of a venue's journal reproduces its state exactly.
        Configure = 16,
        /// Venue: the trading day ends at `ts_event`; every day order expires (cancelled with
        /// [`CancelReason::EndOfDay`]).
        EndOfDay = 17,
        /// Order entry: enter a new order.
        NewOrder = 32,
        /// Order entry: cancel or reduce an order.
        CancelOrder = 33,
        /// Order entry: replace or modify an order.
        ReplaceOrder = 34,
        /// Order entry: cancel many orders at once.
        MassCancel = 35,
        /// Engine output: order accepted.
        Accepted = 64,
        /// Engine output: command rejected.
        Rejected = 65,
        /// Engine output: one side of an execution.
        Fill = 66,
        /// Engine output: order cancelled (all or part).
        Canceled = 67,
        /// Engine output: order replaced.
        Replaced = 68,
        /// Engine output: a price level changed.
        BookChange = 69,
    }
}

// Every kind leaves the top bit of the byte free for transport (see `Record::kind`).
const _: () = {
    let mut i = 0;
    while i < Kind::ALL.len() {
        assert!((Kind::ALL[i] as u8) < 0x80, "a Kind with its top bit set");
        i += 1;
    }
};

byte_enum! {
    /// What a `Configure` record sets (its `aux`); the value is in `price`.
    Setting {
        /// Configures `instrument` for matching with default limits (resets its status and
        /// reference price); `price` = the tick in price units.
        Instrument = 1,
        /// The reference price of `instrument` until its first trade (0 = none).
        ReferencePrice = 2,
        /// A band of `price` price units around the reference price (0 = no band).
        BandAbsolute = 3,
        /// A band of `price` basis points around the reference price (0 = no band).
        BandBps = 4,
        /// Largest quantity of one order of `instrument`.
        MaxQty = 5,
        /// Largest notional (price units x shares) of one order of `instrument` (0 = unlimited).
        MaxNotional = 6,
        /// Self-trade prevention of account `session`: 0 off, 1 cancel newest, 2 cancel oldest,
        /// 3 cancel both, 4 decrement.
        SelfTradePrevention = 7,
    }
}

byte_enum! {
    /// Order side.
    Side {
        /// No side (system records).
        None = 0,
        /// Bid.
        Buy = 1,
        /// Ask.
        Sell = 2,
    }
}

impl Side {
    /// The other side.
    pub const fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
            Side::None => Side::None,
        }
    }

    /// Maps ITCH/OUCH `B`/`S` (and OUCH's short-sale `T`, `E`) to a side.
    pub const fn from_ascii(b: u8) -> Option<Side> {
        match b {
            b'B' => Some(Side::Buy),
            b'S' | b'T' | b'E' => Some(Side::Sell),
            _ => None,
        }
    }
}

byte_enum! {
    /// Time in force.
    TimeInForce {
        /// Rests until the end of the day.
        Day = 0,
        /// Rests until cancelled.
        Gtc = 1,
        /// Immediate or cancel: whatever does not fill at once is cancelled.
        Ioc = 2,
        /// Fill or kill: fills completely at once, or not at all.
        Fok = 3,
    }
}

byte_enum! {
    /// Why an order was cancelled (carried in bits 32..40 of `aux` of a `Canceled` record; the
    /// low 32 bits hold the shares left on the order).
    CancelReason {
        /// The owner asked (cancel or reduce).
        Requested = 0,
        /// The unfilled rest of an immediate-or-cancel or market order.
        Immediate = 1,
        /// Self-trade prevention.
        SelfTrade = 2,
        /// A mass cancel.
        MassCancel = 3,
        /// The end of the day expired a day order.
        EndOfDay = 4,
    }
}

byte_enum! {
    /// Why the engine rejected a command (carried in `aux` of a `Rejected` record).
    RejectReason {
        /// Unknown instrument.
        UnknownInstrument = 1,
        /// Quantity zero or above the maximum order quantity.
        InvalidQuantity = 2,
        /// Price not positive or not on the tick grid.
        InvalidPrice = 3,
        /// Price outside the band around the reference price.
        PriceBand = 4,
        /// Notional (price × quantity) above the limit.
        Notional = 5,
        /// The instrument is halted.
        Halted = 6,
        /// A post-only order would have taken liquidity.
        PostOnlyWouldCross = 7,
        /// A fill-or-kill or minimum-quantity order could not be filled as required.
        CannotFill = 8,
        /// Cancel or replace of an order that does not exist (or is not the session's).
        UnknownOrder = 9,
        /// An order with this id is already live.
        DuplicateOrderId = 10,
        /// The order pool is full.
        CapacityExceeded = 11,
        /// A market order found no liquidity.
        NoLiquidity = 12,
        /// Self-trade prevention cancelled the order.
        SelfTrade = 13,
        /// The command's fields are inconsistent (e.g. bad side or time in force).
        Malformed = 14,
    }
}

impl Record {
    /// The record's kind, or the raw byte if it names none.
    pub fn kind(&self) -> Result<Kind, u8> {
        Kind::try_from(self.kind)
    }

    /// The record's side, or the raw byte if it names none.
    pub fn side(&self) -> Result<Side, u8> {
        Side::try_from(self.side)
    }

    /// The record's time in force, or the raw byte if it names none.
    pub fn tif(&self) -> Result<TimeInForce, u8> {
        TimeInForce::try_from(self.tif)
    }

    /// A record of the given kind with every other field zero.
    pub const fn new(kind: Kind) -> Record {
        Record {
            seq: 0,
            order_id: 0,
            price: 0,
            aux: 0,
            ts_event: 0,
            qty: 0,
            tsc_recv: 0,
            tsc_feed: 0,
            tsc_match: 0,
            instrument: 0,
            session: 0,
            kind: kind as u8,
            side: Side::None as u8,
            tif: TimeInForce::Day as u8,
            flags: 0,
        }
    }

    /// The record with its stage stamps cleared: what determinism hashes compare, since
    /// stamps are wall-clock measurements.
    pub const fn without_stamps(mut self) -> Record {
        self.tsc_recv = 0;
        self.tsc_feed = 0;
        self.tsc_match = 0;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn layout_is_one_cache_line_without_padding() {
        let table = [
            (offset_of!(Record, seq), 0),
            (offset_of!(Record, order_id), 8),
            (offset_of!(Record, price), 16),
            (offset_of!(Record, aux), 24),
            (offset_of!(Record, ts_event), 32),
            (offset_of!(Record, qty), 40),
            (offset_of!(Record, tsc_recv), 44),
            (offset_of!(Record, tsc_feed), 48),
            (offset_of!(Record, tsc_match), 52),
            (offset_of!(Record, instrument), 56),
            (offset_of!(Record, session), 58),
            (offset_of!(Record, kind), 60),
            (offset_of!(Record, side), 61),
            (offset_of!(Record, tif), 62),
            (offset_of!(Record, flags), 63),
        ];
        for (got, want) in table {
            assert_eq!(got, want);
        }
        assert_eq!(core::mem::size_of::<Record>(), 64);
        assert_eq!(core::mem::align_of::<Record>(), 64);
    }

    #[test]
    fn any_bytes_are_a_record_and_enums_report_unknown_bytes() {
        let mut bytes = [0xffu8; 64];
        bytes[60] = Kind::Fill as u8;
        let rec = Record::read_from_bytes(&bytes[..]).unwrap();
        assert_eq!(rec.kind(), Ok(Kind::Fill));
        assert_eq!(rec.side(), Err(0xff));
        assert_eq!(rec.as_bytes(), &bytes[..]);
    }

    #[test]
    fn enums_round_trip_through_their_bytes() {
        for k in Kind::ALL {
            assert_eq!(Kind::try_from(*k as u8), Ok(*k));
        }
        for r in RejectReason::ALL {
            assert_eq!(RejectReason::try_from(*r as u8), Ok(*r));
        }
        assert_eq!(Side::from_ascii(b'T'), Some(Side::Sell));
        assert_eq!(Side::Buy.opposite(), Side::Sell);
    }
}
