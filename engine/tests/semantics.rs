//! The matching rules, one scenario each, written from the rules (not from the model).

use tickforge_engine::{Engine, EngineConfig, InstrumentConfig, StpMode};
use tickforge_wire::record::{FLAG_MAKER, FLAG_MARKET, FLAG_POST_ONLY};
use tickforge_wire::{CancelReason, Kind, Record, RejectReason, Side, TimeInForce};

fn engine() -> Engine {
    engine_with(1024, InstrumentConfig { tick: 100, ..InstrumentConfig::default() })
}

/// An engine whose pools hold `max_orders` orders and may not grow, with instrument 1.
fn engine_with(max_orders: usize, instrument: InstrumentConfig) -> Engine {
    let mut e = Engine::new(EngineConfig {
        max_orders,
        max_levels: 256,
        grow: false,
        book_changes: true,
        ..EngineConfig::default()
    });
    e.add_instrument(1, instrument);
    e
}

fn order(id: u64, session: u16, side: Side, price: i64, qty: u32) -> Record {
    let mut r = Record::new(Kind::NewOrder);
    r.order_id = id;
    r.session = session;
    r.instrument = 1;
    r.side = side as u8;
    r.price = price;
    r.qty = qty;
    r.tif = TimeInForce::Gtc as u8;
    r
}

fn apply(e: &mut Engine, r: Record) -> Vec<Record> {
    let mut out = Vec::new();
    e.apply(&r, &mut out);
    e.check_invariants().unwrap();
    out.retain(|r| r.kind != Kind::BookChange as u8);
    out
}

fn fills(out: &[Record]) -> Vec<(u64, u32, i64, bool)> {
    out.iter()
        .filter(|r| r.kind == Kind::Fill as u8)
        .map(|r| (r.order_id, r.qty, r.price, r.flags & FLAG_MAKER != 0))
        .collect()
}

fn ids(e: &Engine, side: Side) -> Vec<(u64, u32, u32)> {
    e.orders(1, side).iter().map(|o| (o.id, o.visible, o.hidden)).collect()
}

#[test]
fn price_then_time_priority_and_trades_at_the_resting_price() {
    let mut e = engine();
    apply(&mut e, order(1, 1, Side::Buy, 10_000, 5));
    apply(&mut e, order(2, 2, Side::Buy, 10_100, 5));
    apply(&mut e, order(3, 3, Side::Buy, 10_100, 5));
    let out = apply(&mut e, order(4, 4, Side::Sell, 9_900, 12));
    assert_eq!(
        fills(&out),
        vec![
            (4, 5, 10_100, false),
            (2, 5, 10_100, true),
            (4, 5, 10_100, false),
            (3, 5, 10_100, true),
            (4, 2, 10_000, false),
            (1, 2, 10_000, true)
        ]
    );
    assert_eq!(ids(&e, Side::Buy), vec![(1, 3, 0)]);
    let matches: Vec<u64> = out.iter().filter(|r| r.kind == Kind::Fill as u8).map(|r| r.aux).collect();
    assert_eq!(matches, vec![1, 1, 2, 2, 3, 3]);
}

#[test]
fn reserve_orders_show_their_display_size_and_lose_priority_on_refresh() {
    let mut e = engine();
    let mut ice = order(1, 1, Side::Sell, 10_000, 30);
    ice.aux = 10; // display 10
    apply(&mut e, ice);
    apply(&mut e, order(2, 2, Side::Sell, 10_000, 5));
    assert_eq!(ids(&e, Side::Sell), vec![(1, 10, 20), (2, 5, 0)]);
    assert_eq!(e.top_of_book(1).ask.unwrap().qty, 15, "only the shown part counts in the level");
    let out = apply(&mut e, order(3, 3, Side::Buy, 10_000, 12));
    // 10 from the iceberg's shown part, then it refreshes behind order 2, which gives 2.
    assert_eq!(
        fills(&out),
        vec![(3, 10, 10_000, false), (1, 10, 10_000, true), (3, 2, 10_000, false), (2, 2, 10_000, true)]
    );
    assert_eq!(ids(&e, Side::Sell), vec![(2, 3, 0), (1, 10, 10)]);
}

#[test]
fn replace_keeps_priority_only_when_it_only_lowers_the_quantity() {
    let mut e = engine();
    apply(&mut e, order(1, 1, Side::Buy, 10_000, 10));
    apply(&mut e, order(2, 2, Side::Buy, 10_000, 10));
    let mut rep = Record::new(Kind::ReplaceOrder);
    rep.order_id = 1;
    rep.session = 1;
    rep.price = 10_000;
    rep.qty = 4;
    let out = apply(&mut e, rep);
    assert_eq!(out[0].kind, Kind::Replaced as u8);
    assert_eq!(ids(&e, Side::Buy), vec![(1, 4, 0), (2, 10, 0)], "decrease keeps the place");
    rep.qty = 6;
    apply(&mut e, rep);
    assert_eq!(ids(&e, Side::Buy), vec![(2, 10, 0), (1, 6, 0)], "increase loses it");
    rep.order_id = 2;
    rep.session = 2;
    rep.aux = 7; // new id
    rep.price = 10_100;
    rep.qty = 10;
    apply(&mut e, rep);
    assert_eq!(ids(&e, Side::Buy), vec![(7, 10, 0), (1, 6, 0)], "price change re-enters with the new id");
    rep.session = 1; // not the owner's session
    rep.order_id = 7;
    let out = apply(&mut e, rep);
    assert_eq!((out[0].kind, out[0].aux), (Kind::Rejected as u8, RejectReason::UnknownOrder as u64));
}

#[test]
fn each_self_trade_prevention_mode() {
    let cases = [
        (StpMode::CancelNewest, vec![(1, 10, 0)], 0u32),
        (StpMode::CancelOldest, vec![], 6),
        (StpMode::CancelBoth, vec![], 0),
        (StpMode::Decrement, vec![(1, 4, 0)], 0),
    ];
    for (mode, resting_after, rests) in cases {
        let mut e = engine();
        e.set_stp(1, mode);
        apply(&mut e, order(1, 1, Side::Sell, 10_000, 10));
        let out = apply(&mut e, order(2, 1, Side::Buy, 10_000, 6));
        assert!(fills(&out).is_empty(), "{mode:?}: no self trade");
        assert!(
            out.iter().any(|r| r.kind == Kind::Canceled as u8 && r.aux >> 32 == CancelReason::SelfTrade as u64),
            "{mode:?}"
        );
        assert_eq!(ids(&e, Side::Sell), resting_after, "{mode:?}");
        assert_eq!(ids(&e, Side::Buy).first().map_or(0, |o| o.1), rests, "{mode:?}");
    }
    // Off: the account trades with itself.
    let mut e = engine();
    apply(&mut e, order(1, 1, Side::Sell, 10_000, 10));
    assert_eq!(fills(&apply(&mut e, order(2, 1, Side::Buy, 10_000, 6))).len(), 2);
}

#[test]
fn immediate_orders_post_only_market_and_minimum_quantity() {
    let mut e = engine();
    apply(&mut e, order(1, 1, Side::Sell, 10_000, 10));
    let mut fok = order(2, 2, Side::Buy, 10_000, 11);
    fok.tif = TimeInForce::Fok as u8;
    assert_eq!(apply(&mut e, fok)[0].aux, RejectReason::CannotFill as u64);
    let mut ioc = order(3, 2, Side::Buy, 10_000, 11);
    ioc.tif = TimeInForce::Ioc as u8;
    let out = apply(&mut e, ioc);
    let last = out.last().unwrap();
    assert_eq!((last.kind, last.qty, last.aux >> 32), (Kind::Canceled as u8, 1, CancelReason::Immediate as u64));
    apply(&mut e, order(4, 1, Side::Sell, 10_100, 10));
    let mut po = order(5, 2, Side::Buy, 10_100, 1);
    po.flags = FLAG_POST_ONLY;
    assert_eq!(apply(&mut e, po)[0].aux, RejectReason::PostOnlyWouldCross as u64);
    let mut min = order(6, 2, Side::Buy, 10_100, 20);
    min.aux = 11 << 32;
    assert_eq!(apply(&mut e, min)[0].aux, RejectReason::CannotFill as u64);
    min.aux = 10 << 32;
    assert_eq!(fills(&apply(&mut e, min)).len(), 2, "10 executable: accepted and filled");
    let mut mkt = order(7, 2, Side::Buy, 0, 5);
    mkt.flags = FLAG_MARKET;
    let out = apply(&mut e, mkt);
    assert_eq!(out.iter().filter(|r| r.kind == Kind::Rejected as u8).count(), 1, "book is empty now");
    assert_eq!(out[0].aux, RejectReason::NoLiquidity as u64);
}

#[test]
fn halts_reject_new_orders_but_cancels_still_work() {
    let mut e = engine();
    apply(&mut e, order(1, 1, Side::Buy, 10_000, 10));
    let mut halt = Record::new(Kind::MdTradingStatus);
    halt.instrument = 1;
    halt.aux = u64::from(b'H');
    apply(&mut e, halt);
    assert_eq!(apply(&mut e, order(2, 1, Side::Buy, 10_000, 1))[0].aux, RejectReason::Halted as u64);
    let mut cancel = Record::new(Kind::CancelOrder);
    cancel.order_id = 1;
    cancel.session = 1;
    assert_eq!(apply(&mut e, cancel)[0].kind, Kind::Canceled as u8);
    assert_eq!(
        apply(&mut e, order(3, 1, Side::Buy, 10_050, 1))[0].aux,
        RejectReason::InvalidPrice as u64,
        "off the tick grid"
    );
}

#[test]
fn market_data_unknown_references_are_counted_not_fatal() {
    let mut e = Engine::new(EngineConfig::default());
    let mut out = Vec::new();
    let mut add = Record::new(Kind::MdAdd);
    add.order_id = 10;
    add.instrument = 3;
    add.side = Side::Buy as u8;
    add.price = 500;
    add.qty = 100;
    e.apply(&add, &mut out);
    let mut exec = Record::new(Kind::MdExecute);
    exec.order_id = 11; // unknown
    exec.qty = 5;
    e.apply(&exec, &mut out);
    exec.order_id = 10;
    exec.qty = 40;
    e.apply(&exec, &mut out);
    let mut rep = Record::new(Kind::MdReplace);
    rep.order_id = 10;
    rep.aux = 12;
    rep.price = 510;
    rep.qty = 70;
    e.apply(&rep, &mut out);
    assert_eq!(
        e.orders(3, Side::Buy).iter().map(|o| (o.id, o.price, o.visible)).collect::<Vec<_>>(),
        vec![(12, 510, 70)]
    );
    assert_eq!(e.stats().unknown_refs, 1);
    assert_eq!(e.stats().fills, 1);
    e.check_invariants().unwrap();
}

#[test]
fn the_state_hash_is_deterministic_and_sensitive() {
    let run = |last_qty: u32| {
        let mut e = engine();
        for i in 0..50u64 {
            let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
            apply(
                &mut e,
                order(i + 1, (i % 3) as u16 + 1, side, 10_000 + (i as i64 % 5) * 100 - 200, 3 + (i % 4) as u32),
            );
        }
        apply(&mut e, order(100, 1, Side::Buy, 9_000, last_qty));
        e.state_hash()
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}

#[test]
fn a_full_pool_rejects_plain_orders_until_a_slot_is_freed() {
    // An instrument with no instrument-level checks, where plain limit orders take the fast
    // path, and a pool that may not grow.
    let mut e = engine_with(4, InstrumentConfig::default());
    let mut accepted = 0u64;
    let mut rejected_at = None;
    for id in 1..=64u64 {
        let out = apply(&mut e, order(id, 1, Side::Buy, 100 + id as i64, 10));
        match out[0].kind {
            k if k == Kind::Accepted as u8 => accepted += 1,
            k if k == Kind::Rejected as u8 => {
                assert_eq!(out[0].aux, RejectReason::CapacityExceeded as u64, "{out:?}");
                rejected_at = Some(id);
                break;
            }
            k => panic!("unexpected output kind {k}: {out:?}"),
        }
    }
    let full_at = rejected_at.expect("a pool of 4 orders that may not grow never filled up");
    assert!(accepted >= 4, "only {accepted} orders fit");
    assert_eq!(e.order_count() as u64, accepted);
    // Freeing one slot (a cancel) makes room for exactly one more.
    let mut cancel = Record::new(Kind::CancelOrder);
    cancel.order_id = 1;
    cancel.session = 1;
    cancel.instrument = 1;
    assert_eq!(apply(&mut e, cancel)[0].kind, Kind::Canceled as u8);
    let out = apply(&mut e, order(full_at + 1, 1, Side::Buy, 50, 10));
    assert_eq!(out[0].kind, Kind::Accepted as u8, "{out:?}");
    let out = apply(&mut e, order(full_at + 2, 1, Side::Buy, 50, 10));
    assert_eq!((out[0].kind, out[0].aux), (Kind::Rejected as u8, RejectReason::CapacityExceeded as u64), "{out:?}");
}
