//! Helpers shared by the gateway tests: a venue on a loopback port, and OUCH 4.2 messages.
#![allow(dead_code, reason = "each test file uses the helpers it needs")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tickforge_engine::gateway::server::{ServeConfig, Server};
use tickforge_wire::ouch42::inbound;
use tickforge_wire::zerocopy::byteorder::big_endian::U32;
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
        let mut config = ServeConfig::demo();
        config.listen = "127.0.0.1:0".parse().unwrap();
        tweak(&mut config);
        let mut server = Server::bind(config).unwrap();
        let addr = server.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let stop = stop.clone();
            std::thread::spawn(move || {
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
    inbound::EnterOrder {
        message_type: b'O',
        order_token: Alpha::pad(token),
        buy_sell_indicator: side,
        shares: U32::new(shares),
        stock: Alpha::pad(stock),
        price: U32::new(price),
        time_in_force: U32::new(99_999),
        firm: *b"DEMO",
        display: b'Y',
        capacity: b'A',
        intermarket_sweep_eligibility: b'N',
        minimum_quantity: U32::new(0),
        cross_type: b'N',
        customer_type: b'R',
    }
    .as_bytes()
    .to_vec()
}
