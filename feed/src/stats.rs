//! `tickforge capture stats`: what a capture holds, message by message.
//!
//! Every message is decoded (not just framed), so a malformed message is counted with the file
//! offset of the first one. For pcaps, each UDP datagram is parsed as MoldUDP64; frames that are
//! not UDP are counted as skipped, and sequence gaps per MoldUDP64 session are reported.

use crate::capture::Format;
use crate::net::{self, Protocol};
use crate::pcap::Frames;
use crate::CaptureError;
use std::collections::BTreeMap;
use tickforge_wire::{binaryfile, itch, moldudp64};

/// Where the first malformed item was, and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FirstError {
    /// File offset of the malformed message (or packet).
    pub offset: u64,
    /// What was wrong.
    pub error: String,
}

/// MoldUDP64 statistics of a pcap capture.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PacketStats {
    /// Frames in the capture.
    pub frames: u64,
    /// Frames that were not UDP over IPv4 (TCP, ARP, IPv6, ...).
    pub skipped_frames: u64,
    /// MoldUDP64 packets carrying messages.
    pub data_packets: u64,
    /// MoldUDP64 heartbeats.
    pub heartbeats: u64,
    /// MoldUDP64 end-of-session packets.
    pub end_of_session: u64,
    /// Distinct MoldUDP64 sessions seen.
    pub sessions: u64,
    /// Messages missing between packets (sequence gaps), summed over sessions.
    pub sequence_gap_messages: u64,
}

/// The statistics of one capture.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Detected framing.
    pub format: Format,
    /// File size in bytes.
    pub bytes: u64,
    /// Messages decoded successfully.
    pub messages: u64,
    /// Count per ITCH message type.
    pub by_type: BTreeMap<String, u64>,
    /// Malformed messages (and MoldUDP64 packets that could not be parsed).
    pub errors: u64,
    /// The first of them.
    pub first_error: Option<FirstError>,
    /// ITCH timestamp of the first message, ns since midnight.
    pub first_timestamp_ns: Option<u64>,
    /// ITCH timestamp of the last message, ns since midnight.
    pub last_timestamp_ns: Option<u64>,
    /// pcap/pcapng only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packets: Option<PacketStats>,
}

#[derive(Debug)]
struct Counter {
    by_type: [u64; 256],
    messages: u64,
    errors: u64,
    first_error: Option<FirstError>,
    first_ts: Option<u64>,
    last_ts: Option<u64>,
}

impl Counter {
    fn new() -> Self {
        Counter { by_type: [0; 256], messages: 0, errors: 0, first_error: None, first_ts: None, last_ts: None }
    }

    fn error(&mut self, offset: usize, error: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(FirstError { offset: offset as u64, error });
        }
    }

    #[inline]
    fn message(&mut self, offset: usize, bytes: &[u8]) {
        match itch::decode(bytes) {
            Ok(m) => {
                self.messages += 1;
                self.by_type[usize::from(m.message_type())] += 1;
                let ts = m.timestamp();
                self.first_ts.get_or_insert(ts);
                self.last_ts = Some(ts);
            }
            Err(e) => self.error(offset, e.to_string()),
        }
    }

    fn finish(self, format: Format, bytes: u64, packets: Option<PacketStats>) -> Stats {
        let by_type = self
            .by_type
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(t, &n)| (char::from(t as u8).to_string(), n))
            .collect();
        Stats {
            format,
            bytes,
            messages: self.messages,
            by_type,
            errors: self.errors,
            first_error: self.first_error,
            first_timestamp_ns: self.first_ts,
            last_timestamp_ns: self.last_ts,
            packets,
        }
    }
}

/// Computes the statistics of a capture's bytes.
pub fn compute(format: Format, bytes: &[u8]) -> Result<Stats, CaptureError> {
    let mut c = Counter::new();
    let packets = match format {
        Format::BinaryFile => {
            for frame in binaryfile::Reader::new(bytes) {
                match frame {
                    Ok(f) => c.message(f.offset, f.bytes),
                    Err(e) => c.error(frame_error_offset(&e), format!("framing: {e}")),
                }
            }
            None
        }
        Format::Pcap | Format::Pcapng => Some(pcap_stats(bytes, &mut c)?),
    };
    Ok(c.finish(format, bytes.len() as u64, packets))
}

fn frame_error_offset(e: &tickforge_wire::FrameError) -> usize {
    use tickforge_wire::FrameError::*;
    match *e {
        Truncated { offset, .. }
        | BadLength { offset, .. }
        | UnknownTypeForZeroLength { offset, .. }
        | UnknownPacketType { offset, .. } => offset,
    }
}

fn pcap_stats(bytes: &[u8], c: &mut Counter) -> Result<PacketStats, CaptureError> {
    let mut p = PacketStats::default();
    let mut next_seq: BTreeMap<[u8; 10], u64> = BTreeMap::new();
    for frame in Frames::new(bytes)? {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                c.error(bytes.len(), e.to_string());
                break;
            }
        };
        p.frames += 1;
        let seg = match net::segment(frame.link_type, frame.data) {
            Ok(s) if s.protocol == Protocol::Udp => s,
            _ => {
                p.skipped_frames += 1;
                continue;
            }
        };
        let base = frame.offset + seg.payload_offset;
        let packet = match moldudp64::Packet::parse(seg.payload) {
            Ok(packet) => packet,
            Err(e) => {
                c.error(base + frame_error_offset(&e), format!("MoldUDP64: {e}"));
                continue;
            }
        };
        let session = packet.header.session;
        let seq = packet.sequence_number();
        if !next_seq.contains_key(&session) {
            p.sessions += 1;
        }
        let expected = next_seq.entry(session).or_insert(seq);
        match packet.kind() {
            moldudp64::PacketKind::Heartbeat => p.heartbeats += 1,
            moldudp64::PacketKind::EndOfSession => p.end_of_session += 1,
            moldudp64::PacketKind::Data(n) => {
                p.data_packets += 1;
                if seq > *expected {
                    p.sequence_gap_messages += seq - *expected;
                }
                *expected = (*expected).max(seq + u64::from(n));
                for block in packet.messages() {
                    match block {
                        Ok((off, msg)) => c.message(base + off, msg),
                        Err(e) => c.error(base + frame_error_offset(&e), format!("MoldUDP64: {e}")),
                    }
                }
            }
        }
    }
    Ok(p)
}

impl Stats {
    /// The human-readable report.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let ts = |t: Option<u64>| t.map_or_else(|| "-".to_string(), format_time_of_day);
        let _ = writeln!(s, "format      {}", self.format.name());
        let _ = writeln!(s, "bytes       {}", self.bytes);
        let _ = writeln!(s, "messages    {}", self.messages);
        let _ = writeln!(s, "first       {}", ts(self.first_timestamp_ns));
        let _ = writeln!(s, "last        {}", ts(self.last_timestamp_ns));
        let _ = writeln!(s, "errors      {}", self.errors);
        if let Some(e) = &self.first_error {
            let _ = writeln!(s, "first error at offset {}: {}", e.offset, e.error);
        }
        if let Some(p) = &self.packets {
            let _ = writeln!(
                s,
                "frames      {} ({} not UDP), MoldUDP64: {} data, {} heartbeats, {} end of session, {} sessions, {} messages missing in gaps",
                p.frames, p.skipped_frames, p.data_packets, p.heartbeats, p.end_of_session, p.sessions, p.sequence_gap_messages
            );
        }
        let _ = writeln!(s, "\ntype  name                                                        count");
        for (t, n) in &self.by_type {
            let name = t.bytes().next().and_then(itch::layout).map_or("?", |(name, _)| name);
            let _ = writeln!(s, "{t:<5} {name:<58} {n:>8}");
        }
        s
    }
}

/// Formats ns since midnight as `HH:MM:SS.nnnnnnnnn`.
pub fn format_time_of_day(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    format!("{:02}:{:02}:{:02}.{:09}", secs / 3600, secs / 60 % 60, secs % 60, ns % 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_types_and_reports_the_first_malformed_message() {
        let mut buf = Vec::new();
        let mut d = [0u8; 19];
        d[0] = b'D';
        d[10] = 5;
        binaryfile::write_frame(&mut buf, &d).unwrap();
        binaryfile::write_frame(&mut buf, &[b'D'; 18]).unwrap(); // wrong length for D
        binaryfile::write_frame(&mut buf, &d).unwrap();
        let s = compute(Format::BinaryFile, &buf).unwrap();
        assert_eq!(s.messages, 2);
        assert_eq!(s.by_type.get("D"), Some(&2));
        assert_eq!(s.errors, 1);
        assert_eq!(s.first_error.as_ref().unwrap().offset, 23);
        assert_eq!(s.first_timestamp_ns, Some(5));
        assert_eq!(format_time_of_day(34_200_000_000_001), "09:30:00.000000001");
    }
}
