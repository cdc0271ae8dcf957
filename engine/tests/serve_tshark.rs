//! A whole `tickforge serve` session, recorded byte for byte on the client's side into a pcap
//! (both directions, as TCP segments of one stream) and decoded by tshark's `soupbintcp` and
//! `ouch` dissectors, which we did not write: every packet decodes, and the fields are what the
//! client sent and what the venue should have answered.

mod common;

use common::enter;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;
use tickforge_feed::net;
use tickforge_wire::ouch42::inbound;
use tickforge_wire::zerocopy::byteorder::big_endian::U32;
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::{soupbin, Alpha};

/// A client that records both directions of its connection.
struct Recorded {
    s: TcpStream,
    pcap: net::TcpConversation,
    received: Vec<u8>,
}

impl Recorded {
    fn connect(addr: std::net::SocketAddr) -> Recorded {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Recorded { s, pcap: net::TcpConversation::new(), received: Vec::new() }
    }

    fn send(&mut self, t: u8, payload: &[u8]) {
        let mut v = Vec::new();
        soupbin::write(&mut v, t, payload).unwrap();
        self.s.write_all(&v).unwrap();
        self.pcap.data(true, &v);
    }

    /// Reads until `n` more non-heartbeat packets have arrived; returns their types.
    fn expect(&mut self, n: usize) -> Vec<u8> {
        let mut types = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let mut rest = &self.received[..];
            types.clear();
            while let Ok(Some((p, used))) = soupbin::parse(rest, 65_535) {
                if p.packet_type() != b'H' {
                    types.push(p.packet_type());
                }
                rest = &rest[used..];
            }
            if types.len() >= n {
                return types;
            }
            let k = self.s.read(&mut chunk).unwrap();
            assert!(k > 0, "the server closed early");
            self.received.extend_from_slice(&chunk[..k]);
            self.pcap.data(false, &chunk[..k]);
        }
    }
}

fn login(user: &str) -> soupbin::LoginRequest {
    soupbin::LoginRequest {
        username: Alpha::pad(user),
        password: Alpha::pad(user),
        requested_session: Alpha::pad(""),
        requested_sequence_number: soupbin::numeric::<20>(1),
    }
}

#[test]
fn tshark_decodes_a_whole_serve_session() {
    if Command::new("tshark").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "tshark is required under CI (.ci/run installs it)");
        eprintln!("SKIPPED: tshark not installed");
        return;
    }
    let venue = common::Venue::start(|_| {});
    let mut a = Recorded::connect(venue.addr);
    a.send(b'L', login("demo").as_bytes());
    a.expect(2); // login accepted, then the start-of-day system event (sequence 1)
    a.send(b'U', &enter("TOKENA0000001", b'B', 300, "AAPL", 1_895_000));
    a.expect(3);
    // Another account sells 100 into it (not recorded: a different connection).
    let mut b = TcpStream::connect(venue.addr).unwrap();
    let mut v = Vec::new();
    soupbin::write(&mut v, b'L', login("demo2").as_bytes()).unwrap();
    soupbin::write(&mut v, b'U', &enter("TOKENB0000001", b'S', 100, "AAPL", 1_895_000)).unwrap();
    b.write_all(&v).unwrap();
    a.expect(4);
    let cancel =
        inbound::CancelOrder { message_type: b'X', order_token: Alpha::pad("TOKENA0000001"), shares: U32::new(50) };
    a.send(b'U', cancel.as_bytes());
    let types = a.expect(5);
    assert_eq!(types, [b'A', b'S', b'S', b'S', b'S']);
    a.send(b'O', &[]);
    drop(venue.stop());

    let dir = std::env::temp_dir().join(format!("tf-serve-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("serve.pcap");
    std::fs::write(&file, a.pcap.bytes()).unwrap();
    let fields = [
        "soupbintcp.packet_type",
        "soupbintcp.username",
        "soupbintcp.session",
        "ouch.packet_type",
        "ouch.order_token",
        "ouch.shares",
        "ouch.price",
        "ouch.stock",
        "ouch.executed_shares",
        "ouch.decrement_shares",
        "ouch.event_code",
    ];
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(&file).args([
        "-d",
        "tcp.port==15000,soupbintcp",
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let clean = |v: &str| v.split(',').map(|x| x.trim_matches('\'').trim().to_string()).collect::<Vec<_>>().join(",");
    // One row per TCP segment with SoupBinTCP in it; a segment may carry several packets.
    let rows: Vec<Vec<String>> =
        text.lines().map(|l| l.split('|').map(clean).collect::<Vec<String>>()).filter(|r| !r[0].is_empty()).collect();
    let all = |c: usize| {
        rows.iter()
            .flat_map(|r| r[c].split(',').map(str::to_string).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
    };
    assert_eq!(all(0), ["L", "A", "S", "U", "S", "S", "U", "S", "O"], "every SoupBinTCP packet, in order: {rows:?}");
    assert_eq!(all(1), ["demo"]);
    assert_eq!(all(2), ["TICKFORGE1"]);
    assert_eq!(all(3), ["S", "O", "A", "E", "X", "C"], "start of day, enter, accepted, executed, cancel, canceled");
    assert_eq!(all(10), ["S"], "the system event is start of day ('S')");
    assert!(all(4).iter().all(|t| t == "TOKENA0000001"), "{:?}", all(4));
    assert_eq!(all(5), ["300", "300", "50"], "shares: entered, accepted, cancel to 50");
    assert_eq!(all(7), ["AAPL", "AAPL"]);
    assert_eq!(all(8), ["100"], "executed 100 against the other account's sell");
    assert_eq!(all(9), ["150"], "300 - 100 executed, reduced to 50: 150 cancelled");
    let _ = std::fs::remove_dir_all(&dir);
}
