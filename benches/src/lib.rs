//! Helpers shared by the benches.
//!
//! Benches read real captures from `../shared/captures/` (never copied into the repository) and
//! skip with a notice when it is absent; see `tickforge_feed::shared`.
#![deny(unsafe_code)]

pub mod contender;
pub mod pingpong;
pub mod workloads;

use tickforge_wire::{binaryfile, itch};

/// The median of `v` (the upper one of an even count), as every bench and driver reports it.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The smallest and the largest of `values` (`(inf, -inf)` for none).
pub fn range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    values.into_iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)))
}

/// Decodes every message of a BinaryFILE buffer and folds a checksum over the fields a book
/// builder reads (type, locate, timestamp, and the order reference where there is one), so the
/// decode cannot be optimised away. Returns `(messages, checksum)`.
#[inline]
pub fn decode_all(bytes: &[u8]) -> (u64, u64) {
    let mut n = 0u64;
    let mut sum = 0u64;
    for frame in binaryfile::Reader::new(bytes) {
        let Ok(frame) = frame else { break };
        let Ok(m) = itch::decode(frame.bytes) else { continue };
        n += 1;
        let h = itch::header_of(frame.bytes);
        sum = sum.wrapping_add(h.timestamp.get() ^ u64::from(h.stock_locate.get()) ^ u64::from(h.message_type));
        sum = sum.wrapping_add(match m {
            itch::Message::AddOrder(a) => a.order_reference_number.get() ^ u64::from(a.price.get()),
            itch::Message::OrderDelete(d) => d.order_reference_number.get(),
            itch::Message::OrderExecuted(e) => e.order_reference_number.get() ^ u64::from(e.executed_shares.get()),
            itch::Message::NonCrossTrade(p) => p.match_number.get(),
            _ => 0,
        });
    }
    (n, sum)
}

/// The same checksum over `itchy`'s decoded messages (for the peer comparison; see the bench).
pub fn itchy_fold(n: &mut u64, sum: &mut u64, tag: u8, locate: u16, timestamp: u64, field: u64) {
    *n += 1;
    *sum = sum.wrapping_add(timestamp ^ u64::from(locate) ^ u64::from(tag));
    *sum = sum.wrapping_add(field);
}
