//! The gateway's protocol cores without sockets: SoupBinTCP server sessions (login, heartbeats,
//! timeouts, protocol errors with offsets) and OUCH 4.2 translation driving a real engine
//! (fills between two accounts, cancels, replaces, duplicate tokens, accounts isolated).

mod common;

use common::enter;
use proptest::prelude::*;
use tickforge_engine::gateway::ouch::{Command, Translator};
use tickforge_engine::gateway::soup::{Ended, Inbound, ServerSession, SoupConfig};
use tickforge_engine::{Engine, EngineConfig, InstrumentConfig};
use tickforge_wire::ouch42::{inbound, outbound};
use tickforge_wire::zerocopy::byteorder::big_endian::U32;
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::{soupbin, Alpha, Record};

const SEC: u64 = 1_000_000_000;

fn packet(t: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    soupbin::write(&mut v, t, payload).unwrap();
    v
}

fn login(user: &str, password: &str, seq: u64) -> Vec<u8> {
    let l = soupbin::LoginRequest {
        username: Alpha::pad(user),
        password: Alpha::pad(password),
        requested_session: Alpha::pad(""),
        requested_sequence_number: soupbin::numeric::<20>(seq),
    };
    packet(b'L', l.as_bytes())
}

/// Splits a server's output into (type, payload) packets.
fn packets(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut v = Vec::new();
    while let Some((p, used)) = soupbin::parse(bytes, 65_535).unwrap() {
        let payload = match p {
            soupbin::Packet::SequencedData(d) => d.to_vec(),
            soupbin::Packet::LoginAccepted(a) => a.as_bytes().to_vec(),
            soupbin::Packet::LoginRejected(r) => vec![r],
            _ => Vec::new(),
        };
        v.push((p.packet_type(), payload));
        bytes = &bytes[used..];
    }
    v
}

#[test]
fn login_messages_heartbeats_and_timeout() {
    let mut s = ServerSession::new(SoupConfig::default(), 0);
    let mut seen = Vec::new();
    // Byte by byte: a session must cope with any segmentation.
    for b in login("demo", "demo", 1) {
        s.on_bytes(&[b], 10, |s, ev| {
            if let Inbound::Login { username, password, session, sequence } = ev {
                seen.push(format!("{username}/{password}/{session}/{sequence}"));
                s.accept("TFSESSION1", 1, 10);
            }
        });
    }
    assert_eq!(seen, ["demo/demo//1"]);
    assert!(s.is_active());
    let out = packets(&s.take_output());
    assert_eq!(out[0].0, b'A');
    assert_eq!(&out[0].1[..10], b"TFSESSION1");
    assert_eq!(std::str::from_utf8(&out[0].1[10..]).unwrap().trim(), "1");

    let mut msgs = Vec::new();
    let two = [packet(b'U', b"hello"), packet(b'R', &[]), packet(b'U', b"world")].concat();
    s.on_bytes(&two, 20, |_, ev| {
        if let Inbound::Message { bytes, offset } = ev {
            msgs.push((bytes.to_vec(), offset));
        }
    });
    let login_len = login("demo", "demo", 1).len() as u64;
    assert_eq!(msgs, [(b"hello".to_vec(), login_len + 3), (b"world".to_vec(), login_len + 8 + 3 + 3)]);
    s.send_sequenced(b"seq-1", 30);
    s.tick(30 + SEC / 2);
    assert_eq!(packets(&s.take_output()), [(b'S', b"seq-1".to_vec())], "no heartbeat before a second of quiet");
    s.tick(30 + SEC);
    assert_eq!(packets(&s.take_output()), [(b'H', vec![])]);
    s.tick(20 + 15 * SEC);
    assert_eq!(s.ended(), Some(&Ended::Timeout), "15 s without a packet from the client");
}

#[test]
fn protocol_errors_end_the_session_with_the_offset() {
    let cases: Vec<(Vec<u8>, u64, &str)> = vec![
        (packet(b'U', b"too early"), 0, "before login"),
        ([login("demo", "demo", 0), packet(b'S', b"x")].concat(), 49, "sent by servers"),
        ([login("demo", "demo", 0), login("demo", "demo", 0)].concat(), 49, "second login"),
        ([login("demo", "demo", 0), vec![0x40, 0x00, b'U']].concat(), 49, "length"),
        ([login("demo", "demo", 0), vec![0x00, 0x01, b'?']].concat(), 49, "type"),
    ];
    for (bytes, offset, what) in cases {
        let mut s = ServerSession::new(SoupConfig::default(), 0);
        s.on_bytes(&bytes, 1, |s, ev| {
            if let Inbound::Login { .. } = ev {
                s.accept("S", 1, 1);
            }
        });
        match s.ended() {
            Some(Ended::Protocol { offset: o, what: w }) => {
                assert_eq!(*o, offset, "{what}: {w}");
                assert!(w.contains(what) || what == "length" || what == "type", "{what}: {w}");
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    // A rejected login says why and ends; a logout ends cleanly.
    let mut s = ServerSession::new(SoupConfig::default(), 0);
    s.on_bytes(&login("demo", "wrong", 0), 1, |s, _| s.reject(b'A', 1));
    assert_eq!(packets(&s.take_output()), [(b'J', vec![b'A'])]);
    assert_eq!(s.ended(), Some(&Ended::Rejected(b'A')));
    let mut s = ServerSession::new(SoupConfig::default(), 0);
    s.on_bytes(&[login("demo", "demo", 0), packet(b'O', &[])].concat(), 1, |s, _| s.accept("S", 1, 1));
    assert_eq!(s.ended(), Some(&Ended::Logout));
}

fn cancel(token: &str, shares: u32) -> Vec<u8> {
    inbound::CancelOrder { message_type: b'X', order_token: Alpha::pad(token), shares: U32::new(shares) }
        .as_bytes()
        .to_vec()
}

/// A venue in a test: translator + engine; returns the OUCH messages per account.
struct Venue {
    t: Translator,
    e: Engine,
    out: Vec<Record>,
}

impl Venue {
    fn new() -> Venue {
        let mut e = Engine::new(EngineConfig::default());
        e.add_instrument(0, InstrumentConfig::default());
        e.add_instrument(1, InstrumentConfig::default());
        Venue { t: Translator::new(&["AAPL", "MSFT"]), e, out: Vec::new() }
    }

    fn send(&mut self, account: u16, msg: &[u8]) -> Vec<(u16, outbound::Message<'static>)> {
        let mut replies = Vec::new();
        match self.t.inbound(account, msg, 1_000).unwrap() {
            Command::Engine(r) => {
                self.out.clear();
                self.e.apply(&r, &mut self.out);
                for o in &self.out {
                    let mut bytes = Vec::new();
                    if let Some(acct) = self.t.outbound(o, &mut bytes) {
                        replies.push((acct, bytes));
                    }
                }
                let mut bytes = Vec::new();
                let e = &self.e;
                if let Some(acct) = self.t.finish_command(|id| e.order(id).map(|o| o.visible + o.hidden), &mut bytes) {
                    replies.push((acct, bytes));
                }
            }
            Command::Reply(bytes) => replies.push((account, bytes)),
            Command::Ignored(_) => {}
        }
        replies.into_iter().map(|(a, b)| (a, outbound::decode(Box::leak(b.into_boxed_slice())).unwrap())).collect()
    }
}

#[test]
fn two_accounts_trade_cancel_and_replace() {
    let mut v = Venue::new();
    let r = v.send(1, &enter("BUY1", b'B', 100, "AAPL", 1_500_000));
    assert!(
        matches!(r.as_slice(), [(1, outbound::Message::Accepted(a))] if a.order_token == Alpha::pad::<14>("BUY1") && a.shares.get() == 100)
    );

    // Account 2 sells 60 into it: both sides hear of the fill, with the right liquidity flags.
    let r = v.send(2, &enter("SELL1", b'S', 60, "AAPL", 1_500_000));
    let mut fills: Vec<_> = r
        .iter()
        .filter_map(|(a, m)| match m {
            outbound::Message::Executed(e) => {
                Some((*a, e.liquidity_flag, e.executed_shares.get(), e.execution_price.get()))
            }
            _ => None,
        })
        .collect();
    fills.sort();
    assert_eq!(fills, [(1, b'A', 60, 1_500_000), (2, b'R', 60, 1_500_000)], "{r:?}");

    // Tokens are per account: account 2 cannot cancel account 1's BUY1.
    assert!(v.send(2, &cancel("BUY1", 0)).is_empty());
    // A duplicate token never makes a second order.
    assert!(v.send(1, &enter("BUY1", b'B', 100, "AAPL", 1_500_000)).is_empty());
    assert_eq!(v.e.order_count(), 1);

    // Replace BUY1 (40 left) with BUY2 at a new price, then cancel it.
    let replace = inbound::ReplaceOrder {
        message_type: b'U',
        existing_order_token: Alpha::pad("BUY1"),
        replacement_order_token_token_14: Alpha::pad("BUY2"),
        shares: U32::new(40),
        price: U32::new(1_490_000),
        time_in_force: U32::new(99_999),
        display: b'Y',
        intermarket_sweep_eligibility: b'N',
        minimum_quantity: U32::new(0),
    };
    let r = v.send(1, replace.as_bytes());
    assert!(
        matches!(r.as_slice(), [(1, outbound::Message::Replaced(u))] if u.previous_order_token == Alpha::pad::<14>("BUY1") && u.replacement_order_token_alphanumeric_14 == Alpha::pad::<14>("BUY2") && u.price.get() == 1_490_000),
        "{r:?}"
    );
    let r = v.send(1, &cancel("BUY2", 0));
    assert!(
        matches!(r.as_slice(), [(1, outbound::Message::Canceled(c))] if c.decrement_shares.get() == 40 && c.cancel_order_reason == b'U'),
        "{r:?}"
    );
    assert_eq!(v.e.order_count(), 0);

    // Rejects decided by the gateway and by the engine.
    let r = v.send(1, &enter("BAD1", b'B', 100, "NOPE", 1_500_000));
    assert!(matches!(r.as_slice(), [(1, outbound::Message::Rejected(j))] if j.rejected_order_reason == b'S'));
    let r = v.send(1, &enter("BAD2", b'B', 0, "MSFT", 1_500_000));
    assert!(matches!(r.as_slice(), [(1, outbound::Message::Rejected(j))] if j.rejected_order_reason == b'Z'), "{r:?}");
    v.t.allow(3, vec![1]);
    let r = v.send(3, &enter("X", b'B', 10, "AAPL", 1_500_000));
    assert!(
        matches!(r.as_slice(), [(3, outbound::Message::Rejected(j))] if j.rejected_order_reason == b'S'),
        "account 3 may trade MSFT only"
    );
}

fn modify(token: &str, side: u8, shares: u32) -> Vec<u8> {
    inbound::ModifyOrder {
        message_type: b'M',
        order_token: Alpha::pad(token),
        buy_sell_indicator: side,
        shares: U32::new(shares),
    }
    .as_bytes()
    .to_vec()
}

#[test]
fn modify_reduces_and_switches_sell_variants_and_answers_m() {
    let mut v = Venue::new();
    v.send(1, &enter("SELL1", b'S', 100, "AAPL", 1_500_000));
    // Reduce to 70 and mark it short (T): one `M` with 70 open, no `C`.
    let r = v.send(1, &modify("SELL1", b'T', 70));
    assert!(
        matches!(r.as_slice(), [(1, outbound::Message::OrderModified(m))] if m.buy_sell_indicator == b'T' && m.shares.get() == 70 && m.order_token == Alpha::pad::<14>("SELL1")),
        "{r:?}"
    );
    assert_eq!(v.e.order(1).map(|o| o.visible), Some(70), "the engine reduced it, keeping its place");
    // Only the side: still 70 open.
    let r = v.send(1, &modify("SELL1", b'E', 500));
    assert!(
        matches!(r.as_slice(), [(1, outbound::Message::OrderModified(m))] if m.buy_sell_indicator == b'E' && m.shares.get() == 70)
    );
    // A sell may not become a buy; another account's token is unknown to it: both ignored.
    assert!(v.send(1, &modify("SELL1", b'B', 10)).is_empty());
    assert!(v.send(2, &modify("SELL1", b'S', 10)).is_empty());
    // A later fill and cancel still report normally, on the modified order.
    let r = v.send(2, &enter("BUY1", b'B', 20, "AAPL", 1_500_000));
    assert!(r
        .iter()
        .any(|(a, m)| *a == 1 && matches!(m, outbound::Message::Executed(e) if e.executed_shares.get() == 20)));
    let r = v.send(1, &cancel("SELL1", 0));
    assert!(matches!(r.as_slice(), [(1, outbound::Message::Canceled(c))] if c.decrement_shares.get() == 50), "{r:?}");
    // Modify to 0 ends the order: `M` with nothing open.
    v.send(1, &enter("SELL2", b'S', 10, "AAPL", 1_510_000));
    let r = v.send(1, &modify("SELL2", b'S', 0));
    assert!(matches!(r.as_slice(), [(1, outbound::Message::OrderModified(m))] if m.shares.get() == 0), "{r:?}");
    assert_eq!(v.e.order_count(), 0);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..20)) {
        let mut s = ServerSession::new(SoupConfig::default(), 0);
        let mut t = Translator::new(&["AAPL"]);
        for (i, c) in chunks.iter().enumerate() {
            s.on_bytes(c, i as u64, |s, ev| match ev {
                Inbound::Login { .. } => s.accept("S", 1, 0),
                Inbound::Message { bytes, .. } => { let _ = t.inbound(1, bytes, 0); }
            });
            let _ = t.inbound(1, c, 0);
            s.tick(i as u64 * SEC);
        }
    }
}
