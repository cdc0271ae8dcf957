//! The receiver side: in-order delivery, gap detection, re-requests. See the module docs of
//! [`mold`](super).

use std::collections::BTreeMap;
use tickforge_wire::moldudp64::{self, PacketKind};

/// Receiver settings.
#[derive(Debug, Clone, Copy)]
pub struct ReceiverConfig {
    /// Time between re-requests of a range still missing.
    pub retry_ns: u64,
    /// Re-requests of one range before its messages are given up as lost.
    pub max_tries: u32,
    /// Most messages asked for in one re-request.
    pub max_request: u64,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig { retry_ns: 20_000_000, max_tries: 50, max_request: super::MAX_RETRANSMIT }
    }
}

/// What the receiver saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReceiverStats {
    /// Datagrams taken.
    pub packets: u64,
    /// Messages delivered, in order, once each.
    pub delivered: u64,
    /// Gaps opened (a sequence beyond the next expected).
    pub gaps: u64,
    /// Re-request packets sent.
    pub rerequests: u64,
    /// Messages that arrived to fill a gap.
    pub recovered: u64,
    /// Messages given up as lost.
    pub lost: u64,
    /// Messages seen again (dropped).
    pub duplicates: u64,
    /// Datagrams that were not MoldUDP64 or of another session (dropped).
    pub malformed: u64,
}

/// A re-request in flight: the range `from..to`, when it was last sent, how often.
#[derive(Debug, Clone, Copy)]
struct Request {
    to: u64,
    sent_ns: u64,
    tries: u32,
}

/// A MoldUDP64 receiver (sans-I/O).
#[derive(Debug)]
pub struct Receiver {
    config: ReceiverConfig,
    session: Option<[u8; 10]>,
    next: u64,
    /// Messages after a gap, by sequence.
    held: BTreeMap<u64, Vec<u8>>,
    /// Highest sequence known to exist + 1 (from data, heartbeats, end of session).
    known_end: u64,
    /// The outstanding request.
    request: Option<Request>,
    ended: bool,
    /// Counters.
    pub stats: ReceiverStats,
}

impl Receiver {
    /// A receiver expecting sequence 1 of whatever session speaks first.
    pub fn new(config: ReceiverConfig) -> Receiver {
        Receiver {
            config,
            session: None,
            next: 1,
            held: BTreeMap::new(),
            known_end: 1,
            request: None,
            ended: false,
            stats: ReceiverStats::default(),
        }
    }

    /// Whether the session ended and every message up to its end was delivered or given up.
    pub fn is_complete(&self) -> bool {
        self.ended && self.next >= self.known_end
    }

    /// Next sequence to deliver.
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    /// Takes one datagram. `deliver(seq, message)` gets every message in order, once;
    /// `request(packet)` gets re-request packets to send to the retransmission server.
    pub fn on_packet(
        &mut self,
        datagram: &[u8],
        now_ns: u64,
        deliver: &mut impl FnMut(u64, &[u8]),
        request: &mut impl FnMut(&[u8]),
    ) {
        self.stats.packets += 1;
        let Ok(p) = moldudp64::Packet::parse(datagram) else {
            self.stats.malformed += 1;
            return;
        };
        let session = *self.session.get_or_insert(p.header.session);
        if p.header.session != session {
            self.stats.malformed += 1;
            return;
        }
        let first = p.sequence_number();
        match p.kind() {
            PacketKind::Heartbeat => self.known_end = self.known_end.max(first),
            PacketKind::EndOfSession => {
                self.known_end = self.known_end.max(first);
                self.ended = true;
            }
            PacketKind::Data(n) => {
                self.known_end = self.known_end.max(first + u64::from(n));
                for (i, block) in p.messages().enumerate() {
                    let Ok((_, msg)) = block else {
                        self.stats.malformed += 1;
                        break;
                    };
                    let seq = first + i as u64;
                    if seq < self.next || self.held.contains_key(&seq) {
                        self.stats.duplicates += 1;
                    } else if seq == self.next {
                        if self.request.is_some() || !self.held.is_empty() {
                            self.stats.recovered += 1;
                        }
                        deliver(seq, msg);
                        self.stats.delivered += 1;
                        self.next += 1;
                        self.drain(deliver);
                    } else {
                        self.held.insert(seq, msg.to_vec());
                    }
                }
            }
        }
        self.follow_up(now_ns, request);
    }

    /// After progress: no request when nothing is missing; a new one at once when the range
    /// asked for has arrived but more is missing (or when nothing was asked yet).
    fn follow_up(&mut self, now_ns: u64, request: &mut impl FnMut(&[u8])) {
        if self.next >= self.known_end {
            self.request = None;
            return;
        }
        match self.request {
            Some(r) if self.next < r.to => {}
            _ => {
                self.stats.gaps += 1;
                self.send_request(now_ns, 0, request);
            }
        }
    }

    /// Delivers held messages that are now in order.
    fn drain(&mut self, deliver: &mut impl FnMut(u64, &[u8])) {
        while let Some(msg) = self.held.remove(&self.next) {
            deliver(self.next, &msg);
            self.stats.delivered += 1;
            self.next += 1;
        }
    }

    fn send_request(&mut self, now_ns: u64, tries: u32, request: &mut impl FnMut(&[u8])) {
        let Some(session) = self.session else { return };
        let end = self.held.keys().next().copied().unwrap_or(self.known_end);
        let count = (end - self.next).min(self.config.max_request).min(u64::from(u16::MAX - 1));
        request(&moldudp64::header_packet(session, self.next, count as u16));
        self.stats.rerequests += 1;
        self.request = Some(Request { to: self.next + count, sent_ns: now_ns, tries: tries + 1 });
    }

    /// Re-requests a range still missing after `retry_ns`; gives it up after `max_tries`.
    pub fn tick(&mut self, now_ns: u64, deliver: &mut impl FnMut(u64, &[u8]), request: &mut impl FnMut(&[u8])) {
        let Some(r) = self.request else { return };
        if self.next >= self.known_end {
            self.request = None;
            return;
        }
        if now_ns.saturating_sub(r.sent_ns) < self.config.retry_ns {
            return;
        }
        if r.tries >= self.config.max_tries {
            // Give up the missing range: count it and move on to what is held.
            let end = self.held.keys().next().copied().unwrap_or(self.known_end);
            self.stats.lost += end - self.next;
            self.next = end;
            self.request = None;
            self.drain(deliver);
            self.follow_up(now_ns, request);
            return;
        }
        self.send_request(now_ns, r.tries, request);
    }
}
