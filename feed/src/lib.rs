//! # tickforge-feed
//!
//! Market data for tickforge: reading captures (Nasdaq BinaryFILE, pcap and pcapng carrying
//! MoldUDP64), writing pcaps, and capture statistics.
//!
//! Decoding is done by [`tickforge_wire`]; this crate owns the files and the packet layers
//! around the messages (pcap records, Ethernet, 802.1Q, IPv4, UDP, TCP). Everything here is
//! deterministic: packet timestamps come from the capture, never from a clock (the
//! sockets of [`mold::udp`] are the exception, and say so; `clippy.toml` enforces the rest).
#![deny(unsafe_code)]
// No clock, no environment, no randomly keyed map (clippy.toml), except where a module says why.
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod capture;
pub mod dbn;
mod error;
pub mod generate;
pub mod itch_out;
pub mod mold;
pub mod msglog;
pub mod net;
pub mod normalize;
pub mod pcap;
pub mod shared;
pub mod source;
pub mod stats;

pub use capture::{Capture, Format};
pub use error::CaptureError;
