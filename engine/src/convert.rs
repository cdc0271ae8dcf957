//! `tickforge capture convert`: any input replay reads, as a Nasdaq BinaryFILE or as a pcap of
//! MoldUDP64 packets.
//!
//! ITCH captures (BinaryFILE, gzip, pcap) are converted message for message, bytes unchanged:
//! BinaryFILE → pcap → BinaryFILE gives back the same file. Other inputs (LOBSTER, DBN, journals
//! of market data) are records, written as ITCH 5.0 by [`Encoder`] after a start-of-day
//! directory (`S`, `R`, `H`) and followed by end-of-day system events. Two record kinds have no
//! ITCH message and are rewritten with the help of a book kept alongside:
//!
//! - a modify (Databento `M`) that keeps the price and does not grow becomes a partial cancel
//!   `X` (the order keeps its place, as at the venue); any other modify becomes a delete `D`
//!   and an add `A` with the same reference (it goes to the back of the queue, as at the venue);
//! - a book clear becomes a delete for every order of that instrument.
//!
//! pcap output: one MoldUDP64 packet per datagram, up to `packet_size` bytes of UDP payload,
//! each in an Ethernet/IPv4/UDP frame from 10.0.0.1:26400 to 233.54.12.1:26400 (a multicast
//! group in Nasdaq's range), stamped with the ITCH time of its first message (nanoseconds since
//! midnight, on 1970-01-01: ITCH carries no date).
// Deterministic: no clock, no environment, no randomly keyed map (clippy.toml).
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

use crate::book::{Engine, EngineConfig};
use crate::replay::{Input, InputFormat};
use anyhow::{bail, Context, Result};
use std::path::Path;
use tickforge_feed::itch_out::Encoder;
use tickforge_feed::net::{self, Endpoints};
use tickforge_feed::{normalize, pcap, source::Messages};
use tickforge_wire::{binaryfile, itch, moldudp64, Kind, Record, Side};

/// Output framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Nasdaq BinaryFILE.
    Itch,
    /// pcap (ns resolution) of MoldUDP64 over UDP.
    Pcap,
}

impl std::str::FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Target, String> {
        match s {
            "itch" | "binaryfile" => Ok(Target::Itch),
            "pcap" => Ok(Target::Pcap),
            other => Err(format!("unknown target {other:?} (itch, pcap)")),
        }
    }
}

/// What a conversion did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConvertSummary {
    /// Input format.
    pub input_format: String,
    /// ITCH messages written.
    pub messages: u64,
    /// MoldUDP64 packets written (pcap output).
    pub packets: u64,
    /// Modifies rewritten as `X` or `D` + `A`.
    pub modifies_rewritten: u64,
    /// Book clears rewritten as deletes.
    pub clears_rewritten: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// MoldUDP64 session name of converted captures.
pub const SESSION: [u8; 10] = *b"TICKFORGE1";

/// Where pcap output's packets go.
pub const ENDPOINTS: Endpoints =
    Endpoints { src: [10, 0, 0, 1], dst: [233, 54, 12, 1], src_port: 26400, dst_port: 26400 };

/// Writes ITCH messages as BinaryFILE frames or packs them into MoldUDP64 packets in a pcap.
struct Sink {
    target: Target,
    binary: Vec<u8>,
    pcap: pcap::Writer,
    packet: moldudp64::PacketBuilder,
    packet_ts: u64,
    next_seq: u64,
    messages: u64,
    packets: u64,
}

impl Sink {
    fn new(target: Target, packet_size: usize) -> Sink {
        Sink {
            target,
            binary: Vec::new(),
            pcap: pcap::Writer::new(pcap::LINKTYPE_ETHERNET),
            packet: moldudp64::PacketBuilder::new(SESSION, 1, packet_size),
            packet_ts: 0,
            next_seq: 1,
            messages: 0,
            packets: 0,
        }
    }

    fn message(&mut self, bytes: &[u8]) -> Result<()> {
        self.messages += 1;
        match self.target {
            Target::Itch => binaryfile::write_frame(&mut self.binary, bytes)
                .map_err(|len| anyhow::anyhow!("message {} is {len} bytes, too long for BinaryFILE", self.messages)),
            Target::Pcap => {
                if self.packet.count() == 0 {
                    self.packet_ts = itch::decode(bytes).map_or(self.packet_ts, |m| m.timestamp());
                }
                if !self.packet.push(bytes) {
                    self.flush();
                    self.packet_ts = itch::decode(bytes).map_or(self.packet_ts, |m| m.timestamp());
                    if !self.packet.push(bytes) {
                        bail!("message {} ({} bytes) does not fit in one packet", self.messages, bytes.len());
                    }
                }
                Ok(())
            }
        }
    }

    fn flush(&mut self) {
        if self.packet.count() > 0 {
            self.pcap.frame(self.packet_ts, &net::udp_frame(&ENDPOINTS, self.packet.bytes()));
            self.next_seq += u64::from(self.packet.count());
            self.packets += 1;
            self.packet.reset(self.next_seq);
        }
    }

    fn finish(mut self) -> (Vec<u8>, u64, u64) {
        self.flush();
        match self.target {
            Target::Itch => (self.binary, self.messages, 0),
            Target::Pcap => (self.pcap.into_bytes(), self.messages, self.packets),
        }
    }
}

/// Converts `input` (read as `format`) to `out`.
pub fn convert(
    input: &Path,
    format: InputFormat,
    out: &Path,
    target: Target,
    packet_size: usize,
) -> Result<ConvertSummary> {
    if packet_size < moldudp64::HEADER_LEN + 2 + 50 {
        bail!("--packet-size {packet_size}: too small for an ITCH message");
    }
    let input = Input::open(input, format)?;
    let mut sink = Sink::new(target, packet_size.min(65_507));
    let (mut modifies, mut clears) = (0u64, 0u64);
    if let Some(capture) = input.capture() {
        let mut messages = Messages::new(capture.format, capture.bytes());
        for m in &mut messages {
            sink.message(m)?;
        }
        if messages.errors > 0 {
            bail!("{}: the capture's framing is broken after {} messages", input.path.display(), sink.messages);
        }
    } else {
        let enc = Encoder::new(&input.symbols);
        let mut reader = input.reader()?;
        let mut buf = vec![Record::default(); 4096];
        let mut book = Engine::new(EngineConfig { book_changes: false, ..EngineConfig::default() });
        let mut scratch = Vec::new();
        let (mut first, mut last) = (None, 0u64);
        loop {
            let n = reader.fill(&mut buf);
            if n == 0 {
                break;
            }
            for r in &buf[..n] {
                let r = Record { seq: sink.messages + 1, ..*r };
                if first.is_none() {
                    let ts = r.ts_event % 86_400_000_000_000;
                    first = Some(ts);
                    let mut out = Vec::new();
                    enc.directory(ts, |m| out.push(m.to_vec()));
                    for m in out {
                        sink.message(&m)?;
                    }
                }
                last = r.ts_event % 86_400_000_000_000;
                let mut rewritten = Vec::new();
                match r.kind() {
                    Ok(Kind::MdModify) => {
                        modifies += 1;
                        rewritten = rewrite_modify(&book, &r);
                    }
                    Ok(Kind::MdClear) => {
                        clears += 1;
                        rewritten = rewrite_clear(&book, &r);
                    }
                    Ok(k) if (k as u8) >= Kind::NewOrder as u8 => bail!(
                        "{}: record {} is {k:?}, not market data: only market-data journals convert to ITCH",
                        input.path.display(),
                        sink.messages + 1
                    ),
                    _ => rewritten.push(r),
                }
                for w in &rewritten {
                    let mut bytes = Vec::new();
                    enc.encode(w, |b| bytes.extend_from_slice(b))?;
                    sink.message(&bytes)?;
                    // Keep the side book in step with what was written, through the normaliser,
                    // exactly as a reader of the output will apply it.
                    let back = itch::decode(&bytes)
                        .ok()
                        .and_then(|m| normalize::record(&m))
                        .context("re-reading a written message")?;
                    scratch.clear();
                    book.apply(&back, &mut scratch);
                }
            }
        }
        if let Some(e) = reader.error.take() {
            return Err(anyhow::Error::new(e).context(format!("reading {}", input.path.display())));
        }
        if first.is_some() {
            let mut out = Vec::new();
            enc.end_of_day(last, |m| out.push(m.to_vec()));
            for m in out {
                sink.message(&m)?;
            }
        }
    }
    let (bytes, messages, packets) = sink.finish();
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(ConvertSummary {
        input_format: input.format.clone(),
        messages,
        packets,
        modifies_rewritten: modifies,
        clears_rewritten: clears,
        bytes: bytes.len() as u64,
    })
}

/// A modify as the messages ITCH has: `X` when it keeps its place, else `D` + `A`.
fn rewrite_modify(book: &Engine, r: &Record) -> Vec<Record> {
    let add = Record { kind: Kind::MdAdd as u8, ..*r };
    // A modify of an order the book does not hold changes nothing (the engine counts it as an
    // unknown reference); a cancel of it does the same.
    let Some(old) = book.order(r.order_id) else { return vec![Record { kind: Kind::MdCancel as u8, ..*r }] };
    if old.price == r.price && r.qty <= old.visible {
        if r.qty == old.visible {
            return Vec::new();
        }
        return vec![Record { kind: Kind::MdCancel as u8, qty: old.visible - r.qty, ..*r }];
    }
    vec![Record { kind: Kind::MdDelete as u8, ..*r }, add]
}

/// A book clear as a delete of every order of the instrument.
fn rewrite_clear(book: &Engine, r: &Record) -> Vec<Record> {
    let mut out = Vec::new();
    for side in [Side::Buy, Side::Sell] {
        for level in book.depth(r.instrument, side, usize::MAX) {
            for id in book.level_order_ids(r.instrument, side, level.price) {
                out.push(Record { kind: Kind::MdDelete as u8, order_id: id, side: side as u8, ..*r });
            }
        }
    }
    out
}

impl ConvertSummary {
    /// One line for the terminal.
    pub fn to_text(&self, out: &Path) -> String {
        let mut t = format!("wrote {} ({} bytes): {} ITCH messages", out.display(), self.bytes, self.messages);
        if self.packets > 0 {
            t += &format!(" in {} MoldUDP64 packets", self.packets);
        }
        t += &format!(" from {}", self.input_format);
        if self.modifies_rewritten + self.clears_rewritten > 0 {
            t += &format!(
                "; {} modifies and {} book clears rewritten as ITCH cancels, deletes and adds",
                self.modifies_rewritten, self.clears_rewritten
            );
        }
        t + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(kind: Kind, id: u64, side: Side, price: i64, qty: u32) -> Record {
        let mut r = Record::new(kind);
        (r.instrument, r.order_id, r.side, r.price, r.qty, r.ts_event) = (1, id, side as u8, price, qty, 1_000);
        r
    }

    /// Modifies and clears applied directly, and rewritten as ITCH and read back through the
    /// normaliser, leave the same books (queue positions included: the state hash covers them).
    #[test]
    fn rewritten_modifies_and_clears_build_the_same_books() {
        let stream = [
            md(Kind::MdAdd, 1, Side::Buy, 100, 300),
            md(Kind::MdAdd, 2, Side::Buy, 100, 200),
            md(Kind::MdAdd, 3, Side::Sell, 105, 100),
            md(Kind::MdModify, 1, Side::Buy, 100, 250), // shrinks in place: keeps its place
            md(Kind::MdModify, 2, Side::Buy, 100, 200), // no change at all
            md(Kind::MdModify, 2, Side::Buy, 100, 400), // grows: to the back
            md(Kind::MdModify, 1, Side::Buy, 101, 250), // new price
            md(Kind::MdModify, 9, Side::Sell, 106, 50), // unknown: no change
            md(Kind::MdClear, 0, Side::None, 0, 0),
            md(Kind::MdAdd, 4, Side::Sell, 107, 10),
        ];
        let config = EngineConfig { book_changes: false, ..EngineConfig::default() };
        let (mut direct, mut via_itch) = (Engine::new(config), Engine::new(config));
        let enc = Encoder::new(&["TEST"]);
        let mut scratch = Vec::new();
        for (i, r) in stream.iter().enumerate() {
            let rewritten = match r.kind() {
                Ok(Kind::MdModify) => rewrite_modify(&via_itch, r),
                Ok(Kind::MdClear) => rewrite_clear(&via_itch, r),
                _ => vec![*r],
            };
            for w in &rewritten {
                let mut bytes = Vec::new();
                enc.encode(w, |b| bytes.extend_from_slice(b)).unwrap();
                let back = normalize::record(&itch::decode(&bytes).unwrap()).unwrap();
                via_itch.apply(&back, &mut scratch);
            }
            direct.apply(r, &mut scratch);
            assert_eq!(via_itch.state_hash(), direct.state_hash(), "after record {i}: {:?}", r.kind());
        }
        assert_eq!(direct.order_count(), 1);
        assert_eq!(direct.stats().unknown_refs, via_itch.stats().unknown_refs);
    }
}
