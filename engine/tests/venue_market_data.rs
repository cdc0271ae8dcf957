//! The venue's market data mirrors its book: random order-entry flows (limit, IOC, market,
//! cancels, partial cancels, replaces, self-trade prevention, several accounts and instruments)
//! go through the matching engine; its outputs go through `MarketData` to ITCH 5.0 bytes
//! (`itch_out`), are decoded again, and a book-building engine applies them. After every command
//! the mirror's levels (price, shares, orders) equal the venue's, on every instrument and side.

use proptest::prelude::*;
use tickforge_engine::gateway::market_data::MarketData;
use tickforge_engine::{Engine, EngineConfig, InstrumentConfig, StpMode};
use tickforge_feed::itch_out::Encoder;
use tickforge_wire::record::{FLAG_HIDDEN, FLAG_MARKET};
use tickforge_wire::{Kind, Record, Side, TimeInForce};

#[derive(Debug, Clone)]
enum Op {
    New { session: u16, inst: u16, buy: bool, price: i64, qty: u32, ioc: bool, market: bool },
    Cancel { pick: usize, leave: u32 },
    Replace { pick: usize, price: i64, qty: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (1u16..4, 0u16..2, any::<bool>(), 95i64..106, 1u32..300, prop::bool::weighted(0.15), prop::bool::weighted(0.05))
            .prop_map(|(session, inst, buy, price, qty, ioc, market)| Op::New { session, inst, buy, price, qty, ioc, market }),
        2 => (any::<usize>(), 0u32..100).prop_map(|(pick, leave)| Op::Cancel { pick, leave }),
        2 => (any::<usize>(), 95i64..106, 1u32..300).prop_map(|(pick, price, qty)| Op::Replace { pick, price, qty }),
    ]
}

/// One ITCH message back to a record, through the decoder a replay uses.
fn decode(bytes: &[u8]) -> Record {
    let m = tickforge_wire::itch::decode(bytes).expect("our own ITCH decodes");
    tickforge_feed::normalize::record(&m).expect("a book message")
}

fn check(ops: &[Op], hidden_every: Option<usize>) -> Result<(), TestCaseError> {
    let mut venue = Engine::new(EngineConfig { book_changes: false, ..EngineConfig::default() });
    let mut mirror = Engine::new(EngineConfig::default());
    for i in 0..2 {
        venue.add_instrument(i, InstrumentConfig { tick: 1, ..InstrumentConfig::default() });
    }
    venue.set_stp(3, StpMode::CancelOldest);
    let encoder = Encoder::new(&["AAA", "BBB"]);
    let mut md = MarketData::default();
    let (mut out, mut sink) = (Vec::new(), Vec::new());
    let mut ids: Vec<(u64, u16)> = Vec::new();
    let mut next_id = 1;
    for (k, o) in ops.iter().enumerate() {
        let mut r;
        match *o {
            Op::New { session, inst, buy, price, qty, ioc, market } => {
                r = Record::new(Kind::NewOrder);
                (r.order_id, r.session, r.instrument, r.price, r.qty) = (next_id, session, inst, price * 100, qty);
                r.side = if buy { Side::Buy } else { Side::Sell } as u8;
                r.tif = if ioc { TimeInForce::Ioc } else { TimeInForce::Day } as u8;
                if market {
                    r.flags |= FLAG_MARKET;
                }
                if hidden_every.is_some_and(|h| k % h == 0) {
                    r.flags |= FLAG_HIDDEN;
                }
                ids.push((next_id, session));
                next_id += 1;
            }
            Op::Cancel { pick, leave } if !ids.is_empty() => {
                let (id, session) = ids[pick % ids.len()];
                r = Record::new(Kind::CancelOrder);
                (r.order_id, r.session, r.aux) = (id, session, u64::from(leave));
            }
            Op::Replace { pick, price, qty } if !ids.is_empty() => {
                let (id, session) = ids[pick % ids.len()];
                r = Record::new(Kind::ReplaceOrder);
                (r.order_id, r.session, r.aux, r.price, r.qty) = (id, session, next_id, price * 100, qty);
                ids.push((next_id, session));
                next_id += 1;
            }
            _ => continue,
        }
        r.ts_event = k as u64 * 1000 + 1;
        out.clear();
        venue.apply(&r, &mut out);
        let mut published = Vec::new();
        md.on_outputs(&out, |m| {
            encoder
                .encode(m, |bytes| published.push(decode(bytes)))
                .expect("every market-data record has an ITCH message");
        });
        for m in &published {
            mirror.apply(m, &mut sink);
        }
        prop_assert_eq!(mirror.stats().unknown_refs, 0, "after op {}: {:?}", k, o);
        if hidden_every.is_none() {
            for inst in 0..2 {
                for side in [Side::Buy, Side::Sell] {
                    prop_assert_eq!(
                        mirror.depth(inst, side, 100),
                        venue.depth(inst, side, 100),
                        "instrument {} {:?} after op {}: {:?}",
                        inst,
                        side,
                        k,
                        o
                    );
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_published_book_equals_the_venues(ops in prop::collection::vec(op(), 1..200)) {
        check(&ops, None)?;
    }

    /// With hidden orders, the mirror never meets a reference it does not know.
    #[test]
    fn hidden_orders_never_leak_references(ops in prop::collection::vec(op(), 1..200)) {
        check(&ops, Some(3))?;
    }
}
