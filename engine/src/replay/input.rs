//! What a replay reads: captures of every format we know, and our own journals, each turned into
//! a stream of 64-byte records for the feed stage.
//!
//! | format    | detected by                                   | read                         |
//! |-----------|-----------------------------------------------|------------------------------|
//! | `itch`    | anything else (Nasdaq BinaryFILE), or gzip    | mapped (inflated if gzip)    |
//! | `pcap`    | pcap / pcapng magic (MoldUDP64 over UDP)      | mapped                       |
//! | `journal` | a directory                                   | segment by segment           |
//! | `dbn`     | `DBN` magic, or zstd magic (`.dbn.zst`)       | decoded into memory first    |
//! | `lobster` | a `*_message_*.csv` name                      | parsed into memory first     |
//!
//! Captures are decoded in the feed stage, message by message: that is the work a live feed
//! handler does, so it is part of what a replay measures. DBN and LOBSTER files are small text
//! or compressed files whose decoding is not ours to measure; they are turned into records
//! before the run starts. A journal holds records already (the engine's sequenced inputs); its
//! stage stamps are cleared so the run stamps them afresh.

use crate::book::Engine;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tickforge_feed::{normalize, source::Messages, Capture};
use tickforge_replay::journal::{JournalError, JournalReader};
use tickforge_wire::{itch, Record};

/// Input formats; `Auto` detects (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Detect from the path and the first bytes.
    Auto,
    /// Nasdaq BinaryFILE ITCH 5.0, plain or gzip.
    Itch,
    /// pcap or pcapng with MoldUDP64.
    Pcap,
    /// A tickforge journal directory.
    Journal,
    /// Databento DBN MBO, plain or zstd.
    Dbn,
    /// A LOBSTER message file (the orderbook file beside it gives the starting book).
    Lobster,
}

impl std::str::FromStr for InputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<InputFormat, String> {
        Ok(match s {
            "auto" => InputFormat::Auto,
            "itch" | "binaryfile" => InputFormat::Itch,
            "pcap" | "pcapng" => InputFormat::Pcap,
            "journal" => InputFormat::Journal,
            "dbn" => InputFormat::Dbn,
            "lobster" => InputFormat::Lobster,
            other => return Err(format!("unknown format {other:?} (auto, itch, pcap, journal, dbn, lobster)")),
        })
    }
}

/// An opened input.
#[derive(Debug)]
pub struct Input {
    /// Where it came from.
    pub path: PathBuf,
    /// Its format, as the summary names it.
    pub format: String,
    /// Notes for the user (e.g. how a LOBSTER file's starting book was made).
    pub notes: Vec<String>,
    /// Symbols of instruments 1, 2, ... for inputs that carry no ITCH stock directory.
    pub symbols: Vec<String>,
    source: Source,
}

#[derive(Debug)]
enum Source {
    Capture(Capture),
    Journal,
    Records(Vec<Record>),
}

fn looks_like_lobster(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains("_message_") && n.ends_with(".csv"))
}

impl Input {
    /// Whether the input is an ITCH 5.0 capture (BinaryFILE, pcap or pcapng), whose message
    /// bytes the ITCH decoder and `Engine::apply_itch` can read directly.
    pub fn is_itch(&self) -> bool {
        matches!(self.source, Source::Capture(_))
    }

    /// Opens `path` as `format` (detected when `Auto`).
    pub fn open(path: &Path, format: InputFormat) -> Result<Input> {
        if !path.exists() {
            bail!("{} not found", path.display());
        }
        let format = match format {
            InputFormat::Auto if path.is_dir() => InputFormat::Journal,
            InputFormat::Auto if looks_like_lobster(path) => InputFormat::Lobster,
            InputFormat::Auto => {
                let mut head = [0u8; 4];
                let n = std::io::Read::read(
                    &mut std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
                    &mut head,
                )?;
                match &head[..n] {
                    [b'D', b'B', b'N', _] | [0x28, 0xB5, 0x2F, 0xFD] => InputFormat::Dbn,
                    _ => InputFormat::Itch, // BinaryFILE, gzip or pcap: the capture reader tells them apart
                }
            }
            f => f,
        };
        let mut input = Input {
            path: path.to_path_buf(),
            format: String::new(),
            notes: Vec::new(),
            symbols: Vec::new(),
            source: Source::Journal,
        };
        match format {
            InputFormat::Itch | InputFormat::Pcap | InputFormat::Auto => {
                let capture = Capture::open(path).with_context(|| format!("opening capture {}", path.display()))?;
                let is_pcap = capture.format != tickforge_feed::Format::BinaryFile;
                if format == InputFormat::Pcap && !is_pcap {
                    bail!("{}: --format pcap, but the file has no pcap or pcapng magic number", path.display());
                }
                input.format = capture.describe();
                input.source = Source::Capture(capture);
            }
            InputFormat::Journal => {
                JournalReader::open(path).with_context(|| format!("opening journal {}", path.display()))?;
                input.format = "journal".to_string();
            }
            InputFormat::Dbn => {
                let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                let plain = tickforge_feed::dbn::decompress(&bytes).with_context(|| format!("{}", path.display()))?;
                let (version, mbo) =
                    tickforge_feed::dbn::read_mbo(&plain).with_context(|| format!("{}", path.display()))?;
                // Instruments get dense indices from 1 (ITCH's stock locates) in order of first
                // appearance, named after their Databento instrument ids.
                let mut ids = std::collections::HashMap::new();
                let records = mbo
                    .iter()
                    .filter_map(|m| {
                        let next = ids.len() as u16 + 1;
                        let idx = *ids.entry(m.instrument_id).or_insert(next);
                        if usize::from(idx) > input.symbols.len() {
                            input.symbols.push(format!("I{}", m.instrument_id));
                        }
                        tickforge_feed::dbn::to_record(m, idx)
                    })
                    .collect();
                input.format = format!("dbn v{version} mbo");
                input.source = Source::Records(records);
            }
            InputFormat::Lobster => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                let book_path = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .map(|n| path.with_file_name(n.replacen("_message_", "_orderbook_", 1)))
                    .filter(|p| p.as_path() != path && p.exists());
                let first_row = match &book_path {
                    Some(p) => {
                        let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
                        text.lines().next().map(str::to_string)
                    }
                    None => None,
                };
                input.notes.push(match &book_path {
                    Some(p) => format!("starting book: the first row of {}", p.display()),
                    None => "starting book: empty (no *_orderbook_* file beside the message file)".to_string(),
                });
                input.format = "lobster".to_string();
                // LOBSTER names files TICKER_date_start_end_message_levels.csv.
                let ticker =
                    path.file_name().and_then(|n| n.to_str()).and_then(|n| n.split('_').next()).unwrap_or("LOBSTER");
                input.symbols.push(ticker.chars().take(8).collect());
                input.source = Source::Records(crate::lobster::records(&text, first_row.as_deref())?);
            }
        }
        Ok(input)
    }

    /// The size of the input in the units [`Reader::position`] counts (bytes of a capture,
    /// records otherwise), if known.
    pub fn len(&self) -> Option<u64> {
        match &self.source {
            Source::Capture(c) => Some(c.bytes().len() as u64),
            Source::Journal => None,
            Source::Records(r) => Some(r.len() as u64),
        }
    }

    /// Symbol of each instrument 1, 2, ...: from a capture's stock directory (`R` messages;
    /// one pass over the capture), or from the file for other inputs.
    pub fn symbol_table(&self) -> Vec<String> {
        let Some(c) = self.capture() else { return self.symbols.clone() };
        let mut table: Vec<String> = Vec::new();
        for m in Messages::new(c.format, c.bytes()) {
            if let Ok(itch::Message::StockDirectory(d)) = itch::decode(m) {
                let locate = usize::from(d.stock_locate.get());
                if locate == 0 {
                    continue;
                }
                if table.len() < locate {
                    table.extend((table.len() + 1..=locate).map(|n| format!("TF{n}")));
                }
                table[locate - 1] = tickforge_wire::Alpha::trim(&d.stock).to_string();
            }
        }
        table
    }

    /// The capture, for inputs that are ITCH captures.
    pub fn capture(&self) -> Option<&Capture> {
        match &self.source {
            Source::Capture(c) => Some(c),
            _ => None,
        }
    }

    /// Whether [`Input::len`] counts bytes (a capture) rather than records.
    pub fn is_capture(&self) -> bool {
        matches!(self.source, Source::Capture(_))
    }

    /// Whether the input is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// A reader from the start.
    pub fn reader(&self) -> Result<Reader<'_>> {
        let inner = match &self.source {
            Source::Capture(c) => Inner::Itch(Messages::new(c.format, c.bytes())),
            Source::Journal => Inner::Journal(JournalReader::open(&self.path)?),
            Source::Records(r) => Inner::Records(r, 0),
        };
        Ok(Reader {
            inner,
            messages: 0,
            malformed: 0,
            first_malformed: None,
            instruments: Box::new([0; 1024]),
            error: None,
        })
    }
}

/// Fills the feed stage's batches from an [`Input`].
#[derive(Debug)]
pub struct Reader<'a> {
    inner: Inner<'a>,
    /// Messages read (ITCH messages; records for other inputs).
    pub messages: u64,
    /// Messages that could not be decoded.
    pub malformed: u64,
    /// The first of them: its number, where it was and what was wrong.
    pub first_malformed: Option<String>,
    /// One bit per instrument seen.
    instruments: Box<[u64; 1024]>,
    /// The error that ended the input early (a damaged journal).
    pub error: Option<JournalError>,
}

#[derive(Debug)]
enum Inner<'a> {
    Itch(Messages<'a>),
    Journal(JournalReader),
    Records(&'a [Record], usize),
}

impl Reader<'_> {
    /// Fills `buf` with the next records; 0 at the end.
    #[inline]
    pub fn fill(&mut self, buf: &mut [Record]) -> usize {
        // One loop per kind of input, so that the input's kind is matched once per batch, not
        // once per message.
        let Reader { inner, messages: count, malformed, first_malformed, instruments, error } = self;
        let note_instrument = |instruments: &mut [u64; 1024], instrument: u16| {
            instruments[usize::from(instrument >> 6)] |= 1 << (instrument & 63);
        };
        let mut n = 0;
        match inner {
            Inner::Itch(messages) => {
                while n < buf.len() {
                    let Some(bytes) = messages.next() else { break };
                    *count += 1;
                    // One dispatch on the message type, the record built in place: the same
                    // records and errors as `itch::decode` then `normalize::record` (tested in
                    // `feed/tests/normalize_dispatch.rs`), without matching the type twice.
                    let mut got = false;
                    let slot = &mut buf[n];
                    let decoded = normalize::dispatch(bytes, &mut |r: &Record| {
                        *slot = *r;
                        got = true;
                    });
                    if let Err(e) = decoded {
                        note_undecodable(malformed, first_malformed, messages, *count, bytes.len(), e);
                    }
                    if got {
                        note_instrument(instruments, buf[n].instrument);
                        n += 1;
                    }
                }
            }
            Inner::Journal(j) => {
                while n < buf.len() {
                    match j.next_entry() {
                        Ok(Some(e)) => {
                            *count += 1;
                            buf[n] = e.record.without_stamps();
                            note_instrument(instruments, buf[n].instrument);
                            n += 1;
                        }
                        Ok(None) => break,
                        Err(e) => {
                            *error = Some(e);
                            break;
                        }
                    }
                }
            }
            Inner::Records(all, next) => {
                while n < buf.len() {
                    let Some(r) = all.get(*next) else { break };
                    *next += 1;
                    *count += 1;
                    buf[n] = *r;
                    note_instrument(instruments, r.instrument);
                    n += 1;
                }
            }
        }
        n
    }

    /// What was wrong with the input, first decoding then framing, each the first of its kind;
    /// and a packet capture without a single MoldUDP64 packet.
    pub fn problems(&self) -> Vec<String> {
        let (framing, no_market_data) = match &self.inner {
            Inner::Itch(m) => (
                m.first_error.map(|p| p.to_string()),
                (m.is_packet_capture() && m.packets_read > 0 && m.mold_packets == 0).then(|| {
                    let n = m.packets_read;
                    format!(
                        "{n} packet{}, none of them MoldUDP64: no market data to read",
                        if n == 1 { "" } else { "s" }
                    )
                }),
            ),
            _ => (None, None),
        };
        self.first_malformed.iter().cloned().chain(framing).chain(no_market_data).collect()
    }

    /// How far the reader is, in the units of [`Input::len`].
    pub fn position(&self) -> u64 {
        match &self.inner {
            Inner::Itch(m) => m.bytes_consumed() as u64,
            Inner::Journal(_) => self.messages,
            Inner::Records(_, next) => *next as u64,
        }
    }

    /// Framing errors met by the capture reader.
    pub fn framing_errors(&self) -> u64 {
        match &self.inner {
            Inner::Itch(m) => m.errors,
            _ => 0,
        }
    }

    /// Instruments seen.
    pub fn instruments(&self) -> usize {
        self.instruments.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// Counts message `number` of `messages`, `len` bytes, that could not be decoded (`e`), and
/// describes it if it is the first. Out of line: the feed's loop only pays for the call.
#[cold]
#[inline(never)]
fn note_undecodable(
    malformed: &mut u64,
    first: &mut Option<String>,
    messages: &Messages<'_>,
    number: u64,
    len: usize,
    e: tickforge_wire::DecodeError,
) {
    *malformed += 1;
    if first.is_none() {
        *first = Some(messages.describe_undecodable(number, len, &e));
    }
}

/// An engine sized for replays: grows as the input needs.
pub fn replay_engine() -> Engine {
    Engine::new(crate::book::EngineConfig { book_changes: true, ..crate::book::EngineConfig::default() })
}
