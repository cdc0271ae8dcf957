//! # tickforge-engine
//!
//! The order book and matching core ([`book`], a sans-I/O state machine), book verification
//! against LOBSTER ([`lobster`]), and the `tickforge` binary.
#![deny(unsafe_code)]

pub mod bench;
pub mod book;
pub mod convert;
pub mod gateway;
pub mod listen;
pub mod lobster;
mod opaque;
pub mod pipeline;
mod prefetch;
pub mod replay;
pub mod ring;
pub mod snapshot;
mod sync;
pub mod wait;

pub use book::{Engine, EngineConfig, InstrumentConfig, PriceBand, Stats, StpMode, TradingStatus};
