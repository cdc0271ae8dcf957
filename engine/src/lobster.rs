//! LOBSTER files and `tickforge verify lobster`: rebuild the book from a LOBSTER message file
//! and compare it, after every message, with LOBSTER's own orderbook file.
//!
//! # Files
//!
//! Message file rows: `time, type, order_id, size, price, direction` (time in seconds after
//! midnight with nanosecond decimals; type 1 new limit order, 2 partial cancel, 3 delete,
//! 4 visible execution, 5 hidden execution, 6 cross trade, 7 halt; price in dollars × 10,000,
//! which is our Price(4) unit; direction 1 buy, -1 sell). Orderbook row k is the book after
//! message k: `ask_px1, ask_sz1, bid_px1, bid_sz1, ...` for N levels, empty levels shown as
//! ±9999999999 with size 0.
//!
//! # What a LOBSTER file can and cannot tell
//!
//! A LOBSTER message file of level N holds only the events that touched the top N price levels
//! of each side at the time. The book starts mid-day with orders the file never introduces, an
//! order added deeper than level N is never reported, and an order that sinks below level N can
//! be cancelled or executed without a message. So the reconstruction keeps, per side, the set of
//! *certain* levels: a level is certain from the moment a row shows it within the top N, and
//! stays certain while it stays there, because every event that changes it is then in the file.
//!
//! After each message, before comparing:
//! 1. a level the row shows that is not certain becomes certain; if what we hold there differs
//!    from the row (it changed unreported, or we never saw its orders), it is *learned*: the
//!    quantity our known orders do not explain is recorded as anonymous quantity at that price;
//! 2. a level we hold that the row should show (it is better than the row's N-th level) but does
//!    not, and that is not certain, held orders that left unreported: it is emptied;
//! 3. certain levels now below the row's N-th level stop being certain.
//!
//! A row where step 1 or 2 learned anything is counted as *learning* and not compared (learning
//! from a row and then checking that row against itself would prove nothing). Every other row is
//! compared in full, price and size of each of the top N levels on both sides; a difference
//! there is a mismatch, since certain levels are fully described by the file's own messages.
//! Events about orders we never saw take their shares off the anonymous quantity at their price
//! (each message carries price and size).
// Deterministic: no clock, no environment, no randomly keyed map (clippy.toml).
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

use crate::book::{Engine, EngineConfig};
use std::collections::{BTreeMap, BTreeSet};
use tickforge_wire::{Kind, Record, Side};

/// A malformed LOBSTER line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}: {what}")]
pub struct LobsterError {
    /// `messages` or `orderbook`.
    pub file: &'static str,
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub what: String,
}

/// One LOBSTER message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    /// Nanoseconds after midnight.
    pub time_ns: u64,
    /// Event type 1..=7.
    pub kind: u8,
    /// Order id.
    pub order_id: u64,
    /// Shares.
    pub size: u32,
    /// Price(4).
    pub price: i64,
    /// Side of the order concerned.
    pub side: Side,
}

fn err(file: &'static str, line: usize, what: impl Into<String>) -> LobsterError {
    LobsterError { file, line, what: what.into() }
}

fn parse_time(s: &str) -> Option<u64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: u64 = secs.parse().ok()?;
    let mut ns: u64 = 0;
    let digits = frac.as_bytes();
    for i in 0..9 {
        let d = digits.get(i).map_or(Some(0), |c| (*c as char).to_digit(10).map(u64::from))?;
        ns = ns * 10 + d;
    }
    if digits.len() > 9 && !digits[9..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(secs * 1_000_000_000 + ns)
}

/// Parses one message line (1-based `line` for errors).
pub fn parse_message(text: &str, line: usize) -> Result<Message, LobsterError> {
    let f: Vec<&str> = text.trim().split(',').collect();
    if f.len() != 6 {
        return Err(err("messages", line, format!("expected 6 fields, found {}", f.len())));
    }
    let num = |i: usize, name: &str| {
        f[i].trim()
            .parse::<i64>()
            .map_err(|_| err("messages", line, format!("field {name}: {:?} is not a number", f[i])))
    };
    let time_ns = parse_time(f[0].trim()).ok_or_else(|| err("messages", line, format!("field time: {:?}", f[0])))?;
    let kind = num(1, "type")?;
    if !(1..=7).contains(&kind) {
        return Err(err("messages", line, format!("field type: {kind} is not 1..7")));
    }
    let order_id = u64::try_from(num(2, "order_id")?).map_err(|_| err("messages", line, "field order_id: negative"))?;
    let size = u32::try_from(num(3, "size")?).map_err(|_| err("messages", line, "field size: out of range"))?;
    let price = num(4, "price")?;
    let side = match num(5, "direction")? {
        1 => Side::Buy,
        -1 => Side::Sell,
        d => return Err(err("messages", line, format!("field direction: {d} is not 1 or -1"))),
    };
    Ok(Message { time_ns, kind: kind as u8, order_id, size, price, side })
}

/// One side's levels of an orderbook row, best first: `(price, size)`, dummies dropped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    /// Ask levels, best (lowest) first.
    pub asks: Vec<(i64, u64)>,
    /// Bid levels, best (highest) first.
    pub bids: Vec<(i64, u64)>,
}

/// Parses an orderbook row of `levels` levels.
pub fn parse_row(text: &str, line: usize, levels: usize) -> Result<Row, LobsterError> {
    let f: Vec<&str> = text.trim().split(',').collect();
    if f.len() < levels * 4 {
        return Err(err("orderbook", line, format!("expected {} fields, found {}", levels * 4, f.len())));
    }
    let mut row = Row::default();
    for l in 0..levels {
        let v: Result<Vec<i64>, _> = f[l * 4..l * 4 + 4].iter().map(|s| s.trim().parse::<i64>()).collect();
        let v = v.map_err(|_| err("orderbook", line, format!("level {}: not numbers", l + 1)))?;
        if v[1] > 0 && v[0].abs() != 9_999_999_999 {
            row.asks.push((v[0], v[1] as u64));
        }
        if v[3] > 0 && v[2].abs() != 9_999_999_999 {
            row.bids.push((v[2], v[3] as u64));
        }
    }
    Ok(row)
}

/// Where the rebuilt book first disagreed with LOBSTER's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// 1-based row (= message) number.
    pub row: usize,
    /// `bid` or `ask`.
    pub side: &'static str,
    /// 1-based level.
    pub level: usize,
    /// LOBSTER's `(price, size)` (`None`: no level there).
    pub expected: Option<(i64, u64)>,
    /// Ours.
    pub got: Option<(i64, u64)>,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Rows in the files.
    pub rows: usize,
    /// Rows compared in full.
    pub rows_checked: usize,
    /// Rows not compared because they showed a price for the first time (its starting
    /// quantity was learned from them).
    pub rows_learning: usize,
    /// Rows compared that disagreed.
    pub mismatches: usize,
    /// The first of them.
    pub first_mismatch: Option<Mismatch>,
    /// Levels per side compared.
    pub levels: usize,
    /// Messages about orders that started the day in the book (applied to anonymous quantity).
    pub unknown_order_events: u64,
    /// Levels found empty of orders that left while below level N (unreported in the file).
    pub unreported_removals: u64,
    /// Deletes or executions whose size disagreed with our copy of the order (changed unreported).
    pub unreported_changes: u64,
    /// State hash of the engine's book of known orders at the end.
    pub state_hash: String,
}

/// The one instrument of a LOBSTER file: stock locate 1 (ITCH keeps 0 for system messages).
const INSTRUMENT: u16 = 1;

/// Order ids of the synthetic orders that stand for the book a LOBSTER file starts with: one
/// per price level of the first orderbook row, `SYNTHETIC | side << 40 | level`.
pub const SYNTHETIC: u64 = 1 << 62;

/// The records a LOBSTER message file replays as, for `tickforge replay`.
///
/// The file starts mid-day, so the book it starts with comes from the first orderbook row
/// (`first_row`, if given): that row is the book *after* message 1, so message 1's effect is
/// taken back out, and each level becomes one synthetic order ([`SYNTHETIC`]). Messages about
/// orders the file never added (they were resting at the start) take their shares off the
/// synthetic order at their price, keeping their kind (an execution stays an execution); with
/// no synthetic order there they go to the engine as they are and count as unknown references.
/// Hidden executions (5), cross trades (6) and halts (7) do not change the visible book and
/// produce no record. Deeper levels than the file's never appear, so the replayed book is
/// exact only where the file is (`tickforge verify lobster` checks that).
pub fn records(messages: &str, first_row: Option<&str>) -> Result<Vec<Record>, LobsterError> {
    let mut msgs = Vec::new();
    for (i, line) in messages.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        msgs.push(parse_message(line, i + 1)?);
    }
    let mut out = Vec::with_capacity(msgs.len() + 64);
    let mut synthetic: BTreeMap<(u8, i64), u64> = BTreeMap::new();
    if let (Some(row), Some(first)) = (first_row, msgs.first()) {
        let levels = row.split(',').count() / 4;
        let mut book = parse_row(row, 1, levels)?;
        // Take message 1 back out of the row: the book before it.
        let undo: i64 = match first.kind {
            1 => -i64::from(first.size),
            2..=4 => i64::from(first.size),
            _ => 0,
        };
        let side_levels = if first.side == Side::Buy { &mut book.bids } else { &mut book.asks };
        match side_levels.iter_mut().find(|(p, _)| *p == first.price) {
            Some(level) => level.1 = (level.1 as i64 + undo).max(0) as u64,
            None if undo > 0 => side_levels.push((first.price, undo as u64)),
            None => {}
        }
        for (side, levels) in [(Side::Buy, &book.bids), (Side::Sell, &book.asks)] {
            for (k, &(price, size)) in levels.iter().enumerate().filter(|(_, l)| l.1 > 0) {
                let id = SYNTHETIC | (side as u64) << 40 | k as u64;
                synthetic.insert((side as u8, price), id);
                let mut r = Record::new(Kind::MdAdd);
                (r.instrument, r.order_id, r.side, r.price, r.ts_event) =
                    (INSTRUMENT, id, side as u8, price, first.time_ns);
                r.qty = u32::try_from(size).unwrap_or(u32::MAX);
                out.push(r);
            }
        }
    }
    let mut added = BTreeSet::new();
    for m in &msgs {
        let kind = match m.kind {
            1 => Kind::MdAdd,
            2 => Kind::MdCancel,
            3 => Kind::MdDelete,
            4 => Kind::MdExecute,
            _ => continue,
        };
        let mut r = Record::new(kind);
        (r.instrument, r.order_id, r.side, r.price, r.qty, r.ts_event) =
            (INSTRUMENT, m.order_id, m.side as u8, m.price, m.size, m.time_ns);
        if kind == Kind::MdAdd {
            added.insert(m.order_id);
        } else if !added.contains(&m.order_id) {
            if let Some(&id) = synthetic.get(&(m.side as u8, m.price)) {
                r.order_id = id;
                if kind == Kind::MdDelete {
                    r.kind = Kind::MdCancel as u8; // only this order's shares leave the level
                }
            }
        }
        out.push(r);
    }
    Ok(out)
}

/// Rebuilds and compares. `levels` limits the comparison to the top N (default: all in the file).
pub fn verify(messages: &str, orderbook: &str, levels: Option<usize>) -> Result<Report, LobsterError> {
    let msgs: Vec<&str> = messages.lines().filter(|l| !l.trim().is_empty()).collect();
    let rows: Vec<&str> = orderbook.lines().filter(|l| !l.trim().is_empty()).collect();
    if msgs.len() != rows.len() {
        return Err(err("orderbook", rows.len(), format!("{} rows for {} messages", rows.len(), msgs.len())));
    }
    let Some(first) = rows.first() else {
        return Ok(Report {
            rows: 0,
            rows_checked: 0,
            rows_learning: 0,
            mismatches: 0,
            first_mismatch: None,
            levels: 0,
            unknown_order_events: 0,
            unreported_removals: 0,
            unreported_changes: 0,
            state_hash: String::new(),
        });
    };
    let file_levels = first.split(',').count() / 4;
    if file_levels == 0 {
        return Err(err("orderbook", 1, "fewer than 4 fields"));
    }
    let n = levels.unwrap_or(file_levels).min(file_levels).max(1);

    let mut engine = Engine::new(EngineConfig {
        max_orders: 1 << 17,
        max_levels: 1 << 14,
        grow: true,
        book_changes: false,
        ..EngineConfig::default()
    });
    let mut out = Vec::with_capacity(16);
    // Anonymous quantity by (side index, price), and the certain levels.
    let mut anon: BTreeMap<(usize, i64), i64> = BTreeMap::new();
    let mut certain: BTreeSet<(usize, i64)> = BTreeSet::new();
    let mut report = Report {
        rows: rows.len(),
        rows_checked: 0,
        rows_learning: 0,
        mismatches: 0,
        first_mismatch: None,
        levels: n,
        unknown_order_events: 0,
        unreported_removals: 0,
        unreported_changes: 0,
        state_hash: String::new(),
    };
    for (i, line) in msgs.iter().enumerate() {
        let m = parse_message(line, i + 1)?;
        let si = usize::from(m.side == Side::Sell);
        let mut rec = Record::new(Kind::MdTrade);
        rec.instrument = INSTRUMENT;
        rec.order_id = m.order_id;
        rec.qty = m.size;
        rec.price = m.price;
        rec.side = m.side as u8;
        rec.ts_event = m.time_ns;
        let mut to_engine = true;
        match m.kind {
            1 => rec.kind = Kind::MdAdd as u8,
            2..=4 if !engine.orders_contains(m.order_id) => {
                report.unknown_order_events += 1;
                *anon.entry((si, m.price)).or_insert(0) -= i64::from(m.size);
                to_engine = false;
            }
            2..=4 => {
                rec.kind = [Kind::MdCancel, Kind::MdDelete, Kind::MdExecute][usize::from(m.kind - 2)] as u8;
                // The message's size is what left the book. If our copy of the order holds a
                // different amount (it changed unreported while below level N), the level
                // moves by the message's size and the difference is anonymous.
                let ours = engine.order(m.order_id).map_or(0, |o| i64::from(o.visible));
                let removes_all = m.kind == 3 || i64::from(m.size) >= ours;
                if removes_all && ours != i64::from(m.size) {
                    *anon.entry((si, m.price)).or_insert(0) += ours - i64::from(m.size);
                    report.unreported_changes += 1;
                }
            }
            _ => {} // 5 hidden execution, 6 cross, 7 halt: the visible book does not change
        }
        if to_engine {
            out.clear();
            engine.apply(&rec, &mut out);
        }
        let expected = parse_row(rows[i], i + 1, file_levels)?;
        let mut learned = false;
        for (s, side, exp) in [(0, Side::Buy, &expected.bids), (1, Side::Sell, &expected.asks)] {
            let exp = &exp[..exp.len().min(n)];
            // 1. Learn levels shown for the first time since they were last certain.
            for &(price, size) in exp {
                if certain.insert((s, price)) {
                    let known = engine.level_qty(INSTRUMENT, side, price) as i64;
                    let ours = known + anon.get(&(s, price)).copied().unwrap_or(0);
                    if ours != size as i64 {
                        anon.insert((s, price), size as i64 - known);
                        learned = true;
                    }
                }
            }
            // 2. Empty uncertain levels that should show but do not.
            let bound = if exp.len() == n { Some(exp[n - 1].0) } else { None };
            let better_or_at = |p: i64| bound.is_none_or(|b| if s == 0 { p >= b } else { p <= b });
            let mut suspects: BTreeSet<i64> =
                engine.levels_best_first(INSTRUMENT, side).map(|l| l.price).take_while(|&p| better_or_at(p)).collect();
            suspects
                .extend(anon.range((s, i64::MIN)..=(s, i64::MAX)).map(|(&(_, p), _)| p).filter(|&p| better_or_at(p)));
            for price in suspects {
                if certain.contains(&(s, price)) {
                    continue;
                }
                let shown =
                    engine.level_qty(INSTRUMENT, side, price) as i64 + anon.get(&(s, price)).copied().unwrap_or(0);
                for id in engine.level_order_ids(INSTRUMENT, side, price) {
                    let mut del = Record::new(Kind::MdDelete);
                    del.order_id = id;
                    out.clear();
                    engine.apply(&del, &mut out);
                }
                anon.remove(&(s, price));
                if shown != 0 {
                    report.unreported_removals += 1;
                    learned = true;
                }
            }
            // 3. Levels below the row's N-th are no longer certain (what we hold for them is kept,
            //    and checked again if they come back into view).
            if let Some(b) = bound {
                let below: Vec<(usize, i64)> = if s == 0 {
                    certain.range((s, i64::MIN)..(s, b)).copied().collect()
                } else {
                    certain.range((s, b.saturating_add(1))..=(s, i64::MAX)).copied().collect()
                };
                for k in below {
                    certain.remove(&k);
                }
            }
        }
        if learned {
            report.rows_learning += 1;
            continue;
        }
        report.rows_checked += 1;
        let mut bad = None;
        for (s, side, name, exp) in [(0, Side::Buy, "bid", &expected.bids), (1, Side::Sell, "ask", &expected.asks)] {
            let got = merged_top(&engine, &anon, s, side, n);
            for level in 0..n {
                let e = exp.get(level).copied();
                let g = got.get(level).copied();
                if e != g && bad.is_none() {
                    bad = Some(Mismatch { row: i + 1, side: name, level: level + 1, expected: e, got: g });
                }
            }
        }
        if let Some(b) = bad {
            report.mismatches += 1;
            report.first_mismatch.get_or_insert(b);
        }
    }
    report.state_hash = format!("{:016x}", engine.state_hash());
    Ok(report)
}

/// The top `n` levels of one side: the engine's levels plus anonymous quantity, best first,
/// empty levels skipped. Walks both sorted sequences only as far as it needs.
fn merged_top(engine: &Engine, anon: &BTreeMap<(usize, i64), i64>, s: usize, side: Side, n: usize) -> Vec<(i64, u64)> {
    let better = |a: i64, b: i64| if s == 0 { a > b } else { a < b };
    let mut eng = engine.levels_best_first(INSTRUMENT, side).map(|l| (l.price, l.qty as i64)).peekable();
    let range = anon.range((s, i64::MIN)..=(s, i64::MAX)).map(|(&(_, p), &q)| (p, q));
    let mut an: Box<dyn Iterator<Item = (i64, i64)>> = if s == 0 { Box::new(range.rev()) } else { Box::new(range) };
    let mut an_head = an.next();
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        let (price, qty) = match (eng.peek().copied(), an_head) {
            (None, None) => break,
            (Some(e), None) => {
                eng.next();
                e
            }
            (None, Some(a)) => {
                an_head = an.next();
                a
            }
            (Some(e), Some(a)) if e.0 == a.0 => {
                eng.next();
                an_head = an.next();
                (e.0, e.1 + a.1)
            }
            (Some(e), Some(a)) if better(e.0, a.0) => {
                eng.next();
                e
            }
            (Some(_), Some(a)) => {
                an_head = an.next();
                a
            }
        };
        if qty != 0 {
            v.push((price, qty.max(0) as u64));
        }
    }
    v
}

impl Report {
    /// The human-readable summary.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "rows          {}\nrows checked  {} ({:.1} %)\nrows learning {} (a level first shown, or found emptied by unreported events: learned, not checked)\nlevels        {}\nmismatches    {}\nunknown-order events applied to the starting book: {}\nunreported changes found: {} levels emptied, {} orders whose size had changed\nstate hash    {}\n",
            self.rows,
            self.rows_checked,
            100.0 * self.rows_checked as f64 / self.rows.max(1) as f64,
            self.rows_learning,
            self.levels,
            self.mismatches,
            self.unknown_order_events,
            self.unreported_removals,
            self.unreported_changes,
            self.state_hash
        );
        if let Some(m) = &self.first_mismatch {
            let show = |v: Option<(i64, u64)>| v.map_or_else(|| "none".to_string(), |(p, q)| format!("{q} @ {p}"));
            s += &format!(
                "first mismatch: row {}, {} level {}: expected {}, got {}\n",
                m.row,
                m.side,
                m.level,
                show(m.expected),
                show(m.got)
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_reports_bad_fields() {
        let m = parse_message("34200.18960767,1,11885113,21,2238100,1", 2).unwrap();
        assert_eq!(
            (m.time_ns, m.kind, m.order_id, m.size, m.price, m.side),
            (34_200_189_607_670, 1, 11_885_113, 21, 2_238_100, Side::Buy)
        );
        assert_eq!(
            parse_message("1,9,1,1,1,1", 7).unwrap_err().to_string(),
            "messages line 7: field type: 9 is not 1..7"
        );
        assert!(parse_message("1,1,1,1,1", 3).is_err());
        let r = parse_row("2239500,100,-9999999999,0", 1, 1).unwrap();
        assert_eq!((r.asks, r.bids), (vec![(2_239_500, 100)], vec![]));
    }

    #[test]
    fn a_tiny_day_verifies_and_a_wrong_book_is_caught() {
        // Row 1 seeds an anonymous bid of 100 @ 10,000 and ask 50 @ 10,100.
        let msgs = "1.0,5,0,1,10000,-1\n2.0,1,7,30,10000,1\n3.0,4,99,40,10000,1\n4.0,3,7,30,10000,1\n";
        let book = "10100,50,10000,100\n10100,50,10000,130\n10100,50,10000,90\n10100,50,10000,60\n";
        let r = verify(msgs, book, None).unwrap();
        assert_eq!((r.rows, r.rows_checked, r.rows_learning, r.mismatches, r.unknown_order_events), (4, 3, 1, 0, 1));
        let wrong = book.replace("10000,90", "10000,91");
        let r = verify(msgs, &wrong, None).unwrap();
        assert_eq!(r.mismatches, 1);
        assert_eq!(
            r.first_mismatch.unwrap(),
            Mismatch { row: 3, side: "bid", level: 1, expected: Some((10_000, 91)), got: Some((10_000, 90)) }
        );
    }
}
