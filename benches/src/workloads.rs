//! The standard order-book workloads of `shared/docs/performance.md`, pre-generated so every
//! engine runs exactly the same operations.
//!
//! - **W1**: 2M alternating buy/sell limit orders, buys at 1880–1889, sells at 1884–1893,
//!   quantity 100–1000 in hundreds (Liquibook's perf stream): crossing-heavy, most orders rest.
//! - **W2**: prefill 10k non-crossing orders (bids 900–999, asks 1001–1100), then 1M operations:
//!   70 % limit orders in [950, 1050], 20 % cancels of a random earlier id (some miss), 10 %
//!   market orders of 1–10.
//! - **W3**: the QuantCup 1 score feed (35,759 messages); a row with price 0 cancels the k-th
//!   limit order, k = qty.

/// One operation. Ids are 1-based and assigned in stream order to limit and market orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A limit order that rests if it does not fill.
    Limit {
        /// Order id.
        id: u64,
        /// Buy side?
        buy: bool,
        /// Price (integer ticks).
        price: u64,
        /// Quantity.
        qty: u64,
    },
    /// Cancel an earlier order (may already be gone, or never have existed).
    Cancel {
        /// Order id.
        id: u64,
    },
    /// A market order.
    Market {
        /// Order id.
        id: u64,
        /// Buy side?
        buy: bool,
        /// Quantity.
        qty: u64,
    },
}

/// xorshift64*, so the streams are the same on every machine and run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A value in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }
}

/// W1: `n` alternating limit orders (2,000,000 in the standard run).
pub fn w1(n: usize) -> Vec<Op> {
    let mut r = Rng::new(0x5EED_0001);
    (0..n as u64)
        .map(|i| {
            let buy = i % 2 == 0;
            let price = if buy { r.range(1880, 1890) } else { r.range(1884, 1894) };
            Op::Limit { id: i + 1, buy, price, qty: r.range(1, 11) * 100 }
        })
        .collect()
}

/// W2: a 10k-order prefill, then `n` mixed operations (1,000,000 in the standard run).
pub fn w2(n: usize) -> Vec<Op> {
    let mut r = Rng::new(0x5EED_0002);
    let mut ops = Vec::with_capacity(10_000 + n);
    let mut id = 0;
    for k in 0..10_000u64 {
        id += 1;
        let buy = k % 2 == 0;
        let price = if buy { r.range(900, 1000) } else { r.range(1001, 1101) };
        ops.push(Op::Limit { id, buy, price, qty: r.range(1, 101) });
    }
    for _ in 0..n {
        let pick = r.range(0, 100);
        if pick < 70 {
            id += 1;
            ops.push(Op::Limit { id, buy: r.next_u64() & 1 == 0, price: r.range(950, 1051), qty: r.range(1, 101) });
        } else if pick < 90 {
            // Some of these were filled or cancelled already; some never existed.
            ops.push(Op::Cancel { id: r.range(1, id + 1000) });
        } else {
            id += 1;
            ops.push(Op::Market { id, buy: r.next_u64() & 1 == 0, qty: r.range(1, 11) });
        }
    }
    ops
}

/// W3: the QuantCup score feed from its CSV text.
pub fn w3(csv: &str) -> Result<Vec<Op>, String> {
    let mut ops = Vec::new();
    let mut id = 0;
    for (i, line) in csv.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let bad = || format!("quantcup line {}: {line:?}", i + 1);
        if f.len() != 4 {
            return Err(bad());
        }
        let price: u64 = f[2].parse().map_err(|_| bad())?;
        let qty: u64 = f[3].parse().map_err(|_| bad())?;
        if price == 0 {
            ops.push(Op::Cancel { id: qty });
        } else {
            id += 1;
            ops.push(Op::Limit { id, buy: f[1] == "Bid", price, qty });
        }
    }
    Ok(ops)
}

/// How an engine ended a run: what the peer comparison checks before it reports a ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndState {
    /// Best bid price.
    pub best_bid: Option<u64>,
    /// Best ask price.
    pub best_ask: Option<u64>,
    /// Resting quantity on the bid side.
    pub bid_qty: u64,
    /// Resting quantity on the ask side.
    pub ask_qty: u64,
    /// Shares traded.
    pub traded_qty: u64,
    /// Sum of price × shares over all trades (`None`: the engine does not report trade prices).
    pub traded_notional: Option<u128>,
    /// Number of trades, one per maker order matched (`None`: not reported).
    pub trades: Option<u64>,
}

impl EndState {
    /// Whether `other` describes the same end state, comparing what both report.
    pub fn agrees(&self, other: &EndState) -> bool {
        let same = |a: Option<u128>, b: Option<u128>| a.is_none() || b.is_none() || a == b;
        self.best_bid == other.best_bid
            && self.best_ask == other.best_ask
            && self.bid_qty == other.bid_qty
            && self.ask_qty == other.ask_qty
            && self.traded_qty == other.traded_qty
            && same(self.traded_notional, other.traded_notional)
            && same(self.trades.map(u128::from), other.trades.map(u128::from))
    }
}

/// A peer's ns/op on W1, W2 and W3 as `shared/docs/performance.md` gives them (its table of
/// order books "measured on a machine like ours"): the row whose first cell starts with `peer`
/// followed by a space or the end of the cell. `None` if no row names the peer or a cell is not
/// a number (the "–" of an engine not measured there).
pub fn reference_ns(doc: &str, peer: &str) -> Option<[f64; 3]> {
    let row = doc.lines().find(|line| {
        let first = line.trim_start().strip_prefix('|').map(str::trim_start).unwrap_or("");
        first.strip_prefix(peer).is_some_and(|rest| rest.starts_with([' ', '|']))
    })?;
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    // ["", name, W1, W2, W3, ""]
    let mut ns = [0.0; 3];
    for (k, v) in ns.iter_mut().enumerate() {
        *v = cells.get(2 + k)?.parse().ok()?;
    }
    Some(ns)
}

#[cfg(test)]
mod tests {
    use super::reference_ns;

    #[test]
    fn reads_a_peer_row_of_the_reference_table() {
        let doc = "| engine | W1 crossing | W2 cancel-heavy | W3 QuantCup feed |\n\
                   |---|---|---|---|\n\
                   | QuantCup-1 winner (C, price array) | – | – | 15.9 |\n\
                   | lobster 0.7.01 (Rust) | 1 | 2 | 3 |\n\
                   | lobster 0.7.0 (Rust) | 343 | 360 | 106 |\n";
        assert_eq!(reference_ns(doc, "lobster 0.7.0"), Some([343.0, 360.0, 106.0]));
        assert_eq!(reference_ns(doc, "QuantCup-1 winner"), None, "a cell that is not a number");
        assert_eq!(reference_ns(doc, "orderbook-rs 0.15.3"), None, "no row");
        assert_eq!(reference_ns(doc, "lobster 0.7"), None, "a prefix of another name is not a match");
    }

    #[test]
    fn the_shared_document_has_every_peer_of_the_book_comparison() {
        let Some(path) = tickforge_feed::shared::require("docs/performance.md", "performance.md's peer figures") else {
            return;
        };
        let doc = std::fs::read_to_string(path).expect("readable");
        for peer in ["lobster 0.7.0", "rust-order-book 0.0.2", "orderbook-rs 0.15.3"] {
            let ns = reference_ns(&doc, peer).unwrap_or_else(|| panic!("no figures for {peer}"));
            assert!(ns.iter().all(|&v| v > 0.0), "{peer}: {ns:?}");
        }
        assert_eq!(reference_ns(&doc, "lobster 0.7.0"), Some([343.0, 360.0, 106.0]));
    }
}
