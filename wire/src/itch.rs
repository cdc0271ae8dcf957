//! Nasdaq TotalView-ITCH 5.0: all 23 message types, decoded zero-copy and encoded by cast.
//!
//! # Layout
//!
//! Each message is a struct whose bytes are the message on the wire: the type byte, the common
//! header (stock locate, tracking number, 6-byte timestamp), then the body. Field names are the
//! specification's (`shared/specs/itch50_message_layouts.csv`), so the table tests can compare
//! them one by one. Integers are big-endian; prices are `Price(4)` (u32, 4 implied decimals);
//! `Price(8)` fields (MWCB levels) are u64 with 8 implied decimals.
//!
//! # Decoding
//!
//! [`decode`] checks the type byte and the exact length, then casts. It never copies and never
//! panics. [`message_len`] gives the length of each type, which the BinaryFILE reader needs for
//! files whose length prefixes are all zero.
//!
//! # Encoding
//!
//! Build the struct (every field is public) and write `as_bytes()`. [`Message::as_bytes`] gives
//! the bytes of a decoded message, which are the original bytes.

use crate::layout::{fixed_messages, message_enum};
use crate::Timestamp48;
use zerocopy::byteorder::big_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// The 11-byte prefix every ITCH 5.0 message shares.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Header {
    /// Message type byte.
    pub message_type: u8,
    /// Locate code identifying the security (0 for market-wide messages).
    pub stock_locate: U16,
    /// Nasdaq internal tracking number.
    pub tracking_number: U16,
    /// Nanoseconds since midnight.
    pub timestamp: Timestamp48,
}

fixed_messages! {
    /// `S`: start/end of messages, system hours, market hours.
    b'S' SystemEvent("system_event_message", 12) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        /// `O` start of messages, `S` start of system hours, `Q` start of market hours,
        /// `M` end of market hours, `E` end of system hours, `C` end of messages.
        event_code: u8,
    }
    /// `R`: a security's directory entry, sent before the market opens.
    b'R' StockDirectory("stock_directory_message", 39) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        /// Symbol, Alpha 8.
        stock: [u8; 8],
        market_category: u8, financial_status_indicator: u8,
        round_lot_size: U32, round_lots_only: u8, issue_classification: u8,
        issue_sub_type: [u8; 2], authenticity: u8, short_sale_threshold_indicator: u8,
        ipo_flag: u8, luld_reference_price_tier: u8, etp_flag: u8,
        etp_leverage_factor: U32, inverse_indicator: u8,
    }
    /// `H`: trading state of a security (halted, paused, quotation only, trading).
    b'H' StockTradingAction("stock_trading_action_message", 25) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        stock: [u8; 8],
        /// `H` halted, `P` paused, `Q` quotation only, `T` trading.
        trading_state: u8,
        reserved: u8,
        reason_code: [u8; 4],
    }
    /// `Y`: Reg SHO short-sale price test restriction.
    b'Y' RegShoRestriction("reg_sho_short_sale_price_test_restricted_indicator_message", 20) {
        message_type: u8,
        /// The stock locate (the specification calls it "Locate Code" here).
        locate_code: U16,
        tracking_number: U16, timestamp: Timestamp48,
        stock: [u8; 8], reg_sho_action: u8,
    }
    /// `L`: a market participant's position in a security.
    b'L' MarketParticipantPosition("market_participant_position_message", 26) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        mpid: [u8; 4], stock: [u8; 8], primary_market_maker: u8, market_maker_mode: u8,
        market_participant_state: u8,
    }
    /// `V`: market-wide circuit breaker decline levels (Price(8)).
    b'V' MwcbDeclineLevel("mwcb_decline_level_message", 35) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        level_1: U64, level_2: U64, level_3: U64,
    }
    /// `W`: market-wide circuit breaker level breached.
    b'W' MwcbStatus("mwcb_status_level_message", 12) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        breached_level: u8,
    }
    /// `K`: IPO quoting period update.
    b'K' IpoQuotingPeriodUpdate("ipo_quoting_period_update", 28) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        stock: [u8; 8], ipo_quotation_release_time: U32, ipo_quotation_release_qualifier: u8,
        ipo_price: U32,
    }
    /// `J`: LULD auction collar.
    b'J' LuldAuctionCollar("luld_auction_collar_message", 35) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        stock: [u8; 8], auction_collar_reference_price: U32, upper_auction_collar_price: U32,
        lower_auction_collar_price: U32, auction_collar_extension: U32,
    }
    /// `h`: operational halt.
    b'h' OperationalHalt("operational_halt_message", 21) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        stock: [u8; 8], market_code: u8, operational_halt_action: u8,
    }
    /// `A`: a displayed order added to the book, no MPID attribution.
    b'A' AddOrder("add_order_no_mpid_attribution_message", 36) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        /// Day-unique order reference number.
        order_reference_number: U64,
        /// `B` buy, `S` sell.
        buy_sell_indicator: u8,
        shares: U32,
        stock: [u8; 8],
        /// Price(4).
        price: U32,
    }
    /// `F`: a displayed order added to the book, with MPID attribution.
    b'F' AddOrderMpid("add_order_with_mpid_attribution_message", 40) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        order_reference_number: U64, buy_sell_indicator: u8, shares: U32, stock: [u8; 8],
        price: U32,
        /// Market participant identifier, Alpha 4.
        attribution: [u8; 4],
    }
    /// `E`: a resting order executed, at its own price. Carries only this event's shares.
    b'E' OrderExecuted("order_executed_message", 31) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        order_reference_number: U64, executed_shares: U32, match_number: U64,
    }
    /// `C`: a resting order executed at a price other than its own.
    b'C' OrderExecutedWithPrice("order_executed_with_price_message", 36) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        order_reference_number: U64, executed_shares: U32, match_number: U64,
        /// `Y` printable, `N` not printable.
        printable: u8,
        execution_price: U32,
    }
    /// `X`: shares cancelled from a resting order (partial cancel).
    b'X' OrderCancel("order_cancel_message", 23) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        order_reference_number: U64, canceled_shares: U32,
    }
    /// `D`: a resting order removed from the book.
    b'D' OrderDelete("order_delete_message", 19) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        order_reference_number: U64,
    }
    /// `U`: an order replaced by a new one (new reference, shares, price; same side and stock).
    b'U' OrderReplace("order_replace_message", 35) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        original_order_reference_number: U64, new_order_reference_number: U64, shares: U32,
        price: U32,
    }
    /// `P`: a trade against a non-displayed order; does not touch the book.
    b'P' NonCrossTrade("non_cross_trade_message", 44) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        /// Always 0 since 2009 (non-displayed orders have no public reference).
        order_reference_number: U64,
        buy_sell_indicator: u8, shares: U32, stock: [u8; 8], price: U32, match_number: U64,
    }
    /// `Q`: the bulk print of a cross; does not touch the book.
    b'Q' CrossTrade("cross_trade_message", 40) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        cross_shares: U64, stock: [u8; 8], cross_price: U32, match_number: U64, cross_type: u8,
    }
    /// `B`: a previously reported execution was broken.
    b'B' BrokenTrade("broken_trade_message", 19) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        match_number: U64,
    }
    /// `I`: net order imbalance indicator before a cross.
    b'I' Noii("net_order_imbalance_indicator_message", 50) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        paired_shares: U64, imbalance_shares: U64, imbalance_direction: u8, stock: [u8; 8],
        far_price: U32, near_price: U32, current_reference_price: U32, cross_type: u8,
        price_variation_indicator: u8,
    }
    /// `N`: retail price improvement indicator.
    b'N' RetailPriceImprovement("retail_price_improvement_indicator_message", 20) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        stock: [u8; 8], interest_flag: u8,
    }
    /// `O`: direct listing with capital raise, price discovery.
    b'O' DirectListingPriceDiscovery("direct_listing_with_capital_raise_price_discovery_message", 48) {
        message_type: u8, stock_locate: U16, tracking_number: U16, timestamp: Timestamp48,
        stock: [u8; 8], open_eligibility_status: u8, minimum_allowable_price: U32,
        maximum_allowable_price: U32, near_execution_price: U32, near_execution_time: U64,
        lower_price_range_collar: U32, upper_price_range_collar: U32,
    }
}

message_enum!(
    /// A decoded ITCH 5.0 message: a typed view of the original bytes.
    Message;
    SystemEvent,
    StockDirectory,
    StockTradingAction,
    RegShoRestriction,
    MarketParticipantPosition,
    MwcbDeclineLevel,
    MwcbStatus,
    IpoQuotingPeriodUpdate,
    LuldAuctionCollar,
    OperationalHalt,
    AddOrder,
    AddOrderMpid,
    OrderExecuted,
    OrderExecutedWithPrice,
    OrderCancel,
    OrderDelete,
    OrderReplace,
    NonCrossTrade,
    CrossTrade,
    BrokenTrade,
    Noii,
    RetailPriceImprovement,
    DirectListingPriceDiscovery,
);

impl<'a> Message<'a> {
    /// The common header (type, locate, tracking number, timestamp).
    #[inline]
    pub fn header(&self) -> &'a Header {
        // Every message starts with the header's 11 bytes.
        header_of(self.as_bytes())
    }

    /// The message type byte.
    #[inline]
    pub fn message_type(&self) -> u8 {
        self.as_bytes()[0]
    }

    /// Nanoseconds since midnight.
    #[inline]
    pub fn timestamp(&self) -> u64 {
        self.header().timestamp.get()
    }

    /// The stock locate code.
    #[inline]
    pub fn stock_locate(&self) -> u16 {
        self.header().stock_locate.get()
    }
}

/// The header of a message's bytes (at least 11 of them; shorter input gives an all-zero header).
#[inline]
pub fn header_of(bytes: &[u8]) -> &Header {
    Header::ref_from_prefix(bytes).map(|(h, _)| h).unwrap_or(&EMPTY_HEADER)
}

static EMPTY_HEADER: Header =
    Header { message_type: 0, stock_locate: U16::ZERO, tracking_number: U16::ZERO, timestamp: Timestamp48([0; 6]) };

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DecodeError;

    #[test]
    fn there_are_23_types_with_the_documented_lengths() {
        // From shared/docs/protocols.md.
        let expected = [
            (b'S', 12),
            (b'R', 39),
            (b'H', 25),
            (b'Y', 20),
            (b'L', 26),
            (b'V', 35),
            (b'W', 12),
            (b'K', 28),
            (b'J', 35),
            (b'h', 21),
            (b'A', 36),
            (b'F', 40),
            (b'E', 31),
            (b'C', 36),
            (b'X', 23),
            (b'D', 19),
            (b'U', 35),
            (b'P', 44),
            (b'Q', 40),
            (b'B', 19),
            (b'I', 50),
            (b'N', 20),
            (b'O', 48),
        ];
        assert_eq!(TYPES.len(), 23);
        for (t, len) in expected {
            assert_eq!(message_len(t), Some(len), "type {}", t as char);
        }
        assert_eq!(message_len(b'Z'), None);
    }

    #[test]
    fn decodes_the_reference_add_order_from_provenance() {
        // shared/captures/PROVENANCE.md: first message of AddOrderNoMpidAttributionMessage.pcap.
        let bytes: [u8; 36] = [
            0x41, 0x15, 0x98, 0x00, 0x00, 0x1f, 0x1a, 0xce, 0xd8, 0x53, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 0x66, 0xb5,
            0x3e, 0x42, 0x00, 0x00, 0x06, 0x40, 0x49, 0x56, 0x4f, 0x4f, 0x20, 0x20, 0x20, 0x20, 0x00, 0x0d, 0x55, 0xac,
        ];
        let Message::AddOrder(m) = decode(&bytes).unwrap() else { panic!("not an add") };
        assert_eq!(m.stock_locate.get(), 5528);
        assert_eq!(m.timestamp.get(), 34_199_999_894_278);
        assert_eq!(m.order_reference_number.get(), 23_508_286);
        assert_eq!(m.buy_sell_indicator, b'B');
        assert_eq!(m.shares.get(), 1600);
        assert_eq!(crate::Alpha::trim(&m.stock), "IVOO");
        assert_eq!(m.price.get(), 873_900);
        assert_eq!(decode(&bytes).unwrap().as_bytes(), &bytes[..]);
    }

    #[test]
    fn wrong_length_and_unknown_type_are_errors() {
        assert_eq!(decode(&[]), Err(DecodeError::Empty));
        assert_eq!(decode(b"Zxx"), Err(DecodeError::UnknownType(b'Z')));
        assert_eq!(decode(&[b'D'; 18]), Err(DecodeError::Length { message_type: b'D', expected: 19, got: 18 }));
    }
}
