//! tickforge's side of the order-book peer comparison (the peers live in the bench itself).

use crate::workloads::{EndState, Op};
use std::time::{Duration, Instant};
use tickforge_engine::{Engine, EngineConfig, InstrumentConfig};
use tickforge_wire::record::{FLAG_MAKER, FLAG_MARKET};
use tickforge_wire::{Kind, Record, Side, TimeInForce};

/// The command record for an operation (built before timing starts).
pub fn command(op: &Op) -> Record {
    let mut r = Record::new(Kind::NewOrder);
    r.session = 1;
    r.tif = TimeInForce::Gtc as u8;
    match *op {
        Op::Limit { id, buy, price, qty } => {
            r.order_id = id;
            r.side = if buy { Side::Buy as u8 } else { Side::Sell as u8 };
            r.price = price as i64;
            r.qty = qty as u32;
        }
        Op::Cancel { id } => {
            r.kind = Kind::CancelOrder as u8;
            r.order_id = id;
        }
        Op::Market { id, buy, qty } => {
            r.order_id = id;
            r.side = if buy { Side::Buy as u8 } else { Side::Sell as u8 };
            r.qty = qty as u32;
            r.flags = FLAG_MARKET;
            r.tif = TimeInForce::Ioc as u8;
        }
    }
    r
}

/// A fresh engine sized for `ops` operations.
pub fn fresh_engine(ops: usize, book_changes: bool) -> Engine {
    // The default capacity (2^20 live orders) holds every workload; the pools grow if not.
    let max_orders = std::env::var("TF_MAX_ORDERS").ok().and_then(|v| v.parse().ok()).unwrap_or(ops + 16);
    let mut e = Engine::new(EngineConfig { book_changes, max_orders, ..EngineConfig::default() });
    e.add_instrument(0, InstrumentConfig { max_qty: u32::MAX, ..InstrumentConfig::default() });
    e
}

/// Runs the commands through a fresh engine; returns the time of the loop alone and the end state.
pub fn run(commands: &[Record], book_changes: bool) -> (Duration, EndState) {
    let mut e = fresh_engine(commands.len(), book_changes);
    let mut out = Vec::with_capacity(4096);
    let mut s = EndState { trades: Some(0), traded_notional: Some(0), ..EndState::default() };
    let (mut trades, mut notional) = (0u64, 0u128);
    let start = Instant::now();
    for c in commands {
        out.clear();
        e.apply(c, &mut out);
        for r in &out {
            if r.kind == Kind::Fill as u8 && r.flags & FLAG_MAKER != 0 {
                trades += 1;
                s.traded_qty += u64::from(r.qty);
                notional += r.price as u128 * u128::from(r.qty);
            }
        }
    }
    let elapsed = start.elapsed();
    s.trades = Some(trades);
    s.traded_notional = Some(notional);
    let top = e.top_of_book(0);
    s.best_bid = top.bid.map(|l| l.price as u64);
    s.best_ask = top.ask.map(|l| l.price as u64);
    s.bid_qty = e.depth(0, Side::Buy, usize::MAX).iter().map(|l| l.qty).sum();
    s.ask_qty = e.depth(0, Side::Sell, usize::MAX).iter().map(|l| l.qty).sum();
    (elapsed, s)
}
