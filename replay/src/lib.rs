//! Replay support.
