//! SoupBinTCP 3.0: `[u16 BE length][packet type][payload]`, the length counting the type byte.
//!
//! [`parse`] works on a stream buffer: it returns `Ok(None)` until a whole packet is there, so a
//! session can feed it whatever the socket gave. Lengths above the caller's maximum are an
//! error at once (a peer cannot make us buffer without bound).
//!
//! | type | direction | payload |
//! |---|---|---|
//! | `+` | both | debug text |
//! | `A` | server | Login Accepted: session Alpha 10, sequence number Numeric 20 |
//! | `J` | server | Login Rejected: reason `A` (not authorised) or `S` (session unavailable) |
//! | `S` | server | sequenced data |
//! | `H` | server | heartbeat |
//! | `Z` | server | end of session |
//! | `L` | client | Login Request: username 6, password 10, session 10, sequence Numeric 20 |
//! | `U` | client | unsequenced data |
//! | `R` | client | heartbeat |
//! | `O` | client | logout request |

use crate::{DecodeError, FrameError};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Largest packet length (after the length field) that the protocol can express.
pub const MAX_PACKET_LEN: usize = u16::MAX as usize;

/// Login Request payload (46 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct LoginRequest {
    /// Alpha 6, case-insensitive, space-padded.
    pub username: [u8; 6],
    /// Alpha 10, case-insensitive, space-padded.
    pub password: [u8; 10],
    /// Alpha 10; all spaces to log into the current session.
    pub requested_session: [u8; 10],
    /// Numeric 20 (ASCII, right-justified, space-padded): the next sequence number wanted; 0 = the most recent.
    pub requested_sequence_number: [u8; 20],
}

/// Login Accepted payload (30 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct LoginAccepted {
    /// Alpha 10: the session logged into.
    pub session: [u8; 10],
    /// Numeric 20: the sequence number of the next sequenced message to be sent.
    pub sequence_number: [u8; 20],
}

const _: () = assert!(core::mem::size_of::<LoginRequest>() == 46);
const _: () = assert!(core::mem::size_of::<LoginAccepted>() == 30);

/// A parsed packet; payloads borrow from the input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// `+`: free-form text.
    Debug(&'a [u8]),
    /// `A`.
    LoginAccepted(&'a LoginAccepted),
    /// `J` with its reason code.
    LoginRejected(u8),
    /// `S`: one sequenced message (its sequence number is implicit).
    SequencedData(&'a [u8]),
    /// `H`.
    ServerHeartbeat,
    /// `Z`.
    EndOfSession,
    /// `L`.
    LoginRequest(&'a LoginRequest),
    /// `U`: one unsequenced message.
    UnsequencedData(&'a [u8]),
    /// `R`.
    ClientHeartbeat,
    /// `O`.
    LogoutRequest,
}

impl Packet<'_> {
    /// The packet type byte.
    pub fn packet_type(&self) -> u8 {
        match self {
            Packet::Debug(_) => b'+',
            Packet::LoginAccepted(_) => b'A',
            Packet::LoginRejected(_) => b'J',
            Packet::SequencedData(_) => b'S',
            Packet::ServerHeartbeat => b'H',
            Packet::EndOfSession => b'Z',
            Packet::LoginRequest(_) => b'L',
            Packet::UnsequencedData(_) => b'U',
            Packet::ClientHeartbeat => b'R',
            Packet::LogoutRequest => b'O',
        }
    }

    /// Whether a server sends this type (otherwise a client does; `+` goes both ways).
    pub fn from_server(&self) -> bool {
        matches!(self.packet_type(), b'+' | b'A' | b'J' | b'S' | b'H' | b'Z')
    }
}

/// Parses the packet at the start of `buf`.
///
/// Returns `Ok(None)` if more bytes are needed, `Ok(Some((packet, consumed)))` for a whole
/// packet, and `Err` for a length of zero, a length above `max_len`, an unknown type, or a
/// payload of the wrong size for its type. Offsets in errors are relative to `buf`.
pub fn parse(buf: &[u8], max_len: usize) -> Result<Option<(Packet<'_>, usize)>, FrameError> {
    let Some(prefix) = buf.get(..2) else { return Ok(None) };
    let len = usize::from(u16::from_be_bytes([prefix[0], prefix[1]]));
    if len == 0 || len > max_len {
        return Err(FrameError::BadLength { offset: 0, len });
    }
    let Some(body) = buf.get(2..2 + len) else { return Ok(None) };
    let (packet_type, payload) = (body[0], &body[1..]);
    let exact = |want: usize| {
        if payload.len() == want {
            Ok(())
        } else {
            Err(FrameError::BadLength { offset: 0, len })
        }
    };
    let packet = match packet_type {
        b'+' => Packet::Debug(payload),
        b'A' => Packet::LoginAccepted(
            LoginAccepted::ref_from_bytes(payload).map_err(|_| FrameError::BadLength { offset: 0, len })?,
        ),
        b'J' => {
            exact(1)?;
            Packet::LoginRejected(payload[0])
        }
        b'S' => Packet::SequencedData(payload),
        b'H' => {
            exact(0)?;
            Packet::ServerHeartbeat
        }
        b'Z' => {
            exact(0)?;
            Packet::EndOfSession
        }
        b'L' => Packet::LoginRequest(
            LoginRequest::ref_from_bytes(payload).map_err(|_| FrameError::BadLength { offset: 0, len })?,
        ),
        b'U' => Packet::UnsequencedData(payload),
        b'R' => {
            exact(0)?;
            Packet::ClientHeartbeat
        }
        b'O' => {
            exact(0)?;
            Packet::LogoutRequest
        }
        other => return Err(FrameError::UnknownPacketType { offset: 2, packet_type: other }),
    };
    Ok(Some((packet, 2 + len)))
}

/// Appends a packet of type `packet_type` with `payload` to `out`.
///
/// # Panics
/// Never: a payload too long for the u16 length is refused with `Err(len)`.
pub fn write(out: &mut Vec<u8>, packet_type: u8, payload: &[u8]) -> Result<(), usize> {
    let len = u16::try_from(payload.len() + 1).map_err(|_| payload.len())?;
    out.extend_from_slice(&len.to_be_bytes());
    out.push(packet_type);
    out.extend_from_slice(payload);
    Ok(())
}

/// Formats a Numeric field: ASCII digits, right-justified, space-padded.
pub fn numeric<const N: usize>(value: u64) -> [u8; N] {
    let mut out = [b' '; N];
    let mut v = value;
    let mut i = N;
    loop {
        if i == 0 {
            break;
        }
        i -= 1;
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out
}

/// Parses a Numeric field (spaces on either side allowed; all spaces = 0).
pub fn parse_numeric(field: &[u8], message_type: u8, name: &'static str, offset: usize) -> Result<u64, DecodeError> {
    let mut value: u64 = 0;
    let mut seen_digit = false;
    let mut trailing = false;
    for (i, &b) in field.iter().enumerate() {
        match b {
            b'0'..=b'9' if !trailing => {
                seen_digit = true;
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(u64::from(b - b'0')))
                    .ok_or(DecodeError::Field { message_type, field: name, offset: offset + i, value: b })?;
            }
            b' ' if seen_digit => trailing = true,
            b' ' => {}
            _ => return Err(DecodeError::Field { message_type, field: name, offset: offset + i, value: b }),
        }
    }
    Ok(value)
}

impl LoginRequest {
    /// The requested sequence number (0 = the most recent).
    pub fn sequence_number(&self) -> Result<u64, DecodeError> {
        parse_numeric(&self.requested_sequence_number, b'L', "requested_sequence_number", 26)
    }
}

impl LoginAccepted {
    /// The next sequence number the server will send.
    pub fn sequence_number(&self) -> Result<u64, DecodeError> {
        parse_numeric(&self.sequence_number, b'A', "sequence_number", 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Alpha;

    #[test]
    fn login_round_trip_and_stream_parsing() {
        let req = LoginRequest {
            username: Alpha::pad("demo"),
            password: Alpha::pad("demo"),
            requested_session: [b' '; 10],
            requested_sequence_number: numeric(17),
        };
        let mut out = Vec::new();
        write(&mut out, b'L', req.as_bytes()).unwrap();
        assert_eq!(out.len(), 49);
        assert_eq!(&out[..3], &[0, 47, b'L']);
        assert_eq!(parse(&out[..10], 1000).unwrap(), None, "incomplete");
        let (p, used) = parse(&out, 1000).unwrap().unwrap();
        assert_eq!(used, 49);
        let Packet::LoginRequest(r) = p else { panic!() };
        assert_eq!(r.sequence_number(), Ok(17));
        assert_eq!(Alpha::trim(&r.username), "demo");
    }

    #[test]
    fn numeric_fields() {
        assert_eq!(&numeric::<5>(42), b"   42");
        assert_eq!(&numeric::<3>(0), b"  0");
        assert_eq!(parse_numeric(b"    ", b'L', "x", 0), Ok(0));
        assert_eq!(parse_numeric(b"12  ", b'L', "x", 0), Ok(12));
        assert!(parse_numeric(b"1 2", b'L', "x", 0).is_err());
        assert!(parse_numeric(b"99999999999999999999", b'L', "x", 0).is_err());
    }

    #[test]
    fn bad_packets_are_errors() {
        assert!(matches!(parse(&[0, 0], 100), Err(FrameError::BadLength { len: 0, .. })));
        assert!(matches!(parse(&[0, 200, b'U'], 100), Err(FrameError::BadLength { len: 200, .. })));
        assert!(matches!(parse(&[0, 1, b'?'], 100), Err(FrameError::UnknownPacketType { packet_type: b'?', .. })));
        assert!(matches!(parse(&[0, 2, b'H', 0], 100), Err(FrameError::BadLength { .. })));
        assert_eq!(parse(&[0, 1, b'R'], 100).unwrap(), Some((Packet::ClientHeartbeat, 3)));
    }
}
