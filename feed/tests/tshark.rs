//! Our bytes, decoded by a tool we did not write: tshark's built-in `soupbintcp`, `ouch` and
//! `moldudp64` dissectors read pcaps we build from our encoders, and must report the same field
//! values we put in.
//!
//! Skips with a notice when tshark is not installed, except under CI (`CI` set), where
//! `.ci/run` installs it and a missing tshark is a failure.

use std::path::Path;
use std::process::Command;
use tickforge_feed::net::{self, Endpoints};
use tickforge_feed::pcap;
use tickforge_wire::ouch42::{inbound, outbound};
use tickforge_wire::zerocopy::byteorder::big_endian::{U32, U64};
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::{itch, moldudp64, soupbin, Alpha, Timestamp48};

fn tshark_available() -> bool {
    let ok = Command::new("tshark").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "tshark is required under CI (.ci/run installs it)");
        eprintln!("SKIPPED: tshark not installed (apt-get install tshark)");
    }
    ok
}

fn tshark_fields(file: &Path, decode_as: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file).args([
        "-d",
        decode_as,
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
    let out = cmd.output().expect("run tshark");
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    // FT_CHAR fields print quoted ('L'); Alpha fields keep their padding. Normalise both.
    let clean = |v: &str| v.split(',').map(|x| x.trim_matches('\'').trim()).collect::<Vec<_>>().join(",");
    String::from_utf8(out.stdout).unwrap().lines().map(|l| l.split('|').map(clean).collect()).collect()
}

fn token(s: &str) -> [u8; 14] {
    Alpha::pad(s)
}

/// A recorded SoupBinTCP conversation.
struct Tcp(net::TcpConversation);

impl Tcp {
    fn packet(&mut self, from_client: bool, packet_type: u8, payload: &[u8]) {
        let mut p = Vec::new();
        soupbin::write(&mut p, packet_type, payload).unwrap();
        self.0.data(from_client, &p);
    }
}

#[test]
fn tshark_decodes_our_soupbintcp_and_ouch42_session() {
    if !tshark_available() {
        return;
    }
    let mut s = Tcp(net::TcpConversation::new());
    let login = soupbin::LoginRequest {
        username: Alpha::pad("demo"),
        password: Alpha::pad("secret"),
        requested_session: [b' '; 10],
        requested_sequence_number: soupbin::numeric(1),
    };
    s.packet(true, b'L', login.as_bytes());
    let accepted = soupbin::LoginAccepted { session: Alpha::pad("TF00000001"), sequence_number: soupbin::numeric(1) };
    s.packet(false, b'A', accepted.as_bytes());
    let ts = U64::new(34_200_000_000_123);
    s.packet(false, b'S', outbound::SystemEvent { message_type: b'S', timestamp: ts, event_code: b'S' }.as_bytes());
    let enter = inbound::EnterOrder {
        message_type: b'O',
        order_token: token("TOKEN00000001"),
        buy_sell_indicator: b'B',
        shares: U32::new(300),
        stock: Alpha::pad("AAPL"),
        price: U32::new(1_895_000),
        time_in_force: U32::new(99_999),
        firm: Alpha::pad("TFRG"),
        display: b'Y',
        capacity: b'A',
        intermarket_sweep_eligibility: b'N',
        minimum_quantity: U32::new(0),
        cross_type: b'N',
        customer_type: b'R',
    };
    s.packet(true, b'U', enter.as_bytes());
    let acc = outbound::Accepted {
        message_type: b'A',
        timestamp: ts,
        order_token: token("TOKEN00000001"),
        buy_sell_indicator: b'B',
        shares: U32::new(300),
        stock: Alpha::pad("AAPL"),
        price: U32::new(1_895_000),
        time_in_force: U32::new(99_999),
        firm: Alpha::pad("TFRG"),
        display: b'Y',
        order_reference_number: U64::new(777),
        capacity: b'A',
        intermarket_sweep_eligibility: b'N',
        minimum_quantity: U32::new(0),
        cross_type: b'N',
        order_state: b'L',
        bbo_weight_indicator: b' ',
    };
    s.packet(false, b'S', acc.as_bytes());
    let exec = outbound::Executed {
        message_type: b'E',
        timestamp: ts,
        order_token: token("TOKEN00000001"),
        executed_shares: U32::new(100),
        execution_price: U32::new(1_895_000),
        liquidity_flag: b'A',
        match_number: U64::new(4242),
    };
    s.packet(false, b'S', exec.as_bytes());
    let cancel = inbound::CancelOrder { message_type: b'X', order_token: token("TOKEN00000001"), shares: U32::new(50) };
    s.packet(true, b'U', cancel.as_bytes());
    let canceled = outbound::Canceled {
        message_type: b'C',
        timestamp: ts,
        order_token: token("TOKEN00000001"),
        decrement_shares: U32::new(150),
        cancel_order_reason: b'U',
    };
    s.packet(false, b'S', canceled.as_bytes());
    let replace = inbound::ReplaceOrder {
        message_type: b'U',
        existing_order_token: token("TOKEN00000001"),
        replacement_order_token_token_14: token("TOKEN00000002"),
        shares: U32::new(500),
        price: U32::new(1_890_000),
        time_in_force: U32::new(99_999),
        display: b'Y',
        intermarket_sweep_eligibility: b'N',
        minimum_quantity: U32::new(0),
    };
    s.packet(true, b'U', replace.as_bytes());
    let rejected = outbound::Rejected {
        message_type: b'J',
        timestamp: ts,
        order_token: token("TOKEN00000009"),
        rejected_order_reason: b'X',
    };
    s.packet(false, b'S', rejected.as_bytes());
    let broken = outbound::BrokenTrade {
        message_type: b'B',
        timestamp: ts,
        order_token: token("TOKEN00000001"),
        match_number: U64::new(4242),
        broken_trade_reason: b'E',
    };
    s.packet(false, b'S', broken.as_bytes());
    s.packet(true, b'R', &[]);
    s.packet(false, b'H', &[]);
    s.packet(false, b'+', b"debug text");
    s.packet(true, b'O', &[]);
    s.packet(false, b'Z', &[]);
    s.packet(false, b'J', b"A");

    let dir = std::env::temp_dir().join(format!("tickforge-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ouch42.pcap");
    std::fs::write(&file, s.0.bytes()).unwrap();
    let rows = tshark_fields(
        &file,
        "tcp.port==15000,soupbintcp",
        &[
            "soupbintcp.packet_type",
            "soupbintcp.username",
            "soupbintcp.session",
            "soupbintcp.next_seq_num",
            "ouch.packet_type",
            "ouch.order_token",
            "ouch.shares",
            "ouch.price",
            "ouch.stock",
            "ouch.order_reference_number",
            "ouch.match_number",
            "ouch.executed_shares",
            "ouch.decrement_shares",
            "ouch.replacement_order_token",
            "ouch.reject_reason",
            "ouch.event_code",
            "soupbintcp.text",
            "soupbintcp.reject_code",
            "ouch.existing_order_token",
        ],
    );
    let data: Vec<&Vec<String>> = rows.iter().filter(|r| !r[0].is_empty()).collect();
    let col = |i: usize, c: usize| data[i][c].as_str();
    let expect_types = ["L", "A", "S", "U", "S", "S", "U", "S", "U", "S", "S", "R", "H", "+", "O", "Z", "J"];
    assert_eq!(data.len(), expect_types.len(), "every SoupBinTCP packet decoded: {rows:?}");
    for (i, t) in expect_types.iter().enumerate() {
        assert_eq!(col(i, 0), *t, "packet {i}: {:?}", data[i]);
    }
    assert_eq!(col(0, 1), "demo");
    assert_eq!(col(1, 2), "TF00000001");
    // tshark's `-T fields` prints the numeric sequence fields as a placeholder; its tree view has
    // the values, so read those there.
    let text = Command::new("tshark")
        .arg("-r")
        .arg(&file)
        .args(["-d", "tcp.port==15000,soupbintcp", "-O", "soupbintcp"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Requested sequence number: 1"), "{text}");
    assert!(text.contains("Next sequence number: 1"), "{text}");
    for n in 1..=6 {
        assert!(text.contains(&format!("Sequence number: {n} (Calculated)")), "sequenced message {n}");
    }
    // OUCH messages: type, token, shares, price, stock, reference, match, executed, decrement.
    assert_eq!((col(2, 4), col(2, 15)), ("S", "S"));
    assert_eq!(
        (col(3, 4), col(3, 5), col(3, 6), col(3, 7), col(3, 8)),
        ("O", "TOKEN00000001", "300", "1895000", "AAPL")
    );
    assert_eq!((col(4, 4), col(4, 5), col(4, 9)), ("A", "TOKEN00000001", "777"));
    assert_eq!((col(5, 4), col(5, 10), col(5, 11)), ("E", "4242", "100"));
    assert_eq!((col(6, 4), col(6, 6)), ("X", "50"));
    assert_eq!((col(7, 4), col(7, 12)), ("C", "150"));
    assert_eq!((col(8, 4), col(8, 5), col(8, 13), col(8, 6), col(8, 7)), ("U", "", "TOKEN00000002", "500", "1890000"));
    assert_eq!(col(8, 18), "TOKEN00000001", "existing token of the replace");
    assert_eq!((col(9, 4), col(9, 14)), ("J", "X"));
    assert_eq!((col(10, 4), col(10, 10)), ("B", "4242"));
    assert_eq!(col(13, 16), "debug text");
    assert_eq!(col(16, 17), "A");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tshark_decodes_our_moldudp64_packets() {
    if !tshark_available() {
        return;
    }
    let ep = Endpoints { src: [127, 0, 0, 1], dst: [127, 0, 0, 1], src_port: 26400, dst_port: 26477 };
    let mut w = pcap::Writer::new(pcap::LINKTYPE_ETHERNET);
    let session = Alpha::pad("TFSESSION1");
    let mut b = moldudp64::PacketBuilder::new(session, 1, 1400);
    let mut seq = 1u64;
    let mut expected = Vec::new();
    for n in 0..3u64 {
        b.reset(seq);
        for k in 0..(n + 2) {
            let d = itch::OrderDelete {
                message_type: b'D',
                stock_locate: 1.into(),
                tracking_number: 0.into(),
                timestamp: Timestamp48::new(34_200_000_000_000 + k),
                order_reference_number: U64::new(seq + k),
            };
            assert!(b.push(d.as_bytes()));
        }
        expected.push((seq, n + 2));
        w.frame(1_700_000_000_000_000_000 + n, &net::udp_frame(&ep, b.bytes()));
        seq += n + 2;
    }
    w.frame(1_700_000_001_000_000_000, &net::udp_frame(&ep, &moldudp64::header_packet(session, seq, 0)));
    w.frame(1_700_000_002_000_000_000, &net::udp_frame(&ep, &moldudp64::header_packet(session, seq, 0xFFFF)));
    expected.push((seq, 0));
    expected.push((seq, 0xFFFF));
    let dir = std::env::temp_dir().join(format!("tickforge-tshark-mold-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mold.pcap");
    std::fs::write(&file, w.bytes()).unwrap();
    let rows = tshark_fields(
        &file,
        "udp.port==26477,moldudp64",
        &["moldudp64.session", "moldudp64.sequence", "moldudp64.count", "moldudp64.msglen"],
    );
    assert_eq!(rows.len(), expected.len(), "{rows:?}");
    for (row, (seq, count)) in rows.iter().zip(&expected) {
        assert_eq!(row[0], "TFSESSION1");
        assert_eq!(row[1], seq.to_string());
        assert_eq!(row[2], count.to_string());
        if *count > 0 && *count < 0xFFFF {
            assert_eq!(row[3], vec!["19"; *count as usize].join(","), "every block is a 19-byte Order Delete");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
