//! `tickforge book`: the books of a capture as they stood at a moment (after the first N
//! messages, or at a time of day), top N levels per side with price, shares and order count.
//! What a person reconstructing an incident asks first.
// Deterministic: no clock, no environment, no randomly keyed map (clippy.toml).
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

use crate::book::{Engine, EngineConfig, LevelView};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::Path;
use tickforge_feed::{normalize, source::Messages, Capture};
use tickforge_wire::{itch, Alpha, Side};

/// Where to stop reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// After this many messages.
    After(u64),
    /// Before the first message stamped later than this (ns since midnight).
    At(u64),
    /// At the end of the capture.
    End,
}

/// One instrument's book.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BookView {
    /// Stock locate.
    pub locate: u16,
    /// Symbol from the stock directory (or `#locate` if the capture had none).
    pub symbol: String,
    /// Bid levels, best first.
    pub bids: Vec<LevelView>,
    /// Ask levels, best first.
    pub asks: Vec<LevelView>,
}

/// The books at a moment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Snapshot {
    /// Messages read.
    pub messages: u64,
    /// Timestamp of the last message applied, ns since midnight.
    pub last_timestamp_ns: u64,
    /// References to orders the book did not hold.
    pub unknown_refs: u64,
    /// Messages that could not be decoded (skipped), and framing errors, up to the moment.
    pub malformed: u64,
    /// The first message that could not be decoded and the first framing error: what and where.
    pub problems: Vec<String>,
    /// The books asked for.
    pub books: Vec<BookView>,
}

/// Reads `path` up to `moment` and returns the top `levels` of the books (of `symbol` only, if given).
pub fn snapshot(path: &Path, moment: Moment, symbol: Option<&str>, levels: usize) -> Result<Snapshot> {
    let capture = Capture::open(path).with_context(|| format!("opening capture {}", path.display()))?;
    let mut engine = Engine::new(EngineConfig { book_changes: false, ..EngineConfig::default() });
    let mut names: BTreeMap<u16, String> = BTreeMap::new();
    let mut out = Vec::new();
    let (mut read, mut last_ts, mut malformed) = (0u64, 0u64, 0u64);
    let mut problems = Vec::new();
    let mut messages = Messages::new(capture.format, capture.bytes());
    while let Some(bytes) = messages.next() {
        if let Moment::After(n) = moment {
            if read >= n {
                break;
            }
        }
        let m = match itch::decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                read += 1;
                malformed += 1;
                if problems.is_empty() {
                    problems.push(messages.describe_undecodable(read, bytes.len(), &e));
                }
                continue;
            }
        };
        if let Moment::At(t) = moment {
            if m.timestamp() > t {
                break;
            }
        }
        read += 1;
        last_ts = m.timestamp();
        if let itch::Message::StockDirectory(d) = m {
            names.insert(d.stock_locate.get(), Alpha::trim(&d.stock).to_string());
        }
        if let Some(r) = normalize::record(&m) {
            out.clear();
            engine.apply(&r, &mut out);
        }
    }
    let mut books = Vec::new();
    for locate in engine.instruments() {
        let name = names.get(&locate).cloned().unwrap_or_else(|| format!("#{locate}"));
        if symbol.is_some_and(|s| !s.eq_ignore_ascii_case(&name)) {
            continue;
        }
        books.push(BookView {
            locate,
            symbol: name,
            bids: engine.depth(locate, Side::Buy, levels),
            asks: engine.depth(locate, Side::Sell, levels),
        });
    }
    if let Some(s) = symbol {
        if books.is_empty() {
            anyhow::bail!(
                "no book for symbol {s} at that moment (symbols seen: {})",
                names.values().cloned().collect::<Vec<_>>().join(", ")
            );
        }
    }
    problems.extend(messages.first_error.map(|p| p.to_string()));
    Ok(Snapshot {
        messages: read,
        last_timestamp_ns: last_ts,
        unknown_refs: engine.stats().unknown_refs,
        malformed: malformed + messages.errors,
        problems,
        books,
    })
}

/// Parses `HH:MM:SS[.fraction]` into ns since midnight.
pub fn parse_time_of_day(s: &str) -> Option<u64> {
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let parts: Vec<u64> = hms.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, sec] = parts[..] else { return None };
    if h > 23 || m > 59 || sec > 59 || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_ns = if frac.is_empty() { 0 } else { frac.parse::<u64>().ok()? * 10u64.pow(9 - frac.len() as u32) };
    Some(((h * 60 + m) * 60 + sec) * 1_000_000_000 + frac_ns)
}

impl Snapshot {
    /// The terminal view: each book side by side, bids left, asks right.
    pub fn to_text(&self) -> String {
        let px = |p: i64| format!("{}.{:04}", p / 10_000, p % 10_000);
        let mut s = format!(
            "after {} messages, at {}; {} unknown references, {} malformed\n",
            self.messages,
            tickforge_feed::stats::format_time_of_day(self.last_timestamp_ns),
            self.unknown_refs,
            self.malformed
        );
        for p in &self.problems {
            s += &format!("problem: {p}\n");
        }
        for b in &self.books {
            s += &format!(
                "\n{} (locate {})\n  {:>6} {:>9} {:>12} | {:<12} {:>9} {:>6}\n",
                b.symbol, b.locate, "orders", "shares", "bid", "ask", "shares", "orders"
            );
            for i in 0..b.bids.len().max(b.asks.len()) {
                let bid = b.bids.get(i).map_or_else(
                    || format!("{:>6} {:>9} {:>12}", "", "", ""),
                    |l| format!("{:>6} {:>9} {:>12}", l.orders, l.qty, px(l.price)),
                );
                let ask = b
                    .asks
                    .get(i)
                    .map_or_else(String::new, |l| format!("{:<12} {:>9} {:>6}", px(l.price), l.qty, l.orders));
                s += &format!("  {bid} | {ask}\n");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day() {
        assert_eq!(parse_time_of_day("09:30:00"), Some(34_200_000_000_000));
        assert_eq!(parse_time_of_day("09:30:00.5"), Some(34_200_500_000_000));
        assert_eq!(parse_time_of_day("25:00:00"), None);
        assert_eq!(parse_time_of_day("9:30"), None);
    }
}
