//! The publisher side: packets, heartbeats, end of session, retransmissions. See the module
//! docs of [`mold`](super).

use super::MAX_RETRANSMIT;
use tickforge_wire::moldudp64::{self, PacketBuilder, END_OF_SESSION};

/// A MoldUDP64 publisher (sans-I/O).
#[derive(Debug)]
pub struct Publisher {
    session: [u8; 10],
    max_len: usize,
    heartbeat_ns: u64,
    packet: PacketBuilder,
    next_seq: u64,
    store: crate::msglog::MessageLog,
    last_sent_ns: u64,
    /// Data packets sent (not counting retransmissions).
    pub packets: u64,
    /// Heartbeats sent.
    pub heartbeats: u64,
    /// Re-requests answered.
    pub retransmit_requests: u64,
    /// Messages retransmitted.
    pub retransmitted: u64,
    /// Re-requests refused (wrong session, malformed, or beyond what was published).
    pub bad_requests: u64,
}

impl Publisher {
    /// A publisher of `session` sending datagrams of at most `max_len` bytes and a heartbeat
    /// after `heartbeat_ns` without traffic.
    pub fn new(session: [u8; 10], max_len: usize, heartbeat_ns: u64) -> Publisher {
        Publisher {
            session,
            max_len,
            heartbeat_ns,
            packet: PacketBuilder::new(session, 1, max_len),
            next_seq: 1,
            store: crate::msglog::MessageLog::default(),
            last_sent_ns: 0,
            packets: 0,
            heartbeats: 0,
            retransmit_requests: 0,
            retransmitted: 0,
            bad_requests: 0,
        }
    }

    /// Sequence number the next message will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq + u64::from(self.packet.count())
    }

    /// Publishes one message (sending the current packet first if it would not fit).
    pub fn publish(&mut self, msg: &[u8], now_ns: u64, send: &mut impl FnMut(&[u8])) {
        if !self.packet.push(msg) {
            self.flush(now_ns, send);
            let fits = self.packet.push(msg);
            debug_assert!(fits, "a message longer than a packet");
        }
        self.store.push(msg);
    }

    /// Numbers and keeps a message for retransmission without sending it (a restarted
    /// publisher rebuilding what it had sent before); the packet being built is sent first.
    pub fn publish_unsent(&mut self, msg: &[u8], now_ns: u64, send: &mut impl FnMut(&[u8])) {
        self.flush(now_ns, send);
        self.store.push(msg);
        self.next_seq += 1;
        self.packet.reset(self.next_seq);
    }

    /// Sends the packet being built, if it holds anything.
    pub fn flush(&mut self, now_ns: u64, send: &mut impl FnMut(&[u8])) {
        if self.packet.count() == 0 {
            return;
        }
        send(self.packet.bytes());
        self.packets += 1;
        self.next_seq += u64::from(self.packet.count());
        self.packet.reset(self.next_seq);
        self.last_sent_ns = now_ns;
    }

    /// Sends a heartbeat if nothing went out for the heartbeat interval (after flushing).
    pub fn tick(&mut self, now_ns: u64, send: &mut impl FnMut(&[u8])) {
        self.flush(now_ns, send);
        if now_ns.saturating_sub(self.last_sent_ns) >= self.heartbeat_ns {
            send(&moldudp64::header_packet(self.session, self.next_seq, 0));
            self.heartbeats += 1;
            self.last_sent_ns = now_ns;
        }
    }

    /// Flushes and sends the end-of-session packet.
    pub fn end_session(&mut self, now_ns: u64, send: &mut impl FnMut(&[u8])) {
        self.flush(now_ns, send);
        send(&moldudp64::header_packet(self.session, self.next_seq, END_OF_SESSION));
    }

    /// Answers a re-request packet (`send` goes back to whoever asked).
    pub fn retransmit(&mut self, request: &[u8], send: &mut impl FnMut(&[u8])) {
        // A re-request is a bare header: the count is how many messages are asked for.
        if request.len() != moldudp64::HEADER_LEN {
            self.bad_requests += 1;
            return;
        }
        let word = |r: std::ops::Range<usize>| request[r].iter().fold(0u64, |a, b| a << 8 | u64::from(*b));
        let (first, count) = (word(10..18), word(18..20));
        if request[..10] != self.session || first == 0 || count == 0 || first >= self.next_seq {
            self.bad_requests += 1;
            return;
        }
        self.retransmit_requests += 1;
        let last = (first + count.min(MAX_RETRANSMIT)).min(self.next_seq); // exclusive
        let mut packet = PacketBuilder::new(self.session, first, self.max_len);
        for seq in first..last {
            let msg = self.store.get(seq).expect("every sequence below next_seq is stored");
            if !packet.push(msg) {
                send(packet.bytes());
                packet.reset(seq);
                packet.push(msg);
            }
            self.retransmitted += 1;
        }
        if packet.count() > 0 {
            send(packet.bytes());
        }
    }
}
