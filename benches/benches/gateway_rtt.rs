//! OUCH round trip through `tickforge serve` beside the bare loopback TCP round trip of a
//! trivial echo server, in the same run, at the same paced rates, open loop: the gateway's own
//! cost is the difference.
//!
//! `cargo bench -p tickforge-benches --bench gateway_rtt` prints a Markdown table. OUCH: one
//! session entering orders (with a cancel every 5th and a replace every 7th) at the rate, round
//! trip = enter sent → Accepted received, from each order's planned send time. Echo: the same
//! rate of 51-byte packets (the size of a SoupBinTCP-framed OUCH enter) to a thread that writes
//! back what it reads; round trip = planned send → echo received. The OUCH round trip is taken
//! twice: a venue without a journal, and one journaling every message (`--journal`, page-cache
//! durability) as a production venue runs.

use hdrhistogram::Histogram;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tickforge_engine::gateway::client::{self, ClientConfig};
use tickforge_engine::gateway::matching::MatchingPlacement;
use tickforge_engine::gateway::server::{ServeConfig, Server};

const PACKET: usize = 51;

fn echo_rtt(rate: f64, n: usize) -> [u64; 4] {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let mut buf = [0u8; 65_536];
        while let Ok(k) = s.read(&mut buf) {
            if k == 0 || s.write_all(&buf[..k]).is_err() {
                break;
            }
        }
    });
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    let started = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate);
    // Packets come back in order; each is timed from its own planned send time.
    let mut r = s.try_clone().unwrap();
    let arrivals = std::thread::spawn(move || {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        let mut pkt = [0u8; PACKET];
        for i in 0..n {
            r.read_exact(&mut pkt).unwrap();
            let due = period * i as u32;
            let _ = h.record((started.elapsed().saturating_sub(due)).as_nanos() as u64);
        }
        h
    });
    let pkt = [7u8; PACKET];
    for i in 0..n {
        let due = period * i as u32;
        while started.elapsed() < due {
            std::hint::spin_loop();
        }
        s.write_all(&pkt).unwrap();
    }
    let h = arrivals.join().unwrap();
    [h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.value_at_quantile(0.999), h.max()]
}

fn venue(
    journal: Option<std::path::PathBuf>,
    matching: Option<MatchingPlacement>,
    stop: &Arc<AtomicBool>,
) -> std::net::SocketAddr {
    let mut config = ServeConfig::demo();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.journal = journal;
    config.matching = matching;
    let mut server = Server::bind(config).unwrap();
    let addr = server.local_addr().unwrap();
    let stop = stop.clone();
    std::thread::spawn(move || server.run(&stop).unwrap());
    addr
}

fn ouch_rtt(addr: std::net::SocketAddr, rate: f64, n: usize) -> [u64; 4] {
    let r = client::run(&ClientConfig {
        connect: addr,
        accounts: vec![("demo".into(), "demo".into())],
        sessions: 1,
        orders: n,
        rate: Some(rate),
        symbol: "AAPL".into(),
        timeout: Duration::from_secs(30),
        run_tag: None,
    })
    .unwrap();
    assert_eq!((r.lost, r.duplicates), (0, 0));
    [r.rtt_ns[0], r.rtt_ns[2], r.rtt_ns[3], r.rtt_ns[4]]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let dir = std::env::temp_dir().join(format!("tf-gateway-rtt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let plain = venue(None, None, &stop);
    let journaled = venue(Some(dir.clone()), None, &stop);
    // The engine on its own thread, pinned to the last core, busy-spinning (the default on 3+
    // cores; on 2 it competes with the client for the cores, which is why it is not the default
    // there). Started for its own measurement only, so that its spinning core does not disturb
    // the others.
    let cores = core_affinity::get_core_ids().map_or(1, |c| c.len());
    let staged_rtt = |rate: f64, n: usize| {
        let stop = Arc::new(AtomicBool::new(false));
        let placement =
            MatchingPlacement { core: Some(cores - 1), wait: tickforge_engine::wait::WaitStrategy::BusySpin };
        let addr = venue(None, Some(placement), &stop);
        let r = ouch_rtt(addr, rate, n);
        stop.store(true, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(100)); // its event loop sees `stop` within 50 ms
        r
    };
    println!("| rate (msg/s) | messages | echo p50 / p99 / p99.9 (µs) | OUCH enter→accepted p50 / p99 / p99.9 (µs) | journaled OUCH p50 / p99 / p99.9 (µs) | engine on core {} p50 / p99 / p99.9 (µs) | gateway adds at p50 / p99 (µs) |", cores - 1);
    println!("|---|---|---|---|---|---|---|");
    let us = |ns: u64| ns as f64 / 1e3;
    for rate in [1_000.0, 10_000.0, 50_000.0] {
        let n = (rate * 2.0) as usize;
        let e = echo_rtt(rate, n);
        let o = ouch_rtt(plain, rate, n);
        let j = ouch_rtt(journaled, rate, n);
        let m = staged_rtt(rate, n);
        println!(
            "| {rate:.0} | {n} | {:.1} / {:.1} / {:.1} | {:.1} / {:.1} / {:.1} | {:.1} / {:.1} / {:.1} | {:.1} / {:.1} / {:.1} | {:.1} / {:.1} |",
            us(e[0]),
            us(e[1]),
            us(e[2]),
            us(o[0]),
            us(o[1]),
            us(o[2]),
            us(j[0]),
            us(j[1]),
            us(j[2]),
            us(m[0]),
            us(m[1]),
            us(m[2]),
            us(o[0]) - us(e[0]),
            us(o[1]) - us(e[1])
        );
    }
    stop.store(true, Ordering::Relaxed);
    let _ = std::fs::remove_dir_all(&dir);
}
