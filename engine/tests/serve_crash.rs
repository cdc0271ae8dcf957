//! Nothing acknowledged is lost: a venue killed with SIGKILL in the middle of a burst of orders,
//! started again on its journal, replays to a re-login every message the client had received
//! before the kill, byte for byte and with the same sequence numbers, and goes on from there.

mod common;

use common::{enter, Client};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

/// Starts `tickforge serve` on a free loopback port; returns the child and its address (read
/// from its startup line).
fn serve(journal: &std::path::Path) -> (Child, std::net::SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickforge"))
        .args(["serve", "--listen", "127.0.0.1:0", "--journal"])
        .arg(journal)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("a startup line").unwrap();
        if let Some(rest) = line.strip_prefix("tickforge serve: OUCH 4.2 over SoupBinTCP 3.0 on ") {
            break rest.split(';').next().unwrap().parse().unwrap();
        }
    };
    // Keep draining its log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

#[test]
fn a_killed_venue_loses_nothing_it_acknowledged() {
    let dir = std::env::temp_dir().join(format!("tf-serve-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (mut venue, addr) = serve(&dir);
    let mut a = Client::logged_in(addr, "demo", "demo", 1);
    let mut burst = Vec::new();
    for i in 0..3_000u32 {
        let side = if i % 2 == 0 { b'B' } else { b'S' };
        let order = enter(&format!("K{i}"), side, 10 + i % 7, "AAPL", 1_500_000 + (i % 11) * 100);
        tickforge_wire::soupbin::write(&mut burst, b'U', &order).unwrap();
    }
    a.s.write_all(&burst).unwrap();
    // Read some of the answers, then kill the venue mid-stream.
    let mut seen = Vec::new();
    while seen.len() < 600 {
        let (t, payload) = a.next().expect("answers before the kill");
        assert_eq!(t, b'S');
        seen.push(payload);
    }
    venue.kill().unwrap(); // SIGKILL: no clean shutdown, no flush
    venue.wait().unwrap();

    let (mut venue, addr) = serve(&dir);
    let mut again = Client::logged_in(addr, "demo", "demo", 1);
    for (k, before) in seen.iter().enumerate() {
        let (t, after) = again.next().expect("the restored stream");
        assert_eq!(t, b'S');
        assert_eq!(&after, before, "message {} differs after the restart", k + 1);
    }
    // And the venue carries on: a new order is accepted after everything restored.
    again.send(b'U', &enter("AFTER", b'B', 1, "MSFT", 1_000_000));
    loop {
        match again.sequenced() {
            tickforge_wire::ouch42::outbound::Message::Accepted(x)
                if x.order_token == tickforge_wire::Alpha::pad::<14>("AFTER") =>
            {
                break
            }
            _ => {}
        }
    }
    venue.kill().unwrap();
    venue.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
