//! # tickforge-wire
//!
//! The bytes of tickforge: the one 64-byte [`Record`] every stage hands the next, and byte-exact
//! codecs for the exchange protocols the engine speaks.
//!
//! | module | protocol | direction |
//! |---|---|---|
//! | [`itch`] | Nasdaq TotalView-ITCH 5.0, all 23 message types | market data out, captures in |
//! | [`binaryfile`] | Nasdaq BinaryFILE framing (`[u16 BE length][message]`) | captures |
//! | [`moldudp64`] | MoldUDP64 downstream packets, heartbeats, end of session, re-requests | market data |
//! | [`soupbin`] | SoupBinTCP 3.0 packets (all types) | order entry transport |
//! | [`ouch42`] | OUCH 4.2 inbound and outbound messages | order entry |
//! | [`ouch50`] | OUCH 5.0 fixed parts and TLV appendages | order entry |
//!
//! # Design
//!
//! Every fixed-layout message is a `#[repr(C)]` struct of byte-order types from
//! [`zerocopy::byteorder::big_endian`] and byte arrays, so it has alignment 1, no padding, and
//! decoding is a bounds-checked cast (`ref_from_prefix`) with no copy and no hand-written
//! `unsafe`. Encoding is the same cast the other way ([`zerocopy::IntoBytes::as_bytes`]).
//! Each struct carries `TYPE`, `LEN` and a `FIELDS` table computed by the compiler from the
//! struct itself (`offset_of!`), which the table tests compare with the specification CSVs.
//!
//! Decoders never panic on any input: a wrong length, an unknown type or a truncated frame
//! is an error value that says what and where. Nothing here reads a clock or does I/O.
#![deny(unsafe_code)]
// No clock, no environment, no randomly keyed map (clippy.toml): the codecs are deterministic.
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]
// zerocopy's `KnownLayout` derive emits private helper types without `Debug`; every public type
// here derives `Debug` itself.
#![allow(missing_debug_implementations, reason = "fires on zerocopy-generated helper types")]

pub mod binaryfile;
mod error;
pub mod itch;
mod layout;
pub mod moldudp64;
pub mod ouch42;
pub mod ouch50;
pub mod record;
pub mod soupbin;

pub use error::{DecodeError, FrameError};
pub use layout::{Alpha, FieldLayout, Timestamp48};
pub use record::{CancelReason, Kind, Record, RejectReason, Setting, Side, TimeInForce};
/// Re-exported so users can call `as_bytes`, `ref_from_bytes` and friends without a version clash.
pub use zerocopy;
