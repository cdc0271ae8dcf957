//! Load over loopback: many sessions on two accounts entering, cancelling and replacing orders
//! against `tickforge serve`'s event loop. Every order reaches exactly one final state, nothing
//! is lost or duplicated, the shares bought equal the shares sold, and the book is empty at the
//! end. The venue journals everything: replaying the journal with `tickforge replay` and
//! restarting a venue from it both give the same state hash. CI runs 32 sessions x 1,000
//! orders; the 32 x 100,000 is `--ignored`. And one session flooding the venue does not
//! starve another (what made the 32 x 100,000 run fail until the event loop's reads were fair).

mod common;

use std::time::Duration;
use tickforge_engine::gateway::client::{self, ClientConfig};
use tickforge_engine::gateway::matching::MatchingPlacement;

fn load(sessions: usize, orders: usize, matching: Option<MatchingPlacement>) {
    let dir = std::env::temp_dir().join(format!(
        "tf-serve-load-{sessions}x{orders}-{}-{}",
        matching.is_some(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let venue = common::Venue::start(|c| {
        c.journal = Some(dir.clone());
        c.matching = matching;
    });
    let addr = venue.addr;
    let report = client::run(&ClientConfig {
        connect: addr,
        accounts: vec![("demo".into(), "demo".into()), ("demo2".into(), "demo2".into())],
        sessions,
        orders,
        rate: None,
        symbol: "AAPL".into(),
        timeout: Duration::from_secs(30),
        run_tag: None,
    })
    .unwrap();
    let server = venue.stop();
    eprintln!("{}", report.to_text());
    assert_eq!(report.orders, (sessions * orders) as u64);
    assert_eq!((report.lost, report.duplicates), (0, 0), "{report:?}");
    assert_eq!(report.filled + report.canceled + report.rejected, report.orders, "one final state each");
    assert!(report.filled > 0 && report.replaced > 0, "the mix trades and replaces: {report:?}");
    assert_eq!(report.bought, report.sold, "every execution has two sides, both reported");
    assert_eq!(server.resting_orders(), 0, "everything still open was cancelled");
    assert_eq!(server.stats.bad_messages + server.stats.protocol_errors, 0);

    // The journal: the replay tool and a restarted venue both reach the same state.
    let hash = server.state_hash();
    let streams = (server.stream_len(0), server.stream_len(1));
    drop(server);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tickforge"))
        .args(["replay", "--format", "journal", "--json"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["state_hash"].as_str().unwrap(), format!("{hash:016x}"));
    let mut config = tickforge_engine::gateway::server::ServeConfig::demo();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.journal = Some(dir.clone());
    let restarted = tickforge_engine::gateway::server::Server::bind(config).unwrap();
    assert_eq!(restarted.state_hash(), hash);
    assert_eq!((restarted.stream_len(0), restarted.stream_len(1)), streams);
    drop(restarted);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn thirty_two_sessions_lose_and_duplicate_nothing() {
    load(32, 1_000, None);
}

/// The same with the engine on its own thread (rings both ways; yielding and parking waits,
/// since this machine may have 2 cores): same guarantees, and the journal it wrote replays
/// and restarts (on one thread) to its state hash.
#[test]
fn thirty_two_sessions_with_the_engine_on_its_own_thread() {
    load(32, 1_000, Some(MatchingPlacement { core: None, wait: tickforge_engine::wait::WaitStrategy::PARKING }));
}

#[test]
#[ignore = "the issue's full load: 3.2 million orders (minutes on 2 cores)"]
fn thirty_two_sessions_of_a_hundred_thousand_orders() {
    load(32, 100_000, None);
}

#[test]
fn a_silent_session_gets_heartbeats_then_is_disconnected() {
    use std::io::{Read, Write};
    let venue = common::Venue::start(|c| {
        c.soup.heartbeat_ns = 50_000_000;
        c.soup.timeout_ns = 300_000_000;
    });
    let mut s = std::net::TcpStream::connect(venue.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let login = tickforge_wire::soupbin::LoginRequest {
        username: tickforge_wire::Alpha::pad("demo"),
        password: tickforge_wire::Alpha::pad("demo"),
        requested_session: tickforge_wire::Alpha::pad(""),
        requested_sequence_number: tickforge_wire::soupbin::numeric::<20>(0),
    };
    let mut v = Vec::new();
    tickforge_wire::soupbin::write(&mut v, b'L', tickforge_wire::zerocopy::IntoBytes::as_bytes(&login)).unwrap();
    s.write_all(&v).unwrap();
    let started = std::time::Instant::now();
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) => panic!("the server should close the silent session: {e}"),
        }
    }
    let took = started.elapsed();
    let mut types = Vec::new();
    let mut rest = &got[..];
    while let Ok(Some((p, used))) = tickforge_wire::soupbin::parse(rest, 1024) {
        types.push(p.packet_type());
        rest = &rest[used..];
    }
    assert_eq!(types[0], b'A');
    assert!(types.iter().filter(|t| **t == b'H').count() >= 2, "heartbeats while silent: {types:?}");
    assert!(took >= Duration::from_millis(250), "disconnected after the timeout, not before: {took:?}");
    assert_eq!(venue.stop().stats.timeouts, 1);
}

/// Random bytes and malformed packets from many connections (before and after login) while
/// eight sessions trade: the traders see nothing wrong, the garbage sessions are ended.
#[test]
fn garbage_sessions_do_not_disturb_the_others() {
    use std::io::{Read, Write};
    let venue = common::Venue::start(|_| {});
    let addr = venue.addr;
    let garbage = std::thread::spawn(move || {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let login = tickforge_wire::soupbin::LoginRequest {
            username: tickforge_wire::Alpha::pad("demo"),
            password: tickforge_wire::Alpha::pad("demo"),
            requested_session: tickforge_wire::Alpha::pad(""),
            requested_sequence_number: tickforge_wire::soupbin::numeric::<20>(0),
        };
        for i in 0..200 {
            let Ok(mut s) = std::net::TcpStream::connect(addr) else { continue };
            let mut v = Vec::new();
            if i % 2 == 0 {
                tickforge_wire::soupbin::write(&mut v, b'L', tickforge_wire::zerocopy::IntoBytes::as_bytes(&login))
                    .unwrap();
            }
            match i % 5 {
                0 => v.extend((0..next() % 300).map(|_| next() as u8)), // random bytes
                1 => v.extend_from_slice(&[0xFF, 0xFF, b'U']),          // oversized length
                2 => v.extend_from_slice(&[0x00, 0x00]),                // length 0: no type
                3 => v.extend_from_slice(&[0x00, 0x03, b'?', 1, 2]),    // unknown packet type
                _ => v.extend_from_slice(&[0x00, 0x04, b'U', b'O', 1, 2]), // truncated OUCH enter
            }
            let _ = s.write_all(&v);
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut sink = [0u8; 4096];
            while matches!(s.read(&mut sink), Ok(n) if n > 0) {} // until the venue hangs up
        }
    });
    let report = client::run(&ClientConfig {
        connect: addr,
        accounts: vec![("demo".into(), "demo".into()), ("demo2".into(), "demo2".into())],
        sessions: 8,
        orders: 1_000,
        rate: None,
        symbol: "AAPL".into(),
        timeout: Duration::from_secs(30),
        run_tag: Some(*b"GB"),
    })
    .unwrap();
    garbage.join().unwrap();
    let server = venue.stop();
    assert_eq!((report.orders, report.lost, report.duplicates), (8_000, 0, 0), "{report:?}");
    assert_eq!(report.filled + report.canceled + report.rejected, report.orders);
    assert_eq!(report.bought, report.sold);
    assert_eq!(server.resting_orders(), 0);
    assert!(server.stats.protocol_errors + server.stats.bad_messages >= 150, "{:?}", server.stats);
    assert!(server.stats.connections >= 208, "{:?}", server.stats);
}

/// One session flooding the venue does not starve another. Session A (account `demo`) writes
/// 200,000 orders as fast as TCP takes them; once the first is accepted, session B (account
/// `demo2`) enters one. The venue numbers orders in the order it takes them, so B's order
/// reference says how many of A's went first: reading every socket at most 64 KiB a turn
/// (about 1,260 orders), 3,781 (debug) and 6,676 (release); reading A's socket until it would
/// block, as the loop once did, every one of them (200,001).
#[test]
fn a_flooding_session_does_not_starve_another() {
    use common::{enter, Client, Venue};
    use std::io::Write;
    use tickforge_wire::ouch42::outbound;

    let venue = Venue::start(|_| {});
    let mut a = Client::logged_in(venue.addr, "demo", "demo", 0);
    let mut b = Client::logged_in(venue.addr, "demo2", "demo2", 0);

    let flood = 200_000;
    let mut blob = Vec::new();
    for i in 0..flood {
        // Bids far below B's offer: nothing trades.
        tickforge_wire::soupbin::write(&mut blob, b'U', &enter(&format!("F{i}"), b'B', 1, "AAPL", 1_000_000)).unwrap();
    }
    let mut a_writer = a.s.try_clone().unwrap();
    let writer = std::thread::spawn(move || a_writer.write_all(&blob));
    assert!(matches!(a.sequenced(), outbound::Message::Accepted(_)), "the flood has begun");

    b.send(b'U', &enter("B0", b'S', 1, "AAPL", 2_000_000));
    let reference = match b.sequenced() {
        outbound::Message::Accepted(m) => m.order_reference_number.get(),
        other => panic!("B's order: {other:?}"),
    };
    // Drain A's answers so its writer can finish, then stop.
    let mut accepted = 1;
    while accepted < flood {
        match a.next() {
            Some((b'S', _)) => accepted += 1,
            Some(_) => {}
            None => break,
        }
    }
    writer.join().unwrap().unwrap();
    drop(venue.stop());
    assert_eq!(accepted, flood, "every one of A's orders accepted");
    assert!(reference < flood as u64 / 2, "B's order was taken after {reference} of A's {flood}: starved");
    eprintln!("B's order was the venue's order {reference} of {}", flood + 1);
}
