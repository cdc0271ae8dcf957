//! Applying a stream of records with look-ahead: while one group of records is applied, the
//! cache lines that the next group's order lookups will read are already on their way.
//!
//! # Why
//!
//! A cancel, replace, execute or delete names an order by id, and the engine's first step is
//! the id index entry ([`super::ids`]). For recent orders that line is hot; for old ones (a
//! delete in a day-long ITCH file, a cancel of an order placed long ago) it is a cache miss,
//! and the engine can do nothing else until it arrives. (A lookup of an order that is gone
//! reads only the index's live bitmap, which stays in cache.) One record at a time nothing
//! can be done about it; a caller that holds many records (a capture or journal in memory, a
//! backtest's stream) knows the lookups before it needs them, and [`Engine::apply_all`] asks
//! for them early.
//!
//! # How
//!
//! The records go in groups of [`LOOK_AHEAD`]. Before a group is applied, two short loops run:
//! one asks for the lines of the records two groups on, and one asks for the id index entry of
//! every record of the *next* group ([`LookAhead::hint`]: a bounds test and a prefetch, no load
//! of engine state, so it never waits). The first loop is what makes the second cheap: without
//! it the hint loop is the first to touch each record, takes the stream's cache misses itself,
//! and stalls with nothing to overlap them (W1 and W3 ran 7-19 % slower that way; `perf
//! annotate` put the hint loop's samples on its loads of the records). A hint asks only for
//! the index entry, not for the order behind it: that would need the entry's value, a load
//! that waits for the very miss being hidden.
//!
//! Each group is applied by a function of its own (`apply_group`), with the output vector
//! moved into a local for the group: inlined into the loop over groups, the loop's state stays
//! live across the whole inlined `Engine::apply` and pushes its values out of registers.
//!
//! # What it costs, and when to use it
//!
//! Measured against one [`Engine::apply`] per record on the same streams (BENCHMARKS.md,
//! issue 3): 5-8 % more instructions (the two loops, a call per group, and an `apply` compiled
//! around a borrowed engine); book building from a generated 2M-message day held in memory
//! 18-22 % faster; W1 1-6 % and W3 5-7 % slower (books that stay in cache, whose lookups never
//! miss). W2 ran 12-17 % faster this way until the index's live bitmap answered its cancels of
//! gone orders from cache; since then, 0-5 % (in-process alternation, `ALT=1 NOBC=1 exp w2
//! 7`). So it is for streams whose lookups of live orders go to memory: deep books, deletes
//! and executes of old orders, full-day replays. One record at a time stays the default.
//!
//! [`LookAhead`] copies the index array's and bitmap's addresses, so it borrows nothing. A
//! stale handle (from an engine dropped since) only asks for the wrong line: a prefetch never
//! faults and never reads architecturally.

use super::ids::IndexLines;
use super::Engine;
use tickforge_wire::Record;

/// Records per group in [`Engine::apply_all`]: hints run one to two groups ahead of the
/// record being applied, the records' own lines two to three. W2, in-process alternation
/// (`ALT=1 NOBC=1 exp w2 8`), ratio to one at a time: 8 records 0.83-0.88, 16 records
/// 0.84-0.86, 32 records 0.98-0.99 (hints that far ahead are gone again by the time they are
/// needed); BENCHMARKS.md.
pub const LOOK_AHEAD: usize = 16;

/// A hint source for one engine's order lookups (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct LookAhead {
    /// Where the id index keeps an id's lines; only ever handed to a prefetch.
    lines: IndexLines,
}

impl LookAhead {
    /// Asks for the id index's lines for `rec`'s order id, if the id is in the index's array:
    /// its bitmap word, which every lookup of the id reads first (a cancel, replace, execute or
    /// delete, a new order's duplicate check), and its array entry, which a lookup of a live
    /// order reads next; a new order's insert writes both. Records without an order (id 0) ask
    /// for the first entries, cheaper than a test of the kind. Never reads engine state.
    #[inline(always)]
    pub fn hint(&self, rec: &Record) {
        self.lines.prefetch(rec.order_id);
    }
}

impl Engine {
    /// A hint source for this engine's order lookups (see [`LookAhead`]).
    pub fn look_ahead(&self) -> LookAhead {
        LookAhead { lines: self.ids.lines() }
    }

    /// Applies `records` in order, with the same outputs and end state as [`Engine::apply`]
    /// on each in turn, asking for each record's order lookup and for the record itself a
    /// group or two early (see the module docs for when that pays). After each record, `each`
    /// gets the record and `out` (which keeps growing unless `each` clears it). Allocates
    /// nothing itself.
    pub fn apply_all(
        &mut self,
        records: &[Record],
        out: &mut Vec<Record>,
        mut each: impl FnMut(&Record, &mut Vec<Record>),
    ) {
        let hints = self.look_ahead();
        let group = |start: usize| &records[start.min(records.len())..(start + LOOK_AHEAD).min(records.len())];
        group(0).iter().for_each(|r| hints.hint(r));
        group(LOOK_AHEAD).iter().for_each(|r| crate::prefetch::prefetch(r));
        let mut start = 0;
        while start < records.len() {
            let (now, next, after) = (group(start), group(start + LOOK_AHEAD), group(start + 2 * LOOK_AHEAD));
            self.apply_group(hints, now, next, after, out, &mut each);
            start += LOOK_AHEAD;
        }
    }

    /// One group of [`Engine::apply_all`]: the lines of the records two groups on, the next
    /// group's hints, then this group's records, into `out` moved to a local (through the
    /// reference, every push stored the vector's length back: -1 % instructions on W1).
    #[inline(never)]
    fn apply_group(
        &mut self,
        hints: LookAhead,
        now: &[Record],
        next: &[Record],
        after: &[Record],
        out: &mut Vec<Record>,
        each: &mut impl FnMut(&Record, &mut Vec<Record>),
    ) {
        after.iter().for_each(|r| crate::prefetch::prefetch(r));
        next.iter().for_each(|r| hints.hint(r));
        let mut local = std::mem::take(out);
        for r in now {
            self.apply(r, &mut local);
            each(r, &mut local);
        }
        *out = local;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EngineConfig, InstrumentConfig};
    use tickforge_wire::{Kind, Side, TimeInForce};

    #[test]
    fn applying_all_gives_the_outputs_of_applying_one_at_a_time() {
        let mut records = Vec::new();
        for i in 1..300u64 {
            let mut r = Record::new(Kind::NewOrder);
            (r.order_id, r.session, r.tif, r.qty) = (i, 1, TimeInForce::Gtc as u8, 100);
            r.side = if i % 2 == 0 { Side::Buy as u8 } else { Side::Sell as u8 };
            r.price = 100 + (i % 7) as i64 - 3;
            records.push(r);
            if i % 3 == 0 {
                let mut c = Record::new(Kind::CancelOrder);
                (c.order_id, c.session) = (i / 2, 1);
                records.push(c);
            }
        }
        // An id past the index's array and a kind the engine rejects: hints must not mind.
        let mut odd = Record::new(Kind::CancelOrder);
        odd.order_id = u64::MAX;
        records.push(odd);
        records.push(Record { kind: 200, ..Record::default() });
        let fresh = || {
            let mut e = Engine::new(EngineConfig { max_orders: 64, dense_ids: 128, ..EngineConfig::default() });
            e.add_instrument(0, InstrumentConfig::default());
            e
        };
        let n = records.len();
        for len in [0, 1, LOOK_AHEAD - 1, LOOK_AHEAD, LOOK_AHEAD + 1, 2 * LOOK_AHEAD + 1, 3 * LOOK_AHEAD, n] {
            let (mut a, mut b) = (fresh(), fresh());
            let mut want = Vec::new();
            for r in &records[..len] {
                a.apply(r, &mut want);
            }
            let (mut got, mut seen) = (Vec::new(), Vec::new());
            b.apply_all(&records[..len], &mut got, |r, _| seen.push(*r));
            assert_eq!(got, want, "{len} records");
            assert_eq!(seen, records[..len], "`each` sees every record once, in order");
            assert_eq!(a.state_hash(), b.state_hash());
        }
        let mut all = Vec::new();
        fresh().apply_all(&records, &mut all, |_, _| {});
        assert!(all.iter().any(|r| r.kind == Kind::Fill as u8), "the flow trades");
        assert!(all.iter().any(|r| r.kind == Kind::Canceled as u8), "the flow cancels");
        assert!(all.iter().any(|r| r.kind == Kind::Rejected as u8), "the flow has rejects");
    }
}
