//! The order-entry gateway's protocol cores: SoupBinTCP 3.0 server sessions ([`soup`]) and
//! OUCH 4.2 translation to and from engine records ([`ouch`]).
//!
//! Both are sans-I/O state machines: bytes and the time in, bytes and records out, no sockets,
//! threads or clocks, so every rule (login, heartbeats, timeouts, token uniqueness, duplicate
//! handling, reject and cancel reasons) is tested directly and deterministically. The socket
//! event loop of `tickforge serve` (issue 7) drives them.
//!
//! Accounts are the engine's `session` field: every order of an account carries the account's
//! number, so the engine's ownership check means a session can only cancel or replace its own
//! account's orders, and self-trade prevention applies per account. An account may hold several
//! SoupBinTCP sessions at once; they share one sequenced outbound stream.

pub mod client;
pub mod config;
pub mod market_data;
pub mod matching;
pub mod ouch;
pub mod server;
pub mod soup;
pub mod throttle;
mod tokens;
pub mod venue_journal;
