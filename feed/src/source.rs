//! Messages out of a capture, whatever its framing: the feed stage's input.

use crate::capture::Format;
use crate::net::{self, Protocol};
use crate::pcap::Frames;
use crate::CaptureError;
use tickforge_wire::{binaryfile, moldudp64, FrameError};

/// Iterates over the ITCH messages of a capture's bytes: BinaryFILE frames, or the message
/// blocks of every MoldUDP64 packet in a pcap/pcapng. Broken BinaryFILE framing or a broken
/// pcap structure ends the iteration, a broken packet is skipped; each is counted in
/// [`Messages::errors`] and the first is described in [`Messages::first_error`]. It never panics.
#[derive(Debug)]
pub struct Messages<'a> {
    /// The BinaryFILE frames; empty for a packet capture, so that the file path (book building
    /// reads 20M messages through it) has no format to test per message.
    binary: binaryfile::Reader<'a>,
    /// The packets of a pcap/pcapng (`None` for a BinaryFILE) and the message blocks of the
    /// current one.
    packets: Option<Packets<'a>>,
    /// Framing errors met (the iteration stops at a broken BinaryFILE; broken packets are skipped).
    pub errors: u64,
    /// The first of them: what was wrong and where (byte offset in the capture, packet number),
    /// written once, on the error path (a small `Copy` value: nothing allocates there).
    pub first_error: Option<FramingProblem>,
    /// The capture's length, to say how much a broken BinaryFILE left unread.
    len: usize,
    /// Packets read so far (pcap/pcapng).
    pub packets_read: u64,
    /// Of which MoldUDP64 packets (a capture with packets but none of these holds no market
    /// data we read: order entry over TCP, another protocol).
    pub mold_packets: u64,
}

#[derive(Debug)]
struct Packets<'a> {
    frames: Option<Frames<'a>>,
    blocks: Option<moldudp64::Blocks<'a>>,
}

impl<'a> Messages<'a> {
    /// Messages of `bytes` in the given format.
    pub fn new(format: Format, bytes: &'a [u8]) -> Messages<'a> {
        let mut m = Messages {
            binary: binaryfile::Reader::new(&[]),
            packets: None,
            errors: 0,
            first_error: None,
            len: bytes.len(),
            packets_read: 0,
            mold_packets: 0,
        };
        match format {
            Format::BinaryFile => m.binary = binaryfile::Reader::new(bytes),
            Format::Pcap | Format::Pcapng => {
                let frames = Frames::new(bytes).map_err(|e| m.note_error(FramingProblem::capture(&e))).ok();
                m.packets = Some(Packets { frames, blocks: None });
            }
        }
        m
    }

    /// Counts a framing error and keeps the first.
    #[cold]
    #[inline(never)]
    fn note_error(&mut self, problem: FramingProblem) {
        self.errors += 1;
        self.first_error.get_or_insert(problem);
    }

    /// [`Messages::note_error`] for a broken BinaryFILE frame: nothing after it is read.
    #[cold]
    #[inline(never)]
    fn note_binary_error(&mut self, error: FrameError) {
        let unread = self.len - self.binary.position();
        self.note_error(FramingProblem::BinaryFile { error, unread });
    }

    /// [`Messages::note_error`] for the current packet of a pcap/pcapng (skipped whole).
    #[cold]
    #[inline(never)]
    fn note_packet_error(&mut self, what: &'static str, error: FrameError) {
        let (number, end) = (self.packets_read, self.bytes_consumed());
        self.note_error(FramingProblem::Packet { number, end, what, error });
    }

    /// Whether the messages come out of packets (a pcap or pcapng), not BinaryFILE frames.
    pub fn is_packet_capture(&self) -> bool {
        self.packets.is_some()
    }

    /// What to say about message `number` (counted from 1), the `len` bytes [`Iterator::next`]
    /// just returned, which could not be decoded (`e`): which message, where, and why.
    #[cold]
    pub fn describe_undecodable(&self, number: u64, len: usize, e: &tickforge_wire::DecodeError) -> String {
        let end = self.bytes_consumed();
        let at = if self.is_packet_capture() {
            format!("in the packet ending at byte {end}")
        } else {
            format!("at byte {}", end - len)
        };
        format!("message {number} ({len} bytes {at}) could not be decoded: {e}")
    }

    /// Bytes of the capture consumed so far (for progress reports). Not named `position`:
    /// that is [`Iterator::position`], which a `&mut Messages` would call instead.
    pub fn bytes_consumed(&self) -> usize {
        match &self.packets {
            None => self.binary.position(),
            Some(p) => p.frames.as_ref().map_or(0, Frames::position),
        }
    }
}

/// What broke a capture's framing, and where: [`Messages::first_error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramingProblem {
    /// The BinaryFILE framing broke (`error` holds the file offset); the `unread` bytes from
    /// there to the end of the file were not read.
    BinaryFile {
        /// What was wrong, at which file offset.
        error: FrameError,
        /// Bytes not read.
        unread: usize,
    },
    /// Packet `number` (counted from 1) of a pcap/pcapng, ending at byte `end` of the file, was
    /// broken (`what` says how, and what of it was skipped); reading went on with the next one.
    Packet {
        /// The packet's number in the capture.
        number: u64,
        /// File offset just past the packet.
        end: usize,
        /// What was broken and what was skipped.
        what: &'static str,
        /// What was wrong, at which offset of that layer.
        error: FrameError,
    },
    /// The pcap/pcapng structure broke at file `offset`; nothing after it was read.
    Structure {
        /// `pcap` or `pcapng`.
        format: &'static str,
        /// File offset of the broken block or record.
        offset: usize,
        /// What was wrong.
        what: &'static str,
    },
}

impl FramingProblem {
    /// The problem a pcap/pcapng reader reported.
    fn capture(e: &CaptureError) -> FramingProblem {
        match *e {
            CaptureError::Structure { format, offset, what } => FramingProblem::Structure { format, offset, what },
            // The frame readers report broken structure only; anything else is named as such.
            _ => FramingProblem::Structure { format: "capture", offset: 0, what: "unreadable" },
        }
    }
}

impl std::fmt::Display for FramingProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            FramingProblem::BinaryFile { error, unread } => {
                write!(f, "BinaryFILE framing broke: {error}; the {unread} bytes from there to the end were not read")
            }
            FramingProblem::Packet { number, end, what, error } => {
                write!(f, "packet {number} (ending at byte {end}): {what}: {error}")
            }
            FramingProblem::Structure { format, offset, what } => {
                write!(f, "{format} structure broken at file offset {offset}: {what}; nothing after it was read")
            }
        }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = &'a [u8];

    /// BinaryFILE framing is a few instructions and is inlined into the caller's loop; the
    /// packet path is out of line (`next_from_packets`), so it costs the file path nothing.
    #[inline(always)]
    fn next(&mut self) -> Option<&'a [u8]> {
        match self.binary.next() {
            Some(Ok(f)) => Some(f.bytes),
            Some(Err(e)) => {
                self.note_binary_error(e);
                None
            }
            None if self.packets.is_some() => self.next_from_packets(),
            None => None,
        }
    }
}

impl<'a> Messages<'a> {
    /// The next message block of the current MoldUDP64 packet, or of the next packet that has one.
    #[inline(never)]
    fn next_from_packets(&mut self) -> Option<&'a [u8]> {
        loop {
            let Packets { frames, blocks } = self.packets.as_mut()?;
            if let Some(b) = blocks {
                match b.next() {
                    Some(Ok((_, msg))) => return Some(msg),
                    Some(Err(e)) => {
                        *blocks = None;
                        self.note_packet_error("a broken message block, the rest of the packet skipped", e);
                    }
                    None => *blocks = None,
                }
                continue;
            }
            let frame = match frames.as_mut()?.next()? {
                Ok(f) => f,
                Err(e) => {
                    self.note_error(FramingProblem::capture(&e));
                    return None;
                }
            };
            self.packets_read += 1;
            let Ok(seg) = net::segment(frame.link_type, frame.data) else { continue };
            if seg.protocol != Protocol::Udp {
                continue;
            }
            match moldudp64::Packet::parse(seg.payload) {
                Ok(p) => {
                    self.mold_packets += 1;
                    self.packets.as_mut()?.blocks = Some(p.messages());
                }
                Err(e) => self.note_packet_error("not a MoldUDP64 packet, skipped", e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{udp_frame, Endpoints};
    use crate::pcap::{Writer, LINKTYPE_ETHERNET};
    use tickforge_wire::moldudp64::PacketBuilder;

    /// `[u16 BE length][message]` for each message.
    fn binary_file(messages: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for m in messages {
            out.extend_from_slice(&(m.len() as u16).to_be_bytes());
            out.extend_from_slice(m);
        }
        out
    }

    #[test]
    fn a_truncated_binary_file_says_where_it_broke_and_what_was_not_read() {
        let mut bytes = binary_file(&[b"S0123456789a", b"S0123456789b"]);
        bytes.extend_from_slice(&[0, 40, b'A', b'B', b'C']); // says 40 bytes, has 3
        let mut m = Messages::new(Format::BinaryFile, &bytes);
        assert_eq!(m.by_ref().count(), 2);
        assert_eq!(m.errors, 1);
        let e = m.first_error.unwrap().to_string();
        assert!(e.contains("truncated at offset 28"), "{e}");
        assert!(e.contains("the 5 bytes from there to the end were not read"), "{e}");
    }

    #[test]
    fn an_undecodable_message_is_named_by_number_and_offset() {
        let bytes = binary_file(&[b"S0123456789a", b"!bad", b"S0123456789b"]);
        let mut m = Messages::new(Format::BinaryFile, &bytes);
        m.next().unwrap();
        let bad = m.next().unwrap();
        let e = tickforge_wire::itch::decode(bad).unwrap_err();
        let said = m.describe_undecodable(2, bad.len(), &e);
        assert_eq!(said, format!("message 2 (4 bytes at byte 16) could not be decoded: {e}"));
        assert!(said.contains("unknown message type 0x21"), "{said}");
    }

    #[test]
    fn a_broken_packet_is_skipped_and_named_and_the_next_is_read() {
        let ep = Endpoints { src: [10, 0, 0, 1], dst: [233, 54, 12, 1], src_port: 26400, dst_port: 26400 };
        let packet = |msg: &[u8]| {
            let mut b = PacketBuilder::new(*b"SESSION001", 1, 1400);
            assert!(b.push(msg));
            udp_frame(&ep, b.bytes())
        };
        let mut w = Writer::new(LINKTYPE_ETHERNET);
        w.frame(1, &packet(b"first"));
        w.frame(2, &udp_frame(&ep, b"short")); // 5 bytes: no MoldUDP64 header
        w.frame(3, &packet(b"third"));
        let bytes = w.into_bytes();
        let mut m = Messages::new(Format::Pcap, &bytes);
        let got: Vec<&[u8]> = m.by_ref().collect();
        assert_eq!(got, [&b"first"[..], &b"third"[..]]);
        assert_eq!(m.errors, 1);
        let e = m.first_error.unwrap().to_string();
        assert!(e.starts_with("packet 2 (ending at byte "), "{e}");
        assert!(e.contains("): not a MoldUDP64 packet, skipped: truncated"), "{e}");
    }
}
