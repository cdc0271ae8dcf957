//! MoldUDP64 downstream packets: a 20-byte header, then message blocks `[u16 BE length][payload]`.
//!
//! | offset | field | |
//! |---|---|---|
//! | 0 | session | Alpha 10 |
//! | 10 | sequence number | u64, of the first message in the packet |
//! | 18 | message count | u16; 0 = heartbeat, 0xFFFF = end of session |
//!
//! A re-request (client to server) is the same 20-byte header, the count being the number of
//! messages requested from `sequence`.

use crate::FrameError;
use zerocopy::byteorder::big_endian::{U16, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Size of the header in bytes.
pub const HEADER_LEN: usize = 20;
/// Message count that marks an end-of-session packet.
pub const END_OF_SESSION: u16 = 0xFFFF;

/// The packet header (also the whole of a heartbeat, end-of-session or re-request packet).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct Header {
    /// Session name, Alpha 10.
    pub session: [u8; 10],
    /// Sequence number of the first message (heartbeat: the next expected).
    pub sequence_number: U64,
    /// Number of message blocks, or 0 (heartbeat) or 0xFFFF (end of session).
    pub message_count: U16,
}

const _: () = assert!(core::mem::size_of::<Header>() == HEADER_LEN);

/// What a downstream packet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// Carries `n` messages.
    Data(u16),
    /// No messages; the sequence number is the next one expected.
    Heartbeat,
    /// The session has ended; the sequence number is one past the last message.
    EndOfSession,
}

/// A parsed downstream packet: the header and an iterator over its messages.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// The header.
    pub header: &'a Header,
    body: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Parses a packet. Checks the header, and for data packets that the blocks fit exactly.
    pub fn parse(buf: &'a [u8]) -> Result<Self, FrameError> {
        let (header, body) = Header::ref_from_prefix(buf)
            .map_err(|_| FrameError::Truncated { offset: 0, needed: HEADER_LEN - buf.len() })?;
        let packet = Packet { header, body };
        if let PacketKind::Data(n) = packet.kind() {
            let mut blocks = packet.messages();
            for _ in 0..n {
                match blocks.next() {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e),
                    None => return Err(FrameError::Truncated { offset: HEADER_LEN + blocks.pos, needed: 2 }),
                }
            }
            if blocks.pos != body.len() {
                return Err(FrameError::BadLength { offset: HEADER_LEN + blocks.pos, len: body.len() - blocks.pos });
            }
        }
        Ok(packet)
    }

    /// Heartbeat, end of session, or data with its count.
    pub fn kind(&self) -> PacketKind {
        match self.header.message_count.get() {
            0 => PacketKind::Heartbeat,
            END_OF_SESSION => PacketKind::EndOfSession,
            n => PacketKind::Data(n),
        }
    }

    /// Sequence number of the first message.
    pub fn sequence_number(&self) -> u64 {
        self.header.sequence_number.get()
    }

    /// The messages, each with its offset in the packet.
    pub fn messages(&self) -> Blocks<'a> {
        let remaining = match self.kind() {
            PacketKind::Data(n) => n,
            _ => 0,
        };
        Blocks { body: self.body, pos: 0, remaining }
    }
}

/// Iterator over the message blocks of a packet: `(offset in packet, payload)`.
#[derive(Debug, Clone)]
pub struct Blocks<'a> {
    body: &'a [u8],
    pos: usize,
    remaining: u16,
}

impl<'a> Iterator for Blocks<'a> {
    type Item = Result<(usize, &'a [u8]), FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let at = self.pos;
        let rest = &self.body[at..];
        let Some(prefix) = rest.get(..2) else {
            self.remaining = 0;
            return Some(Err(FrameError::Truncated { offset: HEADER_LEN + at, needed: 2 - rest.len() }));
        };
        let len = usize::from(u16::from_be_bytes([prefix[0], prefix[1]]));
        let Some(payload) = rest.get(2..2 + len) else {
            self.remaining = 0;
            return Some(Err(FrameError::Truncated { offset: HEADER_LEN + at, needed: 2 + len - rest.len() }));
        };
        self.pos = at + 2 + len;
        Some(Ok((HEADER_LEN + at + 2, payload)))
    }
}

/// Builds data packets into a caller-owned buffer, up to a maximum datagram size.
#[derive(Debug)]
pub struct PacketBuilder {
    buf: Vec<u8>,
    max_len: usize,
    count: u16,
}

impl PacketBuilder {
    /// A builder for packets of at most `max_len` bytes (e.g. 1,472 for a 1,500-byte MTU).
    pub fn new(session: [u8; 10], first_sequence: u64, max_len: usize) -> Self {
        let mut buf = Vec::with_capacity(max_len.max(HEADER_LEN));
        buf.extend_from_slice(
            Header { session, sequence_number: U64::new(first_sequence), message_count: U16::ZERO }.as_bytes(),
        );
        PacketBuilder { buf, max_len: max_len.max(HEADER_LEN + 2), count: 0 }
    }

    /// Adds a message; returns `false` (and adds nothing) if it would not fit, or the packet
    /// already holds 65,534 messages.
    pub fn push(&mut self, message: &[u8]) -> bool {
        if self.buf.len() + 2 + message.len() > self.max_len || self.count == END_OF_SESSION - 1 {
            return false;
        }
        let Ok(len) = u16::try_from(message.len()) else { return false };
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(message);
        self.count += 1;
        self.buf[18..20].copy_from_slice(&self.count.to_be_bytes());
        true
    }

    /// Messages in the packet so far.
    pub fn count(&self) -> u16 {
        self.count
    }

    /// The packet's bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Starts a new packet whose first message has sequence `first_sequence`, reusing the buffer.
    pub fn reset(&mut self, first_sequence: u64) {
        self.buf.truncate(HEADER_LEN);
        self.buf[10..18].copy_from_slice(&first_sequence.to_be_bytes());
        self.buf[18..20].copy_from_slice(&0u16.to_be_bytes());
        self.count = 0;
    }
}

/// A header-only packet: heartbeat (`count` 0), end of session (`count` 0xFFFF), or a re-request
/// of `count` messages starting at `sequence`.
pub fn header_packet(session: [u8; 10], sequence: u64, count: u16) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out.copy_from_slice(
        Header { session, sequence_number: U64::new(sequence), message_count: U16::new(count) }.as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Alpha;

    #[test]
    fn builds_and_parses_a_data_packet() {
        let mut b = PacketBuilder::new(Alpha::pad("SESSION1"), 42, 64);
        assert!(b.push(&[b'D'; 19]));
        assert!(b.push(&[b'S'; 12]));
        assert!(!b.push(&[b'A'; 36]), "would exceed 64 bytes");
        let p = Packet::parse(b.bytes()).unwrap();
        assert_eq!(p.kind(), PacketKind::Data(2));
        assert_eq!(p.sequence_number(), 42);
        let msgs: Vec<_> = p.messages().collect::<Result<_, _>>().unwrap();
        assert_eq!(msgs[0], (22, &[b'D'; 19][..]));
        assert_eq!(msgs[1].1.len(), 12);
    }

    #[test]
    fn heartbeat_end_of_session_and_errors() {
        let s = Alpha::pad("S");
        assert_eq!(Packet::parse(&header_packet(s, 7, 0)).unwrap().kind(), PacketKind::Heartbeat);
        assert_eq!(Packet::parse(&header_packet(s, 7, 0xFFFF)).unwrap().kind(), PacketKind::EndOfSession);
        assert!(matches!(Packet::parse(&header_packet(s, 7, 1)), Err(FrameError::Truncated { offset: 20, .. })));
        assert!(matches!(Packet::parse(&[0; 5]), Err(FrameError::Truncated { offset: 0, needed: 15 })));
        let mut extra = header_packet(s, 1, 1).to_vec();
        extra.extend_from_slice(&[0, 1, b'x', 9]);
        assert!(matches!(Packet::parse(&extra), Err(FrameError::BadLength { offset: 23, len: 1 })));
    }
}
