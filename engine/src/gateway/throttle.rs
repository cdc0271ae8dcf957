//! Per-session throttle: a token bucket with a queue, as venues throttle order entry.
//!
//! A session may send `rate` messages a second, in bursts of up to `rate / 10` (at least one).
//! Messages beyond that are not rejected: they wait in the session's queue, in order, and are
//! applied as the bucket refills. While the queue holds more than [`PAUSE_READING_AT`] bytes the
//! server stops reading the socket, so a client that keeps sending is slowed by TCP itself and
//! the venue's memory stays bounded. Time is an argument (nanoseconds, any monotonic origin).

use std::collections::VecDeque;

/// Queue size beyond which the server stops reading the session's socket.
pub const PAUSE_READING_AT: usize = 64 * 1024;

/// One session's throttle.
#[derive(Debug)]
pub struct Throttle {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: u64,
    /// Queued messages: (stream offset, bytes).
    queue: VecDeque<(u64, Vec<u8>)>,
    queued_bytes: usize,
}

impl Throttle {
    /// A throttle of `rate` messages a second, full at `now`.
    pub fn new(rate: u32, now: u64) -> Throttle {
        let rate = f64::from(rate.max(1));
        let burst = (rate / 10.0).max(1.0);
        Throttle { rate, burst, tokens: burst, last: now, queue: VecDeque::new(), queued_bytes: 0 }
    }

    fn refill(&mut self, now: u64) {
        let dt = now.saturating_sub(self.last) as f64 / 1e9;
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        self.last = now;
    }

    /// Whether a message arriving now may be applied at once (taking a token); if not, the
    /// caller queues it with [`Throttle::queue`]. Nothing overtakes the queue.
    pub fn admit(&mut self, now: u64) -> bool {
        self.refill(now);
        if self.queue.is_empty() && self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Queues a message that was not admitted.
    pub fn queue(&mut self, offset: u64, bytes: &[u8]) {
        self.queued_bytes += bytes.len();
        self.queue.push_back((offset, bytes.to_vec()));
    }

    /// The next queued message, if the bucket allows it now.
    pub fn release(&mut self, now: u64) -> Option<(u64, Vec<u8>)> {
        if self.queue.is_empty() {
            return None;
        }
        self.refill(now);
        if self.tokens < 1.0 {
            return None;
        }
        self.tokens -= 1.0;
        let m = self.queue.pop_front()?;
        self.queued_bytes -= m.1.len();
        Some(m)
    }

    /// Messages waiting.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Bytes waiting (the server stops reading past [`PAUSE_READING_AT`]).
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_paces_in_order() {
        let mut t = Throttle::new(100, 0); // burst 10
        let admitted = (0..15).filter(|_| t.admit(0)).count();
        assert_eq!(admitted, 10);
        for i in 0..5 {
            t.queue(i, &[i as u8]);
        }
        // A new arrival never overtakes the queue, even once tokens are back.
        assert!(!t.admit(50_000_000));
        t.queue(5, &[5]);
        // 50 ms at 100/s = 5 tokens: the first five queued, in order.
        let got: Vec<u64> = std::iter::from_fn(|| t.release(50_000_000)).map(|(o, _)| o).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
        assert_eq!((t.queued(), t.queued_bytes()), (1, 1));
        assert_eq!(t.release(60_000_000).map(|m| m.0), Some(5));
        // Over a long run the rate holds: 1 s admits about 100 more.
        let mut n = 0;
        for ms in 0..1000u64 {
            if t.admit(60_000_000 + ms * 1_000_000) {
                n += 1;
            }
        }
        assert!((99..=111).contains(&n), "{n}");
    }
}
