//! Messages out of a capture, whatever its framing: the feed stage's input.

use crate::capture::Format;
use crate::net::{self, Protocol};
use crate::pcap::Frames;
use tickforge_wire::{binaryfile, moldudp64};

/// Iterates over the ITCH messages of a capture's bytes: BinaryFILE frames, or the message
/// blocks of every MoldUDP64 packet in a pcap/pcapng. Malformed framing ends the iteration and
/// is counted in [`Messages::errors`]; it never panics.
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
}

#[derive(Debug)]
struct Packets<'a> {
    frames: Option<Frames<'a>>,
    blocks: Option<moldudp64::Blocks<'a>>,
}

impl<'a> Messages<'a> {
    /// Messages of `bytes` in the given format.
    pub fn new(format: Format, bytes: &'a [u8]) -> Messages<'a> {
        match format {
            Format::BinaryFile => Messages { binary: binaryfile::Reader::new(bytes), packets: None, errors: 0 },
            Format::Pcap | Format::Pcapng => Messages {
                binary: binaryfile::Reader::new(&[]),
                packets: Some(Packets { frames: Frames::new(bytes).ok(), blocks: None }),
                errors: 0,
            },
        }
    }

    /// Bytes of the capture consumed so far (for progress reports).
    pub fn position(&self) -> usize {
        match &self.packets {
            None => self.binary.position(),
            Some(p) => p.frames.as_ref().map_or(0, Frames::position),
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
            Some(Err(_)) => {
                self.errors += 1;
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
        let Packets { frames, blocks } = self.packets.as_mut()?;
        loop {
            if let Some(b) = blocks {
                match b.next() {
                    Some(Ok((_, msg))) => return Some(msg),
                    Some(Err(_)) => {
                        self.errors += 1;
                        *blocks = None;
                    }
                    None => *blocks = None,
                }
            }
            let frame = match frames.as_mut()?.next()? {
                Ok(f) => f,
                Err(_) => {
                    self.errors += 1;
                    return None;
                }
            };
            let Ok(seg) = net::segment(frame.link_type, frame.data) else { continue };
            if seg.protocol != Protocol::Udp {
                continue;
            }
            match moldudp64::Packet::parse(seg.payload) {
                Ok(p) => *blocks = Some(p.messages()),
                Err(_) => self.errors += 1,
            }
        }
    }
}
