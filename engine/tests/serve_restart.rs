//! `tickforge serve --journal`: a venue stopped and started again from its journal resumes the
//! day. Books, order tokens and every account's sequenced stream come back exactly (a re-login
//! from sequence 1 gets the same bytes as before the restart), sequence numbers continue,
//! orders entered before the restart can be cancelled after it, and the journal replayed by
//! `tickforge replay` gives the venue's state hash. A journal of another venue is refused.

mod common;

use common::{enter, Client, Venue};
use std::process::Command;
use tickforge_engine::gateway::server::{ServeConfig, Server};
use tickforge_wire::ouch42::{inbound, outbound};
use tickforge_wire::zerocopy::byteorder::big_endian::U32;
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::Alpha;

fn journal_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tf-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Every sequenced message from 1 on, raw, until `n` have come.
fn stream(c: &mut Client, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let (t, p) = c.next().expect("a sequenced message");
            assert_eq!(t, b'S');
            p
        })
        .collect()
}

fn replayed_state_hash(dir: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tickforge"))
        .args(["replay", "--format", "journal", "--json"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["state_hash"].as_str().unwrap().to_string()
}

#[test]
fn a_restarted_venue_resumes_books_tokens_and_sequence_numbers() {
    let dir = journal_dir("restart");
    // Market data goes to a socket nobody reads: only its numbering is checked here.
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let md = sink.local_addr().unwrap();
    let with_journal = |c: &mut ServeConfig| {
        c.journal = Some(dir.clone());
        c.market_data = Some(md);
        c.market_data_rerequest = Some("127.0.0.1:0".parse().unwrap());
    };

    // Day, part one.
    let venue = Venue::start(with_journal);
    let mut a = Client::logged_in(venue.addr, "demo", "demo", 1);
    let mut b = Client::logged_in(venue.addr, "demo2", "demo2", 1);
    a.send(b'U', &enter("BUY1", b'B', 100, "AAPL", 1_500_000));
    a.send(b'U', &enter("BUY2", b'B', 10, "MSFT", 4_000_000));
    b.send(b'U', &enter("SELL1", b'S', 60, "AAPL", 1_500_000));
    b.send(b'U', &enter("BAD1", b'S', 5, "NOPE", 1_500_000)); // rejected by the gateway: J S
    b.send(b'U', &enter("SELL2", b'S', 7, "SPY", 5_000_000));
    // demo: start of day, accepted x2, executed. demo2: start, accepted, executed, J, accepted.
    let mut before_a = stream(&mut a, 4);
    let modify = inbound::ModifyOrder {
        message_type: b'M',
        order_token: Alpha::pad("BUY2"),
        buy_sell_indicator: b'B',
        shares: U32::new(5),
    };
    a.send(b'U', modify.as_bytes()); // answered with M, 5 open
    before_a.extend(stream(&mut a, 1));
    assert!(matches!(outbound::decode(&before_a[4]), Ok(outbound::Message::OrderModified(m)) if m.shares.get() == 5));
    let before_b = stream(&mut b, 5);
    assert!(
        matches!(outbound::decode(&before_b[3]), Ok(outbound::Message::Rejected(r)) if r.rejected_order_reason == b'S')
    );
    let server = venue.stop();
    let (hash, resting) = (server.state_hash(), server.resting_orders());
    assert_eq!((server.stream_len(0), server.stream_len(1), resting), (5, 5, 3));
    let md_next = server.market_data_next_seq();
    assert!(md_next > 10, "the directory and the orders were published");
    drop(server);

    // `tickforge journal inspect` shows the venue's entries, messages decoded.
    let out = Command::new(env!("CARGO_BIN_EXE_tickforge"))
        .args(["journal", "inspect", "--count", "100"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("venue day: session TICKFORGE1, accounts demo demo2, instruments AAPL MSFT SPY"), "{text}");
    assert!(text.contains("Configure") && text.contains("O enter BUY1 B 100 AAPL @ 1500000"), "{text}");
    assert!(text.contains("M modify BUY2 B to 5"), "{text}");

    // The journal alone rebuilds the books, through the replay tool (config records included).
    assert_eq!(replayed_state_hash(&dir), format!("{hash:016x}"));

    // Part two: same journal. The market-data sequence continues where it was.
    let venue = Venue::start(with_journal);
    let mut a = Client::connect(venue.addr);
    a.login("demo", "demo", 1);
    let (t, accepted) = a.next().unwrap();
    assert_eq!(t, b'A');
    assert_eq!(std::str::from_utf8(&accepted[10..]).unwrap().trim(), "1");
    assert_eq!(stream(&mut a, 5), before_a, "the same stream, byte for byte (timestamps included)");
    let mut b = Client::connect(venue.addr);
    b.login("demo2", "demo2", 0);
    let (_, accepted) = b.next().unwrap();
    assert_eq!(std::str::from_utf8(&accepted[10..]).unwrap().trim(), "6", "demo2's next sequence number");
    // A token used before the restart is still taken; an order from before can be cancelled.
    b.send(b'U', &enter("SELL1", b'S', 1, "AAPL", 1_500_000));
    let cancel = inbound::CancelOrder { message_type: b'X', order_token: Alpha::pad("SELL2"), shares: U32::new(0) };
    b.send(b'U', cancel.as_bytes());
    assert!(matches!(b.sequenced(), outbound::Message::Canceled(c) if c.order_token == Alpha::pad("SELL2")));
    a.send(b'U', &enter("BUY3", b'B', 1, "SPY", 4_000_000));
    assert!(matches!(a.sequenced(), outbound::Message::Accepted(x) if x.order_token == Alpha::pad("BUY3")));
    let server = venue.stop();
    assert_eq!(server.market_data_next_seq(), md_next + 2, "numbering continued: SELL2 deleted, BUY3 added");
    assert!(server.stats.restored >= 5, "{:?}", server.stats);
    assert_eq!(server.stats.ignored, 1, "the reused token");
    assert_eq!((server.stream_len(0), server.stream_len(1)), (6, 6));
    assert_eq!(server.resting_orders(), resting, "SELL2 left, BUY3 came");
    let hash = server.state_hash();
    drop(server);
    assert_eq!(replayed_state_hash(&dir), format!("{hash:016x}"), "after the restart too");

    // Part three: the day ends (an end-of-day time already past). Day orders expire with
    // reason T, each account hears the end-of-day event, entries are rejected as closed.
    let venue = Venue::start(|c| {
        c.journal = Some(dir.clone());
        c.end_of_day = Some(0);
    });
    let mut a = Client::logged_in(venue.addr, "demo", "demo", 7);
    let mut expired = Vec::new();
    loop {
        match a.sequenced() {
            outbound::Message::Canceled(c) => {
                assert_eq!(c.cancel_order_reason, b'T');
                expired.push(c.order_token);
            }
            outbound::Message::SystemEvent(e) => {
                assert_eq!(e.event_code, b'E');
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    expired.sort();
    assert_eq!(expired, [Alpha::pad("BUY1"), Alpha::pad("BUY2"), Alpha::pad("BUY3")]);
    a.send(b'U', &enter("LATE", b'B', 1, "SPY", 4_000_000));
    assert!(matches!(a.sequenced(), outbound::Message::Rejected(r) if r.rejected_order_reason == b'C'));
    let server = venue.stop();
    assert_eq!(server.resting_orders(), 0);
    let (hash, streams) = (server.state_hash(), (server.stream_len(0), server.stream_len(1)));
    drop(server);
    assert_eq!(replayed_state_hash(&dir), format!("{hash:016x}"));
    // Restarted without an end-of-day time: the day is still over.
    let venue = Venue::start(|c| c.journal = Some(dir.clone()));
    let mut a = Client::logged_in(venue.addr, "demo", "demo", 0);
    a.send(b'U', &enter("LATER", b'B', 1, "SPY", 4_000_000));
    assert!(matches!(a.sequenced(), outbound::Message::Rejected(r) if r.rejected_order_reason == b'C'));
    let server = venue.stop();
    assert_eq!((server.stream_len(0), server.stream_len(1)), (streams.0 + 1, streams.1));

    // A venue with other accounts may not continue this journal.
    let mut other = ServeConfig::demo();
    other.listen = "127.0.0.1:0".parse().unwrap();
    other.journal = Some(dir.clone());
    other.accounts.reverse();
    let e = Server::bind(other).unwrap_err().to_string();
    assert!(e.contains("accounts") && e.contains(&dir.display().to_string()), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
