//! `tickforge serve --market-data`: the venue publishes its book as ITCH 5.0 over MoldUDP64.
//! A receiver on loopback gets every message in sequence (the directory first, the end-of-day
//! events and MoldUDP64's end of session last); a book built from what it received equals the
//! venue's book, level by level, on every instrument; after the end of day both are empty.

mod common;

use common::{enter, Client, Venue};
use std::time::Duration;
use tickforge_engine::gateway::client::{self, ClientConfig};
use tickforge_engine::{Engine, EngineConfig};
use tickforge_feed::mold::udp::UdpReceiver;
use tickforge_wire::ouch42::{inbound, outbound};
use tickforge_wire::zerocopy::byteorder::big_endian::U32;
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::{itch, Alpha, Side};

#[test]
fn a_receiver_rebuilds_the_venues_book_from_its_market_data() {
    let localhost = "127.0.0.1:0".parse().unwrap();
    let mut receiver = UdpReceiver::bind(localhost, localhost, Default::default()).unwrap();
    let dest = receiver.local_addr().unwrap();
    let venue = Venue::start(|c| {
        c.market_data = Some(dest);
        c.market_data_rerequest = Some(localhost);
    });
    let listener = std::thread::spawn(move || {
        let mut got: Vec<(u64, Vec<u8>)> = Vec::new();
        let complete = receiver.run(Duration::from_secs(60), |seq, m| got.push((seq, m.to_vec()))).unwrap();
        (complete, got, receiver.core.stats.clone())
    });

    // A load that trades, cancels and replaces (and leaves nothing), then a book that stays.
    let report = client::run(&ClientConfig {
        connect: venue.addr,
        accounts: vec![("demo".into(), "demo".into()), ("demo2".into(), "demo2".into())],
        sessions: 4,
        orders: 500,
        rate: None,
        symbol: "MSFT".into(),
        timeout: Duration::from_secs(30),
        run_tag: Some(*b"MD"),
    })
    .unwrap();
    assert_eq!((report.lost, report.duplicates), (0, 0));
    let mut a = Client::logged_in(venue.addr, "demo", "demo", 0);
    let mut b = Client::logged_in(venue.addr, "demo2", "demo2", 0);
    for (i, px) in [1_500_000u32, 1_499_900, 1_499_800, 1_499_900].iter().enumerate() {
        a.send(b'U', &enter(&format!("B{i}"), b'B', 100 + i as u32, "AAPL", *px));
        assert!(matches!(a.sequenced(), outbound::Message::Accepted(_)));
    }
    b.send(b'U', &enter("S0", b'S', 30, "AAPL", 1_500_100));
    b.send(b'U', &enter("S1", b'S', 150, "AAPL", 1_499_900)); // takes B0 (100), 50 of B1
    b.send(b'U', &enter("S2", b'S', 70, "SPY", 4_000_000));
    let mut accepted = 0;
    while accepted < 3 {
        match b.sequenced() {
            outbound::Message::Accepted(_) => accepted += 1,
            outbound::Message::Executed(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let cancel = inbound::CancelOrder { message_type: b'X', order_token: Alpha::pad("B2"), shares: U32::new(40) };
    a.send(b'U', cancel.as_bytes());
    let replace = inbound::ReplaceOrder {
        message_type: b'U',
        existing_order_token: Alpha::pad("B3"),
        replacement_order_token_token_14: Alpha::pad("B3R"),
        shares: U32::new(20),
        price: U32::new(1_499_700),
        time_in_force: U32::new(99_999),
        display: b'Y',
        intermarket_sweep_eligibility: b'N',
        minimum_quantity: U32::new(0),
    };
    a.send(b'U', replace.as_bytes());
    let mut last = None;
    while last.is_none() {
        if let outbound::Message::Replaced(r) = a.sequenced() {
            last = Some(r.replacement_order_token_alphanumeric_14);
        }
    }
    let mut server = venue.stop();
    let book = |depth: &dyn Fn(u16, Side) -> Vec<tickforge_engine::book::LevelView>| {
        (0..3u16).flat_map(|i| [(i, Side::Buy), (i, Side::Sell)]).map(|(i, s)| depth(i, s)).collect::<Vec<_>>()
    };
    let venue_book = book(&|i, s| server.depth(i, s, 100));
    assert!(venue_book.iter().map(Vec::len).sum::<usize>() >= 5, "a book to compare: {venue_book:?}");
    let before_close = server.market_data_next_seq();
    server.end_of_day();
    server.shutdown();
    assert_eq!(server.resting_orders(), 0);

    let (complete, got, transport) = listener.join().unwrap();
    assert!(complete, "end of session received, nothing missing: {transport:?}");
    assert_eq!(transport.lost, 0);
    assert!(got.iter().enumerate().all(|(k, (seq, _))| *seq == k as u64 + 1), "in sequence from 1");
    let types: Vec<u8> = got.iter().map(|(_, m)| m[0]).collect();
    assert_eq!(&types[..2], b"SS", "start of messages, start of system hours");
    assert!(types.contains(&b'R') && types.contains(&b'E') && types.contains(&b'U') && types.contains(&b'X'));
    assert_eq!(&types[types.len() - 3..], b"SSS", "end of market hours, of system hours, of messages");

    let mut mirror = Engine::new(EngineConfig::default());
    let mut out = Vec::new();
    let mut compared = false;
    for (seq, m) in &got {
        if *seq == before_close {
            compared = true;
            assert_eq!(book(&|i, s| mirror.depth(i, s, 100)), venue_book, "the mirror equals the venue's book");
        }
        let msg = itch::decode(m).unwrap_or_else(|e| panic!("message {seq}: {e}"));
        if let Some(r) = tickforge_feed::normalize::record(&msg) {
            mirror.apply(&r, &mut out);
        }
    }
    assert!(compared, "message {before_close} (the first of the end of day) was received");
    assert_eq!(mirror.stats().unknown_refs, 0);
    assert_eq!(mirror.order_count(), 0, "the end of day expired everything, publicly too");
}
