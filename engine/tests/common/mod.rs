//! Helpers shared by the gateway tests: a venue on a loopback port, and OUCH 4.2 messages.
#![allow(dead_code, reason = "each test file uses the helpers it needs")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tickforge_engine::gateway::server::{ServeConfig, Server};
use tickforge_wire::ouch42::inbound;
use tickforge_wire::ouch42::outbound;
use tickforge_wire::soupbin;
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::Alpha;

/// A running `tickforge serve` on a free loopback port.
pub(crate) struct Venue {
    pub(crate) addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Server>,
}

impl Venue {
    /// Starts the demo venue with `tweak` applied to its config.
    pub(crate) fn start(tweak: impl FnOnce(&mut ServeConfig)) -> Venue {
        Venue::start_on(tweak, || {})
    }

    /// The same, running `on_thread` first on the venue's own thread.
    pub(crate) fn start_on(tweak: impl FnOnce(&mut ServeConfig), on_thread: impl FnOnce() + Send + 'static) -> Venue {
        let mut config = ServeConfig::demo();
        config.listen = "127.0.0.1:0".parse().unwrap();
        tweak(&mut config);
        let mut server = Server::bind(config).unwrap();
        let addr = server.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                on_thread();
                server.run(&stop).unwrap();
                server
            })
        };
        Venue { addr, stop, handle }
    }

    /// Stops it and hands back the server, for its counters and book.
    pub(crate) fn stop(self) -> Server {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

/// An OUCH 4.2 enter order for `stock`, day order, visible.
pub(crate) fn enter(token: &str, side: u8, shares: u32, stock: &str, price: u32) -> Vec<u8> {
    inbound::EnterOrder::day(Alpha::pad(token), side, shares, Alpha::pad(stock), price, *b"DEMO").as_bytes().to_vec()
}

/// A SoupBinTCP client over a blocking socket (5 s read timeout).
pub(crate) struct Client {
    pub(crate) s: TcpStream,
    pub(crate) buf: Vec<u8>,
}

impl Client {
    pub(crate) fn connect(addr: std::net::SocketAddr) -> Client {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.set_nodelay(true).unwrap();
        Client { s, buf: Vec::new() }
    }

    /// Connects and logs in as `user` from sequence number `seq`, checking the login is accepted.
    pub(crate) fn logged_in(addr: std::net::SocketAddr, user: &str, password: &str, seq: u64) -> Client {
        let mut c = Client::connect(addr);
        c.login(user, password, seq);
        assert_eq!(c.next().unwrap().0, b'A', "login as {user} accepted");
        c
    }

    pub(crate) fn send(&mut self, t: u8, payload: &[u8]) {
        let mut v = Vec::new();
        soupbin::write(&mut v, t, payload).unwrap();
        self.s.write_all(&v).unwrap();
    }

    pub(crate) fn login(&mut self, user: &str, password: &str, seq: u64) {
        let l = soupbin::LoginRequest {
            username: Alpha::pad(user),
            password: Alpha::pad(password),
            requested_session: Alpha::pad(""),
            requested_sequence_number: soupbin::numeric::<20>(seq),
        };
        self.send(b'L', l.as_bytes());
    }

    /// The next packet that is not a heartbeat: (type, payload).
    pub(crate) fn next(&mut self) -> Option<(u8, Vec<u8>)> {
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

    pub(crate) fn sequenced(&mut self) -> outbound::Message<'static> {
        let (t, p) = self.next().expect("a sequenced message");
        assert_eq!(t, b'S');
        outbound::decode(Box::leak(p.into_boxed_slice())).unwrap()
    }
}
