//! Live MoldUDP64: a publisher with a retransmission server, and a receiver that recovers lost
//! datagrams by re-requesting them.
//!
//! Both cores are sans-I/O state machines that take the time as an argument and hand the
//! datagrams they want sent to a callback, so they are deterministic and tested without
//! sockets; [`udp`] wraps them around non-blocking `UdpSocket`s.
//!
//! # Publisher
//!
//! [`Publisher::publish`] appends a message to the packet being built and to the message store
//! (every message ever published, by sequence number: what the retransmission server answers
//! from), and sends the packet when the next message would not fit. [`Publisher::flush`] sends a
//! partial packet (call it when the input goes quiet); [`Publisher::tick`] sends a heartbeat
//! when nothing was sent for the heartbeat interval; [`Publisher::end_session`] sends the
//! end-of-session packet. [`Publisher::retransmit`] answers a re-request packet with the
//! messages asked for (at most [`MAX_RETRANSMIT`] per request), in packets of the usual size.
//!
//! The store is the publisher's own, in memory: the ITCH stream is a deterministic function of
//! the engine's journal, so after a restart it is rebuilt by replaying the journal, and keeping
//! the bytes as sent makes a retransmission a copy rather than a re-encoding.
//!
//! # Receiver
//!
//! [`Receiver::on_packet`] delivers messages in sequence order exactly once. A packet whose
//! first sequence is beyond the next expected one (or a heartbeat or end of session announcing
//! a later sequence) opens a gap: messages after it are held, and a re-request for the missing
//! range is sent at once and again every `retry` until the range arrives; after `max_tries`
//! the missing messages are counted as lost and delivery moves on. Duplicates (a packet seen
//! twice, or a retransmission of something that arrived after all) are dropped and counted.

pub mod publisher;
pub mod receiver;
pub mod udp;

pub use publisher::Publisher;
pub use receiver::{Receiver, ReceiverConfig, ReceiverStats};

/// Most messages one re-request is answered with; a receiver missing more asks again.
pub const MAX_RETRANSMIT: u64 = 4096;

/// A session name padded to MoldUDP64's 10 bytes.
pub fn session(name: &str) -> [u8; 10] {
    tickforge_wire::Alpha::pad(name)
}
