//! # tickforge-replay
//!
//! The engine's memory: [`journal`], an append-only, segmented, memory-mapped journal of
//! sequenced 64-byte records, with readers (scan, follow, seek) and crash recovery.
#![deny(unsafe_code)]

pub mod journal;
