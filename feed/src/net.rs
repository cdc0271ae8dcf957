//! Taking captured frames apart down to the transport payload, and building frames for the
//! pcaps we write: Ethernet (with any number of 802.1Q / 802.1ad tags), Linux cooked and raw
//! IPv4, then UDP or TCP. IPv4 fragments other than the first are not reassembled (market data
//! datagrams fit one frame); IPv6 is reported as unsupported rather than misread.

use crate::pcap::{LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_RAW};

/// The transport protocol of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

/// A transport payload with its addressing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// UDP or TCP.
    pub protocol: Protocol,
    /// Source IPv4 address.
    pub src: [u8; 4],
    /// Destination IPv4 address.
    pub dst: [u8; 4],
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// TCP sequence number (0 for UDP).
    pub tcp_seq: u32,
    /// Offset of the payload within the frame.
    pub payload_offset: usize,
    /// The payload.
    pub payload: &'a [u8],
}

/// Why a frame carried no UDP/TCP payload we could read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Not IPv4 (ARP, IPv6, ...).
    NotIpv4,
    /// Neither UDP nor TCP.
    OtherProtocol(u8),
    /// A non-first IPv4 fragment.
    Fragment,
    /// A header runs past the captured bytes.
    Truncated,
    /// A link type we do not take apart.
    LinkType(u32),
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Finds the UDP or TCP payload of a captured frame.
pub fn segment(link_type: u32, frame: &[u8]) -> Result<Segment<'_>, Skip> {
    let ip_at = match link_type {
        LINKTYPE_ETHERNET => {
            let mut at = 12;
            let mut ethertype = be16(frame, at).ok_or(Skip::Truncated)?;
            while ethertype == 0x8100 || ethertype == 0x88a8 {
                at += 4;
                ethertype = be16(frame, at).ok_or(Skip::Truncated)?;
            }
            if ethertype != 0x0800 {
                return Err(Skip::NotIpv4);
            }
            at + 2
        }
        LINKTYPE_LINUX_SLL => {
            if be16(frame, 14).ok_or(Skip::Truncated)? != 0x0800 {
                return Err(Skip::NotIpv4);
            }
            16
        }
        LINKTYPE_RAW => 0,
        other => return Err(Skip::LinkType(other)),
    };
    let ip = frame.get(ip_at..).ok_or(Skip::Truncated)?;
    let &vihl = ip.first().ok_or(Skip::Truncated)?;
    if vihl >> 4 != 4 {
        return Err(Skip::NotIpv4);
    }
    let ihl = usize::from(vihl & 0x0f) * 4;
    if ihl < 20 || ip.len() < ihl {
        return Err(Skip::Truncated);
    }
    let total_len = usize::from(be16(ip, 2).ok_or(Skip::Truncated)?);
    let frag = be16(ip, 6).ok_or(Skip::Truncated)?;
    if frag & 0x1fff != 0 {
        return Err(Skip::Fragment);
    }
    // Ethernet pads short frames: trust the IP total length, bounded by what was captured.
    let ip_end = total_len.clamp(ihl, ip.len());
    let src = [ip[12], ip[13], ip[14], ip[15]];
    let dst = [ip[16], ip[17], ip[18], ip[19]];
    let l4_at = ip_at + ihl;
    let l4 = &frame[l4_at..ip_at + ip_end];
    match ip[9] {
        17 => {
            if l4.len() < 8 {
                return Err(Skip::Truncated);
            }
            let udp_len = usize::from(be16(l4, 4).ok_or(Skip::Truncated)?).clamp(8, l4.len());
            Ok(Segment {
                protocol: Protocol::Udp,
                src,
                dst,
                src_port: be16(l4, 0).ok_or(Skip::Truncated)?,
                dst_port: be16(l4, 2).ok_or(Skip::Truncated)?,
                tcp_seq: 0,
                payload_offset: l4_at + 8,
                payload: &l4[8..udp_len],
            })
        }
        6 => {
            if l4.len() < 20 {
                return Err(Skip::Truncated);
            }
            let data_off = usize::from(l4[12] >> 4) * 4;
            if data_off < 20 || data_off > l4.len() {
                return Err(Skip::Truncated);
            }
            Ok(Segment {
                protocol: Protocol::Tcp,
                src,
                dst,
                src_port: be16(l4, 0).ok_or(Skip::Truncated)?,
                dst_port: be16(l4, 2).ok_or(Skip::Truncated)?,
                tcp_seq: u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]),
                payload_offset: l4_at + data_off,
                payload: &l4[data_off..],
            })
        }
        other => Err(Skip::OtherProtocol(other)),
    }
}

fn checksum_add(mut sum: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn checksum_finish(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Addressing for frames we build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    /// Source IPv4 address.
    pub src: [u8; 4],
    /// Destination IPv4 address.
    pub dst: [u8; 4],
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
}

fn ethernet_ipv4(out: &mut Vec<u8>, ep: &Endpoints, protocol: u8, l4: &[u8]) {
    out.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let total = (20 + l4.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[6] = 0x40; // don't fragment
    ip[8] = 64;
    ip[9] = protocol;
    ip[12..16].copy_from_slice(&ep.src);
    ip[16..20].copy_from_slice(&ep.dst);
    let sum = checksum_finish(checksum_add(0, &ip));
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    out.extend_from_slice(&ip);
    out.extend_from_slice(l4);
}

/// An Ethernet + IPv4 + UDP frame carrying `payload` (UDP checksum 0, which IPv4 allows).
pub fn udp_frame(ep: &Endpoints, payload: &[u8]) -> Vec<u8> {
    let mut l4 = Vec::with_capacity(8 + payload.len());
    l4.extend_from_slice(&ep.src_port.to_be_bytes());
    l4.extend_from_slice(&ep.dst_port.to_be_bytes());
    l4.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    l4.extend_from_slice(&[0, 0]);
    l4.extend_from_slice(payload);
    let mut out = Vec::with_capacity(34 + l4.len());
    ethernet_ipv4(&mut out, ep, 17, &l4);
    out
}

/// TCP flag bits for [`tcp_frame`].
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// An Ethernet + IPv4 + TCP frame with a correct TCP checksum.
pub fn tcp_frame(ep: &Endpoints, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut l4 = Vec::with_capacity(20 + payload.len());
    l4.extend_from_slice(&ep.src_port.to_be_bytes());
    l4.extend_from_slice(&ep.dst_port.to_be_bytes());
    l4.extend_from_slice(&seq.to_be_bytes());
    l4.extend_from_slice(&ack.to_be_bytes());
    l4.extend_from_slice(&[0x50, flags]);
    l4.extend_from_slice(&65535u16.to_be_bytes());
    l4.extend_from_slice(&[0, 0, 0, 0]);
    l4.extend_from_slice(payload);
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&ep.src);
    pseudo.extend_from_slice(&ep.dst);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    let sum = checksum_finish(checksum_add(checksum_add(0, &pseudo), &l4));
    l4[16..18].copy_from_slice(&sum.to_be_bytes());
    let mut out = Vec::with_capacity(34 + l4.len());
    ethernet_ipv4(&mut out, ep, 6, &l4);
    out
}

/// A pcap of one TCP conversation between a client on port 40001 and a server on port 15000
/// (loopback addresses), built from the payloads each side sent: a handshake, then one segment
/// per payload with consistent sequence and acknowledgement numbers, so tshark reassembles the
/// stream. For checking our protocol bytes with independent dissectors.
#[derive(Debug)]
pub struct TcpConversation {
    writer: crate::pcap::Writer,
    seq: [u32; 2],
    ts: u64,
}

impl TcpConversation {
    const CLIENT: Endpoints = Endpoints { src: [127, 0, 0, 1], dst: [127, 0, 0, 1], src_port: 40001, dst_port: 15_000 };
    const SERVER: Endpoints = Endpoints { src: [127, 0, 0, 1], dst: [127, 0, 0, 1], src_port: 15_000, dst_port: 40001 };

    /// A conversation that starts with the three-way handshake.
    pub fn new() -> TcpConversation {
        let mut t = TcpConversation {
            writer: crate::pcap::Writer::new(crate::pcap::LINKTYPE_ETHERNET),
            seq: [1000, 5000],
            ts: 1_700_000_000_000_000_000,
        };
        t.segment(true, tcp_flags::SYN, &[]);
        t.seq[0] += 1;
        t.segment(false, tcp_flags::SYN | tcp_flags::ACK, &[]);
        t.seq[1] += 1;
        t.segment(true, tcp_flags::ACK, &[]);
        t
    }

    /// One segment with `flags` carrying `payload`, from the client or the server.
    pub fn segment(&mut self, from_client: bool, flags: u8, payload: &[u8]) {
        let (i, ep) = if from_client { (0, Self::CLIENT) } else { (1, Self::SERVER) };
        let f = tcp_frame(&ep, self.seq[i], self.seq[1 - i], flags, payload);
        self.ts += 1_000;
        self.writer.frame(self.ts, &f);
        self.seq[i] = self.seq[i].wrapping_add(payload.len() as u32);
    }

    /// One data segment (ACK, PSH).
    pub fn data(&mut self, from_client: bool, payload: &[u8]) {
        self.segment(from_client, tcp_flags::ACK | tcp_flags::PSH, payload);
    }

    /// The pcap file's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.writer.bytes()
    }
}

impl Default for TcpConversation {
    fn default() -> Self {
        TcpConversation::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EP: Endpoints = Endpoints { src: [127, 0, 0, 1], dst: [127, 0, 0, 2], src_port: 1000, dst_port: 2000 };

    #[test]
    fn built_frames_parse_back() {
        let f = udp_frame(&EP, b"payload");
        let s = segment(LINKTYPE_ETHERNET, &f).unwrap();
        assert_eq!((s.protocol, s.src_port, s.dst_port, s.payload), (Protocol::Udp, 1000, 2000, &b"payload"[..]));
        let f = tcp_frame(&EP, 7, 0, tcp_flags::ACK | tcp_flags::PSH, b"xy");
        let s = segment(LINKTYPE_ETHERNET, &f).unwrap();
        assert_eq!((s.protocol, s.tcp_seq, s.payload), (Protocol::Tcp, 7, &b"xy"[..]));
    }

    #[test]
    fn vlan_tags_are_skipped_and_junk_is_reported() {
        let f = udp_frame(&EP, b"p");
        let mut tagged = f[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 141]);
        tagged.extend_from_slice(&f[12..]);
        assert_eq!(segment(LINKTYPE_ETHERNET, &tagged).unwrap().payload, b"p");
        assert_eq!(segment(LINKTYPE_ETHERNET, &f[..20]), Err(Skip::Truncated));
        assert_eq!(segment(LINKTYPE_ETHERNET, &[0u8; 14]), Err(Skip::NotIpv4));
        assert_eq!(segment(999, &f), Err(Skip::LinkType(999)));
    }
}
