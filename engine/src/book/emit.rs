//! Output records built in 16-byte chunks: a fill's two records, replies that copy their
//! command (`Accepted`, `Rejected`), `Canceled`, and book changes.
//!
//! # Why
//!
//! Most outputs are a copy of another record with a few fields changed: an `Accepted` is the
//! command with its kind and `aux` replaced, a fill is the taker's template with price,
//! quantity and match number filled in. Built field by field, as the compiler builds a struct,
//! each is a dozen or more stores of 1 to 8 bytes, and the matching loop kept the template's
//! fields in stack slots that it reloaded for every fill: 34 stores for a fill's two records.
//! The QuantCup feed (W3, `shared/docs/performance.md`) writes about two records a message,
//! and cores retire at most one or two stores a cycle, so the stores were a good part of a
//! message's time. Built as four 16-byte chunks, a record is four aligned stores (the slots of
//! a `Vec<Record>` are 64-byte aligned), and a template held as chunks stays in vector
//! registers across the fill loop. Where a record was a cheap copy this costs a few more
//! instructions than it saves (`icount`'s cancel 220 -> 237), but the stores were the
//! bottleneck: W1-W3 2-14 % faster (median 7 %) in every alternating pair of old and new
//! builds (`BENCHMARKS.md`, issue 3, twenty-first session).
//!
//! # Layout
//!
//! The record's four chunks (offsets checked at compile time below): 0 `seq`, `order_id`; 1
//! `price`, `aux`; 2 `ts_event`, `qty`, `tsc_recv`; 3 `tsc_feed`, `tsc_match`, and a *tail*
//! word of `instrument`, `session`, `kind`, `side`, `tif`, `flags`. A chunk is copied whole from
//! the record an output is built on, put together from two words, or a copy with some bits
//! replaced. x86-64 only (SSE2, part of its baseline); elsewhere the same functions build the
//! record field by field ([`portable`], which the tests also hold the chunked versions to).
//!
//! # Room first
//!
//! The records are built only once the output vector has room for them ([`append`]): a value
//! built before `Vec::push` lives across its (cold) call to the allocator, vector registers do
//! not survive a call, and the compiler then stores every chunk to the stack and loads it back
//! on the common path too.
#![allow(
    unsafe_code,
    reason = "SSE2 intrinsics, volatile loads of a command's chunks and `append`'s set_len; each block states why it is sound"
)]

use core::mem::offset_of;
use tickforge_wire::record::FLAG_MAKER;
use tickforge_wire::{Kind, Record};

#[cfg(target_arch = "x86_64")]
use chunked as build;
#[cfg(not(target_arch = "x86_64"))]
use portable as build;

// The chunk layout that `chunked` relies on.
const _: () = {
    assert!(offset_of!(Record, seq) == 0 && offset_of!(Record, order_id) == 8);
    assert!(offset_of!(Record, price) == 16 && offset_of!(Record, aux) == 24);
    assert!(offset_of!(Record, ts_event) == 32 && offset_of!(Record, qty) == 40);
    assert!(offset_of!(Record, tsc_recv) == 44 && offset_of!(Record, tsc_feed) == 48);
    assert!(offset_of!(Record, instrument) == 56 && offset_of!(Record, session) == 58);
    assert!(offset_of!(Record, kind) == 60 && offset_of!(Record, side) == 61);
    assert!(offset_of!(Record, tif) == 62 && offset_of!(Record, flags) == 63);
    assert!(core::mem::size_of::<Record>() == 64);
};

/// What differs between the fills of one matching call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fill {
    pub(crate) price: i64,
    pub(crate) qty: u32,
    /// The match number.
    pub(crate) number: u64,
    pub(crate) maker_id: u64,
    pub(crate) maker_session: u16,
    pub(crate) maker_side: u8,
}

impl Fill {
    /// The maker's record of the fill, as an event of the maker's order.
    #[inline(always)]
    fn maker_event(&self) -> OrderEvent {
        OrderEvent {
            kind: Kind::Fill,
            id: self.maker_id,
            session: self.maker_session,
            side: self.maker_side,
            price: self.price,
            qty: self.qty,
            aux: self.number,
            flags: FLAG_MAKER,
        }
    }
}

/// A record about one order, built on the record that caused it: the instrument, the time in
/// force and the times (`seq`, `ts_event`, the TSC stamps) come from the cause, the rest is
/// the event's own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OrderEvent {
    pub(crate) kind: Kind,
    pub(crate) id: u64,
    pub(crate) session: u16,
    pub(crate) side: u8,
    pub(crate) price: i64,
    pub(crate) qty: u32,
    pub(crate) aux: u64,
    pub(crate) flags: u8,
}

/// The fields of a `BookChange`: the level at `price` on `side` of `instrument` now shows
/// `qty` shares in `count` orders (the record's `aux`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BookChange {
    pub(crate) instrument: u16,
    pub(crate) side: u8,
    pub(crate) price: i64,
    pub(crate) ts: u64,
    pub(crate) qty: u32,
    pub(crate) count: u64,
    pub(crate) flags: u8,
}

/// The taker's half of every fill of one matching call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FillPair {
    /// The taker's fill record (kind, id, session, side, flags 0), price, quantity and match
    /// number aside.
    template: build::Template,
}

impl FillPair {
    /// The fills of taker order `id` (of `session`, on `side`) caused by `cause`: built as an
    /// [`OrderEvent`] on the cause, whose price, quantity and `aux` each fill replaces.
    #[inline(always)]
    pub(crate) fn new(cause: &Record, id: u64, session: u16, side: u8) -> FillPair {
        let taker = OrderEvent { kind: Kind::Fill, id, session, side, price: 0, qty: 0, aux: 0, flags: 0 };
        FillPair { template: build::template(&build::event(&build::template(cause), &taker)) }
    }

    /// Appends one fill's records: the taker's, then the maker's (`FLAG_MAKER`, the maker's
    /// id, session and side), both at the fill's price, quantity and match number.
    #[inline(always)]
    pub(crate) fn push(&self, out: &mut Vec<Record>, fill: Fill) {
        append(out, || build::fill(&self.template, fill));
    }
}

/// Appends `cmd` with its kind and `aux` replaced: an `Accepted` or `Rejected` reply.
#[inline(always)]
pub(crate) fn push_reply(out: &mut Vec<Record>, cmd: &Record, kind: Kind, aux: u64) {
    append(out, || [build::reply(cmd, kind, aux)]);
}

/// Appends the record of `event`, caused by `cause` (a `Canceled`).
#[inline(always)]
pub(crate) fn push_order_event(out: &mut Vec<Record>, cause: &Record, event: OrderEvent) {
    append(out, || [build::event(&build::template(cause), &event)]);
}

/// Appends a `BookChange` record.
#[inline(always)]
pub(crate) fn push_book_change(out: &mut Vec<Record>, change: BookChange) {
    append(out, || [build::book_change(change)]);
}

/// Appends the `N` records that `make` builds, making room first (module docs, "Room first").
#[inline(always)]
fn append<const N: usize>(out: &mut Vec<Record>, make: impl FnOnce() -> [Record; N]) {
    out.reserve(N);
    let len = out.len();
    let slots = &mut out.spare_capacity_mut()[..N];
    for (slot, record) in slots.iter_mut().zip(make()) {
        slot.write(record);
    }
    // SAFETY: `reserve` made room for `N` more records, and the `N` slots after `len` were
    // initialized just above.
    unsafe { out.set_len(len + N) };
}

/// The records as four 16-byte chunks in SSE2 registers.
#[cfg(target_arch = "x86_64")]
mod chunked {
    use super::{BookChange, Fill, Kind, OrderEvent, Record};
    use core::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cvtsi64_si128, _mm_or_si128, _mm_set_epi64x, _mm_unpacklo_epi64,
    };

    /// A record's chunks, in order.
    pub(super) type Template = [__m128i; 4];

    /// Bit offsets of the tail word's fields (bytes 56..64, little-endian).
    const TAIL_SESSION: u32 = 16;
    const TAIL_KIND: u32 = 32;
    const TAIL_SIDE: u32 = 40;
    const TAIL_FLAGS: u32 = 56;
    /// The tail word's bits that an [`OrderEvent`] keeps from its cause: the instrument and
    /// the time in force.
    const TAIL_KEPT: u64 = 0x00ff_0000_0000_ffff;

    #[inline(always)]
    pub(super) fn template(r: &Record) -> Template {
        zerocopy::transmute!(*r)
    }

    #[inline(always)]
    fn record(c: Template) -> Record {
        zerocopy::transmute!(c)
    }

    /// One chunk of two words, `lo` at the lower address.
    #[inline(always)]
    fn pair(lo: u64, hi: u64) -> __m128i {
        // SAFETY: the intrinsic needs SSE2, which every x86-64 CPU has (the x86-64 baseline
        // this crate is compiled for); it only computes on its arguments.
        unsafe { _mm_set_epi64x(hi as i64, lo as i64) }
    }

    /// `c` with its upper word replaced by `hi`.
    #[inline(always)]
    fn with_high(c: __m128i, hi: u64) -> __m128i {
        // SAFETY: as in `pair`.
        unsafe { _mm_unpacklo_epi64(c, _mm_cvtsi64_si128(hi as i64)) }
    }

    /// The bits of `c` where `keep` is set, with `bits` (clear where `keep` is set) added.
    #[inline(always)]
    fn select(c: __m128i, keep: __m128i, bits: __m128i) -> __m128i {
        // SAFETY: as in `pair`.
        unsafe { _mm_or_si128(_mm_and_si128(c, keep), bits) }
    }

    /// Chunk 2 (`ts_event`, `qty`, `tsc_recv`) of `c` with `qty` replaced.
    #[inline(always)]
    fn with_qty(c: __m128i, qty: u32) -> __m128i {
        select(c, pair(u64::MAX, !u64::from(u32::MAX)), pair(0, u64::from(qty)))
    }

    #[inline(always)]
    pub(super) fn fill(t: &Template, fill: Fill) -> [Record; 2] {
        let taker = record([t[0], pair(fill.price as u64, fill.number), with_qty(t[2], fill.qty), t[3]]);
        [taker, event(t, &fill.maker_event())]
    }

    #[inline(always)]
    pub(super) fn event(c: &Template, e: &OrderEvent) -> Record {
        let tail = u64::from(e.session) << TAIL_SESSION
            | (e.kind as u64) << TAIL_KIND
            | u64::from(e.side) << TAIL_SIDE
            | u64::from(e.flags) << TAIL_FLAGS;
        record([
            with_high(c[0], e.id),
            pair(e.price as u64, e.aux),
            with_qty(c[2], e.qty),
            select(c[3], pair(u64::MAX, TAIL_KEPT), pair(0, tail)),
        ])
    }

    /// The chunks of a command that the caller goes on to read field by field. Loaded as
    /// volatile so that the compiler keeps them to themselves: from plain loads it took the
    /// caller's later reads of the command's small fields (time in force, session, id) out of
    /// these registers through stack slots, a 16-byte store then a narrow load that waits for
    /// it (`perf annotate`: 3-6 % of the loop's samples on one such load), where a load from
    /// the command itself, in cache, does not wait. W3 2.2 % fewer instructions, and faster in
    /// 11 of 12 alternating pairs (`BENCHMARKS.md`, issue 3, twenty-first session).
    #[inline(always)]
    fn command_chunks(cmd: &Record) -> Template {
        // SAFETY: `cmd` is a valid, readable record, 64-byte aligned; its 64 bytes are four
        // 16-byte chunks (`Template` is `[__m128i; 4]`, 16-byte aligned), and any bytes are
        // valid chunks.
        unsafe { core::ptr::read_volatile((cmd as *const Record).cast::<Template>()) }
    }

    #[inline(always)]
    pub(super) fn reply(cmd: &Record, kind: Kind, aux: u64) -> Record {
        let c = command_chunks(cmd);
        let tail = select(c[3], pair(u64::MAX, !(0xff << TAIL_KIND)), pair(0, (kind as u64) << TAIL_KIND));
        record([c[0], with_high(c[1], aux), c[2], tail])
    }

    #[inline(always)]
    pub(super) fn book_change(b: BookChange) -> Record {
        let tail = u64::from(b.instrument)
            | (Kind::BookChange as u64) << TAIL_KIND
            | u64::from(b.side) << TAIL_SIDE
            | u64::from(b.flags) << TAIL_FLAGS;
        record([pair(0, 0), pair(b.price as u64, b.count), pair(b.ts, u64::from(b.qty)), pair(0, tail)])
    }
}

/// The same records built field by field: the build on other targets, and the reference the
/// tests hold the chunked build to.
#[cfg_attr(target_arch = "x86_64", allow(dead_code, reason = "the tests' reference on x86-64"))]
mod portable {
    use super::{BookChange, Fill, Kind, OrderEvent, Record};

    pub(super) type Template = Record;

    #[inline(always)]
    pub(super) fn template(r: &Record) -> Template {
        *r
    }

    #[inline(always)]
    pub(super) fn fill(template: &Record, fill: Fill) -> [Record; 2] {
        let mut taker = *template;
        taker.price = fill.price;
        taker.qty = fill.qty;
        taker.aux = fill.number;
        [taker, event(template, &fill.maker_event())]
    }

    #[inline(always)]
    pub(super) fn event(cause: &Record, e: &OrderEvent) -> Record {
        let mut r = *cause;
        r.kind = e.kind as u8;
        r.order_id = e.id;
        r.session = e.session;
        r.side = e.side;
        r.price = e.price;
        r.qty = e.qty;
        r.aux = e.aux;
        r.flags = e.flags;
        r
    }

    #[inline(always)]
    pub(super) fn reply(cmd: &Record, kind: Kind, aux: u64) -> Record {
        let mut r = *cmd;
        r.kind = kind as u8;
        r.aux = aux;
        r
    }

    #[inline(always)]
    pub(super) fn book_change(b: BookChange) -> Record {
        let mut r = Record::new(Kind::BookChange);
        r.instrument = b.instrument;
        r.side = b.side;
        r.price = b.price;
        r.ts_event = b.ts;
        r.qty = b.qty;
        r.aux = b.count;
        r.flags = b.flags;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use zerocopy::FromBytes;

    fn any_record() -> impl Strategy<Value = Record> {
        proptest::collection::vec(any::<u8>(), 64).prop_map(|b| Record::read_from_bytes(&b).expect("64 bytes"))
    }

    proptest! {
        /// Every byte of every output, appended to a vector that has to grow for it, is what
        /// the field-by-field build gives, whatever the other fields of the cause hold.
        #[test]
        fn chunked_records_match_the_field_by_field_build(
            cause in any_record(),
            price in any::<i64>(), qty in any::<u32>(), aux in any::<u64>(),
            id in any::<u64>(), session in any::<u16>(), side in any::<u8>(),
            instrument in any::<u16>(), flags in any::<u8>(), ts in any::<u64>(),
            kind in prop::sample::select(vec![Kind::Accepted, Kind::Rejected, Kind::Canceled, Kind::Fill]),
            (taker_id, taker_session, taker_side) in (any::<u64>(), any::<u16>(), any::<u8>()),
        ) {
            let fill = Fill { price, qty, number: aux, maker_id: id, maker_session: session, maker_side: side };
            let event = OrderEvent { kind, id, session, side, price, qty, aux, flags };
            let change = BookChange { instrument, side, price, ts, qty, count: aux, flags };
            let mut taker = cause;
            (taker.kind, taker.order_id, taker.session, taker.side, taker.flags) =
                (Kind::Fill as u8, taker_id, taker_session, taker_side, 0);
            let mut expected = portable::fill(&taker, fill).to_vec();
            expected.push(portable::reply(&cause, kind, aux));
            expected.push(portable::event(&cause, &event));
            expected.push(portable::book_change(change));

            let mut out = Vec::new();
            FillPair::new(&cause, taker_id, taker_session, taker_side).push(&mut out, fill);
            push_reply(&mut out, &cause, kind, aux);
            push_order_event(&mut out, &cause, event);
            push_book_change(&mut out, change);
            prop_assert_eq!(out, expected);
        }
    }

    #[test]
    fn appends_keep_what_came_before_through_every_growth() {
        let mut out = Vec::with_capacity(1);
        let mut cause = Record::new(Kind::NewOrder);
        for i in 0..1_000u64 {
            cause.order_id = i;
            push_reply(&mut out, &cause, Kind::Accepted, i * 3);
        }
        assert_eq!(out.len(), 1_000);
        assert!(out
            .iter()
            .enumerate()
            .all(|(i, r)| r.order_id == i as u64 && r.aux == i as u64 * 3 && r.kind == Kind::Accepted as u8));
    }
}
