//! An append-only log of messages numbered from 1, in one buffer: what a MoldUDP64
//! retransmission server answers from, and what an order-entry gateway replays to a session
//! that logs in again. No allocation per message (the buffers grow geometrically).

/// Messages by sequence number (1-based).
#[derive(Debug, Default, Clone)]
pub struct MessageLog {
    bytes: Vec<u8>,
    /// End of message `n` at `ends[n - 1]`; its start is the previous end (0 for the first).
    ends: Vec<usize>,
}

impl MessageLog {
    /// Appends a message; it gets sequence number `len()` (after the push).
    pub fn push(&mut self, msg: &[u8]) {
        self.bytes.extend_from_slice(msg);
        self.ends.push(self.bytes.len());
    }

    /// Messages held (the last sequence number).
    pub fn len(&self) -> u64 {
        self.ends.len() as u64
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Message `seq`, if held.
    pub fn get(&self, seq: u64) -> Option<&[u8]> {
        let i = usize::try_from(seq.checked_sub(1)?).ok()?;
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.bytes[start..end])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_come_back_by_sequence() {
        let mut log = super::MessageLog::default();
        assert!(log.is_empty() && log.get(1).is_none());
        for m in [&b"a"[..], b"", b"ccc"] {
            log.push(m);
        }
        assert_eq!(
            (log.len(), log.get(1), log.get(2), log.get(3), log.get(0), log.get(4)),
            (3, Some(&b"a"[..]), Some(&b""[..]), Some(&b"ccc"[..]), None, None)
        );
    }
}
