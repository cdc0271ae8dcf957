//! Error types for decoding. Small `Copy` enums: they are returned on hot paths and allocate
//! nothing. Each says what was wrong and where, relative to the buffer it was given; framing
//! readers add the file offset.

use thiserror::Error;

/// A single message could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The buffer was empty: there is no type byte.
    #[error("empty message: no type byte")]
    Empty,
    /// The type byte names no message of this protocol.
    #[error("unknown message type 0x{0:02x} ({ch:?})", ch = *.0 as char)]
    UnknownType(u8),
    /// The message's length does not match its type.
    #[error("message type {ch:?} needs {expected} bytes, got {got}", ch = *.message_type as char)]
    Length {
        /// The type byte.
        message_type: u8,
        /// Length the specification gives for this type (the fixed part, for messages with appendages).
        expected: usize,
        /// Length we were given.
        got: usize,
    },
    /// A field held a value the specification does not allow.
    #[error("message type {ch:?}: field `{field}` at offset {offset} has invalid value 0x{value:02x}", ch = *.message_type as char)]
    Field {
        /// The type byte.
        message_type: u8,
        /// The field's specification name.
        field: &'static str,
        /// Offset of the field within the message.
        offset: usize,
        /// The first byte of the offending value.
        value: u8,
    },
}

/// A framing layer (BinaryFILE, MoldUDP64, SoupBinTCP) could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The buffer ends inside a header or a message block.
    #[error("truncated at offset {offset}: need {needed} more bytes")]
    Truncated {
        /// Offset (in the buffer given) where the incomplete item starts.
        offset: usize,
        /// Bytes missing.
        needed: usize,
    },
    /// A length field is impossible (zero where not allowed, or above the protocol's maximum).
    #[error("bad length {len} at offset {offset}")]
    BadLength {
        /// Offset of the length field.
        offset: usize,
        /// The length it held.
        len: usize,
    },
    /// A zero length prefix whose message type has no known length.
    #[error("zero length prefix at offset {offset} and unknown message type 0x{message_type:02x}")]
    UnknownTypeForZeroLength {
        /// Offset of the length field.
        offset: usize,
        /// The type byte that followed.
        message_type: u8,
    },
    /// The packet type byte is not one the protocol defines.
    #[error("unknown packet type 0x{packet_type:02x} at offset {offset}")]
    UnknownPacketType {
        /// Offset of the type byte.
        offset: usize,
        /// The byte.
        packet_type: u8,
    },
}
