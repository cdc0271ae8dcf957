//! OUCH 4.2 order entry: inbound (client to venue, inside SoupBinTCP `U` packets) and outbound
//! (venue to client, inside `S` packets). Layouts: `shared/specs/ouch42_message_layouts.csv`.
//!
//! Prices are `Price(4)` u32; time in force is u32 seconds (0 = immediate or cancel, 99,998 =
//! market hours, 99,999 = system hours); timestamps are u64 ns since midnight; order tokens are
//! Alpha 14 and day-unique per account. Some type bytes exist in both directions (`U`, `M`, `N`),
//! hence the two modules, each with its own `decode`.

/// TIF value: immediate or cancel.
pub const TIF_IOC: u32 = 0;
/// TIF value: until the end of market hours.
pub const TIF_MARKET_HOURS: u32 = 99_998;
/// TIF value: until the end of system hours.
pub const TIF_SYSTEM_HOURS: u32 = 99_999;

/// Client-to-venue messages.
pub mod inbound {
    use crate::layout::{fixed_messages, message_enum};
    use zerocopy::byteorder::big_endian::U32;

    fixed_messages! {
        /// `O`: enter a new order.
        b'O' EnterOrder("enter_order_message", 49) {
            message_type: u8,
            /// Day-unique client token, Alpha 14.
            order_token: [u8; 14],
            /// `B` buy, `S` sell, `T` sell short, `E` sell short exempt.
            buy_sell_indicator: u8,
            shares: U32,
            stock: [u8; 8],
            /// Price(4).
            price: U32,
            /// Seconds; see the `TIF_*` constants.
            time_in_force: U32,
            firm: [u8; 4],
            /// `Y` visible, `N` hidden, `P` post-only, ...
            display: u8,
            capacity: u8,
            intermarket_sweep_eligibility: u8,
            minimum_quantity: U32,
            cross_type: u8,
            customer_type: u8,
        }
        /// `U`: replace an order with a new token, size and price.
        b'U' ReplaceOrder("replace_order_message", 47) {
            message_type: u8,
            existing_order_token: [u8; 14],
            replacement_order_token_token_14: [u8; 14],
            shares: U32,
            price: U32,
            time_in_force: U32,
            display: u8,
            intermarket_sweep_eligibility: u8,
            minimum_quantity: U32,
        }
        /// `X`: cancel an order, or reduce it to `shares` (0 = cancel all).
        b'X' CancelOrder("cancel_order_message", 19) {
            message_type: u8,
            order_token: [u8; 14],
            /// The new intended order size: 0 cancels the whole order.
            shares: U32,
        }
        /// `M`: reduce an order or change its side between sell variants.
        b'M' ModifyOrder("modify_order_message", 20) {
            message_type: u8, order_token: [u8; 14], buy_sell_indicator: u8, shares: U32,
        }
        /// `N`: trade now.
        b'N' TradeNow("trade_now_message", 15) {
            message_type: u8, order_token: [u8; 14],
        }
    }

    message_enum!(
        /// A decoded inbound OUCH 4.2 message.
        Message;
        EnterOrder, ReplaceOrder, CancelOrder, ModifyOrder, TradeNow,
    );

    impl EnterOrder {
        /// The plain order most tools send: visible, for the system day
        /// ([`super::TIF_SYSTEM_HOURS`]), agency capacity, no sweep, no minimum, no cross,
        /// retail customer. `price` is Price(4); set fields afterwards for anything else.
        pub fn day(order_token: [u8; 14], side: u8, shares: u32, stock: [u8; 8], price: u32, firm: [u8; 4]) -> Self {
            EnterOrder {
                message_type: b'O',
                order_token,
                buy_sell_indicator: side,
                shares: U32::new(shares),
                stock,
                price: U32::new(price),
                time_in_force: U32::new(super::TIF_SYSTEM_HOURS),
                firm,
                display: b'Y',
                capacity: b'A',
                intermarket_sweep_eligibility: b'N',
                minimum_quantity: U32::new(0),
                cross_type: b'N',
                customer_type: b'R',
            }
        }
    }
}

/// Venue-to-client messages.
pub mod outbound {
    use crate::layout::{fixed_messages, message_enum};
    use zerocopy::byteorder::big_endian::{U32, U64};

    fixed_messages! {
        /// `S`: system event (`S` start of day, `E` end of day).
        b'S' SystemEvent("system_event_message", 10) {
            message_type: u8, timestamp: U64, event_code: u8,
        }
        /// `A`: order accepted.
        b'A' Accepted("accepted_message", 66) {
            message_type: u8, timestamp: U64, order_token: [u8; 14], buy_sell_indicator: u8,
            shares: U32, stock: [u8; 8], price: U32, time_in_force: U32, firm: [u8; 4],
            display: u8,
            /// The venue's day-unique reference for the order.
            order_reference_number: U64,
            capacity: u8, intermarket_sweep_eligibility: u8, minimum_quantity: U32,
            cross_type: u8,
            /// `L` live, `D` dead (e.g. an IOC that could not rest).
            order_state: u8,
            bbo_weight_indicator: u8,
        }
        /// `U`: order replaced.
        b'U' Replaced("replaced_message", 80) {
            message_type: u8, timestamp: U64, replacement_order_token_alphanumeric_14: [u8; 14],
            buy_sell_indicator: u8, shares: U32, stock: [u8; 8], price: U32, time_in_force: U32,
            firm: [u8; 4], display: u8, order_reference_number: U64, capacity: u8,
            intermarket_sweep_eligibility: u8, minimum_quantity: U32, cross_type: u8,
            order_state: u8, previous_order_token: [u8; 14], bbo_weight_indicator: u8,
        }
        /// `C`: order cancelled (all or part).
        b'C' Canceled("canceled_message", 28) {
            message_type: u8, timestamp: U64, order_token: [u8; 14],
            /// Shares removed by this cancel.
            decrement_shares: U32,
            /// `U` user request, `I` immediate or cancel, `T` timeout, `S` supervisory, ...
            cancel_order_reason: u8,
        }
        /// `D`: cancelled by anti-internalisation (self-trade prevention).
        b'D' AiqCanceled("aiq_cancelled_message", 37) {
            message_type: u8, timestamp: U64, order_token: [u8; 14], decrement_shares: U32,
            cancel_order_reason: u8, quantity_prevented_from_trading: U32,
            execution_price: U32, liquidity_flag: u8,
        }
        /// `E`: order executed.
        b'E' Executed("executed_message", 40) {
            message_type: u8, timestamp: U64, order_token: [u8; 14], executed_shares: U32,
            execution_price: U32,
            /// `A` added liquidity (maker), `R` removed liquidity (taker), ...
            liquidity_flag: u8,
            match_number: U64,
        }
        /// `B`: a trade was broken.
        b'B' BrokenTrade("broken_trade_message", 32) {
            message_type: u8, timestamp: U64, order_token: [u8; 14], match_number: U64,
            broken_trade_reason: u8,
        }
        /// `G`: executed, with a reference price.
        b'G' ExecutedWithReferencePrice("executed_with_reference_price_message", 45) {
            message_type: u8, timestamp: U64, order_token: [u8; 14], executed_shares: U32,
            execution_price: U32, liquidity_flag: u8, match_number: U64, reference_price: U32,
            reference_price_type: u8,
        }
        /// `F`: a trade was corrected.
        b'F' TradeCorrection("trade_correction_message", 41) {
            message_type: u8, timestamp: U64, order_token: [u8; 14], executed_shares: U32,
            execution_price: U32, liquidity_flag: u8, match_number: U64, reason: u8,
        }
        /// `J`: order rejected.
        b'J' Rejected("rejected_order_message", 24) {
            message_type: u8, timestamp: U64, order_token: [u8; 14],
            /// Reason code letter (see `engine` for the mapping from engine reasons).
            rejected_order_reason: u8,
        }
        /// `P`: cancel pending.
        b'P' CancelPending("cancel_pending_message", 23) {
            message_type: u8, timestamp: U64, order_token: [u8; 14],
        }
        /// `I`: cancel rejected.
        b'I' CancelReject("cancel_reject_message", 23) {
            message_type: u8, timestamp: U64, order_token: [u8; 14],
        }
        /// `T`: order priority update.
        b'T' PriorityUpdate("order_priority_update_message", 36) {
            message_type: u8, timestamp: U64, order_token: [u8; 14], price: U32, display: u8,
            order_reference_number: U64,
        }
        /// `M`: order modified.
        b'M' OrderModified("order_modified_message", 28) {
            message_type: u8, timestamp: U64, order_token: [u8; 14], buy_sell_indicator: u8,
            shares: U32,
        }
        /// `N`: sequenced trade now.
        b'N' SequencedTradeNow("sequenced_trade_now_message", 23) {
            message_type: u8, timestamp: U64, order_token: [u8; 14],
        }
    }

    message_enum!(
        /// A decoded outbound OUCH 4.2 message.
        Message;
        SystemEvent, Accepted, Replaced, Canceled, AiqCanceled, Executed, BrokenTrade,
        ExecutedWithReferencePrice, TradeCorrection, Rejected, CancelPending, CancelReject,
        PriorityUpdate, OrderModified, SequencedTradeNow,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DecodeError;

    #[test]
    fn lengths_match_the_protocol_notes() {
        for (t, len) in [(b'O', 49), (b'U', 47), (b'X', 19), (b'M', 20), (b'N', 15)] {
            assert_eq!(inbound::message_len(t), Some(len));
        }
        for (t, len) in [(b'S', 10), (b'A', 66), (b'U', 80), (b'C', 28), (b'E', 40), (b'J', 24), (b'B', 32)] {
            assert_eq!(outbound::message_len(t), Some(len));
        }
        assert_eq!(outbound::decode(b"Q"), Err(DecodeError::UnknownType(b'Q')));
    }
}
