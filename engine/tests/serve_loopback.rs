//! `tickforge serve`'s event loop over loopback TCP: two accounts log in, trade with each
//! other, cancel; a session logs in again from sequence 1 and gets its whole stream replayed;
//! a wrong password is rejected; a session sending garbage is disconnected while the others
//! carry on.

mod common;

use common::enter;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use tickforge_wire::ouch42::{inbound, outbound};
use tickforge_wire::zerocopy::byteorder::big_endian::U32;
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::{soupbin, Alpha};

struct Client {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: std::net::SocketAddr) -> Client {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.set_nodelay(true).unwrap();
        Client { s, buf: Vec::new() }
    }

    fn send(&mut self, t: u8, payload: &[u8]) {
        let mut v = Vec::new();
        soupbin::write(&mut v, t, payload).unwrap();
        self.s.write_all(&v).unwrap();
    }

    fn login(&mut self, user: &str, password: &str, seq: u64) {
        let l = soupbin::LoginRequest {
            username: Alpha::pad(user),
            password: Alpha::pad(password),
            requested_session: Alpha::pad(""),
            requested_sequence_number: soupbin::numeric::<20>(seq),
        };
        self.send(b'L', l.as_bytes());
    }

    /// The next packet that is not a heartbeat: (type, payload).
    fn next(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if let Ok(Some((p, used))) = soupbin::parse(&self.buf, 65_535) {
                let t = p.packet_type();
                let payload = match p {
                    soupbin::Packet::SequencedData(d) => d.to_vec(),
                    soupbin::Packet::LoginAccepted(a) => a.as_bytes().to_vec(),
                    soupbin::Packet::LoginRejected(r) => vec![r],
                    _ => Vec::new(),
                };
                self.buf.drain(..used);
                if t == b'H' {
                    continue;
                }
                return Some((t, payload));
            }
            let mut chunk = [0u8; 4096];
            match self.s.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    fn sequenced(&mut self) -> outbound::Message<'static> {
        let (t, p) = self.next().expect("a sequenced message");
        assert_eq!(t, b'S');
        outbound::decode(Box::leak(p.into_boxed_slice())).unwrap()
    }
}

#[test]
fn sessions_trade_recover_and_survive_garbage() {
    let venue = common::Venue::start(|_| {});
    let addr = venue.addr;

    let mut a = Client::connect(addr);
    a.login("demo", "demo", 1);
    assert_eq!(a.next().unwrap().0, b'A');
    let mut b = Client::connect(addr);
    b.login("demo2", "demo2", 0);
    assert_eq!(b.next().unwrap().0, b'A');
    let mut bad = Client::connect(addr);
    bad.login("demo", "wrong", 0);
    assert_eq!(bad.next(), Some((b'J', vec![b'A'])), "wrong password: not authorised");

    a.send(b'U', &enter("BUY1", b'B', 100, "AAPL", 1_500_000));
    assert!(matches!(a.sequenced(), outbound::Message::Accepted(x) if x.shares.get() == 100));

    // A garbage session: logged in, then random bytes. It is disconnected; nobody else notices.
    let mut g = Client::connect(addr);
    g.login("demo2", "demo2", 0);
    assert_eq!(g.next().unwrap().0, b'A');
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
    assert!(matches!(again.sequenced(), outbound::Message::Accepted(_)));
    assert!(matches!(again.sequenced(), outbound::Message::Executed(_)));
    assert!(matches!(again.sequenced(), outbound::Message::Canceled(_)));

    let server = venue.stop();
    assert_eq!(server.resting_orders(), 0);
    assert_eq!((server.stats.logins, server.stats.rejected_logins, server.stats.bad_messages), (4, 1, 1));
}
