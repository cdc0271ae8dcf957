//! What a venue runs with: its accounts, instruments, session settings and the size of its
//! day ([`ServeConfig`]), as the venue file (`gateway/config.rs`) or the demo defaults give it.

use crate::book::settings::{instrument_records, stp_record};
use crate::gateway::matching::MatchingPlacement;
use crate::gateway::soup::SoupConfig;
use crate::gateway::venue_journal::DayHeader;
use crate::{InstrumentConfig, StpMode};
use std::net::SocketAddr;
use std::path::PathBuf;
use tickforge_wire::Record;

/// One account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Login name (SoupBinTCP: up to 6 characters).
    pub username: String,
    /// Password (up to 10 characters).
    pub password: String,
    /// Instruments it may trade (empty: all).
    pub instruments: Vec<String>,
    /// Self-trade prevention between its own orders.
    pub stp: StpMode,
    /// Per-session throttle, messages a second (`None`: unthrottled).
    pub max_messages_per_second: Option<u32>,
    /// Cancel the account's orders when its last session ends (a mass cancel).
    pub cancel_on_disconnect: bool,
}

/// What the server runs with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Accounts; account `i` is the engine's session `i + 1`.
    pub accounts: Vec<Account>,
    /// Instruments (symbol and limits); engine instrument `i`.
    pub instruments: Vec<(String, InstrumentConfig)>,
    /// SoupBinTCP session settings.
    pub soup: SoupConfig,
    /// The session name given at login.
    pub session_name: String,
    /// Journal directory (`None`: in memory only, nothing survives a restart).
    pub journal: Option<PathBuf>,
    /// The built-in demo venue (well-known passwords: loopback only).
    pub demo: bool,
    /// When the trading day ends, ns since midnight UTC (`None`: it does not end by itself).
    pub end_of_day: Option<u64>,
    /// Where to publish market data (ITCH 5.0 over MoldUDP64, unicast or multicast), with the
    /// retransmission server on the next port; `None`: no market data.
    pub market_data: Option<SocketAddr>,
    /// Where the market-data retransmission server listens (default: the data port + 1, on
    /// loopback if the data goes to loopback).
    pub market_data_rerequest: Option<SocketAddr>,
    /// Run the engine on its own (pinned) thread, or `None` on the event-loop thread. See
    /// [`crate::gateway::matching`]; [`MatchingPlacement::for_this_machine`] is the CLI's default.
    pub matching: Option<MatchingPlacement>,
    /// Orders (entries and replacements, all accounts) the day's tables hold before any of
    /// them grows: the token table is sized for them at start, since growing it rehashes the
    /// whole day's tokens on the event-loop thread (see [`crate::gateway::ouch::Translator::with_capacity`]).
    pub orders_per_day: usize,
}

/// [`ServeConfig::orders_per_day`] by default: 62 MiB of address space for the two tables
/// (the token table's 16 MiB of slots and 2 MiB of control bytes, which round up to room for
/// 1,835,008 tokens, and 44 MiB of order records), of which only the control bytes are
/// touched at start.
pub const DEFAULT_ORDERS_PER_DAY: usize = 1 << 20;

impl ServeConfig {
    /// The demo venue: loopback port 15000, accounts `demo`/`demo` and `demo2`/`demo2`,
    /// instruments AAPL, MSFT, SPY (tick $0.0001, no price band until a first trade).
    pub fn demo() -> ServeConfig {
        let account = |u: &str| Account {
            username: u.into(),
            password: u.into(),
            instruments: Vec::new(),
            stp: StpMode::Off,
            max_messages_per_second: None,
            cancel_on_disconnect: false,
        };
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 15_000)),
            accounts: vec![account("demo"), account("demo2")],
            instruments: ["AAPL", "MSFT", "SPY"].iter().map(|s| (s.to_string(), InstrumentConfig::default())).collect(),
            soup: SoupConfig::default(),
            session_name: "TICKFORGE1".into(),
            journal: None,
            demo: true,
            end_of_day: None,
            market_data: None,
            market_data_rerequest: None,
            matching: None,
            orders_per_day: DEFAULT_ORDERS_PER_DAY,
        }
    }

    /// The symbols, in engine instrument order.
    pub fn symbols(&self) -> Vec<String> {
        self.instruments.iter().map(|(s, _)| s.clone()).collect()
    }

    pub(super) fn day_header(&self, start_ns: u64) -> DayHeader {
        DayHeader {
            session: self.session_name.clone(),
            accounts: self.accounts.iter().map(|a| a.username.clone()).collect(),
            instruments: self.symbols(),
            start_ns,
        }
    }

    /// The configuration as engine records (instrument limits, then each account's STP).
    pub(super) fn setup_records(&self) -> Vec<Record> {
        let mut v = Vec::new();
        for (i, (_, c)) in self.instruments.iter().enumerate() {
            v.extend(instrument_records(i as u16, c));
        }
        for (i, a) in self.accounts.iter().enumerate() {
            v.push(stp_record(i as u16 + 1, a.stp));
        }
        v
    }
}
