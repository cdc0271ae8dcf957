//! Differential property test: random order flows through the engine and through the reference
//! model in `model/` must give identical outputs (every accepted, rejected, fill, cancel and
//! replace record, byte for byte) and identical final books. Book-change records, which the
//! model does not produce, are checked differently: replaying them into an L2 map must give
//! exactly the engine's (and the model's) final depth.

mod model;

use model::Model;
use proptest::prelude::*;
use std::collections::BTreeMap;
use tickforge_engine::{Engine, EngineConfig, InstrumentConfig, PriceBand, StpMode};
use tickforge_wire::record::{FLAG_MARKET, FLAG_POST_ONLY};
use tickforge_wire::{Kind, Record, Side, TimeInForce};

const INSTRUMENTS: u16 = 3;
/// The instrument with no instrument-level checks (tick 1, no band, no notional limit), where
/// plain limit orders take the engine's fast path.
const PLAIN: u16 = 2;

#[derive(Debug, Clone)]
enum Op {
    New { inst: u16, session: u16, side: bool, price: i64, qty: u32, tif: u8, kind: u8, display: u32, min_qty: u32 },
    Cancel { pick: usize, session_hint: bool, reduce_to: u32 },
    Replace { pick: usize, new_id: bool, price: i64, qty: u32 },
    Mass { session: u16, inst: u16, mode: u64 },
    Status { inst: u16, halt: bool },
    EndOfDay,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..INSTRUMENTS + 1, 1u16..5, any::<bool>(), 95i64..106, 0u32..40, 0u8..5, 0u8..10, 0u32..8, 0u32..6).prop_map(
            |(inst, session, side, price, qty, tif, kind, display, min_qty)| Op::New { inst, session, side, price, qty, tif, kind, display, min_qty }
        ),
        4 => (any::<usize>(), any::<bool>(), 0u32..5).prop_map(|(pick, session_hint, reduce_to)| Op::Cancel { pick, session_hint, reduce_to }),
        3 => (any::<usize>(), any::<bool>(), 95i64..106, 1u32..40).prop_map(|(pick, new_id, price, qty)| Op::Replace { pick, new_id, price, qty }),
        1 => (1u16..5, 0..INSTRUMENTS, 0u64..4).prop_map(|(session, inst, mode)| Op::Mass { session, inst, mode }),
        1 => (0..INSTRUMENTS, prop::bool::weighted(0.6)).prop_map(|(inst, halt)| Op::Status { inst, halt }),
        1 => Just(Op::EndOfDay),
    ]
}

fn stp_mode(k: u8) -> StpMode {
    match k % 5 {
        0 => StpMode::Off,
        1 => StpMode::CancelNewest,
        2 => StpMode::CancelOldest,
        3 => StpMode::CancelBoth,
        _ => StpMode::Decrement,
    }
}

fn config(i: u16) -> InstrumentConfig {
    if i == 0 {
        InstrumentConfig {
            tick: 1,
            band: Some(PriceBand::Absolute(14)),
            reference_price: 200,
            max_qty: 35,
            max_notional: Some(6_000),
        }
    } else if i == PLAIN {
        InstrumentConfig { tick: 1, band: None, reference_price: 0, max_qty: 30, max_notional: None }
    } else {
        InstrumentConfig {
            tick: 2,
            band: Some(PriceBand::Bps(500)),
            reference_price: 0,
            max_qty: 1_000,
            max_notional: None,
        }
    }
}

/// Replays book changes into an L2 map: (instrument, side, price) -> (qty, orders).
fn apply_book_changes(l2: &mut BTreeMap<(u16, u8, i64), (u64, u32)>, out: &[Record]) {
    for r in out.iter().filter(|r| r.kind == Kind::BookChange as u8) {
        if r.qty == 0 && r.aux == 0 {
            l2.remove(&(r.instrument, r.side, r.price));
        } else {
            l2.insert((r.instrument, r.side, r.price), (u64::from(r.qty), r.aux as u32));
        }
    }
}

/// One of the 24 most recent ids (most of them still live), or an unknown one.
fn recent(ids: &[(u64, u16)], pick: usize) -> (u64, u16) {
    if ids.is_empty() || pick % 25 == 24 {
        return (999_999, 1);
    }
    ids[ids.len() - 1 - pick % ids.len().min(24)]
}

/// The engine every case starts from.
fn fresh_engine(stp: [u8; 5]) -> Engine {
    let mut engine = Engine::new(EngineConfig {
        max_orders: 64,
        max_levels: 64,
        grow: true,
        book_changes: true,
        ..EngineConfig::default()
    });
    for i in 0..INSTRUMENTS {
        engine.add_instrument(i, config(i));
    }
    for s in 1..5u16 {
        engine.set_stp(s, stp_mode(stp[s as usize]));
    }
    engine
}

fn run(stp: [u8; 5], ops: Vec<Op>) -> Result<Coverage, TestCaseError> {
    let mut engine = fresh_engine(stp);
    let mut model = Model::default();
    for i in 0..INSTRUMENTS {
        model.add_instrument(i, config(i));
    }
    for s in 1..5u16 {
        model.stp.insert(s, stp_mode(stp[s as usize]));
    }
    // Every input (`None`: an end of day at that time) and every output, to run the case
    // again through `apply_all` at the end.
    let (mut script, mut outputs): (Vec<(u64, Option<Record>)>, Vec<Record>) = (Vec::new(), Vec::new());
    let mut ids: Vec<(u64, u16)> = Vec::new();
    let mut next_id = 1u64;
    let mut l2 = BTreeMap::new();
    let mut cov = Coverage::default();
    for (step, op) in ops.into_iter().enumerate() {
        let ts = 34_200_000_000_000 + step as u64;
        let mut rec = Record::new(Kind::NewOrder);
        rec.ts_event = ts;
        rec.seq = step as u64 + 1;
        let mut eod = false;
        match op {
            Op::New { inst, session, side, price, qty, tif, kind, display, min_qty } => {
                rec.instrument = inst;
                rec.session = session;
                rec.side = if side { Side::Buy as u8 } else { Side::Sell as u8 };
                rec.price = price * 2;
                rec.qty = qty;
                rec.tif = [TimeInForce::Day, TimeInForce::Gtc, TimeInForce::Ioc, TimeInForce::Fok, TimeInForce::Day]
                    [tif as usize] as u8;
                rec.flags = match kind {
                    0 => FLAG_MARKET,
                    1 => FLAG_POST_ONLY,
                    _ => 0,
                };
                let min_qty = if min_qty >= 4 { min_qty * 3 } else { 0 };
                rec.aux = u64::from(display) | u64::from(min_qty) << 32;
                // Now and then reuse a live id (duplicate) or send id 0 (malformed).
                rec.order_id = match (step % 37, ids.last()) {
                    (0, Some(&(id, _))) => id,
                    (18, _) => 0,
                    _ => {
                        next_id += 1;
                        next_id
                    }
                };
                ids.push((rec.order_id, session));
            }
            Op::Cancel { pick, session_hint, reduce_to } => {
                rec.kind = Kind::CancelOrder as u8;
                let (id, s) = recent(&ids, pick);
                rec.order_id = id;
                rec.session = if session_hint { s } else { s % 4 + 1 };
                rec.aux = u64::from(reduce_to);
            }
            Op::Replace { pick, new_id, price, qty } => {
                rec.kind = Kind::ReplaceOrder as u8;
                let (id, s) = recent(&ids, pick);
                rec.order_id = id;
                rec.session = s;
                rec.price = price * 2;
                rec.qty = qty;
                if new_id {
                    next_id += 1;
                    rec.aux = next_id;
                    ids.push((next_id, s));
                }
            }
            Op::Mass { session, inst, mode } => {
                rec.kind = Kind::MassCancel as u8;
                rec.session = session;
                rec.instrument = inst;
                rec.aux = mode;
            }
            Op::Status { inst, halt } => {
                rec.kind = Kind::MdTradingStatus as u8;
                rec.instrument = inst;
                rec.aux = u64::from(if halt { b'H' } else { b'T' });
            }
            Op::EndOfDay => eod = true,
        }
        let (mut got, mut want) = (Vec::new(), Vec::new());
        if eod {
            engine.end_of_day(ts, &mut got);
            model.end_of_day(ts, &mut want);
        } else {
            engine.apply(&rec, &mut got);
            model.apply(&rec, &mut want);
        }
        script.push((ts, (!eod).then_some(rec)));
        outputs.extend_from_slice(&got);
        if let Err(e) = engine.check_invariants() {
            prop_assert!(false, "step {} {:?}: {}", step, rec, e);
        }
        apply_book_changes(&mut l2, &got);
        let got_core: Vec<Record> = got.iter().copied().filter(|r| r.kind != Kind::BookChange as u8).collect();
        prop_assert_eq!(&got_core, &want, "step {} {:?}", step, rec);
        cov.note(&got_core);
        if !eod {
            cov.note_market(&rec, &got_core);
        }
        for i in 0..INSTRUMENTS {
            for side in [Side::Buy, Side::Sell] {
                let ours: Vec<_> =
                    engine.orders(i, side).iter().map(|o| (o.id, o.session, o.price, o.visible, o.hidden)).collect();
                prop_assert_eq!(ours, model.orders(i, side), "book {} {:?} after step {}", i, side, step);
            }
        }
    }
    // Book changes rebuild exactly the final depth.
    let mut depth = BTreeMap::new();
    for i in 0..INSTRUMENTS {
        for side in [Side::Buy, Side::Sell] {
            for l in engine.depth(i, side, usize::MAX) {
                depth.insert((i, side as u8, l.price), (l.qty, l.orders));
            }
        }
    }
    prop_assert_eq!(l2, depth);
    prop_assert_eq!(engine.match_number(), model.match_number);
    // The same inputs through `apply_all` (look-ahead), each run of records between two ends
    // of day as one slice: the same outputs, in the same order, and the same books.
    let mut again = fresh_engine(stp);
    let mut outputs_again = Vec::new();
    for run in script.split_inclusive(|(_, r)| r.is_none()) {
        let records: Vec<Record> = run.iter().filter_map(|(_, r)| *r).collect();
        again.apply_all(&records, &mut outputs_again, |_, _| {});
        if let Some((ts, None)) = run.last() {
            again.end_of_day(*ts, &mut outputs_again);
        }
    }
    if let Some(k) = (0..outputs.len().max(outputs_again.len())).find(|&k| outputs.get(k) != outputs_again.get(k)) {
        prop_assert!(
            false,
            "apply_all differs from apply at output {} of {}: {:?} against {:?}",
            k,
            outputs.len(),
            outputs_again.get(k),
            outputs.get(k)
        );
    }
    prop_assert_eq!(again.state_hash(), engine.state_hash());
    Ok(cov)
}

/// What a flow exercised: outputs by kind, reject reasons and cancel reasons seen.
#[derive(Debug, Default)]
struct Coverage {
    kinds: BTreeMap<u8, u64>,
    rejects: BTreeMap<u64, u64>,
    cancels: BTreeMap<u64, u64>,
    /// Day or GTC orders with no flags accepted on the plain instrument: the fast path's
    /// orders among them (those with no display or minimum quantity either).
    plain_accepted: u64,
    /// Fills on the plain instrument.
    plain_fills: u64,
    /// Market orders of the engine's fast path (on the plain instrument, no display or minimum
    /// quantity, not fill-or-kill) that traded, and those whose remainder was cancelled.
    plain_market_fills: u64,
    plain_market_remainders: u64,
}

impl Coverage {
    fn note(&mut self, out: &[Record]) {
        for r in out {
            *self.kinds.entry(r.kind).or_default() += 1;
            if r.instrument == PLAIN {
                let plain = r.flags == 0 && r.tif <= TimeInForce::Gtc as u8;
                self.plain_accepted += u64::from(r.kind == Kind::Accepted as u8 && plain);
                self.plain_fills += u64::from(r.kind == Kind::Fill as u8);
            }
            if r.kind == Kind::Rejected as u8 {
                *self.rejects.entry(r.aux).or_default() += 1;
            }
            if r.kind == Kind::Canceled as u8 {
                *self.cancels.entry(r.aux >> 32).or_default() += 1;
            }
        }
    }

    fn note_market(&mut self, cmd: &Record, out: &[Record]) {
        let plain_market = cmd.kind == Kind::NewOrder as u8
            && cmd.instrument == PLAIN
            && cmd.flags == FLAG_MARKET
            && cmd.aux == 0
            && cmd.tif <= TimeInForce::Ioc as u8;
        if plain_market && out.first().is_some_and(|r| r.kind == Kind::Accepted as u8) {
            self.plain_market_fills += u64::from(out.iter().any(|r| r.kind == Kind::Fill as u8));
            self.plain_market_remainders += u64::from(out.iter().any(|r| r.kind == Kind::Canceled as u8));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_the_reference_model(stp in any::<[u8; 5]>(), ops in proptest::collection::vec(op(), 1..150)) {
        run(stp, ops)?;
    }
}

/// A deterministic flow of `len` operations, picked by a simple LCG from `seed`: in every 20,
/// 13 new orders (made by `new`), 4 cancels, 2 replaces (new quantity 1 to `max_qty`) and a
/// status change (made by `status`).
fn lcg_flow(
    seed: u64,
    len: usize,
    max_qty: u64,
    new: impl Fn(&mut dyn FnMut() -> u64) -> Op,
    status: impl Fn(&mut dyn FnMut() -> u64) -> Op,
) -> Vec<Op> {
    let mut x = seed;
    let mut next = move || {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        x >> 33
    };
    (0..len)
        .map(|_| match next() % 20 {
            0..=12 => new(&mut next),
            13..=16 => {
                Op::Cancel { pick: next() as usize, session_hint: next() % 4 != 0, reduce_to: (next() % 5) as u32 }
            }
            17..=18 => Op::Replace {
                pick: next() as usize,
                new_id: next() % 2 == 0,
                price: 95 + (next() % 11) as i64,
                qty: 1 + (next() % max_qty) as u32,
            },
            _ => status(&mut next),
        })
        .collect()
}

#[test]
fn a_long_flow_matches_the_model() {
    // One long flow, deeper than the property cases, so levels build up and icebergs refresh
    // many times.
    let ops = lcg_flow(
        0x1234_5678,
        5_000,
        39,
        |next| Op::New {
            inst: (next() % 3) as u16,
            session: 1 + (next() % 4) as u16,
            side: next() % 2 == 0,
            price: 95 + (next() % 11) as i64,
            qty: (next() % 40) as u32,
            tif: (next() % 5) as u8,
            kind: (next() % 10) as u8,
            display: (next() % 8) as u32,
            min_qty: (next() % 6) as u32,
        },
        |next| Op::Status { inst: (next() % 3) as u16, halt: next() % 5 == 0 },
    );
    let cov = run([0, 1, 2, 3, 4], ops).unwrap();
    eprintln!("{cov:?}");
    // The flow must actually reach the interesting paths, or this test proves little.
    for kind in [Kind::Accepted, Kind::Rejected, Kind::Fill, Kind::Canceled, Kind::Replaced] {
        assert!(cov.kinds.get(&(kind as u8)).copied().unwrap_or(0) > 10, "{kind:?}: {cov:?}");
    }
    for reason in 0..=2u64 {
        assert!(cov.cancels.contains_key(&reason), "cancel reason {reason} never seen: {cov:?}");
    }
    assert!(cov.rejects.len() >= 8, "too few reject reasons: {cov:?}");
    assert!(cov.plain_accepted > 100 && cov.plain_fills > 100, "the fast path was hardly used: {cov:?}");
}

#[test]
fn a_market_heavy_flow_on_the_plain_instrument_matches_the_model() {
    // Limit and market orders (a third of them market, of every time in force) with neither
    // display nor minimum quantity on the plain instrument, where both take the engine's fast
    // paths, among cancels, replaces and the odd halt; every account's self-trade prevention
    // mode differs.
    let ops = lcg_flow(
        0x9e37_79b9,
        4_000,
        29,
        |next| Op::New {
            inst: PLAIN,
            session: 1 + (next() % 4) as u16,
            side: next() % 2 == 0,
            price: 95 + (next() % 11) as i64,
            qty: 1 + (next() % 29) as u32,
            tif: (next() % 5) as u8,
            kind: if next() % 3 == 0 { 0 } else { 2 },
            display: 0,
            min_qty: 0,
        },
        |next| Op::Status { inst: PLAIN, halt: next() % 8 == 0 },
    );
    let cov = run([0, 1, 2, 3, 4], ops).unwrap();
    eprintln!("{cov:?}");
    assert!(
        cov.plain_market_fills > 200 && cov.plain_market_remainders > 50,
        "the market orders' fast path was hardly used: {cov:?}"
    );
}
