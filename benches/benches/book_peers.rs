//! Order-book peer comparison: workloads W1, W2 and W3 of `shared/docs/performance.md` through
//! tickforge's engine and through `lobster` 0.7.0, `rust-order-book` 0.0.2 and `orderbook-rs`
//! 0.15.3 from crates.io, in the same process, on the same pre-generated streams, each run on a
//! fresh book (built before the timer starts).
//!
//! tickforge runs in three configurations, interleaved with the peers in the same rounds: as
//! `tickforge serve` runs its matching core, one command at a time (outputs: accepted,
//! rejected, a fill record for each side, canceled: what the peers return too); the same with
//! per-level book-change records on as well (the replay configuration; output the peers do not
//! produce); and the whole stream in memory through `Engine::apply_all`, which asks for each
//! group's order lookups a group early (the peers have no such call: each gets its commands
//! one at a time, as they are written to be used).
//!
//! Before any time is reported, every engine's end state (best bid and ask, resting quantity
//! per side, number of trades, traded shares and notional) must equal tickforge's; an engine
//! that disagrees is reported as such and gets no ratio. Runs are interleaved (round-robin) and
//! each figure is the median of the rounds, so machine noise hits all engines alike.
//!
//! A second table scales tickforge's figures to the machine of `shared/docs/performance.md`,
//! whose per-peer figures the absolute targets (W1 <= 100, W2 <= 60, W3 <= 25 ns/op)
//! were set beside: each figure times (a peer's figure in that document / the same peer's
//! figure in this run), once per agreeing peer. The peers do not slow down alike when the
//! machine does (memory-bound code suffers most), so the table gives the range and calls a
//! target met only when every peer's scale meets it. On a shared machine whose speed moves 2x
//! between runs, that compares like with like; an absolute figure from this run does not.
//!
//! `cargo bench -p tickforge-benches --bench book_peers` (env `ROUNDS`, default 5; `QUICK=1`
//! runs a tenth of W1 and W2). A workload shorter than a million operations gets more rounds,
//! so that each engine runs at least a million of its operations (W3: 140 rounds).

use std::time::{Duration, Instant};
use tickforge_benches::workloads::{self, EndState, Op};
use tickforge_benches::{contender, median, range};

type Runner = fn(&[Op]) -> (Duration, EndState);

/// The absolute targets, ns/op, for W1, W2 and W3.
const TARGETS: [f64; 3] = [100.0, 60.0, 25.0];

fn run_lobster(ops: &[Op]) -> (Duration, EndState) {
    use lobster::{OrderBook, OrderEvent, OrderType, Side};
    let mut book = OrderBook::new(ops.len() + 16, 16, false);
    let mut s = EndState { trades: Some(0), traded_notional: Some(0), ..EndState::default() };
    let note = |ev: &OrderEvent, s: &mut EndState| {
        if let OrderEvent::PartiallyFilled { fills, .. } | OrderEvent::Filled { fills, .. } = ev {
            for f in fills {
                *s.trades.get_or_insert(0) += 1;
                s.traded_qty += f.qty;
                *s.traded_notional.get_or_insert(0) += u128::from(f.price) * u128::from(f.qty);
            }
        }
    };
    let side = |buy: bool| if buy { Side::Bid } else { Side::Ask };
    let start = Instant::now();
    for op in ops {
        let ev = match *op {
            Op::Limit { id, buy, price, qty } => {
                book.execute(OrderType::Limit { id: u128::from(id), side: side(buy), qty, price })
            }
            Op::Cancel { id } => book.execute(OrderType::Cancel { id: u128::from(id) }),
            Op::Market { id, buy, qty } => book.execute(OrderType::Market { id: u128::from(id), side: side(buy), qty }),
        };
        note(&ev, &mut s);
    }
    let elapsed = start.elapsed();
    s.best_bid = book.max_bid();
    s.best_ask = book.min_ask();
    let d = book.depth(100_000);
    s.bid_qty = d.bids.iter().map(|l| l.qty).sum();
    s.ask_qty = d.asks.iter().map(|l| l.qty).sum();
    (elapsed, s)
}

fn run_rust_order_book(ops: &[Op]) -> (Duration, EndState) {
    use rust_order_book::{OrderBookBuilder, OrderId, Side};
    let mut book = OrderBookBuilder::new("W").build();
    // It numbers orders itself: remember its id for each of ours, for cancels.
    let mut their_id = vec![u64::MAX; ops.len() + 2];
    let mut s = EndState::default();
    let side = |buy: bool| if buy { Side::Buy } else { Side::Sell };
    let start = Instant::now();
    for op in ops {
        let report = match *op {
            Op::Limit { id, buy, price, qty } => {
                let r = book.limit_raw(side(buy), qty, price, None, None);
                if let Ok(r) = &r {
                    their_id[id as usize] = r.order_id.0;
                }
                r
            }
            Op::Cancel { id } => book.cancel(OrderId(their_id.get(id as usize).copied().unwrap_or(u64::MAX))),
            Op::Market { id, buy, qty } => {
                let r = book.market_raw(side(buy), qty);
                if let Ok(r) = &r {
                    their_id[id as usize] = r.order_id.0;
                }
                r
            }
        };
        // Its reports carry no per-fill prices (`fills` stays empty in 0.0.2), only the
        // executed quantity of the incoming order: trades and notional are not compared.
        // (A cancel's report repeats what the order had executed before: not counted again.)
        if let (Ok(r), false) = (report, matches!(op, Op::Cancel { .. })) {
            s.traded_qty += r.executed_qty.0;
        }
    }
    let elapsed = start.elapsed();
    s.best_bid = book.best_bid().map(|p| p.0);
    s.best_ask = book.best_ask().map(|p| p.0);
    let d = book.depth(None);
    s.bid_qty = d.bids.iter().map(|l| l.1 .0).sum();
    s.ask_qty = d.asks.iter().map(|l| l.1 .0).sum();
    (elapsed, s)
}

fn run_orderbook_rs(ops: &[Op]) -> (Duration, EndState) {
    use orderbook_rs::OrderBook;
    use pricelevel::{Id, Side, TimeInForce};
    let book: OrderBook<()> = OrderBook::new("W");
    let mut s = EndState { trades: Some(0), traded_notional: Some(0), ..EndState::default() };
    let side = |buy: bool| if buy { Side::Buy } else { Side::Sell };
    let note = |m: &pricelevel::MatchResult, s: &mut EndState| {
        for t in m.trades().as_vec() {
            *s.trades.get_or_insert(0) += 1;
            s.traded_qty += t.quantity().as_u64();
            *s.traded_notional.get_or_insert(0) += t.price().as_u128() * u128::from(t.quantity().as_u64());
        }
    };
    let start = Instant::now();
    for op in ops {
        match *op {
            Op::Limit { id, buy, price, qty } => {
                if let Ok((_, Some(tr))) = book.add_limit_order_with_result(
                    Id::from_u64(id),
                    u128::from(price),
                    qty,
                    side(buy),
                    TimeInForce::Gtc,
                    None,
                ) {
                    note(&tr.match_result, &mut s);
                }
            }
            Op::Cancel { id } => {
                let _ = book.cancel_order(Id::from_u64(id));
            }
            Op::Market { id, buy, qty } => {
                if let Ok(m) = book.submit_market_order(Id::from_u64(id), qty, side(buy)) {
                    note(&m, &mut s);
                }
            }
        }
    }
    let elapsed = start.elapsed();
    s.best_bid = book.best_bid().map(|p| p as u64);
    s.best_ask = book.best_ask().map(|p| p as u64);
    for o in book.get_all_orders() {
        let q = o.visible_quantity().as_u64();
        match o.side() {
            Side::Buy => s.bid_qty += q,
            Side::Sell => s.ask_qty += q,
        }
    }
    (elapsed, s)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run tiny then.
    let benching = std::env::args().any(|a| a == "--bench");
    let quick = std::env::var_os("QUICK").is_some() || !benching;
    let rounds: usize =
        std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(if benching { 5 } else { 1 });
    let scale = if quick { 10 } else { 1 };
    let mut workloads: Vec<(&str, Vec<Op>)> =
        vec![("W1 crossing", workloads::w1(2_000_000 / scale)), ("W2 cancel-heavy", workloads::w2(1_000_000 / scale))];
    match tickforge_feed::shared::require("captures/quantcup/quantcup1_score_feed.csv", "W3") {
        Some(p) => workloads.push(("W3 QuantCup feed", workloads::w3(&std::fs::read_to_string(p).unwrap()).unwrap())),
        None => eprintln!("W3 skipped"),
    }
    let peers: [(&str, Runner); 3] = [
        ("lobster 0.7.0", run_lobster),
        ("rust-order-book 0.0.2", run_rust_order_book),
        ("orderbook-rs 0.15.3", run_orderbook_rs),
    ];
    // Each peer's figures in performance.md, for the scaled table (none without ../shared).
    let doc = tickforge_feed::shared::require("docs/performance.md", "the table scaled to performance.md's machine")
        .and_then(|p| std::fs::read_to_string(p).ok());
    let doc_ns: Vec<Option<[f64; 3]>> =
        peers.iter().map(|(name, _)| doc.as_deref().and_then(|d| workloads::reference_ns(d, name))).collect();
    for ((name, _), r) in peers.iter().zip(&doc_ns) {
        if doc.is_some() && r.is_none() {
            eprintln!("performance.md has no figures for {name}: it is left out of the scaled table");
        }
    }
    // A short workload (W3: 35,759 operations, a few ms) is as long as one of this machine's
    // scheduling gaps, so a handful of rounds can put one in the median. Short workloads get
    // more rounds: each engine runs at least a million operations of it in all.
    let rounds_for = |ops: usize| rounds.max((rounds * 1_000_000).div_ceil(ops.max(1)).min(rounds * 200));
    let per_workload: Vec<String> = workloads
        .iter()
        .filter(|(_, ops)| rounds_for(ops.len()) != rounds)
        .map(|(name, ops)| format!("{}: {}", name.split(' ').next().unwrap_or(name), rounds_for(ops.len())))
        .collect();
    let extra = if per_workload.is_empty() { String::new() } else { format!(", {}", per_workload.join(", ")) };
    println!(
        "rounds per engine: {rounds}{extra} (median reported); ops include every limit, cancel and market order\n"
    );
    println!(
        "| workload | ops | tickforge ns/op | tickforge + book changes ns/op | tickforge apply_all ns/op | {} | \
         fastest peer / tickforge | fastest peer / tickforge + book changes | fastest peer / tickforge apply_all |",
        peers.map(|p| format!("{} ns/op", p.0)).join(" | ")
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut scaled_rows = Vec::new();
    for (w, (name, ops)) in workloads.iter().enumerate() {
        let commands: Vec<_> = ops.iter().map(contender::command).collect();
        let mut ours = Vec::new();
        let mut ours_with_book_changes = Vec::new();
        let mut ours_in_memory = Vec::new();
        let mut theirs: Vec<Vec<Duration>> = vec![Vec::new(); peers.len()];
        let (_, reference) = contender::run(&commands, contender::Mode::SERVE);
        let mut agree = [true; 3];
        for _ in 0..rounds_for(ops.len()) {
            let (t, s) = contender::run(&commands, contender::Mode::SERVE);
            assert_eq!(s, reference, "tickforge is not deterministic");
            assert!(s.trades.unwrap_or(0) > 0, "{name}: no trades; the workload is not exercising matching");
            ours.push(t);
            let (t, s) = contender::run(&commands, contender::Mode::REPLAY);
            assert_eq!(s, reference, "tickforge ends differently with book changes on");
            ours_with_book_changes.push(t);
            let (t, s) = contender::run(&commands, contender::Mode::IN_MEMORY);
            assert_eq!(s, reference, "tickforge ends differently through apply_all");
            ours_in_memory.push(t);
            for (k, (_, f)) in peers.iter().enumerate() {
                let (t, s) = f(ops);
                if !reference.agrees(&s) {
                    if agree[k] {
                        eprintln!(
                            "{name}: {} ends in a different state:\n  tickforge {reference:?}\n  {:<9} {s:?}",
                            peers[k].0, "peer"
                        );
                    }
                    agree[k] = false;
                }
                theirs[k].push(t);
            }
        }
        // ns/op of each run; their median is the median run's (the map keeps the order).
        let per_op =
            |runs: Vec<Duration>| median(runs.iter().map(|d| d.as_nanos() as f64 / ops.len() as f64).collect());
        let ours_ns = per_op(ours);
        let ours_bc_ns = per_op(ours_with_book_changes);
        let ours_all_ns = per_op(ours_in_memory);
        let mut cells = Vec::new();
        let mut fastest = f64::INFINITY;
        // Per agreeing peer: (performance.md's figure / this run's figure).
        let mut scales = Vec::new();
        for (k, t) in theirs.into_iter().enumerate() {
            let ns = per_op(t);
            if agree[k] {
                fastest = fastest.min(ns);
                if let Some(r) = doc_ns[k] {
                    scales.push((k, r[w] / ns));
                }
                cells.push(format!("{ns:.1}"));
            } else {
                cells.push(format!("{ns:.1} (different end state, no ratio)"));
            }
        }
        let ratio = |ns: f64| if fastest.is_finite() { format!("{:.1}x", fastest / ns) } else { "-".to_string() };
        println!(
            "| {name} | {} | {ours_ns:.1} | {ours_bc_ns:.1} | {ours_all_ns:.1} | {} | {} | {} | {} |",
            ops.len(),
            cells.join(" | "),
            ratio(ours_ns),
            ratio(ours_bc_ns),
            ratio(ours_all_ns)
        );
        // The reference figures are for the full workloads: no scaling for a `QUICK` run.
        if !scales.is_empty() && !quick {
            let target = TARGETS[w];
            let (low, high) = range(scales.iter().map(|&(_, x)| x));
            let cell = |ns: f64| {
                let verdict = if ns * high <= target {
                    "met"
                } else if ns * low <= target {
                    "met by some peers' scale"
                } else {
                    "not met"
                };
                format!("{:.1}-{:.1} ({verdict})", ns * low, ns * high)
            };
            let each: Vec<String> = scales.iter().map(|&(k, x)| format!("{} {x:.2}", peers[k].0)).collect();
            scaled_rows.push(format!(
                "| {name} | {} | {} | {} | {} | {target:.0} |",
                each.join(", "),
                cell(ours_ns),
                cell(ours_bc_ns),
                cell(ours_all_ns)
            ));
        }
    }
    if !scaled_rows.is_empty() {
        println!(
            "\nScaled to shared/docs/performance.md's machine: tickforge's ns/op times each agreeing \
             peer's (figure there / figure here); the range over the peers, and the target met only \
             if met by every peer's scale:\n"
        );
        println!("| workload | scale by peer | tickforge ns/op | + book changes | apply_all | target ns/op |");
        println!("|---|---|---|---|---|---|");
        for row in scaled_rows {
            println!("{row}");
        }
    }
}
