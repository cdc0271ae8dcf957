//! Reading classic pcap and pcapng files from a byte slice, and writing classic pcap.
//!
//! The reader yields each captured frame with its timestamp (ns since the Unix epoch), link type
//! and file offset. Both byte orders and both timestamp resolutions of classic pcap are read;
//! for pcapng, Enhanced and Simple Packet Blocks are read, each Interface Description Block gives
//! its link type and timestamp resolution, and other blocks are skipped.

use crate::CaptureError;

/// Link type: Ethernet.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Link type: raw IPv4/IPv6.
pub const LINKTYPE_RAW: u32 = 101;
/// Link type: Linux cooked capture v1.
pub const LINKTYPE_LINUX_SLL: u32 = 113;

/// One captured frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Capture time, ns since the Unix epoch.
    pub ts_ns: u64,
    /// The link-layer type of `data`.
    pub link_type: u32,
    /// File offset of the frame's first byte.
    pub offset: usize,
    /// The captured bytes (possibly truncated by the snap length).
    pub data: &'a [u8],
}

#[derive(Debug, Clone, Copy)]
struct Endian(bool); // true = big-endian

impl Endian {
    fn u16(self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.0 {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }
    fn u32(self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.0 {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }
}

/// Iterator over the frames of a pcap or pcapng buffer. After a structural error it yields
/// that error once and stops.
#[derive(Debug)]
pub struct Frames<'a> {
    buf: &'a [u8],
    pos: usize,
    endian: Endian,
    kind: Kind,
    done: bool,
}

#[derive(Debug)]
enum Kind {
    Pcap { link_type: u32, ts_scale: u64 },
    // Per interface: (link type, ns per timestamp unit, or 0 for a power-of-two resolution we convert exactly)
    Pcapng { interfaces: Vec<(u32, TsRes)> },
}

#[derive(Debug, Clone, Copy)]
enum TsRes {
    Pow10(u32),
    Pow2(u32),
}

impl TsRes {
    fn to_ns(self, units: u64) -> u64 {
        match self {
            TsRes::Pow10(e) if e <= 9 => units.saturating_mul(10u64.pow(9 - e)),
            TsRes::Pow10(e) => units / 10u64.pow((e - 9).min(19)),
            TsRes::Pow2(e) => ((u128::from(units) * 1_000_000_000) >> e.min(127)) as u64,
        }
    }
}

fn structure(format: &'static str, offset: usize, what: &'static str) -> CaptureError {
    CaptureError::Structure { format, offset, what }
}

impl<'a> Frames<'a> {
    /// Starts reading a classic pcap or a pcapng buffer.
    pub fn new(buf: &'a [u8]) -> Result<Frames<'a>, CaptureError> {
        let magic = buf.get(..4).ok_or_else(|| structure("pcap", 0, "file shorter than a magic number"))?;
        match magic {
            [0x0a, 0x0d, 0x0d, 0x0a] => {
                let bom = buf.get(8..12).ok_or_else(|| structure("pcapng", 0, "truncated section header"))?;
                let endian = match bom {
                    [0x1a, 0x2b, 0x3c, 0x4d] => Endian(true),
                    [0x4d, 0x3c, 0x2b, 0x1a] => Endian(false),
                    _ => return Err(structure("pcapng", 8, "bad byte-order magic")),
                };
                Ok(Frames { buf, pos: 0, endian, kind: Kind::Pcapng { interfaces: Vec::new() }, done: false })
            }
            _ => {
                let (endian, nanos) = match magic {
                    [0xd4, 0xc3, 0xb2, 0xa1] => (Endian(false), false),
                    [0xa1, 0xb2, 0xc3, 0xd4] => (Endian(true), false),
                    [0x4d, 0x3c, 0xb2, 0xa1] => (Endian(false), true),
                    [0xa1, 0xb2, 0x3c, 0x4d] => (Endian(true), true),
                    _ => return Err(structure("pcap", 0, "not a pcap magic number")),
                };
                let header = buf.get(..24).ok_or_else(|| structure("pcap", 0, "truncated file header"))?;
                let link_type = endian.u32(&header[20..24]) & 0x0fff_ffff;
                let ts_scale = if nanos { 1 } else { 1000 };
                Ok(Frames { buf, pos: 24, endian, kind: Kind::Pcap { link_type, ts_scale }, done: false })
            }
        }
    }

    /// Offset of the next record or block.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn fail(&mut self, e: CaptureError) -> Option<Result<Frame<'a>, CaptureError>> {
        self.done = true;
        Some(Err(e))
    }

    fn next_pcap(&mut self, link_type: u32, ts_scale: u64) -> Option<Result<Frame<'a>, CaptureError>> {
        let at = self.pos;
        if at >= self.buf.len() {
            return None;
        }
        let Some(h) = self.buf.get(at..at + 16) else {
            return self.fail(structure("pcap", at, "truncated record header"));
        };
        let e = self.endian;
        let ts = u64::from(e.u32(&h[0..4])) * 1_000_000_000 + u64::from(e.u32(&h[4..8])) * ts_scale;
        let incl = e.u32(&h[8..12]) as usize;
        let Some(data) = self.buf.get(at + 16..at + 16 + incl) else {
            return self.fail(structure("pcap", at, "record runs past the end of the file"));
        };
        self.pos = at + 16 + incl;
        Some(Ok(Frame { ts_ns: ts, link_type, offset: at + 16, data }))
    }

    fn next_pcapng(&mut self) -> Option<Result<Frame<'a>, CaptureError>> {
        loop {
            let at = self.pos;
            if at >= self.buf.len() {
                return None;
            }
            let Some(h) = self.buf.get(at..at + 8) else {
                return self.fail(structure("pcapng", at, "truncated block header"));
            };
            // A section header block may switch byte order: read its BOM first.
            if h[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
                match self.buf.get(at + 8..at + 12) {
                    Some([0x1a, 0x2b, 0x3c, 0x4d]) => self.endian = Endian(true),
                    Some([0x4d, 0x3c, 0x2b, 0x1a]) => self.endian = Endian(false),
                    _ => return self.fail(structure("pcapng", at + 8, "bad byte-order magic")),
                }
                if let Kind::Pcapng { interfaces } = &mut self.kind {
                    interfaces.clear();
                }
            }
            let e = self.endian;
            let block_type = e.u32(&h[0..4]);
            let total = e.u32(&h[4..8]) as usize;
            if total < 12 || total % 4 != 0 {
                return self.fail(structure("pcapng", at, "bad block length"));
            }
            let Some(block) = self.buf.get(at..at + total) else {
                return self.fail(structure("pcapng", at, "block runs past the end of the file"));
            };
            self.pos = at + total;
            let body = &block[8..total - 4];
            let Kind::Pcapng { interfaces } = &mut self.kind else { return None };
            match block_type {
                1 => {
                    // Interface Description Block: link type, reserved, snaplen, then options.
                    if body.len() < 8 {
                        return self.fail(structure("pcapng", at, "truncated interface description"));
                    }
                    let link = u32::from(e.u16(&body[0..2]));
                    let mut res = TsRes::Pow10(6);
                    let mut opt = 8;
                    while opt + 4 <= body.len() {
                        let code = e.u16(&body[opt..opt + 2]);
                        let len = usize::from(e.u16(&body[opt + 2..opt + 4]));
                        if code == 0 {
                            break;
                        }
                        if code == 9 && len >= 1 && opt + 4 < body.len() {
                            let v = body[opt + 4];
                            res = if v & 0x80 != 0 {
                                TsRes::Pow2(u32::from(v & 0x7f))
                            } else {
                                TsRes::Pow10(u32::from(v))
                            };
                        }
                        opt += 4 + len.div_ceil(4) * 4;
                    }
                    interfaces.push((link, res));
                }
                6 => {
                    // Enhanced Packet Block.
                    if body.len() < 20 {
                        return self.fail(structure("pcapng", at, "truncated enhanced packet block"));
                    }
                    let iface = e.u32(&body[0..4]) as usize;
                    let Some(&(link_type, res)) = interfaces.get(iface) else {
                        return self.fail(structure("pcapng", at, "packet names an undeclared interface"));
                    };
                    let units = (u64::from(e.u32(&body[4..8])) << 32) | u64::from(e.u32(&body[8..12]));
                    let caplen = e.u32(&body[12..16]) as usize;
                    let Some(data) = body.get(20..20 + caplen) else {
                        return self.fail(structure("pcapng", at, "packet data runs past its block"));
                    };
                    return Some(Ok(Frame { ts_ns: res.to_ns(units), link_type, offset: at + 28, data }));
                }
                3 => {
                    // Simple Packet Block: no timestamp; data runs to the block's end.
                    let Some(&(link_type, _)) = interfaces.first() else {
                        return self.fail(structure("pcapng", at, "packet before any interface description"));
                    };
                    if body.len() < 4 {
                        return self.fail(structure("pcapng", at, "truncated simple packet block"));
                    }
                    let orig = e.u32(&body[0..4]) as usize;
                    let data = &body[4..4 + orig.min(body.len() - 4)];
                    return Some(Ok(Frame { ts_ns: 0, link_type, offset: at + 12, data }));
                }
                _ => {}
            }
        }
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.kind {
            Kind::Pcap { link_type, ts_scale } => self.next_pcap(link_type, ts_scale),
            Kind::Pcapng { .. } => self.next_pcapng(),
        }
    }
}

/// Writes a classic little-endian, nanosecond-resolution pcap file into a `Vec`.
#[derive(Debug)]
pub struct Writer {
    out: Vec<u8>,
}

impl Writer {
    /// A new file with the given link type (usually [`LINKTYPE_ETHERNET`]).
    pub fn new(link_type: u32) -> Writer {
        let mut out = Vec::with_capacity(1 << 16);
        out.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&0i32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&262_144u32.to_le_bytes());
        out.extend_from_slice(&link_type.to_le_bytes());
        Writer { out }
    }

    /// Appends one frame captured at `ts_ns` (ns since the Unix epoch).
    pub fn frame(&mut self, ts_ns: u64, data: &[u8]) {
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        self.out.extend_from_slice(&((ts_ns / 1_000_000_000) as u32).to_le_bytes());
        self.out.extend_from_slice(&((ts_ns % 1_000_000_000) as u32).to_le_bytes());
        self.out.extend_from_slice(&len.to_le_bytes());
        self.out.extend_from_slice(&len.to_le_bytes());
        self.out.extend_from_slice(&data[..len as usize]);
    }

    /// The file's bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.out
    }

    /// The finished file.
    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_back_frames() {
        let mut w = Writer::new(LINKTYPE_ETHERNET);
        w.frame(1_500_000_000_123_456_789, b"hello");
        w.frame(1_500_000_001_000_000_000, b"");
        let bytes = w.into_bytes();
        let frames: Vec<_> = Frames::new(&bytes).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].ts_ns, 1_500_000_000_123_456_789);
        assert_eq!(frames[0].data, b"hello");
        assert_eq!(frames[0].offset, 40);
        assert_eq!(frames[1].data, b"");
    }

    #[test]
    fn truncated_records_are_errors_with_offsets() {
        let mut w = Writer::new(LINKTYPE_ETHERNET);
        w.frame(0, b"hello");
        let mut bytes = w.into_bytes();
        bytes.truncate(bytes.len() - 1);
        let all: Vec<_> = Frames::new(&bytes).unwrap().collect();
        assert_eq!(all.len(), 1);
        assert!(matches!(all[0], Err(CaptureError::Structure { offset: 24, .. })));
    }

    #[test]
    fn reads_a_minimal_pcapng() {
        let mut b = Vec::new();
        let block = |b: &mut Vec<u8>, t: u32, body: &[u8]| {
            let total = (12 + body.len()) as u32;
            b.extend_from_slice(&t.to_le_bytes());
            b.extend_from_slice(&total.to_le_bytes());
            b.extend_from_slice(body);
            b.extend_from_slice(&total.to_le_bytes());
        };
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&u64::MAX.to_le_bytes());
        block(&mut b, 0x0a0d_0d0a, &shb);
        let mut idb = vec![1, 0, 0, 0];
        idb.extend_from_slice(&65535u32.to_le_bytes());
        idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]); // if_tsresol = 9 (ns)
        block(&mut b, 1, &idb);
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes());
        let ts: u64 = 1_234_567_890_123;
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&4u32.to_le_bytes());
        epb.extend_from_slice(&4u32.to_le_bytes());
        epb.extend_from_slice(b"abcd");
        block(&mut b, 6, &epb);
        let frames: Vec<_> = Frames::new(&b).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].ts_ns, ts);
        assert_eq!(frames[0].data, b"abcd");
        assert_eq!(frames[0].link_type, LINKTYPE_ETHERNET);
    }
}
