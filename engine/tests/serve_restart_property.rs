//! Property: whatever two accounts send (entries, cancels, replaces and modifies on a small
//! set of tokens, valid or not, on known and unknown symbols), a venue restarted from its
//! journal rebuilds exactly the same streams, byte for byte, and the same state hash, whether
//! the engine ran on the event-loop thread or on a matching stage of its own.

mod common;

use common::{Client, Venue};
use proptest::prelude::*;
use tickforge_engine::gateway::server::{ServeConfig, Server};
use tickforge_wire::ouch42::inbound;
use tickforge_wire::zerocopy::byteorder::big_endian::U32;
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::Alpha;

#[derive(Debug, Clone)]
enum Msg {
    Enter { token: u8, side: u8, shares: u32, stock: u8, price: u32 },
    Cancel { token: u8, shares: u32 },
    Replace { token: u8, new: u8, shares: u32, price: u32 },
    Modify { token: u8, side: u8, shares: u32 },
}

fn msg() -> impl Strategy<Value = Msg> {
    let side = prop::sample::select(vec![b'B', b'S', b'T', b'E']);
    prop_oneof![
        4 => (0u8..12, side.clone(), 0u32..300, 0u8..4, 99u32..104)
            .prop_map(|(token, side, shares, stock, price)| Msg::Enter { token, side, shares, stock, price }),
        2 => (0u8..12, 0u32..100).prop_map(|(token, shares)| Msg::Cancel { token, shares }),
        2 => (0u8..12, 0u8..12, 0u32..300, 99u32..104)
            .prop_map(|(token, new, shares, price)| Msg::Replace { token, new, shares, price }),
        1 => (0u8..12, side, 0u32..300).prop_map(|(token, side, shares)| Msg::Modify { token, side, shares }),
    ]
}

fn encode(m: &Msg) -> Vec<u8> {
    let tok = |t: u8| Alpha::pad(&format!("T{t}"));
    match *m {
        Msg::Enter { token, side, shares, stock, price } => common::enter(
            &format!("T{token}"),
            side,
            shares,
            ["AAPL", "MSFT", "SPY", "NOPE"][usize::from(stock)],
            price * 10_000,
        ),
        Msg::Cancel { token, shares } => {
            inbound::CancelOrder { message_type: b'X', order_token: tok(token), shares: U32::new(shares) }
                .as_bytes()
                .to_vec()
        }
        Msg::Replace { token, new, shares, price } => inbound::ReplaceOrder {
            message_type: b'U',
            existing_order_token: tok(token),
            replacement_order_token_token_14: tok(new + 100),
            shares: U32::new(shares),
            price: U32::new(price * 10_000),
            time_in_force: U32::new(99_999),
            display: b'Y',
            intermarket_sweep_eligibility: b'N',
            minimum_quantity: U32::new(0),
        }
        .as_bytes()
        .to_vec(),
        Msg::Modify { token, side, shares } => inbound::ModifyOrder {
            message_type: b'M',
            order_token: tok(token),
            buy_sell_indicator: side,
            shares: U32::new(shares),
        }
        .as_bytes()
        .to_vec(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_restart_rebuilds_every_stream_exactly(traffic in prop::collection::vec((any::<bool>(), msg()), 1..120)) {
        static CASE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let case = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tf-serve-prop-{}-{case}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // Every other case runs the engine on its own thread: the restart (one thread) must
        // still rebuild exactly what it sent.
        let venue = Venue::start(|c| {
            c.journal = Some(dir.clone());
            if case % 2 == 0 {
                c.matching = Some(tickforge_engine::gateway::matching::MatchingPlacement {
                    core: None,
                    wait: tickforge_engine::wait::WaitStrategy::PARKING,
                });
            }
        });
        let mut clients = [Client::connect(venue.addr), Client::connect(venue.addr)];
        for (c, user) in clients.iter_mut().zip(["demo", "demo2"]) {
            c.login(user, user, 0);
            prop_assert_eq!(c.next().unwrap().0, b'A');
        }
        for (second, m) in &traffic {
            clients[usize::from(*second)].send(b'U', &encode(m));
        }
        // A last order on each account, answered, so everything before it has been applied.
        for (k, c) in clients.iter_mut().enumerate() {
            c.send(b'U', &common::enter(&format!("LAST{k}"), b'B', 1, "SPY", 1_000_000));
            loop {
                if let tickforge_wire::ouch42::outbound::Message::Accepted(a) = c.sequenced() {
                    if a.order_token == Alpha::pad::<14>(&format!("LAST{k}")) {
                        break;
                    }
                }
            }
        }
        let before = venue.stop();
        let (hash, streams) = (before.state_hash(), [before.stream(0), before.stream(1)]);
        drop(before);
        let mut config = ServeConfig::demo();
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.journal = Some(dir.clone());
        let after = Server::bind(config).unwrap();
        prop_assert_eq!(after.state_hash(), hash);
        prop_assert_eq!(&after.stream(0), &streams[0]);
        prop_assert_eq!(&after.stream(1), &streams[1]);
        drop(after);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
