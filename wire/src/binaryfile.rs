//! Nasdaq BinaryFILE framing: the `.NASDAQ_ITCH50` files, repeated `[u16 BE length][message]`.
//!
//! Some published files (the RITCH test file among them) have every length prefix set to zero.
//! When a prefix is zero the reader takes the length from the message type byte, as Nasdaq's
//! fixed-length messages allow; a zero prefix followed by an unknown type is an error, since
//! nothing then says where the next message starts.

use crate::{itch, FrameError};

/// One framed message and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Offset of the message's first byte (after the length prefix) in the buffer.
    pub offset: usize,
    /// The message bytes.
    pub bytes: &'a [u8],
}

/// Iterates over the messages of a BinaryFILE buffer. Yields `Err` once and then stops when the
/// framing is broken (a truncated message, or a zero prefix with an unknown type).
///
/// It keeps the bytes not yet read rather than a position in the buffer, and a failure empties
/// them: `next` then has one emptiness test to make and no bounds to re-check (book building
/// calls it once per message; 3 instructions fewer per message than a position and a flag).
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    /// The bytes from the next length prefix on (empty once the framing broke).
    rest: &'a [u8],
    /// The whole buffer's length, so that `rest` starts at `end - rest.len()`; once the framing
    /// broke, the offset where it broke (`rest` is then empty). Not a position updated per
    /// message: the offset is only computed when it is asked for.
    end: usize,
}

impl<'a> Reader<'a> {
    /// A reader over a whole file's bytes.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { rest: buf, end: buf.len() }
    }

    /// Offset of the next length prefix (where the framing broke, after an error).
    pub fn position(&self) -> usize {
        self.end - self.rest.len()
    }

    /// [`Reader::fail`] for a frame that needs `want` bytes from the current position, where
    /// fewer are left. The shortfall is worked out here, on the cold path: computed beside the
    /// hot length check, it cost book building an instruction per message.
    #[cold]
    fn fail_truncated(&mut self, want: usize) -> Option<Result<Frame<'a>, FrameError>> {
        let (offset, needed) = (Self::position(self), want - self.rest.len());
        self.fail(FrameError::Truncated { offset, needed })
    }

    #[cold]
    fn fail(&mut self, e: FrameError) -> Option<Result<Frame<'a>, FrameError>> {
        self.end = Self::position(self);
        self.rest = &[];
        Some(Err(e))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Frame<'a>, FrameError>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest;
        let at = Self::position(self);
        let [hi, lo, ..] = *rest else {
            if rest.is_empty() {
                return None;
            }
            return self.fail_truncated(2);
        };
        let mut len = usize::from(u16::from_be_bytes([hi, lo]));
        if len == 0 {
            let Some(&message_type) = rest.get(2) else {
                return self.fail_truncated(3);
            };
            match itch::message_len(message_type) {
                Some(n) => len = n,
                None => return self.fail(FrameError::UnknownTypeForZeroLength { offset: at, message_type }),
            }
        }
        let Some(bytes) = rest.get(2..2 + len) else {
            return self.fail_truncated(2 + len);
        };
        self.rest = &rest[2 + len..];
        Some(Ok(Frame { offset: at + 2, bytes }))
    }
}

/// Appends one framed message to `out`. Messages longer than 65,535 bytes cannot be framed
/// and return `Err` with their length (no ITCH message comes close).
pub fn write_frame(out: &mut Vec<u8>, message: &[u8]) -> Result<(), usize> {
    let len = u16::try_from(message.len()).map_err(|_| message.len())?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_prefixed_and_zero_prefixed_messages() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &[b'D'; 19]).unwrap();
        buf.extend_from_slice(&[0, 0]);
        buf.extend_from_slice(&[b'S'; 12]);
        let frames: Vec<_> = Reader::new(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].offset, 2);
        assert_eq!(frames[1].bytes.len(), 12);
        assert_eq!(frames[1].offset, 23);
    }

    #[test]
    fn truncation_and_unknown_zero_length_type_are_reported_once() {
        let buf = [0u8, 5, b'S', 1];
        let all: Vec<_> = Reader::new(&buf).collect();
        assert_eq!(all, vec![Err(FrameError::Truncated { offset: 0, needed: 3 })]);
        let buf = [0u8, 0, b'Z', 1];
        let all: Vec<_> = Reader::new(&buf).collect();
        assert_eq!(all, vec![Err(FrameError::UnknownTypeForZeroLength { offset: 0, message_type: b'Z' })]);
    }

    #[test]
    fn position_stays_where_the_framing_broke() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &[b'D'; 19]).unwrap();
        buf.extend_from_slice(&[0, 9, b'X']);
        let mut r = Reader::new(&buf);
        assert_eq!(r.next().map(|f| f.map(|f| f.offset)), Some(Ok(2)));
        assert_eq!(r.position(), 21);
        assert_eq!(r.next(), Some(Err(FrameError::Truncated { offset: 21, needed: 8 })));
        assert_eq!(r.position(), 21, "the offset of the broken prefix");
        assert_eq!(r.next(), None);
        assert_eq!(r.next(), None);
    }
}
