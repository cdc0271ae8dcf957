//! # tickforge-engine
//!
//! The order book and matching core (a sans-I/O state machine), the pipeline runtime, and the
//! `tickforge` binary. This release ships the binary's `capture stats` command; the matching
//! core, rings, gateway and replay arrive with their issues (see `tickforge --help`).
#![deny(unsafe_code)]
