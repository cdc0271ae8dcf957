//! `tickforge serve`'s event loop over loopback TCP: two accounts log in, trade with each
//! other, cancel; a session logs in again from sequence 1 and gets its whole stream replayed;
//! a wrong password is rejected; a session sending garbage is disconnected while the others
//! carry on; a session whose last order and end of stream arrive together is ended at once.

mod common;

use common::{enter, Client, Venue};
use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};
use tickforge_wire::ouch42::{inbound, outbound};
use tickforge_wire::zerocopy::byteorder::big_endian::U32;
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::Alpha;

#[test]
fn sessions_trade_recover_and_survive_garbage() {
    let venue = common::Venue::start(|_| {});
    let addr = venue.addr;

    let mut a = Client::logged_in(addr, "demo", "demo", 1);
    assert!(
        matches!(a.sequenced(), outbound::Message::SystemEvent(e) if e.event_code == b'S'),
        "every account's stream starts with the start-of-day event"
    );
    let mut b = Client::logged_in(addr, "demo2", "demo2", 0);
    let mut bad = Client::connect(addr);
    bad.login("demo", "wrong", 0);
    assert_eq!(bad.next(), Some((b'J', vec![b'A'])), "wrong password: not authorised");

    a.send(b'U', &enter("BUY1", b'B', 100, "AAPL", 1_500_000));
    assert!(matches!(a.sequenced(), outbound::Message::Accepted(x) if x.shares.get() == 100));

    // A garbage session: logged in, then random bytes. It is disconnected; nobody else notices.
    let mut g = Client::logged_in(addr, "demo2", "demo2", 0);
    g.s.write_all(&[0x00, 0x05, b'U', 0xde, 0xad, 0xbe, 0xef, 0x00, 0x10, b'?', 1, 2, 3]).unwrap();
    assert_eq!(g.next().map(|p| p.0), Some(b'Z'), "a message that is not OUCH ends the session");
    assert_eq!(g.next(), None, "and the connection closes");

    b.send(b'U', &enter("SELL1", b'S', 60, "AAPL", 1_500_000));
    assert!(matches!(b.sequenced(), outbound::Message::Accepted(_)));
    assert!(
        matches!(b.sequenced(), outbound::Message::Executed(e) if e.liquidity_flag == b'R' && e.executed_shares.get() == 60)
    );
    assert!(
        matches!(a.sequenced(), outbound::Message::Executed(e) if e.liquidity_flag == b'A' && e.executed_shares.get() == 60)
    );

    let cancel = inbound::CancelOrder { message_type: b'X', order_token: Alpha::pad("BUY1"), shares: U32::new(0) };
    a.send(b'U', cancel.as_bytes());
    assert!(matches!(a.sequenced(), outbound::Message::Canceled(c) if c.decrement_shares.get() == 40));
    a.send(b'O', &[]);

    // Log in again from sequence 1: accepted, executed, canceled again, in order.
    let mut again = Client::connect(addr);
    again.login("demo", "demo", 1);
    let (t, accepted) = again.next().unwrap();
    assert_eq!(t, b'A');
    assert_eq!(std::str::from_utf8(&accepted[10..]).unwrap().trim(), "1");
    assert!(matches!(again.sequenced(), outbound::Message::SystemEvent(_)));
    assert!(matches!(again.sequenced(), outbound::Message::Accepted(_)));
    assert!(matches!(again.sequenced(), outbound::Message::Executed(_)));
    assert!(matches!(again.sequenced(), outbound::Message::Canceled(_)));

    let server = venue.stop();
    assert_eq!(server.resting_orders(), 0);
    assert_eq!((server.stats.logins, server.stats.rejected_logins, server.stats.bad_messages), (4, 1, 1));
}

/// The event loop stops reading a socket at a short read (the receive queue is then empty and
/// new bytes raise a new event), except where the readiness event says the peer has shut down:
/// an end of stream queued behind the last bytes raises no event of its own. A client that
/// sends an order and shuts down its side at once usually puts both in the socket before the
/// venue reads it; the venue must then read on to the end of stream and close the session at
/// once, not leave it open until the 15 s silence timeout.
#[test]
fn an_end_of_stream_that_arrives_with_the_last_order_ends_the_session_at_once() {
    let venue = Venue::start(|c| c.accounts.iter_mut().for_each(|a| a.cancel_on_disconnect = true));
    for i in 0..40 {
        let mut c = Client::logged_in(venue.addr, "demo", "demo", 1);
        let mut packet = Vec::new();
        tickforge_wire::soupbin::write(&mut packet, b'U', &enter(&format!("EOS{i}"), b'B', 100, "AAPL", 1_000_000))
            .unwrap();
        c.s.write_all(&packet).unwrap();
        c.s.shutdown(Shutdown::Write).unwrap();
        // The venue's heartbeats keep each read short of its timeout; what counts is how long
        // until the venue closes the connection.
        let shut = Instant::now();
        let mut rest = Vec::new();
        c.s.read_to_end(&mut rest).expect("the venue closes the connection");
        let took = shut.elapsed();
        assert!(took < Duration::from_secs(5), "session {i}: the venue closed the connection only after {took:?}");
    }
    let server = venue.stop();
    assert_eq!(server.stats.logins, 40);
    assert_eq!(server.resting_orders(), 0, "each session's order canceled when it ended");
}
