//! A realistic, deterministic ITCH 5.0 day: `tickforge capture generate`.
//!
//! # What it writes
//!
//! A Nasdaq BinaryFILE (`[u16 BE length][message]`) with: system events (start of messages,
//! system hours, market hours, and their ends), a stock directory entry and a trading action
//! per symbol, then the trading session: adds with and without MPID attribution, executions
//! (at the order's price, and now and then at another price), partial cancels, deletes,
//! replaces, non-displayed trades, a cross at the open and the close, and one halt and resume.
//!
//! # How the book stays consistent
//!
//! The generator keeps every symbol's book (price levels with FIFO queues) and only emits
//! events about live orders with the shares they have: executions take the oldest order at the
//! best price, cancels and deletes pick a live order, replaces keep side and stock. New orders
//! join at or behind the best price of their side (never crossing the other side), at
//! distances that fall off geometrically, around a mid price that follows a random walk with
//! the trades. So a replay finds no unknown references, and the same seed gives the same bytes.
//!
//! Timestamps run from 04:00 to 20:00 with market hours 09:30–16:00; orders arrive with
//! exponentially distributed gaps (a Poisson process) whose rate is set by the message count.

use std::collections::{BTreeMap, VecDeque};
use tickforge_wire::itch;
use tickforge_wire::zerocopy::byteorder::big_endian::{U16, U32, U64};
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::{binaryfile, Alpha, Timestamp48};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateConfig {
    /// Approximate number of messages (the session's book events; the fixed frame of system,
    /// directory and trading-action messages comes on top).
    pub messages: u64,
    /// Number of symbols.
    pub symbols: u16,
    /// Random seed: the same seed gives the same bytes.
    pub seed: u64,
}

const TICKERS: [&str; 24] = [
    "AAPL", "MSFT", "AMZN", "NVDA", "GOOGL", "META", "TSLA", "AVGO", "COST", "PEP", "ADBE", "CSCO", "NFLX", "AMD",
    "INTC", "QCOM", "TXN", "AMGN", "HON", "SBUX", "INTU", "ISRG", "MDLZ", "GILD",
];

#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
    /// Geometric: 0 with probability 1/2, 1 with 1/4, ...
    fn geometric(&mut self, cap: u64) -> u64 {
        u64::from(self.next().trailing_ones().min(cap as u32))
    }
    /// Exponential gap with the given mean (ns).
    fn exp_gap(&mut self, mean: f64) -> u64 {
        let u = ((self.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        (-u.ln() * mean) as u64
    }
}

#[derive(Debug, Clone, Copy)]
struct Live {
    locate: u16,
    buy: bool,
    price: u32,
    shares: u32,
}

#[derive(Debug, Default)]
struct Book {
    bids: BTreeMap<u32, VecDeque<u64>>,
    asks: BTreeMap<u32, VecDeque<u64>>,
    mid: u32,
}

impl Book {
    fn side(&mut self, buy: bool) -> &mut BTreeMap<u32, VecDeque<u64>> {
        if buy {
            &mut self.bids
        } else {
            &mut self.asks
        }
    }
    fn best(&self, buy: bool) -> Option<u32> {
        if buy {
            self.bids.keys().next_back().copied()
        } else {
            self.asks.keys().next().copied()
        }
    }
    fn remove(&mut self, id: u64, o: &Live) {
        let side = self.side(o.buy);
        if let Some(q) = side.get_mut(&o.price) {
            q.retain(|&x| x != id);
            if q.is_empty() {
                side.remove(&o.price);
            }
        }
    }
}

struct Gen {
    rng: Rng,
    out: Vec<u8>,
    books: Vec<Book>,
    live: BTreeMap<u64, Live>,
    ids: Vec<u64>,
    next_ref: u64,
    next_match: u64,
    now: u64,
    count: u64,
}

const TICK: u32 = 100; // $0.01 in Price(4)

/// Resting orders per symbol above which the generator removes more than it adds.
const LIVE_PER_SYMBOL: usize = 2_000;

impl Gen {
    fn push(&mut self, bytes: &[u8]) {
        binaryfile::write_frame(&mut self.out, bytes).expect("ITCH messages are short");
        self.count += 1;
    }

    fn stock(&self, locate: u16) -> [u8; 8] {
        let i = usize::from(locate - 1);
        let name = if i < TICKERS.len() { TICKERS[i].to_string() } else { format!("TF{i:04}") };
        Alpha::pad(&name)
    }

    fn system(&mut self, code: u8) {
        let m = itch::SystemEvent {
            message_type: b'S',
            stock_locate: U16::ZERO,
            tracking_number: U16::ZERO,
            timestamp: Timestamp48::new(self.now),
            event_code: code,
        };
        self.push(m.as_bytes());
    }

    fn trading(&mut self, locate: u16, state: u8) {
        let m = itch::StockTradingAction {
            message_type: b'H',
            stock_locate: U16::new(locate),
            tracking_number: U16::ZERO,
            timestamp: Timestamp48::new(self.now),
            stock: self.stock(locate),
            trading_state: state,
            reserved: b' ',
            reason_code: Alpha::pad(""),
        };
        self.push(m.as_bytes());
    }

    fn add(&mut self, locate: u16) {
        let buy = self.rng.chance(500);
        let book = &self.books[usize::from(locate - 1)];
        let (best_same, best_other) = (book.best(buy), book.best(!buy));
        let anchor = best_same.unwrap_or(if buy { book.mid - TICK } else { book.mid + TICK });
        let depth = self.rng.geometric(12) as u32 * TICK;
        let mut price = if buy { anchor.saturating_sub(depth) } else { anchor + depth };
        // Sometimes improve the spread by a tick, never crossing it.
        if self.rng.chance(150) {
            let better = if buy { anchor + TICK } else { anchor.saturating_sub(TICK) };
            let crosses = best_other.is_some_and(|o| if buy { better >= o } else { better <= o });
            if !crosses {
                price = better;
            }
        }
        let price = price.max(TICK);
        let shares = 100 * (1 + self.rng.geometric(6) as u32 * 2)
            + if self.rng.chance(100) { self.rng.below(99) as u32 } else { 0 };
        let id = self.next_ref;
        self.next_ref += 1 + self.rng.below(3);
        let ts = Timestamp48::new(self.now);
        let stock = self.stock(locate);
        let side = if buy { b'B' } else { b'S' };
        if self.rng.chance(80) {
            let m = itch::AddOrderMpid {
                message_type: b'F',
                stock_locate: U16::new(locate),
                tracking_number: U16::ZERO,
                timestamp: ts,
                order_reference_number: U64::new(id),
                buy_sell_indicator: side,
                shares: U32::new(shares),
                stock,
                price: U32::new(price),
                attribution: *b"TFMM",
            };
            self.push(m.as_bytes());
        } else {
            let m = itch::AddOrder {
                message_type: b'A',
                stock_locate: U16::new(locate),
                tracking_number: U16::ZERO,
                timestamp: ts,
                order_reference_number: U64::new(id),
                buy_sell_indicator: side,
                shares: U32::new(shares),
                stock,
                price: U32::new(price),
            };
            self.push(m.as_bytes());
        }
        self.books[usize::from(locate - 1)].side(buy).entry(price).or_default().push_back(id);
        self.live.insert(id, Live { locate, buy, price, shares });
        self.ids.push(id);
    }

    /// A live order id chosen uniformly (stale entries of dead orders are dropped lazily).
    fn pick(&mut self) -> Option<u64> {
        while !self.ids.is_empty() {
            let k = self.rng.below(self.ids.len() as u64) as usize;
            let id = self.ids[k];
            if self.live.contains_key(&id) {
                return Some(id);
            }
            self.ids.swap_remove(k);
        }
        None
    }

    fn header(&self, t: u8, locate: u16) -> (u8, U16, U16, Timestamp48) {
        (t, U16::new(locate), U16::ZERO, Timestamp48::new(self.now))
    }

    fn execute(&mut self, locate: u16) {
        // Take the oldest order at the best price of a random side.
        let buy = self.rng.chance(500);
        let book = &mut self.books[usize::from(locate - 1)];
        let Some(price) = book.best(buy) else { return };
        let Some(&id) = book.side(buy).get(&price).and_then(|q| q.front()) else { return };
        let o = self.live[&id];
        let exec = if self.rng.chance(600) { o.shares } else { (o.shares / 2).max(1) };
        self.next_match += 1;
        let (mt, sl, tn, ts) = self.header(b'E', locate);
        if self.rng.chance(50) {
            let m = itch::OrderExecutedWithPrice {
                message_type: b'C',
                stock_locate: sl,
                tracking_number: tn,
                timestamp: ts,
                order_reference_number: U64::new(id),
                executed_shares: U32::new(exec),
                match_number: U64::new(self.next_match),
                printable: if self.rng.chance(900) { b'Y' } else { b'N' },
                execution_price: U32::new(o.price + TICK / 2),
            };
            self.push(m.as_bytes());
        } else {
            let m = itch::OrderExecuted {
                message_type: mt,
                stock_locate: sl,
                tracking_number: tn,
                timestamp: ts,
                order_reference_number: U64::new(id),
                executed_shares: U32::new(exec),
                match_number: U64::new(self.next_match),
            };
            self.push(m.as_bytes());
        }
        self.reduce(id, exec);
        // The mid follows the trades.
        let book = &mut self.books[usize::from(locate - 1)];
        book.mid = if buy { price + TICK / 2 } else { price.saturating_sub(TICK / 2).max(TICK) };
    }

    fn reduce(&mut self, id: u64, shares: u32) {
        let o = self.live[&id];
        if shares >= o.shares {
            self.live.remove(&id);
            self.books[usize::from(o.locate - 1)].remove(id, &o);
        } else if let Some(l) = self.live.get_mut(&id) {
            l.shares -= shares;
        }
    }

    fn cancel_or_delete(&mut self) {
        let Some(id) = self.pick() else { return };
        let o = self.live[&id];
        if o.shares > 100 && self.rng.chance(250) {
            let (_, sl, tn, ts) = self.header(b'X', o.locate);
            let canceled =
                100 * (1 + self.rng.below(u64::from(o.shares / 100 - 1).max(1)) as u32).min(o.shares / 100 - 1).max(1);
            let m = itch::OrderCancel {
                message_type: b'X',
                stock_locate: sl,
                tracking_number: tn,
                timestamp: ts,
                order_reference_number: U64::new(id),
                canceled_shares: U32::new(canceled),
            };
            self.push(m.as_bytes());
            self.reduce(id, canceled);
        } else {
            let (_, sl, tn, ts) = self.header(b'D', o.locate);
            let m = itch::OrderDelete {
                message_type: b'D',
                stock_locate: sl,
                tracking_number: tn,
                timestamp: ts,
                order_reference_number: U64::new(id),
            };
            self.push(m.as_bytes());
            self.reduce(id, o.shares);
        }
    }

    fn replace(&mut self) {
        let Some(id) = self.pick() else { return };
        let o = self.live[&id];
        let book = &self.books[usize::from(o.locate - 1)];
        let other = book.best(!o.buy);
        // Move a tick away from the spread or back toward it, never crossing.
        let toward = self.rng.chance(500);
        let mut price = if o.buy == toward { o.price + TICK } else { o.price.saturating_sub(TICK).max(TICK) };
        if other.is_some_and(|p| if o.buy { price >= p } else { price <= p }) {
            price = o.price;
        }
        let shares = 100 * (1 + self.rng.geometric(5) as u32);
        let new_id = self.next_ref;
        self.next_ref += 1;
        let (_, sl, tn, ts) = self.header(b'U', o.locate);
        let m = itch::OrderReplace {
            message_type: b'U',
            stock_locate: sl,
            tracking_number: tn,
            timestamp: ts,
            original_order_reference_number: U64::new(id),
            new_order_reference_number: U64::new(new_id),
            shares: U32::new(shares),
            price: U32::new(price),
        };
        self.push(m.as_bytes());
        self.reduce(id, o.shares);
        self.books[usize::from(o.locate - 1)].side(o.buy).entry(price).or_default().push_back(new_id);
        self.live.insert(new_id, Live { price, shares, ..o });
        self.ids.push(new_id);
    }

    fn hidden_trade(&mut self, locate: u16) {
        let mid = self.books[usize::from(locate - 1)].mid;
        self.next_match += 1;
        let (_, sl, tn, ts) = self.header(b'P', locate);
        let m = itch::NonCrossTrade {
            message_type: b'P',
            stock_locate: sl,
            tracking_number: tn,
            timestamp: ts,
            order_reference_number: U64::ZERO,
            buy_sell_indicator: if self.rng.chance(500) { b'B' } else { b'S' },
            shares: U32::new(100 * (1 + self.rng.below(5) as u32)),
            stock: self.stock(locate),
            price: U32::new(mid),
            match_number: U64::new(self.next_match),
        };
        self.push(m.as_bytes());
    }

    fn cross(&mut self, locate: u16, cross_type: u8) {
        let mid = self.books[usize::from(locate - 1)].mid;
        self.next_match += 1;
        let (_, sl, tn, ts) = self.header(b'Q', locate);
        let m = itch::CrossTrade {
            message_type: b'Q',
            stock_locate: sl,
            tracking_number: tn,
            timestamp: ts,
            cross_shares: U64::new(10_000 + self.rng.below(90_000)),
            stock: self.stock(locate),
            cross_price: U32::new(mid),
            match_number: U64::new(self.next_match),
            cross_type,
        };
        self.push(m.as_bytes());
    }
}

const HOUR: u64 = 3_600_000_000_000;

/// Generates a capture's bytes.
pub fn generate(config: &GenerateConfig) -> Vec<u8> {
    let symbols = config.symbols.max(1);
    let mut g = Gen {
        rng: Rng(config.seed ^ 0x9E37_79B9_7F4A_7C15 | 1),
        out: Vec::with_capacity(config.messages as usize * 36 + 4096),
        books: (0..symbols).map(|_| Book::default()).collect(),
        live: BTreeMap::new(),
        ids: Vec::new(),
        next_ref: 1_000,
        next_match: 0,
        now: 4 * HOUR,
        count: 0,
    };
    for (i, b) in g.books.iter_mut().enumerate() {
        b.mid = (20 + (i as u32 * 37) % 480) * 10_000; // $20 to $500
    }
    // Start of day: system events O and S, then a directory entry and a trading action per
    // symbol, written by the same encoder that converts other formats to ITCH.
    let names: Vec<String> = (1..=symbols).map(|locate| Alpha::trim(&g.stock(locate)).to_string()).collect();
    let mut start = Vec::new();
    crate::itch_out::Encoder::new(&names).directory(g.now, |m| start.push(m.to_vec()));
    for m in start {
        g.push(&m);
    }
    g.now = 9 * HOUR + HOUR / 2;
    g.system(b'Q');
    for locate in 1..=symbols {
        g.cross(locate, b'O');
    }
    let session = (6 * HOUR + HOUR / 2) as f64;
    let mean_gap = session / config.messages.max(1) as f64;
    let halted = 1 + (g.rng.below(u64::from(symbols)) as u16);
    let halt_at = config.messages / 2;
    let mut n = 0u64;
    while n < config.messages {
        g.now += g.rng.exp_gap(mean_gap).max(1);
        let locate = 1 + g.rng.below(u64::from(symbols)) as u16;
        if n == halt_at {
            g.trading(halted, b'H');
        }
        if n == halt_at + config.messages / 50 {
            g.trading(halted, b'T');
        }
        let paused = n >= halt_at && n < halt_at + config.messages / 50 && locate == halted;
        let before = g.count;
        // Orders live and die around an equilibrium: above LIVE_PER_SYMBOL resting orders per
        // symbol, fewer adds than removals, so a long day keeps a realistic book size instead
        // of piling up orders nobody cancels.
        let adds = if g.live.len() > LIVE_PER_SYMBOL * usize::from(symbols) { 300 } else { 450 };
        match g.rng.below(1000) {
            _ if paused || g.live.len() < 200 => g.add(locate),
            k if k < adds => g.add(locate),
            k if k < 450 => g.cancel_or_delete(),
            450..=749 => g.cancel_or_delete(),
            750..=879 => g.execute(locate),
            880..=969 => g.replace(),
            _ => g.hidden_trade(locate),
        }
        n += g.count - before;
    }
    g.now = g.now.max(16 * HOUR);
    for locate in 1..=symbols {
        g.cross(locate, b'C');
    }
    g.system(b'M');
    g.now = g.now.max(20 * HOUR);
    g.system(b'E');
    g.system(b'C');
    g.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_every_message_decodes() {
        let c = GenerateConfig { messages: 20_000, symbols: 5, seed: 7 };
        let a = generate(&c);
        assert_eq!(a, generate(&c));
        assert_ne!(a, generate(&GenerateConfig { seed: 8, ..c }));
        let mut types = std::collections::BTreeSet::new();
        let mut last_ts = 0;
        for f in binaryfile::Reader::new(&a) {
            let m = itch::decode(f.unwrap().bytes).unwrap();
            assert!(m.timestamp() >= last_ts, "timestamps never go back");
            last_ts = m.timestamp();
            types.insert(m.message_type());
        }
        for t in *b"SRHAFECXDUPQ" {
            assert!(types.contains(&t), "type {} missing", t as char);
        }
    }
}
