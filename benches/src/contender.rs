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

/// A fresh engine sized for `commands`: room for every order they could leave resting, and
/// the id index's direct array just long enough for every id they name (at most the default;
/// `TF_MAX_ORDERS` and `TF_DENSE_IDS` override either).
///
/// The default direct array (2^24 ids, 64 MiB, sized for an exchange's day) is a fresh
/// mapping of its own in every run, each of its pages faulted in (zeroed by the kernel) by
/// the first id written to it: a start-up cost that a long-running engine pays once, but that
/// came to 5-8 % of a W3 run (1-5 % of W1 and W2; `BENCHMARKS.md`, sixteenth session). Sized
/// to the stream, the array comes from the allocator's heap, already mapped and warm, as the
/// peers' tables do.
///
/// The engine is built with `prefault` on, as `tickforge serve` builds it: every page of its
/// pools and index is faulted in at construction, outside the timed loop, instead of in the
/// loop the first time an order reaches it (W1, whose orders mostly rest, fills a
/// million-order pool; `BENCHMARKS.md`, twenty-second session). `TF_PREFAULT=0` turns it off.
pub fn fresh_engine(commands: &[Record], book_changes: bool) -> Engine {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
    let max_orders = env("TF_MAX_ORDERS").unwrap_or(commands.len() + 16);
    let largest_id = commands.iter().map(|c| c.order_id).max().unwrap_or(0);
    let default_dense = EngineConfig::default().dense_ids;
    let dense_ids = env("TF_DENSE_IDS")
        .unwrap_or(usize::try_from(largest_id).map_or(default_dense, |id| id.saturating_add(1).min(default_dense)));
    let prefault = env("TF_PREFAULT").unwrap_or(1) != 0;
    let config = EngineConfig { book_changes, max_orders, dense_ids, prefault, ..EngineConfig::default() };
    let mut e = Engine::new(config);
    e.add_instrument(0, InstrumentConfig { max_qty: u32::MAX, ..InstrumentConfig::default() });
    e
}

/// Totals of the fills the bench read from tickforge's outputs (the maker side of each).
struct Tally {
    trades: u64,
    qty: u64,
    notional: u128,
}

/// How tickforge is driven in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// Per-level book-change records on (the replay configuration) or off (as `tickforge
    /// serve` runs its matching core).
    pub book_changes: bool,
    /// The whole stream through [`Engine::apply_all`], which asks for each group's order
    /// lookups a group early, as a caller holding the stream in memory can; otherwise one
    /// [`Engine::apply`] per command.
    pub look_ahead: bool,
}

impl Mode {
    /// As `tickforge serve` runs its matching core: one command at a time, no book changes.
    pub const SERVE: Mode = Mode { book_changes: false, look_ahead: false };
    /// As a replay builds books: one record at a time, book changes on.
    pub const REPLAY: Mode = Mode { book_changes: true, look_ahead: false };
    /// The stream in memory through `apply_all`, no book changes.
    pub const IN_MEMORY: Mode = Mode { book_changes: false, look_ahead: true };
}

/// Runs the commands through a fresh engine; returns the time of the loop alone and the end state.
pub fn run(commands: &[Record], mode: Mode) -> (Duration, EndState) {
    if mode.look_ahead {
        run_all_with_look_ahead(commands, mode.book_changes)
    } else {
        run_one_at_a_time(commands, mode.book_changes)
    }
}

/// One [`Engine::apply`] per command, as the gateway applies each command as it arrives. Each
/// mode is a function of its own, so neither is laid out around the other, and this loop is
/// the one of earlier sessions unchanged: with the engine reached through a reference it ran
/// 3.9 % more instructions on W1 (2.9 % on W2), with the fills counted in a struct 5.4 % more.
#[inline(never)]
fn run_one_at_a_time(commands: &[Record], book_changes: bool) -> (Duration, EndState) {
    let mut e = fresh_engine(commands, book_changes);
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
    end_state(&e, elapsed, &Tally { trades, qty: s.traded_qty, notional })
}

/// The stream through [`Engine::apply_all`] (look-ahead over the stream in memory).
#[inline(never)]
fn run_all_with_look_ahead(commands: &[Record], book_changes: bool) -> (Duration, EndState) {
    let mut e = fresh_engine(commands, book_changes);
    let mut out = Vec::with_capacity(4096);
    let (mut trades, mut qty, mut notional) = (0u64, 0u64, 0u128);
    let start = Instant::now();
    e.apply_all(commands, &mut out, |_, out| {
        for r in out.iter() {
            if r.kind == Kind::Fill as u8 && r.flags & FLAG_MAKER != 0 {
                trades += 1;
                qty += u64::from(r.qty);
                notional += r.price as u128 * u128::from(r.qty);
            }
        }
        out.clear();
    });
    let elapsed = start.elapsed();
    end_state(&e, elapsed, &Tally { trades, qty, notional })
}

/// The time and the end state of a run.
fn end_state(e: &Engine, elapsed: Duration, tally: &Tally) -> (Duration, EndState) {
    let mut s = EndState {
        trades: Some(tally.trades),
        traded_notional: Some(tally.notional),
        traded_qty: tally.qty,
        ..EndState::default()
    };
    let top = e.top_of_book(0);
    s.best_bid = top.bid.map(|l| l.price as u64);
    s.best_ask = top.ask.map(|l| l.price as u64);
    s.bid_qty = e.depth(0, Side::Buy, usize::MAX).iter().map(|l| l.qty).sum();
    s.ask_qty = e.depth(0, Side::Sell, usize::MAX).iter().map(|l| l.qty).sum();
    (elapsed, s)
}
