//! The MoldUDP64 publisher and receiver state machines, without sockets: every message arrives
//! once and in order through drops, reordering and duplicates; a server that never answers
//! makes the receiver give up and count the loss; garbage never panics.

use proptest::prelude::*;
use std::collections::VecDeque;
use tickforge_feed::mold::{self, Publisher, Receiver, ReceiverConfig};

fn message(i: u64) -> Vec<u8> {
    format!("message {i:08} {}", "x".repeat((i % 40) as usize)).into_bytes()
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Publishes `n` messages through a lossy, reordering, duplicating network; returns the
/// receiver and what it delivered.
fn simulate(n: u64, drop_pct: u64, seed: u64, server_answers: bool) -> (Receiver, Vec<(u64, Vec<u8>)>, Publisher) {
    let session = mold::session("TESTSESS01");
    let mut publisher = Publisher::new(session, 200, 1_000_000);
    // A retry well above the round trip (a few hundred steps of 100 ns), as on a real network.
    let config = ReceiverConfig { retry_ns: 50_000, max_tries: 20, max_request: 50 };
    let mut receiver = Receiver::new(config);
    let mut rng = Rng(seed | 1);
    let mut network: VecDeque<Vec<u8>> = VecDeque::new();
    let mut delivered = Vec::new();
    let mut now = 0u64;
    let to_network = |d: &[u8], rng: &mut Rng, net: &mut VecDeque<Vec<u8>>| {
        if rng.below(100) >= drop_pct {
            // Mostly in order; sometimes jumps the queue; sometimes twice.
            if rng.below(20) == 0 {
                net.push_front(d.to_vec());
            } else {
                net.push_back(d.to_vec());
            }
            if rng.below(50) == 0 {
                net.push_back(d.to_vec());
            }
        }
    };
    let mut requests: Vec<Vec<u8>> = Vec::new();
    let mut next_msg = 1u64;
    for _ in 0..1_000_000 {
        if receiver.is_complete() {
            break;
        }
        now += 100;
        // The publisher goes on publishing (4 messages a step, less than the network carries),
        // then ends the session.
        if next_msg <= n + 1 {
            let mut out = Vec::new();
            for _ in 0..4 {
                if next_msg <= n {
                    publisher.publish(&message(next_msg), now, &mut |d| out.push(d.to_vec()));
                } else if next_msg == n + 1 {
                    publisher.end_session(now, &mut |d| out.push(d.to_vec()));
                }
                next_msg += 1;
            }
            for d in out {
                to_network(&d, &mut rng, &mut network);
            }
        }
        if let Some(d) = network.pop_front() {
            receiver
                .on_packet(&d, now, &mut |s, m| delivered.push((s, m.to_vec())), &mut |r| requests.push(r.to_vec()));
        } else {
            // Quiet network: the publisher heartbeats, the receiver retries.
            let mut out = Vec::new();
            publisher.tick(now + 10_000_000, &mut |d| out.push(d.to_vec()));
            for d in out {
                to_network(&d, &mut rng, &mut network);
            }
        }
        receiver.tick(now, &mut |s, m| delivered.push((s, m.to_vec())), &mut |r| requests.push(r.to_vec()));
        for r in requests.drain(..) {
            if server_answers {
                let mut out = Vec::new();
                publisher.retransmit(&r, &mut |d| out.push(d.to_vec()));
                for d in out {
                    to_network(&d, &mut rng, &mut network);
                }
            }
        }
    }
    (receiver, delivered, publisher)
}

#[test]
fn every_message_arrives_once_in_order_without_loss() {
    let (r, delivered, p) = simulate(5_000, 0, 1, true);
    assert!(r.is_complete());
    assert_eq!(delivered.len(), 5_000);
    for (k, (seq, msg)) in delivered.iter().enumerate() {
        assert_eq!((*seq, msg.as_slice()), (k as u64 + 1, message(k as u64 + 1).as_slice()));
    }
    assert_eq!(r.stats.lost, 0);
    assert!(p.packets > 100, "200-byte packets: {}", p.packets);
}

#[test]
fn drops_reordering_and_duplicates_are_recovered_by_rerequests() {
    for (drop_pct, seed) in [(1, 7), (5, 8), (20, 9)] {
        let (r, delivered, p) = simulate(20_000, drop_pct, seed, true);
        assert!(r.is_complete(), "{drop_pct}% drops: {:?}", r.stats);
        assert_eq!(delivered.len(), 20_000, "{drop_pct}%: {:?}", r.stats);
        assert!(delivered.iter().enumerate().all(|(k, (s, m))| *s == k as u64 + 1 && *m == message(*s)));
        assert_eq!(r.stats.lost, 0);
        assert!(r.stats.gaps > 0 && r.stats.rerequests > 0 && r.stats.recovered > 0, "{:?}", r.stats);
        assert!(r.stats.duplicates > 0, "the network duplicated some datagrams: {:?}", r.stats);
        assert!(p.retransmitted >= r.stats.recovered, "{} retransmitted, {:?}", p.retransmitted, r.stats);
    }
}

#[test]
fn a_silent_retransmission_server_means_counted_losses_not_a_stall() {
    let (r, delivered, _) = simulate(5_000, 5, 3, false);
    assert!(r.is_complete(), "{:?}", r.stats);
    assert!(r.stats.lost > 0);
    assert_eq!(delivered.len() as u64 + r.stats.lost, 5_000, "{:?}", r.stats);
    assert!(delivered.windows(2).all(|w| w[0].0 < w[1].0), "still in order");
}

/// A restarted publisher: messages it had sent before are numbered and kept, not sent again;
/// the next packet starts after them, and a receiver that missed them re-requests them.
#[test]
fn unsent_messages_are_numbered_kept_and_retransmitted_never_resent() {
    let session = mold::session("TESTSESS01");
    let mut p = Publisher::new(session, 1400, 1_000_000);
    let mut sent: Vec<Vec<u8>> = Vec::new();
    for i in 1..=10 {
        p.publish_unsent(&message(i), 0, &mut |d| sent.push(d.to_vec()));
    }
    assert!(sent.is_empty(), "nothing of the rebuilt day goes out");
    assert_eq!(p.next_seq(), 11);
    p.publish(&message(11), 0, &mut |d| sent.push(d.to_vec()));
    p.flush(0, &mut |d| sent.push(d.to_vec()));
    assert_eq!(sent.len(), 1);
    let mut r = Receiver::new(ReceiverConfig::default());
    let mut got = Vec::new();
    let mut requests = Vec::new();
    r.on_packet(&sent[0], 0, &mut |s, m| got.push((s, m.to_vec())), &mut |q| requests.push(q.to_vec()));
    assert_eq!(requests.len(), 1, "the gap 1..=10 is re-requested");
    let mut answers = Vec::new();
    p.retransmit(&requests[0], &mut |d| answers.push(d.to_vec()));
    for a in &answers {
        r.on_packet(a, 1, &mut |s, m| got.push((s, m.to_vec())), &mut |_| {});
    }
    assert_eq!(got.len(), 11);
    assert!(got.iter().enumerate().all(|(k, (s, m))| *s == k as u64 + 1 && *m == message(*s)));
    assert_eq!(r.stats.duplicates, 0);
}

#[test]
fn bad_rerequests_are_refused_and_counted() {
    let session = mold::session("TESTSESS01");
    let mut p = Publisher::new(session, 1400, 1_000_000);
    let mut sent = 0;
    for i in 1..=10 {
        p.publish(&message(i), 0, &mut |_| sent += 1);
    }
    p.flush(0, &mut |_| sent += 1);
    let mut answers = Vec::new();
    for req in [
        tickforge_wire::moldudp64::header_packet(mold::session("OTHERSESS1"), 1, 5).to_vec(),
        tickforge_wire::moldudp64::header_packet(session, 0, 5).to_vec(),
        tickforge_wire::moldudp64::header_packet(session, 11, 5).to_vec(),
        b"garbage".to_vec(),
    ] {
        p.retransmit(&req, &mut |d| answers.push(d.to_vec()));
    }
    assert!(answers.is_empty());
    assert_eq!(p.bad_requests, 4);
    p.retransmit(&tickforge_wire::moldudp64::header_packet(session, 9, 100), &mut |d| answers.push(d.to_vec()));
    let pkt = tickforge_wire::moldudp64::Packet::parse(&answers[0]).unwrap();
    assert_eq!((pkt.sequence_number(), pkt.messages().count()), (9, 2), "only what exists");
}

proptest! {
    #[test]
    fn the_receiver_survives_arbitrary_datagrams(datagrams in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..50)) {
        let mut r = Receiver::new(ReceiverConfig::default());
        let mut last = 0;
        for (i, d) in datagrams.iter().enumerate() {
            r.on_packet(d, i as u64, &mut |s, _| { assert!(s > last); last = s; }, &mut |_| {});
            r.tick(i as u64 * 1_000_000_000, &mut |s, _| { assert!(s > last); last = s; }, &mut |_| {});
        }
    }
}
