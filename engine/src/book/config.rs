//! The engine's settings and counters: [`EngineConfig`] (pool sizes, book building or
//! matching), per-instrument limits ([`InstrumentConfig`], [`PriceBand`], [`TradingStatus`]),
//! each account's self-trade prevention ([`StpMode`]), and [`Stats`].

/// Self-trade prevention mode of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StpMode {
    /// Orders of the same account trade with each other.
    #[default]
    Off,
    /// The incoming order's remainder is cancelled; the resting order stays.
    CancelNewest,
    /// The resting order is cancelled and the incoming order continues.
    CancelOldest,
    /// Both are cancelled.
    CancelBoth,
    /// The smaller quantity is taken off both orders without a trade.
    Decrement,
}

/// Trading state of an instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TradingStatus {
    /// Orders are accepted and match.
    #[default]
    Trading,
    /// New orders and replaces are rejected (`Halted`); cancels still work.
    Halted,
}

/// A band around the reference price (the last trade, or the configured initial price).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceBand {
    /// At most this many price units (1/10,000) away.
    Absolute(i64),
    /// At most this many basis points away.
    Bps(u32),
}

/// Per-instrument settings for the matching core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstrumentConfig {
    /// Price increment in 1/10,000 units (1 = $0.0001).
    pub tick: i64,
    /// Band around the reference price; `None` = no band.
    pub band: Option<PriceBand>,
    /// Reference price until the first trade (0 = none: no band until a trade).
    pub reference_price: i64,
    /// Largest quantity of one order.
    pub max_qty: u32,
    /// Largest notional of one order, in price units × shares (`None` = unlimited).
    pub max_notional: Option<u128>,
}

impl Default for InstrumentConfig {
    fn default() -> Self {
        InstrumentConfig { tick: 1, band: None, reference_price: 0, max_qty: 1_000_000_000, max_notional: None }
    }
}

/// Settings of an [`Engine`](crate::Engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// Live orders the pool and index hold without allocating.
    pub max_orders: usize,
    /// Price levels the level pool holds without allocating.
    pub max_levels: usize,
    /// Grow the pools when full (book building) instead of rejecting (matching).
    pub grow: bool,
    /// Emit `BookChange` records for every changed level.
    pub book_changes: bool,
    /// Order ids below this (rounded up to a multiple of 64) are indexed by a direct array (4
    /// bytes per id, touched lazily, and a bit per id saying whether the id is live); larger
    /// ids by a hash map. See `book/ids.rs`.
    pub dense_ids: usize,
    /// Fault in every page of the order and level pools and of the id index's array at
    /// construction (and of the order pool when it grows), so that no order of the day takes
    /// a page fault: the memory is resident from the start (`max_orders` × 48 bytes,
    /// `max_levels` × 32, `dense_ids` × 4.125: 116 MiB by default, and a default engine built
    /// with it adds 118 MiB to the process's VmRSS). Off by default, for the many small
    /// engines of tools and tests; `tickforge serve` turns it on. See `book/paging.rs`.
    pub prefault: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_orders: 1 << 20,
            max_levels: 1 << 16,
            grow: true,
            book_changes: true,
            dense_ids: 1 << 24,
            prefault: false,
        }
    }
}

/// Counters of what the engine did and what it could not do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records applied.
    pub records: u64,
    /// Orders accepted (matching mode).
    pub accepted: u64,
    /// Commands rejected.
    pub rejected: u64,
    /// Executions (one per match, counted once for both sides).
    pub fills: u64,
    /// Cancel outputs.
    pub canceled: u64,
    /// Market-data events naming an order the book does not hold.
    pub unknown_refs: u64,
    /// Market-data adds of an id that is already live (ignored).
    pub duplicate_adds: u64,
    /// Market-data executions or cancels of more shares than the order had.
    pub overfills: u64,
    /// Times a pool or the index had to grow.
    pub grows: u64,
    /// Records of a kind the engine does not apply.
    pub ignored: u64,
    /// Market-data adds lost because the pool was full and not allowed to grow.
    pub dropped: u64,
}
