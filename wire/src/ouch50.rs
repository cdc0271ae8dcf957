//! OUCH 5.0 order entry: fixed parts as zerocopy structs, and the TLV appendage.
//!
//! OUCH 5.0 names orders by a 4-byte `UserRefNum` (increasing per account), carries prices as
//! u64 `Price(4)`, a 1-byte time in force and a 14-byte `ClOrdID`. Enter Order, Replace Order,
//! Order Accepted, Replaced and Executed end with an appendage: a u16 length, then optional
//! fields `[u8 length][u8 tag][value]`, the length counting the tag and the value.
//! Layouts: `shared/specs/ouch50_message_layouts.csv` (offsets counted after the type byte).

use crate::layout::fixed_messages;
use crate::{DecodeError, FieldLayout};
use zerocopy::byteorder::big_endian::{U16, U32, U64};
use zerocopy::{FromBytes, IntoBytes};

/// Optional-field tags (OUCH 5.0 appendix).
pub mod tag {
    /// Firm, Alpha 4.
    pub const FIRM: u8 = 2;
    /// Minimum quantity, u32.
    pub const MIN_QTY: u8 = 3;
    /// Customer type, Alpha 1.
    pub const CUSTOMER_TYPE: u8 = 4;
    /// Maximum floor (reserve display size), u32.
    pub const MAX_FLOOR: u8 = 5;
    /// Price type, Alpha 1.
    pub const PRICE_TYPE: u8 = 6;
    /// Peg offset, i32.
    pub const PEG_OFFSET: u8 = 7;
    /// Discretion price, u64 Price(4).
    pub const DISCRETION_PRICE: u8 = 9;
    /// Discretion peg type, Alpha 1.
    pub const DISCRETION_PEG_TYPE: u8 = 10;
    /// Discretion peg offset, i32.
    pub const DISCRETION_PEG_OFFSET: u8 = 11;
    /// Post only, Alpha 1 (`P`).
    pub const POST_ONLY: u8 = 12;
    /// Random reserves, u32.
    pub const RANDOM_RESERVES: u8 = 13;
    /// Route, Alpha 4.
    pub const ROUTE: u8 = 14;
    /// Expire time, u32 seconds since midnight.
    pub const EXPIRE_TIME: u8 = 15;
    /// Trade now, Alpha 1.
    pub const TRADE_NOW: u8 = 16;
    /// Handle instructions, Alpha 1.
    pub const HANDLE_INST: u8 = 17;
    /// BBO weight indicator, Alpha 1.
    pub const BBO_WEIGHT_INDICATOR: u8 = 18;
    /// Reference price, u64 Price(4).
    pub const REFERENCE_PRICE: u8 = 19;
    /// Reference price type, Alpha 1.
    pub const REFERENCE_PRICE_TYPE: u8 = 20;
}

fixed_messages! {
    /// `O` (inbound): enter order, fixed part; an appendage follows.
    b'O' EnterOrder("enter_order_message", 47) {
        message_type: u8, user_ref_num: U32,
        /// `B` buy, `S` sell, `T` sell short, `E` sell short exempt.
        side: u8,
        quantity: U32, symbol: [u8; 8],
        /// Price(4), u64.
        price: U64,
        /// `0` day, `3` IOC, `5` GTX, `6` GTT, `E` after hours.
        time_in_force: u8,
        display: u8, capacity: u8, inter_market_sweep_eligibility: u8, cross_type: u8,
        clordid: [u8; 14], appendage_length: U16,
    }
    /// `U` (inbound): replace order, fixed part; an appendage follows.
    b'U' ReplaceOrder("replace_order_message", 40) {
        message_type: u8, orig_user_ref_num: U32, user_ref_num: U32, quantity: U32, price: U64,
        time_in_force: u8, display: u8, inter_market_sweep_eligibility: u8, clordid: [u8; 14],
        appendage_length: U16,
    }
    /// `X` (inbound): cancel order, or reduce it to `quantity`.
    b'X' CancelOrder("cancel_order_message", 9) {
        message_type: u8, user_ref_num: U32, quantity: U32,
    }
    /// `M` (inbound): modify order.
    b'M' ModifyOrder("modify_order_message", 10) {
        message_type: u8, user_ref_num: U32, side: u8, quantity: U32,
    }
    /// `S` (outbound): system event.
    b'S' SystemEvent("system_event_message", 10) {
        message_type: u8, timestamp: U64, event_code: u8,
    }
    /// `A` (outbound): order accepted, fixed part; an appendage follows.
    b'A' OrderAccepted("order_accepted_message", 64) {
        message_type: u8, timestamp: U64, user_ref_num: U32, side: u8, quantity: U32,
        symbol: [u8; 8], price: U64, time_in_force: u8, display: u8, order_reference_number: U64,
        capacity: u8, inter_market_sweep_eligibility: u8, cross_type: u8, order_state: u8,
        clordid: [u8; 14], appendage_length: U16,
    }
    /// `U` (outbound): replaced, fixed part; an appendage follows.
    b'U' Replaced("replaced_message", 68) {
        message_type: u8, timestamp: U64, orig_user_ref_num: U32, user_ref_num: U32, side: u8,
        quantity: U32, symbol: [u8; 8], price: U64, time_in_force: u8, display: u8,
        order_reference_number: U64, capacity: u8, inter_market_sweep_eligibility: u8,
        cross_type: u8, order_state: u8, clordid: [u8; 14], appendage_length: U16,
    }
    /// `C` (outbound): canceled.
    b'C' Canceled("canceled_message", 18) {
        message_type: u8, timestamp: U64, user_ref_num: U32, quantity: U32,
        cancel_order_reason: u8,
    }
    /// `E` (outbound): order executed, fixed part; an appendage follows.
    b'E' OrderExecuted("order_executed_message", 36) {
        message_type: u8, timestamp: U64, user_ref_num: U32, quantity: U32, price: U64,
        liquidity_flag: u8, match_number: U64, appendage_length: U16,
    }
    /// `J` (outbound): rejected order.
    b'J' RejectedOrder("rejected_order_message", 29) {
        message_type: u8, timestamp: U64, user_ref_num: U32, rejected_order_reason: U16,
        clordid: [u8; 14],
    }
}

/// An appendage: the optional fields after a message's fixed part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appendage<'a> {
    bytes: &'a [u8],
    /// Offset of the appendage in the message, for error reports.
    offset: usize,
}

/// One optional field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalField<'a> {
    /// The tag (see [`tag`]).
    pub tag: u8,
    /// The value bytes.
    pub value: &'a [u8],
}

impl OptionalField<'_> {
    /// The value as a big-endian unsigned integer (1, 2, 4 or 8 bytes), else `None`.
    pub fn as_uint(&self) -> Option<u64> {
        match self.value.len() {
            1 => Some(u64::from(self.value[0])),
            2 => Some(u64::from(u16::from_be_bytes([self.value[0], self.value[1]]))),
            4 => u32::read_from_bytes(self.value).ok().map(|v| u64::from(u32::from_be(v))),
            8 => u64::read_from_bytes(self.value).ok().map(u64::from_be),
            _ => None,
        }
    }
}

impl<'a> Appendage<'a> {
    /// Validates the TLV structure of `bytes` (which start at `offset` in the message).
    fn parse(bytes: &'a [u8], offset: usize, message_type: u8) -> Result<Self, DecodeError> {
        let mut pos = 0;
        while pos < bytes.len() {
            let len = usize::from(bytes[pos]);
            if len == 0 || pos + 1 + len > bytes.len() {
                return Err(DecodeError::Field {
                    message_type,
                    field: "appendage",
                    offset: offset + pos,
                    value: bytes[pos],
                });
            }
            pos += 1 + len;
        }
        Ok(Appendage { bytes, offset })
    }

    /// The raw appendage bytes (without the u16 length).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Offset of the first optional field in the message.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The optional fields in order.
    pub fn fields(&self) -> impl Iterator<Item = OptionalField<'a>> + 'a {
        let bytes = self.bytes;
        let mut pos = 0;
        core::iter::from_fn(move || {
            let len = usize::from(*bytes.get(pos)?);
            let field = bytes.get(pos + 1..pos + 1 + len)?;
            pos += 1 + len;
            let (&tag, value) = field.split_first()?;
            Some(OptionalField { tag, value })
        })
    }

    /// The first field with `tag`.
    pub fn get(&self, tag: u8) -> Option<OptionalField<'a>> {
        self.fields().find(|f| f.tag == tag)
    }
}

/// Appends one optional field `[len][tag][value]` to an appendage being built.
pub fn push_field(appendage: &mut Vec<u8>, tag: u8, value: &[u8]) {
    let len = u8::try_from(value.len() + 1).unwrap_or(u8::MAX);
    appendage.push(len);
    appendage.push(tag);
    appendage.extend_from_slice(&value[..usize::from(len) - 1]);
}

/// Writes a message with an appendage: the fixed part (its `appendage_length` is overwritten
/// with the appendage's length) followed by the appendage bytes.
pub fn write_with_appendage(out: &mut Vec<u8>, fixed: &[u8], appendage: &[u8]) {
    let len = u16::try_from(appendage.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&fixed[..fixed.len() - 2]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&appendage[..usize::from(len)]);
}

fn with_appendage<T: FromBytes + zerocopy::KnownLayout + zerocopy::Immutable>(
    bytes: &[u8],
    message_type: u8,
    fixed_len: usize,
) -> Result<(&T, Appendage<'_>), DecodeError> {
    let (fixed, rest) = T::ref_from_prefix(bytes).map_err(|_| DecodeError::Length {
        message_type,
        expected: fixed_len,
        got: bytes.len(),
    })?;
    let declared = usize::from(u16::from_be_bytes([bytes[fixed_len - 2], bytes[fixed_len - 1]]));
    if declared != rest.len() {
        return Err(DecodeError::Length { message_type, expected: fixed_len + declared, got: bytes.len() });
    }
    Ok((fixed, Appendage::parse(rest, fixed_len, message_type)?))
}

fn exact<T: FromBytes + zerocopy::KnownLayout + zerocopy::Immutable>(
    bytes: &[u8],
    message_type: u8,
    len: usize,
) -> Result<&T, DecodeError> {
    T::ref_from_bytes(bytes).map_err(|_| DecodeError::Length { message_type, expected: len, got: bytes.len() })
}

/// A decoded inbound (client to venue) OUCH 5.0 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound<'a> {
    /// `O`.
    EnterOrder(&'a EnterOrder, Appendage<'a>),
    /// `U`.
    ReplaceOrder(&'a ReplaceOrder, Appendage<'a>),
    /// `X`.
    CancelOrder(&'a CancelOrder),
    /// `M`.
    ModifyOrder(&'a ModifyOrder),
}

/// A decoded outbound (venue to client) OUCH 5.0 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outbound<'a> {
    /// `S`.
    SystemEvent(&'a SystemEvent),
    /// `A`.
    OrderAccepted(&'a OrderAccepted, Appendage<'a>),
    /// `U`.
    Replaced(&'a Replaced, Appendage<'a>),
    /// `C`.
    Canceled(&'a Canceled),
    /// `E`.
    OrderExecuted(&'a OrderExecuted, Appendage<'a>),
    /// `J`.
    RejectedOrder(&'a RejectedOrder),
}

/// Decodes one inbound message (the payload of a SoupBinTCP `U` packet).
pub fn decode_inbound(bytes: &[u8]) -> Result<Inbound<'_>, DecodeError> {
    let &t = bytes.first().ok_or(DecodeError::Empty)?;
    Ok(match t {
        EnterOrder::TYPE => {
            let (m, a) = with_appendage(bytes, t, EnterOrder::LEN)?;
            Inbound::EnterOrder(m, a)
        }
        ReplaceOrder::TYPE => {
            let (m, a) = with_appendage(bytes, t, ReplaceOrder::LEN)?;
            Inbound::ReplaceOrder(m, a)
        }
        CancelOrder::TYPE => Inbound::CancelOrder(exact(bytes, t, CancelOrder::LEN)?),
        ModifyOrder::TYPE => Inbound::ModifyOrder(exact(bytes, t, ModifyOrder::LEN)?),
        other => return Err(DecodeError::UnknownType(other)),
    })
}

/// Decodes one outbound message (the payload of a SoupBinTCP `S` packet).
pub fn decode_outbound(bytes: &[u8]) -> Result<Outbound<'_>, DecodeError> {
    let &t = bytes.first().ok_or(DecodeError::Empty)?;
    Ok(match t {
        SystemEvent::TYPE => Outbound::SystemEvent(exact(bytes, t, SystemEvent::LEN)?),
        OrderAccepted::TYPE => {
            let (m, a) = with_appendage(bytes, t, OrderAccepted::LEN)?;
            Outbound::OrderAccepted(m, a)
        }
        Replaced::TYPE => {
            let (m, a) = with_appendage(bytes, t, Replaced::LEN)?;
            Outbound::Replaced(m, a)
        }
        Canceled::TYPE => Outbound::Canceled(exact(bytes, t, Canceled::LEN)?),
        OrderExecuted::TYPE => {
            let (m, a) = with_appendage(bytes, t, OrderExecuted::LEN)?;
            Outbound::OrderExecuted(m, a)
        }
        RejectedOrder::TYPE => Outbound::RejectedOrder(exact(bytes, t, RejectedOrder::LEN)?),
        other => return Err(DecodeError::UnknownType(other)),
    })
}

/// Specification name and field table of every OUCH 5.0 message implemented here, with its
/// direction (`true` = inbound).
pub fn layouts() -> [(bool, u8, &'static str, &'static [FieldLayout]); 10] {
    [
        (true, EnterOrder::TYPE, EnterOrder::NAME, EnterOrder::FIELDS),
        (true, ReplaceOrder::TYPE, ReplaceOrder::NAME, ReplaceOrder::FIELDS),
        (true, CancelOrder::TYPE, CancelOrder::NAME, CancelOrder::FIELDS),
        (true, ModifyOrder::TYPE, ModifyOrder::NAME, ModifyOrder::FIELDS),
        (false, SystemEvent::TYPE, SystemEvent::NAME, SystemEvent::FIELDS),
        (false, OrderAccepted::TYPE, OrderAccepted::NAME, OrderAccepted::FIELDS),
        (false, Replaced::TYPE, Replaced::NAME, Replaced::FIELDS),
        (false, Canceled::TYPE, Canceled::NAME, Canceled::FIELDS),
        (false, OrderExecuted::TYPE, OrderExecuted::NAME, OrderExecuted::FIELDS),
        (false, RejectedOrder::TYPE, RejectedOrder::NAME, RejectedOrder::FIELDS),
    ]
}

impl<'a> Inbound<'a> {
    /// Re-encodes the message (fixed part and appendage) into `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Inbound::EnterOrder(m, a) => write_with_appendage(out, m.as_bytes(), a.bytes()),
            Inbound::ReplaceOrder(m, a) => write_with_appendage(out, m.as_bytes(), a.bytes()),
            Inbound::CancelOrder(m) => out.extend_from_slice(m.as_bytes()),
            Inbound::ModifyOrder(m) => out.extend_from_slice(m.as_bytes()),
        }
    }
}

impl<'a> Outbound<'a> {
    /// Re-encodes the message (fixed part and appendage) into `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Outbound::SystemEvent(m) => out.extend_from_slice(m.as_bytes()),
            Outbound::OrderAccepted(m, a) => write_with_appendage(out, m.as_bytes(), a.bytes()),
            Outbound::Replaced(m, a) => write_with_appendage(out, m.as_bytes(), a.bytes()),
            Outbound::Canceled(m) => out.extend_from_slice(m.as_bytes()),
            Outbound::OrderExecuted(m, a) => write_with_appendage(out, m.as_bytes(), a.bytes()),
            Outbound::RejectedOrder(m) => out.extend_from_slice(m.as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Alpha;

    #[test]
    fn builds_and_decodes_an_enter_order_with_firm() {
        let fixed = EnterOrder {
            message_type: b'O',
            user_ref_num: U32::new(113),
            side: b'T',
            quantity: U32::new(225),
            symbol: Alpha::pad("CVLT"),
            price: U64::new(630_200),
            time_in_force: b'0',
            display: b'Y',
            capacity: b'A',
            inter_market_sweep_eligibility: b'N',
            cross_type: b'N',
            clordid: Alpha::pad("H8FUB8IV"),
            appendage_length: U16::ZERO,
        };
        let mut app = Vec::new();
        push_field(&mut app, tag::FIRM, b"LIME");
        let mut msg = Vec::new();
        write_with_appendage(&mut msg, fixed.as_bytes(), &app);
        assert_eq!(msg.len(), 53);
        let Inbound::EnterOrder(m, a) = decode_inbound(&msg).unwrap() else { panic!() };
        assert_eq!(m.user_ref_num.get(), 113);
        assert_eq!(a.get(tag::FIRM).unwrap().value, b"LIME");
        let mut again = Vec::new();
        decode_inbound(&msg).unwrap().encode(&mut again);
        assert_eq!(again, msg);
    }

    #[test]
    fn bad_appendages_are_errors() {
        let mut msg = vec![0u8; 47];
        msg[0] = b'O';
        msg[46] = 3; // declares 3 bytes, none present
        assert!(matches!(decode_inbound(&msg), Err(DecodeError::Length { expected: 50, got: 47, .. })));
        msg.extend_from_slice(&[5, 2, b'L']); // field claims 5 bytes
        assert!(matches!(decode_inbound(&msg), Err(DecodeError::Field { field: "appendage", offset: 47, .. })));
    }
}
