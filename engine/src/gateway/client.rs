//! `tickforge client`: a connectivity tester and load generator for `tickforge serve`.
//!
//! K sessions (alternating between two accounts, so they trade with each other), each sending N
//! commands (enters, with a cancel after every 5th and a replace after every 7th) as fast as
//! possible or paced. Each session tracks every one of its orders to exactly one final state
//! (filled, canceled, rejected) by its token; after sending, it cancels whatever is still open
//! and waits. An order that never got an answer is *lost*; a second acceptance or a message
//! for an order already final is a *duplicate*; the run fails if either is non-zero.
//! Round-trip latency is enter → accepted (or rejected), measured from each order's planned
//! send time when paced (open loop).
//!
//! Tokens are `{run:2}{session:03}{O|R}{order:08}` (R: the replacement token of a replace; `run`
//! two base-36 characters from the clock, so runs against the same server do not reuse the day's
//! tokens), and a session's reader finds an order's slot by parsing the token, no shared map.

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tickforge_wire::ouch42::{inbound, outbound};
use tickforge_wire::zerocopy::byteorder::big_endian::U32;
use tickforge_wire::zerocopy::IntoBytes;
use tickforge_wire::{soupbin, Alpha};

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server.
    pub connect: SocketAddr,
    /// Accounts (username, password) the sessions take in turn.
    pub accounts: Vec<(String, String)>,
    /// Sessions.
    pub sessions: usize,
    /// Orders per session.
    pub orders: usize,
    /// Orders per second per session (`None`: as fast as possible).
    pub rate: Option<f64>,
    /// Symbol traded.
    pub symbol: String,
    /// Give up waiting for final states after this long.
    pub timeout: Duration,
    /// Two characters that start every token of this run (`None`: from the clock).
    pub run_tag: Option<[u8; 2]>,
}

/// Two base-36 characters from the clock's nanoseconds and the process id (1,296 values: two
/// runs against one server collide with odds of 1 in 1,296; `--run-tag` picks one).
pub fn clock_tag() -> [u8; 2] {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()) as u64;
    let mixed =
        (t ^ u64::from(std::process::id()).wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let v = (mixed >> 32) as usize % 1296;
    [DIGITS[v / 36], DIGITS[v % 36]]
}

/// What happened.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ClientReport {
    /// Sessions run.
    pub sessions: usize,
    /// Orders entered.
    pub orders: u64,
    /// Accepted.
    pub accepted: u64,
    /// Rejected.
    pub rejected: u64,
    /// Ended fully filled.
    pub filled: u64,
    /// Ended canceled (all or the rest).
    pub canceled: u64,
    /// Replaced (then tracked under the replacement token).
    pub replaced: u64,
    /// Shares bought in executions (the sessions' own view).
    pub bought: u64,
    /// Shares sold in executions.
    pub sold: u64,
    /// Orders with no final state.
    pub lost: u64,
    /// Messages about orders already final, or second acceptances.
    pub duplicates: u64,
    /// Seconds from the first login to the last final state.
    pub seconds: f64,
    /// Enter → accepted round trip, ns: p50, p90, p99, p99.9, max.
    pub rtt_ns: [u64; 5],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    #[default]
    Sent,
    Open(u32),
    Filled,
    Canceled,
    Rejected,
}

fn token(tag: [u8; 2], session: usize, replacement: bool, order: usize) -> [u8; 14] {
    let (a, b) = (tag[0] as char, tag[1] as char);
    Alpha::pad(&format!("{a}{b}{session:03}{}{order:08}", if replacement { 'R' } else { 'O' }))
}

fn parse_token(tag: [u8; 2], t: &[u8; 14]) -> Option<(usize, usize)> {
    if t[..2] != tag {
        return None;
    }
    let s = std::str::from_utf8(t).ok()?;
    Some((s.get(2..5)?.parse().ok()?, s.get(6..14)?.trim().parse().ok()?))
}

fn soup(out: &mut Vec<u8>, t: u8, payload: &[u8]) {
    // Client packets are short: the length always fits.
    let _ = soupbin::write(out, t, payload);
}

/// One session's tally.
#[derive(Debug, Default)]
struct Tally {
    report: ClientReport,
    rtt: Option<Histogram<u64>>,
}

/// Runs one session to the end.
fn session(cfg: &ClientConfig, k: usize, tag: [u8; 2], all_sent: &std::sync::atomic::AtomicUsize) -> Result<Tally> {
    let (user, password) = &cfg.accounts[k % cfg.accounts.len()];
    let mut stream = TcpStream::connect(cfg.connect).with_context(|| format!("connecting to {}", cfg.connect))?;
    stream.set_nodelay(true)?;
    let mut out = Vec::new();
    let login = soupbin::LoginRequest {
        username: Alpha::pad(user),
        password: Alpha::pad(password),
        requested_session: Alpha::pad(""),
        requested_sequence_number: soupbin::numeric::<20>(0),
    };
    soup(&mut out, b'L', login.as_bytes());
    stream.write_all(&out)?;
    let mut reader = stream.try_clone()?;
    reader.set_read_timeout(Some(Duration::from_millis(200)))?;

    let n = cfg.orders;
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let done_sending = Arc::new(AtomicU64::new(0));
    // Orders the venue has answered (accepted or rejected): the cancels of what is still open
    // wait for every session's orders to be answered, so that orders meet whatever the order
    // in which the venue reads the sessions.
    let answered = Arc::new(AtomicU64::new(0));
    let started = Instant::now();

    // The reader: every message of this account; this session's tokens are tracked.
    let side = if k % 2 == 0 { b'B' } else { b'S' };
    let reader_thread = {
        let (sent_at, done_sending, answered, timeout) =
            (sent_at.clone(), done_sending.clone(), answered.clone(), cfg.timeout);
        std::thread::spawn(move || -> Result<(Vec<State>, ClientReport, Histogram<u64>)> {
            let mut states = vec![State::Sent; n];
            let mut r = ClientReport::default();
            let mut rtt = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
            let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
            let mut chunk = vec![0u8; 1 << 16];
            let mut logged_in = false;
            let mut finals = 0usize;
            let mut last_progress = Instant::now();
            loop {
                let mut off = 0;
                while let Ok(Some((p, used))) = soupbin::parse(&buf[off..], 65_535) {
                    off += used;
                    match p {
                        soupbin::Packet::LoginAccepted(_) => logged_in = true,
                        soupbin::Packet::LoginRejected(code) => bail!("login as {k} rejected ({})", code as char),
                        soupbin::Packet::EndOfSession => bail!("the server ended the session"),
                        soupbin::Packet::SequencedData(d) => {
                            let now = started.elapsed().as_nanos() as u64;
                            let msg = outbound::decode(d).map_err(|e| anyhow::anyhow!("server sent bad OUCH: {e}"))?;
                            let tok = match msg {
                                outbound::Message::Accepted(a) => Some(a.order_token),
                                outbound::Message::Rejected(j) => Some(j.order_token),
                                outbound::Message::Executed(e) => Some(e.order_token),
                                outbound::Message::Canceled(c) => Some(c.order_token),
                                outbound::Message::Replaced(u) => Some(u.previous_order_token),
                                _ => None,
                            };
                            let Some((s, i)) = tok.as_ref().and_then(|t| parse_token(tag, t)) else { continue };
                            if s != k || i >= n {
                                continue; // another session of the same account
                            }
                            let was = states[i];
                            let is_final = |s: State| matches!(s, State::Filled | State::Canceled | State::Rejected);
                            if is_final(was) {
                                r.duplicates += 1;
                                continue;
                            }
                            let next = match msg {
                                outbound::Message::Accepted(a) => {
                                    if was != State::Sent {
                                        r.duplicates += 1;
                                        continue;
                                    }
                                    r.accepted += 1;
                                    answered.fetch_add(1, Ordering::Release);
                                    let _ = rtt.record(now.saturating_sub(sent_at[i].load(Ordering::Acquire)).max(1));
                                    State::Open(a.shares.get())
                                }
                                outbound::Message::Rejected(_) => {
                                    r.rejected += 1;
                                    if was == State::Sent {
                                        answered.fetch_add(1, Ordering::Release);
                                        let _ =
                                            rtt.record(now.saturating_sub(sent_at[i].load(Ordering::Acquire)).max(1));
                                    }
                                    State::Rejected
                                }
                                outbound::Message::Executed(e) => {
                                    let q = e.executed_shares.get();
                                    if side == b'B' {
                                        r.bought += u64::from(q);
                                    } else {
                                        r.sold += u64::from(q);
                                    }
                                    match was {
                                        State::Open(open) if q >= open => State::Filled,
                                        State::Open(open) => State::Open(open - q),
                                        _ => was,
                                    }
                                }
                                outbound::Message::Canceled(c) => match was {
                                    State::Open(q) if c.decrement_shares.get() >= q => State::Canceled,
                                    State::Open(q) => State::Open(q - c.decrement_shares.get()),
                                    _ => was,
                                },
                                outbound::Message::Replaced(u) => {
                                    r.replaced += 1;
                                    State::Open(u.shares.get())
                                }
                                _ => was,
                            };
                            if is_final(next) {
                                finals += 1;
                                match next {
                                    State::Filled => r.filled += 1,
                                    State::Canceled => r.canceled += 1,
                                    _ => {}
                                }
                            }
                            states[i] = next;
                            last_progress = Instant::now();
                        }
                        _ => {}
                    }
                }
                buf.drain(..off);
                if done_sending.load(Ordering::Acquire) == 1 && finals == n {
                    return Ok((states, r, rtt));
                }
                if last_progress.elapsed() > timeout {
                    return Ok((states, r, rtt));
                }
                match reader.read(&mut chunk) {
                    Ok(0) => return Ok((states, r, rtt)),
                    Ok(m) => {
                        // Any traffic is progress: an account's sessions share its stream, so
                        // under load most of what arrives is the other sessions' messages.
                        last_progress = Instant::now();
                        buf.extend_from_slice(&chunk[..m]);
                    }
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                    Err(e) => return Err(e.into()),
                }
                let _ = logged_in;
            }
        })
    };

    // The writer: enters (alternating sides around one price, so orders meet), a cancel after
    // every 5th and a replace after every 7th, then a cancel of everything still open.
    let period = cfg.rate.map(|r| Duration::from_secs_f64(1.0 / r));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let share_cores = cfg.sessions * 2 > cores;
    let mut last_write = Instant::now();
    for i in 0..n {
        if let Some(p) = period {
            let due = p * i as u32;
            // Sleep while the next send is far off, spin (yielding, if other sessions share
            // the cores) only for the last stretch: sessions that all spin would starve the
            // venue on a small machine and measure that instead. Late sends still count from
            // their planned time.
            loop {
                let now = started.elapsed();
                if now >= due {
                    break;
                }
                keep_alive(&mut stream, &mut last_write)?;
                let left = due - now;
                if left > SPIN_BEFORE {
                    std::thread::sleep(left - SPIN_BEFORE);
                } else if share_cores {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
            sent_at[i].store(due.as_nanos() as u64, Ordering::Release);
        } else {
            sent_at[i].store(started.elapsed().as_nanos() as u64, Ordering::Release);
        }
        out.clear();
        let price = 1_000_000 + (i % 5) as u32 * 100 * if side == b'B' { 1 } else { 0 };
        let enter =
            inbound::EnterOrder::day(token(tag, k, false, i), side, 100, Alpha::pad(&cfg.symbol), price, *b"TFCL");
        soup(&mut out, b'U', enter.as_bytes());
        if i % 5 == 4 {
            let c = inbound::CancelOrder {
                message_type: b'X',
                order_token: token(tag, k, false, i - 2),
                shares: U32::new(0),
            };
            soup(&mut out, b'U', c.as_bytes());
        }
        if i % 7 == 6 {
            let u = inbound::ReplaceOrder {
                message_type: b'U',
                existing_order_token: token(tag, k, false, i - 1),
                replacement_order_token_token_14: token(tag, k, true, i - 1),
                shares: U32::new(50),
                price: U32::new(price),
                time_in_force: U32::new(99_999),
                display: b'Y',
                intermarket_sweep_eligibility: b'N',
                minimum_quantity: U32::new(0),
            };
            soup(&mut out, b'U', u.as_bytes());
        }
        stream.write_all(&out)?;
        last_write = Instant::now();
    }
    // Every session's orders have been answered (so they could meet) before any session
    // cancels what is still open, by both possible tokens (an unknown token is ignored).
    let wait_from = Instant::now();
    while answered.load(Ordering::Acquire) < n as u64 && wait_from.elapsed() < cfg.timeout {
        keep_alive(&mut stream, &mut last_write)?;
        std::thread::sleep(Duration::from_millis(1));
    }
    all_sent.fetch_add(1, Ordering::AcqRel);
    // A session that failed never arrives: wait for the others at most as long as the timeout.
    // With many sessions of many orders the last can finish well after the first: this wait
    // heartbeats too, or the venue ends the waiting session as silent (it did, 32 x 100,000).
    let wait_from = Instant::now();
    while all_sent.load(Ordering::Acquire) < cfg.sessions && wait_from.elapsed() < cfg.timeout {
        keep_alive(&mut stream, &mut last_write)?;
        std::thread::sleep(Duration::from_millis(1));
    }
    out.clear();
    for i in 0..n {
        for replacement in [false, true] {
            let c = inbound::CancelOrder {
                message_type: b'X',
                order_token: token(tag, k, replacement, i),
                shares: U32::new(0),
            };
            soup(&mut out, b'U', c.as_bytes());
        }
        if out.len() > 1 << 15 {
            stream.write_all(&out)?;
            out.clear();
        }
    }
    stream.write_all(&out)?;
    last_write = Instant::now();
    done_sending.store(1, Ordering::Release);
    // Heartbeats while the last answers arrive (the server ends a silent session).
    while !reader_thread.is_finished() {
        keep_alive(&mut stream, &mut last_write)?;
        std::thread::sleep(Duration::from_millis(1));
    }
    let (states, mut report, rtt) = reader_thread.join().map_err(|_| anyhow::anyhow!("reader panicked"))??;
    report.orders = n as u64;
    report.lost =
        states.iter().filter(|s| !matches!(s, State::Filled | State::Canceled | State::Rejected)).count() as u64;
    out.clear();
    soup(&mut out, b'O', &[]);
    let _ = stream.write_all(&out);
    Ok(Tally { report, rtt: Some(rtt) })
}

/// Runs every session and adds up what they saw.
pub fn run(cfg: &ClientConfig) -> Result<ClientReport> {
    if cfg.sessions == 0 || cfg.sessions > 999 {
        bail!("--sessions must be 1 to 999");
    }
    if cfg.orders > 99_999_999 {
        bail!("--orders must be at most 99,999,999 per session (8 digits of the token)");
    }
    let tag = cfg.run_tag.unwrap_or_else(clock_tag);
    let started = Instant::now();
    let all_sent = std::sync::atomic::AtomicUsize::new(0);
    let tallies: Vec<Result<Tally>> = std::thread::scope(|s| {
        let all_sent = &all_sent;
        let handles: Vec<_> = (0..cfg.sessions).map(|k| s.spawn(move || session(cfg, k, tag, all_sent))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("session panicked")))).collect()
    });
    let mut total = ClientReport { sessions: cfg.sessions, ..ClientReport::default() };
    let mut rtt = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
    for t in tallies {
        let t = t?;
        let r = &t.report;
        total.orders += r.orders;
        total.accepted += r.accepted;
        total.rejected += r.rejected;
        total.filled += r.filled;
        total.canceled += r.canceled;
        total.replaced += r.replaced;
        total.bought += r.bought;
        total.sold += r.sold;
        total.lost += r.lost;
        total.duplicates += r.duplicates;
        if let Some(h) = &t.rtt {
            let _ = rtt.add(h);
        }
    }
    total.seconds = started.elapsed().as_secs_f64();
    total.rtt_ns = [0.5, 0.9, 0.99, 0.999, 1.0].map(|q| if q == 1.0 { rtt.max() } else { rtt.value_at_quantile(q) });
    Ok(total)
}

impl ClientReport {
    /// The terminal summary.
    pub fn to_text(&self) -> String {
        let [p50, p90, p99, p999, max] = self.rtt_ns;
        format!(
            "sessions     {}\norders       {} in {:.2} s ({:.0} orders/s)\nfinal states {} filled, {} canceled, {} rejected ({} accepted, {} replaced)\nexecuted     {} shares bought, {} sold\nlost         {}\nduplicates   {}\nround trip   enter -> accepted, ns: p50 {p50}, p90 {p90}, p99 {p99}, p99.9 {p999}, max {max}\n",
            self.sessions,
            self.orders,
            self.seconds,
            self.orders as f64 / self.seconds.max(1e-9),
            self.filled,
            self.canceled,
            self.rejected,
            self.accepted,
            self.replaced,
            self.bought,
            self.sold,
            self.lost,
            self.duplicates
        )
    }
}

/// How close to a paced send the writer stops sleeping and starts spinning.
const SPIN_BEFORE: Duration = Duration::from_micros(100);

/// How long the writer may go without sending before it sends a heartbeat: SoupBinTCP's one
/// second, well inside the venue's timeout (15 s by default).
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// Sends a client heartbeat if nothing has been written for [`HEARTBEAT_EVERY`]. Every loop
/// in which the writer waits calls it, so no wait, however long, leaves the session silent.
fn keep_alive(stream: &mut impl Write, last_write: &mut Instant) -> std::io::Result<()> {
    if last_write.elapsed() < HEARTBEAT_EVERY {
        return Ok(());
    }
    let mut packet = Vec::with_capacity(3);
    soup(&mut packet, b'R', &[]);
    stream.write_all(&packet)?;
    *last_write = Instant::now();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alive_sends_one_heartbeat_once_the_writer_has_been_idle_a_second() {
        let mut wire = Vec::new();
        let mut last_write = Instant::now();
        keep_alive(&mut wire, &mut last_write).unwrap();
        assert!(wire.is_empty(), "nothing while the last write is recent");

        let Some(long_ago) = Instant::now().checked_sub(HEARTBEAT_EVERY * 2) else { return };
        last_write = long_ago;
        keep_alive(&mut wire, &mut last_write).unwrap();
        assert_eq!(wire, [0, 1, b'R'], "a SoupBinTCP client heartbeat: length 1, type R");
        assert!(last_write > long_ago, "the heartbeat counts as a write");
        keep_alive(&mut wire, &mut last_write).unwrap();
        assert_eq!(wire.len(), 3, "and the next call sends nothing");
    }
}
