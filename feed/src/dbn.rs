//! Databento DBN market-by-order files (`.dbn`, or zstd-compressed `.dbn.zst`): our own reader
//! of the MBO records, checked against the `dbn` crate in the tests, and their mapping to the
//! engine's records.
//!
//! # Layout
//!
//! An 8-byte prelude (`DBN`, version byte, metadata length u32 LE), the metadata, then records,
//! each starting with a 16-byte header: length u8 (in 4-byte words), rtype u8, publisher u16,
//! instrument id u32, `ts_event` u64. MBO records (rtype 0xA0, 56 bytes): order id u64 @16,
//! price i64 @24 (units of 1e-9), size u32 @32, flags u8 @36, channel u8 @37, action @38, side
//! @39, `ts_recv` u64 @40, `ts_in_delta` i32 @48, sequence u32 @52. Other record types are
//! skipped. Versions 1 to 3 share the MBO layout.
//!
//! # Mapping
//!
//! | action | record |
//! |---|---|
//! | `A` add | `MdAdd` |
//! | `C` cancel | `MdCancel` (the cancelled size) |
//! | `M` modify | `MdModify` (new price and size) |
//! | `F` fill | `MdExecute` (the resting order's filled size) |
//! | `T` trade | `MdTrade` (the aggressor's print; the book changes through `F`) |
//! | `R` clear | `MdClear` |
//! | `N` none | nothing |
//!
//! Side `B` is a bid, `A` an ask. Prices become Price(4) (1e-9 / 1e5); the event time is
//! `ts_event` (ns since the Unix epoch, unlike ITCH's ns since midnight).

use tickforge_wire::{Kind, Record, Side};

/// A malformed DBN file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbnError {
    /// Not a DBN file.
    #[error("not a DBN file (bad prelude)")]
    NotDbn,
    /// zstd decompression failed.
    #[error("zstd: {0}")]
    Zstd(String),
    /// A record or the metadata runs past the end.
    #[error("truncated at offset {0}")]
    Truncated(usize),
    /// A record with length 0.
    #[error("record of length 0 at offset {0}")]
    ZeroLength(usize),
}

/// One MBO record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mbo {
    /// Instrument id (the venue's or Databento's).
    pub instrument_id: u32,
    /// Publisher id.
    pub publisher_id: u16,
    /// Event time, ns since the Unix epoch.
    pub ts_event: u64,
    /// Order id.
    pub order_id: u64,
    /// Price in 1e-9 units.
    pub price: i64,
    /// Size.
    pub size: u32,
    /// Flags byte.
    pub flags: u8,
    /// Channel.
    pub channel_id: u8,
    /// Action byte (`A`, `C`, `M`, `R`, `T`, `F`, `N`).
    pub action: u8,
    /// Side byte (`A`, `B`, `N`).
    pub side: u8,
    /// Receive time, ns since the Unix epoch.
    pub ts_recv: u64,
    /// Sequence number.
    pub sequence: u32,
}

fn le<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[at..at + N]);
    a
}

/// Decompresses a `.zst` file's bytes; other bytes are returned as they are.
pub fn decompress(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, DbnError> {
    if bytes.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        let mut d = ruzstd::decoding::StreamingDecoder::new(bytes).map_err(|e| DbnError::Zstd(e.to_string()))?;
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut d, &mut out).map_err(|e| DbnError::Zstd(e.to_string()))?;
        Ok(std::borrow::Cow::Owned(out))
    } else {
        Ok(std::borrow::Cow::Borrowed(bytes))
    }
}

/// The DBN version and the MBO records of an uncompressed DBN buffer.
pub fn read_mbo(bytes: &[u8]) -> Result<(u8, Vec<Mbo>), DbnError> {
    if bytes.len() < 8 || &bytes[0..3] != b"DBN" {
        return Err(DbnError::NotDbn);
    }
    let version = bytes[3];
    let meta_len = u32::from_le_bytes(le(bytes, 4)) as usize;
    let mut pos = 8usize.checked_add(meta_len).filter(|&p| p <= bytes.len()).ok_or(DbnError::Truncated(8))?;
    let mut out = Vec::new();
    while pos < bytes.len() {
        if pos + 16 > bytes.len() {
            return Err(DbnError::Truncated(pos));
        }
        let len = usize::from(bytes[pos]) * 4;
        if len == 0 {
            return Err(DbnError::ZeroLength(pos));
        }
        if pos + len > bytes.len() {
            return Err(DbnError::Truncated(pos));
        }
        let r = &bytes[pos..pos + len];
        if r[1] == 0xA0 && len >= 56 {
            out.push(Mbo {
                publisher_id: u16::from_le_bytes(le(r, 2)),
                instrument_id: u32::from_le_bytes(le(r, 4)),
                ts_event: u64::from_le_bytes(le(r, 8)),
                order_id: u64::from_le_bytes(le(r, 16)),
                price: i64::from_le_bytes(le(r, 24)),
                size: u32::from_le_bytes(le(r, 32)),
                flags: r[36],
                channel_id: r[37],
                action: r[38],
                side: r[39],
                ts_recv: u64::from_le_bytes(le(r, 40)),
                sequence: u32::from_le_bytes(le(r, 52)),
            });
        }
        pos += len;
    }
    Ok((version, out))
}

/// The engine record for an MBO event on dense instrument index `instrument`, or `None` for
/// actions that carry nothing for the book.
pub fn to_record(m: &Mbo, instrument: u16) -> Option<Record> {
    let kind = match m.action {
        b'A' => Kind::MdAdd,
        b'C' => Kind::MdCancel,
        b'M' => Kind::MdModify,
        b'F' => Kind::MdExecute,
        b'T' => Kind::MdTrade,
        b'R' => Kind::MdClear,
        _ => return None,
    };
    let mut r = Record::new(kind);
    r.instrument = instrument;
    r.order_id = m.order_id;
    r.price = m.price / 100_000;
    r.qty = m.size;
    r.ts_event = m.ts_event;
    r.side = match m.side {
        b'B' => Side::Buy as u8,
        b'A' => Side::Sell as u8,
        _ => Side::None as u8,
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(read_mbo(b"XYZ"), Err(DbnError::NotDbn));
        assert_eq!(read_mbo(b"DBN\x02\xff\xff\xff\x7f"), Err(DbnError::Truncated(8)));
        let mut b = b"DBN\x02\x00\x00\x00\x00".to_vec();
        b.extend_from_slice(&[0u8; 16]);
        assert_eq!(read_mbo(&b), Err(DbnError::ZeroLength(8)));
        b[8] = 14; // 56 bytes claimed, 16 present
        assert_eq!(read_mbo(&b), Err(DbnError::Truncated(8)));
    }
}
