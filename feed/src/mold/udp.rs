//! The MoldUDP64 publisher and receiver on UDP sockets.
//!
//! The publisher sends data, heartbeats and end of session from one socket to the data address
//! (unicast, or a multicast group), and answers re-requests that arrive on a second socket (its
//! retransmission server), replying to whoever asked. It can drop a fraction of the datagrams it
//! sends on purpose (a seeded, deterministic choice) to test recovery, and can write every
//! datagram it sends into a pcap, so independent tools can check the traffic.
//!
//! The receiver reads the data address, sends re-requests from the same socket (so
//! retransmissions come back to it), and runs until the session ends and nothing is missing.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "the sockets around the sans-I/O cores: pacing and linger read the clock"
)]

use super::{Publisher, Receiver, ReceiverConfig};
use crate::net::{self, Endpoints};
use crate::pcap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

fn v4(addr: SocketAddr) -> ([u8; 4], u16) {
    match addr {
        SocketAddr::V4(a) => (a.ip().octets(), a.port()),
        SocketAddr::V6(a) => ([0; 4], a.port()),
    }
}

/// A seeded choice of datagrams to drop.
#[derive(Debug, Clone)]
struct Dropper {
    state: u64,
    per_million: u64,
}

impl Dropper {
    fn drop_next(&mut self) -> bool {
        // xorshift64*: deterministic for a seed.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) % 1_000_000 < self.per_million
    }
}

/// Where the publisher's datagrams go, and what happens to them on the way.
#[derive(Debug)]
struct Wire {
    drop: Option<Dropper>,
    tee: Option<pcap::Writer>,
    started: Instant,
    sent: u64,
    dropped: u64,
    send_errors: u64,
}

impl Wire {
    fn send(&mut self, from: &UdpSocket, to: SocketAddr, datagram: &[u8]) {
        if let Some(tee) = &mut self.tee {
            let (src, src_port) = v4(from.local_addr().unwrap_or(to));
            let (dst, dst_port) = v4(to);
            let ep = Endpoints { src, dst, src_port, dst_port };
            tee.frame(self.started.elapsed().as_nanos() as u64, &net::udp_frame(&ep, datagram));
        }
        if self.drop.as_mut().is_some_and(Dropper::drop_next) {
            self.dropped += 1;
            return;
        }
        match from.send_to(datagram, to) {
            Ok(_) => self.sent += 1,
            Err(_) => self.send_errors += 1, // nobody listening yet, or a full buffer: like the network
        }
    }
}

/// A publisher on sockets; see the module docs.
#[derive(Debug)]
pub struct UdpPublisher {
    core: Publisher,
    wire: Wire,
    data: UdpSocket,
    dest: SocketAddr,
    rerequests: UdpSocket,
    buf: Vec<u8>,
}

impl UdpPublisher {
    /// Publishes `session` to `dest`, serving re-requests on `rerequest_bind` (port 0: any).
    pub fn bind(
        dest: SocketAddr,
        rerequest_bind: SocketAddr,
        session: [u8; 10],
        max_len: usize,
        heartbeat: Duration,
    ) -> io::Result<UdpPublisher> {
        let bind_any: SocketAddr = if dest.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().expect("literal");
        let socket = UdpSocket::bind(if dest.ip().is_loopback() { SocketAddr::new(dest.ip(), 0) } else { bind_any })?;
        if dest.ip().is_multicast() && dest.is_ipv4() {
            socket.set_multicast_loop_v4(true)?;
        }
        let rerequests = UdpSocket::bind(rerequest_bind)?;
        rerequests.set_nonblocking(true)?;
        Ok(UdpPublisher {
            core: Publisher::new(session, max_len, heartbeat.as_nanos() as u64),
            data: socket,
            dest,
            wire: Wire { drop: None, tee: None, started: Instant::now(), sent: 0, dropped: 0, send_errors: 0 },
            rerequests,
            buf: vec![0; 64 * 1024],
        })
    }

    /// Drops `per_million` of the datagrams sent (data and retransmissions), chosen by `seed`.
    pub fn drop_datagrams(&mut self, per_million: u64, seed: u64) {
        self.wire.drop = Some(Dropper { state: seed | 1, per_million });
    }

    /// Records every datagram sent (dropped ones included) in a pcap.
    pub fn tee(&mut self) {
        self.wire.tee = Some(pcap::Writer::new(pcap::LINKTYPE_ETHERNET));
    }

    /// The pcap of what was sent, if [`UdpPublisher::tee`] was called.
    pub fn tee_bytes(&self) -> Option<&[u8]> {
        self.wire.tee.as_ref().map(pcap::Writer::bytes)
    }

    /// The retransmission server's address.
    pub fn rerequest_addr(&self) -> io::Result<SocketAddr> {
        self.rerequests.local_addr()
    }

    fn now(&self) -> u64 {
        self.wire.started.elapsed().as_nanos() as u64
    }

    /// Publishes one message; answers pending re-requests whenever a packet goes out.
    pub fn publish(&mut self, msg: &[u8]) {
        let now = self.now();
        let before = self.core.packets;
        let (wire, socket, dest) = (&mut self.wire, &self.data, self.dest);
        self.core.publish(msg, now, &mut |d| wire.send(socket, dest, d));
        if self.core.packets != before {
            self.serve_requests();
        }
    }

    /// Gives a message its sequence number and keeps it for retransmission without sending it:
    /// how a restarted venue rebuilds the stream it had already sent, so that numbering
    /// continues and receivers that missed anything re-request it.
    pub fn publish_unsent(&mut self, msg: &[u8]) {
        let now = self.now();
        let (wire, socket, dest) = (&mut self.wire, &self.data, self.dest);
        self.core.publish_unsent(msg, now, &mut |d| wire.send(socket, dest, d));
    }

    /// Sends what is buffered, a heartbeat if due, and answers re-requests.
    pub fn tick(&mut self) {
        let now = self.now();
        let (wire, socket, dest) = (&mut self.wire, &self.data, self.dest);
        self.core.tick(now, &mut |d| wire.send(socket, dest, d));
        self.serve_requests();
    }

    /// Answers every re-request waiting on the retransmission socket.
    pub fn serve_requests(&mut self) {
        loop {
            match self.rerequests.recv_from(&mut self.buf) {
                Ok((n, from)) => {
                    let (core, wire, rerequests) = (&mut self.core, &mut self.wire, &self.rerequests);
                    core.retransmit(&self.buf[..n], &mut |d| wire.send(rerequests, from, d));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => break, // e.g. ICMP unreachable reported on the socket: nothing to answer
            }
        }
    }

    /// Flushes and sends end of session.
    pub fn end_session(&mut self) {
        let now = self.now();
        let (wire, socket, dest) = (&mut self.wire, &self.data, self.dest);
        self.core.end_session(now, &mut |d| wire.send(socket, dest, d));
    }

    /// Keeps answering re-requests for `linger` (after end of session, for late receivers).
    pub fn linger(&mut self, linger: Duration) {
        let until = Instant::now() + linger;
        while Instant::now() < until {
            self.serve_requests();
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// The core's counters.
    pub fn publisher(&self) -> &Publisher {
        &self.core
    }

    /// Datagrams sent, dropped on purpose, and failed to send.
    pub fn datagrams(&self) -> (u64, u64, u64) {
        (self.wire.sent, self.wire.dropped, self.wire.send_errors)
    }
}

/// A receiver on a socket; see the module docs.
#[derive(Debug)]
pub struct UdpReceiver {
    /// The state machine.
    pub core: Receiver,
    socket: UdpSocket,
    rerequest_to: SocketAddr,
}

impl UdpReceiver {
    /// Listens on `bind` (joining it if it is a multicast group) and sends re-requests to
    /// `rerequest_to`.
    pub fn bind(bind: SocketAddr, rerequest_to: SocketAddr, config: ReceiverConfig) -> io::Result<UdpReceiver> {
        let socket = match bind.ip() {
            std::net::IpAddr::V4(group) if group.is_multicast() => {
                let s = UdpSocket::bind(SocketAddr::new([0, 0, 0, 0].into(), bind.port()))?;
                s.join_multicast_v4(&group, &[0, 0, 0, 0].into())?;
                s
            }
            _ => UdpSocket::bind(bind)?,
        };
        socket.set_read_timeout(Some(Duration::from_millis(2)))?;
        Ok(UdpReceiver { core: Receiver::new(config), socket, rerequest_to })
    }

    /// Sends re-requests to `addr` from now on.
    pub fn set_rerequest_to(&mut self, addr: SocketAddr) {
        self.rerequest_to = addr;
    }

    /// The socket's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Receives until the session ended and nothing is missing, or `timeout` passes; every
    /// message goes to `deliver` in order. Returns whether the session completed.
    pub fn run(&mut self, timeout: Duration, mut deliver: impl FnMut(u64, &[u8])) -> io::Result<bool> {
        let started = Instant::now();
        let mut buf = vec![0u8; 64 * 1024];
        let (socket, to) = (&self.socket, self.rerequest_to);
        let mut request = |p: &[u8]| {
            let _ = socket.send_to(p, to);
        };
        while !self.core.is_complete() {
            if started.elapsed() > timeout {
                return Ok(false);
            }
            let now = started.elapsed().as_nanos() as u64;
            match self.socket.recv(&mut buf) {
                Ok(n) => self.core.on_packet(&buf[..n], now, &mut deliver, &mut request),
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {} // the server is not up yet
                Err(e) => return Err(e),
            }
            self.core.tick(now, &mut deliver, &mut request);
        }
        Ok(true)
    }
}
