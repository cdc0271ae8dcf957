//! `tickforge serve --config`: what a venue file sets is what the venue does. Allowed
//! instruments, tick, price band, self-trade prevention and the per-session throttle, seen by
//! a client over loopback; bad files and weak passwords beyond loopback refused by the CLI
//! with a message that names the problem.

mod common;

use common::{enter, Client, Venue};
use std::process::Command;
use std::time::{Duration, Instant};
use tickforge_engine::gateway::config;
use tickforge_wire::ouch42::outbound;
use tickforge_wire::Alpha;

const VENUE: &str = r#"
session = "CFGTEST"
[[account]]
username = "firm1"
password = "f1rmpass"
instruments = ["AAPL"]
stp = "cancel-newest"
max_messages_per_second = 50
[[account]]
username = "firm2"
password = "f2rmpass"
cancel_on_disconnect = true
[[instrument]]
symbol = "AAPL"
tick = 0.01
reference_price = 150.0
band_percent = 10
[[instrument]]
symbol = "SPY"
"#;

fn reject_reason(c: &mut Client) -> u8 {
    match c.sequenced() {
        outbound::Message::Rejected(r) => r.rejected_order_reason,
        other => panic!("expected a reject, got {other:?}"),
    }
}

#[test]
fn the_venue_file_sets_instruments_limits_stp_and_throttle() {
    let parsed = config::parse(VENUE).unwrap();
    let venue = Venue::start(move |c| {
        *c = parsed;
        c.listen = "127.0.0.1:0".parse().unwrap();
    });
    let mut f1 = Client::connect(venue.addr);
    f1.login("firm1", "f1rmpass", 0);
    let (t, accepted) = f1.next().unwrap();
    assert_eq!(t, b'A');
    assert_eq!(std::str::from_utf8(&accepted[..10]).unwrap().trim(), "CFGTEST");

    f1.send(b'U', &enter("NOTALLOWED", b'B', 10, "SPY", 1_500_000));
    assert_eq!(reject_reason(&mut f1), b'S', "SPY is not among firm1's instruments");
    f1.send(b'U', &enter("UNKNOWN", b'B', 10, "MSFT", 1_500_000));
    assert_eq!(reject_reason(&mut f1), b'S', "MSFT is not an instrument of this venue");
    f1.send(b'U', &enter("OFFTICK", b'B', 10, "AAPL", 1_500_050));
    assert_eq!(reject_reason(&mut f1), b'X', "150.005 is off the 0.01 tick");
    f1.send(b'U', &enter("OUTBAND", b'B', 10, "AAPL", 1_700_000));
    assert_eq!(reject_reason(&mut f1), b'X', "170 is outside 10 % of the 150 reference");

    // Self-trade prevention, cancel newest: firm1's sell against its own buy is cancelled.
    f1.send(b'U', &enter("OWNBUY", b'B', 10, "AAPL", 1_500_000));
    assert!(matches!(f1.sequenced(), outbound::Message::Accepted(_)));
    f1.send(b'U', &enter("OWNSELL", b'S', 10, "AAPL", 1_500_000));
    let mut saw_stp = false;
    for _ in 0..2 {
        match f1.sequenced() {
            outbound::Message::Accepted(a) => assert_eq!(a.order_token, Alpha::pad("OWNSELL")),
            outbound::Message::Canceled(c) => {
                assert_eq!((c.order_token, c.cancel_order_reason), (Alpha::pad("OWNSELL"), b'Q'));
                saw_stp = true;
                break;
            }
            outbound::Message::Rejected(r) => {
                assert_eq!(r.rejected_order_reason, b'Q');
                saw_stp = true;
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(saw_stp, "the newest order is cancelled, no trade");

    // Throttle: 50 a second, bursts of 5. 30 orders are all applied, in order, and the last
    // cannot be applied sooner than (30 - 5) / 50 s after the first was sent.
    let started = Instant::now();
    for i in 0..30 {
        f1.send(b'U', &enter(&format!("T{i}"), b'B', 1, "AAPL", 1_400_000));
    }
    for i in 0..30 {
        match f1.sequenced() {
            outbound::Message::Accepted(a) => assert_eq!(a.order_token, Alpha::pad(&format!("T{i}"))),
            other => panic!("order T{i}: {other:?}"),
        }
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(490), "throttled to 50/s: 30 orders took {took:?}");

    // firm2 is not throttled and may trade SPY.
    let mut f2 = Client::logged_in(venue.addr, "firm2", "f2rmpass", 0);
    f2.send(b'U', &enter("S1", b'S', 5, "SPY", 4_000_000));
    assert!(matches!(f2.sequenced(), outbound::Message::Accepted(_)));

    // Cancel on disconnect (a mass cancel of the account): not while another firm2 session is
    // logged in; when the last one goes, firm2's order is cancelled ('U', in firm2's stream).
    let mut f2b = Client::logged_in(venue.addr, "firm2", "f2rmpass", 0);
    drop(f2);
    f1.send(b'U', &enter("PROBE1", b'B', 1, "AAPL", 1_400_000)); // a round trip: the close was seen
    assert!(matches!(f1.sequenced(), outbound::Message::Accepted(_)));
    f2b.send(b'U', &enter("S2", b'S', 5, "SPY", 4_000_000));
    assert!(matches!(f2b.sequenced(), outbound::Message::Accepted(_)), "S1 is still there, nothing cancelled");
    f2b.send(b'O', &[]);
    assert_eq!(f2b.next(), None, "logged out");
    let mut f2c = Client::connect(venue.addr);
    f2c.login("firm2", "f2rmpass", 4); // after start of day (1), S1 accepted (2), S2 accepted (3)
    assert_eq!(f2c.next().unwrap().0, b'A');
    let mut cancelled = Vec::new();
    for _ in 0..2 {
        match f2c.sequenced() {
            outbound::Message::Canceled(c) => cancelled.push((c.order_token, c.decrement_shares.get())),
            other => panic!("expected the mass cancel's cancels, got {other:?}"),
        }
    }
    cancelled.sort();
    assert_eq!(cancelled, [(Alpha::pad("S1"), 5), (Alpha::pad("S2"), 5)]);
    let server = venue.stop();
    assert!(server.stats.throttled >= 20, "{:?}", server.stats);
}

#[test]
fn the_cli_refuses_bad_files_and_weak_passwords_beyond_loopback() {
    let dir = std::env::temp_dir().join(format!("tf-serve-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let serve = |file: &std::path::Path, extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tickforge"))
            .arg("serve")
            .arg("--config")
            .arg(file)
            .args(extra)
            .args(["--seconds", "0"])
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let typo = dir.join("typo.toml");
    std::fs::write(&typo, VENUE.replace("band_percent", "band_pct")).unwrap();
    let (ok, err) = serve(&typo, &[]);
    assert!(!ok && err.contains("typo.toml") && err.contains("band_pct"), "{err}");

    let weak = dir.join("weak.toml");
    std::fs::write(&weak, VENUE.replace("f1rmpass", "firm1")).unwrap();
    let (ok, err) = serve(&weak, &["--listen", "0.0.0.0:0"]);
    assert!(!ok && err.contains("weak password"), "{err}");
    let (ok, err) = serve(&weak, &["--listen", "127.0.0.1:0"]);
    assert!(ok, "weak passwords are fine on loopback: {err}");
    assert!(err.contains("accounts firm1, firm2"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_tickforge"))
        .args(["serve", "--listen", "0.0.0.0:0", "--seconds", "0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("demo accounts"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ctrl-C (SIGINT) stops the venue cleanly: exit status 0, the final state hash printed, the
/// journal flushed (a restart from it works).
#[test]
fn ctrl_c_stops_the_venue_cleanly() {
    let dir = std::env::temp_dir().join(format!("tf-serve-sigint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_tickforge"))
            .args(["serve", "--listen", "127.0.0.1:0", "--journal"])
            .arg(&dir)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    for round in 0..2 {
        let child = start();
        std::thread::sleep(Duration::from_millis(500));
        let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        assert!(killed.success());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "round {round}: {err}");
        assert!(err.contains("stopped; state hash"), "round {round}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A throttled session whose queue is long enough that the venue stops reading its socket is
/// not "silent": its heartbeats wait in that socket. Throttled to 1,000 a second with a 500 ms
/// timeout, 2,600 orders sent at once put about 120 KiB in the queue, and the venue does not
/// read the socket again until the queue is under 64 KiB, about 1.2 s later; every order is
/// still accepted and no session times out.
#[test]
fn a_session_the_venue_stops_reading_is_not_timed_out() {
    let venue = Venue::start(|c| {
        c.accounts[0].max_messages_per_second = Some(1_000);
        c.soup.heartbeat_ns = 100_000_000;
        c.soup.timeout_ns = 500_000_000;
    });
    let mut client = Client::logged_in(venue.addr, "demo", "demo", 0);

    let orders = 2_600;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let heartbeats = {
        let (mut s, stop) = (client.s.try_clone().unwrap(), stop.clone());
        std::thread::spawn(move || {
            use std::io::Write;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                let mut packet = Vec::new();
                tickforge_wire::soupbin::write(&mut packet, b'R', &[]).unwrap();
                // Written after the orders: while the venue is not reading, they wait too.
                let _ = s.write_all(&packet);
            }
        })
    };
    let mut all = Vec::new();
    for i in 0..orders {
        tickforge_wire::soupbin::write(&mut all, b'U', &enter(&format!("Q{i}"), b'B', 1, "AAPL", 1_000_000)).unwrap();
    }
    {
        use std::io::Write;
        client.s.write_all(&all).unwrap();
    }
    let mut accepted = 0;
    while accepted < orders {
        match client.next() {
            Some((b'S', _)) => accepted += 1,
            Some((b'Z', _)) | None => break,
            Some(_) => {}
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    heartbeats.join().unwrap();
    let server = venue.stop();
    assert_eq!(accepted, orders, "every order accepted, the session never ended: {:?}", server.stats);
    assert_eq!(server.stats.timeouts, 0, "{:?}", server.stats);
    assert!(server.stats.throttled > 0, "the throttle queued: {:?}", server.stats);
}
